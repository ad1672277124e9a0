//! `TCP_NODELAY` for sockets that libraries open without it.
//!
//! Nagle's algorithm holds a short write while earlier data is unacknowledged, and the
//! peer delays its ACK (40 ms on Linux) when it is waiting for the rest of a request:
//! every request sent as "long write + short write" then costs 40 ms. Two libraries of
//! the stack do exactly that and give no access to their sockets:
//! - **sqlx 0.9.0** (PostgreSQL): a Bind message too large for one write — a group
//!   commit's outbox INSERT — leaves a short tail (sqlx issue #4335; fixed upstream by
//!   sqlx PR #4336, not in a release yet). libpq always sets `TCP_NODELAY`.
//! - **lettre 0.11.23** (SMTP): the message body, then `\r\n.\r\n` as a second write, so
//!   every message on a pooled connection waits 40 ms — about 22 messages/s per
//!   connection (fixed upstream by lettre PR #1159, not in a release yet).
//!
//! [`set_nodelay_where`] finds this process's TCP sockets (Unix: listed from
//! `/proc/self/fd`, else `/dev/fd`) and sets `TCP_NODELAY` on those a predicate picks
//! (by local or peer address). Elsewhere it does nothing. Remove the calls once both
//! crates set it themselves.

use std::net::SocketAddr;

/// One connected TCP socket of this process.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TcpSocket {
    /// Its file descriptor (Unix).
    pub fd: i32,
    /// This side's address.
    pub local: SocketAddr,
    /// The peer's address.
    pub peer: SocketAddr,
    /// Whether `TCP_NODELAY` is set.
    pub nodelay: bool,
}

/// The connected TCP sockets of this process, at the moment of the call.
#[cfg(unix)]
pub fn tcp_sockets() -> Vec<TcpSocket> {
    let dir = std::fs::read_dir("/proc/self/fd").or_else(|_| std::fs::read_dir("/dev/fd"));
    let Ok(dir) = dir else { return vec![] };
    dir.filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
        .filter_map(inspect)
        .collect()
}

/// The connected TCP sockets of this process (none known off Unix).
#[cfg(not(unix))]
pub fn tcp_sockets() -> Vec<TcpSocket> {
    vec![]
}

#[cfg(unix)]
fn inspect(fd: i32) -> Option<TcpSocket> {
    // SAFETY: `fd` is only borrowed for a few calls. If another thread closed it since it
    // was listed they fail with EBADF; if the number was reused, the new socket is what
    // gets inspected (and checked again before anything is set on it).
    let b = unsafe { std::os::fd::BorrowedFd::borrow_raw(fd) };
    let sock = socket2::SockRef::from(&b);
    if sock.r#type().ok()? != socket2::Type::STREAM {
        return None;
    }
    let peer = sock.peer_addr().ok()?.as_socket()?;
    let local = sock.local_addr().ok()?.as_socket()?;
    let nodelay = sock.tcp_nodelay().ok()?;
    Some(TcpSocket {
        fd,
        local,
        peer,
        nodelay,
    })
}

/// Sets `TCP_NODELAY` on every connected TCP socket of this process that `pick` chooses
/// and that does not have it yet; returns how many it set. Setting it on a socket that did
/// not need it is harmless (it only sends small writes at once).
pub fn set_nodelay_where(pick: impl Fn(&TcpSocket) -> bool) -> usize {
    #[cfg(unix)]
    {
        tcp_sockets()
            .into_iter()
            .filter(|s| !s.nodelay && pick(s))
            .filter(|s| {
                // Same socket still (the number may have been reused since it was listed)?
                inspect(s.fd).is_some_and(|now| now.local == s.local && now.peer == s.peer) && {
                    // SAFETY: as in `inspect`.
                    let b = unsafe { std::os::fd::BorrowedFd::borrow_raw(s.fd) };
                    socket2::SockRef::from(&b).set_tcp_nodelay(true).is_ok()
                }
            })
            .count()
    }
    #[cfg(not(unix))]
    {
        let _ = pick;
        0
    }
}
