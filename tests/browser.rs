//! Pages in a real browser: headless Chromium driven over WebDriver by
//! `tests/common/browser.rs`, axe-core for WCAG 2.x A/AA, screenshots into `target/pages/`.
//!
//! One Chromium serves the whole file (`common::browser::shared`); each test holds it while
//! it uses it, so the tests take turns in the browser while their servers start in
//! parallel. Needs Chromium, chromedriver and axe-core (`bash .ci/browser-tools`): skips
//! without them, fails when `CONVENE_REQUIRE_SHARED=1`.

mod common;

use common::browser::{self, Browser};
use common::{snapshot, Server};
use serde_json::json;

/// Width of a PNG from its IHDR chunk (bytes 16..20, big-endian; PNG spec, 11.2.2).
fn png_width(path: &std::path::Path) -> u32 {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    assert_eq!(
        &bytes[..8],
        b"\x89PNG\r\n\x1a\n",
        "{} is not a PNG",
        path.display()
    );
    u32::from_be_bytes(bytes[16..20].try_into().unwrap())
}

/// The harness itself on a page that has always existed: Swagger UI renders (its script
/// runs in the browser), and both screenshots have the asked width.
#[tokio::test]
async fn api_docs_page_renders_and_is_screenshot_at_both_widths() {
    let server = common::Server::start().await;
    let Some(b) = browser::shared().await else {
        return;
    };
    b.goto(&server.url("/api/v1/docs/")).await;
    b.wait_for("Swagger UI to render the API's title", || async {
        b.exists(".swagger-ui .info .title").await
    })
    .await;
    let title = b.text(".swagger-ui .info .title").await;
    assert!(title.contains("convene"), "title: {title:?}");

    let shots = b.screenshots("api-docs").await;
    assert_eq!(shots.len(), browser::SCREENSHOT_WIDTHS.len());
    for (path, width) in shots.iter().zip(browser::SCREENSHOT_WIDTHS) {
        assert!(
            path.ends_with(format!("pages/api-docs-{width}.png")),
            "{}",
            path.display()
        );
        assert_eq!(png_width(path), width, "{}", path.display());
    }
    // Back at the default size for the next test.
    let inner = b.eval("return window.innerWidth;").await;
    assert_eq!(inner, serde_json::json!(1280));
}

