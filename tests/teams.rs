//! Forum teams, scoped tokens and the access matrix (issue 15, items 8 and 9), against the
//! built binary over HTTP, on SQLite or PostgreSQL (`CONVENE_TEST_DATABASE_URL`).
//!
//! The access matrix is generated from the server's own OpenAPI document: every operation
//! × every kind of credential, each answer compared with what the rights table
//! (`convene_domain::teams::RIGHTS`, narrowed by token scopes) and the API's access table
//! (`convene_api::access::OPERATIONS`) say. An operation without an entry fails the test.
mod common;

use std::time::Duration;

use convene_api::access::{need_of, Need};
use convene_domain::teams::{self, Grant, Role, TokenScope};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use sqlx::Connection as _;

use common::Server;

/// `method path` with an optional bearer token and JSON body → (status, JSON or string).
async fn req(
    s: &Server,
    method: Method,
    path: &str,
    token: Option<&str>,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let mut rb = s.client.request(method, s.url(&format!("/api/v1{path}")));
    if let Some(t) = token {
        rb = rb.bearer_auth(t);
    }
    if let Some(b) = body {
        rb = rb.json(&b);
    }
    let res = rb.send().await.expect("request");
    let st = res.status();
    let text = res.text().await.unwrap_or_default();
    (
        st,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

/// A token for a new or existing account (`convene admin create-organizer`).
fn token_for(s: &Server, email: &str) -> String {
    s.organizer_token(email)
}

fn new_forum(slug: &str) -> Value {
    json!({"slug": slug, "title": format!("Forum {slug}"), "time_zone": "Europe/Istanbul",
           "first_day": "2027-05-01", "last_day": "2027-05-02"})
}

/// Runs one SQL query returning one text column on the server's database.
async fn sql_texts(s: &Server, sql: &str) -> Vec<String> {
    let url = s.db.url.clone();
    if url.starts_with("sqlite") {
        let mut c = sqlx::SqliteConnection::connect(&url).await.expect("sqlite");
        let rows: Vec<(String,)> = sqlx::query_as(sqlx::AssertSqlSafe(sql.to_owned()))
            .fetch_all(&mut c)
            .await
            .expect("query");
        rows.into_iter().map(|r| r.0).collect()
    } else {
        let mut c = sqlx::PgConnection::connect(&url).await.expect("postgres");
        let rows: Vec<(String,)> = sqlx::query_as(sqlx::AssertSqlSafe(sql.to_owned()))
            .fetch_all(&mut c)
            .await
            .expect("query");
        rows.into_iter().map(|r| r.0).collect()
    }
}

#[tokio::test]
async fn members_are_added_changed_listed_and_removed_and_a_forum_keeps_an_owner() {
    let s = Server::start().await;
    let owner = token_for(&s, "owner@example.org");
    let (st, b) = req(
        &s,
        Method::POST,
        "/forums",
        Some(&owner),
        Some(new_forum("team")),
    )
    .await;
    assert_eq!(st, 201, "{b}");

    // Add by e-mail: the account is created.
    let (st, m) = req(
        &s,
        Method::POST,
        "/forums/team/members",
        Some(&owner),
        Some(json!({"email": " New.Person@Example.org ", "role": "organizer", "name": "Nia"})),
    )
    .await;
    assert_eq!(st, 201, "{m}");
    assert_eq!(m["email"], "new.person@example.org");
    assert_eq!(m["role"], "organizer");
    let new_id = m["account_id"].as_str().unwrap().to_owned();
    // Twice → 409; an unknown role → 422.
    let (st, _) = req(
        &s,
        Method::POST,
        "/forums/team/members",
        Some(&owner),
        Some(json!({"email": "new.person@example.org", "role": "viewer"})),
    )
    .await;
    assert_eq!(st, 409);
    let (st, b) = req(
        &s,
        Method::POST,
        "/forums/team/members",
        Some(&owner),
        Some(json!({"email": "x@example.org", "role": "king"})),
    )
    .await;
    assert_eq!(st, 422, "{b}");

    // The new person gets a token from the operator and acts with the role.
    let nia = token_for(&s, "new.person@example.org");
    let (st, _) = req(
        &s,
        Method::POST,
        "/forums/team/rooms",
        Some(&nia),
        Some(json!({"name": "Hall"})),
    )
    .await;
    assert_eq!(st, 201);
    // Change to viewer: reads, changes nothing, cannot manage the team.
    let (st, b) = req(
        &s,
        Method::PATCH,
        &format!("/forums/team/members/{new_id}"),
        Some(&owner),
        Some(json!({"role": "viewer"})),
    )
    .await;
    assert_eq!((st, b["role"].clone()), (StatusCode::OK, json!("viewer")));
    let (st, _) = req(
        &s,
        Method::GET,
        "/forums/team/registrations",
        Some(&nia),
        None,
    )
    .await;
    assert_eq!(st, 200);
    let (st, _) = req(
        &s,
        Method::POST,
        "/forums/team/rooms",
        Some(&nia),
        Some(json!({"name": "Hall 2"})),
    )
    .await;
    assert_eq!(st, 403);
    let (st, _) = req(
        &s,
        Method::POST,
        "/forums/team/members",
        Some(&nia),
        Some(json!({"email": "y@example.org", "role": "owner"})),
    )
    .await;
    assert_eq!(st, 403);

    // Pages: items + next_cursor.
    for i in 0..3 {
        let (st, _) = req(
            &s,
            Method::POST,
            "/forums/team/members",
            Some(&owner),
            Some(json!({"email": format!("c{i}@example.org"), "role": "checkin"})),
        )
        .await;
        assert_eq!(st, 201);
    }
    let mut seen = vec![];
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            None => "/forums/team/members?limit=2".to_owned(),
            Some(c) => format!("/forums/team/members?limit=2&cursor={c}"),
        };
        let (st, page) = req(&s, Method::GET, &path, Some(&nia), None).await;
        assert_eq!(st, 200, "{page}");
        for m in page["items"].as_array().unwrap() {
            seen.push(m["email"].as_str().unwrap().to_owned());
        }
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => break,
        }
    }
    seen.sort();
    assert_eq!(
        seen,
        [
            "c0@example.org",
            "c1@example.org",
            "c2@example.org",
            "new.person@example.org",
            "owner@example.org"
        ]
    );

    // The last owner can be neither demoted nor removed.
    let (_, page) = req(
        &s,
        Method::GET,
        "/forums/team/members?limit=50",
        Some(&owner),
        None,
    )
    .await;
    let owner_id = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["role"] == "owner")
        .unwrap()["account_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let (st, b) = req(
        &s,
        Method::PATCH,
        &format!("/forums/team/members/{owner_id}"),
        Some(&owner),
        Some(json!({"role": "organizer"})),
    )
    .await;
    assert_eq!(st, 409, "{b}");
    assert_eq!(b["type"], "/problems/invalid-state", "{b}");
    let (st, _) = req(
        &s,
        Method::DELETE,
        &format!("/forums/team/members/{owner_id}"),
        Some(&owner),
        None,
    )
    .await;
    assert_eq!(st, 409);
    // With a second owner, the first may step down; removing a member works.
    let (st, _) = req(
        &s,
        Method::PATCH,
        &format!("/forums/team/members/{new_id}"),
        Some(&owner),
        Some(json!({"role": "owner"})),
    )
    .await;
    assert_eq!(st, 200);
    let (st, _) = req(
        &s,
        Method::DELETE,
        &format!("/forums/team/members/{owner_id}"),
        Some(&owner),
        None,
    )
    .await;
    assert_eq!(st, 204);
    let (st, _) = req(
        &s,
        Method::GET,
        "/forums/team/registrations",
        Some(&owner),
        None,
    )
    .await;
    assert_eq!(st, 404, "a former member no longer sees the draft");
}

