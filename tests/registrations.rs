//! Registration, wait-list, sign-ups, check-in: black-box against the binary, on SQLite
//! and PostgreSQL (`CONVENE_TEST_DATABASE_URL`). Concurrency rules get concurrent tests.
mod common;

use std::collections::{HashMap, HashSet};

use reqwest::StatusCode;
use serde_json::{json, Value};
use tokio::task::JoinSet;

struct Forum {
    server: common::Server,
    token: String,
    slug: String,
}

impl Forum {
    async fn new(capacity: Option<i32>, mode: &str) -> Forum {
        Forum::with(common::Server::start().await, capacity, mode).await
    }

    async fn with(server: common::Server, capacity: Option<i32>, mode: &str) -> Forum {
        let token = server.organizer_token("org@example.org");
        let slug = "rush-2025".to_string();
        let res = server
            .client
            .post(server.url("/api/v1/forums"))
            .bearer_auth(&token)
            .json(
                &json!({"slug": slug, "title": "Rush forum", "time_zone": "Europe/Istanbul",
                "first_day": "2030-11-26", "last_day": "2030-11-27", "capacity": capacity,
                "registration_mode": mode, "city": "Gaziantep"}),
            )
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 201, "{}", res.text().await.unwrap());
        let res = server
            .client
            .post(server.url(&format!("/api/v1/forums/{slug}/publish")))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
        Forum {
            server,
            token,
            slug,
        }
    }

    fn url(&self, rest: &str) -> String {
        self.server
            .url(&format!("/api/v1/forums/{}{}", self.slug, rest))
    }

    async fn register(&self, i: usize) -> (StatusCode, Value) {
        register_at(&self.server.client, &self.url("/registrations"), i, None).await
    }

    async fn org(
        &self,
        method: reqwest::Method,
        rest: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let path = format!("/api/v1/forums/{}{}", self.slug, rest);
        self.server.call(method, &path, &self.token, body).await
    }

    async fn all(&self) -> Vec<Value> {
        let mut out = vec![];
        let mut cursor: Option<String> = None;
        loop {
            let q = match &cursor {
                Some(c) => format!("/registrations?limit=500&cursor={c}"),
                None => "/registrations?limit=500".into(),
            };
            let (st, page) = self.org(reqwest::Method::GET, &q, None).await;
            assert_eq!(st, 200, "{page}");
            out.extend(page["items"].as_array().unwrap().iter().cloned());
            match page["next_cursor"].as_str() {
                Some(c) => cursor = Some(c.to_owned()),
                None => return out,
            }
        }
    }

    async fn stats(&self) -> Value {
        let (st, v) = self
            .org(reqwest::Method::GET, "/registration-stats", None)
            .await;
        assert_eq!(st, 200, "{v}");
        v
    }

    /// Counters equal row counts, and confirmed ≤ capacity when `cap` is given.
    async fn assert_counters_match_rows(&self) -> Value {
        let s = self.stats().await;
        for st in ["confirmed", "waitlisted", "pending"] {
            assert_eq!(
                s["counters"][st].as_i64().unwrap(),
                s["by_status"][st].as_i64().unwrap_or(0),
                "counter {st} vs rows: {s}"
            );
        }
        s
    }

    async fn outbox(&self, kind: &str) -> i64 {
        outbox_count(&self.server, kind).await
    }
}

fn body(i: usize) -> Value {
    json!({"name": format!("Participant {i}"), "email": format!("p{i}@example.org"),
        "category": "mayor", "country": "TR", "city": "Gaziantep", "language": "tr"})
}

async fn register_at(
    client: &reqwest::Client,
    url: &str,
    i: usize,
    key: Option<&str>,
) -> (StatusCode, Value) {
    let mut rb = client.post(url).json(&body(i));
    if let Some(k) = key {
        rb = rb.header("Idempotency-Key", k);
    }
    let res = rb.send().await.unwrap();
    let st = res.status();
    (st, res.json().await.unwrap())
}

async fn outbox_count(server: &common::Server, kind: &str) -> i64 {
    use sqlx::Connection as _;
    let sql = "SELECT count(*) FROM notifications WHERE kind = $1";
    match common::backend_name() {
        "postgres" => {
            let mut c = sqlx::PgConnection::connect(&server.db.url).await.unwrap();
            let (n,): (i64,) = sqlx::query_as(sql)
                .bind(kind)
                .fetch_one(&mut c)
                .await
                .unwrap();
            n
        }
        _ => {
            let mut c = sqlx::SqliteConnection::connect(&server.db.url)
                .await
                .unwrap();
            let (n,): (i64,) = sqlx::query_as("SELECT count(*) FROM notifications WHERE kind = ?")
                .bind(kind)
                .fetch_one(&mut c)
                .await
                .unwrap();
            n
        }
    }
}

/// 500 concurrent registrations on a forum of capacity 50: exactly 50 confirmed, 450
/// wait-listed in arrival order, counters equal row counts, one outbox row each.
#[tokio::test]
async fn rush_500_registrations_capacity_50() {
    let f = Forum::new(Some(50), "open").await;
    let mut set = JoinSet::new();
    for i in 0..500 {
        let client = f.server.client.clone();
        let url = f.url("/registrations");
        set.spawn(async move { register_at(&client, &url, i, None).await });
    }
    let mut statuses: HashMap<String, usize> = HashMap::new();
    let mut positions = vec![];
    while let Some(r) = set.join_next().await {
        let (st, v) = r.unwrap();
        assert_eq!(st, 201, "{v}");
        let s = v["registration"]["status"].as_str().unwrap().to_owned();
        if s == "waitlisted" {
            positions.push(v["registration"]["waitlist_position"].as_i64().unwrap());
        }
        assert!(v["manage_token"].as_str().unwrap().starts_with("cvn_reg_"));
        *statuses.entry(s).or_default() += 1;
    }
    assert_eq!(statuses.get("confirmed"), Some(&50), "{statuses:?}");
    assert_eq!(statuses.get("waitlisted"), Some(&450), "{statuses:?}");
    positions.sort();
    assert_eq!(positions, (1..=450).collect::<Vec<i64>>());

    let rows = f.all().await;
    assert_eq!(rows.len(), 500);
    let max_confirmed = rows
        .iter()
        .filter(|r| r["status"] == "confirmed")
        .map(|r| r["seq"].as_i64().unwrap())
        .max()
        .unwrap();
    let min_wait = rows
        .iter()
        .filter(|r| r["status"] == "waitlisted")
        .map(|r| r["seq"].as_i64().unwrap())
        .min()
        .unwrap();
    assert!(
        max_confirmed < min_wait,
        "arrival order: {max_confirmed} < {min_wait}"
    );
    let seqs: HashSet<i64> = rows.iter().map(|r| r["seq"].as_i64().unwrap()).collect();
    assert_eq!(seqs, (1..=500).collect());
    let s = f.assert_counters_match_rows().await;
    assert_eq!(s["counters"]["confirmed"], 50);
    assert_eq!(f.outbox("registration.confirmed").await, 50);
    assert_eq!(f.outbox("registration.waitlisted").await, 450);
}

async fn session(f: &Forum, title: &str, start: &str, end: &str, cap: Option<i32>) -> String {
    let (st, v) = f
        .org(
            reqwest::Method::POST,
            "/sessions",
            Some(json!({"kind": "workshop", "title": title, "starts_at": start, "ends_at": end, "capacity": cap})),
        )
        .await;
    assert_eq!(st, 201, "{v}");
    v["id"].as_str().unwrap().to_owned()
}

