//! A PostgreSQL that goes away and comes back: requests get 503 problem+json with
//! `Retry-After` (never a 500 or a hang), `/readyz` turns 503, the pool reconnects and the
//! worker resumes without restarting convene, and a registration rush across a
//! `pg_ctl restart -m fast` keeps every rule.
//!
//! Each test runs its **own** PostgreSQL (initdb in a temporary folder, as the `postgres`
//! user when run as root, on a free loopback port), never the machine's shared server.
//! PostgreSQL-specific: skipped on a SQLite run; on a PostgreSQL run
//! (`CONVENE_TEST_DATABASE_URL=postgres://…`) a missing `initdb` FAILS the test.
mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::{json, Value};

/// A private PostgreSQL instance, stopped (immediately) when dropped.
struct OwnPg {
    dir: tempfile::TempDir,
    bin: PathBuf,
    port: u16,
}

/// The newest `/usr/lib/postgresql/<v>/bin` holding `initdb` and `pg_ctl`.
fn pg_bin() -> Option<PathBuf> {
    let mut found: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let v: u32 = e.file_name().to_str()?.split('.').next()?.parse().ok()?;
            let bin = e.path().join("bin");
            (bin.join("initdb").is_file() && bin.join("pg_ctl").is_file()).then_some((v, bin))
        })
        .collect();
    found.sort();
    found.pop().map(|(_, b)| b)
}

fn is_root() -> bool {
    // SAFETY: getuid has no preconditions.
    unsafe { libc::getuid() == 0 }
}

/// `program args…`, as the `postgres` user when we are root (PostgreSQL refuses root).
fn as_postgres(program: &Path, args: &[&str]) -> Command {
    if is_root() {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--"]).arg(program).args(args);
        c
    } else {
        let mut c = Command::new(program);
        c.args(args);
        c
    }
}

fn run(mut c: Command, what: &str) {
    let out = c
        .output()
        .unwrap_or_else(|e| panic!("{what}: cannot run: {e}"));
    assert!(
        out.status.success(),
        "{what} failed: {}\n{}{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl OwnPg {
    /// `None` (skip) on a SQLite run; panics on a PostgreSQL run without PostgreSQL's
    /// server binaries.
    fn start() -> Option<OwnPg> {
        if common::backend_name() != "postgres" {
            eprintln!("SKIPPED: PostgreSQL-specific (set CONVENE_TEST_DATABASE_URL=postgres://…)");
            return None;
        }
        let bin = pg_bin().expect(
            "CONVENE_TEST_DATABASE_URL is PostgreSQL but no /usr/lib/postgresql/*/bin/initdb \
             (apt-get install postgresql)",
        );
        let dir = tempfile::Builder::new()
            .prefix("convene-pg-")
            .tempdir_in("/tmp")
            .unwrap();
        if is_root() {
            let name = std::ffi::CString::new("postgres").unwrap();
            // SAFETY: a valid C string; the result is read before any other getpw* call.
            let pw = unsafe { libc::getpwnam(name.as_ptr()) };
            assert!(!pw.is_null(), "no `postgres` user to run PostgreSQL as");
            let (uid, gid) = unsafe { ((*pw).pw_uid, (*pw).pw_gid) };
            std::os::unix::fs::chown(dir.path(), Some(uid), Some(gid)).unwrap();
        }
        let pg = OwnPg {
            bin,
            port: free_port(),
            dir,
        };
        let data = pg.data();
        run(
            as_postgres(
                &pg.bin.join("initdb"),
                &[
                    "-D",
                    &data,
                    "-U",
                    "postgres",
                    "-A",
                    "trust",
                    "--no-sync",
                    "-E",
                    "UTF8",
                ],
            ),
            "initdb",
        );
        pg.ctl(&["start"]);
        Some(pg)
    }

    fn data(&self) -> String {
        self.dir.path().join("data").display().to_string()
    }

    /// `pg_ctl ACTION` (start, stop -m fast, restart -m fast), waiting for it to finish.
    fn ctl(&self, action: &[&str]) {
        let opts = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=100",
            self.port,
            self.dir.path().display()
        );
        let log = self.dir.path().join("pg.log").display().to_string();
        let data = self.data();
        let mut args = vec!["-D", &data, "-l", &log, "-o", &opts, "-w", "-t", "60"];
        args.extend_from_slice(action);
        run(
            as_postgres(&self.bin.join("pg_ctl"), &args),
            &format!("pg_ctl {}", action.join(" ")),
        );
    }

    fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }
}

impl Drop for OwnPg {
    fn drop(&mut self) {
        let data = self.data();
        let _ = as_postgres(
            &self.bin.join("pg_ctl"),
            &["-D", &data, "stop", "-m", "immediate", "-w"],
        )
        .output();
    }
}

