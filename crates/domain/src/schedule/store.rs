//! Loading a [`Programme`] into a forum (import) and reading one out of it (export).
//!
//! Import is one transaction: rooms and speakers named by the file are created or updated
//! (rooms matched by guid first, then by name; speakers without an id by name; names
//! compared as [`NameKey`]s; a room matched by guid under a new name is renamed),
//! sessions are matched by `guid` — created, updated, left unchanged, or cancelled when
//! they are no longer in the file — and the programme rules are checked on the result.
//! Any problem rolls everything back. Re-importing the same file changes nothing (no row
//! version moves).

use std::collections::{HashMap, HashSet};

use chrono::{SubsecRound, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseTransaction, EntityTrait,
    IntoActiveModel, QueryFilter, QueryOrder,
};
use serde::Serialize;
use uuid::Uuid;

use super::{Conference, EventSpec, PersonRole, PersonSpec, Programme, RoomSpec, ScheduleError};
use crate::accounts::{self, Caller, Role};
use crate::change::Change;
use crate::error::{ConflictKind, Error, Result};
use crate::forums::{self, Forum, ForumAccess};
use crate::names::NameKey;
use crate::rooms::{self, Room};
use crate::sessions::entity::{session, session_speaker};
use crate::sessions::{self, Session, SessionKind, SessionStatus};
use crate::speakers::{self, Speaker};
use crate::teams::Permission;

/// What an import did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct ImportReport {
    /// The forum's slug.
    pub forum: String,
    /// Sessions created.
    pub created: u32,
    /// Sessions changed (their version rose).
    pub updated: u32,
    /// Sessions already as in the file.
    pub unchanged: u32,
    /// Live sessions no longer in the file, now cancelled.
    pub cancelled: u32,
    /// Rooms created.
    pub rooms_created: u32,
    /// Speakers created.
    pub speakers_created: u32,
    /// Problems accepted from the source, e.g. a person on two overlapping events (the
    /// source system is authoritative for its programme; convene's own writes refuse this).
    pub warnings: Vec<String>,
}

/// Options for creating a forum from a schedule file.
#[derive(Debug, Clone, Default)]
pub struct NewForumOptions {
    /// Slug to use; default derived from the acronym.
    pub slug: Option<String>,
    /// IANA zone to use when the file names none (frab XML); default derived from the
    /// events' UTC offset (`Etc/GMT-1` for +01:00), else UTC.
    pub time_zone: Option<String>,
}

/// A forum slug derived from a schedule acronym: lower-case, runs of other characters
/// turned into `-`, trimmed to 63 characters.
pub fn slug_from_acronym(acronym: &str) -> String {
    let mut out = String::new();
    for c in acronym.trim().to_lowercase().chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c);
        } else if !out.ends_with('-') && !out.is_empty() {
            out.push('-');
        }
    }
    let out = out
        .trim_end_matches('-')
        .chars()
        .take(63)
        .collect::<String>();
    if out.len() < 2 {
        format!("forum-{out}")
    } else {
        out
    }
}

fn derive_tz(p: &Programme, explicit: Option<&str>) -> Result<String> {
    if let Some(tz) = explicit {
        crate::util::parse_tz("time_zone", tz)?;
        return Ok(tz.to_owned());
    }
    if let Some(tz) = p.conference.time_zone {
        return Ok(tz.name().to_owned());
    }
    Ok(p.conference
        .utc_offset_seconds
        .filter(|s| s % 3600 == 0 && s.abs() <= 12 * 3600)
        .map(|s| match s / 3600 {
            0 => "UTC".to_owned(),
            h if h > 0 => format!("Etc/GMT-{h}"),
            h => format!("Etc/GMT+{}", -h),
        })
        .unwrap_or_else(|| "UTC".to_owned()))
}

/// Imports a parsed schedule file into an existing forum the caller organizes, inside
/// `txn` (the public operation, which parses the bytes and applies the returned changes,
/// is `crate::effects::schedule::import_into`).
/// Errors: 401/403/404; 422 [`Error::InvalidSchedule`] with the location of the first
/// problem; 409 `room-double-booked` naming both events. Nothing is written on error.
pub async fn import_into_in(
    txn: &DatabaseTransaction,
    caller: &Caller,
    slug: &str,
    programme: &Programme,
) -> Result<(ImportReport, Vec<Change>)> {
    let access = forums::find_for_change(txn, caller, slug, Permission::Edit).await?;
    apply(txn, &access.forum, programme).await
}

