//! Reminder e-mails: `reminder.forum` before a forum starts (to each confirmed
//! participant) and `reminder.session` before a session starts (to each seat holder).
//! They are ordinary outbox rows due later (`next_attempt_at` = start − lead), written in
//! the same transaction as the change that implies them, and re-timed or cancelled by the
//! changes that make them wrong. Every path that changes who is confirmed or seated, or
//! when something starts, calls one of the functions here; nothing else writes reminders.
//!
//! # Lead times
//! Per forum, in whole minutes: `forums.forum_reminder_minutes` (default 1440 = 24 h) and
//! `forums.session_reminder_minutes` (default 60 = 1 h); 0 turns that reminder off.
//!
//! # When a forum starts
//! [`forum_start`]: the earliest `starts_at` of the forum's **scheduled** (not cancelled)
//! sessions; a forum without any starts at 00:00 local time (its `time_zone`) on its
//! `first_day` (the first valid local instant of that day when a DST change skips
//! midnight).
//!
//! # Which rows exist
//! A reminder is due at `start − lead`. It is written only when that instant is still in
//! the future; when it has already passed (a seat taken 30 minutes before a session
//! with a 1 h lead, a session moved to begin in 10 minutes), **no reminder is written**:
//! the person has just been sent the confirmation or change notice, and a "begins soon"
//! right behind it is noise. A start in the past never gets one.
//!
//! # Dedupe keys
//! - `reminder.forum:<forum id>:<registration id>:<start unix seconds>:<lead minutes>`
//! - `reminder.session:<session id>:<sign-up id>:<start unix seconds>:<lead minutes>`
//!
//! The key names the instant and lead it was made for, so a re-timed reminder is a new
//! row (the old pending one is `cancelled`), and the rows of one forum, person, session or
//! sign-up are found by a `LIKE '<prefix>%'` on both databases (ids are lower-case
//! hyphenated UUIDs: no `%` or `_`). Re-timing back to an instant whose row was cancelled
//! puts that row back to `pending` (the key is UNIQUE); a row already `sent` for the same
//! start and lead is not sent again.
//!
//! # Archived forums
//! Archiving a forum cancels all its pending reminders ([`forum_archived`]); closing one
//! does not (a closed forum may still take place, and may be re-opened).
//!
//! # At send time
//! [`check`] re-reads the database before a `reminder.*` row is rendered (the worker
//! calls it): the forum not archived, the registration still confirmed, the sign-up still seated, the session
//! still scheduled, the start still in the future and equal to the key's, the lead
//! unchanged. A stale row is marked `cancelled` by the worker instead of being sent; a
//! current one is rendered with fresh `data` (titles, room and venue as they are now) and
//! the participant's current name and language.
//!
//! A row being sent at the very moment it is cancelled may still go out (the worker does
//! not hold a transaction while sending); it is then left `cancelled`, not `sent`.

use std::collections::HashMap;
use std::fmt;

use chrono::{DateTime, NaiveTime, TimeZone, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QuerySelect};
use uuid::Uuid;

use super::ClearLease as _;
use super::{enqueue_many, entity, signal, NewNotification, Notification};
use crate::error::Result;
use crate::forums::Forum;
use crate::registrations::entity::registration::Model as Registration;
use crate::registrations::entity::{registration, signup};
use crate::sessions::entity::session;
use crate::sessions::Session;

/// Kind of the forum reminder.
pub const FORUM_KIND: &str = "reminder.forum";
/// Kind of the session reminder.
pub const SESSION_KIND: &str = "reminder.session";

