//! Sessions on a forum's programme and the rules that keep the programme sound:
//! a session ends after it starts, two live sessions never share a room at overlapping
//! times, and a speaker is never in two overlapping live sessions (DESIGN.md, "Session").
//! Every check runs inside the write transaction that makes the change, after the forum
//! row is locked, so two concurrent writers cannot both pass it.

pub mod entity;

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, FixedOffset, NaiveDate, SubsecRound, Utc};
use sea_orm::sea_query::Query;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, DatabaseConnection,
    DatabaseTransaction, EntityTrait, IntoActiveModel, QueryFilter, QueryOrder, QuerySelect, Set,
};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

pub use entity::session::Model as Session;
use entity::{session, session_speaker};

use crate::accounts::Caller;
use crate::change::Change;
use crate::error::{ConflictKind, ConflictingSession, Error, FieldError, Result};
use crate::forums::{self, ForumAccess};
use crate::rooms::{self, Room};
use crate::schedule::PersonRole;
use crate::speakers;
use crate::teams::Permission;
use crate::util::{self, double_option, Page};

/// What kind of session it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SessionKind {
    /// Everyone together.
    Plenary,
    /// A panel discussion.
    Panel,
    /// A working session in a smaller group.
    Workshop,
    /// A talk / lecture.
    Talk,
    /// An event beside the main programme.
    SideEvent,
    /// A ceremony (e.g. the signing of the declaration).
    Ceremony,
    /// Coffee, lunch, registration desk.
    Break,
    /// Anything else.
    Other,
}

impl SessionKind {
    /// Every kind, in display order.
    pub const ALL: [SessionKind; 8] = [
        SessionKind::Plenary,
        SessionKind::Panel,
        SessionKind::Workshop,
        SessionKind::Talk,
        SessionKind::SideEvent,
        SessionKind::Ceremony,
        SessionKind::Break,
        SessionKind::Other,
    ];

    /// Stored name (`side_event`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            SessionKind::Plenary => "plenary",
            SessionKind::Panel => "panel",
            SessionKind::Workshop => "workshop",
            SessionKind::Talk => "talk",
            SessionKind::SideEvent => "side_event",
            SessionKind::Ceremony => "ceremony",
            SessionKind::Break => "break",
            SessionKind::Other => "other",
        }
    }

    /// Parses a stored name.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// Maps a frab/pretalx event `type` to a kind: a kind's own name (any case, `-` or
    /// space for `_`), `lecture`/`talk`/`keynote` → talk, `podium`/`discussion` → panel,
    /// `meeting`/`hands-on` → workshop, anything else → other.
    pub fn from_event_type(t: &str) -> Self {
        let norm = t.trim().to_lowercase().replace(['-', ' '], "_");
        if let Some(k) = Self::parse(&norm) {
            return k;
        }
        match norm.as_str() {
            "lecture" | "keynote" | "lightning_talk" | "lightningtalk" => SessionKind::Talk,
            "podium" | "discussion" | "panel_discussion" => SessionKind::Panel,
            "meeting" | "hands_on" | "workshop_session" => SessionKind::Workshop,
            "pause" | "lunch" | "coffee" => SessionKind::Break,
            _ => SessionKind::Other,
        }
    }
}

/// A session's status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum SessionStatus {
    /// On the programme.
    Scheduled,
    /// Called off; kept so that people and calendars can be told.
    Cancelled,
}

impl SessionStatus {
    /// Stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            SessionStatus::Scheduled => "scheduled",
            SessionStatus::Cancelled => "cancelled",
        }
    }

    /// The status of a stored session: anything but `scheduled` (only `cancelled` is ever
    /// written) reads as `Cancelled`.
    pub fn of(s: &Session) -> Self {
        if s.status == SessionStatus::Scheduled.as_str() {
            SessionStatus::Scheduled
        } else {
            SessionStatus::Cancelled
        }
    }
}

/// A person's role on a session, as given in requests.
#[derive(Debug, Clone, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SessionSpeakerInput {
    /// A speaker of the same forum.
    pub speaker_id: Uuid,
    /// `speaker` (default), `moderator` or `chair`.
    #[serde(
        default,
        deserialize_with = "crate::text::line::<{ crate::text::CODE }, _, _>"
    )]
    #[schema(max_length = 100)]
    pub role: Option<String>,
}

/// A person on a session, as shown.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct SessionSpeakerView {
    /// Speaker id.
    pub id: Uuid,
    /// Public name.
    pub name: String,
    /// `speaker`, `moderator` or `chair`.
    pub role: String,
}

/// The room of a session, as shown.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct RoomRef {
    /// Room id.
    pub id: Uuid,
    /// Room name.
    pub name: String,
}

/// Start and end in the forum's time zone.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct LocalTimes {
    /// IANA zone of the forum.
    pub time_zone: String,
    /// Start, RFC 3339 with the zone's offset at that instant, always written as an offset
    /// (`+00:00` in Lisbon in winter, never `Z`, which would read as UTC).
    #[serde(serialize_with = "util::with_offset")]
    #[schema(value_type = String, example = "2027-01-20T10:00:00+00:00")]
    pub starts_at: DateTime<FixedOffset>,
    /// End, as `starts_at`.
    #[serde(serialize_with = "util::with_offset")]
    #[schema(value_type = String)]
    pub ends_at: DateTime<FixedOffset>,
    /// The programme day the session belongs to (local date; see the forum's `day_change`).
    pub day: NaiveDate,
}