#[tokio::test]
async fn two_owners_demoting_each_other_at_once_leave_one_owner() {
    let s = Server::start().await;
    let a = token_for(&s, "a@example.org");
    let (st, _) = req(
        &s,
        Method::POST,
        "/forums",
        Some(&a),
        Some(new_forum("duo")),
    )
    .await;
    assert_eq!(st, 201);
    let (_, m) = req(
        &s,
        Method::POST,
        "/forums/duo/members",
        Some(&a),
        Some(json!({"email": "b@example.org", "role": "owner"})),
    )
    .await;
    let b_id = m["account_id"].as_str().unwrap().to_owned();
    let b = token_for(&s, "b@example.org");
    let (_, page) = req(&s, Method::GET, "/forums/duo/members", Some(&a), None).await;
    let a_id = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["email"] == "a@example.org")
        .unwrap()["account_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let (pb, pa) = (
        format!("/forums/duo/members/{b_id}"),
        format!("/forums/duo/members/{a_id}"),
    );
    for round in 0..4 {
        let (ra, rb) = tokio::join!(
            req(
                &s,
                Method::PATCH,
                &pb,
                Some(&a),
                Some(json!({"role": "organizer"}))
            ),
            req(
                &s,
                Method::PATCH,
                &pa,
                Some(&b),
                Some(json!({"role": "organizer"}))
            ),
        );
        let ok = [ra.0, rb.0].iter().filter(|s| s.is_success()).count();
        assert_eq!(
            ok, 1,
            "round {round}: exactly one demotion wins: {ra:?} {rb:?}"
        );
        // Restore two owners through the operator.
        for e in ["a@example.org", "b@example.org"] {
            s.run_cli_ok(&[
                "admin", "grant", "--forum", "duo", "--email", e, "--role", "owner",
            ]);
        }
    }
}

