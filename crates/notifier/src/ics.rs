//! The calendar entry attached to every mail about a session (RFC 5545 / RFC 5546 iTIP).

use chrono::{DateTime, Datelike, Utc};
use chrono_tz::Tz;
use convene_domain::schedule::{export_uuid, vtimezone_years};
use icalendar::{Calendar, Component, EventLike, Property};

/// What the entry describes.
#[derive(Debug, Clone)]
pub struct Invite<'a> {
    /// `REQUEST` (add or update the event) or `CANCEL` (remove it), RFC 5546 §1.4.
    pub method: &'a str,
    /// The session's stable guid; the UID is `<export_uuid(guid)>@<uid_domain>`, the same
    /// as in the forum's `schedule.ics`, so calendars update the entry they already have.
    pub guid: &'a str,
    /// Host of `public_base_url`.
    pub uid_domain: &'a str,
    /// SEQUENCE (RFC 5545 §3.8.7.4): the session's version − 1, so it rises with each change.
    pub sequence: u32,
    /// Title.
    pub summary: &'a str,
    /// Room name.
    pub location: Option<&'a str>,
    /// Start and end.
    pub starts_at: DateTime<Utc>,
    /// End.
    pub ends_at: DateTime<Utc>,
    /// The forum's zone: times are written as local times with TZID and a VTIMEZONE.
    pub tz: Tz,
    /// ORGANIZER (the `From:` address) and ATTENDEE (the recipient), both required by
    /// RFC 5546 for REQUEST and CANCEL.
    pub organizer: &'a str,
    /// Recipient address and name.
    pub attendee: (&'a str, &'a str),
    /// DTSTAMP.
    pub stamp: DateTime<Utc>,
}

/// Renders the VCALENDAR text (CRLF, folded by the `icalendar` crate).
pub fn invite(i: &Invite<'_>) -> String {
    let mut cal = Calendar::empty();
    cal.append_property(Property::new("PRODID", "-//convene//notifications//EN"));
    cal.append_property(Property::new("VERSION", "2.0"));
    cal.append_property(Property::new("CALSCALE", "GREGORIAN"));
    cal.append_property(Property::new("METHOD", i.method));
    let mut ev = icalendar::Event::new();
    ev.uid(&format!("{}@{}", export_uuid(i.guid), i.uid_domain));
    ev.timestamp(i.stamp);
    for (key, t) in [("DTSTART", i.starts_at), ("DTEND", i.ends_at)] {
        let local = t.with_timezone(&i.tz).naive_local();
        ev.append_property(
            Property::new(key, local.format("%Y%m%dT%H%M%S").to_string())
                .add_parameter("TZID", i.tz.name())
                .done(),
        );
    }
    ev.summary(i.summary);
    if let Some(l) = i.location {
        ev.location(l);
    }
    ev.sequence(i.sequence);
    ev.append_property(Property::new(
        "STATUS",
        if i.method == "CANCEL" {
            "CANCELLED"
        } else {
            "CONFIRMED"
        },
    ));
    ev.append_property(Property::new(
        "ORGANIZER",
        format!("mailto:{}", i.organizer),
    ));
    ev.append_property(
        Property::new("ATTENDEE", format!("mailto:{}", i.attendee.0))
            .add_parameter("CN", &param_text(i.attendee.1))
            .add_parameter("ROLE", "REQ-PARTICIPANT")
            .done(),
    );
    cal.push(ev.done());
    let text = cal.to_string();
    // The VTIMEZONE goes right after the calendar's properties, before the VEVENT. It
    // covers the year before the session to the year after (whole UTC years, so that the
    // memo of `vtimezone_years` serves message after message).
    let mut tz_lines = String::new();
    for l in vtimezone_years(i.tz, i.starts_at.year() - 1, i.ends_at.year() + 1).iter() {
        tz_lines.push_str(l);
        tz_lines.push_str("\r\n");
    }
    match text.find("BEGIN:VEVENT") {
        Some(pos) => format!("{}{}{}", &text[..pos], tz_lines, &text[pos..]),
        None => text,
    }
}

/// A text for a property parameter value (RFC 5545 §3.2: no `"` and no control
/// characters, not even inside quotes), escaped as RFC 6868 says: `^` → `^^`, `"` → `^'`,
/// a line break → `^n`; any other control character becomes a space.
pub fn param_text(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '^' => out.push_str("^^"),
            '"' => out.push_str("^'"),
            '\r' if chars.peek() == Some(&'\n') => {}
            '\n' | '\r' => out.push_str("^n"),
            c if c.is_control() => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod param_tests {
    #[test]
    fn parameter_text_is_escaped_as_rfc_6868_says() {
        assert_eq!(super::param_text("Ayşe Çelik"), "Ayşe Çelik");
        assert_eq!(
            super::param_text("Ayşe \"the mayor\" ^ Çelik"),
            "Ayşe ^'the mayor^' ^^ Çelik"
        );
        assert_eq!(super::param_text("Eve\r\nBcc:\tx"), "Eve^nBcc: x");
    }
}