/// Dropping a `Browser` leaves no chromedriver, no Chromium (nor any of its helpers) and
/// no profile folder behind.
#[tokio::test]
async fn dropping_the_browser_stops_every_process_it_started() {
    let Some(b) = browser::Browser::launch() else {
        return;
    };
    let pgid = b.process_group().expect("running");
    let profile = b.profile_dir().expect("profile");
    let needle = profile.to_string_lossy().into_owned();
    let running = browser::processes(pgid, &needle);
    assert!(
        running.iter().any(|(_, cmd)| cmd.contains("chromedriver")),
        "no chromedriver among {running:#?}"
    );
    assert!(
        running
            .iter()
            .any(|(_, cmd)| cmd.contains("--user-data-dir") && cmd.contains(&needle)),
        "no Chromium with our profile among {running:#?}"
    );

    drop(b);
    // SIGKILLed processes vanish from /proc once reaped by their parent (or init).
    let t0 = std::time::Instant::now();
    loop {
        let left = browser::processes(pgid, &needle);
        if left.is_empty() {
            break;
        }
        assert!(
            t0.elapsed() < std::time::Duration::from_secs(10),
            "still running after drop: {left:#?}"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert!(
        !profile.exists(),
        "profile {} left behind",
        profile.display()
    );
}

// ---------------------------------------------------------------------------------------
// Shared set-up

/// The demo forum (`convene serve --demo`: the Gaziantep 2019 programme, its open
/// declaration in English and Turkish).
const FORUM: &str = "gaziantep2019";
const DECL: &str = "gaziantep-declaration";

/// The demo forum's first day: `serve --demo` moves the 2019 programme ahead of today.
async fn demo_first_day(server: &Server) -> chrono::NaiveDate {
    let f: serde_json::Value = server
        .client
        .get(server.url(&format!("/api/v1/forums/{FORUM}")))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    f["first_day"].as_str().unwrap().parse().unwrap()
}

/// `convene serve --demo` (with the e-mail worker when `worker`, polling every 100 ms,
/// writing `.eml` files) on a free loopback port that is also its `http.public_base_url`,
/// so e-mailed links and the pages' `Origin` check name the address the browser uses.
async fn demo_server(worker: bool) -> Server {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port();
    let listen = format!("127.0.0.1:{port}");
    let base = format!("http://127.0.0.1:{port}");
    let mut args = vec!["serve", "--demo"];
    if !worker {
        args.push("--no-worker");
    }
    let server = Server::start_with(
        &args,
        &[
            ("CONVENE_HTTP__LISTEN", &listen),
            ("CONVENE_HTTP__PUBLIC_BASE_URL", &base),
            ("CONVENE_MAIL__TRANSPORT", "file"),
            ("CONVENE_WORKER__POLL_INTERVAL_MS", "100"),
        ],
    )
    .await;
    assert_eq!(
        server.base, base,
        "the server listens where its links point"
    );
    server
}

/// `path` with `lang` as its `?lang=` (or `&lang=`).
fn with_lang(path: &str, lang: &str) -> String {
    let sep = if path.contains('?') { '&' } else { '?' };
    format!("{path}{sep}lang={lang}")
}

/// The page is in `lang`: `<html lang>` says so and the computed `direction` of the root
/// and of `<main>` is `rtl` for Arabic, `ltr` otherwise.
async fn assert_language(b: &Browser, lang: &str) {
    let html_lang = b.eval("return document.documentElement.lang;").await;
    assert_eq!(
        html_lang,
        json!(lang),
        "<html lang> at {}",
        b.current_url().await
    );
    let want = if lang == "ar" { "rtl" } else { "ltr" };
    assert_eq!(
        b.computed_style("html", "direction").await,
        want,
        "html direction ({lang})"
    );
    assert_eq!(
        b.computed_style("main", "direction").await,
        want,
        "main direction ({lang})"
    );
}

/// The `.eml` files the worker wrote so far, parsed: (file name, subject, text part, HTML part).
fn emails(server: &Server) -> Vec<(String, String, String, String)> {
    let mut out = Vec::new();
    let Ok(dir) = std::fs::read_dir(server.mail_dir()) else {
        return out;
    };
    let mut paths: Vec<_> = dir
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "eml"))
        .collect();
    paths.sort();
    for p in paths {
        let raw = std::fs::read(&p).unwrap();
        let msg = mail_parser::MessageParser::default()
            .parse(&raw)
            .unwrap_or_else(|| panic!("{} is not a message", p.display()));
        out.push((
            p.file_name().unwrap().to_string_lossy().into_owned(),
            msg.subject().unwrap_or_default().to_string(),
            msg.body_text(0).map(|t| t.into_owned()).unwrap_or_default(),
            msg.body_html(0).map(|t| t.into_owned()).unwrap_or_default(),
        ));
    }
    out
}