/// 200 concurrent sign-ups for a session of capacity 20: 20 seats, 180 wait-listed in
/// order; counters equal rows.
#[tokio::test]
async fn rush_200_signups_session_capacity_20() {
    let f = Forum::new(None, "open").await;
    let sid = session(
        &f,
        "Workshop",
        "2030-11-26T10:00:00+03:00",
        "2030-11-26T11:00:00+03:00",
        Some(20),
    )
    .await;
    let mut regs = vec![];
    for chunk in (0..200).collect::<Vec<_>>().chunks(50) {
        let mut set = JoinSet::new();
        for &i in chunk {
            let client = f.server.client.clone();
            let url = f.url("/registrations");
            set.spawn(async move { register_at(&client, &url, i, None).await });
        }
        while let Some(r) = set.join_next().await {
            let (st, v) = r.unwrap();
            assert_eq!(st, 201);
            regs.push((
                v["registration"]["id"].as_str().unwrap().to_owned(),
                v["manage_token"].as_str().unwrap().to_owned(),
            ));
        }
    }
    let mut set = JoinSet::new();
    for (id, tok) in regs.clone() {
        let client = f.server.client.clone();
        let url = f.url(&format!("/registrations/{id}/signups/{sid}"));
        set.spawn(async move {
            let res = client.put(url).bearer_auth(tok).send().await.unwrap();
            let st = res.status();
            (st, res.json::<Value>().await.unwrap())
        });
    }
    let mut n: HashMap<String, usize> = HashMap::new();
    let mut pos = vec![];
    while let Some(r) = set.join_next().await {
        let (st, v) = r.unwrap();
        assert_eq!(st, 200, "{v}");
        let s = v["status"].as_str().unwrap().to_owned();
        if s == "waitlisted" {
            pos.push(v["waitlist_position"].as_i64().unwrap());
        }
        *n.entry(s).or_default() += 1;
    }
    assert_eq!(n.get("confirmed"), Some(&20), "{n:?}");
    assert_eq!(n.get("waitlisted"), Some(&180), "{n:?}");
    pos.sort();
    assert_eq!(pos, (1..=180).collect::<Vec<i64>>());
    let s = f.stats().await;
    let att = &s["sessions"][0];
    assert_eq!(att["confirmed"], 20);
    assert_eq!(att["waitlisted"], 180);
    assert_eq!(f.outbox("signup.confirmed").await, 20);
    assert_eq!(f.outbox("signup.waitlisted").await, 180);

    // A seat holder leaves: the first on the wait-list gets the seat, once.
    let seated: Vec<_> = {
        let mut v = vec![];
        for (id, tok) in &regs {
            let res = f
                .server
                .client
                .get(f.url(&format!("/registrations/{id}/signups")))
                .bearer_auth(tok)
                .send()
                .await
                .unwrap();
            let list: Value = res.json().await.unwrap();
            v.push((
                id.clone(),
                tok.clone(),
                list["items"][0]["status"].as_str().unwrap().to_owned(),
                list["items"][0]["waitlist_position"].as_i64(),
            ));
        }
        v
    };
    let (lid, ltok, _, _) = seated.iter().find(|s| s.2 == "confirmed").unwrap().clone();
    let (first_id, first_tok, _, _) = seated.iter().find(|s| s.3 == Some(1)).unwrap().clone();
    let res = f
        .server
        .client
        .delete(f.url(&format!("/registrations/{lid}/signups/{sid}")))
        .bearer_auth(&ltok)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let res = f
        .server
        .client
        .get(f.url(&format!("/registrations/{first_id}/signups")))
        .bearer_auth(&first_tok)
        .send()
        .await
        .unwrap();
    let list: Value = res.json().await.unwrap();
    assert_eq!(list["items"][0]["status"], "confirmed");
    assert_eq!(f.outbox("signup.promoted").await, 1);

    // The session is cancelled: everyone is released and told.
    let (st, _) = f
        .org(
            reqwest::Method::POST,
            &format!("/sessions/{sid}/cancel"),
            None,
        )
        .await;
    assert_eq!(st, 200);
    let s = f.stats().await;
    assert_eq!(s["sessions"][0]["confirmed"], 0);
    assert_eq!(s["sessions"][0]["waitlisted"], 0);
    assert_eq!(f.outbox("session.cancelled").await, 20);
    assert_eq!(f.outbox("signup.lost").await, 179);
}

/// 30 concurrent cancellations → exactly 30 promotions, oldest first, one outbox row
/// each; capacity lowered never promotes nor un-confirms; raised, it promotes.
#[tokio::test]
async fn cancellations_promote_oldest_first_and_capacity_changes() {
    let f = Forum::new(Some(30), "open").await;
    let mut regs = vec![];
    for i in 0..100 {
        let (st, v) = f.register(i).await;
        assert_eq!(st, 201);
        regs.push(v);
    }
    let confirmed: Vec<&Value> = regs
        .iter()
        .filter(|v| v["registration"]["status"] == "confirmed")
        .collect();
    assert_eq!(confirmed.len(), 30);
    let mut set = JoinSet::new();
    for v in &confirmed {
        let client = f.server.client.clone();
        let url = f.url(&format!(
            "/registrations/{}/cancel",
            v["registration"]["id"].as_str().unwrap()
        ));
        let tok = v["manage_token"].as_str().unwrap().to_owned();
        set.spawn(async move {
            client
                .post(url)
                .bearer_auth(tok)
                .json(&json!({"reason": "cannot travel"}))
                .send()
                .await
                .unwrap()
                .status()
        });
    }
    while let Some(st) = set.join_next().await {
        assert_eq!(st.unwrap(), 200);
    }
    assert_eq!(f.outbox("registration.promoted").await, 30);
    assert_eq!(f.outbox("registration.cancelled").await, 30);
    let rows = f.all().await;
    let by_seq = |status: &str| -> Vec<i64> {
        let mut v: Vec<i64> = rows
            .iter()
            .filter(|r| r["status"] == status)
            .map(|r| r["seq"].as_i64().unwrap())
            .collect();
        v.sort();
        v
    };
    assert_eq!(
        by_seq("confirmed"),
        (31..=60).collect::<Vec<_>>(),
        "oldest promoted first"
    );
    assert_eq!(by_seq("waitlisted"), (61..=100).collect::<Vec<_>>());
    f.assert_counters_match_rows().await;

    // Lower the capacity below the confirmed count: nobody is promoted or un-confirmed.
    let (st, v) = f
        .org(reqwest::Method::PATCH, "", Some(json!({"capacity": 10})))
        .await;
    assert_eq!(st, 200, "{v}");
    let s = f.assert_counters_match_rows().await;
    assert_eq!(s["counters"]["confirmed"], 30);
    // Cancelling 5 seat holders now frees no seat (25 > 10).
    let seat_holders: Vec<Value> = rows
        .iter()
        .filter(|r| r["status"] == "confirmed")
        .take(5)
        .cloned()
        .collect();
    for r in &seat_holders {
        let (st, _) = f
            .org(
                reqwest::Method::POST,
                &format!("/registrations/{}/cancel", r["id"].as_str().unwrap()),
                None,
            )
            .await;
        assert_eq!(st, 200);
    }
    let s = f.assert_counters_match_rows().await;
    assert_eq!(s["counters"]["confirmed"], 25);
    assert_eq!(s["counters"]["waitlisted"], 40);
    assert_eq!(f.outbox("registration.promoted").await, 30);
    // Raise it to 35: exactly 10 promoted, oldest first.
    let (st, _) = f
        .org(reqwest::Method::PATCH, "", Some(json!({"capacity": 35})))
        .await;
    assert_eq!(st, 200);
    let s = f.assert_counters_match_rows().await;
    assert_eq!(s["counters"]["confirmed"], 35);
    assert_eq!(f.outbox("registration.promoted").await, 40);
    let rows = f.all().await;
    let mut w: Vec<i64> = rows
        .iter()
        .filter(|r| r["status"] == "waitlisted")
        .map(|r| r["seq"].as_i64().unwrap())
        .collect();
    w.sort();
    assert_eq!(w, (71..=100).collect::<Vec<_>>());
}

