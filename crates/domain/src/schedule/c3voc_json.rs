//! c3voc schedule JSON: import of version 1 (`schedule.schema.json`, as written by frab
//! and pretalx) and version 2 (`schedule2.schema.json`, as written by the hub), export of
//! version 1.

use super::days::{room_of, ExportPlan};
use super::{
    add_event_rooms, day_change_from_end, duration, err, export_uuid, http_url, json_syntax_error,
    nameless, non_empty, parse_clock, parse_date_prefix, parse_instant, parse_local_as_written,
    room_export_uuid, timeslot_minutes, Conference, EventSpec, PersonRole, PersonSpec, Programme,
    RoomSpec, ScheduleError, ScheduleFormat,
};
use chrono::{DateTime, Duration, FixedOffset, NaiveDate, NaiveTime, TimeZone, Utc};
use chrono_tz::Tz;
use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde::{Deserialize, Serialize, Serializer};
use serde_json::Value;
use std::collections::HashMap;
use std::fmt;

// ---------------------------------------------------------------------------------------
// input structs
// ---------------------------------------------------------------------------------------

/// Deserializes an optional integer id, refusing strings such as `"2814"`.
fn strict_opt_int<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    struct V;
    impl<'de> Visitor<'de> for V {
        type Value = Option<i64>;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("an integer (frab ids are JSON numbers, not strings)")
        }
        fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
            Ok(Some(v))
        }
        fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
            i64::try_from(v)
                .map(Some)
                .map_err(|_| E::invalid_value(de::Unexpected::Unsigned(v), &self))
        }
        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
    }
    d.deserialize_any(V)
}

#[derive(Deserialize)]
struct V1File {
    schedule: V1Schedule,
}

#[derive(Deserialize)]
struct V1Schedule {
    version: Option<Value>,
    base_url: Option<String>,
    conference: V1Conference,
    /// Some producers put the room list here instead of `conference.rooms`.
    rooms: Option<Vec<JRoom>>,
}

#[derive(Deserialize)]
struct V1Conference {
    acronym: String,
    title: String,
    start: Option<String>,
    end: Option<String>,
    timeslot_duration: Option<String>,
    time_zone_name: Option<String>,
    rooms: Option<Vec<JRoom>>,
    days: Vec<V1Day>,
}

#[derive(Deserialize)]
struct JRoom {
    name: String,
    guid: Option<String>,
    capacity: Option<Value>,
    description: Option<Value>,
}

#[derive(Deserialize)]
struct V1Day {
    date: String,
    day_start: Option<String>,
    day_end: Option<String>,
    rooms: OrderedRooms,
}

/// A day's `rooms` object, keeping the file's key order.
struct OrderedRooms(Vec<(String, Vec<V1Event>)>);

impl<'de> Deserialize<'de> for OrderedRooms {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = OrderedRooms;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an object mapping room names to event lists")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut m: A) -> Result<Self::Value, A::Error> {
                let mut out = Vec::new();
                while let Some((k, v)) = m.next_entry::<String, Vec<V1Event>>()? {
                    out.push((k, v));
                }
                Ok(OrderedRooms(out))
            }
        }
        d.deserialize_map(V)
    }
}

#[derive(Deserialize)]
struct V1Event {
    #[serde(default, deserialize_with = "strict_opt_int")]
    id: Option<i64>,
    guid: String,
    title: String,
    date: Option<String>,
    start: Option<String>,
    duration: Option<String>,
    end: Option<String>,
    room: Option<String>,
    slug: Option<Value>,
    url: Option<Value>,
    subtitle: Option<Value>,
    track: Option<Value>,
    #[serde(rename = "type")]
    event_type: Option<Value>,
    language: Option<Value>,
    #[serde(rename = "abstract")]
    abstract_text: Option<Value>,
    description: Option<Value>,
    persons: Option<Vec<JPerson>>,
}

#[derive(Deserialize)]
struct JPerson {
    #[serde(default, deserialize_with = "strict_opt_int")]
    id: Option<i64>,
    code: Option<Value>,
    guid: Option<String>,
    public_name: Option<String>,
    name: Option<String>,
    role: Option<String>,
}

#[derive(Deserialize)]
struct V2File {
    schedule: V2Schedule,
}

#[derive(Deserialize)]
struct V2Schedule {
    version: Option<Value>,
    base_url: Option<String>,
    conference: V2Conference,
    events: Vec<V2Event>,
}

