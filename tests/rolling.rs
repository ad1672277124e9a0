//! A rolling restart behind a real load balancer: two `convene serve --no-worker`
//! processes behind Debian's HAProxy, configured by the shipped
//! `deploy/haproxy/convene.cfg` (only its ports changed), one `convene worker`, one
//! PostgreSQL. During a registration rush both API processes are restarted one after the
//! other (SIGTERM, wait for the exit, start again); clients retry only what is retryable
//! (a 502/503/504 or a refused connection, with the same `Idempotency-Key`). Afterwards:
//! every registration answered 201 (or 200 for a replay), capacity exact, every answered
//! registration stored once with its outbox row.
//!
//! Several processes on one database is the PostgreSQL topology (README "Several
//! processes on one database"): the test returns at once on a SQLite run; on a PostgreSQL
//! run a missing `haproxy` FAILS it under `CONVENE_REQUIRE_SHARED=1` (`.ci/run` installs
//! it) and skips it otherwise.
mod common;

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::{json, Value};

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind :0")
        .local_addr()
        .expect("local addr")
        .port()
}

fn haproxy_bin() -> Option<PathBuf> {
    common::require_tool(
        "/usr/sbin/haproxy".into(),
        "Debian package `haproxy`; .ci/run installs it",
    )
}

/// `deploy/haproxy/convene.cfg` with its listen and server ports replaced; panics if the
/// shipped file no longer has the lines this test relies on.
fn haproxy_config(front: u16, api: [u16; 2]) -> String {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/deploy/haproxy/convene.cfg");
    let shipped = std::fs::read_to_string(path).expect("deploy/haproxy/convene.cfg");
    let mut cfg = shipped.clone();
    for (from, to) in [
        ("bind :80", format!("bind 127.0.0.1:{front}")),
        ("127.0.0.1:8081", format!("127.0.0.1:{}", api[0])),
        ("127.0.0.1:8082", format!("127.0.0.1:{}", api[1])),
    ] {
        assert!(cfg.contains(from), "{path} has no `{from}`");
        cfg = cfg.replace(from, &to);
    }
    cfg
}

/// HAProxy in the foreground (`-db`), killed when dropped.
struct Haproxy(Child);

impl Drop for Haproxy {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn sigterm(pid: u32) {
    // SAFETY: kill(2) with a pid we started and a valid signal number.
    let rc = unsafe { libc::kill(pid as i32, libc::SIGTERM) };
    assert_eq!(rc, 0, "kill -TERM {pid}");
}

/// `convene serve --no-worker` on `port` over the database at `db_url`.
async fn api(port: u16, db_url: &str) -> common::Server {
    let listen = format!("127.0.0.1:{port}");
    common::Server::start_with(
        &["serve", "--no-worker"],
        &[
            ("CONVENE_HTTP__LISTEN", listen.as_str()),
            ("CONVENE_DATABASE__URL", db_url),
            ("CONVENE_RATE_LIMIT__REGISTRATION__PER_MINUTE", "0"),
        ],
    )
    .await
}

/// Waits until HAProxy reports `server` of backend `convene` UP (its stats socket).
async fn wait_up(stats: &std::path::Path, server: &str) {
    let what = format!("HAProxy marks {server} UP");
    common::wait_until(&what, Duration::from_secs(20), || async {
        use std::io::{Read as _, Write as _};
        let Ok(mut s) = std::os::unix::net::UnixStream::connect(stats) else {
            return false;
        };
        let mut out = String::new();
        if s.write_all(b"show servers state convene\n").is_err()
            || s.read_to_string(&mut out).is_err()
        {
            return false;
        }
        // `show servers state` columns: be_id be_name srv_id srv_name srv_addr
        // srv_op_state (2 = running) …
        out.lines().any(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            f.len() > 5 && f[3] == server && f[5] == "2"
        })
    })
    .await;
}

