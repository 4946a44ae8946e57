//! The live-state file: what the running service has applied, for the operator CLI.
//!
//! Written atomically (a temporary file in the same directory, then a rename) whenever anything
//! changes. It lives in the first entry of `$RUNTIME_DIRECTORY` (what systemd's
//! `RuntimeDirectory=` sets), else `$XDG_RUNTIME_DIR/rocket-maintenance/`, else the system temp
//! dir's `rocket-maintenance-<uid>/` (created `0700`, refused when another user owns it), as
//! `<pid>.json`. Readers check that the file belongs to the service's user.

use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::counts::CountsDoc;
use crate::error::Error;

/// How many reload attempts the file keeps.
pub const KEPT_ATTEMPTS: usize = 32;

/// The largest live-state file read.
const MAX_LIVE_BYTES: u64 = 1024 * 1024;

/// One reload attempt, as recorded in the live state.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[non_exhaustive]
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
#[non_exhaustive]
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
    /// What the state in force has counted while on (rewritten at most once a second).
    #[serde(default)]
    pub counts: CountsDoc,
    /// Whether no write admitted under an earlier state is still running ("safe to migrate").
    #[serde(default = "yes")]
    pub drained: bool,
    /// The writes admitted under earlier states still running.
    #[serde(default)]
    pub writes_in_flight: u64,
    /// The operator's note on the last change, as the settings hold it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Who made the last change (`alice@web1`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub changed_by: Option<String>,
    /// When (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub changed_at: Option<String>,
    /// When maintenance has been on longer than `warn_after`.
    #[serde(default)]
    pub over_warn_after: bool,
    /// When the process started, in clock ticks after boot (`/proc/<pid>/stat`, field 22): a live
    /// state left behind by a process that died is then never taken for a later process that
    /// got the same pid. Absent where `/proc` cannot tell (and in files of earlier versions).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started: Option<u64>,
}

/// When process `pid` started, in clock ticks after boot (`/proc/<pid>/stat`, field 22); `None`
/// when `/proc` does not show it (no such process, another user's under `hidepid`, not Linux).
pub fn process_start_ticks(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    start_ticks_in(&stat)
}

/// Field 22 of a `/proc/<pid>/stat` line. The second field, the command name in parentheses,
/// may itself hold spaces and parentheses: the fields are counted after its last `)`.
fn start_ticks_in(stat: &str) -> Option<u64> {
    let after_name = &stat[stat.rfind(')')? + 1..];
    // Field 3 (the state) is the first after the name.
    after_name.split_whitespace().nth(22 - 3)?.parse().ok()
}

/// When this process started (see [`process_start_ticks`]), read once.
pub(crate) fn own_start_ticks() -> Option<u64> {
    static TICKS: std::sync::OnceLock<Option<u64>> = std::sync::OnceLock::new();
    *TICKS.get_or_init(|| process_start_ticks(std::process::id()))
}

fn yes() -> bool {
    true
}

/// The directory the live state of a process of user `uid` goes in, given its environment.
pub fn live_dir_from_env(uid: u32, var: impl Fn(&str) -> Option<String>) -> PathBuf {
    if let Some(dir) = var("RUNTIME_DIRECTORY")
        .and_then(|v| v.split(':').next().map(str::to_string))
        .filter(|d| !d.is_empty())
    {
        return PathBuf::from(dir);
    }
    if let Some(xdg) = var("XDG_RUNTIME_DIR").filter(|d| !d.is_empty()) {
        return Path::new(&xdg).join("rocket-maintenance");
    }
    std::env::temp_dir().join(format!("rocket-maintenance-{uid}"))
}

/// Where the live state of process `pid` of user `uid` is, given the environment it runs with.
pub fn live_path(pid: u32, uid: u32, var: impl Fn(&str) -> Option<String>) -> PathBuf {
    live_dir_from_env(uid, var).join(format!("{pid}.json"))
}

impl LiveState {
    /// Writes the file atomically.
    pub fn write(&self, path: &Path) -> Result<(), Error> {
        use std::os::unix::fs::{DirBuilderExt, MetadataExt};
        let dir = path.parent().unwrap_or(Path::new("."));
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .map_err(|e| Error::io(format!("creating {}", dir.display()), e))?;
        let owner = std::fs::metadata(dir)
            .map_err(|e| Error::io(format!("reading {}", dir.display()), e))?
            .uid();
        if owner != nix::unistd::getuid().as_raw() {
            return Err(Error::LiveState {
                path: path.to_path_buf(),
                reason: format!("refusing to write it: another user owns {}", dir.display()),
            });
        }
        let mut tmp = tempfile::NamedTempFile::new_in(dir)
            .map_err(|e| Error::io(format!("writing into {}", dir.display()), e))?;
        // One write: serde_json writes token by token, and each is a system call on a `File`.
        let mut text = serde_json::to_vec_pretty(self)
            .map_err(|e| Error::io(format!("writing {}", path.display()), e.into()))?;
        text.push(b'\n');
        tmp.write_all(&text)
            .map_err(|e| Error::io(format!("writing {}", path.display()), e))?;
        tmp.persist(path)
            .map_err(|e| Error::io(format!("renaming into {}", path.display()), e.error))?;
        Ok(())
    }

