//! Languages of the pages: the five catalogs (Fluent, `locales/<lang>/pages.ftl`, compiled
//! into the binary by `fluent-templates`), choosing the reader's language, and dates and
//! times written in it.
//!
//! Choice (DESIGN.md, "Public pages"): `?lang=` first, then the `Accept-Language` header
//! (RFC 9110 §12.5.4, matched by `fluent-langneg`, Project Fluent's negotiation), then the
//! forum's first language, then English. A key missing from a catalog falls back to the
//! English one (a test checks that no key is missing).

use std::borrow::Cow;
use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, Offset, TimeZone};
use chrono_tz::Tz;
use fluent_templates::fluent_bundle::FluentValue;
use fluent_templates::{LanguageIdentifier, Loader};

fluent_templates::static_loader! {
    static LOCALES = {
        locales: "./src/pages/locales",
        fallback_language: "en",
        // No Unicode isolation marks around arguments: the templates isolate what needs it
        // (`<bdi>`, `dir` on the text), and the marks would end up inside attributes.
        customise: |bundle| bundle.set_use_isolating(false),
    };
}

/// One language the pages speak.
#[derive(Debug)]
pub struct Lang {
    /// BCP 47 primary tag (`en`, `ar` …), as in `?lang=` and `<html lang>`.
    pub code: &'static str,
    /// The language's name in itself, for the switcher.
    pub name: &'static str,
    /// Written right to left (`<html dir="rtl">`).
    pub rtl: bool,
    /// chrono's locale for day and month names (the same as the e-mails use).
    pub locale: chrono::Locale,
    id: &'static str,
}

/// The languages, English first (the fallback).
pub static LANGS: [Lang; 5] = [
    Lang {
        code: "en",
        name: "English",
        rtl: false,
        locale: chrono::Locale::en_GB,
        id: "en",
    },
    Lang {
        code: "fr",
        name: "Français",
        rtl: false,
        locale: chrono::Locale::fr_FR,
        id: "fr",
    },
    Lang {
        code: "es",
        name: "Español",
        rtl: false,
        locale: chrono::Locale::es_ES,
        id: "es",
    },
    Lang {
        code: "ar",
        name: "العربية",
        rtl: true,
        locale: chrono::Locale::ar_EG,
        id: "ar",
    },
    Lang {
        code: "tr",
        name: "Türkçe",
        rtl: false,
        locale: chrono::Locale::tr_TR,
        id: "tr",
    },
];

