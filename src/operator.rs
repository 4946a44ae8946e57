//! Building blocks of the `rocket-maintenance` operator CLI: editing the config file in place,
//! finding a running service's live state, and waiting until it has applied a reload.
//!
//! The binary only parses arguments and prints; everything it does is here, so an admin tool of
//! your own can do the same.
//!
//! ```no_run
//! use std::time::Duration;
//! use rocket_maintenance::operator::{edit_config, Change, Service};
//!
//! let change = Change { enabled: Some(true), message: Some("Back at 03:00".into()), ..Change::default() };
//! let timeout = Duration::from_secs(30);
//! let report = edit_config("/etc/myapp/Rocket.toml".as_ref(), "default", None, &change, timeout)?;
//! let service = Service::Pid(1234);
//! let live = service.reload_and_wait(timeout)?;
//! assert!(live.on);
//! # Ok::<(), rocket_maintenance::Error>(())
//! ```

use std::fs::File;
use std::io::Write;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

use figment::providers::{Format as _, Toml};
use figment::Figment;
use toml_edit::{DocumentMut, Item, Value};

use crate::error::Error;
use crate::live_file::{live_path, LiveState};
use crate::settings::format_time;

/// What `on`/`off` change: each `Some` key is set in the table that decides it.
#[derive(Debug, Clone, Default)]
pub struct Change {
    /// `enabled`.
    pub enabled: Option<bool>,
    /// `message`.
    pub message: Option<String>,
    /// `retry_after`, as written (`"15m"`, `"900"`, an RFC 3339 time).
    pub retry_after: Option<String>,
    /// `read_only`.
    pub read_only: Option<bool>,
    /// `status`.
    pub status: Option<u16>,
    /// `redirect`.
    pub redirect: Option<String>,
    /// `refresh`, in seconds.
    pub refresh: Option<u32>,
    /// `starts_at`, RFC 3339.
    pub starts_at: Option<String>,
    /// `ends_at`, RFC 3339.
    pub ends_at: Option<String>,
    /// `bypass_secret`.
    pub bypass_secret: Option<String>,
    /// Remove `starts_at` and `ends_at` wherever they are set (for `off` during a window).
    pub remove_window: bool,
}

/// What an edit did.
#[derive(Debug, Clone)]
pub struct EditReport {
    /// The file written (symlinks resolved).
    pub path: PathBuf,
    /// One line per key changed: `[default.maintenance] enabled = true`.
    pub changes: Vec<String>,
    /// The effective settings after the edit, for the profile.
    pub effective: Configured,
}

/// The configured (not live) state of a config file for a profile.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Configured {
    /// Whether maintenance is on: `enabled`, or a window active now.
    pub on: bool,
    /// `enabled` as set.
    pub enabled: bool,
    /// Whether a window is active now.
    pub window_active: bool,
    /// `read_only`.
    pub read_only: bool,
    /// The message in force.
    pub message: String,
    /// `starts_at`, RFC 3339.
    pub starts_at: Option<String>,
    /// `ends_at`, RFC 3339.
    pub ends_at: Option<String>,
    /// Whether a bypass secret is set (never the secret).
    pub has_bypass_secret: bool,
}

/// Rocket's figment for one file and profile, as the fairing reads it (without the
/// environment), with the service's template directory when it is known.
fn file_figment(path: &Path, profile: &str, template_dir: Option<&Path>) -> Figment {
    let figment = Figment::from(rocket::Config::default())
        .merge(Toml::file_exact(path).nested())
        .select(profile);
    match template_dir {
        Some(dir) => figment.merge(("template_dir", dir)),
        None => figment,
    }
}

