//! frab schedule XML (`schedule.xml.xsd`, <https://c3voc.de/schedule/schema.xsd>):
//! import with `roxmltree`, export with `quick-xml`.

use super::c3voc_json::fallback_start;
use super::days::{room_of, ExportPlan};
use super::{
    add_event_rooms, day_change_from_end, duration, err, export_uuid, http_url, nameless,
    non_empty, parse_clock, parse_date_prefix, parse_instant, parse_local_as_written,
    room_export_uuid, timeslot_minutes, Conference, EventSpec, PersonRole, PersonSpec, Programme,
    RoomSpec, ScheduleError,
};
use chrono::{DateTime, Duration, FixedOffset, NaiveDate, NaiveTime, Utc};
use chrono_tz::Tz;
use quick_xml::events::{BytesDecl, BytesText, Event};
use quick_xml::Writer;
use roxmltree::{Document, Node};
use std::collections::HashMap;

type XNode<'a> = Node<'a, 'a>;

fn at(doc: &Document, n: XNode) -> String {
    let p = doc.text_pos_at(n.range().start);
    format!("line {}, column {}", p.row, p.col)
}

fn child<'a>(n: XNode<'a>, name: &str) -> Option<XNode<'a>> {
    n.children()
        .find(|c| c.is_element() && c.tag_name().name() == name)
}

fn node_text(n: XNode) -> String {
    n.descendants()
        .filter(|d| d.is_text())
        .filter_map(|d| d.text())
        .collect()
}

fn child_text(n: XNode, name: &str) -> Option<String> {
    child(n, name).map(node_text)
}

