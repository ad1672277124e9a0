//! Rooms of a forum: name unique within the forum as a person reads it ([`NameKey`]),
//! optional capacity, and a guid assigned once (at creation, from the name, or by an
//! imported file) and kept when the room is renamed, so that exported schedules keep
//! naming the same room.

pub mod entity;

use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, DatabaseTransaction,
    EntityTrait, IntoActiveModel, PaginatorTrait, QueryFilter, QueryOrder,
};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

pub use entity::Model as Room;

use crate::accounts::{Caller, Role};
use crate::change::Change;
use crate::error::{ConflictKind, Error, FieldError, Result};
use crate::forums;
use crate::names::NameKey;
use crate::util;

/// A room as the API shows it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct RoomView {
    /// Id.
    pub id: Uuid,
    /// Name, unique within the forum.
    pub name: String,
    /// Seats, if known.
    pub capacity: Option<i32>,
    /// Description.
    pub description: String,
    /// Display order (ascending).
    pub position: i32,
    /// Row version; ETag `"<version>"`.
    pub version: i32,
}

impl From<&Room> for RoomView {
    fn from(r: &Room) -> Self {
        RoomView {
            id: r.id,
            name: r.name.clone(),
            capacity: r.capacity,
            description: r.description.clone(),
            position: r.position,
            version: r.version,
        }
    }
}

/// Body of `POST /forums/{slug}/rooms`.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewRoom {
    /// Name, 1–200 characters, unique within the forum.
    #[serde(deserialize_with = "crate::text::line::<{ crate::text::NAME }, _, _>")]
    #[schema(max_length = 200)]
    pub name: String,
    /// Seats, ≥ 0.
    #[serde(default, deserialize_with = "crate::bounds::int::<0, 1000000, _, _>")]
    #[schema(minimum = 0, maximum = 1000000)]
    pub capacity: Option<i32>,
    /// Description.
    #[serde(
        default,
        deserialize_with = "crate::text::text::<{ crate::text::LONG }, _, _>"
    )]
    #[schema(max_length = 10000)]
    pub description: Option<String>,
    /// Display order; default after the last room.
    #[serde(default, deserialize_with = "crate::bounds::int::<0, 10000, _, _>")]
    #[schema(minimum = 0, maximum = 10000)]
    pub position: Option<i32>,
}

/// Body of `PATCH /forums/{slug}/rooms/{id}`.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RoomPatch {
    /// New name.
    #[serde(
        default,
        deserialize_with = "crate::text::line::<{ crate::text::NAME }, _, _>"
    )]
    #[schema(max_length = 200)]
    pub name: Option<String>,
    /// New capacity or `null`.
    #[serde(default, deserialize_with = "crate::bounds::int::<0, 1000000, _, _>")]
    #[schema(value_type = Option<i32>, minimum = 0, maximum = 1000000)]
    pub capacity: Option<Option<i32>>,
    /// New description.
    #[serde(
        default,
        deserialize_with = "crate::text::text::<{ crate::text::LONG }, _, _>"
    )]
    #[schema(max_length = 10000)]
    pub description: Option<String>,
    /// New position.
    #[serde(default, deserialize_with = "crate::bounds::int::<0, 10000, _, _>")]
    #[schema(minimum = 0, maximum = 10000)]
    pub position: Option<i32>,
}

fn validate(r: &Room) -> Vec<FieldError> {
    let mut errs = vec![];
    let n = r.name.chars().count();
    if n == 0 || n > 200 {
        errs.push(FieldError::new("name", "must be 1–200 characters"));
    }
    if matches!(r.capacity, Some(c) if c < 0) {
        errs.push(FieldError::new("capacity", "must not be negative"));
    }
    errs
}

/// 409 `already-exists`: the forum has a room of this name (as [`NameKey`] compares).
pub(crate) fn name_taken_by_other(name: &str) -> Error {
    Error::Conflict {
        kind: ConflictKind::AlreadyExists,
        message: format!("this forum already has a room named `{name}`"),
        session: None,
        errors: vec![FieldError::new(
            "name",
            "is already used by another room of this forum",
        )],
    }
}

pub(crate) fn name_taken(e: sea_orm::DbErr, name: &str) -> Error {
    match e.sql_err() {
        Some(sea_orm::SqlErr::UniqueConstraintViolation(_)) => name_taken_by_other(name),
        _ => Error::Db(e),
    }
}

/// Refuses `name` when another room of the forum (other than `except`) has the same
/// [`NameKey`] (`Saal 1` and `saal\u{a0}1` are one name). Called under the forum's lock,
/// so two concurrent creates cannot both pass. Errors: 409 `already-exists`.
async fn check_name_free(
    txn: &impl ConnectionTrait,
    forum_id: Uuid,
    name: &str,
    except: Option<Uuid>,
) -> Result<()> {
    let key = NameKey::of(name);
    let rooms = all_of_forum(txn, forum_id).await?;
    if rooms
        .iter()
        .any(|r| Some(r.id) != except && NameKey::of(&r.name) == key)
    {
        return Err(name_taken_by_other(name));
    }
    Ok(())
}

/// Lists a forum's rooms in display order. Errors: 404 when the forum is not visible.
pub async fn list(db: &DatabaseConnection, caller: &Caller, slug: &str) -> Result<Vec<Room>> {
    let access = forums::find_visible(db, caller, slug).await?;
    Ok(all_of_forum(db, access.forum.id).await?)
}

pub(crate) async fn all_of_forum(
    db: &impl ConnectionTrait,
    forum_id: Uuid,
) -> Result<Vec<Room>, sea_orm::DbErr> {
    entity::Entity::find()
        .filter(entity::Column::ForumId.eq(forum_id))
        .order_by_asc(entity::Column::Position)
        .order_by_asc(entity::Column::Name)
        .all(db)
        .await
}

