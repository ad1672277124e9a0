//! Black-box test harness: runs the real `convene` binary against a real database.
//!
//! Every test file does `mod common;` and then, typically:
//!
//! ```ignore
//! let server = common::Server::start().await;          // `convene serve --no-worker`
//! let token = server.organizer_token("org@example.org"); // `convene admin create-organizer`
//! let res = server.client.get(server.url("/api/v1/forums")).bearer_auth(&token).send().await?;
//! ```
//!
//! The database is chosen by `CONVENE_TEST_DATABASE_URL`:
//! - unset, empty or `sqlite…`: a fresh SQLite file in a temporary folder;
//! - `postgres://…` / `postgresql://…`: an admin URL; each [`TestDb`] creates its own
//!   database `convene_t_<hex>` on that server and drops it again when dropped.
//!
//! Real third-party inputs live in `../shared` ([`shared_dir`], [`require_shared`]); tests
//! that need them or `xmllint` skip with a note, or fail when `CONVENE_REQUIRE_SHARED=1`.
//! [`browser`] drives a headless Chromium (WebDriver, axe-core, screenshots) by the same rule.
#![allow(dead_code)] // each test binary uses a different part of this module

use std::future::Future;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;

use sqlx::Connection as _;
use tempfile::TempDir;

pub mod browser;
pub mod rush;
pub mod snapshot;

/// The binary under test, built by cargo for integration tests.
pub const BIN: &str = env!("CARGO_BIN_EXE_convene");

/// How long `Server::start` waits for the `listening on` line.
const START_TIMEOUT: Duration = Duration::from_secs(60);

const DB_ENV: &str = "CONVENE_TEST_DATABASE_URL";

fn admin_url() -> Option<String> {
    match std::env::var(DB_ENV) {
        Ok(u) if u.starts_with("postgres://") || u.starts_with("postgresql://") => Some(u),
        Ok(u) if u.is_empty() || u.starts_with("sqlite") => None,
        Ok(u) => panic!("{DB_ENV}={u:?}: expected unset, sqlite… or postgres://…"),
        Err(_) => None,
    }
}

/// `"sqlite"` or `"postgres"`: the backend the tests of this run use.
pub fn backend_name() -> &'static str {
    if admin_url().is_some() {
        "postgres"
    } else {
        "sqlite"
    }
}

/// Runs a future to completion on a fresh runtime on its own thread, so it works both
/// inside and outside a tokio runtime (including in `Drop`).
fn block_on_own_thread<T: Send + 'static>(
    fut: impl Future<Output = T> + Send + 'static,
) -> std::thread::Result<T> {
    std::thread::spawn(move || {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("tokio runtime")
            .block_on(fut)
    })
    .join()
}

/// A throw-away database; gone when dropped.
pub struct TestDb {
    /// The URL to give `convene` (`CONVENE_DATABASE__URL`).
    pub url: String,
    /// SQLite: the folder holding `convene.db`.
    dir: Option<TempDir>,
    /// PostgreSQL: (admin URL, database name) to drop.
    pg: Option<(String, String)>,
}

impl TestDb {
    /// Creates an empty database (no migrations applied) for the configured backend.
    pub fn new() -> TestDb {
        match admin_url() {
            None => {
                let dir = tempfile::tempdir().expect("temp dir for SQLite");
                let url = format!("sqlite://{}/convene.db?mode=rwc", dir.path().display());
                TestDb {
                    url,
                    dir: Some(dir),
                    pg: None,
                }
            }
            Some(admin) => {
                let name = format!("convene_t_{}", uuid::Uuid::new_v4().simple());
                let mut url = reqwest::Url::parse(&admin)
                    .unwrap_or_else(|e| panic!("{DB_ENV} is not a URL: {e}"));
                url.set_path(&format!("/{name}"));
                let (a, n) = (admin.clone(), name.clone());
                let created = block_on_own_thread(async move {
                    let mut conn = sqlx::PgConnection::connect(&a).await?;
                    let sql = format!("CREATE DATABASE \"{n}\"");
                    sqlx::raw_sql(sqlx::AssertSqlSafe(sql))
                        .execute(&mut conn)
                        .await?;
                    conn.close().await
                });
                match created {
                    Ok(Ok(())) => {}
                    Ok(Err(e)) => panic!("creating database {name} via {admin}: {e}"),
                    Err(_) => panic!("creating database {name} via {admin}: helper panicked"),
                }
                TestDb {
                    url: url.to_string(),
                    dir: None,
                    pg: Some((admin, name)),
                }
            }
        }
    }
}

