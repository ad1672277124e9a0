//! Real-browser harness: headless Chromium driven over WebDriver (chromedriver), with the
//! accessibility engine axe-core and screenshots.
//!
//! ```ignore
//! let server = common::Server::start().await;
//! let Some(browser) = common::browser::shared().await else { return }; // skip note / fail
//! browser.goto(&server.url("/api/v1/docs/")).await;
//! browser.assert_accessible("docs").await;   // no WCAG 2.x A/AA violation (axe-core)
//! browser.screenshots("docs").await;         // target/pages/docs-390.png, docs-1280.png
//! ```
//!
//! **One browser per test binary.** [`shared`] starts chromedriver and one headless Chromium
//! the first time it is called and hands out a lock on it: tests of one binary use the
//! browser one after another (their servers still start in parallel). The WebDriver client
//! runs on a runtime of its own, so it outlives the `#[tokio::test]` that started it.
//! Everything the harness starts is stopped: [`Browser`]'s `Drop` closes the WebDriver
//! session (chromedriver then quits Chromium), kills chromedriver's process group (Chromium
//! and its helpers included) and deletes the profile folder; the shared browser is stopped
//! the same way from an `atexit` handler when the test binary exits.
//!
//! What is needed (installed by `.ci/browser-tools`, which `.ci/run` runs):
//! - `chromium` and `chromedriver` on `PATH` (Debian `chromium`, `chromium-driver`), or the
//!   files named by `CONVENE_CHROMIUM` / `CONVENE_CHROMEDRIVER`;
//! - axe-core's `axe.min.js`: `CONVENE_AXE_JS`, else
//!   `<target dir>/browser-tools/node_modules/axe-core/axe.min.js`.
//!
//! When one is missing, [`shared`] prints a skip note and returns `None`, or panics when
//! `CONVENE_REQUIRE_SHARED=1` (as in `.ci/run`).
//!
//! Scripts given to WebDriver's *Execute Script* run through the DevTools protocol and are
//! not subject to the page's Content-Security-Policy, so axe-core is injected from its file
//! even on pages whose CSP forbids inline scripts ([`Browser::inline_script_blocked`] shows
//! that the CSP is in force at the same time).

use std::io::{BufRead, BufReader};
use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::Duration;

use fantoccini::elements::Element;
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{json, Value};
use tempfile::TempDir;

/// The axe-core rule tags checked by [`Browser::assert_accessible`]: WCAG 2.0, 2.1 and 2.2,
/// levels A and AA (axe-core's tag names; see axe-core's doc/API.md, "Axe-core Tags").
pub const WCAG_TAGS: [&str; 5] = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"];

/// Widths (CSS pixels) of the screenshots: a phone (390 px, an iPhone 12–15) and a laptop.
pub const SCREENSHOT_WIDTHS: [u32; 2] = [390, 1280];

/// Window size between screenshots (CSS pixels).
const DEFAULT_SIZE: (u32, u32) = (1280, 900);

/// Tallest full-page screenshot (CSS pixels); longer pages are cut there.
const MAX_SHOT_HEIGHT: u32 = 8000;

/// How long a page load, a script or a wait for a condition may take.
const TIMEOUT: Duration = Duration::from_secs(30);

/// Chromium's command line: headless, quiet (no network of its own), fresh profile added
/// by [`Browser::start`].
const CHROMIUM_ARGS: &[&str] = &[
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--disable-features=Translate,MediaRouter,OptimizationHints",
    "--force-device-scale-factor=1",
    "--hide-scrollbars",
    "--password-store=basic",
    "--lang=en-US",
];

/// The target folder of this build (`…/target`), found from the binary under test.
pub fn target_dir() -> PathBuf {
    Path::new(super::BIN)
        .ancestors()
        .nth(2)
        .expect("CARGO_BIN_EXE_convene is <target>/<profile>/convene")
        .to_path_buf()
}

/// Where screenshots go: `<target>/pages/NAME-WIDTH.png`.
pub fn screenshot_dir() -> PathBuf {
    target_dir().join("pages")
}

