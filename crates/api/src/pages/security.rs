//! What keeps the pages safe: response headers, CSRF protection of every form, and the
//! capability tokens that arrive in e-mailed links.
//!
//! - **Headers** on every page ([`page_headers`]): a Content-Security-Policy without
//!   `'unsafe-inline'` (no script at all; styles only from our own stylesheet),
//!   `X-Content-Type-Options: nosniff`, `Referrer-Policy`, `X-Frame-Options` besides
//!   `frame-ancestors 'none'`.
//! - **CSRF** (OWASP Cross-Site Request Forgery Prevention Cheat Sheet: "signed
//!   double-submit cookie" plus origin verification): a random id in the
//!   `convene_csrf` cookie (`HttpOnly; SameSite=Strict`), and in each form the HMAC-SHA-256
//!   of that id under the server's key. A POST must carry both, matching, and its `Origin`
//!   (or, without it, `Referer`) must be this site. A cookie planted by another site
//!   cannot be signed, and another site's page can neither read the cookie nor the form.
//! - **Tokens in URLs** ([`token_cookie`]): the `?token=` of an e-mailed link is moved into
//!   an `HttpOnly; SameSite=Strict` cookie (`Secure` when the base URL is https) whose
//!   `Path` is that one registration or signature, then the browser is sent (303) to the
//!   URL without it, so the token stays out of the address bar, history and `Referer`.
//!   Pages that read it answer `Referrer-Policy: no-referrer` and `Cache-Control: no-store`.

use axum::extract::Request;
use axum::http::{header, HeaderMap, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

use convene_domain::links::Links;

/// The Content-Security-Policy of every page.
pub const CSP: &str = "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// The CSRF cookie's name.
pub const CSRF_COOKIE: &str = "convene_csrf";

/// Adds the pages' security headers to `res` (those already set by the handler stay,
/// e.g. a token page's `Referrer-Policy: no-referrer`).
pub fn page_headers(headers: &mut HeaderMap) {
    let set = [
        (header::CONTENT_SECURITY_POLICY, CSP),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::REFERRER_POLICY, "strict-origin-when-cross-origin"),
        (header::X_FRAME_OPTIONS, "DENY"),
        (
            header::HeaderName::from_static("cross-origin-opener-policy"),
            "same-origin",
        ),
    ];
    for (name, value) in set {
        if !headers.contains_key(&name) {
            headers.insert(name, HeaderValue::from_static(value));
        }
    }
}

/// Middleware: [`page_headers`] on every answer of the pages' router.
pub async fn headers_layer(req: Request, next: Next) -> Response {
    let mut res = next.run(req).await;
    page_headers(res.headers_mut());
    res
}

/// `Referrer-Policy: no-referrer` and `Cache-Control: no-store`: for pages reached with a
/// capability token.
pub fn private_headers(headers: &mut HeaderMap) {
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
}

/// The key that signs CSRF tokens. From `http.page_secret` when set (every process serving
/// pages must share it), else random for this process.
#[derive(Clone)]
pub struct CsrfKey([u8; 32]);

impl CsrfKey {
    /// The key derived from `secret` (SHA-256 of it), or a random one when `None`/empty.
    pub fn new(secret: Option<&str>) -> CsrfKey {
        match secret.filter(|s| !s.is_empty()) {
            Some(s) => CsrfKey(Sha256::digest(s.as_bytes()).into()),
            None => {
                use rand::RngCore;
                let mut k = [0u8; 32];
                rand::rng().fill_bytes(&mut k);
                CsrfKey(k)
            }
        }
    }

    fn mac(&self, id: &str) -> Hmac<Sha256> {
        let mut m = Hmac::<Sha256>::new_from_slice(&self.0).expect("any key length");
        m.update(b"convene-csrf/1:");
        m.update(id.as_bytes());
        m
    }

    /// The form token for cookie id `id`.
    pub fn token(&self, id: &str) -> String {
        b64().encode(self.mac(id).finalize().into_bytes())
    }

    /// Whether `token` is the token of `id` (constant time).
    pub fn verify(&self, id: &str, token: &str) -> bool {
        match b64().decode(token) {
            Ok(raw) => self.mac(id).verify_slice(&raw).is_ok(),
            Err(_) => false,
        }
    }
}

