//! Reminder e-mails, black-box: the real binary over HTTP on SQLite and PostgreSQL
//! (`CONVENE_TEST_DATABASE_URL`). Scheduling is read through the organizer's outbox list
//! (`GET …/notifications`: kind, status, dedupe key, `next_attempt_at` in UTC); delivery
//! goes through the worker to a real SMTP server on loopback (`common/smtp.rs`), and a
//! stale row is made by changing the database behind the API's back.

mod common;
#[path = "common/smtp.rs"]
mod smtp;

use std::time::Duration;

use chrono::{DateTime, SubsecRound, Utc};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use smtp::{Options, SmtpSink};

struct Forum {
    server: common::Server,
    token: String,
    slug: String,
    id: String,
}

impl Forum {
    /// A published forum `rm` (Europe/Istanbul, 2030-11-26/27) with `extra` fields.
    async fn new(server: common::Server, extra: Value) -> Forum {
        let token = server.organizer_token("org@example.org");
        let mut body = json!({"slug": "rm", "title": "Reminder forum", "city": "Gaziantep",
            "venue": "Shelton Hotel", "time_zone": "Europe/Istanbul",
            "first_day": "2030-11-26", "last_day": "2030-11-27"});
        for (k, v) in extra.as_object().unwrap() {
            body[k] = v.clone();
        }
        let res = server
            .client
            .post(server.url("/api/v1/forums"))
            .bearer_auth(&token)
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 201);
        let v: Value = res.json().await.unwrap();
        let f = Forum {
            server,
            token,
            slug: "rm".into(),
            id: v["id"].as_str().unwrap().into(),
        };
        let (st, v) = f.org(Method::POST, "/publish", None).await;
        assert_eq!(st, 200, "{v}");
        f
    }

    fn url(&self, rest: &str) -> String {
        self.server
            .url(&format!("/api/v1/forums/{}{}", self.slug, rest))
    }

    async fn org(&self, method: Method, rest: &str, body: Option<Value>) -> (StatusCode, Value) {
        let path = format!("/api/v1/forums/{}{}", self.slug, rest);
        self.server.call(method, &path, &self.token, body).await
    }

    /// Registers participant `i` (`p<i>@example.org`); returns (registration id, status).
    async fn register(&self, i: usize) -> (String, String) {
        let res = self
            .server
            .client
            .post(self.url("/registrations"))
            .json(
                &json!({"name": format!("P{i}"), "email": format!("p{i}@example.org"),
                "category": "mayor", "language": "en"}),
            )
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 201);
        let v: Value = res.json().await.unwrap();
        (
            v["registration"]["id"].as_str().unwrap().into(),
            v["registration"]["status"].as_str().unwrap().into(),
        )
    }

    async fn session(&self, title: &str, start: &str, end: &str, cap: Option<i32>) -> String {
        let (st, v) = self
            .org(
                Method::POST,
                "/sessions",
                Some(
                    json!({"kind": "workshop", "title": title, "starts_at": start,
                    "ends_at": end, "capacity": cap}),
                ),
            )
            .await;
        assert_eq!(st, 201, "{v}");
        v["id"].as_str().unwrap().into()
    }

    /// The forum's first session, `Opening`: 2030-11-26 09:00–10:00 Istanbul time
    /// (06:00–07:00 UTC), no capacity.
    async fn opening(&self) -> String {
        self.session(
            "Opening",
            "2030-11-26T09:00:00+03:00",
            "2030-11-26T10:00:00+03:00",
            None,
        )
        .await
    }

    async fn patch_session(&self, id: &str, body: Value) {
        let (st, v) = self
            .org(Method::PATCH, &format!("/sessions/{id}"), Some(body))
            .await;
        assert_eq!(st, 200, "{v}");
    }

    async fn patch_forum(&self, body: Value) -> (StatusCode, Value) {
        self.org(Method::PATCH, "", Some(body)).await
    }

    async fn join(&self, reg: &str, session: &str) -> String {
        let (st, v) = self
            .org(
                Method::PUT,
                &format!("/registrations/{reg}/signups/{session}"),
                None,
            )
            .await;
        assert_eq!(st, 200, "{v}");
        v["status"].as_str().unwrap().into()
    }

    async fn leave(&self, reg: &str, session: &str) {
        let (st, v) = self
            .org(
                Method::DELETE,
                &format!("/registrations/{reg}/signups/{session}"),
                None,
            )
            .await;
        assert_eq!(st, 200, "{v}");
    }

    async fn act(&self, reg: &str, what: &str, body: Option<Value>) -> Value {
        let (st, v) = self
            .org(Method::POST, &format!("/registrations/{reg}/{what}"), body)
            .await;
        assert_eq!(st, 200, "{what}: {v}");
        v
    }

    /// The forum's `reminder.*` outbox rows in `status`.
    async fn reminders(&self, status: &str) -> Vec<Value> {
        let (st, v) = self
            .org(
                Method::GET,
                &format!("/notifications?status={status}&limit=500"),
                None,
            )
            .await;
        assert_eq!(st, 200, "{v}");
        v["items"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|n| n["kind"].as_str().unwrap().starts_with("reminder."))
            .cloned()
            .collect()
    }

    /// Pending reminders as (kind, recipient, due at RFC 3339 UTC, dedupe key), sorted.
    async fn pending(&self) -> Vec<(String, String, String, String)> {
        let mut out: Vec<_> = self
            .reminders("pending")
            .await
            .iter()
            .map(|n| {
                let due: DateTime<Utc> = n["next_attempt_at"].as_str().unwrap().parse().unwrap();
                (
                    n["kind"].as_str().unwrap().to_owned(),
                    n["recipient_email"].as_str().unwrap().to_owned(),
                    due.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                    n["dedupe_key"].as_str().unwrap().to_owned(),
                )
            })
            .collect();
        out.sort();
        out
    }

    /// Pending reminders as (kind, recipient, due), without keys.
    async fn due(&self) -> Vec<(String, String, String)> {
        self.pending()
            .await
            .into_iter()
            .map(|(k, r, d, _)| (k, r, d))
            .collect()
    }
}

