//! Black-box tests of declarations, signatures and the ledger (issue 5), on SQLite and
//! PostgreSQL: status transitions and deadline closing; version immutability and binding;
//! the confirmation link (valid, expired, reused, wrong declaration, re-send); uniqueness
//! under concurrency; withdrawal; the public list (never e-mails, unconfirmed or
//! non-consenting signatures), counts and exports; tampering with rows directly in the
//! database; 200 concurrent confirmations; erasure.
//!
//! The confirmation link goes out by e-mail through the outbox. The notifier is being
//! built in parallel, so these tests read the link from the outbox row
//! (`notifications.data.confirm_url`) with sqlx on the test database; once the notifier
//! lands it arrives as an `.eml` file as well.
mod common;

use std::collections::BTreeMap;
use std::time::Duration;

use common::Server;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use sqlx::Connection as _;

// ---------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------

struct Ctx {
    server: Server,
    token: String,
    forum: String,
}

async fn send(
    ctx: &Ctx,
    method: reqwest::Method,
    path: &str,
    auth: bool,
    body: Option<Value>,
) -> (u16, Value, String) {
    let mut rb = ctx.server.client.request(method, ctx.server.url(path));
    if auth {
        rb = rb.bearer_auth(&ctx.token);
    }
    if let Some(b) = body {
        rb = rb.json(&b);
    }
    let res = rb.send().await.expect("request");
    let status = res.status().as_u16();
    let text = res.text().await.expect("body");
    let v = serde_json::from_str(&text).unwrap_or(Value::Null);
    (status, v, text)
}

async fn get(ctx: &Ctx, path: &str) -> (u16, Value, String) {
    send(ctx, reqwest::Method::GET, path, false, None).await
}

async fn post(ctx: &Ctx, path: &str, auth: bool, body: Value) -> (u16, Value, String) {
    send(ctx, reqwest::Method::POST, path, auth, Some(body)).await
}

/// A server with a published forum `f1` and an organizer token.
async fn start(envs: &[(&str, &str)]) -> Ctx {
    let server = Server::start_with(&["serve", "--no-worker"], envs).await;
    let token = server.organizer_token("org@example.org");
    let ctx = Ctx {
        server,
        token,
        forum: "f1".into(),
    };
    let (st, b, _) = post(
        &ctx,
        "/api/v1/forums",
        true,
        json!({"slug": "f1", "title": "Forum", "city": "Gaziantep", "country": "TR",
               "time_zone": "Europe/Istanbul", "first_day": "2019-11-26", "last_day": "2019-11-27"}),
    )
    .await;
    assert_eq!(st, 201, "{b}");
    let (st, b, _) = post(&ctx, "/api/v1/forums/f1/publish", true, json!({})).await;
    assert_eq!(st, 200, "{b}");
    ctx
}

fn d(ctx: &Ctx, decl: &str, rest: &str) -> String {
    format!("/api/v1/forums/{}/declarations/{decl}{rest}", ctx.forum)
}

/// Creates declaration `slug` with version 1 (English) and opens it.
async fn open_declaration(ctx: &Ctx, slug: &str) {
    let (st, b, _) = post(
        ctx,
        &format!("/api/v1/forums/{}/declarations", ctx.forum),
        true,
        json!({"slug": slug, "title": "Gaziantep Declaration", "language": "en"}),
    )
    .await;
    assert_eq!(st, 201, "{b}");
    let (st, b, _) = post(
        ctx,
        &d(ctx, slug, "/versions"),
        true,
        json!({"title": "Gaziantep Declaration", "text": "We, the mayors, declare …"}),
    )
    .await;
    assert_eq!(st, 201, "{b}");
    let (st, b, _) = post(ctx, &d(ctx, slug, "/open"), true, json!({})).await;
    assert_eq!(st, 200, "{b}");
    assert_eq!(b["status"], "open");
}

fn signer(name: &str, email: &str, entity: &str, country: &str, consent: bool) -> Value {
    json!({"full_name": name, "title": "Mayor", "entity_kind": "city", "entity_name": entity,
           "city": entity, "country": country, "email": email, "consent_publish": consent})
}

/// Runs one SQL statement (or query) on the server's database.
async fn sql_rows(ctx: &Ctx, sql: &str) -> Vec<String> {
    let url = ctx.server.db.url.clone();
    let sql = sql.to_owned();
    if url.starts_with("sqlite") {
        let mut c = sqlx::SqliteConnection::connect(&url).await.expect("sqlite");
        let rows: Vec<(String,)> = if sql.trim_start().to_uppercase().starts_with("SELECT") {
            sqlx::query_as(sqlx::AssertSqlSafe(sql))
                .fetch_all(&mut c)
                .await
                .expect("query")
        } else {
            sqlx::query(sqlx::AssertSqlSafe(sql))
                .execute(&mut c)
                .await
                .expect("statement");
            vec![]
        };
        rows.into_iter().map(|r| r.0).collect()
    } else {
        let mut c = sqlx::PgConnection::connect(&url).await.expect("postgres");
        let rows: Vec<(String,)> = if sql.trim_start().to_uppercase().starts_with("SELECT") {
            sqlx::query_as(sqlx::AssertSqlSafe(sql))
                .fetch_all(&mut c)
                .await
                .expect("query")
        } else {
            sqlx::query(sqlx::AssertSqlSafe(sql))
                .execute(&mut c)
                .await
                .expect("statement");
            vec![]
        };
        rows.into_iter().map(|r| r.0).collect()
    }
}

/// The confirmation tokens e-mailed for signature `id` (a 202 answer's `id`), newest
/// first (from the outbox rows; dedupe key `signature.confirm:<id>:<n>`).
async fn tokens_for(ctx: &Ctx, id: &Value) -> Vec<String> {
    let id = id.as_str().expect("signature id");
    let rows = sql_rows(
        ctx,
        &format!(
            "SELECT CAST(data AS TEXT) FROM notifications WHERE kind = 'signature.confirm' \
             AND dedupe_key LIKE 'signature.confirm:{id}:%' ORDER BY dedupe_key DESC"
        ),
    )
    .await;
    rows.iter()
        .map(|r| {
            let v: Value = serde_json::from_str(r).expect("data is JSON");
            let url = v["confirm_url"].as_str().expect("confirm_url").to_owned();
            assert!(v["declaration"]["slug"].is_string() && v["expires_at"].is_string());
            url.split("token=").nth(1).expect("token in URL").to_owned()
        })
        .collect()
}