fn b64() -> base64::engine::GeneralPurpose {
    base64::engine::general_purpose::URL_SAFE_NO_PAD
}

/// The value of cookie `name` in the request, if any.
pub fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| cookie::Cookie::split_parse(v.to_owned()))
        .filter_map(Result::ok)
        .find(|c| c.name() == name)
        .map(|c| c.value().to_owned())
}

/// A form's CSRF token and, when the browser had no usable cookie yet, the `Set-Cookie`
/// that goes with it.
pub struct CsrfIssued {
    /// The hidden `csrf` field's value.
    pub token: String,
    /// `Set-Cookie` to send with the page, if a new id was made.
    pub set_cookie: Option<HeaderValue>,
}

/// The token for a page with a form: reuses the browser's `convene_csrf` id when it has a
/// well-formed one, else makes a new one (22 characters of URL-safe base64, 128 bits).
pub fn issue(key: &CsrfKey, headers: &HeaderMap, links: &Links) -> CsrfIssued {
    if let Some(id) = cookie(headers, CSRF_COOKIE).filter(|v| well_formed_id(v)) {
        return CsrfIssued {
            token: key.token(&id),
            set_cookie: None,
        };
    }
    use rand::RngCore;
    let mut raw = [0u8; 16];
    rand::rng().fill_bytes(&mut raw);
    let id = b64().encode(raw);
    let path = if links.prefix().is_empty() {
        "/".to_owned()
    } else {
        links.prefix().to_owned()
    };
    CsrfIssued {
        token: key.token(&id),
        set_cookie: set_cookie(CSRF_COOKIE, &id, &path, links.is_https()),
    }
}

fn well_formed_id(v: &str) -> bool {
    v.len() == 22
        && v.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// Why a form POST was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CsrfRefusal {
    /// `Origin` (or `Referer`) names another site.
    ForeignOrigin,
    /// No cookie, no token, or they do not match.
    BadToken,
}

/// Checks a form POST: same-site `Origin` (or `Referer` when the browser sent no
/// `Origin`), and the `csrf` field signed for the request's `convene_csrf` cookie.
pub fn check(
    key: &CsrfKey,
    headers: &HeaderMap,
    links: &Links,
    form_token: Option<&str>,
) -> Result<(), CsrfRefusal> {
    let own = |origin: &str| -> bool {
        let origin = origin.trim_end_matches('/');
        if origin.eq_ignore_ascii_case(links.origin()) {
            return true;
        }
        // Also the origin the request was addressed to (a server reached under another
        // name than its public URL, e.g. on loopback); a browser cannot forge Host.
        let scheme = if links.is_https() { "https" } else { "http" };
        headers
            .get(header::HOST)
            .and_then(|h| h.to_str().ok())
            .is_some_and(|h| origin.eq_ignore_ascii_case(&format!("{scheme}://{h}")))
    };
    match headers
        .get(header::ORIGIN)
        .map(|v| v.to_str().unwrap_or("null"))
    {
        Some(o) => {
            if !own(o) {
                return Err(CsrfRefusal::ForeignOrigin);
            }
        }
        None => {
            if let Some(r) = headers.get(header::REFERER).and_then(|v| v.to_str().ok()) {
                let origin: String = match r.find("://") {
                    Some(i) => {
                        let rest = &r[i + 3..];
                        let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
                        r[..i + 3 + end].to_owned()
                    }
                    None => String::new(),
                };
                if !own(&origin) {
                    return Err(CsrfRefusal::ForeignOrigin);
                }
            }
        }
    }
    let id = cookie(headers, CSRF_COOKIE).ok_or(CsrfRefusal::BadToken)?;
    match form_token {
        Some(t) if well_formed_id(&id) && key.verify(&id, t) => Ok(()),
        _ => Err(CsrfRefusal::BadToken),
    }
}

