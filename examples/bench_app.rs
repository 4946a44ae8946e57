//! The tiny app `scripts/bench` loads: `GET /` and `GET /open` answer a static string; `/open` is
//! a `force_off` route whenever the fairing is attached.
//!
//! The mode is the first argument, else `$BENCH_APP_MODE`, else `bare`:
//!
//! - `bare`: no fairing, both routes mounted as usual (the baseline), and `GET /page`, which
//!   answers like the maintenance page from a handler: the same status and headers (503,
//!   `Cache-Control: no-store`, the same `Vary`, `Retry-After: 900`, `Content-Language: en`,
//!   HTML; `scripts/bench` checks they are the same) and the body read once from
//!   `$BENCH_APP_PAGE` (a file; e.g. the 503 page saved from an `on` server), shared;
//! - `off`: the fairing attached, maintenance off;
//! - `on`: the fairing attached, maintenance on (`/` answers the 503 page, `/open` stays open);
//! - `noop`: a do-nothing request and response fairing instead (what Rocket charges for any
//!   fairing with the same callbacks).
//!
//! The maintenance settings are the `maintenance` table of Rocket's own figment (`ROCKET_CONFIG`,
//! e.g. the demo's `Rocket.toml`) with `enabled` forced by the mode, re-read at every `SIGHUP`.
//! With `BENCH_APP_PAGES=demo` the two routes render the demo's `index` and `about` templates
//! instead of a string (for memory comparisons against the demo).
//!
//! ```text
//! ROCKET_CONFIG=Rocket.toml ROCKET_PORT=8001 cargo run --release --example bench_app -- off
//! ```

#[macro_use]
extern crate rocket;

use std::io::Cursor;
use std::sync::{Arc, OnceLock};

use rocket::fairing::{Fairing, Info, Kind};
use rocket::http::{ContentType, Status};
use rocket::response::Responder;
use rocket::{Build, Data, Request, Response, Rocket};
use rocket_dyn_templates::{context, Template};
use rocket_maintenance::Maintenance;

/// The body of both string routes.
const BODY: &str = "Hello, world!";

#[get("/")]
fn index() -> &'static str {
    BODY
}

#[get("/open")]
fn open() -> &'static str {
    BODY
}

/// The page `/page` serves: `$BENCH_APP_PAGE`'s contents, read once.
fn page_body() -> Arc<[u8]> {
    static PAGE: OnceLock<Arc<[u8]>> = OnceLock::new();
    PAGE.get_or_init(|| {
        std::env::var_os("BENCH_APP_PAGE")
            .and_then(|path| std::fs::read(path).ok())
            .unwrap_or_else(|| b"Service Unavailable".to_vec())
            .into()
    })
    .clone()
}

/// Answers like the maintenance page, from a handler.
struct LikeMaintenance;

impl<'r> Responder<'r, 'static> for LikeMaintenance {
    fn respond_to(self, _req: &'r Request<'_>) -> rocket::response::Result<'static> {
        let body = page_body();
        Ok(Response::build()
            .raw_header("Cache-Control", "no-store")
            .raw_header("Vary", "Accept, Sec-Fetch-Dest, X-Requested-With")
            .raw_header("Retry-After", "900")
            .raw_header("Content-Language", "en")
            .status(Status::ServiceUnavailable)
            .header(ContentType::HTML)
            .sized_body(body.len(), Cursor::new(body))
            .finalize())
    }
}

#[get("/page")]
fn page() -> LikeMaintenance {
    LikeMaintenance
}

#[get("/")]
fn demo_index() -> Template {
    Template::render("index", context! {})
}

#[get("/open")]
fn demo_open() -> Template {
    Template::render("about", context! {})
}

/// A request and response fairing that does nothing.
struct Noop;

#[rocket::async_trait]
impl Fairing for Noop {
    fn info(&self) -> Info {
        Info {
            name: "Noop",
            kind: Kind::Request | Kind::Response,
        }
    }

    async fn on_request(&self, _req: &mut Request<'_>, _data: &mut Data<'_>) {}

    async fn on_response<'r>(&self, _req: &'r Request<'_>, _res: &mut Response<'r>) {}
}

/// The maintenance fairing reading Rocket's figment, with `enabled` forced.
fn maintenance(enabled: bool) -> Maintenance {
    Maintenance::custom(move || rocket::Config::figment().merge(("maintenance.enabled", enabled)))
}

#[launch]
fn rocket() -> Rocket<Build> {
    let mode = std::env::args()
        .nth(1)
        .or_else(|| std::env::var("BENCH_APP_MODE").ok())
        .unwrap_or_else(|| "bare".into());
    let demo_pages = std::env::var("BENCH_APP_PAGES").is_ok_and(|p| p == "demo");
    let (index, open) = if demo_pages {
        (routes![demo_index], routes![demo_open])
    } else {
        (routes![index], routes![open])
    };
    let mut rocket = rocket::build().mount("/", index);
    if demo_pages {
        rocket = rocket.attach(Template::fairing());
    }
    match mode.as_str() {
        "bare" => rocket.mount("/", open).mount("/", routes![page]),
        "noop" => rocket.mount("/", open).attach(Noop),
        "off" => rocket.attach(maintenance(false).force_off("/", open)),
        "on" => rocket.attach(maintenance(true).force_off("/", open)),
        other => {
            eprintln!("bench_app: unknown mode {other:?}; use bare, off, on or noop");
            std::process::exit(2);
        }
    }
}
