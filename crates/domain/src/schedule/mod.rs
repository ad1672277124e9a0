//! Schedule file formats: import of frab schedule XML and c3voc schedule JSON (v1 as
//! written by frab and pretalx, and v2 as written by the hub), export of c3voc JSON v1,
//! frab XML and RFC 5545 iCalendar.
//!
//! Sources of the formats:
//! - c3voc schedule JSON v1: `schedule.schema.json` (<https://c3voc.de/schedule/schema.json>);
//! - c3voc schedule JSON v2: `schedule2.schema.json`;
//! - frab XML: `schedule.xml.xsd` (<https://c3voc.de/schedule/schema.xsd>);
//! - iCalendar: RFC 5545 (VCALENDAR §3.4, VEVENT §3.6.1, VTIMEZONE §3.6.5).
//!
//! Importers are lenient about cosmetics (slug and acronym patterns, unknown or missing
//! optional fields, `null` versus `""`) and strict about what identifies and places an
//! event (guid, title, start instant, duration, room, integer frab ids). Exporters write
//! files that validate against the schemas above.

mod c3voc_json;
mod days;
pub mod duration;
mod frab_xml;
mod ical;
pub mod limits;
mod model;
pub mod store;
mod vtimezone;

pub use c3voc_json::{export_c3voc_json, moved_ahead, parse_c3voc_json, role_from_v2};
pub use days::programme_day;
pub use frab_xml::{export_frab_xml, parse_frab_xml};
pub use ical::{export_ical, IcalOptions};
pub use model::*;
pub use vtimezone::{format_offset, transitions, vtimezone_lines, vtimezone_years, TzTransition};

use chrono::{DateTime, NaiveDate, NaiveDateTime, NaiveTime, Timelike, Utc};

/// The fixed namespace of the UUID v5 that [`export_uuid`] derives from guids that are
/// not UUIDs: UUID v5 of the name `convene.schedule.guid` in the URL namespace
/// (`6ba7b811-9dad-11d1-80b4-00c04fd430c8`), i.e. `Uuid::new_v5(&Uuid::NAMESPACE_URL,
/// b"convene.schedule.guid")`. It never changes, so derived guids are stable.
pub fn export_uuid_namespace() -> uuid::Uuid {
    uuid::Uuid::new_v5(&uuid::Uuid::NAMESPACE_URL, b"convene.schedule.guid")
}

/// The UUID under which an event (or room, or person) with source guid `guid` is exported.
///
/// If `guid` (trimmed) parses as a UUID (any of the textual forms the `uuid` crate
/// accepts), that UUID is returned. Otherwise it is the UUID v5 of the guid string's
/// UTF-8 bytes in the namespace [`export_uuid_namespace`]. Deterministic: the same input
/// always gives the same UUID, across runs and machines.
pub fn export_uuid(guid: &str) -> uuid::Uuid {
    match uuid::Uuid::parse_str(guid.trim()) {
        Ok(u) => u,
        Err(_) => uuid::Uuid::new_v5(&export_uuid_namespace(), guid.as_bytes()),
    }
}

/// The integer `id` under which an event is exported (frab's event id, schema minimum 1).
///
/// `frab_id` when it is `Some` and ≥ 1; otherwise a deterministic value in
/// `1..=2^31-1` derived from the first four bytes (big-endian) of
/// [`export_uuid`]`(guid)` with the top bit cleared (0 maps to 1).
pub fn export_event_id(e: &EventSpec) -> i64 {
    match e.frab_id {
        Some(id) if id >= 1 => id,
        _ => derived_id(&e.guid),
    }
}

pub(crate) fn derived_id(guid: &str) -> i64 {
    let b = export_uuid(guid).into_bytes();
    let v = u32::from_be_bytes([b[0], b[1], b[2], b[3]]) & 0x7fff_ffff;
    i64::from(v.max(1))
}

