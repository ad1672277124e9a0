//! Black-box tests of the programme API (forums, rooms, speakers, sessions) over HTTP:
//! authentication and scoping, draft visibility, ETag/If-Match, programme conflicts, time
//! zones, filters and pagination, malformed input, rooms, concurrency, OpenAPI and docs.
//!
//! Runs on SQLite by default and on PostgreSQL with `CONVENE_TEST_DATABASE_URL=postgres://…`.
mod common;

use std::collections::{BTreeSet, HashSet};

use common::Server;
use reqwest::header::HeaderMap;
use reqwest::{Method, RequestBuilder};
use serde_json::{json, Value};

// ---------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------

/// An HTTP answer, read completely.
#[derive(Debug)]
struct Resp {
    status: u16,
    headers: HeaderMap,
    text: String,
    body: Value,
}

impl Resp {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    fn content_type(&self) -> &str {
        self.header("content-type").unwrap_or("")
    }

    /// Asserts an RFC 9457 problem with this status and `type`.
    #[track_caller]
    fn assert_problem(&self, status: u16, kind: &str) -> &Self {
        assert_eq!(
            self.status, status,
            "expected {status} {kind}, got: {self:#?}"
        );
        assert!(
            self.content_type().starts_with("application/problem+json"),
            "content-type of a problem: {:?} ({self:#?})",
            self.content_type()
        );
        assert_eq!(self.body["type"], json!(kind), "problem type: {self:#?}");
        assert_eq!(
            self.body["status"],
            json!(status),
            "problem status: {self:#?}"
        );
        assert!(self.body["title"].is_string(), "problem title: {self:#?}");
        self
    }

    /// The `field`s of the problem's `errors`.
    fn error_fields(&self) -> Vec<String> {
        self.body["errors"]
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|e| e["field"].as_str().unwrap_or_default().to_owned())
                    .collect()
            })
            .unwrap_or_default()
    }
}

async fn send(rb: RequestBuilder) -> Resp {
    let res = rb.send().await.expect("HTTP request");
    let status = res.status().as_u16();
    let headers = res.headers().clone();
    let text = res.text().await.expect("response body");
    let body = serde_json::from_str(&text).unwrap_or(Value::Null);
    Resp {
        status,
        headers,
        text,
        body,
    }
}

/// A request to `/api/v1{path}` with an optional bearer token.
fn req(s: &Server, method: Method, path: &str, token: Option<&str>) -> RequestBuilder {
    let rb = s.client.request(method, s.url(&format!("/api/v1{path}")));
    match token {
        Some(t) => rb.bearer_auth(t),
        None => rb,
    }
}

async fn get(s: &Server, path: &str, token: Option<&str>) -> Resp {
    send(req(s, Method::GET, path, token)).await
}

async fn post(s: &Server, path: &str, token: Option<&str>, body: Value) -> Resp {
    send(req(s, Method::POST, path, token).json(&body)).await
}

async fn post_empty(s: &Server, path: &str, token: Option<&str>) -> Resp {
    send(req(s, Method::POST, path, token)).await
}

async fn patch(
    s: &Server,
    path: &str,
    token: Option<&str>,
    if_match: Option<&str>,
    body: Value,
) -> Resp {
    let mut rb = req(s, Method::PATCH, path, token).json(&body);
    if let Some(etag) = if_match {
        rb = rb.header("if-match", etag);
    }
    send(rb).await
}

async fn delete(s: &Server, path: &str, token: Option<&str>) -> Resp {
    send(req(s, Method::DELETE, path, token)).await
}

#[track_caller]
fn expect(r: Resp, status: u16) -> Resp {
    assert_eq!(r.status, status, "unexpected answer: {r:#?}");
    r
}

fn forum_body(slug: &str, tz: &str, first: &str, last: &str) -> Value {
    json!({
        "slug": slug,
        "title": format!("Forum {slug}"),
        "time_zone": tz,
        "first_day": first,
        "last_day": last,
        "country": "CH",
        "city": "Zürich",
    })
}

async fn create_forum(
    s: &Server,
    token: &str,
    slug: &str,
    tz: &str,
    first: &str,
    last: &str,
) -> Value {
    let r = post(s, "/forums", Some(token), forum_body(slug, tz, first, last)).await;
    expect(r, 201).body
}

async fn publish(s: &Server, token: &str, slug: &str) -> Value {
    expect(
        post_empty(s, &format!("/forums/{slug}/publish"), Some(token)).await,
        200,
    )
    .body
}

async fn create_room(s: &Server, token: &str, slug: &str, name: &str) -> String {
    let r = post(
        s,
        &format!("/forums/{slug}/rooms"),
        Some(token),
        json!({ "name": name, "capacity": 50 }),
    )
    .await;
    expect(r, 201).body["id"]
        .as_str()
        .expect("room id")
        .to_owned()
}

async fn create_speaker(s: &Server, token: &str, slug: &str, name: &str) -> String {
    let r = post(
        s,
        &format!("/forums/{slug}/speakers"),
        Some(token),
        json!({ "name": name }),
    )
    .await;
    expect(r, 201).body["id"]
        .as_str()
        .expect("speaker id")
        .to_owned()
}

fn session_body(title: &str, start: &str, end: &str, room: Option<&str>) -> Value {
    let mut b = json!({
        "kind": "talk",
        "title": title,
        "starts_at": start,
        "ends_at": end,
    });
    if let Some(r) = room {
        b["room_id"] = json!(r);
    }
    b
}

async fn create_session(s: &Server, token: &str, slug: &str, body: Value) -> Value {
    expect(
        post(s, &format!("/forums/{slug}/sessions"), Some(token), body).await,
        201,
    )
    .body
}

/// All sessions of a forum (one page of up to 500), as the given caller sees them.
async fn all_sessions(s: &Server, token: Option<&str>, slug: &str, query: &str) -> Vec<Value> {
    let sep = if query.is_empty() { "" } else { "&" };
    let r = expect(
        get(
            s,
            &format!("/forums/{slug}/sessions?limit=500{sep}{query}"),
            token,
        )
        .await,
        200,
    );
    assert!(
        r.body["next_cursor"].is_null(),
        "more than one page: {r:#?}"
    );
    r.body["items"].as_array().expect("items").clone()
}

fn titles(items: &[Value]) -> BTreeSet<String> {
    items
        .iter()
        .map(|i| i["title"].as_str().expect("title").to_owned())
        .collect()
}

fn set(xs: &[&str]) -> BTreeSet<String> {
    xs.iter().map(|s| s.to_string()).collect()
}

