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

/// The layers, lowest first: defaults, then `file` (if any), then the environment.
fn layers(file: Option<&Path>) -> Figment {
    let mut fig = Figment::from(Toml::string(DEFAULTS));
    if let Some(f) = file {
        fig = fig.merge(Toml::file_exact(f));
    }
    fig.merge(Env::prefixed("CONVENE_").split("__").ignore(&["config"]))
}

/// Loads the configuration: defaults, then `file` (if any), then the environment.
pub fn load(file: Option<&Path>) -> Result<Config, Box<figment::Error>> {
    layers(file).extract().map_err(Box::new)
}

/// Keys whose values are secrets: `convene config check` prints them as `<redacted>`
/// (and `database.*url` with only its password hidden).
const SECRET_KEYS: &[&str] = &["http.page_secret", "metrics.token", "mail.smtp.password"];

/// What `convene config check` found: the effective configuration as TOML (secrets
/// redacted), or every key no part of convene reads, each with where it was set.
#[derive(Debug)]
pub struct Check {
    /// The merged configuration (defaults, file, environment) as TOML, secrets redacted.
    pub effective: String,
    /// `key (from SOURCE)` for every key that no setting reads: a typo or an old name.
    pub unknown: Vec<String>,
}

/// `convene config check`: loads the configuration as [`load`] does (a wrong type or a
/// missing key is an error naming the key and its source) and lists unknown keys.
///
/// Environment variables count only in the `CONVENE_<SECTION>__<KEY>` form; variables
/// without `__` (`CONVENE_LOG`, `CONVENE_CONFIG`, the tests' `CONVENE_TEST_…`) are not
/// configuration keys. Unknown keys are found with `serde_ignored` (dtolnay's crate that
/// reports every field a `Deserialize` skipped), so the list follows the structs exactly.
///
/// # Errors
/// The figment error of [`load`] when the configuration does not parse.
pub fn check(file: Option<&Path>) -> Result<Check, Box<figment::Error>> {
    load(file)?;
    let mut fig = Figment::from(Toml::string(DEFAULTS));
    if let Some(f) = file {
        fig = fig.merge(Toml::file_exact(f));
    }
    let fig = fig.merge(
        Env::prefixed("CONVENE_")
            .filter(|k| k.as_str().contains("__"))
            .split("__"),
    );
    let value: figment::value::Value = fig.extract().map_err(Box::new)?;
    let mut unknown = Vec::new();
    let _: Result<Config, _> = serde_ignored::deserialize(&value, |path| {
        let key = path.to_string();
        let source = fig
            .find_metadata(&key)
            .map(|m| match &m.source {
                Some(s) => s.to_string(),
                // The environment is the one layer without a source: name its variable.
                None => format!(
                    "environment variable CONVENE_{}",
                    key.replace('.', "__").to_uppercase()
                ),
            })
            .unwrap_or_else(|| "unknown source".into());
        unknown.push(format!("{key} (from {source})"));
    });
    let mut value = value;
    redact_secrets(&mut value, "");
    let effective = toml::to_string_pretty(&value).unwrap_or_else(|e| format!("# {e}\n"));
    Ok(Check { effective, unknown })
}

/// Replaces the values of [`SECRET_KEYS`] by `<redacted>` (when set) and the password in
/// `database.url` / `database.read_url` by `***`.
fn redact_secrets(v: &mut figment::value::Value, prefix: &str) {
    use figment::value::Value;
    if let Value::Dict(_, dict) = v {
        for (k, child) in dict.iter_mut() {
            let path = if prefix.is_empty() {
                k.clone()
            } else {
                format!("{prefix}.{k}")
            };
            match child {
                Value::String(tag, s) if SECRET_KEYS.contains(&path.as_str()) && !s.is_empty() => {
                    *child = Value::String(*tag, "<redacted>".into());
                }
                Value::String(tag, s) if path.starts_with("database.") && path.ends_with("url") => {
                    *child = Value::String(*tag, redact_url(s));
                }
                _ => redact_secrets(child, &path),
            }
        }
    }
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
    #[allow(clippy::result_large_err)] // figment::Error, in figment's own test jail
    fn check_names_unknown_keys_with_their_source_and_hides_secrets() {
        figment::Jail::expect_with(|jail| {
            jail.create_file(
                "convene.toml",
                "[http]\nlisten = \"127.0.0.1:1\"\npage_secret = \"pw-pages-9\"\nlisen = \"x\"\n\
                 [mail.smtp]\npassword = \"pw-smtp-9\"\n[databse]\nurl = \"x\"\n",
            )?;
            jail.set_env("CONVENE_DATABASE__URL", "postgres://u:pw-db-9@h/db");
            jail.set_env("CONVENE_WORKER__BATCH_SIZ", "3");
            // Not configuration keys (no `__`): ignored by the check.
            jail.set_env("CONVENE_LOG", "debug");
            jail.set_env("CONVENE_REQUIRE_SHARED", "1");
            let c = check(Some(Path::new("convene.toml"))).expect("parses");
            let mut names: Vec<&str> = c
                .unknown
                .iter()
                .map(|u| u.split(' ').next().unwrap_or(""))
                .collect();
            names.sort();
            assert_eq!(names, ["databse", "http.lisen", "worker.batch_siz"]);
            let lisen = c
                .unknown
                .iter()
                .find(|u| u.starts_with("http.lisen"))
                .unwrap();
            assert!(lisen.contains("convene.toml"), "{lisen}");
            let siz = c.unknown.iter().find(|u| u.starts_with("worker.")).unwrap();
            assert!(siz.contains("CONVENE_WORKER__BATCH_SIZ"), "{siz}");
            for secret in ["pw-pages-9", "pw-smtp-9", "pw-db-9"] {
                assert!(!c.effective.contains(secret), "{secret} printed");
            }
            assert!(
                c.effective.contains("listen = \"127.0.0.1:1\""),
                "{}",
                c.effective
            );
            assert!(
                c.effective.contains("postgres://u:***@h/db"),
                "{}",
                c.effective
            );
            // A clean configuration has no unknown key.
            jail.clear_env();
            assert!(check(None).expect("defaults parse").unknown.is_empty());
            // A wrong type is an error, as for `serve`.
            jail.set_env("CONVENE_WORKER__BATCH_SIZE", "many");
            assert!(check(None).is_err());
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
