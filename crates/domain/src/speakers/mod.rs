//! Speakers: the people shown on a forum's programme (speakers, moderators, chairs).
//! They are not accounts and hold no credential.

pub mod entity;

use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait,
    IntoActiveModel, QueryFilter, QueryOrder,
};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

pub use entity::Model as Speaker;

use crate::accounts::{Caller, Role};
use crate::error::{Error, FieldError, Result};
use crate::forums;

/// A speaker as the API shows it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct SpeakerView {
    /// Id.
    pub id: Uuid,
    /// Public name.
    pub name: String,
    /// Organization or function (e.g. "Mayor of Gaziantep").
    pub organization: String,
    /// Short biography.
    pub biography: String,
    /// E-mail for notices about their sessions (moved, cancelled). Private: shown only
    /// to the forum's organizers, absent for everyone else.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
}

impl From<&Speaker> for SpeakerView {
    fn from(s: &Speaker) -> Self {
        SpeakerView {
            id: s.id,
            name: s.name.clone(),
            organization: s.organization.clone(),
            biography: s.biography.clone(),
            email: s.email.clone(),
        }
    }
}

impl SpeakerView {
    /// The view for a caller: without `email` unless `organizer`.
    pub fn for_caller(s: &Speaker, organizer: bool) -> Self {
        let mut v = SpeakerView::from(s);
        if !organizer {
            v.email = None;
        }
        v
    }
}

/// Body of `POST /forums/{slug}/speakers` (and of `PATCH`, where every field is optional).
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SpeakerInput {
    /// Public name, 1–200 characters (required on create).
    #[serde(
        default,
        deserialize_with = "crate::text::line::<{ crate::text::NAME }, _, _>"
    )]
    #[schema(max_length = 200)]
    pub name: Option<String>,
    /// Organization or function.
    #[serde(
        default,
        deserialize_with = "crate::text::line::<{ crate::text::NAME }, _, _>"
    )]
    #[schema(max_length = 200)]
    pub organization: Option<String>,
    /// Short biography.
    #[serde(
        default,
        deserialize_with = "crate::text::text::<{ crate::text::LONG }, _, _>"
    )]
    #[schema(max_length = 10000)]
    pub biography: Option<String>,
    /// Private e-mail address for notices about their sessions; `null` removes it.
    #[serde(
        default,
        deserialize_with = "crate::text::line::<{ crate::text::EMAIL }, _, _>"
    )]
    #[schema(value_type = Option<String>, max_length = 254)]
    pub email: Option<Option<String>>,
}

/// An optional e-mail address: empty is none; otherwise as
/// [`crate::accounts::normalise_email`] accepts it (422 on `email`).
fn normalize_email(e: Option<String>) -> Result<Option<String>> {
    match e.as_deref().map(str::trim) {
        None | Some("") => Ok(None),
        Some(e) => crate::accounts::normalise_email("email", e).map(Some),
    }
}

fn validate(s: &Speaker) -> Vec<FieldError> {
    let n = s.name.chars().count();
    if n == 0 || n > 200 {
        vec![FieldError::new("name", "must be 1–200 characters")]
    } else {
        crate::util::single_line("name", &s.name)
            .into_iter()
            .collect()
    }
}

/// Lists a forum's speakers by name (e-mails only for organizers). Errors: 404 when the
/// forum is not visible.
pub async fn list(
    db: &DatabaseConnection,
    caller: &Caller,
    slug: &str,
) -> Result<Vec<SpeakerView>> {
    let access = forums::find_visible(db, caller, slug).await?;
    let organizer = access.role.is_some_and(|r| r >= Role::Organizer);
    Ok(entity::Entity::find()
        .filter(entity::Column::ForumId.eq(access.forum.id))
        .order_by_asc(entity::Column::Name)
        .all(db)
        .await?
        .iter()
        .map(|s| SpeakerView::for_caller(s, organizer))
        .collect())
}

