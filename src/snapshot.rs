//! The per-request snapshot of the live state.

use std::sync::atomic::AtomicBool;
use std::sync::{Arc, OnceLock};

use rocket::http::uri::Origin;
use rocket::Request;

use crate::engine::Engine;
use crate::handle::MaintenanceHandle;
use crate::policy::Verdict;
use crate::state::State;

/// Where held-back requests are moved: `force_off` copies, then a catch-all. One short segment,
/// since every character of a moved path is decoded again for routing.
pub(crate) const OPEN_PREFIX: &str = "/~m";
/// Where the bypass path and the probes are moved: a catch-all alone (no copy lives there).
pub(crate) const ANSWER_PREFIX: &str = "/~m-answer";

/// What both private prefixes start with: a client's request for a path under it is always
/// decided and keeps its verdict, so that the catch-alls there tell it from a moved one.
pub(crate) const PRIVATE_PREFIX: &str = OPEN_PREFIX;

/// The path a request moved under [`OPEN_PREFIX`] had (`""` for `/`), or `None` when `path` is
/// not under it (`/~m-answer` is not).
pub(crate) fn moved_path(path: &str) -> Option<&str> {
    path.strip_prefix(OPEN_PREFIX)
        .filter(|rest| rest.is_empty() || rest.starts_with('/'))
}

/// The per-request snapshot: the one state every reader of a request sees (the maintenance
/// route, `ForceOn`, `MaintenanceStatus`, `OriginalUri`), and the decision when `on_request` kept
/// one.
///
/// The first reader takes it: a guard run by an earlier fairing, `on_request` for a request it
/// keeps a verdict for (a write, a request let through while on, the bypass path, a probe, a
/// path under the private prefixes, a request that `exempt_when` guards are asked about), and
/// otherwise the guard or catch-all that first asks. A read let through while off and a request
/// held back are decided on the live state with nothing kept (no allocation): the catch-all that
/// answers a held-back request, or a guard of the `force_off` route that serves it, takes the
/// snapshot. Only `on_request` sets the verdict, so nothing that runs before it can make a
/// held-back request look like one that passed.
pub(crate) struct Snapshot {
    pub state: Arc<State>,
    pub verdict: OnceLock<Verdict>,
    /// Set by the `ForceOn` guard: `on_response` replaces the catcher's answer.
    pub forced_on: AtomicBool,
    /// Set when a write (an unsafe method) was admitted: `on_response` marks it done.
    pub write_admitted: AtomicBool,
}

/// The URI the client sent, recovered (once, when someone asks) from the URI a held-back request
/// was moved to: nothing is copied for a request no one asks about.
struct OriginalUri(Origin<'static>);

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
        })
    }

    /// The URI the client sent: `req.uri()`, unless the fairing moved the request under
    /// [`OPEN_PREFIX`], held back (its path and query follow the prefix there). A request under
    /// that prefix with no verdict, or a verdict of holding it back, was moved there; one a
    /// client sent there and that was let through has its verdict.
    pub fn original_uri<'r>(&'r self, req: &'r Request<'_>) -> &'r Origin<'r> {
        let uri = req.uri();
        let moved = matches!(self.verdict.get(), None | Some(Verdict::Hold { .. }))
            && moved_path(uri.path().as_str()).is_some();
        if !moved {
            return uri;
        }
        &req.local_cache(|| {
            let original = uri
                .map_path(|p| match moved_path(p.as_str()) {
                    Some("") | None => "/",
                    Some(rest) => rest,
                })
                .unwrap_or_else(|| Origin::const_new("/", None));
            OriginalUri(rocket::http::ext::IntoOwned::into_owned(original))
        })
        .0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_private_prefix_covers_both_and_moved_paths_are_whole_segments() {
        assert!(OPEN_PREFIX.starts_with(PRIVATE_PREFIX));
        assert!(ANSWER_PREFIX.starts_with(PRIVATE_PREFIX));
        assert_eq!(moved_path("/~m"), Some(""));
        assert_eq!(moved_path("/~m/about"), Some("/about"));
        assert_eq!(moved_path("/~m-answer"), None);
        assert_eq!(moved_path("/~mx/about"), None);
        assert_eq!(moved_path("/about"), None);
    }
}
