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
use figment::value::magic::RelativePathBuf;
use figment::{Figment, Profile, Source};

use crate::error::Error;
use crate::live_file::{live_path, LiveState, ReloadAttempt, KEPT_ATTEMPTS};
use crate::notify;
use crate::page::{HandlebarsHook, Renderer};
use crate::policy::Policy;
use crate::settings::{format_time, Settings};
use crate::state::{Loaded, MaintenanceStatus, Overlay, State};

/// Where the figment comes from at each reload.
#[derive(Clone)]
pub(crate) enum FigmentSource {
    /// `rocket::Config::figment()`, re-read: `ROCKET_CONFIG`/`Rocket.toml` and `ROCKET_*`.
    Rocket,
    /// The application's own function (`Maintenance::custom`).
    Custom(Arc<dyn Fn() -> Figment + Send + Sync>),
}

impl FigmentSource {
    fn figment(&self) -> Figment {
        match self {
            FigmentSource::Rocket => rocket::Config::figment(),
            FigmentSource::Custom(f) => f(),
        }
    }
}

/// A callback run after each change with the old and the new status.
pub(crate) type ChangeHook = Arc<dyn Fn(&MaintenanceStatus, &MaintenanceStatus) + Send + Sync>;

/// The file a figment read its settings from, if any.
fn config_file(figment: &Figment) -> Option<PathBuf> {
    figment.metadata().find_map(|md| match &md.source {
        Some(Source::File(path)) => Some(path.clone()),
        _ => None,
    })
}

/// Rocket's `template_dir`, resolved as rocket_dyn_templates resolves it: relative to the file
/// that set it, else `templates` relative to the working directory.
fn template_dir(figment: &Figment) -> PathBuf {
    let dir = figment
        .extract_inner::<RelativePathBuf>("template_dir")
        .map(|p| p.relative())
        .unwrap_or_else(|_| PathBuf::from("templates"));
    std::path::absolute(&dir).unwrap_or(dir)
}

/// Loads and validates everything a state needs from one figment (profile already selected).
pub(crate) fn load(figment: &Figment, hook: Option<&HandlebarsHook>) -> Result<Loaded, Error> {
    let settings = Settings::from_figment(figment)?;
    let policy = Policy::compile(settings.clone()).map_err(|e| e.located(figment))?;
    #[cfg(feature = "fleet")]
    let fleet =
        crate::fleet::FleetConfig::from_settings(&settings).map_err(|e| e.located(figment))?;
    let template_dir = template_dir(figment);
    let renderer = Renderer::new(policy.template.as_deref(), &template_dir, hook)
        .map_err(|e| e.located(figment))?;
    // Render once now: a template that does not render is refused here, not at a request.
    renderer
        .render(&policy, SystemTime::now())
        .map_err(|e| e.located(figment))?;
    Ok(Loaded {
        settings,
        policy,
        #[cfg(feature = "fleet")]
        fleet,
        renderer,
        config_path: config_file(figment),
        template_dir,
    })
}

/// `e`, with every secret-holding line of `config_text` redacted from its message.
pub(crate) fn redact_with(e: Error, config_text: &str) -> Error {
    let message = e.to_string();
    let clean = crate::error::redact_secret_lines(&message, config_text);
    if clean == message {
        e
    } else {
        Error::Other(clean)
    }
}

/// What triggered a reload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Trigger {
    /// `SIGHUP`.
    Signal,
    /// `MaintenanceHandle::reload()`.
    Handle,
}

/// Reload history and the writer of the live-state file; held while a change is applied.
struct Journal {
    attempts: Vec<ReloadAttempt>,
    /// The fleet record in force, kept across reloads.
    overlay: Option<Arc<Overlay>>,
    /// Why the fleet store cannot be read, while it cannot.
    fleet_error: Option<String>,
    last_error: Option<String>,
    live_path: PathBuf,
    live_file_failed: bool,
}

