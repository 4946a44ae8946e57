//! The rules of `on`, `off` and `status`: which file and profile, what to write, what to check
//! once the service has applied it. The binary parses arguments and prints what these return.

use std::path::{Path, PathBuf};
use std::time::Duration;

use rocket_maintenance::control::{Configured, LiveState};

use crate::edit::{configured, edit_config, Change, EditReport};
use crate::safety::{groups_of, service_may_use};
use crate::service::Service;
use crate::Error;

/// Where a command acts: the config file and profile, and the running service when one is named.
#[derive(Debug)]
pub struct Target {
    /// The config file.
    pub config: PathBuf,
    /// The profile.
    pub profile: String,
    /// The template directory to validate with: the service's own, when trusted.
    pub template_dir: Option<PathBuf>,
    /// The running service (`--pid`/`--unit`).
    pub service: Option<Service>,
    /// Its live state.
    pub live: Option<LiveState>,
}

/// Resolves where to act. With a service, `--config` and `--profile` default to the service's
/// own (from its live state), and a path from a live state written by another user is used only
/// when that user can read the file but not change it or its directory. Without a service:
/// `$ROCKET_CONFIG`, else `./Rocket.toml`; `$ROCKET_PROFILE`, else `default`.
pub fn resolve(
    config: Option<PathBuf>,
    profile: Option<String>,
    service: Option<Service>,
) -> Result<Target, Error> {
    let (live, writer) = match &service {
        Some(s) => {
            let (live, uid) = s.live()?;
            (Some(live), Some(uid))
        }
        None => (None, None),
    };
    let foreign = writer.filter(|uid| *uid != nix::unistd::geteuid().as_raw());
    let trusted = |path: &Path, what: &str| -> Result<(), Error> {
        let Some(uid) = foreign else {
            return Ok(());
        };
        let gids = groups_of(uid, live.as_ref().map(|l| l.pid));
        service_may_use(path, uid, &gids).map_err(|why| {
            Error::Service(format!(
                "not using the {what} {} named by the service's live state: {why}; pass --config \
                 PATH",
                path.display()
            ))
        })
    };
    let (config, template_dir) = match (config, &live) {
        (Some(c), _) => (c, None),
        (None, Some(live)) => {
            let config = live.config_path.clone().ok_or_else(|| {
                Error::Service("the service read no config file; pass --config PATH".into())
            })?;
            trusted(&config, "config file")?;
            trusted(&live.template_dir, "template directory")?;
            (config, Some(live.template_dir.clone()))
        }
        (None, None) => (
            std::env::var_os("ROCKET_CONFIG")
                .map(PathBuf::from)
                .unwrap_or_else(|| PathBuf::from("Rocket.toml")),
            None,
        ),
    };
    let profile = match (profile, &live) {
        (Some(p), _) => p,
        (None, Some(live)) => live.profile.clone(),
        (None, None) => std::env::var("ROCKET_PROFILE").unwrap_or_else(|_| "default".into()),
    };
    Ok(Target {
        config,
        profile,
        template_dir,
        service,
        live,
    })
}

impl Target {
    /// The configured state of the target's file.
    pub fn configured(&self) -> Result<Configured, Error> {
        configured(&self.config, &self.profile, self.template_dir.as_deref())
    }
}

/// `on`: full maintenance unless `read_only` is asked. `on` without `--read-only` means full
/// maintenance, also after an earlier `on --read-only`: `read_only = false` is then written, and
/// only then. A scheduled `on` (`starts_at`) writes the window and leaves `enabled` as it is.
pub fn on_change(target: &Target, mut change: Change, read_only: bool) -> Change {
    let was_read_only = target.configured().is_ok_and(|c| c.read_only);
    change.read_only = (read_only || was_read_only).then_some(read_only);
    change.enabled = change.starts_at.is_none().then_some(true);
    change
}

/// `off`: `enabled = false`, and removes a window that is active now; with `all`, also one
/// planned for later. Returns the change and a line saying what it removes.
pub fn off_change(target: &Target, all: bool) -> Result<(Change, Option<String>), Error> {
    let before = target.configured()?;
    let window = before.starts_at.is_some() || before.ends_at.is_some();
    let remove = before.window_active || (all && window);
    let note = remove.then(|| {
        format!(
            "{} window ({} to {}): removing it",
            if before.window_active {
                "a scheduled window is active now"
            } else {
                "a window is planned"
            },
            before.starts_at.as_deref().unwrap_or("?"),
            before.ends_at.as_deref().unwrap_or("open end")
        )
    });
    let note = match (note, before.window_planned && !all) {
        (None, true) => Some(format!(
            "a window is still planned from {}; `off --all` removes it",
            before.starts_at.as_deref().unwrap_or("?")
        )),
        (note, _) => note,
    };
    Ok((
        Change {
            enabled: Some(false),
            remove: if remove {
                vec!["starts_at", "ends_at"]
            } else {
                Vec::new()
            },
            ..Change::default()
        },
        note,
    ))
}

