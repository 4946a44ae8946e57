//! The engine: loads settings, holds the live state, and replaces it on reload and window edges.
//!
//! Every change goes through [`Engine::apply`] under one lock: build the new state completely
//! (validate, render), then swap it in with one atomic store, then tell the world (`STATUS=`, the
//! live-state file, `on_change`). A failure at any step before the swap leaves the old state in
//! force.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{SystemTime, UNIX_EPOCH};

use arc_swap::ArcSwap;
use figment::{Figment, Profile};

use crate::error::Error;
use crate::live_file::{live_path, ReloadAttempt};
use crate::load::{config_file, load, FigmentSource};
use crate::notify;
use crate::page::HandlebarsHook;
use crate::state::{Overlay, State};
use crate::status::MaintenanceStatus;

#[cfg(feature = "fleet")]
pub(crate) mod fleet;
mod reload;
mod report;

pub(crate) use reload::Trigger;
pub(crate) use report::over_warn_after;

/// A callback run after each change with the old and the new status.
pub(crate) type ChangeHook = Arc<dyn Fn(&MaintenanceStatus, &MaintenanceStatus) + Send + Sync>;

/// Reload history and the writer of the live-state file; held while a change is applied.
pub(crate) struct Journal {
    pub(super) attempts: Vec<ReloadAttempt>,
    /// The fleet record in force, kept across reloads.
    pub(super) overlay: Option<Arc<Overlay>>,
    /// Why the fleet store cannot be read, while it cannot.
    pub(super) fleet_error: Option<String>,
    pub(super) last_error: Option<String>,
    pub(super) live_path: PathBuf,
    pub(super) live_file_failed: bool,
    /// Set at liftoff: the live-state file is written from then on.
    pub(super) published: bool,
    /// A digest of the config file as the last reload (or the start) read it (`watch`).
    pub(super) config_digest: Option<[u8; 32]>,
}

/// The running maintenance machinery of one Rocket instance.
pub(crate) struct Engine {
    pub(crate) live: ArcSwap<State>,
    /// The maintenance status of the state in force, readable with one atomic load (the
    /// fairing's `on_response` checks every response against it).
    pub(crate) status_code: std::sync::atomic::AtomicU16,
    /// Whether the state in force is on (one atomic load for the fairing's `on_response`).
    pub(crate) active: std::sync::atomic::AtomicBool,
    /// Whether every read passes untouched in the state in force: off, and no bypass secret or
    /// probe path to look for (one atomic load for the fairing's `on_request`).
    pub(crate) reads_pass: std::sync::atomic::AtomicBool,
    /// The states replaced so far that may still have writes in flight (for the drain).
    older: Mutex<Vec<std::sync::Weak<State>>>,
    pub(super) source: FigmentSource,
    pub(super) profile: Profile,
    pub(super) config_path: Option<PathBuf>,
    pub(super) hook: Option<HandlebarsHook>,
    pub(super) on_change: Vec<ChangeHook>,
    pub(super) journal: Mutex<Journal>,
    /// Set at shutdown: background tasks stop announcing this instance.
    #[cfg_attr(not(feature = "fleet"), allow(dead_code))]
    pub(super) shutting_down: std::sync::atomic::AtomicBool,
    /// The generation in force, published on every change (the window scheduler and the fleet
    /// task re-plan on it).
    pub(super) changed: rocket::tokio::sync::watch::Sender<u64>,
    /// Every change, for `MaintenanceHandle::subscribe`.
    pub(super) statuses: rocket::tokio::sync::watch::Sender<MaintenanceStatus>,
    /// Held while a fleet heartbeat is written, and by shutdown before it removes it.
    #[cfg(feature = "fleet")]
    pub(super) heartbeat_lock: rocket::tokio::sync::Mutex<()>,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("profile", &self.profile)
            .field("config_path", &self.config_path)
            .finish()
    }
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