/// Creates a new draft forum from a schedule file's conference header and imports the
/// programme into it, inside `txn`; the caller becomes its owner. When `caller` is `None`
/// (the CLI) the forum is created without members, or with `owner_email` as owner. The
/// public operation is `crate::effects::schedule::import_new_forum`.
/// Errors: as [`import_into_in`], plus 409 `already-exists` when the slug is taken.
pub async fn import_new_forum_in(
    txn: &DatabaseTransaction,
    caller: Option<&Caller>,
    owner_email: Option<&str>,
    programme: &Programme,
    opts: NewForumOptions,
) -> Result<((Forum, ImportReport), Vec<Change>)> {
    let c = &programme.conference;
    let slug = opts
        .slug
        .clone()
        .unwrap_or_else(|| slug_from_acronym(&c.acronym));
    let tz = derive_tz(programme, opts.time_zone.as_deref())?;
    let now = crate::db::now();
    let model = Forum {
        id: Uuid::new_v4(),
        slug: slug.clone(),
        title: if c.title.trim().is_empty() {
            c.acronym.clone()
        } else {
            c.title.trim().to_owned()
        },
        acronym: Some(c.acronym.clone()).filter(|a| !a.is_empty()),
        description: String::new(),
        city: None,
        country: None,
        venue: None,
        time_zone: tz,
        first_day: c.start,
        last_day: c.end.max(c.start),
        day_change: c.day_change,
        timeslot_minutes: c.timeslot_minutes.clamp(1, 240) as i32,
        capacity: None,
        registration_mode: "open".into(),
        registration_opens_at: None,
        registration_closes_at: None,
        languages: serde_json::json!(["en"]),
        status: "draft".into(),
        version: 1,
        programme_version: 1,
        forum_reminder_minutes: forums::DEFAULT_FORUM_REMINDER_MINUTES,
        session_reminder_minutes: forums::DEFAULT_SESSION_REMINDER_MINUTES,
        public_participant_list: false,
        created_at: now,
        updated_at: now,
    };
    let errs = forums::validate(&model);
    if !errs.is_empty() {
        return Err(Error::Validation(errs));
    }
    if forums::entity::Entity::find()
        .filter(forums::entity::Column::Slug.eq(slug.clone()))
        .one(txn)
        .await?
        .is_some()
    {
        return Err(forums::slug_taken(&slug));
    }
    let forum = model
        .into_active_model()
        .reset_all()
        .insert(txn)
        .await
        .map_err(|e| forums::unique_slug(e, &slug))?;
    if let Some(c @ Caller::Organizer { account_id, .. }) = caller {
        forums::may_create(c)?;
        accounts::forum_member::ActiveModel {
            forum_id: sea_orm::Set(forum.id),
            account_id: sea_orm::Set(*account_id),
            role: sea_orm::Set(Role::Owner),
            created_at: sea_orm::Set(now),
        }
        .insert(txn)
        .await?;
    } else if caller.is_some() {
        return Err(Error::Unauthenticated);
    }
    if let Some(email) = owner_email {
        accounts::grant_role(txn, forum.id, email, Role::Owner).await?;
    }
    let (report, changes) = apply(txn, &forum, programme).await?;
    Ok(((forum, report), changes))
}

/// Imports into the forum with this slug when it exists, else creates it (CLI path: no
/// caller, full rights), inside `txn`. Returns the forum and the report (the public
/// operation is `crate::effects::schedule::import_as_admin`).
pub async fn import_as_admin_in(
    txn: &DatabaseTransaction,
    programme: &Programme,
    owner_email: Option<&str>,
    opts: NewForumOptions,
) -> Result<((Forum, ImportReport), Vec<Change>)> {
    let slug = opts
        .slug
        .clone()
        .unwrap_or_else(|| slug_from_acronym(&programme.conference.acronym));
    let existing = forums::entity::Entity::find()
        .filter(forums::entity::Column::Slug.eq(slug.clone()))
        .one(txn)
        .await?;
    match existing {
        None => {
            import_new_forum_in(
                txn,
                None,
                owner_email,
                programme,
                NewForumOptions {
                    slug: Some(slug),
                    ..opts
                },
            )
            .await
        }
        Some(f) => {
            let (report, changes) = apply(txn, &f, programme).await?;
            if let Some(email) = owner_email {
                accounts::grant_role(txn, f.id, email, Role::Owner).await?;
            }
            Ok(((f, report), changes))
        }
    }
}

