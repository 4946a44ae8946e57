//! The fairing's private routes: where held-back requests and the bypass path go.
//!
//! Rocket fairings cannot answer a request, so at ignite the fairing mounts, at ranks ahead of
//! every application route that could match them, copies of the `force_off` routes under
//! [`OPEN_PREFIX`] and, behind them, a catch-all for every method that gives the maintenance
//! response (`Held`); and under [`ANSWER_PREFIX`] a `GET`/`HEAD` catch-all that gives the bypass
//! redirect and the probes' answers (`Answer`).
//!
//! In `on_request` a held-back request is moved under `OPEN_PREFIX`, so Rocket's own router picks
//! a `force_off` route or the catch-all, and nothing else. A request for the bypass path or a
//! probe is moved to the answer prefix, where no copy lives and no application route can see it.

use rocket::http::uri::Origin;
use rocket::http::{Method, Status};
use rocket::route::{Handler, Outcome};
use rocket::{Build, Data, Request, Rocket, Route};

use super::respond::{health_response, login_response, maintenance_response};
use std::sync::atomic::Ordering;
use std::sync::Arc;

use super::request::facts;
use super::Maintenance;
use crate::engine::Engine;
use crate::policy::Verdict;
use crate::snapshot::{moved_path, Snapshot, ANSWER_PREFIX, OPEN_PREFIX};

impl Maintenance {
    /// Where maintenance routes go: ranks ahead of every route mounted so far.
    pub(super) fn plan_ranks(&self, rocket: &Rocket<Build>) -> Result<RankPlan, String> {
        let fo_ranks = || {
            self.force_off
                .iter()
                .flat_map(|(_, rs)| rs.iter().map(|r| r.rank as i128))
        };
        // Every route the app will have, as (rank, mounted path).
        let mounted_force_off = self.force_off.iter().flat_map(|(base, routes)| {
            routes.iter().filter_map(move |r| {
                let mounted = r.clone().map_base(|old| format!("{base}{old}")).ok()?;
                Some((mounted.rank as i128, mounted.uri.path().to_string()))
            })
        });
        let app: Vec<(i128, String)> = rocket
            .routes()
            .map(|r| (r.rank as i128, r.uri.path().to_string()))
            .chain(mounted_force_off)
            .collect();
        // Ours go just ahead of the first app route that could match a path under the private
        // prefixes (one whose first segment is dynamic: a wildcard, `FileServer`, `/<slug>`), so
        // that no such route ever answers a held-back request; app routes that cannot (static
        // first segments, most of an app) are tried first, and a request they serve never looks
        // at ours.
        let could_match = app
            .iter()
            .filter(|(_, path)| could_match_private(path))
            .map(|(rank, _)| *rank)
            .min();
        let catch_all = match could_match {
            Some(rank) => rank - 1,
            None => app.iter().map(|(rank, _)| *rank).max().unwrap_or(0) + 1,
        };
        let max_fo = fo_ranks().max().unwrap_or(0);
        let span = max_fo - fo_ranks().min().unwrap_or(0) + 1;
        let plan = RankPlan {
            catch_all,
            max_fo,
            span,
        };
        // Check the extremes fit in `isize` once, so that mounting cannot fail.
        let lowest = plan.copy_rank(fo_ranks().min().unwrap_or(0) as isize);
        match (isize::try_from(plan.catch_all), isize::try_from(lowest)) {
            (Ok(_), Ok(_)) => Ok(plan),
            _ => {
                Err("route ranks are too extreme to place maintenance routes ahead of them".into())
            }
        }
    }

    /// Mounts the `force_off` routes, their copies under the private prefix and the catch-alls.
    ///
    /// The copies are the routes themselves (no wrapper): they are open in every state, so a
    /// client that asks for the private prefix directly gets nothing it could not get anyway,
    /// and a held-back request routed to one costs no more than the route does.
    pub(super) fn mount_routes(
        &self,
        mut rocket: Rocket<Build>,
        plan: &RankPlan,
        engine: &Arc<Engine>,
    ) -> Rocket<Build> {
        let rank = |r: i128| r as isize;
        for (base, routes) in &self.force_off {
            rocket = rocket.mount(base.as_str(), routes.clone());
            let open_base = if base == "/" {
                OPEN_PREFIX.to_string()
            } else {
                format!("{OPEN_PREFIX}{base}")
            };
            let mut copies = Vec::new();
            for route in routes {
                let mut copy = route.clone();
                copy.rank = rank(plan.copy_rank(route.rank));
                copies.push(copy);
                let explicit_head = routes.iter().any(|r| {
                    r.method == Method::Head && r.uri.to_string() == route.uri.to_string()
                });
                if route.method == Method::Get && !explicit_head {
                    // Rocket answers HEAD with a GET route only when no HEAD route matches; the
                    // HEAD catch-all would match, so the GET route gets a HEAD twin ahead of it.
                    let mut twin = route.clone();
                    twin.method = Method::Head;
                    twin.rank = rank(plan.head_rank(route.rank));
                    copies.push(twin);
                }
            }
            rocket = rocket.mount(open_base, copies);
        }
        let methods = [
            Method::Get,
            Method::Head,
            Method::Post,
            Method::Put,
            Method::Patch,
            Method::Delete,
            Method::Options,
            Method::Trace,
            Method::Connect,
        ];
        let catch_all = rank(plan.catch_all);
        let held = Held {
            engine: engine.clone(),
            tls: self.tls.load(Ordering::Relaxed),
        };
        // The bypass path is a `GET` or `HEAD`: only those two are checked by every request of
        // another method for nothing.
        rocket
            .mount(OPEN_PREFIX, catch_alls(catch_all, &methods, "held", held))
            .mount(
                ANSWER_PREFIX,
                catch_alls(
                    catch_all,
                    &[Method::Get, Method::Head],
                    "answer",
                    Answer(engine.clone()),
                ),
            )
    }
}