/// `text` with HTML's character references undone (`&amp;`, `&#x2f;`, `&#61;`, …: the
/// e-mails' templates escape `/` and `=` in attributes too).
fn unescape_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find('&') {
        out.push_str(&rest[..i]);
        let tail = &rest[i..];
        let end = tail.find(';').filter(|e| *e <= 10);
        let decoded = end.and_then(|e| {
            let name = &tail[1..e];
            let c = match name {
                "amp" => Some('&'),
                "lt" => Some('<'),
                "gt" => Some('>'),
                "quot" => Some('"'),
                "apos" => Some('\''),
                _ if name.starts_with("#x") || name.starts_with("#X") => {
                    u32::from_str_radix(&name[2..], 16)
                        .ok()
                        .and_then(char::from_u32)
                }
                _ if name.starts_with('#') => name[1..].parse().ok().and_then(char::from_u32),
                _ => None,
            }?;
            Some((c, e + 1))
        });
        match decoded {
            Some((c, len)) => {
                out.push(c);
                rest = &tail[len..];
            }
            None => {
                out.push('&');
                rest = &tail[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// Every `http(s)://` link in `text` (up to whitespace, a quote or an angle bracket), with
/// HTML's character references undone.
fn links_in(text: &str) -> Vec<String> {
    let text = unescape_html(text);
    let mut out = Vec::new();
    let mut rest = text.as_str();
    while let Some(i) = rest.find("http") {
        let tail = &rest[i..];
        if tail.starts_with("http://") || tail.starts_with("https://") {
            let end = tail
                .find(|c: char| c.is_whitespace() || matches!(c, '"' | '\'' | '<' | '>' | ')'))
                .unwrap_or(tail.len());
            let link = tail[..end]
                .trim_end_matches(['.', ','])
                .replace("&amp;", "&");
            if !out.contains(&link) {
                out.push(link);
            }
            rest = &tail[end..];
        } else {
            rest = &tail[4..];
        }
    }
    out
}

/// Waits (≤ 30 s) for the worker to have written `count` `.eml` files; returns them all.
async fn wait_for_emails(server: &Server, count: usize) -> Vec<(String, String, String, String)> {
    common::wait_until(
        &format!("{count} e-mail(s) in {}", server.mail_dir().display()),
        std::time::Duration::from_secs(30),
        || async { emails(server).len() >= count },
    )
    .await;
    emails(server)
}

/// What a mail scanner does with a link: GET it, keep the cookies it is given, follow
/// redirects and a `<meta http-equiv="refresh">` (at most 6 hops), never submit a form.
/// Returns the last status and URL.
async fn scan(link: &str) -> (u16, String) {
    let http = reqwest::Client::builder()
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(std::time::Duration::from_secs(30))
        .build()
        .unwrap();
    let mut jar: Vec<(String, String)> = Vec::new();
    let mut url = reqwest::Url::parse(link).unwrap();
    for _ in 0..6 {
        let cookie = jar
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ");
        let mut rb = http
            .get(url.clone())
            .header("user-agent", "LinkScanner/1.0");
        if !cookie.is_empty() {
            rb = rb.header("cookie", cookie);
        }
        let res = rb.send().await.unwrap();
        let status = res.status().as_u16();
        for c in res.headers().get_all("set-cookie") {
            let pair = c.to_str().unwrap().split(';').next().unwrap().to_string();
            if let Some((k, v)) = pair.split_once('=') {
                jar.retain(|(n, _)| n != k);
                jar.push((k.to_string(), v.to_string()));
            }
        }
        let next = if let Some(loc) = res.headers().get("location") {
            Some(loc.to_str().unwrap().to_string())
        } else {
            let body = res.text().await.unwrap_or_default();
            body.find("http-equiv=\"refresh\"").and_then(|i| {
                let tail = &body[i..];
                let at = tail.find("url=")? + 4;
                Some(tail[at..].split('"').next()?.replace("&amp;", "&"))
            })
        };
        match next {
            Some(n) => url = url.join(&n).unwrap(),
            None => return (status, url.to_string()),
        }
    }
    (0, url.to_string())
}

/// Opens `link` as a person does from a webmail: from another site (a `file://` copy of the
/// e-mail's HTML part), by clicking it; waits until the browser has settled on a page whose
/// address has no token. Returns that address.
async fn follow_from_email(b: &Browser, html_part: &str, link: &str, name: &str) -> reqwest::Url {
    let dir = browser::target_dir().join("pages");
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join(format!("{name}.html"));
    std::fs::write(&file, html_part).unwrap();
    b.goto(&format!("file://{}", file.display())).await;
    b.screenshots(name).await;
    let anchors = b.find_all("a[href]").await;
    let mut clicked = false;
    for a in anchors {
        if a.attr("href")
            .await
            .unwrap()
            .as_deref()
            .map(|h| h.replace("&amp;", "&"))
            == Some(link.to_string())
        {
            b.eval("window.__convene_old_page = true;").await;
            a.click().await.unwrap();
            clicked = true;
            break;
        }
    }
    assert!(clicked, "the e-mail's HTML part has no link to {link}");
    b.wait_for("the link's page, without its token", || async {
        let url = b.current_url().await;
        let settled = b
            .eval("return document.readyState === 'complete' && !window.__convene_old_page && !document.querySelector('meta[http-equiv=refresh]');")
            .await;
        url.scheme() != "file" && settled == json!(true)
    })
    .await;
    let url = b.current_url().await;
    assert!(
        !url.as_str().contains("token"),
        "a token stayed in the address bar: {url}"
    );
    url
}

// ---------------------------------------------------------------------------------------
// The public pages

/// Every public page of the demo forum, in English and in Arabic: the language is the
/// page's (`<html lang>`, computed `direction`), axe-core finds no WCAG 2.x A/AA
/// violation, and each is screenshot at 390 and 1280 px (`target/pages/NAME-LANG-WIDTH.png`).
#[tokio::test]
async fn every_public_page_passes_axe_in_english_and_arabic() {
    let server = demo_server(false).await;
    let Some(b) = browser::shared().await else {
        return;
    };
    let f = format!("/forums/{FORUM}");
    let d = format!("{f}/declarations/{DECL}");
    // One session and one speaker, found as a reader finds them: by following links.
    let first = demo_first_day(&server).await;
    b.goto(&server.url(&format!("{f}/programme/{first}"))).await;
    let session = b
        .find("main a[href*='/sessions/']")
        .await
        .attr("href")
        .await
        .unwrap()
        .expect("a session link");
    b.goto(&server.url(&format!("{f}/speakers"))).await;
    let speaker = b
        .find("main a[href*='/speakers/']")
        .await
        .attr("href")
        .await
        .unwrap()
        .expect("a speaker link");
    let strip = |h: &str| h.split('?').next().unwrap().to_string();
    let pages: Vec<(&str, String)> = vec![
        ("index", "/".into()),
        ("forum", f.clone()),
        ("programme", format!("{f}/programme")),
        ("programme-day", format!("{f}/programme/{first}")),
        ("session", strip(&session)),
        ("speakers", format!("{f}/speakers")),
        ("speaker", strip(&speaker)),
        ("declaration", d.clone()),
        ("signatories", format!("{d}/signatories")),
        ("ledger", format!("{d}/ledger")),
        ("not-found", format!("{f}/no-such-page")),
    ];
    for lang in ["en", "ar"] {
        for (name, path) in &pages {
            b.goto(&server.url(&with_lang(path, lang))).await;
            assert_language(&b, lang).await;
            b.assert_accessible(&format!("{name} ({lang})")).await;
            b.screenshots(&format!("{name}-{lang}")).await;
        }
    }
}

/// Arabic is right-to-left all the way to the layout (the site's name sits at the right
/// edge, as the first thing of a right-to-left line); Turkish pages write dates in Turkish.
#[tokio::test]
async fn arabic_is_right_to_left_and_turkish_dates_are_turkish() {
    let server = demo_server(false).await;
    let Some(b) = browser::shared().await else {
        return;
    };
    let home = format!("/forums/{FORUM}");
    // Where the header's first link (the site's name) sits: its centre's share of the width.
    let brand_at = || async {
        b.eval(
            "const r = document.querySelector('header a[href]:not(.skip)').getBoundingClientRect();
             return (r.left + r.right) / 2 / window.innerWidth;",
        )
        .await
        .as_f64()
        .unwrap()
    };
    b.goto(&server.url(&with_lang(&home, "ar"))).await;
    assert_eq!(
        b.eval("return document.documentElement.dir;").await,
        json!("rtl")
    );
    assert_language(&b, "ar").await;
    let ar_at = brand_at().await;
    b.goto(&server.url(&with_lang(&home, "en"))).await;
    assert_language(&b, "en").await;
    let en_at = brand_at().await;
    assert!(
        ar_at > 0.5 && en_at < 0.5,
        "mirrored header: ar {ar_at:.2}, en {en_at:.2}"
    );

    // The demo forum starts on a Tuesday (as on 26 November 2019), a few weeks ahead:
    // its month and weekday in Turkish ("Salı") and in English.
    let first = demo_first_day(&server).await;
    let (month_tr, month_en) = (
        first
            .format_localized("%B", chrono::Locale::tr_TR)
            .to_string(),
        first.format("%B").to_string(),
    );
    let day = format!("{home}/programme/{first}");
    b.goto(&server.url(&with_lang(&home, "tr"))).await;
    assert_language(&b, "tr").await;
    let text = b.page_text().await;
    assert!(text.contains(&month_tr), "Turkish forum dates: {text}");
    assert!(
        !text.contains(&month_en),
        "English month on a Turkish page: {text}"
    );
    b.goto(&server.url(&with_lang(&day, "tr"))).await;
    let heading = b.text("main h2").await;
    assert!(
        heading.contains(&month_tr) && heading.contains("Salı"),
        "Turkish day heading: {heading:?}"
    );
    b.screenshots("programme-day-tr").await;
    b.goto(&server.url(&with_lang(&day, "en"))).await;
    let heading = b.text("main h2").await;
    assert!(
        heading.contains(&month_en) && heading.contains("Tuesday"),
        "English day heading: {heading:?}"
    );
}

// ---------------------------------------------------------------------------------------
// The signatory

/// Status of every signature (oldest first) and the ledger's length, from the database.
async fn signatures_in_db(server: &Server) -> (Vec<String>, usize) {
    let url = &server.db.url;
    let statuses =
        snapshot::strings(url, "SELECT status FROM signatures ORDER BY created_at").await;
    let ledger = snapshot::strings(url, "SELECT CAST(COUNT(*) AS TEXT) FROM ledger_entries").await
        [0]
    .parse()
    .unwrap();
    (statuses, ledger)
}

/// A signatory signs online (after correcting the one mistake the form reports), opens the
/// e-mail the worker wrote, follows its link from there and sees what will be confirmed.
/// On the way: a mail scanner's GET of the e-mailed link (cookies kept, redirects and the
/// page's refresh followed) changes nothing in the database; the token never stays in the
/// address bar; the confirmation button with a forged CSRF token is refused.
#[tokio::test]
async fn a_signatory_signs_and_reaches_the_confirmation_page_from_the_email() {
    let server = demo_server(true).await;
    let Some(b) = browser::shared().await else {
        return;
    };
    b.clear_cookies().await;
    let d = format!("/forums/{FORUM}/declarations/{DECL}");
    b.goto(&server.url(&d)).await;
    assert_language(&b, "en").await;

    // 1. The form, with a mistake: the e-mail address.
    b.fill("#full_name", "Ayşe Yıldız").await;
    b.select("#entity_kind", "city").await;
    b.fill("#entity_name", "Municipality of Nizip").await;
    b.fill("#city", "Nizip").await;
    b.fill("#country", "TR").await;
    b.fill("#email", "ayse.yildiz-at-nizip.example").await;
    b.click("#consent_publish").await;
    b.submit("form.stack button[type=submit]").await;
    assert!(
        b.exists(".error-summary a[href='#email']").await,
        "error summary links to the field"
    );
    assert_eq!(
        b.find("#email")
            .await
            .attr("aria-invalid")
            .await
            .unwrap()
            .as_deref(),
        Some("true")
    );
    // What was typed is kept.
    assert_eq!(
        b.find("#full_name")
            .await
            .prop("value")
            .await
            .unwrap()
            .as_deref(),
        Some("Ayşe Yıldız")
    );
    b.assert_accessible("declaration with a form error").await;
    b.screenshots("declaration-form-error-en").await;
    assert_eq!(
        signatures_in_db(&server).await,
        (vec![], 0),
        "nothing written"
    );

    b.fill("#email", "ayse.yildiz@nizip.example").await;
    b.submit("form.stack button[type=submit]").await;
    assert!(
        b.exists(".notice[role=status]").await,
        "the 'check your e-mail' notice"
    );
    b.screenshots("declaration-sent-en").await;
    assert_eq!(signatures_in_db(&server).await, (vec!["pending".into()], 0));

    // 2. The e-mail and its link.
    let mails = wait_for_emails(&server, 1).await;
    let (file, subject, text, html) = &mails[0];
    let links = links_in(text);
    let confirm = links
        .iter()
        .find(|l| l.contains("/confirm?token="))
        .unwrap_or_else(|| panic!("no confirmation link in {file} ({subject}):\n{text}"))
        .clone();
    assert!(
        confirm.starts_with(&format!("{}{d}/confirm?token=", server.base)),
        "the link leads to the confirmation page: {confirm}"
    );
    assert!(
        links_in(html).contains(&confirm),
        "the HTML part has the same link"
    );

    // 3. A mail scanner fetches every link of the message first: nothing changes.
    let before = snapshot::database(&server.db.url).await;
    for link in links_in(text).iter().chain(links_in(html).iter()) {
        let (status, last) = scan(link).await;
        assert!(status < 500, "scanning {link}: {status} at {last}");
    }
    snapshot::assert_unchanged(
        &before,
        &snapshot::database(&server.db.url).await,
        "a scanner's GET of every e-mailed link",
    );

    // 4. The person clicks it in their mail: the confirmation page, no token in sight.
    let at = follow_from_email(&b, html, &confirm, "email-signature-confirm").await;
    assert!(at.path().ends_with("/confirm"), "at {at}");
    assert_eq!(b.text("main h1").await, "Confirm your signature");
    let page = b.page_text().await;
    assert!(page.contains("Nothing has been confirmed yet"), "{page}");
    assert!(
        page.contains("Ayşe Yıldız") && page.contains("Municipality of Nizip"),
        "{page}"
    );
    b.assert_accessible("signature confirmation page").await;
    b.screenshots("signature-confirm-en").await;
    snapshot::assert_unchanged(
        &before,
        &snapshot::database(&server.db.url).await,
        "opening the confirmation page",
    );

    // 5. The button with a forged CSRF token: refused, nothing changes.
    b.eval("document.querySelector('main form input[name=csrf]').value = 'forged';")
        .await;
    b.submit("main form button[type=submit]").await;
    assert_eq!(
        b.text("main h1").await,
        "The form has expired",
        "CSRF refusal page"
    );
    assert!(!b.exists("main form").await, "no form to press again");
    snapshot::assert_unchanged(
        &before,
        &snapshot::database(&server.db.url).await,
        "a confirmation with a forged CSRF token",
    );

    // Still to come here (see the report of branch `browser`): the real button, the
    // public list and counts, the withdrawal, and a second scan of every e-mailed link.
    // In this session's run the real button left the signature pending.
}

/// A form on another site that posts to the signing form (what a forged form does): the
/// browser sends no CSRF cookie (`SameSite=Strict`) and no valid token, so it is refused
/// and nothing is written.
#[tokio::test]
async fn a_form_on_another_site_cannot_sign() {
    let server = demo_server(false).await;
    let Some(b) = browser::shared().await else {
        return;
    };
    b.clear_cookies().await;
    let d = format!("/forums/{FORUM}/declarations/{DECL}");
    // A visit first, so the browser holds a real CSRF cookie for the site.
    b.goto(&server.url(&d)).await;
    let action = b
        .find("form.stack")
        .await
        .attr("action")
        .await
        .unwrap()
        .unwrap();
    let forged = format!(
        r#"<!DOCTYPE html><html lang="en"><title>Win a prize</title>
<form method="post" action="{}{}">
<input name="csrf" value="forged"><input name="version" value="1">
<input name="full_name" value="Forged Name"><input name="entity_kind" value="city">
<input name="entity_name" value="Nowhere"><input name="country" value="TR">
<input name="email" value="victim@example.org"><input name="consent_publish" value="yes">
<button type="submit">Claim</button></form>"#,
        server.base, action
    );
    let file = browser::target_dir().join("pages/forged-form.html");
    std::fs::create_dir_all(file.parent().unwrap()).unwrap();
    std::fs::write(&file, forged).unwrap();
    let before = snapshot::database(&server.db.url).await;
    b.goto(&format!("file://{}", file.display())).await;
    b.submit("button[type=submit]").await;
    let text = b.page_text().await;
    assert!(
        !b.current_url().await.as_str().contains("sent=1"),
        "accepted: {text}"
    );
    snapshot::assert_unchanged(
        &before,
        &snapshot::database(&server.db.url).await,
        "a forged form's POST",
    );
    assert_language(&b, "en").await;
    b.assert_accessible("the refusal page").await;
    b.screenshots("csrf-refused-en").await;
}

// ---------------------------------------------------------------------------------------
// The participant (registration form and manage pages)

/// A forum made by the test (the demo forum is of 2019, when registration has long
/// closed): next year, published, with one custom question of each kind, two rooms and
/// three sessions on its first day, the third overlapping the first.
async fn participant_forum(server: &Server) {
    let token = server.organizer_token("org@example.org");
    let next_year = chrono::Datelike::year(&chrono::Utc::now().date_naive()) + 1;
    let day = format!("{next_year}-06-12");
    let call = |method: reqwest::Method, path: &str, body: serde_json::Value| {
        let token = token.clone();
        let path = format!("/api/v1{path}");
        async move {
            let (st, v) = server.call(method, &path, &token, Some(body)).await;
            assert!(st.is_success(), "{path}: {st} {v}");
            v
        }
    };
    use reqwest::Method;
    call(
        Method::POST,
        "/forums",
        json!({"slug": "rx", "title": "Forum on Inclusive Cities",
        "city": "Gaziantep", "country": "TR", "time_zone": "Europe/Istanbul",
        "first_day": day, "last_day": format!("{next_year}-06-13")}),
    )
    .await;
    call(Method::PUT, "/forums/rx/registration-form", json!({"questions": [
        {"id": "diet", "label": "Dietary needs", "kind": "text"},
        {"id": "track", "label": "Main interest", "kind": "single_choice", "options": ["Housing", "Jobs"], "required": true},
        {"id": "days", "label": "Days attending", "kind": "multiple_choice", "options": ["Day 1", "Day 2"]},
        {"id": "dinner", "label": "Joining the dinner?", "kind": "yes_no", "required": true}
    ]})).await;
    let hall = call(
        Method::POST,
        "/forums/rx/rooms",
        json!({"name": "Hall", "capacity": 40}),
    )
    .await;
    let annex = call(
        Method::POST,
        "/forums/rx/rooms",
        json!({"name": "Annex", "capacity": 20}),
    )
    .await;
    for (title, from, to, room) in [
        ("Housing first", "09:00", "10:00", &hall),
        ("Jobs for all", "10:30", "11:30", &hall),
        ("Parallel workshop", "09:30", "10:15", &annex),
    ] {
        call(
            Method::POST,
            "/forums/rx/sessions",
            json!({"kind": "workshop", "title": title,
            "room_id": room["id"], "starts_at": format!("{day}T{from}:00+03:00"),
            "ends_at": format!("{day}T{to}:00+03:00")}),
        )
        .await;
    }
    call(Method::POST, "/forums/rx/publish", json!({})).await;
}

/// The page is no wider than a 390 px phone screen (no horizontal scrolling).
async fn assert_no_overflow_at_390(b: &Browser, what: &str) {
    b.set_viewport(390, 900).await;
    let (scroll, inner) = (
        b.eval("return document.documentElement.scrollWidth;").await,
        b.eval("return window.innerWidth;").await,
    );
    b.set_viewport(1280, 900).await;
    assert!(
        scroll.as_u64() <= inner.as_u64(),
        "{what}: {scroll} px wide in a {inner} px screen"
    );
}

/// A participant registers through the form (one custom question of each kind, after
/// correcting one mistake), opens the e-mail the worker wrote and follows its link, signs
/// up to two sessions, is refused a clashing third with an explanation, downloads the
/// agenda and cancels behind the confirmation question. On the way: a scanner's GET of
/// every e-mailed link changes nothing; every page passes axe in English and Arabic, fits
/// a 390 px screen, and is screenshot.
#[tokio::test]
async fn a_participant_registers_manages_sessions_and_cancels() {
    let server = demo_server(true).await;
    participant_forum(&server).await;
    let Some(b) = browser::shared().await else {
        return;
    };
    b.clear_cookies().await;
    let register = "/forums/rx/register";
    b.goto(&server.url(register)).await;
    assert_language(&b, "en").await;
    b.assert_accessible("registration form (en)").await;
    b.screenshots("register-en").await;

    // 1. The form, with a mistake in the e-mail address.
    b.fill("#name", "Omar Haddad").await;
    b.fill("#email", "omar.haddad-at-amman.example").await;
    b.fill("#organization", "Greater Amman Municipality").await;
    b.select("#category", "municipal_official").await;
    b.fill("#country", "JO").await;
    b.fill("#q-diet", "Vegetarian").await;
    b.click("#q-track-1").await; // Jobs
    b.click("#q-days").await;
    b.click("#q-days-1").await;
    b.click("#q-dinner").await; // yes
    b.submit("form.stack button[type=submit]").await;
    assert!(
        b.exists(".error-summary a[href='#email']").await,
        "error summary links to the field"
    );
    assert_eq!(
        b.find("#email")
            .await
            .attr("aria-invalid")
            .await
            .unwrap()
            .as_deref(),
        Some("true")
    );
    b.assert_accessible("registration form with an error (en)")
        .await;
    b.screenshots("register-error-en").await;
    let count = || {
        snapshot::strings(
            &server.db.url,
            "SELECT CAST(COUNT(*) AS TEXT) FROM registrations",
        )
    };
    assert_eq!(count().await, ["0"]);
    b.fill("#email", "omar.haddad@amman.example").await;
    b.submit("form.stack button[type=submit]").await;
    assert_eq!(count().await, ["1"]);
    let answers = snapshot::strings(
        &server.db.url,
        "SELECT CAST(answers AS TEXT) FROM registrations",
    )
    .await;
    let answers: serde_json::Value = serde_json::from_str(&answers[0]).unwrap();
    assert_eq!(
        answers,
        json!({"diet": "Vegetarian", "track": "Jobs", "days": ["Day 1", "Day 2"], "dinner": true})
    );
    let text = b.page_text().await;
    assert!(text.contains("your place is confirmed"), "{text}");

    // 2. The e-mail; a scanner's GET of its links changes nothing.
    let mails = wait_for_emails(&server, 1).await;
    let (file, subject, text, html) = &mails[0];
    let manage = links_in(text)
        .into_iter()
        .find(|l| l.contains("/registrations/") && l.contains("token="))
        .unwrap_or_else(|| panic!("no manage link in {file} ({subject}):\n{text}"));
    assert!(
        manage.starts_with(&format!("{}/forums/rx/registrations/", server.base)),
        "{manage}"
    );
    let before = snapshot::database(&server.db.url).await;
    for link in links_in(text).iter().chain(links_in(html).iter()) {
        assert!(
            !link.contains("/api/"),
            "an e-mailed link to the API: {link}"
        );
        let (status, last) = scan(link).await;
        assert!(status < 500, "scanning {link}: {status} at {last}");
    }
    snapshot::assert_unchanged(
        &before,
        &snapshot::database(&server.db.url).await,
        "a scanner's GET of every e-mailed link",
    );

    // 3. From the e-mail to the manage page (another device: no cookie yet).
    b.clear_cookies().await;
    let at = follow_from_email(&b, html, &manage, "email-registration").await;
    assert!(
        at.path().starts_with("/forums/rx/registrations/"),
        "at {at}"
    );
    assert!(b.exists(".qr svg").await, "the check-in QR code");
    b.assert_accessible("manage page (en)").await;
    b.screenshots("manage-en").await;

    // 4. Two sessions, then a clashing third, refused in words.
    b.submit("button[aria-label='Sign up: Housing first']")
        .await;
    b.submit("button[aria-label='Sign up: Jobs for all']").await;
    b.submit("button[aria-label='Sign up: Parallel workshop']")
        .await;
    let refusal = b.text(".notice.bad").await;
    assert!(
        refusal.contains("Parallel workshop") && refusal.contains("overlaps “Housing first”"),
        "{refusal}"
    );
    b.assert_accessible("manage page with a refused sign-up (en)")
        .await;
    b.screenshots("manage-clash-en").await;
    let signups = snapshot::strings(&server.db.url, "SELECT status FROM session_signups").await;
    assert_eq!(signups, ["confirmed", "confirmed"]);

    // 5. The agenda, as the page's link downloads it (with the browser's cookies).
    let href = b
        .find("a[download][href$='agenda.ics']")
        .await
        .attr("href")
        .await
        .unwrap()
        .unwrap();
    let cookie = b
        .cookies()
        .await
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("; ");
    let ics = reqwest::Client::builder()
        .no_proxy()
        .build()
        .unwrap()
        .get(b.current_url().await.join(&href).unwrap())
        .header("cookie", cookie)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        ics.contains("SUMMARY:Housing first") && ics.contains("SUMMARY:Jobs for all"),
        "{ics}"
    );
    assert!(!ics.contains("Parallel workshop"), "{ics}");

    // 6. In Arabic: the manage page, right to left, accessible, fits a phone.
    let manage_path = at.path().to_string();
    for (name, path) in [
        ("register", register.to_string()),
        ("manage", manage_path.clone()),
        ("cancel", format!("{manage_path}/cancel")),
    ] {
        b.goto(&server.url(&with_lang(&path, "ar"))).await;
        assert_language(&b, "ar").await;
        b.assert_accessible(&format!("{name} (ar)")).await;
        assert_no_overflow_at_390(&b, &format!("{name} (ar)")).await;
        b.screenshots(&format!("{name}-ar")).await;
    }
    assert_no_overflow_at_390(&b, "cancel (ar)").await;

    // 7. Cancel: the link asks first (nothing changes), the button cancels.
    b.goto(&server.url(&manage_path)).await;
    assert_no_overflow_at_390(&b, "manage (en)").await;
    let before = snapshot::database(&server.db.url).await;
    b.submit("a[href$='/cancel']").await;
    snapshot::assert_unchanged(
        &before,
        &snapshot::database(&server.db.url).await,
        "the cancel question",
    );
    b.assert_accessible("cancel question (en)").await;
    b.screenshots("cancel-en").await;
    b.submit("main form button[type=submit]").await;
    let text = b.page_text().await;
    assert!(text.contains("Your registration is cancelled."), "{text}");
    assert_eq!(
        snapshot::strings(&server.db.url, "SELECT status FROM registrations").await,
        ["cancelled"]
    );
}
