//! Maintenance mode for [Rocket](https://rocket.rs) 0.5, run under systemd.
//!
//! A fairing answers `503 Service Unavailable` with a pre-rendered page (or JSON, or a redirect)
//! while `enabled = true` in the `maintenance` table of `Rocket.toml`, keeps chosen routes open,
//! lets chosen people through, and flips state on `SIGHUP` (`systemctl reload`) without a restart
//! and without dropping a request. The model is Django's django-maintenance-mode.
//!
//! # Quickstart
//!
//! 1. Add the crate and attach the fairing **last**; give it the routes that stay open:
//!
//!    ```no_run
//!    # #[macro_use] extern crate rocket;
//!    use rocket_maintenance::Maintenance;
//!
//!    #[get("/")] fn index() -> &'static str { "Home" }
//!    #[get("/about")] fn about() -> &'static str { "About" }
//!
//!    #[launch]
//!    fn rocket() -> _ {
//!        rocket::build()
//!            .mount("/", routes![index])
//!            // about stays open during maintenance (Django's @force_maintenance_mode_off)
//!            .attach(Maintenance::fairing().force_off("/", routes![about]))
//!    }
//!    ```
//!
//! 2. Switch it on in `Rocket.toml`:
//!
//!    ```toml
//!    [default.maintenance]
//!    enabled = true
//!    message = "We are upgrading the database. Back at 03:00 UTC."
//!    retry_after = "15m"
//!    ```
//!
//!    or in the environment: `ROCKET_MAINTENANCE='{enabled=true}'`.
//!
//! 3. `sudo systemctl reload myapp` (or `rocket-maintenance on --unit myapp`): the running
//!    service answers 503 from the next request on.
//!
//! # Settings
//!
//! The full table is below, after the module map ([Settings: the `maintenance` table](#settings-the-maintenance-table)).
//!
//! # Decision order (first match wins)
//!
//! 1. The bypass-secret path `/<secret>` (`GET`/`HEAD`), in every state: set the cookie,
//!    redirect to `/`.
//! 2. Not in maintenance, and not a [`ForceOn`] route: pass. In `read_only` maintenance, a `GET`,
//!    `HEAD` or `OPTIONS` request passes here too.
//! 3. A [`ForceOn`] route: the maintenance response.
//! 4. A `force_off` route: pass. Rocket's own router decides: only a request Rocket routes to a
//!    `force_off` route reaches a handler; if that route forwards, the maintenance response
//!    answers, never another application route.
//! 5. `allow_paths`, 6. `allow_ips` (client address per `trusted_proxies`), 7. the bypass cookie
//!    or header, 8. [`exempt_when`](Maintenance::exempt_when) guards: pass.
//! 9. Otherwise: the maintenance response (or the redirect).
//!
//! A held-back request never reaches a handler of the application: the fairing routes it to its
//! own catch-all, ranked ahead of every application route, so no wildcard route, `FileServer` or
//! SPA fallback can answer it. Every method and every path (also paths no route serves) is held
//! back. The response carries `Cache-Control: no-store`, `Vary: Accept` and, when known,
//! `Retry-After`; `HEAD` gets the headers and no body.
//!
//! # Reloading and systemd
//!
//! `SIGHUP` (what `systemctl reload` sends) re-reads the figment from the same sources with the
//! profile chosen at start, from exactly the config file read at start, validates it, renders the
//! page, and swaps the whole new state in one atomic step. Requests in flight see the old state or
//! the new one, never a mix. A reload that fails keeps the old state, logs one error naming the
//! file and key, and says so in systemd's `STATUS=`; the process never dies of a reload.
//!
//! With `NOTIFY_SOCKET` set (under systemd) the fairing sends `READY=1` at liftoff,
//! `RELOADING=1` + `MONOTONIC_USEC=` and then `READY=1` around each reload (the
//! `Type=notify-reload` protocol), a one-line `STATUS=`, `STOPPING=1` at shutdown and, when the
//! unit sets `WatchdogSec=`, `WATCHDOG=1` at half the period. The live state (generation, on/off,
//! reload attempts) is written to `$RUNTIME_DIRECTORY/<pid>.json` for the `rocket-maintenance`
//! CLI. Rocket's `shutdown.signals` must not contain `"hup"`.
//!
//! Rocket prints raw requests (URI and headers) at `log_level = "debug"`, which would show the
//! bypass secret: the fairing warns at liftoff when both are set.
//!
//! # Testing your app with it
//!
//! Build the rocket with the settings merged in, and use Rocket's local client:
//!
//! ```
//! # #[macro_use] extern crate rocket;
//! use rocket::http::Status;
//! use rocket::local::blocking::Client;
//! use rocket_maintenance::Maintenance;
//!
//! #[get("/")] fn index() -> &'static str { "Home" }
//!
//! let figment = rocket::Config::figment().merge(("maintenance", rocket::figment::util::map! {
//!     "enabled" => true,
//! }));
//! let rocket = rocket::custom(figment.clone())
//!     .mount("/", routes![index])
//!     .attach(Maintenance::custom(move || figment.clone()));
//! let client = Client::tracked(rocket).unwrap();
//! let response = client.get("/").dispatch();
//! assert_eq!(response.status(), Status::ServiceUnavailable);
//! assert_eq!(response.headers().get_one("Cache-Control"), Some("no-store"));
//! ```

