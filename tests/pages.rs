//! Black-box tests of the public pages (issue 12) against the built binary over HTTP, on
//! SQLite and PostgreSQL: a draft is the same 404 page as no forum; language negotiation
//! (`?lang=`, `Accept-Language`, the forum's default; Arabic right-to-left, Turkish
//! dates); programme days split by the forum's `day_change`; security headers, the hashed
//! stylesheet, compression; CSRF refusal; the e-mailed link's token moved into a scoped
//! cookie with a redirect to a clean URL; a GET of the e-mailed confirmation link (what a
//! mail scanner does) changing nothing in the database; confirmation by the button's POST.
mod common;

use common::Server;
use reqwest::header::{HeaderMap, ACCEPT_LANGUAGE, COOKIE, LOCATION, ORIGIN, SET_COOKIE};
use serde_json::{json, Value};
use sqlx::Connection as _;

struct Ctx {
    server: Server,
    token: String,
    /// Does not follow redirects: the tests look at each 303.
    http: reqwest::Client,
}

async fn start() -> Ctx {
    let server = Server::start().await;
    let token = server.organizer_token("org@example.org");
    let http = reqwest::Client::builder()
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(std::time::Duration::from_secs(30))
        .build()
        .unwrap();
    Ctx {
        server,
        token,
        http,
    }
}

impl Ctx {
    async fn api(&self, method: reqwest::Method, path: &str, body: Value) -> (u16, Value) {
        let (st, v) = self
            .server
            .call(method, &format!("/api/v1{path}"), &self.token, Some(body))
            .await;
        (st.as_u16(), v)
    }

    async fn page(&self, path: &str, headers: &[(&str, &str)]) -> (u16, HeaderMap, String) {
        let mut rb = self.http.get(self.server.url(path));
        for (k, v) in headers {
            rb = rb.header(*k, *v);
        }
        let res = rb.send().await.unwrap();
        let st = res.status().as_u16();
        let h = res.headers().clone();
        // minijinja writes `/` in attributes as `&#x2f;` (same URL to a browser).
        (st, h, res.text().await.unwrap().replace("&#x2f;", "/"))
    }

    /// Forum `slug` (published unless `draft`), Istanbul time, two days.
    async fn forum(&self, slug: &str, extra: Value, draft: bool) {
        let mut body = json!({"slug": slug, "title": format!("Forum {slug}"), "city": "Gaziantep",
            "country": "TR", "time_zone": "Europe/Istanbul", "first_day": "2019-11-26",
            "last_day": "2019-11-27"});
        if let (Value::Object(b), Value::Object(e)) = (&mut body, extra) {
            b.extend(e);
        }
        let (st, b) = self.api(reqwest::Method::POST, "/forums", body).await;
        assert_eq!(st, 201, "{b}");
        if !draft {
            let (st, b) = self
                .api(
                    reqwest::Method::POST,
                    &format!("/forums/{slug}/publish"),
                    json!({}),
                )
                .await;
            assert_eq!(st, 200, "{b}");
        }
    }

    async fn sql(&self, sql: &str) -> Vec<String> {
        let url = self.server.db.url.clone();
        if url.starts_with("sqlite") {
            let mut c = sqlx::SqliteConnection::connect(&url).await.unwrap();
            let rows: Vec<(String,)> = sqlx::query_as(sqlx::AssertSqlSafe(sql.to_owned()))
                .fetch_all(&mut c)
                .await
                .unwrap();
            rows.into_iter().map(|r| r.0).collect()
        } else {
            let mut c = sqlx::PgConnection::connect(&url).await.unwrap();
            let rows: Vec<(String,)> = sqlx::query_as(sqlx::AssertSqlSafe(sql.to_owned()))
                .fetch_all(&mut c)
                .await
                .unwrap();
            rows.into_iter().map(|r| r.0).collect()
        }
    }

    /// Forum `g` with an open declaration `gd` (English text, Turkish translation).
    async fn declaration(&self) {
        self.forum("gz", json!({}), false).await;
        let base = "/forums/gz/declarations";
        let (st, b) = self
            .api(
                reqwest::Method::POST,
                base,
                json!({"slug": "gd", "title": "Gaziantep Declaration", "language": "en"}),
            )
            .await;
        assert_eq!(st, 201, "{b}");
        let (st, b) = self
            .api(
                reqwest::Method::POST,
                &format!("{base}/gd/versions"),
                json!({"title": "Gaziantep Declaration", "text": "We, the mayors, declare."}),
            )
            .await;
        assert_eq!(st, 201, "{b}");
        let (st, b) = self
            .api(reqwest::Method::POST, &format!("{base}/gd/versions/1/translations"), json!({"language": "tr", "title": "Gaziantep Bildirgesi", "text": "Biz belediye başkanları bildiririz."}))
            .await;
        assert_eq!(st, 201, "{b}");
        let (st, b) = self
            .api(reqwest::Method::POST, &format!("{base}/gd/open"), json!({}))
            .await;
        assert_eq!(st, 200, "{b}");
    }

