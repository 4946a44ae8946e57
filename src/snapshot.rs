//! The per-request snapshot of the live state.

use std::sync::atomic::AtomicBool;
use std::sync::{Arc, OnceLock};

use rocket::http::uri::Origin;
use rocket::Request;

use crate::handle::MaintenanceHandle;
use crate::policy::Verdict;
use crate::state::State;

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
    /// The URI the client sent, kept when `on_request` moves a held-back request under the
    /// fairing's private prefix.
    pub original_uri: OnceLock<Origin<'static>>,
}

impl Snapshot {
    /// The request's snapshot (taken now, from the live state, if no one took it yet).
    pub fn of<'r>(req: &'r Request<'_>) -> Option<&'r Snapshot> {
        let handle = req.rocket().state::<MaintenanceHandle>()?;
        Some(req.local_cache(|| Snapshot {
            state: handle.engine.current(),
            verdict: OnceLock::new(),
            forced_on: AtomicBool::new(false),
            original_uri: OnceLock::new(),
        }))
    }

    /// The URI the client sent: `req.uri()`, unless the fairing moved the request.
    pub fn original_uri<'r>(&'r self, req: &'r Request<'_>) -> &'r Origin<'r> {
        match self.original_uri.get() {
            Some(uri) => uri,
            None => req.uri(),
        }
    }

    /// The decision `on_request` made (a request it did not see passed).
    pub fn verdict(&self) -> Verdict {
        self.verdict.get().copied().unwrap_or(Verdict::Pass)
    }
}
