//! Check-in at the door: by registration id or by the badge's check-in code, for the
//! forum or for one session. Idempotent; only confirmed registrations are admitted.

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, DatabaseConnection, EntityTrait, IntoActiveModel, QueryFilter,
    Set,
};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::entity::{registration, signup};
use super::signups::{lock_session_counters, save_session_counters};
use super::{lock_counters, lock_registration, save_counters, RegistrationView, Status};
use crate::accounts::Caller;
use crate::error::{ConflictKind, ConflictingSession, Error, Result};
use crate::forums;
use crate::teams::Permission;

/// Body of `POST /forums/{slug}/check-ins`: exactly one of `registration_id` and `code`.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CheckIn {
    /// The registration's id.
    #[serde(default)]
    pub registration_id: Option<Uuid>,
    /// The badge's check-in code (case-insensitive).
    #[serde(
        default,
        deserialize_with = "crate::text::line::<{ crate::text::CODE }, _, _>"
    )]
    #[schema(max_length = 100)]
    pub code: Option<String>,
    /// Check in to this session (the participant must hold a seat) instead of the forum.
    #[serde(default)]
    pub session_id: Option<Uuid>,
}

/// Answer of a check-in.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct CheckInResult {
    /// The registration.
    pub registration: RegistrationView,
    /// The session, when checking in to one.
    pub session_id: Option<Uuid>,
    /// When the person was (first) checked in, UTC.
    pub checked_in_at: DateTime<Utc>,
    /// True when they had already been checked in (nothing changed).
    pub already_checked_in: bool,
}

/// Marks a participant present (check-in staff and up). Idempotent.
/// Errors: 401/403/404; 422 neither or both of id and code; 409
/// `registration-not-confirmed` (cancelled, rejected, pending or wait-listed for the
/// forum); 409 `seat-not-confirmed` naming the session (`conflicting_session`) when a
/// confirmed participant holds no seat in it (wait-listed, left, never signed up).
pub async fn check_in(
    db: &DatabaseConnection,
    caller: &Caller,
    slug: &str,
    input: CheckIn,
) -> Result<CheckInResult> {
    let txn = crate::db::begin_write(db).await?;
    let a = forums::find_for_change(&txn, caller, slug, Permission::CheckIn).await?;
    let forum_id = a.forum.id;
    let mut ctr = lock_counters(&txn, forum_id).await?;
    let id = match (input.registration_id, input.code.as_deref()) {
        (Some(id), None) => id,
        (None, Some(code)) => {
            let code = code.trim().to_uppercase();
            registration::Entity::find()
                .filter(registration::Column::ForumId.eq(forum_id))
                .filter(registration::Column::CheckInCode.eq(code))
                .one(&txn)
                .await?
                .ok_or(Error::NotFound("registration"))?
                .id
        }
        _ => {
            return Err(Error::field(
                "registration_id",
                "send exactly one of registration_id and code",
            ))
        }
    };
    let mut r = lock_registration(&txn, id).await?;
    if r.forum_id != forum_id {
        return Err(Error::NotFound("registration"));
    }
    let status = Status::parse(&r.status);
    if status != Status::Confirmed {
        let why = match status {
            Status::Cancelled => "this registration was cancelled",
            Status::Rejected => "this registration was rejected",
            Status::Pending => "this registration is still pending approval",
            _ => "this person is on the wait-list, not confirmed",
        };
        return Err(Error::conflict(ConflictKind::RegistrationNotConfirmed, why));
    }
    let now = crate::db::now();
    let (at, already) = if let Some(sid) = input.session_id {
        let session = crate::sessions::entity::session::Entity::find_by_id(sid)
            .filter(crate::sessions::entity::session::Column::ForumId.eq(forum_id))
            .one(&txn)
            .await?
            .ok_or(Error::NotFound("session"))?;
        let su = signup::Entity::find()
            .filter(signup::Column::SessionId.eq(sid))
            .filter(signup::Column::RegistrationId.eq(id))
            .filter(signup::Column::ForumId.eq(forum_id))
            .one(&txn)
            .await?;
        let su = match su {
            Some(su) if su.status == "confirmed" => su,
            other => {
                let why = match other.as_ref().map(|s| s.status.as_str()) {
                    Some("waitlisted") => "are only on the wait-list for",
                    Some(_) => "no longer have a seat in",
                    None => "are not signed up for",
                };
                return Err(Error::Conflict {
                    kind: ConflictKind::SeatNotConfirmed,
                    message: format!(
                        "this person's registration is confirmed, but they {why} the session “{}”",
                        session.title
                    ),
                    session: Some(ConflictingSession {
                        id: session.id,
                        guid: session.guid,
                        title: session.title,
                        starts_at: session.starts_at,
                        ends_at: session.ends_at,
                    }),
                    errors: vec![],
                });
            }
        };
        match su.checked_in_at {
            Some(t) => (t, true),
            None => {
                let mut sc = lock_session_counters(&txn, forum_id, sid).await?;
                sc.checked_in_count += 1;
                save_session_counters(&txn, &sc).await?;
                let mut am = su.into_active_model();
                am.checked_in_at = Set(Some(now));
                am.update(&txn).await?;
                (now, false)
            }
        }
    } else {
        match r.checked_in_at {
            Some(t) => (t, true),
            None => {
                ctr.checked_in_count += 1;
                save_counters(&txn, &ctr).await?;
                let mut am = r.clone().into_active_model();
                am.checked_in_at = Set(Some(now));
                am.version = Set(r.version + 1);
                am.updated_at = Set(now);
                r = am.update(&txn).await?;
                (now, false)
            }
        }
    };
    txn.commit().await?;
    Ok(CheckInResult {
        registration: RegistrationView::from(&r),
        session_id: input.session_id,
        checked_in_at: at,
        already_checked_in: already,
    })
}
