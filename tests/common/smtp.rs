//! A real SMTP server on loopback for the notifier's tests and the bench (`mailin-embedded`,
//! a maintained embeddable SMTP server): it speaks SMTP over TCP like any relay, records
//! what it accepts, and answers 4xx or 5xx on `RCPT TO` when told to. `start_on(port)`
//! brings it up on a port the worker already uses, to simulate an outage that ends.
//! (The server cannot be stopped: a test that needs "down" starts it late.)
#![allow(dead_code)]

use std::net::TcpListener;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use mailin_embedded::response::{OK, START_DATA};
use mailin_embedded::{Handler, Response, Server};

/// What the sink answers to `RCPT TO`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// 250: accept.
    Accept,
    /// 451 4.3.0: try again later.
    TempFail,
    /// 550 5.1.1: mailbox unavailable.
    PermFail,
}

/// One accepted message.
#[derive(Debug, Clone)]
pub struct Received {
    /// `MAIL FROM`.
    pub from: String,
    /// `RCPT TO`s.
    pub to: Vec<String>,
    /// The message as sent (headers and body), when the sink stores bodies.
    pub data: Vec<u8>,
    /// Its `Message-ID` header value.
    pub message_id: String,
}

struct State {
    mode: Mutex<Mode>,
    received: Mutex<Vec<Received>>,
    accepted: AtomicU64,
    rejected: AtomicU64,
    store_bodies: bool,
    delay: Duration,
}

#[derive(Clone)]
struct H {
    st: Arc<State>,
    from: String,
    to: Vec<String>,
    buf: Vec<u8>,
}

impl Handler for H {
    fn mail(&mut self, _ip: std::net::IpAddr, _domain: &str, from: &str) -> Response {
        self.from = from.to_string();
        self.to.clear();
        self.buf.clear();
        OK
    }

    fn rcpt(&mut self, to: &str) -> Response {
        match *self.st.mode.lock().unwrap() {
            Mode::Accept => {
                self.to.push(to.to_string());
                OK
            }
            Mode::TempFail => {
                self.st.rejected.fetch_add(1, Ordering::SeqCst);
                Response::custom(451, "4.3.0 try again later".to_string())
            }
            Mode::PermFail => {
                self.st.rejected.fetch_add(1, Ordering::SeqCst);
                Response::custom(550, "5.1.1 mailbox unavailable".to_string())
            }
        }
    }

    fn data_start(
        &mut self,
        _domain: &str,
        _from: &str,
        _is8bit: bool,
        _to: &[String],
    ) -> Response {
        self.buf.clear();
        START_DATA
    }

    fn data(&mut self, buf: &[u8]) -> std::io::Result<()> {
        self.buf.extend_from_slice(buf);
        Ok(())
    }

    fn data_end(&mut self) -> Response {
        if !self.st.delay.is_zero() {
            std::thread::sleep(self.st.delay);
        }
        let message_id = header(&self.buf, "message-id").unwrap_or_default();
        let data = if self.st.store_bodies {
            std::mem::take(&mut self.buf)
        } else {
            self.buf.clear();
            Vec::new()
        };
        self.st.received.lock().unwrap().push(Received {
            from: self.from.clone(),
            to: self.to.clone(),
            data,
            message_id,
        });
        self.st.accepted.fetch_add(1, Ordering::SeqCst);
        OK
    }
}

/// The value of header `name` (case-insensitive, unfolded) in a raw message.
pub fn header(raw: &[u8], name: &str) -> Option<String> {
    let text = String::from_utf8_lossy(raw);
    let head = text.split("\r\n\r\n").next().unwrap_or("");
    let mut out: Option<String> = None;
    for line in head.split("\r\n") {
        if line.starts_with([' ', '\t']) {
            if let Some(o) = out.as_mut() {
                o.push_str(line.trim());
            }
            continue;
        }
        if out.is_some() {
            break;
        }
        if let Some((k, v)) = line.split_once(':') {
            if k.trim().eq_ignore_ascii_case(name) {
                out = Some(v.trim().to_string());
            }
        }
    }
    out
}

/// A running SMTP sink.
#[derive(Clone)]
pub struct SmtpSink {
    /// Its port on 127.0.0.1.
    pub port: u16,
    st: Arc<State>,
}

/// Options of a sink.
#[derive(Debug, Clone)]
pub struct Options {
    /// Keep every message's bytes (tests); the bench keeps only Message-IDs.
    pub store_bodies: bool,
    /// Pause before answering the end of DATA (a slow relay).
    pub delay: Duration,
    /// Connections served at once (threads).
    pub threads: u32,
    /// Initial mode.
    pub mode: Mode,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            store_bodies: true,
            delay: Duration::ZERO,
            threads: 64,
            mode: Mode::Accept,
        }
    }
}

/// A free port on 127.0.0.1 (nobody listens on it until [`SmtpSink::start_on`]).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl SmtpSink {
    /// Starts a sink on a free port.
    pub fn start(opts: Options) -> SmtpSink {
        SmtpSink::start_on(0, opts)
    }

    /// Starts a sink on `port` (0 = any free one), in background threads.
    pub fn start_on(port: u16, opts: Options) -> SmtpSink {
        let listener = TcpListener::bind(("127.0.0.1", port)).expect("bind the SMTP sink");
        let port = listener.local_addr().unwrap().port();
        let st = Arc::new(State {
            mode: Mutex::new(opts.mode),
            received: Mutex::new(Vec::new()),
            accepted: AtomicU64::new(0),
            rejected: AtomicU64::new(0),
            store_bodies: opts.store_bodies,
            delay: opts.delay,
        });
        let handler = H {
            st: st.clone(),
            from: String::new(),
            to: Vec::new(),
            buf: Vec::new(),
        };
        let threads = opts.threads;
        std::thread::spawn(move || {
            let mut server = Server::new(handler);
            server
                .with_name("sink.test")
                .with_num_threads(threads)
                .with_tcp_listener(listener);
            let _ = server.serve();
        });
        SmtpSink { port, st }
    }

    /// Changes what the sink answers from now on.
    pub fn set_mode(&self, mode: Mode) {
        *self.st.mode.lock().unwrap() = mode;
    }

    /// Messages accepted so far.
    pub fn accepted(&self) -> u64 {
        self.st.accepted.load(Ordering::SeqCst)
    }

    /// Recipients refused so far (4xx/5xx).
    pub fn rejected(&self) -> u64 {
        self.st.rejected.load(Ordering::SeqCst)
    }

    /// A copy of what was accepted.
    pub fn received(&self) -> Vec<Received> {
        self.st.received.lock().unwrap().clone()
    }
}