#[derive(Deserialize)]
struct V2Conference {
    acronym: String,
    title: String,
    start: Option<String>,
    end: Option<String>,
    timeslot_duration: Option<String>,
    time_zone_name: Option<String>,
    rooms: Option<Vec<JRoom>>,
    days: Option<Vec<V2Day>>,
}

#[derive(Deserialize)]
struct V2Day {
    date: Option<String>,
    end: Option<String>,
}

#[derive(Deserialize)]
struct V2Event {
    #[serde(default, deserialize_with = "strict_opt_int")]
    id: Option<i64>,
    guid: String,
    title: String,
    start: String,
    end: Option<String>,
    duration: Option<String>,
    room: Option<Value>,
    slug: Option<Value>,
    url: Option<Value>,
    subtitle: Option<Value>,
    track: Option<Value>,
    #[serde(rename = "type")]
    event_type: Option<Value>,
    language: Option<Value>,
    #[serde(rename = "abstract")]
    abstract_text: Option<Value>,
    description: Option<Value>,
    participants: Option<Vec<JPerson>>,
    persons: Option<Vec<JPerson>>,
}

// ---------------------------------------------------------------------------------------
// import
// ---------------------------------------------------------------------------------------

/// Text of a loosely typed field: a string; a number; or, for objects, `name`, `en`, or
/// the first string value (translation maps, track references). `None` when empty.
fn text(v: &Option<Value>) -> Option<String> {
    let s = match v.as_ref()? {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        Value::Bool(b) => b.to_string(),
        Value::Object(o) => o
            .get("name")
            .or_else(|| o.get("en"))
            .or_else(|| o.values().find(|v| v.is_string()))
            .and_then(|v| v.as_str())
            .map(str::to_string)?,
        _ => return None,
    };
    non_empty(Some(s))
}

fn deserialize<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> Result<T, ScheduleError> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value: T = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let inner = e.inner();
        match inner.classify() {
            serde_json::error::Category::Data => {
                let path = e.path().to_string();
                let location = if path.is_empty() || path == "." {
                    format!("line {}, column {}", inner.line(), inner.column())
                } else {
                    path
                };
                super::err(location, inner.to_string())
            }
            _ => json_syntax_error(inner),
        }
    })?;
    de.end().map_err(|e| json_syntax_error(&e))?;
    Ok(value)
}

fn parse_tz(name: &Option<String>, path: &str) -> Result<Option<Tz>, ScheduleError> {
    match name.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        None => Ok(None),
        Some(n) => n
            .parse::<Tz>()
            .map(Some)
            .map_err(|_| err(path, format!("unknown IANA time zone `{n}`"))),
    }
}

fn rooms_from(list: Option<Vec<JRoom>>) -> Vec<RoomSpec> {
    let mut rooms: Vec<RoomSpec> = Vec::new();
    for r in list.unwrap_or_default() {
        if rooms.iter().any(|x| x.name == r.name) {
            continue;
        }
        rooms.push(RoomSpec {
            name: r.name,
            guid: non_empty(r.guid),
            capacity: r
                .capacity
                .as_ref()
                .and_then(Value::as_f64)
                .map(|c| c.round().clamp(0.0, f64::from(i32::MAX)) as i32),
            description: text(&r.description),
        });
    }
    rooms
}

/// Person list of a v1 event / v2 participant list. Key: `frab:<id>` for an integer id,
/// else `code:<code>`, else `guid:<guid>`; v2 participants prefer `guid:`.
///
/// A person without a name (`public_name` or `name`) is skipped with a warning: the event
/// is imported without them (issue 11, lenient about cosmetics).
fn persons(
    list: Option<Vec<JPerson>>,
    path: &str,
    v2: bool,
    warnings: &mut Vec<String>,
) -> Result<Vec<PersonSpec>, ScheduleError> {
    let mut out = Vec::new();
    for (i, p) in list.unwrap_or_default().into_iter().enumerate() {
        let name = non_empty(p.public_name.clone()).or_else(|| non_empty(p.name.clone()));
        let Some(name) = name else {
            warnings.push(nameless(&format!("{path}[{i}]")));
            continue;
        };
        let by_id = p.id.map(|id| format!("frab:{id}"));
        let by_code = text(&p.code).map(|c| format!("code:{c}"));
        let by_guid = non_empty(p.guid.clone()).map(|g| format!("guid:{g}"));
        let external_key = if v2 {
            by_guid.or(by_id).or(by_code)
        } else {
            by_id.or(by_code).or(by_guid)
        };
        out.push(PersonSpec {
            name: name.trim().to_string(),
            external_key,
            role: role_from_v2(p.role.as_deref()),
        });
    }
    Ok(out)
}

