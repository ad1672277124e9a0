//! Pages in a real browser: headless Chromium driven over WebDriver by
//! `tests/common/browser.rs`, axe-core for WCAG 2.x A/AA, screenshots into `target/pages/`.
//!
//! One Chromium serves the whole file (`common::browser::shared`); each test holds it while
//! it uses it, so the tests take turns in the browser while their servers start in
//! parallel. Needs Chromium, chromedriver and axe-core (`bash .ci/browser-tools`): skips
//! without them, fails when `CONVENE_REQUIRE_SHARED=1`.

mod common;

use common::browser;

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
