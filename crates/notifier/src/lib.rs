//! The e-mail worker. It shares only the database with the API: the API writes a change
//! and the notification rows it implies in one transaction; this worker claims and
//! delivers them.
//!
//! This first version is the loop only: the outbox, rendering and SMTP delivery come with
//! the "notification worker" issue. It wakes every `poll_interval` and stops promptly when
//! `shutdown` fires.

use std::path::PathBuf;
use std::time::Duration;

use sea_orm::DatabaseConnection;
use serde::Deserialize;

/// How outgoing mail leaves (the `[mail]` section of the configuration).
#[derive(Debug, Clone, Deserialize)]
pub struct MailConfig {
    /// `file` (write `.eml` files into `file_dir`, the embedded default) or `smtp`.
    pub transport: String,
    /// `From:` address, e.g. `convene <noreply@localhost>`.
    pub from: String,
    /// Folder for `.eml` files (transport `file`), relative to the working directory.
    pub file_dir: PathBuf,
    /// SMTP settings (transport `smtp`).
    #[serde(default)]
    pub smtp: SmtpConfig,
}

/// SMTP relay settings. The password is never printed (`Debug` redacts it).
#[derive(Clone, Default, Deserialize)]
pub struct SmtpConfig {
    /// Host name.
    #[serde(default)]
    pub host: String,
    /// Port (587 for STARTTLS, 465 for TLS, 25 for none).
    #[serde(default)]
    pub port: u16,
    /// `starttls`, `tls` or `none`.
    #[serde(default)]
    pub security: String,
    /// User name, if the relay wants one.
    #[serde(default)]
    pub username: Option<String>,
    /// Password, if the relay wants one.
    #[serde(default)]
    pub password: Option<String>,
}

impl std::fmt::Debug for SmtpConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmtpConfig")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("security", &self.security)
            .field("username", &self.username)
            .field("password", &self.password.as_ref().map(|_| "<redacted>"))
            .finish()
    }
}

/// The worker's settings (the `[worker]` section).
#[derive(Debug, Clone, Deserialize)]
pub struct WorkerConfig {
    /// How often to look for due rows when nothing wakes the worker, milliseconds.
    pub poll_interval_ms: u64,
}

/// Runs the worker until `shutdown` resolves.
pub async fn run(
    _db: DatabaseConnection,
    mail: MailConfig,
    cfg: WorkerConfig,
    shutdown: impl std::future::Future<Output = ()>,
) {
    tracing::info!(transport = %mail.transport, "notification worker started");
    let mut tick = tokio::time::interval(Duration::from_millis(cfg.poll_interval_ms.max(50)));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            _ = &mut shutdown => break,
            _ = tick.tick() => {
                // No outbox yet: nothing to claim.
            }
        }
    }
    tracing::info!("notification worker stopped");
}
