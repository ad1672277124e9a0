//! PostgreSQL connections opened by `db::connect` have Nagle's algorithm off
//! (`TCP_NODELAY`, as libpq does), so a statement with a large Bind message never waits
//! for the server's delayed ACK (40 ms on Linux). See `convene_domain::db::connect`.
//!
//! Runs when `CONVENE_TEST_DATABASE_URL` names a PostgreSQL server over TCP (the
//! PostgreSQL half of the test matrix); on the SQLite half there is no socket to check.
#![cfg(unix)]

use std::str::FromStr;
use std::time::{Duration, Instant};

use sea_orm::{ConnectionTrait, DbBackend, Statement};
use sqlx::Connection;

/// 20 statements whose one parameter is 48 kB: more than a fresh socket's send buffer
/// takes in one write, the case that stalls 40 ms each with Nagle on.
async fn big_round_trips(db: &impl ConnectionTrait) -> Duration {
    let big = "x".repeat(48_000);
    let t = Instant::now();
    for _ in 0..20 {
        let row = db
            .query_one_raw(Statement::from_sql_and_values(
                DbBackend::Postgres,
                "SELECT length($1) AS n",
                [big.clone().into()],
            ))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(row.try_get::<i32>("", "n").unwrap(), 48_000);
    }
    t.elapsed()
}

#[tokio::test]
async fn postgres_tcp_sockets_have_nodelay_and_large_statements_do_not_stall() {
    let Ok(url) = std::env::var("CONVENE_TEST_DATABASE_URL") else {
        eprintln!("CONVENE_TEST_DATABASE_URL not set: PostgreSQL half of the matrix only");
        return;
    };
    let opts = sqlx::postgres::PgConnectOptions::from_str(&url).unwrap();
    assert!(
        !opts.get_host().starts_with('/'),
        "this test needs a TCP URL, got a Unix socket: {url}"
    );
    let port = opts.get_port();

    // The baseline, measured in the same run: a plain sqlx connection (Nagle on).
    let mut plain = sqlx::PgConnection::connect(&url).await.unwrap();
    let t = Instant::now();
    for _ in 0..20 {
        let n: (i32,) = sqlx::query_as("SELECT length($1)")
            .bind("x".repeat(48_000))
            .fetch_one(&mut plain)
            .await
            .unwrap();
        assert_eq!(n.0, 48_000);
    }
    let baseline = t.elapsed();
    plain.close().await.unwrap();

    let db = convene_domain::db::connect(&url, 4).await.unwrap();
    let ours = big_round_trips(&db).await;
    eprintln!(
        "20 statements with a 48 kB parameter: plain sqlx {baseline:?}, db::connect {ours:?}"
    );

    let socks: Vec<_> = convene_domain::db::nodelay::tcp_sockets()
        .into_iter()
        .filter(|s| s.peer.port() == port)
        .collect();
    assert!(!socks.is_empty(), "no TCP socket to port {port} found");
    for s in socks {
        assert!(
            s.nodelay,
            "socket {} (local {}) to PostgreSQL has Nagle on",
            s.fd, s.local
        );
    }
    // With Nagle on each of the 20 waits ≥ 40 ms for the delayed ACK (≥ 800 ms in all).
    assert!(
        ours < Duration::from_millis(640),
        "20 large statements took {ours:?} (plain sqlx: {baseline:?})"
    );
}