/// Parses frab schedule XML: `<schedule><version/><conference>…</conference>
/// <day date start end index><room name><event guid id>…</event></room></day></schedule>`.
///
/// - `Conference::time_zone` is `<time_zone_name>` when present (frab itself writes
///   none); `day_change` is `<day_change>` when present, else the local time of the
///   first day's `end` attribute when it lies on a later date (else 00:00).
/// - An event's start is its `<date>`; without one, the day's date plus `<start>` (the
///   next date when before the day change), in the file's zone or at the offset of the
///   day's `start` attribute.
///
/// A DOCTYPE (any DTD, hence any entity declaration) is refused at its position, and at
/// most [`super::limits::MAX_XML_NODES`] nodes are read.
///
/// Errors carry `line L, column C`: of the syntax error, or of the offending element:
/// missing `<conference>`, `<acronym>`, `<title>`; an event without `guid`, `<title>`,
/// start (`<date>` or `<start>`), `<duration>`; unparseable instants/durations;
/// non-integer event or person `id`; duplicate guids (the second one).
pub fn parse_frab_xml(text: &str) -> Result<Programme, ScheduleError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    // No DTD (so no entity can be declared, let alone expanded) and a bounded number of
    // nodes: see `super::limits`.
    let opts = roxmltree::ParsingOptions {
        allow_dtd: false,
        nodes_limit: super::limits::MAX_XML_NODES,
        ..Default::default()
    };
    let doc = Document::parse_with_options(text, opts).map_err(|e| match e {
        roxmltree::Error::DtdDetected => super::limits::dtd_refused(text),
        roxmltree::Error::NodesLimitReached => err(
            "line 1, column 1",
            format!(
                "the file has more than {} XML nodes",
                super::limits::MAX_XML_NODES
            ),
        ),
        e => {
            let p = e.pos();
            err(
                format!("line {}, column {}", p.row, p.col),
                format!("invalid XML: {e}"),
            )
        }
    })?;
    let root = doc.root_element();
    // roxmltree lets an empty `<!DOCTYPE x>` through; refuse it all the same.
    if super::limits::find_ascii_ci(&text[..root.range().start], "<!DOCTYPE").is_some() {
        return Err(super::limits::dtd_refused(text));
    }
    if root.tag_name().name() != "schedule" {
        return Err(err(at(&doc, root), "the root element must be <schedule>"));
    }
    let conf =
        child(root, "conference").ok_or_else(|| err(at(&doc, root), "missing <conference>"))?;
    let acronym = child_text(conf, "acronym")
        .map(|s| s.trim().to_string())
        .ok_or_else(|| err(at(&doc, conf), "missing <acronym> in <conference>"))?;
    let title = child_text(conf, "title")
        .map(|s| s.trim().to_string())
        .ok_or_else(|| err(at(&doc, conf), "missing <title> in <conference>"))?;
    let tz =
        match child(conf, "time_zone_name") {
            Some(n) => {
                let name = node_text(n);
                let name = name.trim();
                if name.is_empty() {
                    None
                } else {
                    Some(name.parse::<Tz>().map_err(|_| {
                        err(at(&doc, n), format!("unknown IANA time zone `{name}`"))
                    })?)
                }
            }
            None => None,
        };
    let days: Vec<XNode> = root
        .children()
        .filter(|c| c.is_element() && c.tag_name().name() == "day")
        .collect();
    let mut day_dates = Vec::with_capacity(days.len());
    for d in &days {
        let date = d
            .attribute("date")
            .or_else(|| d.attribute("start"))
            .and_then(parse_date_prefix)
            .ok_or_else(|| err(at(&doc, *d), "<day> needs a `date` (or `start`) attribute"))?;
        day_dates.push(date);
    }
    let day_change = match child(conf, "day_change") {
        Some(n) => {
            let t = node_text(n);
            parse_clock(&t)
                .ok_or_else(|| err(at(&doc, n), format!("expected HH:MM, got `{}`", t.trim())))?
        }
        None => days
            .first()
            .and_then(|d| d.attribute("end"))
            .and_then(parse_local_as_written)
            .map(|end| day_change_from_end(day_dates[0], end))
            .unwrap_or(NaiveTime::MIN),
    };

    let first_offset = days
        .first()
        .and_then(|d| d.attribute("start"))
        .and_then(|s| DateTime::parse_from_rfc3339(s.trim()).ok())
        .map(|t| t.offset().local_minus_utc());
    let mut rooms: Vec<RoomSpec> = Vec::new();
    let mut events = Vec::new();
    let mut warnings = Vec::new();
    let mut seen: HashMap<String, String> = HashMap::new();
    for (di, d) in days.iter().enumerate() {
        let date = day_dates[di];
        let offset = d
            .attribute("start")
            .and_then(|s| DateTime::parse_from_rfc3339(s.trim()).ok())
            .map(|t| *t.offset());
        for r in d
            .children()
            .filter(|c| c.is_element() && c.tag_name().name() == "room")
        {
            let rname = r
                .attribute("name")
                .ok_or_else(|| err(at(&doc, r), "<room> needs a `name` attribute"))?
                .to_string();
            if !rooms.iter().any(|x| x.name == rname) {
                rooms.push(RoomSpec {
                    name: rname.clone(),
                    guid: r.attribute("guid").map(str::to_string),
                    capacity: None,
                    description: None,
                });
            }
            for ev in r
                .children()
                .filter(|c| c.is_element() && c.tag_name().name() == "event")
            {
                let e = parse_event(
                    &doc,
                    ev,
                    (date, day_change),
                    tz,
                    offset,
                    &rname,
                    &mut warnings,
                )?;
                let loc = at(&doc, ev);
                if let Some(first) = seen.get(&e.guid) {
                    return Err(err(
                        loc,
                        format!("duplicate guid `{}` (first at {first})", e.guid),
                    ));
                }
                seen.insert(e.guid.clone(), loc);
                events.push(e);
            }
        }
    }
    add_event_rooms(&mut rooms, &events);
    let start = child_text(conf, "start")
        .and_then(|s| parse_date_prefix(&s))
        .or_else(|| day_dates.iter().min().copied())
        .or_else(|| events.iter().map(|e| e.start.date_naive()).min())
        .unwrap_or_else(|| Utc::now().date_naive());
    let end = child_text(conf, "end")
        .and_then(|s| parse_date_prefix(&s))
        .or_else(|| day_dates.iter().max().copied())
        .unwrap_or(start)
        .max(start);
    Ok(Programme {
        conference: Conference {
            acronym,
            title,
            time_zone: tz,
            start,
            end,
            day_change,
            timeslot_minutes: timeslot_minutes(child_text(conf, "timeslot_duration").as_deref()),
            base_url: non_empty(child_text(conf, "base_url").map(|s| s.trim().to_string())),
            version: non_empty(child_text(root, "version").map(|s| s.trim().to_string())),
            utc_offset_seconds: first_offset,
        },
        rooms,
        events,
        warnings,
    })
}