fn invalid(location: String, message: String) -> Error {
    Error::InvalidSchedule(ScheduleError { location, message })
}

/// Refuses a file whose events lie outside `forum`'s programme days (with the file's
/// `day_change`): an import never widens the forum silently
/// ([`sessions::within_programme`], the rule every session write keeps). Names the first
/// such event, its start, the allowed range and how many others there are.
fn outside_programme(forum: &Forum, p: &Programme) -> Result<()> {
    let mut f = forum.clone();
    f.day_change = p.conference.day_change;
    let tz: chrono_tz::Tz = f.time_zone.parse().unwrap_or(chrono_tz::UTC);
    let mut bad = p.events.iter().enumerate().filter_map(|(i, e)| {
        let errs = sessions::within_programme(&f, e.start.trunc_subsecs(0), e.end.trunc_subsecs(0));
        errs.into_iter().next().map(|err| (i, e, err))
    });
    let Some((i, e, err)) = bad.next() else {
        return Ok(());
    };
    let more = bad.count();
    Err(invalid(
        format!("event {} (guid {})", i + 1, e.guid),
        format!(
            "“{}” ({} – {}) {}{}",
            e.title,
            e.start.with_timezone(&tz).fixed_offset().to_rfc3339(),
            e.end.with_timezone(&tz).fixed_offset().to_rfc3339(),
            err.message,
            if more > 0 {
                format!("; {more} more event(s) lie outside too")
            } else {
                String::new()
            }
        ),
    ))
}

