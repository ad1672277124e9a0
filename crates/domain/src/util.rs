//! Small shared helpers: optional-nullable fields, cursors, time zones, ETags.

use base64::Engine;
use chrono::{DateTime, NaiveDate, NaiveTime, TimeZone, Utc};
use chrono_tz::Tz;
use serde::{de::DeserializeOwned, Deserialize, Deserializer, Serialize};

use crate::error::{Error, FieldError, Result};

/// Deserializes a PATCH field that may be absent (`None`), `null` (`Some(None)`) or a
/// value (`Some(Some(v))`). Use with `#[serde(default, deserialize_with = "…")]`.
pub fn double_option<'de, T, D>(de: D) -> std::result::Result<Option<Option<T>>, D::Error>
where
    T: Deserialize<'de>,
    D: Deserializer<'de>,
{
    Option::<T>::deserialize(de).map(Some)
}

/// The strong ETag of a row version, e.g. `"7"` (RFC 9110 §8.8.3).
pub fn etag(version: i32) -> String {
    format!("\"{version}\"")
}

/// Checks an `If-Match` header value against the current version: `*` matches anything,
/// otherwise one of the comma-separated entity tags must equal [`etag`]`(version)`.
/// Errors: [`Error::PreconditionFailed`] naming the current ETag.
pub fn check_if_match(if_match: Option<&str>, version: i32) -> Result<()> {
    let Some(h) = if_match else { return Ok(()) };
    let current = etag(version);
    let ok = h
        .split(',')
        .map(str::trim)
        .any(|t| t == "*" || t == current || t.strip_prefix("W/") == Some(current.as_str()));
    if ok {
        Ok(())
    } else {
        Err(Error::PreconditionFailed {
            current_etag: current,
        })
    }
}

/// An opaque pagination cursor: URL-safe base64 of the JSON of the sort key.
pub fn encode_cursor<T: Serialize>(key: &T) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(serde_json::to_vec(key).expect("cursor keys serialize"))
}

/// Decodes a cursor made by [`encode_cursor`]; [`Error::Validation`] on `cursor` otherwise.
pub fn decode_cursor<T: DeserializeOwned>(cursor: &str) -> Result<T> {
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(cursor)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .ok_or_else(|| Error::field("cursor", "is not a cursor returned by this endpoint"))
}

/// A page of a list: the items and, when more follow, the cursor for the next page.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Page<T> {
    /// The items of this page, in the list's order.
    pub items: Vec<T>,
    /// Pass as `cursor` to get the next page; absent on the last page.
    pub next_cursor: Option<String>,
}

impl<T> Page<T> {
    /// A list short enough to come whole (a forum's rooms, speakers, declarations, a
    /// declaration's versions, a registration's sign-ups): every item in one page, no
    /// `next_cursor`. Same shape as the paginated lists, so that clients read all alike.
    pub fn whole(items: Vec<T>) -> Self {
        Page {
            items,
            next_cursor: None,
        }
    }
}

/// One page of a keyset (seek) pagination: the rows of `sel` after the key that `cursor`
/// names (an opaque [`encode_cursor`] string from the previous page), ascending by
/// `column`, at most `limit` of them, and the cursor of the next page (`None` on the last
/// one). `key` reads a row's value of `column`, which must be unique within `sel`.
/// Errors: 422 `cursor` when it does not decode to a key; database errors.
pub async fn keyset_page<E, C, K>(
    db: &impl sea_orm::ConnectionTrait,
    sel: sea_orm::Select<E>,
    column: C,
    cursor: Option<&str>,
    limit: u64,
    key: impl Fn(&E::Model) -> K,
) -> Result<(Vec<E::Model>, Option<String>)>
where
    E: sea_orm::EntityTrait,
    C: sea_orm::ColumnTrait,
    K: Serialize + DeserializeOwned + Into<sea_orm::Value>,
{
    use sea_orm::{QueryFilter, QueryOrder, QuerySelect};
    let mut sel = sel;
    if let Some(c) = cursor {
        let after: K = decode_cursor(c)?;
        sel = sel.filter(column.gt(after));
    }
    let mut rows = sel.order_by_asc(column).limit(limit + 1).all(db).await?;
    let next_cursor = if rows.len() as u64 > limit {
        rows.truncate(limit as usize);
        rows.last().map(|r| encode_cursor(&key(r)))
    } else {
        None
    };
    Ok((rows, next_cursor))
}

/// Default and maximum page sizes.
pub const DEFAULT_LIMIT: u64 = 50;
/// The largest `limit` accepted.
pub const MAX_LIMIT: u64 = 500;

/// Checks a requested page size: 1 ..= [`MAX_LIMIT`], default [`DEFAULT_LIMIT`].
pub fn page_limit(limit: Option<u64>) -> Result<u64> {
    match limit {
        None => Ok(DEFAULT_LIMIT),
        Some(n) if (1..=MAX_LIMIT).contains(&n) => Ok(n),
        Some(_) => Err(Error::field(
            "limit",
            format!("must be between 1 and {MAX_LIMIT}"),
        )),
    }
}