/// `handler` at `rank` for each of `methods`, matching every path, named
/// `rocket_maintenance::{name}` (which is how `on_response` knows its own answers).
fn catch_alls<H: Handler + Clone>(
    rank: isize,
    methods: &[Method],
    name: &str,
    handler: H,
) -> Vec<Route> {
    methods
        .iter()
        .map(|m| {
            let mut route = Route::ranked(rank, *m, "/<_..>", handler.clone());
            route.name = Some(format!("rocket_maintenance::{name}").into());
            route
        })
        .collect()
}

/// Ranks, lowest (tried first) to highest: `force_off` copies, HEAD twins of `force_off` GET
/// routes, the catch-alls; all ahead of every application route that could match the private
/// prefixes, relative order kept.
pub(super) struct RankPlan {
    catch_all: i128,
    max_fo: i128,
    span: i128,
}

impl RankPlan {
    fn head_rank(&self, r: isize) -> i128 {
        self.catch_all - 1 - (self.max_fo - r as i128)
    }

    fn copy_rank(&self, r: isize) -> i128 {
        self.head_rank(r) - self.span
    }
}

/// The catch-all under the open prefix: answers a request moved there, held back, that no
/// `force_off` copy took, with the request's snapshot (taken here when no reader took one
/// before). Anything else Rocket routes there is forwarded: a request a client sent for the
/// prefix and that was let through (it has that verdict), or one that spells the prefix another
/// way (`/%7Em`, `//~m`: never moved, so not under the prefix as written).
#[derive(Clone)]
struct Held {
    /// The engine at hand: no look-up in Rocket's managed state per request.
    engine: Arc<Engine>,
    /// Whether Rocket serves TLS (for the redirect's loop check).
    tls: bool,
}

#[rocket::async_trait]
impl Handler for Held {
    async fn handle<'r>(&self, req: &'r Request<'_>, data: Data<'r>) -> Outcome<'r> {
        if moved_path(req.uri().path().as_str()).is_none() {
            return Outcome::forward(data, Status::NotFound);
        }
        let snapshot = Snapshot::take(req, &self.engine);
        let state = &snapshot.state;
        let redirect = match snapshot.verdict.get() {
            Some(Verdict::Hold { redirect }) => *redirect,
            Some(_) => return Outcome::forward(data, Status::NotFound),
            // Held back with nothing kept: the redirect's loop check, against the URI the
            // client sent.
            None => {
                let policy = state.policy();
                policy.has_redirect() && {
                    let original = snapshot.original_uri(req);
                    policy.redirect_applies(&facts(req, original, None, self.tls))
                }
            }
        };
        if state.active.is_some() {
            state.counts.held();
        }
        Outcome::Success(maintenance_response(req, Some(snapshot), state, redirect))
    }
}

/// The catch-all under the answer prefix: the bypass path and the probes, decided (with a
/// snapshot) in `on_request`; anything else there is forwarded.
#[derive(Clone)]
struct Answer(Arc<Engine>);

#[rocket::async_trait]
impl Handler for Answer {
    async fn handle<'r>(&self, req: &'r Request<'_>, data: Data<'r>) -> Outcome<'r> {
        let snapshot = Snapshot::take(req, &self.0);
        match snapshot.verdict.get() {
            Some(Verdict::Login { secure }) => {
                Outcome::Success(login_response(&snapshot.state, *secure))
            }
            Some(Verdict::Health { ready }) => {
                Outcome::Success(health_response(&snapshot.state, *ready))
            }
            _ => Outcome::forward(data, Status::NotFound),
        }
    }
}

/// Moves the request under `prefix`, keeping its path and query (no re-parse: the path is
/// prefixed in place). A target that is not a path (asterisk-form) goes to `prefix` itself, where
/// only the catch-all answers.
pub(super) fn move_under(req: &mut Request<'_>, prefix: &'static str) {
    let uri = req.uri();
    let path = uri.path().as_str();
    let moved = if path.starts_with('/') {
        uri.map_path(|p| {
            let mut target = String::with_capacity(prefix.len() + p.len());
            target.push_str(prefix);
            if p != "/" {
                target.push_str(p.as_str());
            }
            target
        })
    } else {
        None
    };
    req.set_uri(moved.unwrap_or_else(|| Origin::const_new(prefix, None)));
}

/// Whether a route with this mounted path could match a path under the fairing's private
/// prefixes: its first segment is dynamic (or, absurdly, one of the prefixes).
fn could_match_private(path: &str) -> bool {
    let first = path.trim_start_matches('/').split('/').next().unwrap_or("");
    first.starts_with('<')
        || Some(first) == OPEN_PREFIX.strip_prefix('/')
        || Some(first) == ANSWER_PREFIX.strip_prefix('/')
}