/// Applies a parsed programme to `forum` inside `txn` (see the module docs). Returns the
/// report and the [`Change`]s made, in order, for `crate::effects` to apply in `txn`.
pub async fn apply(
    txn: &DatabaseTransaction,
    forum: &Forum,
    p: &Programme,
) -> Result<(ImportReport, Vec<Change>)> {
    crate::db::lock_forum(txn, forum.id).await?;
    let now = crate::db::now();
    let mut report = ImportReport {
        forum: forum.slug.clone(),
        warnings: p.warnings.clone(),
        ..Default::default()
    };
    let mut changes = vec![];

    // Forum header: only the programme grid comes from the file.
    let timeslot = p.conference.timeslot_minutes.clamp(1, 240) as i32;
    let header_changed =
        forum.day_change != p.conference.day_change || forum.timeslot_minutes != timeslot;
    if forum.day_change != p.conference.day_change || forum.timeslot_minutes != timeslot {
        let mut f = forum.clone();
        f.day_change = p.conference.day_change;
        f.timeslot_minutes = timeslot;
        f.version += 1;
        f.updated_at = now;
        let mut am = f.into_active_model().reset_all();
        am.id = sea_orm::ActiveValue::Unchanged(forum.id);
        am.update(txn).await?;
    }

    // Rooms, by guid first, then by name (as `NameKey` compares).
    let current_rooms = rooms::all_of_forum(txn, forum.id).await?;
    let rooms_before: HashMap<Uuid, Room> =
        current_rooms.iter().map(|r| (r.id, r.clone())).collect();
    let mut rooms_by_name: HashMap<NameKey, Room> = current_rooms
        .into_iter()
        .map(|r| (NameKey::of(&r.name), r))
        .collect();
    let base_position = rooms_by_name.len() as i32;
    let mut file_guids: HashMap<&str, usize> = HashMap::new();
    for g in p.rooms.iter().filter_map(|r| r.guid.as_deref()) {
        *file_guids.entry(g).or_default() += 1;
    }
    for (i, spec) in p.rooms.iter().enumerate() {
        upsert_room(
            txn,
            forum.id,
            spec,
            base_position + i as i32,
            &mut rooms_by_name,
            &file_guids,
            &mut report,
            now,
        )
        .await?;
    }

    // Speakers, by external key, else by name.
    let existing: Vec<Speaker> = speakers::entity::Entity::find()
        .filter(speakers::entity::Column::ForumId.eq(forum.id))
        .all(txn)
        .await?;
    let mut by_key: HashMap<String, Speaker> = HashMap::new();
    let mut by_name: HashMap<NameKey, Speaker> = HashMap::new();
    for s in existing {
        match &s.external_key {
            Some(k) => {
                by_key.insert(k.clone(), s);
            }
            None => {
                by_name.entry(NameKey::of(&s.name)).or_insert(s);
            }
        }
    }
    let rooms_after: HashMap<Uuid, Room> =
        rooms_by_name.values().map(|r| (r.id, r.clone())).collect();
    let rooms_changed = rooms_before != rooms_after;
    let speakers_before = by_key.clone();
    let mut new_speakers: Vec<speakers::entity::ActiveModel> = vec![];
    let mut person_ids: HashMap<(Option<String>, String), Uuid> = HashMap::new();
    for e in &p.events {
        for person in &e.persons {
            let k = (person.external_key.clone(), person.name.clone());
            if person_ids.contains_key(&k) {
                continue;
            }
            let id = resolve_person(
                txn,
                forum.id,
                person,
                &mut by_key,
                &mut by_name,
                &mut new_speakers,
                now,
            )
            .await?;
            person_ids.insert(k, id);
        }
    }
    report.speakers_created = new_speakers.len() as u32;
    let speakers_renamed = by_key
        .iter()
        .any(|(k, s)| speakers_before.get(k).is_some_and(|b| b.name != s.name));
    if !new_speakers.is_empty() {
        for chunk in new_speakers.chunks(200) {
            speakers::entity::Entity::insert_many(chunk.to_vec())
                .exec(txn)
                .await?;
        }
    }

    // Sessions, by guid.
    let current: Vec<Session> = session::Entity::find()
        .filter(session::Column::ForumId.eq(forum.id))
        .order_by_asc(session::Column::StartsAt)
        .all(txn)
        .await?;
    let current_ids: Vec<Uuid> = current.iter().map(|s| s.id).collect();
    let mut links: HashMap<Uuid, Vec<(Uuid, PersonRole)>> = HashMap::new();
    for chunk in current_ids.chunks(500) {
        for l in session_speaker::Entity::find()
            .filter(session_speaker::Column::SessionId.is_in(chunk.to_vec()))
            .order_by_asc(session_speaker::Column::Position)
            .all(txn)
            .await?
        {
            links.entry(l.session_id).or_default().push((
                l.speaker_id,
                PersonRole::parse(&l.role).unwrap_or(PersonRole::Speaker),
            ));
        }
    }
    let mut by_guid: HashMap<String, Session> =
        current.into_iter().map(|s| (s.guid.clone(), s)).collect();

    // Final frab ids: the file's where given, kept ones otherwise, fresh ones for the rest.
    let mut seen_guids = HashSet::new();
    let mut file_ids: HashMap<i64, &str> = HashMap::new();
    for (i, e) in p.events.iter().enumerate() {
        if !seen_guids.insert(e.guid.as_str()) {
            return Err(invalid(
                format!("event {} (guid {})", i + 1, e.guid),
                "the guid is used twice".into(),
            ));
        }
        if e.end <= e.start {
            return Err(invalid(
                format!("event {} (guid {})", i + 1, e.guid),
                "its duration must be positive".into(),
            ));
        }
        if let Some(id) = e.frab_id {
            if let Some(other) = file_ids.insert(id, &e.guid) {
                return Err(invalid(
                    format!("event {} (guid {})", i + 1, e.guid),
                    format!("id {id} is also used by event {other}"),
                ));
            }
        }
    }
    outside_programme(forum, p)?;
    let mut used_ids: HashSet<i64> = file_ids.keys().copied().collect();
    let mut final_ids: HashMap<String, i64> = HashMap::new();
    for e in &p.events {
        if let Some(id) = e.frab_id {
            final_ids.insert(e.guid.clone(), id);
        }
    }
    let mut next_id = by_guid
        .values()
        .map(|s| s.frab_id)
        .chain(used_ids.iter().copied())
        .max()
        .unwrap_or(0)
        + 1;
    let mut sorted_existing: Vec<&Session> = by_guid.values().collect();
    sorted_existing.sort_by_key(|s| s.frab_id);
    for s in sorted_existing {
        if final_ids.contains_key(&s.guid) {
            continue;
        }
        if used_ids.insert(s.frab_id) {
            final_ids.insert(s.guid.clone(), s.frab_id);
        } else {
            final_ids.insert(s.guid.clone(), next_id);
            used_ids.insert(next_id);
            next_id += 1;
        }
    }
    for e in &p.events {
        if !final_ids.contains_key(&e.guid) {
            final_ids.insert(e.guid.clone(), next_id);
            next_id += 1;
        }
    }
    // Move existing rows whose frab id changes out of the way first (unique per forum).
    let mut tmp = -1i64;
    for s in by_guid.values_mut() {
        if final_ids[&s.guid] != s.frab_id {
            session::Entity::update_many()
                .col_expr(
                    session::Column::FrabId,
                    sea_orm::sea_query::Expr::value(tmp),
                )
                .filter(session::Column::Id.eq(s.id))
                .exec(txn)
                .await?;
            tmp -= 1;
        }
    }

    let mut inserts: Vec<session::ActiveModel> = vec![];
    let mut new_links: Vec<session_speaker::ActiveModel> = vec![];
    let mut final_live: Vec<(Session, Vec<(Uuid, PersonRole)>)> = vec![];
    for e in &p.events {
        let room_id = match &e.room {
            Some(name) => Some(
                rooms_by_name
                    .get(&NameKey::of(name))
                    .ok_or_else(|| {
                        invalid(
                            format!("event {}", e.guid),
                            format!("room `{name}` is not in the file's room list"),
                        )
                    })?
                    .id,
            ),
            None => None,
        };
        let mut people: Vec<(Uuid, PersonRole)> = vec![];
        for person in &e.persons {
            let id = person_ids[&(person.external_key.clone(), person.name.clone())];
            if !people.iter().any(|(p, _)| *p == id) {
                people.push((id, person.role));
            }
        }
        let existing = by_guid.remove(&e.guid);
        let desired = desired_session(
            forum,
            e,
            room_id,
            final_ids[&e.guid],
            existing.as_ref(),
            now,
        );
        match existing {
            None => {
                report.created += 1;
                for (pos, (sid, role)) in people.iter().enumerate() {
                    new_links.push(link(&desired, *sid, *role, pos));
                }
                inserts.push(desired.clone().into_active_model().reset_all());
                final_live.push((desired, people));
            }
            Some(old) => {
                let old_people = links.remove(&old.id).unwrap_or_default();
                if desired == old && people == old_people {
                    report.unchanged += 1;
                    final_live.push((old, people));
                    continue;
                }
                let mut d = desired;
                let changed_fields = d != old;
                let frab_only = {
                    let mut o = old.clone();
                    o.frab_id = d.frab_id;
                    o == d
                };
                if changed_fields && !(frab_only && people == old_people) || people != old_people {
                    d.version = old.version + 1;
                    d.updated_at = now;
                    report.updated += 1;
                } else {
                    report.unchanged += 1;
                }
                let mut am = d.clone().into_active_model().reset_all();
                am.id = sea_orm::ActiveValue::Unchanged(d.id);
                am.created_at = sea_orm::ActiveValue::NotSet;
                am.update(txn).await?;
                if people != old_people {
                    sessions::set_people(txn, &d, &people).await?;
                }
                changes.push(sessions::after_change(txn, forum, &old, &d, &people).await?);
                final_live.push((d, people));
            }
        }
    }
    // Whatever is left was not in the file: cancel what is live, re-number if needed.
    for (_, old) in by_guid {
        let mut d = old.clone();
        d.frab_id = final_ids[&old.guid];
        if SessionStatus::of(&old) == SessionStatus::Scheduled {
            d.status = "cancelled".into();
            d.version += 1;
            d.updated_at = now;
            report.cancelled += 1;
        }
        if d != old {
            let mut am = d.clone().into_active_model().reset_all();
            am.id = sea_orm::ActiveValue::Unchanged(old.id);
            am.created_at = sea_orm::ActiveValue::NotSet;
            am.update(txn).await?;
            let people = links.remove(&old.id).unwrap_or_default();
            changes.push(sessions::after_change(txn, forum, &old, &d, &people).await?);
        }
    }
    for chunk in inserts.chunks(100) {
        session::Entity::insert_many(chunk.to_vec())
            .exec(txn)
            .await?;
    }
    for chunk in new_links.chunks(300) {
        session_speaker::Entity::insert_many(chunk.to_vec())
            .exec(txn)
            .await?;
    }
    check_programme(&final_live, &mut report)?;
    // Rooms that grew: their sessions without own capacity promote from their wait-lists
    // (after the sessions were updated, so a session cancelled by this file stays so).
    for r in rooms_by_name.values() {
        if let Some(old) = rooms_before.get(&r.id) {
            if old.capacity != r.capacity {
                changes.push(Change::RoomCapacityChanged {
                    forum: forum.clone(),
                    room_id: r.id,
                    before: old.capacity,
                    after: r.capacity,
                });
            }
        }
    }
    if report.created + report.updated + report.cancelled > 0 {
        // New sessions may move the forum's start (changed ones are reported one by one).
        changes.push(Change::ProgrammeImported {
            forum: forum.clone(),
        });
    }
    if report.created
        + report.updated
        + report.cancelled
        + report.rooms_created
        + report.speakers_created
        > 0
        || header_changed
        || rooms_changed
        || speakers_renamed
    {
        crate::db::touch_programme(txn, forum.id).await?;
    }
    Ok((report, changes))
}

