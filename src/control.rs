//! What an operator tool needs from the library: the `rocket-maintenance` CLI is built on this
//! module alone, and an admin tool of your own can be too.
//!
//! - [`check_config`]: validate a config file's text exactly as the fairing would at start or
//!   reload (including that the template exists and renders), and say what it configures;
//! - [`LiveState`] and [`live_path`]: the JSON file a running service keeps up to date, and where
//!   it is;
//! - [`redact_config_values`] and [`redacted`]: the one rule for hiding secrets;
//! - [`monotonic_usec`], [`generate_secret`], [`parse_duration`], [`parse_time`],
//!   [`format_time`]: small pieces the CLI shares with the service;
//! - `fleet` (cargo feature `fleet`): the store's operator side.
//!
//! ```
//! use rocket_maintenance::control::check_config;
//!
//! let text = "[default.maintenance]\nenabled = true\nmessage = \"Back at 3\"\n";
//! let conf = check_config(text, "/etc/app/Rocket.toml".as_ref(), "default", None).unwrap();
//! assert!(conf.on);
//! assert_eq!(conf.message, "Back at 3");
//!
//! let err = check_config("[default.maintenance]\nenabeld = true\n", "/etc/app/Rocket.toml".as_ref(), "default", None)
//!     .unwrap_err();
//! assert!(err.to_string().contains("maintenance.enabeld"));
//! assert!(err.to_string().contains("/etc/app/Rocket.toml"));
//! ```

use std::path::{Path, PathBuf};
use std::time::SystemTime;

use figment::providers::{Format as _, Toml};
use figment::Figment;
use serde::Serialize;

use crate::error::Error;
use crate::load::load;

/// The fleet store's operator side (cargo feature `fleet`): validate a switch, write the record
/// and wait for every live instance, read the record and the instances.
#[cfg(feature = "fleet")]
#[cfg_attr(docsrs, doc(cfg(feature = "fleet")))]
pub mod fleet {
    pub use crate::fleet::{
        status, switch, FleetConfig, Heartbeat, Record, Switch, SwitchReport, DEFAULT_POLL,
        DEFAULT_TIMEOUT,
    };
}
pub use crate::audit::MESSAGE_ID;
pub use crate::counts::{CountsDoc, Passed};
pub use crate::live_file::{
    live_dir_from_env, live_path, process_start_ticks, LiveState, ReloadAttempt,
};
pub use crate::notify::{monotonic_usec, sanitize_status};
pub use crate::policy::generate_secret;
pub use crate::redact::{redact_config_values, redacted, SECRET_KEYS};
pub use crate::settings::format_time;

/// The configured (not live) state of a config file for a profile.
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct Configured {
    /// Whether maintenance is on: `enabled`, or a window active now.
    pub on: bool,
    /// `enabled` as set.
    pub enabled: bool,
    /// Whether a window is active now.
    pub window_active: bool,
    /// Whether a window is set that starts later.
    pub window_planned: bool,
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

/// Validates `text`, the contents of the Rocket-style config file at `path`, for `profile`,
/// exactly as the fairing validates it (without the environment), and returns what it
/// configures. `template_dir`: the service's own (from its live state); else the file's
/// `template_dir`, relative to the file's directory, else `templates` in the working directory.
///
/// The text is validated in memory: the bytes checked are the bytes a caller then writes. Errors
/// name `path` and never show a secret.
pub fn check_config(
    text: &str,
    path: &Path,
    profile: &str,
    template_dir: Option<&Path>,
) -> Result<Configured, Error> {
    let located = |e: Error| relocate(e, path).redact_config(text);
    let mut figment = Figment::from(rocket::Config::default())
        .merge(Toml::string(text).nested())
        .select(profile);
    let dir = match template_dir {
        Some(dir) => Some(dir.to_path_buf()),
        None => figment
            .extract_inner::<PathBuf>("template_dir")
            .ok()
            .map(|d| match path.parent() {
                Some(parent) if d.is_relative() => parent.join(d),
                _ => d,
            }),
    };
    if let Some(dir) = dir {
        figment = figment.merge(("template_dir", dir));
    }
    let loaded = load(&figment, None).map_err(located)?;
    let p = &loaded.policy;
    let now = SystemTime::now();
    Ok(Configured {
        on: p.active_at(now).is_some(),
        enabled: p.enabled,
        window_active: p.window_active(now),
        window_planned: p.starts_at.is_some_and(|start| start > now),
        read_only: p.read_only,
        message: p.message.clone(),
        starts_at: p.starts_at.map(format_time),
        ends_at: p.ends_at.map(format_time),
        has_bypass_secret: p.has_bypass_secret(),
    })
}

/// An error about an in-memory text, told as being about the file it came from.
fn relocate(mut e: Error, path: &Path) -> Error {
    let file = path.display().to_string();
    match &mut e {
        Error::Setting { origin, .. } => {
            let from_text = |o: &String| o.starts_with("TOML") || o.contains("source string");
            if origin.as_ref().is_none_or(from_text) {
                *origin = Some(file);
            }
        }
        Error::Config { origin, .. } => *origin = Some(file),
        _ => {}
    }
    e
}

/// Parses a duration as written in settings and on the command line: `"900"`, `"15m"`,
/// `"1h 30m"`.
///
/// ```
/// use std::time::Duration;
/// assert_eq!(rocket_maintenance::control::parse_duration("1h 30m").unwrap(), Duration::from_secs(5400));
/// assert!(rocket_maintenance::control::parse_duration("soon").is_err());
/// ```
pub fn parse_duration(text: &str) -> Result<std::time::Duration, Error> {
    crate::settings::parse_duration(text).map_err(|reason| Error::Value {
        value: text.to_string(),
        reason,
    })
}

/// Parses an RFC 3339 time (`2026-11-25T03:00:00Z`, offsets allowed).
pub fn parse_time(text: &str) -> Result<SystemTime, Error> {
    crate::settings::parse_time(text).map_err(|reason| Error::Value {
        value: text.to_string(),
        reason,
    })
}
