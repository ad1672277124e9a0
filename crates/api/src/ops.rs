//! What operators and their tools use: `/healthz` (the process lives), `/readyz` (it can
//! serve: database, schema, embedded worker), `/metrics` (Prometheus text format), and the
//! middleware every request passes through ([`observe`]): a request id, a tracing span,
//! one access-log line, HTTP metrics.
//!
//! Metrics go through the `metrics` facade (the domain and the notifier record their own
//! counters with it) into `metrics-exporter-prometheus`'s recorder, installed once per
//! process by [`Metrics::install`]. Names, labels and units are listed in README
//! ("Metrics").

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::{MatchedPath, Request, State};
use axum::http::{header, HeaderMap, HeaderName, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, Statement};
use serde_json::json;
use tracing::Instrument;

use crate::problem::ApiError;
use crate::AppState;

/// The request id header (de-facto standard, as Heroku, nginx `$request_id` setups and
/// HAProxy `unique-id-header` use it).
pub static X_REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The longest `X-Request-Id` accepted from a client; a longer (or otherwise unusable)
/// one is replaced by a new id.
pub const MAX_REQUEST_ID_LEN: usize = 128;

/// How long `/readyz` waits for each database check before answering 503.
pub const READINESS_TIMEOUT: Duration = Duration::from_secs(2);

tokio::task_local! {
    static REQUEST_ID: Arc<str>;
}

/// The id of the request being handled by the current task (set by [`observe`]), if any.
/// Problem bodies carry it as `request_id`.
pub fn current_request_id() -> Option<Arc<str>> {
    REQUEST_ID.try_with(Arc::clone).ok()
}

/// The request id, also put into the request's extensions by [`observe`] (and into its
/// `X-Request-Id` header, so that handlers reading the header see the same value).
#[derive(Debug, Clone)]
pub struct RequestId(pub Arc<str>);

/// Whether a client's `X-Request-Id` is kept: 1 to [`MAX_REQUEST_ID_LEN`] characters of
/// `A–Z a–z 0–9 - _ . : + = / @` (UUIDs, ULIDs, hex, base64 ids of proxies); anything else
/// (spaces, quotes, control characters that could forge log lines) is replaced.
pub fn acceptable_request_id(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= MAX_REQUEST_ID_LEN
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.:+=/@".contains(&b))
}

/// Operations settings and probes shared by the handlers of this module.
#[derive(Default)]
pub struct Ops {
    /// Names of the migrations this binary expects applied (`convene_migrations`); `/readyz`
    /// answers 503 while one is missing. Empty: not checked.
    pub migrations: Vec<String>,
    /// Liveness of the worker embedded in this process (`serve` without `--no-worker`):
    /// `true` while its task runs. `None`: no embedded worker.
    pub worker: Option<Arc<AtomicBool>>,
    /// `/metrics` on the main listener: the recorder and the bearer token it wants.
    /// `None` (or no token): `/metrics` answers 404 here.
    pub metrics: Option<Arc<Metrics>>,
    /// `metrics.token`: `/metrics` on the main listener needs `Authorization: Bearer` with
    /// it. Stored as its SHA-256 so that the comparison does not leak it through timing.
    pub metrics_token_sha256: Option<[u8; 32]>,
    /// One `info` line per request (method, route template, status, duration, request id).
    pub access_log: bool,
}

impl Ops {
    /// Sets the bearer token of `/metrics` on the main listener.
    pub fn with_metrics_token(mut self, token: &str) -> Self {
        use sha2::Digest;
        self.metrics_token_sha256 = (!token.is_empty()).then(|| sha2::Sha256::digest(token).into());
        self
    }
}

/// The process's Prometheus recorder plus what is sampled when scraped: the database
/// pool and the outbox.
pub struct Metrics {
    handle: PrometheusHandle,
    db: DatabaseConnection,
    max_connections: u32,
    /// When the outbox was last counted: at most once per [`OUTBOX_SAMPLE_EVERY`], however
    /// often (and by how many scrapers) `/metrics` is read.
    outbox_sampled: tokio::sync::Mutex<Option<Instant>>,
}

/// The shortest interval between two counts of the outbox.
pub const OUTBOX_SAMPLE_EVERY: Duration = Duration::from_secs(5);

/// Latency buckets (seconds) of every `*_seconds` histogram: 1 ms to 30 s.
const SECONDS_BUCKETS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];
/// Buckets of `convene_registration_batch_size` (requests per group commit, at most 256).
const BATCH_BUCKETS: &[f64] = &[1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0];