/// Maps a schedule v2 participant `role` to [`PersonRole`]: `SPEAKER` → Speaker,
/// `MODERATOR` → Moderator, `HOST` and `CHAIR` → Chair, anything else (`CONTRIBUTOR`,
/// `GUEST`, missing …) → Speaker. Case-insensitive.
pub fn role_from_v2(role: Option<&str>) -> PersonRole {
    match role.map(|r| r.trim().to_ascii_uppercase()).as_deref() {
        Some("MODERATOR") => PersonRole::Moderator,
        Some("HOST") | Some("CHAIR") => PersonRole::Chair,
        _ => PersonRole::Speaker,
    }
}

/// Start from a day date and a wall-clock `start` when there is no `date` instant: the
/// date (or the next one if the time is before the day change) at that time in the
/// file's zone, or at the fixed offset of the day's start.
pub(crate) fn fallback_start(
    day: NaiveDate,
    clock: NaiveTime,
    day_change: NaiveTime,
    tz: Option<Tz>,
    offset: Option<FixedOffset>,
) -> Option<DateTime<Utc>> {
    let date = if clock < day_change {
        day + Duration::days(1)
    } else {
        day
    };
    let ndt = date.and_time(clock);
    if let Some(tz) = tz {
        return Some(super::days::local_instant(tz, ndt).with_timezone(&Utc));
    }
    offset?
        .from_local_datetime(&ndt)
        .single()
        .map(|d| d.with_timezone(&Utc))
}

fn offset_of(s: &Option<String>) -> Option<FixedOffset> {
    s.as_deref()
        .and_then(|s| DateTime::parse_from_rfc3339(s.trim()).ok())
        .map(|d| *d.offset())
}

struct Seen(HashMap<String, String>);

impl Seen {
    fn check(&mut self, guid: &str, path: &str) -> Result<(), ScheduleError> {
        if guid.trim().is_empty() {
            return Err(err(format!("{path}.guid"), "empty guid"));
        }
        if let Some(first) = self.0.get(guid) {
            return Err(err(
                format!("{path}.guid"),
                format!("duplicate guid `{guid}` (first used at {first})"),
            ));
        }
        self.0.insert(guid.to_string(), path.to_string());
        Ok(())
    }
}

/// Parses c3voc schedule JSON, version 1 (`schedule.conference.days[].rooms{}`) or
/// version 2 (`schedule.events[]`), detected as in [`super::detect_format`].
///
/// Errors (the first problem only):
/// - JSON syntax: location `line L, column C`;
/// - wrong types or missing required fields (event `guid`, `title`; v1 `date`/`start`,
///   `duration`; v2 `start`, `end`/`duration`, `room`; a frab `id` or person `id` that is
///   not an integer): location is the JSON path, e.g.
///   `schedule.conference.days[0].rooms.Winterchaos[0].id`;
/// - unparseable instants or durations, negative durations, unknown `time_zone_name`,
///   empty or duplicate guids (location of the second). A person without a name is skipped with a warning ([`Programme::warnings`]).
pub fn parse_c3voc_json(bytes: &[u8]) -> Result<Programme, ScheduleError> {
    let bytes = super::strip_bom(bytes);
    match super::detect_format(bytes)? {
        ScheduleFormat::C3vocJsonV2 => parse_v2(bytes),
        _ => parse_v1(bytes),
    }
}

fn version_text(v: &Option<Value>) -> Option<String> {
    text(v)
}