async fn server_on(pg: &OwnPg, args: &[&str]) -> common::Server {
    let url = pg.url();
    common::Server::start_with(
        args,
        &[
            ("CONVENE_DATABASE__URL", &url),
            ("CONVENE_DATABASE__ACQUIRE_TIMEOUT_SECS", "2"),
            ("CONVENE_RATE_LIMIT__REGISTRATION__PER_MINUTE", "0"),
            ("CONVENE_WORKER__POLL_INTERVAL_MS", "200"),
        ],
    )
    .await
}

/// A published forum `outage-2030` of `capacity`.
async fn forum(server: &common::Server, capacity: i64) -> String {
    let token = server.organizer_token("org@example.org");
    let (st, v) = server
        .call(
            reqwest::Method::POST,
            "/api/v1/forums",
            &token,
            Some(json!({"slug": "outage-2030", "title": "Outage forum",
                "time_zone": "Europe/Istanbul", "first_day": "2030-11-26",
                "last_day": "2030-11-27", "capacity": capacity})),
        )
        .await;
    assert_eq!(st, 201, "{v}");
    let (st, v) = server
        .call(
            reqwest::Method::POST,
            "/api/v1/forums/outage-2030/publish",
            &token,
            None,
        )
        .await;
    assert_eq!(st, 200, "{v}");
    token
}

fn registration(i: usize) -> Value {
    json!({"name": format!("Participant {i}"), "email": format!("p{i}@example.org"),
        "category": "mayor", "country": "TR", "city": "Gaziantep", "language": "en"})
}

/// Checks a 503 answer: problem+json `/problems/unavailable` with a whole-seconds
/// `Retry-After` and the request id.
async fn assert_unavailable(res: reqwest::Response) {
    assert_eq!(res.status(), 503);
    let h = res.headers().clone();
    assert_eq!(h["content-type"], "application/problem+json");
    let retry: u64 = h["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=60).contains(&retry), "Retry-After {retry}");
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["type"], "/problems/unavailable", "{body}");
    assert_eq!(body["request_id"], h["x-request-id"].to_str().unwrap());
}

/// PostgreSQL stopped: reads and writes answer 503 + Retry-After within the acquire
/// timeout (2 s here), `/readyz` is 503 and `/healthz` 200; started again: the same
/// process serves again, and its worker resumes sending.
#[tokio::test]
async fn database_outage_answers_503_and_heals_without_restart() {
    let Some(pg) = OwnPg::start() else { return };
    let server = server_on(&pg, &["serve"]).await;
    forum(&server, 100).await;
    let (st, _) = get(&server, "/readyz").await;
    assert_eq!(st, 200);

    pg.ctl(&["stop", "-m", "fast"]);
    for _ in 0..3 {
        let t0 = Instant::now();
        let res = server
            .client
            .get(server.url("/api/v1/forums/outage-2030"))
            .send()
            .await
            .unwrap();
        assert!(t0.elapsed() < Duration::from_secs(8), "{:?}", t0.elapsed());
        assert_unavailable(res).await;
    }
    let res = server
        .client
        .post(server.url("/api/v1/forums/outage-2030/registrations"))
        .json(&registration(1))
        .send()
        .await
        .unwrap();
    assert_unavailable(res).await;
    let (st, v) = get(&server, "/readyz").await;
    assert_eq!(st, 503, "{v}");
    assert_ne!(v["checks"]["database"], "ok", "{v}");
    let (st, _) = get(&server, "/healthz").await;
    assert_eq!(st, 200);
    // Let the worker fail a few claims (it backs off).
    tokio::time::sleep(Duration::from_secs(3)).await;

    pg.ctl(&["start"]);
    common::wait_until("readyz 200 again", Duration::from_secs(30), || async {
        get(&server, "/readyz").await.0 == 200
    })
    .await;
    let (st, v) = get(&server, "/api/v1/forums/outage-2030").await;
    assert_eq!(st, 200, "{v}");
    let res = server
        .client
        .post(server.url("/api/v1/forums/outage-2030/registrations"))
        .json(&registration(2))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    // The embedded worker resumed: the confirmation is written as an .eml file.
    let mail = server.mail_dir();
    common::wait_until(
        "the worker to send after the outage",
        Duration::from_secs(60),
        || {
            let n = std::fs::read_dir(&mail).map(|d| d.count()).unwrap_or(0);
            async move { n >= 1 }
        },
    )
    .await;
    let log = server.stderr();
    assert!(log.contains("backing off"), "{log}");
    assert!(!log.contains("panicked"), "{log}");
}

