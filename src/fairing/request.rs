//! The per-request work of the fairing's `on_request`: the off fast path, the decision on the
//! request's snapshot, and applying it (counting, blanking the bypass header, moving the
//! request to the fairing's routes).

use std::sync::atomic::Ordering;

use rocket::http::uri::Origin;
use rocket::http::Header;
use rocket::Request;

use super::routes::move_under;
use super::Maintenance;
use crate::engine::Engine;
use crate::policy::{is_safe, RequestFacts, Rule, Verdict, COOKIE_NAME, HEADER_NAME};
use crate::snapshot::{moved_path, Snapshot, ANSWER_PREFIX, OPEN_PREFIX};
use crate::state::State;

impl Maintenance {
    /// What a request brings to the decision.
    pub(super) fn facts<'a>(
        &self,
        req: &'a Request<'_>,
        bypass_cookie: Option<&'a str>,
    ) -> RequestFacts<'a> {
        facts(
            req,
            req.uri(),
            bypass_cookie,
            self.tls.load(Ordering::Relaxed),
        )
    }

    /// Whether `on_request` keeps nothing for a request decided `verdict` on the live state,
    /// `live`: a read let through while off (a guard that runs takes the snapshot, as the first
    /// reader), and a request held back with no `exempt_when` guard to ask (the catch-all answers
    /// with the state in force; a guard of the `force_off` route that serves it takes the
    /// snapshot). Writes are always kept: the drain tracks them.
    pub(super) fn keeps_nothing(&self, live: &State, verdict: Verdict, safe: bool) -> bool {
        match verdict {
            Verdict::Pass | Verdict::PassWithBypassHeader => safe && live.active.is_none(),
            Verdict::Hold { .. } => self.exempt.is_empty(),
            _ => false,
        }
    }

    /// The decision on `state` (steps 1 to 7). Synchronous: only `exempt_when` guards (step 8)
    /// need to await.
    pub(super) fn decide(&self, engine: &Engine, state: &State, req: &Request<'_>) -> Verdict {
        let active = state.active.is_some();
        let policy = state.policy();
        let cookie = if active && policy.has_bypass_secret() {
            req.cookies().get(COOKIE_NAME).map(|c| c.value())
        } else {
            None
        };
        let facts = self.facts(req, cookie);
        // The clock is read only for a cookie to check.
        let now = if cookie.is_some() {
            engine.unix_now()
        } else {
            0
        };
        policy.decide(active, &facts, now)
    }

    /// Keeps the final verdict in the request's snapshot (for the guards and the answer), counts
    /// it while on, and marks an admitted write (for the drain).
    pub(super) fn record(&self, snapshot: &Snapshot, req: &Request<'_>, verdict: Verdict) {
        let _ = snapshot.verdict.set(verdict);
        let counts = &snapshot.state.counts;
        let active = snapshot.state.active.is_some();
        let passes = matches!(
            verdict,
            Verdict::Pass | Verdict::PassWithBypassHeader | Verdict::PassBy(_)
        );
        if passes && !is_safe(req.method()) {
            counts.write_started();
            snapshot.write_admitted.store(true, Ordering::Relaxed);
        }
        match verdict {
            Verdict::PassBy(rule) => counts.passed(rule),
            Verdict::PassWithBypassHeader if active => counts.passed(Rule::Bypass),
            Verdict::Login { .. } if active => counts.bypass_login(),
            _ => {}
        }
    }
}

/// What a request for `uri` (the request's own, or the one the client sent) brings to the
/// decision.
pub(super) fn facts<'a>(
    req: &'a Request<'_>,
    uri: &'a Origin<'a>,
    bypass_cookie: Option<&'a str>,
    tls: bool,
) -> RequestFacts<'a> {
    RequestFacts {
        method: req.method(),
        uri,
        peer: req.remote().map(|a| a.ip()),
        headers: req.headers(),
        bypass_cookie,
        tls,
    }
}

/// Blanks the bypass header, so that the secret never reaches the app, whatever the verdict.
/// (Rocket can replace a header but not remove one: it is left empty.)
fn blank_bypass_header(req: &mut Request<'_>, has_secret: bool) {
    if has_secret && req.headers().contains(HEADER_NAME) {
        req.replace_header(Header::new(HEADER_NAME, ""));
    }
}

/// Blanks the bypass header and moves a held-back request (or the bypass path, or a probe) to
/// the fairing's routes. A request a client sent under the open prefix that is let through goes
/// on to the answer prefix (where it is not found): everything under the open prefix was moved
/// there, held back.
pub(super) fn route(req: &mut Request<'_>, verdict: Verdict, has_secret: bool) {
    blank_bypass_header(req, has_secret);
    match verdict {
        Verdict::Pass | Verdict::PassWithBypassHeader | Verdict::PassBy(_) => {
            if moved_path(req.uri().path().as_str()).is_some() {
                move_under(req, ANSWER_PREFIX);
            }
        }
        Verdict::Login { .. } | Verdict::Health { .. } => {
            req.set_uri(Origin::const_new(ANSWER_PREFIX, None))
        }
        Verdict::Hold { .. } => move_under(req, OPEN_PREFIX),
    }
}
