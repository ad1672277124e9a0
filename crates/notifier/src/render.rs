//! Rendering: per-language message catalogs (`templates/<lang>.toml`, one entry per
//! notification kind: `subject`, `body`, optional `action`) whose strings are minijinja
//! templates over the row's `data`, laid out by `templates/layout.txt` and
//! `templates/layout.html` (auto-escaped; `dir="rtl"` for Arabic). Languages: English,
//! French, Spanish, Arabic, Turkish; any other language, or a kind a catalog lacks, falls
//! back to English. Times are shown in the forum's time zone with the recipient's
//! language's day and month names.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use convene_domain::notifications::Notification;
use lettre::address::Envelope;
use lettre::message::header::{ContentTransferEncoding, ContentType, HeaderName, HeaderValue};
use lettre::message::{Attachment, Body, Mailbox, MultiPart, SinglePart};
use lettre::Message;
use minijinja::{Environment, UndefinedBehavior};
use serde::Deserialize;
use serde_json::{json, Value};

use crate::ics;

/// Every kind of the outbox contract (NOTIFICATIONS.md).
pub const KINDS: &[&str] = &[
    "registration.received",
    "registration.confirmed",
    "registration.waitlisted",
    "registration.promoted",
    "registration.rejected",
    "registration.cancelled",
    "registration.manage_link",
    "signup.confirmed",
    "signup.waitlisted",
    "signup.promoted",
    "signup.lost",
    "session.changed",
    "session.cancelled",
    "reminder.forum",
    "reminder.session",
    "signature.confirm",
];

/// The languages with a catalog; the first is the fallback.
pub const LANGUAGES: &[&str] = &["en", "fr", "es", "ar", "tr"];

const CATALOGS: &[(&str, &str)] = &[
    ("en", include_str!("../templates/en.toml")),
    ("fr", include_str!("../templates/fr.toml")),
    ("es", include_str!("../templates/es.toml")),
    ("ar", include_str!("../templates/ar.toml")),
    ("tr", include_str!("../templates/tr.toml")),
];

#[derive(Deserialize)]
struct Catalog {
    common: Common,
    kinds: HashMap<String, KindText>,
}

#[derive(Deserialize)]
struct Common {
    /// chrono locale name, e.g. `fr_FR`.
    locale: String,
    /// `ltr` or `rtl`.
    dir: String,
    greeting: String,
    footer: String,
    when: String,
    #[serde(rename = "where")]
    where_: String,
    previously: String,
    calendar: String,
}

#[derive(Deserialize)]
struct KindText {
    subject: String,
    body: String,
    #[serde(default)]
    action: Option<String>,
}

/// A rendered e-mail.
#[derive(Debug, Clone)]
pub struct Rendered {
    /// The language actually used (after fallback).
    pub language: String,
    /// `Subject:`.
    pub subject: String,
    /// `text/plain` part.
    pub text: String,
    /// `text/html` part.
    pub html: String,
    /// `.ics` attachment: (`REQUEST`|`CANCEL`, VCALENDAR text), for mails about a session.
    pub ics: Option<(String, String)>,
}

/// Renders outbox rows into messages. Built once per worker.
pub struct Renderer {
    env: Environment<'static>,
    locales: HashMap<String, (chrono::Locale, String)>,
    has: HashMap<String, bool>,
    host: String,
    from: Mailbox,
    /// Places the links of outbox rows (paths, see `convene_domain::links`) under
    /// `http.public_base_url`.
    links: convene_domain::links::Links,
}