fn row(kind: &str, who: usize, due: &str) -> (String, String, String) {
    (kind.into(), format!("p{who}@example.org"), due.into())
}

fn unix(t: &str) -> i64 {
    t.parse::<DateTime<Utc>>().unwrap().timestamp()
}

/// A confirmed participant with a seat gets `reminder.forum` at forum start − 24 h and
/// `reminder.session` at session start − 1 h (UTC), with keys naming forum/session,
/// person, start and lead. The forum starts at its earliest scheduled session, else at
/// 00:00 local time on its first day; a new first session re-times the forum reminder.
#[tokio::test]
async fn confirmed_participant_gets_forum_and_session_reminders() {
    let f = Forum::new(common::Server::start().await, json!({})).await;
    let (r1, st) = f.register(1).await;
    assert_eq!(st, "confirmed");
    // No session yet: 2030-11-26 00:00 Istanbul (+03:00) = 2030-11-25T21:00Z, minus 24 h.
    let p = f.pending().await;
    assert_eq!(p.len(), 1, "{p:?}");
    assert_eq!(p[0].2, "2030-11-24T21:00:00Z");
    assert_eq!(
        p[0].3,
        format!(
            "reminder.forum:{}:{r1}:{}:1440",
            f.id,
            unix("2030-11-25T21:00:00Z")
        )
    );

    // The first session (09:00 local = 06:00Z) becomes the forum's start.
    let s2 = f
        .session(
            "Later",
            "2030-11-26T11:00:00+03:00",
            "2030-11-26T12:00:00+03:00",
            None,
        )
        .await;
    let s1 = f.opening().await;
    assert_eq!(
        f.due().await,
        vec![row("reminder.forum", 1, "2030-11-25T06:00:00Z")]
    );
    // Re-timed twice (midnight → 11:00 → 09:00): two cancelled rows.
    let cancelled = f.reminders("cancelled").await;
    assert_eq!(cancelled.len(), 2, "{cancelled:?}");

    assert_eq!(f.join(&r1, &s2).await, "confirmed");
    let p = f.pending().await;
    assert_eq!(
        p.iter().map(|x| x.2.clone()).collect::<Vec<_>>(),
        vec!["2030-11-25T06:00:00Z", "2030-11-26T07:00:00Z"]
    );
    let session_row = p.iter().find(|x| x.0 == "reminder.session").unwrap();
    assert!(
        session_row
            .3
            .starts_with(&format!("reminder.session:{s2}:")),
        "{session_row:?}"
    );
    assert!(
        session_row
            .3
            .ends_with(&format!(":{}:60", unix("2030-11-26T08:00:00Z"))),
        "{session_row:?}"
    );
    // A participant registering later gets theirs too; the first session is untouched.
    f.register(2).await;
    assert_eq!(
        f.due().await,
        vec![
            row("reminder.forum", 1, "2030-11-25T06:00:00Z"),
            row("reminder.forum", 2, "2030-11-25T06:00:00Z"),
            row("reminder.session", 1, "2030-11-26T07:00:00Z"),
        ]
    );
    let _ = s1;
}

