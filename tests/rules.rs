//! Issue 14: the programme and registration rules a careful organizer expects, and errors
//! that say what to do. Black-box against the binary, on SQLite and PostgreSQL
//! (`CONVENE_TEST_DATABASE_URL`).
mod common;

use chrono::{Duration, Utc};
use reqwest::Method;
use serde_json::{json, Value};

use common::Server;

struct Ctx {
    server: Server,
    token: String,
}

impl Ctx {
    async fn start() -> Ctx {
        let server = Server::start().await;
        let token = server.organizer_token("org@example.org");
        Ctx { server, token }
    }

    async fn call(&self, method: Method, path: &str, body: Option<Value>) -> (u16, Value) {
        let (st, v) = self
            .server
            .call(method, &format!("/api/v1{path}"), &self.token, body)
            .await;
        (st.as_u16(), v)
    }

    async fn anon(&self, method: Method, path: &str, body: Option<Value>) -> (u16, Value) {
        let path = if path.starts_with("/readyz") {
            path.to_owned()
        } else {
            format!("/api/v1{path}")
        };
        let mut rb = self.server.client.request(method, self.server.url(&path));
        if let Some(b) = body {
            rb = rb.json(&b);
        }
        let res = rb.send().await.unwrap();
        let st = res.status().as_u16();
        let text = res.text().await.unwrap();
        (
            st,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }

    /// Creates and publishes forum `slug` with these extra fields.
    async fn forum(&self, slug: &str, fields: Value) -> Value {
        let mut body = json!({"slug": slug, "title": "Forum", "time_zone": "Europe/Lisbon",
            "first_day": "2030-03-27", "last_day": "2030-03-28"});
        for (k, v) in fields.as_object().unwrap() {
            body[k] = v.clone();
        }
        let (st, f) = self.call(Method::POST, "/forums", Some(body)).await;
        assert_eq!(st, 201, "{f}");
        let (st, f) = self
            .call(Method::POST, &format!("/forums/{slug}/publish"), None)
            .await;
        assert_eq!(st, 200, "{f}");
        f
    }

    async fn session(&self, slug: &str, starts: &str, ends: &str) -> (u16, Value) {
        self.call(
            Method::POST,
            &format!("/forums/{slug}/sessions"),
            Some(
                json!({"kind": "workshop", "title": "Workshop", "starts_at": starts,
                "ends_at": ends, "capacity": 1}),
            ),
        )
        .await
    }

    async fn register(&self, slug: &str, i: usize) -> (u16, Value) {
        self.anon(
            Method::POST,
            &format!("/forums/{slug}/registrations"),
            Some(json!({"name": format!("Participant {i}"),
                "email": format!("p{i}@example.org"), "category": "mayor"})),
        )
        .await
    }
}

fn field_error<'a>(problem: &'a Value, field: &str) -> &'a str {
    problem["errors"]
        .as_array()
        .and_then(|l| l.iter().find(|e| e["field"] == field))
        .and_then(|e| e["message"].as_str())
        .unwrap_or_else(|| panic!("no error on `{field}`: {problem}"))
}

/// Runs one SQL statement on the server's database.
async fn sql(server: &Server, stmt: &str) {
    use sqlx::Connection as _;
    let url = server.db.url.clone();
    if url.starts_with("sqlite") {
        let mut c = sqlx::SqliteConnection::connect(&url).await.unwrap();
        sqlx::query(sqlx::AssertSqlSafe(stmt.to_owned()))
            .execute(&mut c)
            .await
            .unwrap();
    } else {
        let mut c = sqlx::PgConnection::connect(&url).await.unwrap();
        sqlx::query(sqlx::AssertSqlSafe(stmt.to_owned()))
            .execute(&mut c)
            .await
            .unwrap();
    }
}

// ------------------------------------------------------------------------------------
// 1. Sessions lie within the forum's programme days
// ------------------------------------------------------------------------------------

