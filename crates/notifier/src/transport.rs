//! Where messages go: an SMTP relay (lettre, pooled connections) or `.eml` files.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use convene_domain::notifications::Notification;
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::PoolConfig;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use crate::{MailConfig, StartError};

/// How a send failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SendError {
    /// Worth retrying later: connection refused or reset, timeout, TLS trouble, an SMTP
    /// 4xx reply, a pooled connection the server closed.
    Temporary(String),
    /// Retrying will not help: an SMTP 5xx reply, an invalid address, no template.
    Permanent(String),
}

/// A configured transport. Cloning shares the SMTP connection pool.
#[derive(Clone)]
pub enum Transport {
    /// SMTP relay; up to `pool_size` connections are kept open and reused.
    Smtp(SmtpRelay),
    /// `.eml` files in a folder, one per notification: `<id>.eml`.
    File(PathBuf),
}

impl Transport {
    /// Builds the transport of `[mail]`. `concurrency` sizes the SMTP pool unless
    /// `mail.smtp.pool_size` is set. Errors: unknown `transport` or `security`, no host.
    pub fn from_config(mail: &MailConfig, concurrency: usize) -> Result<Transport, StartError> {
        match mail.transport.as_str() {
            "file" => Ok(Transport::File(mail.file_dir.clone())),
            "smtp" => {
                let s = &mail.smtp;
                if s.host.trim().is_empty() {
                    return Err(StartError::Mail("mail.smtp.host is empty".into()));
                }
                let bad = |e: lettre::transport::smtp::Error| StartError::Mail(e.to_string());
                let (builder, default_port) = match s.security.as_str() {
                    "tls" => (
                        AsyncSmtpTransport::<Tokio1Executor>::relay(&s.host).map_err(bad)?,
                        465,
                    ),
                    "starttls" | "" => (
                        AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(&s.host)
                            .map_err(bad)?,
                        587,
                    ),
                    "none" => (
                        AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&s.host),
                        25,
                    ),
                    other => {
                        return Err(StartError::Mail(format!(
                            "mail.smtp.security `{other}`: expected starttls, tls or none"
                        )))
                    }
                };
                let pool = if s.pool_size > 0 {
                    s.pool_size
                } else {
                    concurrency.max(1) as u32
                };
                let mut builder = builder
                    .port(if s.port == 0 { default_port } else { s.port })
                    .timeout(Some(Duration::from_secs(s.timeout_secs.max(1))))
                    .pool_config(
                        PoolConfig::new()
                            .max_size(pool)
                            .idle_timeout(Duration::from_secs(30)),
                    );
                if let (Some(u), Some(p)) = (&s.username, &s.password) {
                    builder = builder.credentials(Credentials::new(u.clone(), p.clone()));
                }
                let port = if s.port == 0 { default_port } else { s.port };
                Ok(Transport::Smtp(SmtpRelay::new(builder.build(), port)))
            }
            other => Err(StartError::Mail(format!(
                "mail.transport `{other}`: expected file or smtp"
            ))),
        }
    }

    /// Sends one message built from `row`.
    pub async fn send(&self, row: &Notification, msg: Message) -> Result<(), SendError> {
        match self {
            Transport::Smtp(t) => t.send(msg).await.map(|_| ()).map_err(classify),
            Transport::File(dir) => {
                let bytes = msg.formatted();
                let dir = dir.clone();
                let id = row.id;
                tokio::task::spawn_blocking(move || write_eml(&dir, id, &bytes))
                    .await
                    .map_err(|e| SendError::Temporary(e.to_string()))?
                    .map_err(|e| SendError::Temporary(format!("writing the .eml file: {e}")))
            }
        }
    }
}

/// lettre's pooled SMTP transport, with `TCP_NODELAY` on its connections.
///
/// lettre 0.11.23 writes each message's body and its `\r\n.\r\n` terminator as two
/// writes with Nagle's algorithm on, so every message waits 40 ms for the server's delayed
/// ACK — about 22 messages/s per connection whatever the server (see
/// [`convene_domain::db::nodelay`]). After a send, at most every [`SmtpRelay::NODELAY_EVERY`], this
/// sets `TCP_NODELAY` on the process's TCP sockets to the relay's port that lack it (new
/// pooled connections); a new connection's first message may still wait once.
#[derive(Clone)]
pub struct SmtpRelay {
    inner: AsyncSmtpTransport<Tokio1Executor>,
    port: u16,
    checked: Arc<Mutex<Option<Instant>>>,
}

impl SmtpRelay {
    /// How often, at most, new connections are looked for.
    pub const NODELAY_EVERY: Duration = Duration::from_millis(200);

    /// Wraps `inner`, whose relay listens on `port`.
    pub fn new(inner: AsyncSmtpTransport<Tokio1Executor>, port: u16) -> SmtpRelay {
        SmtpRelay {
            inner,
            port,
            checked: Arc::new(Mutex::new(None)),
        }
    }

    /// Sends `msg` over a pooled connection. Errors: lettre's.
    pub async fn send(
        &self,
        msg: Message,
    ) -> Result<lettre::transport::smtp::response::Response, lettre::transport::smtp::Error> {
        let res = self.inner.send(msg).await;
        let due = {
            let mut c = self.checked.lock().unwrap_or_else(|p| p.into_inner());
            let due = c.is_none_or(|t| t.elapsed() >= Self::NODELAY_EVERY);
            if due {
                *c = Some(Instant::now());
            }
            due
        };
        if due {
            let port = self.port;
            convene_domain::db::nodelay::set_nodelay_where(|s| s.peer.port() == port);
        }
        res
    }
}

/// Writes `<dir>/<id>.eml` atomically (a temp file renamed into place), creating `dir`.
fn write_eml(dir: &std::path::Path, id: uuid::Uuid, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    std::fs::create_dir_all(dir)?;
    let tmp = dir.join(format!(".{id}.eml.tmp"));
    let mut f = std::fs::File::create(&tmp)?;
    f.write_all(bytes)?;
    f.sync_all()?;
    std::fs::rename(&tmp, dir.join(format!("{id}.eml")))
}

/// 5xx replies are permanent; everything else (4xx, connection, timeout, TLS) temporary.
fn classify(e: lettre::transport::smtp::Error) -> SendError {
    let text = match e.status() {
        Some(code) => format!("SMTP {code}: {e}"),
        None => e.to_string(),
    };
    if e.is_permanent() {
        SendError::Permanent(text)
    } else {
        SendError::Temporary(text)
    }
}