async fn get(server: &common::Server, path: &str) -> (StatusCode, Value) {
    let res = server.client.get(server.url(path)).send().await.unwrap();
    let st = res.status();
    (st, res.json().await.unwrap_or(Value::Null))
}

/// 300 registrations over 6 s (each with its own Idempotency-Key, retried on 503 as a
/// client should) on capacity 100 while PostgreSQL restarts (`pg_ctl restart -m fast`):
/// every 5xx is a 503 with Retry-After; in the end exactly 100 confirmed and 200 wait-listed,
/// counters equal rows, each person registered once, every 201 has its row and its
/// outbox row, and each key answers with the registration it made.
#[tokio::test]
async fn registration_rush_across_a_postgres_restart_keeps_every_rule() {
    let Some(pg) = OwnPg::start() else { return };
    let server = server_on(&pg, &["serve", "--no-worker"]).await;
    let token = forum(&server, 100).await;
    let db_url = pg.url();
    let url = server.url("/api/v1/forums/outage-2030/registrations");
    let (answered_tx, mut answered_rx) = tokio::sync::mpsc::unbounded_channel::<()>();
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..300usize {
        let (client, url, tx) = (server.client.clone(), url.clone(), answered_tx.clone());
        tasks.spawn(async move {
            tokio::time::sleep(Duration::from_millis(i as u64 * 20)).await;
            let key = format!("rush-key-{i}");
            let mut unavailable = 0;
            loop {
                let res = client
                    .post(&url)
                    .header("Idempotency-Key", &key)
                    .json(&registration(i))
                    .send()
                    .await;
                let _ = tx.send(());
                let res = match res {
                    Ok(r) => r,
                    Err(e) => panic!("request {i}: {e}"),
                };
                let st = res.status();
                if st == 503 {
                    assert!(
                        res.headers().contains_key("retry-after"),
                        "503 without Retry-After"
                    );
                    unavailable += 1;
                    assert!(unavailable < 100, "request {i}: still 503 after 100 tries");
                    tokio::time::sleep(Duration::from_millis(300)).await;
                    continue;
                }
                if st == 409 {
                    // The same key still in flight in this process: retry, as told.
                    let body: Value = res.json().await.unwrap();
                    assert_eq!(
                        body["type"], "/problems/idempotency-key-in-flight",
                        "{body}"
                    );
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
                let body: Value = res.json().await.unwrap();
                assert!(
                    !st.is_server_error(),
                    "request {i}: {st} (only 503 may be 5xx): {body}"
                );
                return (i, st, body, unavailable);
            }
        });
    }
    drop(answered_tx);
    for _ in 0..60 {
        answered_rx.recv().await;
    }
    let answered_at_start = 60 + answered_rx.len();
    let restart = tokio::task::spawn_blocking(move || {
        pg.ctl(&["restart", "-m", "fast"]);
        pg
    });
    let mut answers = Vec::new();
    let mut restarted = Box::pin(restart);
    let mut answered_at_end = None;
    // Kept to the end of the test: dropping it stops the instance.
    let mut _pg = None;
    loop {
        tokio::select! {
            r = &mut restarted, if answered_at_end.is_none() => {
                _pg = Some(r.unwrap());
                answered_at_end = Some(answers.len());
            }
            r = tasks.join_next() => match r {
                Some(r) => answers.push(r.unwrap()),
                None => break,
            },
        }
    }
    if answered_at_end.is_none() {
        _pg = Some(restarted.await.unwrap());
    }
    let saw_503: usize = answers.iter().map(|a| a.3).sum();
    eprintln!(
        "503 answers seen during the restart: {saw_503}; registrations finished when the \
         restart was done: {answered_at_end:?} of 300"
    );
    // The rush was under way when the restart began (60 answers awaited) and went on after
    // it: requests that waited for a connection through the outage (at most
    // `database.acquire_timeout_secs`) may all succeed, so a 503 is allowed, not required.
    assert!(answered_at_start >= 60);
    assert!(
        answered_at_end.is_some_and(|n| n < 300),
        "the rush ended before the restart did"
    );

    let outcome: Vec<_> = answers
        .iter()
        .map(|(i, st, body, _)| (*i, *st, body.clone()))
        .collect();
    common::rush::assert_outcome(&server, &token, "outage-2030", &db_url, &outcome, 100, 200).await;
    // Each key, replayed, answers with the registration it made.
    for (i, _, body, _) in answers.iter().step_by(37) {
        let res = server
            .client
            .post(&url)
            .header("Idempotency-Key", format!("rush-key-{i}"))
            .json(&registration(*i))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
        let again: Value = res.json().await.unwrap();
        assert_eq!(again["registration"]["id"], body["registration"]["id"]);
    }
    let log = server.stderr();
    assert!(!log.contains("panicked"), "{log}");
}
