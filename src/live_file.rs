//! The live-state file: what the running service has applied, for the operator CLI.
//!
//! Written atomically (a temporary file in the same directory, then a rename) whenever anything
//! changes. It lives in the first entry of `$RUNTIME_DIRECTORY` (what systemd's
//! `RuntimeDirectory=` sets), else `$XDG_RUNTIME_DIR/rocket-maintenance/`, else the system temp
//! dir's `rocket-maintenance/`, as `<pid>.json`.

use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::Error;

/// How many reload attempts the file keeps.
pub const KEPT_ATTEMPTS: usize = 32;

/// One reload attempt, as recorded in the live state.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct ReloadAttempt {
    /// `CLOCK_MONOTONIC` (µs) when the attempt started.
    pub started_usec: u64,
    /// `CLOCK_MONOTONIC` (µs) when it finished.
    pub finished_usec: u64,
    /// Whether the new settings were applied.
    pub ok: bool,
    /// Why not, when not.
    pub error: Option<String>,
    /// The generation in force after the attempt.
    pub generation: u64,
}

/// The live state of one running service.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct LiveState {
    /// The service's process id.
    pub pid: u32,
    /// Counts applied states: 1 at start, +1 per change.
    pub generation: u64,
    /// Whether maintenance is on.
    pub on: bool,
    /// Whether it is read-only maintenance.
    pub read_only: bool,
    /// Why it is on: `"file"` or `"window"`.
    pub why: Option<String>,
    /// Since when it is on (RFC 3339).
    pub since: Option<String>,
    /// The message in force.
    pub message: String,
    /// The config file the service reads at each reload.
    pub config_path: Option<PathBuf>,
    /// The figment profile the service runs with.
    pub profile: String,
    /// The template directory the page is rendered from.
    pub template_dir: PathBuf,
    /// The `STATUS=` line.
    pub status: String,
    /// The last reload error, while the old state is kept because of it.
    pub last_error: Option<String>,
    /// The most recent reload attempts, oldest first.
    pub reloads: Vec<ReloadAttempt>,
    /// The fleet record generation applied (`fleet` feature).
    #[serde(default)]
    pub fleet_generation: Option<u64>,
    /// Why the fleet store cannot be read, while it cannot.
    #[serde(default)]
    pub fleet_error: Option<String>,
}

/// The directory the live state of this process goes in.
pub fn live_dir_from_env(var: impl Fn(&str) -> Option<String>) -> PathBuf {
    if let Some(dir) = var("RUNTIME_DIRECTORY")
        .and_then(|v| v.split(':').next().map(str::to_string))
        .filter(|d| !d.is_empty())
    {
        return PathBuf::from(dir);
    }
    if let Some(xdg) = var("XDG_RUNTIME_DIR").filter(|d| !d.is_empty()) {
        return Path::new(&xdg).join("rocket-maintenance");
    }
    std::env::temp_dir().join("rocket-maintenance")
}

/// Where the live state of process `pid` is, given the environment it runs with.
pub fn live_path(pid: u32, var: impl Fn(&str) -> Option<String>) -> PathBuf {
    live_dir_from_env(var).join(format!("{pid}.json"))
}

impl LiveState {
    /// Writes the file atomically.
    pub fn write(&self, path: &Path) -> Result<(), Error> {
        let dir = path.parent().unwrap_or(Path::new("."));
        std::fs::create_dir_all(dir)
            .map_err(|e| Error::io(format!("creating {}", dir.display()), e))?;
        let mut tmp = tempfile::NamedTempFile::new_in(dir)
            .map_err(|e| Error::io(format!("writing into {}", dir.display()), e))?;
        serde_json::to_writer_pretty(&mut tmp, self)
            .map_err(|e| Error::io(format!("writing {}", path.display()), e.into()))?;
        tmp.write_all(b"\n")
            .map_err(|e| Error::io(format!("writing {}", path.display()), e))?;
        tmp.persist(path)
            .map_err(|e| Error::io(format!("renaming into {}", path.display()), e.error))?;
        Ok(())
    }

    /// Reads a live-state file.
    pub fn read(path: &Path) -> Result<LiveState, Error> {
        let text = std::fs::read(path).map_err(|e| {
            Error::io(
                format!(
                    "reading the live state {} (is the service running, with the fairing attached?)",
                    path.display()
                ),
                e,
            )
        })?;
        serde_json::from_slice(&text)
            .map_err(|e| Error::Other(format!("live state {} is not valid: {e}", path.display())))
    }
}
