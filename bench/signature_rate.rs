//! Load generator of `bench/signature-rate` (run it through that script): against a
//! running convene with a declaration open, makes N online signatures, reads their
//! confirmation links from the outbox, then confirms them all with C concurrent clients
//! and prints confirmations (= ledger appends) per second; finally re-verifies the ledger.
//!
//! Environment: BASE (http://127.0.0.1:PORT), TOKEN (organizer), DB_URL (the server's
//! database, for the outbox), N (default 3000), CLIENTS (default 64).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Instant;

use serde_json::{json, Value};
use sqlx::Connection as _;

fn env(k: &str, d: &str) -> String {
    std::env::var(k).unwrap_or_else(|_| d.to_owned())
}

async fn post(c: &reqwest::Client, url: &str, token: Option<&str>, body: Value) -> (u16, Value) {
    let mut rb = c.post(url).json(&body);
    if let Some(t) = token {
        rb = rb.bearer_auth(t);
    }
    let r = rb.send().await.expect("request");
    let st = r.status().as_u16();
    (st, r.json().await.unwrap_or(Value::Null))
}

/// Runs `f(i)` for i in 0..n on `clients` concurrent workers; returns the seconds taken.
async fn run<F, Fut>(n: usize, clients: usize, f: F) -> f64
where
    F: Fn(usize) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = ()> + Send,
{
    let next = Arc::new(AtomicUsize::new(0));
    let f = Arc::new(f);
    let start = Instant::now();
    let mut tasks = vec![];
    for _ in 0..clients {
        let (next, f) = (next.clone(), f.clone());
        tasks.push(tokio::spawn(async move {
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= n {
                    break;
                }
                f(i).await;
            }
        }));
    }
    for t in tasks {
        t.await.expect("worker");
    }
    start.elapsed().as_secs_f64()
}

#[tokio::main]
async fn main() {
    let base = env("BASE", "http://127.0.0.1:8080");
    let token = env("TOKEN", "");
    let db_url = env("DB_URL", "");
    let n: usize = env("N", "3000").parse().expect("N");
    let clients: usize = env("CLIENTS", "64").parse().expect("CLIENTS");
    let c = reqwest::Client::builder()
        .no_proxy()
        .pool_max_idle_per_host(clients)
        .build()
        .unwrap();
    let api = format!("{base}/api/v1");
    let (st, b) = post(&c, &format!("{api}/forums"), Some(&token), json!({"slug": "bench", "title": "Bench",
        "country": "TR", "time_zone": "Europe/Istanbul", "first_day": "2019-11-26", "last_day": "2019-11-27"})).await;
    assert_eq!(st, 201, "{b}");
    post(
        &c,
        &format!("{api}/forums/bench/publish"),
        Some(&token),
        json!({}),
    )
    .await;
    let decl = format!("{api}/forums/bench/declarations/decl");
    post(
        &c,
        &format!("{api}/forums/bench/declarations"),
        Some(&token),
        json!({"slug": "decl", "title": "D"}),
    )
    .await;
    post(
        &c,
        &format!("{decl}/versions"),
        Some(&token),
        json!({"title": "D", "text": "Text."}),
    )
    .await;
    let (st, b) = post(&c, &format!("{decl}/open"), Some(&token), json!({})).await;
    assert_eq!(st, 200, "{b}");

    let (c2, d2) = (c.clone(), decl.clone());
    let secs = run(n, clients, move |i| {
        let (c, decl) = (c2.clone(), d2.clone());
        async move {
            let (st, b) = post(
                &c,
                &format!("{decl}/signatures"),
                None,
                json!({"full_name": format!("Mayor {i}"),
                "entity_kind": "city", "entity_name": format!("City {i}"), "country": "TR",
                "email": format!("m{i}@example.org"), "consent_publish": true}),
            )
            .await;
            assert_eq!(st, 202, "{b}");
        }
    })
    .await;
    println!(
        "online signatures (pending + outbox e-mail): {n} in {secs:.2} s = {:.0}/s",
        n as f64 / secs
    );

    let mut conn = sqlx::PgConnection::connect(&db_url)
        .await
        .expect("database");
    let rows: Vec<(String,)> = sqlx::query_as(
        "SELECT CAST(data AS TEXT) FROM notifications WHERE kind = 'signature.confirm'",
    )
    .fetch_all(&mut conn)
    .await
    .expect("outbox");
    let tokens: Arc<Vec<String>> = Arc::new(
        rows.iter()
            .map(|r| {
                let v: Value = serde_json::from_str(&r.0).unwrap();
                v["confirm_url"]
                    .as_str()
                    .unwrap()
                    .split("token=")
                    .nth(1)
                    .unwrap()
                    .to_owned()
            })
            .collect(),
    );
    assert_eq!(tokens.len(), n);

    let (c2, d2, t2) = (c.clone(), decl.clone(), tokens.clone());
    let secs = run(n, clients, move |i| {
        let (c, decl, t) = (c2.clone(), d2.clone(), t2.clone());
        async move {
            let (st, b) = post(
                &c,
                &format!("{decl}/signatures/confirm"),
                None,
                json!({"token": t[i]}),
            )
            .await;
            assert_eq!(st, 200, "{b}");
        }
    })
    .await;
    println!(
        "CONFIRMATIONS: {n} with {clients} concurrent clients in {secs:.2} s = {:.0} signatures/s",
        n as f64 / secs
    );
    let start = Instant::now();
    let v: Value = c
        .get(format!("{decl}/ledger/verify"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(v["ok"], true, "{v}");
    assert_eq!(v["entries"], json!(n));
    println!(
        "ledger verified: {} entries in {:.2} s",
        v["entries"],
        start.elapsed().as_secs_f64()
    );
}
