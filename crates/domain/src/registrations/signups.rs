//! Session sign-ups: a confirmed participant takes a seat (or a wait-list place) in a
//! session. Same rules as the forum: the session's `session_seat_counters` row is locked
//! for every seat change, seats ≤ capacity (the session's own, else its room's), freed
//! seats go to the lowest `seq` in the same transaction. One person is never signed up
//! (seat or wait-list) for two overlapping live sessions.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::OnConflict;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait,
    IntoActiveModel, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, Set,
};
use serde::Serialize;
use uuid::Uuid;

use super::entity::{registration, session_counters, signup};
use super::{bump, forum_data, lock_registration, resolve, seat_free, Actor, Status};
use crate::error::{ConflictKind, ConflictingSession, Error, Result};
use crate::forums::Forum;
use crate::notifications::{self, reminders, NewNotification};
use crate::sessions::entity::session;
use crate::teams::Permission;

/// A sign-up as shown to its holder.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct SignupView {
    /// Sign-up id.
    pub id: Uuid,
    /// The session.
    pub session_id: Uuid,
    /// Its title.
    pub title: String,
    /// Start (UTC).
    pub starts_at: DateTime<Utc>,
    /// End (UTC).
    pub ends_at: DateTime<Utc>,
    /// The same instants in the forum's time zone, as sessions show them.
    pub local: crate::sessions::LocalTimes,
    /// `confirmed` (a seat), `waitlisted`, `left` or `lost`.
    pub status: String,
    /// 1-based wait-list place, when wait-listed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub waitlist_position: Option<i64>,
    /// When checked in at the session (UTC).
    pub checked_in_at: Option<DateTime<Utc>>,
}

/// The seats of a session: its own capacity, else its room's; `None` = unlimited.
pub async fn effective_capacity(
    db: &impl ConnectionTrait,
    s: &session::Model,
) -> Result<Option<i32>> {
    if s.capacity.is_some() {
        return Ok(s.capacity);
    }
    match s.room_id {
        Some(r) => Ok(crate::rooms::entity::Entity::find_by_id(r)
            .one(db)
            .await?
            .and_then(|r| r.capacity)),
        None => Ok(None),
    }
}

/// Locks a session's counter row (creating it on first use).
pub(crate) async fn lock_session_counters(
    txn: &impl ConnectionTrait,
    forum_id: Uuid,
    session_id: Uuid,
) -> Result<session_counters::Model> {
    if let Some(c) = session_counters::Entity::find_by_id(session_id)
        .lock_exclusive()
        .one(txn)
        .await?
    {
        return Ok(c);
    }
    session_counters::Entity::insert(session_counters::ActiveModel {
        session_id: Set(session_id),
        forum_id: Set(forum_id),
        confirmed_count: Set(0),
        waitlisted_count: Set(0),
        checked_in_count: Set(0),
        next_seq: Set(1),
    })
    .on_conflict(
        OnConflict::column(session_counters::Column::SessionId)
            .do_nothing()
            .to_owned(),
    )
    .exec_without_returning(txn)
    .await?;
    session_counters::Entity::find_by_id(session_id)
        .lock_exclusive()
        .one(txn)
        .await?
        .ok_or(Error::NotFound("session"))
}

pub(crate) async fn save_session_counters(
    txn: &impl ConnectionTrait,
    c: &session_counters::Model,
) -> Result<()> {
    let mut am = c.clone().into_active_model();
    am.confirmed_count = Set(c.confirmed_count);
    am.waitlisted_count = Set(c.waitlisted_count);
    am.checked_in_count = Set(c.checked_in_count);
    am.next_seq = Set(c.next_seq);
    am.update(txn).await?;
    Ok(())
}

async fn save_signup(txn: &impl ConnectionTrait, s: &signup::Model) -> Result<signup::Model> {
    let mut am = s.clone().into_active_model().reset_all();
    am.id = sea_orm::ActiveValue::Unchanged(s.id);
    Ok(am.update(txn).await?)
}

