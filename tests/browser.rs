//! The built-in maintenance page in a real browser: headless Chromium from Debian's packages
//! (`chromium`, `chromium-driver`; `.ci/run` installs them), driven over WebDriver.
//!
//! Driver: `fantoccini` (WebDriver through `/usr/bin/chromedriver`). It works here as it is:
//! chromedriver comes from the same Debian source package as the browser, so the two always
//! match, and WebDriver's `execute`/`execute_async`/screenshot/`goog:chromeOptions` cover all
//! this file needs (axe-core injection, `axe.run()`, viewport and language settings). A
//! DevTools-protocol driver would have to speak to Chromium's unstable CDP directly for no gain.
//! Its default TLS backend (native-tls) links Debian's libssl (`libssl-dev`, on the machine;
//! `.ci/run` installs it if missing); TLS itself is never used, chromedriver is plain HTTP.
//!
//! How the browser is set up, as found on Debian 12's Chromium 156 (each is also checked in
//! the tests, so that a Chromium that stops honouring a flag fails loudly, not silently):
//! - Every session: `--headless --no-sandbox --disable-gpu --disable-quic --no-first-run
//!   --disable-background-networking --disable-component-update --disable-sync` and a fresh
//!   empty `--user-data-dir` in a temp dir.
//! - Colour scheme: `--blink-settings=preferredColorScheme=0` is dark and `=1` is light
//!   (`--force-dark-mode` makes `prefers-color-scheme: dark` match too; the blink setting is
//!   used because it names both schemes explicitly).
//! - Language: the `goog:chromeOptions` pref `intl.accept_languages = "de-DE,de"` makes
//!   Chromium send `Accept-Language: de-DE,de;q=0.9` (and `navigator.languages` say so);
//!   `--lang=de-DE` alone changes neither, and is passed only as the UI locale.
//! - Viewport: `--window-size` cannot go below 500 px in headless Chromium, so widths come from
//!   `mobileEmulation.deviceMetrics` with `mobile: false`. With `mobile: true` Chromium widens
//!   the layout viewport to fit overflowing content (`innerWidth` 408 for a 400 px box at 320),
//!   which would hide exactly the horizontal overflow that is checked here.
//!
//! Read-only maintenance holds back only unsafe methods, so for that variant the test loads the
//! demo's `/` (which passes, a GET) and submits a POST form from it: the browser renders the
//! demo's real 503 response, headers and all, at the demo's own origin.
//!
//! Each browser session has its own chromedriver on a free loopback port, in a new process
//! group whose id is chromedriver's PID; a guard kills that group (chromedriver and the
//! Chromium it started) when the session ends, also on failure or timeout. The tests run one
//! browser at a time.
//!
//! Without `/usr/bin/chromium` or `/usr/bin/chromedriver` the tests are skipped with a line
//! saying so, unless `CI` is set: then a missing browser is a failure.
//!
//! Screenshots of every variant go to `target/browser-artifacts/`, with axe's full findings as
//! JSON beside any screenshot of a page where it found something.

mod common;

use std::future::Future;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use common::{demo_config, Demo};
use fantoccini::{Client, ClientBuilder};
use nix::sys::signal::Signal;
use serde_json::{json, Value};

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
/// axe-core, vendored from npm (see tests/assets/README.md).
const AXE: &str = include_str!("assets/axe.min.js");

const MESSAGE: &str = "We are upgrading the database. We will be back shortly.";
const MESSAGE_DE: &str = "Wir aktualisieren die Datenbank. Wir sind bald zurück.";
const LONG_URL_MESSAGE: &str = "See https://status.example.com/incidents/2026-11-30/database-migration-of-the-primary-cluster-and-its-replicas for details";

/// One browser at a time: each is a few hundred MB and the machine has two cores.
static ONE_BROWSER: Mutex<()> = Mutex::new(());

// ---------------------------------------------------------------------------------------------
// The tests