/// What a reminder row is for, as written in (and read back from) its dedupe key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReminderKey {
    /// `reminder.forum:<forum_id>:<registration_id>:<start unix>:<lead_minutes>`.
    Forum {
        /// The forum.
        forum_id: Uuid,
        /// The confirmed registration it goes to.
        registration_id: Uuid,
        /// The forum start it was made for (UTC, whole seconds).
        start: DateTime<Utc>,
        /// The lead it was made with, minutes.
        lead_minutes: i32,
    },
    /// `reminder.session:<session_id>:<signup_id>:<start unix>:<lead_minutes>`.
    Session {
        /// The session.
        session_id: Uuid,
        /// The seated sign-up it goes to.
        signup_id: Uuid,
        /// The session start it was made for (UTC, whole seconds).
        start: DateTime<Utc>,
        /// The lead it was made with, minutes.
        lead_minutes: i32,
    },
}

impl fmt::Display for ReminderKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReminderKey::Forum {
                forum_id,
                registration_id,
                start,
                lead_minutes,
            } => write!(
                f,
                "{}{}",
                person_prefix(*forum_id, *registration_id),
                suffix(*start, *lead_minutes)
            ),
            ReminderKey::Session {
                session_id,
                signup_id,
                start,
                lead_minutes,
            } => write!(
                f,
                "{}{}",
                signup_prefix(*session_id, *signup_id),
                suffix(*start, *lead_minutes)
            ),
        }
    }
}

impl ReminderKey {
    /// Reads a reminder dedupe key; `None` for any other key or a malformed one.
    pub fn parse(key: &str) -> Option<ReminderKey> {
        let parts: Vec<&str> = key.split(':').collect();
        let [kind, a, b, start, lead] = parts.as_slice() else {
            return None;
        };
        let a = Uuid::parse_str(a).ok()?;
        let b = Uuid::parse_str(b).ok()?;
        let start = DateTime::<Utc>::from_timestamp(start.parse().ok()?, 0)?;
        let lead_minutes: i32 = lead.parse().ok()?;
        match *kind {
            FORUM_KIND => Some(ReminderKey::Forum {
                forum_id: a,
                registration_id: b,
                start,
                lead_minutes,
            }),
            SESSION_KIND => Some(ReminderKey::Session {
                session_id: a,
                signup_id: b,
                start,
                lead_minutes,
            }),
            _ => None,
        }
    }
}

/// `:<start unix>:<lead>`: the common end of the keys of one re-timing.
fn suffix(start: DateTime<Utc>, lead_minutes: i32) -> String {
    format!(":{}:{}", start.timestamp(), lead_minutes)
}
fn forum_prefix(forum_id: Uuid) -> String {
    format!("{FORUM_KIND}:{forum_id}:")
}
fn person_prefix(forum_id: Uuid, registration_id: Uuid) -> String {
    format!("{FORUM_KIND}:{forum_id}:{registration_id}")
}
fn session_prefix(session_id: Uuid) -> String {
    format!("{SESSION_KIND}:{session_id}:")
}
fn signup_prefix(session_id: Uuid, signup_id: Uuid) -> String {
    format!("{SESSION_KIND}:{session_id}:{signup_id}")
}

/// The instant a reminder for `start` with `lead_minutes` is due, when one should be
/// written now: the lead is positive and `start − lead` is still after `now`.
pub fn due_at(
    start: DateTime<Utc>,
    lead_minutes: i32,
    now: DateTime<Utc>,
) -> Option<DateTime<Utc>> {
    if lead_minutes <= 0 {
        return None;
    }
    let at = start - chrono::Duration::minutes(lead_minutes as i64);
    (at > now).then_some(at)
}

/// 00:00 local time of the forum's `first_day` in its `time_zone`, as UTC (the first
/// valid local instant of that day when a DST change skips midnight).
pub fn first_day_start(forum: &Forum) -> DateTime<Utc> {
    let tz: chrono_tz::Tz = forum.time_zone.parse().unwrap_or(chrono_tz::UTC);
    let midnight = forum.first_day.and_time(NaiveTime::MIN);
    (0..=4)
        .find_map(|h| {
            tz.from_local_datetime(&(midnight + chrono::Duration::minutes(30 * h)))
                .earliest()
        })
        .map(|t| t.with_timezone(&Utc))
        .unwrap_or_else(|| Utc.from_utc_datetime(&midnight))
}