impl Metrics {
    /// Installs the process-wide Prometheus recorder (once per process; a second call
    /// fails) and starts its upkeep (every 5 s). `db` and `max_connections` are sampled
    /// at each scrape. Errors: the recorder could not be installed.
    pub fn install(db: DatabaseConnection, max_connections: u32) -> Result<Arc<Metrics>, String> {
        let handle = PrometheusBuilder::new()
            .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), SECONDS_BUCKETS)
            .and_then(|b| {
                b.set_buckets_for_metric(
                    Matcher::Full("convene_registration_batch_size".into()),
                    BATCH_BUCKETS,
                )
            })
            .map_err(|e| e.to_string())?
            .install_recorder()
            .map_err(|e| e.to_string())?;
        describe();
        let h = handle.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs(5));
            loop {
                tick.tick().await;
                h.run_upkeep();
            }
        });
        Ok(Arc::new(Metrics {
            handle,
            db,
            max_connections,
            outbox_sampled: tokio::sync::Mutex::new(None),
        }))
    }

    /// Samples the gauges, then renders every metric in the Prometheus text format 0.0.4.
    pub async fn render(&self) -> String {
        self.sample_pool();
        self.sample_outbox().await;
        self.handle.render()
    }

    fn sample_pool(&self) {
        let (size, idle) = match self.db.get_database_backend() {
            DbBackend::Postgres => {
                let p = self.db.get_postgres_connection_pool();
                (p.size(), p.num_idle())
            }
            DbBackend::Sqlite => {
                let p = self.db.get_sqlite_connection_pool();
                (p.size(), p.num_idle())
            }
            _ => return,
        };
        let idle = idle as f64;
        metrics::gauge!("convene_db_pool_connections", "state" => "idle").set(idle);
        metrics::gauge!("convene_db_pool_connections", "state" => "in_use")
            .set((size as f64 - idle).max(0.0));
        metrics::gauge!("convene_db_pool_max_connections").set(self.max_connections as f64);
    }

    async fn sample_outbox(&self) {
        let mut last = self.outbox_sampled.lock().await;
        if last.is_some_and(|t| t.elapsed() < OUTBOX_SAMPLE_EVERY) {
            return;
        }
        *last = Some(Instant::now());
        let stats = tokio::time::timeout(
            READINESS_TIMEOUT,
            convene_domain::notifications::stats::outbox_stats(&self.db),
        )
        .await;
        match stats {
            Ok(Ok(s)) => {
                for (state, n) in [
                    ("due", s.due),
                    ("leased", s.leased),
                    ("scheduled", s.scheduled),
                    ("dead", s.dead),
                ] {
                    metrics::gauge!("convene_outbox_rows", "state" => state).set(n as f64);
                }
                metrics::gauge!("convene_outbox_oldest_due_age_seconds")
                    .set(s.oldest_due_age_seconds());
                metrics::gauge!("convene_outbox_sample_ok").set(1.0);
            }
            Ok(Err(e)) => {
                tracing::warn!(error = %e, "counting the outbox for /metrics failed");
                metrics::gauge!("convene_outbox_sample_ok").set(0.0);
            }
            Err(_) => {
                tracing::warn!("counting the outbox for /metrics timed out");
                metrics::gauge!("convene_outbox_sample_ok").set(0.0);
            }
        }
    }
}

/// HELP lines of the metrics recorded in this workspace.
fn describe() {
    use metrics::{describe_counter, describe_gauge, describe_histogram, Unit};
    describe_counter!(
        "convene_http_requests_total",
        "HTTP requests answered, by method, route template and status"
    );
    describe_histogram!(
        "convene_http_request_duration_seconds",
        Unit::Seconds,
        "Time from the request's arrival to its response head, by method, route template and status"
    );
    describe_gauge!(
        "convene_db_pool_connections",
        "Database pool connections by state (idle, in_use), sampled at scrape"
    );
    describe_gauge!(
        "convene_db_pool_max_connections",
        "database.max_connections"
    );
    describe_histogram!(
        "convene_registration_batch_size",
        "Registrations applied per group-commit transaction"
    );
    describe_histogram!(
        "convene_registration_batch_seconds",
        Unit::Seconds,
        "Time of one group-commit transaction (commit included), by result"
    );
    describe_gauge!(
        "convene_outbox_rows",
        "Outbox rows by state (due, leased, scheduled, dead), sampled at scrape (at most every 5 s)"
    );
    describe_gauge!(
        "convene_outbox_oldest_due_age_seconds",
        Unit::Seconds,
        "How long the oldest due outbox row has waited past its time"
    );
    describe_gauge!(
        "convene_outbox_sample_ok",
        "1 when the last count of the outbox succeeded, 0 when it failed or timed out"
    );
    describe_counter!(
        "convene_notifications_deliveries_total",
        "Deliveries by this process's worker, by result (sent, retry, dead, cancelled)"
    );
    describe_histogram!(
        "convene_mail_send_seconds",
        Unit::Seconds,
        "Time the mail transport (SMTP relay or .eml file) took to accept one message, by result"
    );
    describe_counter!(
        "convene_ledger_appends_total",
        "Signature ledger entries appended, by kind (confirm, withdraw)"
    );
}