fn parse_v1(bytes: &[u8]) -> Result<Programme, ScheduleError> {
    let file: V1File = deserialize(bytes)?;
    let s = file.schedule;
    let c = s.conference;
    let tz = parse_tz(&c.time_zone_name, "schedule.conference.time_zone_name")?;
    let mut day_dates = Vec::with_capacity(c.days.len());
    for (di, d) in c.days.iter().enumerate() {
        let date = parse_date_prefix(&d.date).ok_or_else(|| {
            err(
                format!("schedule.conference.days[{di}].date"),
                format!("expected a date YYYY-MM-DD, got `{}`", d.date),
            )
        })?;
        day_dates.push(date);
    }
    let day_change = match (c.days.first(), day_dates.first()) {
        (Some(d), Some(date)) => d
            .day_end
            .as_deref()
            .and_then(parse_local_as_written)
            .map(|end| day_change_from_end(*date, end))
            .unwrap_or(NaiveTime::MIN),
        _ => NaiveTime::MIN,
    };
    let mut rooms = rooms_from(c.rooms.or(s.rooms));
    let mut events = Vec::new();
    let mut warnings = Vec::new();
    let mut seen = Seen(HashMap::new());
    for (di, day) in c.days.into_iter().enumerate() {
        let date = day_dates[di];
        let offset = offset_of(&day.day_start);
        for (room_key, evs) in day.rooms.0 {
            if !rooms.iter().any(|r| r.name == room_key) {
                rooms.push(RoomSpec {
                    name: room_key.clone(),
                    guid: None,
                    capacity: None,
                    description: None,
                });
            }
            for (ei, ev) in evs.into_iter().enumerate() {
                let path = format!("schedule.conference.days[{di}].rooms.{room_key}[{ei}]");
                seen.check(&ev.guid, &path)?;
                let start = match (&ev.date, &ev.start) {
                    (Some(d), _) if !d.trim().is_empty() => parse_instant(d).ok_or_else(|| {
                        err(
                            format!("{path}.date"),
                            format!("expected an ISO 8601 date-time with offset, got `{d}`"),
                        )
                    })?,
                    (_, Some(st)) => {
                        let clock = parse_clock(st).ok_or_else(|| {
                            err(
                                format!("{path}.start"),
                                format!("expected HH:MM, got `{st}`"),
                            )
                        })?;
                        fallback_start(date, clock, day_change, tz, offset).ok_or_else(|| {
                            err(
                                format!("{path}.date"),
                                "no `date` and no time zone to place `start` in",
                            )
                        })?
                    }
                    _ => {
                        return Err(err(
                            format!("{path}.date"),
                            "missing start: neither `date` nor `start`",
                        ))
                    }
                };
                let end = event_end(start, &ev.duration, &ev.end, &path)?;
                let room = non_empty(ev.room.clone()).unwrap_or_else(|| room_key.clone());
                let persons =
                    persons(ev.persons, &format!("{path}.persons"), false, &mut warnings)?;
                events.push(EventSpec {
                    url: import_url(text(&ev.url), &ev.guid),
                    guid: ev.guid,
                    frab_id: ev.id,
                    title: ev.title.trim().to_string(),
                    subtitle: text(&ev.subtitle).unwrap_or_default(),
                    abstract_text: text(&ev.abstract_text).unwrap_or_default(),
                    description: text(&ev.description).unwrap_or_default(),
                    track: text(&ev.track),
                    event_type: text(&ev.event_type).unwrap_or_default(),
                    language: text(&ev.language),
                    start,
                    end,
                    room: Some(room),
                    slug: text(&ev.slug),
                    persons,
                });
            }
        }
    }
    add_event_rooms(&mut rooms, &events);
    let (start, end) = conference_dates(
        c.start.as_deref(),
        c.end.as_deref(),
        &day_dates,
        &events,
        tz,
    );
    Ok(Programme {
        conference: Conference {
            acronym: c.acronym,
            title: c.title,
            time_zone: tz,
            start,
            end,
            day_change,
            timeslot_minutes: timeslot_minutes(c.timeslot_duration.as_deref()),
            base_url: non_empty(s.base_url),
            version: version_text(&s.version),
            utc_offset_seconds: None,
        },
        rooms,
        events,
        warnings,
    })
}

/// The importers drop the `urn:uuid:` URL that [`export_c3voc_json`] writes for events
/// without a URL.
fn import_url(url: Option<String>, guid: &str) -> Option<String> {
    url.filter(|u| *u != format!("urn:uuid:{}", export_uuid(guid)))
}

fn event_end(
    start: DateTime<Utc>,
    duration: &Option<String>,
    end: &Option<String>,
    path: &str,
) -> Result<DateTime<Utc>, ScheduleError> {
    if let Some(d) = duration.as_deref().filter(|d| !d.trim().is_empty()) {
        let secs = duration::parse(d).ok_or_else(|| {
            err(
                format!("{path}.duration"),
                format!("expected a duration HH:MM, D:HH:MM or ISO 8601 (PT1H30M), got `{d}`"),
            )
        })?;
        return Ok(start + Duration::seconds(secs));
    }
    if let Some(e) = end.as_deref().filter(|d| !d.trim().is_empty()) {
        let end = parse_instant(e).ok_or_else(|| {
            err(
                format!("{path}.end"),
                format!("expected an ISO 8601 date-time with offset, got `{e}`"),
            )
        })?;
        if end < start {
            return Err(err(format!("{path}.end"), "event ends before it starts"));
        }
        return Ok(end);
    }
    Err(err(
        format!("{path}.duration"),
        "missing duration: neither `duration` nor `end`",
    ))
}

