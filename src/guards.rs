//! Request guards: `ForceOn` and `MaintenanceStatus`, both sentinels.

use std::sync::atomic::Ordering;

use rocket::http::uri::Origin;
use rocket::http::Status;
use rocket::request::{FromRequest, Outcome, Request};
use rocket::{Ignite, Rocket, Sentinel};

use crate::handle::MaintenanceHandle;
use crate::snapshot::Snapshot;
use crate::status::MaintenanceStatus;

/// A route that takes this guard always answers the maintenance response, page and headers
/// exactly as during maintenance, whatever the state (Django's `@force_maintenance_mode_on`).
/// Its handler never runs: the guard fails, and the fairing replaces the answer.
///
/// It is a [`Sentinel`]: a route that uses it stops the launch if `Maintenance::fairing()` is not
/// attached.
///
/// ```
/// # #[macro_use] extern crate rocket;
/// use rocket_maintenance::ForceOn;
///
/// #[post("/checkout")]
/// fn checkout(_maintenance: ForceOn) -> &'static str {
///     unreachable!("checkout is closed while we migrate payments")
/// }
/// ```
#[derive(Debug)]
pub struct ForceOn(());

#[rocket::async_trait]
impl<'r> FromRequest<'r> for ForceOn {
    type Error = ();

    async fn from_request(req: &'r Request<'_>) -> Outcome<Self, ()> {
        match Snapshot::of(req) {
            Some(snapshot) => {
                snapshot.forced_on.store(true, Ordering::Relaxed);
                Outcome::Error((Status::new(snapshot.state.pages.status), ()))
            }
            None => Outcome::Error((Status::ServiceUnavailable, ())),
        }
    }
}

fn fairing_missing(guard: &str, rocket: &Rocket<Ignite>) -> bool {
    if rocket.state::<MaintenanceHandle>().is_some() {
        return false;
    }
    tracing::error!(
        "maintenance: a route uses the `{guard}` request guard, but the maintenance fairing is \
         not attached. Attach it last: `.attach(rocket_maintenance::Maintenance::fairing())`. \
         See https://docs.rs/rocket_maintenance"
    );
    true
}

impl Sentinel for ForceOn {
    fn abort(rocket: &Rocket<Ignite>) -> bool {
        fairing_missing("ForceOn", rocket)
    }
}

#[rocket::async_trait]
impl<'r> FromRequest<'r> for MaintenanceStatus {
    type Error = ();

    async fn from_request(req: &'r Request<'_>) -> Outcome<Self, ()> {
        match Snapshot::of(req) {
            Some(snapshot) => Outcome::Success(MaintenanceStatus(snapshot.state.clone())),
            None => Outcome::Error((Status::InternalServerError, ())),
        }
    }
}

impl Sentinel for MaintenanceStatus {
    fn abort(rocket: &Rocket<Ignite>) -> bool {
        fairing_missing("MaintenanceStatus", rocket)
    }
}

/// The URI the client sent, for `force_off` handlers that build links or a `?next=` from it.
///
/// During maintenance, the fairing moves a held-back request under a private prefix so that
/// Rocket's own router picks the `force_off` route; Rocket 0.5 gives a handler no way to see the
/// request as it was before a fairing rewrote it, so `req.uri()` in such a handler shows
/// `/~m/…`. This guard gives the URI as the client sent it, in every
/// state. It never fails.
///
/// ```
/// # #[macro_use] extern crate rocket;
/// use rocket_maintenance::OriginalUri;
///
/// #[get("/login")]
/// fn login(uri: OriginalUri<'_>) -> String {
///     format!("<a href=\"{}?next=/account\">log in</a>", uri.0.path())
/// }
/// ```
#[derive(Debug)]
pub struct OriginalUri<'r>(pub &'r Origin<'r>);

#[rocket::async_trait]
impl<'r> FromRequest<'r> for OriginalUri<'r> {
    type Error = std::convert::Infallible;

    async fn from_request(req: &'r Request<'_>) -> Outcome<Self, Self::Error> {
        match Snapshot::of(req) {
            Some(snapshot) => Outcome::Success(OriginalUri(snapshot.original_uri(req))),
            None => Outcome::Success(OriginalUri(req.uri())),
        }
    }
}