impl Default for TestDb {
    fn default() -> Self {
        TestDb::new()
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Some((admin, name)) = self.pg.take() {
            // Best effort: a leftover database must not turn a passing test into a failure.
            let res = block_on_own_thread(async move {
                let mut conn = sqlx::PgConnection::connect(&admin).await?;
                let sql = format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)");
                sqlx::raw_sql(sqlx::AssertSqlSafe(sql))
                    .execute(&mut conn)
                    .await?;
                conn.close().await
            });
            if !matches!(res, Ok(Ok(()))) {
                eprintln!("note: could not drop a test database: {res:?}");
            }
        }
        drop(self.dir.take());
    }
}

/// A running `convene` process with its own database, mail folder and working folder.
pub struct Server {
    /// `http://127.0.0.1:PORT`, no trailing slash.
    pub base: String,
    /// HTTP client for the tests (30 s timeout, no proxy).
    pub client: reqwest::Client,
    child: Child,
    /// The server's database (shared with [`Server::run_cli`]).
    pub db: TestDb,
    /// Working folder of the process: `mail/` (outgoing `.eml`), `server.stderr.log`,
    /// `server.stdout.log`.
    pub dir: TempDir,
    /// Extra environment given to `start_with`, reused by `run_cli`.
    envs: Vec<(String, String)>,
}

impl Server {
    /// `convene serve --no-worker` on a random port with a fresh database.
    pub async fn start() -> Server {
        Server::start_with(&["serve", "--no-worker"], &[]).await
    }

    /// Starts `convene ARGS…` (the full argument list, e.g. `["serve"]` to run the
    /// worker too, or `["serve", "--no-worker", "--demo"]`) with extra environment `envs`,
    /// which override the harness's own `CONVENE_*` settings. Waits (60 s at most) for
    /// `listening on http://…` on stdout; panics with the child's stderr if it exits first.
    pub async fn start_with(args: &[&str], envs: &[(&str, &str)]) -> Server {
        let db = TestDb::new();
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::create_dir_all(dir.path().join("mail")).expect("mail dir");
        let envs: Vec<(String, String)> = envs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let stderr = std::fs::File::create(dir.path().join("server.stderr.log")).expect("log");
        let mut child = base_command(&db, dir.path(), &envs)
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(stderr)
            .spawn()
            .unwrap_or_else(|e| panic!("spawn {BIN}: {e}"));

        // A plain thread reads stdout (independent of the test's runtime): it reports the
        // `listening on` line, then keeps draining into server.stdout.log.
        let stdout = child.stdout.take().expect("piped stdout");
        let log_path = dir.path().join("server.stdout.log");
        let (tx, rx) = tokio::sync::oneshot::channel::<Result<String, String>>();
        std::thread::spawn(move || {
            let mut log = std::fs::File::create(log_path).ok();
            let mut reader = BufReader::new(stdout);
            let mut seen = String::new();
            let mut line = String::new();
            loop {
                line.clear();
                match reader.read_line(&mut line) {
                    Ok(0) | Err(_) => {
                        let _ = tx.send(Err(seen));
                        return;
                    }
                    Ok(_) => {}
                }
                if let Some(l) = log.as_mut() {
                    let _ = l.write_all(line.as_bytes());
                }
                if let Some(pos) = line.find("listening on ") {
                    let url = line[pos + "listening on ".len()..].trim();
                    let _ = tx.send(Ok(url.trim_end_matches('/').to_string()));
                    break;
                }
                seen.push_str(&line);
            }
            let mut rest = reader;
            match log.as_mut() {
                Some(l) => drop(std::io::copy(&mut rest, l)),
                None => drop(std::io::copy(&mut rest, &mut std::io::sink())),
            }
        });

        let outcome = tokio::time::timeout(START_TIMEOUT, rx).await;
        let base = match outcome {
            Ok(Ok(Ok(base))) => base,
            other => {
                let why = match other {
                    Err(_) => format!("no `listening on` line within {START_TIMEOUT:?}"),
                    Ok(Ok(Err(out))) if out.is_empty() => "it exited, nothing on stdout".into(),
                    Ok(Ok(Err(out))) => format!("it exited; its stdout:\n{out}"),
                    _ => "stdout reader died".to_string(),
                };
                let _ = child.kill();
                let status = child.wait();
                let mut err = String::new();
                let _ = std::fs::File::open(dir.path().join("server.stderr.log"))
                    .and_then(|mut f| f.read_to_string(&mut err));
                panic!(
                    "`convene {}` did not start ({why}); exit: {status:?}\n--- stderr ---\n{err}",
                    args.join(" ")
                );
            }
        };

        let client = reqwest::Client::builder()
            .no_proxy()
            .timeout(Duration::from_secs(30))
            .build()
            .expect("reqwest client");
        Server {
            base,
            client,
            child,
            db,
            dir,
            envs,
        }
    }