fn conference_dates(
    start: Option<&str>,
    end: Option<&str>,
    day_dates: &[NaiveDate],
    events: &[EventSpec],
    tz: Option<Tz>,
) -> (NaiveDate, NaiveDate) {
    let tz = tz.unwrap_or(Tz::UTC);
    let ev_dates: Vec<NaiveDate> = events
        .iter()
        .map(|e| e.start.with_timezone(&tz).date_naive())
        .collect();
    let all: Vec<NaiveDate> = day_dates.iter().chain(ev_dates.iter()).copied().collect();
    let fallback = Utc::now().date_naive();
    let s = start
        .and_then(parse_date_prefix)
        .or_else(|| all.iter().min().copied())
        .unwrap_or(fallback);
    let e = end
        .and_then(parse_date_prefix)
        .or_else(|| all.iter().max().copied())
        .unwrap_or(s);
    (s, e.max(s))
}

fn parse_v2(bytes: &[u8]) -> Result<Programme, ScheduleError> {
    let file: V2File = deserialize(bytes)?;
    let s = file.schedule;
    let c = s.conference;
    let tz = parse_tz(&c.time_zone_name, "schedule.conference.time_zone_name")?;
    let days = c.days.unwrap_or_default();
    let day_dates: Vec<NaiveDate> = days
        .iter()
        .filter_map(|d| d.date.as_deref().and_then(parse_date_prefix))
        .collect();
    let day_change = days
        .first()
        .and_then(|d| {
            let date = d.date.as_deref().and_then(parse_date_prefix)?;
            let end = d.end.as_deref().and_then(parse_local_as_written)?;
            Some(day_change_from_end(date, end))
        })
        .unwrap_or(NaiveTime::MIN);
    let mut rooms = rooms_from(c.rooms);
    let mut events = Vec::new();
    let mut warnings = Vec::new();
    let mut seen = Seen(HashMap::new());
    for (i, ev) in s.events.into_iter().enumerate() {
        let path = format!("schedule.events[{i}]");
        seen.check(&ev.guid, &path)?;
        let start = parse_instant(&ev.start).ok_or_else(|| {
            err(
                format!("{path}.start"),
                format!(
                    "expected an ISO 8601 date-time with offset, got `{}`",
                    ev.start
                ),
            )
        })?;
        // v2 names `end` first; `duration` is the fallback.
        let end = match ev.end.as_deref().filter(|e| !e.trim().is_empty()) {
            Some(_) => event_end(start, &None, &ev.end, &path)?,
            None => event_end(start, &ev.duration, &None, &path)?,
        };
        let room = text(&ev.room)
            .ok_or_else(|| err(format!("{path}.room"), "missing room (name or {name: …})"))?;
        let list = ev.participants.or(ev.persons);
        let persons = persons(list, &format!("{path}.participants"), true, &mut warnings)?;
        events.push(EventSpec {
            url: import_url(text(&ev.url), &ev.guid),
            guid: ev.guid,
            frab_id: ev.id,
            title: ev.title.trim().to_string(),
            subtitle: text(&ev.subtitle).unwrap_or_default(),
            abstract_text: text(&ev.abstract_text).unwrap_or_default(),
            description: text(&ev.description).unwrap_or_default(),
            track: text(&ev.track).or_else(|| {
                // `track: {slug: …}` without a name
                ev.track
                    .as_ref()
                    .and_then(|t| t.get("slug"))
                    .and_then(Value::as_str)
                    .map(str::to_string)
            }),
            event_type: text(&ev.event_type).unwrap_or_default(),
            language: text(&ev.language),
            start,
            end,
            room: Some(room),
            slug: text(&ev.slug),
            persons,
        });
    }
    add_event_rooms(&mut rooms, &events);
    let (start, end) = conference_dates(
        c.start.as_deref(),
        c.end.as_deref(),
        &day_dates,
        &events,
        tz,
    );
    Ok(Programme {
        conference: Conference {
            acronym: c.acronym,
            title: c.title,
            time_zone: tz,
            start,
            end,
            day_change,
            timeslot_minutes: timeslot_minutes(c.timeslot_duration.as_deref()),
            base_url: non_empty(s.base_url),
            version: version_text(&s.version),
            utc_offset_seconds: None,
        },
        rooms,
        events,
        warnings,
    })
}