/// When the forum starts (see the module doc): its earliest scheduled session's start,
/// else [`first_day_start`]. UTC.
pub async fn forum_start(db: &impl ConnectionTrait, forum: &Forum) -> Result<DateTime<Utc>> {
    Ok(earliest_session(db, forum.id, None)
        .await?
        .unwrap_or_else(|| first_day_start(forum)))
}

/// The earliest start of the forum's scheduled sessions, leaving out session `except`.
async fn earliest_session(
    db: &impl ConnectionTrait,
    forum_id: Uuid,
    except: Option<Uuid>,
) -> Result<Option<DateTime<Utc>>> {
    let mut q = session::Entity::find()
        .select_only()
        .column_as(session::Column::StartsAt.min(), "m")
        .filter(session::Column::ForumId.eq(forum_id))
        .filter(session::Column::Status.eq("scheduled"));
    if let Some(id) = except {
        q = q.filter(session::Column::Id.ne(id));
    }
    let m: Option<Option<DateTime<Utc>>> = q.into_tuple().one(db).await?;
    Ok(m.flatten())
}

/// The forum row as this transaction sees it now (the caller's copy may have been read
/// before the forum row was locked, and a lead time may have changed since).
async fn fresh(txn: &impl ConnectionTrait, forum: &Forum) -> Result<Forum> {
    crate::forums::by_id(txn, forum.id).await
}

fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// `data` of a `reminder.forum` row: `forum`, `registration_id`, `starts_at` (the forum
/// start, RFC 3339 UTC), `first_day` (its local date, `YYYY-MM-DD`), `venue`.
fn forum_data(forum: &Forum, registration_id: Uuid, start: DateTime<Utc>) -> serde_json::Value {
    let tz: chrono_tz::Tz = forum.time_zone.parse().unwrap_or(chrono_tz::UTC);
    serde_json::json!({
        "forum": crate::sessions::forum_notice_data(forum),
        "registration_id": registration_id,
        "starts_at": rfc3339(start),
        "first_day": start.with_timezone(&tz).date_naive().format("%Y-%m-%d").to_string(),
        "venue": forum.venue,
    })
}

/// `data` of a `reminder.session` row: `forum`, `registration_id`, `session`.
async fn session_data(
    db: &impl ConnectionTrait,
    forum: &Forum,
    registration_id: Uuid,
    s: &Session,
) -> Result<serde_json::Value> {
    Ok(serde_json::json!({
        "forum": crate::sessions::forum_notice_data(forum),
        "registration_id": registration_id,
        "session": crate::sessions::notice_data_of(db, s).await?,
    }))
}

/// The `reminder.forum` row for confirmed registration `r` when the forum starts at
/// `start`, or `None` when none is due (off, or `start − lead` not after `now`).
pub(crate) fn forum_reminder(
    forum: &Forum,
    start: DateTime<Utc>,
    r: &Registration,
    now: DateTime<Utc>,
) -> Option<NewNotification> {
    let at = due_at(start, forum.forum_reminder_minutes, now)?;
    let key = ReminderKey::Forum {
        forum_id: forum.id,
        registration_id: r.id,
        start,
        lead_minutes: forum.forum_reminder_minutes,
    };
    Some(NewNotification {
        forum_id: forum.id,
        kind: FORUM_KIND.into(),
        recipient_email: r.email.clone(),
        recipient_name: r.name.clone(),
        language: r.language.clone(),
        data: forum_data(forum, r.id, start),
        dedupe_key: key.to_string(),
        send_after: Some(at),
    })
}

