//! Load client of `bench/registration-rush`: fires N registrations at one forum with C
//! concurrent clients (keep-alive connections) and prints registrations/s, latency
//! percentiles and the answers by status.
//!
//! `cargo run --release --example registration-rush -- BASE_URL SLUG N CONCURRENCY`

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let base = args
        .get(1)
        .cloned()
        .unwrap_or_else(|| "http://127.0.0.1:8080".into());
    let slug = args.get(2).cloned().unwrap_or_else(|| "rush".into());
    let n: usize = args.get(3).and_then(|s| s.parse().ok()).unwrap_or(10_000);
    let conc: usize = args.get(4).and_then(|s| s.parse().ok()).unwrap_or(64);
    let tag = args.get(5).cloned().unwrap_or_default();
    let url = format!("{base}/api/v1/forums/{slug}/registrations");
    let client = reqwest::Client::builder()
        .no_proxy()
        .pool_max_idle_per_host(conc)
        .timeout(Duration::from_secs(60))
        .build()
        .expect("client");
    let next = Arc::new(AtomicUsize::new(0));
    let start = Instant::now();
    let mut tasks = vec![];
    for _ in 0..conc {
        let (client, url, next, tag) = (client.clone(), url.clone(), next.clone(), tag.clone());
        tasks.push(tokio::spawn(async move {
            let mut lat = vec![];
            let mut statuses: Vec<(u16, String)> = vec![];
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= n {
                    break;
                }
                let body = serde_json::json!({
                    "name": format!("Participant {i}"), "email": format!("p{i}{tag}@bench.example.org"),
                    "category": "municipal_official", "country": "TR", "language": "tr",
                });
                let t = Instant::now();
                let res = client.post(&url).json(&body).send().await;
                let (code, status) = match res {
                    Ok(r) => {
                        let code = r.status().as_u16();
                        let v: serde_json::Value = r.json().await.unwrap_or_default();
                        let s = v["registration"]["status"].as_str().unwrap_or("").to_owned();
                        (code, s)
                    }
                    Err(e) => {
                        eprintln!("request failed: {e}");
                        (0, String::new())
                    }
                };
                lat.push(t.elapsed());
                statuses.push((code, status));
            }
            (lat, statuses)
        }));
    }
    let mut lat = vec![];
    let mut by: std::collections::BTreeMap<String, usize> = Default::default();
    for t in tasks {
        let (l, s) = t.await.expect("task");
        lat.extend(l);
        for (code, st) in s {
            *by.entry(format!("{code} {st}")).or_default() += 1;
        }
    }
    let elapsed = start.elapsed();
    lat.sort();
    let pct = |p: f64| -> f64 {
        let i = ((lat.len() as f64 * p).ceil() as usize)
            .saturating_sub(1)
            .min(lat.len() - 1);
        lat[i].as_secs_f64() * 1000.0
    };
    println!(
        "requests={} concurrency={} seconds={:.2} registrations_per_s={:.0} p50_ms={:.1} p95_ms={:.1} p99_ms={:.1} max_ms={:.1}",
        lat.len(),
        conc,
        elapsed.as_secs_f64(),
        lat.len() as f64 / elapsed.as_secs_f64(),
        pct(0.50),
        pct(0.95),
        pct(0.99),
        lat.last().unwrap().as_secs_f64() * 1000.0
    );
    println!("answers: {by:?}");
}