// ---------------------------------------------------------------------------------------
// export
// ---------------------------------------------------------------------------------------

#[derive(Serialize)]
struct OutFile {
    #[serde(rename = "$schema")]
    schema: &'static str,
    generator: OutGenerator,
    schedule: OutSchedule,
}

#[derive(Serialize)]
struct OutGenerator {
    name: &'static str,
    version: &'static str,
}

#[derive(Serialize)]
struct OutSchedule {
    version: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    base_url: Option<String>,
    conference: OutConference,
}

#[derive(Serialize)]
struct OutConference {
    acronym: String,
    title: String,
    start: String,
    end: String,
    #[serde(rename = "daysCount")]
    days_count: usize,
    timeslot_duration: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    time_zone_name: Option<String>,
    rooms: Vec<OutRoom>,
    days: Vec<OutDay>,
}

#[derive(Serialize)]
struct OutRoom {
    name: String,
    guid: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    capacity: Option<i32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    description: Option<String>,
}

#[derive(Serialize)]
struct OutDay {
    index: usize,
    date: String,
    day_start: String,
    day_end: String,
    rooms: RoomMap,
}

/// Serialized as a JSON object in room order.
struct RoomMap(Vec<(String, Vec<OutEvent>)>);

impl Serialize for RoomMap {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut m = s.serialize_map(Some(self.0.len()))?;
        for (k, v) in &self.0 {
            m.serialize_entry(k, v)?;
        }
        m.end()
    }
}

#[derive(Serialize)]
struct OutEvent {
    guid: String,
    id: i64,
    date: String,
    start: String,
    duration: String,
    room: String,
    slug: String,
    url: String,
    title: String,
    subtitle: String,
    track: Option<String>,
    #[serde(rename = "type")]
    event_type: String,
    language: Option<String>,
    #[serde(rename = "abstract")]
    abstract_text: String,
    description: String,
    persons: Vec<Value>,
    links: Vec<Value>,
}

/// True when the name matches the v1 schema's `time_zone_name` pattern
/// `^([A-Z][a-z]+/[A-Z][a-z]+)|UTC$` (a prefix `Area/City`, or ending in `UTC`).
fn tz_name_allowed(name: &str) -> bool {
    fn word(s: &str) -> usize {
        let b = s.as_bytes();
        if b.first().is_some_and(u8::is_ascii_uppercase) {
            let n = b[1..].iter().take_while(|c| c.is_ascii_lowercase()).count();
            if n > 0 {
                return n + 1;
            }
        }
        0
    }
    if name.ends_with("UTC") {
        return true;
    }
    let a = word(name);
    a > 0 && name[a..].starts_with('/') && word(&name[a + 1..]) > 0
}

/// The JSON object of one person, valid against exactly one of the schema's `FrabPerson`
/// (`id` + `public_name`) and `PretalxPerson` (`name`, optional `code` / `guid`).
fn out_person(p: &PersonSpec) -> Value {
    let mut o = serde_json::Map::new();
    let key = p.external_key.as_deref().unwrap_or("");
    if let Some(id) = key
        .strip_prefix("frab:")
        .and_then(|n| n.parse::<i64>().ok())
    {
        o.insert("id".into(), Value::from(id));
        o.insert("public_name".into(), Value::from(p.name.clone()));
        return Value::Object(o);
    }
    o.insert("name".into(), Value::from(p.name.clone()));
    o.insert("public_name".into(), Value::from(p.name.clone()));
    if let Some(code) = key.strip_prefix("code:") {
        if !code.is_empty()
            && code
                .bytes()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
        {
            o.insert("code".into(), Value::from(code));
        }
    } else if let Some(g) = key.strip_prefix("guid:") {
        o.insert("guid".into(), Value::from(export_uuid(g).to_string()));
    }
    Value::Object(o)
}