    /// Reads a live-state file, which must belong to user `owner` (the service's): a file
    /// planted by another user is refused.
    pub fn read_owned_by(path: &Path, owner: u32) -> Result<LiveState, Error> {
        use std::io::Read;
        use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
        // Opened without following a symlink and without blocking (a FIFO put there must not
        // hang the CLI); the checks are made on what was opened, and at most 1 MiB is read.
        let flags = nix::fcntl::OFlag::O_NOFOLLOW | nix::fcntl::OFlag::O_NONBLOCK;
        let file = std::fs::OpenOptions::new()
            .read(true)
            .custom_flags(flags.bits())
            .open(path)
            .map_err(|e| Error::io(format!("reading the live state {}", path.display()), e))?;
        let meta = file
            .metadata()
            .map_err(|e| Error::io(format!("reading the live state {}", path.display()), e))?;
        let refuse = |reason: String| Error::LiveState {
            path: path.to_path_buf(),
            reason,
        };
        if meta.uid() != owner {
            return Err(refuse(format!(
                "refusing it: it belongs to uid {}, not to the service's uid {owner}",
                meta.uid()
            )));
        }
        if !meta.is_file() || meta.len() > MAX_LIVE_BYTES {
            return Err(refuse(
                "refusing it: not a regular file of at most 1 MiB".into(),
            ));
        }
        let mut text = Vec::new();
        file.take(MAX_LIVE_BYTES)
            .read_to_end(&mut text)
            .map_err(|e| Error::io(format!("reading the live state {}", path.display()), e))?;
        // serde's message may quote the file: say where, not what.
        serde_json::from_slice(&text).map_err(|e| {
            refuse(format!(
                "is not a live state (line {}, column {})",
                e.line(),
                e.column()
            ))
        })
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
        serde_json::from_slice(&text).map_err(|e| Error::LiveState {
            path: path.to_path_buf(),
            reason: format!("is not valid: {e}"),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn start_ticks_are_field_22_whatever_the_command_name() {
        let fields = |name: &str| {
            format!(
                "4242 ({name}) S 1 4242 4242 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 987654 1000 5"
            )
        };
        assert_eq!(start_ticks_in(&fields("demo")), Some(987654));
        assert_eq!(start_ticks_in(&fields("a (b) c")), Some(987654));
        assert_eq!(start_ticks_in("4242 (cut"), None);
        let own = process_start_ticks(std::process::id());
        assert!(own.is_some_and(|t| t > 0), "this process: {own:?}");
        assert_eq!(own_start_ticks(), own);
    }

    fn sample() -> LiveState {
        LiveState {
            pid: 1,
            generation: 1,
            on: false,
            read_only: false,
            why: None,
            since: None,
            message: String::new(),
            config_path: None,
            profile: "default".into(),
            template_dir: PathBuf::from("templates"),
            status: "serving".into(),
            last_error: None,
            reloads: Vec::new(),
            fleet_generation: None,
            fleet_error: None,
            counts: CountsDoc::default(),
            drained: true,
            writes_in_flight: 0,
            reason: None,
            changed_by: None,
            changed_at: None,
            over_warn_after: false,
            started: Some(12345),
        }
    }

    #[test]
    fn a_file_of_another_user_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("1.json");
        sample().write(&path).unwrap();
        let me = nix::unistd::getuid().as_raw();
        assert_eq!(LiveState::read_owned_by(&path, me).unwrap(), sample());
        let err = LiveState::read_owned_by(&path, me + 1)
            .unwrap_err()
            .to_string();
        assert!(err.contains("refusing"), "{err}");
    }

    #[test]
    fn the_temp_fallback_is_per_user() {
        let dir = live_dir_from_env(4242, |_| None);
        assert!(
            dir.ends_with("rocket-maintenance-4242"),
            "{}",
            dir.display()
        );
        let run = live_dir_from_env(4242, |k| {
            (k == "RUNTIME_DIRECTORY").then(|| "/run/app:/run/b".into())
        });
        assert_eq!(run, PathBuf::from("/run/app"));
    }
}