    /// The server process's id (e.g. to read its memory from `/proc/PID/status`).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// `base` + `path` (`path` starts with `/`).
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    /// Sends `method path` with the bearer `token` and an optional JSON body; returns the
    /// status and the answer as JSON (a body that is not JSON comes back as a string).
    pub async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        token: &str,
        body: Option<serde_json::Value>,
    ) -> (reqwest::StatusCode, serde_json::Value) {
        let mut rb = self
            .client
            .request(method, self.url(path))
            .bearer_auth(token);
        if let Some(b) = body {
            rb = rb.json(&b);
        }
        let res = rb.send().await.unwrap();
        let st = res.status();
        let text = res.text().await.unwrap();
        (
            st,
            serde_json::from_str(&text).unwrap_or(serde_json::Value::String(text)),
        )
    }

    /// Folder where the server (and `run_cli`) write outgoing mail as `.eml` files.
    pub fn mail_dir(&self) -> PathBuf {
        self.dir.path().join("mail")
    }

    /// What the server wrote to stderr so far (its logs).
    pub fn stderr(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("server.stderr.log")).unwrap_or_default()
    }

    /// Runs `convene ARGS…` (e.g. `["import", path, "--publish"]`, `["migrate"]`) with the
    /// server's database, mail folder, environment and working folder; waits for it.
    /// Blocking: fine in `#[tokio::test]`, the server is another process.
    pub fn run_cli<S: AsRef<std::ffi::OsStr>>(&self, args: &[S]) -> Output {
        base_command(&self.db, self.dir.path(), &self.envs)
            .args(args)
            .stdin(Stdio::null())
            .output()
            .unwrap_or_else(|e| panic!("run {BIN}: {e}"))
    }

    /// Starts `convene ARGS…` in the background with the server's database, mail folder,
    /// environment and working folder plus `extra` environment; its stdout and stderr go
    /// to `<name>.stdout.log` / `<name>.stderr.log` in the working folder.
    pub fn spawn_cli(&self, name: &str, args: &[&str], extra: &[(&str, &str)]) -> Child {
        let out =
            std::fs::File::create(self.dir.path().join(format!("{name}.stdout.log"))).expect("log");
        let err =
            std::fs::File::create(self.dir.path().join(format!("{name}.stderr.log"))).expect("log");
        base_command(&self.db, self.dir.path(), &self.envs)
            .envs(extra.iter().map(|(k, v)| (*k, *v)))
            .args(args)
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .unwrap_or_else(|e| panic!("spawn {BIN}: {e}"))
    }

    /// What a process started by [`Server::spawn_cli`] as `name` wrote to stderr.
    pub fn cli_stderr(&self, name: &str) -> String {
        std::fs::read_to_string(self.dir.path().join(format!("{name}.stderr.log")))
            .unwrap_or_default()
    }

    /// Like [`Server::run_cli`] but panics (with stdout and stderr) unless it exits 0;
    /// returns stdout.
    pub fn run_cli_ok<S: AsRef<std::ffi::OsStr>>(&self, args: &[S]) -> String {
        let out = self.run_cli(args);
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        if !out.status.success() {
            let shown: Vec<_> = args.iter().map(|a| a.as_ref().to_string_lossy()).collect();
            panic!(
                "`convene {}` failed: {}\n--- stdout ---\n{stdout}\n--- stderr ---\n{}",
                shown.join(" "),
                out.status,
                String::from_utf8_lossy(&out.stderr)
            );
        }
        stdout
    }

    /// The server process's id (to signal it, e.g. SIGTERM).
    pub fn child_id(&self) -> u32 {
        self.child.id()
    }

    /// Waits for the server process to exit by itself (after a signal); panics after
    /// `timeout`, killing it.
    pub fn wait_exit(&mut self, timeout: Duration) -> std::process::ExitStatus {
        let t0 = std::time::Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                return status;
            }
            if t0.elapsed() > timeout {
                let _ = self.child.kill();
                panic!("the server did not exit within {timeout:?}");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Creates an organizer account and returns its API token (`cvn_org_…`).
    pub fn organizer_token(&self, email: &str) -> String {
        let stdout = self.run_cli_ok(&["admin", "create-organizer", "--email", email]);
        let token = stdout
            .lines()
            .rev()
            .map(str::trim)
            .find(|l| !l.is_empty())
            .unwrap_or("");
        assert!(
            token.starts_with("cvn_org_"),
            "no organizer token in stdout:\n{stdout}"
        );
        token.to_string()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        // Runs before the fields drop: the process is gone before its database is.
        let _ = self.child.kill();
        let _ = self.child.wait();
        if std::thread::panicking() {
            // The test failed: show the server's side (cargo prints it with the failure).
            let log = self.stderr();
            let tail: Vec<&str> = log.lines().rev().take(80).collect();
            eprintln!("--- server stderr (last {} lines) ---", tail.len());
            for line in tail.iter().rev() {
                eprintln!("{line}");
            }
        }
    }
}