/// Detects the format of a schedule file.
///
/// - frab XML when the first byte after an optional UTF-8 BOM and whitespace is `<`;
/// - c3voc JSON v2 when the JSON has a `schedule.events` array, or a `$schema` ending in
///   `schema2.json`, or a top-level `version` of `2` / `"2"` / `"2.x"`;
/// - c3voc JSON v1 otherwise.
///
/// Errors: the bytes are neither XML-looking nor valid JSON (location `line L, column C`),
/// or empty (location `line 1, column 1`).
pub fn detect_format(bytes: &[u8]) -> Result<ScheduleFormat, ScheduleError> {
    let body = strip_bom(bytes);
    let first = body.iter().find(|b| !b.is_ascii_whitespace());
    match first {
        None => return Err(err("line 1, column 1", "empty schedule file")),
        Some(b'<') => return Ok(ScheduleFormat::FrabXml),
        Some(_) => {}
    }
    let v: serde_json::Value = serde_json::from_slice(body).map_err(|e| json_syntax_error(&e))?;
    let is_v2_schema = v
        .get("$schema")
        .and_then(|s| s.as_str())
        .is_some_and(|s| s.ends_with("schema2.json"));
    let has_events = v
        .get("schedule")
        .and_then(|s| s.get("events"))
        .is_some_and(|e| e.is_array());
    let version_2 = match v.get("version") {
        Some(serde_json::Value::Number(n)) => n.as_f64().is_some_and(|f| (2.0..3.0).contains(&f)),
        Some(serde_json::Value::String(s)) => s == "2" || s.starts_with("2."),
        _ => false,
    };
    if is_v2_schema || has_events || version_2 {
        Ok(ScheduleFormat::C3vocJsonV2)
    } else {
        Ok(ScheduleFormat::C3vocJson)
    }
}

/// Detects the format ([`detect_format`]) and parses the file with the matching parser.
///
/// XML must be UTF-8 (a BOM is skipped). The file's size is checked before and its
/// contents after parsing ([`limits`]: at most 16 MiB, 5,000 events, 500 rooms, every
/// text within its edge type). Errors: those of [`detect_format`], [`parse_frab_xml`],
/// [`parse_c3voc_json`] and [`limits`]; invalid UTF-8 in XML gives location `byte N`.
pub fn parse(bytes: &[u8]) -> Result<Programme, ScheduleError> {
    limits::check_size(bytes)?;
    let programme = parse_unchecked(bytes)?;
    limits::check_programme(&programme)?;
    Ok(programme)
}

fn parse_unchecked(bytes: &[u8]) -> Result<Programme, ScheduleError> {
    match detect_format(bytes)? {
        ScheduleFormat::FrabXml => {
            let text = std::str::from_utf8(strip_bom(bytes)).map_err(|e| {
                err(
                    format!("byte {}", e.valid_up_to()),
                    "the XML file is not valid UTF-8",
                )
            })?;
            parse_frab_xml(text)
        }
        ScheduleFormat::C3vocJson | ScheduleFormat::C3vocJsonV2 => parse_c3voc_json(bytes),
    }
}

// ---------------------------------------------------------------------------------------
// helpers shared by the submodules
// ---------------------------------------------------------------------------------------

pub(crate) fn strip_bom(bytes: &[u8]) -> &[u8] {
    bytes.strip_prefix(&[0xEF, 0xBB, 0xBF]).unwrap_or(bytes)
}

pub(crate) fn err(location: impl Into<String>, message: impl Into<String>) -> ScheduleError {
    ScheduleError {
        location: location.into(),
        message: message.into(),
    }
}

pub(crate) fn json_syntax_error(e: &serde_json::Error) -> ScheduleError {
    err(
        format!("line {}, column {}", e.line(), e.column()),
        format!("invalid JSON: {e}"),
    )
}

/// Parses an ISO 8601 / RFC 3339 date-time with offset (`2014-12-27T11:00:00+01:00`,
/// also without seconds, or with `Z`).
pub(crate) fn parse_instant(s: &str) -> Option<DateTime<Utc>> {
    let s = s.trim();
    if let Ok(d) = DateTime::parse_from_rfc3339(s) {
        return Some(d.with_timezone(&Utc));
    }
    for f in [
        "%Y-%m-%dT%H:%M%:z",
        "%Y-%m-%dT%H:%M:%S%.f%z",
        "%Y-%m-%d %H:%M:%S%:z",
    ] {
        if let Ok(d) = DateTime::parse_from_str(s, f) {
            return Some(d.with_timezone(&Utc));
        }
    }
    None
}

/// Parses the local date-time part of an ISO date-time with offset, as written.
pub(crate) fn parse_local_as_written(s: &str) -> Option<NaiveDateTime> {
    let s = s.trim();
    if let Ok(d) = DateTime::parse_from_rfc3339(s) {
        return Some(d.naive_local());
    }
    for f in ["%Y-%m-%dT%H:%M%:z", "%Y-%m-%dT%H:%M:%S%.f%z"] {
        if let Ok(d) = DateTime::parse_from_str(s, f) {
            return Some(d.naive_local());
        }
    }
    NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S").ok()
}

/// Parses a date or the date part of a date-time (`2019-08-21`, `2019-08-21T09:00:00+02:00`).
pub(crate) fn parse_date_prefix(s: &str) -> Option<NaiveDate> {
    let s = s.trim();
    NaiveDate::parse_from_str(s.get(..10)?, "%Y-%m-%d").ok()
}

