//! Configuration: `config/default.toml` compiled in, then an optional TOML file
//! (`--config` or `CONVENE_CONFIG`), then environment variables `CONVENE_<SECTION>__<KEY>`
//! (figment: a maintained layered-config crate, so no hand parsing).

use std::path::Path;

use figment::providers::{Env, Format, Toml};
use figment::Figment;
use serde::Deserialize;

/// The embedded defaults.
pub const DEFAULTS: &str = include_str!("../config/default.toml");

/// The whole configuration.
#[derive(Debug, Clone, Deserialize)]
pub struct Config {
    /// `[database]`.
    pub database: DatabaseConfig,
    /// `[http]`.
    pub http: HttpConfig,
    /// `[mail]`.
    pub mail: convene_notifier::MailConfig,
    /// `[worker]`.
    pub worker: convene_notifier::WorkerConfig,
    /// `[declarations]`: signature confirmation links (defaults when absent).
    #[serde(default)]
    pub declarations: convene_domain::declarations::Settings,
    /// `[registration]`.
    pub registration: RegistrationConfig,
    /// `[rate_limit]`.
    pub rate_limit: RateLimitConfig,
    /// `[logging]`.
    #[serde(default)]
    pub logging: LoggingConfig,
    /// `[metrics]`.
    #[serde(default)]
    pub metrics: MetricsConfig,
}

/// `[logging]`: where the level comes from is `CONVENE_LOG` (a tracing filter such as
/// `info` or `debug,sqlx=warn`); this section says how lines look.
#[derive(Debug, Clone, Deserialize)]
pub struct LoggingConfig {
    /// `text` (human-readable, the default) or `json` (one JSON object per line, with the
    /// fields of the current request's span: `request_id`, `method`, `route`).
    #[serde(default)]
    pub format: LogFormat,
    /// One `info` line per HTTP request: method, route template (never the raw URL, whose
    /// query may hold a token), status, duration, request id.
    #[serde(default = "yes")]
    pub access_log: bool,
}

fn yes() -> bool {
    true
}

impl Default for LoggingConfig {
    fn default() -> Self {
        LoggingConfig {
            format: LogFormat::default(),
            access_log: true,
        }
    }
}

/// The shape of log lines (`logging.format`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// tracing-subscriber's human-readable lines.
    #[default]
    Text,
    /// One JSON object per line (tracing-subscriber's JSON formatter).
    Json,
}

/// `[metrics]`: Prometheus `/metrics`. It is served when `listen` or `token` is set:
/// on its own address (`listen`, no token needed: reachable only by who reaches that
/// address), and/or on the main listener behind `Authorization: Bearer <token>`.
/// With neither, no recorder runs and `/metrics` answers 404.
#[derive(Clone, Default, Deserialize)]
pub struct MetricsConfig {
    /// Socket address of a separate listener serving only `GET /metrics`, e.g.
    /// `127.0.0.1:9464` (`:0` = any free port, printed as `metrics at http://…/metrics`).
    /// Empty: none. `convene worker` serves its metrics only there.
    #[serde(default)]
    pub listen: String,
    /// Bearer token that opens `/metrics` on the main listener. Empty: not served there.
    /// Never printed.
    #[serde(default)]
    pub token: String,
}

impl MetricsConfig {
    /// Whether this process records and serves metrics at all.
    pub fn enabled(&self) -> bool {
        !self.listen.is_empty() || !self.token.is_empty()
    }
}

impl std::fmt::Debug for MetricsConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MetricsConfig")
            .field("listen", &self.listen)
            .field(
                "token",
                &if self.token.is_empty() {
                    ""
                } else {
                    "<redacted>"
                },
            )
            .finish()
    }
}

/// `[registration]`.
#[derive(Debug, Clone, Deserialize)]
pub struct RegistrationConfig {
    /// Group commit: apply the registrations that queue up for one forum in one
    /// transaction (`false`: one transaction per registration).
    pub batching: bool,
    /// How long a stored `Idempotency-Key` answers replays, seconds (default 86400 = 24 h,
    /// as Stripe; IETF httpapi Idempotency-Key draft: keys expire). After it the same key
    /// is a new request. Must be ≥ 1.
    pub idempotency_ttl_seconds: u64,
    /// How often `convene serve` deletes expired keys, seconds (default 3600). Must be ≥ 1.
    pub idempotency_purge_interval_seconds: u64,
}

/// `[rate_limit]`: per client IP; `per_minute = 0` turns a limit off.
#[derive(Debug, Clone, Deserialize)]
pub struct RateLimitConfig {
    /// `POST /forums/{slug}/registrations`.
    pub registration: convene_api::ratelimit::Limit,
    /// `POST /forums/{slug}/registrations/resend-link`.
    pub resend_link: convene_api::ratelimit::Limit,
}