fn parse_event(
    doc: &Document,
    ev: XNode,
    (day, day_change): (NaiveDate, NaiveTime),
    tz: Option<Tz>,
    offset: Option<FixedOffset>,
    room_name: &str,
    warnings: &mut Vec<String>,
) -> Result<EventSpec, ScheduleError> {
    let loc = at(doc, ev);
    let guid = ev
        .attribute("guid")
        .map(str::trim)
        .filter(|g| !g.is_empty())
        .ok_or_else(|| err(&loc, "<event> needs a non-empty `guid` attribute"))?
        .to_string();
    let frab_id = match ev.attribute("id") {
        None => None,
        Some(s) if s.trim().is_empty() => None,
        Some(s) => Some(s.trim().parse::<i64>().map_err(|_| {
            err(
                &loc,
                format!("attribute `id` of <event>: expected an integer, got `{s}`"),
            )
        })?),
    };
    let title = child_text(ev, "title")
        .ok_or_else(|| err(&loc, "<event> has no <title>"))?
        .trim()
        .to_string();
    let start = match (child(ev, "date"), child(ev, "start")) {
        (Some(n), _) if !node_text(n).trim().is_empty() => {
            let t = node_text(n);
            parse_instant(&t).ok_or_else(|| {
                err(
                    at(doc, n),
                    format!(
                        "<date>: expected an ISO 8601 date-time with offset, got `{}`",
                        t.trim()
                    ),
                )
            })?
        }
        (_, Some(n)) => {
            let t = node_text(n);
            let clock = parse_clock(&t).ok_or_else(|| {
                err(
                    at(doc, n),
                    format!("<start>: expected HH:MM, got `{}`", t.trim()),
                )
            })?;
            fallback_start(day, clock, day_change, tz, offset).ok_or_else(|| {
                err(
                    &loc,
                    "<event> has no <date>, and <start> cannot be placed (no time zone)",
                )
            })?
        }
        _ => return Err(err(&loc, "<event> has neither <date> nor <start>")),
    };
    let dn = child(ev, "duration").ok_or_else(|| err(&loc, "<event> has no <duration>"))?;
    let dtext = node_text(dn);
    let secs = duration::parse(&dtext).ok_or_else(|| {
        err(
            at(doc, dn),
            format!(
                "<duration>: expected HH:MM or D:HH:MM, got `{}`",
                dtext.trim()
            ),
        )
    })?;
    let room = non_empty(child_text(ev, "room").map(|s| s.trim().to_string()))
        .unwrap_or_else(|| room_name.to_string());
    let mut persons = Vec::new();
    if let Some(ps) = child(ev, "persons") {
        for p in ps
            .children()
            .filter(|c| c.is_element() && c.tag_name().name() == "person")
        {
            let name = node_text(p).trim().to_string();
            if name.is_empty() {
                warnings.push(nameless(&at(doc, p)));
                continue;
            }
            let id = match p.attribute("id").map(str::trim).filter(|s| !s.is_empty()) {
                None => None,
                Some(s) => Some(s.parse::<i64>().map_err(|_| {
                    err(
                        at(doc, p),
                        format!("attribute `id` of <person>: expected an integer, got `{s}`"),
                    )
                })?),
            };
            let external_key = id
                .map(|i| format!("frab:{i}"))
                .or_else(|| {
                    p.attribute("guid")
                        .filter(|g| !g.trim().is_empty())
                        .map(|g| format!("guid:{}", g.trim()))
                })
                .or_else(|| {
                    p.attribute("code")
                        .filter(|g| !g.trim().is_empty())
                        .map(|g| format!("code:{}", g.trim()))
                });
            persons.push(PersonSpec {
                name,
                external_key,
                role: PersonRole::Speaker,
            });
        }
    }
    let opt = |name: &str| non_empty(child_text(ev, name).map(|s| s.trim().to_string()));
    Ok(EventSpec {
        guid,
        frab_id,
        title,
        subtitle: opt("subtitle").unwrap_or_default(),
        abstract_text: child_text(ev, "abstract")
            .unwrap_or_default()
            .trim()
            .to_string(),
        description: child_text(ev, "description")
            .unwrap_or_default()
            .trim()
            .to_string(),
        track: opt("track"),
        event_type: opt("type").unwrap_or_default(),
        language: opt("language"),
        start,
        end: start + Duration::seconds(secs),
        room: Some(room),
        slug: opt("slug"),
        url: opt("url"),
        persons,
    })
}