fn link(
    s: &Session,
    speaker_id: Uuid,
    role: PersonRole,
    pos: usize,
) -> session_speaker::ActiveModel {
    session_speaker::ActiveModel {
        session_id: sea_orm::Set(s.id),
        speaker_id: sea_orm::Set(speaker_id),
        forum_id: sea_orm::Set(s.forum_id),
        role: sea_orm::Set(role.as_str().to_owned()),
        position: sea_orm::Set(pos as i32),
    }
}

fn desired_session(
    forum: &Forum,
    e: &EventSpec,
    room_id: Option<Uuid>,
    frab_id: i64,
    old: Option<&Session>,
    now: chrono::DateTime<Utc>,
) -> Session {
    let nonempty = |s: &Option<String>| {
        s.clone()
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty())
    };
    Session {
        id: old.map(|o| o.id).unwrap_or_else(Uuid::new_v4),
        forum_id: forum.id,
        guid: e.guid.clone(),
        frab_id,
        kind: SessionKind::from_event_type(&e.event_type).as_str().into(),
        event_type: e.event_type.clone(),
        title: e.title.clone(),
        subtitle: e.subtitle.clone(),
        abstract_text: e.abstract_text.clone(),
        description: e.description.clone(),
        track: nonempty(&e.track),
        language: nonempty(&e.language),
        starts_at: e.start.trunc_subsecs(0),
        ends_at: e.end.trunc_subsecs(0),
        room_id,
        capacity: old.and_then(|o| o.capacity),
        status: "scheduled".into(),
        slug: nonempty(&e.slug),
        url: nonempty(&e.url),
        version: old.map(|o| o.version).unwrap_or(1),
        created_at: old.map(|o| o.created_at).unwrap_or(now),
        updated_at: old.map(|o| o.updated_at).unwrap_or(now),
    }
}