/// `convene` with the harness environment: inherited `CONVENE_*` variables removed (they
/// belong to the test run, not to the server), then database, random port, mail folder,
/// then `envs`.
fn base_command(db: &TestDb, dir: &Path, envs: &[(String, String)]) -> Command {
    let mut cmd = Command::new(BIN);
    for (key, _) in std::env::vars_os() {
        if key.to_string_lossy().starts_with("CONVENE_") {
            cmd.env_remove(key);
        }
    }
    cmd.current_dir(dir)
        .env("CONVENE_DATABASE__URL", &db.url)
        .env("CONVENE_HTTP__LISTEN", "127.0.0.1:0")
        .env("CONVENE_MAIL__FILE_DIR", dir.join("mail"))
        .envs(envs.iter().map(|(k, v)| (k, v)));
    cmd
}

fn required() -> bool {
    matches!(
        std::env::var("CONVENE_REQUIRE_SHARED").as_deref(),
        Ok("1") | Ok("true")
    )
}

/// The `shared` folder (holding `data/schedules`, `data/schemas`): `CONVENE_SHARED_DIR`, else
/// the first `shared/` with `data/schedules` beside (or inside) an ancestor of this crate.
pub fn shared_dir() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("CONVENE_SHARED_DIR").filter(|d| !d.is_empty()) {
        let dir = PathBuf::from(dir);
        return dir.join("data/schedules").is_dir().then_some(dir);
    }
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .map(|a| a.join("shared"))
        .find(|s| s.join("data/schedules").is_dir())
}

/// [`shared_dir`], or: panic when `CONVENE_REQUIRE_SHARED=1`, else print a skip note and
/// return `None` (the test then returns early).
pub fn require_shared() -> Option<PathBuf> {
    let dir = shared_dir();
    if dir.is_none() {
        skip_or_fail("../shared/data not found (set CONVENE_SHARED_DIR)");
    }
    dir
}

/// `xmllint` on `PATH`, with the same fail-or-skip rule as [`require_shared`].
pub fn xmllint() -> Option<PathBuf> {
    let found = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|p| p.join("xmllint"))
            .find(|p| p.is_file())
    });
    if found.is_none() {
        skip_or_fail("xmllint not found on PATH (apt-get install libxml2-utils)");
    }
    found
}

fn skip_or_fail(what: &str) {
    if required() {
        panic!("{what}, and CONVENE_REQUIRE_SHARED=1");
    }
    eprintln!("SKIPPED: {what}");
}

/// `path` when that file exists; otherwise the same fail-or-skip rule as
/// [`require_shared`]: a panic naming `how` to install it when `CONVENE_REQUIRE_SHARED=1`
/// (as in `.ci/run`, which installs it), else a skip note and `None`.
pub fn require_tool(path: PathBuf, how: &str) -> Option<PathBuf> {
    if path.is_file() {
        return Some(path);
    }
    skip_or_fail(&format!("{} is missing ({how})", path.display()));
    None
}

/// Polls `f` every 100 ms until it returns `true`; panics naming `what` after `timeout`.
pub async fn wait_until<F, Fut>(what: &str, timeout: Duration, mut f: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let t0 = std::time::Instant::now();
    loop {
        if f().await {
            return;
        }
        assert!(t0.elapsed() < timeout, "timed out waiting for: {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