/// Removes characters XML 1.0 cannot carry (C0 controls other than tab/LF/CR, U+FFFE/F).
fn xml_clean(s: &str) -> String {
    s.chars()
        .filter(|&c| {
            matches!(c, '\t' | '\n' | '\r') || (c >= ' ' && c != '\u{fffe}' && c != '\u{ffff}')
        })
        .collect()
}

type W = Writer<Vec<u8>>;
type IoResult = std::io::Result<()>;

fn text_el(w: &mut W, name: &str, value: &str) -> IoResult {
    let v = xml_clean(value);
    if v.is_empty() {
        w.create_element(name).write_empty()?;
    } else {
        w.create_element(name)
            .write_text_content(BytesText::new(&v))?;
    }
    Ok(())
}

/// Exports frab schedule XML (UTF-8, indented), valid against `schedule.xml.xsd`.
///
/// Days are grouped as in [`super::export_c3voc_json`] (day change in `tz`, every day,
/// every room). `<conference>` holds `acronym` (sanitized), `title`, `start`, `end`
/// (dates), `days`, `timeslot_duration`, `base_url` (http(s) only) and `time_zone_name`
/// (`tz`); the XSD has no `day_change`, which re-import derives from the first day's
/// `end`. Event attributes: `guid` = [`export_uuid`], `id` = [`super::export_event_id`]
/// (made unique); children `date` (local with offset), `start` (`HH:MM`), `duration`
/// (`HH:MM`), `room`, `title`, `subtitle`, `type`, `abstract`, `slug` (as in JSON),
/// `track`, `language`, `description`, `persons` (`<person id>` for `frab:` keys,
/// `<person guid>` for `guid:` keys), `url` (http(s) only). Text is escaped by quick-xml;
/// characters XML 1.0 forbids are dropped.
pub fn export_frab_xml(p: &Programme, tz: Tz) -> String {
    let mut w = Writer::new_with_indent(Vec::new(), b' ', 2);
    write_schedule(&mut w, p, tz).expect("writing XML to memory cannot fail");
    let mut out = String::from_utf8(w.into_inner()).expect("quick-xml writes UTF-8");
    out.push('\n');
    out
}

