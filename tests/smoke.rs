//! Smoke test: the binary starts, migrates, serves health and the OpenAPI document.
mod common;

use sqlx::Connection as _;

#[tokio::test]
async fn serves_healthz_and_openapi() {
    let server = common::Server::start().await;

    let res = server
        .client
        .get(server.url("/healthz"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(body["status"], "ok");

    let res = server
        .client
        .get(server.url("/api/v1/openapi.json"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let doc: serde_json::Value = res.json().await.unwrap();
    let version = doc["openapi"].as_str().unwrap_or_default();
    assert!(
        version.starts_with("3.1."),
        "openapi version is {:?}",
        doc["openapi"]
    );

    // Migrations are idempotent: the server already applied them.
    server.run_cli_ok(&["migrate"]);
}

/// The harness itself: a fresh, reachable database on the configured backend.
#[tokio::test]
async fn test_database_is_fresh_and_reachable() {
    let db = common::TestDb::new();
    match common::backend_name() {
        "postgres" => {
            let mut conn = sqlx::PgConnection::connect(&db.url).await.unwrap();
            let (name,): (String,) = sqlx::query_as("SELECT current_database()")
                .fetch_one(&mut conn)
                .await
                .unwrap();
            assert!(name.starts_with("convene_t_"), "{name}");
            conn.close().await.unwrap();
        }
        _ => {
            let mut conn = sqlx::SqliteConnection::connect(&db.url).await.unwrap();
            let (n,): (i64,) = sqlx::query_as("SELECT count(*) FROM sqlite_master")
                .fetch_one(&mut conn)
                .await
                .unwrap();
            assert_eq!(n, 0);
            conn.close().await.unwrap();
        }
    }
}