/// Moving a session later and earlier re-times its reminders (old row cancelled, new row
/// at the new time), and moving the first session re-times the forum reminder; moving it
/// back revives the original row; a start in the past, a cancelled or a deleted session
/// leaves no pending reminder.
#[tokio::test]
async fn moving_and_cancelling_sessions_retimes_reminders() {
    let f = Forum::new(common::Server::start().await, json!({})).await;
    let s1 = f.opening().await;
    let s2 = f
        .session(
            "Workshop",
            "2030-11-26T14:00:00+03:00",
            "2030-11-26T15:00:00+03:00",
            None,
        )
        .await;
    let (r1, _) = f.register(1).await;
    f.join(&r1, &s1).await;
    f.join(&r1, &s2).await;
    assert_eq!(
        f.due().await,
        vec![
            row("reminder.forum", 1, "2030-11-25T06:00:00Z"),
            row("reminder.session", 1, "2030-11-26T05:00:00Z"),
            row("reminder.session", 1, "2030-11-26T10:00:00Z"),
        ]
    );

    // Later by two hours: the session's and the forum's reminders move.
    f.patch_session(
        &s1,
        json!({"starts_at": "2030-11-26T11:00:00+03:00", "ends_at": "2030-11-26T12:00:00+03:00"}),
    )
    .await;
    assert_eq!(
        f.due().await,
        vec![
            row("reminder.forum", 1, "2030-11-25T08:00:00Z"),
            row("reminder.session", 1, "2030-11-26T07:00:00Z"),
            row("reminder.session", 1, "2030-11-26T10:00:00Z"),
        ]
    );
    assert_eq!(f.reminders("cancelled").await.len(), 2);
    // Earlier than it ever was.
    f.patch_session(
        &s1,
        json!({"starts_at": "2030-11-26T08:00:00+03:00", "ends_at": "2030-11-26T09:00:00+03:00"}),
    )
    .await;
    assert_eq!(
        f.due().await,
        vec![
            row("reminder.forum", 1, "2030-11-25T05:00:00Z"),
            row("reminder.session", 1, "2030-11-26T04:00:00Z"),
            row("reminder.session", 1, "2030-11-26T10:00:00Z"),
        ]
    );
    assert_eq!(f.reminders("cancelled").await.len(), 4);
    // Back to the original time: the original rows are pending again (same keys).
    f.patch_session(
        &s1,
        json!({"starts_at": "2030-11-26T09:00:00+03:00", "ends_at": "2030-11-26T10:00:00+03:00"}),
    )
    .await;
    assert_eq!(
        f.due().await,
        vec![
            row("reminder.forum", 1, "2030-11-25T06:00:00Z"),
            row("reminder.session", 1, "2030-11-26T05:00:00Z"),
            row("reminder.session", 1, "2030-11-26T10:00:00Z"),
        ]
    );
    assert_eq!(f.reminders("cancelled").await.len(), 4);

    // (Moves whose reminder moment has passed: `moves_into_the_past_leave_no_reminder`,
    // on a forum running now — a session lies within its forum's days.)
    let (st, v) = f
        .org(Method::POST, &format!("/sessions/{s2}/cancel"), None)
        .await;
    assert_eq!(st, 200, "{v}");
    assert_eq!(
        f.due().await,
        vec![
            row("reminder.forum", 1, "2030-11-25T06:00:00Z"),
            row("reminder.session", 1, "2030-11-26T05:00:00Z"),
        ]
    );
    // Cancelling s1: its reminder goes; the forum falls back to first_day 00:00 local.
    let (st, v) = f
        .org(Method::POST, &format!("/sessions/{s1}/cancel"), None)
        .await;
    assert_eq!(st, 200, "{v}");
    assert_eq!(
        f.due().await,
        vec![row("reminder.forum", 1, "2030-11-24T21:00:00Z")]
    );

    // A deleted session takes its pending reminders with it.
    let s3 = f
        .session(
            "Side event",
            "2030-11-27T09:00:00+03:00",
            "2030-11-27T10:00:00+03:00",
            None,
        )
        .await;
    f.join(&r1, &s3).await;
    assert_eq!(f.due().await.len(), 2);
    let (st, v) = f
        .org(Method::DELETE, &format!("/sessions/{s3}"), None)
        .await;
    assert!(st.is_success(), "{st} {v}");
    assert_eq!(
        f.due().await,
        vec![row("reminder.forum", 1, "2030-11-24T21:00:00Z")]
    );
}