/// Parses an IANA time zone name (`Europe/Zurich`); [`Error::Validation`] on `field`.
pub fn parse_tz(field: &str, name: &str) -> Result<Tz> {
    name.parse::<Tz>()
        .map_err(|_| Error::field(field, format!("`{name}` is not an IANA time zone name")))
}

/// The first instant at or after local `date` + `time` in `tz`. In a DST gap (the local
/// time does not exist) it is the instant the clocks jump to; in a fold, the earlier one.
pub fn local_to_utc(tz: Tz, date: NaiveDate, time: NaiveTime) -> DateTime<Utc> {
    let mut naive = date.and_time(time);
    for _ in 0..(4 * 60) {
        if let Some(dt) = tz.from_local_datetime(&naive).earliest() {
            return dt.with_timezone(&Utc);
        }
        naive += chrono::Duration::minutes(1);
    }
    // No zone has a gap longer than a few hours; fall back to reading it as UTC.
    Utc.from_utc_datetime(&date.and_time(time))
}

/// The programme day an instant belongs to: the local date in `tz` of `t − day_change`
/// (with day change 04:00, 01:00 on Dec 28 belongs to Dec 27).
pub fn programme_day(t: DateTime<Utc>, tz: Tz, day_change: NaiveTime) -> NaiveDate {
    let shift = day_change - NaiveTime::MIN;
    (t.with_timezone(&tz).naive_local() - shift).date()
}

/// The UTC half-open range `[start, end)` of a programme day (see [`programme_day`]).
pub fn programme_day_range(
    day: NaiveDate,
    tz: Tz,
    day_change: NaiveTime,
) -> (DateTime<Utc>, DateTime<Utc>) {
    (
        local_to_utc(tz, day, day_change),
        local_to_utc(tz, day + chrono::Duration::days(1), day_change),
    )
}

/// The complaint about a one-line text field (a person's name, an organization, a city)
/// that holds a control character (Unicode `Cc`: line breaks, tab, NUL, …), or `None`.
/// Such a value is refused rather than cleaned: it is never what a person meant, and a
/// name goes into e-mail headers (`To:` display names, RFC 5322 §3.4) and calendar
/// parameters (`ATTENDEE;CN=`, RFC 5545 §3.2), where a line break would end the line.
pub fn single_line(field: &str, value: &str) -> Option<FieldError> {
    value.chars().any(char::is_control).then(|| {
        FieldError::new(
            field,
            "must be one line: no line breaks, tabs or other control characters",
        )
    })
}

/// A date-time as a client sends it: RFC 3339 with an offset (`2027-03-27T16:00:00+01:00`,
/// `…Z`), or a local date-time without one (`2027-03-27T16:00` or `…T16:00:00`), which is
/// read in the forum's time zone, as pretalx does ([`When::resolve`]). Anything else is
/// refused with a message that shows both forms, never a parser's words.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum When {
    /// An instant with its offset.
    At(DateTime<chrono::FixedOffset>),
    /// A wall-clock time in the forum's zone.
    Local(chrono::NaiveDateTime),
}

/// How a [`When`] that is neither form is refused.
pub const WHEN_EXPECTED: &str = "must be a date-time: RFC 3339 with an offset \
(2027-03-27T16:00:00+01:00) or a local time without one (2027-03-27T16:00), \
read in the forum's time zone";

impl When {
    /// Parses either form ([`WHEN_EXPECTED`]).
    pub fn parse(s: &str) -> Option<When> {
        let s = s.trim();
        if let Ok(t) = DateTime::parse_from_rfc3339(s) {
            return Some(When::At(t));
        }
        [
            "%Y-%m-%dT%H:%M:%S",
            "%Y-%m-%dT%H:%M",
            "%Y-%m-%d %H:%M:%S",
            "%Y-%m-%d %H:%M",
        ]
        .iter()
        .find_map(|f| chrono::NaiveDateTime::parse_from_str(s, f).ok())
        .map(When::Local)
    }

    /// The instant in UTC, reading a local time in `tz`. Errors (for `field`): a local
    /// time that does not exist in `tz` (skipped when the clocks go forward) or that exists
    /// twice (when they go back) — the latter asks for the offset meant, naming both.
    pub fn resolve(self, field: &str, tz: Tz) -> std::result::Result<DateTime<Utc>, FieldError> {
        match self {
            When::At(t) => Ok(t.with_timezone(&Utc)),
            When::Local(n) => match tz.from_local_datetime(&n) {
                chrono::LocalResult::Single(t) => Ok(t.with_timezone(&Utc)),
                chrono::LocalResult::None => Err(FieldError::new(
                    field,
                    format!(
                        "{} does not exist in {} (the clocks skip it); choose another time or send an offset",
                        n.format("%Y-%m-%dT%H:%M:%S"),
                        tz.name()
                    ),
                )),
                chrono::LocalResult::Ambiguous(a, b) => Err(FieldError::new(
                    field,
                    format!(
                        "{} happens twice in {} (the clocks go back); send it with the offset you mean: {} or {}",
                        n.format("%Y-%m-%dT%H:%M:%S"),
                        tz.name(),
                        a.fixed_offset().to_rfc3339(),
                        b.fixed_offset().to_rfc3339()
                    ),
                )),
            },
        }
    }
}

