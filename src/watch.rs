//! `watch = true`: reload when the config file changes, for services outside systemd (a
//! container has no `systemctl`; a Kubernetes ConfigMap update swaps the directory's `..data`
//! symlink; an editor renames a new file over the old one).
//!
//! The config file's directory is watched (not the file: a rename or a symlink swap replaces
//! it), events are debounced, and a reload runs only when the file's bytes differ from those the
//! last reload read, so one change never reloads twice, whatever else (`SIGHUP`) reloaded
//! meanwhile. The reload is the same as any other: same validation, same live state; the log
//! says why it happened.

use std::path::{Path, PathBuf};
use std::sync::mpsc::{channel, RecvTimeoutError};
use std::sync::Weak;
use std::time::Duration;

use notify::{RecursiveMode, Watcher};

use crate::engine::{Engine, Trigger};

/// How long events are gathered before the file is looked at.
const DEBOUNCE: Duration = Duration::from_millis(200);

/// Starts watching `config` for `engine` on a thread of its own; it ends with the engine.
pub(crate) fn spawn(engine: Weak<Engine>, config: PathBuf) {
    let dir = config
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."));
    let (tx, rx) = channel();
    let mut watcher = match notify::recommended_watcher(move |event| {
        let _ = tx.send(event);
    }) {
        Ok(w) => w,
        Err(e) => {
            tracing::error!("maintenance: watch = true, but the config cannot be watched: {e}");
            return;
        }
    };
    if let Err(e) = watcher.watch(&dir, RecursiveMode::NonRecursive) {
        tracing::error!(
            "maintenance: watch = true, but {} cannot be watched: {e}",
            dir.display()
        );
        return;
    }
    tracing::info!(
        "maintenance: watching {} for changes (watch = true)",
        config.display()
    );
    let spawned = std::thread::Builder::new()
        .name("rocket-maintenance-watch".into())
        .spawn(move || {
            let _watcher = watcher;
            loop {
                // Wait for an event, checking now and then that the engine still exists.
                match rx.recv_timeout(Duration::from_secs(1)) {
                    Ok(_) => {}
                    Err(RecvTimeoutError::Timeout) => {
                        if engine.strong_count() == 0 {
                            return;
                        }
                        continue;
                    }
                    Err(RecvTimeoutError::Disconnected) => return,
                }
                // Debounce: gather the events of one change (an editor, a symlink swap).
                while rx.recv_timeout(DEBOUNCE).is_ok() {}
                let Some(engine) = engine.upgrade() else {
                    return;
                };
                if !engine.current().policy().watch || !engine.config_changed() {
                    continue;
                }
                tracing::info!(
                    "maintenance: {} changed (watch = true): reloading",
                    config.display()
                );
                let _ = engine.reload(Trigger::Watch);
            }
        });
    if let Err(e) = spawned {
        tracing::error!("maintenance: watch = true, but no thread could be started: {e}");
    }
}