/// On a forum running now (UTC, from yesterday for a month): a session moved to start in
/// 30 minutes (lead 1 h) or into the past leaves no pending reminder, and takes the
/// forum reminder with it while it is the first session; cancelling it brings the forum
/// reminder of the next first session back.
#[tokio::test]
async fn moves_into_the_past_leave_no_reminder() {
    let today = Utc::now().date_naive();
    let f = Forum::new(
        common::Server::start().await,
        json!({"time_zone": "UTC", "first_day": (today - chrono::Duration::days(1)).to_string(),
            "last_day": (today + chrono::Duration::days(30)).to_string()}),
    )
    .await;
    let day = today + chrono::Duration::days(20);
    let at = |h: u32| format!("{day}T{h:02}:00:00Z");
    let s1 = f.session("Opening", &at(9), &at(10), None).await;
    let s2 = f.session("Workshop", &at(14), &at(15), None).await;
    let (r1, _) = f.register(1).await;
    f.join(&r1, &s1).await;
    f.join(&r1, &s2).await;
    let forum_due = format!("{}T09:00:00Z", day - chrono::Duration::days(1));
    assert_eq!(
        f.due().await,
        vec![
            row("reminder.forum", 1, &forum_due),
            row("reminder.session", 1, &at(8)),
            row("reminder.session", 1, &at(13)),
        ]
    );
    // A move that puts the reminder moment in the past (start in 30 min, lead 1 h): none.
    let soon = (Utc::now() + chrono::Duration::minutes(30)).trunc_subsecs(0);
    f.patch_session(
        &s2,
        json!({"starts_at": soon.to_rfc3339(), "ends_at": (soon + chrono::Duration::hours(1)).to_rfc3339()}),
    )
    .await;
    // s2 is now the forum's first session too: its forum reminder moment is past as well.
    assert_eq!(f.due().await, vec![row("reminder.session", 1, &at(8))]);
    // Into the past (yesterday, still within the forum's days).
    let past = format!("{}T14:00:00Z", today - chrono::Duration::days(1));
    let past_end = format!("{}T15:00:00Z", today - chrono::Duration::days(1));
    f.patch_session(&s2, json!({"starts_at": past, "ends_at": past_end}))
        .await;
    assert_eq!(f.due().await, vec![row("reminder.session", 1, &at(8))]);
    // Cancelling the past session makes s1 the first again: the forum reminder returns.
    let (st, v) = f
        .org(Method::POST, &format!("/sessions/{s2}/cancel"), None)
        .await;
    assert_eq!(st, 200, "{v}");
    assert_eq!(
        f.due().await,
        vec![
            row("reminder.forum", 1, &forum_due),
            row("reminder.session", 1, &at(8)),
        ]
    );
}

/// Cancelled and rejected registrations, a seat given up and a registration that loses
/// its seats have no pending reminders; approval confirms and schedules.
#[tokio::test]
async fn cancelled_rejected_and_lost_seats_have_no_pending_reminders() {
    let f = Forum::new(common::Server::start().await, json!({})).await;
    let s1 = f.opening().await;
    let s2 = f
        .session(
            "Workshop",
            "2030-11-26T14:00:00+03:00",
            "2030-11-26T15:00:00+03:00",
            None,
        )
        .await;
    let (r1, _) = f.register(1).await;
    let (r2, _) = f.register(2).await;
    let (r3, _) = f.register(3).await;
    for r in [&r1, &r2, &r3] {
        f.join(r, &s1).await;
    }
    f.join(&r1, &s2).await;
    assert_eq!(f.due().await.len(), 7);

    // p1 leaves s2: that reminder goes, the rest stays.
    f.leave(&r1, &s2).await;
    assert_eq!(
        f.due().await,
        vec![
            row("reminder.forum", 1, "2030-11-25T06:00:00Z"),
            row("reminder.forum", 2, "2030-11-25T06:00:00Z"),
            row("reminder.forum", 3, "2030-11-25T06:00:00Z"),
            row("reminder.session", 1, "2030-11-26T05:00:00Z"),
            row("reminder.session", 2, "2030-11-26T05:00:00Z"),
            row("reminder.session", 3, "2030-11-26T05:00:00Z"),
        ]
    );
    // p2 cancels (loses the seat), p3 is rejected: nothing pending for either.
    f.act(&r2, "cancel", Some(json!({"reason": "cannot come"})))
        .await;
    f.act(&r3, "reject", Some(json!({"reason": "duplicate"})))
        .await;
    assert_eq!(
        f.due().await,
        vec![
            row("reminder.forum", 1, "2030-11-25T06:00:00Z"),
            row("reminder.session", 1, "2030-11-26T05:00:00Z"),
        ]
    );

    // Approval mode: pending gets nothing, approval schedules, rejection cancels.
    let (st, v) = f
        .patch_forum(json!({"registration_mode": "approval"}))
        .await;
    assert_eq!(st, 200, "{v}");
    let (r4, st4) = f.register(4).await;
    let (r5, _) = f.register(5).await;
    assert_eq!(st4, "pending");
    assert_eq!(f.due().await.len(), 2);
    f.act(&r4, "approve", None).await;
    f.act(&r5, "approve", None).await;
    assert_eq!(f.due().await.len(), 4);
    f.act(&r5, "reject", None).await;
    assert_eq!(
        f.due().await,
        vec![
            row("reminder.forum", 1, "2030-11-25T06:00:00Z"),
            row("reminder.forum", 4, "2030-11-25T06:00:00Z"),
            row("reminder.session", 1, "2030-11-26T05:00:00Z"),
        ]
    );
}

