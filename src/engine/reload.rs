//! Reloading from disk: the `SIGHUP` path and [`MaintenanceHandle::reload`](crate::MaintenanceHandle::reload).

use std::sync::Arc;
use std::time::SystemTime;

use figment::Figment;

use super::Engine;
use crate::error::Error;
use crate::live_file::{ReloadAttempt, KEPT_ATTEMPTS};
use crate::load::{config_file, load};
use crate::notify;
use crate::state::State;
use crate::status::MaintenanceStatus;

/// What triggered a reload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Trigger {
    /// `SIGHUP`.
    Signal,
    /// `MaintenanceHandle::reload()`.
    Handle,
    /// The config file changed (`watch = true`).
    Watch,
}

impl Engine {
    /// Re-reads the figment, with the start-up profile, from the recorded file.
    fn read_figment(&self) -> Result<Figment, Error> {
        if let Some(path) = &self.config_path {
            let meta = std::fs::metadata(path).map_err(|e| Error::ConfigFile {
                path: path.clone(),
                reason: format!("{e}; restore it (a missing file would silently end maintenance)"),
            })?;
            if !meta.is_file() {
                return Err(Error::ConfigFile {
                    path: path.clone(),
                    reason: "is not a regular file; restore the config file".into(),
                });
            }
            std::fs::File::open(path).map_err(|e| Error::ConfigFile {
                path: path.clone(),
                reason: format!("cannot be read: {e}; check its permissions"),
            })?;
        }
        let figment = self.source.figment().select(self.profile.clone());
        if let Some(path) = &self.config_path {
            let now = config_file(&figment).map(|p| std::path::absolute(&p).unwrap_or(p));
            if now.as_deref() != Some(path.as_path()) {
                return Err(Error::ConfigFile {
                    path: path.clone(),
                    reason: format!(
                        "a reload reads the file read at start, but the figment now reads {}; \
                         give `Maintenance::custom(..)` a function that reads this file at every \
                         call",
                        now.map(|p| p.display().to_string())
                            .unwrap_or_else(|| "no file".into())
                    ),
                });
            }
        }
        Ok(figment)
    }

    /// An error with every secret-holding line of the config file redacted (a TOML parse error
    /// quotes the line it failed on).
    fn redacted(&self, e: Error) -> Error {
        let Some(text) = self
            .config_path
            .as_ref()
            .and_then(|p| std::fs::read_to_string(p).ok())
        else {
            return e;
        };
        e.redact_config(&text)
    }

    /// Reloads from disk: `RELOADING=1`, validate, render, swap, `READY=1`. On failure the old
    /// state stays in force and the error is logged, recorded and shown in `STATUS=`.
    pub fn reload(&self, trigger: Trigger) -> Result<MaintenanceStatus, Error> {
        let mut journal = self.lock();
        journal.config_digest = self.config_digest();
        let started = notify::monotonic_usec();
        notify::reloading(started);
        let old = self.current();
        let result = self.read_figment().and_then(|figment| {
            let loaded = load(&figment, self.hook.as_ref())?;
            // The record in force, laid over the new file settings; none once the fleet table
            // is gone or names another store or namespace (the fleet task reads that one).
            #[cfg(feature = "fleet")]
            let same_fleet = loaded.fleet == old.loaded.fleet;
            #[cfg(not(feature = "fleet"))]
            let same_fleet = true;
            let overlay = match (&journal.overlay, same_fleet) {
                (Some(o), true) => Some(Arc::new(o.over(&loaded.settings)?)),
                _ => None,
            };
            let state = State::build(
                Arc::new(loaded),
                overlay.clone(),
                SystemTime::now(),
                old.generation + 1,
                Some(&old),
            )?;
            Ok((state, overlay))
        });
        let outcome = match result {
            Ok((state, overlay)) => {
                journal.overlay = overlay;
                let new = Arc::new(state);
                self.store(new.clone());
                journal.last_error = None;
                tracing::info!(
                    "maintenance: reloaded ({trigger:?}) {}: {} (generation {})",
                    self.config_path
                        .as_ref()
                        .map(|p| p.display().to_string())
                        .unwrap_or_else(|| "settings".into()),
                    new.summary(),
                    new.generation
                );
                Ok((old, new))
            }
            Err(e) => {
                let e = self.redacted(e);
                tracing::error!(
                    "maintenance: reload failed, keeping the previous settings (generation {}): {e}",
                    old.generation
                );
                journal.last_error = Some(e.to_string());
                Err(e)
            }
        };
        #[cfg(feature = "metrics")]
        metrics::counter!(
            "rocket_maintenance_reloads_total",
            "result" => if outcome.is_ok() { "ok" } else { "failed" }
        )
        .increment(1);
        let current = self.current();
        let error = journal.last_error.clone();
        journal.attempts.push(ReloadAttempt {
            started_usec: started,
            finished_usec: notify::monotonic_usec(),
            ok: outcome.is_ok(),
            error,
            generation: current.generation,
        });
        let excess = journal.attempts.len().saturating_sub(KEPT_ATTEMPTS);
        journal.attempts.drain(..excess);
        self.write_live_file(&mut journal);
        notify::ready(&self.status_of(&current, &journal));
        drop(journal);
        match outcome {
            Ok((old, new)) => {
                self.announce(old, new.clone());
                Ok(MaintenanceStatus(new))
            }
            Err(e) => Err(e),
        }
    }
}

impl Engine {
    /// A digest of the config file's bytes as they are now (`None` without a file, or when the
    /// settings in force do not `watch` it).
    pub(super) fn config_digest(&self) -> Option<[u8; 32]> {
        use sha2::Digest;
        // Only `watch` compares digests: without it, a reload reads the file once, not twice.
        if !self.current().policy().watch {
            return None;
        }
        let bytes = std::fs::read(self.config_path.as_ref()?).ok()?;
        Some(sha2::Sha256::digest(&bytes).into())
    }

    /// Whether the config file's bytes differ from those the last reload (or the start) read.
    pub fn config_changed(&self) -> bool {
        let now = self.config_digest();
        self.lock().config_digest != now
    }
}
