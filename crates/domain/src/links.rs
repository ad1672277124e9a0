//! Every public URL convene hands out — in its HTML pages, its e-mails, its schedule
//! exports and calendars — is built here, from one [`Links`] value made at start-up from
//! the `http.public_base_url` setting and passed to whoever needs it (no global).
//!
//! The pages live outside `/api/v1` (DESIGN.md, "Public pages"):
//!
//! | page | path |
//! |---|---|
//! | public forums | `/` |
//! | forum home | `/forums/{slug}` |
//! | programme (days) | `/forums/{slug}/programme` |
//! | one programme day | `/forums/{slug}/programme/{YYYY-MM-DD}` |
//! | session | `/forums/{slug}/sessions/{id}` (+ `/calendar.ics`) |
//! | speakers, speaker | `/forums/{slug}/speakers`, `/forums/{slug}/speakers/{id}` |
//! | registration form | `/forums/{slug}/register` |
//! | manage a registration | `/forums/{slug}/registrations/{id}` (e-mailed with `?token=`) |
//! | declaration (text, sign) | `/forums/{slug}/declarations/{decl}` |
//! | signatories, ledger | `…/{decl}/signatories`, `…/{decl}/ledger` |
//! | a signature (confirm, withdraw) | `…/{decl}/signatures/{id}` (+ `/confirm`, `/withdraw`) |
//! | e-mailed signature links | `…/{decl}/confirm?token=`, `…/{decl}/withdraw?token=` |
//!
//! The calendar feeds stay where the API serves them (`/api/v1/forums/{slug}/schedule.ics`),
//! also offered as a `webcal://` subscription (the de-facto scheme calendar apps
//! subscribe to; RFC 5545 does not define it).
//!
//! Paths ([`Links::path`] and the `*_path` methods) carry the base URL's own path prefix
//! (e.g. `/convene` for `https://example.org/convene`), so pages link correctly behind a
//! reverse proxy; the `*_url` methods are absolute, for e-mails and exports. Slugs are
//! `[a-z0-9-]`, ids are UUIDs and tokens URL-safe base64, so no part needs escaping; a
//! token is still percent-encoded defensively.

use chrono::NaiveDate;
use uuid::Uuid;

/// The public URL space of one convene deployment. Cheap to clone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Links {
    /// `scheme://host[:port]`, no trailing slash.
    origin: String,
    /// The base URL's path, no trailing slash (`""` at the root).
    prefix: String,
    https: bool,
    /// Host name (no port), for iCalendar UIDs and Message-IDs.
    host: String,
}

/// Why a base URL was refused by [`Links::new`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("http.public_base_url `{url}`: {reason}")]
pub struct BadBaseUrl {
    /// The value given.
    pub url: String,
    /// What is wrong with it.
    pub reason: &'static str,
}

impl Links {
    /// Parses `public_base_url`: `http://` or `https://`, a host, optionally a port and a
    /// path prefix; no query or fragment. Errors: [`BadBaseUrl`].
    pub fn new(public_base_url: &str) -> Result<Links, BadBaseUrl> {
        let bad = |reason| BadBaseUrl {
            url: public_base_url.to_owned(),
            reason,
        };
        let trimmed = public_base_url.trim().trim_end_matches('/');
        let (https, rest) = if let Some(r) = trimmed.strip_prefix("https://") {
            (true, r)
        } else if let Some(r) = trimmed.strip_prefix("http://") {
            (false, r)
        } else {
            return Err(bad("must start with http:// or https://"));
        };
        if rest.contains(['?', '#']) {
            return Err(bad("must not have a query or fragment"));
        }
        let (authority, prefix) = match rest.find('/') {
            Some(i) => (&rest[..i], rest[i..].to_owned()),
            None => (rest, String::new()),
        };
        if authority.is_empty()
            || authority.contains('@')
            || authority.contains(char::is_whitespace)
        {
            return Err(bad("must name a host"));
        }
        let host = if authority.starts_with('[') {
            authority
                .split_inclusive(']')
                .next()
                .unwrap_or(authority)
                .to_owned()
        } else {
            authority.split(':').next().unwrap_or(authority).to_owned()
        };
        Ok(Links {
            origin: format!("{}://{authority}", if https { "https" } else { "http" }),
            prefix,
            https,
            host,
        })
    }

    /// `scheme://host[:port]` (the browser's notion of origin, RFC 6454), e.g. to check an
    /// `Origin` header.
    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// Whether the public URL is `https` (then cookies get `Secure`).
    pub fn is_https(&self) -> bool {
        self.https
    }

    /// Host name without port, e.g. for iCalendar UIDs (`…@host`).
    pub fn host(&self) -> &str {
        &self.host
    }

    /// The base URL's path prefix (`""` or e.g. `/convene`).
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// `path` (starting with `/`, relative to the deployment) under the prefix.
    pub fn path(&self, path: &str) -> String {
        format!("{}{path}", self.prefix)
    }

    /// Absolute URL of `path` (starting with `/`).
    pub fn url(&self, path: &str) -> String {
        format!("{}{}{path}", self.origin, self.prefix)
    }