/// The tools the harness needs, found on this machine.
struct Tools {
    chromium: PathBuf,
    chromedriver: PathBuf,
    axe_js: PathBuf,
}

fn on_path(names: &[&str]) -> Option<PathBuf> {
    let paths = std::env::var_os("PATH")?;
    std::env::split_paths(&paths)
        .flat_map(|dir| names.iter().map(move |n| dir.join(n)))
        .find(|p| p.is_file())
}

fn from_env(var: &str) -> Option<PathBuf> {
    std::env::var_os(var)
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
}

/// Finds chromium, chromedriver and axe.min.js, or says what is missing and how to get it.
fn find_tools() -> Result<Tools, String> {
    let chromium =
        from_env("CONVENE_CHROMIUM").or_else(|| on_path(&["chromium", "chromium-browser"]));
    let chromedriver = from_env("CONVENE_CHROMEDRIVER").or_else(|| on_path(&["chromedriver"]));
    let axe_js = from_env("CONVENE_AXE_JS")
        .unwrap_or_else(|| target_dir().join("browser-tools/node_modules/axe-core/axe.min.js"));
    let mut missing = Vec::new();
    if chromium.as_deref().is_none_or(|p| !p.is_file()) {
        missing.push("chromium (Debian `chromium`)".to_string());
    }
    if chromedriver.as_deref().is_none_or(|p| !p.is_file()) {
        missing.push("chromedriver (Debian `chromium-driver`)".to_string());
    }
    if !axe_js.is_file() {
        missing.push(format!("axe-core at {}", axe_js.display()));
    }
    if !missing.is_empty() {
        return Err(format!(
            "browser tests need {} (run `bash .ci/browser-tools`)",
            missing.join(", ")
        ));
    }
    Ok(Tools {
        chromium: chromium.unwrap(),
        chromedriver: chromedriver.unwrap(),
        axe_js,
    })
}

/// One axe-core violation: a rule and the elements that break it.
#[derive(Debug, Clone, serde::Deserialize)]
pub struct Violation {
    /// axe rule id, e.g. `color-contrast`.
    pub id: String,
    /// `minor`, `moderate`, `serious` or `critical`.
    pub impact: Option<String>,
    /// One-line description of the rule.
    pub help: String,
    /// Link to the rule's explanation (Deque University).
    #[serde(rename = "helpUrl")]
    pub help_url: String,
    /// The offending elements.
    pub nodes: Vec<ViolationNode>,
}

/// An element that breaks an axe rule.
#[derive(Debug, Clone, serde::Deserialize)]
pub struct ViolationNode {
    /// CSS selector path(s) to the element.
    pub target: Vec<Value>,
    /// The element's HTML (shortened by axe).
    pub html: String,
    /// What to fix, as axe words it.
    #[serde(rename = "failureSummary")]
    pub failure_summary: Option<String>,
}

/// A headless Chromium and its chromedriver, driven over WebDriver; see the module doc.
///
/// Every helper panics with a message naming what it tried (these are test helpers).
pub struct Browser {
    client: Client,
    /// Runs the WebDriver client's connection task; shut down last.
    runtime: Option<tokio::runtime::Runtime>,
    /// chromedriver, leader of its own process group (Chromium runs inside that group).
    driver: Option<Child>,
    /// `--user-data-dir` of this Chromium, deleted on stop.
    profile: Option<TempDir>,
    /// Source of axe.min.js, injected into pages by [`Browser::axe`].
    axe_source: String,
}

static SHARED: OnceLock<Option<tokio::sync::Mutex<Browser>>> = OnceLock::new();

extern "C" fn stop_shared_at_exit() {
    if let Some(Some(m)) = SHARED.get() {
        match m.try_lock() {
            Ok(mut b) => b.stop(),
            // A test still holds it (the binary is exiting mid-test): kill anyway.
            Err(_) => eprintln!("note: shared browser still in use at exit"),
        }
    }
}