/// Edits the target's file.
pub fn edit(target: &Target, change: &Change, timeout: Duration) -> Result<EditReport, Error> {
    edit_config(
        &target.config,
        &target.profile,
        target.template_dir.as_deref(),
        change,
        timeout,
    )
}

/// With a service: reloads it and checks its live state shows `want_on` (not checked for a
/// scheduled window: `None`). Without one: `None`.
pub fn reload(
    target: &Target,
    report: &EditReport,
    timeout: Duration,
    want_on: Option<bool>,
) -> Result<Option<LiveState>, Error> {
    let Some(service) = &target.service else {
        return Ok(None);
    };
    let live = service.reload_and_wait(timeout)?;
    if want_on.is_some_and(|want| live.on != want) {
        return Err(Error::Service(format!(
            "the service applied the reload but reports maintenance {} (why: {}): something other \
             than {} overrides it, e.g. ROCKET_MAINTENANCE in the service's environment",
            on_off(live.on),
            live.why.as_deref().unwrap_or("none"),
            report.path.display()
        )));
    }
    Ok(Some(live))
}

/// `"on"` or `"off"`.
pub fn on_off(on: bool) -> &'static str {
    if on {
        "on"
    } else {
        "off"
    }
}

/// Who made a change, for the audit: `$SUDO_USER`, else the login name of the real user, then
/// `@` and the short host name (`alice@web1`).
pub fn changed_by() -> String {
    let user = std::env::var("SUDO_USER")
        .ok()
        .filter(|u| !u.is_empty())
        .or_else(|| {
            nix::unistd::User::from_uid(nix::unistd::getuid())
                .ok()
                .flatten()
                .map(|u| u.name)
        })
        .unwrap_or_else(|| format!("uid{}", nix::unistd::getuid()));
    let host = nix::unistd::gethostname()
        .ok()
        .and_then(|h| h.into_string().ok())
        .unwrap_or_default();
    let short = host.split('.').next().unwrap_or_default();
    format!("{user}@{short}")
}

/// The window an `on` writes: `--for`/`--until` (from now; maintenance ends on its own), or
/// `--starts-at`/`--ends-at` (a window planned for later), or none.
#[derive(Debug, Clone, Default)]
pub struct Window {
    /// `starts_at` to write.
    pub starts_at: Option<String>,
    /// `ends_at` to write.
    pub ends_at: Option<String>,
    /// A scheduled `on`: `enabled` is left as it is.
    pub scheduled: bool,
    /// `--for`/`--until`: starts now, ends on its own (`enabled = false`).
    pub expires: bool,
}

/// Checks and resolves `--for`, `--until`, `--starts-at` and `--ends-at`.
pub fn window(
    for_: Option<Duration>,
    until: Option<&str>,
    starts_at: Option<String>,
    ends_at: Option<String>,
) -> Result<Window, Error> {
    use rocket_maintenance::control::{format_time, parse_time};
    let now = std::time::SystemTime::now();
    let end = match (for_, until) {
        (Some(_), Some(_)) => return Err(Error::Usage("give --for or --until, not both".into())),
        (Some(d), None) => Some(now + d),
        (None, Some(t)) => {
            let t = parse_time(t)?;
            if t <= now {
                return Err(Error::Usage(format!(
                    "--until {} is not in the future",
                    format_time(t)
                )));
            }
            Some(t)
        }
        (None, None) => None,
    };
    match end {
        Some(_) if starts_at.is_some() || ends_at.is_some() => Err(Error::Usage(
            "--for/--until write a window from now: they do not go with --starts-at/--ends-at"
                .into(),
        )),
        Some(end) => Ok(Window {
            starts_at: Some(format_time(now)),
            ends_at: Some(format_time(end)),
            scheduled: true,
            expires: true,
        }),
        None => Ok(Window {
            scheduled: starts_at.is_some(),
            starts_at,
            ends_at,
            expires: false,
        }),
    }
}

/// The audit keys every `on`/`off` writes: `reason` (removed when not given), `changed_by` and
/// `changed_at` (now).
pub fn audit(change: &mut Change, reason: Option<String>) {
    if reason.is_none() {
        change.remove.push("reason");
    }
    change.reason = reason;
    change.changed_by = Some(changed_by());
    change.changed_at = Some(rocket_maintenance::control::format_time(
        std::time::SystemTime::now(),
    ));
}

/// `--drain`: waits until the service reports that no write admitted under an earlier state is
/// still running, at most `timeout`.
pub fn drain(target: &Target, timeout: Duration) -> Result<(), Error> {
    let Some(service) = &target.service else {
        return Err(Error::Usage(
            "--drain needs --pid PID or --unit UNIT".into(),
        ));
    };
    let deadline = std::time::Instant::now() + timeout;
    loop {
        let live = service.live_state()?;
        if live.drained {
            return Ok(());
        }
        if std::time::Instant::now() >= deadline {
            return Err(Error::Service(format!(
                "{} write(s) admitted before maintenance are still running after {}; the \
                 service is in maintenance, but it is not yet safe to migrate",
                live.writes_in_flight,
                humantime::format_duration(timeout)
            )));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}
