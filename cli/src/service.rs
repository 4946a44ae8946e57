//! A running service: find its live state, ask it to reload, and wait until it has.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use rocket_maintenance::control::{live_path, monotonic_usec, process_start_ticks, LiveState};

use crate::Error;

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
        return Err(Error::Service(format!(
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
                    return Err(Error::Service(format!("unit {unit} is not running")));
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

    /// The service's user: the owner of its `/proc` entry. Where /proc hides the process
    /// (`ProtectProc=invisible` in the unit, as seen by its own `ExecReload=`), the CLI runs as
    /// that user anyway: its own. A process that is gone is an error.
    fn uid(pid: u32) -> Result<u32, Error> {
        use std::os::unix::fs::MetadataExt;
        if let Ok(m) = std::fs::metadata(format!("/proc/{pid}")) {
            return Ok(m.uid());
        }
        let target = nix::unistd::Pid::from_raw(i32::try_from(pid).unwrap_or(i32::MAX));
        match nix::sys::signal::kill(target, None) {
            Err(nix::errno::Errno::ESRCH) => Err(Error::Service(format!(
                "process {pid} is gone: the service is not running"
            ))),
            Err(nix::errno::Errno::EPERM) => Err(Error::Service(format!(
                "process {pid} belongs to another user and /proc hides it; run the CLI as the \
                 service's user, or give --config PATH"
            ))),
            _ => Ok(nix::unistd::getuid().as_raw()),
        }
    }

    /// Reads the service's live state, refusing a file that is not the service user's or that
    /// names another process.
    pub fn live_state(&self) -> Result<LiveState, Error> {
        self.live().map(|(live, _)| live)
    }

    /// The live state and the uid of the user who wrote it (the service's).
    pub fn live(&self) -> Result<(LiveState, u32), Error> {
        let pid = self.pid()?;
        let uid = Service::uid(pid)?;
        let candidates = self.live_candidates(pid, uid)?;
        for path in &candidates {
            if path.is_file() {
                let live = LiveState::read_owned_by(path, uid)?;
                if live.pid != pid {
                    return Err(Error::Service(format!(
                        "the live state {} names process {}, not {pid}; refusing it",
                        path.display(),
                        live.pid
                    )));
                }
                // A file left behind by a process that died, and a later process that got its
                // pid: never signalled (SIGHUP ends most programs), never reported live.
                if let (Some(recorded), Some(running)) = (live.started, process_start_ticks(pid)) {
                    if recorded != running {
                        return Err(Error::Service(format!(
                            "the live state {} was left by an earlier process {pid} (started at \
                             tick {recorded}; the process {pid} now is another one, started at \
                             tick {running}): the service is not running; refusing it",
                            path.display()
                        )));
                    }
                }
                return Ok((live, uid));
            }
        }
        Err(Error::Service(format!(
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
        let asked = monotonic_usec();
        match self {
            Service::Pid(pid) => {
                let pid = i32::try_from(*pid)
                    .map_err(|_| Error::Usage(format!("{pid} is not a process id")))?;
                nix::sys::signal::kill(
                    nix::unistd::Pid::from_raw(pid),
                    nix::sys::signal::Signal::SIGHUP,
                )
                .map_err(|e| Error::errno(format!("sending SIGHUP to {pid}"), e))?;
            }
            Service::Unit(unit) => {
                let status = std::process::Command::new("systemctl")
                    .args(["reload", unit])
                    .status()
                    .map_err(|e| Error::io("running systemctl reload", e))?;
                if !status.success() {
                    // On systemd < 253 our ExecReload reports a failed reload this way; the live
                    // state below says why.
                    let _ = status;
                }
            }
        }
        loop {
            if let Ok(live) = self.live_state() {
                if let Some(attempt) = live.reloads.iter().rev().find(|a| a.started_usec >= asked) {
                    return match &attempt.error {
                        None => Ok(live),
                        Some(e) => Err(Error::ReloadFailed(e.clone())),
                    };
                }
            }
            if Instant::now() >= deadline {
                return Err(Error::NoAnswer(timeout));
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}