/// Every page variant, at 320 and 1280 CSS px, light and dark: heading and message visible, no
/// horizontal scrolling, no axe-core violations. Screenshots of each.
#[test]
fn the_page_is_readable_and_accessible_at_every_width_and_scheme() {
    if !browser_present() {
        return;
    }
    let _one = ONE_BROWSER.lock().unwrap_or_else(|e| e.into_inner());

    let mut failures = Vec::new();
    let mut variants = Vec::new();
    for (base, lines) in [
        ("full-retry", "enabled = true\nretry_after = \"2h\""),
        ("full", "enabled = true"),
        (
            "read-only",
            "enabled = true\nread_only = true\nformat = \"html\"",
        ),
    ] {
        for (suffix, message) in [("", MESSAGE), ("-long-url", LONG_URL_MESSAGE)] {
            let name = format!("{base}{suffix}");
            let config = demo_config(&format!("{lines}\nmessage = {}", toml_string(message)));
            let demo = Demo::start(&config, false, &[]);
            let read_only = base == "read-only";
            // What a browser does not show: the statuses this variant is about.
            let html = [("Accept", "text/html")];
            let get = demo.request("GET", "/", &html).unwrap().0;
            let post = demo.request("POST", "/", &html).unwrap().0;
            let expected = if read_only { (200, 503) } else { (503, 503) };
            if (get, post) != expected {
                failures.push(format!(
                    "{name}: GET / answered {get} and POST / {post}, expected {expected:?}"
                ));
            }
            variants.push(Variant {
                name,
                demo,
                message,
                read_only,
            });
        }
    }

    let artifacts = artifacts_dir();
    run_bounded(Duration::from_secs(600), async {
        for scheme in [Scheme::Light, Scheme::Dark] {
            for (width, height) in [(320, 640), (1280, 800)] {
                let browser = Browser::open(BrowserOptions {
                    width,
                    height,
                    scheme,
                    lang: "en-US",
                })
                .await;
                for v in &variants {
                    let label = format!("{}-{}-{width}", v.name, scheme.name());
                    v.load(&browser).await;
                    let facts = page_facts(&browser, v.message).await;
                    let shot = artifacts.join(format!("{label}.png"));
                    std::fs::write(&shot, browser.screenshot().await).unwrap();
                    check_layout(&label, &facts, width, scheme, &mut failures);
                    let violations = axe_violations(&browser).await;
                    eprintln!(
                        "{label}: innerWidth {}, scrollWidth {}, <h1> {}, axe violations: {}",
                        facts["innerWidth"],
                        facts["scrollWidth"],
                        facts["h1"]["text"],
                        violations.len()
                    );
                    if !violations.is_empty() {
                        let full = serde_json::to_string_pretty(&violations).unwrap();
                        let file = artifacts.join(format!("{label}.axe.json"));
                        std::fs::write(&file, &full).unwrap();
                        eprintln!("{label}: axe-core violations in full:\n{full}");
                        failures.push(format!(
                            "{label}: axe-core found {} violation(s) (in full: {}):\n{}",
                            violations.len(),
                            file.display(),
                            summarize_violations(&violations)
                        ));
                    }
                }
                browser.close().await;
            }
        }
    });
    eprintln!("screenshots: {}", artifacts.display());
    assert!(
        failures.is_empty(),
        "{} problem(s) with the maintenance page in Chromium (screenshots in {}):\n\n{}",
        failures.len(),
        artifacts.display(),
        failures.join("\n\n")
    );
}