/// The methods that get their own label value; others are counted as `OTHER`, so that a
/// client cannot grow the number of series.
fn method_label(m: &Method) -> &'static str {
    match *m {
        Method::GET => "GET",
        Method::HEAD => "HEAD",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::OPTIONS => "OPTIONS",
        _ => "OTHER",
    }
}

/// The middleware around every request: takes the client's `X-Request-Id` when
/// [`acceptable_request_id`], else makes one (UUID v4); puts it into the request (header
/// and [`RequestId`] extension), into a tracing span `request` (with method and route
/// template — never the raw URI, whose query may hold a token) that every log line of
/// the request carries, into the task-local read by [`current_request_id`], and into the
/// response's `X-Request-Id`. Then it records `convene_http_requests_total` and
/// `convene_http_request_duration_seconds` by method, route template ([`route_label`],
/// `unmatched` for a
/// 404 outside every route) and status, and writes the access-log line when enabled.
pub async fn observe(State(ops): State<Arc<Ops>>, mut req: Request, next: Next) -> Response {
    let started = Instant::now();
    let id: Arc<str> = match req
        .headers()
        .get(&X_REQUEST_ID)
        .and_then(|v| v.to_str().ok())
    {
        Some(s) if acceptable_request_id(s) => s.into(),
        _ => uuid::Uuid::new_v4().to_string().into(),
    };
    let header_value = HeaderValue::from_str(&id).expect("checked or generated id");
    req.headers_mut()
        .insert(X_REQUEST_ID.clone(), header_value.clone());
    req.extensions_mut().insert(RequestId(id.clone()));
    let route: Arc<str> = req
        .extensions()
        .get::<MatchedPath>()
        .map(|m| Arc::from(route_label(m.as_str())))
        .unwrap_or_else(|| Arc::from("unmatched"));
    let method = method_label(req.method());
    let span = tracing::info_span!("request", request_id = %id, method, route = %route);
    let mut res = REQUEST_ID
        .scope(id, next.run(req).instrument(span.clone()))
        .await;
    res.headers_mut().insert(X_REQUEST_ID.clone(), header_value);
    let status = res.status().as_u16();
    let elapsed = started.elapsed();
    let status_label = status_label(status);
    metrics::counter!(
        "convene_http_requests_total",
        "method" => method,
        "route" => route.to_string(),
        "status" => status_label
    )
    .increment(1);
    metrics::histogram!(
        "convene_http_request_duration_seconds",
        "method" => method,
        "route" => route.to_string(),
        "status" => status_label
    )
    .record(elapsed.as_secs_f64());
    if ops.access_log {
        let ms = elapsed.as_secs_f64() * 1000.0;
        span.in_scope(|| tracing::info!(status, duration_ms = ms, "request"));
    }
    res
}

/// How long shared caches (a CDN, a reverse proxy) may serve a public export without
/// asking again, seconds.
pub const PUBLIC_EXPORT_MAX_AGE_SECS: u32 = 60;

/// `Cache-Control` of a public export (schedules, public signature lists): for an
/// anonymous caller — whose answer is the same for everyone — `public,
/// max-age=`[`PUBLIC_EXPORT_MAX_AGE_SECS`], so that a CDN may keep and share it (ETags
/// make the revalidation cheap); for an authenticated caller `private, no-cache` (an
/// organizer may see a draft, which must not land in a shared cache; RFC 9111 §5.2.2).
pub fn export_cache_control(caller: &convene_domain::accounts::Caller) -> HeaderValue {
    match caller {
        convene_domain::accounts::Caller::Anonymous => {
            HeaderValue::from_str(&format!("public, max-age={PUBLIC_EXPORT_MAX_AGE_SECS}"))
                .expect("ascii")
        }
        _ => HeaderValue::from_static("private, no-cache"),
    }
}