impl LocalTimes {
    /// `[starts_at, ends_at)` in `forum`'s zone, with its programme day.
    pub fn of(forum: &forums::Forum, starts_at: DateTime<Utc>, ends_at: DateTime<Utc>) -> Self {
        let tz: chrono_tz::Tz = forum.time_zone.parse().unwrap_or(chrono_tz::UTC);
        LocalTimes {
            time_zone: forum.time_zone.clone(),
            starts_at: starts_at.with_timezone(&tz).fixed_offset(),
            ends_at: ends_at.with_timezone(&tz).fixed_offset(),
            day: util::programme_day(starts_at, tz, forum.day_change),
        }
    }
}

/// A session as the API shows it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct SessionView {
    /// Id.
    pub id: Uuid,
    /// Stable guid, kept across edits and re-imports.
    pub guid: String,
    /// Kind.
    pub kind: SessionKind,
    /// The source's event type (frab `type`), when imported.
    pub event_type: String,
    /// Title.
    pub title: String,
    /// Subtitle.
    pub subtitle: String,
    /// Abstract.
    #[serde(rename = "abstract")]
    pub abstract_text: String,
    /// Description.
    pub description: String,
    /// Track.
    pub track: Option<String>,
    /// Language (BCP 47).
    pub language: Option<String>,
    /// Start, RFC 3339 UTC.
    pub starts_at: DateTime<Utc>,
    /// End, RFC 3339 UTC.
    pub ends_at: DateTime<Utc>,
    /// `ends_at - starts_at`, in minutes.
    pub duration_minutes: i64,
    /// The same instants in the forum's time zone.
    pub local: LocalTimes,
    /// Room, if any.
    pub room: Option<RoomRef>,
    /// Seats: the session's own capacity, else its room's; `null` = unlimited.
    pub capacity: Option<i32>,
    /// Status.
    pub status: SessionStatus,
    /// frab slug.
    pub slug: Option<String>,
    /// Page URL.
    pub url: Option<String>,
    /// People on the session, in order.
    pub speakers: Vec<SessionSpeakerView>,
    /// Row version; ETag `"<version>"`.
    pub version: i32,
}

/// Body of `POST /forums/{slug}/sessions`.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewSession {
    /// Stable guid; default a new UUID. Unique within the forum.
    #[serde(
        default,
        deserialize_with = "crate::text::line::<{ crate::text::NAME }, _, _>"
    )]
    #[schema(max_length = 200)]
    pub guid: Option<String>,
    /// Kind.
    pub kind: SessionKind,
    /// Title, 1–500 characters.
    #[serde(deserialize_with = "crate::text::line::<500, _, _>")]
    #[schema(max_length = 500)]
    pub title: String,
    /// Subtitle.
    #[serde(default, deserialize_with = "crate::text::line::<500, _, _>")]
    #[schema(max_length = 500)]
    pub subtitle: Option<String>,
    /// Abstract.
    #[serde(
        default,
        rename = "abstract",
        deserialize_with = "crate::text::text::<{ crate::text::LONG }, _, _>"
    )]
    #[schema(max_length = 10000)]
    pub abstract_text: Option<String>,
    /// Description.
    #[serde(
        default,
        deserialize_with = "crate::text::text::<{ crate::text::LONG }, _, _>"
    )]
    #[schema(max_length = 10000)]
    pub description: Option<String>,
    /// Track.
    #[serde(
        default,
        deserialize_with = "crate::text::line::<{ crate::text::NAME }, _, _>"
    )]
    #[schema(max_length = 200)]
    pub track: Option<String>,
    /// Language, BCP 47.
    #[serde(
        default,
        deserialize_with = "crate::text::line::<{ crate::text::CODE }, _, _>"
    )]
    #[schema(max_length = 100)]
    pub language: Option<String>,
    /// Start: RFC 3339 with offset, or a local time without one (`2027-03-27T16:00`) read
    /// in the forum's zone (422 when it does not exist there or exists twice; see
    /// [`util::When`]). Stored in UTC, whole seconds. Within the forum's programme days.
    #[schema(value_type = String, example = "2027-03-27T16:00:00+00:00")]
    pub starts_at: util::When,
    /// End, in either form; must be after `starts_at` (409 `invalid-time-range`), and
    /// within the forum's programme days (422).
    #[schema(value_type = String, example = "2027-03-27T17:00")]
    pub ends_at: util::When,
    /// A room of the same forum.
    #[serde(default)]
    pub room_id: Option<Uuid>,
    /// Seats (default: the room's).
    #[serde(default, deserialize_with = "crate::bounds::int::<0, 1000000, _, _>")]
    #[schema(minimum = 0, maximum = 1000000)]
    pub capacity: Option<i32>,
    /// frab slug.
    #[serde(
        default,
        deserialize_with = "crate::text::line::<{ crate::text::TITLE }, _, _>"
    )]
    #[schema(max_length = 300)]
    pub slug: Option<String>,
    /// Page URL.
    #[serde(
        default,
        deserialize_with = "crate::text::line::<{ crate::text::PARAM }, _, _>"
    )]
    #[schema(max_length = 1000)]
    pub url: Option<String>,
    /// People, in order.
    #[serde(default)]
    pub speakers: Vec<SessionSpeakerInput>,
}