/// One room of a visible forum. Errors: 404.
pub async fn get(db: &DatabaseConnection, caller: &Caller, slug: &str, id: Uuid) -> Result<Room> {
    let access = forums::find_visible(db, caller, slug).await?;
    find_in(db, access.forum.id, id).await
}

async fn find_in(db: &impl ConnectionTrait, forum_id: Uuid, id: Uuid) -> Result<Room> {
    entity::Entity::find_by_id(id)
        .filter(entity::Column::ForumId.eq(forum_id))
        .one(db)
        .await?
        .ok_or(Error::NotFound("room"))
}

/// Creates a room. Errors: 401/403/404; 422 fields; 409 `already-exists` for a taken name.
pub async fn create(
    db: &DatabaseConnection,
    caller: &Caller,
    slug: &str,
    input: NewRoom,
) -> Result<Room> {
    let txn = crate::db::begin_write(db).await?;
    let access = forums::find_for_change(&txn, caller, slug, Role::Organizer).await?;
    crate::db::lock_forum(&txn, access.forum.id).await?;
    let position = match input.position {
        Some(p) => p,
        None => {
            entity::Entity::find()
                .filter(entity::Column::ForumId.eq(access.forum.id))
                .count(&txn)
                .await? as i32
        }
    };
    let now = crate::db::now();
    let room = Room {
        id: Uuid::new_v4(),
        forum_id: access.forum.id,
        name: input.name.trim().to_owned(),
        capacity: input.capacity,
        guid: Some(crate::schedule::room_guid(input.name.trim())),
        description: input.description.unwrap_or_default(),
        position,
        version: 1,
        created_at: now,
        updated_at: now,
    };
    let errs = validate(&room);
    if !errs.is_empty() {
        return Err(Error::Validation(errs));
    }
    check_name_free(&txn, access.forum.id, &room.name, None).await?;
    let name = room.name.clone();
    let saved = room
        .into_active_model()
        .reset_all()
        .insert(&txn)
        .await
        .map_err(|e| name_taken(e, &name))?;
    crate::db::touch_programme(&txn, access.forum.id).await?;
    txn.commit().await?;
    Ok(saved)
}

/// Changes a room under `If-Match`, inside `txn`. A new capacity is returned as
/// [`Change::RoomCapacityChanged`]: the public operation `crate::effects::rooms::update`
/// then promotes, in the same transaction, from the wait-lists of the room's scheduled
/// sessions that have no capacity of their own when the room grew (or became unlimited);
/// a lower capacity changes no seat.
/// Errors: 401/403/404; 412; 422; 409 name taken.
pub async fn update_in(
    txn: &DatabaseTransaction,
    caller: &Caller,
    slug: &str,
    id: Uuid,
    if_match: Option<&str>,
    patch: RoomPatch,
) -> Result<(Room, Vec<Change>)> {
    let access = forums::find_for_change(txn, caller, slug, Role::Organizer).await?;
    crate::db::lock_forum(txn, access.forum.id).await?;
    let current = find_in(txn, access.forum.id, id).await?;
    util::check_if_match(if_match, current.version)?;
    let mut r = current.clone();
    if let Some(v) = patch.name {
        r.name = v.trim().to_owned();
    }
    if let Some(v) = patch.capacity {
        r.capacity = v;
    }
    if let Some(v) = patch.description {
        r.description = v;
    }
    if let Some(v) = patch.position {
        r.position = v;
    }
    let errs = validate(&r);
    if !errs.is_empty() {
        return Err(Error::Validation(errs));
    }
    if r == current {
        return Ok((current, vec![]));
    }
    if r.name != current.name {
        check_name_free(txn, access.forum.id, &r.name, Some(id)).await?;
        // A room made before guids were kept exports one derived from its name: keep it.
        r.guid = r
            .guid
            .or_else(|| Some(crate::schedule::room_guid(&current.name)));
    }
    r.version += 1;
    r.updated_at = crate::db::now();
    let name = r.name.clone();
    let mut am = r.into_active_model().reset_all();
    am.id = sea_orm::ActiveValue::Unchanged(id);
    let saved = am.update(txn).await.map_err(|e| name_taken(e, &name))?;
    let mut changes = vec![];
    if saved.capacity != current.capacity {
        changes.push(Change::RoomCapacityChanged {
            forum: access.forum.clone(),
            room_id: id,
            before: current.capacity,
            after: saved.capacity,
        });
    }
    crate::db::touch_programme(txn, access.forum.id).await?;
    Ok((saved, changes))
}

/// Deletes a room that no session uses (cancelled sessions included: move or delete them
/// first). Errors: 401/403/404; 409 `invalid-state` naming how many sessions use it.
pub async fn delete(db: &DatabaseConnection, caller: &Caller, slug: &str, id: Uuid) -> Result<()> {
    let txn = crate::db::begin_write(db).await?;
    let access = forums::find_for_change(&txn, caller, slug, Role::Organizer).await?;
    crate::db::lock_forum(&txn, access.forum.id).await?;
    find_in(&txn, access.forum.id, id).await?;
    let used = crate::sessions::entity::session::Entity::find()
        .filter(crate::sessions::entity::session::Column::RoomId.eq(id))
        .count(&txn)
        .await?;
    if used > 0 {
        return Err(Error::Conflict {
            kind: ConflictKind::InvalidState,
            message: format!("{used} session(s) use this room; move or delete them first"),
            session: None,
            errors: vec![],
        });
    }
    entity::Entity::delete_by_id(id).exec(&txn).await?;
    crate::db::touch_programme(&txn, access.forum.id).await?;
    txn.commit().await?;
    Ok(())
}
