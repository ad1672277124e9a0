//! Model test of the registration rules: proptest drives random sequences of register /
//! cancel / approve / reject / capacity change / mode change / session sign-up and leave
//! against the real domain operations (SQLite temp file; also PostgreSQL when
//! `CONVENE_TEST_DATABASE_URL` names a server) and against a small in-memory model, and
//! after every step checks that statuses, counters, row counts and the capacity rules agree,
//! and that the pending reminders are exactly one `reminder.forum` per confirmed
//! registration and one `reminder.session` per seat.

mod common;
use common::TestDb;
use std::collections::HashMap;

use convene_domain::accounts::{self, Caller};
use convene_domain::effects;
use convene_domain::forums::{self, ForumPatch, ForumStatus, NewForum, RegistrationMode};
use convene_domain::registrations::{
    self, admin, signups, Actor, Category, NewRegistration, Outcome, Reason,
};
use convene_domain::sessions::{NewSession, SessionKind};
use convene_domain::Error;
use proptest::prelude::*;
use sea_orm::DatabaseConnection;
use uuid::Uuid;

#[derive(Debug, Clone)]
enum Op {
    Register(Vec<u8>),
    Cancel(u8),
    Approve(u8),
    Reject(u8),
    Capacity(Option<u8>),
    Mode(bool),
    Join(u8, u8),
    Leave(u8, u8),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => prop::collection::vec(0u8..14, 1..4).prop_map(Op::Register),
        2 => any::<u8>().prop_map(Op::Cancel),
        1 => any::<u8>().prop_map(Op::Approve),
        1 => any::<u8>().prop_map(Op::Reject),
        1 => prop::option::of(0u8..6).prop_map(Op::Capacity),
        1 => any::<bool>().prop_map(Op::Mode),
        2 => (any::<u8>(), 0u8..2).prop_map(|(r, s)| Op::Join(r, s)),
        1 => (any::<u8>(), 0u8..2).prop_map(|(r, s)| Op::Leave(r, s)),
    ]
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum St {
    Pending,
    Confirmed,
    Waitlisted,
    Rejected,
    Cancelled,
}

#[derive(Debug, Clone)]
struct MReg {
    email: u8,
    status: St,
    seq: i64,
}