#[tokio::test]
async fn the_cli_grants_and_revokes_and_the_demo_gets_an_owner() {
    let s = Server::start_with(
        &[
            "serve",
            "--no-worker",
            "--demo",
            "--demo-owner",
            "Demo@Example.org",
        ],
        &[],
    )
    .await;
    let out = std::fs::read_to_string(s.dir.path().join("server.stdout.log")).unwrap_or_default();
    let line = out
        .lines()
        .find(|l| {
            l.starts_with("demo owner demo@example.org")
                || l.starts_with("demo owner Demo@Example.org")
        })
        .unwrap_or_else(|| panic!("no demo owner line in:\n{out}"));
    let token = line.rsplit(' ').next().unwrap().to_owned();
    assert!(token.starts_with("cvn_org_"), "{line}");
    let (st, b) = req(
        &s,
        Method::GET,
        "/forums/gaziantep2019/members",
        Some(&token),
        None,
    )
    .await;
    assert_eq!(st, 200, "{b}");
    assert_eq!(b["items"][0]["role"], "owner", "{b}");

    // grant: creates the account; revoke removes it; the last owner stays.
    let out = s.run_cli_ok(&[
        "admin",
        "grant",
        "--forum",
        "gaziantep2019",
        "--email",
        "door@example.org",
        "--role",
        "checkin",
    ]);
    assert!(out.contains("checkin"), "{out}");
    let door = token_for(&s, "door@example.org");
    let (st, b) = req(
        &s,
        Method::POST,
        "/forums/gaziantep2019/check-ins",
        Some(&door),
        Some(json!({"code": "nope"})),
    )
    .await;
    assert!(st != 401 && st != 403, "{st} {b}");
    let (st, _) = req(
        &s,
        Method::POST,
        "/forums/gaziantep2019/rooms",
        Some(&door),
        Some(json!({"name": "X"})),
    )
    .await;
    assert_eq!(st, 403);
    s.run_cli_ok(&[
        "admin",
        "revoke",
        "--forum",
        "gaziantep2019",
        "--email",
        "door@example.org",
    ]);
    let (st, _) = req(
        &s,
        Method::GET,
        "/forums/gaziantep2019/registrations",
        Some(&door),
        None,
    )
    .await;
    assert_eq!(st, 403);
    let out = s.run_cli(&[
        "admin",
        "revoke",
        "--forum",
        "gaziantep2019",
        "--email",
        "demo@example.org",
    ]);
    assert!(!out.status.success(), "the last owner cannot be revoked");
    let out = s.run_cli(&[
        "admin",
        "grant",
        "--forum",
        "gaziantep2019",
        "--email",
        "demo@example.org",
        "--role",
        "viewer",
    ]);
    assert!(!out.status.success(), "the last owner cannot be demoted");
    let out = s.run_cli(&[
        "admin",
        "grant",
        "--forum",
        "gaziantep2019",
        "--email",
        "x@example.org",
        "--role",
        "king",
    ]);
    assert!(!out.status.success());
}