    /// Signs online through the API; returns the e-mailed confirmation link's path and
    /// query (from the outbox row, as the worker would send it).
    async fn sign(&self, name: &str, email: &str) -> String {
        let (st, b) = self
            .api(
                reqwest::Method::POST,
                "/forums/gz/declarations/gd/signatures",
                json!({"full_name": name, "entity_kind": "city", "entity_name": format!("{name} City"),
                       "country": "TR", "email": email, "consent_publish": true}),
            )
            .await;
        assert_eq!(st, 202, "{b}");
        let rows = self
            .sql(&format!(
                "SELECT CAST(data AS TEXT) FROM notifications WHERE kind = 'signature.confirm' \
                 AND dedupe_key LIKE 'signature.confirm:{}:%'",
                b["id"].as_str().unwrap()
            ))
            .await;
        let data: Value = serde_json::from_str(&rows[0]).unwrap();
        data["confirm_url"].as_str().unwrap().to_owned()
    }

    async fn signature_state(&self) -> (Vec<String>, String) {
        let statuses = self
            .sql("SELECT status FROM signatures ORDER BY created_at")
            .await;
        let ledger = self
            .sql("SELECT CAST(COUNT(*) AS TEXT) FROM ledger_entries")
            .await
            .remove(0);
        (statuses, ledger)
    }
}

fn set_cookies(h: &HeaderMap) -> Vec<String> {
    h.get_all(SET_COOKIE)
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .collect()
}

/// `name=value` of the Set-Cookie named `name`.
fn cookie_pair(h: &HeaderMap, name: &str) -> String {
    set_cookies(h)
        .into_iter()
        .find(|c| c.starts_with(&format!("{name}=")))
        .unwrap_or_else(|| panic!("no {name} cookie in {h:?}"))
        .split(';')
        .next()
        .unwrap()
        .to_owned()
}

/// The hidden `csrf` field of a page.
fn csrf_field(html: &str) -> String {
    let at =
        html.find("name=\"csrf\" value=\"").expect("csrf field") + "name=\"csrf\" value=\"".len();
    html[at..].split('"').next().unwrap().to_owned()
}

#[tokio::test]
async fn a_draft_forum_is_the_same_404_page_as_no_forum() {
    let ctx = start().await;
    ctx.forum("drafty", json!({}), true).await;
    let (st, h, draft) = ctx.page("/forums/drafty", &[]).await;
    assert_eq!(st, 404);
    assert!(h["content-type"].to_str().unwrap().starts_with("text/html"));
    assert!(draft.contains("<html lang=\"en\" dir=\"ltr\">"), "{draft}");
    let (st, _, none) = ctx.page("/forums/nothing-here", &[]).await;
    assert_eq!(st, 404);
    assert_eq!(
        draft.replace("drafty", "X"),
        none.replace("nothing-here", "X"),
        "a draft must not be told apart from a missing forum"
    );
    for sub in ["/programme", "/programme/2019-11-26", "/speakers"] {
        assert_eq!(
            ctx.page(&format!("/forums/drafty{sub}"), &[]).await.0,
            404,
            "{sub}"
        );
    }
    // The API's unknown paths stay problem+json; other unknown paths are the HTML page.
    let (st, h, _) = ctx.page("/api/v1/nope", &[]).await;
    assert_eq!(st, 404);
    assert_eq!(h["content-type"], "application/problem+json");
    // Published: the page is there, with its title.
    let (st, b) = ctx
        .api(reqwest::Method::POST, "/forums/drafty/publish", json!({}))
        .await;
    assert_eq!(st, 200, "{b}");
    let (st, _, home) = ctx.page("/forums/drafty", &[]).await;
    assert_eq!(st, 200);
    assert!(home.contains("Forum drafty"));
    let (_, _, index) = ctx.page("/", &[]).await;
    assert!(index.contains("href=\"/forums/drafty\""), "{index}");
}

#[tokio::test]
async fn language_from_query_then_accept_language_then_forum_default() {
    let ctx = start().await;
    ctx.forum("lf", json!({"languages": ["fr", "en"]}), false)
        .await;
    // ?lang=ar: Arabic, right to left; the page's own links carry ?lang=ar on.
    let (st, _, ar) = ctx
        .page("/forums/lf?lang=ar", &[(ACCEPT_LANGUAGE.as_str(), "tr")])
        .await;
    assert_eq!(st, 200);
    assert!(ar.contains("<html lang=\"ar\" dir=\"rtl\">"), "{ar}");
    assert!(ar.contains("البرنامج"), "Arabic words: {ar}");
    assert!(ar.contains("/forums/lf/programme?lang=ar"), "{ar}");
    // Accept-Language: Turkish words and Turkish dates.
    let (_, _, tr) = ctx
        .page(
            "/forums/lf",
            &[(ACCEPT_LANGUAGE.as_str(), "de-DE, tr;q=0.8, en;q=0.5")],
        )
        .await;
    assert!(tr.contains("<html lang=\"tr\" dir=\"ltr\">"), "{tr}");
    assert!(tr.contains("Salı 26 Kasım 2019"), "Turkish date: {tr}");
    assert!(
        tr.contains("Europe/Istanbul, UTC+03:00"),
        "zone named, offset written: {tr}"
    );
    // Nothing asked: the forum's first language.
    let (_, _, fr) = ctx.page("/forums/lf", &[]).await;
    assert!(fr.contains("<html lang=\"fr\""), "{fr}");
    assert!(fr.contains("mardi 26 novembre 2019"), "{fr}");
    // An unknown language everywhere: English.
    let (_, _, en) = ctx
        .page("/?lang=xx", &[(ACCEPT_LANGUAGE.as_str(), "ja")])
        .await;
    assert!(en.contains("<html lang=\"en\""), "{en}");
}

