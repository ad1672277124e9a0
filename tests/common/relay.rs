//! A small SMTP server on tokio for the notifier's fault tests: it speaks enough SMTP
//! (RFC 5321: greeting, EHLO/HELO, MAIL, RCPT, DATA with dot-termination, RSET, NOOP,
//! QUIT) for lettre to deliver to it, records the `Message-ID` of each accepted message,
//! and lets a test **cut** every open connection at once — what a relay does when it
//! restarts or times out idle clients — while it keeps listening for new ones.
//! (`common/smtp.rs`, on mailin-embedded, has no handle on its connections.)
//!
//! It runs on its own thread and runtime, so that a test blocked in a child process call
//! does not stall it.
#![allow(dead_code)]

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};

struct State {
    /// Message-IDs (without `<>`) of the accepted messages, in order.
    received: Mutex<Vec<String>>,
    /// Connections accepted so far.
    connections: AtomicU64,
    /// Connections open now.
    open: AtomicU64,
    /// Bumped by [`Relay::cut`]; each connection closes when it changes.
    cut: tokio::sync::watch::Sender<u64>,
}

/// A running relay on 127.0.0.1.
#[derive(Clone)]
pub struct Relay {
    /// Its port.
    pub port: u16,
    st: Arc<State>,
}

impl Relay {
    /// Starts a relay on a free port.
    pub fn start() -> Relay {
        let std_listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind the relay");
        std_listener.set_nonblocking(true).unwrap();
        let port = std_listener.local_addr().unwrap().port();
        let (cut, _) = tokio::sync::watch::channel(0u64);
        let st = Arc::new(State {
            received: Mutex::new(Vec::new()),
            connections: AtomicU64::new(0),
            open: AtomicU64::new(0),
            cut,
        });
        let st2 = st.clone();
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("relay runtime");
            rt.block_on(async move {
                let listener = TcpListener::from_std(std_listener).expect("tokio listener");
                loop {
                    let Ok((sock, _)) = listener.accept().await else {
                        continue;
                    };
                    st2.connections.fetch_add(1, Ordering::SeqCst);
                    st2.open.fetch_add(1, Ordering::SeqCst);
                    let st = st2.clone();
                    tokio::spawn(async move {
                        let mut cut = st.cut.subscribe();
                        tokio::select! {
                            _ = session(sock, &st) => {}
                            _ = cut.changed() => {} // the socket is dropped: FIN to the client
                        }
                        st.open.fetch_sub(1, Ordering::SeqCst);
                    });
                }
            });
        });
        Relay { port, st }
    }

    /// Closes every connection open now (the listener stays up).
    pub fn cut(&self) {
        self.st.cut.send_modify(|g| *g += 1);
    }

    /// Connections accepted so far.
    pub fn connections(&self) -> u64 {
        self.st.connections.load(Ordering::SeqCst)
    }

    /// Connections open now.
    pub fn open(&self) -> u64 {
        self.st.open.load(Ordering::SeqCst)
    }

    /// Messages accepted so far.
    pub fn accepted(&self) -> usize {
        self.st.received.lock().unwrap().len()
    }

    /// The Message-IDs (without `<>`) of the accepted messages.
    pub fn message_ids(&self) -> Vec<String> {
        self.st.received.lock().unwrap().clone()
    }
}

/// One SMTP session; returns when the client quits or the connection breaks.
async fn session(sock: TcpStream, st: &State) {
    let (r, mut w) = sock.into_split();
    let mut r = BufReader::new(r);
    if w.write_all(b"220 relay.test ESMTP\r\n").await.is_err() {
        return;
    }
    let mut line = String::new();
    loop {
        line.clear();
        match r.read_line(&mut line).await {
            Ok(0) | Err(_) => return,
            Ok(_) => {}
        }
        let verb = line
            .split_whitespace()
            .next()
            .unwrap_or("")
            .to_ascii_uppercase();
        let reply: &[u8] = match verb.as_str() {
            "EHLO" => b"250-relay.test\r\n250-8BITMIME\r\n250 SMTPUTF8\r\n",
            "HELO" | "MAIL" | "RCPT" | "RSET" | "NOOP" => b"250 2.0.0 OK\r\n",
            "QUIT" => {
                let _ = w.write_all(b"221 2.0.0 bye\r\n").await;
                return;
            }
            "DATA" => {
                if w.write_all(b"354 go ahead\r\n").await.is_err() {
                    return;
                }
                let mut message_id = String::new();
                let mut in_head = true;
                loop {
                    line.clear();
                    match r.read_line(&mut line).await {
                        Ok(0) | Err(_) => return,
                        Ok(_) => {}
                    }
                    if line == ".\r\n" {
                        break;
                    }
                    if line == "\r\n" {
                        in_head = false;
                    }
                    if in_head {
                        if let Some((k, v)) = line.split_once(':') {
                            if k.eq_ignore_ascii_case("message-id") {
                                message_id = v.trim().trim_matches(['<', '>']).to_string();
                            }
                        }
                    }
                }
                st.received.lock().unwrap().push(message_id);
                b"250 2.0.0 queued\r\n"
            }
            _ => b"502 5.5.2 command not recognized\r\n",
        };
        if w.write_all(reply).await.is_err() {
            return;
        }
    }
}