#[tokio::test]
async fn idempotency_key_replay_conflict_and_changed_body() {
    let f = Forum::new(Some(10), "open").await;
    let url = f.url("/registrations");
    let c = &f.server.client;
    let (st, first) = register_at(c, &url, 1, Some("key-1")).await;
    assert_eq!(st, 201);
    let (st, again) = register_at(c, &url, 1, Some("key-1")).await;
    assert_eq!(st, 200, "{again}");
    assert_eq!(again["registration"]["id"], first["registration"]["id"]);
    let tok = again["manage_token"].as_str().unwrap();
    assert!(tok.starts_with("cvn_reg_"));
    let res = c
        .get(f.url(&format!(
            "/registrations/{}",
            first["registration"]["id"].as_str().unwrap()
        )))
        .bearer_auth(tok)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    // Same key, other body → 422.
    let (st, p) = register_at(c, &url, 2, Some("key-1")).await;
    assert_eq!(st, 422, "{p}");
    assert_eq!(p["type"], "/problems/validation-error");

    // Concurrent duplicates: one registration; the others replay it or get 409.
    let mut set = JoinSet::new();
    for _ in 0..12 {
        let (c, url) = (c.clone(), url.clone());
        set.spawn(async move { register_at(&c, &url, 3, Some("key-3")).await });
    }
    let mut codes = HashMap::new();
    let mut ids = HashSet::new();
    while let Some(r) = set.join_next().await {
        let (st, v) = r.unwrap();
        *codes.entry(st.as_u16()).or_insert(0) += 1;
        match st.as_u16() {
            200 | 201 => {
                ids.insert(v["registration"]["id"].as_str().unwrap().to_owned());
            }
            409 => assert_eq!(v["type"], "/problems/idempotency-key-in-flight", "{v}"),
            _ => panic!("unexpected {st}: {v}"),
        }
    }
    assert_eq!(codes.get(&201), Some(&1), "{codes:?}");
    assert_eq!(ids.len(), 1);
    assert_eq!(f.all().await.len(), 2);
}