/// `[database]`: `url` is `sqlite://FILE?mode=rwc` or `postgres://USER:PASS@HOST/DB`.
#[derive(Clone, Deserialize)]
pub struct DatabaseConfig {
    /// Connection URL (may hold a password: never printed).
    pub url: String,
    /// Pool size.
    pub max_connections: u32,
    /// How long a request waits for a pooled connection (including reconnecting to a
    /// database that is down) before it is answered 503 with `Retry-After`, seconds.
    #[serde(default = "default_acquire_timeout")]
    pub acquire_timeout_secs: u64,
}

fn default_acquire_timeout() -> u64 {
    convene_domain::db::DEFAULT_ACQUIRE_TIMEOUT_SECS
}

impl std::fmt::Debug for DatabaseConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DatabaseConfig")
            .field("url", &redact_url(&self.url))
            .field("max_connections", &self.max_connections)
            .field("acquire_timeout_secs", &self.acquire_timeout_secs)
            .finish()
    }
}

/// A URL with any password replaced by `***`, for logs.
pub fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => {
            let creds = &url[s + 3..at];
            match creds.split_once(':') {
                Some((user, _)) => format!("{}{}:***{}", &url[..s + 3], user, &url[at..]),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

/// `[http]`.
#[derive(Clone, Deserialize)]
pub struct HttpConfig {
    /// Socket address to listen on, e.g. `127.0.0.1:8080` (`:0` = any free port).
    pub listen: String,
    /// How clients reach this server.
    pub public_base_url: String,
    /// Signs the public pages' CSRF tokens. Every process serving pages behind one name
    /// must have the same; unset, each process draws a random key at start (forms then
    /// fail across a restart or between processes).
    #[serde(default)]
    pub page_secret: Option<String>,
    /// After SIGTERM (or Ctrl-C), how long `serve` waits for the requests in flight
    /// before it closes the remaining connections, seconds.
    #[serde(default = "default_grace")]
    pub shutdown_grace_secs: u64,
}

/// Prints the `[http]` section with `page_secret` redacted (it signs the pages' CSRF
/// tokens: whoever reads it can forge them).
impl std::fmt::Debug for HttpConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpConfig")
            .field("listen", &self.listen)
            .field("public_base_url", &self.public_base_url)
            .field(
                "page_secret",
                &self.page_secret.as_ref().map(|_| "<redacted>"),
            )
            .field("shutdown_grace_secs", &self.shutdown_grace_secs)
            .finish()
    }
}

fn default_grace() -> u64 {
    30
}

/// Loads the configuration: defaults, then `file` (if any), then the environment.
pub fn load(file: Option<&Path>) -> Result<Config, Box<figment::Error>> {
    let mut fig = Figment::from(Toml::string(DEFAULTS));
    if let Some(f) = file {
        fig = fig.merge(Toml::file_exact(f));
    }
    fig.merge(Env::prefixed("CONVENE_").split("__").ignore(&["config"]))
        .extract()
        .map_err(Box::new)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[allow(clippy::result_large_err)] // figment::Error, in figment's own test jail
    fn defaults_parse_and_env_overrides() {
        figment::Jail::expect_with(|jail| {
            jail.set_env("CONVENE_DATABASE__URL", "postgres://u:pw-db-4711@h/db");
            jail.set_env("CONVENE_HTTP__LISTEN", "127.0.0.1:9999");
            jail.set_env("CONVENE_HTTP__PAGE_SECRET", "pw-pages-4712");
            let c = load(None).expect("config");
            assert_eq!(c.http.listen, "127.0.0.1:9999");
            assert_eq!(c.database.url, "postgres://u:pw-db-4711@h/db");
            assert_eq!(c.http.page_secret.as_deref(), Some("pw-pages-4712"));
            // Neither secret is printed (the database password nor the pages' key).
            let shown = format!("{:?}", c);
            assert!(!shown.contains("pw-db-4711") && !shown.contains("pw-pages-4712"));
            assert_eq!(c.mail.transport, "file");
            assert_eq!(c.registration.idempotency_ttl_seconds, 86400);
            assert_eq!(c.registration.idempotency_purge_interval_seconds, 3600);
            jail.set_env("CONVENE_REGISTRATION__IDEMPOTENCY_TTL_SECONDS", "5");
            assert_eq!(
                load(None)
                    .expect("config")
                    .registration
                    .idempotency_ttl_seconds,
                5
            );
            Ok(())
        });
    }

    #[test]
    fn redacts_passwords_only() {
        assert_eq!(
            redact_url("postgres://u:pw@h:5432/db"),
            "postgres://u:***@h:5432/db"
        );
        assert_eq!(
            redact_url("sqlite://convene.db?mode=rwc"),
            "sqlite://convene.db?mode=rwc"
        );
    }
}