#[tokio::test]
async fn programme_days_follow_day_change_and_show_cancelled_sessions() {
    let ctx = start().await;
    ctx.forum("pd", json!({"day_change": "04:00"}), false).await;
    let (st, room) = ctx
        .api(
            reqwest::Method::POST,
            "/forums/pd/rooms",
            json!({"name": "Hall A"}),
        )
        .await;
    assert_eq!(st, 201, "{room}");
    let room = room["id"].as_str().unwrap();
    let mut ids = vec![];
    for (title, start, end) in [
        (
            "Opening plenary",
            "2019-11-26T09:00:00+03:00",
            "2019-11-26T10:00:00+03:00",
        ),
        // 01:30 local on the 27th is still the programme day of the 26th (day_change 04:00).
        (
            "Night owls",
            "2019-11-27T01:30:00+03:00",
            "2019-11-27T02:30:00+03:00",
        ),
        (
            "Closing ceremony",
            "2019-11-27T16:00:00+03:00",
            "2019-11-27T17:00:00+03:00",
        ),
    ] {
        let (st, b) = ctx
            .api(
                reqwest::Method::POST,
                "/forums/pd/sessions",
                json!({"kind": "plenary", "title": title, "room_id": room, "starts_at": start, "ends_at": end}),
            )
            .await;
        assert_eq!(st, 201, "{b}");
        ids.push(b["id"].as_str().unwrap().to_owned());
    }
    let (_, _, day1) = ctx.page("/forums/pd/programme/2019-11-26", &[]).await;
    let (_, _, day2) = ctx.page("/forums/pd/programme/2019-11-27", &[]).await;
    assert!(
        day1.contains("Opening plenary") && day1.contains("Night owls"),
        "{day1}"
    );
    assert!(!day1.contains("Closing ceremony"));
    assert!(
        day2.contains("Closing ceremony") && !day2.contains("Night owls"),
        "{day2}"
    );
    assert!(day1.contains("Hall A"));
    assert!(
        day1.contains("datetime=\"2019-11-27T01:30:00+03:00\""),
        "{day1}"
    );
    assert!(!day1.contains("is-cancelled"));
    // Outside the forum's days, or not a date: 404.
    assert_eq!(
        ctx.page("/forums/pd/programme/2019-11-28", &[]).await.0,
        404
    );
    assert_eq!(ctx.page("/forums/pd/programme/someday", &[]).await.0, 404);
    // Cancelling re-renders the (cached) day: shown as cancelled, not dropped.
    let (st, b) = ctx
        .api(
            reqwest::Method::POST,
            &format!("/forums/pd/sessions/{}/cancel", ids[1]),
            json!({}),
        )
        .await;
    assert_eq!(st, 200, "{b}");
    let (_, _, day1) = ctx.page("/forums/pd/programme/2019-11-26", &[]).await;
    assert!(
        day1.contains("Night owls") && day1.contains("is-cancelled"),
        "{day1}"
    );
    // The session page: local time with zone, a calendar file while scheduled.
    let (st, _, s) = ctx
        .page(&format!("/forums/pd/sessions/{}", ids[0]), &[])
        .await;
    assert_eq!(st, 200);
    assert!(
        s.contains("Tuesday 26 November 2019, 09:00–10:00 (Europe/Istanbul, UTC+03:00)"),
        "{s}"
    );
    assert!(s.contains("webcal://"), "{s}");
    let (st, h, ics) = ctx
        .page(&format!("/forums/pd/sessions/{}/calendar.ics", ids[0]), &[])
        .await;
    assert_eq!(st, 200);
    assert!(h["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/calendar"));
    assert!(
        ics.contains("SUMMARY:Opening plenary") && !ics.contains("Closing"),
        "{ics}"
    );
    assert_eq!(
        ctx.page(&format!("/forums/pd/sessions/{}/calendar.ics", ids[1]), &[])
            .await
            .0,
        404
    );
}

#[tokio::test]
async fn every_page_has_the_security_headers_and_a_cacheable_hashed_stylesheet() {
    let ctx = start().await;
    ctx.declaration().await;
    for path in [
        "/",
        "/forums/gz",
        "/forums/gz/programme",
        "/forums/gz/programme/2019-11-26",
        "/forums/gz/speakers",
        "/forums/gz/declarations/gd",
        "/forums/gz/declarations/gd/signatories",
        "/forums/gz/declarations/gd/ledger",
        "/forums/nope",
    ] {
        let (st, h, body) = ctx.page(path, &[]).await;
        assert!(st == 200 || st == 404, "{path}: {st}");
        let csp = h["content-security-policy"].to_str().unwrap();
        assert_eq!(
            csp,
            "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
            "{path}"
        );
        assert!(!csp.contains("unsafe-inline"));
        assert_eq!(h["x-content-type-options"], "nosniff", "{path}");
        assert!(h.contains_key("referrer-policy"), "{path}");
        assert!(body.contains("<a class=\"skip\" href=\"#main\">"), "{path}");
        assert!(body.contains("<main id=\"main\""), "{path}");
        assert!(!body.contains("<script"), "{path}: no script needed");
    }
    let (_, _, home) = ctx.page("/forums/gz", &[]).await;
    let at = home.find("rel=\"stylesheet\" href=\"").unwrap() + "rel=\"stylesheet\" href=\"".len();
    let css = home[at..].split('"').next().unwrap().to_owned();
    assert!(
        css.starts_with("/assets/convene.") && css.ends_with(".css") && css.len() > 30,
        "{css}"
    );
    let (st, h, body) = ctx.page(&css, &[]).await;
    assert_eq!(st, 200);
    assert_eq!(h["cache-control"], "public, max-age=31536000, immutable");
    assert!(h["content-type"].to_str().unwrap().starts_with("text/css"));
    assert!(body.contains("@media print"));
    // Compressed when the client accepts it.
    let (_, h, _) = ctx.page("/forums/gz", &[("accept-encoding", "gzip")]).await;
    assert_eq!(h["content-encoding"], "gzip");
    let (_, h, _) = ctx.page(&css, &[("accept-encoding", "br")]).await;
    assert_eq!(h["content-encoding"], "br");
}