/// The browser of this test binary, started on first use; `None` (after a skip note) when
/// Chromium, chromedriver or axe-core is missing and `CONVENE_REQUIRE_SHARED` is not set.
/// Holding the returned guard gives a test the browser alone.
pub async fn shared() -> Option<tokio::sync::MutexGuard<'static, Browser>> {
    let slot = SHARED.get_or_init(|| match find_tools() {
        Err(why) => {
            super::skip_or_fail(&why);
            None
        }
        Ok(tools) => {
            let browser = Browser::start(&tools);
            // SAFETY: registers a plain `extern "C" fn` with the C library's `atexit`.
            let rc = unsafe { libc::atexit(stop_shared_at_exit) };
            assert_eq!(rc, 0, "atexit");
            Some(tokio::sync::Mutex::new(browser))
        }
    });
    match slot {
        Some(m) => Some(m.lock().await),
        // The skip note was printed once, by the first caller.
        None => None,
    }
}

impl Browser {
    /// A browser of its own (not the shared one), or `None` after a skip note when the
    /// tools are missing (a panic when `CONVENE_REQUIRE_SHARED=1`). Blocking.
    pub fn launch() -> Option<Browser> {
        match find_tools() {
            Ok(tools) => Some(Browser::start(&tools)),
            Err(why) => {
                super::skip_or_fail(&why);
                None
            }
        }
    }

    /// chromedriver's process id, which is also its process group's id (`None` once
    /// stopped).
    pub fn process_group(&self) -> Option<i32> {
        self.driver.as_ref().map(|c| c.id() as i32)
    }

    /// This Chromium's profile folder (`--user-data-dir` and chromedriver's log).
    pub fn profile_dir(&self) -> Option<PathBuf> {
        self.profile.as_ref().map(|p| p.path().to_path_buf())
    }

    /// Starts chromedriver on a free port and a headless Chromium with a fresh profile.
    /// Blocking (spawns processes, waits for chromedriver's port line); panics when either
    /// does not come up within 30 s.
    fn start(tools: &Tools) -> Browser {
        let profile = tempfile::Builder::new()
            .prefix("convene-chromium-")
            .tempdir()
            .expect("profile dir");
        let mut driver = Command::new(&tools.chromedriver)
            .arg("--port=0")
            .arg(format!(
                "--log-path={}",
                profile.path().join("chromedriver.log").display()
            ))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            // Own process group: stopping kills chromedriver, Chromium and its helpers.
            .process_group(0)
            .spawn()
            .unwrap_or_else(|e| panic!("spawn {}: {e}", tools.chromedriver.display()));

        // "ChromeDriver was started successfully on port 41235."
        let stdout = driver.stdout.take().expect("piped stdout");
        let (tx, rx) = std::sync::mpsc::channel::<Option<u16>>();
        std::thread::spawn(move || {
            let mut reader = BufReader::new(stdout);
            let mut line = String::new();
            let mut sent = false;
            loop {
                line.clear();
                match reader.read_line(&mut line) {
                    Ok(0) | Err(_) => break,
                    Ok(_) => {}
                }
                if !sent {
                    if let Some(rest) = line.split("started successfully on port ").nth(1) {
                        let port = rest.trim().trim_end_matches('.').parse().ok();
                        let _ = tx.send(port);
                        sent = true;
                    }
                }
            }
            if !sent {
                let _ = tx.send(None);
            }
        });
        let port = match rx.recv_timeout(TIMEOUT) {
            Ok(Some(port)) => port,
            other => {
                kill_group(&mut driver);
                let log = std::fs::read_to_string(profile.path().join("chromedriver.log"))
                    .unwrap_or_default();
                panic!("chromedriver did not report its port ({other:?})\n{log}");
            }
        };

        let mut args: Vec<String> = CHROMIUM_ARGS.iter().map(|a| a.to_string()).collect();
        args.push(format!(
            "--user-data-dir={}",
            profile.path().join("profile").display()
        ));
        args.push(format!(
            "--window-size={},{}",
            DEFAULT_SIZE.0, DEFAULT_SIZE.1
        ));
        let caps: serde_json::Map<String, Value> = serde_json::from_value(json!({
            "browserName": "chrome",
            "pageLoadStrategy": "normal",
            "timeouts": {
                "pageLoad": TIMEOUT.as_millis() as u64,
                "script": TIMEOUT.as_millis() as u64,
                "implicit": 0
            },
            "goog:chromeOptions": {
                "binary": tools.chromium,
                "args": args,
                "prefs": {"intl.accept_languages": "en-US,en"}
            }
        }))
        .unwrap();

        // The client's connection task lives on this runtime, not on the test's.
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("webdriver")
            .enable_all()
            .build()
            .expect("webdriver runtime");
        let url = format!("http://127.0.0.1:{port}");
        let connected = std::thread::scope(|s| {
            s.spawn(|| {
                runtime.block_on(async {
                    let connector = hyper_util::client::legacy::connect::HttpConnector::new();
                    tokio::time::timeout(
                        TIMEOUT,
                        ClientBuilder::new(connector)
                            .capabilities(caps)
                            .connect(&url),
                    )
                    .await
                })
            })
            .join()
        });
        let client = match connected {
            Ok(Ok(Ok(client))) => client,
            other => {
                kill_group(&mut driver);
                let log = std::fs::read_to_string(profile.path().join("chromedriver.log"))
                    .unwrap_or_default();
                let tail: Vec<&str> = log.lines().rev().take(40).collect();
                panic!(
                    "no WebDriver session from chromedriver ({:?})\n--- chromedriver.log (tail) ---\n{}",
                    other.map(|r| r.map(|r| r.err())),
                    tail.into_iter().rev().collect::<Vec<_>>().join("\n")
                );
            }
        };
        let axe_source = std::fs::read_to_string(&tools.axe_js)
            .unwrap_or_else(|e| panic!("read {}: {e}", tools.axe_js.display()));
        Browser {
            client,
            runtime: Some(runtime),
            driver: Some(driver),
            profile: Some(profile),
            axe_source,
        }
    }