/// The running maintenance machinery of one Rocket instance.
pub(crate) struct Engine {
    live: ArcSwap<State>,
    source: FigmentSource,
    profile: Profile,
    config_path: Option<PathBuf>,
    hook: Option<HandlebarsHook>,
    on_change: Vec<ChangeHook>,
    journal: Mutex<Journal>,
    /// Set at shutdown: background tasks stop announcing this instance.
    #[cfg_attr(not(feature = "fleet"), allow(dead_code))]
    shutting_down: std::sync::atomic::AtomicBool,
    /// The generation in force, published on every change (the window scheduler and the fleet
    /// task re-plan on it).
    changed: rocket::tokio::sync::watch::Sender<u64>,
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
                Some(text) => redact_with(e, &text),
                None => e,
            }
        })?;
        let state = State::build(Arc::new(loaded), None, SystemTime::now(), 1, None)?;
        let config_path = state
            .loaded
            .config_path
            .as_ref()
            .map(|p| std::path::absolute(p).unwrap_or_else(|_| p.clone()));
        let live_path = live_path(std::process::id(), nix::unistd::getuid().as_raw(), |k| {
            std::env::var(k).ok()
        });
        let engine = Engine {
            profile: figment.profile().clone(),
            live: ArcSwap::from_pointee(state),
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
            }),
            changed: rocket::tokio::sync::watch::Sender::new(1),
            shutting_down: std::sync::atomic::AtomicBool::new(false),
        };
        engine.write_live_file(&mut engine.lock());
        Ok(engine)
    }

    fn lock(&self) -> MutexGuard<'_, Journal> {
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

    /// A receiver that sees every change of state.
    pub fn subscribe(&self) -> rocket::tokio::sync::watch::Receiver<u64> {
        self.changed.subscribe()
    }

    /// Applies a fleet record (or its absence) over the file's settings. Returns whether the
    /// state changed. Not a reload: no `RELOADING=1`.
    #[cfg_attr(not(feature = "fleet"), allow(dead_code))]
    pub fn apply_overlay(&self, overlay: Option<Arc<Overlay>>) -> bool {
        let mut journal = self.lock();
        let same = match (&journal.overlay, &overlay) {
            (None, None) => true,
            (Some(a), Some(b)) => a.identity == b.identity,
            _ => false,
        };
        if same {
            return false;
        }
        let old = self.current();
        match State::build(
            old.loaded.clone(),
            overlay.clone(),
            SystemTime::now(),
            old.generation + 1,
            Some(&old),
        ) {
            Ok(state) => {
                let what = match &overlay {
                    Some(o) => format!("fleet record generation {}: ", o.generation),
                    None => "no fleet record, the file decides: ".to_string(),
                };
                journal.overlay = overlay;
                self.swap_in(journal, old, state, &what);
                true
            }
            Err(e) => {
                drop(journal);
                self.fleet_failed(format!("cannot apply the fleet record: {e}"));
                false
            }
        }
    }

    /// The store failed: keep the state; say so once in the log, and in `STATUS=` and the live
    /// state while it lasts.
    #[cfg_attr(not(feature = "fleet"), allow(dead_code))]
    pub fn fleet_failed(&self, error: String) {
        let mut journal = self.lock();
        // Once per outage: the log line, STATUS= and the live state. Later errors of the same
        // outage (which change wording as reconnects fail differently) stay quiet.
        if journal.fleet_error.is_none() {
            tracing::warn!(
                "maintenance: {error}; keeping the current state until the store answers"
            );
            journal.fleet_error = Some(error);
            self.write_live_file(&mut journal);
            notify::status(&self.status_of(&self.current(), &journal));
        }
    }

    /// The store answered again.
    #[cfg_attr(not(feature = "fleet"), allow(dead_code))]
    pub fn fleet_reachable(&self) {
        let mut journal = self.lock();
        if journal.fleet_error.take().is_some() {
            tracing::info!("maintenance: the fleet store answers again");
            self.write_live_file(&mut journal);
            notify::status(&self.status_of(&self.current(), &journal));
        }
    }

    fn status_of(&self, state: &State, journal: &Journal) -> String {
        let line = self.status_line(state, journal.last_error.as_deref());
        match &journal.fleet_error {
            Some(e) => format!("{line}; fleet store failing, state kept: {e}"),
            None => line,
        }
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
                        "the figment now reads {} instead; restart the service to change files",
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
        redact_with(e, &text)
    }

    /// Reloads from disk: `RELOADING=1`, validate, render, swap, `READY=1`. On failure the old
    /// state stays in force and the error is logged, recorded and shown in `STATUS=`.
    pub fn reload(&self, trigger: Trigger) -> Result<MaintenanceStatus, Error> {
        let mut journal = self.lock();
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
                self.live.store(new.clone());
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

    /// Rebuilds the state from the same settings at a new instant (a window edge, a
    /// `retry_after` time passing). No `RELOADING=1`: nothing was re-read.
    pub fn tick(&self) {
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
            Ok(state) => self.swap_in(journal, old, state, ""),
            Err(e) => tracing::error!("maintenance: cannot re-render the page at {now:?}: {e}"),
        }
    }

    /// Swaps a state in that did not come from a reload (a window edge, a fleet record) and
    /// tells the world: the log, the live state, `STATUS=` (no `RELOADING=1`), `on_change`.
    fn swap_in(
        &self,
        mut journal: MutexGuard<'_, Journal>,
        old: Arc<State>,
        state: State,
        what: &str,
    ) {
        let new = Arc::new(state);
        self.live.store(new.clone());
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
    fn announce(&self, old: Arc<State>, new: Arc<State>) {
        self.changed.send_replace(new.generation);
        let (old, new) = (MaintenanceStatus(old), MaintenanceStatus(new));
        for hook in &self.on_change {
            hook(&old, &new);
        }
    }

    /// The `STATUS=` line for a state and the last reload error.
    pub fn status_line(&self, state: &State, error: Option<&str>) -> String {
        let Some(error) = error else {
            return state.summary();
        };
        // One line of at most STATUS_MAX_CHARS that keeps both halves: the error cut to fit,
        // then what is still in force.
        let still: String = format!("; still {}", state.summary())
            .chars()
            .take(notify::STATUS_MAX_CHARS / 2)
            .collect();
        let room = notify::STATUS_MAX_CHARS - "reload failed: ".len() - still.chars().count();
        let error = error.split_whitespace().collect::<Vec<_>>().join(" ");
        let error: String = if error.chars().count() > room {
            error.chars().take(room - 1).chain(['…']).collect()
        } else {
            error
        };
        format!("reload failed: {error}{still}")
    }

    /// The status line as it stands.
    pub fn current_status_line(&self) -> String {
        let journal = self.lock();
        self.status_of(&self.current(), &journal)
    }

    fn write_live_file(&self, journal: &mut Journal) {
        let state = self.current();
        let p = state.policy();
        let live = LiveState {
            pid: std::process::id(),
            generation: state.generation,
            on: state.active.is_some(),
            read_only: p.read_only,
            why: MaintenanceStatus(state.clone())
                .reason()
                .map(str::to_string),
            since: state.since.map(format_time),
            message: p.message.clone(),
            config_path: self.config_path.clone(),
            profile: self.profile.to_string(),
            template_dir: state.loaded.template_dir.clone(),
            status: notify::sanitize_status(&self.status_of(&state, journal)),
            last_error: journal.last_error.clone(),
            fleet_generation: state.overlay.as_ref().map(|o| o.generation),
            fleet_error: journal.fleet_error.clone(),
            reloads: journal.attempts.clone(),
        };
        match live.write(&journal.live_path) {
            Ok(()) => journal.live_file_failed = false,
            Err(e) if !journal.live_file_failed => {
                journal.live_file_failed = true;
                tracing::warn!("maintenance: cannot write the live state: {e}");
            }
            Err(_) => {}
        }
    }

    /// Removes the live-state file (at shutdown).
    pub fn remove_live_file(&self) {
        let journal = self.lock();
        let _ = std::fs::remove_file(&journal.live_path);
    }

    /// The live-state file's path.
    pub fn live_path(&self) -> PathBuf {
        self.lock().live_path.clone()
    }
}