/// Writes `rows` (reminders): a key never seen is inserted; a key whose row was
/// `cancelled` (re-timed away and back) is put back to `pending`, due at its new
/// `send_after`, with the new data; a key that is pending, sent or dead stays as it is.
async fn put(txn: &impl ConnectionTrait, rows: Vec<NewNotification>) -> Result<()> {
    if rows.is_empty() {
        return Ok(());
    }
    let keys: Vec<String> = rows.iter().map(|n| n.dedupe_key.clone()).collect();
    let mut existing: HashMap<String, String> = HashMap::new();
    for chunk in keys.chunks(500) {
        let found: Vec<(String, String)> = entity::Entity::find()
            .select_only()
            .column(entity::Column::DedupeKey)
            .column(entity::Column::Status)
            .filter(entity::Column::DedupeKey.is_in(chunk.to_vec()))
            .into_tuple()
            .all(txn)
            .await?;
        existing.extend(found);
    }
    let now = crate::db::now();
    let mut fresh = vec![];
    let mut revived = 0;
    for n in rows {
        match existing.get(&n.dedupe_key).map(String::as_str) {
            None => fresh.push(n),
            Some("cancelled") => {
                entity::Entity::update_many()
                    .col_expr(entity::Column::Status, Expr::value("pending"))
                    .col_expr(entity::Column::Attempts, Expr::value(0))
                    .col_expr(
                        entity::Column::NextAttemptAt,
                        Expr::value(n.send_after.unwrap_or(now)),
                    )
                    .col_expr(
                        entity::Column::RecipientEmail,
                        Expr::value(n.recipient_email),
                    )
                    .col_expr(entity::Column::RecipientName, Expr::value(n.recipient_name))
                    .col_expr(entity::Column::Language, Expr::value(n.language))
                    .col_expr(entity::Column::Data, Expr::value(n.data))
                    .clear_lease()
                    .col_expr(
                        entity::Column::LastError,
                        Expr::value(Option::<String>::None),
                    )
                    .col_expr(entity::Column::UpdatedAt, Expr::value(now))
                    .filter(entity::Column::DedupeKey.eq(n.dedupe_key))
                    .filter(entity::Column::Status.eq("cancelled"))
                    .exec(txn)
                    .await?;
                revived += 1;
            }
            Some(_) => {}
        }
    }
    let inserted = enqueue_many(txn, fresh).await?;
    if revived > 0 && inserted == 0 {
        signal(txn).await?;
    }
    Ok(())
}

/// Cancels the forum's pending rows of `kind` whose key starts with `prefix`, except
/// those ending with `keep` (the suffix of the current start and lead). Returns how many.
async fn cancel_pending(
    txn: &impl ConnectionTrait,
    forum_id: Uuid,
    kind: &str,
    prefix: &str,
    keep: Option<&str>,
) -> Result<u64> {
    cancel_pending_because(txn, forum_id, kind, prefix, keep, None).await
}

/// [`cancel_pending`], keeping `reason` (if any) in `last_error` for the organizer's list.
async fn cancel_pending_because(
    txn: &impl ConnectionTrait,
    forum_id: Uuid,
    kind: &str,
    prefix: &str,
    keep: Option<&str>,
    reason: Option<&str>,
) -> Result<u64> {
    let mut q = entity::Entity::update_many()
        .col_expr(entity::Column::Status, Expr::value("cancelled"))
        .col_expr(entity::Column::UpdatedAt, Expr::value(crate::db::now()));
    if let Some(r) = reason {
        q = q.col_expr(entity::Column::LastError, Expr::value(r));
    }
    let mut q = q
        .filter(entity::Column::ForumId.eq(forum_id))
        .filter(entity::Column::Kind.eq(kind))
        .filter(entity::Column::Status.eq("pending"))
        .filter(entity::Column::DedupeKey.starts_with(prefix));
    if let Some(k) = keep {
        q = q.filter(entity::Column::DedupeKey.not_like(format!("%{k}")));
    }
    Ok(q.exec(txn).await?.rows_affected)
}

