//! Heap allocations per request, counted by a global allocator: what the fairing adds to a bare
//! Rocket when maintenance is off, when it holds a request back (the 503 page), and when it lets a
//! `force_off` route through while on.
//!
//! Each figure is compared with a baseline measured in the same run, never with a number written
//! down here, so the test follows Rocket's own costs:
//!
//! - any request and response fairing: Rocket boxes the future of every `#[async_trait]` callback
//!   it calls (a do-nothing fairing with the same callbacks);
//! - the per-request snapshot the contract asks for ("one snapshot of the live state per request,
//!   kept in the request's local cache"): Rocket's local cache boxes the value and allocates its
//!   table on first use (a do-nothing fairing that keeps one value there);
//! - moving a held-back request to the fairing's own route: one `String` for the new URI, which
//!   Rocket's URI parser and router then handle as they handle any URI (a fairing that keeps a
//!   value and moves the request with `Origin::parse_owned`, to a route that answers like the
//!   maintenance page).
//!
//! The maintenance fairing must cost no more than those. The 503 body is shared: no allocation of
//! its size happens while a held-back request is answered. Every count is the same for every
//! request (nothing grows per request).
//!
//! Everything runs in one test on one current-thread runtime; only allocations made on this
//! thread while a request is dispatched are counted. `cargo test --test allocations --
//! --nocapture` prints the table.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::io::Cursor;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};

use rocket::fairing::{Fairing, Info, Kind};
use rocket::figment::Figment;
use rocket::http::uri::Origin;
use rocket::http::{ContentType, Status};
use rocket::local::asynchronous::Client;
use rocket::response::Responder;
use rocket::{get, routes, Build, Data, Request, Response, Rocket};
use rocket_maintenance::Maintenance;

struct Counting;

static ALLOCATIONS: AtomicUsize = AtomicUsize::new(0);
static LARGEST: AtomicUsize = AtomicUsize::new(0);

thread_local! {
    static TRACKING: Cell<bool> = const { Cell::new(false) };
}

fn record(size: usize) {
    if TRACKING.try_with(Cell::get).unwrap_or(false) {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        LARGEST.fetch_max(size, Ordering::Relaxed);
    }
}

// SAFETY: every call is forwarded unchanged to the system allocator; counting touches only
// atomics and a const-initialised thread-local without a destructor, neither of which allocates.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        record(layout.size());
        System.alloc(layout)
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        record(layout.size());
        System.alloc_zeroed(layout)
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        record(new_size);
        System.realloc(ptr, layout, new_size)
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        System.dealloc(ptr, layout)
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

const BODY: &str = "Hello, world!";

#[get("/")]
fn index() -> &'static str {
    BODY
}

#[get("/open")]
fn open() -> &'static str {
    BODY
}

/// A shared body as large as the maintenance page of `ON`.
fn shared_page() -> Arc<[u8]> {
    static PAGE: OnceLock<Arc<[u8]>> = OnceLock::new();
    PAGE.get_or_init(|| Arc::from(vec![b'x'; 4096])).clone()
}

/// What a handler does to answer like the maintenance page: the same status and headers, and a
/// shared body.
struct LikeMaintenance;

impl<'r> Responder<'r, 'static> for LikeMaintenance {
    fn respond_to(self, _req: &'r Request<'_>) -> rocket::response::Result<'static> {
        let body = shared_page();
        Ok(Response::build()
            .raw_header("Cache-Control", "no-store")
            .raw_header("Vary", "Accept")
            .raw_header("Retry-After", "900")
            .status(Status::ServiceUnavailable)
            .header(ContentType::HTML)
            .sized_body(body.len(), Cursor::new(body))
            .finalize())
    }
}

#[get("/")]
fn like_maintenance() -> LikeMaintenance {
    LikeMaintenance
}

/// The baselines: a request and response fairing that does nothing (`keep: false`), or keeps one
/// value in the request's local cache (`keep: true`) and, with `move_under`, moves every request
/// under that prefix as the maintenance fairing moves a held-back one.
struct Baseline {
    keep: bool,
    move_under: Option<&'static str>,
}