#[tokio::test]
async fn tokens_are_named_scoped_expiring_listed_without_secret_and_revocable() {
    let s = Server::start().await;
    let owner = token_for(&s, "owner@example.org");
    let (st, _) = req(
        &s,
        Method::POST,
        "/forums",
        Some(&owner),
        Some(new_forum("tok")),
    )
    .await;
    assert_eq!(st, 201);

    let (st, t) = req(
        &s,
        Method::POST,
        "/tokens",
        Some(&owner),
        Some(json!({"name": "reader", "scope": "read"})),
    )
    .await;
    assert_eq!(st, 201, "{t}");
    let reader = t["token"].as_str().unwrap().to_owned();
    assert!(reader.starts_with("cvn_org_"));
    assert_eq!(
        (t["name"].clone(), t["scope"].clone()),
        (json!("reader"), json!("read"))
    );
    // Past expiry, empty name, unknown scope → 422; a forum the account is not in → 404.
    for body in [
        json!({"name": "x", "expires_at": "2020-01-01T00:00:00Z"}),
        json!({"name": " "}),
        json!({"name": "x", "scope": "god"}),
    ] {
        let (st, b) = req(&s, Method::POST, "/tokens", Some(&owner), Some(body)).await;
        assert_eq!(st, 422, "{b}");
    }
    let (st, _) = req(
        &s,
        Method::POST,
        "/tokens",
        Some(&owner),
        Some(json!({"name": "x", "forum": "nope"})),
    )
    .await;
    assert_eq!(st, 404);

    // The read-only token reads, changes nothing and mints nothing.
    let (st, _) = req(
        &s,
        Method::GET,
        "/forums/tok/registrations",
        Some(&reader),
        None,
    )
    .await;
    assert_eq!(st, 200);
    let (st, _) = req(
        &s,
        Method::POST,
        "/forums/tok/rooms",
        Some(&reader),
        Some(json!({"name": "A"})),
    )
    .await;
    assert_eq!(st, 403);
    let (st, _) = req(
        &s,
        Method::POST,
        "/tokens",
        Some(&reader),
        Some(json!({"name": "more"})),
    )
    .await;
    assert_eq!(st, 403);
    let (st, _) = req(
        &s,
        Method::POST,
        "/forums",
        Some(&reader),
        Some(new_forum("tok2")),
    )
    .await;
    assert_eq!(st, 403);

    // Last use: recorded, and not rewritten within a minute.
    let (_, list) = req(&s, Method::GET, "/tokens", Some(&owner), None).await;
    let row = |list: &Value, name: &str| {
        list["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["name"] == name)
            .cloned()
            .unwrap()
    };
    let used = row(&list, "reader")["last_used_at"].clone();
    assert!(used.is_string(), "{list}");
    req(&s, Method::GET, "/forums", Some(&reader), None).await;
    let (_, list2) = req(&s, Method::GET, "/tokens", Some(&owner), None).await;
    assert_eq!(row(&list2, "reader")["last_used_at"], used);
    assert!(
        !list2.to_string().contains("cvn_org_"),
        "never the secret: {list2}"
    );
    assert!(list2["items"].as_array().unwrap().len() >= 2);
    assert!(list2.get("next_cursor").is_some());

    // Expiry: works until then, 401 after.
    let soon = (chrono::Utc::now() + chrono::Duration::seconds(2)).to_rfc3339();
    let (st, t) = req(
        &s,
        Method::POST,
        "/tokens",
        Some(&owner),
        Some(json!({"name": "brief", "expires_at": soon})),
    )
    .await;
    assert_eq!(st, 201, "{t}");
    let brief = t["token"].as_str().unwrap().to_owned();
    assert_eq!(
        req(
            &s,
            Method::GET,
            "/forums/tok/registrations",
            Some(&brief),
            None
        )
        .await
        .0,
        200
    );
    tokio::time::sleep(Duration::from_millis(3500)).await;
    assert_eq!(
        req(
            &s,
            Method::GET,
            "/forums/tok/registrations",
            Some(&brief),
            None
        )
        .await
        .0,
        401
    );

    // Revoke: 204, then 401; another account's token → 404.
    let id = row(&list2, "reader")["id"].as_str().unwrap().to_owned();
    let other = token_for(&s, "other@example.org");
    assert_eq!(
        req(
            &s,
            Method::DELETE,
            &format!("/tokens/{id}"),
            Some(&other),
            None
        )
        .await
        .0,
        404
    );
    assert_eq!(
        req(
            &s,
            Method::DELETE,
            &format!("/tokens/{id}"),
            Some(&owner),
            None
        )
        .await
        .0,
        204
    );
    assert_eq!(
        req(&s, Method::GET, "/forums", Some(&reader), None).await.0,
        401
    );
}

#[test]
fn the_readme_shows_the_rights_table() {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let table = teams::rights_markdown();
    assert!(
        readme.contains(&table),
        "README.md must contain the rights table exactly as teams::rights_markdown() renders it:\n{table}"
    );
}

/// The kinds of credential the matrix tries.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Cred {
    None,
    OtherOwner,
    Role(Role),
    Expired,
    ReadOnly,
    CheckinOnly,
    OtherForum,
    Participant,
    Signatory,
}