/// The suffix of the keys that stay valid for `start` and `lead` (`None`: none does —
/// the reminder is off or the start is not in the future). A pending row made for the
/// same start and lead stays even when it is already due (it is about to be sent).
fn keep_suffix(start: Option<DateTime<Utc>>, lead: i32, now: DateTime<Utc>) -> Option<String> {
    start
        .filter(|s| *s > now && lead > 0)
        .map(|s| suffix(s, lead))
}

/// Cancels every pending reminder of the forum, both kinds, in the caller's transaction:
/// called when the forum is archived (kept for the record, read-only: nothing of it is
/// upcoming any more, and archiving cannot be undone). A closed forum keeps its reminders:
/// it may still take place, and it can be re-opened. Returns how many rows were cancelled.
pub(crate) async fn forum_archived(txn: &impl ConnectionTrait, forum_id: Uuid) -> Result<u64> {
    let mut n = 0;
    for kind in [FORUM_KIND, SESSION_KIND] {
        let prefix = format!("{kind}:");
        let why = Some("cancelled: the forum was archived");
        n += cancel_pending_because(txn, forum_id, kind, &prefix, None, why).await?;
    }
    Ok(n)
}

/// Writes the `reminder.forum` rows of registrations that just became confirmed
/// (open-mode registration, approval, wait-list promotion, manual promotion), in the
/// caller's transaction.
pub(crate) async fn schedule_forum(
    txn: &impl ConnectionTrait,
    forum: &Forum,
    confirmed: &[Registration],
) -> Result<()> {
    if confirmed.is_empty() {
        return Ok(());
    }
    let forum = &fresh(txn, forum).await?;
    if forum.forum_reminder_minutes <= 0 {
        return Ok(());
    }
    let start = forum_start(txn, forum).await?;
    let now = crate::db::now();
    let rows = confirmed
        .iter()
        .filter_map(|r| forum_reminder(forum, start, r, now))
        .collect();
    put(txn, rows).await
}

/// Cancels the pending `reminder.forum` of registration `registration_id` (it was
/// cancelled or rejected). Its session reminders go with its sign-ups
/// ([`cancel_signup`]).
pub(crate) async fn cancel_registration(
    txn: &impl ConnectionTrait,
    forum_id: Uuid,
    registration_id: Uuid,
) -> Result<()> {
    cancel_pending(
        txn,
        forum_id,
        FORUM_KIND,
        &person_prefix(forum_id, registration_id),
        None,
    )
    .await?;
    Ok(())
}

/// Re-computes the forum's start and lead and makes its `reminder.forum` rows match:
/// pending rows made for another start or lead are cancelled, and every confirmed
/// registration gets its row for the current ones (when due in the future).
pub(crate) async fn retime_forum(txn: &impl ConnectionTrait, forum: &Forum) -> Result<()> {
    let forum = &fresh(txn, forum).await?;
    let start = forum_start(txn, forum).await?;
    let lead = forum.forum_reminder_minutes;
    let now = crate::db::now();
    let keep = keep_suffix(Some(start), lead, now);
    cancel_pending(
        txn,
        forum.id,
        FORUM_KIND,
        &forum_prefix(forum.id),
        keep.as_deref(),
    )
    .await?;
    if due_at(start, lead, now).is_none() {
        return Ok(());
    }
    let confirmed = registration::Entity::find()
        .filter(registration::Column::ForumId.eq(forum.id))
        .filter(registration::Column::Status.eq("confirmed"))
        .all(txn)
        .await?;
    let rows = confirmed
        .iter()
        .filter_map(|r| forum_reminder(forum, start, r, now))
        .collect();
    put(txn, rows).await
}

