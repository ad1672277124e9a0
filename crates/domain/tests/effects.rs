//! The contract between the programme modules and `effects` (ARCHITECTURE.md): a lower
//! operation (`*_in`) returns what it changed as typed [`Change`]s and applies no
//! consequence; `effects::apply` applies them in the caller's transaction, so a rollback
//! takes the change and its consequences together. On SQLite and PostgreSQL
//! (`CONVENE_TEST_DATABASE_URL`).

mod common;

use common::TestDb;
use convene_domain::accounts::{self, Caller};
use convene_domain::change::Change;
use convene_domain::forums::{self, ForumPatch, ForumStatus, NewForum};
use convene_domain::registrations::entity::registration;
use convene_domain::registrations::{self, NewRegistration};
use convene_domain::rooms::{self, NewRoom, RoomPatch};
use convene_domain::sessions::{self, NewSession, SessionPatch, SessionStatus};
use convene_domain::{effects, notifications};
use sea_orm::{ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter};

struct Env {
    t: TestDb,
    caller: Caller,
}

impl Env {
    fn db(&self) -> &DatabaseConnection {
        &self.t.db
    }
}

/// A published forum `fx` with `capacity` seats, and `n` registrations `p0…` in order.
async fn forum_with(capacity: i32, n: usize) -> Env {
    let t = TestDb::fresh("fx", 4).await;
    let (acc, _) = accounts::create_organizer(&t.db, "org@example.org", "Org", "t")
        .await
        .unwrap();
    let caller = Caller::account(acc.id);
    let new: NewForum = serde_json::from_value(serde_json::json!({
        "slug": "fx", "title": "Effects", "time_zone": "UTC",
        "first_day": "2030-01-01", "last_day": "2030-01-02", "capacity": capacity,
    }))
    .unwrap();
    forums::create(&t.db, &caller, new).await.unwrap();
    effects::forums::transition(&t.db, &caller, "fx", None, ForumStatus::Published)
        .await
        .unwrap();
    for i in 0..n {
        let input: NewRegistration = serde_json::from_value(serde_json::json!({
            "name": format!("P{i}"), "email": format!("p{i}@example.org"), "category": "other",
        }))
        .unwrap();
        let p = registrations::prepare(&t.db, "fx", input, None)
            .await
            .unwrap();
        let out =
            registrations::register_batch(&t.db, p.forum_id, vec![p], chrono::Duration::hours(24))
                .await
                .unwrap();
        assert!(out[0].is_ok(), "{:?}", out[0]);
    }
    Env { t, caller }
}

async fn status(db: &impl ConnectionTrait, email: &str) -> String {
    registration::Entity::find()
        .filter(registration::Column::Email.eq(email))
        .one(db)
        .await
        .unwrap()
        .expect("registered")
        .status
}

async fn promoted_notices(db: &impl ConnectionTrait) -> usize {
    use notifications::entity;
    entity::Entity::find()
        .filter(entity::Column::Kind.eq("registration.promoted"))
        .all(db)
        .await
        .unwrap()
        .len()
}

fn capacity(c: i32) -> ForumPatch {
    ForumPatch {
        capacity: Some(Some(c)),
        ..Default::default()
    }
}

#[tokio::test]
async fn a_forum_change_is_returned_and_promotes_only_when_applied() {
    let env = forum_with(1, 2).await;
    let db = env.db();
    assert_eq!(status(db, "p1@example.org").await, "waitlisted");

    let txn = convene_domain::db::begin_write(db).await.unwrap();
    let (forum, changes) = forums::update_in(&txn, &env.caller, "fx", None, capacity(2))
        .await
        .unwrap();
    assert_eq!(forum.capacity, Some(2));
    match changes.as_slice() {
        [Change::ForumChanged { before, after }] => {
            assert_eq!((before.capacity, after.capacity), (Some(1), Some(2)));
            assert_eq!(after.version, before.version + 1);
        }
        other => panic!("expected one ForumChanged, got {other:?}"),
    }
    // The lower operation applied no consequence: still on the wait-list.
    assert_eq!(status(&txn, "p1@example.org").await, "waitlisted");
    assert_eq!(promoted_notices(&txn).await, 0);

    effects::apply(&txn, changes).await.unwrap();
    // Promoted, with its notice, in the same transaction.
    assert_eq!(status(&txn, "p1@example.org").await, "confirmed");
    assert_eq!(promoted_notices(&txn).await, 1);
    txn.commit().await.unwrap();
    assert_eq!(status(db, "p1@example.org").await, "confirmed");

    // A patch that changes nothing reports no change.
    let txn = convene_domain::db::begin_write(db).await.unwrap();
    let (_, changes) = forums::update_in(&txn, &env.caller, "fx", None, capacity(2))
        .await
        .unwrap();
    assert!(changes.is_empty(), "{changes:?}");
    drop(txn);
    env.t.drop_db().await;
}