/// `data.session` of notifications (see NOTIFICATIONS.md): built in one place,
/// [`crate::sessions::notice_data_of`].
pub async fn session_data(
    db: &impl ConnectionTrait,
    s: &session::Model,
) -> Result<serde_json::Value> {
    crate::sessions::notice_data_of(db, s).await
}

/// Writes `signup.<kind>` for sign-up `su` to its participant (counting repeats).
async fn notify_signup(
    txn: &impl ConnectionTrait,
    forum: &Forum,
    su: &mut signup::Model,
    s: &session::Model,
    kind: &str,
    reason: Option<&str>,
) -> Result<()> {
    let Some(r) = registration::Entity::find_by_id(su.registration_id)
        .one(txn)
        .await?
    else {
        return Ok(());
    };
    let n = bump(&mut su.mail_counts, kind);
    let mut data = serde_json::json!({
        "forum": forum_data(forum),
        "registration_id": r.id,
        "session": session_data(txn, s).await?,
    });
    if let Some(reason) = reason {
        data["reason"] = serde_json::json!(reason);
    }
    notifications::enqueue(
        txn,
        NewNotification {
            forum_id: forum.id,
            kind: format!("signup.{kind}"),
            recipient_email: r.email,
            recipient_name: r.name,
            language: r.language,
            data,
            dedupe_key: format!("signup.{kind}:{}:{n}", su.id),
            send_after: None,
        },
    )
    .await?;
    Ok(())
}

/// Promotes wait-listed sign-ups of session `s` while seats are free (counters locked).
async fn promote_session(
    txn: &impl ConnectionTrait,
    forum: &Forum,
    s: &session::Model,
    ctr: &mut session_counters::Model,
) -> Result<()> {
    if s.status != "scheduled" {
        return Ok(());
    }
    let cap = effective_capacity(txn, s).await?;
    while ctr.waitlisted_count > 0 && seat_free(cap, ctr.confirmed_count) {
        let free = cap.map_or(ctr.waitlisted_count, |c| {
            (c - ctr.confirmed_count).min(ctr.waitlisted_count)
        });
        let next = signup::Entity::find()
            .filter(signup::Column::SessionId.eq(s.id))
            .filter(signup::Column::Status.eq("waitlisted"))
            .order_by_asc(signup::Column::Seq)
            .limit(free.max(1) as u64)
            .lock_exclusive()
            .all(txn)
            .await?;
        if next.is_empty() {
            tracing::error!(session = %s.id, "session wait-list counter says more than the rows");
            break;
        }
        for mut su in next {
            su.status = "confirmed".into();
            su.updated_at = crate::db::now();
            ctr.waitlisted_count -= 1;
            ctr.confirmed_count += 1;
            notify_signup(txn, forum, &mut su, s, "promoted", None).await?;
            save_signup(txn, &su).await?;
            reminders::schedule_signup(txn, forum, s, &su).await?;
        }
    }
    Ok(())
}

/// Whether a capacity change from `before` to `after` gives more seats (`None` =
/// unlimited): a higher number, or a number becoming unlimited.
pub fn capacity_grew(before: Option<i32>, after: Option<i32>) -> bool {
    match (before, after) {
        (Some(b), Some(a)) => a > b,
        (Some(_), None) => true,
        (None, _) => false,
    }
}