impl<'de> Deserialize<'de> for When {
    fn deserialize<D: Deserializer<'de>>(de: D) -> std::result::Result<Self, D::Error> {
        let s = String::deserialize(de)?;
        When::parse(&s).ok_or_else(|| serde::de::Error::custom(WHEN_EXPECTED))
    }
}

impl Serialize for When {
    fn serialize<S: serde::Serializer>(&self, ser: S) -> std::result::Result<S::Ok, S::Error> {
        match self {
            When::At(t) => ser.serialize_str(&t.to_rfc3339()),
            When::Local(n) => ser.serialize_str(&n.format("%Y-%m-%dT%H:%M:%S").to_string()),
        }
    }
}

/// Serializes a local date-time as RFC 3339 with its offset always written out
/// (`2027-01-20T10:00:00+00:00`): `Z` is for UTC, and a local time at offset zero (Lisbon,
/// London in winter) is not UTC. Use with `#[serde(serialize_with = "…")]`.
pub fn with_offset<S: serde::Serializer>(
    t: &DateTime<chrono::FixedOffset>,
    ser: S,
) -> std::result::Result<S::Ok, S::Error> {
    ser.serialize_str(&t.format("%Y-%m-%dT%H:%M:%S%:z").to_string())
}

/// Applies a JSON Merge Patch (RFC 7396 §2) to `target`: a member absent from `patch`
/// stays, a member set to `null` is removed, an object merges recursively, anything else
/// replaces. Every PATCH body of the API follows these semantics.
pub fn merge_patch(target: &mut serde_json::Value, patch: &serde_json::Value) {
    use serde_json::Value;
    let Value::Object(p) = patch else {
        *target = patch.clone();
        return;
    };
    if !target.is_object() {
        *target = Value::Object(Default::default());
    }
    let t = target.as_object_mut().expect("an object");
    for (k, v) in p {
        if v.is_null() {
            t.remove(k);
        } else {
            merge_patch(t.entry(k.clone()).or_insert(Value::Null), v);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn day_after_midnight_belongs_to_previous_programme_day() {
        let tz: Tz = "Europe/Berlin".parse().unwrap();
        let at = DateTime::parse_from_rfc3339("2014-12-28T01:00:00+01:00")
            .unwrap()
            .with_timezone(&Utc);
        let four = NaiveTime::from_hms_opt(4, 0, 0).unwrap();
        assert_eq!(
            programme_day(at, tz, four),
            NaiveDate::from_ymd_opt(2014, 12, 27).unwrap()
        );
        assert_eq!(
            programme_day(at, tz, NaiveTime::MIN),
            NaiveDate::from_ymd_opt(2014, 12, 28).unwrap()
        );
    }

    #[test]
    fn day_range_spans_dst_change() {
        let tz: Tz = "Europe/Zurich".parse().unwrap();
        let (s, e) = programme_day_range(
            NaiveDate::from_ymd_opt(2019, 10, 27).unwrap(),
            tz,
            NaiveTime::MIN,
        );
        assert_eq!((e - s).num_hours(), 25);
        let (s, e) = programme_day_range(
            NaiveDate::from_ymd_opt(2019, 3, 31).unwrap(),
            tz,
            NaiveTime::MIN,
        );
        assert_eq!((e - s).num_hours(), 23);
    }

    #[test]
    fn gap_moves_forward() {
        let tz: Tz = "Europe/Zurich".parse().unwrap();
        let at = local_to_utc(
            tz,
            NaiveDate::from_ymd_opt(2019, 3, 31).unwrap(),
            NaiveTime::from_hms_opt(2, 30, 0).unwrap(),
        );
        assert_eq!(at.to_rfc3339(), "2019-03-31T01:00:00+00:00");
    }

    #[test]
    fn if_match_rules() {
        assert!(check_if_match(None, 3).is_ok());
        assert!(check_if_match(Some("\"3\""), 3).is_ok());
        assert!(check_if_match(Some("\"1\", \"3\""), 3).is_ok());
        assert!(check_if_match(Some("*"), 3).is_ok());
        assert!(matches!(
            check_if_match(Some("\"2\""), 3),
            Err(Error::PreconditionFailed { .. })
        ));
    }

    #[test]
    fn one_line_text_refuses_control_characters() {
        assert_eq!(single_line("name", "Ayşe Çelik, Dr. — عائشة 🙂"), None);
        for bad in [
            "Eve\r\nBcc: x@example.org",
            "a\nb",
            "a\tb",
            "a\0b",
            "a\u{85}b",
        ] {
            let e = single_line("name", bad).expect(bad);
            assert_eq!(e.field, "name");
        }
    }
}