//! # How the crate is built
//!
//! Data flows one way: settings are read and validated into an immutable state, the state is
//! swapped in atomically, and requests read it.
//!
//! ```text
//! figment ──> settings ──> policy ──> page ──> load ──> state ──> engine ──> fairing / guards
//!  (Rocket.toml)  (serde)  (compiled)  (rendered)   (all of it)  (swapped)   (per request)
//! ```
//!
//! | module | holds |
//! | --- | --- |
//! | `settings` | the `maintenance` table as written (serde), durations and times |
//! | `policy/` | the compiled settings and the pure per-request decision: globs, networks and the client address, the bypass secret |
//! | `page` | the page renderer (its own handlebars registry) and the pre-rendered answers |
//! | `load` | reading and validating everything a state needs from one figment |
//! | `state`, `status` | one immutable state; [`MaintenanceStatus`], its public view |
//! | `engine/` | the live state and every change of it: reload, window edges, the fleet record; the `STATUS=` line and the live-state file |
//! | `fairing/` | the builder, the `Fairing` impl, its private routes and its answers |
//! | `snapshot`, `guards`, `handle` | what a request, a guard and app code read |
//! | `signals`, `schedule`, `notify`, `live_file` | `SIGHUP`, window edges and the watchdog, `sd_notify`, the live-state file |
//! | `fleet/` | the fleet store: its table, record, calls, and the operator's switch (feature `fleet`) |
//! | `redact`, `error` | the one place secrets are hidden; the one error type |
//! | [`control`] | what the operator CLI (package `rocket-maintenance-cli`) needs |
//!
//! No module imports one to its right in the diagram above from one to its left's side: there
//! is no import cycle between modules.
//!
#![doc = include_str!("../docs/settings.md")]
#![cfg_attr(docsrs, feature(doc_cfg))]
#![deny(missing_docs)]
#![forbid(unsafe_code)]

mod audit;
pub mod control;
mod counts;
mod engine;
mod error;
mod fairing;
#[cfg(feature = "fleet")]
pub(crate) mod fleet;
mod guards;
mod handle;
mod i18n;
#[cfg(feature = "internals")]
#[doc(hidden)]
pub mod internals;
mod live_file;
mod load;
mod negotiate;
mod notify;
mod page;
mod policy;
mod redact;
mod schedule;
mod settings;
mod signals;
mod snapshot;
mod state;
mod status;
mod watch;

/// The README's code, compiled (and run) as doctests, so that it cannot rot.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;

pub use crate::error::Error;
pub use crate::fairing::Maintenance;
pub use crate::guards::{ForceOn, OriginalUri};
pub use crate::handle::MaintenanceHandle;
pub use crate::policy::{COOKIE_NAME, HEADER_NAME};
pub use crate::settings::Format;
pub use crate::status::MaintenanceStatus;
/// The handlebars crate the page is rendered with, for [`Maintenance::handlebars`].
pub use handlebars;

/// Validates the `maintenance` table of a Rocket-style figment exactly as the fairing does at
/// start and at reload (including that the template exists and renders). The profile is the
/// figment's selected one.
///
/// ```
/// let figment = rocket::Config::figment().merge(("maintenance.enabeld", true));
/// let err = rocket_maintenance::check_settings(&figment).unwrap_err();
/// assert!(err.to_string().contains("maintenance.enabeld"));
/// ```
pub fn check_settings(figment: &figment::Figment) -> Result<(), Error> {
    load::load(figment, None).map(|_| ())
}