/// A German browser (`Accept-Language: de-DE,de;q=0.9`) gets the page in German: `lang="de"`
/// and a heading other than the English one for the same settings. The settings offer the
/// message in English and German (a page is served only in the languages of its message: see
/// `language` in docs/settings.md).
#[test]
fn a_german_browser_gets_the_german_page() {
    if !browser_present() {
        return;
    }
    let _one = ONE_BROWSER.lock().unwrap_or_else(|e| e.into_inner());
    let config = demo_config(&format!(
        "enabled = true\nretry_after = \"2h\"\nmessage = {{ en = {}, de = {} }}",
        toml_string(MESSAGE),
        toml_string(MESSAGE_DE)
    ));
    let demo = Demo::start(&config, false, &[]);
    let url = format!("http://127.0.0.1:{}/", demo.port);
    let artifacts = artifacts_dir();

    let (english, german) = run_bounded(Duration::from_secs(120), async {
        let mut seen = Vec::new();
        for lang in ["en-US", "de-DE"] {
            let browser = Browser::open(BrowserOptions {
                width: 1280,
                height: 800,
                scheme: Scheme::Light,
                lang,
            })
            .await;
            browser.goto(&url).await;
            let facts = browser
                .eval(
                    "return { lang: document.documentElement.lang, \
                              languages: navigator.languages, \
                              h1: (document.querySelector('h1') || {}).textContent || null };",
                    vec![],
                )
                .await;
            eprintln!("{lang}: {facts}");
            let shot = artifacts.join(format!("lang-{lang}-full-retry-1280.png"));
            std::fs::write(shot, browser.screenshot().await).unwrap();
            browser.close().await;
            assert_eq!(
                facts["languages"][0], lang,
                "the browser is not set up for {lang}: {facts}"
            );
            seen.push(facts);
        }
        (seen[0].clone(), seen[1].clone())
    });
    let heading = |f: &Value| f["h1"].as_str().unwrap_or("").trim().to_string();
    assert!(
        !heading(&english).is_empty(),
        "no English heading: {english}"
    );
    assert_eq!(
        german["lang"], "de",
        "<html lang> for Accept-Language de-DE,de;q=0.9 (English page: {english}; German: {german})"
    );
    assert!(
        !heading(&german).is_empty() && heading(&german) != heading(&english),
        "the German heading should differ from the English {:?}: {german}",
        heading(&english)
    );
}

/// With maintenance turned off while the page is open, the page finds out by itself (HEAD on
/// its own URL) and reloads into the app: the heading becomes the demo's `Home`.
#[test]
fn the_open_page_returns_to_the_app_when_maintenance_ends() {
    if !browser_present() {
        return;
    }
    let _one = ONE_BROWSER.lock().unwrap_or_else(|e| e.into_inner());
    let demo = Demo::start(
        &demo_config(&format!(
            "enabled = true\nretry_after = 1\nmessage = {}",
            toml_string(MESSAGE)
        )),
        false,
        &[],
    );
    let url = format!("http://127.0.0.1:{}/", demo.port);
    let html = [("Accept", "text/html")];
    assert_eq!(demo.request("GET", "/", &html).unwrap().0, 503);
    let artifacts = artifacts_dir();

    run_bounded(Duration::from_secs(120), async {
        let browser = Browser::open(BrowserOptions {
            width: 1280,
            height: 800,
            scheme: Scheme::Light,
            lang: "en-US",
        })
        .await;
        browser.goto(&url).await;
        let before = heading(&browser).await;
        assert!(
            before
                .as_deref()
                .is_some_and(|h| !h.is_empty() && h != "Home"),
            "the maintenance page first: {before:?}"
        );

        demo.write_config(&demo_config("enabled = false"));
        demo.signal(Signal::SIGHUP);
        let off_at = Instant::now();
        // The reload itself is not what is tested here: wait for the app to answer again.
        while demo.request("GET", "/", &html).map(|r| r.0).ok() != Some(200) {
            assert!(
                off_at.elapsed() < Duration::from_secs(10),
                "the demo still answers maintenance 10 s after SIGHUP with enabled = false"
            );
            rocket::tokio::time::sleep(Duration::from_millis(100)).await;
        }

        let limit = Duration::from_secs(40);
        let mut last = before;
        loop {
            // Errors while the page navigates are expected; try again.
            if let Ok(Ok(h)) = rocket::tokio::time::timeout(
                Duration::from_secs(10),
                browser.client().execute(HEADING_JS, vec![]),
            )
            .await
            {
                last = h.as_str().map(str::to_string);
                if last.as_deref() == Some("Home") {
                    eprintln!(
                        "the page returned to the app {:.1} s after maintenance ended",
                        off_at.elapsed().as_secs_f64()
                    );
                    break;
                }
            }
            if off_at.elapsed() > limit {
                let shot = artifacts.join("auto-return-timeout.png");
                if let Ok(Ok(png)) = rocket::tokio::time::timeout(
                    Duration::from_secs(10),
                    browser.client().screenshot(),
                )
                .await
                {
                    let _ = std::fs::write(&shot, png);
                }
                panic!(
                    "the open page did not return to the app within {limit:?} after maintenance \
                     ended (retry_after = 1 s): its <h1> is still {last:?} (screenshot: {})",
                    shot.display()
                );
            }
            rocket::tokio::time::sleep(Duration::from_millis(250)).await;
        }
        browser.close().await;
    });
}