/// The value `Baseline` keeps: the size of the fairing's snapshot (an `Arc` and a verdict).
struct Kept(#[allow(dead_code)] Arc<()>, #[allow(dead_code)] u64);

#[rocket::async_trait]
impl Fairing for Baseline {
    fn info(&self) -> Info {
        Info {
            name: "Baseline",
            kind: Kind::Request | Kind::Response,
        }
    }

    async fn on_request(&self, req: &mut Request<'_>, _data: &mut Data<'_>) {
        if self.keep {
            static SHARED: OnceLock<Arc<()>> = OnceLock::new();
            let shared = SHARED.get_or_init(|| Arc::new(())).clone();
            req.local_cache(|| Kept(shared, 0));
        }
        if let Some(prefix) = self.move_under {
            let path = req.uri().path().as_str();
            let mut target = String::with_capacity(prefix.len() + path.len());
            target.push_str(prefix);
            if path != "/" {
                target.push_str(path);
            }
            req.set_uri(Origin::parse_owned(target).expect("a valid URI"));
        }
    }

    async fn on_response<'r>(&self, _req: &'r Request<'_>, _res: &mut Response<'r>) {}
}

/// Rocket's defaults, quiet, with `toml` (top-level keys such as `[maintenance]`) merged in.
fn figment(toml: &str) -> Figment {
    use rocket::figment::providers::{Format, Toml};
    Figment::from(rocket::Config::default())
        .merge(("log_level", "off"))
        .merge(Toml::string(toml))
}

fn bare() -> Rocket<Build> {
    rocket::custom(figment("")).mount("/", routes![index, open])
}

fn baseline(keep: bool) -> Rocket<Build> {
    bare().attach(Baseline {
        keep,
        move_under: None,
    })
}

/// The least a fairing that meets the contract does for a held-back request: keep a snapshot and
/// move the request to its own route (which answers like the page, or is the `open` route).
fn mover() -> Rocket<Build> {
    rocket::custom(figment(""))
        .mount("/__moved", routes![like_maintenance, open])
        .attach(Baseline {
            keep: true,
            move_under: Some("/__moved"),
        })
}

fn with_maintenance(toml: &str) -> Rocket<Build> {
    let f = figment(toml);
    let source = f.clone();
    rocket::custom(f)
        .mount("/", routes![index])
        .attach(Maintenance::custom(move || source.clone()).force_off("/", routes![open]))
}

/// Maintenance on, with a message long enough that the page is larger than any allocation a
/// request makes otherwise.
fn on_settings(extra: &str) -> String {
    format!(
        "[maintenance]\nenabled = true\nretry_after = 900\nmessage = \"{}\"\n{extra}",
        "Back soon. ".repeat(300)
    )
}

/// The allocations of one request (the same for every request after a warm-up, or the test
/// fails), and the largest single allocation seen.
struct Count {
    allocations: usize,
    largest: usize,
    status: Status,
}

async fn count(client: &Client, uri: &'static str) -> Count {
    const WARM_UP: usize = 20;
    const RUNS: usize = 200;
    let mut seen = Vec::with_capacity(RUNS);
    let mut largest = 0;
    let mut status = Status::Ok;
    for i in 0..WARM_UP + RUNS {
        let request = client.get(uri);
        ALLOCATIONS.store(0, Ordering::Relaxed);
        LARGEST.store(0, Ordering::Relaxed);
        TRACKING.with(|t| t.set(true));
        let response = request.dispatch().await;
        TRACKING.with(|t| t.set(false));
        let n = ALLOCATIONS.load(Ordering::Relaxed);
        status = response.status();
        drop(response);
        if i >= WARM_UP {
            seen.push(n);
            largest = largest.max(LARGEST.load(Ordering::Relaxed));
        }
    }
    let fewest = *seen.iter().min().unwrap();
    let most = *seen.iter().max().unwrap();
    assert_eq!(
        fewest, most,
        "GET {uri}: allocations per request vary from {fewest} to {most}: something grows per request"
    );
    Count {
        allocations: fewest,
        largest,
        status,
    }
}

async fn measure(name: &str, rocket: Rocket<Build>, uri: &'static str) -> Count {
    let client = Client::untracked(rocket).await.expect("valid rocket");
    let c = count(&client, uri).await;
    eprintln!(
        "{name:<52} GET {uri:<6} -> {}  {:>3} allocations, largest {:>5} B",
        c.status.code, c.allocations, c.largest
    );
    c
}