/// `Set-Cookie` for `name=value` on `path`: `HttpOnly; SameSite=Strict`, `Secure` when the
/// site is https; a session cookie.
pub fn set_cookie(name: &str, value: &str, path: &str, secure: bool) -> Option<HeaderValue> {
    let c = cookie::Cookie::build((name.to_owned(), value.to_owned()))
        .path(path.to_owned())
        .http_only(true)
        .same_site(cookie::SameSite::Strict)
        .secure(secure)
        .build();
    HeaderValue::from_str(&c.to_string()).ok()
}

/// The `Set-Cookie` that carries a capability token from an e-mailed link, scoped by
/// `Path` to the one registration or signature page `path` it opens.
pub fn token_cookie(name: &str, token: &str, path: &str, links: &Links) -> Option<HeaderValue> {
    if !token
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        return None;
    }
    set_cookie(name, token, path, links.is_https())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut m = HeaderMap::new();
        for (k, v) in pairs {
            m.append(
                header::HeaderName::from_bytes(k.as_bytes()).unwrap(),
                HeaderValue::from_str(v).unwrap(),
            );
        }
        m
    }

    #[test]
    fn csrf_needs_the_signed_pair_and_our_origin() {
        let key = CsrfKey::new(Some("s3cret"));
        let links = Links::new("https://forum.example.org").unwrap();
        let id = "AAAAAAAAAAAAAAAAAAAAAA";
        let tok = key.token(id);
        let cookie = format!("{CSRF_COOKIE}={id}");
        let ok = h(&[("cookie", &cookie), ("origin", "https://forum.example.org")]);
        assert_eq!(check(&key, &ok, &links, Some(&tok)), Ok(()));
        // Another key (another server) did not sign it.
        assert!(check(&CsrfKey::new(Some("other")), &ok, &links, Some(&tok)).is_err());
        // Token of another cookie, no token, no cookie.
        assert_eq!(
            check(
                &key,
                &ok,
                &links,
                Some(&key.token("BBBBBBBBBBBBBBBBBBBBBB"))
            ),
            Err(CsrfRefusal::BadToken)
        );
        assert_eq!(check(&key, &ok, &links, None), Err(CsrfRefusal::BadToken));
        let no_cookie = h(&[("origin", "https://forum.example.org")]);
        assert_eq!(
            check(&key, &no_cookie, &links, Some(&tok)),
            Err(CsrfRefusal::BadToken)
        );
        // Another site, even with the pair (e.g. a planted cookie and a copied token).
        let evil = h(&[("cookie", &cookie), ("origin", "https://evil.example")]);
        assert_eq!(
            check(&key, &evil, &links, Some(&tok)),
            Err(CsrfRefusal::ForeignOrigin)
        );
        let null = h(&[("cookie", &cookie), ("origin", "null")]);
        assert_eq!(
            check(&key, &null, &links, Some(&tok)),
            Err(CsrfRefusal::ForeignOrigin)
        );
        let referer = h(&[("cookie", &cookie), ("referer", "https://evil.example/x")]);
        assert_eq!(
            check(&key, &referer, &links, Some(&tok)),
            Err(CsrfRefusal::ForeignOrigin)
        );
        let own_referer = h(&[
            ("cookie", &cookie),
            ("referer", "https://forum.example.org/f?x"),
        ]);
        assert_eq!(check(&key, &own_referer, &links, Some(&tok)), Ok(()));
    }

    #[test]
    fn token_cookie_is_http_only_strict_scoped_and_secure_on_https() {
        let https = Links::new("https://forum.example.org").unwrap();
        let c = token_cookie(
            "convene_sig",
            "cvn_sig_abc",
            "/forums/x/declarations/d/signatures/1",
            &https,
        )
        .unwrap();
        let c = c.to_str().unwrap();
        for part in [
            "convene_sig=cvn_sig_abc",
            "HttpOnly",
            "SameSite=Strict",
            "Secure",
            "Path=/forums/x/declarations/d/signatures/1",
        ] {
            assert!(c.contains(part), "{c}");
        }
        let http = Links::new("http://127.0.0.1:8080").unwrap();
        let c = token_cookie("convene_sig", "cvn_sig_abc", "/p", &http).unwrap();
        assert!(!c.to_str().unwrap().contains("Secure"));
        assert!(token_cookie("convene_sig", "a;b", "/p", &http).is_none());
    }
}