    /// Stops Chromium and chromedriver and deletes the profile. Idempotent.
    pub fn stop(&mut self) {
        let Some(mut driver) = self.driver.take() else {
            return;
        };
        if let Some(rt) = self.runtime.as_ref() {
            // Closing the session makes chromedriver quit Chromium (bounded wait).
            let client = self.client.clone();
            let handle = rt.handle().clone();
            let _ = std::thread::spawn(move || {
                handle.block_on(async {
                    let _ = tokio::time::timeout(Duration::from_secs(5), client.close()).await;
                })
            })
            .join();
        }
        kill_group(&mut driver);
        if let Some(rt) = self.runtime.take() {
            rt.shutdown_background();
        }
        if let Some(profile) = self.profile.take() {
            // Chromium may still be writing for a moment after SIGKILL of its group.
            if profile.close().is_err() {
                std::thread::sleep(Duration::from_millis(200));
            }
        }
    }

    /// The WebDriver client, for what the helpers below do not cover.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// Opens `url` and waits until it has loaded.
    pub async fn goto(&self, url: &str) {
        self.client
            .goto(url)
            .await
            .unwrap_or_else(|e| panic!("open {url}: {e}"));
    }

    /// The address bar's URL.
    pub async fn current_url(&self) -> reqwest::Url {
        self.client.current_url().await.expect("current URL")
    }

    /// The first element matching the CSS selector `css`; panics when there is none.
    pub async fn find(&self, css: &str) -> Element {
        match self.client.find(Locator::Css(css)).await {
            Ok(e) => e,
            Err(e) => panic!(
                "no element `{css}` on {} ({e})\n--- page text ---\n{}",
                self.current_url().await,
                self.page_text().await
            ),
        }
    }

    /// Every element matching `css` (possibly none).
    pub async fn find_all(&self, css: &str) -> Vec<Element> {
        self.client
            .find_all(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("find_all `{css}`: {e}"))
    }

    /// Whether an element matches `css`.
    pub async fn exists(&self, css: &str) -> bool {
        !self.find_all(css).await.is_empty()
    }

    /// The rendered text of the first element matching `css`.
    pub async fn text(&self, css: &str) -> String {
        self.find(css).await.text().await.expect("element text")
    }

