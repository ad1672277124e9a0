//! What a registration rush must leave behind, checked the same way by every test that
//! disturbs one (tests/outage.rs restarts PostgreSQL, tests/rolling.rs restarts the API
//! processes behind HAProxy). PostgreSQL only: those topologies are PostgreSQL's.

use std::collections::HashSet;

use reqwest::StatusCode;
use serde_json::Value;

/// Checks the answers of a rush on forum `slug` (capacity `confirmed`) and the database
/// at `db_url`: every answer is 201 (or 200 for a replay that found the registration its
/// cut-off attempt committed), each with its own registration; the counters and the rows
/// say exactly `confirmed` confirmed and `waitlisted` wait-listed; every answered
/// registration is stored, none is stored unanswered, and each has its outbox row.
/// `answers` holds (request number, status, body).
pub async fn assert_outcome(
    server: &super::Server,
    token: &str,
    slug: &str,
    db_url: &str,
    answers: &[(usize, StatusCode, Value)],
    confirmed: u64,
    waitlisted: u64,
) {
    let mut ids = HashSet::new();
    for (i, st, body) in answers {
        assert!(
            *st == StatusCode::CREATED || *st == StatusCode::OK,
            "registration {i}: {st} {body}"
        );
        let id = body["registration"]["id"].as_str().unwrap().to_owned();
        assert!(ids.insert(id), "{body}");
    }
    let (st, stats) = server
        .call(
            reqwest::Method::GET,
            &format!("/api/v1/forums/{slug}/registration-stats"),
            token,
            None,
        )
        .await;
    assert_eq!(st, 200, "{stats}");
    for key in ["counters", "by_status"] {
        assert_eq!(stats[key]["confirmed"], confirmed, "{stats}");
        assert_eq!(stats[key]["waitlisted"], waitlisted, "{stats}");
    }

    use sqlx::Connection as _;
    let mut c = sqlx::PgConnection::connect(db_url).await.unwrap();
    let rows: Vec<(uuid::Uuid,)> = sqlx::query_as("SELECT id FROM registrations")
        .fetch_all(&mut c)
        .await
        .unwrap();
    let rows: HashSet<String> = rows.into_iter().map(|(id,)| id.to_string()).collect();
    assert_eq!(
        rows, ids,
        "every answered registration stored, none unanswered"
    );
    let (without_outbox,): (i64,) = sqlx::query_as(
        "SELECT count(*) FROM registrations r WHERE NOT EXISTS \
         (SELECT 1 FROM notifications n WHERE n.dedupe_key LIKE 'registration.%:' || r.id::text || '%')",
    )
    .fetch_one(&mut c)
    .await
    .unwrap();
    assert_eq!(without_outbox, 0, "every registration has its outbox row");
}
