//! The per-request work of the fairing's `on_request`: the decision (on the live state, or on
//! the request's snapshot when one is kept), what is kept, and applying it (counting, blanking
//! the bypass header, moving the request to the fairing's routes).

use std::sync::atomic::Ordering;

use rocket::http::uri::Origin;
use rocket::http::Header;
use rocket::Request;

use super::routes::move_under;
use super::Maintenance;
use crate::engine::Engine;
use crate::policy::{is_safe, RequestFacts, Rule, Verdict, COOKIE_NAME, HEADER_NAME};
use crate::snapshot::{Snapshot, ANSWER_PREFIX, OPEN_PREFIX, PRIVATE_PREFIX};
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
    /// reader), and a request held back with no `exempt_when` guard to ask (the catch-all that
    /// answers it, or a guard of the `force_off` route that serves it, takes the snapshot).
    /// Kept: writes (the drain tracks them), paths a client sent under the private prefixes
    /// (their catch-alls tell them from moved ones by the verdict), and asterisk-form targets
    /// (no redirect: the catch-all reads that from the verdict).
    pub(super) fn keeps_nothing(&self, req: &Request<'_>, live: &State, verdict: Verdict) -> bool {
        let path = req.uri().path().as_str();
        if path.starts_with(PRIVATE_PREFIX) || !path.starts_with('/') {
            return false;
        }
        match verdict {
            Verdict::Pass | Verdict::PassWithBypassHeader => {
                is_safe(req.method()) && live.active.is_none()
            }
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
/// the fairing's routes.
pub(super) fn route(req: &mut Request<'_>, verdict: Verdict, has_secret: bool) {
    blank_bypass_header(req, has_secret);
    match verdict {
        Verdict::Pass | Verdict::PassWithBypassHeader | Verdict::PassBy(_) => {}
        Verdict::Login { .. } | Verdict::Health { .. } => {
            req.set_uri(Origin::const_new(ANSWER_PREFIX, None))
        }
        Verdict::Hold { .. } => move_under(req, OPEN_PREFIX),
    }
}