#[derive(Debug, Clone, Default)]
struct MSession {
    cap: Option<i32>,
    /// reg index → (active? seat?, seq)
    signups: HashMap<usize, (&'static str, i64)>,
    next: i64,
}

#[derive(Debug, Clone)]
struct Model {
    cap: Option<i32>,
    approval: bool,
    regs: Vec<MReg>,
    next: i64,
    sessions: Vec<MSession>,
}

fn free(cap: Option<i32>, confirmed: usize) -> bool {
    cap.is_none_or(|c| (confirmed as i32) < c)
}

impl Model {
    fn count(&self, s: St) -> usize {
        self.regs.iter().filter(|r| r.status == s).count()
    }
    fn promote(&mut self) {
        while self.count(St::Waitlisted) > 0 && free(self.cap, self.count(St::Confirmed)) {
            let i = (0..self.regs.len())
                .filter(|&i| self.regs[i].status == St::Waitlisted)
                .min_by_key(|&i| self.regs[i].seq)
                .unwrap();
            self.regs[i].status = St::Confirmed;
        }
    }
    fn promote_session(&mut self, s: usize) {
        let ss = &mut self.sessions[s];
        loop {
            let seats = ss.signups.values().filter(|v| v.0 == "confirmed").count();
            if !free(ss.cap, seats) {
                break;
            }
            let Some((&r, _)) = ss
                .signups
                .iter()
                .filter(|(_, v)| v.0 == "waitlisted")
                .min_by_key(|(_, v)| v.1)
            else {
                break;
            };
            ss.signups.get_mut(&r).unwrap().0 = "confirmed";
        }
    }
    fn release(&mut self, r: usize) {
        for s in 0..self.sessions.len() {
            if let Some(v) = self.sessions[s].signups.get_mut(&r) {
                if v.0 == "confirmed" || v.0 == "waitlisted" {
                    let seat = v.0 == "confirmed";
                    v.0 = "lost";
                    if seat {
                        self.promote_session(s);
                    }
                }
            }
        }
    }
    fn leave(&mut self, r: usize, to: St) {
        let was = self.regs[r].status;
        self.regs[r].status = to;
        self.release(r);
        if was == St::Confirmed {
            self.promote();
        }
    }
}

struct Env {
    db: DatabaseConnection,
    caller: Caller,
    slug: String,
    forum_id: Uuid,
    sessions: Vec<Uuid>,
    test_db: TestDb,
}

async fn setup() -> Env {
    let test_db = TestDb::fresh("m", 4).await;
    let db = test_db.db.clone();
    let (acc, _) = accounts::create_organizer(&db, "org@example.org", "Org", "t")
        .await
        .unwrap();
    let caller = Caller::account(acc.id);
    let f = forums::create(
        &db,
        &caller,
        NewForum {
            slug: "model".into(),
            title: "Model".into(),
            acronym: None,
            description: None,
            city: None,
            country: None,
            venue: None,
            time_zone: "UTC".into(),
            first_day: "2030-01-01".parse().unwrap(),
            last_day: "2030-01-02".parse().unwrap(),
            day_change: None,
            timeslot_minutes: None,
            capacity: Some(2),
            registration_mode: None,
            registration_opens_at: None,
            registration_closes_at: None,
            languages: None,
            forum_reminder_minutes: None,
            session_reminder_minutes: None,
            public_participant_list: None,
        },
    )
    .await
    .unwrap();
    effects::forums::transition(&db, &caller, "model", None, ForumStatus::Published)
        .await
        .unwrap();
    let mut ss = vec![];
    for (i, cap) in [(0, Some(2)), (1, Some(1))] {
        let s: NewSession = serde_json::from_value(serde_json::json!({
            "kind": "workshop", "title": format!("S{i}"), "capacity": cap,
            "starts_at": format!("2030-01-01T1{i}:00:00Z"), "ends_at": format!("2030-01-01T1{i}:30:00Z"),
        }))
        .unwrap();
        let _ = SessionKind::Workshop;
        ss.push(
            effects::sessions::create(&db, &caller, "model", s)
                .await
                .unwrap()
                .id,
        );
    }
    Env {
        db,
        caller,
        slug: "model".into(),
        forum_id: f.id,
        sessions: ss,
        test_db,
    }
}

async fn teardown(env: Env) {
    env.test_db.drop_db().await;
}

/// Pending reminders in the outbox: the recipients of `reminder.forum` rows, and the
/// (session, recipient) of `reminder.session` rows, sorted; each row's `next_attempt_at`
/// is checked against its start and the default lead.
async fn pending_reminders(env: &Env) -> (Vec<String>, Vec<(Uuid, String)>) {
    use convene_domain::notifications::entity;
    use convene_domain::notifications::reminders::ReminderKey;
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
    let rows = entity::Entity::find()
        .filter(entity::Column::ForumId.eq(env.forum_id))
        .filter(entity::Column::Status.eq("pending"))
        .filter(entity::Column::Kind.starts_with("reminder."))
        .all(&env.db)
        .await
        .unwrap();
    let (mut forum, mut session) = (vec![], vec![]);
    for r in rows {
        match ReminderKey::parse(&r.dedupe_key).expect("a reminder key") {
            ReminderKey::Forum {
                start,
                lead_minutes,
                ..
            } => {
                assert_eq!(r.kind, "reminder.forum");
                assert_eq!(lead_minutes, 1440);
                // The forum starts at its first session, 2030-01-01 10:00 UTC.
                assert_eq!(start.to_rfc3339(), "2030-01-01T10:00:00+00:00");
                assert_eq!(r.next_attempt_at, start - chrono::Duration::hours(24));
                forum.push(r.recipient_email);
            }
            ReminderKey::Session {
                session_id,
                start,
                lead_minutes,
                ..
            } => {
                assert_eq!(r.kind, "reminder.session");
                assert_eq!(lead_minutes, 60);
                assert_eq!(r.next_attempt_at, start - chrono::Duration::hours(1));
                session.push((session_id, r.recipient_email));
            }
        }
    }
    forum.sort();
    session.sort();
    (forum, session)
}

fn kind(e: &Error) -> String {
    match e {
        Error::Conflict { kind, .. } => kind.slug().to_owned(),
        Error::NotFound(_) => "not-found".into(),
        other => format!("{other:?}"),
    }
}

async fn run(ops: Vec<Op>) -> Result<(), TestCaseError> {
    let env = setup().await;
    let mut m = Model {
        cap: Some(2),
        approval: false,
        regs: vec![],
        next: 1,
        sessions: vec![
            MSession {
                cap: Some(2),
                ..Default::default()
            },
            MSession {
                cap: Some(1),
                ..Default::default()
            },
        ],
    };
    let mut ids: Vec<Uuid> = vec![];
    let staff = Actor::Staff(env.caller.clone());
    for (step, op) in ops.iter().enumerate() {
        match op {
            Op::Register(emails) => {
                let mut batch = vec![];
                for e in emails {
                    let input = NewRegistration {
                        name: format!("P{e}"),
                        email: format!("p{e}@example.org"),
                        organization: None,
                        position: None,
                        category: Category::Ngo,
                        city: None,
                        country: None,
                        language: None,
                        accessibility_needs: None,
                        public_consent: false,
                        answers: Default::default(),
                    };
                    batch.push(
                        registrations::prepare(&env.db, &env.slug, input, None)
                            .await
                            .unwrap(),
                    );
                }
                let res = registrations::register_batch(
                    &env.db,
                    env.forum_id,
                    batch,
                    chrono::Duration::hours(24),
                )
                .await
                .unwrap();
                for (e, r) in emails.iter().zip(res) {
                    // One live registration per e-mail; after a cancellation, a new one.
                    if m.regs
                        .iter()
                        .any(|x| x.email == *e && x.status != St::Cancelled)
                    {
                        let err = r.err().map(|e| kind(&e));
                        prop_assert_eq!(err.as_deref(), Some("already-registered"));
                        continue;
                    }
                    let status = if m.approval {
                        St::Pending
                    } else if free(m.cap, m.count(St::Confirmed)) && m.count(St::Waitlisted) == 0 {
                        St::Confirmed
                    } else {
                        St::Waitlisted
                    };
                    m.regs.push(MReg {
                        email: *e,
                        status,
                        seq: m.next,
                    });
                    m.next += 1;
                    match r {
                        Ok(Outcome::Created(c)) => ids.push(c.registration.id),
                        other => prop_assert!(false, "step {step}: {other:?}"),
                    }
                }
            }
            Op::Cancel(i) | Op::Reject(i) | Op::Approve(i) => {
                if m.regs.is_empty() {
                    continue;
                }
                let r = *i as usize % m.regs.len();
                let id = ids[r];
                let st = m.regs[r].status;
                let (res, expect_err) = match op {
                    Op::Cancel(_) => {
                        let res = registrations::cancel(
                            &env.db,
                            &staff,
                            &env.slug,
                            id,
                            Reason::default(),
                        )
                        .await
                        .map(|_| ());
                        let err = st == St::Rejected;
                        if !err && st != St::Cancelled {
                            m.leave(r, St::Cancelled);
                        }
                        (res, err)
                    }
                    Op::Reject(_) => {
                        let res = registrations::reject(
                            &env.db,
                            &env.caller,
                            &env.slug,
                            id,
                            Reason::default(),
                        )
                        .await
                        .map(|_| ());
                        let err = st == St::Cancelled;
                        if !err && st != St::Rejected {
                            m.leave(r, St::Rejected);
                        }
                        (res, err)
                    }
                    _ => {
                        let res = registrations::approve(&env.db, &env.caller, &env.slug, id)
                            .await
                            .map(|_| ());
                        let err = matches!(st, St::Cancelled | St::Rejected);
                        if st == St::Pending {
                            if free(m.cap, m.count(St::Confirmed)) && m.count(St::Waitlisted) == 0 {
                                m.regs[r].status = St::Confirmed;
                            } else {
                                m.regs[r].status = St::Waitlisted;
                                m.regs[r].seq = m.next;
                                m.next += 1;
                            }
                        }
                        (res, err)
                    }
                };
                prop_assert_eq!(
                    res.is_err(),
                    expect_err,
                    "step {}: {:?} {:?}",
                    step,
                    op,
                    res.err().map(|e| kind(&e))
                );
            }
            Op::Capacity(c) => {
                let cap = c.map(|c| c as i32);
                effects::forums::update(
                    &env.db,
                    &env.caller,
                    &env.slug,
                    None,
                    ForumPatch {
                        capacity: Some(cap),
                        ..Default::default()
                    },
                )
                .await
                .unwrap();
                m.cap = cap;
                m.promote();
            }
            Op::Mode(approval) => {
                let mode = if *approval {
                    RegistrationMode::Approval
                } else {
                    RegistrationMode::Open
                };
                effects::forums::update(
                    &env.db,
                    &env.caller,
                    &env.slug,
                    None,
                    ForumPatch {
                        registration_mode: Some(mode),
                        ..Default::default()
                    },
                )
                .await
                .unwrap();
                m.approval = *approval;
            }
            Op::Join(i, s) | Op::Leave(i, s) => {
                if m.regs.is_empty() {
                    continue;
                }
                let r = *i as usize % m.regs.len();
                let s = *s as usize;
                let (id, sid) = (ids[r], env.sessions[s]);
                if let Op::Join(..) = op {
                    let res = signups::join(&env.db, &staff, &env.slug, id, sid).await;
                    if m.regs[r].status != St::Confirmed {
                        let k = res.err().map(|e| kind(&e));
                        prop_assert_eq!(k.as_deref(), Some("registration-not-confirmed"));
                        continue;
                    }
                    prop_assert!(res.is_ok(), "step {step}: {:?}", res.err());
                    let ss = &mut m.sessions[s];
                    let active = ss
                        .signups
                        .get(&r)
                        .is_some_and(|v| v.0 == "confirmed" || v.0 == "waitlisted");
                    if !active {
                        let seats = ss.signups.values().filter(|v| v.0 == "confirmed").count();
                        let waiting = ss.signups.values().filter(|v| v.0 == "waitlisted").count();
                        let st = if free(ss.cap, seats) && waiting == 0 {
                            "confirmed"
                        } else {
                            "waitlisted"
                        };
                        ss.next += 1;
                        ss.signups.insert(r, (st, ss.next));
                    }
                } else {
                    let res = signups::leave(&env.db, &staff, &env.slug, id, sid).await;
                    match m.sessions[s].signups.get(&r).copied() {
                        None => {
                            let k = res.err().map(|e| kind(&e));
                            prop_assert_eq!(k.as_deref(), Some("not-found"));
                        }
                        Some((st, _)) => {
                            prop_assert!(res.is_ok());
                            if st == "confirmed" || st == "waitlisted" {
                                m.sessions[s].signups.get_mut(&r).unwrap().0 = "left";
                                if st == "confirmed" {
                                    m.promote_session(s);
                                }
                            }
                        }
                    }
                }
            }
        }
        // Invariants after every step.
        let page = admin::list(
            &env.db,
            &env.caller,
            &env.slug,
            admin::RegistrationQuery {
                limit: Some(500),
                ..Default::default()
            },
        )
        .await
        .unwrap();
        let stats = admin::stats(&env.db, &env.caller, &env.slug).await.unwrap();
        for (r, id) in ids.iter().enumerate() {
            let row = page.items.iter().find(|v| v.id == *id).unwrap();
            let want = match m.regs[r].status {
                St::Pending => "pending",
                St::Confirmed => "confirmed",
                St::Waitlisted => "waitlisted",
                St::Rejected => "rejected",
                St::Cancelled => "cancelled",
            };
            prop_assert_eq!(
                serde_json::to_value(row.status).unwrap(),
                serde_json::json!(want),
                "step {} {:?} reg {}",
                step,
                op,
                r
            );
        }
        let c = stats.counters;
        prop_assert_eq!(c.confirmed as usize, m.count(St::Confirmed));
        prop_assert_eq!(c.waitlisted as usize, m.count(St::Waitlisted));
        prop_assert_eq!(c.pending as usize, m.count(St::Pending));
        for (k, n) in &stats.by_status {
            let want = match k.as_str() {
                "confirmed" => c.confirmed,
                "waitlisted" => c.waitlisted,
                "pending" => c.pending,
                _ => continue,
            };
            prop_assert_eq!(*n as i32, want, "counter {} vs rows", k);
        }
        if c.waitlisted > 0 {
            // Nobody waits while a seat is free.
            prop_assert!(!free(m.cap, c.confirmed as usize));
        }
        for (s, sid) in env.sessions.iter().enumerate() {
            let got = stats.sessions.iter().find(|a| a.session_id == *sid);
            let seats = m.sessions[s]
                .signups
                .values()
                .filter(|v| v.0 == "confirmed")
                .count() as i32;
            let waiting = m.sessions[s]
                .signups
                .values()
                .filter(|v| v.0 == "waitlisted")
                .count() as i32;
            prop_assert_eq!(got.map_or(0, |a| a.confirmed), seats, "session {} seats", s);
            prop_assert_eq!(
                got.map_or(0, |a| a.waitlisted),
                waiting,
                "session {} wait-list",
                s
            );
            prop_assert!(seats <= m.sessions[s].cap.unwrap_or(i32::MAX));
        }
        // Reminders: exactly one pending `reminder.forum` per confirmed registration and one
        // pending `reminder.session` per seat, nothing for anyone else.
        let (forum_rm, session_rm) = pending_reminders(&env).await;
        let mut want_forum: Vec<String> = m
            .regs
            .iter()
            .filter(|r| r.status == St::Confirmed)
            .map(|r| format!("p{}@example.org", r.email))
            .collect();
        want_forum.sort();
        prop_assert_eq!(
            forum_rm,
            want_forum,
            "step {} {:?}: forum reminders",
            step,
            op
        );
        let mut want_session: Vec<(Uuid, String)> = vec![];
        for (s, ms) in m.sessions.iter().enumerate() {
            for (r, v) in &ms.signups {
                if v.0 == "confirmed" {
                    want_session.push((
                        env.sessions[s],
                        format!("p{}@example.org", m.regs[*r].email),
                    ));
                }
            }
        }
        want_session.sort();
        prop_assert_eq!(
            session_rm,
            want_session,
            "step {} {:?}: session reminders",
            step,
            op
        );
    }
    teardown(env).await;
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 16, max_shrink_iters: 64, ..ProptestConfig::default() })]
    #[test]
    fn registration_rules_match_the_model(ops in prop::collection::vec(op(), 1..40)) {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(run(ops))?;
    }
}
