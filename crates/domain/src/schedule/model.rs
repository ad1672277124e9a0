//! The format-neutral programme that every schedule importer produces and every exporter
//! consumes. It carries exactly what convene keeps of a frab/c3voc schedule.

use chrono::{DateTime, NaiveDate, NaiveTime, Utc};

/// A whole programme: the conference header, its rooms and its events.
#[derive(Debug, Clone, PartialEq)]
pub struct Programme {
    /// The conference (forum) header.
    pub conference: Conference,
    /// Rooms in display order. Importers list every room an event names, even when the
    /// file has no separate room list.
    pub rooms: Vec<RoomSpec>,
    /// Events (sessions) in file order.
    pub events: Vec<EventSpec>,
    /// What the importer left out of a cosmetic fault instead of refusing the file, one
    /// sentence each beginning with its location (e.g. a person without a name:
    /// `events[3].persons[0]: person without a name skipped`). Empty for a programme
    /// read from the database.
    pub warnings: Vec<String>,
}

/// The conference header of a schedule.
#[derive(Debug, Clone, PartialEq)]
pub struct Conference {
    /// Short name, e.g. `31c3`; convene derives the forum slug from it.
    pub acronym: String,
    /// Full title.
    pub title: String,
    /// IANA time zone when the file names one (`time_zone_name`); frab XML has none.
    pub time_zone: Option<chrono_tz::Tz>,
    /// First local day.
    pub start: NaiveDate,
    /// Last local day (inclusive).
    pub end: NaiveDate,
    /// Local time at which one programme day turns into the next (frab's `day_change`,
    /// e.g. 04:00 at a congress whose nights run past midnight). 00:00 when unknown.
    pub day_change: NaiveTime,
    /// Grid step of the programme in minutes (frab's `timeslot_duration`), default 5.
    pub timeslot_minutes: u32,
    /// `base_url` of the file, when given.
    pub base_url: Option<String>,
    /// The schedule `version` string, when given.
    pub version: Option<String>,
    /// The UTC offset (seconds east) the file writes its times in, when it names no time
    /// zone (frab XML): taken from the first day's `start`. Lets an importer pick a zone.
    pub utc_offset_seconds: Option<i32>,
}

/// A room as the schedule describes it.
#[derive(Debug, Clone, PartialEq)]
pub struct RoomSpec {
    /// Display name; unique within a forum.
    pub name: String,
    /// Room guid when the file gives one (c3voc JSON).
    pub guid: Option<String>,
    /// Seats, when given.
    pub capacity: Option<i32>,
    /// Free-text description, when given.
    pub description: Option<String>,
}

/// One event (a session on the programme).
#[derive(Debug, Clone, PartialEq)]
pub struct EventSpec {
    /// The source's guid, kept verbatim (it may not be a UUID, as in the 31C3 file).
    pub guid: String,
    /// frab's numeric event `id`, when given.
    pub frab_id: Option<i64>,
    /// Title.
    pub title: String,
    /// Subtitle ("" when none).
    pub subtitle: String,
    /// Abstract ("" when none).
    pub abstract_text: String,
    /// Description ("" when none).
    pub description: String,
    /// Track name, when given.
    pub track: Option<String>,
    /// The source's event `type` (e.g. `lecture`, `workshop`, `Talk`), verbatim.
    pub event_type: String,
    /// Language code, when given.
    pub language: Option<String>,
    /// Start instant (UTC).
    pub start: DateTime<Utc>,
    /// End instant (UTC); `end - start` is the duration.
    pub end: DateTime<Utc>,
    /// Room name; must be one of `Programme::rooms` when set.
    pub room: Option<String>,
    /// frab slug, when given.
    pub slug: Option<String>,
    /// Public URL of the event page, when given.
    pub url: Option<String>,
    /// People on the programme for this event, in order.
    pub persons: Vec<PersonSpec>,
}

/// Someone shown on the programme for an event.
#[derive(Debug, Clone, PartialEq)]
pub struct PersonSpec {
    /// Public name.
    pub name: String,
    /// A stable identifier of the person in the source, prefixed by its kind so that
    /// different sources never collide: `frab:<id>` (frab/pretalx numeric id),
    /// `code:<pretalx code>`, `guid:<uuid>` (schedule v2). `None` when the file has none.
    pub external_key: Option<String>,
    /// Role on this event.
    pub role: PersonRole,
}

/// The role a person has on an event (schedule v2 `participants[].role`; v1 and XML only
/// know speakers).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PersonRole {
    /// Gives the talk / sits on the panel.
    Speaker,
    /// Moderates the session.
    Moderator,
    /// Chairs the session.
    Chair,
}

impl PersonRole {
    /// The lower-case name used in the API and the database.
    pub fn as_str(self) -> &'static str {
        match self {
            PersonRole::Speaker => "speaker",
            PersonRole::Moderator => "moderator",
            PersonRole::Chair => "chair",
        }
    }

    /// Parses `speaker` / `moderator` / `chair` (any case).
    pub fn parse(s: &str) -> Option<PersonRole> {
        match s.to_ascii_lowercase().as_str() {
            "speaker" => Some(PersonRole::Speaker),
            "moderator" => Some(PersonRole::Moderator),
            "chair" => Some(PersonRole::Chair),
            _ => None,
        }
    }
}

// Defined with the other errors (the lowest layer); named here as the formats' error.
pub use crate::error::ScheduleError;

/// The formats convene reads and writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScheduleFormat {
    /// frab schedule XML (`schedule.xml.xsd`).
    FrabXml,
    /// c3voc schedule JSON version 1 (frab's and pretalx's exports).
    C3vocJson,
    /// c3voc schedule JSON version 2 (flat `events`).
    C3vocJsonV2,
}