#[tokio::test]
async fn a_rollback_takes_the_change_and_its_consequences_together() {
    let env = forum_with(1, 2).await;
    let db = env.db();
    {
        let txn = convene_domain::db::begin_write(db).await.unwrap();
        let (_, changes) = forums::update_in(&txn, &env.caller, "fx", None, capacity(2))
            .await
            .unwrap();
        effects::apply(&txn, changes).await.unwrap();
        assert_eq!(status(&txn, "p1@example.org").await, "confirmed");
        txn.rollback().await.unwrap();
    }
    assert_eq!(status(db, "p1@example.org").await, "waitlisted");
    assert_eq!(promoted_notices(db).await, 0);
    let f = forums::by_id(
        db,
        forums::entity::Entity::find()
            .one(db)
            .await
            .unwrap()
            .unwrap()
            .id,
    )
    .await
    .unwrap();
    assert_eq!(f.capacity, Some(1));
    env.t.drop_db().await;
}

#[tokio::test]
async fn room_and_session_operations_report_what_they_changed() {
    let env = forum_with(10, 0).await;
    let db = env.db();
    let room = rooms::create(
        db,
        &env.caller,
        "fx",
        NewRoom {
            name: "Hall".into(),
            capacity: Some(5),
            description: None,
            position: None,
        },
    )
    .await
    .unwrap();

    let txn = convene_domain::db::begin_write(db).await.unwrap();
    // A new description only: no change anything above depends on.
    let patch = RoomPatch {
        description: Some("Ground floor".into()),
        ..Default::default()
    };
    let (_, changes) = rooms::update_in(&txn, &env.caller, "fx", room.id, None, patch)
        .await
        .unwrap();
    assert!(changes.is_empty(), "{changes:?}");
    let patch = RoomPatch {
        capacity: Some(None),
        ..Default::default()
    };
    let (_, changes) = rooms::update_in(&txn, &env.caller, "fx", room.id, None, patch)
        .await
        .unwrap();
    match changes.as_slice() {
        [Change::RoomCapacityChanged {
            room_id,
            before,
            after,
            ..
        }] => assert_eq!((*room_id, *before, *after), (room.id, Some(5), None)),
        other => panic!("expected one RoomCapacityChanged, got {other:?}"),
    }
    effects::apply(&txn, changes).await.unwrap();
    txn.commit().await.unwrap();

    let input: NewSession = serde_json::from_value(serde_json::json!({
        "kind": "talk", "title": "Opening", "room_id": room.id,
        "starts_at": "2030-01-01T10:00:00Z", "ends_at": "2030-01-01T11:00:00Z",
    }))
    .unwrap();
    let txn = convene_domain::db::begin_write(db).await.unwrap();
    let (view, changes) = sessions::create_in(&txn, &env.caller, "fx", input)
        .await
        .unwrap();
    assert!(
        matches!(changes.as_slice(), [Change::SessionCreated { session, .. }] if session.id == view.id),
        "{changes:?}"
    );
    effects::apply(&txn, changes).await.unwrap();
    let patch = SessionPatch {
        status: Some(SessionStatus::Cancelled),
        ..Default::default()
    };
    let (_, changes) = sessions::update_in(&txn, &env.caller, "fx", view.id, None, patch)
        .await
        .unwrap();
    match changes.as_slice() {
        [Change::SessionChanged { before, after, .. }] => {
            assert_eq!(
                (before.status.as_str(), after.status.as_str()),
                ("scheduled", "cancelled")
            );
        }
        other => panic!("expected one SessionChanged, got {other:?}"),
    }
    effects::apply(&txn, changes).await.unwrap();
    let ((), changes) = sessions::delete_in(&txn, &env.caller, "fx", view.id, None)
        .await
        .unwrap();
    assert!(
        matches!(changes.as_slice(), [Change::SessionDeleted { session, .. }] if session.id == view.id),
        "{changes:?}"
    );
    effects::apply(&txn, changes).await.unwrap();
    txn.commit().await.unwrap();
    env.t.drop_db().await;
}