#[tokio::test]
async fn rolling_restart_of_two_api_processes_behind_haproxy_loses_nothing() {
    if common::backend_name() != "postgres" {
        eprintln!("skipped on SQLite: several processes share one PostgreSQL");
        return;
    }
    let Some(haproxy) = haproxy_bin() else {
        return;
    };
    let ports = [free_port(), free_port()];
    // `owner` owns the test database; every other process is pointed at it.
    let owner = common::Server::start_with(
        &["serve", "--no-worker"],
        &[
            ("CONVENE_HTTP__LISTEN", &format!("127.0.0.1:{}", ports[0])),
            ("CONVENE_RATE_LIMIT__REGISTRATION__PER_MINUTE", "0"),
        ],
    )
    .await;
    let db_url = owner.db.url.clone();
    let mut apis: Vec<Option<common::Server>> = vec![None, Some(api(ports[1], &db_url).await)];
    let token = owner.organizer_token("org@example.org");
    for (method, path, body) in [
        (
            reqwest::Method::POST,
            "/api/v1/forums",
            Some(json!({"slug": "rolling-2030", "title": "Rolling forum",
                "time_zone": "Europe/Istanbul", "first_day": "2030-11-26",
                "last_day": "2030-11-27", "capacity": 100})),
        ),
        (
            reqwest::Method::POST,
            "/api/v1/forums/rolling-2030/publish",
            None,
        ),
    ] {
        let (st, v) = owner.call(method, path, &token, body).await;
        assert!(st.is_success(), "{path}: {st} {v}");
    }
    let mut worker = owner.spawn_cli("worker", &["worker"], &[]);

    let front = free_port();
    let dir = tempfile::tempdir().unwrap();
    let stats = dir.path().join("haproxy.sock");
    let cfg = haproxy_config(front, ports).replace(
        "    maxconn 4096\n",
        &format!(
            "    maxconn 4096\n    stats socket {} mode 600 level admin\n",
            stats.display()
        ),
    );
    let cfg_path = dir.path().join("haproxy.cfg");
    std::fs::write(&cfg_path, &cfg).unwrap();
    let check = Command::new(&haproxy)
        .arg("-c")
        .arg("-f")
        .arg(&cfg_path)
        .output()
        .unwrap();
    assert!(
        check.status.success(),
        "haproxy -c: {}",
        String::from_utf8_lossy(&check.stderr)
    );
    let log = std::fs::File::create(dir.path().join("haproxy.log")).unwrap();
    let _lb = Haproxy(
        Command::new(&haproxy)
            .arg("-db")
            .arg("-f")
            .arg(&cfg_path)
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap(),
    );
    wait_up(&stats, "api1").await;
    wait_up(&stats, "api2").await;

    // 400 registrations over ~12 s through the balancer, each retried on a retryable
    // answer with its own Idempotency-Key.
    let client = reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(60))
        .build()
        .unwrap();
    let url = format!("http://127.0.0.1:{front}/api/v1/forums/rolling-2030/registrations");
    let (answered_tx, mut answered_rx) = tokio::sync::mpsc::unbounded_channel::<()>();
    let done = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let mut tasks = tokio::task::JoinSet::new();
    const N: usize = 400;
    for i in 0..N {
        let (client, url, tx) = (client.clone(), url.clone(), answered_tx.clone());
        let done = done.clone();
        tasks.spawn(async move {
            tokio::time::sleep(Duration::from_millis(i as u64 * 30)).await;
            let key = format!("rolling-key-{i}");
            let mut retried = 0;
            loop {
                let res = client
                    .post(&url)
                    .header("Idempotency-Key", &key)
                    .json(&json!({"name": format!("Participant {i}"),
                        "email": format!("p{i}@example.org"), "category": "mayor",
                        "country": "TR", "city": "Gaziantep", "language": "en"}))
                    .send()
                    .await;
                let _ = tx.send(());
                let retryable = match &res {
                    Err(_) => true,
                    Ok(r) => matches!(r.status().as_u16(), 502..=504),
                };
                let in_flight = matches!(&res, Ok(r) if r.status() == 409);
                if retryable || in_flight {
                    retried += 1;
                    assert!(retried < 100, "request {i}: still failing after 100 tries");
                    if in_flight {
                        let body: Value = res.unwrap().json().await.unwrap();
                        assert_eq!(
                            body["type"], "/problems/idempotency-key-in-flight",
                            "request {i}: {body}"
                        );
                    }
                    tokio::time::sleep(Duration::from_millis(200)).await;
                    continue;
                }
                let res = res.unwrap();
                let st = res.status();
                let body: Value = res.json().await.unwrap_or(Value::Null);
                done.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                return (i, st, body, retried);
            }
        });
    }
    drop(answered_tx);
    for _ in 0..60 {
        answered_rx.recv().await;
    }
    // Restart api1 (the owner's process), then api2, one after the other.
    let mut owner = owner;
    sigterm(owner.child_id());
    let status = owner.wait_exit(Duration::from_secs(40));
    assert_eq!(status.code(), Some(0), "api1 exit {status:?}");
    apis[0] = Some(api(ports[0], &db_url).await);
    wait_up(&stats, "api1").await;
    let mut second = apis[1].take().unwrap();
    sigterm(second.child_id());
    let status = second.wait_exit(Duration::from_secs(40));
    assert_eq!(status.code(), Some(0), "api2 exit {status:?}");
    drop(second);
    apis[1] = Some(api(ports[1], &db_url).await);
    wait_up(&stats, "api2").await;
    let done_after_restarts = done.load(std::sync::atomic::Ordering::SeqCst);

    let mut answers = Vec::new();
    while let Some(r) = tasks.join_next().await {
        answers.push(r.unwrap());
    }
    let retried: usize = answers.iter().map(|a| a.3).sum();
    eprintln!(
        "{N} registrations through HAProxy across two restarts; {done_after_restarts} done \
         when both were back; retried attempts: {retried}"
    );
    // The rush began before the first SIGTERM (60 answers awaited) and outlasted both
    // restarts.
    assert!(
        done_after_restarts < N,
        "the rush ended before the restarts did"
    );
    let outcome: Vec<_> = answers
        .iter()
        .map(|(i, st, body, _)| (*i, *st, body.clone()))
        .collect();
    let serving = apis[0].as_ref().unwrap();
    common::rush::assert_outcome(serving, &token, "rolling-2030", &db_url, &outcome, 100, 300)
        .await;
    let _ = worker.kill();
    let _ = worker.wait();
}