/// A route template as a label value, with parameters written `:name` (and `*rest`)
/// instead of axum's `{name}` (`{*rest}`): the same template, in the form that common
/// parsers of the text format and log tools take without escaping braces.
pub fn route_label(template: &str) -> String {
    let mut out = String::with_capacity(template.len());
    for c in template.chars() {
        match c {
            '{' => out.push(':'),
            '}' => {}
            c => out.push(c),
        }
    }
    out.replace(":*", "*")
}

/// Status codes as static label values (no allocation per request).
fn status_label(status: u16) -> &'static str {
    const CODES: &[(u16, &str)] = &[
        (200, "200"),
        (201, "201"),
        (202, "202"),
        (204, "204"),
        (301, "301"),
        (302, "302"),
        (303, "303"),
        (304, "304"),
        (307, "307"),
        (308, "308"),
        (400, "400"),
        (401, "401"),
        (403, "403"),
        (404, "404"),
        (405, "405"),
        (406, "406"),
        (409, "409"),
        (410, "410"),
        (412, "412"),
        (413, "413"),
        (415, "415"),
        (422, "422"),
        (428, "428"),
        (429, "429"),
        (500, "500"),
        (502, "502"),
        (503, "503"),
        (504, "504"),
    ];
    CODES
        .iter()
        .find(|(c, _)| *c == status)
        .map(|(_, s)| *s)
        .unwrap_or(match status {
            100..=199 => "1xx",
            200..=299 => "2xx",
            300..=399 => "3xx",
            400..=499 => "4xx",
            _ => "5xx",
        })
}

/// `/healthz`, `/readyz` and `/metrics` of the main listener.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics_main))
        .with_state(state)
}

/// The router of the separate `metrics.listen` address: `GET /metrics` without a token
/// (access is the network's: bind it to an address only the scraper reaches).
pub fn metrics_router(metrics: Arc<Metrics>) -> Router {
    Router::new()
        .route(
            "/metrics",
            get(|State(m): State<Arc<Metrics>>| async move { exposition(m.render().await) }),
        )
        .with_state(metrics)
}

fn exposition(body: String) -> Response {
    (
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
            ),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
        ],
        body,
    )
        .into_response()
}

fn no_store(status: StatusCode, body: serde_json::Value) -> Response {
    (
        status,
        [(header::CACHE_CONTROL, HeaderValue::from_static("no-store"))],
        axum::Json(body),
    )
        .into_response()
}

/// `GET /healthz`: 200 `{"status":"ok"}` while the process answers at all (liveness; no
/// database access, so a database outage never gets a healthy process restarted).
async fn healthz() -> Response {
    no_store(StatusCode::OK, json!({"status": "ok"}))
}

