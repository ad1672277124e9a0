//! What one schedule file may hold, checked before parsing (its size, no DTD in XML) and
//! after (counts and every text, through the edge rules of [`crate::text`]), so that an
//! import costs at most a bounded amount of memory and time and stores nothing the rest
//! of convene would refuse.

use super::{duration, err, Programme, ScheduleError};
use crate::text::{self, Shape};

/// The largest schedule file, bytes (16 MiB; the 31C3 file, 480 events, is 351 KiB).
pub const MAX_FILE_BYTES: usize = 16 * 1024 * 1024;
/// The most XML nodes (elements, attributes' owners, text runs) one frab file may
/// produce; a bound on the parser's memory.
pub const MAX_XML_NODES: u32 = 1_000_000;
/// The most events (sessions) in one file.
pub const MAX_EVENTS: usize = 5_000;
/// The most rooms in one file.
pub const MAX_ROOMS: usize = 500;
/// The most people on one event.
pub const MAX_PERSONS_PER_EVENT: usize = 100;

/// Refuses a file larger than [`MAX_FILE_BYTES`] (location `byte N`, the limit).
pub fn check_size(bytes: &[u8]) -> Result<(), ScheduleError> {
    if bytes.len() > MAX_FILE_BYTES {
        return Err(err(
            format!("byte {MAX_FILE_BYTES}"),
            format!("the file is larger than {MAX_FILE_BYTES} bytes"),
        ));
    }
    Ok(())
}

/// The refusal of a DTD in frab XML, at the position of its `<!DOCTYPE`. frab schedule
/// XML (`schedule.xml.xsd`) never needs a DTD, and entity declarations are the means of
/// entity-expansion attacks ("billion laughs" and its quadratic variants with one large
/// entity referenced many times), so the parser is run with DTDs off and any DOCTYPE is
/// refused before a single entity is expanded.
pub fn dtd_refused(xml: &str) -> ScheduleError {
    let at = find_ascii_ci(xml, "<!DOCTYPE").unwrap_or(0);
    let before = &xml[..at];
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    err(
        format!("line {line}, column {col}"),
        "a DOCTYPE or entity declaration is not allowed: schedule XML never needs a DTD",
    )
}

pub(crate) fn find_ascii_ci(hay: &str, needle: &str) -> Option<usize> {
    let (h, n) = (hay.as_bytes(), needle.as_bytes());
    h.windows(n.len()).position(|w| w.eq_ignore_ascii_case(n))
}

/// Checks a parsed programme: at most [`MAX_EVENTS`] events, [`MAX_ROOMS`] rooms,
/// [`MAX_PERSONS_PER_EVENT`] people per event, events of at most
/// [`duration::MAX_SECONDS`], and every text within its edge type
/// ([`crate::text`]: titles one line of [`text::TITLE`], names one line of
/// [`text::NAME`], abstracts and descriptions [`text::LONG`], …). The location is the
/// path of the first offending value, e.g. `events[12].title`.
pub fn check_programme(p: &Programme) -> Result<(), ScheduleError> {
    if p.events.len() > MAX_EVENTS {
        return Err(err(
            "events",
            format!("{} events; at most {MAX_EVENTS}", p.events.len()),
        ));
    }
    if p.rooms.len() > MAX_ROOMS {
        return Err(err(
            "rooms",
            format!("{} rooms; at most {MAX_ROOMS}", p.rooms.len()),
        ));
    }
    let c = &p.conference;
    field("conference.acronym", &c.acronym, Shape::Line, text::NAME)?;
    field("conference.title", &c.title, Shape::Line, text::TITLE)?;
    opt("conference.base_url", &c.base_url, Shape::Line, text::PARAM)?;
    opt("conference.version", &c.version, Shape::Line, text::TITLE)?;
    for (i, r) in p.rooms.iter().enumerate() {
        let at = |f: &str| format!("rooms[{i}].{f}");
        field(&at("name"), &r.name, Shape::Line, text::NAME)?;
        opt(&at("guid"), &r.guid, Shape::Line, text::NAME)?;
        opt(&at("description"), &r.description, Shape::Text, text::LONG)?;
    }
    for (i, e) in p.events.iter().enumerate() {
        let at = |f: &str| format!("events[{i}].{f}");
        field(&at("guid"), &e.guid, Shape::Line, text::NAME)?;
        field(&at("title"), &e.title, Shape::Line, text::TITLE)?;
        field(&at("subtitle"), &e.subtitle, Shape::Line, text::TITLE)?;
        field(&at("abstract"), &e.abstract_text, Shape::Text, text::LONG)?;
        field(&at("description"), &e.description, Shape::Text, text::LONG)?;
        field(&at("type"), &e.event_type, Shape::Line, text::NAME)?;
        opt(&at("track"), &e.track, Shape::Line, text::NAME)?;
        opt(&at("language"), &e.language, Shape::Line, text::CODE)?;
        opt(&at("room"), &e.room, Shape::Line, text::NAME)?;
        opt(&at("slug"), &e.slug, Shape::Line, text::TITLE)?;
        opt(&at("url"), &e.url, Shape::Line, text::PARAM)?;
        if (e.end - e.start).num_seconds() > duration::MAX_SECONDS {
            return Err(err(
                at("duration"),
                "an event lasts at most 99 days 23:59 (the longest schedule.xml.xsd can write)",
            ));
        }
        if e.persons.len() > MAX_PERSONS_PER_EVENT {
            return Err(err(
                at("persons"),
                format!("at most {MAX_PERSONS_PER_EVENT} people per event"),
            ));
        }
        for (j, person) in e.persons.iter().enumerate() {
            let at = |f: &str| format!("events[{i}].persons[{j}].{f}");
            field(&at("name"), &person.name, Shape::Line, text::NAME)?;
            opt(&at("id"), &person.external_key, Shape::Line, text::NAME)?;
        }
    }
    Ok(())
}

fn field(at: &str, v: &str, shape: Shape, max: usize) -> Result<(), ScheduleError> {
    text::check(v, shape, max).map_err(|f| err(at, f.to_string()))
}

fn opt(at: &str, v: &Option<String>, shape: Shape, max: usize) -> Result<(), ScheduleError> {
    v.as_deref().map_or(Ok(()), |v| field(at, v, shape, max))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dtd_refusal_names_its_position() {
        let e = dtd_refused("<?xml version='1.0'?>\n  <!doctype schedule [<!ENTITY a 'b'>]>");
        assert_eq!(e.location, "line 2, column 3");
        assert!(e.message.contains("DOCTYPE"));
    }

    #[test]
    fn oversized_files_are_refused() {
        assert!(check_size(&vec![b' '; MAX_FILE_BYTES]).is_ok());
        assert!(check_size(&vec![b' '; MAX_FILE_BYTES + 1]).is_err());
    }
}