impl Lang {
    /// `rtl` or `ltr`.
    pub fn dir(&self) -> &'static str {
        if self.rtl {
            "rtl"
        } else {
            "ltr"
        }
    }

    fn langid(&self) -> LanguageIdentifier {
        self.id.parse().expect("static language tag")
    }

    /// The catalog's text for `key` with `args` (Fluent placeables `{ $name }`); the English
    /// text when this catalog lacks the key; the key itself when no catalog has it.
    pub fn t(&self, key: &str, args: &[(&str, FluentValue<'static>)]) -> String {
        let id = self.langid();
        let out = if args.is_empty() {
            LOCALES.try_lookup(&id, key)
        } else {
            let map: HashMap<Cow<'static, str>, FluentValue<'static>> = args
                .iter()
                .map(|(k, v)| (Cow::Owned((*k).to_owned()), v.clone()))
                .collect();
            LOCALES.try_lookup_with_args(&id, key, &map)
        };
        out.unwrap_or_else(|| key.to_owned())
    }

    /// Whether this catalog (not the fallback) has `key`.
    pub fn has(&self, key: &str) -> bool {
        // Every variable the catalogs use, so that a message with placeables formats.
        let args: HashMap<&str, FluentValue> = [
            "when", "zone", "count", "seq", "reason", "position", "code", "name", "title", "other",
        ]
        .into_iter()
        .map(|k| (k, FluentValue::from(1)))
        .collect();
        LOCALES
            .lookup_single_language(&self.langid(), key, Some(&args))
            .is_ok()
    }

    /// A local date, e.g. `Tuesday 26 November 2019` / `26 Kasım 2019 Salı`.
    pub fn date(&self, d: NaiveDate) -> String {
        d.format_localized("%A %-d %B %Y", self.locale).to_string()
    }

    /// A short local date for the day navigation, e.g. `Tue 26 Nov`.
    pub fn day_short(&self, d: NaiveDate) -> String {
        d.format_localized("%a %-d %b", self.locale).to_string()
    }

    /// `HH:MM` of an instant in `tz`.
    pub fn time(&self, t: DateTime<Tz>) -> String {
        t.format("%H:%M").to_string()
    }

    /// A span in the forum's zone with the zone named and its offset written:
    /// `Tuesday 26 November 2019, 09:00–10:30 (Europe/Istanbul, UTC+03:00)`; a span over
    /// midnight writes both dates.
    pub fn span(&self, a: DateTime<Tz>, b: DateTime<Tz>) -> String {
        let end = if a.date_naive() == b.date_naive() {
            self.time(b)
        } else {
            format!("{}, {}", self.date(b.date_naive()), self.time(b))
        };
        format!(
            "{}, {}–{} ({})",
            self.date(a.date_naive()),
            self.time(a),
            end,
            zone_label(a)
        )
    }

    /// An instant in `tz` as date and time with the zone, e.g. for a deadline.
    pub fn instant(&self, t: DateTime<Tz>) -> String {
        format!(
            "{}, {} ({})",
            self.date(t.date_naive()),
            self.time(t),
            zone_label(t)
        )
    }

    /// The forum's dates: one day, or first – last.
    pub fn date_range(&self, first: NaiveDate, last: NaiveDate) -> String {
        if first == last {
            self.date(first)
        } else {
            format!("{} – {}", self.date(first), self.date(last))
        }
    }
}

/// A domain field error's message (English, as the API sends it) in `lang`: the messages
/// of the rules a person meets on the forms have catalog keys (`field-*`); any other is
/// shown as the domain wrote it. The page adds nothing to the rule, it only words it.
pub fn field_message(lang: &Lang, message: &str) -> String {
    let m = message.trim();
    let key = match m {
        "is required" => "field-required",
        "is not an e-mail address" => "field-email",
        "must be true or false" => "field-yes-no",
        _ if m.starts_with("must be one line") => "field-one-line",
        _ if m.contains("is not an ISO 3166-1 alpha-2 code") => "field-country",
        _ if m.starts_with("must be one of") => "field-choice",
        _ if m.starts_with("must be a list of distinct choices") => "field-choices",
        _ if m.starts_with("must be text of at most") => {
            return lang.t("field-too-long", &[("count", 2000.into())]);
        }
        _ if m.starts_with("at most ") && m.ends_with(" characters") => {
            let n: i64 = m["at most ".len()..m.len() - " characters".len()]
                .trim()
                .parse()
                .unwrap_or(0);
            return lang.t("field-too-long", &[("count", n.into())]);
        }
        _ => return message.to_owned(),
    };
    lang.t(key, &[])
}

/// `Europe/Istanbul, UTC+03:00`: the zone's IANA name and its offset at `t` (written out,
/// never `Z`, as the API does).
pub fn zone_label(t: DateTime<Tz>) -> String {
    let off = t.offset().fix();
    format!(
        "{}, UTC{}",
        t.timezone().name(),
        chrono::FixedOffset::east_opt(off.local_minus_utc())
            .map(|o| o.to_string())
            .unwrap_or_else(|| "+00:00".into())
    )
}

/// The zone of a forum named with its offset at noon of `day` (for page headers).
pub fn zone_on(tz: Tz, day: NaiveDate) -> String {
    let noon = day.and_hms_opt(12, 0, 0).expect("valid time");
    match tz.from_local_datetime(&noon).earliest() {
        Some(t) => zone_label(t),
        None => tz.name().to_owned(),
    }
}

/// An `Accept-Language` value with its ranges ordered by `q` (highest first, stable; `q=0`
/// dropped), without the weights: what `fluent_langneg`'s parser expects.
fn by_quality(h: &str) -> String {
    let mut ranges: Vec<(f32, &str)> = h
        .split(',')
        .filter_map(|part| {
            let mut it = part.split(';');
            let tag = it.next()?.trim();
            let q = it
                .filter_map(|p| p.trim().strip_prefix("q="))
                .find_map(|q| q.trim().parse::<f32>().ok())
                .unwrap_or(1.0);
            (!tag.is_empty() && q > 0.0).then_some((q, tag))
        })
        .collect();
    ranges.sort_by(|a, b| b.0.partial_cmp(&a.0).unwrap_or(std::cmp::Ordering::Equal));
    ranges.iter().map(|r| r.1).collect::<Vec<_>>().join(",")
}

/// The language by its code, if the pages speak it (`fr`, `fr-CA`, `FR` → French).
pub fn by_code(code: &str) -> Option<&'static Lang> {
    let primary = code
        .split(['-', '_'])
        .next()
        .unwrap_or("")
        .to_ascii_lowercase();
    LANGS.iter().find(|l| l.code == primary)
}