// ---------------------------------------------------------------------------------------------
// Page variants and what is checked on them

struct Variant {
    name: String,
    demo: Demo,
    message: &'static str,
    read_only: bool,
}

impl Variant {
    /// Brings the variant's maintenance page into the browser.
    async fn load(&self, browser: &Browser) {
        let url = format!("http://127.0.0.1:{}/", self.demo.port);
        browser.goto(&url).await;
        if !self.read_only {
            return;
        }
        // Reads pass in read-only maintenance: from the app's page, POST a form to `/`.
        browser
            .eval(
                "window.__before_post = true; \
                 const f = document.createElement('form'); \
                 f.method = 'post'; f.action = '/'; \
                 document.body.appendChild(f); f.submit(); return null;",
                vec![],
            )
            .await;
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let state = rocket::tokio::time::timeout(
                Duration::from_secs(10),
                browser.client().execute(
                    "return window.__before_post === undefined && document.readyState === 'complete';",
                    vec![],
                ),
            )
            .await;
            if matches!(state, Ok(Ok(Value::Bool(true)))) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "{}: the POST form did not load a new page within 20 s: {state:?}",
                self.name
            );
            rocket::tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

const HEADING_JS: &str =
    "const h = document.querySelector('h1'); return h ? h.textContent.trim() : null;";

async fn heading(browser: &Browser) -> Option<String> {
    browser
        .eval(HEADING_JS, vec![])
        .await
        .as_str()
        .map(str::to_string)
}

/// What the checks need to know about the page in the browser.
const FACTS_JS: &str = r#"
const message = arguments[0];
const box = (el) => {
  if (!el) return null;
  const r = el.getBoundingClientRect();
  const cs = getComputedStyle(el);
  return { text: el.innerText.trim(), width: r.width, height: r.height, left: r.left,
           right: r.right, visibility: cs.visibility, display: cs.display,
           opacity: Number(cs.opacity), color: cs.color };
};
const describe = (el) => el.tagName.toLowerCase()
  + (el.id ? '#' + el.id : '')
  + (el.classList.length ? '.' + [...el.classList].join('.') : '');
const paragraphs = [...document.querySelectorAll('p')];
return {
  url: location.href,
  lang: document.documentElement.lang,
  dark: matchMedia('(prefers-color-scheme: dark)').matches,
  innerWidth: window.innerWidth,
  innerHeight: window.innerHeight,
  scrollWidth: document.documentElement.scrollWidth,
  h1: box(document.querySelector('h1')),
  message: box(paragraphs.find((p) => p.textContent.includes(message)) || null),
  paragraphs: paragraphs.map((p) => p.textContent.trim()),
  beyondRightEdge: [...document.querySelectorAll('body *')]
    .filter((el) => el.getBoundingClientRect().right > window.innerWidth + 0.5)
    .map((el) => { const r = el.getBoundingClientRect();
                   return describe(el) + ' (left ' + Math.round(r.left) + ', right '
                     + Math.round(r.right) + ', width ' + Math.round(r.width) + ')'; }),
};
"#;

async fn page_facts(browser: &Browser, message: &str) -> Value {
    browser.eval(FACTS_JS, vec![json!(message)]).await
}

fn check_layout(
    label: &str,
    facts: &Value,
    width: u32,
    scheme: Scheme,
    failures: &mut Vec<String>,
) {
    let mut problems = Vec::new();
    if facts["innerWidth"] != json!(width) {
        problems.push(format!(
            "window.innerWidth is {}, not {width}: the viewport is not set up",
            facts["innerWidth"]
        ));
    }
    if facts["dark"] != json!(scheme == Scheme::Dark) {
        problems.push(format!(
            "prefers-color-scheme: dark matches = {}: the browser's scheme is not {}",
            facts["dark"],
            scheme.name()
        ));
    }
    for (what, el) in [("<h1>", &facts["h1"]), ("the message", &facts["message"])] {
        if let Some(why) = not_visible(el) {
            problems.push(format!("{what} is not visible: {why}"));
        }
    }
    let scroll = facts["scrollWidth"].as_f64().unwrap_or(f64::MAX);
    let inner = facts["innerWidth"].as_f64().unwrap_or(0.0);
    if scroll > inner {
        problems.push(format!(
            "horizontal scrolling: document.documentElement.scrollWidth {scroll} > \
             window.innerWidth {inner}; elements past the right edge: {}",
            facts["beyondRightEdge"]
        ));
    }
    if !problems.is_empty() {
        failures.push(format!(
            "{label} ({}): {}\n  paragraphs: {}",
            facts["url"].as_str().unwrap_or("?"),
            problems.join("\n  "),
            facts["paragraphs"]
        ));
    }
}

/// Why the element (a `box()` from `FACTS_JS`) is not visible, if it is not.
fn not_visible(el: &Value) -> Option<String> {
    if el.is_null() {
        return Some("not on the page".into());
    }
    let num = |k: &str| el[k].as_f64().unwrap_or(0.0);
    if el["text"].as_str().unwrap_or("").is_empty() {
        Some(format!("no text: {el}"))
    } else if num("width") <= 0.0 || num("height") <= 0.0 {
        Some(format!("zero size: {el}"))
    } else if el["display"] == "none" || el["visibility"] != "visible" || num("opacity") <= 0.0 {
        Some(format!("hidden by its style: {el}"))
    } else {
        None
    }
}

/// Injects axe-core and runs it on the whole document; returns its `violations`.
async fn axe_violations(browser: &Browser) -> Vec<Value> {
    browser.eval(AXE, vec![]).await;
    let result = step(
        "axe.run()",
        60,
        browser.client().execute_async(
            "const done = arguments[arguments.length - 1];
             axe.run(document)
               .then((r) => done({ version: axe.version, passes: r.passes.length,
                                   violations: r.violations }))
               .catch((e) => done({ error: String(e && e.stack || e) }));",
            vec![],
        ),
    )
    .await;
    assert!(
        result["error"].is_null(),
        "axe.run() failed: {}",
        result["error"]
    );
    // A page where no rule applied would be no evidence at all.
    assert!(
        result["passes"].as_u64().unwrap_or(0) > 0,
        "axe-core {} checked nothing: {result}",
        result["version"]
    );
    result["violations"].as_array().cloned().unwrap_or_default()
}

/// Rule id, impact and help, then each element with axe's failure summary.
fn summarize_violations(violations: &[Value]) -> String {
    let mut out = String::new();
    for v in violations {
        out.push_str(&format!(
            "  - {} ({}): {} [{}]\n",
            v["id"].as_str().unwrap_or("?"),
            v["impact"].as_str().unwrap_or("?"),
            v["help"].as_str().unwrap_or("?"),
            v["helpUrl"].as_str().unwrap_or("?"),
        ));
        for node in v["nodes"].as_array().into_iter().flatten() {
            out.push_str(&format!(
                "      {} {}\n        {}\n",
                node["target"],
                node["html"].as_str().unwrap_or("?"),
                node["failureSummary"]
                    .as_str()
                    .unwrap_or("?")
                    .replace('\n', "\n        ")
            ));
        }
    }
    out
}

// ---------------------------------------------------------------------------------------------
// The browser

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Scheme {
    Light,
    Dark,
}

impl Scheme {
    fn name(self) -> &'static str {
        match self {
            Scheme::Light => "light",
            Scheme::Dark => "dark",
        }
    }
}