/// Called in the transaction that changed room `room_id`'s capacity from `before` to
/// `after` (room PATCH, schedule import; forum row locked by [`crate::db::lock_forum`]).
/// Every scheduled session of the room without its own capacity inherits the room's
/// ([`effective_capacity`]); when the room grew, each of them with a wait-list promotes
/// from it exactly as a session capacity increase does ([`promote_session`]: oldest `seq`
/// first, once per freed seat, `signup.promoted` outbox row and session reminder each),
/// sessions in id order (the lock order of session counters). A lower capacity never
/// promotes nor takes a seat away.
pub(crate) async fn room_capacity_changed(
    txn: &impl ConnectionTrait,
    forum: &Forum,
    room_id: Uuid,
    before: Option<i32>,
    after: Option<i32>,
) -> Result<()> {
    if !capacity_grew(before, after) {
        return Ok(());
    }
    let inheriting: Vec<session::Model> = session::Entity::find()
        .filter(session::Column::RoomId.eq(room_id))
        .filter(session::Column::Capacity.is_null())
        .filter(session::Column::Status.eq("scheduled"))
        .order_by_asc(session::Column::Id)
        .all(txn)
        .await?;
    if inheriting.is_empty() {
        return Ok(());
    }
    let waiting: std::collections::HashSet<Uuid> = session_counters::Entity::find()
        .select_only()
        .column(session_counters::Column::SessionId)
        .filter(session_counters::Column::SessionId.is_in(inheriting.iter().map(|s| s.id)))
        .filter(session_counters::Column::WaitlistedCount.gt(0))
        .into_tuple::<Uuid>()
        .all(txn)
        .await?
        .into_iter()
        .collect();
    for s in inheriting.iter().filter(|s| waiting.contains(&s.id)) {
        let mut ctr = lock_session_counters(txn, forum.id, s.id).await?;
        promote_session(txn, forum, s, &mut ctr).await?;
        save_session_counters(txn, &ctr).await?;
    }
    Ok(())
}

/// Releases every live sign-up of registration `reg_id` (it was cancelled or rejected):
/// seats go to the next in line of each session. No `signup.lost` mail: the participant
/// is told about the registration itself.
pub(crate) async fn release_all(
    txn: &impl ConnectionTrait,
    forum: &Forum,
    reg_id: Uuid,
) -> Result<()> {
    let live = signup::Entity::find()
        .filter(signup::Column::RegistrationId.eq(reg_id))
        .filter(signup::Column::Status.is_in(["confirmed", "waitlisted"]))
        .order_by_asc(signup::Column::SessionId)
        .all(txn)
        .await?;
    for mut su in live {
        let mut ctr = lock_session_counters(txn, forum.id, su.session_id).await?;
        let was_seat = su.status == "confirmed";
        if was_seat {
            ctr.confirmed_count -= 1;
        } else {
            ctr.waitlisted_count -= 1;
        }
        su.status = "lost".into();
        su.updated_at = crate::db::now();
        save_signup(txn, &su).await?;
        reminders::cancel_signup(txn, forum.id, su.session_id, su.id).await?;
        if was_seat {
            if let Some(s) = session::Entity::find_by_id(su.session_id).one(txn).await? {
                promote_session(txn, forum, &s, &mut ctr).await?;
            }
        }
        save_session_counters(txn, &ctr).await?;
    }
    Ok(())
}

async fn view(
    db: &impl ConnectionTrait,
    forum: &Forum,
    su: &signup::Model,
    s: &session::Model,
) -> Result<SignupView> {
    let waitlist_position = if su.status == "waitlisted" {
        Some(
            signup::Entity::find()
                .filter(signup::Column::SessionId.eq(su.session_id))
                .filter(signup::Column::Status.eq("waitlisted"))
                .filter(signup::Column::Seq.lte(su.seq))
                .count(db)
                .await? as i64,
        )
    } else {
        None
    };
    Ok(SignupView {
        id: su.id,
        session_id: s.id,
        title: s.title.clone(),
        starts_at: s.starts_at,
        ends_at: s.ends_at,
        local: crate::sessions::LocalTimes::of(forum, s.starts_at, s.ends_at),
        status: su.status.clone(),
        waitlist_position,
        checked_in_at: su.checked_in_at,
    })
}

async fn session_in(db: &impl ConnectionTrait, forum_id: Uuid, id: Uuid) -> Result<session::Model> {
    session::Entity::find_by_id(id)
        .one(db)
        .await?
        .filter(|s| s.forum_id == forum_id)
        .ok_or(Error::NotFound("session"))
}