/// Creates or updates the room of `spec`: the room with the spec's guid if exactly one
/// has it (and no other room of the file shares it), else the room of the same
/// [`NameKey`]; a room found by guid under another name is renamed. A new room keeps the
/// file's guid, or gets [`super::room_guid`] of its name.
#[allow(clippy::too_many_arguments)]
async fn upsert_room(
    txn: &DatabaseTransaction,
    forum_id: Uuid,
    spec: &RoomSpec,
    position: i32,
    rooms_by_name: &mut HashMap<NameKey, Room>,
    file_guids: &HashMap<&str, usize>,
    report: &mut ImportReport,
    now: chrono::DateTime<Utc>,
) -> Result<()> {
    let key = NameKey::of(&spec.name);
    // A guid identifies a room only when one room has it (pretalx has been seen writing
    // one guid for every room of a file).
    let by_guid = spec
        .guid
        .as_deref()
        .filter(|g| !g.trim().is_empty() && file_guids.get(*g) == Some(&1))
        .and_then(|g| {
            let mut same = rooms_by_name
                .values()
                .filter(|r| r.guid.as_deref() == Some(g));
            match (same.next(), same.next()) {
                (Some(r), None) => Some(r),
                _ => None,
            }
        });
    match by_guid.or_else(|| rooms_by_name.get(&key)).cloned() {
        Some(r) => {
            let mut n = r.clone();
            let old_key = NameKey::of(&r.name);
            if old_key != key {
                // Matched by guid under a new name: the room was renamed in the source.
                if rooms_by_name.get(&key).is_some_and(|o| o.id != r.id) {
                    return Err(rooms::name_taken_by_other(&spec.name));
                }
                n.name = spec.name.clone();
                rooms_by_name.remove(&old_key);
            }
            if spec.capacity.is_some() {
                n.capacity = spec.capacity;
            }
            if spec.guid.is_some() {
                n.guid = spec.guid.clone();
            }
            if let Some(d) = &spec.description {
                n.description = d.clone();
            }
            if n != r {
                n.version += 1;
                n.updated_at = now;
                let mut am = n.clone().into_active_model().reset_all();
                am.id = sea_orm::ActiveValue::Unchanged(n.id);
                am.update(txn)
                    .await
                    .map_err(|e| rooms::name_taken(e, &spec.name))?;
            }
            rooms_by_name.insert(key, n);
        }
        None => {
            let r = Room {
                id: Uuid::new_v4(),
                forum_id,
                name: spec.name.clone(),
                capacity: spec.capacity,
                guid: Some(
                    spec.guid
                        .clone()
                        .filter(|g| !g.trim().is_empty())
                        .unwrap_or_else(|| super::room_guid(&spec.name)),
                ),
                description: spec.description.clone().unwrap_or_default(),
                position,
                version: 1,
                created_at: now,
                updated_at: now,
            };
            let saved = r
                .into_active_model()
                .reset_all()
                .insert(txn)
                .await
                .map_err(|e| rooms::name_taken(e, &spec.name))?;
            report.rooms_created += 1;
            rooms_by_name.insert(key, saved);
        }
    }
    Ok(())
}