/// A session a year before the forum (a one-digit typo) is refused with 422 naming the
/// field and the allowed range; a session moved out by PATCH too; the forum's days cannot
/// shrink under a session; an import with an event outside the days is refused naming it.
#[tokio::test]
async fn sessions_lie_within_the_forum_days() {
    let ctx = Ctx::start().await;
    ctx.forum("days", json!({"day_change": "04:00"})).await;

    let (st, p) = ctx
        .session(
            "days",
            "2029-03-27T10:00:00+00:00",
            "2029-03-27T11:00:00+00:00",
        )
        .await;
    assert_eq!(st, 422, "{p}");
    let m = field_error(&p, "starts_at");
    assert!(m.contains("2030-03-27 – 2030-03-28"), "{m}");
    assert!(m.contains("2030-03-27T04:00:00+00:00"), "{m}");
    assert!(m.contains("2030-03-29T04:00:00+00:00"), "{m}");
    field_error(&p, "ends_at");

    // After midnight, before day_change: still the last programme day.
    let (st, s) = ctx
        .session(
            "days",
            "2030-03-29T02:00:00+00:00",
            "2030-03-29T03:00:00+00:00",
        )
        .await;
    assert_eq!(st, 201, "{s}");
    let (st, p) = ctx
        .session(
            "days",
            "2030-03-29T03:30:00+00:00",
            "2030-03-29T04:30:00+00:00",
        )
        .await;
    assert_eq!(st, 422, "{p}");
    field_error(&p, "ends_at");

    let id = s["id"].as_str().unwrap();
    let (st, p) = ctx
        .call(
            Method::PATCH,
            &format!("/forums/days/sessions/{id}"),
            Some(json!({"starts_at": "2030-03-26T10:00:00Z"})),
        )
        .await;
    assert_eq!(st, 422, "{p}");
    field_error(&p, "starts_at");

    let (st, p) = ctx
        .call(
            Method::PATCH,
            "/forums/days",
            Some(json!({"last_day": "2030-03-27"})),
        )
        .await;
    assert_eq!(st, 422, "{p}");
    let m = field_error(&p, "last_day");
    assert!(m.contains("Workshop"), "{m}");

    // The export still spans the forum's two days.
    let (st, sched) = ctx
        .anon(Method::GET, "/forums/days/schedule.json", None)
        .await;
    assert_eq!(st, 200);
    assert_eq!(sched["schedule"]["conference"]["daysCount"], 2, "{sched}");

    // An import whose event moved a year back is refused, naming it; nothing changes.
    let text = sched
        .to_string()
        .replace("2030-03-29T02:00", "2029-03-29T02:00");
    assert!(text.contains("2029-03-29T02:00"), "{text}");
    let res = ctx
        .server
        .client
        .post(ctx.server.url("/api/v1/forums/days/schedule/import"))
        .bearer_auth(&ctx.token)
        .body(text)
        .send()
        .await
        .unwrap();
    let st = res.status().as_u16();
    let p: Value = res.json().await.unwrap();
    assert_eq!(st, 422, "{p}");
    assert_eq!(p["type"], "/problems/invalid-schedule", "{p}");
    let d = p["detail"].as_str().unwrap();
    assert!(
        d.contains("Workshop") && d.contains("programme days"),
        "{d}"
    );
    let (_, again) = ctx
        .anon(Method::GET, &format!("/forums/days/sessions/{id}"), None)
        .await;
    assert_eq!(again["starts_at"], s["starts_at"]);
}

// ------------------------------------------------------------------------------------
// 2. Registration closes when the forum ends; sign-ups when the session starts
// ------------------------------------------------------------------------------------