/// The configured state of `path` for `profile`, validated exactly as the fairing validates it
/// (including that the template exists and renders). `template_dir`: the service's own (from its
/// live state), else the file's, resolved as Rocket resolves it.
pub fn configured(
    path: &Path,
    profile: &str,
    template_dir: Option<&Path>,
) -> Result<Configured, Error> {
    if !path.is_file() {
        return Err(Error::ConfigFile {
            path: path.to_path_buf(),
            reason: "does not exist or is not a regular file; pass --config PATH".into(),
        });
    }
    let figment = file_figment(path, profile, template_dir);
    let loaded = crate::engine::load(&figment, None).map_err(|e| redact_error(e, path))?;
    let p = &loaded.policy;
    let now = SystemTime::now();
    Ok(Configured {
        on: p.active_at(now).is_some(),
        enabled: p.enabled,
        window_active: p.window_active(now),
        read_only: p.read_only,
        message: p.message.clone(),
        starts_at: p.starts_at.map(format_time),
        ends_at: p.ends_at.map(format_time),
        has_bypass_secret: p.has_bypass_secret(),
    })
}

/// Replaces every line of the file that holds a secret, wherever it shows in an error message.
fn redact_error(err: Error, path: &Path) -> Error {
    match std::fs::read_to_string(path) {
        Ok(text) => crate::engine::redact_with(err, &text),
        Err(_) => err,
    }
}

/// The tables a key can be decided by, most decisive first.
fn deciding_tables(profile: &str) -> Vec<String> {
    let mut tables = vec!["global".to_string()];
    if profile != "default" && profile != "global" {
        tables.push(profile.to_string());
    }
    tables.push("default".to_string());
    tables
}

fn maintenance_table<'a>(
    doc: &'a mut DocumentMut,
    profile: &str,
) -> Option<&'a mut dyn toml_edit::TableLike> {
    doc.get_mut(profile)?
        .as_table_like_mut()?
        .get_mut("maintenance")?
        .as_table_like_mut()
}

/// Sets `key` in the table that decides it for `profile` (else `[default.maintenance]`),
/// keeping the comments around it. Returns the table's name.
fn set_key(doc: &mut DocumentMut, profile: &str, key: &str, value: Value) -> String {
    for table in deciding_tables(profile) {
        if let Some(t) = maintenance_table(doc, &table) {
            if let Some(item) = t.get_mut(key) {
                match item.as_value_mut() {
                    Some(old) => {
                        let decor = old.decor().clone();
                        *old = value;
                        *old.decor_mut() = decor;
                    }
                    None => *item = Item::Value(value),
                }
                return table;
            }
        }
    }
    if maintenance_table(doc, "default").is_none() {
        let root = doc.entry("default").or_insert_with(|| {
            let mut t = toml_edit::Table::new();
            t.set_implicit(true);
            Item::Table(t)
        });
        if let Some(root) = root.as_table_like_mut() {
            root.insert("maintenance", Item::Table(toml_edit::Table::new()));
        }
    }
    if let Some(t) = maintenance_table(doc, "default") {
        t.insert(key, Item::Value(value));
    }
    "default".to_string()
}

/// Removes `key` from every maintenance table; returns the tables it was in.
fn remove_key(doc: &mut DocumentMut, key: &str) -> Vec<String> {
    let tables: Vec<String> = doc.iter().map(|(k, _)| k.to_string()).collect();
    tables
        .into_iter()
        .filter(|table| {
            maintenance_table(doc, table)
                .and_then(|t| t.remove(key))
                .is_some()
        })
        .collect()
}