/// Body of `PATCH /forums/{slug}/sessions/{id}`: absent fields stay; `null` clears a
/// nullable field; `speakers` replaces the whole list.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SessionPatch {
    /// New kind.
    pub kind: Option<SessionKind>,
    /// New title.
    #[serde(default, deserialize_with = "crate::text::line::<500, _, _>")]
    #[schema(max_length = 500)]
    pub title: Option<String>,
    /// New subtitle.
    #[serde(default, deserialize_with = "crate::text::line::<500, _, _>")]
    #[schema(max_length = 500)]
    pub subtitle: Option<String>,
    /// New abstract.
    #[serde(
        default,
        rename = "abstract",
        deserialize_with = "crate::text::text::<{ crate::text::LONG }, _, _>"
    )]
    #[schema(max_length = 10000)]
    pub abstract_text: Option<String>,
    /// New description.
    #[serde(
        default,
        deserialize_with = "crate::text::text::<{ crate::text::LONG }, _, _>"
    )]
    #[schema(max_length = 10000)]
    pub description: Option<String>,
    /// New track or `null`.
    #[serde(
        default,
        deserialize_with = "crate::text::line::<{ crate::text::NAME }, _, _>"
    )]
    #[schema(value_type = Option<String>, max_length = 200)]
    pub track: Option<Option<String>>,
    /// New language or `null`.
    #[serde(
        default,
        deserialize_with = "crate::text::line::<{ crate::text::CODE }, _, _>"
    )]
    #[schema(value_type = Option<String>, max_length = 100)]
    pub language: Option<Option<String>>,
    /// New start, RFC 3339 with offset or local time in the forum's zone (as in
    /// [`NewSession`]).
    #[schema(value_type = Option<String>)]
    pub starts_at: Option<util::When>,
    /// New end, in either form.
    #[schema(value_type = Option<String>)]
    pub ends_at: Option<util::When>,
    /// New room or `null`.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<Uuid>)]
    pub room_id: Option<Option<Uuid>>,
    /// New capacity or `null`.
    #[serde(default, deserialize_with = "crate::bounds::int::<0, 1000000, _, _>")]
    #[schema(value_type = Option<i32>, minimum = 0, maximum = 1000000)]
    pub capacity: Option<Option<i32>>,
    /// `scheduled` or `cancelled`.
    pub status: Option<SessionStatus>,
    /// New slug or `null`.
    #[serde(
        default,
        deserialize_with = "crate::text::line::<{ crate::text::TITLE }, _, _>"
    )]
    #[schema(value_type = Option<String>, max_length = 300)]
    pub slug: Option<Option<String>>,
    /// New URL or `null`.
    #[serde(
        default,
        deserialize_with = "crate::text::line::<{ crate::text::PARAM }, _, _>"
    )]
    #[schema(value_type = Option<String>, max_length = 1000)]
    pub url: Option<Option<String>>,
    /// New list of people.
    pub speakers: Option<Vec<SessionSpeakerInput>>,
}

/// Query of `GET /forums/{slug}/sessions`.
#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
pub struct SessionQuery {
    /// Programme day, a local date in the forum's zone (`YYYY-MM-DD`; see `day_change`).
    pub day: Option<NaiveDate>,
    /// Room id.
    pub room: Option<Uuid>,
    /// Track name (exact).
    #[serde(
        default,
        deserialize_with = "crate::text::line::<{ crate::text::NAME }, _, _>"
    )]
    #[param(max_length = 200)]
    pub track: Option<String>,
    /// Kind.
    pub kind: Option<SessionKind>,
    /// Status (default: both).
    pub status: Option<SessionStatus>,
    /// Cursor from a previous page.
    #[serde(
        default,
        deserialize_with = "crate::text::line::<{ crate::text::PARAM }, _, _>"
    )]
    #[param(max_length = 1000)]
    pub cursor: Option<String>,
    /// Page size, 1–500, default 50.
    #[serde(default, deserialize_with = "crate::bounds::int::<1, 500, _, _>")]
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<u64>,
}

/// Whether two half-open instant ranges `[a0, a1)` and `[b0, b1)` overlap.
pub fn overlaps(
    a0: DateTime<Utc>,
    a1: DateTime<Utc>,
    b0: DateTime<Utc>,
    b1: DateTime<Utc>,
) -> bool {
    a0 < b1 && b0 < a1
}

/// `2025-06-12 23:30 – 2025-06-13 01:00 Europe/Zurich`: a session's span in local time.
fn local_span(s: &Session, tz: chrono_tz::Tz) -> String {
    format!(
        "{} – {} {}",
        s.starts_at.with_timezone(&tz).format("%Y-%m-%d %H:%M"),
        s.ends_at.with_timezone(&tz).format("%Y-%m-%d %H:%M"),
        tz.name()
    )
}

fn conflicting(s: &Session) -> ConflictingSession {
    ConflictingSession {
        id: s.id,
        guid: s.guid.clone(),
        title: s.title.clone(),
        starts_at: s.starts_at,
        ends_at: s.ends_at,
    }
}

