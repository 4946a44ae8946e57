//! The live state: what one request sees, built from loaded settings at an instant.
//!
//! A [`State`] is immutable; the engine swaps a whole new one in atomically on every change (a
//! reload, a window edge), so one request never sees a mix of two states.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use serde::ser::SerializeStruct;

use crate::error::Error;
use crate::page::{Pages, Renderer};
use crate::policy::{Policy, Why};
use crate::settings::{format_time, RetryAfter};

/// Settings as loaded from one figment: the compiled policy and the page renderer, plus where
/// they came from.
#[derive(Debug)]
pub(crate) struct Loaded {
    /// The settings as written, for overlaying a fleet record's switch keys.
    #[cfg_attr(not(feature = "fleet"), allow(dead_code))]
    pub settings: crate::settings::Settings,
    pub policy: Policy,
    /// The `[maintenance.fleet]` table, compiled.
    #[cfg(feature = "fleet")]
    pub fleet: Option<crate::fleet::FleetConfig>,
    pub renderer: Renderer,
    pub config_path: Option<PathBuf>,
    pub template_dir: PathBuf,
}

/// A fleet record's switch keys laid over the file's settings, compiled.
#[derive(Debug)]
pub(crate) struct Overlay {
    /// The record's generation in the store.
    pub generation: u64,
    /// The whole record as read, to tell two records apart: a store restarted without
    /// persistence counts generations from 1 again.
    pub identity: String,
    /// The record's switch keys.
    pub keys: crate::settings::SwitchKeys,
    /// The file's settings with the record's switch keys.
    pub policy: Policy,
}

impl Overlay {
    /// Compiles the record's switch keys over `file`.
    pub fn compile(
        generation: u64,
        identity: String,
        keys: crate::settings::SwitchKeys,
        file: &crate::settings::Settings,
    ) -> Result<Overlay, Error> {
        let policy = Policy::compile(keys.over(file))?;
        Ok(Overlay {
            generation,
            identity,
            keys,
            policy,
        })
    }

    /// The same record over new file settings (after a reload).
    pub fn over(&self, file: &crate::settings::Settings) -> Result<Overlay, Error> {
        Overlay::compile(
            self.generation,
            self.identity.clone(),
            self.keys.clone(),
            file,
        )
    }
}

/// One immutable state of maintenance.
#[derive(Debug)]
pub(crate) struct State {
    pub generation: u64,
    pub loaded: Arc<Loaded>,
    /// The fleet record in force, if any.
    pub overlay: Option<Arc<Overlay>>,
    /// Whether the record's switch keys decide (the file is off and the record is on).
    pub from_overlay: bool,
    pub active: Option<Why>,
    /// When maintenance turned on (as this process saw it), while it is on.
    pub since: Option<SystemTime>,
    pub pages: Pages,
    /// The instant this state was computed for; edges after it are still to come.
    pub built_at: SystemTime,
}

impl State {
    /// Builds the state for `loaded` at `now`, continuing `previous` (its `since`).
    ///
    /// Precedence: the file's switch keys apply when the file is on (by `enabled` or its window);
    /// else the fleet record's when the record is on; else the file's.
    pub fn build(
        loaded: Arc<Loaded>,
        overlay: Option<Arc<Overlay>>,
        now: SystemTime,
        generation: u64,
        previous: Option<&State>,
    ) -> Result<State, Error> {
        let file_on = loaded.policy.active_at(now);
        let fleet_on = overlay.as_ref().and_then(|o| o.policy.active_at(now));
        let (from_overlay, active) = match (file_on, fleet_on) {
            (Some(why), _) => (false, Some(why)),
            (None, Some(_)) => (true, Some(Why::Fleet)),
            (None, None) => (false, None),
        };
        let policy = match (&overlay, from_overlay) {
            (Some(o), true) => &o.policy,
            _ => &loaded.policy,
        };
        let pages = loaded.renderer.render(policy, now)?;
        let since = match (active, previous.and_then(|p| p.since)) {
            (None, _) => None,
            (Some(_), Some(since)) => Some(since),
            (Some(Why::Window), None) => policy.starts_at.or(Some(now)),
            (Some(_), None) => Some(now),
        };
        Ok(State {
            generation,
            loaded,
            overlay,
            from_overlay,
            active,
            since,
            pages,
            built_at: now,
        })
    }

    /// The policy in force: the file's, or the file's with the fleet record's switch keys.
    pub fn policy(&self) -> &Policy {
        match (&self.overlay, self.from_overlay) {
            (Some(o), true) => &o.policy,
            _ => &self.loaded.policy,
        }
    }

    /// The next instant at which this state changes by itself (a window edge of the file or of
    /// the record, a `retry_after` time passing).
    pub fn next_edge(&self, now: SystemTime) -> Option<SystemTime> {
        let file = self.loaded.policy.next_edge(now);
        let fleet = self.overlay.as_ref().and_then(|o| o.policy.next_edge(now));
        file.into_iter().chain(fleet).min()
    }