/// Whether `cred` may pass an operation that needs `need` on forum A, by the rights table.
fn expected(need: Need, cred: Cred, forum_a: uuid::Uuid, forum_b: uuid::Uuid) -> bool {
    // The grant and role the credential acts with on forum A.
    let (grant, role) = match cred {
        Cred::None | Cred::Expired | Cred::Participant | Cred::Signatory => {
            return need == Need::Public && cred == Cred::None
        }
        Cred::OtherOwner => (Grant::FULL, None),
        Cred::Role(r) => (Grant::FULL, Some(r)),
        Cred::ReadOnly => (
            Grant {
                scope: TokenScope::Read,
                ..Grant::FULL
            },
            Some(Role::Owner),
        ),
        Cred::CheckinOnly => (
            Grant {
                scope: TokenScope::Checkin,
                ..Grant::FULL
            },
            Some(Role::Owner),
        ),
        Cred::OtherForum => (
            Grant {
                forum_id: Some(forum_b),
                ..Grant::FULL
            },
            Some(Role::Owner),
        ),
    };
    match need {
        Need::Public => true,
        Need::Account { write } => !write || grant.may_change_account(),
        Need::Forum(p) | Need::HolderOr(p) => role
            .and_then(|r| grant.narrow(forum_a, r))
            .is_some_and(|r| teams::allows(r, p)),
    }
}