    // --- page paths (relative to the deployment; use `path`/`url` to place them) ---

    /// `/` — the list of public forums.
    pub fn home_rel() -> &'static str {
        "/"
    }

    /// `/forums/{slug}`.
    pub fn forum_rel(slug: &str) -> String {
        format!("/forums/{slug}")
    }

    /// `/forums/{slug}/programme`.
    pub fn programme_rel(slug: &str) -> String {
        format!("/forums/{slug}/programme")
    }

    /// `/forums/{slug}/programme/{YYYY-MM-DD}` — one programme day (the forum's
    /// `day_change` decides which day a session belongs to).
    pub fn programme_day_rel(slug: &str, day: NaiveDate) -> String {
        format!("/forums/{slug}/programme/{}", day.format("%Y-%m-%d"))
    }

    /// `/forums/{slug}/sessions/{id}`.
    pub fn session_rel(slug: &str, id: Uuid) -> String {
        format!("/forums/{slug}/sessions/{id}")
    }

    /// `/forums/{slug}/sessions/{id}/calendar.ics` — one session as an RFC 5545 file.
    pub fn session_ics_rel(slug: &str, id: Uuid) -> String {
        format!("/forums/{slug}/sessions/{id}/calendar.ics")
    }

    /// `/forums/{slug}/speakers`.
    pub fn speakers_rel(slug: &str) -> String {
        format!("/forums/{slug}/speakers")
    }

    /// `/forums/{slug}/speakers/{id}`.
    pub fn speaker_rel(slug: &str, id: Uuid) -> String {
        format!("/forums/{slug}/speakers/{id}")
    }

    /// `/forums/{slug}/register` — the registration form.
    pub fn register_rel(slug: &str) -> String {
        format!("/forums/{slug}/register")
    }

    /// `/forums/{slug}/registrations/{id}` — the participant's manage page (its cookie's
    /// `Path`).
    pub fn registration_rel(slug: &str, id: Uuid) -> String {
        format!("/forums/{slug}/registrations/{id}")
    }

    /// `/forums/{slug}/declarations/{decl}` — text, hash, signing form.
    pub fn declaration_rel(slug: &str, decl: &str) -> String {
        format!("/forums/{slug}/declarations/{decl}")
    }

    /// `/forums/{slug}/declarations/{decl}/sign` — where the signing form POSTs.
    pub fn sign_rel(slug: &str, decl: &str) -> String {
        format!("/forums/{slug}/declarations/{decl}/sign")
    }

    /// `/forums/{slug}/declarations/{decl}/signatories` — the public list and counts.
    pub fn signatories_rel(slug: &str, decl: &str) -> String {
        format!("/forums/{slug}/declarations/{decl}/signatories")
    }

    /// `/forums/{slug}/declarations/{decl}/ledger` — head, entries, verification.
    pub fn ledger_rel(slug: &str, decl: &str) -> String {
        format!("/forums/{slug}/declarations/{decl}/ledger")
    }

    /// `/forums/{slug}/declarations/{decl}/signatures/{id}` — one signature as its
    /// signatory sees it (its cookie's `Path`).
    pub fn signature_rel(slug: &str, decl: &str, id: Uuid) -> String {
        format!("/forums/{slug}/declarations/{decl}/signatures/{id}")
    }

    /// `/forums/{slug}/declarations/{decl}/confirm` — entry of the e-mailed link.
    pub fn signature_confirm_entry_rel(slug: &str, decl: &str) -> String {
        format!("/forums/{slug}/declarations/{decl}/confirm")
    }

    /// `/forums/{slug}/declarations/{decl}/withdraw` — entry of a withdrawal link.
    pub fn signature_withdraw_entry_rel(slug: &str, decl: &str) -> String {
        format!("/forums/{slug}/declarations/{decl}/withdraw")
    }

    /// `/api/v1/forums/{slug}/declarations/{decl}/ledger` — the ledger as JSON (LEDGER.md).
    pub fn ledger_api_rel(slug: &str, decl: &str) -> String {
        format!("/api/v1/forums/{slug}/declarations/{decl}/ledger")
    }

    /// `/api/v1/forums/{slug}/schedule.ics` — the whole programme as a calendar feed.
    pub fn schedule_ics_rel(slug: &str) -> String {
        format!("/api/v1/forums/{slug}/schedule.ics")
    }

    /// `/forums/{slug}/registrations/{id}?token=…` — the manage link as a path (what the
    /// outbox stores; see [`Links::absolute`]).
    pub fn manage_rel(slug: &str, id: Uuid, token: &str) -> String {
        format!(
            "{}?token={}",
            Self::registration_rel(slug, id),
            escape(token)
        )
    }

    /// `/forums/{slug}/declarations/{decl}/confirm?token=…` — the signature confirmation
    /// link as a path (what the outbox stores).
    pub fn signature_confirm_rel(slug: &str, decl: &str, token: &str) -> String {
        format!(
            "{}?token={}",
            Self::signature_confirm_entry_rel(slug, decl),
            escape(token)
        )
    }

    /// `/forums/{slug}/declarations/{decl}/withdraw?token=…` as a path.
    pub fn signature_withdraw_rel(slug: &str, decl: &str, token: &str) -> String {
        format!(
            "{}?token={}",
            Self::signature_withdraw_entry_rel(slug, decl),
            escape(token)
        )
    }

    /// Makes a link absolute: a path starting with `/` (as the domain stores links in
    /// outbox rows and answers) is placed under the base URL; anything else (an absolute
    /// URL written by an older version) is returned unchanged.
    pub fn absolute(&self, link: &str) -> String {
        if link.starts_with('/') && !link.starts_with("//") {
            self.url(link)
        } else {
            link.to_owned()
        }
    }

    // --- absolute URLs (e-mails, exports) ---

    /// Absolute URL of the forum home.
    pub fn forum_url(&self, slug: &str) -> String {
        self.url(&Self::forum_rel(slug))
    }

    /// Absolute URL of a session page (used as the event URL of schedule exports).
    pub fn session_url(&self, slug: &str, id: Uuid) -> String {
        self.url(&Self::session_rel(slug, id))
    }

    /// The e-mailed link that lets its holder manage one registration:
    /// `…/forums/{slug}/registrations/{id}?token=cvn_reg_…`. The page moves the token into
    /// a cookie and redirects to the URL without it.
    pub fn manage_url(&self, slug: &str, id: Uuid, token: &str) -> String {
        self.url(&Self::manage_rel(slug, id, token))
    }

    /// The e-mailed link that confirms a signature:
    /// `…/forums/{slug}/declarations/{decl}/confirm?token=cvn_sig_…`. Opening it changes
    /// nothing: the page shows what will be confirmed and a button POSTs.
    pub fn signature_confirm_url(&self, slug: &str, decl: &str, token: &str) -> String {
        self.url(&Self::signature_confirm_rel(slug, decl, token))
    }

    /// The link to withdraw a signature (same token as its confirmation):
    /// `…/forums/{slug}/declarations/{decl}/withdraw?token=cvn_sig_…`.
    pub fn signature_withdraw_url(&self, slug: &str, decl: &str, token: &str) -> String {
        self.url(&Self::signature_withdraw_rel(slug, decl, token))
    }

    /// Absolute `https://…/schedule.ics` of the whole programme.
    pub fn schedule_ics_url(&self, slug: &str) -> String {
        self.url(&Self::schedule_ics_rel(slug))
    }

    /// `webcal://…/schedule.ics`: the same feed as a subscription link (calendar apps
    /// subscribe to `webcal://` and fetch it over https or http as the origin says).
    pub fn schedule_webcal_url(&self, slug: &str) -> String {
        let u = self.schedule_ics_url(slug);
        let rest = u
            .strip_prefix("https://")
            .or_else(|| u.strip_prefix("http://"))
            .unwrap_or(&u);
        format!("webcal://{rest}")
    }
}