/// A forum that ended yesterday answers 409 `registration-closed` with the instant (the
/// end of its last programme day); an explicit window still wins; a session that started
/// takes no sign-up, naming its start.
#[tokio::test]
async fn registration_closes_at_the_end_and_signups_at_the_start() {
    let ctx = Ctx::start().await;
    let today = Utc::now().date_naive();
    let yesterday = today - Duration::days(1);
    ctx.forum(
        "over",
        json!({"time_zone": "UTC", "first_day": (yesterday - Duration::days(1)).to_string(),
            "last_day": yesterday.to_string()}),
    )
    .await;
    let (st, p) = ctx.register("over", 1).await;
    assert_eq!(st, 409, "{p}");
    assert_eq!(p["type"], "/problems/registration-closed");
    assert_eq!(p["closed_at"], format!("{today}T00:00:00Z"), "{p}");
    assert!(
        p["detail"]
            .as_str()
            .unwrap()
            .contains("the end of the forum"),
        "{p}"
    );

    // An explicit closing instant in the future keeps it open.
    let closes =
        (Utc::now() + Duration::hours(1)).to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let (st, f) = ctx
        .call(
            Method::PATCH,
            "/forums/over",
            Some(json!({"registration_closes_at": closes})),
        )
        .await;
    assert_eq!(st, 200, "{f}");
    let (st, r) = ctx.register("over", 2).await;
    assert_eq!(st, 201, "{r}");

    // A forum running now: a session that started an hour ago takes no sign-up.
    ctx.forum(
        "now",
        json!({"time_zone": "UTC", "first_day": yesterday.to_string(),
            "last_day": (today + Duration::days(1)).to_string()}),
    )
    .await;
    let started = Utc::now() - Duration::hours(1);
    let (st, s) = ctx
        .session(
            "now",
            &started.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            &(started + Duration::hours(2)).to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        )
        .await;
    assert_eq!(st, 201, "{s}");
    let (st, r) = ctx.register("now", 3).await;
    assert_eq!(st, 201, "{r}");
    let (st, p) = ctx
        .call(
            Method::PUT,
            &format!(
                "/forums/now/registrations/{}/signups/{}",
                r["registration"]["id"].as_str().unwrap(),
                s["id"].as_str().unwrap()
            ),
            None,
        )
        .await;
    assert_eq!(st, 409, "{p}");
    assert_eq!(p["type"], "/problems/registration-closed");
    assert_eq!(p["closed_at"], s["starts_at"], "{p}");
    assert!(p["detail"].as_str().unwrap().contains("Workshop"), "{p}");
}