#[tokio::test]
async fn the_emailed_link_moves_its_token_into_a_cookie_and_a_get_changes_nothing() {
    let ctx = start().await;
    ctx.declaration().await;
    let link = ctx.sign("Ayşe", "ayse@example.org").await;
    // The e-mailed link points to the confirmation page, not the API.
    assert!(
        link.starts_with("/forums/gz/declarations/gd/confirm?token=cvn_sig_"),
        "{link}"
    );
    let token = link.split("token=").nth(1).unwrap().to_owned();
    let before = ctx.signature_state().await;
    assert_eq!(before, (vec!["pending".to_string()], "0".to_string()));

    // A mail scanner GETs the link (and the API's GET): nothing changes.
    let (st, h, _) = ctx.page(&link, &[]).await;
    assert_eq!(st, 303);
    let (st, _, api) = ctx
        .page(
            &format!("/api/v1/forums/gz/declarations/gd/signatures/confirm?token={token}"),
            &[],
        )
        .await;
    assert_eq!(st, 200, "{api}");
    assert!(api.contains("\"pending\""), "{api}");
    assert_eq!(ctx.signature_state().await, before);

    // The 303 goes to a URL without the token; the token is in a cookie scoped to that
    // one signature's pages, HttpOnly and SameSite=Strict; nothing is cached or referred.
    let location = h[LOCATION].to_str().unwrap().to_owned();
    assert!(
        !location.contains("token") && !location.contains("cvn_sig_"),
        "{location}"
    );
    let id = location
        .strip_prefix("/forums/gz/declarations/gd/signatures/")
        .and_then(|r| r.strip_suffix("/confirm"))
        .expect("signature page")
        .to_owned();
    let (_, api_view) = ctx
        .api(
            reqwest::Method::GET,
            &format!("/forums/gz/declarations/gd/signatures/confirm?token={token}"),
            json!(null),
        )
        .await;
    assert_eq!(api_view["id"].as_str(), Some(id.as_str()));
    assert_eq!(
        location,
        format!("/forums/gz/declarations/gd/signatures/{id}/confirm")
    );
    let set = set_cookies(&h);
    let sig = set
        .iter()
        .find(|c| c.starts_with("convene_sig="))
        .expect("token cookie");
    assert!(sig.contains(&format!("convene_sig={token}")), "{sig}");
    for part in [
        "HttpOnly",
        "SameSite=Strict",
        &format!("Path=/forums/gz/declarations/gd/signatures/{id}"),
    ] {
        assert!(sig.contains(part), "{part} in {sig}");
    }
    assert!(!sig.contains("Secure"), "http base URL: no Secure");
    assert_eq!(h["referrer-policy"], "no-referrer");
    assert_eq!(h["cache-control"], "no-store");
    let cookie = format!("convene_sig={token}");

    // The confirmation page shows what will be confirmed, and still changes nothing.
    let (st, h, page) = ctx.page(&location, &[(COOKIE.as_str(), &cookie)]).await;
    assert_eq!(st, 200, "{page}");
    assert!(
        page.contains("Ayşe") && page.contains("Ayşe City"),
        "{page}"
    );
    assert!(page.contains("Confirm my signature"), "{page}");
    assert_eq!(h["referrer-policy"], "no-referrer");
    assert_eq!(h["cache-control"], "no-store");
    assert_eq!(ctx.signature_state().await, before);
    // Without the cookie the page does not show the signature.
    let (_, _, anon) = ctx.page(&format!("{location}?again=1"), &[]).await;
    assert!(!anon.contains("Ayşe"), "{anon}");
    // An unknown token: the link page, no cookie.
    let (st, h, _) = ctx
        .page("/forums/gz/declarations/gd/confirm?token=cvn_sig_nope", &[])
        .await;
    assert_eq!(st, 404);
    assert!(set_cookies(&h)
        .iter()
        .all(|c| !c.starts_with("convene_sig")));
}

