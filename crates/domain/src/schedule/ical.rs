//! RFC 5545 iCalendar export of a programme.

use super::{export_uuid, vtimezone::vtimezone_lines, EventSpec, Programme};
use chrono::{DateTime, Duration, LocalResult, TimeZone, Utc};
use chrono_tz::Tz;
use icalendar::{Calendar, Component, EventLike, Property};

/// Options of [`export_ical`].
#[derive(Debug, Clone, PartialEq)]
pub struct IcalOptions {
    /// Right-hand side of every `UID` (`<uuid>@<uid_domain>`), e.g. the forum's host name.
    pub uid_domain: String,
    /// `DTSTAMP` of every VEVENT (RFC 5545 §3.8.7.2), written in UTC.
    pub generated_at: DateTime<Utc>,
    /// `X-WR-CALNAME` (the calendar's display name).
    pub calendar_name: String,
    /// `SEQUENCE` (§3.8.7.4) per event, in `Programme::events` order; missing entries
    /// (or `None`) mean 0.
    pub sequences: Option<Vec<u32>>,
    /// `METHOD` (§3.7.2), e.g. `PUBLISH`; omitted when `None`.
    pub method: Option<String>,
}

/// Exports an RFC 5545 iCalendar stream (CRLF line endings, lines folded at 75 octets by
/// the `icalendar` crate, which also escapes TEXT values).
///
/// Shape: one `VCALENDAR` (§3.4) with `PRODID`, `VERSION:2.0`, `CALSCALE:GREGORIAN`,
/// `METHOD` (optional), `X-WR-CALNAME`, `X-WR-TIMEZONE`; one `VTIMEZONE` (§3.6.5) for
/// `tz` built from chrono-tz (see [`super::vtimezone_lines`]) covering one year before
/// the first event to one year after the last; one `VEVENT` (§3.6.1) per event, in
/// programme order, with `UID` `<export_uuid(guid)>@<uid_domain>` (stable across exports),
/// `DTSTAMP`, `DTSTART;TZID=…`/`DTEND;TZID=…` as local times in `tz` (the UTC form for
/// the second occurrence of a local time repeated at a DST fall-back, which a TZID local
/// time cannot express), `SUMMARY` (title), `DESCRIPTION` (abstract, else description;
/// omitted when both are empty), `LOCATION` (room), `SEQUENCE` and `URL` (when set).
pub fn export_ical(p: &Programme, tz: Tz, opts: &IcalOptions) -> String {
    let mut header = Calendar::empty();
    header.append_property(Property::new("PRODID", "-//convene//schedule export//EN"));
    header.append_property(Property::new("VERSION", "2.0"));
    header.append_property(Property::new("CALSCALE", "GREGORIAN"));
    if let Some(m) = opts.method.as_deref().filter(|m| !m.trim().is_empty()) {
        header.append_property(Property::new("METHOD", m.trim().to_ascii_uppercase()));
    }
    header.append_property(Property::new("X-WR-CALNAME", opts.calendar_name.as_str()));
    header.append_property(Property::new("X-WR-TIMEZONE", tz.name()));
    let header = header.to_string();
    let header = header
        .strip_suffix("END:VCALENDAR\r\n")
        .expect("icalendar ends the calendar with END:VCALENDAR");

    let (from, to) = range(p);
    let mut out = String::from(header);
    for line in vtimezone_lines(tz, from, to) {
        out.push_str(&line);
        out.push_str("\r\n");
    }

    let mut body = Calendar::empty();
    for (i, e) in p.events.iter().enumerate() {
        let seq = opts
            .sequences
            .as_ref()
            .and_then(|s| s.get(i).copied())
            .unwrap_or(0);
        body.push(vevent(e, tz, opts, seq));
    }
    let body = body.to_string();
    out.push_str(
        body.strip_prefix("BEGIN:VCALENDAR\r\n")
            .expect("icalendar starts the calendar with BEGIN:VCALENDAR"),
    );
    out
}

fn range(p: &Programme) -> (DateTime<Utc>, DateTime<Utc>) {
    let year = Duration::days(366);
    let first = p.events.iter().map(|e| e.start).min();
    let last = p.events.iter().map(|e| e.end).max();
    let conf_start = p
        .conference
        .start
        .and_hms_opt(0, 0, 0)
        .map(|d| d.and_utc())
        .unwrap_or_default();
    let conf_end = p
        .conference
        .end
        .and_hms_opt(23, 59, 0)
        .map(|d| d.and_utc())
        .unwrap_or(conf_start);
    (
        first.unwrap_or(conf_start) - year,
        last.unwrap_or(conf_end).max(first.unwrap_or(conf_start)) + year,
    )
}

/// `DTSTART`/`DTEND` property: local time with `TZID` (RFC 5545 §3.3.5 form 3), or UTC
/// (form 2) for the later instant of an ambiguous local time.
fn date_prop(key: &str, t: DateTime<Utc>, tz: Tz) -> Property {
    let local = t.with_timezone(&tz);
    let naive = local.naive_local();
    let second_of_fold = matches!(
        tz.from_local_datetime(&naive),
        LocalResult::Ambiguous(first, _) if first != local
    );
    if second_of_fold {
        return Property::new(key, t.format("%Y%m%dT%H%M%SZ").to_string());
    }
    Property::new(key, naive.format("%Y%m%dT%H%M%S").to_string())
        .add_parameter("TZID", tz.name())
        .done()
}

fn vevent(e: &EventSpec, tz: Tz, opts: &IcalOptions, seq: u32) -> icalendar::Event {
    let mut ev = icalendar::Event::new();
    ev.uid(&format!("{}@{}", export_uuid(&e.guid), opts.uid_domain));
    ev.timestamp(opts.generated_at);
    ev.append_property(date_prop("DTSTART", e.start, tz));
    ev.append_property(date_prop("DTEND", e.end, tz));
    ev.summary(&e.title);
    let desc = if e.abstract_text.trim().is_empty() {
        &e.description
    } else {
        &e.abstract_text
    };
    if !desc.trim().is_empty() {
        ev.description(desc);
    }
    if let Some(room) = &e.room {
        ev.location(room);
    }
    ev.sequence(seq);
    if let Some(url) = e.url.as_deref().filter(|u| !u.trim().is_empty()) {
        ev.url(url);
    }
    ev.done()
}
