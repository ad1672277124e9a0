//! Driver of `bench/notifier-drain` (see that script for usage). Not a test.
//!
//! 1. Starts an SMTP sink on loopback (the tests' `mailin-embedded` server, bodies not kept).
//! 2. Ceiling: floods the sink with MESSAGES copies of a real rendered notice through
//!    lettre's pooled SMTP transport alone (no database), at 8 and 32 connections; the
//!    better rate is the sink's ceiling on this machine.
//! 3. For each worker count W: a fresh database, MESSAGES pending rows (one written by
//!    the API — a session moved with a speaker to notify — the rest cloned in SQL), then W
//!    `convene worker` processes; the rate is MESSAGES / (time until the sink has them all).

#[path = "../tests/common/outbox.rs"]
mod outbox;
#[path = "../tests/common/smtp.rs"]
mod smtp;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use lettre::{AsyncSmtpTransport, Tokio1Executor};
use serde_json::{json, Value};
use sqlx::Connection as _;

/// CPU time (user + system) a process has used so far, seconds (Linux `/proc/<pid>/stat`,
/// fields 14 and 15, in clock ticks of 1/100 s). 0 where `/proc` is missing.
fn cpu_secs(pid: &str) -> f64 {
    let (user, sys) = cpu_split(pid);
    user + sys
}

/// (user, system) CPU seconds of a process so far (see [`cpu_secs`]).
fn cpu_split(pid: &str) -> (f64, f64) {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // The command name (field 2) may hold spaces; the fields after it follow the last ')'.
    let rest = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    (ticks(11) / 100.0, ticks(12) / 100.0)
}

/// Machine-wide (busy, total) CPU time so far, in clock ticks summed over all cores
/// (`/proc/stat`, first line: busy = all fields but idle and iowait). (0, 0) where
/// `/proc` is missing.
fn machine_ticks() -> (u64, u64) {
    let stat = std::fs::read_to_string("/proc/stat").unwrap_or_default();
    let f: Vec<u64> = stat
        .lines()
        .next()
        .unwrap_or("")
        .split_whitespace()
        .skip(1)
        .filter_map(|v| v.parse().ok())
        .collect();
    let total: u64 = f.iter().sum();
    let idle = f.get(3).copied().unwrap_or(0) + f.get(4).copied().unwrap_or(0);
    (total - idle, total)
}

/// CPU seconds (user + system) used so far by every process named `postgres` on this
/// machine (the server and its backends, `/proc/<pid>/stat`); 0 without such processes.
/// Backends that exit between two readings take their CPU with them, so this is a floor.
fn postgres_cpu_secs() -> f64 {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return 0.0;
    };
    dir.filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|pid| pid.bytes().all(|b| b.is_ascii_digit()))
        .filter(|pid| {
            std::fs::read_to_string(format!("/proc/{pid}/comm"))
                .is_ok_and(|c| c.trim() == "postgres")
        })
        .map(|pid| cpu_secs(&pid))
        .sum()
}

/// CPU seconds (user + system) so far of this process's threads, split into (tokio's
/// worker threads — the flood client —, the rest — mostly the sink's threads), from
/// `/proc/self/task/<tid>/stat` (a thread's `comm` is its name, cut to 15 bytes).
fn own_threads_cpu() -> (f64, f64) {
    let mut split = (0.0, 0.0);
    let Ok(dir) = std::fs::read_dir("/proc/self/task") else {
        return split;
    };
    for tid in dir.filter_map(|e| e.ok()) {
        let tid = tid.file_name().to_string_lossy().into_owned();
        let comm =
            std::fs::read_to_string(format!("/proc/self/task/{tid}/comm")).unwrap_or_default();
        let cpu = cpu_secs(&format!("self/task/{tid}"));
        if comm.starts_with("tokio-r") {
            split.0 += cpu;
        } else {
            split.1 += cpu;
        }
    }
    split
}

fn env_or(k: &str, d: &str) -> String {
    std::env::var(k).unwrap_or_else(|_| d.to_string())
}