#[tokio::test]
async fn csrf_refused_then_confirmation_by_the_buttons_post() {
    let ctx = start().await;
    ctx.declaration().await;
    let link = ctx.sign("Zeynep", "zeynep@example.org").await;
    let (_, h, _) = ctx.page(&link, &[]).await;
    let location = h[LOCATION].to_str().unwrap().to_owned();
    let sig_cookie = cookie_pair(&h, "convene_sig");
    let (_, h, page) = ctx.page(&location, &[(COOKIE.as_str(), &sig_cookie)]).await;
    let csrf_cookie = cookie_pair(&h, "convene_csrf");
    let csrf = csrf_field(&page);
    let origin = ctx.server.base.clone();
    let both = format!("{sig_cookie}; {csrf_cookie}");
    let post = |cookie: String, origin: Option<String>, form: String| {
        let mut rb = ctx
            .http
            .post(ctx.server.url(&location))
            .header(COOKIE, cookie)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(form);
        if let Some(o) = origin {
            rb = rb.header(ORIGIN, o);
        }
        rb.send()
    };
    let pending = ctx.signature_state().await;
    // No token, a wrong token, the token without its cookie, another site's Origin.
    for (cookie, origin, form) in [
        (both.clone(), Some(origin.clone()), String::new()),
        (both.clone(), Some(origin.clone()), "csrf=AAAA".to_string()),
        (
            sig_cookie.clone(),
            Some(origin.clone()),
            format!("csrf={csrf}"),
        ),
        (
            both.clone(),
            Some("https://evil.example".to_string()),
            format!("csrf={csrf}"),
        ),
    ] {
        let res = post(cookie, origin, form).await.unwrap();
        assert_eq!(res.status(), 403);
        assert!(res.text().await.unwrap().contains("The form has expired"));
        assert_eq!(
            ctx.signature_state().await,
            pending,
            "refused: nothing written"
        );
    }
    // The button's POST confirms: one ledger entry, then 303 to the signature's page.
    let res = post(both.clone(), Some(origin.clone()), format!("csrf={csrf}"))
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    assert_eq!(
        ctx.signature_state().await,
        (vec!["confirmed".to_string()], "1".to_string())
    );
    let done = res.headers()[LOCATION].to_str().unwrap().to_owned();
    let (st, _, page) = ctx.page(&done, &[(COOKIE.as_str(), &both)]).await;
    assert_eq!(st, 200);
    assert!(page.contains("Your signature is confirmed"), "{page}");
    // Sent again: refused by the rule (already confirmed), nothing more in the ledger.
    let res = post(both.clone(), Some(origin.clone()), format!("csrf={csrf}"))
        .await
        .unwrap();
    assert_eq!(res.status(), 409);
    assert_eq!(ctx.signature_state().await.1, "1");
    // Public list, counts and ledger pages show it.
    let (_, _, list) = ctx
        .page("/forums/gz/declarations/gd/signatories", &[])
        .await;
    assert!(
        list.contains("Zeynep") && list.contains("One confirmed signature."),
        "{list}"
    );
    let (_, _, ledger) = ctx.page("/forums/gz/declarations/gd/ledger", &[]).await;
    assert!(ledger.contains("re-verified all 1 entries"), "{ledger}");

    // The signing form itself: refused without CSRF, accepted with it (303 + e-mail).
    let (_, h, decl) = ctx.page("/forums/gz/declarations/gd", &[]).await;
    let cookie = cookie_pair(&h, "convene_csrf");
    let token = csrf_field(&decl);
    let form = |csrf: &str| {
        format!(
            "csrf={csrf}&full_name=Ali&entity_kind=city&entity_name=Kilis&country=TR&email=ali%40example.org&consent_publish=yes&version=1"
        )
    };
    let sign = |cookie: String, body: String| {
        ctx.http
            .post(ctx.server.url("/forums/gz/declarations/gd/sign"))
            .header(COOKIE, cookie)
            .header(ORIGIN, origin.clone())
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
    };
    let res = sign(cookie.clone(), form("forged")).await.unwrap();
    assert_eq!(res.status(), 403);
    assert_eq!(ctx.signature_state().await.0.len(), 1);
    // A field error is shown next to its field (422), nothing written.
    let res = sign(
        cookie.clone(),
        form(&token).replace("country=TR", "country=ZZ"),
    )
    .await
    .unwrap();
    assert_eq!(res.status(), 422);
    let body = res.text().await.unwrap();
    assert!(
        body.contains("id=\"country-error\"") && body.contains("aria-invalid=\"true\""),
        "{body}"
    );
    assert_eq!(ctx.signature_state().await.0.len(), 1);
    let res = sign(cookie, form(&token)).await.unwrap();
    assert_eq!(res.status(), 303);
    assert_eq!(res.headers()[LOCATION], "/forums/gz/declarations/gd?sent=1");
    assert_eq!(
        ctx.signature_state().await.0,
        vec!["confirmed".to_string(), "pending".to_string()]
    );
}

#[tokio::test]
async fn the_declaration_in_the_readers_language_with_its_hash() {
    let ctx = start().await;
    ctx.declaration().await;
    let (_, _, tr) = ctx.page("/forums/gz/declarations/gd?lang=tr", &[]).await;
    assert!(tr.contains("Biz belediye başkanları bildiririz."), "{tr}");
    let (_, _, ar) = ctx.page("/forums/gz/declarations/gd?lang=ar", &[]).await;
    // No Arabic translation: the original, said so, in an Arabic page.
    assert!(
        ar.contains("We, the mayors, declare.") && ar.contains("dir=\"rtl\""),
        "{ar}"
    );
    assert!(ar.contains("هذا النص غير متوفر بلغتك"), "{ar}");
    let (_, v) = ctx
        .api(
            reqwest::Method::GET,
            "/forums/gz/declarations/gd/versions/1",
            json!(null),
        )
        .await;
    assert!(tr.contains(v["version_sha256"].as_str().unwrap()), "{tr}");
}