/// Builds the views of `sessions` with their rooms and people (two queries).
pub async fn views(
    db: &impl ConnectionTrait,
    access: &ForumAccess,
    sessions: Vec<Session>,
) -> Result<Vec<SessionView>> {
    let rooms: HashMap<Uuid, Room> = rooms::all_of_forum(db, access.forum.id)
        .await?
        .into_iter()
        .map(|r| (r.id, r))
        .collect();
    let ids: Vec<Uuid> = sessions.iter().map(|s| s.id).collect();
    let links = if ids.is_empty() {
        vec![]
    } else {
        session_speaker::Entity::find()
            .filter(session_speaker::Column::SessionId.is_in(ids))
            .order_by_asc(session_speaker::Column::Position)
            .all(db)
            .await?
    };
    let speaker_ids: HashSet<Uuid> = links.iter().map(|l| l.speaker_id).collect();
    let names: HashMap<Uuid, String> = if speaker_ids.is_empty() {
        HashMap::new()
    } else {
        speakers::entity::Entity::find()
            .filter(speakers::entity::Column::Id.is_in(speaker_ids))
            .all(db)
            .await?
            .into_iter()
            .map(|s| (s.id, s.name))
            .collect()
    };
    let mut by_session: HashMap<Uuid, Vec<SessionSpeakerView>> = HashMap::new();
    for l in links {
        by_session
            .entry(l.session_id)
            .or_default()
            .push(SessionSpeakerView {
                id: l.speaker_id,
                name: names.get(&l.speaker_id).cloned().unwrap_or_default(),
                role: l.role,
            });
    }
    Ok(sessions
        .into_iter()
        .map(|s| {
            let room = s.room_id.and_then(|id| rooms.get(&id));
            SessionView {
                id: s.id,
                guid: s.guid.clone(),
                kind: SessionKind::parse(&s.kind).unwrap_or(SessionKind::Other),
                event_type: s.event_type.clone(),
                title: s.title.clone(),
                subtitle: s.subtitle.clone(),
                abstract_text: s.abstract_text.clone(),
                description: s.description.clone(),
                track: s.track.clone(),
                language: s.language.clone(),
                starts_at: s.starts_at,
                ends_at: s.ends_at,
                duration_minutes: (s.ends_at - s.starts_at).num_minutes(),
                local: LocalTimes::of(&access.forum, s.starts_at, s.ends_at),
                room: room.map(|r| RoomRef {
                    id: r.id,
                    name: r.name.clone(),
                }),
                capacity: s.capacity.or(room.and_then(|r| r.capacity)),
                status: SessionStatus::of(&s),
                slug: s.slug.clone(),
                url: s.url.clone(),
                speakers: by_session.remove(&s.id).unwrap_or_default(),
                version: s.version,
            }
        })
        .collect())
}

/// Lists a forum's sessions ordered by start then id, filtered, one page at a time.
/// Errors: 404 forum not visible; 422 bad cursor or limit.
pub async fn list(
    db: &DatabaseConnection,
    caller: &Caller,
    slug: &str,
    q: SessionQuery,
) -> Result<(ForumAccess, Page<SessionView>)> {
    let access = forums::find_visible(db, caller, slug).await?;
    let limit = util::page_limit(q.limit)?;
    let mut sel = session::Entity::find().filter(session::Column::ForumId.eq(access.forum.id));
    if let Some(day) = q.day {
        let (from, to) = util::programme_day_range(day, access.tz(), access.forum.day_change);
        sel = sel
            .filter(session::Column::StartsAt.gte(from))
            .filter(session::Column::StartsAt.lt(to));
    }
    if let Some(room) = q.room {
        sel = sel.filter(session::Column::RoomId.eq(room));
    }
    if let Some(track) = &q.track {
        sel = sel.filter(session::Column::Track.eq(track.clone()));
    }
    if let Some(kind) = q.kind {
        sel = sel.filter(session::Column::Kind.eq(kind.as_str()));
    }
    if let Some(status) = q.status {
        sel = sel.filter(session::Column::Status.eq(status.as_str()));
    }
    if let Some(c) = &q.cursor {
        let (at, id): (DateTime<Utc>, Uuid) = util::decode_cursor(c)?;
        sel = sel.filter(
            Condition::any().add(session::Column::StartsAt.gt(at)).add(
                Condition::all()
                    .add(session::Column::StartsAt.eq(at))
                    .add(session::Column::Id.gt(id)),
            ),
        );
    }
    let mut rows = sel
        .order_by_asc(session::Column::StartsAt)
        .order_by_asc(session::Column::Id)
        .limit(limit + 1)
        .all(db)
        .await?;
    let next_cursor = if rows.len() as u64 > limit {
        rows.truncate(limit as usize);
        rows.last()
            .map(|s| util::encode_cursor(&(s.starts_at, s.id)))
    } else {
        None
    };
    let items = views(db, &access, rows).await?;
    Ok((access, Page { items, next_cursor }))
}

async fn find_in(db: &impl ConnectionTrait, forum_id: Uuid, id: Uuid) -> Result<Session> {
    session::Entity::find_by_id(id)
        .filter(session::Column::ForumId.eq(forum_id))
        .one(db)
        .await?
        .ok_or(Error::NotFound("session"))
}

/// One session with its room and people. Errors: 404.
pub async fn get(
    db: &DatabaseConnection,
    caller: &Caller,
    slug: &str,
    id: Uuid,
) -> Result<SessionView> {
    let access = forums::find_visible(db, caller, slug).await?;
    let s = find_in(db, access.forum.id, id).await?;
    Ok(views(db, &access, vec![s]).await?.remove(0))
}

fn opt_text(v: Option<String>) -> Option<String> {
    v.map(|s| s.trim().to_owned()).filter(|s| !s.is_empty())
}

fn validate_fields(s: &Session) -> Vec<FieldError> {
    let mut errs = vec![];
    let n = s.title.chars().count();
    if n == 0 || n > 500 {
        errs.push(FieldError::new("title", "must be 1–500 characters"));
    }
    if s.guid.trim().is_empty() || s.guid.len() > 200 {
        errs.push(FieldError::new("guid", "must be 1–200 characters"));
    }
    if let Some(l) = &s.language {
        if language_tags::LanguageTag::parse(l).is_err() {
            errs.push(FieldError::new(
                "language",
                format!("`{l}` is not a BCP 47 language tag"),
            ));
        }
    }
    if matches!(s.capacity, Some(c) if c < 0) {
        errs.push(FieldError::new("capacity", "must not be negative"));
    }
    if (s.ends_at - s.starts_at).num_hours() > 24 * 7 {
        errs.push(FieldError::new("ends_at", "a session lasts at most 7 days"));
    }
    errs
}