async fn flood(port: u16, n: usize, conns: u32, msg: &lettre::Message) -> f64 {
    // The worker's own client (lettre's pool with TCP_NODELAY): the ceiling is the sink's.
    let t = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous("127.0.0.1")
        .port(port)
        .pool_config(lettre::transport::smtp::PoolConfig::new().max_size(conns))
        .build();
    let t = Arc::new(convene_notifier::transport::SmtpRelay::new(t, port));
    let sem = Arc::new(tokio::sync::Semaphore::new(conns as usize));
    let t0 = Instant::now();
    let mut set = tokio::task::JoinSet::new();
    for _ in 0..n {
        let (t, sem, m) = (t.clone(), sem.clone(), msg.clone());
        set.spawn(async move {
            let _p = sem.acquire_owned().await;
            t.send(m).await.expect("flood send");
        });
    }
    while set.join_next().await.is_some() {}
    n as f64 / t0.elapsed().as_secs_f64()
}

struct Db {
    url: String,
    pg: Option<(String, String)>,
    _dir: Option<tempdir::Dir>,
}

mod tempdir {
    pub struct Dir(pub std::path::PathBuf);
    impl Drop for Dir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

async fn fresh_db(i: usize) -> Db {
    match std::env::var("PG_ADMIN").ok().filter(|s| !s.is_empty()) {
        Some(admin) => {
            let name = format!("convene_bench_{}_{}", std::process::id(), i);
            let mut c = sqlx::PgConnection::connect(&admin).await.expect("pg");
            sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE \"{name}\"")))
                .execute(&mut c)
                .await
                .expect("create db");
            let base = admin.rsplit_once('/').map(|(b, _)| b).unwrap_or(&admin);
            Db {
                url: format!("{base}/{name}"),
                pg: Some((admin, name)),
                _dir: None,
            }
        }
        None => {
            let dir =
                std::env::temp_dir().join(format!("convene-bench-{}-{i}", std::process::id()));
            std::fs::create_dir_all(&dir).unwrap();
            Db {
                url: format!("sqlite://{}/convene.db?mode=rwc", dir.display()),
                pg: None,
                _dir: Some(tempdir::Dir(dir)),
            }
        }
    }
}

async fn drop_db(db: Db) {
    if let Some((admin, name)) = &db.pg {
        if let Ok(mut c) = sqlx::PgConnection::connect(admin).await {
            let _ = sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
                "DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"
            )))
            .execute(&mut c)
            .await;
        }
    }
}

fn convene(bin: &str, db: &Db, port: u16) -> Command {
    let mut c = Command::new(bin);
    for (k, _) in std::env::vars() {
        if k.starts_with("CONVENE_") {
            c.env_remove(k);
        }
    }
    c.env("CONVENE_DATABASE__URL", &db.url)
        .env("CONVENE_HTTP__LISTEN", "127.0.0.1:0")
        .env("CONVENE_LOG", "warn")
        .env("CONVENE_MAIL__TRANSPORT", "smtp")
        .env("CONVENE_MAIL__SMTP__HOST", "127.0.0.1")
        .env("CONVENE_MAIL__SMTP__PORT", port.to_string())
        .env("CONVENE_MAIL__SMTP__SECURITY", "none")
        .env("CONVENE_WORKER__BATCH_SIZE", env_or("BATCH", "64"))
        .env("CONVENE_WORKER__CONCURRENCY", env_or("CONCURRENCY", "8"));
    c
}

