//! Timers on the server's own runtime: window edges and the systemd watchdog.

use std::sync::Weak;
use std::time::SystemTime;

use rocket::tokio;

use crate::engine::Engine;
use crate::notify;

/// Flips the state at each window edge (and when a `retry_after` time passes), with no reload
/// and no request needed to notice. Re-plans whenever the state changes.
pub(crate) fn spawn_window_scheduler(engine: Weak<Engine>) {
    tokio::spawn(async move {
        let Some(mut changed) = engine.upgrade().map(|e| e.subscribe()) else {
            return;
        };
        loop {
            let Some(strong) = engine.upgrade() else {
                return;
            };
            // Mark the current generation seen before planning, so no change is missed.
            changed.borrow_and_update();
            // Edges after the instant the state was built for: one that passed between the
            // build and now is due at once.
            let state = strong.current();
            let next = state.next_edge(state.built_at);
            let wait = next.map(|t| t.duration_since(SystemTime::now()).unwrap_or_default());
            drop(strong);
            match wait {
                Some(wait) => {
                    tokio::select! {
                        _ = tokio::time::sleep(wait) => {
                            if let Some(engine) = engine.upgrade() {
                                // `tick` renders a page: keep that off the async workers.
                                let _ = tokio::task::spawn_blocking(move || engine.tick()).await;
                            }
                        }
                        result = changed.changed() => if result.is_err() { return },
                    }
                }
                None => {
                    if changed.changed().await.is_err() {
                        return;
                    }
                }
            }
        }
    });
}

/// Sends `WATCHDOG=1` at half of `WATCHDOG_USEC` when the unit sets `WatchdogSec=`. The pings come
/// from the server's runtime, so a hung runtime stops pinging and systemd restarts the service.
pub(crate) fn spawn_watchdog() {
    let Some(period) = sd_notify::watchdog_enabled() else {
        return;
    };
    tokio::spawn(async move {
        let mut interval = tokio::time::interval(period / 2);
        loop {
            interval.tick().await;
            notify::watchdog();
        }
    });
}