/// Percent-encodes everything but RFC 3986 unreserved characters.
fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_url_with_prefix_and_port() {
        let l = Links::new("https://forum.example.org:8443/convene/").unwrap();
        assert_eq!(l.origin(), "https://forum.example.org:8443");
        assert_eq!(l.host(), "forum.example.org");
        assert!(l.is_https());
        assert_eq!(l.path("/forums/x"), "/convene/forums/x");
        assert_eq!(
            l.forum_url("x"),
            "https://forum.example.org:8443/convene/forums/x"
        );
        assert_eq!(
            l.schedule_webcal_url("x"),
            "webcal://forum.example.org:8443/convene/api/v1/forums/x/schedule.ics"
        );
    }

    #[test]
    fn e_mailed_links_point_to_pages_not_the_api() {
        let l = Links::new("http://127.0.0.1:8080").unwrap();
        let id = Uuid::nil();
        assert_eq!(
            l.manage_url("gz", id, "cvn_reg_a-b_c"),
            format!("http://127.0.0.1:8080/forums/gz/registrations/{id}?token=cvn_reg_a-b_c")
        );
        assert_eq!(
            l.signature_confirm_url("gz", "decl", "cvn_sig_x+y"),
            "http://127.0.0.1:8080/forums/gz/declarations/decl/confirm?token=cvn_sig_x%2By"
        );
        assert!(!l.signature_withdraw_url("gz", "d", "t").contains("/api/"));
        // What the outbox stores is a path; the worker places it under the base URL.
        let rel = Links::manage_rel("gz", id, "cvn_reg_t");
        assert_eq!(l.absolute(&rel), l.manage_url("gz", id, "cvn_reg_t"));
        assert_eq!(l.absolute("https://old.example/x"), "https://old.example/x");
    }

    #[test]
    fn refuses_what_is_not_a_base_url() {
        for bad in ["ftp://x", "x.org", "http://", "http://x/?a=1", "http://u@x"] {
            assert!(Links::new(bad).is_err(), "{bad}");
        }
        assert_eq!(Links::new("http://[::1]:80").unwrap().host(), "[::1]");
    }
}