async fn resolve_person(
    txn: &DatabaseTransaction,
    forum_id: Uuid,
    person: &PersonSpec,
    by_key: &mut HashMap<String, Speaker>,
    by_name: &mut HashMap<NameKey, Speaker>,
    new_speakers: &mut Vec<speakers::entity::ActiveModel>,
    now: chrono::DateTime<Utc>,
) -> Result<Uuid> {
    let found = match &person.external_key {
        Some(k) => by_key.get(k).cloned(),
        None => by_name.get(&NameKey::of(&person.name)).cloned(),
    };
    if let Some(s) = found {
        if s.name != person.name && person.external_key.is_some() {
            let mut n = s.clone();
            n.name = person.name.clone();
            n.updated_at = now;
            let mut am = n.clone().into_active_model().reset_all();
            am.id = sea_orm::ActiveValue::Unchanged(n.id);
            am.update(txn).await?;
            by_key.insert(person.external_key.clone().unwrap_or_default(), n);
        }
        return Ok(s.id);
    }
    let s = Speaker {
        id: Uuid::new_v4(),
        forum_id,
        name: person.name.clone(),
        external_key: person.external_key.clone(),
        organization: String::new(),
        biography: String::new(),
        email: None,
        created_at: now,
        updated_at: now,
    };
    match &s.external_key {
        Some(k) => by_key.insert(k.clone(), s.clone()),
        None => by_name.insert(NameKey::of(&s.name), s.clone()),
    };
    new_speakers.push(s.clone().into_active_model().reset_all());
    Ok(s.id)
}

/// Checks the programme rules on the final state of an import: a room double-booked is
/// refused (409 naming both events); a person on two overlapping events becomes a warning.
fn check_programme(
    live: &[(Session, Vec<(Uuid, PersonRole)>)],
    report: &mut ImportReport,
) -> Result<()> {
    let mut by_room: HashMap<Uuid, Vec<&Session>> = HashMap::new();
    let mut by_person: HashMap<Uuid, Vec<&Session>> = HashMap::new();
    for (s, people) in live {
        if let Some(r) = s.room_id {
            by_room.entry(r).or_default().push(s);
        }
        for (p, _) in people {
            by_person.entry(*p).or_default().push(s);
        }
    }
    for list in by_room.values_mut() {
        list.sort_by_key(|s| (s.starts_at, s.ends_at));
        for w in list.windows(2) {
            if sessions::overlaps(w[0].starts_at, w[0].ends_at, w[1].starts_at, w[1].ends_at) {
                return Err(Error::Conflict {
                    kind: ConflictKind::RoomDoubleBooked,
                    message: format!(
                        "events “{}” (guid {}) and “{}” (guid {}) share a room at overlapping times",
                        w[0].title, w[0].guid, w[1].title, w[1].guid
                    ),
                    session: Some(crate::error::ConflictingSession {
                        id: w[0].id,
                        guid: w[0].guid.clone(),
                        title: w[0].title.clone(),
                        starts_at: w[0].starts_at,
                        ends_at: w[0].ends_at,
                    }),
                    errors: vec![],
                });
            }
        }
    }
    let mut warned = HashSet::new();
    for list in by_person.values_mut() {
        list.sort_by_key(|s| (s.starts_at, s.ends_at));
        for (i, a) in list.iter().enumerate() {
            for b in &list[i + 1..] {
                if b.starts_at >= a.ends_at {
                    break;
                }
                if warned.insert((a.guid.clone(), b.guid.clone())) {
                    report.warnings.push(format!(
                        "a person is on both “{}” (guid {}) and “{}” (guid {}), which overlap",
                        a.title, a.guid, b.title, b.guid
                    ));
                }
            }
        }
    }
    Ok(())
}