impl Engine {
    /// Loads the start-up state from `figment`.
    pub fn start(
        figment: &Figment,
        source: FigmentSource,
        hook: Option<HandlebarsHook>,
        on_change: Vec<ChangeHook>,
    ) -> Result<Engine, Error> {
        let loaded = load(figment, hook.as_ref()).map_err(|e| {
            match config_file(figment).and_then(|p| std::fs::read_to_string(p).ok()) {
                Some(text) => e.redact_config(text.as_str()),
                None => e,
            }
        })?;
        let state = Arc::new(State::build(
            Arc::new(loaded),
            None,
            SystemTime::now(),
            1,
            None,
        )?);
        let current = state.clone();
        let config_path = state
            .loaded
            .config_path
            .as_ref()
            .map(|p| std::path::absolute(p).unwrap_or_else(|_| p.clone()));
        let live_path = live_path(std::process::id(), nix::unistd::getuid().as_raw(), |k| {
            std::env::var(k).ok()
        });
        // A second rocket in the same process (tests do that) gets a file of its own.
        static ENGINES: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let n = ENGINES.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let live_path = if n == 0 {
            live_path
        } else {
            live_path.with_file_name(format!("{}-{n}.json", std::process::id()))
        };
        let engine = Engine {
            profile: figment.profile().clone(),
            status_code: std::sync::atomic::AtomicU16::new(state.pages.status),
            active: std::sync::atomic::AtomicBool::new(state.active.is_some()),
            reads_pass: std::sync::atomic::AtomicBool::new(reads_pass(&state)),
            older: Mutex::new(Vec::new()),
            live: ArcSwap::new(state),
            source,
            config_path,
            hook,
            on_change,
            journal: Mutex::new(Journal {
                attempts: Vec::new(),
                overlay: None,
                fleet_error: None,
                last_error: None,
                live_path,
                live_file_failed: false,
                published: false,
                config_digest: None,
            }),
            changed: rocket::tokio::sync::watch::Sender::new(1),
            statuses: rocket::tokio::sync::watch::Sender::new(MaintenanceStatus(current.clone())),
            #[cfg(feature = "fleet")]
            heartbeat_lock: rocket::tokio::sync::Mutex::new(()),
            shutting_down: std::sync::atomic::AtomicBool::new(false),
        };
        Ok(engine)
    }

    /// Writes the live-state file for the first time (at liftoff: a launch that aborts before
    /// leaves none behind), and from then on at every change.
    pub fn publish(&self) {
        let digest = self.config_digest();
        let mut journal = self.lock();
        journal.config_digest = digest;
        journal.published = true;
        self.write_live_file(&mut journal);
    }

    pub(super) fn lock(&self) -> MutexGuard<'_, Journal> {
        self.journal.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Marks the engine as shutting down.
    #[cfg_attr(not(feature = "fleet"), allow(dead_code))]
    pub fn shut_down(&self) {
        self.shutting_down
            .store(true, std::sync::atomic::Ordering::SeqCst);
    }