/// Whether session `s` accepts sign-ups at `now`: until it starts. Errors:
/// [`Error::RegistrationClosed`] (409 `registration-closed`) with `closed_at` = its start.
pub fn signup_open(s: &session::Model, now: DateTime<Utc>) -> Result<()> {
    if now >= s.starts_at {
        return Err(Error::RegistrationClosed {
            message: format!(
                "sign-up for “{}” closed at {}, when the session started",
                s.title,
                s.starts_at.to_rfc3339()
            ),
            closed_at: Some(s.starts_at),
            opens_at: None,
        });
    }
    Ok(())
}

/// Signs registration `reg_id` up for session `session_id` (holder or organizer): a seat
/// when one is free, else the wait-list. Idempotent while signed up.
/// Errors: 401/403/404; 409 `registration-not-confirmed`; 409 `invalid-state` for a
/// cancelled session; 409 `registration-closed` once the session has started
/// ([`signup_open`]); 409 `session-clash` naming the overlapping session.
pub async fn join(
    db: &DatabaseConnection,
    actor: &Actor,
    slug: &str,
    reg_id: Uuid,
    session_id: Uuid,
) -> Result<SignupView> {
    let txn = crate::db::begin_write(db).await?;
    let (forum, _) = resolve(&txn, actor, slug, reg_id, Permission::Edit).await?;
    crate::forums::not_archived(&forum)?;
    crate::db::lock_forum_shared(&txn, forum.id).await?;
    let forum = crate::forums::by_id(&txn, forum.id).await?;
    let r = lock_registration(&txn, reg_id).await?;
    if Status::parse(&r.status) != Status::Confirmed {
        return Err(Error::conflict(
            ConflictKind::RegistrationNotConfirmed,
            format!(
                "only confirmed participants can sign up for sessions; this registration is {}",
                r.status
            ),
        ));
    }
    let s0 = session_in(&txn, forum.id, session_id).await?;
    let existing = signup::Entity::find()
        .filter(signup::Column::SessionId.eq(session_id))
        .filter(signup::Column::RegistrationId.eq(reg_id))
        .one(&txn)
        .await?;
    if let Some(su) = &existing {
        if su.status == "confirmed" || su.status == "waitlisted" {
            let v = view(&txn, &forum, su, &s0).await?;
            txn.commit().await?;
            return Ok(v);
        }
    }
    // Overlap with the person's other live sign-ups (seat or wait-list).
    let mine: Vec<Uuid> = signup::Entity::find()
        .select_only()
        .column(signup::Column::SessionId)
        .filter(signup::Column::RegistrationId.eq(reg_id))
        .filter(signup::Column::Status.is_in(["confirmed", "waitlisted"]))
        .into_tuple::<Uuid>()
        .all(&txn)
        .await?;
    if !mine.is_empty() {
        let clash = session::Entity::find()
            .filter(session::Column::Id.is_in(mine))
            .filter(session::Column::Status.eq("scheduled"))
            .filter(session::Column::StartsAt.lt(s0.ends_at))
            .filter(session::Column::EndsAt.gt(s0.starts_at))
            .order_by_asc(session::Column::StartsAt)
            .one(&txn)
            .await?;
        if let Some(c) = clash {
            return Err(Error::Conflict {
                kind: ConflictKind::SessionClash,
                message: format!(
                    "you are already signed up for \"{}\", which overlaps this session",
                    c.title
                ),
                session: Some(ConflictingSession {
                    id: c.id,
                    guid: c.guid,
                    title: c.title,
                    starts_at: c.starts_at,
                    ends_at: c.ends_at,
                }),
                errors: vec![],
            });
        }
    }
    let mut ctr = lock_session_counters(&txn, forum.id, session_id).await?;
    // Read again under the lock: a concurrent cancellation or capacity change committed.
    let s = session_in(&txn, forum.id, session_id).await?;
    if s.status != "scheduled" {
        return Err(Error::conflict(
            ConflictKind::InvalidState,
            "this session is cancelled",
        ));
    }
    let now = crate::db::now();
    signup_open(&s, now)?;
    let cap = effective_capacity(&txn, &s).await?;
    let seat = seat_free(cap, ctr.confirmed_count) && ctr.waitlisted_count == 0;
    let mut su = match existing {
        Some(mut su) => {
            su.updated_at = now;
            su.checked_in_at = None;
            su
        }
        None => signup::Model {
            id: Uuid::new_v4(),
            forum_id: forum.id,
            session_id,
            registration_id: reg_id,
            status: String::new(),
            seq: 0,
            checked_in_at: None,
            mail_counts: serde_json::json!({}),
            created_at: now,
            updated_at: now,
        },
    };
    let is_new = su.status.is_empty();
    su.seq = ctr.next_seq;
    ctr.next_seq += 1;
    let kind = if seat {
        ctr.confirmed_count += 1;
        su.status = "confirmed".into();
        "confirmed"
    } else {
        ctr.waitlisted_count += 1;
        su.status = "waitlisted".into();
        "waitlisted"
    };
    notify_signup(&txn, &forum, &mut su, &s, kind, None).await?;
    let su = if is_new {
        su.clone().into_active_model().insert(&txn).await?
    } else {
        save_signup(&txn, &su).await?
    };
    save_session_counters(&txn, &ctr).await?;
    // A seat gets its reminder; a wait-list place gets one when promoted.
    reminders::schedule_signup(&txn, &forum, &s, &su).await?;
    let v = view(&txn, &forum, &su, &s).await?;
    txn.commit().await?;
    Ok(v)
}