/// Reads `starts_at` and `ends_at` as sent (with an offset, or local in the forum's zone;
/// [`util::When::resolve`]) as UTC instants in whole seconds. Errors: 422 naming each field.
fn resolve_times(
    access: &ForumAccess,
    starts_at: Option<util::When>,
    ends_at: Option<util::When>,
) -> Result<(Option<DateTime<Utc>>, Option<DateTime<Utc>>)> {
    let tz = access.tz();
    let mut errs = vec![];
    let mut one = |field: &str, w: Option<util::When>| match w.map(|w| w.resolve(field, tz)) {
        Some(Ok(t)) => Some(t.trunc_subsecs(0)),
        Some(Err(e)) => {
            errs.push(e);
            None
        }
        None => None,
    };
    let (a, b) = (one("starts_at", starts_at), one("ends_at", ends_at));
    if errs.is_empty() {
        Ok((a, b))
    } else {
        Err(Error::Validation(errs))
    }
}

/// The rule that a session lies within its forum's programme days: it starts no earlier
/// than `day_change` on `first_day` and ends no later than `day_change` on the day after
/// `last_day`, local time ([`forums::programme_range`]). To move a session outside, change
/// the forum's days first. Returns the complaints (field `starts_at` / `ends_at`), naming
/// the allowed range in the forum's zone.
pub fn within_programme(
    f: &forums::Forum,
    starts_at: DateTime<Utc>,
    ends_at: DateTime<Utc>,
) -> Vec<FieldError> {
    let (from, to) = forums::programme_range(f);
    let tz: chrono_tz::Tz = f.time_zone.parse().unwrap_or(chrono_tz::UTC);
    let range = || {
        format!(
            "must lie within the forum's programme days {} – {} ({} to {}, {}); change the forum's first_day/last_day first",
            f.first_day,
            f.last_day,
            from.with_timezone(&tz).fixed_offset().to_rfc3339(),
            to.with_timezone(&tz).fixed_offset().to_rfc3339(),
            tz.name()
        )
    };
    let mut errs = vec![];
    if starts_at < from || starts_at >= to {
        errs.push(FieldError::new("starts_at", range()));
    }
    if ends_at > to || ends_at <= from {
        errs.push(FieldError::new("ends_at", range()));
    }
    errs
}

fn parse_speakers(list: &[SessionSpeakerInput]) -> Result<Vec<(Uuid, PersonRole)>> {
    let mut errs = vec![];
    let mut seen = HashSet::new();
    let mut out = vec![];
    for (i, sp) in list.iter().enumerate() {
        let role = match &sp.role {
            None => PersonRole::Speaker,
            Some(r) => match PersonRole::parse(r) {
                Some(r) => r,
                None => {
                    errs.push(FieldError::new(
                        format!("speakers[{i}].role"),
                        "must be speaker, moderator or chair",
                    ));
                    continue;
                }
            },
        };
        if !seen.insert(sp.speaker_id) {
            errs.push(FieldError::new(
                format!("speakers[{i}].speaker_id"),
                "is listed twice",
            ));
            continue;
        }
        out.push((sp.speaker_id, role));
    }
    if errs.is_empty() {
        Ok(out)
    } else {
        Err(Error::Validation(errs))
    }
}

/// Checks the programme rules for `s` (as it is about to be stored) against the other
/// live sessions of its forum: time range, room owned by the forum and free, speakers owned
/// by the forum and free. Must run inside the write transaction, after [`crate::db::lock_forum`].
/// Errors: 409 `invalid-time-range`, `room-double-booked`, `speaker-double-booked`
/// (naming the other session); 422 for a room or speaker of another forum.
pub async fn check_rules(
    txn: &impl ConnectionTrait,
    s: &Session,
    people: &[(Uuid, PersonRole)],
    tz: chrono_tz::Tz,
) -> Result<()> {
    if s.ends_at <= s.starts_at {
        return Err(Error::Conflict {
            kind: ConflictKind::InvalidTimeRange,
            message: format!(
                "the session ends ({}) before or when it starts ({})",
                s.ends_at.to_rfc3339(),
                s.starts_at.to_rfc3339()
            ),
            session: None,
            errors: vec![FieldError::new("ends_at", "must be after starts_at")],
        });
    }
    if let Some(room_id) = s.room_id {
        let room = rooms::entity::Entity::find_by_id(room_id)
            .filter(rooms::entity::Column::ForumId.eq(s.forum_id))
            .one(txn)
            .await?;
        if room.is_none() {
            return Err(Error::field("room_id", "is not a room of this forum"));
        }
    }
    let mut errs = vec![];
    for (i, (id, _)) in people.iter().enumerate() {
        if speakers::find_in(txn, s.forum_id, *id).await.is_err() {
            errs.push(FieldError::new(
                format!("speakers[{i}].speaker_id"),
                "is not a speaker of this forum",
            ));
        }
    }
    if !errs.is_empty() {
        return Err(Error::Validation(errs));
    }
    if SessionStatus::of(s) != SessionStatus::Scheduled {
        return Ok(());
    }
    let live_overlapping = || {
        session::Entity::find()
            .filter(session::Column::ForumId.eq(s.forum_id))
            .filter(session::Column::Status.eq(SessionStatus::Scheduled.as_str()))
            .filter(session::Column::Id.ne(s.id))
            .filter(session::Column::StartsAt.lt(s.ends_at))
            .filter(session::Column::EndsAt.gt(s.starts_at))
            .order_by_asc(session::Column::StartsAt)
    };
    if let Some(room_id) = s.room_id {
        if let Some(other) = live_overlapping()
            .filter(session::Column::RoomId.eq(room_id))
            .one(txn)
            .await?
        {
            return Err(Error::Conflict {
                kind: ConflictKind::RoomDoubleBooked,
                message: format!(
                    "the room is already booked by “{}” ({})",
                    other.title,
                    local_span(&other, tz)
                ),
                session: Some(conflicting(&other)),
                errors: vec![FieldError::new(
                    "room_id",
                    "is booked by another session at that time",
                )],
            });
        }
    }
    if !people.is_empty() {
        let ids: Vec<Uuid> = people.iter().map(|(id, _)| *id).collect();
        let sub = Query::select()
            .column(session_speaker::Column::SessionId)
            .from(session_speaker::Entity)
            .and_where(session_speaker::Column::SpeakerId.is_in(ids.clone()))
            .to_owned();
        if let Some(other) = live_overlapping()
            .filter(session::Column::Id.in_subquery(sub))
            .one(txn)
            .await?
        {
            let clash = session_speaker::Entity::find()
                .filter(session_speaker::Column::SessionId.eq(other.id))
                .filter(session_speaker::Column::SpeakerId.is_in(ids))
                .one(txn)
                .await?;
            let name = match clash {
                Some(l) => speakers::find_in(txn, s.forum_id, l.speaker_id)
                    .await
                    .map(|sp| sp.name)
                    .unwrap_or_default(),
                None => String::new(),
            };
            return Err(Error::Conflict {
                kind: ConflictKind::SpeakerDoubleBooked,
                message: format!(
                    "{name} is already on “{}” ({})",
                    other.title,
                    local_span(&other, tz)
                ),
                session: Some(conflicting(&other)),
                errors: vec![FieldError::new(
                    "speakers",
                    format!("{name} is in another session at that time"),
                )],
            });
        }
    }
    Ok(())
}