fn write_schedule(w: &mut W, p: &Programme, tz: Tz) -> IoResult {
    let ExportPlan {
        rooms,
        days,
        ids,
        acronym,
        slugs,
    } = ExportPlan::new(p, tz);
    let fmt = |t: DateTime<Tz>| t.format("%Y-%m-%dT%H:%M:%S%:z").to_string();
    let start = days.first().map(|d| d.date).unwrap_or(p.conference.start);
    let end = days.last().map(|d| d.date).unwrap_or(p.conference.end);

    w.write_event(Event::Decl(BytesDecl::new("1.0", Some("UTF-8"), None)))?;
    w.create_element("schedule").write_inner_content(|w| {
        w.create_element("generator")
            .with_attribute(("name", "convene"))
            .with_attribute(("version", env!("CARGO_PKG_VERSION")))
            .write_empty()?;
        text_el(
            w,
            "version",
            p.conference.version.as_deref().unwrap_or("1.0"),
        )?;
        w.create_element("conference").write_inner_content(|w| {
            text_el(w, "acronym", &acronym)?;
            text_el(w, "title", &p.conference.title)?;
            text_el(w, "start", &start.format("%Y-%m-%d").to_string())?;
            text_el(w, "end", &end.format("%Y-%m-%d").to_string())?;
            text_el(w, "days", &days.len().to_string())?;
            text_el(
                w,
                "timeslot_duration",
                &duration::format_xml(i64::from(p.conference.timeslot_minutes.min(5999)) * 60),
            )?;
            if let Some(u) = http_url(&p.conference.base_url) {
                text_el(w, "base_url", u)?;
            }
            text_el(w, "time_zone_name", tz.name())?;
            Ok(())
        })?;
        for d in &days {
            w.create_element("day")
                .with_attribute(("index", d.index.to_string().as_str()))
                .with_attribute(("date", d.date.format("%Y-%m-%d").to_string().as_str()))
                .with_attribute(("start", fmt(d.start).as_str()))
                .with_attribute(("end", fmt(d.end).as_str()))
                .write_inner_content(|w| {
                    for (rname, idx) in &d.rooms {
                        let room = rooms.iter().find(|r| &r.name == rname);
                        let guid = room.map(room_export_uuid).unwrap_or_default().to_string();
                        let clean_name = xml_clean(rname);
                        let el = w
                            .create_element("room")
                            .with_attribute(("name", clean_name.as_str()))
                            .with_attribute(("guid", guid.as_str()));
                        if idx.is_empty() {
                            el.write_empty()?;
                            continue;
                        }
                        el.write_inner_content(|w| {
                            for &i in idx {
                                write_event(w, &p.events[i], ids[i], &slugs[i], tz)?;
                            }
                            Ok(())
                        })?;
                    }
                    Ok(())
                })?;
        }
        Ok(())
    })?;
    Ok(())
}

fn write_event(w: &mut W, e: &EventSpec, id: i64, slug: &str, tz: Tz) -> IoResult {
    let local = e.start.with_timezone(&tz);
    w.create_element("event")
        .with_attribute(("guid", export_uuid(&e.guid).to_string().as_str()))
        .with_attribute(("id", id.to_string().as_str()))
        .write_inner_content(|w| {
            text_el(w, "date", &local.format("%Y-%m-%dT%H:%M:%S%:z").to_string())?;
            text_el(w, "start", &local.format("%H:%M").to_string())?;
            text_el(
                w,
                "duration",
                &duration::format_xml((e.end - e.start).num_seconds()),
            )?;
            text_el(w, "room", room_of(e))?;
            text_el(w, "slug", slug)?;
            text_el(w, "title", &e.title)?;
            text_el(w, "subtitle", &e.subtitle)?;
            text_el(w, "track", e.track.as_deref().unwrap_or(""))?;
            text_el(w, "type", &e.event_type)?;
            if let Some(l) = &e.language {
                text_el(w, "language", l)?;
            }
            text_el(w, "abstract", &e.abstract_text)?;
            text_el(w, "description", &e.description)?;
            w.create_element("persons").write_inner_content(|w| {
                for person in &e.persons {
                    let key = person.external_key.as_deref().unwrap_or("");
                    let mut el = w.create_element("person");
                    let id_attr = key
                        .strip_prefix("frab:")
                        .and_then(|n| n.parse::<i64>().ok())
                        .map(|n| n.to_string());
                    let guid_attr = key
                        .strip_prefix("guid:")
                        .map(|g| export_uuid(g).to_string());
                    if let Some(id) = &id_attr {
                        el = el.with_attribute(("id", id.as_str()));
                    }
                    if let Some(g) = &guid_attr {
                        el = el.with_attribute(("guid", g.as_str()));
                    }
                    el.write_text_content(BytesText::new(&xml_clean(&person.name)))?;
                }
                Ok(())
            })?;
            if let Some(u) = http_url(&e.url) {
                text_el(w, "url", u)?;
            }
            Ok(())
        })?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_chars_are_dropped() {
        assert_eq!(xml_clean("a\u{1}b\tc\u{fffe}"), "ab\tc");
    }
}