fn change_entries(change: &Change) -> Vec<(&'static str, Value, bool)> {
    let mut out: Vec<(&'static str, Value, bool)> = Vec::new();
    if let Some(v) = change.enabled {
        out.push(("enabled", v.into(), false));
    }
    if let Some(v) = &change.message {
        out.push(("message", v.as_str().into(), false));
    }
    if let Some(v) = &change.retry_after {
        out.push(("retry_after", v.as_str().into(), false));
    }
    if let Some(v) = change.read_only {
        out.push(("read_only", v.into(), false));
    }
    if let Some(v) = change.status {
        out.push(("status", i64::from(v).into(), false));
    }
    if let Some(v) = &change.redirect {
        out.push(("redirect", v.as_str().into(), false));
    }
    if let Some(v) = change.refresh {
        out.push(("refresh", i64::from(v).into(), false));
    }
    if let Some(v) = &change.starts_at {
        out.push(("starts_at", v.as_str().into(), false));
    }
    if let Some(v) = &change.ends_at {
        out.push(("ends_at", v.as_str().into(), false));
    }
    if let Some(v) = &change.bypass_secret {
        out.push(("bypass_secret", v.as_str().into(), true));
    }
    out
}

/// The lock that serialises edits: a sibling `.<name>.lock` file (a rename replaces a locked
/// inode, so the config file itself cannot be the lock).
fn lock_for(path: &Path, timeout: Duration) -> Result<File, Error> {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "config".into());
    let lock_path = path.with_file_name(format!(".{name}.lock"));
    let file = File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_path)
        .map_err(|e| Error::io(format!("opening the lock {}", lock_path.display()), e))?;
    let deadline = Instant::now() + timeout;
    loop {
        match file.try_lock() {
            Ok(()) => return Ok(file),
            Err(std::fs::TryLockError::WouldBlock) if Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(10));
            }
            Err(std::fs::TryLockError::WouldBlock) => {
                return Err(Error::Other(format!(
                    "{} is locked by another edit for more than {}; nothing was changed",
                    lock_path.display(),
                    humantime::format_duration(timeout)
                )))
            }
            Err(std::fs::TryLockError::Error(e)) => {
                return Err(Error::io(format!("locking {}", lock_path.display()), e))
            }
        }
    }
}

/// Edits the config file in place: sets each key of `change` in the table that decides it for
/// `profile`, validates the result exactly as the fairing would, checks the effective settings
/// are what was asked, and replaces the file atomically (symlinks resolved, mode and owner kept),
/// under a lock on a sibling `.<name>.lock`, waited for at most `lock_timeout`. When anything
/// fails the file stays untouched. `template_dir` as for [`configured`].
pub fn edit_config(
    path: &Path,
    profile: &str,
    template_dir: Option<&Path>,
    change: &Change,
    lock_timeout: Duration,
) -> Result<EditReport, Error> {
    let real = std::fs::canonicalize(path).map_err(|e| Error::ConfigFile {
        path: path.to_path_buf(),
        reason: format!("{e}; pass --config PATH"),
    })?;
    let _lock = lock_for(&real, lock_timeout)?;
    let original = std::fs::read_to_string(&real)
        .map_err(|e| Error::io(format!("reading {}", real.display()), e))?;
    let meta = std::fs::metadata(&real)
        .map_err(|e| Error::io(format!("reading {}", real.display()), e))?;
    let mut doc: DocumentMut = original.parse().map_err(|e: toml_edit::TomlError| {
        Error::Other(crate::error::redact_secret_lines(
            &format!("{} is not valid TOML: {e}", real.display()),
            &original,
        ))
    })?;

    let mut changes = Vec::new();
    if change.remove_window {
        for key in ["starts_at", "ends_at"] {
            for table in remove_key(&mut doc, key) {
                changes.push(format!("[{table}.maintenance] removed {key}"));
            }
        }
    }
    for (key, value, secret) in change_entries(change) {
        let shown = if secret {
            crate::settings::redacted(value.as_str().unwrap_or_default())
        } else {
            value.to_string().trim().to_string()
        };
        let table = set_key(&mut doc, profile, key, value);
        changes.push(format!("[{table}.maintenance] {key} = {shown}"));
    }

    let dir = real.parent().unwrap_or(Path::new("/"));
    let mut tmp = tempfile::Builder::new()
        .prefix(".rocket-maintenance-")
        .suffix(".toml")
        .tempfile_in(dir)
        .map_err(|e| Error::io(format!("creating a temporary file in {}", dir.display()), e))?;
    tmp.write_all(doc.to_string().as_bytes())
        .and_then(|_| tmp.as_file().sync_all())
        .map_err(|e| Error::io(format!("writing {}", tmp.path().display()), e))?;
    let effective = configured(tmp.path(), profile, template_dir).map_err(|e| {
        Error::Other(format!(
            "refusing to write {}: the result would be invalid: {}",
            real.display(),
            e.to_string().replace(
                &tmp.path().display().to_string(),
                &real.display().to_string()
            )
        ))
    })?;
    check_effective(&effective, change, &real, profile)?;
    std::fs::set_permissions(tmp.path(), meta.permissions())
        .map_err(|e| Error::io(format!("setting the mode of {}", tmp.path().display()), e))?;
    if let Err(e) = std::os::unix::fs::fchown(tmp.as_file(), Some(meta.uid()), Some(meta.gid())) {
        if e.kind() != std::io::ErrorKind::PermissionDenied
            || meta.uid() != nix::unistd::getuid().as_raw()
        {
            return Err(Error::io(
                format!("keeping the owner of {}", real.display()),
                e,
            ));
        }
    }
    tmp.persist(&real)
        .map_err(|e| Error::io(format!("replacing {}", real.display()), e.error))?;
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(EditReport {
        path: real,
        changes,
        effective,
    })
}