/// Writes the `reminder.session` row of sign-up `su` that just got a seat in session `s`
/// (a join with a free seat, a promotion from the session's wait-list).
pub(crate) async fn schedule_signup(
    txn: &impl ConnectionTrait,
    forum: &Forum,
    s: &Session,
    su: &signup::Model,
) -> Result<()> {
    if s.status != "scheduled" || su.status != "confirmed" {
        return Ok(());
    }
    let forum = &fresh(txn, forum).await?;
    let now = crate::db::now();
    let lead = forum.session_reminder_minutes;
    let Some(at) = due_at(s.starts_at, lead, now) else {
        return Ok(());
    };
    let Some(r) = registration::Entity::find_by_id(su.registration_id)
        .one(txn)
        .await?
    else {
        return Ok(());
    };
    let data = session_data(txn, forum, r.id, s).await?;
    put(txn, vec![session_reminder(forum, s, su.id, &r, data, at)]).await
}

fn session_reminder(
    forum: &Forum,
    s: &Session,
    signup_id: Uuid,
    r: &Registration,
    data: serde_json::Value,
    at: DateTime<Utc>,
) -> NewNotification {
    let key = ReminderKey::Session {
        session_id: s.id,
        signup_id,
        start: s.starts_at,
        lead_minutes: forum.session_reminder_minutes,
    };
    NewNotification {
        forum_id: forum.id,
        kind: SESSION_KIND.into(),
        recipient_email: r.email.clone(),
        recipient_name: r.name.clone(),
        language: r.language.clone(),
        data,
        dedupe_key: key.to_string(),
        send_after: Some(at),
    }
}

/// Cancels the pending `reminder.session` of sign-up `signup_id` (the seat was left or
/// lost, or the registration was cancelled or rejected).
pub(crate) async fn cancel_signup(
    txn: &impl ConnectionTrait,
    forum_id: Uuid,
    session_id: Uuid,
    signup_id: Uuid,
) -> Result<()> {
    cancel_pending(
        txn,
        forum_id,
        SESSION_KIND,
        &signup_prefix(session_id, signup_id),
        None,
    )
    .await?;
    Ok(())
}

/// Makes the `reminder.session` rows of session `s` match its current start, status and
/// the forum's lead: pending rows made for another start or lead are cancelled (all of
/// them when it is cancelled or over), and every seat holder gets a row for the current
/// start (when due in the future).
pub(crate) async fn retime_session(
    txn: &impl ConnectionTrait,
    forum: &Forum,
    s: &Session,
) -> Result<()> {
    let forum = &fresh(txn, forum).await?;
    let now = crate::db::now();
    let lead = forum.session_reminder_minutes;
    let live = s.status == "scheduled";
    let keep = keep_suffix(live.then_some(s.starts_at), lead, now);
    cancel_pending(
        txn,
        forum.id,
        SESSION_KIND,
        &session_prefix(s.id),
        keep.as_deref(),
    )
    .await?;
    let Some(at) = due_at(s.starts_at, lead, now).filter(|_| live) else {
        return Ok(());
    };
    let seated = signup::Entity::find()
        .filter(signup::Column::SessionId.eq(s.id))
        .filter(signup::Column::Status.eq("confirmed"))
        .all(txn)
        .await?;
    if seated.is_empty() {
        return Ok(());
    }
    let people: HashMap<Uuid, Registration> = registration::Entity::find()
        .filter(
            registration::Column::Id.is_in(
                seated
                    .iter()
                    .map(|su| su.registration_id)
                    .collect::<Vec<_>>(),
            ),
        )
        .filter(registration::Column::Status.eq("confirmed"))
        .all(txn)
        .await?
        .into_iter()
        .map(|r| (r.id, r))
        .collect();
    let mut rows = vec![];
    for su in &seated {
        if let Some(r) = people.get(&su.registration_id) {
            let data = session_data(txn, forum, r.id, s).await?;
            rows.push(session_reminder(forum, s, su.id, r, data, at));
        }
    }
    put(txn, rows).await
}

