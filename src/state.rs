//! The live state: what one request sees, built from loaded settings at an instant.
//!
//! A [`State`] is immutable; the engine swaps a whole new one in atomically on every change (a
//! reload, a window edge), so one request never sees a mix of two states.

use std::sync::Arc;
use std::time::SystemTime;

use crate::counts::Counts;
use crate::error::Error;
use crate::load::Loaded;
use crate::page::Pages;
use crate::policy::{Policy, Why};
use crate::settings::format_time;

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
    /// What this state has done (while on), and its writes in flight.
    pub counts: Counts,
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
            counts: Counts::default(),
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
                crate::redact::escape_controls(&p.message)
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
