//! The outbox's leases (`convene_domain::notifications`): `claim_batch` and
//! `extend_leases`, on SQLite and — with `CONVENE_TEST_DATABASE_URL` — PostgreSQL.
//! A lease extended by its owner keeps the row from other workers; a lease that
//! expired and was claimed by another worker cannot be extended by the first; and a
//! heartbeat racing with another worker's claims never lets both hold a row.

use std::collections::HashSet;
use std::time::Duration;

use convene_domain::accounts::{self, Caller};
use convene_domain::forums::{self, NewForum};
use convene_domain::notifications::{self, entity, NewNotification};
use sea_orm::{DatabaseConnection, EntityTrait};
use uuid::Uuid;

mod common;
use common::TestDb;

async fn setup() -> TestDb {
    TestDb::fresh("l", 8).await
}

/// A forum (the outbox's rows belong to one) and `n` due rows.
async fn enqueue(db: &DatabaseConnection, n: usize) {
    let (acc, _) = accounts::create_organizer(db, "org@example.org", "Org", "t")
        .await
        .unwrap();
    let caller = Caller::Organizer { account_id: acc.id };
    let input: NewForum = serde_json::from_value(serde_json::json!({
        "slug": "leases", "title": "Leases", "time_zone": "UTC",
        "first_day": "2030-01-01", "last_day": "2030-01-02",
    }))
    .unwrap();
    let forum_id = forums::create(db, &caller, input).await.unwrap().id;
    for i in 0..n {
        notifications::enqueue(
            db,
            NewNotification {
                forum_id,
                kind: "session.changed".into(),
                recipient_email: format!("p{i}@example.org"),
                recipient_name: format!("P{i}"),
                language: "en".into(),
                data: serde_json::json!({}),
                dedupe_key: format!("lease-test:{i}"),
                send_after: None,
            },
        )
        .await
        .unwrap();
    }
}

async fn row(db: &DatabaseConnection, id: Uuid) -> entity::Model {
    entity::Entity::find_by_id(id)
        .one(db)
        .await
        .unwrap()
        .unwrap()
}

const SEC: Duration = Duration::from_secs(1);

#[tokio::test]
async fn extended_leases_keep_rows_and_lost_ones_cannot_be_extended() {
    let env = setup().await;
    let db = &env.db;
    enqueue(db, 3).await;
    let a = notifications::claim_batch(db, "A", 10, SEC).await.unwrap();
    assert_eq!(a.len(), 3);
    let ids: Vec<Uuid> = a.iter().map(|r| r.id).collect();
    let t0 = chrono::Utc::now();
    for r in &a {
        let until = r.lease_expires_at.unwrap();
        assert!(
            until >= t0,
            "a lease lasts at least its length: {until} vs {t0}"
        );
        assert!(until <= t0 + chrono::Duration::seconds(2));
    }

    // A keeps extending for three lease lengths; B finds nothing all along.
    for _ in 0..6 {
        tokio::time::sleep(Duration::from_millis(500)).await;
        let kept = notifications::extend_leases(db, "A", &ids, SEC)
            .await
            .unwrap();
        assert_eq!(kept.len(), 3, "A still holds every row");
        let now = chrono::Utc::now();
        assert!(kept.iter().all(|(_, until)| *until >= now));
        let b = notifications::claim_batch(db, "B", 10, SEC).await.unwrap();
        assert!(b.is_empty(), "B took a row A holds: {b:?}");
    }

    // A row sent is no longer extended; another worker's row neither.
    assert!(notifications::mark_sent(db, &a[0]).await.unwrap());
    assert_eq!(
        notifications::extend_leases(db, "C", &ids, SEC)
            .await
            .unwrap(),
        vec![],
        "C holds nothing"
    );
    let kept = notifications::extend_leases(db, "A", &ids, SEC)
        .await
        .unwrap();
    let kept: HashSet<Uuid> = kept.into_iter().map(|(id, _)| id).collect();
    assert_eq!(kept, HashSet::from([ids[1], ids[2]]));

    // A stops; its leases run out and B claims the two rows; A cannot get them back.
    tokio::time::sleep(Duration::from_millis(2100)).await;
    let b = notifications::claim_batch(db, "B", 10, SEC).await.unwrap();
    assert_eq!(b.len(), 2, "B takes over the expired leases");
    assert!(notifications::extend_leases(db, "A", &ids, SEC)
        .await
        .unwrap()
        .is_empty());
    for id in &ids[1..] {
        let r = row(db, *id).await;
        assert_eq!(r.lease_owner.as_deref(), Some("B"));
        assert_eq!(r.attempts, 2);
    }
    // An expired lease nobody claimed is still its owner's to extend.
    tokio::time::sleep(Duration::from_millis(2100)).await;
    let kept = notifications::extend_leases(db, "B", &ids, SEC)
        .await
        .unwrap();
    assert_eq!(kept.len(), 2);
    assert!(notifications::claim_batch(db, "A", 10, SEC)
        .await
        .unwrap()
        .is_empty());
    env.drop_db().await;
}

/// Two owners race for 40 rows for ~3 s with 1 s leases: each claims what it can and
/// heartbeats what it holds every 300 ms, concurrently. Neither loses a row it keeps
/// renewing, and no row ends up with both.
#[tokio::test]
async fn concurrent_heartbeats_and_claims_never_share_a_row() {
    let env = setup().await;
    enqueue(&env.db, 40).await;
    let run = |owner: &'static str, db: DatabaseConnection| async move {
        let mut held: Vec<Uuid> = Vec::new();
        let t0 = std::time::Instant::now();
        while t0.elapsed() < Duration::from_secs(3) {
            let got = notifications::claim_batch(&db, owner, 7, SEC)
                .await
                .unwrap();
            held.extend(got.iter().map(|r| r.id));
            let kept = notifications::extend_leases(&db, owner, &held, SEC)
                .await
                .unwrap();
            assert_eq!(
                kept.len(),
                held.len(),
                "{owner} lost a lease it kept renewing"
            );
            held = kept.iter().map(|(id, _)| *id).collect();
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
        held
    };
    let (a, b) = tokio::join!(
        tokio::spawn(run("A", env.db.clone())),
        tokio::spawn(run("B", env.db.clone()))
    );
    let (held_a, held_b) = (a.unwrap(), b.unwrap());
    let a: HashSet<Uuid> = held_a.into_iter().collect();
    let b: HashSet<Uuid> = held_b.into_iter().collect();
    assert!(a.is_disjoint(&b), "a row held by both");
    assert_eq!(a.len() + b.len(), 40, "every row held by one of them");
    // Nobody ever lost a row: each was claimed exactly once.
    for id in a.iter().chain(b.iter()) {
        assert_eq!(row(&env.db, *id).await.attempts, 1);
    }
    env.drop_db().await;
}