/// A wait-listed person (forum or session wait-list) gets no reminder until promoted —
/// by a freed seat or by an organizer — and then gets one.
#[tokio::test]
async fn waitlisted_people_get_reminders_once_promoted() {
    let f = Forum::new(common::Server::start().await, json!({"capacity": 1})).await;
    let s1 = f
        .session(
            "Opening",
            "2030-11-26T09:00:00+03:00",
            "2030-11-26T10:00:00+03:00",
            Some(1),
        )
        .await;
    let (r1, _) = f.register(1).await;
    let (r2, st2) = f.register(2).await;
    let (r3, st3) = f.register(3).await;
    assert_eq!((st2.as_str(), st3.as_str()), ("waitlisted", "waitlisted"));
    assert_eq!(
        f.due().await,
        vec![row("reminder.forum", 1, "2030-11-25T06:00:00Z")]
    );
    // A freed seat promotes p2.
    f.act(&r1, "cancel", None).await;
    assert_eq!(
        f.due().await,
        vec![row("reminder.forum", 2, "2030-11-25T06:00:00Z")]
    );
    // An organizer promotes p3 by hand (raising the capacity).
    f.act(&r3, "promote", Some(json!({"raise_capacity": true})))
        .await;
    assert_eq!(
        f.due().await,
        vec![
            row("reminder.forum", 2, "2030-11-25T06:00:00Z"),
            row("reminder.forum", 3, "2030-11-25T06:00:00Z"),
        ]
    );
    // Session of one seat: p2 sits, p3 waits (no reminder), p2 leaves, p3 is promoted.
    assert_eq!(f.join(&r2, &s1).await, "confirmed");
    assert_eq!(f.join(&r3, &s1).await, "waitlisted");
    let sessions: Vec<_> = f
        .due()
        .await
        .into_iter()
        .filter(|r| r.0 == "reminder.session")
        .collect();
    assert_eq!(
        sessions,
        vec![row("reminder.session", 2, "2030-11-26T05:00:00Z")]
    );
    f.leave(&r2, &s1).await;
    let sessions: Vec<_> = f
        .due()
        .await
        .into_iter()
        .filter(|r| r.0 == "reminder.session")
        .collect();
    assert_eq!(
        sessions,
        vec![row("reminder.session", 3, "2030-11-26T05:00:00Z")]
    );
}