/// Called in the transaction of every change to a session — created (`before` = `None`),
/// edited or imported (both), deleted (`after` = `None`) — after the change is stored:
/// a new start or status re-times the session's reminders, a deleted session cancels
/// them, and when the change moves the forum's start the forum reminders are re-timed.
pub(crate) async fn session_changed(
    txn: &impl ConnectionTrait,
    forum: &Forum,
    before: Option<&Session>,
    after: Option<&Session>,
) -> Result<()> {
    match (before, after) {
        (Some(b), Some(a)) if b.starts_at != a.starts_at || b.status != a.status => {
            retime_session(txn, forum, a).await?;
        }
        (Some(b), None) => {
            cancel_pending(txn, forum.id, SESSION_KIND, &session_prefix(b.id), None).await?;
        }
        _ => {}
    }
    let Some(id) = after.or(before).map(|s| s.id) else {
        return Ok(());
    };
    let start_of = |s: Option<&Session>| s.filter(|s| s.status == "scheduled").map(|s| s.starts_at);
    let (b, a) = (start_of(before), start_of(after));
    if b == a {
        return Ok(());
    }
    let others = earliest_session(txn, forum.id, Some(id)).await?;
    let min = |x: Option<DateTime<Utc>>| match (x, others) {
        (Some(x), Some(o)) => Some(x.min(o)),
        (x, o) => x.or(o),
    };
    if min(b) != min(a) {
        retime_forum(txn, forum).await?;
    }
    Ok(())
}

/// Called by `forums::update` after a forum changed: a new first day or time zone (the
/// fallback start) or forum reminder lead re-times the forum reminders; a new session
/// reminder lead re-times the reminders of every scheduled session not yet begun.
pub(crate) async fn forum_changed(
    txn: &impl ConnectionTrait,
    before: &Forum,
    after: &Forum,
) -> Result<()> {
    if before.first_day != after.first_day
        || before.time_zone != after.time_zone
        || before.forum_reminder_minutes != after.forum_reminder_minutes
    {
        retime_forum(txn, after).await?;
    }
    if before.session_reminder_minutes != after.session_reminder_minutes {
        let upcoming = session::Entity::find()
            .filter(session::Column::ForumId.eq(after.id))
            .filter(session::Column::Status.eq("scheduled"))
            .filter(session::Column::StartsAt.gt(crate::db::now()))
            .all(txn)
            .await?;
        for s in &upcoming {
            retime_session(txn, after, s).await?;
        }
    }
    Ok(())
}

/// What the worker should do with a claimed `reminder.*` row.
#[derive(Debug, Clone, PartialEq)]
pub enum Verdict {
    /// Still right: send it, rendered with these fresh values (the registration's name
    /// and language may have changed since the row was written).
    Send {
        /// Template data as of now.
        data: serde_json::Value,
        /// The participant's name now.
        recipient_name: String,
        /// The participant's language now.
        language: String,
    },
    /// No longer right (the reason, for `last_error`): mark it `cancelled`, do not send.
    Stale(String),
}