#[tokio::test]
async fn duplicate_email_does_not_leak_and_tokens_are_scoped() {
    let f = Forum::new(None, "open").await;
    let c = &f.server.client;
    let (_, a) = f.register(1).await;
    let (_, b) = f.register(2).await;
    let mut dup = body(1);
    dup["email"] = json!("  P1@Example.org ");
    dup["name"] = json!("Somebody Else");
    let res = c
        .post(f.url("/registrations"))
        .json(&dup)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 409);
    let text = res.text().await.unwrap();
    let a_id = a["registration"]["id"].as_str().unwrap();
    assert!(
        !text.contains(a_id) && !text.contains("Participant 1") && !text.contains("cvn_reg_"),
        "{text}"
    );
    let p: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(p["type"], "/problems/already-registered");
    assert_eq!(f.outbox("registration.manage_link").await, 1);
    // Re-sending is limited to one mail a minute.
    let res = c
        .post(f.url("/registrations/resend-link"))
        .json(&json!({"email": "p1@example.org"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 202);
    let res = c
        .post(f.url("/registrations/resend-link"))
        .json(&json!({"email": "nobody@example.org"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 202);
    assert!(f.outbox("registration.manage_link").await <= 2);

    let a_tok = a["manage_token"].as_str().unwrap();
    let b_id = b["registration"]["id"].as_str().unwrap();
    // A's token reaches A …
    let res = c
        .get(f.url(&format!("/registrations/{a_id}")))
        .bearer_auth(a_tok)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let res = c
        .get(format!(
            "{}?token={a_tok}",
            f.url(&format!("/registrations/{a_id}"))
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    // … and not B: 404 for reading, changing, cancelling.
    let res = c
        .get(f.url(&format!("/registrations/{b_id}")))
        .bearer_auth(a_tok)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404);
    let res = c
        .patch(f.url(&format!("/registrations/{b_id}")))
        .bearer_auth(a_tok)
        .json(&json!({"name": "X"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404);
    let res = c
        .post(f.url(&format!("/registrations/{b_id}/cancel")))
        .bearer_auth(a_tok)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404);
    // Nor organizer endpoints.
    let res = c
        .post(f.url(&format!("/registrations/{a_id}/approve")))
        .bearer_auth(a_tok)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    let res = c
        .get(f.url("/registrations"))
        .bearer_auth(a_tok)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    // Wrong token → 401; rotated (revoked) token → 401.
    let res = c
        .get(f.url(&format!("/registrations/{a_id}")))
        .bearer_auth("cvn_reg_nope")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    let res = c
        .post(f.url(&format!("/registrations/{a_id}/manage-token")))
        .bearer_auth(a_tok)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let new_tok = res.json::<Value>().await.unwrap()["manage_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let res = c
        .get(f.url(&format!("/registrations/{a_id}")))
        .bearer_auth(a_tok)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    let res = c
        .patch(f.url(&format!("/registrations/{a_id}")))
        .bearer_auth(&new_tok)
        .json(&json!({"organization": "City of Gaziantep"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    // No token at all → 401.
    let res = c
        .get(f.url(&format!("/registrations/{a_id}")))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
}

/// POSTs `body` as a public registration, expects 422, and returns the fields it names.
async fn refused_fields(f: &Forum, body: &Value) -> Vec<String> {
    let res = f
        .server
        .client
        .post(f.url("/registrations"))
        .json(body)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 422);
    let p: Value = res.json().await.unwrap();
    p["errors"]
        .as_array()
        .unwrap_or_else(|| panic!("{p}"))
        .iter()
        .map(|e| e["field"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn approval_mode_form_checkin_and_csv() {
    let f = Forum::new(Some(1), "approval").await;
    let c = &f.server.client;
    let (st, v) = f
        .org(
            reqwest::Method::PUT,
            "/registration-form",
            Some(json!({"questions": [
                {"id": "diet", "label": "Diet", "kind": "single_choice", "options": ["none", "vegetarian"], "required": true},
                {"id": "note", "label": "Note", "kind": "text"}]})),
        )
        .await;
    assert_eq!(st, 200, "{v}");
    // Missing required answer, unknown question, bad country → 422 naming each.
    let mut b = body(1);
    b["answers"] = json!({"color": "red"});
    b["country"] = json!("XX");
    let fields = refused_fields(&f, &b).await;
    for want in ["answers.diet", "answers.color", "country"] {
        assert!(fields.iter().any(|f| f == want), "{want}: {fields:?}");
    }
    // A line break (or any control character) in a one-line field → 422 naming it, and
    // nothing written; free-text accessibility needs may have line breaks.
    let mut b = body(1);
    b["answers"] = json!({"diet": "none"});
    b["name"] = json!("Eve\r\nBcc: victim@example.org");
    b["city"] = json!("Lyon\tNord");
    b["accessibility_needs"] = json!("Step-free access\nSign language");
    assert_eq!(refused_fields(&f, &b).await, ["name", "city"]);

    let mut ids = vec![];
    for i in 0..3 {
        let mut b = body(i);
        b["answers"] = json!({"diet": "vegetarian", "note": "=HYPERLINK(\"http://x\")"});
        if i == 0 {
            b["name"] = json!("=cmd|' /C calc'!A0");
        }
        let res = c
            .post(f.url("/registrations"))
            .json(&b)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 201);
        let v: Value = res.json().await.unwrap();
        assert_eq!(v["registration"]["status"], "pending");
        ids.push(v["registration"]["id"].as_str().unwrap().to_owned());
    }
    assert_eq!(f.outbox("registration.received").await, 3);
    let (_, v) = f
        .org(
            reqwest::Method::POST,
            &format!("/registrations/{}/approve", ids[0]),
            None,
        )
        .await;
    assert_eq!(v["status"], "confirmed");
    let code = v["check_in_code"].as_str().unwrap().to_owned();
    let (_, v) = f
        .org(
            reqwest::Method::POST,
            &format!("/registrations/{}/approve", ids[1]),
            None,
        )
        .await;
    assert_eq!(v["status"], "waitlisted");
    let (st, v) = f
        .org(
            reqwest::Method::POST,
            &format!("/registrations/{}/reject", ids[2]),
            Some(json!({"reason": "not eligible"})),
        )
        .await;
    assert_eq!(st, 200);
    assert_eq!(v["status"], "rejected");
    assert_eq!(v["status_reason"], "not eligible");
    // Manual promotion needs a seat, or raise_capacity.
    let (st, p) = f
        .org(
            reqwest::Method::POST,
            &format!("/registrations/{}/promote", ids[1]),
            None,
        )
        .await;
    assert_eq!(st, 409);
    assert_eq!(p["type"], "/problems/capacity-reached");
    let (st, v) = f
        .org(
            reqwest::Method::POST,
            &format!("/registrations/{}/promote", ids[1]),
            Some(json!({"raise_capacity": true})),
        )
        .await;
    assert_eq!(st, 200, "{v}");
    assert_eq!(v["status"], "confirmed");
    f.assert_counters_match_rows().await;

    // Check-in by code, twice (idempotent); a rejected one is refused.
    let (st, v) = f
        .org(
            reqwest::Method::POST,
            "/check-ins",
            Some(json!({"code": code.to_lowercase()})),
        )
        .await;
    assert_eq!(st, 200, "{v}");
    assert_eq!(v["already_checked_in"], false);
    let (st, v) = f
        .org(
            reqwest::Method::POST,
            "/check-ins",
            Some(json!({"registration_id": ids[0]})),
        )
        .await;
    assert_eq!(st, 200);
    assert_eq!(v["already_checked_in"], true);
    let (st, p) = f
        .org(
            reqwest::Method::POST,
            "/check-ins",
            Some(json!({"registration_id": ids[2]})),
        )
        .await;
    assert_eq!(st, 409);
    assert_eq!(p["type"], "/problems/registration-not-confirmed");
    assert!(p["detail"].as_str().unwrap().contains("rejected"));
    let s = f.stats().await;
    assert_eq!(s["counters"]["checked_in"], 1);
    assert_eq!(s["by_category"]["mayor"], 3);
    assert_eq!(s["by_country"]["TR"], 3);

    // CSV: formula cells neutralised, answers as columns.
    let res = c
        .get(f.url("/registrations.csv"))
        .bearer_auth(&f.token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let csv = res.text().await.unwrap();
    let mut rdr = csv_rows(&csv);
    let header = rdr.remove(0);
    assert!(header.contains(&"diet".to_string()));
    let name_col = header.iter().position(|h| h == "name").unwrap();
    let note_col = header.iter().position(|h| h == "note").unwrap();
    assert_eq!(rdr[0][name_col], "'=cmd|' /C calc'!A0");
    assert!(rdr[0][note_col].starts_with("'="));
    // Search.
    let (_, page) = f
        .org(reqwest::Method::GET, "/registrations?status=rejected", None)
        .await;
    assert_eq!(page["items"].as_array().unwrap().len(), 1);
    let (_, page) = f
        .org(
            reqwest::Method::GET,
            "/registrations?q=PARTICIPANT%202",
            None,
        )
        .await;
    assert_eq!(page["items"].as_array().unwrap().len(), 1);
}

fn csv_rows(s: &str) -> Vec<Vec<String>> {
    // Minimal RFC 4180 reader for the test (quotes, doubled quotes, embedded commas).
    let mut rows = vec![];
    let mut row = vec![];
    let mut cell = String::new();
    let mut quoted = false;
    let mut chars = s.chars().peekable();
    while let Some(ch) = chars.next() {
        match (quoted, ch) {
            (true, '"') if chars.peek() == Some(&'"') => {
                cell.push('"');
                chars.next();
            }
            (true, '"') => quoted = false,
            (true, c) => cell.push(c),
            (false, '"') => quoted = true,
            (false, ',') => row.push(std::mem::take(&mut cell)),
            (false, '\n') => {
                row.push(std::mem::take(&mut cell));
                rows.push(std::mem::take(&mut row));
            }
            (false, '\r') => {}
            (false, c) => cell.push(c),
        }
    }
    rows
}

#[tokio::test]
async fn signups_refuse_overlaps_and_unconfirmed() {
    let f = Forum::new(Some(1), "open").await;
    let c = &f.server.client;
    let s1 = session(
        &f,
        "Panel A",
        "2030-11-26T10:00:00+03:00",
        "2030-11-26T11:00:00+03:00",
        Some(5),
    )
    .await;
    let s2 = session(
        &f,
        "Panel B",
        "2030-11-26T10:30:00+03:00",
        "2030-11-26T11:30:00+03:00",
        None,
    )
    .await;
    let (_, a) = f.register(1).await;
    let (_, b) = f.register(2).await;
    assert_eq!(b["registration"]["status"], "waitlisted");
    let (aid, atok) = (
        a["registration"]["id"].as_str().unwrap(),
        a["manage_token"].as_str().unwrap(),
    );
    let res = c
        .put(f.url(&format!("/registrations/{aid}/signups/{s1}")))
        .bearer_auth(atok)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let res = c
        .put(f.url(&format!("/registrations/{aid}/signups/{s2}")))
        .bearer_auth(atok)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 409);
    let p: Value = res.json().await.unwrap();
    assert_eq!(p["type"], "/problems/session-clash");
    assert_eq!(p["conflicting_session"]["id"], s1.as_str());
    let (bid, btok) = (
        b["registration"]["id"].as_str().unwrap(),
        b["manage_token"].as_str().unwrap(),
    );
    let res = c
        .put(f.url(&format!("/registrations/{bid}/signups/{s1}")))
        .bearer_auth(btok)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 409);
    assert_eq!(
        res.json::<Value>().await.unwrap()["type"],
        "/problems/registration-not-confirmed"
    );
    // Agenda: A's seat.
    let res = c
        .get(f.url(&format!("/registrations/{aid}/agenda.ics")))
        .bearer_auth(atok)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let ics = res.text().await.unwrap();
    assert!(ics.contains("Panel A") && !ics.contains("Panel B"), "{ics}");
    // A cancels: B is promoted, A's session seat is freed.
    let res = c
        .post(f.url(&format!("/registrations/{aid}/cancel")))
        .bearer_auth(atok)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let res = c
        .get(f.url(&format!("/registrations/{bid}")))
        .bearer_auth(btok)
        .send()
        .await
        .unwrap();
    assert_eq!(res.json::<Value>().await.unwrap()["status"], "confirmed");
    let s = f.stats().await;
    assert_eq!(s["sessions"][0]["confirmed"], 0);
    // Moving a session tells seat holders.
    let res = c
        .put(f.url(&format!("/registrations/{bid}/signups/{s1}")))
        .bearer_auth(btok)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let (st, _) = f
        .org(
            reqwest::Method::PATCH,
            &format!("/sessions/{s1}"),
            Some(json!({"starts_at": "2030-11-26T09:00:00+03:00"})),
        )
        .await;
    assert_eq!(st, 200);
    assert_eq!(f.outbox("session.changed").await, 1);
}

#[tokio::test]
async fn registration_window_and_drafts() {
    let server = common::Server::start().await;
    let token = server.organizer_token("org@example.org");
    let res = server.client.post(server.url("/api/v1/forums")).bearer_auth(&token)
        .json(&json!({"slug": "closed-one", "title": "Closed", "time_zone": "UTC", "first_day": "2030-01-01", "last_day": "2030-01-02",
            "registration_closes_at": "2020-01-01T00:00:00Z", "registration_opens_at": "2019-01-01T00:00:00Z"}))
        .send().await.unwrap();
    assert_eq!(res.status(), 201);
    // Draft: as if it did not exist.
    let url = server.url("/api/v1/forums/closed-one/registrations");
    let res = server
        .client
        .post(&url)
        .json(&body(1))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404);
    let res = server
        .client
        .post(server.url("/api/v1/forums/closed-one/publish"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let res = server
        .client
        .post(&url)
        .json(&body(1))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 409);
    assert_eq!(
        res.json::<Value>().await.unwrap()["type"],
        "/problems/registration-closed"
    );
}

#[tokio::test]
async fn per_ip_rate_limit_answers_429_with_retry_after() {
    let server = common::Server::start_with(
        &["serve", "--no-worker"],
        &[
            ("CONVENE_RATE_LIMIT__REGISTRATION__PER_MINUTE", "2"),
            ("CONVENE_RATE_LIMIT__REGISTRATION__BURST", "2"),
        ],
    )
    .await;
    let f = Forum::with(server, None, "open").await;
    assert_eq!(f.register(1).await.0, 201);
    assert_eq!(f.register(2).await.0, 201);
    let res = f
        .server
        .client
        .post(f.url("/registrations"))
        .json(&body(3))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 429);
    let ra: u64 = res.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&ra));
    assert_eq!(res.headers()["content-type"], "application/problem+json");
    assert_eq!(
        res.json::<Value>().await.unwrap()["type"],
        "/problems/rate-limited"
    );
    // Reads are not limited.
    let (st, _) = f.org(reqwest::Method::GET, "/registrations", None).await;
    assert_eq!(st, 200);
}

// ---------------------------------------------------------------------------------------
// Database helpers (the same SQL text on both backends, no parameters)

/// The first column of the first row of `sql`, as an integer.
async fn db_i64(server: &common::Server, sql: &str) -> i64 {
    use sqlx::Connection as _;
    let sql = sqlx::AssertSqlSafe(sql.to_owned());
    match common::backend_name() {
        "postgres" => {
            let mut c = sqlx::PgConnection::connect(&server.db.url).await.unwrap();
            let (n,): (i64,) = sqlx::query_as(sql).fetch_one(&mut c).await.unwrap();
            n
        }
        _ => {
            let mut c = sqlx::SqliteConnection::connect(&server.db.url)
                .await
                .unwrap();
            let (n,): (i64,) = sqlx::query_as(sql).fetch_one(&mut c).await.unwrap();
            n
        }
    }
}

/// Runs the statement `sql`: rows affected, or the database's error.
async fn db_exec(server: &common::Server, sql: &str) -> Result<u64, String> {
    use sqlx::Connection as _;
    let sql = sqlx::AssertSqlSafe(sql.to_owned());
    match common::backend_name() {
        "postgres" => {
            let mut c = sqlx::PgConnection::connect(&server.db.url).await.unwrap();
            sqlx::query(sql)
                .execute(&mut c)
                .await
                .map(|r| r.rows_affected())
                .map_err(|e| e.to_string())
        }
        _ => {
            let mut c = sqlx::SqliteConnection::connect(&server.db.url)
                .await
                .unwrap();
            sqlx::query(sql)
                .execute(&mut c)
                .await
                .map(|r| r.rows_affected())
                .map_err(|e| e.to_string())
        }
    }
}

/// The first column of every row of `sql`, as text.
async fn db_texts(server: &common::Server, sql: &str) -> Vec<String> {
    use sqlx::Connection as _;
    let sql = sqlx::AssertSqlSafe(sql.to_owned());
    let rows: Vec<(String,)> = match common::backend_name() {
        "postgres" => {
            let mut c = sqlx::PgConnection::connect(&server.db.url).await.unwrap();
            sqlx::query_as(sql).fetch_all(&mut c).await.unwrap()
        }
        _ => {
            let mut c = sqlx::SqliteConnection::connect(&server.db.url)
                .await
                .unwrap();
            sqlx::query_as(sql).fetch_all(&mut c).await.unwrap()
        }
    };
    rows.into_iter().map(|(s,)| s).collect()
}

// ---------------------------------------------------------------------------------------
// Room capacity and session wait-lists

async fn room(f: &Forum, name: &str, cap: Option<i32>) -> String {
    let (st, v) = f
        .org(
            reqwest::Method::POST,
            "/rooms",
            Some(json!({"name": name, "capacity": cap})),
        )
        .await;
    assert_eq!(st, 201, "{v}");
    v["id"].as_str().unwrap().to_owned()
}

async fn room_capacity(f: &Forum, room: &str, cap: Option<i32>) {
    let (st, v) = f
        .org(
            reqwest::Method::PATCH,
            &format!("/rooms/{room}"),
            Some(json!({ "capacity": cap })),
        )
        .await;
    assert_eq!(st, 200, "{v}");
    assert_eq!(v["capacity"], json!(cap));
}

async fn session_in(f: &Forum, title: &str, start: &str, room: &str, cap: Option<i32>) -> String {
    let end = start.replace("T10:", "T11:").replace("T12:", "T13:");
    let (st, v) = f
        .org(
            reqwest::Method::POST,
            "/sessions",
            Some(
                json!({"kind": "workshop", "title": title, "starts_at": start, "ends_at": end,
                "room_id": room, "capacity": cap}),
            ),
        )
        .await;
    assert_eq!(st, 201, "{v}");
    v["id"].as_str().unwrap().to_owned()
}

/// `n` registrations, one after the other: (id, manage token); confirmed (no forum cap).
async fn registrations(f: &Forum, n: usize) -> Vec<(String, String)> {
    let mut out = vec![];
    for i in 0..n {
        let (st, v) = f.register(i).await;
        assert_eq!(st, 201, "{v}");
        assert_eq!(v["registration"]["status"], "confirmed");
        out.push((
            v["registration"]["id"].as_str().unwrap().to_owned(),
            v["manage_token"].as_str().unwrap().to_owned(),
        ));
    }
    out
}

async fn join(f: &Forum, reg: &(String, String), sid: &str) -> Value {
    let res = f
        .server
        .client
        .put(f.url(&format!("/registrations/{}/signups/{sid}", reg.0)))
        .bearer_auth(&reg.1)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    res.json().await.unwrap()
}

/// The sign-up statuses of `regs` for session `sid` ("-" when none), with wait-list places.
async fn seats(f: &Forum, regs: &[(String, String)], sid: &str) -> Vec<(String, Option<i64>)> {
    let mut out = vec![];
    for (id, tok) in regs {
        let res = f
            .server
            .client
            .get(f.url(&format!("/registrations/{id}/signups")))
            .bearer_auth(tok)
            .send()
            .await
            .unwrap();
        let list: Value = res.json().await.unwrap();
        let su = list["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["session_id"] == sid);
        out.push(match su {
            Some(s) => (
                s["status"].as_str().unwrap().to_owned(),
                s["waitlist_position"].as_i64(),
            ),
            None => ("-".into(), None),
        });
    }
    out
}

fn st(spec: &[(&str, Option<i64>)]) -> Vec<(String, Option<i64>)> {
    spec.iter().map(|(s, p)| (s.to_string(), *p)).collect()
}

/// The session counters of the stats endpoint: (confirmed, waitlisted).
async fn session_counters(f: &Forum, sid: &str) -> (i64, i64) {
    let s = f.stats().await;
    let a = s["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["session_id"] == sid)
        .cloned()
        .unwrap_or(json!({"confirmed": 0, "waitlisted": 0}));
    (
        a["confirmed"].as_i64().unwrap(),
        a["waitlisted"].as_i64().unwrap(),
    )
}

/// A room PATCH that raises the capacity promotes the wait-lists of the room's sessions
/// that inherit it — oldest first, once per freed seat, with `signup.promoted` and a
/// session reminder each; lowering it changes nothing; a session with its own capacity is
/// not touched; `null` (unlimited) promotes everyone.
#[tokio::test]
async fn raising_room_capacity_promotes_inheriting_session_waitlists() {
    let f = Forum::new(None, "open").await;
    let hall = room(&f, "Hall", Some(2)).await;
    let a = session_in(&f, "Inherits", "2030-11-26T10:00:00+03:00", &hall, None).await;
    let b = session_in(
        &f,
        "Own capacity",
        "2030-11-26T12:00:00+03:00",
        &hall,
        Some(1),
    )
    .await;
    let regs = registrations(&f, 6).await;
    for r in &regs {
        join(&f, r, &a).await;
    }
    for r in &regs[..3] {
        join(&f, r, &b).await;
    }
    let w = |p| ("waitlisted", Some(p));
    let c = ("confirmed", None);
    assert_eq!(
        seats(&f, &regs, &a).await,
        st(&[c, c, w(1), w(2), w(3), w(4)])
    );
    let b_before = st(&[c, w(1), w(2), ("-", None), ("-", None), ("-", None)]);
    assert_eq!(seats(&f, &regs, &b).await, b_before);
    assert_eq!(f.outbox("reminder.session").await, 3);

    // Lower: nothing moves.
    room_capacity(&f, &hall, Some(1)).await;
    assert_eq!(
        seats(&f, &regs, &a).await,
        st(&[c, c, w(1), w(2), w(3), w(4)])
    );
    assert_eq!(session_counters(&f, &a).await, (2, 4));
    assert_eq!(f.outbox("signup.promoted").await, 0);

    // Raise to 4: the two longest-waiting get the two new seats, once.
    room_capacity(&f, &hall, Some(4)).await;
    assert_eq!(seats(&f, &regs, &a).await, st(&[c, c, c, c, w(1), w(2)]));
    assert_eq!(session_counters(&f, &a).await, (4, 2));
    assert_eq!(
        seats(&f, &regs, &b).await,
        b_before,
        "own capacity untouched"
    );
    assert_eq!(session_counters(&f, &b).await, (1, 2));
    assert_eq!(f.outbox("signup.promoted").await, 2);
    assert_eq!(
        db_texts(
            &f.server,
            "SELECT recipient_email FROM notifications WHERE kind = 'signup.promoted' ORDER BY recipient_email"
        )
        .await,
        vec!["p2@example.org", "p3@example.org"]
    );
    assert_eq!(f.outbox("reminder.session").await, 5);
    // The same capacity again: nothing more.
    room_capacity(&f, &hall, Some(4)).await;
    assert_eq!(f.outbox("signup.promoted").await, 2);

    // Unlimited: everyone waiting on A is seated; B keeps its own capacity.
    room_capacity(&f, &hall, None).await;
    assert_eq!(seats(&f, &regs, &a).await, st(&[c, c, c, c, c, c]));
    assert_eq!(session_counters(&f, &a).await, (6, 0));
    assert_eq!(seats(&f, &regs, &b).await, b_before);
    assert_eq!(f.outbox("signup.promoted").await, 4);
    assert_eq!(f.outbox("reminder.session").await, 7);
    assert_eq!(
        db_i64(
            &f.server,
            "SELECT count(*) FROM session_signups WHERE status = 'confirmed'"
        )
        .await,
        7
    );
}

/// Moving a session into a larger room raises its inherited capacity: the wait-list is
/// promoted in order; moving it back into the smaller room takes no seat away.
#[tokio::test]
async fn moving_a_session_to_a_larger_room_promotes() {
    let f = Forum::new(None, "open").await;
    let small = room(&f, "Small", Some(1)).await;
    let big = room(&f, "Big", Some(3)).await;
    let s = session_in(&f, "Workshop", "2030-11-26T10:00:00+03:00", &small, None).await;
    let regs = registrations(&f, 4).await;
    for r in &regs {
        join(&f, r, &s).await;
    }
    let c = ("confirmed", None);
    let w = |p| ("waitlisted", Some(p));
    assert_eq!(seats(&f, &regs, &s).await, st(&[c, w(1), w(2), w(3)]));
    let (code, v) = f
        .org(
            reqwest::Method::PATCH,
            &format!("/sessions/{s}"),
            Some(json!({ "room_id": big })),
        )
        .await;
    assert_eq!(code, 200, "{v}");
    assert_eq!(seats(&f, &regs, &s).await, st(&[c, c, c, w(1)]));
    assert_eq!(session_counters(&f, &s).await, (3, 1));
    assert_eq!(f.outbox("signup.promoted").await, 2);
    assert_eq!(f.outbox("session.changed").await, 1, "the one seat holder");
    let (code, v) = f
        .org(
            reqwest::Method::PATCH,
            &format!("/sessions/{s}"),
            Some(json!({ "room_id": small })),
        )
        .await;
    assert_eq!(code, 200, "{v}");
    assert_eq!(seats(&f, &regs, &s).await, st(&[c, c, c, w(1)]));
    assert_eq!(session_counters(&f, &s).await, (3, 1));
    assert_eq!(f.outbox("signup.promoted").await, 2);
}

/// 40 concurrent sign-ups for a session inheriting a room of 5 seats while the room is
/// raised to 15: exactly 15 seats, 25 wait-listed in order, counters equal rows, one
/// `signup.promoted` per promotion.
#[tokio::test]
async fn concurrent_signups_while_room_capacity_is_raised() {
    let f = Forum::new(None, "open").await;
    let hall = room(&f, "Hall", Some(5)).await;
    let s = session_in(&f, "Workshop", "2030-11-26T10:00:00+03:00", &hall, None).await;
    let mut regs = vec![];
    for chunk in (0..40).collect::<Vec<_>>().chunks(20) {
        let mut set = JoinSet::new();
        for &i in chunk {
            let client = f.server.client.clone();
            let url = f.url("/registrations");
            set.spawn(async move { register_at(&client, &url, i, None).await });
        }
        while let Some(r) = set.join_next().await {
            let (code, v) = r.unwrap();
            assert_eq!(code, 201);
            regs.push((
                v["registration"]["id"].as_str().unwrap().to_owned(),
                v["manage_token"].as_str().unwrap().to_owned(),
            ));
        }
    }
    let mut set = JoinSet::new();
    // Everyone but registration 20 signs up at once; the organizer raises the room among
    // them.
    for (id, tok) in regs.iter().filter(|&r| *r != regs[20]).cloned() {
        let client = f.server.client.clone();
        let url = f.url(&format!("/registrations/{id}/signups/{s}"));
        set.spawn(async move {
            let res = client.put(url).bearer_auth(tok).send().await.unwrap();
            (res.status(), res.json::<Value>().await.unwrap())
        });
    }
    let raise = {
        let client = f.server.client.clone();
        let url = f.url(&format!("/rooms/{hall}"));
        let token = f.token.clone();
        tokio::spawn(async move {
            client
                .patch(url)
                .bearer_auth(token)
                .json(&json!({"capacity": 15}))
                .send()
                .await
                .unwrap()
                .status()
        })
    };
    while let Some(r) = set.join_next().await {
        let (code, v) = r.unwrap();
        assert_eq!(code, 200, "{v}");
    }
    assert_eq!(raise.await.unwrap(), 200);
    // Registration 20 signs up last: it waits at the end.
    let last = join(&f, &regs[20], &s).await;
    assert_eq!(last["status"], "waitlisted");
    assert_eq!(last["waitlist_position"], 25);
    let all = seats(&f, &regs, &s).await;
    let seated = all.iter().filter(|x| x.0 == "confirmed").count();
    let mut places: Vec<i64> = all.iter().filter_map(|x| x.1).collect();
    places.sort();
    assert_eq!(seated, 15, "{all:?}");
    assert_eq!(places, (1..=25).collect::<Vec<_>>());
    assert_eq!(session_counters(&f, &s).await, (15, 25));
    let rows =
        |status: &str| format!("SELECT count(*) FROM session_signups WHERE status = '{status}'");
    assert_eq!(db_i64(&f.server, &rows("confirmed")).await, 15);
    assert_eq!(db_i64(&f.server, &rows("waitlisted")).await, 25);
    let promoted = f.outbox("signup.promoted").await;
    assert_eq!(f.outbox("signup.confirmed").await + promoted, 15);
    assert_eq!(f.outbox("signup.waitlisted").await - promoted, 25);
}

// ---------------------------------------------------------------------------------------
// Re-registration after a cancellation

async fn cancel_as_holder(f: &Forum, reg: &Value) {
    let res = f
        .server
        .client
        .post(f.url(&format!(
            "/registrations/{}/cancel",
            reg["registration"]["id"].as_str().unwrap()
        )))
        .bearer_auth(reg["manage_token"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
}

/// A person who cancelled registers again: a new registration (new id, seq at the back of
/// the queue, token, check-in code); the cancelled one stays as history and its token
/// still shows it; counters follow; while the new one is live the e-mail is taken again;
/// resend-link answers with the live one.
#[tokio::test]
async fn reregistering_after_cancellation_creates_a_new_registration() {
    let f = Forum::new(Some(1), "open").await;
    let (_, p1) = f.register(1).await;
    let (_, p2) = f.register(2).await;
    let (_, p3) = f.register(3).await;
    assert_eq!(p1["registration"]["status"], "confirmed");
    assert_eq!(p2["registration"]["status"], "waitlisted");
    assert_eq!(p3["registration"]["status"], "waitlisted");

    // p2 leaves the wait-list and comes back: behind p3.
    cancel_as_holder(&f, &p2).await;
    let (code, again) = f.register(2).await;
    assert_eq!(code, 201, "{again}");
    let (old, new) = (&p2["registration"], &again["registration"]);
    assert_ne!(new["id"], old["id"]);
    assert_eq!(new["status"], "waitlisted");
    assert_eq!(new["seq"], 4);
    assert_eq!(new["waitlist_position"], 2);
    assert_ne!(new["check_in_code"], old["check_in_code"]);
    assert_ne!(again["manage_token"], p2["manage_token"]);
    // The old token still shows the old registration, cancelled.
    let res = f
        .server
        .client
        .get(f.url(&format!("/registrations/{}", old["id"].as_str().unwrap())))
        .bearer_auth(p2["manage_token"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.json::<Value>().await.unwrap()["status"], "cancelled");
    // … and does not reach the new one.
    let res = f
        .server
        .client
        .get(f.url(&format!("/registrations/{}", new["id"].as_str().unwrap())))
        .bearer_auth(p2["manage_token"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404);

    // p1 (confirmed) cancels: p3 is promoted (not p2, who came back later); p1 comes back
    // and waits behind p2.
    cancel_as_holder(&f, &p1).await;
    let (code, p1b) = f.register(1).await;
    assert_eq!(code, 201, "{p1b}");
    assert_eq!(p1b["registration"]["status"], "waitlisted");
    assert_eq!(p1b["registration"]["seq"], 5);
    assert_eq!(p1b["registration"]["waitlist_position"], 2);
    let rows = f.all().await;
    let status_of = |email: &str| -> Vec<(i64, String)> {
        let mut v: Vec<(i64, String)> = rows
            .iter()
            .filter(|r| r["email"] == email)
            .map(|r| {
                (
                    r["seq"].as_i64().unwrap(),
                    r["status"].as_str().unwrap().to_owned(),
                )
            })
            .collect();
        v.sort();
        v
    };
    assert_eq!(
        status_of("p1@example.org"),
        vec![(1, "cancelled".into()), (5, "waitlisted".into())]
    );
    assert_eq!(
        status_of("p2@example.org"),
        vec![(2, "cancelled".into()), (4, "waitlisted".into())]
    );
    assert_eq!(status_of("p3@example.org"), vec![(3, "confirmed".into())]);
    let s = f.assert_counters_match_rows().await;
    assert_eq!(s["counters"]["confirmed"], 1);
    assert_eq!(s["counters"]["waitlisted"], 2);
    assert_eq!(s["by_status"]["cancelled"], 2);
    // The database itself refuses a second live registration of one e-mail
    // (`registrations_forum_email_live_key`), and keeps any number of cancelled ones.
    let revive = "UPDATE registrations SET status = 'pending' \
        WHERE email = 'p2@example.org' AND status = 'cancelled'";
    let err = db_exec(&f.server, revive).await.unwrap_err();
    assert!(err.to_lowercase().contains("unique"), "{err}");
    let retire = "UPDATE registrations SET status = 'cancelled' WHERE email = 'p2@example.org'";
    assert_eq!(db_exec(&f.server, retire).await, Ok(2));
    let back = "UPDATE registrations SET status = 'waitlisted' \
        WHERE email = 'p2@example.org' AND seq = 4";
    assert_eq!(db_exec(&f.server, back).await, Ok(1));

    // A live registration blocks the e-mail again, without leaking it.
    let res = f
        .server
        .client
        .post(f.url("/registrations"))
        .json(&body(2))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 409);
    let text = res.text().await.unwrap();
    assert!(
        !text.contains(new["id"].as_str().unwrap()) && !text.contains("cvn_reg_"),
        "{text}"
    );
    assert!(text.contains("/problems/already-registered"), "{text}");
    // The manage link goes to the live registration, never the cancelled one.
    let res = f
        .server
        .client
        .post(f.url("/registrations/resend-link"))
        .json(&json!({"email": "p1@example.org"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 202);
    let links = db_texts(
        &f.server,
        "SELECT CAST(data AS TEXT) FROM notifications WHERE kind = 'registration.manage_link'",
    )
    .await;
    assert_eq!(links.len(), 2, "{links:?}");
    let live_ids = [
        new["id"].as_str().unwrap(),
        p1b["registration"]["id"].as_str().unwrap(),
    ];
    for l in &links {
        assert!(live_ids.iter().any(|id| l.contains(id)), "{l}");
        assert!(
            !l.contains(old["id"].as_str().unwrap())
                && !l.contains(p1["registration"]["id"].as_str().unwrap()),
            "{l}"
        );
    }
}

/// A rejected registration keeps the e-mail: registering again answers 409
/// `already-registered` with nothing of it, and e-mails its manage link.
#[tokio::test]
async fn rejected_registration_blocks_reregistration_without_leaking() {
    let f = Forum::new(None, "approval").await;
    let (code, p1) = f.register(1).await;
    assert_eq!(code, 201);
    assert_eq!(p1["registration"]["status"], "pending");
    let id = p1["registration"]["id"].as_str().unwrap();
    let (code, v) = f
        .org(
            reqwest::Method::POST,
            &format!("/registrations/{id}/reject"),
            Some(json!({"reason": "not eligible"})),
        )
        .await;
    assert_eq!(code, 200, "{v}");
    let mut dup = body(1);
    dup["name"] = json!("Another Name");
    let res = f
        .server
        .client
        .post(f.url("/registrations"))
        .json(&dup)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 409);
    let text = res.text().await.unwrap();
    assert!(
        !text.contains(id)
            && !text.contains("rejected")
            && !text.contains("not eligible")
            && !text.contains("Participant 1")
            && !text.contains("cvn_reg_"),
        "{text}"
    );
    let p: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(p["type"], "/problems/already-registered");
    assert_eq!(f.outbox("registration.manage_link").await, 1);
    assert_eq!(f.all().await.len(), 1);
    let s = f.assert_counters_match_rows().await;
    assert_eq!(s["by_status"]["rejected"], 1);
}

async fn concurrent_reregistrations(f: &Forum) {
    let (_, p1) = f.register(1).await;
    cancel_as_holder(f, &p1).await;
    let mut set = JoinSet::new();
    for _ in 0..12 {
        let client = f.server.client.clone();
        let url = f.url("/registrations");
        set.spawn(async move { register_at(&client, &url, 1, None).await });
    }
    let mut codes: HashMap<u16, usize> = HashMap::new();
    while let Some(r) = set.join_next().await {
        let (code, v) = r.unwrap();
        match code.as_u16() {
            201 => assert_eq!(v["registration"]["status"], "confirmed"),
            409 => assert_eq!(v["type"], "/problems/already-registered", "{v}"),
            other => panic!("unexpected {other}: {v}"),
        }
        *codes.entry(code.as_u16()).or_default() += 1;
    }
    assert_eq!(codes.get(&201), Some(&1), "{codes:?}");
    assert_eq!(codes.get(&409), Some(&11), "{codes:?}");
    let rows = f.all().await;
    assert_eq!(rows.len(), 2);
    let s = f.assert_counters_match_rows().await;
    assert_eq!(s["counters"]["confirmed"], 1);
}

/// Twelve concurrent re-registrations of one cancelled e-mail: exactly one 201, with and
/// without group commit.
#[tokio::test]
async fn concurrent_reregistrations_of_one_email_create_exactly_one() {
    concurrent_reregistrations(&Forum::new(None, "open").await).await;
    let unbatched = common::Server::start_with(
        &["serve", "--no-worker"],
        &[("CONVENE_REGISTRATION__BATCHING", "false")],
    )
    .await;
    concurrent_reregistrations(&Forum::with(unbatched, None, "open").await).await;
}

// ---------------------------------------------------------------------------------------
// Idempotency keys expire

fn idem_rows(key: &str) -> String {
    format!("SELECT count(*) FROM idempotency_keys WHERE key = '{key}'")
}

/// With a 2-second key lifetime: a replay inside it is the same registration; after it
/// the same key is a new request (another body is accepted and replaces the stored key).
#[tokio::test]
async fn idempotency_key_expires_after_its_ttl() {
    let server = common::Server::start_with(
        &["serve", "--no-worker"],
        &[
            ("CONVENE_REGISTRATION__IDEMPOTENCY_TTL_SECONDS", "2"),
            (
                "CONVENE_REGISTRATION__IDEMPOTENCY_PURGE_INTERVAL_SECONDS",
                "3600",
            ),
        ],
    )
    .await;
    let f = Forum::with(server, None, "open").await;
    let (c, url) = (&f.server.client, f.url("/registrations"));
    let (code, first) = register_at(c, &url, 1, Some("k-1")).await;
    assert_eq!(code, 201);
    let (code, again) = register_at(c, &url, 1, Some("k-1")).await;
    assert_eq!(code, 200, "{again}");
    assert_eq!(again["registration"]["id"], first["registration"]["id"]);
    let (code, p) = register_at(c, &url, 2, Some("k-1")).await;
    assert_eq!(code, 422, "{p}");
    tokio::time::sleep(std::time::Duration::from_millis(3100)).await;
    // Expired: the same key with another body is a new request.
    let (code, other) = register_at(c, &url, 2, Some("k-1")).await;
    assert_eq!(code, 201, "{other}");
    assert_ne!(other["registration"]["id"], first["registration"]["id"]);
    assert_eq!(other["registration"]["email"], "p2@example.org");
    assert_eq!(db_i64(&f.server, &idem_rows("k-1")).await, 1);
    // The key now stands for the new request.
    let (code, replay) = register_at(c, &url, 2, Some("k-1")).await;
    assert_eq!(code, 200, "{replay}");
    assert_eq!(replay["registration"]["id"], other["registration"]["id"]);
    let (code, _) = register_at(c, &url, 1, Some("k-1")).await;
    assert_eq!(code, 422);
    // An expired key with the old body is new too: p1 is registered, so 409.
    tokio::time::sleep(std::time::Duration::from_millis(3100)).await;
    let (code, p) = register_at(c, &url, 1, Some("k-1")).await;
    assert_eq!(code, 409, "{p}");
    assert_eq!(p["type"], "/problems/already-registered");
    assert_eq!(f.all().await.len(), 2);
    // The OpenAPI description of the endpoint says so.
    let doc: Value = c
        .get(f.server.url("/api/v1/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let (_, op) = doc["paths"]
        .as_object()
        .unwrap()
        .iter()
        .find(|(p, _)| p.ends_with("/forums/{slug}/registrations"))
        .expect("the registration path");
    let text = op["post"]["description"].as_str().unwrap_or_default();
    assert!(text.contains("Keys expire 24 hours"), "{}", op["post"]);
    assert!(text.contains("register again"), "{}", op["post"]);
}

/// `convene serve` purges expired keys periodically and keeps live ones.
#[tokio::test]
async fn expired_idempotency_keys_are_purged() {
    let server = common::Server::start_with(
        &["serve", "--no-worker"],
        &[
            ("CONVENE_REGISTRATION__IDEMPOTENCY_TTL_SECONDS", "3"),
            (
                "CONVENE_REGISTRATION__IDEMPOTENCY_PURGE_INTERVAL_SECONDS",
                "1",
            ),
        ],
    )
    .await;
    let f = Forum::with(server, None, "open").await;
    let (c, url) = (&f.server.client, f.url("/registrations"));
    for i in 0..5 {
        let (code, v) = register_at(c, &url, i, Some(&format!("purge-{i}"))).await;
        assert_eq!(code, 201, "{v}");
    }
    // Fresh keys stay (a key is purged once it is 3 s old, counted in whole seconds).
    let all = "SELECT count(*) FROM idempotency_keys";
    assert_eq!(db_i64(&f.server, all).await, 5);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
    while db_i64(&f.server, all).await > 0 {
        assert!(
            std::time::Instant::now() < deadline,
            "expired keys were not purged"
        );
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    // The registrations stay.
    assert_eq!(f.all().await.len(), 5);
}

fn schedule_with_hall(capacity: i32) -> Vec<u8> {
    let event = json!({"id": 1, "guid": "0b6c2a52-7d1e-4a8e-9f00-000000000001",
        "date": "2030-11-26T10:00:00+03:00", "start": "10:00", "duration": "01:00",
        "room": "Hall", "title": "Workshop", "type": "workshop", "persons": []});
    serde_json::to_vec(&json!({"schedule": {"version": "1", "conference": {
        "acronym": "rush-2025", "title": "Rush forum", "start": "2030-11-26", "end": "2030-11-27",
        "daysCount": 2, "timeslot_duration": "00:15", "time_zone_name": "Europe/Istanbul",
        "rooms": [{"name": "Hall", "capacity": capacity}],
        "days": [{"index": 1, "date": "2030-11-26", "day_start": "2030-11-26T08:00:00+03:00",
            "day_end": "2030-11-26T22:00:00+03:00", "rooms": {"Hall": [event]}}]}}}))
    .unwrap()
}

/// A schedule import that raises a room's capacity promotes like a room PATCH.
#[tokio::test]
async fn schedule_import_raising_room_capacity_promotes() {
    let f = Forum::new(None, "open").await;
    let import = |cap: i32| {
        f.server
            .client
            .post(f.url("/schedule/import"))
            .bearer_auth(&f.token)
            .body(schedule_with_hall(cap))
            .send()
    };
    let res = import(1).await.unwrap();
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
    let (code, list) = f.org(reqwest::Method::GET, "/sessions", None).await;
    assert_eq!(code, 200, "{list}");
    let s = list["items"][0]["id"].as_str().unwrap().to_owned();
    let regs = registrations(&f, 3).await;
    for r in &regs {
        join(&f, r, &s).await;
    }
    let c = ("confirmed", None);
    let w = |p| ("waitlisted", Some(p));
    assert_eq!(seats(&f, &regs, &s).await, st(&[c, w(1), w(2)]));
    let res = import(2).await.unwrap();
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
    assert_eq!(seats(&f, &regs, &s).await, st(&[c, c, w(1)]));
    assert_eq!(session_counters(&f, &s).await, (2, 1));
    assert_eq!(f.outbox("signup.promoted").await, 1);
    // A smaller room in the next file takes no seat away.
    let res = import(1).await.unwrap();
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
    assert_eq!(seats(&f, &regs, &s).await, st(&[c, c, w(1)]));
    assert_eq!(f.outbox("signup.promoted").await, 1);
}