/// `GET /readyz`: 200 `{"status":"ready","checks":{…}}` when this process can serve;
/// else 503 `{"status":"unavailable","reason":"…","checks":{…}}`. Checks, each within
/// [`READINESS_TIMEOUT`]: `database` (a `SELECT 1` through the pool), `migrations`
/// (every migration of this binary applied), `worker` (the embedded worker's task
/// runs; `not embedded` without one).
async fn readyz(State(st): State<AppState>) -> Response {
    let ops = &st.ops;
    let backend = st.db.get_database_backend();
    let mut reasons: Vec<String> = Vec::new();
    let database = match tokio::time::timeout(
        READINESS_TIMEOUT,
        st.db
            .execute_raw(Statement::from_string(backend, "SELECT 1".to_owned())),
    )
    .await
    {
        Ok(Ok(_)) => "ok".to_owned(),
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "readiness: database check failed");
            reasons.push("database unreachable".into());
            "unreachable".to_owned()
        }
        Err(_) => {
            reasons.push(format!(
                "database did not answer within {} s",
                READINESS_TIMEOUT.as_secs()
            ));
            "timeout".to_owned()
        }
    };
    let migrations = if ops.migrations.is_empty() {
        "not checked".to_owned()
    } else if database != "ok" {
        "unknown".to_owned()
    } else {
        match tokio::time::timeout(
            READINESS_TIMEOUT,
            st.db.query_all_raw(Statement::from_string(
                backend,
                "SELECT version FROM seaql_migrations".to_owned(),
            )),
        )
        .await
        {
            Ok(Ok(rows)) => {
                let applied: std::collections::HashSet<String> = rows
                    .iter()
                    .filter_map(|r| r.try_get::<String>("", "version").ok())
                    .collect();
                let pending = ops
                    .migrations
                    .iter()
                    .filter(|m| !applied.contains(*m))
                    .count();
                if pending == 0 {
                    "ok".to_owned()
                } else {
                    reasons.push(format!("{pending} migration(s) pending"));
                    format!("{pending} pending")
                }
            }
            Ok(Err(e)) => {
                tracing::warn!(error = %e, "readiness: reading the schema version failed");
                reasons.push("schema version unreadable".into());
                "unreadable".to_owned()
            }
            Err(_) => {
                reasons.push("schema version check timed out".into());
                "timeout".to_owned()
            }
        }
    };
    let worker = match &ops.worker {
        None => "not embedded",
        Some(alive) if alive.load(Ordering::SeqCst) => "ok",
        Some(_) => {
            reasons.push("the embedded worker stopped".into());
            "stopped"
        }
    };
    // A broken ledger refuses new signatures (503 on those requests) but the rest of the
    // service runs: it is reported here, without making the whole process unready.
    let broken = if database == "ok" {
        match tokio::time::timeout(
            READINESS_TIMEOUT,
            convene_domain::declarations::ledger::broken_heads(&st.db),
        )
        .await
        {
            Ok(Ok(list)) => Some(list),
            _ => None,
        }
    } else {
        None
    };
    let ledgers = match &broken {
        None => "unknown".to_owned(),
        Some(l) if l.is_empty() => "ok".to_owned(),
        Some(l) => format!(
            "{} broken: signatures refused until an operator repairs them",
            l.len()
        ),
    };
    let checks = json!({"database": database, "migrations": migrations, "worker": worker, "ledgers": ledgers});
    if reasons.is_empty() {
        let mut body = json!({"status": "ready", "checks": checks});
        if let Some(l) = broken.filter(|l| !l.is_empty()) {
            body["ledgers_broken"] = json!(l);
        }
        no_store(StatusCode::OK, body)
    } else {
        no_store(
            StatusCode::SERVICE_UNAVAILABLE,
            json!({"status": "unavailable", "reason": reasons.join("; "), "checks": checks}),
        )
    }
}

/// `GET /metrics` on the main listener: 404 unless `metrics.token` is set; then 401
/// without `Authorization: Bearer <metrics.token>`.
async fn metrics_main(State(st): State<AppState>, headers: HeaderMap) -> Response {
    let (Some(m), Some(want)) = (&st.ops.metrics, st.ops.metrics_token_sha256) else {
        return ApiError::new(
            StatusCode::NOT_FOUND,
            "not-found",
            "Not found",
            "no such resource",
        )
        .into_response();
    };
    use sha2::Digest;
    let given = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(|t| <[u8; 32]>::from(sha2::Sha256::digest(t.trim())));
    if given != Some(want) {
        return ApiError::new(
            StatusCode::UNAUTHORIZED,
            "unauthenticated",
            "Authentication required",
            "send `Authorization: Bearer <metrics.token>`",
        )
        .into_response();
    }
    exposition(m.render().await)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_ids_from_clients_are_checked() {
        assert!(acceptable_request_id(
            "7f1c2a9e-4b1d-4c57-9a55-0c1b8b1e2f3a"
        ));
        assert!(acceptable_request_id("01HZX3J6Q4W8ZK9M2C0B7V5N1T"));
        assert!(acceptable_request_id("c0a8:01bb.5f2e/abc+="));
        assert!(!acceptable_request_id(""));
        assert!(!acceptable_request_id("two words"));
        assert!(!acceptable_request_id("line\nbreak"));
        assert!(!acceptable_request_id("quote\"d"));
        assert!(!acceptable_request_id(&"a".repeat(MAX_REQUEST_ID_LEN + 1)));
        assert!(acceptable_request_id(&"a".repeat(MAX_REQUEST_ID_LEN)));
    }

    #[test]
    fn labels_are_bounded() {
        assert_eq!(method_label(&Method::from_bytes(b"BREW").unwrap()), "OTHER");
        assert_eq!(status_label(201), "201");
        assert_eq!(status_label(418), "4xx");
        assert_eq!(status_label(599), "5xx");
        assert_eq!(
            route_label("/api/v1/forums/{slug}/sessions/{id}"),
            "/api/v1/forums/:slug/sessions/:id"
        );
        assert_eq!(route_label("/api/v1/docs/{*rest}"), "/api/v1/docs/*rest");
    }
}