/// Leaves a session (holder or organizer): the seat goes to the next in line. Idempotent.
/// Errors: 401/403/404 (also when never signed up).
pub async fn leave(
    db: &DatabaseConnection,
    actor: &Actor,
    slug: &str,
    reg_id: Uuid,
    session_id: Uuid,
) -> Result<SignupView> {
    let txn = crate::db::begin_write(db).await?;
    let (forum, _) = resolve(&txn, actor, slug, reg_id, Permission::Edit).await?;
    crate::forums::not_archived(&forum)?;
    crate::db::lock_forum_shared(&txn, forum.id).await?;
    lock_registration(&txn, reg_id).await?;
    let s = session_in(&txn, forum.id, session_id).await?;
    let mut su = signup::Entity::find()
        .filter(signup::Column::SessionId.eq(session_id))
        .filter(signup::Column::RegistrationId.eq(reg_id))
        .one(&txn)
        .await?
        .ok_or(Error::NotFound("sign-up"))?;
    if su.status == "confirmed" || su.status == "waitlisted" {
        let mut ctr = lock_session_counters(&txn, forum.id, session_id).await?;
        let was_seat = su.status == "confirmed";
        if was_seat {
            ctr.confirmed_count -= 1;
        } else {
            ctr.waitlisted_count -= 1;
        }
        su.status = "left".into();
        su.updated_at = crate::db::now();
        su = save_signup(&txn, &su).await?;
        reminders::cancel_signup(&txn, forum.id, session_id, su.id).await?;
        if was_seat {
            promote_session(&txn, &forum, &s, &mut ctr).await?;
        }
        save_session_counters(&txn, &ctr).await?;
    }
    let v = view(&txn, &forum, &su, &s).await?;
    txn.commit().await?;
    Ok(v)
}

/// A registration's sign-ups, by session start (holder or check-in staff and up).
pub async fn list(
    db: &DatabaseConnection,
    actor: &Actor,
    slug: &str,
    reg_id: Uuid,
) -> Result<Vec<SignupView>> {
    let (forum, _) = resolve(db, actor, slug, reg_id, Permission::Read).await?;
    let sus = signup::Entity::find()
        .filter(signup::Column::RegistrationId.eq(reg_id))
        .all(db)
        .await?;
    let mut out = vec![];
    for su in sus {
        if let Some(s) = session::Entity::find_by_id(su.session_id).one(db).await? {
            out.push(view(db, &forum, &su, &s).await?);
        }
    }
    out.sort_by_key(|v| (v.starts_at, v.session_id));
    Ok(out)
}

