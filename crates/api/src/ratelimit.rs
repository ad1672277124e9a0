//! Per-IP rate limits of the public registration endpoints (`governor`: a maintained
//! GCRA limiter; keyed by client IP). Over the limit → 429 problem
//! `/problems/rate-limited` with `Retry-After` (whole seconds, RFC 9110 §10.2.3).

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::num::NonZeroU32;
use std::sync::Arc;

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

use crate::problem::ApiError;
use crate::AppState;

/// Limits of one endpoint group: `per_minute` sustained, `burst` at once. `0` turns it off.
#[derive(Debug, Clone, Copy, serde::Deserialize)]
pub struct Limit {
    /// Requests per minute per IP.
    pub per_minute: u32,
    /// Requests allowed at once per IP.
    pub burst: u32,
}

/// The configured limiters.
#[derive(Clone, Default)]
pub struct RateLimits {
    registration: Option<Arc<DefaultKeyedRateLimiter<IpAddr>>>,
    resend: Option<Arc<DefaultKeyedRateLimiter<IpAddr>>>,
}

fn limiter(l: Limit) -> Option<Arc<DefaultKeyedRateLimiter<IpAddr>>> {
    let per = NonZeroU32::new(l.per_minute)?;
    let burst = NonZeroU32::new(l.burst).unwrap_or(per);
    Some(Arc::new(RateLimiter::keyed(
        Quota::per_minute(per).allow_burst(burst),
    )))
}

impl RateLimits {
    /// Limiters for `POST /forums/{slug}/registrations` and `…/resend-link`.
    pub fn new(registration: Limit, resend: Limit) -> RateLimits {
        RateLimits {
            registration: limiter(registration),
            resend: limiter(resend),
        }
    }
}

/// Middleware: counts POSTs per client IP (the peer address of the connection).
pub async fn limit(State(s): State<AppState>, req: Request, next: Next) -> Response {
    if req.method() != Method::POST {
        return next.run(req).await;
    }
    let lim = if req.uri().path().ends_with("/resend-link") {
        &s.rate_limits.resend
    } else {
        &s.rate_limits.registration
    };
    if let Some(lim) = lim {
        let ip = req
            .extensions()
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| c.0.ip())
            .unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED));
        if let Err(not_until) = lim.check_key(&ip) {
            let wait = not_until.wait_time_from(DefaultClock::default().now());
            let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
            let mut res = ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "rate-limited",
                "Too many requests",
                format!("too many requests from your address; retry in {secs} s"),
            )
            .into_response();
            if let Ok(v) = HeaderValue::from_str(&secs.max(1).to_string()) {
                res.headers_mut().insert(axum::http::header::RETRY_AFTER, v);
            }
            if lim.len() > 100_000 {
                lim.retain_recent();
            }
            return res;
        }
    }
    next.run(req).await
}