/// Chooses the language: `query` (`?lang=`), then `accept_language`, then
/// `forum_default`, then English. Returns it and whether it came from the query (then the
/// page's links carry `?lang=` on).
pub fn negotiate(
    query: Option<&str>,
    accept_language: Option<&str>,
    forum_default: Option<&str>,
) -> (&'static Lang, bool) {
    if let Some(l) = query.and_then(by_code) {
        return (l, true);
    }
    if let Some(h) = accept_language {
        let requested = fluent_langneg::accepted_languages::parse(&by_quality(h));
        let available: Vec<LanguageIdentifier> = LANGS.iter().map(Lang::langid).collect();
        let chosen = fluent_langneg::negotiate_languages(
            &requested,
            &available,
            None,
            fluent_langneg::NegotiationStrategy::Filtering,
        );
        if let Some(l) = chosen.first().and_then(|id| by_code(id.language.as_str())) {
            return (l, false);
        }
    }
    if let Some(l) = forum_default.and_then(by_code) {
        return (l, false);
    }
    (&LANGS[0], false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_then_accept_language_then_forum_then_english() {
        assert_eq!(negotiate(Some("ar"), Some("tr"), Some("fr")).0.code, "ar");
        assert!(negotiate(Some("ar"), None, None).1);
        assert_eq!(negotiate(Some("xx"), Some("tr"), Some("fr")).0.code, "tr");
        assert_eq!(
            negotiate(None, Some("de-DE,de;q=0.9,es;q=0.8,en;q=0.5"), None)
                .0
                .code,
            "es"
        );
        assert_eq!(negotiate(None, Some("en;q=0.2, fr-CA"), None).0.code, "fr");
        assert_eq!(negotiate(None, Some("de"), Some("tr")).0.code, "tr");
        assert_eq!(negotiate(None, None, Some("ja")).0.code, "en");
        assert!(!negotiate(None, Some("tr"), None).1);
    }

    #[test]
    fn dates_in_the_readers_language_with_zone_and_offset() {
        let tz: Tz = "Europe/Istanbul".parse().unwrap();
        let a = tz.with_ymd_and_hms(2019, 11, 26, 9, 0, 0).unwrap();
        let b = tz.with_ymd_and_hms(2019, 11, 26, 10, 30, 0).unwrap();
        let tr = by_code("tr").unwrap();
        assert_eq!(
            tr.span(a, b),
            "Salı 26 Kasım 2019, 09:00–10:30 (Europe/Istanbul, UTC+03:00)"
        );
        assert!(by_code("fr")
            .unwrap()
            .span(a, b)
            .starts_with("mardi 26 novembre 2019"));
        assert!(by_code("es")
            .unwrap()
            .date(a.date_naive())
            .contains("noviembre"));
        assert!(by_code("ar")
            .unwrap()
            .date(a.date_naive())
            .contains("نوفمبر"));
        assert_eq!(zone_on(chrono_tz::UTC, a.date_naive()), "UTC, UTC+00:00");
    }

    /// The domain's messages on the registration form are worded in every language (a
    /// changed wording in the domain fails here instead of showing English on an Arabic page).
    #[test]
    fn the_forms_field_messages_are_translated() {
        use convene_domain::registrations::{validate_answers, Question, QuestionKind};
        let q = |id: &str, kind, options: &[&str]| Question {
            id: id.into(),
            label: id.into(),
            kind,
            options: options.iter().map(|o| o.to_string()).collect(),
            required: true,
        };
        let questions = [
            q("a", QuestionKind::Text, &[]),
            q("b", QuestionKind::SingleChoice, &["x"]),
            q("c", QuestionKind::MultipleChoice, &["x"]),
            q("d", QuestionKind::YesNo, &[]),
        ];
        let mut answers = std::collections::BTreeMap::new();
        let mut msgs: Vec<String> = validate_answers(&questions, &answers)
            .into_iter()
            .map(|e| e.message)
            .collect();
        answers.insert("a".into(), serde_json::json!("x".repeat(2001)));
        answers.insert("b".into(), serde_json::json!("y"));
        answers.insert("c".into(), serde_json::json!(["y"]));
        answers.insert("d".into(), serde_json::json!("y"));
        msgs.extend(
            validate_answers(&questions, &answers)
                .into_iter()
                .map(|e| e.message),
        );
        let email = convene_domain::accounts::normalise_email("email", "nope");
        if let Err(convene_domain::Error::Validation(e)) = email {
            msgs.push(e[0].message.clone());
        }
        msgs.push(
            convene_domain::util::single_line("name", "a\nb")
                .unwrap()
                .message,
        );
        msgs.push("at most 200 characters".into());
        msgs.push("`ZZ` is not an ISO 3166-1 alpha-2 code".into());
        assert!(msgs.len() >= 10, "{msgs:?}");
        for m in &msgs {
            for l in &LANGS {
                let out = field_message(l, m);
                assert_ne!(&out, m, "{}: {m:?} has no catalog wording", l.code);
            }
        }
        assert_eq!(
            field_message(&LANGS[0], "at most 200 characters"),
            "At most 200 characters."
        );
    }

    #[test]
    fn arabic_is_right_to_left_and_catalogs_answer() {
        assert_eq!(by_code("ar").unwrap().dir(), "rtl");
        assert_eq!(by_code("en").unwrap().dir(), "ltr");
        assert_eq!(by_code("en").unwrap().t("nav-programme", &[]), "Programme");
        assert_eq!(by_code("tr").unwrap().t("nav-programme", &[]), "Program");
        assert_eq!(by_code("en").unwrap().t("no-such-key", &[]), "no-such-key");
    }
}
