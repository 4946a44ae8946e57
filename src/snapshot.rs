//! The per-request snapshot of the live state.

use std::sync::atomic::AtomicBool;
use std::sync::{Arc, OnceLock};

use rocket::http::uri::Origin;
use rocket::Request;

use crate::engine::Engine;
use crate::handle::MaintenanceHandle;
use crate::policy::Verdict;
use crate::state::State;

/// Where held-back requests are moved: `force_off` copies, then a catch-all. One segment, since
/// every segment of a moved path is decoded again for routing.
pub(crate) const OPEN_PREFIX: &str = "/__rocket_maintenance_open";
/// Where the bypass path is moved: a catch-all alone (no copy lives there).
pub(crate) const ANSWER_PREFIX: &str = "/__rocket_maintenance_answer";

/// The per-request snapshot: the state the decision was made on, and the decision.
///
/// Whoever asks first (a guard run by an earlier fairing, or `on_request`) fixes the state; only
/// `on_request` sets the verdict, so nothing that runs before it can make a held-back request
/// look like one that passed.
pub(crate) struct Snapshot {
    pub state: Arc<State>,
    pub verdict: OnceLock<Verdict>,
    /// Set by the `ForceOn` guard: `on_response` replaces the catcher's answer.
    pub forced_on: AtomicBool,
    /// Set when a write (an unsafe method) was admitted: `on_response` marks it done.
    pub write_admitted: AtomicBool,
    /// The URI the client sent, recovered (once, when someone asks) from the URI a held-back
    /// request was moved to: nothing is copied for a request no one asks about.
    original_uri: OnceLock<Origin<'static>>,
}

impl Snapshot {
    /// The request's snapshot (taken now, from the live state, if no one took it yet).
    pub fn of<'r>(req: &'r Request<'_>) -> Option<&'r Snapshot> {
        let handle = req.rocket().state::<MaintenanceHandle>()?;
        Some(Snapshot::take(req, &handle.engine))
    }

    /// [`of`](Self::of), for the fairing, which has the engine at hand.
    pub fn take<'r>(req: &'r Request<'_>, engine: &Engine) -> &'r Snapshot {
        req.local_cache(|| Snapshot {
            state: engine.current(),
            verdict: OnceLock::new(),
            forced_on: AtomicBool::new(false),
            write_admitted: AtomicBool::new(false),
            original_uri: OnceLock::new(),
        })
    }

    /// The URI the client sent: `req.uri()`, unless the fairing moved the request under
    /// [`OPEN_PREFIX`] (its path and query follow the prefix there).
    pub fn original_uri<'r>(&'r self, req: &'r Request<'_>) -> &'r Origin<'r> {
        let uri = req.uri();
        let moved = matches!(self.verdict.get(), Some(Verdict::Hold { .. }))
            && uri.path().as_str().starts_with(OPEN_PREFIX);
        if !moved {
            return uri;
        }
        self.original_uri.get_or_init(|| {
            let original = uri
                .map_path(|p| match p.as_str().strip_prefix(OPEN_PREFIX) {
                    Some("") | None => "/",
                    Some(rest) => rest,
                })
                .unwrap_or_else(|| Origin::const_new("/", None));
            rocket::http::ext::IntoOwned::into_owned(original)
        })
    }

    /// The decision `on_request` made (a request it did not see passed).
    pub fn verdict(&self) -> Verdict {
        self.verdict.get().copied().unwrap_or(Verdict::Pass)
    }
}