struct BrowserOptions {
    width: u32,
    height: u32,
    scheme: Scheme,
    /// The browser's language, e.g. `de-DE`: sent as `Accept-Language: de-DE,de;q=0.9`.
    lang: &'static str,
}

/// A WebDriver session in a Chromium of its own, started by a chromedriver of its own.
struct Browser {
    client: Option<Client>,
    // Dropped after the client: kills chromedriver and its Chromium, then removes the profile.
    driver: Driver,
}

impl Browser {
    async fn open(opts: BrowserOptions) -> Browser {
        let driver = Driver::start();
        let primary = opts.lang.split('-').next().unwrap_or(opts.lang);
        let scheme = match opts.scheme {
            Scheme::Dark => "--blink-settings=preferredColorScheme=0",
            Scheme::Light => "--blink-settings=preferredColorScheme=1",
        };
        let args = vec![
            "--headless".to_string(),
            "--no-sandbox".into(),
            "--disable-gpu".into(),
            "--disable-quic".into(),
            "--no-first-run".into(),
            "--disable-background-networking".into(),
            "--disable-component-update".into(),
            "--disable-sync".into(),
            format!("--user-data-dir={}", driver.profile().display()),
            scheme.into(),
            format!("--lang={}", opts.lang),
        ];
        let capabilities = json!({
            "browserName": "chrome",
            "timeouts": { "script": 30_000, "pageLoad": 20_000, "implicit": 0 },
            "goog:chromeOptions": {
                "binary": CHROMIUM,
                "args": args,
                "prefs": { "intl.accept_languages": format!("{},{primary}", opts.lang) },
                "mobileEmulation": {
                    "deviceMetrics": {
                        "width": opts.width,
                        "height": opts.height,
                        "pixelRatio": 1.0,
                        "mobile": false,
                        "touch": false,
                    }
                },
            },
        });
        let Value::Object(capabilities) = capabilities else {
            unreachable!()
        };
        let url = format!("http://127.0.0.1:{}", driver.port);
        let client = match rocket::tokio::time::timeout(
            Duration::from_secs(60),
            ClientBuilder::native()
                .capabilities(capabilities)
                .connect(&url),
        )
        .await
        {
            Ok(Ok(client)) => client,
            Ok(Err(e)) => panic!(
                "no WebDriver session from chromedriver: {e}\n{}",
                driver.log_tail()
            ),
            Err(_) => panic!(
                "chromedriver did not start a browser within 60 s\n{}",
                driver.log_tail()
            ),
        };
        Browser {
            client: Some(client),
            driver,
        }
    }