/// Starts `serve --no-worker`, writes `n` pending rows, stops it.
async fn prepare(bin: &str, db: &Db, port: u16, n: i64) {
    let out = convene(bin, db, port)
        .args(["admin", "create-organizer", "--email", "bench@example.org"])
        .output()
        .unwrap();
    let token = String::from_utf8_lossy(&out.stdout).trim().to_string();
    let mut server: Child = convene(bin, db, port)
        .args(["serve", "--no-worker"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(server.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let base = line.trim().trim_start_matches("listening on ").to_string();
    let http = reqwest::Client::new();
    let post = |p: &str, b: Value| {
        http.post(format!("{base}/api/v1{p}"))
            .bearer_auth(&token)
            .json(&b)
            .send()
    };
    post(
        "/forums",
        json!({"slug": "bench", "title": "Bench Forum", "city": "Gaziantep", "country": "TR",
        "time_zone": "Europe/Istanbul", "first_day": "2030-11-26", "last_day": "2030-11-27"}),
    )
    .await
    .unwrap();
    let room: Value = post("/forums/bench/rooms", json!({"name": "Hall A"}))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let sp: Value = post(
        "/forums/bench/speakers",
        json!({"name": "Ayşe Yılmaz", "email": "ayse@example.org"}),
    )
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    let sess: Value = post(
        "/forums/bench/sessions",
        json!({"kind": "panel", "title": "Cities of Refuge",
        "room_id": room["id"], "speakers": [{"speaker_id": sp["id"]}], "language": "fr",
        "starts_at": "2030-11-26T09:00:00+03:00", "ends_at": "2030-11-26T10:00:00+03:00"}),
    )
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    http.patch(format!(
        "{base}/api/v1/forums/bench/sessions/{}",
        sess["id"].as_str().unwrap()
    ))
    .bearer_auth(&token)
    .json(
        &json!({"starts_at": "2030-11-26T11:00:00+03:00", "ends_at": "2030-11-26T12:00:00+03:00"}),
    )
    .send()
    .await
    .unwrap();
    let list: Value = http
        .get(format!("{base}/api/v1/forums/bench/notifications"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let key = list["items"][0]["dedupe_key"]
        .as_str()
        .expect("one notice")
        .to_string();
    let _ = server.kill();
    let _ = server.wait();
    let ob = outbox::Outbox::connect(&db.url).await;
    ob.clone_row(&key, n - 1).await;
    assert_eq!(ob.count("status = 'pending'").await, n);
}

#[tokio::main]
async fn main() {
    let bin = std::env::args()
        .nth(1)
        .expect("usage: notifier-drain PATH/TO/convene");
    let n: usize = env_or("MESSAGES", "10000").parse().unwrap();
    let workers: Vec<usize> = env_or("WORKERS", "1,2,4")
        .split(',')
        .map(|w| w.trim().parse().unwrap())
        .collect();
    let sink = smtp::SmtpSink::start(smtp::Options {
        store_bodies: false,
        threads: 128,
        ..Default::default()
    });
    println!(
        "SMTP sink on 127.0.0.1:{} (mailin-embedded, bodies discarded)",
        sink.port
    );

    // A real notice as the worker renders it.
    let r = convene_notifier::Renderer::new("http://127.0.0.1:8080", "convene <noreply@localhost>")
        .unwrap();
    let now = chrono::Utc::now();
    let row = convene_domain::notifications::Notification {
        id: uuid::Uuid::new_v4(),
        forum_id: uuid::Uuid::nil(),
        kind: "session.changed".into(),
        recipient_email: "ayse@example.org".into(),
        recipient_name: "Ayşe Yılmaz".into(),
        language: "fr".into(),
        data: json!({"forum": {"slug": "bench", "title": "Bench Forum", "time_zone": "Europe/Istanbul", "city": "Gaziantep"},
            "session": {"id": uuid::Uuid::nil(), "guid": "g", "title": "Cities of Refuge", "starts_at": "2030-11-26T08:00:00Z",
                "ends_at": "2030-11-26T09:00:00Z", "room": "Hall A", "sequence": 1, "status": "scheduled"},
            "previous": {"starts_at": "2030-11-26T06:00:00Z", "ends_at": "2030-11-26T07:00:00Z", "room": "Hall A"}}),
        dedupe_key: "k".into(),
        status: "pending".into(),
        attempts: 0,
        next_attempt_at: now,
        lease_owner: None,
        lease_expires_at: None,
        last_error: None,
        sent_at: None,
        created_at: now,
        updated_at: now,
    };
    let msg = r.message(&row, &r.render(&row).unwrap()).unwrap();
    println!("message size: {} bytes", msg.formatted().len());
    // What each message costs the worker before SMTP: rendering (text, HTML, .ics) and MIME.
    let t0 = Instant::now();
    for _ in 0..1000 {
        let m = r.message(&row, &r.render(&row).unwrap()).unwrap();
        std::hint::black_box(m.formatted());
    }
    let per = t0.elapsed().as_secs_f64() / 1000.0;
    println!(
        "render + MIME alone: {:.0} µs/message ({:.0} msg/s on one core)",
        per * 1e6,
        1.0 / per
    );
    let mut ceiling: f64 = 0.0;
    for conns in [8u32, 32] {
        let cpu0 = cpu_secs("self");
        let split0 = own_threads_cpu();
        let rate = flood(sink.port, n, conns, &msg).await;
        let cpu = cpu_secs("self") - cpu0;
        let split1 = own_threads_cpu();
        println!(
            "ceiling: raw lettre flood, {conns:>2} pooled connections: {rate:>8.0} msg/s \
             (sink + flood client: {:.0} µs CPU/message: client {:.0}, sink {:.0})",
            cpu / n as f64 * 1e6,
            (split1.0 - split0.0) / n as f64 * 1e6,
            (split1.1 - split0.1) / n as f64 * 1e6,
        );
        ceiling = ceiling.max(rate);
    }
    for (i, w) in workers.iter().enumerate() {
        let db = fresh_db(i).await;
        prepare(&bin, &db, sink.port, n as i64).await;
        let before = sink.accepted();
        let sink_cpu0 = cpu_secs("self");
        let pg_cpu0 = postgres_cpu_secs();
        let machine0 = machine_ticks();
        let t0 = Instant::now();
        let mut procs: Vec<Child> = (0..*w)
            .map(|_| {
                convene(&bin, &db, sink.port)
                    .arg("worker")
                    .stdout(Stdio::null())
                    .spawn()
                    .unwrap()
            })
            .collect();
        // Polled every millisecond: the instants of the first and the last message.
        let mut first: Option<Instant> = None;
        while sink.accepted() - before < n as u64 {
            assert!(
                t0.elapsed() < Duration::from_secs(600),
                "drain took more than 10 minutes"
            );
            if first.is_none() && sink.accepted() > before {
                first = Some(Instant::now());
            }
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        let secs = t0.elapsed().as_secs_f64();
        let steady = first.map(|f| f.elapsed().as_secs_f64()).unwrap_or(secs);
        let sink_cpu = cpu_secs("self") - sink_cpu0;
        let pg_cpu = postgres_cpu_secs() - pg_cpu0;
        let machine1 = machine_ticks();
        let busy = (machine1.0 - machine0.0) as f64 / (machine1.1 - machine0.1).max(1) as f64;
        let (worker_user, worker_sys) = procs
            .iter()
            .map(|p| cpu_split(&p.id().to_string()))
            .fold((0.0, 0.0), |(u, s), (a, b)| (u + a, s + b));
        // SIGTERM (a graceful stop, so a profiler wrapped around a worker can write its
        // output), SIGKILL if one is still there after 10 s.
        for p in &procs {
            let _ = Command::new("kill")
                .args(["-TERM", &p.id().to_string()])
                .status();
        }
        for p in procs.iter_mut() {
            let t = Instant::now();
            while p.try_wait().ok().flatten().is_none() && t.elapsed() < Duration::from_secs(10) {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            let _ = p.kill();
            let _ = p.wait();
        }
        let rate = n as f64 / secs;
        let steady_rate = (n - 1).max(1) as f64 / steady.max(1e-6);
        let extra = sink.accepted() - before - n as u64;
        println!(
            "drain: {w} worker(s), {n} messages in {secs:.2} s from the start of the processes: \
             {rate:>6.0} msg/s = {:.0} % of the ceiling; from the first message to the last \
             ({steady:.2} s): {steady_rate:>6.0} msg/s = {:.0} %{}",
            100.0 * rate / ceiling,
            100.0 * steady_rate / ceiling,
            if extra > 0 {
                format!(" ({extra} extra)")
            } else {
                String::new()
            },
        );
        println!(
            "       CPU per message: workers {:.0} µs ({:.0} user + {:.0} system), sink {:.0} µs{}; \
             machine {:.0} % busy",
            (worker_user + worker_sys) / n as f64 * 1e6,
            worker_user / n as f64 * 1e6,
            worker_sys / n as f64 * 1e6,
            sink_cpu / n as f64 * 1e6,
            if db.pg.is_some() {
                format!(", PostgreSQL {:.0} µs", pg_cpu / n as f64 * 1e6)
            } else {
                String::new()
            },
            busy * 100.0,
        );
        drop_db(db).await;
    }
}