/// Forum `reg` (published, in the future so that registration is open) with one custom
/// question of each kind.
async fn registration_forum(ctx: &Ctx, extra: Value) {
    let next_year = chrono::Datelike::year(&chrono::Utc::now().date_naive()) + 1;
    let mut body = json!({"first_day": format!("{next_year}-06-12"), "last_day": format!("{next_year}-06-13")});
    if let (Value::Object(b), Value::Object(e)) = (&mut body, extra) {
        b.extend(e);
    }
    ctx.forum("reg", body, false).await;
    let (st, b) = ctx
        .api(
            reqwest::Method::PUT,
            "/forums/reg/registration-form",
            json!({"questions": [
                {"id": "diet", "label": "Dietary needs", "kind": "text"},
                {"id": "track", "label": "Main interest", "kind": "single_choice", "options": ["Housing", "Jobs"], "required": true},
                {"id": "days", "label": "Days attending", "kind": "multiple_choice", "options": ["Day 1", "Day 2"]},
                {"id": "dinner", "label": "Joining the dinner?", "kind": "yes_no", "required": true}
            ]}),
        )
        .await;
    assert_eq!(st, 200, "{b}");
}

impl Ctx {
    async fn post_form(&self, path: &str, cookie: &str, body: String) -> reqwest::Response {
        self.http
            .post(self.server.url(path))
            .header(COOKIE, cookie)
            .header(ORIGIN, self.server.base.clone())
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
            .await
            .unwrap()
    }
}

/// The hidden field `name` of a page.
fn hidden_field(html: &str, name: &str) -> String {
    let needle = format!("name=\"{name}\" value=\"");
    let at = html.find(&needle).expect(&needle) + needle.len();
    html[at..].split('"').next().unwrap().to_owned()
}

#[tokio::test]
async fn the_registration_form_validates_through_the_domain_and_a_double_submit_registers_once() {
    let ctx = start().await;
    registration_forum(&ctx, json!({"capacity": 1})).await;
    // The forum home links to the form; the form asks every question, each kind its way.
    let (_, _, home) = ctx.page("/forums/reg", &[]).await;
    assert!(home.contains("href=\"/forums/reg/register\""), "{home}");
    let (st, h, page) = ctx.page("/forums/reg/register", &[]).await;
    assert_eq!(st, 200, "{page}");
    for part in [
        "id=\"q-diet\" name=\"q-diet\"",
        "type=\"radio\" id=\"q-track\" name=\"q-track\" value=\"Housing\"",
        "type=\"checkbox\" id=\"q-days-1\" name=\"q-days\" value=\"Day 2\"",
        "type=\"radio\" id=\"q-dinner\" name=\"q-dinner\" value=\"yes\"",
        "<option value=\"municipal_official\">",
    ] {
        assert!(page.contains(part), "{part} in {page}");
    }
    let cookie = cookie_pair(&h, "convene_csrf");
    let csrf = csrf_field(&page);
    let idem = hidden_field(&page, "idem");
    let count = || ctx.sql("SELECT CAST(COUNT(*) AS TEXT) FROM registrations");

    // Without the CSRF token: refused, nothing written.
    let good = format!(
        "csrf={csrf}&idem={idem}&name=Ay%C5%9Fe+Y%C4%B1ld%C4%B1z&email=ayse%40example.org&category=mayor&country=TR&language=tr&q-diet=none&q-track=Jobs&q-days=Day+1&q-days=Day+2&q-dinner=no"
    );
    let res = ctx
        .post_form(
            "/forums/reg/register",
            &cookie,
            good.replace(&csrf, "forged"),
        )
        .await;
    assert_eq!(res.status(), 403);
    assert_eq!(count().await, ["0"]);

    // Mistakes: the domain's rules, each message next to its field and in the summary.
    let bad = good
        .replace("ayse%40example.org", "ayse-example.org")
        .replace("&q-track=Jobs", "")
        .replace("country=TR", "country=ZZ");
    let res = ctx.post_form("/forums/reg/register", &cookie, bad).await;
    assert_eq!(res.status(), 422);
    let body = res.text().await.unwrap().replace("&#x2f;", "/");
    for part in [
        "<a href=\"#email\">E-mail: Enter an e-mail address",
        "<a href=\"#q-track\">Main interest: This field is required.",
        "<a href=\"#country\">Country: Enter a two-letter country code",
        "id=\"email-error\"",
        "aria-describedby=\"email-error email-hint\"",
        "aria-describedby=\"q-track-error\"",
        "value=\"Ayşe Yıldız\"",
        "value=\"Day 2\" checked",
    ] {
        assert!(body.contains(part), "{part} in {body}");
    }
    // The summary lists the fields in the form's order.
    assert!(body.find("#email").unwrap() < body.find("#country").unwrap());
    assert!(body.find("#country").unwrap() < body.find("#q-track").unwrap());
    assert_eq!(count().await, ["0"]);

    // Corrected and sent twice (a double click): one registration, both land on it.
    let (first, second) = tokio::join!(
        ctx.post_form("/forums/reg/register", &cookie, good.clone()),
        ctx.post_form("/forums/reg/register", &cookie, good.clone())
    );
    assert_eq!(first.status(), 303);
    assert_eq!(second.status(), 303);
    let at = first.headers()[LOCATION].to_str().unwrap().to_owned();
    assert_eq!(at, second.headers()[LOCATION].to_str().unwrap());
    assert!(
        at.starts_with("/forums/reg/registrations/") && at.ends_with("?done=registered"),
        "{at}"
    );
    assert_eq!(count().await, ["1"]);
    let answers = ctx
        .sql("SELECT CAST(answers AS TEXT) FROM registrations")
        .await;
    let answers: Value = serde_json::from_str(&answers[0]).unwrap();
    assert_eq!(
        answers,
        json!({"diet": "none", "track": "Jobs", "days": ["Day 1", "Day 2"], "dinner": false})
    );
    // The outcome: confirmed, on the manage page (token in its cookie).
    let reg_cookie = cookie_pair(first.headers(), "convene_reg");
    let (st, _, page) = ctx.page(&at, &[(COOKIE.as_str(), &reg_cookie)]).await;
    assert_eq!(st, 200, "{page}");
    assert!(page.contains("your place is confirmed"), "{page}");

    // The next person (capacity 1) is wait-listed, told their position, in Arabic.
    let (_, h, page) = ctx.page("/forums/reg/register?lang=ar", &[]).await;
    assert!(page.contains("dir=\"rtl\""));
    let cookie = cookie_pair(&h, "convene_csrf");
    let body = good
        .replace(&csrf, &csrf_field(&page))
        .replace(&idem, &hidden_field(&page, "idem"))
        .replace("ayse%40", "omar%40");
    let res = ctx
        .post_form("/forums/reg/register?lang=ar", &cookie, body)
        .await;
    assert_eq!(res.status(), 303);
    let at = res.headers()[LOCATION].to_str().unwrap().to_owned();
    assert!(at.contains("lang=ar"), "{at}");
    let reg_cookie = cookie_pair(res.headers(), "convene_reg");
    let (_, _, page) = ctx.page(&at, &[(COOKIE.as_str(), &reg_cookie)]).await;
    assert!(page.contains("أنت على قائمة الانتظار"), "{page}");
    assert!(page.contains('1'), "{page}");

    // The same e-mail again: refused by the domain's rule, said in words.
    let (_, h, page) = ctx.page("/forums/reg/register", &[]).await;
    let cookie = cookie_pair(&h, "convene_csrf");
    let body = good
        .replace(&csrf, &csrf_field(&page))
        .replace(&idem, &hidden_field(&page, "idem"));
    let res = ctx.post_form("/forums/reg/register", &cookie, body).await;
    assert_eq!(res.status(), 409);
    assert!(res
        .text()
        .await
        .unwrap()
        .contains("already registered for this forum"));
    assert_eq!(count().await, ["2"]);
}