/// Replaces the people of a session.
pub(crate) async fn set_people(
    txn: &impl ConnectionTrait,
    s: &Session,
    people: &[(Uuid, PersonRole)],
) -> Result<(), sea_orm::DbErr> {
    session_speaker::Entity::delete_many()
        .filter(session_speaker::Column::SessionId.eq(s.id))
        .exec(txn)
        .await?;
    for (pos, (speaker_id, role)) in people.iter().enumerate() {
        session_speaker::ActiveModel {
            session_id: Set(s.id),
            speaker_id: Set(*speaker_id),
            forum_id: Set(s.forum_id),
            role: Set(role.as_str().to_owned()),
            position: Set(pos as i32),
        }
        .insert(txn)
        .await?;
    }
    Ok(())
}

async fn people_of(
    txn: &impl ConnectionTrait,
    session_id: Uuid,
) -> Result<Vec<(Uuid, PersonRole)>, sea_orm::DbErr> {
    Ok(session_speaker::Entity::find()
        .filter(session_speaker::Column::SessionId.eq(session_id))
        .order_by_asc(session_speaker::Column::Position)
        .all(txn)
        .await?
        .into_iter()
        .map(|l| {
            (
                l.speaker_id,
                PersonRole::parse(&l.role).unwrap_or(PersonRole::Speaker),
            )
        })
        .collect())
}

/// The next free frab id of a forum (max + 1, at least 1).
pub(crate) async fn next_frab_id(
    txn: &impl ConnectionTrait,
    forum_id: Uuid,
) -> Result<i64, sea_orm::DbErr> {
    let max: Option<Option<i64>> = session::Entity::find()
        .select_only()
        .column_as(session::Column::FrabId.max(), "m")
        .filter(session::Column::ForumId.eq(forum_id))
        .into_tuple()
        .one(txn)
        .await?;
    Ok(max.flatten().unwrap_or(0) + 1)
}

fn guid_taken(e: sea_orm::DbErr) -> Error {
    match e.sql_err() {
        Some(sea_orm::SqlErr::UniqueConstraintViolation(_)) => Error::Conflict {
            kind: ConflictKind::AlreadyExists,
            message: "this forum already has a session with that guid".into(),
            session: None,
            errors: vec![FieldError::new("guid", "is already used in this forum")],
        },
        _ => Error::Db(e),
    }
}

/// Creates a session inside `txn` after checking every programme rule; returns its view
/// and [`Change::SessionCreated`] (the public operation is `crate::effects::sessions::create`).
/// Errors: 401/403/404; 422 fields; 409 conflicts (see [`check_rules`]) or guid taken.
pub async fn create_in(
    txn: &DatabaseTransaction,
    caller: &Caller,
    slug: &str,
    input: NewSession,
) -> Result<(SessionView, Vec<Change>)> {
    let people = parse_speakers(&input.speakers)?;
    let access = forums::find_for_change(txn, caller, slug, Permission::Edit).await?;
    crate::db::lock_forum(txn, access.forum.id).await?;
    let (starts_at, ends_at) = resolve_times(&access, Some(input.starts_at), Some(input.ends_at))?;
    let (starts_at, ends_at) = (starts_at.unwrap_or_default(), ends_at.unwrap_or_default());
    let now = crate::db::now();
    let s = Session {
        id: Uuid::new_v4(),
        forum_id: access.forum.id,
        guid: input
            .guid
            .map(|g| g.trim().to_owned())
            .unwrap_or_else(|| Uuid::new_v4().to_string()),
        frab_id: next_frab_id(txn, access.forum.id).await?,
        kind: input.kind.as_str().into(),
        event_type: input.kind.as_str().into(),
        title: input.title.trim().to_owned(),
        subtitle: input.subtitle.unwrap_or_default(),
        abstract_text: input.abstract_text.unwrap_or_default(),
        description: input.description.unwrap_or_default(),
        track: opt_text(input.track),
        language: opt_text(input.language),
        starts_at,
        ends_at,
        room_id: input.room_id,
        capacity: input.capacity,
        status: "scheduled".into(),
        slug: opt_text(input.slug),
        url: opt_text(input.url),
        version: 1,
        created_at: now,
        updated_at: now,
    };
    let mut errs = validate_fields(&s);
    errs.extend(within_programme(&access.forum, s.starts_at, s.ends_at));
    if !errs.is_empty() {
        return Err(Error::Validation(errs));
    }
    check_rules(txn, &s, &people, access.tz()).await?;
    let saved = s
        .into_active_model()
        .reset_all()
        .insert(txn)
        .await
        .map_err(guid_taken)?;
    set_people(txn, &saved, &people).await?;
    crate::db::touch_programme(txn, access.forum.id).await?;
    // A new earliest session moves the forum's start: `effects` re-times the reminders.
    let change = Change::SessionCreated {
        forum: access.forum.clone(),
        session: saved.clone(),
    };
    let view = views(txn, &access, vec![saved]).await?.remove(0);
    Ok((view, vec![change]))
}

