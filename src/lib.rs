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
//! # Configuration: the `maintenance` table
//!
//! | key | type | meaning (default) |
//! | --- | --- | --- |
//! | `enabled` | bool | the switch (`false`) |
//! | `message` | string | shown on the page and in the JSON document (a neutral sentence) |
//! | `retry_after` | seconds, `"15m"`/`"1h 30m"`, or an RFC 3339 time | `Retry-After`: delay-seconds for a delay, an HTTP-date for a time (none once it has passed) (none) |
//! | `starts_at`, `ends_at` | RFC 3339 times | a window: on while `starts_at <= now < ends_at`, even with `enabled = false`; flips on its own; `Retry-After` is then `ends_at` unless `retry_after` is set (none) |
//! | `read_only` | bool | only unsafe methods (not `GET`/`HEAD`/`OPTIONS`) are held back (`false`) |
//! | `status` | 400-599 | the response status (`503`) |
//! | `template` | name | a handlebars template in Rocket's `template_dir`, named like rocket_dyn_templates names them (`"errors/503"` is `errors/503.html.hbs`); other templates there are partials (the built-in page) |
//! | `context` | table | extra template variables, at the top level (`{{support_email}}`) (empty) |
//! | `format` | `"auto"`, `"html"`, `"json"`, `"text"` | `auto` negotiates on `Accept`; JSON is `application/problem+json` (`"auto"`) |
//! | `redirect` | path or URL | answer `302 Found` to it instead of the page; JSON clients still get the document (none) |
//! | `refresh` | seconds | a `Refresh` header on the page (none) |
//! | `allow_paths` | glob patterns | paths that pass, e.g. `"/static/**"`, `"/healthz"`; `*` stays in a segment, `**` crosses (`[]`) |
//! | `allow_ips` | IPs or CIDRs | clients that pass (`[]`) |
//! | `trusted_proxies` | IPs or CIDRs | the only peers believed about `X-Forwarded-For`/`X-Real-IP` (`[]`) |
//! | `bypass_secret` | 16-128 of `[A-Za-z0-9_-]` | `GET /<secret>` sets a bypass cookie; the header `X-Maintenance-Bypass: <secret>` lets one request through (none) |
//!
//! Template variables: `message`, `status`, `title`, `read_only`, `retry_after` (seconds) and
//! `retry_after_text` (`"15 minutes"`), `retry_at`, `starts_at`, `ends_at` (RFC 3339), and every
//! key of `context`.
//!
//! Unknown keys and bad values stop the launch with one message that names the key as written
//! (`maintenance.enabeld`), the value and the file; secrets show as `<redacted, N chars>`.
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

#![deny(missing_docs)]
#![forbid(unsafe_code)]

mod bypass;
mod client_ip;
mod engine;
mod error;
mod fairing;
#[cfg(feature = "fleet")]
pub mod fleet;
mod guards;
mod handle;
mod negotiate;
mod networks;
mod notify;
mod page;
mod policy;
mod schedule;
mod settings;
mod signals;
mod state;

#[doc(hidden)]
pub mod internals;
pub mod live_file;
pub mod operator;

pub use crate::error::Error;
pub use crate::fairing::{Maintenance, FAIRING_NAME};
pub use crate::guards::ForceOn;
pub use crate::handle::MaintenanceHandle;
pub use crate::notify::{monotonic_usec, sanitize_status};
pub use crate::settings::{format_time, parse_duration, parse_time, Format};
pub use crate::state::MaintenanceStatus;
pub use bypass::{generate_secret, COOKIE_NAME, HEADER_NAME};
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
    engine::load(figment, None).map(|_| ())
}