impl Renderer {
    /// Compiles every template. `public_base_url` gives the host of Message-IDs and UIDs;
    /// `from` is the `From:` mailbox. Errors: a bad `from` or base URL, a broken template.
    pub fn new(public_base_url: &str, from: &str) -> Result<Renderer, String> {
        let links =
            convene_domain::links::Links::new(public_base_url).map_err(|e| e.to_string())?;
        let host = url::Url::parse(public_base_url)
            .ok()
            .and_then(|u| u.host_str().map(str::to_owned))
            .ok_or_else(|| format!("http.public_base_url `{public_base_url}` has no host"))?;
        let from: Mailbox = from
            .parse()
            .map_err(|e| format!("mail.from `{from}`: {e}"))?;
        let mut env = Environment::new();
        env.set_undefined_behavior(UndefinedBehavior::Chainable);
        env.set_trim_blocks(true);
        env.set_lstrip_blocks(true);
        env.add_template("layout.txt", include_str!("../templates/layout.txt"))
            .map_err(|e| e.to_string())?;
        env.add_template("layout.html", include_str!("../templates/layout.html"))
            .map_err(|e| e.to_string())?;
        let mut locales = HashMap::new();
        let mut has = HashMap::new();
        for (lang, src) in CATALOGS {
            let cat: Catalog = toml::from_str(src).map_err(|e| format!("{lang}.toml: {e}"))?;
            let loc = chrono::Locale::try_from(cat.common.locale.as_str())
                .map_err(|_| format!("{lang}.toml: unknown locale {}", cat.common.locale))?;
            locales.insert(lang.to_string(), (loc, cat.common.dir.clone()));
            let c = &cat.common;
            for (key, src) in [
                ("greeting", &c.greeting),
                ("footer", &c.footer),
                ("when", &c.when),
                ("where", &c.where_),
                ("previously", &c.previously),
                ("calendar", &c.calendar),
            ] {
                env.add_template_owned(format!("{lang}/common/{key}"), src.clone())
                    .map_err(|e| format!("{lang}.toml common.{key}: {e}"))?;
            }
            for (kind, t) in cat.kinds {
                for (part, src) in [
                    ("subject", Some(&t.subject)),
                    ("body", Some(&t.body)),
                    ("action", t.action.as_ref()),
                ] {
                    if let Some(src) = src {
                        env.add_template_owned(format!("{lang}/{kind}/{part}"), src.clone())
                            .map_err(|e| format!("{lang}.toml {kind}.{part}: {e}"))?;
                    }
                }
                has.insert(format!("{lang}/{kind}"), true);
            }
        }
        Ok(Renderer {
            env,
            locales,
            has,
            host,
            from,
            links,
        })
    }

    /// The host used in Message-IDs and calendar UIDs.
    pub fn host(&self) -> &str {
        &self.host
    }

    /// The `Message-ID` of a row: `<id@host>` (RFC 5322 §3.6.4), the same for every attempt.
    pub fn message_id(&self, row: &Notification) -> String {
        format!("<{}@{}>", row.id, self.host)
    }