    /// The rendered text of the whole page (`document.body.innerText`).
    pub async fn page_text(&self) -> String {
        self.eval("return document.body ? document.body.innerText : '';")
            .await
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    /// Runs `script` (a function body; `arguments[i]` are `args`) in the page and returns
    /// its result. Not subject to the page's CSP.
    pub async fn eval_with(&self, script: &str, args: Vec<Value>) -> Value {
        self.client
            .execute(script, args)
            .await
            .unwrap_or_else(|e| panic!("script failed: {e}\n{script}"))
    }

    /// [`Browser::eval_with`] without arguments.
    pub async fn eval(&self, script: &str) -> Value {
        self.eval_with(script, vec![]).await
    }

    /// The computed value of CSS property `prop` (e.g. `direction`) of the first element
    /// matching `css`, as `getComputedStyle` gives it.
    pub async fn computed_style(&self, css: &str, prop: &str) -> String {
        let v = self
            .eval_with(
                "const e = document.querySelector(arguments[0]);
                 return e ? getComputedStyle(e).getPropertyValue(arguments[1]) : null;",
                vec![json!(css), json!(prop)],
            )
            .await;
        match v {
            Value::String(s) => s,
            _ => panic!("no element `{css}` for computed style {prop}"),
        }
    }

    /// Types `value` into the field matching `css` (cleared first), as a person would.
    pub async fn fill(&self, css: &str, value: &str) {
        let field = self.find(css).await;
        field
            .clear()
            .await
            .unwrap_or_else(|e| panic!("clear `{css}`: {e}"));
        field
            .send_keys(value)
            .await
            .unwrap_or_else(|e| panic!("type into `{css}`: {e}"));
    }

    /// Chooses the option with value `value` in the `<select>` matching `css`.
    pub async fn select(&self, css: &str, value: &str) {
        self.find(css)
            .await
            .select_by_value(value)
            .await
            .unwrap_or_else(|e| panic!("select {value:?} in `{css}`: {e}"));
    }

    /// Clicks the element matching `css` (a checkbox, a radio button, a link…) without
    /// waiting for a navigation; see [`Browser::submit`] for buttons that leave the page.
    pub async fn click(&self, css: &str) {
        self.find(css)
            .await
            .click()
            .await
            .unwrap_or_else(|e| panic!("click `{css}`: {e}"));
    }

    /// Clicks the element matching `css` (a submit button, a link) and waits until the
    /// next page has loaded.
    pub async fn submit(&self, css: &str) {
        let el = self.find(css).await;
        self.eval("window.__convene_old_page = true;").await;
        el.click()
            .await
            .unwrap_or_else(|e| panic!("click `{css}`: {e}"));
        self.wait_for(&format!("a new page after clicking `{css}`"), || async {
            let v = self
                .client
                .execute(
                    "return document.readyState === 'complete' && !window.__convene_old_page;",
                    vec![],
                )
                .await;
            matches!(v, Ok(Value::Bool(true)))
        })
        .await;
    }

    /// Polls `f` every 50 ms until it is `true`; panics naming `what` after 30 s.
    pub async fn wait_for<F, Fut>(&self, what: &str, mut f: F)
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = bool>,
    {
        let t0 = std::time::Instant::now();
        while !f().await {
            if t0.elapsed() > TIMEOUT {
                panic!(
                    "timed out waiting for {what}; at {}\n--- page text ---\n{}",
                    self.current_url().await,
                    self.page_text().await
                );
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Whether the page's Content-Security-Policy stops an inline `<script>` added to it
    /// (while scripts run over WebDriver still do).
    pub async fn inline_script_blocked(&self) -> bool {
        let v = self
            .eval(
                "window.__convene_inline = false;
                 const s = document.createElement('script');
                 s.textContent = 'window.__convene_inline = true;';
                 document.head.appendChild(s);
                 s.remove();
                 return window.__convene_inline;",
            )
            .await;
        v == Value::Bool(false)
    }

    /// Runs axe-core on the current page with the [`WCAG_TAGS`] rules and returns the
    /// violations. axe is injected from its file when the page does not have it yet.
    pub async fn axe(&self) -> Vec<Violation> {
        let present = self.eval("return typeof window.axe === 'object';").await;
        if present != Value::Bool(true) {
            self.eval(&format!("{}\n;return true;", self.axe_source))
                .await;
        }
        let result = self
            .client
            .execute_async(
                "const done = arguments[arguments.length - 1];
                 window.axe.run(document, {
                     runOnly: {type: 'tag', values: arguments[0]},
                     resultTypes: ['violations']
                 }).then(r => done({ok: r.violations}), e => done({err: String(e)}));",
                vec![json!(WCAG_TAGS)],
            )
            .await
            .unwrap_or_else(|e| panic!("axe.run: {e}"));
        if let Some(err) = result.get("err") {
            panic!("axe.run failed: {err}");
        }
        serde_json::from_value(result["ok"].clone()).expect("axe violations")
    }

    /// Panics listing every WCAG 2.x A/AA violation axe-core finds on the current page
    /// (`what` names the page in the message): rule, impact, help link and the first five
    /// offending elements of each.
    pub async fn assert_accessible(&self, what: &str) {
        let violations = self.axe().await;
        if violations.is_empty() {
            return;
        }
        let mut msg = format!(
            "axe-core: {} WCAG A/AA violation(s) on {what} ({})\n",
            violations.len(),
            self.current_url().await
        );
        for v in &violations {
            msg.push_str(&format!(
                "- {} [{}]: {} ({})\n",
                v.id,
                v.impact.as_deref().unwrap_or("?"),
                v.help,
                v.help_url
            ));
            for n in v.nodes.iter().take(5) {
                msg.push_str(&format!(
                    "    at {}: {}\n      {}\n",
                    n.target
                        .iter()
                        .map(|t| t.to_string())
                        .collect::<Vec<_>>()
                        .join(" "),
                    n.html,
                    n.failure_summary
                        .as_deref()
                        .unwrap_or("")
                        .replace('\n', "\n      ")
                ));
            }
            if v.nodes.len() > 5 {
                msg.push_str(&format!("    … and {} more\n", v.nodes.len() - 5));
            }
        }
        panic!("{msg}");
    }

    /// Sets the viewport (the page's CSS width and height) to `width` × `height`: the
    /// window is resized and corrected by what the browser keeps for itself.
    pub async fn set_viewport(&self, width: u32, height: u32) {
        self.client
            .set_window_size(width, height)
            .await
            .expect("set window size");
        let inner = self
            .eval("return [window.innerWidth, window.innerHeight];")
            .await;
        let (iw, ih) = (
            inner[0].as_u64().unwrap_or(0) as u32,
            inner[1].as_u64().unwrap_or(0) as u32,
        );
        if (iw, ih) != (width, height) {
            // Add what the window's frame takes (zero in headless mode, but say so once).
            let w = (2 * width as i64 - iw as i64).max(1) as u32;
            let h = (2 * height as i64 - ih as i64).max(1) as u32;
            self.client
                .set_window_size(w, h)
                .await
                .expect("set window size");
        }
    }

    /// Full-page screenshots of the current page at each of [`SCREENSHOT_WIDTHS`], written
    /// to `target/pages/NAME-WIDTH.png`; returns their paths. The viewport is set to the
    /// width (900 px high) and the whole page, at most 8000 px of it, is captured with
    /// Chromium's `Page.captureScreenshot` (DevTools protocol, through chromedriver's
    /// `goog/cdp/execute`; `captureBeyondViewport`, encoded for speed); then the viewport
    /// is 1280 × 900 again.
    pub async fn screenshots(&self, name: &str) -> Vec<PathBuf> {
        use base64::Engine as _;
        let dir = screenshot_dir();
        std::fs::create_dir_all(&dir).expect("screenshot dir");
        let mut out = Vec::new();
        for width in SCREENSHOT_WIDTHS {
            self.set_viewport(width, DEFAULT_SIZE.1).await;
            let height = self
                .eval("return Math.max(document.documentElement.scrollHeight, document.body ? document.body.scrollHeight : 0);")
                .await
                .as_u64()
                .unwrap_or(DEFAULT_SIZE.1 as u64) as u32;
            let shot = self
                .client
                .issue_cmd(Cdp {
                    cmd: "Page.captureScreenshot",
                    params: json!({
                        "format": "png",
                        "captureBeyondViewport": true,
                        "optimizeForSpeed": true,
                        "clip": {"x": 0, "y": 0, "width": width,
                                 "height": height.clamp(100, MAX_SHOT_HEIGHT), "scale": 1}
                    }),
                })
                .await
                .unwrap_or_else(|e| panic!("screenshot of {name}: {e}"));
            let png = base64::engine::general_purpose::STANDARD
                .decode(shot["data"].as_str().expect("screenshot data"))
                .expect("base64 PNG");
            let path = dir.join(format!("{name}-{width}.png"));
            std::fs::write(&path, png).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
            out.push(path);
        }
        self.set_viewport(DEFAULT_SIZE.0, DEFAULT_SIZE.1).await;
        out
    }

    /// The browser's cookies for the current page, as (name, value) pairs.
    pub async fn cookies(&self) -> Vec<(String, String)> {
        self.client
            .get_all_cookies()
            .await
            .expect("cookies")
            .into_iter()
            .map(|c| (c.name().to_string(), c.value().to_string()))
            .collect()
    }

    /// Forgets every cookie of the current site (a new visitor).
    pub async fn clear_cookies(&self) {
        self.client
            .delete_all_cookies()
            .await
            .expect("delete cookies");
    }
}

/// Live processes (pid, command line) that are in process group `pgid` or whose command
/// line contains `needle` (read from `/proc`; zombies are left out).
pub fn processes(pgid: i32, needle: &str) -> Vec<(i32, String)> {
    let mut found = Vec::new();
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return found;
    };
    for entry in dir.flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<i32>() else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else {
            continue;
        };
        // "pid (comm) state ppid pgrp …": comm may hold spaces, so split after ')'.
        let Some(rest) = stat.rsplit_once(')').map(|(_, r)| r) else {
            continue;
        };
        let fields: Vec<&str> = rest.split_whitespace().collect();
        if fields.first() == Some(&"Z") {
            continue;
        }
        let group: i32 = fields.get(2).and_then(|g| g.parse().ok()).unwrap_or(0);
        let cmdline = std::fs::read(entry.path().join("cmdline"))
            .map(|b| String::from_utf8_lossy(&b).replace('\0', " "))
            .unwrap_or_default();
        if group == pgid || (!needle.is_empty() && cmdline.contains(needle)) {
            found.push((pid, cmdline));
        }
    }
    found
}

/// A DevTools protocol command run through chromedriver (`POST
/// /session/{id}/goog/cdp/execute`, chromedriver's extension to WebDriver).
#[derive(Debug)]
struct Cdp {
    cmd: &'static str,
    params: Value,
}

impl fantoccini::wd::WebDriverCompatibleCommand for Cdp {
    fn endpoint(
        &self,
        base_url: &reqwest::Url,
        session_id: Option<&str>,
    ) -> Result<reqwest::Url, url::ParseError> {
        base_url.join(&format!(
            "session/{}/goog/cdp/execute",
            session_id.unwrap_or_default()
        ))
    }

    fn method_and_body(&self, _: &reqwest::Url) -> (reqwest::Method, Option<String>) {
        let body = json!({"cmd": self.cmd, "params": self.params});
        (reqwest::Method::POST, Some(body.to_string()))
    }
}

/// SIGKILL to chromedriver's process group (chromedriver, Chromium, its helpers), then
/// reaps chromedriver.
fn kill_group(driver: &mut Child) {
    let pgid = driver.id() as libc::pid_t;
    // SAFETY: plain kill(2) on the process group we created with process_group(0).
    unsafe {
        libc::kill(-pgid, libc::SIGKILL);
    }
    let _ = driver.kill();
    let _ = driver.wait();
}

impl Drop for Browser {
    fn drop(&mut self) {
        self.stop();
    }
}