/// Registers `email` through the form of forum `reg`; returns the manage page's path and
/// the cookies (`convene_reg`, `convene_csrf`) a browser would hold.
async fn register_by_form(ctx: &Ctx, email: &str) -> (String, String) {
    let (_, h, page) = ctx.page("/forums/reg/register", &[]).await;
    let csrf_cookie = cookie_pair(&h, "convene_csrf");
    let body = format!(
        "csrf={}&idem={}&name=Omar+Haddad&email={}&category=ngo&q-track=Jobs&q-dinner=yes",
        csrf_field(&page),
        hidden_field(&page, "idem"),
        email.replace('@', "%40")
    );
    let res = ctx
        .post_form("/forums/reg/register", &csrf_cookie, body)
        .await;
    assert_eq!(res.status(), 303);
    let at = res.headers()[LOCATION].to_str().unwrap().to_owned();
    let reg_cookie = cookie_pair(res.headers(), "convene_reg");
    (
        at.split('?').next().unwrap().to_owned(),
        format!("{reg_cookie}; {csrf_cookie}"),
    )
}

#[tokio::test]
async fn the_manage_page_edits_signs_up_explains_a_clash_and_cancels_behind_a_question() {
    let ctx = start().await;
    registration_forum(&ctx, json!({})).await;
    let (_, f) = ctx
        .api(reqwest::Method::GET, "/forums/reg", json!(null))
        .await;
    let day = f["first_day"].as_str().unwrap().to_owned();
    let (st, room) = ctx
        .api(
            reqwest::Method::POST,
            "/forums/reg/rooms",
            json!({"name": "Hall", "capacity": 2}),
        )
        .await;
    assert_eq!(st, 201, "{room}");
    let (st, room_b) = ctx
        .api(
            reqwest::Method::POST,
            "/forums/reg/rooms",
            json!({"name": "Annex", "capacity": 50}),
        )
        .await;
    assert_eq!(st, 201, "{room_b}");
    let mut ids = vec![];
    for (title, from, to, room) in [
        ("Housing first", "09:00", "10:00", &room),
        ("Jobs for all", "10:00", "11:00", &room),
        ("Parallel workshop", "09:30", "10:30", &room_b),
    ] {
        let (st, s) = ctx
            .api(
                reqwest::Method::POST,
                "/forums/reg/sessions",
                json!({"kind": "workshop", "title": title, "room_id": room["id"],
                    "starts_at": format!("{day}T{from}:00+03:00"), "ends_at": format!("{day}T{to}:00+03:00")}),
            )
            .await;
        assert_eq!(st, 201, "{s}");
        ids.push(s["id"].as_str().unwrap().to_owned());
    }
    let (manage, cookie) = register_by_form(&ctx, "omar@example.org").await;
    let c = [(COOKIE.as_str(), cookie.as_str())];
    let (st, h, page) = ctx.page(&manage, &c).await;
    assert_eq!(st, 200, "{page}");
    assert_eq!(h["cache-control"], "no-store");
    // The check-in code as an inline SVG QR code, and the sessions with seats left.
    let code = ctx
        .sql("SELECT check_in_code FROM registrations")
        .await
        .remove(0);
    assert!(page.contains("<svg") && page.contains(&code), "{page}");
    assert!(page.contains("2 seats left."), "{page}");
    let csrf = csrf_field(&page);
    let signups = || {
        ctx.sql(
            "SELECT u.status FROM session_signups u JOIN sessions s ON s.id = u.session_id \
             ORDER BY s.starts_at",
        )
    };

    // A GET of every link of the page changes nothing.
    let before = common::snapshot::database(&ctx.server.db.url).await;
    for p in [
        manage.clone(),
        format!("{manage}/cancel"),
        format!("{manage}/agenda.ics"),
    ] {
        let (st, _, _) = ctx.page(&p, &c).await;
        assert_eq!(st, 200, "{p}");
    }
    common::snapshot::assert_unchanged(
        &before,
        &common::snapshot::database(&ctx.server.db.url).await,
        "GETs of the manage pages",
    );

    // Edit one's details: the domain's rules, the message next to the field.
    let res = ctx
        .post_form(
            &format!("{manage}/details"),
            &cookie,
            format!("csrf={csrf}&name=Omar+Haddad&organization=UCLG&category=ngo&country=ZZ&language=ar"),
        )
        .await;
    assert_eq!(res.status(), 422);
    assert!(res.text().await.unwrap().contains("id=\"country-error\""));
    let res = ctx
        .post_form(
            &format!("{manage}/details"),
            &cookie,
            format!("csrf={csrf}&name=Omar+Haddad&organization=UCLG&category=ngo&country=JO&language=ar"),
        )
        .await;
    assert_eq!(res.status(), 303);
    assert_eq!(
        ctx.sql("SELECT organization || ' ' || country || ' ' || language FROM registrations")
            .await,
        ["UCLG JO ar"]
    );

    // Two sign-ups, then a clash explained in words (naming the other session).
    for id in &ids[..2] {
        let res = ctx
            .post_form(
                &format!("{manage}/signups/{id}"),
                &cookie,
                format!("csrf={csrf}"),
            )
            .await;
        assert_eq!(res.status(), 303);
    }
    let res = ctx
        .post_form(
            &format!("{manage}/signups/{}?lang=en", ids[2]),
            &cookie,
            format!("csrf={csrf}"),
        )
        .await;
    assert_eq!(res.status(), 409);
    let body = res.text().await.unwrap();
    assert!(
        body.contains("You cannot sign up for “Parallel workshop”: it overlaps “Housing first”"),
        "{body}"
    );
    assert_eq!(signups().await, ["confirmed", "confirmed"]);
    let (_, _, page) = ctx.page(&manage, &c).await;
    assert!(page.contains("One seat left."), "{page}");
    // The agenda holds the two sessions.
    let (_, h, ics) = ctx.page(&format!("{manage}/agenda.ics"), &c).await;
    assert!(h["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/calendar"));
    assert!(
        ics.contains("SUMMARY:Housing first") && ics.contains("SUMMARY:Jobs for all"),
        "{ics}"
    );
    assert!(!ics.contains("Parallel workshop"), "{ics}");
    // Leave one.
    let res = ctx
        .post_form(
            &format!("{manage}/signups/{}/leave", ids[1]),
            &cookie,
            format!("csrf={csrf}"),
        )
        .await;
    assert_eq!(res.status(), 303);
    assert_eq!(signups().await, ["confirmed", "left"]);

    // A fresh link by e-mail: one more manage_link row in the outbox.
    let links =
        || ctx.sql("SELECT kind FROM notifications WHERE kind = 'registration.manage_link'");
    assert!(links().await.is_empty());
    let res = ctx
        .post_form(&format!("{manage}/link"), &cookie, format!("csrf={csrf}"))
        .await;
    assert_eq!(res.status(), 303);
    assert_eq!(links().await.len(), 1);

    // Cancel: without the CSRF token refused; with it, cancelled and seats freed.
    let res = ctx
        .post_form(&format!("{manage}/cancel"), &cookie, "csrf=forged".into())
        .await;
    assert_eq!(res.status(), 403);
    let res = ctx
        .post_form(&format!("{manage}/cancel"), &cookie, format!("csrf={csrf}"))
        .await;
    assert_eq!(res.status(), 303);
    let done = res.headers()[LOCATION].to_str().unwrap().to_owned();
    assert_eq!(
        ctx.sql("SELECT status FROM registrations").await,
        ["cancelled"]
    );
    assert_eq!(signups().await, ["lost", "left"]);
    let (_, _, page) = ctx.page(&done, &c).await;
    assert!(page.contains("Your registration is cancelled."), "{page}");
}