/// Lead times are per forum, set at creation or by PATCH (validated, 0 or null = off,
/// documented in OpenAPI); a change re-times the pending reminders.
#[tokio::test]
async fn lead_times_are_configurable_and_retime() {
    let server = common::Server::start().await;
    let token = server.organizer_token("org@example.org");
    // Out of range: 422 naming both fields; nothing created.
    let res = server
        .client
        .post(server.url("/api/v1/forums"))
        .bearer_auth(&token)
        .json(&json!({"slug": "bad", "title": "Bad", "time_zone": "UTC",
            "first_day": "2030-11-26", "last_day": "2030-11-27",
            "forum_reminder_minutes": -1, "session_reminder_minutes": 50000}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 422);
    let v: Value = res.json().await.unwrap();
    let fields: Vec<&str> = v["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert!(fields.contains(&"forum_reminder_minutes"), "{v}");
    assert!(fields.contains(&"session_reminder_minutes"), "{v}");
    // OpenAPI documents both fields on create, patch and the view.
    let doc: Value = server
        .client
        .get(server.url("/api/v1/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    for schema in ["NewForum", "ForumPatch", "ForumView"] {
        let props = &doc["components"]["schemas"][schema]["properties"];
        for field in ["forum_reminder_minutes", "session_reminder_minutes"] {
            assert!(props[field].is_object(), "{schema}.{field}: {props}");
        }
    }

    let f = Forum::new(server, json!({"forum_reminder_minutes": 120})).await;
    let (st, v) = f.org(Method::GET, "", None).await;
    assert_eq!(st, 200);
    assert_eq!(v["forum_reminder_minutes"], 120);
    assert_eq!(v["session_reminder_minutes"], 60, "the default");
    let s1 = f.opening().await;
    let (r1, _) = f.register(1).await;
    f.join(&r1, &s1).await;
    assert_eq!(
        f.due().await,
        vec![
            row("reminder.forum", 1, "2030-11-26T04:00:00Z"),
            row("reminder.session", 1, "2030-11-26T05:00:00Z"),
        ]
    );
    let (st, v) = f
        .patch_forum(json!({"session_reminder_minutes": 30, "forum_reminder_minutes": 2880}))
        .await;
    assert_eq!(st, 200, "{v}");
    assert_eq!(
        f.due().await,
        vec![
            row("reminder.forum", 1, "2030-11-24T06:00:00Z"),
            row("reminder.session", 1, "2030-11-26T05:30:00Z"),
        ]
    );
    let p = f.pending().await;
    assert!(p[0].3.ends_with(":2880"), "{p:?}");
    assert!(p[1].3.ends_with(":30"), "{p:?}");
    // 0 turns the session reminder off, null the forum reminder.
    let (st, v) = f
        .patch_forum(json!({"session_reminder_minutes": 0, "forum_reminder_minutes": null}))
        .await;
    assert_eq!(st, 200, "{v}");
    assert_eq!(v["forum_reminder_minutes"], 0);
    assert_eq!(f.due().await, vec![]);
    // Off, nobody new gets one either.
    let (r2, _) = f.register(2).await;
    f.join(&r2, &s1).await;
    assert_eq!(f.due().await, vec![]);
    // Back on: every confirmed participant and seat holder is scheduled again.
    let (st, v) = f
        .patch_forum(json!({"session_reminder_minutes": 60, "forum_reminder_minutes": 1440}))
        .await;
    assert_eq!(st, 200, "{v}");
    assert_eq!(
        f.due().await,
        vec![
            row("reminder.forum", 1, "2030-11-25T06:00:00Z"),
            row("reminder.forum", 2, "2030-11-25T06:00:00Z"),
            row("reminder.session", 1, "2030-11-26T05:00:00Z"),
            row("reminder.session", 2, "2030-11-26T05:00:00Z"),
        ]
    );
    // A bad PATCH changes nothing.
    let (st, _) = f
        .patch_forum(json!({"forum_reminder_minutes": 43201}))
        .await;
    assert_eq!(st, 422);
    assert_eq!(f.due().await.len(), 4);
}

/// Runs `sql` on the server's database behind the API's back.
async fn tamper(server: &common::Server, sql: &str) -> u64 {
    use sqlx::Connection as _;
    if server.db.url.starts_with("sqlite") {
        let mut c = sqlx::SqliteConnection::connect(&server.db.url)
            .await
            .unwrap();
        sqlx::raw_sql(sqlx::AssertSqlSafe(sql.to_owned()))
            .execute(&mut c)
            .await
            .unwrap()
            .rows_affected()
    } else {
        let mut c = sqlx::PgConnection::connect(&server.db.url).await.unwrap();
        sqlx::raw_sql(sqlx::AssertSqlSafe(sql.to_owned()))
            .execute(&mut c)
            .await
            .unwrap()
            .rows_affected()
    }
}

/// End to end with the worker and a real SMTP server: reminders due now are delivered
/// (subject, and a calendar invitation for the session); reminders made stale in the
/// database (seat given up, forum start changed) are marked `cancelled` by the worker's
/// own check and never sent.
#[tokio::test]
async fn due_reminders_are_delivered_and_stale_ones_cancelled_by_the_worker() {
    let sink = SmtpSink::start(Options::default());
    let port = sink.port.to_string();
    let server = common::Server::start_with(
        &["serve"],
        &[
            ("CONVENE_MAIL__TRANSPORT", "smtp"),
            ("CONVENE_MAIL__FROM", "Forum <forum@forum.test>"),
            ("CONVENE_MAIL__SMTP__HOST", "127.0.0.1"),
            ("CONVENE_MAIL__SMTP__PORT", &port),
            ("CONVENE_MAIL__SMTP__SECURITY", "none"),
            ("CONVENE_HTTP__PUBLIC_BASE_URL", "http://forum.test"),
            ("CONVENE_WORKER__POLL_INTERVAL_MS", "200"),
        ],
    )
    .await;
    let today = Utc::now().date_naive();
    let f = Forum::new(
        server,
        json!({"time_zone": "UTC", "first_day": today.to_string(),
            "last_day": (today + chrono::Duration::days(1)).to_string(),
            "forum_reminder_minutes": 1, "session_reminder_minutes": 1}),
    )
    .await;
    // Starts in 1 min 25 s: with a 1-minute lead, both reminders are due in ~25 s.
    let start = (Utc::now() + chrono::Duration::seconds(85)).trunc_subsecs(0);
    let s1 = f
        .session(
            "Cities of Refuge",
            &start.to_rfc3339(),
            &(start + chrono::Duration::hours(1)).to_rfc3339(),
            None,
        )
        .await;
    let (r1, _) = f.register(1).await;
    let (r2, _) = f.register(2).await;
    f.join(&r1, &s1).await;
    f.join(&r2, &s1).await;
    assert_eq!(f.pending().await.len(), 4);
    // Behind the API's back: p2 gave up the seat, and p2's forum reminder claims another
    // start than the forum has.
    let n = tamper(
        &f.server,
        "UPDATE session_signups SET status = 'left' WHERE registration_id IN \
         (SELECT id FROM registrations WHERE email = 'p2@example.org')",
    )
    .await;
    assert_eq!(n, 1);
    let n = tamper(
        &f.server,
        &format!(
            "UPDATE notifications SET dedupe_key = replace(dedupe_key, ':{}:', ':{}:') \
             WHERE kind = 'reminder.forum' AND recipient_email = 'p2@example.org'",
            start.timestamp(),
            start.timestamp() + 3600
        ),
    )
    .await;
    assert_eq!(n, 1);

    common::wait_until(
        "the reminders to be handled",
        Duration::from_secs(90),
        || async { f.reminders("pending").await.is_empty() },
    )
    .await;
    let sent = f.reminders("sent").await;
    let cancelled = f.reminders("cancelled").await;
    let who = |rows: &[Value]| {
        let mut v: Vec<(String, String)> = rows
            .iter()
            .map(|r| {
                (
                    r["kind"].as_str().unwrap().to_owned(),
                    r["recipient_email"].as_str().unwrap().to_owned(),
                )
            })
            .collect();
        v.sort();
        v
    };
    let pair = |k: &str, i: usize| (k.to_owned(), format!("p{i}@example.org"));
    assert_eq!(
        who(&sent),
        vec![pair("reminder.forum", 1), pair("reminder.session", 1)]
    );
    assert_eq!(
        who(&cancelled),
        vec![pair("reminder.forum", 2), pair("reminder.session", 2)]
    );
    for c in &cancelled {
        let why = c["last_error"].as_str().unwrap_or_default();
        assert!(why.starts_with("stale reminder"), "{c}");
    }
    // The sink got p1's two reminders and no reminder for p2.
    let reminders: Vec<(String, String)> = sink
        .received()
        .iter()
        .filter_map(|m| {
            let subject = smtp::header(&m.data, "subject").unwrap_or_default();
            let msg = mail_parser::MessageParser::default().parse(&m.data)?;
            let subject = msg.subject().map(str::to_owned).unwrap_or(subject);
            subject
                .starts_with("Reminder:")
                .then(|| (m.to.join(","), subject))
        })
        .collect();
    assert_eq!(reminders.len(), 2, "{reminders:?}");
    assert!(reminders
        .iter()
        .all(|(to, _)| to.contains("p1@example.org")));
    assert!(
        reminders
            .iter()
            .any(|(_, s)| s.contains("Cities of Refuge") && s.contains("begins soon")),
        "{reminders:?}"
    );
    assert!(
        reminders.iter().any(|(_, s)| s.contains("Reminder forum")),
        "{reminders:?}"
    );
}

/// Closing a forum keeps its reminders (it may still take place, and may be re-opened);
/// archiving it cancels every pending one. A reminder of an archived forum that is
/// pending and due anyway (put back behind the API's back) is cancelled by the worker's
/// send-time check, not sent.
#[tokio::test]
async fn archiving_a_forum_cancels_its_reminders_and_closing_does_not() {
    let server =
        common::Server::start_with(&["serve"], &[("CONVENE_WORKER__POLL_INTERVAL_MS", "100")])
            .await;
    let f = Forum::new(server, json!({})).await;
    let s1 = f.opening().await;
    let (r1, _) = f.register(1).await;
    let (r2, _) = f.register(2).await;
    f.join(&r1, &s1).await;
    f.join(&r2, &s1).await;
    let before = f.due().await;
    assert_eq!(before.len(), 4, "{before:?}");

    let (st, v) = f.org(Method::POST, "/close", None).await;
    assert_eq!(st, 200, "{v}");
    assert_eq!(f.due().await, before, "closing keeps the reminders");

    let (st, v) = f.org(Method::POST, "/archive", None).await;
    assert_eq!(st, 200, "{v}");
    assert_eq!(f.due().await, vec![], "archiving cancels them");
    let cancelled = f.reminders("cancelled").await;
    assert_eq!(cancelled.len(), 4);
    for c in &cancelled {
        assert_eq!(c["last_error"], "cancelled: the forum was archived", "{c}");
    }
    // Read-only from now on: no change to the forum, its programme or its participants
    // (each would bring reminders or notices back), and no transition out of it.
    let refused = [
        (
            Method::PATCH,
            format!("/sessions/{s1}"),
            Some(
                json!({"starts_at": "2030-11-26T11:00:00+03:00", "ends_at": "2030-11-26T12:00:00+03:00"}),
            ),
        ),
        (
            Method::PATCH,
            String::new(),
            Some(json!({"forum_reminder_minutes": 720})),
        ),
        (
            Method::POST,
            "/sessions".into(),
            Some(
                json!({"kind": "workshop", "title": "Late", "starts_at": "2030-11-27T09:00:00+03:00", "ends_at": "2030-11-27T10:00:00+03:00"}),
            ),
        ),
        (
            Method::POST,
            "/rooms".into(),
            Some(json!({"name": "Hall Z"})),
        ),
        (
            Method::POST,
            format!("/registrations/{r1}/cancel"),
            Some(json!({"reason": "late"})),
        ),
        (
            Method::DELETE,
            format!("/registrations/{r2}/signups/{s1}"),
            None,
        ),
        (Method::POST, "/publish".into(), None),
        (
            Method::POST,
            "/speakers".into(),
            Some(json!({"name": "Late Speaker"})),
        ),
        (
            Method::PUT,
            "/registration-form".into(),
            Some(json!({"questions": []})),
        ),
        (
            Method::PUT,
            format!("/registrations/{r1}/signups/{s1}"),
            None,
        ),
        (
            Method::POST,
            "/check-ins".into(),
            Some(json!({"registration_id": r1})),
        ),
    ];
    for (method, path, body) in refused {
        let (st, p) = f.org(method.clone(), &path, body).await;
        assert_eq!(st, 409, "{method} {path}: {p}");
        assert_eq!(p["type"], "/problems/invalid-state", "{method} {path}: {p}");
    }
    assert_eq!(f.due().await, vec![], "nothing came back");
    assert_eq!(f.reminders("cancelled").await.len(), 4);

    // Behind the API's back: p1's session reminder pending again and due now.
    let n = tamper(
        &f.server,
        "UPDATE notifications SET status = 'pending', next_attempt_at = '2020-01-01T00:00:00Z' \
         WHERE kind = 'reminder.session' AND recipient_email = 'p1@example.org'",
    )
    .await;
    assert_eq!(n, 1);
    common::wait_until(
        "the worker to handle the revived reminder",
        Duration::from_secs(30),
        || async { f.reminders("pending").await.is_empty() },
    )
    .await;
    assert!(f.reminders("sent").await.is_empty());
    let revived: Vec<Value> = f
        .reminders("cancelled")
        .await
        .into_iter()
        .filter(|n| n["kind"] == "reminder.session" && n["recipient_email"] == "p1@example.org")
        .collect();
    assert_eq!(revived.len(), 1);
    assert_eq!(
        revived[0]["last_error"], "stale reminder: the forum is archived",
        "{revived:?}"
    );
}