/// The ids of the sessions where registration `reg_id` holds a seat.
pub async fn seated_sessions(db: &impl ConnectionTrait, reg_id: Uuid) -> Result<Vec<Uuid>> {
    Ok(signup::Entity::find()
        .select_only()
        .column(signup::Column::SessionId)
        .filter(signup::Column::RegistrationId.eq(reg_id))
        .filter(signup::Column::Status.eq("confirmed"))
        .into_tuple::<Uuid>()
        .all(db)
        .await?)
}

/// Called by `sessions::update` inside its transaction (forum row locked) after a session
/// changed. A cancelled session releases everyone: seat holders get `session.cancelled`,
/// wait-listed people `signup.lost`. A moved session (time or room) sends
/// `session.changed` to seat holders. A higher capacity promotes from the wait-list — its
/// own, or its room's when it has none, so a move to a larger room promotes too; a lower
/// one never promotes or takes a seat away.
pub async fn session_changed(
    txn: &impl ConnectionTrait,
    forum: &Forum,
    before: &session::Model,
    after: &session::Model,
) -> Result<()> {
    let any = signup::Entity::find()
        .filter(signup::Column::SessionId.eq(after.id))
        .filter(signup::Column::Status.is_in(["confirmed", "waitlisted"]))
        .count(txn)
        .await?;
    if any == 0 {
        return Ok(());
    }
    let mut ctr = lock_session_counters(txn, forum.id, after.id).await?;
    let live = signup::Entity::find()
        .filter(signup::Column::SessionId.eq(after.id))
        .filter(signup::Column::Status.is_in(["confirmed", "waitlisted"]))
        .order_by_asc(signup::Column::Seq)
        .all(txn)
        .await?;
    let data = session_data(txn, after).await?;
    if after.status == "cancelled" && before.status != "cancelled" {
        for mut su in live {
            if su.status == "confirmed" {
                ctr.confirmed_count -= 1;
                session_mail(
                    txn,
                    forum,
                    &su,
                    "session.cancelled",
                    &data,
                    None,
                    &format!("session.cancelled:{}", after.id),
                )
                .await?;
            } else {
                ctr.waitlisted_count -= 1;
                notify_signup(
                    txn,
                    forum,
                    &mut su,
                    after,
                    "lost",
                    Some("session cancelled"),
                )
                .await?;
            }
            su.status = "lost".into();
            su.updated_at = crate::db::now();
            save_signup(txn, &su).await?;
        }
        save_session_counters(txn, &ctr).await?;
        return Ok(());
    }
    if after.status != "scheduled" {
        return Ok(());
    }
    let moved = before.starts_at != after.starts_at
        || before.ends_at != after.ends_at
        || before.room_id != after.room_id;
    if moved {
        let room_before = match before.room_id {
            Some(r) => crate::rooms::entity::Entity::find_by_id(r)
                .one(txn)
                .await?
                .map(|r| r.name),
            None => None,
        };
        let previous = serde_json::json!({
            "starts_at": before.starts_at, "ends_at": before.ends_at, "room": room_before,
        });
        for su in live.iter().filter(|su| su.status == "confirmed") {
            session_mail(
                txn,
                forum,
                su,
                "session.changed",
                &data,
                Some(previous.clone()),
                &format!("session.changed:{}:{}", after.id, after.version),
            )
            .await?;
        }
    }
    promote_session(txn, forum, after, &mut ctr).await?;
    save_session_counters(txn, &ctr).await?;
    Ok(())
}