/// Applies a PATCH under `If-Match` inside `txn`, re-checking the programme rules when the
/// time, room, people or status change; returns the view and [`Change::SessionChanged`]
/// when the session changed (the public operations are `crate::effects::sessions::update`
/// and `…::cancel`). Errors: 401/403/404; 412; 422; 409.
pub async fn update_in(
    txn: &DatabaseTransaction,
    caller: &Caller,
    slug: &str,
    id: Uuid,
    if_match: Option<&str>,
    patch: SessionPatch,
) -> Result<(SessionView, Vec<Change>)> {
    let new_people = match &patch.speakers {
        Some(list) => Some(parse_speakers(list)?),
        None => None,
    };
    let access = forums::find_for_change(txn, caller, slug, Permission::Edit).await?;
    crate::db::lock_forum(txn, access.forum.id).await?;
    let current = find_in(txn, access.forum.id, id).await?;
    util::check_if_match(if_match, current.version)?;
    let before = current.clone();
    let old_people = people_of(txn, id).await?;
    let mut s = current.clone();
    if let Some(v) = patch.kind {
        s.kind = v.as_str().into();
    }
    if let Some(v) = patch.title {
        s.title = v.trim().to_owned();
    }
    if let Some(v) = patch.subtitle {
        s.subtitle = v;
    }
    if let Some(v) = patch.abstract_text {
        s.abstract_text = v;
    }
    if let Some(v) = patch.description {
        s.description = v;
    }
    if let Some(v) = patch.track {
        s.track = opt_text(v);
    }
    if let Some(v) = patch.language {
        s.language = opt_text(v);
    }
    let (starts_at, ends_at) = resolve_times(&access, patch.starts_at, patch.ends_at)?;
    if let Some(v) = starts_at {
        s.starts_at = v;
    }
    if let Some(v) = ends_at {
        s.ends_at = v;
    }
    if let Some(v) = patch.room_id {
        s.room_id = v;
    }
    if let Some(v) = patch.capacity {
        s.capacity = v;
    }
    if let Some(v) = patch.status {
        s.status = v.as_str().into();
    }
    if let Some(v) = patch.slug {
        s.slug = opt_text(v);
    }
    if let Some(v) = patch.url {
        s.url = opt_text(v);
    }
    let people = new_people.unwrap_or_else(|| old_people.clone());
    let mut errs = validate_fields(&s);
    if s.starts_at != current.starts_at || s.ends_at != current.ends_at {
        errs.extend(within_programme(&access.forum, s.starts_at, s.ends_at));
    }
    if !errs.is_empty() {
        return Err(Error::Validation(errs));
    }
    let placement_changed = s.starts_at != current.starts_at
        || s.ends_at != current.ends_at
        || s.room_id != current.room_id
        || s.status != current.status
        || people != old_people;
    if placement_changed {
        check_rules(txn, &s, &people, access.tz()).await?;
    }
    let mut changes = vec![];
    let saved = if s == current && people == old_people {
        current
    } else {
        s.version += 1;
        s.updated_at = crate::db::now();
        let mut am = s.into_active_model().reset_all();
        am.id = sea_orm::ActiveValue::Unchanged(id);
        am.created_at = sea_orm::ActiveValue::NotSet;
        let saved = am.update(txn).await?;
        if people != old_people {
            set_people(txn, &saved, &people).await?;
        }
        crate::db::touch_programme(txn, access.forum.id).await?;
        changes.push(after_change(txn, &access.forum, &before, &saved, &people).await?);
        saved
    };
    let view = views(txn, &access, vec![saved]).await?.remove(0);
    Ok((view, changes))
}

/// The `forum` object of outbox `data` (NOTIFICATIONS.md).
pub fn forum_notice_data(f: &crate::forums::Forum) -> serde_json::Value {
    serde_json::json!({
        "slug": f.slug,
        "title": f.title,
        "time_zone": f.time_zone,
        "city": f.city,
    })
}

/// The `session` object of outbox `data` (NOTIFICATIONS.md): times RFC 3339 UTC, room
/// name, iCalendar `sequence` = version − 1, status.
pub fn session_notice_data(s: &Session, room: Option<&str>) -> serde_json::Value {
    serde_json::json!({
        "id": s.id,
        "guid": s.guid,
        "title": s.title,
        "starts_at": s.starts_at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        "ends_at": s.ends_at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        "room": room,
        "sequence": (s.version - 1).max(0),
        "status": s.status,
    })
}

/// [`session_notice_data`] of a stored session, with its room's name read in `db`.
pub async fn notice_data_of(db: &impl ConnectionTrait, s: &Session) -> Result<serde_json::Value> {
    let room = room_name(db, s.room_id).await?;
    Ok(session_notice_data(s, room.as_deref()))
}