/// `serve --demo` moves the demo forum ahead (same weekdays, same local times): a newcomer
/// registers and signs up for a session.
#[tokio::test]
async fn the_demo_forum_takes_registrations_and_signups() {
    let server = Server::start_with(&["serve", "--no-worker", "--demo"], &[]).await;
    let get = |path: &str| {
        let req = server.client.get(server.url(path));
        async move {
            let res = req.send().await.unwrap();
            assert_eq!(res.status(), 200);
            res.json::<Value>().await.unwrap()
        }
    };
    let f = get("/api/v1/forums/gaziantep2019").await;
    let first: chrono::NaiveDate = f["first_day"].as_str().unwrap().parse().unwrap();
    let today = Utc::now().date_naive();
    assert!(first >= today + Duration::days(21), "{first}");
    assert!(first < today + Duration::days(28), "{first}");
    // 2019-11-26 was a Tuesday.
    assert_eq!(first.format("%A").to_string(), "Tuesday");
    let list = get("/api/v1/forums/gaziantep2019/sessions?limit=500").await;
    let items = list["items"].as_array().unwrap();
    let opening = items
        .iter()
        .find(|s| {
            s["local"]["starts_at"]
                .as_str()
                .unwrap()
                .ends_with("T09:00:00+03:00")
        })
        .unwrap_or_else(|| panic!("a session at 09:00 local: {list}"));
    let workshop = items
        .iter()
        .find(|s| s["kind"] == "workshop")
        .expect("a workshop");
    assert!(opening["local"]["day"].as_str().unwrap() >= first.to_string().as_str());

    let res = server
        .client
        .post(server.url("/api/v1/forums/gaziantep2019/registrations"))
        .json(&json!({"name": "Newcomer", "email": "new@example.org", "category": "mayor"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    let r: Value = res.json().await.unwrap();
    let (st, su) = server
        .call(
            Method::PUT,
            &format!(
                "/api/v1/forums/gaziantep2019/registrations/{}/signups/{}",
                r["registration"]["id"].as_str().unwrap(),
                workshop["id"].as_str().unwrap()
            ),
            r["manage_token"].as_str().unwrap(),
            None,
        )
        .await;
    assert_eq!(st, 200, "{su}");
    assert_eq!(su["status"], "confirmed", "{su}");
}

// ------------------------------------------------------------------------------------
// 3. PATCH bodies are JSON Merge Patches
// ------------------------------------------------------------------------------------

/// `PATCH …/registrations/{id}` with one answer keeps the others; `null` removes one.
#[tokio::test]
async fn a_patch_of_one_answer_keeps_the_others() {
    let ctx = Ctx::start().await;
    ctx.forum("answers", json!({})).await;
    let (st, v) = ctx
        .call(
            Method::PUT,
            "/forums/answers/registration-form",
            Some(json!({"questions": [
                {"id": "dietary", "label": "Diet", "kind": "text"},
                {"id": "arrival", "label": "Arrival", "kind": "text"},
                {"id": "hotel", "label": "Hotel", "kind": "text"}]})),
        )
        .await;
    assert_eq!(st, 200, "{v}");
    let (st, r) = ctx
        .anon(
            Method::POST,
            "/forums/answers/registrations",
            Some(
                json!({"name": "A", "email": "a@example.org", "category": "mayor",
                "answers": {"dietary": "none", "arrival": "Monday", "hotel": "Grand"}}),
            ),
        )
        .await;
    assert_eq!(st, 201, "{r}");
    let id = r["registration"]["id"].as_str().unwrap();
    let (st, v) = ctx
        .call(
            Method::PATCH,
            &format!("/forums/answers/registrations/{id}"),
            Some(json!({"answers": {"dietary": "vegan", "hotel": null}})),
        )
        .await;
    assert_eq!(st, 200, "{v}");
    assert_eq!(
        v["answers"],
        json!({"dietary": "vegan", "arrival": "Monday"}),
        "{v}"
    );
}

// ------------------------------------------------------------------------------------
// 4. Local times without an offset are the forum's
// ------------------------------------------------------------------------------------

/// `2030-03-27T16:00:00` is 16:00 in Lisbon; a time the clocks skip or repeat is a 422
/// naming the field and saying what to send; garbage is refused without a parser's words.
#[tokio::test]
async fn local_times_are_read_in_the_forums_zone() {
    let ctx = Ctx::start().await;
    // Lisbon: summer time from 2030-03-31 01:00 (UTC) to 2030-10-27 01:00 (UTC).
    ctx.forum(
        "lisbon",
        json!({"first_day": "2030-03-30", "last_day": "2030-03-31"}),
    )
    .await;
    let (st, s) = ctx
        .session("lisbon", "2030-03-30T16:00:00", "2030-03-30T17:00")
        .await;
    assert_eq!(st, 201, "{s}");
    assert_eq!(s["starts_at"], "2030-03-30T16:00:00Z");
    let (st, s) = ctx
        .session("lisbon", "2030-03-31T16:00", "2030-03-31T17:00")
        .await;
    assert_eq!(st, 201, "{s}");
    assert_eq!(s["starts_at"], "2030-03-31T15:00:00Z");

    let (st, p) = ctx
        .session("lisbon", "2030-03-31T01:30", "2030-03-31T02:30")
        .await;
    assert_eq!(st, 422, "{p}");
    let m = field_error(&p, "starts_at");
    assert!(m.contains("does not exist in Europe/Lisbon"), "{m}");

    ctx.forum(
        "autumn",
        json!({"first_day": "2030-10-26", "last_day": "2030-10-27"}),
    )
    .await;
    let (st, p) = ctx
        .session("autumn", "2030-10-27T01:30", "2030-10-27T03:00")
        .await;
    assert_eq!(st, 422, "{p}");
    let m = field_error(&p, "starts_at");
    assert!(
        m.contains("happens twice") && m.contains("+01:00") && m.contains("+00:00"),
        "{m}"
    );

    let (st, p) = ctx
        .session("autumn", "27.10.2030 10:00", "2030-10-27T11:00")
        .await;
    assert_eq!(st, 422, "{p}");
    let d = p["detail"].as_str().unwrap_or_default().to_owned() + &p["errors"].to_string();
    assert!(d.contains("starts_at") && d.contains("RFC 3339"), "{p}");
    assert!(
        !d.contains("premature") && !d.contains("input contains invalid"),
        "{p}"
    );
}

// ------------------------------------------------------------------------------------
// 5. A broken ledger takes no appends
// ------------------------------------------------------------------------------------

/// Once the head entry no longer verifies, a new signature is refused with 503 and a
/// problem for an operator, an error is logged, and `/readyz` names the declaration.
#[tokio::test]
async fn a_broken_ledger_refuses_appends_and_says_so() {
    let ctx = Ctx::start().await;
    ctx.forum("ledger", json!({})).await;
    let d = "/forums/ledger/declarations/decl";
    let (st, v) = ctx
        .call(
            Method::POST,
            "/forums/ledger/declarations",
            Some(json!({"slug": "decl", "title": "Declaration", "language": "en"})),
        )
        .await;
    assert_eq!(st, 201, "{v}");
    let (st, v) = ctx
        .call(
            Method::POST,
            &format!("{d}/versions"),
            Some(json!({"title": "Declaration", "text": "We declare."})),
        )
        .await;
    assert_eq!(st, 201, "{v}");
    let (st, v) = ctx.call(Method::POST, &format!("{d}/open"), None).await;
    assert_eq!(st, 200, "{v}");
    let signer = |i: usize| {
        json!({"full_name": format!("Mayor {i}"), "title": "Mayor", "entity_kind": "city",
            "entity_name": format!("City {i}"), "city": "Gaziantep", "country": "TR",
            "email": format!("m{i}@example.org"), "consent_publish": true})
    };
    let (st, v) = ctx
        .call(
            Method::POST,
            &format!("{d}/signatures/in-person"),
            Some(signer(1)),
        )
        .await;
    assert_eq!(st, 201, "{v}");
    let (st, r) = ctx.anon(Method::GET, "/readyz", None).await;
    assert_eq!(st, 200);
    assert_eq!(r["checks"]["ledgers"], "ok", "{r}");

    sql(
        &ctx.server,
        "UPDATE ledger_entries SET body = replace(body, '\"kind\":\"confirm\"', '\"kind\":\"confirm \"') WHERE seq = 1",
    )
    .await;
    let (st, p) = ctx
        .call(
            Method::POST,
            &format!("{d}/signatures/in-person"),
            Some(signer(2)),
        )
        .await;
    assert_eq!(st, 503, "{p}");
    assert_eq!(p["type"], "/problems/ledger-broken", "{p}");
    assert!(p["detail"].as_str().unwrap().contains("operator"), "{p}");
    assert!(
        ctx.server.stderr().contains("ledger head does not verify"),
        "no error logged"
    );
    let (st, r) = ctx.anon(Method::GET, "/readyz", None).await;
    assert_eq!(st, 200, "{r}");
    assert!(
        r["checks"]["ledgers"]
            .as_str()
            .unwrap()
            .starts_with("1 broken"),
        "{r}"
    );
    assert_eq!(r["ledgers_broken"][0]["declaration"], "decl", "{r}");
    // Nothing was written.
    let (_, list) = ctx
        .call(Method::GET, &format!("{d}/signatures"), None)
        .await;
    assert!(!list.to_string().contains("Mayor 2"), "{list}");
}

// ------------------------------------------------------------------------------------
// 6. Check-in at a session without a seat
// ------------------------------------------------------------------------------------

/// A confirmed participant who is only wait-listed for a session gets 409
/// `seat-not-confirmed` naming that session.
#[tokio::test]
async fn checkin_without_a_seat_names_the_session() {
    let ctx = Ctx::start().await;
    ctx.forum("seats", json!({})).await;
    let (st, s) = ctx
        .session("seats", "2030-03-27T10:00:00Z", "2030-03-27T11:00:00Z")
        .await;
    assert_eq!(st, 201, "{s}");
    let sid = s["id"].as_str().unwrap();
    let mut ids = vec![];
    for i in 1..=2 {
        let (st, r) = ctx.register("seats", i).await;
        assert_eq!(st, 201, "{r}");
        let id = r["registration"]["id"].as_str().unwrap().to_owned();
        let (st, su) = ctx
            .call(
                Method::PUT,
                &format!("/forums/seats/registrations/{id}/signups/{sid}"),
                None,
            )
            .await;
        assert_eq!(st, 200, "{su}");
        ids.push(id);
    }
    let (st, p) = ctx
        .call(
            Method::POST,
            "/forums/seats/check-ins",
            Some(json!({"registration_id": ids[1], "session_id": sid})),
        )
        .await;
    assert_eq!(st, 409, "{p}");
    assert_eq!(p["type"], "/problems/seat-not-confirmed", "{p}");
    assert_eq!(p["conflicting_session"]["id"], sid, "{p}");
    assert!(p["detail"].as_str().unwrap().contains("wait-list"), "{p}");
    assert!(p["detail"].as_str().unwrap().contains("Workshop"), "{p}");
    let (st, v) = ctx
        .call(
            Method::POST,
            "/forums/seats/check-ins",
            Some(json!({"registration_id": ids[0], "session_id": sid})),
        )
        .await;
    assert_eq!(st, 200, "{v}");
}

// ------------------------------------------------------------------------------------
// 10. Local times carry their offset; sign-ups and stats show them
// ------------------------------------------------------------------------------------

/// Lisbon in winter is `+00:00`, not `Z`; a sign-up carries `local` as sessions do; the
/// registration stats name each session with its title and local start.
#[tokio::test]
async fn local_times_are_written_with_their_offset_everywhere() {
    let ctx = Ctx::start().await;
    ctx.forum(
        "winter",
        json!({"first_day": "2030-01-20", "last_day": "2030-01-21"}),
    )
    .await;
    let (st, s) = ctx
        .session("winter", "2030-01-20T10:00", "2030-01-20T11:00")
        .await;
    assert_eq!(st, 201, "{s}");
    assert_eq!(s["local"]["starts_at"], "2030-01-20T10:00:00+00:00", "{s}");
    assert_eq!(s["local"]["ends_at"], "2030-01-20T11:00:00+00:00", "{s}");
    let (st, r) = ctx.register("winter", 1).await;
    assert_eq!(st, 201, "{r}");
    let id = r["registration"]["id"].as_str().unwrap();
    let sid = s["id"].as_str().unwrap();
    let (st, su) = ctx
        .call(
            Method::PUT,
            &format!("/forums/winter/registrations/{id}/signups/{sid}"),
            None,
        )
        .await;
    assert_eq!(st, 200, "{su}");
    assert_eq!(su["local"], s["local"], "{su}");
    let (st, stats) = ctx
        .call(Method::GET, "/forums/winter/registration-stats", None)
        .await;
    assert_eq!(st, 200, "{stats}");
    let row = &stats["sessions"][0];
    assert_eq!(row["session_id"], sid, "{stats}");
    assert_eq!(row["title"], "Workshop", "{stats}");
    assert_eq!(
        row["local"]["starts_at"], "2030-01-20T10:00:00+00:00",
        "{stats}"
    );
    assert_eq!(row["confirmed"], 1, "{stats}");
}

// ------------------------------------------------------------------------------------
// 11. Errors that say what to do
// ------------------------------------------------------------------------------------

/// A revoked manage token is told which token the endpoint takes and how to get a new
/// link; signing again while the first signature waits points to `resend`; CLI errors name
/// the argument and the value at fault.
#[tokio::test]
async fn errors_name_the_token_the_resend_and_the_argument() {
    let ctx = Ctx::start().await;
    ctx.forum("errs", json!({})).await;
    let (st, r) = ctx.register("errs", 1).await;
    assert_eq!(st, 201, "{r}");
    let id = r["registration"]["id"].as_str().unwrap();
    let old = r["manage_token"].as_str().unwrap();
    let path = format!("/api/v1/forums/errs/registrations/{id}");
    let (st, v) = ctx
        .server
        .call(Method::POST, &format!("{path}/manage-token"), old, None)
        .await;
    assert_eq!(st, 200, "{v}");
    let (st, p) = ctx.server.call(Method::GET, &path, old, None).await;
    assert_eq!(st, 401, "{p}");
    let d = p["detail"].as_str().unwrap();
    assert!(d.contains("cvn_reg_") && d.contains("resend-link"), "{d}");

    // A pending online signature: signing again points to resend.
    let (st, v) = ctx
        .call(
            Method::POST,
            "/forums/errs/declarations",
            Some(json!({"slug": "decl", "title": "Declaration", "language": "en"})),
        )
        .await;
    assert_eq!(st, 201, "{v}");
    let (st, v) = ctx
        .call(
            Method::POST,
            "/forums/errs/declarations/decl/versions",
            Some(json!({"title": "Declaration", "text": "We declare."})),
        )
        .await;
    assert_eq!(st, 201, "{v}");
    let (st, v) = ctx
        .call(Method::POST, "/forums/errs/declarations/decl/open", None)
        .await;
    assert_eq!(st, 200, "{v}");
    let signer = json!({"full_name": "Mayor", "title": "Mayor", "entity_kind": "city",
        "entity_name": "Kilis", "city": "Kilis", "country": "TR",
        "email": "mayor@example.org", "consent_publish": true});
    let (st, v) = ctx
        .anon(
            Method::POST,
            "/forums/errs/declarations/decl/signatures",
            Some(signer.clone()),
        )
        .await;
    assert!(st == 201 || st == 202, "{st} {v}");
    let (st, p) = ctx
        .anon(
            Method::POST,
            "/forums/errs/declarations/decl/signatures",
            Some(signer),
        )
        .await;
    assert_eq!(st, 409, "{p}");
    let d = p["detail"].as_str().unwrap();
    assert!(d.contains("signatures/resend"), "{d}");
    assert!(!d.contains("withdraw it first"), "{d}");

    // The CLI.
    let out = ctx
        .server
        .run_cli(&["admin", "create-organizer", "--email", "not an email"]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("--email \"not an email\""), "{err}");
    let file = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/gaziantep-2019.json");
    let out = ctx.server.run_cli(&[
        "import",
        file,
        "--forum",
        "imported",
        "--owner",
        "nobody@example.org",
    ]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("--owner \"nobody@example.org\""), "{err}");
}

// ------------------------------------------------------------------------------------
// 12. One list shape; the public participant list is opt-in
// ------------------------------------------------------------------------------------

/// Declarations, versions, rooms, speakers and sign-ups answer `{items, next_cursor}` like
/// every other list; the public participant list is 404 until the organizer turns it on,
/// then shows consenting confirmed participants (name, organization, city, country) only.
#[tokio::test]
async fn lists_share_one_shape_and_the_participant_list_is_opt_in() {
    let ctx = Ctx::start().await;
    ctx.forum("lists", json!({})).await;
    let (st, v) = ctx
        .call(
            Method::POST,
            "/forums/lists/declarations",
            Some(json!({"slug": "decl", "title": "Declaration", "language": "en"})),
        )
        .await;
    assert_eq!(st, 201, "{v}");
    let (st, r) = ctx.register("lists", 1).await;
    assert_eq!(st, 201, "{r}");
    let rid = r["registration"]["id"].as_str().unwrap();
    for path in [
        "/forums/lists/declarations".to_owned(),
        "/forums/lists/declarations/decl/versions".to_owned(),
        "/forums/lists/rooms".to_owned(),
        "/forums/lists/speakers".to_owned(),
        format!("/forums/lists/registrations/{rid}/signups"),
        "/forums/lists/sessions".to_owned(),
        "/forums/lists/registrations".to_owned(),
    ] {
        let (st, v) = ctx.call(Method::GET, &path, None).await;
        assert_eq!(st, 200, "{path}: {v}");
        assert!(v["items"].is_array(), "{path}: {v}");
        assert!(
            v.as_object().unwrap().contains_key("next_cursor"),
            "{path}: {v}"
        );
    }

    // The public list: off by default.
    let (st, p) = ctx
        .anon(Method::GET, "/forums/lists/participants", None)
        .await;
    assert_eq!(st, 404, "{p}");
    for (i, consent) in [(2, true), (3, false), (4, true)] {
        let (st, r) = ctx
            .anon(
                Method::POST,
                "/forums/lists/registrations",
                Some(
                    json!({"name": format!("Participant {i}"), "email": format!("p{i}@example.org"),
                    "category": "mayor", "organization": "Municipality", "city": "Kilis",
                    "country": "TR", "public_consent": consent}),
                ),
            )
            .await;
        assert_eq!(st, 201, "{r}");
    }
    let (st, f) = ctx
        .call(
            Method::PATCH,
            "/forums/lists",
            Some(json!({"public_participant_list": true})),
        )
        .await;
    assert_eq!(st, 200, "{f}");
    assert_eq!(f["public_participant_list"], true);
    let (st, p) = ctx
        .anon(Method::GET, "/forums/lists/participants?limit=1", None)
        .await;
    assert_eq!(st, 200, "{p}");
    assert_eq!(
        p["items"],
        json!([{"name": "Participant 2", "organization": "Municipality", "city": "Kilis", "country": "TR"}])
    );
    let c = p["next_cursor"].as_str().unwrap();
    let (st, p) = ctx
        .anon(
            Method::GET,
            &format!("/forums/lists/participants?limit=1&cursor={c}"),
            None,
        )
        .await;
    assert_eq!(st, 200, "{p}");
    assert_eq!(p["items"][0]["name"], "Participant 4", "{p}");
    assert!(!p.to_string().contains("example.org"), "{p}");
}