    fn client(&self) -> &Client {
        self.client.as_ref().expect("an open session")
    }

    async fn goto(&self, url: &str) {
        step(&format!("loading {url}"), 30, self.client().goto(url)).await;
    }

    async fn eval(&self, script: &str, args: Vec<Value>) -> Value {
        let what = format!("running {:.60}…", script.trim());
        step(&what, 45, self.client().execute(script, args)).await
    }

    async fn screenshot(&self) -> Vec<u8> {
        step("taking a screenshot", 30, self.client().screenshot()).await
    }

    /// Ends the session (Chromium quits); the driver guard does the rest.
    async fn close(mut self) {
        if let Some(client) = self.client.take() {
            let _ = rocket::tokio::time::timeout(Duration::from_secs(15), client.close()).await;
        }
        drop(self.driver);
    }
}

/// One WebDriver step, bounded in time; panics with `what` on error or timeout.
async fn step<T, E: std::fmt::Debug>(
    what: &str,
    secs: u64,
    fut: impl Future<Output = Result<T, E>>,
) -> T {
    match rocket::tokio::time::timeout(Duration::from_secs(secs), fut).await {
        Ok(Ok(v)) => v,
        Ok(Err(e)) => panic!("{what}: {e:?}"),
        Err(_) => panic!("{what}: no answer within {secs} s"),
    }
}