#[tokio::test]
async fn access_matrix_from_the_openapi_document() {
    // The signatory token is read from the outbox (the confirmation e-mail it goes by).
    let s = Server::start_with(
        &[
            "serve",
            "--no-worker",
            "--demo",
            "--demo-owner",
            "owner@a.example",
        ],
        &[("CONVENE_RATE_LIMIT__RESEND_LINK__PER_MINUTE", "0")],
    )
    .await;
    let a = "gaziantep2019";
    let out = std::fs::read_to_string(s.dir.path().join("server.stdout.log")).unwrap();
    let owner = out
        .lines()
        .find(|l| l.starts_with("demo owner"))
        .and_then(|l| l.rsplit(' ').next())
        .expect("demo owner token")
        .to_owned();
    // Turn the demo forum's public participant list on, so that operation has a list.
    let res = s
        .client
        .get(s.url(&format!("/api/v1/forums/{a}")))
        .bearer_auth(&owner)
        .send()
        .await
        .unwrap();
    let etag = res.headers()["etag"].to_str().unwrap().to_owned();
    let res = s
        .client
        .patch(s.url(&format!("/api/v1/forums/{a}")))
        .bearer_auth(&owner)
        .header("If-Match", etag)
        .json(&json!({"public_participant_list": true}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200, "{:?}", res.text().await);

    // Forum B and its owner; A's owner is a viewer of B (so a token can be bound to B).
    let other_owner = token_for(&s, "owner@b.example");
    let (st, fb) = req(
        &s,
        Method::POST,
        "/forums",
        Some(&other_owner),
        Some(new_forum("bforum")),
    )
    .await;
    assert_eq!(st, 201, "{fb}");
    let forum_b: uuid::Uuid = fb["id"].as_str().unwrap().parse().unwrap();
    let (st, _) = req(
        &s,
        Method::POST,
        "/forums/bforum/members",
        Some(&other_owner),
        Some(json!({"email": "owner@a.example", "role": "viewer"})),
    )
    .await;
    assert_eq!(st, 201);
    let (_, fa) = req(&s, Method::GET, &format!("/forums/{a}"), None, None).await;
    let forum_a: uuid::Uuid = fa["id"].as_str().unwrap().parse().unwrap();

    // One account per role.
    let mut creds: Vec<(Cred, String)> = vec![(Cred::None, String::new())];
    creds.push((Cred::OtherOwner, other_owner.clone()));
    creds.push((Cred::Role(Role::Owner), owner.clone()));
    for r in [Role::Organizer, Role::Checkin, Role::Viewer] {
        let email = format!("{r}@a.example");
        s.run_cli_ok(&[
            "admin",
            "grant",
            "--forum",
            a,
            "--email",
            &email,
            "--role",
            r.as_str(),
        ]);
        creds.push((Cred::Role(r), token_for(&s, &email)));
    }
    let mint = async |body: Value| {
        let (st, t) = req(&s, Method::POST, "/tokens", Some(&owner), Some(body)).await;
        assert_eq!(st, 201, "{t}");
        (
            t["token"].as_str().unwrap().to_owned(),
            t["id"].as_str().unwrap().to_owned(),
        )
    };
    let soon = (chrono::Utc::now() + chrono::Duration::seconds(2)).to_rfc3339();
    let expired = mint(json!({"name": "expired", "expires_at": soon})).await.0;
    creds.push((
        Cred::ReadOnly,
        mint(json!({"name": "ro", "scope": "read"})).await.0,
    ));
    creds.push((
        Cred::CheckinOnly,
        mint(json!({"name": "door", "scope": "checkin"})).await.0,
    ));
    creds.push((
        Cred::OtherForum,
        mint(json!({"name": "b only", "forum": "bforum"})).await.0,
    ));
    let spare_token_id = mint(json!({"name": "spare"})).await.1;

    // Objects for the path parameters.
    let first_id = |v: &Value| {
        v["items"]
            .as_array()
            .or(v.as_array())
            .and_then(|a| a.first())
            .map(|x| x["id"].as_str().unwrap().to_owned())
    };
    let room = first_id(
        &req(&s, Method::GET, &format!("/forums/{a}/rooms"), None, None)
            .await
            .1,
    )
    .expect("a room");
    let speaker = first_id(
        &req(
            &s,
            Method::GET,
            &format!("/forums/{a}/speakers"),
            None,
            None,
        )
        .await
        .1,
    )
    .expect("a speaker");
    let session = first_id(
        &req(
            &s,
            Method::GET,
            &format!("/forums/{a}/sessions"),
            None,
            None,
        )
        .await
        .1,
    )
    .expect("a session");
    let decl = "gaziantep-declaration";
    let reg = |email: &str| {
        let email = email.to_owned();
        let s = &s;
        async move {
            let (st, r) = req(
                s,
                Method::POST,
                &format!("/forums/{a}/registrations"),
                None,
                Some(json!({"name": "P", "email": email, "category": "mayor"})),
            )
            .await;
            assert!(st.is_success(), "{st} {r}");
            (
                r["registration"]["id"].as_str().unwrap().to_owned(),
                r["manage_token"].as_str().unwrap().to_owned(),
            )
        }
    };
    let (reg1, _) = reg("p1@example.org").await;
    let (reg2, participant) = reg("p2@example.org").await;
    // A holder reaches their own registration.
    assert_eq!(
        req(
            &s,
            Method::GET,
            &format!("/forums/{a}/registrations/{reg2}"),
            Some(&participant),
            None
        )
        .await
        .0,
        200
    );
    creds.push((Cred::Participant, participant));
    let (st, sig) = req(
        &s,
        Method::POST,
        &format!("/forums/{a}/declarations/{decl}/signatures"),
        None,
        Some(json!({"full_name": "Sig Natory", "entity_kind": "city", "entity_name": "Kilis",
                    "city": "Kilis", "country": "TR", "email": "sig@example.org", "consent_publish": true})),
    )
    .await;
    assert!(st.is_success(), "{st} {sig}");
    let sig_id = sig["id"].as_str().unwrap().to_owned();
    let data = sql_texts(
        &s,
        "SELECT CAST(data AS TEXT) FROM notifications WHERE kind = 'signature.confirm'",
    )
    .await;
    let signatory = data
        .iter()
        .find_map(|d| {
            let i = d.find("cvn_sig_")?;
            Some(
                d[i..]
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == '-')
                    .collect::<String>(),
            )
        })
        .expect("a signatory token in the outbox");
    creds.push((Cred::Signatory, signatory));
    let (_, notes) = req(
        &s,
        Method::GET,
        &format!("/forums/{a}/notifications"),
        Some(&owner),
        None,
    )
    .await;
    let note = first_id(&notes).expect("a notification");
    let target = req(
        &s,
        Method::POST,
        &format!("/forums/{a}/members"),
        Some(&owner),
        Some(json!({"email": "target@a.example", "role": "viewer"})),
    )
    .await
    .1["account_id"]
        .as_str()
        .unwrap()
        .to_owned();
    tokio::time::sleep(Duration::from_millis(3200)).await;
    creds.insert(6, (Cred::Expired, expired));
    assert_eq!(
        req(&s, Method::GET, "/forums", Some(&creds[6].1), None)
            .await
            .0,
        401
    );

    // The operations, from the OpenAPI document.
    let (st, doc) = req(&s, Method::GET, "/openapi.json", None, None).await;
    assert_eq!(st, 200);
    let mut ops: Vec<(String, String)> = vec![];
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for m in ["get", "put", "post", "delete", "patch"] {
            if item.get(m).is_some() {
                ops.push((m.to_uppercase(), path.clone()));
            }
        }
    }
    // Lifecycle changes of forum A last, deletion of A very last.
    // Deletions after every other call (they remove the objects of the path parameters).
    let rank = |(m, p): &(String, String)| match (m.as_str(), p.as_str()) {
        ("DELETE", "/forums/{slug}") => 4,
        (_, "/forums/{slug}/archive") => 3,
        (_, "/forums/{slug}/close") => 2,
        ("DELETE", _) => 1,
        _ => 0,
    };
    ops.sort_by_key(|o| (rank(o), o.1.clone(), o.0.clone()));

    let mut violations = vec![];
    let mut unlisted = vec![];
    let mut calls = 0usize;
    for (method, template) in &ops {
        let Some(need) = need_of(method, template) else {
            unlisted.push(format!("{method} {template}"));
            continue;
        };
        let id = if template.contains("/rooms/") {
            &room
        } else if template.contains("/speakers/") {
            &speaker
        } else if template.contains("/sessions/") {
            &session
        } else if template.contains("/notifications/") {
            &note
        } else if template.contains("/signatures/{id}") {
            &sig_id
        } else if template.starts_with("/tokens/") {
            &spare_token_id
        } else {
            &reg1
        };
        let path = template
            .replace("{slug}", a)
            .replace("{decl}", decl)
            .replace("{number}", "1")
            .replace("{session_id}", &session)
            .replace("{account}", &target)
            .replace("{id}", id);
        let method: Method = method.parse().unwrap();
        let body = matches!(method, Method::POST | Method::PUT | Method::PATCH).then(|| json!({}));
        let mut allowed_succeeded = false;
        for (cred, token) in &creds {
            let tok = (!token.is_empty()).then_some(token.as_str());
            let (st, b) = req(&s, method.clone(), &path, tok, body.clone()).await;
            calls += 1;
            let refused = matches!(st.as_u16(), 401 | 403 | 404);
            let want = expected(need, *cred, forum_a, forum_b);
            let ok = if st.is_server_error() {
                false
            } else if want {
                // Allowed: past the gate. A 404 only where an earlier allowed call removed
                // or changed the object, or a DELETE of another account's object.
                !refused || (st == 404 && (allowed_succeeded || method == Method::DELETE))
            } else {
                refused
            };
            if want && st.is_success() {
                allowed_succeeded = true;
            }
            if !ok {
                violations.push(format!(
                    "{method} {template} as {cred:?}: {st} (expected {}) {b}",
                    if want { "allowed" } else { "refused" }
                ));
            }
        }
    }
    println!(
        "access matrix: {} operations × {} credentials = {} calls, {} violations, {} operations without an entry",
        ops.len() - unlisted.len(),
        creds.len(),
        calls,
        violations.len(),
        unlisted.len()
    );
    assert!(
        unlisted.is_empty(),
        "operations without an access entry: {unlisted:#?}"
    );
    assert!(
        violations.is_empty(),
        "violations:\n{}",
        violations.join("\n")
    );
    assert_eq!(creds.len(), 12);
}