pub(crate) async fn find_in(
    db: &impl ConnectionTrait,
    forum_id: Uuid,
    id: Uuid,
) -> Result<Speaker> {
    entity::Entity::find_by_id(id)
        .filter(entity::Column::ForumId.eq(forum_id))
        .one(db)
        .await?
        .ok_or(Error::NotFound("speaker"))
}

/// One speaker (the e-mail only for organizers). Errors: 404.
pub async fn get(
    db: &DatabaseConnection,
    caller: &Caller,
    slug: &str,
    id: Uuid,
) -> Result<SpeakerView> {
    let access = forums::find_visible(db, caller, slug).await?;
    let organizer = access.role.is_some_and(|r| r >= Role::Organizer);
    Ok(SpeakerView::for_caller(
        &find_in(db, access.forum.id, id).await?,
        organizer,
    ))
}

/// Creates a speaker. Errors: 401/403/404; 422.
pub async fn create(
    db: &DatabaseConnection,
    caller: &Caller,
    slug: &str,
    input: SpeakerInput,
) -> Result<Speaker> {
    let txn = crate::db::begin_write(db).await?;
    let access = forums::find_for_change(&txn, caller, slug, Role::Organizer).await?;
    let now = crate::db::now();
    let s = Speaker {
        id: Uuid::new_v4(),
        forum_id: access.forum.id,
        name: input.name.unwrap_or_default().trim().to_owned(),
        external_key: None,
        organization: input.organization.unwrap_or_default().trim().to_owned(),
        biography: input.biography.unwrap_or_default(),
        email: normalize_email(input.email.flatten())?,
        created_at: now,
        updated_at: now,
    };
    let errs = validate(&s);
    if !errs.is_empty() {
        return Err(Error::Validation(errs));
    }
    let saved = s.into_active_model().reset_all().insert(&txn).await?;
    crate::db::touch_programme(&txn, access.forum.id).await?;
    txn.commit().await?;
    Ok(saved)
}

/// Changes a speaker. Errors: 401/403/404; 422.
pub async fn update(
    db: &DatabaseConnection,
    caller: &Caller,
    slug: &str,
    id: Uuid,
    input: SpeakerInput,
) -> Result<Speaker> {
    let txn = crate::db::begin_write(db).await?;
    let access = forums::find_for_change(&txn, caller, slug, Role::Organizer).await?;
    let current = find_in(&txn, access.forum.id, id).await?;
    let mut s = current.clone();
    if let Some(v) = input.name {
        s.name = v.trim().to_owned();
    }
    if let Some(v) = input.organization {
        s.organization = v.trim().to_owned();
    }
    if let Some(v) = input.biography {
        s.biography = v;
    }
    if let Some(v) = input.email {
        s.email = normalize_email(v)?;
    }
    let errs = validate(&s);
    if !errs.is_empty() {
        return Err(Error::Validation(errs));
    }
    if s == current {
        txn.commit().await?;
        return Ok(current);
    }
    s.updated_at = crate::db::now();
    let mut am = s.into_active_model().reset_all();
    am.id = sea_orm::ActiveValue::Unchanged(id);
    let saved = am.update(&txn).await?;
    crate::db::touch_programme(&txn, access.forum.id).await?;
    txn.commit().await?;
    Ok(saved)
}

/// Deletes a speaker and their programme roles. Errors: 401/403/404.
pub async fn delete(db: &DatabaseConnection, caller: &Caller, slug: &str, id: Uuid) -> Result<()> {
    let txn = crate::db::begin_write(db).await?;
    let access = forums::find_for_change(&txn, caller, slug, Role::Organizer).await?;
    find_in(&txn, access.forum.id, id).await?;
    entity::Entity::delete_by_id(id).exec(&txn).await?;
    crate::db::touch_programme(&txn, access.forum.id).await?;
    txn.commit().await?;
    Ok(())
}