async fn room_name(txn: &impl ConnectionTrait, id: Option<Uuid>) -> Result<Option<String>> {
    Ok(match id {
        Some(id) => crate::rooms::entity::Entity::find_by_id(id)
            .one(txn)
            .await?
            .map(|r| r.name),
        None => None,
    })
}

/// What follows a change of a stored session here, in the same transaction (API edits and
/// schedule imports alike): its speakers are told of a move or cancellation
/// (`session.cancelled` / `session.changed` to each speaker with an e-mail). Returns the
/// [`Change::SessionChanged`] whose other consequences `effects` applies: the seats follow
/// (a cancelled session releases everyone, a moved one tells them, a larger one promotes
/// from its wait-list) and its reminders (and the forum's, when the forum's start moves)
/// are re-timed or cancelled.
pub(crate) async fn after_change(
    txn: &impl ConnectionTrait,
    forum: &crate::forums::Forum,
    before: &Session,
    after: &Session,
    people: &[(Uuid, PersonRole)],
) -> Result<Change> {
    notify_speakers(txn, forum, before, after, people).await?;
    Ok(Change::SessionChanged {
        forum: forum.clone(),
        before: before.clone(),
        after: after.clone(),
    })
}

async fn notify_speakers(
    txn: &impl ConnectionTrait,
    forum: &crate::forums::Forum,
    before: &Session,
    after: &Session,
    people: &[(Uuid, PersonRole)],
) -> Result<()> {
    let cancelled = after.status == SessionStatus::Cancelled.as_str()
        && before.status != SessionStatus::Cancelled.as_str();
    let moved = after.status == SessionStatus::Scheduled.as_str()
        && before.status == SessionStatus::Scheduled.as_str()
        && (after.starts_at != before.starts_at
            || after.ends_at != before.ends_at
            || after.room_id != before.room_id);
    if (!cancelled && !moved) || people.is_empty() {
        return Ok(());
    }
    let ids: Vec<Uuid> = people.iter().map(|(id, _)| *id).collect();
    let recipients = speakers::entity::Entity::find()
        .filter(speakers::entity::Column::Id.is_in(ids))
        .filter(speakers::entity::Column::ForumId.eq(after.forum_id))
        .all(txn)
        .await?;
    let room = room_name(txn, after.room_id).await?;
    let mut data = serde_json::json!({
        "forum": forum_notice_data(forum),
        "session": session_notice_data(after, room.as_deref()),
    });
    if moved {
        let prev_room = room_name(txn, before.room_id).await?;
        data["previous"] = serde_json::json!({
            "starts_at": before.starts_at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            "ends_at": before.ends_at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            "room": prev_room,
        });
    }
    for sp in recipients {
        let Some(email) = sp.email.as_deref().filter(|e| !e.is_empty()) else {
            continue;
        };
        let (kind, key) = if cancelled {
            (
                "session.cancelled",
                format!("session.cancelled:{}:{}", after.id, email),
            )
        } else {
            (
                "session.changed",
                format!("session.changed:{}:{}:{}", after.id, after.version, email),
            )
        };
        crate::notifications::enqueue(
            txn,
            crate::notifications::NewNotification {
                forum_id: after.forum_id,
                kind: kind.into(),
                recipient_email: email.to_owned(),
                recipient_name: sp.name.clone(),
                language: after.language.clone().unwrap_or_else(|| "en".into()),
                data: data.clone(),
                dedupe_key: key,
                send_after: None,
            },
        )
        .await?;
    }
    Ok(())
}

/// Deletes a session for good inside `txn`; returns [`Change::SessionDeleted`] (the public
/// operation is `crate::effects::sessions::delete`; prefer cancelling a session of a
/// published programme). Errors: 401/403/404; 412.
pub async fn delete_in(
    txn: &DatabaseTransaction,
    caller: &Caller,
    slug: &str,
    id: Uuid,
    if_match: Option<&str>,
) -> Result<((), Vec<Change>)> {
    let access = forums::find_for_change(txn, caller, slug, Permission::Edit).await?;
    crate::db::lock_forum(txn, access.forum.id).await?;
    let current = find_in(txn, access.forum.id, id).await?;
    util::check_if_match(if_match, current.version)?;
    session::Entity::delete_by_id(id).exec(txn).await?;
    crate::db::touch_programme(txn, access.forum.id).await?;
    let change = Change::SessionDeleted {
        forum: access.forum.clone(),
        session: current,
    };
    Ok(((), vec![change]))
}

/// The sessions (scheduled and cancelled) in which speaker `speaker_id` of forum `slug`
/// takes part, ordered by start, with rooms and people: the speaker's public page.
/// Errors: 404 when the forum is not visible to `caller`.
pub async fn of_speaker(
    db: &DatabaseConnection,
    caller: &Caller,
    slug: &str,
    speaker_id: Uuid,
) -> Result<Vec<SessionView>> {
    let access = forums::find_visible(db, caller, slug).await?;
    let ids: Vec<Uuid> = session_speaker::Entity::find()
        .filter(session_speaker::Column::ForumId.eq(access.forum.id))
        .filter(session_speaker::Column::SpeakerId.eq(speaker_id))
        .all(db)
        .await?
        .into_iter()
        .map(|l| l.session_id)
        .collect();
    if ids.is_empty() {
        return Ok(vec![]);
    }
    let rows = session::Entity::find()
        .filter(session::Column::ForumId.eq(access.forum.id))
        .filter(session::Column::Id.is_in(ids))
        .order_by_asc(session::Column::StartsAt)
        .order_by_asc(session::Column::Id)
        .all(db)
        .await?;
    views(db, &access, rows).await
}