async fn session_mail(
    txn: &impl ConnectionTrait,
    forum: &Forum,
    su: &signup::Model,
    kind: &str,
    session: &serde_json::Value,
    previous: Option<serde_json::Value>,
    key_prefix: &str,
) -> Result<()> {
    let Some(r) = registration::Entity::find_by_id(su.registration_id)
        .one(txn)
        .await?
    else {
        return Ok(());
    };
    let mut data = serde_json::json!({"forum": forum_data(forum), "session": session});
    if let Some(p) = previous {
        data["previous"] = p;
    }
    notifications::enqueue(
        txn,
        NewNotification {
            forum_id: forum.id,
            kind: kind.into(),
            dedupe_key: format!("{key_prefix}:{}", r.email),
            recipient_email: r.email,
            recipient_name: r.name,
            language: r.language,
            data,
            send_after: None,
        },
    )
    .await?;
    Ok(())
}

/// The personal agenda of registration `reg_id` (its holder, or check-in staff and up):
/// the scheduled sessions where it holds a seat, as an RFC 5545 calendar with the forum's
/// VTIMEZONE and the same UIDs and SEQUENCEs as the forum's `schedule.ics` (so calendar
/// apps update the events). Returns `(file name, calendar text)`. Errors: 401/403/404.
pub async fn agenda(
    db: &DatabaseConnection,
    actor: &Actor,
    slug: &str,
    reg_id: Uuid,
    links: &crate::links::Links,
) -> Result<(String, String)> {
    let (forum, r) = resolve(db, actor, slug, reg_id, Permission::Read).await?;
    let seated = seated_sessions(db, r.id).await?;
    let guids: std::collections::HashSet<String> = if seated.is_empty() {
        Default::default()
    } else {
        session::Entity::find()
            .filter(session::Column::Id.is_in(seated))
            .all(db)
            .await?
            .into_iter()
            .map(|s| s.guid)
            .collect()
    };
    let access = crate::forums::ForumAccess { forum, role: None };
    let (mut p, seq) = crate::schedule::store::load(db, &access, links).await?;
    let mut sequences = vec![];
    let events = std::mem::take(&mut p.events);
    for (e, q) in events.into_iter().zip(seq) {
        if guids.contains(&e.guid) {
            p.events.push(e);
            sequences.push(q);
        }
    }
    let opts = crate::schedule::IcalOptions {
        uid_domain: links.host().to_owned(),
        generated_at: r.updated_at,
        calendar_name: format!("{} — {}", access.forum.title, r.name),
        sequences: Some(sequences),
        method: Some("PUBLISH".into()),
    };
    let body = crate::schedule::export_ical(&p, access.tz(), &opts);
    Ok((format!("{slug}-agenda.ics"), body))
}
/// How full one session is, from its seat counters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Availability {
    /// Seats held.
    pub confirmed: i32,
    /// People waiting.
    pub waitlisted: i32,
}

impl Availability {
    /// Seats left under `capacity` (the session's effective capacity; `None` = unlimited →
    /// `None`), never below 0.
    pub fn seats_left(&self, capacity: Option<i32>) -> Option<i32> {
        capacity.map(|c| (c - self.confirmed).max(0))
    }

    /// Whether someone signing up now gets a seat (by the same rule as [`join`]: a seat is
    /// free and nobody waits), else a wait-list place.
    pub fn gives_seat(&self, capacity: Option<i32>) -> bool {
        seat_free(capacity, self.confirmed) && self.waitlisted == 0
    }
}

/// The seat counters of every session of forum `forum_id` that has had a sign-up
/// (a session missing from the map has none: [`Availability::default`]).
pub async fn availability(
    db: &impl ConnectionTrait,
    forum_id: Uuid,
) -> Result<std::collections::HashMap<Uuid, Availability>> {
    Ok(session_counters::Entity::find()
        .filter(session_counters::Column::ForumId.eq(forum_id))
        .all(db)
        .await?
        .into_iter()
        .map(|c| {
            (
                c.session_id,
                Availability {
                    confirmed: c.confirmed_count,
                    waitlisted: c.waitlisted_count,
                },
            )
        })
        .collect())
}