/// After an edit, the effective settings must be what was asked.
fn check_effective(
    eff: &Configured,
    change: &Change,
    path: &Path,
    profile: &str,
) -> Result<(), Error> {
    let wrong = |what: &str| {
        Err(Error::Other(format!(
            "refusing to write {}: after the edit, {what} for profile `{profile}`; \
             another table or key overrides it",
            path.display()
        )))
    };
    match change.enabled {
        Some(true) if !eff.on => return wrong("maintenance would still be off"),
        // A scheduled `on` writes a window, which may already be active.
        Some(false) if change.starts_at.is_some() => {}
        Some(false) if eff.on => {
            return wrong(if eff.window_active {
                "a scheduled window would keep maintenance on"
            } else {
                "maintenance would still be on"
            })
        }
        _ => {}
    }
    if let Some(m) = &change.message {
        if &eff.message != m {
            return wrong("the message would differ");
        }
    }
    if let Some(r) = change.read_only {
        if eff.read_only != r {
            return wrong("read_only would differ");
        }
    }
    Ok(())
}

/// A running service to signal and watch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Service {
    /// A process id: `SIGHUP` it directly.
    Pid(u32),
    /// A systemd unit: `systemctl reload` it.
    Unit(String),
}

fn systemctl_show(unit: &str, property: &str) -> Result<String, Error> {
    let out = std::process::Command::new("systemctl")
        .args(["show", "-P", property, unit])
        .output()
        .map_err(|e| Error::io("running systemctl", e))?;
    if !out.status.success() {
        return Err(Error::Other(format!(
            "systemctl show {unit}: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
}

/// The environment of another process, where readable (`/proc/PID/environ`).
fn process_env(pid: u32) -> Vec<(String, String)> {
    std::fs::read(format!("/proc/{pid}/environ"))
        .map(|bytes| {
            bytes
                .split(|b| *b == 0)
                .filter_map(|kv| {
                    let kv = String::from_utf8_lossy(kv);
                    kv.split_once('=')
                        .map(|(k, v)| (k.to_string(), v.to_string()))
                })
                .collect()
        })
        .unwrap_or_default()
}

impl Service {
    /// The main process id (for a unit: `MainPID`).
    pub fn pid(&self) -> Result<u32, Error> {
        match self {
            Service::Pid(pid) => Ok(*pid),
            Service::Unit(unit) => {
                let pid: u32 = systemctl_show(unit, "MainPID")?.parse().unwrap_or(0);
                if pid == 0 {
                    return Err(Error::Other(format!("unit {unit} is not running")));
                }
                Ok(pid)
            }
        }
    }

    /// Where the service's live state may be, most trustworthy first: what systemd or the
    /// service's own environment says, then this process's environment.
    fn live_candidates(&self, pid: u32, uid: u32) -> Result<Vec<PathBuf>, Error> {
        let mut out = Vec::new();
        if let Service::Unit(unit) = self {
            let dirs = systemctl_show(unit, "RuntimeDirectory")?;
            if let Some(first) = dirs.split_whitespace().next() {
                out.push(Path::new("/run").join(first).join(format!("{pid}.json")));
            }
        }
        let env = process_env(pid);
        if !env.is_empty() {
            out.push(live_path(pid, uid, |k| {
                env.iter()
                    .find(|(name, _)| name == k)
                    .map(|(_, v)| v.clone())
            }));
        }
        out.push(live_path(pid, uid, |k| std::env::var(k).ok()));
        out.push(live_path(pid, uid, |_| None));
        out.dedup();
        Ok(out)
    }

    /// Reads the service's live state (refusing a file that is not the service user's).
    pub fn live_state(&self) -> Result<LiveState, Error> {
        use std::os::unix::fs::MetadataExt;
        let pid = self.pid()?;
        // The service's user. Where /proc hides the process (`ProtectProc=invisible` in the
        // unit, as seen by its own `ExecReload=`), the CLI runs as that user anyway: its own.
        let uid = std::fs::metadata(format!("/proc/{pid}"))
            .map(|m| m.uid())
            .unwrap_or_else(|_| nix::unistd::getuid().as_raw());
        let candidates = self.live_candidates(pid, uid)?;
        for path in &candidates {
            if path.is_file() {
                return LiveState::read_owned_by(path, uid);
            }
        }
        Err(Error::Other(format!(
            "no live state for pid {pid} (looked in {}); is the service running with the \
             maintenance fairing, and is its RUNTIME_DIRECTORY visible here?",
            candidates
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        )))
    }

    /// Asks the service to reload and waits until it has: an attempt that started after the
    /// request. Errors with the service's own error when the reload failed, or when no answer came
    /// within `timeout`.
    pub fn reload_and_wait(&self, timeout: Duration) -> Result<LiveState, Error> {
        let deadline = Instant::now() + timeout;
        // Fail early, before signalling, if the live state cannot be found at all.
        self.live_state()?;
        let asked = crate::notify::monotonic_usec();
        match self {
            Service::Pid(pid) => {
                let pid = i32::try_from(*pid)
                    .map_err(|_| Error::Other(format!("{pid} is not a process id")))?;
                nix::sys::signal::kill(
                    nix::unistd::Pid::from_raw(pid),
                    nix::sys::signal::Signal::SIGHUP,
                )
                .map_err(|e| Error::io(format!("sending SIGHUP to {pid}"), e.into()))?;
            }
            Service::Unit(unit) => {
                let status = std::process::Command::new("systemctl")
                    .args(["reload", unit])
                    .status()
                    .map_err(|e| Error::io("running systemctl reload", e))?;
                if !status.success() {
                    // On systemd < 253 our ExecReload reports a failed reload this way; the live
                    // state below says why.
                    tracing::debug!("systemctl reload {unit} exited with {status}");
                }
            }
        }
        loop {
            if let Ok(live) = self.live_state() {
                if let Some(attempt) = live.reloads.iter().rev().find(|a| a.started_usec >= asked) {
                    return match &attempt.error {
                        None => Ok(live),
                        Some(e) => Err(Error::Other(format!(
                            "the service kept its previous settings: reload failed: {e}"
                        ))),
                    };
                }
            }
            if Instant::now() >= deadline {
                return Err(Error::Other(format!(
                    "the service did not apply a reload within {}",
                    humantime::format_duration(timeout)
                )));
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}