/// The send-time check of a `reminder.*` row (see the module doc): reads the forum,
/// registration, sign-up and session as they are now. Errors: database errors only.
pub async fn check(db: &impl ConnectionTrait, row: &Notification) -> Result<Verdict> {
    let stale = |why: &str| Ok(Verdict::Stale(format!("stale reminder: {why}")));
    let Some(key) = ReminderKey::parse(&row.dedupe_key) else {
        return stale("unreadable dedupe key");
    };
    let Some(forum) = crate::forums::entity::Entity::find_by_id(row.forum_id)
        .one(db)
        .await?
    else {
        return stale("the forum is gone");
    };
    if forum.status == crate::forums::ForumStatus::Archived.as_str() {
        return stale("the forum is archived");
    }
    let now = crate::db::now();
    match key {
        ReminderKey::Forum {
            forum_id,
            registration_id,
            start,
            lead_minutes,
        } => {
            if row.kind != FORUM_KIND || forum_id != forum.id {
                return stale("key and row disagree");
            }
            let r = registration::Entity::find_by_id(registration_id)
                .one(db)
                .await?;
            let Some(r) = r.filter(|r| r.status == "confirmed" && r.forum_id == forum.id) else {
                return stale("the registration is no longer confirmed");
            };
            if lead_minutes != forum.forum_reminder_minutes {
                return stale("the forum reminder lead changed");
            }
            let current = forum_start(db, &forum).await?;
            if current != start {
                return stale("the forum start changed");
            }
            if current <= now {
                return stale("the forum has begun");
            }
            Ok(Verdict::Send {
                data: forum_data(&forum, registration_id, current),
                recipient_name: r.name,
                language: r.language,
            })
        }
        ReminderKey::Session {
            session_id,
            signup_id,
            start,
            lead_minutes,
        } => {
            if row.kind != SESSION_KIND {
                return stale("key and row disagree");
            }
            let su = signup::Entity::find_by_id(signup_id).one(db).await?;
            let Some(su) = su.filter(|su| su.session_id == session_id) else {
                return stale("the sign-up is gone");
            };
            if su.status != "confirmed" {
                return stale("the seat was given up or lost");
            }
            let r = registration::Entity::find_by_id(su.registration_id)
                .one(db)
                .await?;
            let Some(r) = r.filter(|r| r.status == "confirmed" && r.forum_id == forum.id) else {
                return stale("the registration is no longer confirmed");
            };
            let Some(s) = session::Entity::find_by_id(session_id)
                .one(db)
                .await?
                .filter(|s| s.forum_id == forum.id)
            else {
                return stale("the session is gone");
            };
            if s.status != "scheduled" {
                return stale("the session is cancelled");
            }
            if lead_minutes != forum.session_reminder_minutes {
                return stale("the session reminder lead changed");
            }
            if s.starts_at != start {
                return stale("the session was moved");
            }
            if s.starts_at <= now {
                return stale("the session has begun");
            }
            Ok(Verdict::Send {
                data: session_data(db, &forum, r.id, &s).await?,
                recipient_name: r.name,
                language: r.language,
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_round_trip_and_share_prefixes() {
        let (a, b) = (Uuid::new_v4(), Uuid::new_v4());
        let start = DateTime::<Utc>::from_timestamp(1_921_993_200, 0).unwrap();
        let k = ReminderKey::Session {
            session_id: a,
            signup_id: b,
            start,
            lead_minutes: 60,
        };
        let s = k.to_string();
        assert_eq!(s, format!("reminder.session:{a}:{b}:1921993200:60"));
        assert_eq!(ReminderKey::parse(&s), Some(k));
        assert!(s.starts_with(&session_prefix(a)));
        assert!(s.starts_with(&signup_prefix(a, b)));
        assert!(s.ends_with(&suffix(start, 60)));
        assert!(!s.ends_with(&suffix(start, 0)));
        let f = ReminderKey::Forum {
            forum_id: a,
            registration_id: b,
            start,
            lead_minutes: 1440,
        };
        assert_eq!(ReminderKey::parse(&f.to_string()), Some(f));
        assert!(f.to_string().starts_with(&forum_prefix(a)));
        assert_eq!(ReminderKey::parse("registration.confirmed:x:1"), None);
        assert_eq!(
            ReminderKey::parse(&format!("reminder.forum:{a}:{b}:x:1")),
            None
        );
    }

    #[test]
    fn due_only_when_the_lead_is_on_and_the_moment_is_ahead() {
        let now = DateTime::<Utc>::from_timestamp(1_000_000, 0).unwrap();
        let start = now + chrono::Duration::hours(2);
        assert_eq!(
            due_at(start, 60, now),
            Some(now + chrono::Duration::hours(1))
        );
        assert_eq!(due_at(start, 0, now), None, "0 = off");
        assert_eq!(due_at(start, 120, now), None, "due exactly now: skipped");
        assert_eq!(due_at(start, 180, now), None, "due in the past: skipped");
        assert_eq!(due_at(now - chrono::Duration::hours(1), 1, now), None);
    }
}