/// chromedriver on a free loopback port, in its own process group (the group's id is its PID)
/// so that the Chromium it starts is ended with it.
struct Driver {
    child: Child,
    port: u16,
    // The profile (`--user-data-dir`) and chromedriver's log. Removed after the kill.
    dir: tempfile::TempDir,
}

impl Driver {
    fn start() -> Driver {
        use std::os::unix::process::CommandExt;
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("profile")).unwrap();
        let port = common::free_port();
        let child = Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .arg(format!(
                "--log-path={}",
                dir.path().join("chromedriver.log").display()
            ))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0)
            .spawn()
            .expect("starting /usr/bin/chromedriver");
        let mut driver = Driver { child, port, dir };
        let deadline = Instant::now() + Duration::from_secs(20);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            if let Ok(Some(status)) = driver.child.try_wait() {
                panic!("chromedriver exited with {status}\n{}", driver.log_tail());
            }
            assert!(
                Instant::now() < deadline,
                "chromedriver does not listen on 127.0.0.1:{port} after 20 s\n{}",
                driver.log_tail()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        driver
    }

    fn profile(&self) -> PathBuf {
        self.dir.path().join("profile")
    }

    fn log_tail(&self) -> String {
        let log =
            std::fs::read_to_string(self.dir.path().join("chromedriver.log")).unwrap_or_default();
        let lines: Vec<&str> = log.lines().collect();
        let tail = lines[lines.len().saturating_sub(40)..].join("\n");
        format!("chromedriver's log, last lines:\n{tail}")
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        // Not yet reaped, so the PID (and the group of the same id) is still ours.
        let group = nix::unistd::Pid::from_raw(self.child.id() as i32);
        let _ = nix::sys::signal::killpg(group, Signal::SIGKILL);
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

// ---------------------------------------------------------------------------------------------
// Helpers

/// True when Chromium and chromedriver are installed. Without them: a failure under `CI`,
/// otherwise a line saying the test was skipped (written past the test harness's capture).
fn browser_present() -> bool {
    let missing: Vec<&str> = [CHROMIUM, CHROMEDRIVER]
        .into_iter()
        .filter(|p| !Path::new(p).exists())
        .collect();
    if missing.is_empty() {
        return true;
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "CI is set and {} is missing: install Debian's chromium and chromium-driver \
         (.ci/run does)",
        missing.join(" and ")
    );
    let _ = writeln!(
        std::io::stderr(),
        "SKIPPED browser test: {} missing (apt-get install chromium chromium-driver); \
         with CI set this is a failure",
        missing.join(" and ")
    );
    false
}

/// `target/browser-artifacts/` (beside the build's profile directory), created.
fn artifacts_dir() -> PathBuf {
    let dir = common::target_dir()
        .parent()
        .expect("the target directory")
        .join("browser-artifacts");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A TOML basic string.
fn toml_string(s: &str) -> String {
    serde_json::to_string(s).unwrap()
}

/// Runs `fut` on a runtime of its own, for at most `limit`; past it, the future is dropped
/// (ending its browser) and the test fails.
fn run_bounded<T>(limit: Duration, fut: impl Future<Output = T>) -> T {
    let runtime = rocket::tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        match rocket::tokio::time::timeout(limit, fut).await {
            Ok(v) => v,
            Err(_) => panic!("the browser test took longer than {limit:?}"),
        }
    })
}