/// Independent re-verification of the published ledger, following LEDGER.md only.
fn verify_published(page: &Value) -> usize {
    let mut prev = "0".repeat(64);
    let entries = page["entries"].as_array().expect("entries");
    for (i, e) in entries.iter().enumerate() {
        let body = e["body"].as_str().expect("body");
        let hash: String = Sha256::digest(body.as_bytes())
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert_eq!(e["hash"].as_str(), Some(hash.as_str()), "hash of entry {i}");
        let fields: BTreeMap<String, Value> = serde_json::from_str(body).expect("flat object");
        // Canonical: sorted keys, compact separators.
        assert_eq!(serde_json::to_string(&fields).unwrap(), body, "canonical");
        assert_eq!(fields["seq"], json!(i as i64 + 1));
        assert_eq!(fields["prev_hash"].as_str(), Some(prev.as_str()));
        assert_eq!(fields["format"], "convene-ledger/1");
        assert!(!body.contains('@'), "no e-mail in the ledger");
        prev = hash;
    }
    assert_eq!(page["head"].as_str(), Some(prev.as_str()), "head");
    entries.len()
}

// ---------------------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn status_versions_translations_binding_and_deadline() {
    let ctx = start(&[]).await;
    let decls = format!("/api/v1/forums/{}/declarations", ctx.forum);
    let (st, b, _) = post(
        &ctx,
        &decls,
        true,
        json!({"slug": "gd", "title": "Gaziantep Declaration"}),
    )
    .await;
    assert_eq!(st, 201, "{b}");
    assert_eq!(b["status"], "draft");
    // A draft is invisible to the public; organizers cannot open it without a version.
    assert_eq!(get(&ctx, &d(&ctx, "gd", "")).await.0, 404);
    assert_eq!(
        post(
            &ctx,
            &d(&ctx, "gd", "/signatures"),
            false,
            signer("A", "a@x.org", "A", "TR", true)
        )
        .await
        .0,
        404
    );
    let (st, b, _) = post(&ctx, &d(&ctx, "gd", "/open"), true, json!({})).await;
    assert_eq!(
        (st, b["type"].as_str()),
        (409, Some("/problems/invalid-state"))
    );
    // Anonymous writes: 401.
    assert_eq!(
        post(
            &ctx,
            &d(&ctx, "gd", "/versions"),
            false,
            json!({"title": "t", "text": "x"})
        )
        .await
        .0,
        401
    );

    let (st, v1, _) = post(
        &ctx,
        &d(&ctx, "gd", "/versions"),
        true,
        json!({"title": "Declaration", "text": "Text one."}),
    )
    .await;
    assert_eq!(st, 201, "{v1}");
    assert_eq!(v1["number"], 1);
    let sha: String = Sha256::digest(b"Text one.")
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert_eq!(v1["text_sha256"], json!(sha));
    // Translations attach to a version, once per language; the authoritative language is refused.
    let (st, t, _) = post(
        &ctx,
        &d(&ctx, "gd", "/versions/1/translations"),
        true,
        json!({"language": "tr", "title": "Bildirge", "text": "Metin bir."}),
    )
    .await;
    assert_eq!(st, 201, "{t}");
    assert_eq!(t["authoritative"], false);
    assert_eq!(t["version_sha256"], json!(sha));
    let (st, b, _) = post(
        &ctx,
        &d(&ctx, "gd", "/versions/1/translations"),
        true,
        json!({"language": "tr", "title": "B", "text": "Başka."}),
    )
    .await;
    assert_eq!(
        (st, b["type"].as_str()),
        (409, Some("/problems/already-exists"))
    );
    assert_eq!(
        post(
            &ctx,
            &d(&ctx, "gd", "/versions/1/translations"),
            true,
            json!({"language": "en", "title": "B", "text": "x"})
        )
        .await
        .0,
        422
    );
    assert_eq!(
        post(
            &ctx,
            &d(&ctx, "gd", "/versions"),
            true,
            json!({"language": "fr", "title": "B", "text": "x"})
        )
        .await
        .0,
        422
    );

    let (st, b, _) = post(&ctx, &d(&ctx, "gd", "/open"), true, json!({})).await;
    assert_eq!(st, 200, "{b}");
    assert_eq!(
        (b["status"].as_str(), b["current_version"].as_i64()),
        (Some("open"), Some(1))
    );
    let (st, b, _) = get(&ctx, &d(&ctx, "gd", "/versions/1?lang=tr")).await;
    assert_eq!((st, b["text"].as_str()), (200, Some("Metin bir.")));
    assert_eq!(b["languages"], json!(["en", "tr"]));
    assert_eq!(
        get(&ctx, &d(&ctx, "gd", "/versions/1?lang=de")).await.0,
        404
    );

    // A signature binds version 1.
    let (st, s1, _) = post(
        &ctx,
        &d(&ctx, "gd", "/signatures/in-person"),
        true,
        signer("Fatma Şahin", "", "Gaziantep", "TR", true),
    )
    .await;
    assert_eq!(st, 201, "{s1}");
    assert_eq!(
        (s1["status"].as_str(), s1["version"].as_i64()),
        (Some("confirmed"), Some(1))
    );

    // A new version is immutable text, but the open declaration keeps version 1 …
    let (st, _, _) = post(
        &ctx,
        &d(&ctx, "gd", "/versions"),
        true,
        json!({"title": "Declaration", "text": "Text two."}),
    )
    .await;
    assert_eq!(st, 201);
    assert_eq!(get(&ctx, &d(&ctx, "gd", "")).await.1["current_version"], 1);
    let (st, b, _) = post(&ctx, &d(&ctx, "gd", "/open"), true, json!({"version": 2})).await;
    assert_eq!(
        (st, b["type"].as_str()),
        (409, Some("/problems/version-locked"))
    );
    let mut s = signer("B", "b@x.org", "Kilis", "TR", true);
    s["version"] = json!(2);
    let (st, b, _) = post(&ctx, &d(&ctx, "gd", "/signatures"), false, s).await;
    assert_eq!(
        (st, b["type"].as_str()),
        (409, Some("/problems/version-locked"))
    );
    // … until an explicit re-open; the first signature stays bound to version 1.
    let (st, b, _) = post(
        &ctx,
        &d(&ctx, "gd", "/open"),
        true,
        json!({"version": 2, "reopen": true}),
    )
    .await;
    assert_eq!((st, b["current_version"].as_i64()), (200, Some(2)), "{b}");
    let (st, s2, _) = post(
        &ctx,
        &d(&ctx, "gd", "/signatures/in-person"),
        true,
        signer("Mayor Two", "", "Kilis", "TR", true),
    )
    .await;
    assert_eq!((st, s2["version"].as_i64()), (201, Some(2)), "{s2}");
    let (_, list, _) = get(&ctx, &d(&ctx, "gd", "/signatures")).await;
    let versions: Vec<i64> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["version"].as_i64().unwrap())
        .collect();
    assert_eq!(versions, vec![1, 2]);

    // If-Match on updates; the deadline closes the declaration by itself.
    let (_, cur, _) = get(&ctx, &d(&ctx, "gd", "")).await;
    let etag = format!("\"{}\"", cur["version"]);
    let closes = (chrono::Utc::now() + chrono::Duration::seconds(2)).to_rfc3339();
    let res = ctx
        .server
        .client
        .patch(ctx.server.url(&d(&ctx, "gd", "")))
        .bearer_auth(&ctx.token)
        .header("if-match", "\"999\"")
        .json(&json!({"closes_at": closes}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 412);
    let res = ctx
        .server
        .client
        .patch(ctx.server.url(&d(&ctx, "gd", "")))
        .bearer_auth(&ctx.token)
        .header("if-match", etag)
        .json(&json!({"closes_at": closes}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 200);
    tokio::time::sleep(Duration::from_millis(3100)).await;
    let (_, b, _) = get(&ctx, &d(&ctx, "gd", "")).await;
    assert_eq!(
        (b["status"].as_str(), b["accepting_signatures"].as_bool()),
        (Some("closed"), Some(false)),
        "{b}"
    );
    let (st, b, _) = post(
        &ctx,
        &d(&ctx, "gd", "/signatures"),
        false,
        signer("C", "c@x.org", "Hatay", "TR", true),
    )
    .await;
    assert_eq!(
        (st, b["type"].as_str()),
        (409, Some("/problems/not-accepting-signatures"))
    );
    // Re-opening past the deadline needs the deadline moved first.
    assert_eq!(
        post(&ctx, &d(&ctx, "gd", "/open"), true, json!({})).await.0,
        409
    );
    let (st, b, _) = post(&ctx, &d(&ctx, "gd", "/close"), true, json!({})).await;
    assert_eq!((st, b["status"].as_str()), (200, Some("closed")));

    // opens_at in the future: scheduled, not accepting.
    let (st, _, _) = post(
        &ctx,
        &decls,
        true,
        json!({"slug": "later", "title": "Later",
        "opens_at": (chrono::Utc::now() + chrono::Duration::hours(1)).to_rfc3339()}),
    )
    .await;
    assert_eq!(st, 201);
    post(
        &ctx,
        &d(&ctx, "later", "/versions"),
        true,
        json!({"title": "L", "text": "L"}),
    )
    .await;
    let (_, b, _) = post(&ctx, &d(&ctx, "later", "/open"), true, json!({})).await;
    assert_eq!(b["status"], "scheduled");
    assert_eq!(
        post(
            &ctx,
            &d(&ctx, "later", "/signatures"),
            false,
            signer("C", "c@x.org", "Hatay", "TR", true)
        )
        .await
        .0,
        409
    );
}

#[tokio::test]
async fn confirmation_link_valid_reused_wrong_declaration_expired_and_resend() {
    let ctx = start(&[
        ("CONVENE_DECLARATIONS__CONFIRM_TTL_SECONDS", "4"),
        ("CONVENE_DECLARATIONS__RESEND_INTERVAL_SECONDS", "3"),
    ])
    .await;
    open_declaration(&ctx, "gd").await;
    open_declaration(&ctx, "other").await;

    let (st, s, _) = post(
        &ctx,
        &d(&ctx, "gd", "/signatures"),
        false,
        signer("Ana", "Ana@Example.org", "Izmir", "TR", true),
    )
    .await;
    assert_eq!(st, 202, "{s}");
    assert_eq!(s["status"], "pending");
    assert!(
        !s.to_string().contains("cvn_sig_"),
        "the token only goes by e-mail"
    );
    let tokens = tokens_for(&ctx, &s["id"]).await;
    assert_eq!(tokens.len(), 1);
    let tok = &tokens[0];
    assert!(tok.starts_with("cvn_sig_"));
    // Stored hashed only.
    let stored = sql_rows(&ctx, "SELECT token_hash FROM signatures").await;
    assert!(!stored.iter().any(|h| h.contains(tok.as_str())));
    // Pending: not public, not in the ledger.
    assert_eq!(
        get(&ctx, &d(&ctx, "gd", "/signatures")).await.1["items"],
        json!([])
    );
    // A token of another declaration: 404. A garbage token: 404.
    assert_eq!(
        post(
            &ctx,
            &d(&ctx, "other", "/signatures/confirm"),
            false,
            json!({"token": tok})
        )
        .await
        .0,
        404
    );
    assert_eq!(
        post(
            &ctx,
            &d(&ctx, "gd", "/signatures/confirm"),
            false,
            json!({"token": "cvn_sig_nope"})
        )
        .await
        .0,
        404
    );
    // A GET with the token only shows what it would confirm (GET never changes state:
    // mail scanners fetch every link); the POST confirms.
    let (st, c, _) = get(
        &ctx,
        &d(&ctx, "gd", &format!("/signatures/confirm?token={tok}")),
    )
    .await;
    assert_eq!(st, 200, "{c}");
    assert_eq!(
        (c["status"].as_str(), c["ledger_seq"].as_i64()),
        (Some("pending"), None)
    );
    assert_eq!(get(&ctx, &d(&ctx, "gd", "/ledger")).await.1["length"], 0);
    let (st, c, _) = post(
        &ctx,
        &d(&ctx, "gd", "/signatures/confirm"),
        false,
        json!({"token": tok}),
    )
    .await;
    assert_eq!(st, 200, "{c}");
    assert_eq!(
        (c["status"].as_str(), c["ledger_seq"].as_i64()),
        (Some("confirmed"), Some(1))
    );
    // Reused: 409, and no second ledger entry.
    let (st, b, _) = post(
        &ctx,
        &d(&ctx, "gd", "/signatures/confirm"),
        false,
        json!({"token": tok}),
    )
    .await;
    assert_eq!(
        (st, b["type"].as_str()),
        (409, Some("/problems/already-confirmed"))
    );
    assert_eq!(get(&ctx, &d(&ctx, "gd", "/ledger")).await.1["length"], 1);

    // Expired.
    let (_, ben, _) = post(
        &ctx,
        &d(&ctx, "gd", "/signatures"),
        false,
        signer("Ben", "ben@example.org", "Mersin", "TR", true),
    )
    .await;
    let old = tokens_for(&ctx, &ben["id"]).await[0].clone();
    tokio::time::sleep(Duration::from_millis(4200)).await;
    let (st, b, _) = post(
        &ctx,
        &d(&ctx, "gd", "/signatures/confirm"),
        false,
        json!({"token": old}),
    )
    .await;
    assert_eq!(
        (st, b["type"].as_str()),
        (409, Some("/problems/link-expired"))
    );
    // Re-send: a new link; the old one stops working; a second re-send at once is
    // swallowed (rate limit) but answers the same; unknown e-mails answer the same.
    let r = |e: &str| json!({"email": e});
    assert_eq!(
        post(
            &ctx,
            &d(&ctx, "gd", "/signatures/resend"),
            false,
            r("ben@example.org")
        )
        .await
        .0,
        202
    );
    assert_eq!(
        post(
            &ctx,
            &d(&ctx, "gd", "/signatures/resend"),
            false,
            r("ben@example.org")
        )
        .await
        .0,
        202
    );
    assert_eq!(
        post(
            &ctx,
            &d(&ctx, "gd", "/signatures/resend"),
            false,
            r("nobody@example.org")
        )
        .await
        .0,
        202
    );
    let toks = tokens_for(&ctx, &ben["id"]).await;
    assert_eq!(toks.len(), 2, "one re-send within the interval");
    assert_eq!(
        post(
            &ctx,
            &d(&ctx, "gd", "/signatures/confirm"),
            false,
            json!({"token": old})
        )
        .await
        .0,
        404
    );
    let (st, b, _) = post(
        &ctx,
        &d(&ctx, "gd", "/signatures/confirm"),
        false,
        json!({"token": toks[0]}),
    )
    .await;
    assert_eq!(st, 200, "{b}");

    // An expired pending signature does not block signing again.
    post(
        &ctx,
        &d(&ctx, "gd", "/signatures"),
        false,
        signer("Cem", "cem@example.org", "Adana", "TR", true),
    )
    .await;
    tokio::time::sleep(Duration::from_millis(4200)).await;
    let (st, b, _) = post(
        &ctx,
        &d(&ctx, "gd", "/signatures"),
        false,
        signer("Cem", "cem@example.org", "Adana", "TR", true),
    )
    .await;
    assert_eq!(st, 202, "{b}");
    // Validation.
    let (st, b, _) = post(
        &ctx,
        &d(&ctx, "gd", "/signatures"),
        false,
        json!({"full_name": "", "entity_kind": "city", "country": "XX", "consent_publish": true}),
    )
    .await;
    assert_eq!(st, 422, "{b}");
    let fields: Vec<&str> = b["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    for f in ["full_name", "entity_name", "country", "email"] {
        assert!(fields.contains(&f), "{f} in {fields:?}");
    }
    // A signatory's name is one line (it goes into the confirmation mail's To: header).
    let body = signer(
        "Cem\r\nBcc: x@example.org",
        "cem2@example.org",
        "Adana",
        "TR",
        true,
    );
    let (st, b, _) = post(&ctx, &d(&ctx, "gd", "/signatures"), false, body).await;
    assert_eq!(st, 422, "{b}");
    assert_eq!(b["errors"][0]["field"], "full_name", "{b}");
}

#[tokio::test]
async fn one_live_signature_per_email_and_entity_under_concurrency() {
    let ctx = std::sync::Arc::new(start(&[]).await);
    open_declaration(&ctx, "gd").await;
    // Same e-mail, different entities, all at once: one 202, the rest 409.
    let mut tasks = vec![];
    for i in 0..8 {
        let ctx = ctx.clone();
        tasks.push(tokio::spawn(async move {
            let body = signer(
                &format!("P{i}"),
                "same@example.org",
                &format!("Town {i}"),
                "TR",
                true,
            );
            post(&ctx, &d(&ctx, "gd", "/signatures"), false, body).await
        }));
    }
    let mut codes = vec![];
    for t in tasks {
        let (st, b, _) = t.await.unwrap();
        if st == 409 {
            assert_eq!(b["type"], "/problems/already-signed", "{b}");
        }
        codes.push(st);
    }
    codes.sort();
    assert_eq!(codes, [202, 409, 409, 409, 409, 409, 409, 409]);
    // Same entity (case and spaces differ), different e-mails, in person, all at once.
    let mut tasks = vec![];
    for i in 0..8 {
        let ctx = ctx.clone();
        tasks.push(tokio::spawn(async move {
            let name = if i % 2 == 0 {
                "Şanlıurfa  Municipality"
            } else {
                "şanlıurfa municipality"
            };
            let body = signer(
                &format!("Q{i}"),
                &format!("q{i}@example.org"),
                name,
                "TR",
                true,
            );
            send(
                &ctx,
                reqwest::Method::POST,
                &d(&ctx, "gd", "/signatures/in-person"),
                true,
                Some(body),
            )
            .await
            .0
        }));
    }
    let mut codes = vec![];
    for t in tasks {
        codes.push(t.await.unwrap());
    }
    codes.sort();
    assert_eq!(codes, [201, 409, 409, 409, 409, 409, 409, 409]);
    // The same entity in another country is another entity.
    let (st, _, _) = send(
        &ctx,
        reqwest::Method::POST,
        &d(&ctx, "gd", "/signatures/in-person"),
        true,
        Some(signer(
            "R",
            "r@example.org",
            "Şanlıurfa Municipality",
            "SY",
            true,
        )),
    )
    .await;
    assert_eq!(st, 201);
    let (_, v, _) = get(&ctx, &d(&ctx, "gd", "/ledger/verify")).await;
    assert_eq!(v["ok"], true, "{v}");
}

#[tokio::test]
async fn withdrawal_by_signatory_and_organizer_is_recorded() {
    let ctx = start(&[]).await;
    open_declaration(&ctx, "gd").await;
    let (_, ana, _) = post(
        &ctx,
        &d(&ctx, "gd", "/signatures"),
        false,
        signer("Ana", "ana@example.org", "Izmir", "TR", true),
    )
    .await;
    let tok = tokens_for(&ctx, &ana["id"]).await[0].clone();
    assert_eq!(
        post(
            &ctx,
            &d(&ctx, "gd", "/signatures/confirm"),
            false,
            json!({"token": tok})
        )
        .await
        .0,
        200
    );
    assert_eq!(get(&ctx, &d(&ctx, "gd", "/counts")).await.1["total"], 1);

    let (st, w, _) = post(
        &ctx,
        &d(&ctx, "gd", "/signatures/withdraw"),
        false,
        json!({"token": tok, "reason": "changed my mind"}),
    )
    .await;
    assert_eq!(st, 200, "{w}");
    assert_eq!(
        (
            w["status"].as_str(),
            w["withdrawn_by"].as_str(),
            w["withdraw_seq"].as_i64()
        ),
        (Some("withdrawn"), Some("signatory"), Some(2))
    );
    let (st, b, _) = post(
        &ctx,
        &d(&ctx, "gd", "/signatures/withdraw"),
        false,
        json!({"token": tok}),
    )
    .await;
    assert_eq!(
        (st, b["type"].as_str()),
        (409, Some("/problems/invalid-state"))
    );
    assert_eq!(
        get(&ctx, &d(&ctx, "gd", "/signatures")).await.1["items"],
        json!([])
    );
    assert_eq!(get(&ctx, &d(&ctx, "gd", "/counts")).await.1["total"], 0);
    // Kept on record, never deleted.
    assert_eq!(
        sql_rows(&ctx, "SELECT status FROM signatures").await,
        vec!["withdrawn"]
    );
    // The same e-mail and entity may sign again.
    let (st, ana2, _) = post(
        &ctx,
        &d(&ctx, "gd", "/signatures"),
        false,
        signer("Ana", "ana@example.org", "Izmir", "TR", true),
    )
    .await;
    assert_eq!(st, 202);

    // Organizer: a reason is required; anonymous 401.
    let (_, s, _) = post(
        &ctx,
        &d(&ctx, "gd", "/signatures/in-person"),
        true,
        signer("Bo", "", "Kars", "TR", true),
    )
    .await;
    let id = s["id"].as_str().unwrap().to_owned();
    let path = d(&ctx, "gd", &format!("/signatures/{id}/withdraw"));
    assert_eq!(post(&ctx, &path, true, json!({"reason": " "})).await.0, 422);
    assert_eq!(
        post(&ctx, &path, false, json!({"reason": "x"})).await.0,
        401
    );
    let (st, w, _) = post(
        &ctx,
        &path,
        true,
        json!({"reason": "signed for the wrong city"}),
    )
    .await;
    assert_eq!(
        (st, w["withdrawn_by"].as_str()),
        (200, Some("organizer")),
        "{w}"
    );

    // After closing, the signatory can no longer withdraw; an organizer still can.
    post(
        &ctx,
        &d(&ctx, "gd", "/signatures/in-person"),
        true,
        signer("Cy", "cy@example.org", "Van", "TR", true),
    )
    .await;
    let tok2 = tokens_for(&ctx, &ana2["id"]).await[0].clone();
    assert_eq!(
        post(
            &ctx,
            &d(&ctx, "gd", "/signatures/confirm"),
            false,
            json!({"token": tok2})
        )
        .await
        .0,
        200
    );
    post(&ctx, &d(&ctx, "gd", "/close"), true, json!({})).await;
    let (st, b, _) = post(
        &ctx,
        &d(&ctx, "gd", "/signatures/withdraw"),
        false,
        json!({"token": tok2}),
    )
    .await;
    assert_eq!(
        (st, b["type"].as_str()),
        (409, Some("/problems/not-accepting-signatures"))
    );
    let (_, v, _) = get(&ctx, &d(&ctx, "gd", "/ledger/verify")).await;
    assert_eq!(v["ok"], true, "{v}");
    let (_, page, _) = get(&ctx, &d(&ctx, "gd", "/ledger")).await;
    assert_eq!(verify_published(&page), 6);
}

#[tokio::test]
async fn public_list_counts_and_exports_never_show_emails_pending_or_non_consenting() {
    let ctx = start(&[]).await;
    open_declaration(&ctx, "gd").await;
    let people = [
        ("Ana", "ana@example.org", "Izmir", "TR", true),
        ("Ben", "ben@example.org", "Beirut", "LB", true),
        ("Cem", "cem@example.org", "Adana", "TR", false),
        ("Dan", "dan@example.org", "Amman", "JO", true),
    ];
    let mut ids = vec![];
    for (n, e, c, cc, consent) in people {
        let (st, b, _) = post(
            &ctx,
            &d(&ctx, "gd", "/signatures"),
            false,
            signer(n, e, c, cc, consent),
        )
        .await;
        assert_eq!(st, 202);
        ids.push(b["id"].clone());
    }
    // Dan never confirms.
    for id in &ids[..3] {
        let t = tokens_for(&ctx, id).await[0].clone();
        assert_eq!(
            post(
                &ctx,
                &d(&ctx, "gd", "/signatures/confirm"),
                false,
                json!({"token": t})
            )
            .await
            .0,
            200
        );
    }
    let mut org = signer(
        "UNHCR Office",
        "unhcr@example.org",
        "UNHCR Türkiye",
        "TR",
        true,
    );
    org["entity_kind"] = json!("organization");
    assert_eq!(
        post(&ctx, &d(&ctx, "gd", "/signatures/in-person"), true, org)
            .await
            .0,
        201
    );

    let (st, list, text) = get(&ctx, &d(&ctx, "gd", "/signatures")).await;
    assert_eq!(st, 200);
    let names: Vec<&str> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["full_name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["Ana", "Ben", "UNHCR Office"]);
    assert!(!text.contains('@') && !text.contains("email"), "{text}");
    // Filters and pagination.
    let (_, tr, _) = get(&ctx, &d(&ctx, "gd", "/signatures?country=TR")).await;
    assert_eq!(tr["items"].as_array().unwrap().len(), 2);
    let (_, orgs, _) = get(&ctx, &d(&ctx, "gd", "/signatures?entity_kind=organization")).await;
    assert_eq!(orgs["items"][0]["full_name"], "UNHCR Office");
    let (_, p1, _) = get(&ctx, &d(&ctx, "gd", "/signatures?limit=2")).await;
    assert_eq!(p1["items"].as_array().unwrap().len(), 2);
    let cursor = p1["next_cursor"].as_str().unwrap();
    let (_, p2, _) = get(
        &ctx,
        &d(&ctx, "gd", &format!("/signatures?limit=2&cursor={cursor}")),
    )
    .await;
    assert_eq!(p2["items"][0]["full_name"], "UNHCR Office");
    assert!(p2["next_cursor"].is_null());
    assert_eq!(
        get(&ctx, &d(&ctx, "gd", "/signatures?entity_kind=planet"))
            .await
            .0,
        422
    );
    // Exports.
    let res = ctx
        .server
        .client
        .get(ctx.server.url(&d(&ctx, "gd", "/signatures.csv")))
        .send()
        .await
        .unwrap();
    assert!(res.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/csv"));
    let csv = res.text().await.unwrap();
    assert!(csv.starts_with("ledger_seq,signed_at,full_name,"), "{csv}");
    assert_eq!(csv.lines().count(), 4, "{csv}");
    assert!(
        csv.contains("UNHCR Türkiye")
            && !csv.contains('@')
            && !csv.contains("Cem")
            && !csv.contains("Dan")
    );
    let (_, json_all, text) = get(&ctx, &d(&ctx, "gd", "/signatures.json?country=TR")).await;
    assert_eq!(json_all.as_array().unwrap().len(), 2);
    assert!(!text.contains('@'));
    // Counts: the public list; confirmed_total includes the non-consenting one.
    let (_, c, _) = get(&ctx, &d(&ctx, "gd", "/counts")).await;
    assert_eq!(c["total"], 3);
    assert_eq!(c["confirmed_total"], 4);
    assert_eq!(c["by_country"], json!({"LB": 1, "TR": 2}));
    assert_eq!(c["by_entity_kind"], json!({"city": 2, "organization": 1}));
}

#[tokio::test]
async fn a_row_edited_or_deleted_in_the_database_fails_verification_at_that_entry() {
    let ctx = start(&[]).await;
    open_declaration(&ctx, "gd").await;
    for (n, c) in [("Ana", "Izmir"), ("Ben", "Mersin"), ("Cem", "Adana")] {
        let (st, _, _) = post(
            &ctx,
            &d(&ctx, "gd", "/signatures/in-person"),
            true,
            signer(n, "", c, "TR", true),
        )
        .await;
        assert_eq!(st, 201);
    }
    let verify = || async { get(&ctx, &d(&ctx, "gd", "/ledger/verify")).await.1 };
    let v = verify().await;
    assert_eq!(
        (v["ok"].as_bool(), v["entries"].as_i64()),
        (Some(true), Some(3)),
        "{v}"
    );
    let out = ctx.server.run_cli_ok(&["verify-ledger"]);
    assert!(out.contains("f1/gd: ok, 3 entries"), "{out}");

    // 1. A signatory's name edited in `signatures`: entry 2 (Ben's) no longer matches.
    sql_rows(
        &ctx,
        "UPDATE signatures SET full_name = 'Mallory' WHERE full_name = 'Ben'",
    )
    .await;
    let v = verify().await;
    assert_eq!(
        (v["ok"].as_bool(), v["first_bad"]["seq"].as_i64()),
        (Some(false), Some(2)),
        "{v}"
    );
    let out = ctx.server.run_cli(&["verify-ledger"]);
    assert!(!out.status.success());
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("FAILED at entry 2"), "{stdout}");
    sql_rows(
        &ctx,
        "UPDATE signatures SET full_name = 'Ben' WHERE full_name = 'Mallory'",
    )
    .await;
    assert_eq!(verify().await["ok"], true);

    // 2. An entry's body edited: that entry.
    sql_rows(&ctx, "UPDATE ledger_entries SET body = replace(body, '\"country\":\"TR\"', '\"country\":\"SY\"') WHERE seq = 3").await;
    let v = verify().await;
    assert_eq!(v["first_bad"]["seq"], 3, "{v}");
    sql_rows(&ctx, "UPDATE ledger_entries SET body = replace(body, '\"country\":\"SY\"', '\"country\":\"TR\"') WHERE seq = 3").await;
    assert_eq!(verify().await["ok"], true);

    // 3. The signed text edited: the first entry that commits to it.
    sql_rows(
        &ctx,
        "UPDATE declaration_versions SET body = 'We, the mayors, declare nothing.'",
    )
    .await;
    assert_eq!(verify().await["first_bad"]["seq"], 1);
    sql_rows(
        &ctx,
        "UPDATE declaration_versions SET body = 'We, the mayors, declare …'",
    )
    .await;
    assert_eq!(verify().await["ok"], true);

    // 4. An entry deleted: that entry is missing.
    sql_rows(&ctx, "DELETE FROM ledger_entries WHERE seq = 2").await;
    let v = verify().await;
    assert_eq!(
        (v["ok"].as_bool(), v["first_bad"]["seq"].as_i64()),
        (Some(false), Some(2)),
        "{v}"
    );
    let out = ctx
        .server
        .run_cli(&["verify-ledger", "--forum", "f1", "--declaration", "gd"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stdout).contains("FAILED at entry 2"));

    // 5. The last entry deleted: the declaration's recorded length says it is missing.
    let ctx2 = start(&[]).await;
    open_declaration(&ctx2, "gd").await;
    for (n, c) in [("Ana", "Izmir"), ("Ben", "Mersin")] {
        post(
            &ctx2,
            &d(&ctx2, "gd", "/signatures/in-person"),
            true,
            signer(n, "", c, "TR", true),
        )
        .await;
    }
    sql_rows(&ctx2, "DELETE FROM ledger_entries WHERE seq = 2").await;
    let v = get(&ctx2, &d(&ctx2, "gd", "/ledger/verify")).await.1;
    assert_eq!(
        (v["ok"].as_bool(), v["first_bad"]["seq"].as_i64()),
        (Some(false), Some(2)),
        "{v}"
    );
}

#[tokio::test]
async fn erasure_keeps_the_chain_verifiable() {
    let ctx = start(&[]).await;
    open_declaration(&ctx, "gd").await;
    let (_, a, _) = post(
        &ctx,
        &d(&ctx, "gd", "/signatures/in-person"),
        true,
        signer("Ana Person", "ana@example.org", "Izmir", "TR", true),
    )
    .await;
    post(
        &ctx,
        &d(&ctx, "gd", "/signatures/in-person"),
        true,
        signer("Ben", "", "Mersin", "TR", true),
    )
    .await;
    let id = a["id"].as_str().unwrap();
    assert_eq!(
        post(
            &ctx,
            &d(&ctx, "gd", &format!("/signatures/{id}/erase")),
            false,
            json!({})
        )
        .await
        .0,
        401
    );
    let (st, e, _) = post(
        &ctx,
        &d(&ctx, "gd", &format!("/signatures/{id}/erase")),
        true,
        json!({}),
    )
    .await;
    assert_eq!(st, 200, "{e}");
    assert_eq!(
        (
            e["erased"].as_bool(),
            e["full_name"].as_str(),
            e["withdrawn_by"].as_str()
        ),
        (Some(true), Some(""), Some("erasure"))
    );
    // Nothing of the person is left in the database.
    let left = sql_rows(&ctx, "SELECT full_name || '|' || entity_name || '|' || COALESCE(email, '') || '|' || COALESCE(salt, '') FROM signatures WHERE erased_at IS NOT NULL").await;
    assert_eq!(left, vec!["|||"]);
    let all = sql_rows(&ctx, "SELECT body FROM ledger_entries")
        .await
        .join("\n");
    assert!(!all.contains("Ana") && !all.contains("example.org"));
    let (_, v, _) = get(&ctx, &d(&ctx, "gd", "/ledger/verify")).await;
    assert_eq!(
        (v["ok"].as_bool(), v["entries"].as_i64()),
        (Some(true), Some(3)),
        "{v}"
    );
    let (_, page, _) = get(&ctx, &d(&ctx, "gd", "/ledger")).await;
    assert_eq!(verify_published(&page), 3);
    assert!(ctx
        .server
        .run_cli_ok(&["verify-ledger"])
        .contains("ok, 3 entries"));
    let names: Vec<Value> = get(&ctx, &d(&ctx, "gd", "/signatures")).await.1["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["full_name"].clone())
        .collect();
    assert_eq!(names, [json!("Ben")]);
}

#[tokio::test]
async fn two_hundred_concurrent_confirmations_leave_one_unbroken_chain() {
    let ctx = std::sync::Arc::new(start(&[]).await);
    open_declaration(&ctx, "gd").await;
    let n = 200;
    // Sign (16 at a time), then read the 200 links from the outbox.
    let sem = std::sync::Arc::new(tokio::sync::Semaphore::new(16));
    let mut tasks = vec![];
    for i in 0..n {
        let (ctx, sem) = (ctx.clone(), sem.clone());
        tasks.push(tokio::spawn(async move {
            let _p = sem.acquire().await.unwrap();
            let body = signer(
                &format!("Mayor {i}"),
                &format!("m{i}@example.org"),
                &format!("City {i}"),
                "TR",
                true,
            );
            post(&ctx, &d(&ctx, "gd", "/signatures"), false, body)
                .await
                .0
        }));
    }
    for t in tasks {
        assert_eq!(t.await.unwrap(), 202);
    }
    let rows = sql_rows(
        &ctx,
        "SELECT CAST(data AS TEXT) FROM notifications WHERE kind = 'signature.confirm'",
    )
    .await;
    let tokens: Vec<String> = rows
        .iter()
        .map(|r| {
            let v: Value = serde_json::from_str(r).unwrap();
            v["confirm_url"]
                .as_str()
                .unwrap()
                .split("token=")
                .nth(1)
                .unwrap()
                .to_owned()
        })
        .collect();
    assert_eq!(tokens.len(), n);
    // All confirmations at once.
    let barrier = std::sync::Arc::new(tokio::sync::Barrier::new(n));
    let mut tasks = vec![];
    for t in tokens {
        let (ctx, barrier) = (ctx.clone(), barrier.clone());
        tasks.push(tokio::spawn(async move {
            barrier.wait().await;
            post(
                &ctx,
                &d(&ctx, "gd", "/signatures/confirm"),
                false,
                json!({"token": t}),
            )
            .await
        }));
    }
    let mut seqs = vec![];
    for t in tasks {
        let (st, b, _) = t.await.unwrap();
        assert_eq!(st, 200, "{b}");
        seqs.push(b["ledger_seq"].as_i64().unwrap());
    }
    seqs.sort();
    assert_eq!(
        seqs,
        (1..=n as i64).collect::<Vec<_>>(),
        "no gap, no duplicate"
    );
    let (_, v, _) = get(&ctx, &d(&ctx, "gd", "/ledger/verify")).await;
    assert_eq!(
        (v["ok"].as_bool(), v["entries"].as_i64()),
        (Some(true), Some(n as i64)),
        "{v}"
    );
    let (_, page, _) = get(&ctx, &d(&ctx, "gd", "/ledger")).await;
    assert_eq!(verify_published(&page), n);
    assert_eq!(get(&ctx, &d(&ctx, "gd", "/counts")).await.1["total"], n);
}

/// POST with an `Idempotency-Key` header (and the organizer token when `auth`).
async fn post_keyed(ctx: &Ctx, path: &str, auth: bool, key: &str, body: &Value) -> (u16, Value) {
    let mut rb = ctx
        .server
        .client
        .post(ctx.server.url(path))
        .header("Idempotency-Key", key)
        .json(body);
    if auth {
        rb = rb.bearer_auth(&ctx.token);
    }
    let res = rb.send().await.expect("request");
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or(Value::Null))
}

/// DESIGN: creating signatures honours `Idempotency-Key`. The same key and body → the
/// first answer (200) and nothing new (one signature, one confirmation e-mail), also when
/// the duplicates race; another body → 422; a malformed key → 422; the key expires.
#[tokio::test]
async fn signature_creation_honours_idempotency_keys() {
    let ctx =
        std::sync::Arc::new(start(&[("CONVENE_REGISTRATION__IDEMPOTENCY_TTL_SECONDS", "3")]).await);
    open_declaration(&ctx, "gd").await;
    let path = d(&ctx, "gd", "/signatures");
    let body = signer("Fatma Şahin", "fatma@example.org", "Gaziantep", "TR", true);

    let (st, first) = post_keyed(&ctx, &path, false, "sig-1", &body).await;
    assert_eq!(st, 202, "{first}");
    let (st, again) = post_keyed(&ctx, &path, false, "sig-1", &body).await;
    assert_eq!(st, 200, "{again}");
    assert_eq!(again, first, "a replay is the first answer");
    assert_eq!(
        tokens_for(&ctx, &first["id"]).await.len(),
        1,
        "one e-mail only"
    );

    // Another body with the same key: 422 naming the header; nothing written.
    let other = signer("Other", "other@example.org", "Kilis", "TR", true);
    let (st, p) = post_keyed(&ctx, &path, false, "sig-1", &other).await;
    assert_eq!(st, 422, "{p}");
    assert!(p.to_string().contains("Idempotency-Key"), "{p}");
    let (st, p) = post_keyed(&ctx, &path, false, "has space", &other).await;
    assert_eq!(st, 422, "{p}");
    let n = sql_rows(&ctx, "SELECT CAST(COUNT(*) AS TEXT) FROM signatures").await;
    assert_eq!(n, ["1"]);

    // Eight racing duplicates of a new request: one 202, seven replays of it.
    let body2 = signer("Racer", "racer@example.org", "Nizip", "TR", true);
    let mut tasks = vec![];
    for _ in 0..8 {
        let (ctx, path, body2) = (ctx.clone(), path.clone(), body2.clone());
        tasks.push(tokio::spawn(async move {
            post_keyed(&ctx, &path, false, "race-1", &body2).await
        }));
    }
    let mut answers = vec![];
    for t in tasks {
        answers.push(t.await.unwrap());
    }
    let created: Vec<_> = answers.iter().filter(|(st, _)| *st == 202).collect();
    assert_eq!(created.len(), 1, "{answers:?}");
    assert!(answers
        .iter()
        .all(|(st, v)| (*st == 202 || *st == 200) && v["id"] == created[0].1["id"]));
    assert_eq!(tokens_for(&ctx, &created[0].1["id"]).await.len(), 1);

    // In person (organizer): 201, then the replay 200 with the same signature.
    let body3 = signer("Witnessed", "w@example.org", "Islahiye", "TR", false);
    let ip = d(&ctx, "gd", "/signatures/in-person");
    let (st, a) = post_keyed(&ctx, &ip, true, "ip-1", &body3).await;
    assert_eq!(st, 201, "{a}");
    let (st, b) = post_keyed(&ctx, &ip, true, "ip-1", &body3).await;
    assert_eq!((st, &b["id"]), (200, &a["id"]), "{b}");
    let n = sql_rows(&ctx, "SELECT CAST(COUNT(*) AS TEXT) FROM signatures").await;
    assert_eq!(n, ["3"]);

    // After the key's lifetime (3 s here) the same key is a new request: the first
    // signature is live, so the same body is now refused as a second signature.
    tokio::time::sleep(std::time::Duration::from_millis(4200)).await;
    let (st, p) = post_keyed(&ctx, &path, false, "sig-1", &body).await;
    assert_eq!(st, 409, "{p}");
    assert_eq!(p["type"], "/problems/already-signed", "{p}");
}

/// The public `signatures.csv` neutralises cells a spreadsheet would run as formulas,
/// as `registrations.csv` does (issue 11: one CSV writer for every export).
#[tokio::test]
async fn signatures_csv_neutralises_formula_cells() {
    let ctx = start(&[]).await;
    open_declaration(&ctx, "gd").await;
    for (name, entity) in [
        ("=HYPERLINK(\"http://x.example\")", "+Izmir"),
        ("@SUM(A1)", "-Adana"),
    ] {
        let (st, b, _) = post(
            &ctx,
            &d(&ctx, "gd", "/signatures/in-person"),
            true,
            signer(name, "", entity, "TR", true),
        )
        .await;
        assert_eq!(st, 201, "{b}");
    }
    let res = ctx
        .server
        .client
        .get(ctx.server.url(&d(&ctx, "gd", "/signatures.csv")))
        .send()
        .await
        .unwrap();
    let csv = res.text().await.unwrap();
    let cells: Vec<&str> = csv.lines().skip(1).flat_map(|l| l.split(',')).collect();
    for bad in ["=", "+", "-", "@"] {
        assert!(
            !cells
                .iter()
                .any(|c| c.trim_start_matches('"').starts_with(bad)),
            "a cell begins with {bad}: {csv}"
        );
    }
    for want in ["'+Izmir", "'-Adana", "'@SUM(A1)", "\"'=HYPERLINK("] {
        assert!(csv.contains(want), "{want} missing: {csv}");
    }
}

/// One live signature per entity holds for names a person reads as the same: Unicode
/// normal forms (NFC / NFD, fullwidth), case, no-break and repeated spaces (issue 11).
#[tokio::test]
async fn entity_names_are_compared_as_a_person_reads_them() {
    let ctx = start(&[]).await;
    open_declaration(&ctx, "gd").await;
    for (i, (a, b)) in [
        ("Café Town", "CAFE\u{301}\u{a0}\u{a0}town"),
        ("Izmir", "Ｉｚｍｉｒ"),
    ]
    .into_iter()
    .enumerate()
    {
        let mut codes = vec![];
        for (j, entity) in [a, b].into_iter().enumerate() {
            let (st, body, _) = post(
                &ctx,
                &d(&ctx, "gd", "/signatures/in-person"),
                true,
                signer(&format!("Mayor {i}{j}"), "", entity, "TR", true),
            )
            .await;
            codes.push((st, body["type"].clone()));
        }
        assert_eq!(codes[0].0, 201, "{a}: {codes:?}");
        assert_eq!(codes[1].0, 409, "{b} is {a}: {codes:?}");
    }
}

/// E-mail addresses are taken in the form the relay can send to: an internationalized
/// domain is stored (and mailed) in its ASCII form; a non-ASCII local part is refused
/// with a clear 422, nothing written (the relay has no SMTPUTF8) (issue 11).
#[tokio::test]
async fn idn_domains_are_sent_as_punycode_and_utf8_local_parts_refused() {
    let ctx = start(&[]).await;
    open_declaration(&ctx, "gd").await;
    let (st, b, _) = post(
        &ctx,
        &d(&ctx, "gd", "/signatures"),
        false,
        signer("Ana", " Ana@MÜNCHEN.example ", "Izmir", "TR", true),
    )
    .await;
    assert_eq!(st, 202, "{b}");
    let rcpt = sql_rows(
        &ctx,
        "SELECT recipient_email FROM notifications WHERE kind = 'signature.confirm'",
    )
    .await;
    assert_eq!(rcpt, ["ana@xn--mnchen-3ya.example"]);
    let (st, b, _) = post(
        &ctx,
        &d(&ctx, "gd", "/signatures"),
        false,
        signer("Jürgen", "jürgen@example.org", "Adana", "TR", true),
    )
    .await;
    assert_eq!(st, 422, "{b}");
    assert!(b.to_string().contains("SMTPUTF8"), "{b}");
    let n = sql_rows(&ctx, "SELECT CAST(COUNT(*) AS TEXT) FROM signatures").await;
    assert_eq!(n, ["1"], "nothing written for the refused one");
}
