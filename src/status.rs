//! [`MaintenanceStatus`]: the live state as app code, templates and subscribers see it.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use serde::ser::SerializeStruct;

use crate::policy::Why;
use crate::settings::{format_time, RetryAfter};
use crate::state::State;

/// The live maintenance state, as a request guard and as the handle's answer.
///
/// Cheap to clone (a reference count). In a handler or template it tells whether maintenance is
/// on, why, the message, when to come back, and an upcoming window (to show a banner before a
/// planned window). It serializes (for a template context, or JSON) to these fields, whose names
/// differ from some methods':
///
/// | field | type | method |
/// | --- | --- | --- |
/// | `on` | bool | [`is_on`](Self::is_on) |
/// | `read_only` | bool | [`is_read_only`](Self::is_read_only) |
/// | `why` | `"file"`, `"window"`, `"fleet"` or null | [`reason`](Self::reason) |
/// | `message` | string | [`message`](Self::message) |
/// | `retry_after` | seconds or null | [`retry_after`](Self::retry_after) |
/// | `retry_at` | RFC 3339 or null | [`retry_at`](Self::retry_at) |
/// | `since` | RFC 3339 or null | [`since`](Self::since) |
/// | `upcoming` | `{"starts_at": …, "ends_at": …}` or null | [`upcoming`](Self::upcoming) |
/// | `generation` | integer | [`generation`](Self::generation) |
///
/// A banner in a handlebars template: `{{#if maintenance.upcoming}}Maintenance from
/// {{maintenance.upcoming.starts_at}}{{/if}}` (with the status in the context as `maintenance`).
///
/// As a request guard it never fails, and it reads the request's one snapshot of the state:
/// every reader of a request (this guard, `ForceOn`, the maintenance response) sees the same
/// state. The first reader takes it; when `on_request` keeps nothing (a read let through while
/// off, a request held back), the decision was made on the state in force just before. It is a
/// [`Sentinel`](rocket::Sentinel): a route that uses it stops the launch if
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
