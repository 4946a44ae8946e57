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
pub(crate) const OPEN_PREFIX: &str = "/~maintenance";
/// Where the bypass path is moved: a catch-all alone (no copy lives there).
pub(crate) const ANSWER_PREFIX: &str = "/~maintenance-answer";

/// What both private prefixes start with: a client's request for a path under it is always
/// decided with a snapshot.
pub(crate) const PRIVATE_PREFIX: &str = OPEN_PREFIX;

/// The path a request moved under [`OPEN_PREFIX`] had (`""` for `/`), or `None` when `path` is
/// not under it (`/~maintenance-answer` is not).
pub(crate) fn moved_path(path: &str) -> Option<&str> {
    path.strip_prefix(OPEN_PREFIX)
        .filter(|rest| rest.is_empty() || rest.starts_with('/'))
}

/// The per-request snapshot: the state the request's readers see, and the decision when it was
/// not "held back".
///
/// Whoever asks first fixes the state: a guard run by an earlier fairing, `on_request` for a
/// request it lets through or moves to the answer prefix, and for a held-back request (which
/// `on_request` decides on the live state and moves, keeping nothing) the answer route or a guard
/// of the `force_off` route that serves it. Only `on_request` sets the verdict, so nothing that
/// runs before it can make a held-back request look like one that passed; a request under
/// [`OPEN_PREFIX`] with no verdict was moved there, held back.
pub(crate) struct Snapshot {
    pub state: Arc<State>,
    pub verdict: OnceLock<Verdict>,
    /// Set by the `ForceOn` guard: `on_response` replaces the catcher's answer.
    pub forced_on: AtomicBool,
    /// Set when a write (an unsafe method) was admitted: `on_response` marks it done.
    pub write_admitted: AtomicBool,
}

/// The URI the client sent, recovered (once, when someone asks) from the URI a held-back request
/// was moved to, and kept beside the snapshot: nothing is copied, and the snapshot stays small,
/// for a request no one asks about.
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
    /// [`OPEN_PREFIX`] (its path and query follow the prefix there).
    pub fn original_uri<'r>(&'r self, req: &'r Request<'_>) -> &'r Origin<'r> {
        let uri = req.uri();
        // No verdict under the open prefix: moved there, held back (see `Answer`).
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
        assert_eq!(moved_path("/~maintenance"), Some(""));
        assert_eq!(moved_path("/~maintenance/about"), Some("/about"));
        assert_eq!(moved_path("/~maintenance-answer"), None);
        assert_eq!(moved_path("/~maintenancex/about"), None);
        assert_eq!(moved_path("/about"), None);
    }
}