    /// Renders a row. Errors (permanent): unknown kind, broken data.
    pub fn render(&self, row: &Notification) -> Result<Rendered, String> {
        let kind = row.kind.as_str();
        let primary = row
            .language
            .split(['-', '_'])
            .next()
            .unwrap_or("en")
            .to_ascii_lowercase();
        let lang = if self.has.contains_key(&format!("{primary}/{kind}")) {
            primary
        } else if self.has.contains_key(&format!("en/{kind}")) {
            "en".to_string()
        } else {
            return Err(format!("no template for kind `{kind}`"));
        };
        let (locale, dir) = self.locales[&lang].clone();
        let data = &row.data;
        let tz: Tz = data
            .pointer("/forum/time_zone")
            .and_then(Value::as_str)
            .and_then(|z| z.parse().ok())
            .unwrap_or(chrono_tz::UTC);
        let mut ctx = match data {
            Value::Object(o) => o.clone(),
            _ => return Err("data is not a JSON object".into()),
        };
        // Links are stored as paths (`/forums/…?token=…`); the e-mail needs them absolute.
        for (k, v) in ctx.iter_mut() {
            if k.ends_with("_url") {
                if let Some(link) = v.as_str() {
                    *v = json!(self.links.absolute(link));
                }
            }
        }
        let name = if row.recipient_name.trim().is_empty() {
            row.recipient_email.clone()
        } else {
            row.recipient_name.clone()
        };
        ctx.insert("name".into(), json!(name));
        ctx.insert("email".into(), json!(row.recipient_email));
        ctx.insert("lang".into(), json!(lang));
        ctx.insert("dir".into(), json!(dir));
        let session = data.get("session").filter(|s| s.is_object());
        let span = |s: &Value| -> Option<String> {
            let a = instant(s.get("starts_at"))?;
            let b = instant(s.get("ends_at"))?;
            Some(local_span(a, b, tz, locale))
        };
        if let Some(s) = session {
            ctx.insert("when".into(), json!(span(s)));
            ctx.insert("room".into(), s.get("room").cloned().unwrap_or(Value::Null));
        }
        if let Some(p) = data.get("previous").filter(|p| p.is_object()) {
            ctx.insert("previous_when".into(), json!(span(p)));
            ctx.insert(
                "previous_room".into(),
                p.get("room").cloned().unwrap_or(Value::Null),
            );
        }
        if let Some(d) = data
            .get("first_day")
            .and_then(Value::as_str)
            .and_then(|d| chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d").ok())
        {
            ctx.insert(
                "first_day_local".into(),
                json!(d.format_localized("%A %-d %B %Y", locale).to_string()),
            );
        }
        if let Some(t) = instant(data.get("expires_at")) {
            ctx.insert(
                "expires_local".into(),
                json!(format!(
                    "{} ({})",
                    t.with_timezone(&tz)
                        .format_localized("%A %-d %B %Y, %H:%M", locale),
                    tz.name()
                )),
            );
        }
        let action_url = ctx
            .get("confirm_url")
            .or_else(|| ctx.get("manage_url"))
            .and_then(Value::as_str)
            .map(str::to_owned);
        // Converted to template values once: every template below reads the same context
        // (converting it per template cost more than the rendering itself).
        let base: std::collections::BTreeMap<String, minijinja::Value> = ctx
            .into_iter()
            .map(|(k, v)| (k, minijinja::Value::from_serialize(&v)))
            .collect();
        let ctxv = minijinja::Value::from(base.clone());
        let r = |name: String, ctx: &minijinja::Value| -> Result<String, String> {
            self.env
                .get_template(&name)
                .and_then(|t| t.render(ctx))
                .map_err(|e| format!("rendering {name}: {e}"))
        };
        let subject = r(format!("{lang}/{kind}/subject"), &ctxv)?
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ");
        let body = r(format!("{lang}/{kind}/body"), &ctxv)?;
        let action = match self.has.get(&format!("{lang}/{kind}")) {
            Some(_) => r(format!("{lang}/{kind}/action"), &ctxv).ok(),
            None => None,
        };
        let paragraphs: Vec<String> = body
            .split("\n\n")
            .map(|p| p.trim().to_string())
            .filter(|p| !p.is_empty())
            .collect();
        let ics = session.and_then(|s| self.invite(kind, row, s, tz));
        // The layouts see the message's context plus (these names win) the parts rendered
        // above and the language's common strings (`t_greeting`, …), in one map: the
        // values are shared, not copied, and a lookup searches one map.
        let mut extra: std::collections::BTreeMap<String, minijinja::Value> = [
            ("subject", minijinja::Value::from(subject.as_str())),
            ("paragraphs", minijinja::Value::from_serialize(&paragraphs)),
            ("body", minijinja::Value::from(body.trim())),
            ("action", minijinja::Value::from_serialize(&action)),
            ("action_url", minijinja::Value::from_serialize(&action_url)),
            ("has_ics", minijinja::Value::from(ics.is_some())),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
        for key in [
            "greeting",
            "footer",
            "when",
            "where",
            "previously",
            "calendar",
        ] {
            let v = r(format!("{lang}/common/{key}"), &ctxv)?;
            extra.insert(format!("t_{key}"), minijinja::Value::from(v));
        }
        let mut layout = base;
        layout.extend(extra);
        let lv = minijinja::Value::from(layout);
        let text = self
            .env
            .get_template("layout.txt")
            .and_then(|t| t.render(&lv))
            .map_err(|e| e.to_string())?;
        let html = self
            .env
            .get_template("layout.html")
            .and_then(|t| t.render(&lv))
            .map_err(|e| e.to_string())?;
        Ok(Rendered {
            language: lang,
            subject,
            text,
            html,
            ics,
        })
    }

    fn invite(
        &self,
        kind: &str,
        row: &Notification,
        s: &Value,
        tz: Tz,
    ) -> Option<(String, String)> {
        let guid = s.get("guid").and_then(Value::as_str)?;
        let starts_at = instant(s.get("starts_at"))?;
        let ends_at = instant(s.get("ends_at"))?;
        let cancelled = kind == "session.cancelled"
            || kind == "signup.lost"
            || s.get("status").and_then(Value::as_str) == Some("cancelled");
        let method = if cancelled { "CANCEL" } else { "REQUEST" };
        let text = ics::invite(&ics::Invite {
            method,
            guid,
            uid_domain: &self.host,
            sequence: s.get("sequence").and_then(Value::as_u64).unwrap_or(0) as u32,
            summary: s.get("title").and_then(Value::as_str).unwrap_or(""),
            location: s.get("room").and_then(Value::as_str),
            starts_at,
            ends_at,
            tz,
            organizer: self.from.email.as_ref(),
            attendee: (&row.recipient_email, &row.recipient_name),
            stamp: row.created_at,
        });
        Some((method.to_string(), text))
    }

    /// Builds the MIME message: `multipart/mixed` of `multipart/alternative` (text, HTML)
    /// and, for a session, `invite.ics` (`text/calendar; method=…`). Headers: From, To,
    /// Subject, Message-ID ([`Renderer::message_id`]), Date, `Auto-Submitted:
    /// auto-generated` (RFC 3834), `Content-Language`. Errors (permanent): invalid
    /// recipient address.
    pub fn message(&self, row: &Notification, r: &Rendered) -> Result<Message, String> {
        // Rows written before addresses were parsed at the edge may hold an IDN domain:
        // send it in its ASCII form, as `Email` stores new ones.
        let recipient = convene_domain::email::Email::parse(&row.recipient_email)
            .map(convene_domain::email::Email::into_string)
            .unwrap_or_else(|_| row.recipient_email.clone());
        let to_addr: lettre::Address = recipient
            .parse()
            .map_err(|e| format!("invalid recipient address `{}`: {e}", row.recipient_email))?;
        // Given, so that lettre need not parse the From and To headers back into addresses.
        let envelope = Envelope::new(Some(self.from.email.clone()), vec![to_addr.clone()])
            .map_err(|e| e.to_string())?;
        // A display name is one line: a control character (only in rows written before
        // names were checked) becomes a space, so the message can still be built — lettre
        // refuses to write a header with a line break in it.
        let name: String = row
            .recipient_name
            .chars()
            .map(|c| if c.is_control() { ' ' } else { c })
            .collect();
        let name = name.trim();
        let to = Mailbox::new((!name.is_empty()).then(|| name.to_string()), to_addr);
        let part =
            |ct: ContentType, text: &str| SinglePart::builder().header(ct).body(text_body(text));
        let alt = MultiPart::alternative()
            .singlepart(part(ContentType::TEXT_PLAIN, &r.text))
            .singlepart(part(ContentType::TEXT_HTML, &r.html));
        let builder = Message::builder()
            .from(self.from.clone())
            .to(to)
            .envelope(envelope)
            .subject(r.subject.clone())
            .message_id(Some(self.message_id(row)))
            .raw_header(HeaderValue::new(
                HeaderName::new_from_ascii_str("Auto-Submitted"),
                "auto-generated".into(),
            ))
            .raw_header(HeaderValue::new(
                HeaderName::new_from_ascii_str("Content-Language"),
                r.language.clone(),
            ));
        let built = match &r.ics {
            Some((method, text)) => {
                let ct =
                    ContentType::parse(&format!("text/calendar; charset=utf-8; method={method}"))
                        .map_err(|e| e.to_string())?;
                let att: SinglePart =
                    Attachment::new("invite.ics".into()).body(text_body(text), ct);
                builder.multipart(MultiPart::mixed().multipart(alt).singlepart(att))
            }
            None => builder.multipart(alt),
        };
        built.map_err(|e| e.to_string())
    }
}

/// The body of a text part (plain, HTML, calendar) in canonical form, CRLF line endings
/// (RFC 2046 §4.1.1), with its `Content-Transfer-Encoding` (RFC 2045 §6): `7bit` when the
/// text is ASCII with lines of at most 998 octets (RFC 5322 §2.1.1), otherwise `base64`
/// (RFC 2045 §6.8, lines of 76 characters; the encoder is the one lettre uses). Every
/// relay accepts both, with or without 8BITMIME. Not quoted-printable: lettre's choice
/// between the two encoded the body twice over, and its quoted-printable encoder was the
/// worker's most expensive step (15 % of its instructions with callgrind, a French notice).
pub fn text_body(text: &str) -> Body {
    let mut crlf = String::with_capacity(text.len() + text.len() / 32 + 2);
    let mut lines = text.split('\n').peekable();
    while let Some(line) = lines.next() {
        crlf.push_str(line.strip_suffix('\r').unwrap_or(line));
        if lines.peek().is_some() {
            crlf.push_str("\r\n");
        }
    }
    let plain = crlf.is_ascii()
        && crlf
            .split("\r\n")
            .all(|l| l.len() <= 998 && !l.contains(['\0', '\r']));
    if plain {
        return Body::dangerous_pre_encoded(crlf.into_bytes(), ContentTransferEncoding::SevenBit);
    }
    let mut out = String::with_capacity(crlf.len() * 4 / 3 + crlf.len() / 38 + 4);
    email_encoding::body::base64::encode(crlf.as_bytes(), &mut out)
        .expect("writing into a String cannot fail");
    Body::dangerous_pre_encoded(out.into_bytes(), ContentTransferEncoding::Base64)
}

fn instant(v: Option<&Value>) -> Option<DateTime<Utc>> {
    v.and_then(Value::as_str)
        .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
        .map(|t| t.with_timezone(&Utc))
}

/// "Tuesday 26 November 2019, 09:00–10:30 (Europe/Istanbul)" in `locale`, in `tz`.
pub fn local_span(a: DateTime<Utc>, b: DateTime<Utc>, tz: Tz, locale: chrono::Locale) -> String {
    let (la, lb) = (a.with_timezone(&tz), b.with_timezone(&tz));
    let full = "%A %-d %B %Y, %H:%M";
    if la.date_naive() == lb.date_naive() {
        format!(
            "{}–{} ({})",
            la.format_localized(full, locale),
            lb.format("%H:%M"),
            tz.name()
        )
    } else {
        format!(
            "{} – {} ({})",
            la.format_localized(full, locale),
            lb.format_localized(full, locale),
            tz.name()
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mail_parser::MimeHeaders;

    fn row(kind: &str, lang: &str) -> Notification {
        let session = json!({"id": "5d1c0a52-4a5e-4a7e-9a55-0d1b8f1f0a01", "guid": "opening-2030",
            "title": "Cities of Refuge", "starts_at": "2030-11-26T06:00:00Z",
            "ends_at": "2030-11-26T07:30:00Z", "room": "Hall A", "sequence": 2, "status":
            if kind == "session.cancelled" { "cancelled" } else { "scheduled" }});
        let mut data = json!({
            "forum": {"slug": "gzt", "title": "Gaziantep Forum", "time_zone": "Europe/Istanbul", "city": "Gaziantep"},
        });
        let d = data.as_object_mut().unwrap();
        // The extra data of each kind, as NOTIFICATIONS.md lists it.
        if kind.starts_with("registration.") {
            d.insert("registration_id".into(), json!("r1"));
            d.insert("check_in_code".into(), json!("K7Q2-9M"));
            d.insert("reason".into(), json!("capacity reached"));
            d.insert("by".into(), json!("organizer"));
            if !matches!(kind, "registration.rejected" | "registration.cancelled") {
                d.insert(
                    "manage_url".into(),
                    json!("https://forum.example.org/r/tok_manage"),
                );
            }
        }
        if kind.starts_with("signup.") || kind.starts_with("session.") || kind == "reminder.session"
        {
            d.insert("session".into(), session);
            d.insert("reason".into(), json!("the session was moved"));
        }
        if kind == "session.changed" {
            d.insert("previous".into(), json!({"starts_at": "2030-11-26T05:00:00Z", "ends_at": "2030-11-26T06:00:00Z", "room": "Hall B"}));
        }
        if kind == "reminder.forum" {
            d.insert("first_day".into(), json!("2030-11-26"));
            d.insert("venue".into(), json!("Shelton Hotel"));
        }
        if kind == "signature.confirm" {
            d.insert(
                "declaration".into(),
                json!({"slug": "gzt-decl", "title": "Gaziantep Declaration"}),
            );
            d.insert(
                "confirm_url".into(),
                json!("https://forum.example.org/s/tok_confirm"),
            );
            d.insert("expires_at".into(), json!("2030-11-20T12:00:00Z"));
        }
        let now = chrono::Utc::now();
        Notification {
            id: uuid::Uuid::parse_str("0f8e2b7a-3c1d-4e5f-8a9b-1c2d3e4f5a6b").unwrap(),
            forum_id: uuid::Uuid::nil(),
            kind: kind.into(),
            recipient_email: "ayse@example.org".into(),
            recipient_name: "Ayşe <Yılmaz>".into(),
            language: lang.into(),
            data,
            dedupe_key: "k".into(),
            status: "pending".into(),
            attempts: 1,
            next_attempt_at: now,
            lease_owner: None,
            lease_expires_at: None,
            last_error: None,
            sent_at: None,
            created_at: now,
            updated_at: now,
        }
    }

    fn renderer() -> Renderer {
        Renderer::new("https://forum.example.org", "Forum <forum@example.org>").unwrap()
    }

    /// Every kind in every language: its own subject (translated), the recipient's name
    /// (escaped in HTML), local times in the forum's zone, links, and a parseable .ics
    /// for mails about a session.
    #[test]
    fn links_stored_as_paths_become_absolute_page_links() {
        let r = renderer();
        let mut n = row("signature.confirm", "en");
        n.data["confirm_url"] = json!("/forums/gzt/declarations/gd/confirm?token=cvn_sig_abc");
        let m = r.render(&n).unwrap();
        let want = "https://forum.example.org/forums/gzt/declarations/gd/confirm?token=cvn_sig_abc";
        assert!(m.text.contains(want), "{}", m.text);
        // (minijinja escapes `/` in HTML attributes as `&#x2f;`.)
        assert!(
            m.html
                .contains("href=\"https:&#x2f;&#x2f;forum.example.org&#x2f;forums&#x2f;gzt"),
            "{}",
            m.html
        );
        assert!(!m.text.contains("/api/v1/"), "{}", m.text);
    }

    #[test]
    fn every_kind_renders_in_every_language() {
        let r = renderer();
        for kind in KINDS {
            let en = r.render(&row(kind, "en")).unwrap();
            for lang in LANGUAGES {
                let row = row(kind, lang);
                let m = r
                    .render(&row)
                    .unwrap_or_else(|e| panic!("{kind}/{lang}: {e}"));
                assert_eq!(m.language, *lang);
                let ctx = format!("{kind}/{lang}: {m:#?}");
                assert!(!m.subject.is_empty() && !m.subject.contains('\n'), "{ctx}");
                if *lang != "en" {
                    assert_ne!(m.subject, en.subject, "translated subject: {ctx}");
                }
                assert!(m.text.contains("Ayşe <Yılmaz>"), "{ctx}");
                assert!(m.html.contains("Ayşe &lt;Yılmaz&gt;"), "escaped: {ctx}");
                assert!(m.text.contains("Gaziantep Forum"), "{ctx}");
                let rtl = *lang == "ar";
                assert_eq!(m.html.contains("dir=\"rtl\""), rtl, "{ctx}");
                assert!(m.html.contains(&format!("lang=\"{lang}\"")), "{ctx}");
                if kind.starts_with("session.")
                    || kind.starts_with("signup.")
                    || *kind == "reminder.session"
                {
                    assert!(
                        m.text.contains("09:00–10:30 (Europe/Istanbul)"),
                        "local time: {ctx}"
                    );
                    let (method, ics) = m.ics.as_ref().expect("an .ics");
                    let want = if *kind == "session.cancelled" || *kind == "signup.lost" {
                        "CANCEL"
                    } else {
                        "REQUEST"
                    };
                    assert_eq!(method, want, "{ctx}");
                    let cal: icalendar::Calendar =
                        ics.parse().unwrap_or_else(|e| panic!("{ctx}: {e}"));
                    assert_eq!(cal.components.len(), 2, "{ctx}");
                    assert!(ics.contains(&format!("METHOD:{want}")), "{ics}");
                    assert!(ics.contains("SEQUENCE:2"), "{ics}");
                    assert!(
                        ics.contains("DTSTART;TZID=Europe/Istanbul:20301126T090000"),
                        "{ics}"
                    );
                    let uid = format!(
                        "UID:{}@forum.example.org",
                        convene_domain::schedule::export_uuid("opening-2030")
                    );
                    assert!(ics.contains(&uid), "{ics}");
                } else {
                    assert!(m.ics.is_none(), "{ctx}");
                }
                if *kind == "session.changed" {
                    assert!(
                        m.text.contains("08:00–09:00") && m.text.contains("Hall B"),
                        "previous: {ctx}"
                    );
                }
                if *kind == "signature.confirm" {
                    assert!(
                        m.text.contains("https://forum.example.org/s/tok_confirm"),
                        "{ctx}"
                    );
                    assert!(
                        m.html.contains(
                            "href=\"https:&#x2f;&#x2f;forum.example.org&#x2f;s&#x2f;tok_confirm\""
                        ),
                        "{ctx}"
                    );
                    assert!(m.text.contains("Gaziantep Declaration"), "{ctx}");
                }
                if kind.starts_with("registration.")
                    && !matches!(*kind, "registration.rejected" | "registration.cancelled")
                {
                    assert!(
                        m.text.contains("https://forum.example.org/r/tok_manage"),
                        "{ctx}"
                    );
                }
                if matches!(*kind, "registration.confirmed" | "registration.promoted") {
                    assert!(m.text.contains("K7Q2-9M"), "{ctx}");
                }
                if *kind == "reminder.forum" {
                    assert!(
                        m.text.contains("2030") && m.text.contains("Shelton Hotel"),
                        "{ctx}"
                    );
                }
            }
        }
    }

    #[test]
    fn language_fallback_and_localized_dates() {
        let r = renderer();
        let m = r.render(&row("reminder.forum", "de-CH")).unwrap();
        assert_eq!(m.language, "en");
        assert!(
            m.subject.contains("Tuesday 26 November 2030"),
            "{}",
            m.subject
        );
        let m = r.render(&row("reminder.forum", "fr-CA")).unwrap();
        assert!(
            m.subject.contains("mardi 26 novembre 2030"),
            "{}",
            m.subject
        );
        let m = r.render(&row("reminder.forum", "TR")).unwrap();
        assert!(m.subject.contains("Kasım"), "{}", m.subject);
        assert!(r.render(&row("no.such.kind", "en")).is_err());
    }

    #[test]
    fn text_parts_are_7bit_when_ascii_and_base64_otherwise() {
        let b = text_body("Dear Ada,\nsee you\r\nsoon.\n");
        assert_eq!(b.encoding(), ContentTransferEncoding::SevenBit);
        assert_eq!(b.as_ref(), b"Dear Ada,\r\nsee you\r\nsoon.\r\n");
        let long = "x".repeat(999);
        assert_eq!(text_body(&long).encoding(), ContentTransferEncoding::Base64);
        assert_eq!(
            text_body("a\rb").encoding(),
            ContentTransferEncoding::Base64
        );
        let b = text_body("Chère Ayşe,\nà bientôt");
        assert_eq!(b.encoding(), ContentTransferEncoding::Base64);
        let encoded = String::from_utf8(b.into_vec()).unwrap();
        assert!(encoded.split("\r\n").all(|l| l.len() <= 76), "{encoded}");
        // Decoding is checked on whole messages below (every_part_decodes_to_the_rendered_text).
    }

    #[test]
    fn a_line_break_in_a_name_cannot_break_the_headers() {
        let r = renderer();
        let row = Notification {
            recipient_name: "Eve\r\nBcc: victim@example.org".into(),
            ..row("session.changed", "en")
        };
        let m = r.render(&row).unwrap();
        let bytes = r.message(&row, &m).unwrap().formatted();
        let p = mail_parser::MessageParser::default().parse(&bytes).unwrap();
        assert!(p.bcc().is_none(), "no header was injected");
        let to = p.to().unwrap().first().unwrap();
        assert_eq!(to.name(), Some("Eve  Bcc: victim@example.org"));
        assert_eq!(to.address(), Some(row.recipient_email.as_str()));
        let ics = String::from_utf8_lossy(p.attachments().next().unwrap().contents()).into_owned();
        assert!(
            ics.contains("CN=Eve^nBcc: victim@example.org")
                || ics.contains("CN=\"Eve^nBcc: victim@example.org\""),
            "{ics}"
        );
    }

    #[test]
    fn every_part_decodes_to_the_rendered_text() {
        let r = renderer();
        for lang in ["en", "fr", "ar", "tr"] {
            let row = row("session.changed", lang);
            let m = r.render(&row).unwrap();
            let bytes = r.message(&row, &m).unwrap().formatted();
            let p = mail_parser::MessageParser::default().parse(&bytes).unwrap();
            let crlf = |s: &str| s.replace("\r\n", "\n").replace('\n', "\r\n");
            assert_eq!(p.body_text(0).unwrap().as_ref(), crlf(&m.text), "{lang}");
            assert_eq!(p.body_html(0).unwrap().as_ref(), crlf(&m.html), "{lang}");
            let ics = p.attachments().next().unwrap().contents();
            assert_eq!(ics, crlf(&m.ics.as_ref().unwrap().1).as_bytes(), "{lang}");
            // Headers name each recipient once; the envelope was given, not parsed back.
            let env = r.message(&row, &m).unwrap().envelope().clone();
            assert_eq!(env.to()[0].to_string(), row.recipient_email);
        }
    }

    #[test]
    fn message_has_stable_id_parts_and_attachment() {
        let r = renderer();
        let row = row("session.changed", "ar");
        let m = r.render(&row).unwrap();
        let a = r.message(&row, &m).unwrap().formatted();
        let b = r.message(&row, &m).unwrap().formatted();
        let pa = mail_parser::MessageParser::default().parse(&a).unwrap();
        let pb = mail_parser::MessageParser::default().parse(&b).unwrap();
        assert_eq!(
            pa.message_id(),
            Some("0f8e2b7a-3c1d-4e5f-8a9b-1c2d3e4f5a6b@forum.example.org")
        );
        assert_eq!(
            pa.message_id(),
            pb.message_id(),
            "the same Message-ID on every attempt"
        );
        assert_eq!(pa.subject(), Some(m.subject.as_str()));
        assert!(pa.body_text(0).unwrap().contains("عزيزي"));
        assert!(pa.body_html(0).unwrap().contains("dir=\"rtl\""));
        let att = pa
            .attachments()
            .find(|p| p.attachment_name() == Some("invite.ics"))
            .unwrap();
        assert!(String::from_utf8_lossy(att.contents()).contains("METHOD:REQUEST"));
        let bad = Notification {
            recipient_email: "not an address".into(),
            ..row
        };
        assert!(r.message(&bad, &m).is_err());
    }
}