/// Slugs of the forums a caller sees in `GET /forums`.
async fn forum_slugs(s: &Server, token: Option<&str>) -> BTreeSet<String> {
    let r = expect(get(s, "/forums?limit=500", token).await, 200);
    r.body["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|f| f["slug"].as_str().expect("slug").to_owned())
        .collect()
}

#[track_caller]
fn assert_unauthenticated(r: &Resp, what: &str) {
    assert_eq!(r.status, 401, "{what}: {r:#?}");
    r.assert_problem(401, "/problems/unauthenticated");
    let www = r.header("www-authenticate").unwrap_or_default();
    assert!(
        www.to_ascii_lowercase().starts_with("bearer"),
        "{what}: WWW-Authenticate {www:?}"
    );
}

// ---------------------------------------------------------------------------------------
// 1. Authentication and scoping
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn writes_need_a_valid_token_and_a_role_on_the_forum() {
    let s = Server::start().await;
    let alice = s.organizer_token("alice@example.org");
    let bob = s.organizer_token("bob@example.org");

    // Alice: a draft forum and a published one, each with a room, a speaker and a session.
    let mut fixtures = vec![];
    for slug in ["alice-draft", "alice-pub"] {
        let forum = create_forum(
            &s,
            &alice,
            slug,
            "Europe/Zurich",
            "2025-06-12",
            "2025-06-13",
        )
        .await;
        let room = create_room(&s, &alice, slug, "Hall").await;
        let speaker = create_speaker(&s, &alice, slug, "Ada Lovelace").await;
        let mut body = session_body(
            "Opening",
            "2025-06-12T09:00:00+02:00",
            "2025-06-12T10:00:00+02:00",
            Some(&room),
        );
        body["speakers"] = json!([{ "speaker_id": speaker }]);
        let session = create_session(&s, &alice, slug, body).await;
        let session = session["id"].as_str().unwrap().to_owned();
        fixtures.push((slug, forum, room, speaker, session));
    }
    publish(&s, &alice, "alice-pub").await;
    // The schedule of the draft forum, a valid import file.
    let schedule = expect(
        get(&s, "/forums/alice-draft/schedule.json", Some(&alice)).await,
        200,
    )
    .text;

    // Snapshot of everything Alice owns, to prove nothing is written below.
    async fn snapshot(s: &Server, token: &str) -> Value {
        let mut out = json!({ "forums": forum_slugs(s, Some(token)).await });
        for slug in ["alice-draft", "alice-pub"] {
            let f = expect(get(s, &format!("/forums/{slug}"), Some(token)).await, 200).body;
            let rooms = expect(
                get(s, &format!("/forums/{slug}/rooms"), Some(token)).await,
                200,
            )
            .body;
            let speakers = expect(
                get(s, &format!("/forums/{slug}/speakers"), Some(token)).await,
                200,
            )
            .body;
            let sessions = all_sessions(s, Some(token), slug, "").await;
            out[slug] =
                json!({ "forum": f, "rooms": rooms, "speakers": speakers, "sessions": sessions });
        }
        out
    }
    let before = snapshot(&s, &alice).await;

    // Every write, without a token → 401 problem with WWW-Authenticate.
    for (slug, _, room, speaker, session) in &fixtures {
        let new_forum = forum_body("mallory", "Europe/Zurich", "2025-06-12", "2025-06-13");
        let new_session = session_body(
            "Intruder",
            "2025-06-13T09:00:00+02:00",
            "2025-06-13T10:00:00+02:00",
            None,
        );
        let writes: Vec<(&str, RequestBuilder)> = vec![
            (
                "create forum",
                req(&s, Method::POST, "/forums", None).json(&new_forum),
            ),
            (
                "patch forum",
                req(&s, Method::PATCH, &format!("/forums/{slug}"), None)
                    .json(&json!({"title": "Owned"})),
            ),
            (
                "delete forum",
                req(&s, Method::DELETE, &format!("/forums/{slug}"), None),
            ),
            (
                "publish",
                req(&s, Method::POST, &format!("/forums/{slug}/publish"), None),
            ),
            (
                "close",
                req(&s, Method::POST, &format!("/forums/{slug}/close"), None),
            ),
            (
                "archive",
                req(&s, Method::POST, &format!("/forums/{slug}/archive"), None),
            ),
            (
                "create room",
                req(&s, Method::POST, &format!("/forums/{slug}/rooms"), None)
                    .json(&json!({"name": "Attic"})),
            ),
            (
                "patch room",
                req(
                    &s,
                    Method::PATCH,
                    &format!("/forums/{slug}/rooms/{room}"),
                    None,
                )
                .json(&json!({"name": "Attic"})),
            ),
            (
                "delete room",
                req(
                    &s,
                    Method::DELETE,
                    &format!("/forums/{slug}/rooms/{room}"),
                    None,
                ),
            ),
            (
                "create speaker",
                req(&s, Method::POST, &format!("/forums/{slug}/speakers"), None)
                    .json(&json!({"name": "Eve"})),
            ),
            (
                "patch speaker",
                req(
                    &s,
                    Method::PATCH,
                    &format!("/forums/{slug}/speakers/{speaker}"),
                    None,
                )
                .json(&json!({"name": "Eve"})),
            ),
            (
                "delete speaker",
                req(
                    &s,
                    Method::DELETE,
                    &format!("/forums/{slug}/speakers/{speaker}"),
                    None,
                ),
            ),
            (
                "create session",
                req(&s, Method::POST, &format!("/forums/{slug}/sessions"), None).json(&new_session),
            ),
            (
                "patch session",
                req(
                    &s,
                    Method::PATCH,
                    &format!("/forums/{slug}/sessions/{session}"),
                    None,
                )
                .json(&json!({"title": "Owned"})),
            ),
            (
                "cancel session",
                req(
                    &s,
                    Method::POST,
                    &format!("/forums/{slug}/sessions/{session}/cancel"),
                    None,
                ),
            ),
            (
                "delete session",
                req(
                    &s,
                    Method::DELETE,
                    &format!("/forums/{slug}/sessions/{session}"),
                    None,
                ),
            ),
            (
                "import (valid file)",
                req(
                    &s,
                    Method::POST,
                    &format!("/forums/{slug}/schedule/import"),
                    None,
                )
                .body(schedule.clone()),
            ),
            (
                "import (garbage)",
                req(
                    &s,
                    Method::POST,
                    &format!("/forums/{slug}/schedule/import"),
                    None,
                )
                .body("garbage"),
            ),
            (
                "import new forum",
                req(&s, Method::POST, "/forums/import?slug=mallory", None).body(schedule.clone()),
            ),
        ];
        for (what, rb) in writes {
            let r = send(rb).await;
            assert_unauthenticated(&r, &format!("anonymous {what} on {slug}"));
        }
    }

    // A wrong token → 401, on reads as well as writes, even of public objects.
    let bad_tokens = [
        "Bearer cvn_org_0000000000000000000000000000000000000000".to_owned(),
        "Bearer not-a-token".to_owned(),
        format!("Bearer {alice}x"),
        format!("Basic {alice}"),
        "Bearer".to_owned(),
    ];
    for bad in &bad_tokens {
        for path in [
            "/forums",
            "/forums/alice-pub",
            "/forums/alice-pub/sessions",
            "/forums/alice-pub/rooms",
        ] {
            let r = send(
                s.client
                    .get(s.url(&format!("/api/v1{path}")))
                    .header("authorization", bad),
            )
            .await;
            assert_unauthenticated(&r, &format!("GET {path} with {bad:?}"));
        }
        let r = send(
            s.client
                .patch(s.url("/api/v1/forums/alice-pub"))
                .header("authorization", bad)
                .json(&json!({"title": "Owned"})),
        )
        .await;
        assert_unauthenticated(&r, &format!("PATCH with {bad:?}"));
        let r = send(
            s.client
                .post(s.url("/api/v1/forums"))
                .header("authorization", bad)
                .json(&forum_body(
                    "mallory",
                    "Europe/Zurich",
                    "2025-06-12",
                    "2025-06-13",
                )),
        )
        .await;
        assert_unauthenticated(&r, &format!("POST /forums with {bad:?}"));
    }

    // Bob (a valid organizer, no role on Alice's forums): the draft does not exist for him…
    let (_, _, room, speaker, session) = &fixtures[0];
    let slug = "alice-draft";
    let new_session = session_body(
        "Bob's",
        "2025-06-13T09:00:00+02:00",
        "2025-06-13T10:00:00+02:00",
        None,
    );
    let draft_attempts = vec![
        get(&s, &format!("/forums/{slug}"), Some(&bob)).await,
        get(&s, &format!("/forums/{slug}/sessions"), Some(&bob)).await,
        get(
            &s,
            &format!("/forums/{slug}/sessions/{session}"),
            Some(&bob),
        )
        .await,
        patch(
            &s,
            &format!("/forums/{slug}"),
            Some(&bob),
            None,
            json!({"title": "Bob's"}),
        )
        .await,
        delete(&s, &format!("/forums/{slug}"), Some(&bob)).await,
        post_empty(&s, &format!("/forums/{slug}/publish"), Some(&bob)).await,
        post(
            &s,
            &format!("/forums/{slug}/rooms"),
            Some(&bob),
            json!({"name": "Bob's"}),
        )
        .await,
        patch(
            &s,
            &format!("/forums/{slug}/rooms/{room}"),
            Some(&bob),
            None,
            json!({"name": "Bob's"}),
        )
        .await,
        delete(&s, &format!("/forums/{slug}/rooms/{room}"), Some(&bob)).await,
        post(
            &s,
            &format!("/forums/{slug}/speakers"),
            Some(&bob),
            json!({"name": "Bob"}),
        )
        .await,
        delete(
            &s,
            &format!("/forums/{slug}/speakers/{speaker}"),
            Some(&bob),
        )
        .await,
        post(
            &s,
            &format!("/forums/{slug}/sessions"),
            Some(&bob),
            new_session.clone(),
        )
        .await,
        patch(
            &s,
            &format!("/forums/{slug}/sessions/{session}"),
            Some(&bob),
            None,
            json!({"title": "Bob's"}),
        )
        .await,
        post_empty(
            &s,
            &format!("/forums/{slug}/sessions/{session}/cancel"),
            Some(&bob),
        )
        .await,
        delete(
            &s,
            &format!("/forums/{slug}/sessions/{session}"),
            Some(&bob),
        )
        .await,
        send(
            req(
                &s,
                Method::POST,
                &format!("/forums/{slug}/schedule/import"),
                Some(&bob),
            )
            .body(schedule.clone()),
        )
        .await,
    ];
    for r in &draft_attempts {
        r.assert_problem(404, "/problems/not-found");
    }
    assert!(!forum_slugs(&s, Some(&bob)).await.contains(slug));

    // …the published one he may read but not change: 403.
    let (_, _, room, speaker, session) = &fixtures[1];
    let slug = "alice-pub";
    expect(get(&s, &format!("/forums/{slug}"), Some(&bob)).await, 200);
    expect(
        get(
            &s,
            &format!("/forums/{slug}/sessions/{session}"),
            Some(&bob),
        )
        .await,
        200,
    );
    let pub_attempts = vec![
        patch(
            &s,
            &format!("/forums/{slug}"),
            Some(&bob),
            None,
            json!({"title": "Bob's"}),
        )
        .await,
        delete(&s, &format!("/forums/{slug}"), Some(&bob)).await,
        post_empty(&s, &format!("/forums/{slug}/close"), Some(&bob)).await,
        post(
            &s,
            &format!("/forums/{slug}/rooms"),
            Some(&bob),
            json!({"name": "Bob's"}),
        )
        .await,
        patch(
            &s,
            &format!("/forums/{slug}/rooms/{room}"),
            Some(&bob),
            None,
            json!({"name": "Bob's"}),
        )
        .await,
        delete(&s, &format!("/forums/{slug}/rooms/{room}"), Some(&bob)).await,
        post(
            &s,
            &format!("/forums/{slug}/speakers"),
            Some(&bob),
            json!({"name": "Bob"}),
        )
        .await,
        patch(
            &s,
            &format!("/forums/{slug}/speakers/{speaker}"),
            Some(&bob),
            None,
            json!({"name": "Bob"}),
        )
        .await,
        delete(
            &s,
            &format!("/forums/{slug}/speakers/{speaker}"),
            Some(&bob),
        )
        .await,
        post(
            &s,
            &format!("/forums/{slug}/sessions"),
            Some(&bob),
            new_session.clone(),
        )
        .await,
        patch(
            &s,
            &format!("/forums/{slug}/sessions/{session}"),
            Some(&bob),
            None,
            json!({"title": "Bob's"}),
        )
        .await,
        post_empty(
            &s,
            &format!("/forums/{slug}/sessions/{session}/cancel"),
            Some(&bob),
        )
        .await,
        delete(
            &s,
            &format!("/forums/{slug}/sessions/{session}"),
            Some(&bob),
        )
        .await,
        send(
            req(
                &s,
                Method::POST,
                &format!("/forums/{slug}/schedule/import"),
                Some(&bob),
            )
            .body(schedule.clone()),
        )
        .await,
    ];
    for r in &pub_attempts {
        r.assert_problem(403, "/problems/forbidden");
    }

    // Nothing was written by any of the refused requests.
    let after = snapshot(&s, &alice).await;
    assert_eq!(before, after, "a refused write changed something");
    assert!(!forum_slugs(&s, Some(&bob)).await.contains("mallory"));
    assert!(!forum_slugs(&s, Some(&alice)).await.contains("mallory"));
    let r = get(&s, "/forums/mallory", Some(&alice)).await;
    r.assert_problem(404, "/problems/not-found");
}

// ---------------------------------------------------------------------------------------
// 2. Drafts are invisible until published
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn draft_forums_are_invisible_until_published() {
    let s = Server::start().await;
    let tok = s.organizer_token("owner@example.org");
    create_forum(
        &s,
        &tok,
        "secret-summit",
        "Europe/Zurich",
        "2025-06-12",
        "2025-06-13",
    )
    .await;
    let room = create_room(&s, &tok, "secret-summit", "Hall").await;
    let session = create_session(
        &s,
        &tok,
        "secret-summit",
        session_body(
            "Keynote",
            "2025-06-12T09:00:00+02:00",
            "2025-06-12T10:00:00+02:00",
            Some(&room),
        ),
    )
    .await;
    let sid = session["id"].as_str().unwrap();

    let public_paths = [
        "/forums/secret-summit".to_owned(),
        "/forums/secret-summit/sessions".to_owned(),
        format!("/forums/secret-summit/sessions/{sid}"),
        "/forums/secret-summit/rooms".to_owned(),
        format!("/forums/secret-summit/rooms/{room}"),
        "/forums/secret-summit/speakers".to_owned(),
        "/forums/secret-summit/schedule.json".to_owned(),
        "/forums/secret-summit/schedule.xml".to_owned(),
        "/forums/secret-summit/schedule.ics".to_owned(),
    ];
    // A draft is indistinguishable from a forum that does not exist.
    let missing = get(&s, "/forums/no-such-forum", None).await;
    missing.assert_problem(404, "/problems/not-found");
    for p in &public_paths {
        let r = get(&s, p, None).await;
        r.assert_problem(404, "/problems/not-found");
        assert_eq!(
            r.body["detail"], missing.body["detail"],
            "{p}: the 404 differs from a missing forum's"
        );
        // The owner sees it all.
        expect(get(&s, p, Some(&tok)).await, 200);
    }
    assert!(!forum_slugs(&s, None).await.contains("secret-summit"));
    assert!(forum_slugs(&s, Some(&tok)).await.contains("secret-summit"));
    let r = expect(get(&s, "/forums?status=draft", None).await, 200);
    assert_eq!(
        r.body["items"],
        json!([]),
        "drafts listed anonymously: {r:#?}"
    );

    let published = publish(&s, &tok, "secret-summit").await;
    assert_eq!(published["status"], "published");

    for p in &public_paths {
        expect(get(&s, p, None).await, 200);
    }
    assert!(forum_slugs(&s, None).await.contains("secret-summit"));
    let items = all_sessions(&s, None, "secret-summit", "").await;
    assert_eq!(titles(&items), set(&["Keynote"]));
    let sched = expect(
        get(&s, "/forums/secret-summit/schedule.json", None).await,
        200,
    );
    assert!(
        sched.text.contains("Keynote"),
        "schedule.json lacks the session: {}",
        sched.text
    );
}

// ---------------------------------------------------------------------------------------
// 3. ETag / If-Match
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn if_match_guards_forum_and_session_updates() {
    let s = Server::start().await;
    let tok = s.organizer_token("etag@example.org");
    create_forum(
        &s,
        &tok,
        "etag-forum",
        "Europe/Zurich",
        "2025-06-12",
        "2025-06-13",
    )
    .await;

    // Forum.
    let r = expect(get(&s, "/forums/etag-forum", Some(&tok)).await, 200);
    let etag1 = r.header("etag").expect("GET forum has an ETag").to_owned();
    let r = expect(
        patch(
            &s,
            "/forums/etag-forum",
            Some(&tok),
            Some(&etag1),
            json!({"title": "Renamed"}),
        )
        .await,
        200,
    );
    let etag2 = r
        .header("etag")
        .expect("PATCH answer has an ETag")
        .to_owned();
    assert_ne!(etag1, etag2, "the ETag did not change");
    assert_eq!(r.body["title"], "Renamed");
    let r = expect(get(&s, "/forums/etag-forum", Some(&tok)).await, 200);
    assert_eq!(r.header("etag"), Some(etag2.as_str()));

    let stale = patch(
        &s,
        "/forums/etag-forum",
        Some(&tok),
        Some(&etag1),
        json!({"title": "Lost update"}),
    )
    .await;
    stale.assert_problem(412, "/problems/precondition-failed");
    assert_eq!(stale.body["current_etag"], json!(etag2));
    let r = expect(get(&s, "/forums/etag-forum", Some(&tok)).await, 200);
    assert_eq!(r.body["title"], "Renamed", "a 412 PATCH changed the forum");
    assert_eq!(r.header("etag"), Some(etag2.as_str()));
    // Publishing is guarded too.
    let r = send(
        req(&s, Method::POST, "/forums/etag-forum/publish", Some(&tok)).header("if-match", &etag1),
    )
    .await;
    r.assert_problem(412, "/problems/precondition-failed");
    assert_eq!(
        expect(get(&s, "/forums/etag-forum", Some(&tok)).await, 200).body["status"],
        "draft"
    );

    // Session.
    let created = post(
        &s,
        "/forums/etag-forum/sessions",
        Some(&tok),
        session_body(
            "Draft title",
            "2025-06-12T09:00:00+02:00",
            "2025-06-12T10:00:00+02:00",
            None,
        ),
    )
    .await;
    let created = expect(created, 201);
    let sid = created.body["id"].as_str().unwrap().to_owned();
    let path = format!("/forums/etag-forum/sessions/{sid}");
    let r = expect(get(&s, &path, Some(&tok)).await, 200);
    let setag1 = r
        .header("etag")
        .expect("GET session has an ETag")
        .to_owned();
    assert_eq!(created.header("etag"), Some(setag1.as_str()));
    let r = expect(
        patch(
            &s,
            &path,
            Some(&tok),
            Some(&setag1),
            json!({"title": "Final title", "ends_at": "2025-06-12T10:30:00+02:00"}),
        )
        .await,
        200,
    );
    let setag2 = r
        .header("etag")
        .expect("PATCH session has an ETag")
        .to_owned();
    assert_ne!(setag1, setag2);
    assert_eq!(r.body["title"], "Final title");
    assert_eq!(r.body["duration_minutes"], 90);

    let stale = patch(
        &s,
        &path,
        Some(&tok),
        Some(&setag1),
        json!({"title": "Lost update", "ends_at": "2025-06-12T11:00:00+02:00"}),
    )
    .await;
    stale.assert_problem(412, "/problems/precondition-failed");
    assert_eq!(stale.body["current_etag"], json!(setag2));
    let cancel = send(
        req(&s, Method::POST, &format!("{path}/cancel"), Some(&tok)).header("if-match", &setag1),
    )
    .await;
    cancel.assert_problem(412, "/problems/precondition-failed");
    let del = send(req(&s, Method::DELETE, &path, Some(&tok)).header("if-match", &setag1)).await;
    del.assert_problem(412, "/problems/precondition-failed");

    let r = expect(get(&s, &path, Some(&tok)).await, 200);
    assert_eq!(
        r.body["title"], "Final title",
        "a 412 PATCH changed the session"
    );
    assert_eq!(r.body["ends_at"], "2025-06-12T08:30:00Z");
    assert_eq!(r.body["status"], "scheduled");
    assert_eq!(r.header("etag"), Some(setag2.as_str()));
}

// ---------------------------------------------------------------------------------------
// 4. Programme conflicts
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn programme_conflicts_are_refused_and_name_the_other_session() {
    let s = Server::start().await;
    let tok = s.organizer_token("conflicts@example.org");
    let slug = "conflicts";
    create_forum(&s, &tok, slug, "Europe/Zurich", "2025-06-12", "2025-06-13").await;
    let hall = create_room(&s, &tok, slug, "Hall").await;
    let salon = create_room(&s, &tok, slug, "Salon").await;
    let mayor = create_speaker(&s, &tok, slug, "Mayor Mia").await;
    // A speaker's name is one line (it goes into e-mail headers and calendar files).
    let r = post(
        &s,
        &format!("/forums/{slug}/speakers"),
        Some(&tok),
        json!({ "name": "Mayor\nMia" }),
    )
    .await;
    r.assert_problem(422, "/problems/validation-error");
    assert_eq!(r.error_fields(), vec!["name"]);
    let sessions_path = format!("/forums/{slug}/sessions");

    let mut opening = session_body(
        "Opening plenary",
        "2025-06-12T09:00:00+02:00",
        "2025-06-12T10:00:00+02:00",
        Some(&hall),
    );
    opening["speakers"] = json!([{ "speaker_id": mayor, "role": "speaker" }]);
    opening["guid"] = json!("opening-guid");
    let opening = create_session(&s, &tok, slug, opening).await;
    let opening_id = opening["id"].as_str().unwrap().to_owned();
    assert_eq!(opening["guid"], "opening-guid");

    #[track_caller]
    fn names_opening(r: &Resp) {
        assert_eq!(
            r.body["conflicting_session"]["guid"], "opening-guid",
            "{r:#?}"
        );
        assert_eq!(
            r.body["conflicting_session"]["title"], "Opening plenary",
            "{r:#?}"
        );
    }

    // Room double-booked: overlapping partly, enclosing, enclosed.
    for (start, end) in [
        ("2025-06-12T09:30:00+02:00", "2025-06-12T10:30:00+02:00"),
        ("2025-06-12T08:00:00+02:00", "2025-06-12T11:00:00+02:00"),
        ("2025-06-12T09:15:00+02:00", "2025-06-12T09:45:00+02:00"),
        // The same instant written in UTC.
        ("2025-06-12T07:00:00Z", "2025-06-12T08:00:00Z"),
    ] {
        let r = post(
            &s,
            &sessions_path,
            Some(&tok),
            session_body("Clash", start, end, Some(&hall)),
        )
        .await;
        r.assert_problem(409, "/problems/room-double-booked");
        names_opening(&r);
    }

    // Speaker double-booked in another room.
    let mut clash = session_body(
        "Side panel",
        "2025-06-12T09:30:00+02:00",
        "2025-06-12T10:30:00+02:00",
        Some(&salon),
    );
    clash["speakers"] = json!([{ "speaker_id": mayor, "role": "moderator" }]);
    let r = post(&s, &sessions_path, Some(&tok), clash.clone()).await;
    r.assert_problem(409, "/problems/speaker-double-booked");
    names_opening(&r);
    // …and without a room at all.
    clash.as_object_mut().unwrap().remove("room_id");
    let r = post(&s, &sessions_path, Some(&tok), clash).await;
    r.assert_problem(409, "/problems/speaker-double-booked");
    names_opening(&r);

    // Time ranges: end before start, end == start.
    for (start, end) in [
        ("2025-06-12T15:00:00+02:00", "2025-06-12T14:00:00+02:00"),
        ("2025-06-12T15:00:00+02:00", "2025-06-12T15:00:00+02:00"),
        // Equal instants written with different offsets.
        ("2025-06-12T15:00:00+02:00", "2025-06-12T13:00:00Z"),
    ] {
        let r = post(
            &s,
            &sessions_path,
            Some(&tok),
            session_body("Backwards", start, end, Some(&salon)),
        )
        .await;
        r.assert_problem(409, "/problems/invalid-time-range");
    }
    assert_eq!(
        all_sessions(&s, Some(&tok), slug, "").await.len(),
        1,
        "a refused session was stored"
    );

    // Back-to-back is fine: in the same room, and for the same speaker.
    let mut after = session_body(
        "Panel after",
        "2025-06-12T10:00:00+02:00",
        "2025-06-12T11:00:00+02:00",
        Some(&hall),
    );
    after["speakers"] = json!([{ "speaker_id": mayor }]);
    let after = create_session(&s, &tok, slug, after).await;
    let mut before = session_body(
        "Coffee before",
        "2025-06-12T08:00:00+02:00",
        "2025-06-12T09:00:00+02:00",
        Some(&hall),
    );
    before["kind"] = json!("break");
    before["speakers"] = json!([{ "speaker_id": mayor }]);
    create_session(&s, &tok, slug, before).await;
    // Same slot, other room, other people: fine.
    create_session(
        &s,
        &tok,
        slug,
        session_body(
            "Parallel workshop",
            "2025-06-12T09:00:00+02:00",
            "2025-06-12T10:00:00+02:00",
            Some(&salon),
        ),
    )
    .await;

    // PATCH moving a session onto a booked slot → 409, unchanged.
    let after_id = after["id"].as_str().unwrap().to_owned();
    let after_path = format!("{sessions_path}/{after_id}");
    let before_move = expect(get(&s, &after_path, Some(&tok)).await, 200).body;
    let r = patch(
        &s,
        &after_path,
        Some(&tok),
        None,
        json!({"starts_at": "2025-06-12T09:30:00+02:00", "title": "Moved"}),
    )
    .await;
    r.assert_problem(409, "/problems/room-double-booked");
    names_opening(&r);
    // Moving the room onto a booked one, keeping the time.
    let salon_session = all_sessions(&s, Some(&tok), slug, &format!("room={salon}")).await;
    assert_eq!(salon_session.len(), 1);
    let salon_path = format!(
        "{sessions_path}/{}",
        salon_session[0]["id"].as_str().unwrap()
    );
    let r = patch(&s, &salon_path, Some(&tok), None, json!({"room_id": hall})).await;
    r.assert_problem(409, "/problems/room-double-booked");
    names_opening(&r);
    let r = patch(
        &s,
        &after_path,
        Some(&tok),
        None,
        json!({"ends_at": "2025-06-12T09:00:00+02:00"}),
    )
    .await;
    r.assert_problem(409, "/problems/invalid-time-range");
    assert_eq!(
        expect(get(&s, &after_path, Some(&tok)).await, 200).body,
        before_move,
        "a refused PATCH changed the session"
    );
    assert_eq!(
        expect(get(&s, &salon_path, Some(&tok)).await, 200).body["room"]["id"],
        json!(salon)
    );

    // A cancelled session frees its room and its people.
    let opening_path = format!("{sessions_path}/{opening_id}");
    let cancelled = expect(
        post_empty(&s, &format!("{opening_path}/cancel"), Some(&tok)).await,
        200,
    )
    .body;
    assert_eq!(cancelled["status"], "cancelled");
    let mut replacement = session_body(
        "Replacement",
        "2025-06-12T09:00:00+02:00",
        "2025-06-12T10:00:00+02:00",
        Some(&hall),
    );
    replacement["speakers"] = json!([{ "speaker_id": mayor }]);
    let replacement = create_session(&s, &tok, slug, replacement).await;
    assert_eq!(replacement["status"], "scheduled");
    // Un-cancelling the original now collides with its replacement.
    let r = patch(
        &s,
        &opening_path,
        Some(&tok),
        None,
        json!({"status": "scheduled"}),
    )
    .await;
    r.assert_problem(409, "/problems/room-double-booked");
    assert_eq!(r.body["conflicting_session"]["title"], "Replacement");
    assert_eq!(r.body["conflicting_session"]["guid"], replacement["guid"]);
    assert_eq!(
        expect(get(&s, &opening_path, Some(&tok)).await, 200).body["status"],
        "cancelled"
    );

    let live = all_sessions(&s, Some(&tok), slug, "status=scheduled").await;
    assert_eq!(
        titles(&live),
        set(&[
            "Panel after",
            "Coffee before",
            "Parallel workshop",
            "Replacement"
        ])
    );
    let cancelled = all_sessions(&s, Some(&tok), slug, "status=cancelled").await;
    assert_eq!(titles(&cancelled), set(&["Opening plenary"]));
}

// ---------------------------------------------------------------------------------------
// 5. Time zones: midnight and DST
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn sessions_keep_instants_across_midnight_and_dst() {
    let s = Server::start().await;
    let tok = s.organizer_token("tz@example.org");

    // Across midnight.
    create_forum(
        &s,
        &tok,
        "zurich-june",
        "Europe/Zurich",
        "2025-06-12",
        "2025-06-14",
    )
    .await;
    let night = create_session(
        &s,
        &tok,
        "zurich-june",
        session_body(
            "Night walk",
            "2025-06-12T23:30:00+02:00",
            "2025-06-13T01:00:00+02:00",
            None,
        ),
    )
    .await;
    let early = create_session(
        &s,
        &tok,
        "zurich-june",
        session_body(
            "Breakfast",
            "2025-06-13T00:30:00Z",
            "2025-06-13T01:00:00Z",
            None,
        ),
    )
    .await;
    for v in [
        night.clone(),
        expect(
            get(
                &s,
                &format!(
                    "/forums/zurich-june/sessions/{}",
                    night["id"].as_str().unwrap()
                ),
                Some(&tok),
            )
            .await,
            200,
        )
        .body,
    ] {
        assert_eq!(v["starts_at"], "2025-06-12T21:30:00Z");
        assert_eq!(v["ends_at"], "2025-06-12T23:00:00Z");
        assert_eq!(v["duration_minutes"], 90);
        assert_eq!(v["local"]["time_zone"], "Europe/Zurich");
        assert_eq!(v["local"]["starts_at"], "2025-06-12T23:30:00+02:00");
        assert_eq!(v["local"]["ends_at"], "2025-06-13T01:00:00+02:00");
        assert_eq!(v["local"]["day"], "2025-06-12");
    }
    // 00:30 UTC is 02:30 local on the 13th.
    assert_eq!(early["local"]["starts_at"], "2025-06-13T02:30:00+02:00");
    assert_eq!(early["local"]["day"], "2025-06-13");

    let day12 = all_sessions(&s, Some(&tok), "zurich-june", "day=2025-06-12").await;
    assert_eq!(titles(&day12), set(&["Night walk"]));
    let day13 = all_sessions(&s, Some(&tok), "zurich-june", "day=2025-06-13").await;
    assert_eq!(titles(&day13), set(&["Breakfast"]));
    let day14 = all_sessions(&s, Some(&tok), "zurich-june", "day=2025-06-14").await;
    assert!(day14.is_empty());

    // Across the DST change (CEST → CET at 03:00 local on 2025-10-26).
    create_forum(
        &s,
        &tok,
        "zurich-autumn",
        "Europe/Zurich",
        "2025-10-25",
        "2025-10-27",
    )
    .await;
    let dst = create_session(
        &s,
        &tok,
        "zurich-autumn",
        session_body(
            "Long night",
            "2025-10-26T01:30:00+02:00",
            "2025-10-26T03:30:00+01:00",
            None,
        ),
    )
    .await;
    let dst_id = dst["id"].as_str().unwrap().to_owned();
    let reread = expect(
        get(
            &s,
            &format!("/forums/zurich-autumn/sessions/{dst_id}"),
            Some(&tok),
        )
        .await,
        200,
    )
    .body;
    for v in [&dst, &reread] {
        assert_eq!(v["starts_at"], "2025-10-25T23:30:00Z");
        assert_eq!(v["ends_at"], "2025-10-26T02:30:00Z");
        assert_eq!(v["duration_minutes"], 180);
        assert_eq!(v["local"]["starts_at"], "2025-10-26T01:30:00+02:00");
        assert_eq!(v["local"]["ends_at"], "2025-10-26T03:30:00+01:00");
        assert_eq!(v["local"]["day"], "2025-10-26");
    }
    // The 25-hour day holds it; the day before does not.
    let d26 = all_sessions(&s, Some(&tok), "zurich-autumn", "day=2025-10-26").await;
    assert_eq!(titles(&d26), set(&["Long night"]));
    assert!(
        all_sessions(&s, Some(&tok), "zurich-autumn", "day=2025-10-25")
            .await
            .is_empty()
    );
    // The hour that happens twice: 02:30 CEST and 02:30 CET are different instants, so two
    // sessions in one room at those "same" local times do not collide.
    let room = create_room(&s, &tok, "zurich-autumn", "Hall").await;
    create_session(
        &s,
        &tok,
        "zurich-autumn",
        session_body(
            "First 02:30",
            "2025-10-26T02:30:00+02:00",
            "2025-10-26T02:59:00+02:00",
            Some(&room),
        ),
    )
    .await;
    let second = create_session(
        &s,
        &tok,
        "zurich-autumn",
        session_body(
            "Second 02:30",
            "2025-10-26T02:30:00+01:00",
            "2025-10-26T02:59:00+01:00",
            Some(&room),
        ),
    )
    .await;
    assert_eq!(second["local"]["starts_at"], "2025-10-26T02:30:00+01:00");
    assert_eq!(second["starts_at"], "2025-10-26T01:30:00Z");
}

// ---------------------------------------------------------------------------------------
// 6. Filters and pagination
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn session_filters_and_cursor_pagination() {
    let s = Server::start().await;
    let tok = s.organizer_token("filters@example.org");
    let slug = "filters";
    create_forum(&s, &tok, slug, "Europe/Zurich", "2025-06-12", "2025-06-13").await;
    let r1 = create_room(&s, &tok, slug, "Room One").await;
    let r2 = create_room(&s, &tok, slug, "Room Two").await;
    let specs: [(&str, &str, &str, &String, &str, &str); 7] = [
        // title, start, end, room, track, kind
        (
            "S1",
            "2025-06-12T09:00:00+02:00",
            "2025-06-12T10:00:00+02:00",
            &r1,
            "policy",
            "talk",
        ),
        (
            "S2",
            "2025-06-12T09:00:00+02:00",
            "2025-06-12T10:00:00+02:00",
            &r2,
            "culture",
            "panel",
        ),
        (
            "S3",
            "2025-06-12T11:00:00+02:00",
            "2025-06-12T12:00:00+02:00",
            &r1,
            "culture",
            "panel",
        ),
        (
            "S4",
            "2025-06-12T23:00:00+02:00",
            "2025-06-13T00:30:00+02:00",
            &r2,
            "policy",
            "talk",
        ),
        (
            "S5",
            "2025-06-13T09:00:00+02:00",
            "2025-06-13T10:00:00+02:00",
            &r1,
            "policy",
            "panel",
        ),
        (
            "S6",
            "2025-06-13T10:00:00+02:00",
            "2025-06-13T11:00:00+02:00",
            &r2,
            "culture",
            "talk",
        ),
        (
            "S7",
            "2025-06-13T13:00:00+02:00",
            "2025-06-13T14:00:00+02:00",
            &r1,
            "culture",
            "talk",
        ),
    ];
    // Created out of order, so that order by creation is not order by start.
    for i in [6usize, 2, 0, 4, 1, 5, 3] {
        let (title, start, end, room, track, kind) = specs[i];
        let mut b = session_body(title, start, end, Some(room));
        b["track"] = json!(track);
        b["kind"] = json!(kind);
        create_session(&s, &tok, slug, b).await;
    }
    publish(&s, &tok, slug).await;

    let all = all_sessions(&s, None, slug, "").await;
    assert_eq!(all.len(), 7);
    let starts: Vec<&str> = all
        .iter()
        .map(|v| v["starts_at"].as_str().unwrap())
        .collect();
    let mut sorted = starts.clone();
    sorted.sort();
    assert_eq!(starts, sorted, "not in start order");

    let cases: Vec<(String, Vec<&str>)> = vec![
        ("day=2025-06-12".into(), vec!["S1", "S2", "S3", "S4"]),
        ("day=2025-06-13".into(), vec!["S5", "S6", "S7"]),
        ("day=2025-06-14".into(), vec![]),
        (format!("room={r1}"), vec!["S1", "S3", "S5", "S7"]),
        (format!("room={r2}"), vec!["S2", "S4", "S6"]),
        ("track=policy".into(), vec!["S1", "S4", "S5"]),
        ("track=culture".into(), vec!["S2", "S3", "S6", "S7"]),
        ("track=nothing".into(), vec![]),
        ("kind=panel".into(), vec!["S2", "S3", "S5"]),
        ("kind=talk".into(), vec!["S1", "S4", "S6", "S7"]),
        ("kind=workshop".into(), vec![]),
        (format!("day=2025-06-13&room={r1}"), vec!["S5", "S7"]),
        (
            "day=2025-06-12&track=policy&kind=talk".into(),
            vec!["S1", "S4"],
        ),
        (format!("room={r2}&kind=panel&track=culture"), vec!["S2"]),
    ];
    for (q, want) in cases {
        let got = all_sessions(&s, None, slug, &q).await;
        assert_eq!(titles(&got), set(&want), "filter {q}");
    }

    // limit=3 pages through all seven, in start order, without duplicates or gaps.
    let mut seen: Vec<String> = vec![];
    let mut cursor: Option<String> = None;
    let mut pages = 0;
    loop {
        let path = match &cursor {
            None => format!("/forums/{slug}/sessions?limit=3"),
            Some(c) => format!("/forums/{slug}/sessions?limit=3&cursor={c}"),
        };
        let r = expect(get(&s, &path, None).await, 200);
        pages += 1;
        let items = r.body["items"].as_array().unwrap();
        assert!(items.len() <= 3, "page larger than limit: {r:#?}");
        seen.extend(items.iter().map(|v| v["id"].as_str().unwrap().to_owned()));
        match r.body["next_cursor"].as_str() {
            Some(c) => {
                assert_eq!(items.len(), 3, "a non-final page is short: {r:#?}");
                cursor = Some(c.to_owned());
            }
            None => break,
        }
        assert!(pages < 10, "pagination does not end");
    }
    assert_eq!(pages, 3);
    let all_ids: Vec<String> = all
        .iter()
        .map(|v| v["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(seen, all_ids, "paged ids differ from the full list");
    assert_eq!(
        seen.iter().collect::<HashSet<_>>().len(),
        7,
        "duplicates across pages"
    );

    // Pagination with a filter.
    let r = expect(
        get(
            &s,
            &format!("/forums/{slug}/sessions?limit=2&room={r1}"),
            None,
        )
        .await,
        200,
    );
    let c = r.body["next_cursor"]
        .as_str()
        .expect("a second page")
        .to_owned();
    let r2page = expect(
        get(
            &s,
            &format!("/forums/{slug}/sessions?limit=2&room={r1}&cursor={c}"),
            None,
        )
        .await,
        200,
    );
    let mut paged = titles(r.body["items"].as_array().unwrap());
    paged.extend(titles(r2page.body["items"].as_array().unwrap()));
    assert_eq!(paged, set(&["S1", "S3", "S5", "S7"]));
    assert!(r2page.body["next_cursor"].is_null());

    // Bad cursors and limits.
    for q in [
        "cursor=garbage",
        "cursor=eyJub3QiOiJhIGN1cnNvciJ9",
        "cursor=%21%21%21",
    ] {
        let r = get(&s, &format!("/forums/{slug}/sessions?{q}"), None).await;
        r.assert_problem(422, "/problems/validation-error");
        assert_eq!(r.error_fields(), vec!["cursor"], "{q}: {r:#?}");
    }
    for q in ["limit=0", "limit=501"] {
        let r = get(&s, &format!("/forums/{slug}/sessions?{q}"), None).await;
        r.assert_problem(422, "/problems/validation-error");
        assert_eq!(r.error_fields(), vec!["limit"], "{q}: {r:#?}");
    }
    let r = get(&s, "/forums?limit=0", None).await;
    r.assert_problem(422, "/problems/validation-error");
    let r = get(&s, "/forums?cursor=garbage", None).await;
    r.assert_problem(422, "/problems/validation-error");
}

// ---------------------------------------------------------------------------------------
// 7. Malformed input writes nothing
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn malformed_input_is_refused_and_writes_nothing() {
    let s = Server::start().await;
    let tok = s.organizer_token("malformed@example.org");
    let slug = "malformed";
    create_forum(&s, &tok, slug, "Europe/Zurich", "2025-06-12", "2025-06-13").await;
    let room = create_room(&s, &tok, slug, "Hall").await;
    let forum_before = expect(get(&s, &format!("/forums/{slug}"), Some(&tok)).await, 200).body;
    let rooms_before = expect(
        get(&s, &format!("/forums/{slug}/rooms"), Some(&tok)).await,
        200,
    )
    .body;
    let good_forum = forum_body("second", "Europe/Zurich", "2025-06-12", "2025-06-13");
    let good_session = session_body(
        "Talk",
        "2025-06-12T09:00:00+02:00",
        "2025-06-12T10:00:00+02:00",
        Some(&room),
    );
    let sessions_path = format!("/forums/{slug}/sessions");
    let rooms_path = format!("/forums/{slug}/rooms");

    // Not JSON → 400.
    for (path, body) in [
        ("/forums", "this is not json"),
        ("/forums", "{\"slug\": \"second\", "),
        ("/forums", ""),
        (sessions_path.as_str(), "{\"kind\": talk}"),
        (rooms_path.as_str(), "{\"name\": \"Attic\""),
    ] {
        let r = send(
            req(&s, Method::POST, path, Some(&tok))
                .header("content-type", "application/json")
                .body(body),
        )
        .await;
        r.assert_problem(400, "/problems/malformed-request");
    }
    let r = send(
        req(&s, Method::PATCH, &format!("/forums/{slug}"), Some(&tok))
            .header("content-type", "application/json")
            .body("{title: 'x'}"),
    )
    .await;
    r.assert_problem(400, "/problems/malformed-request");

    // Wrong or missing content type → 415.
    let good_text = good_forum.to_string();
    for ct in [
        Some("text/plain"),
        Some("application/x-www-form-urlencoded"),
        Some("application/xml"),
        None,
    ] {
        let mut rb = req(&s, Method::POST, "/forums", Some(&tok)).body(good_text.clone());
        if let Some(ct) = ct {
            rb = rb.header("content-type", ct);
        }
        let r = send(rb).await;
        r.assert_problem(415, "/problems/unsupported-media-type");
    }
    let r = send(
        req(&s, Method::POST, &sessions_path, Some(&tok))
            .header("content-type", "text/plain")
            .body(good_session.to_string()),
    )
    .await;
    r.assert_problem(415, "/problems/unsupported-media-type");
    // `application/json; charset=utf-8` is JSON.
    let r = send(
        req(&s, Method::POST, &rooms_path, Some(&tok))
            .header("content-type", "application/json; charset=utf-8")
            .body(json!({"name": "Annex"}).to_string()),
    )
    .await;
    let annex = expect(r, 201).body["id"].as_str().unwrap().to_owned();
    expect(
        delete(&s, &format!("{rooms_path}/{annex}"), Some(&tok)).await,
        204,
    );

    // A field of the wrong type → 422 naming it.
    let mut wrong_types: Vec<(String, Value, &str)> = vec![
        (
            rooms_path.clone(),
            json!({"name": "Attic", "capacity": "ten"}),
            "capacity",
        ),
        (rooms_path.clone(), json!({"name": 42}), "name"),
    ];
    let mut b = good_session.clone();
    b["starts_at"] = json!("tomorrow morning");
    wrong_types.push((sessions_path.clone(), b, "starts_at"));
    let mut b = good_session.clone();
    b["kind"] = json!("banquet");
    wrong_types.push((sessions_path.clone(), b, "kind"));
    let mut b = good_session.clone();
    b["room_id"] = json!("not-a-uuid");
    wrong_types.push((sessions_path.clone(), b, "room_id"));
    let mut b = good_session.clone();
    b["capacity"] = json!(12.5);
    wrong_types.push((sessions_path.clone(), b, "capacity"));
    let mut b = good_forum.clone();
    b["first_day"] = json!("12.06.2025");
    wrong_types.push(("/forums".into(), b, "first_day"));
    let mut b = good_forum.clone();
    b["capacity"] = json!("ten");
    wrong_types.push(("/forums".into(), b, "capacity"));
    for (path, body, field) in wrong_types {
        let r = post(&s, &path, Some(&tok), body).await;
        r.assert_problem(422, "/problems/validation-error");
        assert_eq!(r.body["errors"][0]["field"], json!(field), "{path}: {r:#?}");
    }

    // Unknown fields → 422 naming them.
    let mut b = good_session.clone();
    b["colour"] = json!("red");
    for (path, body, field) in [
        (
            rooms_path.clone(),
            json!({"name": "Attic", "colour": "red"}),
            "colour",
        ),
        (sessions_path.clone(), b, "colour"),
        (
            "/forums".to_owned(),
            {
                let mut f = good_forum.clone();
                f["owner"] = json!("someone-else");
                f
            },
            "owner",
        ),
    ] {
        let r = post(&s, &path, Some(&tok), body).await;
        r.assert_problem(422, "/problems/validation-error");
        assert_eq!(r.error_fields(), vec![field.to_owned()], "{path}: {r:#?}");
    }
    let r = patch(
        &s,
        &format!("/forums/{slug}"),
        Some(&tok),
        None,
        json!({"title": "x", "status": "published"}),
    )
    .await;
    r.assert_problem(422, "/problems/validation-error");
    assert_eq!(r.error_fields(), vec!["status"]);

    // Field rules → 422 with per-field errors, all at once.
    let mut b = good_forum.clone();
    b["time_zone"] = json!("Mars/Olympus_Mons");
    b["country"] = json!("XX");
    b["first_day"] = json!("2025-06-13");
    b["last_day"] = json!("2025-06-12");
    let r = post(&s, "/forums", Some(&tok), b).await;
    r.assert_problem(422, "/problems/validation-error");
    let fields: BTreeSet<String> = r.error_fields().into_iter().collect();
    assert_eq!(fields, set(&["time_zone", "country", "last_day"]), "{r:#?}");
    for (field, value) in [
        ("time_zone", json!("Europe/Atlantis")),
        ("time_zone", json!("")),
        ("country", json!("Switzerland")),
        ("country", json!("QQ")),
        ("last_day", json!("2025-06-01")),
        ("slug", json!("Not A Slug")),
        ("title", json!("   ")),
    ] {
        let mut b = good_forum.clone();
        b[field] = value.clone();
        let r = post(&s, "/forums", Some(&tok), b).await;
        r.assert_problem(422, "/problems/validation-error");
        assert_eq!(
            r.error_fields(),
            vec![field.to_owned()],
            "{field}={value}: {r:#?}"
        );
    }
    let r = patch(
        &s,
        &format!("/forums/{slug}"),
        Some(&tok),
        None,
        json!({"time_zone": "Nowhere/Else", "last_day": "2025-06-01", "title": "Should not stick"}),
    )
    .await;
    r.assert_problem(422, "/problems/validation-error");
    let fields: BTreeSet<String> = r.error_fields().into_iter().collect();
    assert_eq!(fields, set(&["time_zone", "last_day"]), "{r:#?}");
    // A session rule and a room of another forum.
    let mut b = good_session.clone();
    b["title"] = json!("");
    let r = post(&s, &sessions_path, Some(&tok), b).await;
    r.assert_problem(422, "/problems/validation-error");
    assert_eq!(r.error_fields(), vec!["title"]);
    let mut b = good_session.clone();
    b["room_id"] = json!(uuid::Uuid::new_v4());
    let r = post(&s, &sessions_path, Some(&tok), b).await;
    r.assert_problem(422, "/problems/validation-error");
    assert_eq!(r.error_fields(), vec!["room_id"]);
    let mut b = good_session.clone();
    b["speakers"] = json!([{ "speaker_id": uuid::Uuid::new_v4() }]);
    let r = post(&s, &sessions_path, Some(&tok), b).await;
    r.assert_problem(422, "/problems/validation-error");
    assert_eq!(r.error_fields(), vec!["speakers[0].speaker_id"]);

    // Nothing was written.
    assert_eq!(forum_slugs(&s, Some(&tok)).await, set(&[slug]));
    assert_eq!(
        expect(get(&s, &format!("/forums/{slug}"), Some(&tok)).await, 200).body,
        forum_before
    );
    assert_eq!(
        expect(get(&s, &rooms_path, Some(&tok)).await, 200).body,
        rooms_before
    );
    assert!(all_sessions(&s, Some(&tok), slug, "").await.is_empty());
    assert_eq!(
        expect(
            get(&s, &format!("/forums/{slug}/speakers"), Some(&tok)).await,
            200
        )
        .body,
        json!({"items": [], "next_cursor": null})
    );
    // And the good inputs work, proving the refusals were about the input.
    create_session(&s, &tok, slug, good_session).await;
    expect(post(&s, "/forums", Some(&tok), good_forum).await, 201);
}

// ---------------------------------------------------------------------------------------
// 8. Rooms
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn room_names_are_unique_per_forum_and_used_rooms_stay() {
    let s = Server::start().await;
    let tok = s.organizer_token("rooms@example.org");
    create_forum(
        &s,
        &tok,
        "rooms-a",
        "Europe/Zurich",
        "2025-06-12",
        "2025-06-13",
    )
    .await;
    create_forum(
        &s,
        &tok,
        "rooms-b",
        "Europe/Zurich",
        "2025-06-12",
        "2025-06-13",
    )
    .await;

    let hall = create_room(&s, &tok, "rooms-a", "Great Hall").await;
    for name in ["Great Hall", "  Great Hall  "] {
        let r = post(
            &s,
            "/forums/rooms-a/rooms",
            Some(&tok),
            json!({"name": name}),
        )
        .await;
        r.assert_problem(409, "/problems/already-exists");
    }
    // The same name in another forum is fine.
    let hall_b = create_room(&s, &tok, "rooms-b", "Great Hall").await;
    assert_ne!(hall, hall_b);
    // Renaming onto a taken name is refused too.
    let salon = create_room(&s, &tok, "rooms-a", "Salon").await;
    let r = patch(
        &s,
        &format!("/forums/rooms-a/rooms/{salon}"),
        Some(&tok),
        None,
        json!({"name": "Great Hall"}),
    )
    .await;
    r.assert_problem(409, "/problems/already-exists");
    let names: BTreeSet<String> = expect(get(&s, "/forums/rooms-a/rooms", Some(&tok)).await, 200)
        .body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(names, set(&["Great Hall", "Salon"]));
    // A room of one forum is not reachable through the other.
    get(&s, &format!("/forums/rooms-b/rooms/{hall}"), Some(&tok))
        .await
        .assert_problem(404, "/problems/not-found");
    delete(&s, &format!("/forums/rooms-b/rooms/{hall}"), Some(&tok))
        .await
        .assert_problem(404, "/problems/not-found");

    // A room used by a session cannot be deleted (even once the session is cancelled).
    let session = create_session(
        &s,
        &tok,
        "rooms-a",
        session_body(
            "Welcome",
            "2025-06-12T09:00:00+02:00",
            "2025-06-12T10:00:00+02:00",
            Some(&hall),
        ),
    )
    .await;
    let r = delete(&s, &format!("/forums/rooms-a/rooms/{hall}"), Some(&tok)).await;
    r.assert_problem(409, "/problems/invalid-state");
    let sid = session["id"].as_str().unwrap();
    expect(
        post_empty(
            &s,
            &format!("/forums/rooms-a/sessions/{sid}/cancel"),
            Some(&tok),
        )
        .await,
        200,
    );
    let r = delete(&s, &format!("/forums/rooms-a/rooms/{hall}"), Some(&tok)).await;
    r.assert_problem(409, "/problems/invalid-state");
    expect(
        get(&s, &format!("/forums/rooms-a/rooms/{hall}"), Some(&tok)).await,
        200,
    );
    let s_after = expect(
        get(&s, &format!("/forums/rooms-a/sessions/{sid}"), Some(&tok)).await,
        200,
    )
    .body;
    assert_eq!(s_after["room"]["id"], json!(hall));

    // Once the session is gone, the room can go; an unused room goes at once.
    expect(
        delete(&s, &format!("/forums/rooms-a/sessions/{sid}"), Some(&tok)).await,
        204,
    );
    expect(
        delete(&s, &format!("/forums/rooms-a/rooms/{hall}"), Some(&tok)).await,
        204,
    );
    expect(
        delete(&s, &format!("/forums/rooms-a/rooms/{salon}"), Some(&tok)).await,
        204,
    );
    assert_eq!(
        expect(get(&s, "/forums/rooms-a/rooms", Some(&tok)).await, 200).body,
        json!({"items": [], "next_cursor": null})
    );
    // The freed name can be used again.
    create_room(&s, &tok, "rooms-a", "Great Hall").await;
    // The other forum's room was untouched.
    expect(
        get(&s, &format!("/forums/rooms-b/rooms/{hall_b}"), Some(&tok)).await,
        200,
    );
}

// ---------------------------------------------------------------------------------------
// 9. Concurrency
// ---------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_bookings_of_one_slot_leave_exactly_one() {
    let s = Server::start().await;
    let tok = s.organizer_token("race@example.org");
    let slug = "race";
    create_forum(&s, &tok, slug, "Europe/Zurich", "2025-06-12", "2025-06-13").await;
    let hall = create_room(&s, &tok, slug, "Hall").await;
    let url = s.url(&format!("/api/v1/forums/{slug}/sessions"));

    // 40 writers race for the same room and slot (each with slightly different times, all
    // overlapping 10:00–10:30).
    let mut handles = vec![];
    for i in 0..40 {
        let client = s.client.clone();
        let url = url.clone();
        let tok = tok.clone();
        let body = session_body(
            &format!("Contender {i}"),
            &format!("2025-06-12T10:{:02}:00+02:00", i % 30),
            &format!("2025-06-12T11:{:02}:00+02:00", i % 17),
            Some(&hall),
        );
        handles.push(tokio::spawn(async move {
            send(client.post(url).bearer_auth(tok).json(&body)).await
        }));
    }
    let mut created = vec![];
    let mut refused = vec![];
    for h in handles {
        let r = h.await.expect("task");
        match r.status {
            201 => created.push(r),
            409 => refused.push(r),
            _ => panic!("a concurrent create answered neither 201 nor 409: {r:#?}"),
        }
    }
    assert_eq!(created.len(), 1, "winners: {created:#?}");
    assert_eq!(refused.len(), 39);
    let winner = &created[0].body;
    for r in &refused {
        r.assert_problem(409, "/problems/room-double-booked");
        assert_eq!(
            r.body["conflicting_session"]["title"], winner["title"],
            "{r:#?}"
        );
        assert_eq!(
            r.body["conflicting_session"]["guid"], winner["guid"],
            "{r:#?}"
        );
    }
    let live = all_sessions(
        &s,
        Some(&tok),
        slug,
        &format!("room={hall}&status=scheduled"),
    )
    .await;
    assert_eq!(live.len(), 1, "{live:#?}");
    assert_eq!(live[0]["id"], winner["id"]);
    assert_eq!(all_sessions(&s, Some(&tok), slug, "").await.len(), 1);

    // 30 concurrent writers into different rooms and slots all succeed.
    let mut rooms = vec![];
    for n in 0..3 {
        rooms.push(create_room(&s, &tok, slug, &format!("Room {n}")).await);
    }
    let mut handles = vec![];
    for i in 0..30 {
        let client = s.client.clone();
        let url = url.clone();
        let tok = tok.clone();
        let room = rooms[i % 3].clone();
        let slot = i / 3; // 10 slots per room, 30 minutes each, from 12:00
        let start = 12 * 60 + slot * 30;
        let body = session_body(
            &format!("Parallel {i}"),
            &format!("2025-06-12T{:02}:{:02}:00+02:00", start / 60, start % 60),
            &format!(
                "2025-06-12T{:02}:{:02}:00+02:00",
                (start + 30) / 60,
                (start + 30) % 60
            ),
            Some(&room),
        );
        handles.push(tokio::spawn(async move {
            send(client.post(url).bearer_auth(tok).json(&body)).await
        }));
    }
    for h in handles {
        let r = h.await.expect("task");
        assert_eq!(
            r.status, 201,
            "a non-conflicting concurrent create failed: {r:#?}"
        );
    }
    let all = all_sessions(&s, Some(&tok), slug, "").await;
    assert_eq!(all.len(), 31);
    for room in &rooms {
        assert_eq!(
            all_sessions(&s, Some(&tok), slug, &format!("room={room}"))
                .await
                .len(),
            10
        );
    }
    let stderr = s.stderr();
    assert!(
        !stderr.contains("database is locked"),
        "server log: {stderr}"
    );
}

// ---------------------------------------------------------------------------------------
// 10. OpenAPI and the docs page
// ---------------------------------------------------------------------------------------

/// The base against which the OpenAPI paths resolve: the first `servers` URL, else `/`.
fn openapi_base(doc: &Value) -> String {
    doc["servers"][0]["url"]
        .as_str()
        .unwrap_or("")
        .trim_end_matches('/')
        .to_owned()
}

#[tokio::test]
async fn openapi_document_and_offline_docs() {
    let s = Server::start().await;
    let r = expect(send(s.client.get(s.url("/api/v1/openapi.json"))).await, 200);
    assert!(
        r.content_type().starts_with("application/json"),
        "{:?}",
        r.content_type()
    );
    let doc = &r.body;
    assert!(
        doc["openapi"].as_str().unwrap_or("").starts_with("3.1"),
        "{:?}",
        doc["openapi"]
    );
    let paths = doc["paths"].as_object().expect("paths");
    // The paths are written relative to the API root `/api/v1` (see `openapi_paths_resolve…`).
    let sessions = paths
        .get("/forums/{slug}/sessions")
        .or_else(|| paths.get("/api/v1/forums/{slug}/sessions"))
        .unwrap_or_else(|| panic!("no sessions path in {:?}", paths.keys().collect::<Vec<_>>()));
    assert!(sessions.get("get").is_some() && sessions.get("post").is_some());
    for p in [
        "/forums",
        "/forums/{slug}",
        "/forums/{slug}/publish",
        "/forums/{slug}/rooms",
        "/forums/{slug}/rooms/{id}",
        "/forums/{slug}/speakers",
        "/forums/{slug}/sessions/{id}",
        "/forums/{slug}/sessions/{id}/cancel",
        "/forums/{slug}/schedule.json",
    ] {
        assert!(
            paths.contains_key(p) || paths.contains_key(&format!("/api/v1{p}")),
            "missing path {p}"
        );
    }
    assert!(
        doc["components"]["securitySchemes"]["bearer"].is_object(),
        "no bearer scheme"
    );
    assert!(
        doc["components"]["schemas"]["Problem"].is_object(),
        "no Problem schema"
    );

    // The docs page: HTML, only local assets, all of which are served.
    let r = send(s.client.get(s.url("/api/v1/docs/"))).await;
    let r = expect(r, 200);
    assert!(
        r.content_type().starts_with("text/html"),
        "{:?}",
        r.content_type()
    );
    let html = &r.text;
    assert!(html.contains("<script"), "no script in docs page");
    let mut refs = vec![];
    for attr in ["src=\"", "href=\""] {
        let mut rest = html.as_str();
        while let Some(i) = rest.find(attr) {
            rest = &rest[i + attr.len()..];
            let end = rest.find('"').unwrap_or(rest.len());
            refs.push(rest[..end].to_owned());
            rest = &rest[end..];
        }
    }
    assert!(!refs.is_empty());
    let lower = html.to_ascii_lowercase();
    assert!(
        !lower.contains("http://") && !lower.contains("https://") && !lower.contains("src=\"//"),
        "external URL in docs page:\n{html}"
    );
    for asset in &refs {
        assert!(
            !asset.contains("://") && !asset.starts_with("//"),
            "external asset {asset}"
        );
        let path = asset.trim_start_matches("./");
        let url = if path.starts_with('/') {
            s.url(path)
        } else {
            s.url(&format!("/api/v1/docs/{path}"))
        };
        let r = send(s.client.get(&url)).await;
        assert_eq!(r.status, 200, "docs asset {asset} → {url}: {}", r.status);
        assert!(!r.text.is_empty(), "docs asset {asset} is empty");
    }
    // The initializer loads the spec from this server.
    let init = expect(
        send(s.client.get(s.url("/api/v1/docs/swagger-initializer.js"))).await,
        200,
    );
    assert!(init.text.contains("/api/v1/openapi.json"), "{}", init.text);
    assert!(
        !init.text.contains("http://") && !init.text.contains("https://"),
        "{}",
        init.text
    );
}

/// A client built from the OpenAPI document must reach the API: `servers[0].url` + path
/// must be a real route. Currently the paths are `/forums/…` with no `servers` entry, so
/// "Try it out" and generated clients call `/forums/{slug}/sessions`, which is 404.
#[tokio::test]
async fn openapi_paths_resolve_to_real_routes() {
    let s = Server::start().await;
    let tok = s.organizer_token("openapi@example.org");
    create_forum(
        &s,
        &tok,
        "openapi-forum",
        "Europe/Zurich",
        "2025-06-12",
        "2025-06-13",
    )
    .await;
    publish(&s, &tok, "openapi-forum").await;
    let doc = expect(send(s.client.get(s.url("/api/v1/openapi.json"))).await, 200).body;
    let base = openapi_base(&doc);
    let path = doc["paths"]
        .as_object()
        .unwrap()
        .keys()
        .find(|k| k.ends_with("/forums/{slug}/sessions"))
        .expect("sessions path")
        .replace("{slug}", "openapi-forum");
    let r = send(s.client.get(s.url(&format!("{base}{path}")))).await;
    assert_eq!(r.status, 200, "{base}{path}: {r:#?}");
}

/// Every error is an RFC 9457 problem (DESIGN.md, "API conventions"), including a query
/// string or path parameter that does not parse. Currently axum's own rejections leak out
/// as `400 text/plain` ("Failed to deserialize query string: …", "Invalid URL: …").
#[tokio::test]
async fn unparsable_query_and_path_parameters_are_problems() {
    let s = Server::start().await;
    let tok = s.organizer_token("query@example.org");
    create_forum(
        &s,
        &tok,
        "query-forum",
        "Europe/Zurich",
        "2025-06-12",
        "2025-06-13",
    )
    .await;
    for path in [
        "/forums/query-forum/sessions?day=garbage",
        "/forums/query-forum/sessions?limit=-1",
        "/forums/query-forum/sessions?kind=banquet",
        "/forums/query-forum/sessions?room=not-a-uuid",
        "/forums?status=weird",
        "/forums/query-forum/sessions/not-a-uuid",
    ] {
        let r = get(&s, path, Some(&tok)).await;
        assert!((400..500).contains(&r.status), "{path}: {r:#?}");
        assert!(
            r.content_type().starts_with("application/problem+json"),
            "{path}: {} {:?} {}",
            r.status,
            r.content_type(),
            r.text
        );
    }
}

/// Schedule exports are cached per programme version: every kind of programme change
/// (session, room, speaker) shows in the next export, and `If-None-Match` with the
/// current ETag answers 304 — the apps poll these URLs.
#[tokio::test]
async fn schedule_exports_follow_every_programme_change_and_answer_304() {
    let s = Server::start().await;
    let tok = s.organizer_token("cache@example.org");
    create_forum(
        &s,
        &tok,
        "cache-forum",
        "Europe/Zurich",
        "2025-06-12",
        "2025-06-13",
    )
    .await;
    publish(&s, &tok, "cache-forum").await;
    let room = create_room(&s, &tok, "cache-forum", "Saal A").await;
    let speaker = create_speaker(&s, &tok, "cache-forum", "Ada Lovelace").await;
    let mut body = session_body(
        "First title",
        "2025-06-12T10:00:00+02:00",
        "2025-06-12T11:00:00+02:00",
        Some(&room),
    );
    body["speakers"] = json!([{ "speaker_id": speaker }]);
    let session = create_session(&s, &tok, "cache-forum", body).await;
    let sid = session["id"].as_str().unwrap().to_owned();

    async fn fetch(s: &Server, ext: &str, inm: Option<&str>) -> (u16, String, String) {
        let mut rb = s
            .client
            .get(s.url(&format!("/api/v1/forums/cache-forum/schedule.{ext}")));
        if let Some(t) = inm {
            rb = rb.header("if-none-match", t);
        }
        let r = rb.send().await.unwrap();
        let status = r.status().as_u16();
        let etag = r
            .headers()
            .get("etag")
            .map(|v| v.to_str().unwrap().to_owned())
            .unwrap_or_default();
        (status, etag, r.text().await.unwrap())
    }

    for ext in ["json", "xml", "ics"] {
        let (st, tag, text) = fetch(&s, ext, None).await;
        assert_eq!(st, 200, "{ext}");
        assert!(text.contains("First title"), "{ext}: {text}");
        assert!(!tag.is_empty(), "{ext} has an ETag");
        let (st, tag2, text2) = fetch(&s, ext, Some(&tag)).await;
        assert_eq!(
            (st, tag2.as_str(), text2.as_str()),
            (304, tag.as_str(), ""),
            "{ext}"
        );
    }
    let (_, tag_before, _) = fetch(&s, "json", None).await;

    // A session edit.
    let etag = get(&s, &format!("/forums/cache-forum/sessions/{sid}"), None)
        .await
        .header("etag")
        .unwrap()
        .to_owned();
    expect(
        patch(
            &s,
            &format!("/forums/cache-forum/sessions/{sid}"),
            Some(&tok),
            Some(&etag),
            json!({ "title": "Second title" }),
        )
        .await,
        200,
    );
    let (st, tag_after, text) = fetch(&s, "json", Some(&tag_before)).await;
    assert_eq!(st, 200, "the old ETag no longer matches");
    assert_ne!(tag_after, tag_before);
    assert!(text.contains("Second title") && !text.contains("First title"));
    for ext in ["xml", "ics"] {
        assert!(
            fetch(&s, ext, None).await.2.contains("Second title"),
            "{ext}"
        );
    }

    // A room rename and a speaker rename reach the exports too.
    expect(
        patch(
            &s,
            &format!("/forums/cache-forum/rooms/{room}"),
            Some(&tok),
            None,
            json!({ "name": "Saal B" }),
        )
        .await,
        200,
    );
    let (_, _, text) = fetch(&s, "xml", None).await;
    assert!(
        text.contains("Saal B") && !text.contains("Saal A"),
        "{text}"
    );
    expect(
        patch(
            &s,
            &format!("/forums/cache-forum/speakers/{speaker}"),
            Some(&tok),
            None,
            json!({ "name": "Grace Hopper" }),
        )
        .await,
        200,
    );
    let (_, _, text) = fetch(&s, "json", None).await;
    assert!(
        text.contains("Grace Hopper") && !text.contains("Ada Lovelace"),
        "{text}"
    );

    // Cancelling removes it from every export.
    expect(
        post_empty(
            &s,
            &format!("/forums/cache-forum/sessions/{sid}/cancel"),
            Some(&tok),
        )
        .await,
        200,
    );
    for ext in ["json", "xml", "ics"] {
        assert!(
            !fetch(&s, ext, None).await.2.contains("Second title"),
            "{ext}"
        );
    }
}
