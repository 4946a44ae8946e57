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
/// Where the bypass path is moved: a catch-all alone (no copy lives there).
pub(crate) const ANSWER_PREFIX: &str = "/~m-answer";

/// What both private prefixes start with: a client's request for a path under it is always
/// decided (never passed by the fast path), so that it can be sent on (see `request::route`).
pub(crate) const PRIVATE_PREFIX: &str = OPEN_PREFIX;

/// The path a request moved under [`OPEN_PREFIX`] had (`""` for `/`), or `None` when `path` is
/// not under it (`/~m-answer` is not).
pub(crate) fn moved_path(path: &str) -> Option<&str> {
    path.strip_prefix(OPEN_PREFIX)
        .filter(|rest| rest.is_empty() || rest.starts_with('/'))
}

/// The per-request snapshot: the state the request's guards see, and the decision when
/// `on_request` kept one.
///
/// Whoever asks first fixes the state: a guard run by an earlier fairing, `on_request` for a
/// request it lets through or moves to the answer prefix, or a guard of the `force_off` route
/// that serves a held-back request (`on_request` decides those on the live state and keeps
/// nothing; the catch-all answers with the live state and keeps nothing either). Only
/// `on_request` sets the verdict, so nothing that runs before it can make a held-back request
/// look like one that passed.
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

/// The URI the client sent: `req.uri()`, unless the fairing moved the request under
/// [`OPEN_PREFIX`] (its path and query follow the prefix there). Every request under that prefix
/// was moved there, held back: one a client sends there is moved on to the answer prefix
/// unless it is held back too.
pub(crate) fn original_uri<'r>(req: &'r Request<'_>) -> &'r Origin<'r> {
    let uri = req.uri();
    if moved_path(uri.path().as_str()).is_none() {
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