/// Reads a forum's live programme (scheduled sessions) as a [`Programme`] for export,
/// plus each event's iCalendar SEQUENCE (row version − 1). Events without a URL get the
/// URL of the session's public page ([`crate::links::Links::session_url`]).
pub async fn load(
    db: &impl ConnectionTrait,
    access: &ForumAccess,
    public: &crate::links::Links,
) -> Result<(Programme, Vec<u32>)> {
    let f = &access.forum;
    let rooms = rooms::all_of_forum(db, f.id).await?;
    let room_names: HashMap<Uuid, String> = rooms.iter().map(|r| (r.id, r.name.clone())).collect();
    let list: Vec<Session> = session::Entity::find()
        .filter(session::Column::ForumId.eq(f.id))
        .filter(session::Column::Status.eq(SessionStatus::Scheduled.as_str()))
        .order_by_asc(session::Column::StartsAt)
        .order_by_asc(session::Column::Id)
        .all(db)
        .await?;
    let links: Vec<session_speaker::Model> = session_speaker::Entity::find()
        .filter(session_speaker::Column::ForumId.eq(f.id))
        .order_by_asc(session_speaker::Column::Position)
        .all(db)
        .await?;
    let people: HashMap<Uuid, Speaker> = speakers::entity::Entity::find()
        .filter(speakers::entity::Column::ForumId.eq(f.id))
        .all(db)
        .await?
        .into_iter()
        .map(|s| (s.id, s))
        .collect();
    let mut persons_of: HashMap<Uuid, Vec<PersonSpec>> = HashMap::new();
    for l in links {
        if let Some(s) = people.get(&l.speaker_id) {
            persons_of
                .entry(l.session_id)
                .or_default()
                .push(PersonSpec {
                    name: s.name.clone(),
                    external_key: Some(
                        s.external_key
                            .clone()
                            .unwrap_or_else(|| format!("guid:{}", s.id)),
                    ),
                    role: PersonRole::parse(&l.role).unwrap_or(PersonRole::Speaker),
                });
        }
    }
    let mut sequences = Vec::with_capacity(list.len());
    let events = list
        .into_iter()
        .map(|s| {
            sequences.push((s.version - 1).max(0) as u32);
            EventSpec {
                url: s
                    .url
                    .clone()
                    .or_else(|| Some(public.session_url(&f.slug, s.id))),
                persons: persons_of.remove(&s.id).unwrap_or_default(),
                guid: s.guid,
                frab_id: Some(s.frab_id),
                title: s.title,
                subtitle: s.subtitle,
                abstract_text: s.abstract_text,
                description: s.description,
                track: s.track,
                event_type: if s.event_type.is_empty() {
                    s.kind
                } else {
                    s.event_type
                },
                language: s.language,
                start: s.starts_at,
                end: s.ends_at,
                room: s.room_id.and_then(|r| room_names.get(&r).cloned()),
                slug: s.slug,
            }
        })
        .collect();
    let programme = Programme {
        conference: Conference {
            acronym: f.acronym.clone().unwrap_or_else(|| f.slug.clone()),
            title: f.title.clone(),
            time_zone: Some(access.tz()),
            start: f.first_day,
            end: f.last_day,
            day_change: f.day_change,
            timeslot_minutes: f.timeslot_minutes.max(1) as u32,
            base_url: Some(public.forum_url(&f.slug)),
            version: Some(format!("{}", f.updated_at.format("%Y-%m-%dT%H:%M:%SZ"))),
            utc_offset_seconds: None,
        },
        rooms: rooms
            .iter()
            .map(|r| RoomSpec {
                name: r.name.clone(),
                guid: r.guid.clone(),
                capacity: r.capacity,
                description: Some(r.description.clone()).filter(|d| !d.is_empty()),
            })
            .collect(),
        events,
        warnings: vec![],
    };
    Ok((programme, sequences))
}