/// Exports c3voc schedule JSON version 1, pretty-printed, valid against
/// `schedule.schema.json`.
///
/// Shape: `{"$schema", "generator", "schedule": {"version", "base_url"?, "conference":
/// {"acronym", "title", "start", "end", "daysCount", "timeslot_duration",
/// "time_zone_name"?, "rooms": [...], "days": [{"index", "date", "day_start", "day_end",
/// "rooms": {name: [event...]}}]}}}`.
///
/// - Events are grouped into programme days by [`Conference::day_change`] in `tz`; every
///   day from the conference start to its end (widened to cover all events) is listed,
///   each with every room (possibly with an empty list), events sorted by start.
/// - `acronym` is sanitized ([`super::export_acronym`]); `time_zone_name` is `tz`'s name
///   when the schema's pattern allows it, else omitted.
/// - Event `guid`: [`export_uuid`]; `id`: [`super::export_event_id`] (made unique);
///   `date`: local date-time with offset in `tz`; `start`: local `HH:MM`; `duration`:
///   `HH:MM` of `end − start` (hours may exceed 23, seconds are dropped); `slug`: the
///   source's when valid, else `<acronym>-<id>-<title words>`; `url`: the event's, else
///   `urn:uuid:<guid>` (dropped again on import).
/// - Persons: `{id, public_name}` for `frab:` keys, else `{name, public_name}` plus
///   `code` (`code:` keys matching `^[A-Z0-9]+$`) or `guid` (`guid:` keys).
pub fn export_c3voc_json(p: &Programme, tz: Tz) -> String {
    let ExportPlan {
        rooms,
        days,
        ids,
        acronym,
        slugs,
    } = ExportPlan::new(p, tz);
    let fmt_dt = |t: DateTime<Utc>| {
        t.with_timezone(&tz)
            .format("%Y-%m-%dT%H:%M:%S%:z")
            .to_string()
    };
    let out_days: Vec<OutDay> = days
        .iter()
        .map(|d| OutDay {
            index: d.index,
            date: d.date.format("%Y-%m-%d").to_string(),
            day_start: d.start.format("%Y-%m-%dT%H:%M:%S%:z").to_string(),
            day_end: d.end.format("%Y-%m-%dT%H:%M:%S%:z").to_string(),
            rooms: RoomMap(
                d.rooms
                    .iter()
                    .map(|(name, idx)| {
                        let evs = idx
                            .iter()
                            .map(|&i| {
                                let e = &p.events[i];
                                let guid = export_uuid(&e.guid);
                                OutEvent {
                                    guid: guid.to_string(),
                                    id: ids[i],
                                    date: fmt_dt(e.start),
                                    start: e.start.with_timezone(&tz).format("%H:%M").to_string(),
                                    duration: duration::format_json(
                                        (e.end - e.start).num_seconds(),
                                    ),
                                    room: room_of(e).to_string(),
                                    slug: slugs[i].clone(),
                                    url: e
                                        .url
                                        .clone()
                                        .filter(|u| !u.trim().is_empty() && !u.contains(' '))
                                        .unwrap_or_else(|| format!("urn:uuid:{guid}")),
                                    title: e.title.clone(),
                                    subtitle: e.subtitle.clone(),
                                    track: e.track.clone(),
                                    event_type: e.event_type.clone(),
                                    language: e.language.clone(),
                                    abstract_text: e.abstract_text.clone(),
                                    description: e.description.clone(),
                                    persons: e.persons.iter().map(out_person).collect(),
                                    links: Vec::new(),
                                }
                            })
                            .collect();
                        (name.clone(), evs)
                    })
                    .collect(),
            ),
        })
        .collect();
    let file = OutFile {
        schema: "https://c3voc.de/schedule/schema.json",
        generator: OutGenerator {
            name: "convene",
            version: env!("CARGO_PKG_VERSION"),
        },
        schedule: OutSchedule {
            version: p
                .conference
                .version
                .clone()
                .unwrap_or_else(|| "1.0".to_string()),
            base_url: http_url(&p.conference.base_url).map(str::to_string),
            conference: OutConference {
                acronym,
                title: p.conference.title.clone(),
                start: days
                    .first()
                    .map(|d| d.date)
                    .unwrap_or(p.conference.start)
                    .format("%Y-%m-%d")
                    .to_string(),
                end: days
                    .last()
                    .map(|d| d.date)
                    .unwrap_or(p.conference.end)
                    .format("%Y-%m-%d")
                    .to_string(),
                days_count: out_days.len(),
                timeslot_duration: duration::format_json(
                    i64::from(p.conference.timeslot_minutes) * 60,
                ),
                time_zone_name: Some(tz.name().to_string()).filter(|n| tz_name_allowed(n)),
                rooms: rooms
                    .iter()
                    .map(|r| OutRoom {
                        name: r.name.clone(),
                        guid: room_export_uuid(r).to_string(),
                        capacity: r.capacity,
                        description: r.description.clone(),
                    })
                    .collect(),
                days: out_days,
            },
        },
    };
    serde_json::to_string_pretty(&file).expect("schedule JSON serializes")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tz_pattern() {
        assert!(tz_name_allowed("Europe/Berlin"));
        assert!(tz_name_allowed("UTC"));
        assert!(tz_name_allowed("America/Argentina/Buenos_Aires"));
        assert!(!tz_name_allowed("Etc/GMT+1"));
        assert!(!tz_name_allowed("EST"));
    }

    #[test]
    fn roles() {
        assert_eq!(role_from_v2(Some("SPEAKER")), PersonRole::Speaker);
        assert_eq!(role_from_v2(Some("moderator")), PersonRole::Moderator);
        assert_eq!(role_from_v2(Some("HOST")), PersonRole::Chair);
        assert_eq!(role_from_v2(Some("CHAIR")), PersonRole::Chair);
        assert_eq!(role_from_v2(Some("CONTRIBUTOR")), PersonRole::Speaker);
        assert_eq!(role_from_v2(None), PersonRole::Speaker);
    }

    #[test]
    fn string_id_is_refused_with_path() {
        let j = br#"{"schedule":{"version":"1","conference":{"acronym":"abcd","title":"t",
            "days":[{"date":"2022-12-28","rooms":{"R 1":[{"id":"7","guid":"g","title":"x",
            "date":"2022-12-28T14:00:00+01:00","duration":"00:45","room":"R 1"}]}}]}}}"#;
        let e = parse_c3voc_json(j).unwrap_err();
        assert_eq!(e.location, "schedule.conference.days[0].rooms.R 1[0].id");
        assert!(e.message.contains("expected an integer"), "{e}");
    }
}