    /// The one-line summary systemd shows as the unit's status (before sanitising).
    pub fn summary(&self) -> String {
        let p = self.policy();
        match self.active {
            Some(_) => format!(
                "{}maintenance on since {}: {}",
                if p.read_only { "read-only " } else { "" },
                self.since.map(format_time).unwrap_or_default(),
                p.message
            ),
            None => match (p.starts_at, p.ends_at) {
                (Some(start), end) if start > SystemTime::now() => format!(
                    "serving; maintenance window from {}{}",
                    format_time(start),
                    end.map(|e| format!(" to {}", format_time(e)))
                        .unwrap_or_default()
                ),
                _ => "serving".to_string(),
            },
        }
    }
}

/// The live maintenance state, as a request guard and as the handle's answer.
///
/// Cheap to clone (a reference count). In a handler or template it tells whether maintenance is
/// on, why, the message, when to come back, and an upcoming window (to show a banner before a
/// planned window). It serializes to a map with the same names, so it can go straight into a
/// template context.
///
/// As a request guard it never fails, and it reads the same snapshot the fairing decided on. It
/// is a [`Sentinel`](rocket::Sentinel): a route that uses it stops the launch if
/// `Maintenance::fairing()` is not attached.
///
/// ```
/// # #[macro_use] extern crate rocket;
/// use rocket_maintenance::MaintenanceStatus;
///
/// #[get("/")]
/// fn index(status: MaintenanceStatus) -> String {
///     match status.upcoming() {
///         Some((start, _)) => format!("Maintenance planned at {start:?}"),
///         None if status.is_on() => "We are in maintenance".into(),
///         None => "All good".into(),
///     }
/// }
/// ```
#[derive(Clone)]
pub struct MaintenanceStatus(pub(crate) Arc<State>);

impl MaintenanceStatus {
    /// Whether maintenance is on (by `enabled` or an active window).
    pub fn is_on(&self) -> bool {
        self.0.active.is_some()
    }

    /// Whether maintenance is read-only: reads pass, writes are held back.
    pub fn is_read_only(&self) -> bool {
        self.0.policy().read_only
    }

    /// Why maintenance is on: `"file"` (`enabled = true`), `"window"` (a scheduled window), or
    /// `"fleet"` (the fleet record); `None` when off.
    pub fn reason(&self) -> Option<&'static str> {
        self.0.active.map(|w| match w {
            Why::File => "file",
            Why::Window => "window",
            Why::Fleet => "fleet",
        })
    }

    /// The message shown on the page.
    pub fn message(&self) -> &str {
        &self.0.policy().message
    }

    /// A fixed `retry_after` delay, when one is set.
    pub fn retry_after(&self) -> Option<Duration> {
        match self.0.policy().retry {
            Some(RetryAfter::Delay(d)) => Some(d),
            _ => None,
        }
    }

    /// When to come back, when it is an instant: a `retry_after` time, or the end of the window.
    pub fn retry_at(&self) -> Option<SystemTime> {
        match self.0.policy().retry {
            Some(RetryAfter::At(t)) => Some(t),
            Some(RetryAfter::Delay(_)) => None,
            None => self.0.policy().ends_at,
        }
    }

    /// When maintenance turned on, while it is on.
    pub fn since(&self) -> Option<SystemTime> {
        self.0.since
    }

    /// A scheduled window that has not started yet: `(starts_at, ends_at)`.
    pub fn upcoming(&self) -> Option<(SystemTime, Option<SystemTime>)> {
        let p = self.0.policy();
        match p.starts_at {
            Some(start) if self.0.active.is_none() && start > SystemTime::now() => {
                Some((start, p.ends_at))
            }
            _ => None,
        }
    }

    /// The HTTP status of the maintenance response.
    pub fn status_code(&self) -> u16 {
        self.0.pages.status
    }

    /// Counts the states this process has applied: 1 at start, +1 at each change.
    pub fn generation(&self) -> u64 {
        self.0.generation
    }
}

impl std::fmt::Debug for MaintenanceStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MaintenanceStatus")
            .field("on", &self.is_on())
            .field("read_only", &self.is_read_only())
            .field("message", &self.message())
            .field("generation", &self.generation())
            .finish()
    }
}

impl serde::Serialize for MaintenanceStatus {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut st = s.serialize_struct("MaintenanceStatus", 9)?;
        st.serialize_field("on", &self.is_on())?;
        st.serialize_field("read_only", &self.is_read_only())?;
        st.serialize_field("why", &self.reason())?;
        st.serialize_field("message", self.message())?;
        st.serialize_field("retry_after", &self.retry_after().map(|d| d.as_secs()))?;
        st.serialize_field("retry_at", &self.retry_at().map(format_time))?;
        st.serialize_field("since", &self.since().map(format_time))?;
        st.serialize_field(
            "upcoming",
            &self.upcoming().map(|(start, end)| {
                serde_json::json!({ "starts_at": format_time(start), "ends_at": end.map(format_time) })
            }),
        )?;
        st.serialize_field("generation", &self.generation())?;
        st.end()
    }
}