/// Parses a wall-clock `HH:MM` or `HH:MM:SS`.
pub(crate) fn parse_clock(s: &str) -> Option<NaiveTime> {
    let s = s.trim();
    NaiveTime::parse_from_str(s, "%H:%M")
        .or_else(|_| NaiveTime::parse_from_str(s, "%H:%M:%S"))
        .ok()
}

/// The programme's day change derived from a day's end as written: its local time,
/// rounded to the minute, when the end lies on a later date than `day`, else 00:00.
/// An end at `HH:59` (pretalx writes `03:59` for a 04:00 turnover) is taken as the next
/// full hour.
pub(crate) fn day_change_from_end(day: NaiveDate, end: NaiveDateTime) -> NaiveTime {
    if end.date() <= day {
        return NaiveTime::MIN;
    }
    let rounded = end + chrono::Duration::seconds(30);
    let (h, m) = (rounded.hour(), rounded.minute());
    let (h, m) = if m == 59 { ((h + 1) % 24, 0) } else { (h, m) };
    NaiveTime::from_hms_opt(h, m, 0).unwrap_or(NaiveTime::MIN)
}

/// Parses a timeslot duration (`00:05`) into minutes, at least 1.
pub(crate) fn timeslot_minutes(s: Option<&str>) -> u32 {
    s.and_then(duration::parse)
        .map(|secs| u32::try_from(secs / 60).unwrap_or(5).max(1))
        .unwrap_or(5)
}

/// Adds the rooms named by events that are missing from `rooms`, in order of first
/// appearance.
pub(crate) fn add_event_rooms(rooms: &mut Vec<RoomSpec>, events: &[EventSpec]) {
    for e in events {
        if let Some(name) = &e.room {
            if !rooms.iter().any(|r| &r.name == name) {
                rooms.push(RoomSpec {
                    name: name.clone(),
                    guid: None,
                    capacity: None,
                    description: None,
                });
            }
        }
    }
}

/// The warning for a person without a name, skipped at `location`.
pub(crate) fn nameless(location: &str) -> String {
    format!("{location}: person without a name skipped (the event is imported without them)")
}

/// `Some(s)` for a non-empty string, `None` for empty / missing.
pub(crate) fn non_empty(s: Option<String>) -> Option<String> {
    s.filter(|s| !s.trim().is_empty())
}

