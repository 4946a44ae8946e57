//! Timers on the server's own runtime: window edges and the systemd watchdog.

use std::sync::Weak;
use std::time::{Duration, SystemTime};

/// The longest wait between two attempts at an edge whose state cannot be built.
const MAX_BACKOFF: Duration = Duration::from_secs(60);

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
        // Consecutive failures to build the state at an edge: each waits longer (1 s, 2 s, … up
        // to a minute) and only the first is logged, so a page that cannot render does not spin.
        let mut failures: u32 = 0;
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
            let mut wait = next.map(|t| t.duration_since(SystemTime::now()).unwrap_or_default());
            if failures > 0 {
                let backoff = Duration::from_secs(1 << (failures - 1).min(6)).min(MAX_BACKOFF);
                wait = wait.map(|w| w.max(backoff));
            }
            drop(strong);
            match wait {
                Some(wait) => {
                    tokio::select! {
                        _ = tokio::time::sleep(wait) => {
                            let Some(engine) = engine.upgrade() else { return };
                            // `tick` renders a page: keep that off the async workers.
                            let result = tokio::task::spawn_blocking(move || engine.tick()).await;
                            match result {
                                Ok(Err(e)) => {
                                    if failures == 0 {
                                        tracing::error!(
                                            "maintenance: cannot build the state at a window \
                                             edge, keeping the current one and retrying with \
                                             back-off: {e}"
                                        );
                                    }
                                    failures = failures.saturating_add(1);
                                }
                                _ => failures = 0,
                            }
                        }
                        result = changed.changed() => {
                            if result.is_err() { return }
                            failures = 0;
                        }
                    }
                }
                None => {
                    if changed.changed().await.is_err() {
                        return;
                    }
                    failures = 0;
                }
            }
        }
    });
}

/// Sends `WATCHDOG=1` at half of `WATCHDOG_USEC` when the unit sets `WatchdogSec=`. The pings come
/// from the server's runtime, so a hung runtime stops pinging and systemd restarts the service.
pub(crate) fn spawn_watchdog() {
    // `WATCHDOG_USEC=0` (or garbage) means no watchdog, never a zero-length interval.
    let Some(period) = sd_notify::watchdog_enabled().filter(|p| !p.is_zero()) else {
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

/// Once a second: rewrites the live state while the counts or the drain change (at most once a
/// second, and not at all while nothing changes), and warns (in the log, then again every
/// `warn_after`, and in `STATUS=`) while maintenance has been on longer than `warn_after`.
pub(crate) fn spawn_live_ticker(engine: Weak<Engine>) {
    tokio::spawn(async move {
        let mut interval = tokio::time::interval(Duration::from_secs(1));
        interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut shown = None;
        let mut warned: Option<(u64, std::time::Instant)> = None;
        let Some(mut changed) = engine.upgrade().map(|e| e.subscribe()) else {
            return;
        };
        // Whether anything this task shows can change by itself: counts and `warn_after` while
        // on, writes admitted under an earlier state. Otherwise it sleeps until the state changes
        // (an idle service off costs nothing).
        let mut busy = true;
        loop {
            if busy {
                interval.tick().await;
            } else {
                changed.borrow_and_update();
                if changed.changed().await.is_err() {
                    return;
                }
            }
            let Some(strong) = engine.upgrade() else {
                return;
            };
            let state = strong.current();
            let over = crate::engine::over_warn_after(&state);
            if let (Some(on_for), Some(every)) = (&over, state.policy().warn_after) {
                let due = match warned {
                    Some((generation, at)) => {
                        generation != state.generation || at.elapsed() >= every
                    }
                    None => true,
                };
                if due {
                    tracing::warn!(
                        "maintenance: on for {on_for}, longer than warn_after ({}); is it \
                         forgotten? `rocket-maintenance off` ends it",
                        humantime::format_duration(every)
                    );
                    warned = Some((state.generation, std::time::Instant::now()));
                }
            }
            let in_flight = strong.older_writes_in_flight();
            busy = state.active.is_some() || in_flight > 0;
            let now = Some((
                state.generation,
                state.counts.document(),
                in_flight,
                over.is_some(),
            ));
            if now != shown {
                let status = shown.as_ref().is_some_and(|s| s.3 != over.is_some())
                    || (shown.is_none() && over.is_some());
                shown = now;
                drop(state);
                let _ = tokio::task::spawn_blocking(move || strong.refresh_live(status)).await;
            }
        }
    });
}