#[test]
fn the_fairing_allocates_only_what_rocket_charges_for_what_the_contract_needs() {
    let runtime = rocket::tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let on = on_settings("");
        let page_len = {
            let client = Client::untracked(with_maintenance(&on)).await.unwrap();
            let response = client.get("/").dispatch().await;
            assert_eq!(response.status(), Status::ServiceUnavailable);
            response.into_bytes().await.unwrap().len()
        };
        assert!(page_len > 3000, "the page is {page_len} bytes");

        let bare_root = measure("bare", bare(), "/").await;
        let bare_open = measure("bare", bare(), "/open").await;
        let page = measure(
            "bare, a handler answering like the 503 page",
            rocket::custom(figment("")).mount("/", routes![like_maintenance]),
            "/",
        )
        .await;
        let boxes = measure("+ do-nothing request+response fairing", baseline(false), "/").await;
        let keeper = measure("+ ... keeping a value in the local cache", baseline(true), "/").await;
        let mover_held = measure("+ ... and moving it to a route like the 503", mover(), "/").await;
        let mover_open = measure("+ ... and moving it to the open route", mover(), "/open").await;
        let off = measure("maintenance off", with_maintenance(""), "/").await;
        let off_open = measure("maintenance off, force_off route", with_maintenance(""), "/open").await;
        let held = measure("maintenance on, held back (503)", with_maintenance(&on), "/").await;
        let forced = measure("maintenance on, force_off route", with_maintenance(&on), "/open").await;
        let rules = on_settings("allow_paths = [\"/static/**\"]\nallow_ips = [\"192.0.2.0/24\"]\n");
        let held_rules = measure("maintenance on, held back, with rules", with_maintenance(&rules), "/").await;

        for (c, status) in [
            (&off, Status::Ok),
            (&off_open, Status::Ok),
            (&held, Status::ServiceUnavailable),
            (&forced, Status::Ok),
            (&held_rules, Status::ServiceUnavailable),
            (&mover_held, Status::ServiceUnavailable),
            (&mover_open, Status::Ok),
            (&page, Status::ServiceUnavailable),
        ] {
            assert_eq!(c.status, status);
        }

        let extra = |c: &Count, base: &Count| c.allocations as isize - base.allocations as isize;
        let fairing = extra(&boxes, &bare_root);
        let snapshot = extra(&keeper, &boxes);
        let moving = extra(&mover_held, &keeper) - extra(&page, &bare_root);
        eprintln!(
            "Rocket charges per request: {fairing} for a request+response fairing, {snapshot} for a \
             value in the local cache, {moving} for moving a request to another route"
        );
        eprintln!(
            "the maintenance fairing adds: off {} (force_off route {}); held back {} beyond the \
             same 503 from a handler (with rules {}); force_off route while on {}",
            extra(&off, &bare_root),
            extra(&off_open, &bare_open),
            extra(&held, &page),
            extra(&held_rules, &page),
            extra(&forced, &bare_open),
        );

        // Off: nothing of ours. A request passed while off takes no snapshot: only the boxes
        // Rocket makes for any request and response fairing's callbacks remain.
        assert_eq!(
            (extra(&off, &bare_root), extra(&off_open, &bare_open)),
            (fairing, fairing),
            "maintenance off allocates beyond Rocket's fairing boxes ({fairing}): / {}, force_off \
             route {}",
            extra(&off, &bare_root),
            extra(&off_open, &bare_open)
        );
        // On: a held-back request keeps one snapshot (taken by the catch-all that answers it):
        // no more than a fairing that keeps a value and moves the request; the rules (a glob, a
        // network) allocate nothing.
        assert!(
            held.allocations <= mover_held.allocations,
            "a held-back request allocates {}; keeping a value and moving it costs {}",
            held.allocations,
            mover_held.allocations
        );
        assert_eq!(
            held_rules.allocations, held.allocations,
            "with allow_paths and allow_ips, a held-back request allocates {} (without rules: {})",
            held_rules.allocations, held.allocations
        );
        // The force_off copy is the route itself, and a held-back request keeps no snapshot (a
        // guard of the route would take it): less than a fairing that keeps a value and moves.
        assert!(
            forced.allocations as isize + snapshot <= mover_open.allocations as isize,
            "a force_off request while on allocates {}; keeping a value and moving it costs {}, \
             of which the value {snapshot}",
            forced.allocations,
            mover_open.allocations
        );
        // The page is shared, never copied.
        assert!(
            held.largest < page_len && held_rules.largest < page_len,
            "a held-back request allocated {} bytes at once; the page is {page_len}",
            held.largest.max(held_rules.largest)
        );
    });
}
