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
        loop {
            let Some(strong) = engine.upgrade() else {
                return;
            };
            let next = strong.current().policy().next_edge(SystemTime::now());
            let wait = next.map(|t| t.duration_since(SystemTime::now()).unwrap_or_default());
            let notify = strong.changed.clone();
            drop(strong);
            let changed = notify.notified();
            tokio::pin!(changed);
            match wait {
                Some(wait) => {
                    tokio::select! {
                        _ = tokio::time::sleep(wait) => {
                            if let Some(engine) = engine.upgrade() {
                                // `tick` renders a page: keep that off the async workers.
                                let _ = tokio::task::spawn_blocking(move || engine.tick()).await;
                            }
                        }
                        _ = &mut changed => {}
                    }
                }
                None => changed.await,
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