    /// Whether the engine is shutting down.
    #[cfg_attr(not(feature = "fleet"), allow(dead_code))]
    pub fn is_shutting_down(&self) -> bool {
        self.shutting_down.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// A receiver of every change of status, for app code (`MaintenanceHandle::subscribe`).
    pub fn subscribe_status(&self) -> rocket::tokio::sync::watch::Receiver<MaintenanceStatus> {
        self.statuses.subscribe()
    }

    /// A receiver that sees every change of state.
    pub fn subscribe(&self) -> rocket::tokio::sync::watch::Receiver<u64> {
        self.changed.subscribe()
    }

    /// Puts `new` in force: one atomic swap (and the status it answers with).
    pub(super) fn store(&self, new: Arc<State>) {
        use std::sync::atomic::Ordering;
        self.status_code.store(new.pages.status, Ordering::Relaxed);
        self.active.store(new.active.is_some(), Ordering::Relaxed);
        self.reads_pass.store(reads_pass(&new), Ordering::Relaxed);
        #[cfg(feature = "metrics")]
        gauge(&new);
        let old = self.live.swap(new);
        let mut older = self.older.lock().unwrap_or_else(|e| e.into_inner());
        older.retain(|w| w.strong_count() > 0);
        older.push(Arc::downgrade(&old));
    }

    /// The writes admitted under earlier states that are still running: none means "drained",
    /// safe to migrate.
    pub fn older_writes_in_flight(&self) -> u64 {
        let older = self.older.lock().unwrap_or_else(|e| e.into_inner());
        older
            .iter()
            .filter_map(std::sync::Weak::upgrade)
            .map(|state| state.counts.writes_in_flight())
            .sum()
    }

    /// The state in force now.
    pub fn current(&self) -> Arc<State> {
        self.live.load_full()
    }

    /// The seconds since the epoch, for bypass cookies.
    pub fn unix_now(&self) -> u64 {
        unix_now()
    }

    /// The config file recorded at start.
    pub fn config_path(&self) -> Option<&Path> {
        self.config_path.as_deref()
    }

    /// The profile chosen at start.
    pub fn profile(&self) -> &Profile {
        &self.profile
    }

    /// Rebuilds the state from the same settings at a new instant (a window edge, a
    /// `retry_after` time passing). No `RELOADING=1`: nothing was re-read.
    pub fn tick(&self) -> Result<(), Error> {
        let journal = self.lock();
        let old = self.current();
        let now = SystemTime::now();
        match State::build(
            old.loaded.clone(),
            journal.overlay.clone(),
            now,
            old.generation + 1,
            Some(&old),
        ) {
            Ok(state) => {
                self.swap_in(journal, old, state, "");
                Ok(())
            }
            Err(e) => Err(e),
        }
    }

    /// Swaps a state in that did not come from a reload (a window edge, a fleet record) and
    /// tells the world: the log, the live state, `STATUS=` (no `RELOADING=1`), `on_change`.
    pub(super) fn swap_in(
        &self,
        mut journal: MutexGuard<'_, Journal>,
        old: Arc<State>,
        state: State,
        what: &str,
    ) {
        let new = Arc::new(state);
        self.store(new.clone());
        tracing::info!(
            "maintenance: {what}{} (generation {})",
            new.summary(),
            new.generation
        );
        self.write_live_file(&mut journal);
        notify::status(&self.status_of(&new, &journal));
        drop(journal);
        self.announce(old, new);
    }

    /// `on_change` callbacks and the scheduler's wake-up, outside the lock.
    pub(super) fn announce(&self, old: Arc<State>, new: Arc<State>) {
        crate::audit::state_changed(&old, &new);
        self.changed.send_replace(new.generation);
        self.statuses.send_replace(MaintenanceStatus(new.clone()));
        let (old, new) = (MaintenanceStatus(old), MaintenanceStatus(new));
        for hook in &self.on_change {
            hook(&old, &new);
        }
    }

    /// Removes the live-state file (at shutdown).
    pub fn remove_live_file(&self) {
        let journal = self.lock();
        let _ = std::fs::remove_file(&journal.live_path);
    }

    /// The live-state file's path (written once the service has lifted off).
    pub fn live_path(&self) -> PathBuf {
        self.lock().live_path.clone()
    }
}

/// `rocket_maintenance_active{mode="on"|"read_only"}`: 1 for the mode in force, else 0.
#[cfg(feature = "metrics")]
fn gauge(state: &State) {
    let mode = crate::audit::mode(state);
    for m in ["on", "read_only"] {
        metrics::gauge!("rocket_maintenance_active", "mode" => m).set(if mode == m {
            1.0
        } else {
            0.0
        });
    }
}

/// Whether every read passes untouched in `state` (see `Engine::reads_pass`).
fn reads_pass(state: &State) -> bool {
    let p = state.policy();
    state.active.is_none()
        && !p.has_bypass_secret()
        && p.health_path.is_none()
        && p.ready_path.is_none()
}

impl Drop for Engine {
    /// A rocket dropped without a shutdown (a test's client, an aborted launch) leaves no
    /// live-state file behind.
    fn drop(&mut self) {
        let journal = self.journal.get_mut().unwrap_or_else(|e| e.into_inner());
        if journal.published {
            let _ = std::fs::remove_file(&journal.live_path);
        }
    }
}