/// The conference acronym made to match both the JSON v1 schema pattern
/// `^[a-z0-9_-][a-z0-9_]{3,}(-2[0-9]{3}-[a-z]+)?$` and the XSD's `[a-z0-9_-]{4,}`:
/// lower-cased, every other character replaced by `_`, padded with `_` to 4 characters.
pub fn export_acronym(acronym: &str) -> String {
    let mut out: String = acronym
        .trim()
        .to_lowercase()
        .chars()
        .map(|c| {
            if c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if out.is_empty() {
        out.push_str("conf");
    }
    while out.len() < 4 {
        out.push('_');
    }
    out
}

/// True when `s` matches the JSON slug pattern `^[a-z0-9_-]+[a-z0-9]$` and the XSD's
/// `voc-slug-new` `[a-z0-9_]{4,}-[a-z0-9\-_]{4,}`.
pub(crate) fn slug_is_valid(s: &str) -> bool {
    let ok_chars = s
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-');
    let ends_ok = s
        .bytes()
        .last()
        .is_some_and(|b| b.is_ascii_lowercase() || b.is_ascii_digit());
    if !ok_chars || !ends_ok || s.len() < 2 {
        return false;
    }
    // XSD: some split at a '-' with ≥4 of [a-z0-9_] (no '-') before and ≥4 chars after.
    s.char_indices()
        .any(|(i, c)| c == '-' && i >= 4 && !s[..i].contains('-') && s.len() - i > 4)
}

/// The slug an event is exported under: its own when valid for both schemas and not yet
/// used, else `<acronym>-<id>-<title words>`.
pub(crate) fn export_slug(
    e: &EventSpec,
    acronym: &str,
    id: i64,
    used: &mut std::collections::HashSet<String>,
) -> String {
    if let Some(s) = &e.slug {
        if slug_is_valid(s) && !used.contains(s) {
            used.insert(s.clone());
            return s.clone();
        }
    }
    let mut words = String::new();
    for c in e.title.to_lowercase().chars() {
        if c.is_ascii_lowercase() || c.is_ascii_digit() {
            words.push(c);
        } else if !words.ends_with('_') && !words.is_empty() {
            words.push('_');
        }
        if words.len() >= 60 {
            break;
        }
    }
    let words = words.trim_end_matches(['_', '-']);
    let words = if words.is_empty() { "event" } else { words };
    let mut slug = format!("{acronym}-{id}-{words}");
    let mut n = 2;
    while used.contains(&slug) {
        slug = format!("{acronym}-{id}-{words}-{n}");
        n += 1;
    }
    used.insert(slug.clone());
    slug
}

/// Exported event ids: [`export_event_id`], replaced by the derived id (or the next free
/// number) when an id repeats, since the XSD demands unique ids.
pub(crate) fn unique_event_ids(events: &[EventSpec]) -> Vec<i64> {
    let mut used = std::collections::HashSet::new();
    events
        .iter()
        .map(|e| {
            let mut id = export_event_id(e);
            if used.contains(&id) {
                id = derived_id(&e.guid);
            }
            while used.contains(&id) {
                id = if id >= i64::from(i32::MAX) { 1 } else { id + 1 };
            }
            used.insert(id);
            id
        })
        .collect()
}

/// The guid a room gets when nothing gave it one: [`export_uuid`] of `room:<name>`
/// (UUID v5), as text. Assigned once, when the room is made (or, for a room made before
/// guids were kept, when it is first renamed) and never derived again.
pub fn room_guid(name: &str) -> String {
    export_uuid(&format!("room:{name}")).to_string()
}

/// The exported guid of a room: its own as UUID via [`export_uuid`], else [`room_guid`]
/// of its name.
pub(crate) fn room_export_uuid(r: &RoomSpec) -> uuid::Uuid {
    match &r.guid {
        Some(g) if !g.trim().is_empty() => export_uuid(g),
        _ => export_uuid(&room_guid(&r.name)),
    }
}

/// An http(s) URL, for fields the schemas type as `httpURI`.
pub(crate) fn http_url(s: &Option<String>) -> Option<&str> {
    s.as_deref()
        .filter(|u| (u.starts_with("http://") || u.starts_with("https://")) && !u.contains(' '))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn export_uuid_is_identity_for_uuids_and_deterministic_otherwise() {
        let u = "29aecfd7-2e44-4f49-ab86-29b5e0877325";
        assert_eq!(export_uuid(u).to_string(), u);
        let a = export_uuid("HOqeNIb6G7M4hYFKFRkCmQ");
        let b = export_uuid("HOqeNIb6G7M4hYFKFRkCmQ");
        assert_eq!(a, b);
        assert_eq!(a.get_version_num(), 5);
        assert_ne!(a, export_uuid("HOqeNIb6G7M4hYFKFRkCmR"));
    }

    #[test]
    fn derived_ids_are_positive_i31() {
        for g in ["a", "b", "HOqeNIb6G7M4hYFKFRkCmQ", ""] {
            let id = derived_id(g);
            assert!((1..=i64::from(i32::MAX)).contains(&id), "{id}");
            assert_eq!(id, derived_id(g));
        }
    }

    #[test]
    fn acronym_and_slug_sanitizing() {
        assert_eq!(export_acronym("Camp2019"), "camp2019");
        assert_eq!(export_acronym("38C3"), "38c3");
        assert_eq!(export_acronym("a b"), "a_b_");
        assert!(slug_is_valid("31c3_-_6561_-_en_-_saal_1_-_x"));
        assert!(!slug_is_valid("Camp2019-10386-opening_ceremony"));
        assert!(!slug_is_valid("democon-25-focused-"));
        assert!(slug_is_valid("democon-25-focused-5thgeneration-hardware"));
    }

    #[test]
    fn day_change_rounding() {
        let d = NaiveDate::from_ymd_opt(2020, 12, 14).unwrap();
        let t = |s: &str| NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S").unwrap();
        assert_eq!(
            day_change_from_end(d, t("2020-12-15T03:59:00")),
            NaiveTime::from_hms_opt(4, 0, 0).unwrap()
        );
        assert_eq!(
            day_change_from_end(d, t("2020-12-14T23:59:59")),
            NaiveTime::MIN
        );
        assert_eq!(
            day_change_from_end(d, t("2020-12-15T04:00:00")),
            NaiveTime::from_hms_opt(4, 0, 0).unwrap()
        );
    }

    #[test]
    fn detect_formats() {
        assert_eq!(
            detect_format(b"\xEF\xBB\xBF  <schedule/>").unwrap(),
            ScheduleFormat::FrabXml
        );
        assert_eq!(
            detect_format(br#"{"schedule":{"events":[]}}"#).unwrap(),
            ScheduleFormat::C3vocJsonV2
        );
        assert_eq!(
            detect_format(br#"{"$schema":"x/schema2.json","schedule":{}}"#).unwrap(),
            ScheduleFormat::C3vocJsonV2
        );
        assert_eq!(
            detect_format(br#"{"schedule":{"conference":{}}}"#).unwrap(),
            ScheduleFormat::C3vocJson
        );
        let e = detect_format(b"{\n  \"a\": ,}").unwrap_err();
        assert!(e.location.starts_with("line 2"), "{e}");
    }
}