/// A c3voc JSON schedule moved by whole weeks so that its conference starts at least
/// `lead_days` after `today` (and less than a week later), on the same weekday and at the
/// same local times in its `time_zone_name` (UTC when it names none): every date
/// (`YYYY-MM-DD`) and every RFC 3339 date-time in the file moves; clock times (`09:00`),
/// durations and everything else stay. Used by `convene serve --demo` so that the demo
/// forum is always ahead, open for registration and sign-ups.
/// Errors: the file is not JSON or has no `schedule.conference.start` date.
pub fn moved_ahead(
    bytes: &[u8],
    today: NaiveDate,
    lead_days: i64,
) -> Result<Vec<u8>, ScheduleError> {
    let fail = |m: &str| ScheduleError {
        location: "schedule.conference.start".into(),
        message: m.into(),
    };
    let mut v: Value = serde_json::from_slice(bytes).map_err(|e| fail(&e.to_string()))?;
    let conf = &v["schedule"]["conference"];
    let start = conf["start"]
        .as_str()
        .and_then(|s| NaiveDate::parse_from_str(s.get(..10).unwrap_or(s), "%Y-%m-%d").ok())
        .ok_or_else(|| fail("a date YYYY-MM-DD is needed to move the schedule"))?;
    let tz: Tz = conf["time_zone_name"]
        .as_str()
        .and_then(|s| s.parse().ok())
        .unwrap_or(Tz::UTC);
    let target = today + Duration::days(lead_days);
    let weeks = ((target - start).num_days() + 6).div_euclid(7);
    shift_value(&mut v, Duration::days(weeks * 7), tz);
    Ok(serde_json::to_vec_pretty(&v).expect("JSON values serialize"))
}

fn shift_value(v: &mut Value, by: Duration, tz: Tz) {
    match v {
        Value::String(s) => {
            if s.len() == 10 {
                if let Ok(d) = NaiveDate::parse_from_str(s, "%Y-%m-%d") {
                    *s = (d + by).to_string();
                }
            } else if let Ok(t) = DateTime::parse_from_rfc3339(s) {
                let local = t.with_timezone(&tz).naive_local() + by;
                if let Some(n) = tz.from_local_datetime(&local).earliest() {
                    *s = n.fixed_offset().to_rfc3339();
                }
            }
        }
        Value::Array(a) => a.iter_mut().for_each(|x| shift_value(x, by, tz)),
        Value::Object(o) => o.values_mut().for_each(|x| shift_value(x, by, tz)),
        _ => {}
    }
}
