//! What the engine tells the world: the `STATUS=` line and the live-state file.

use super::{Engine, Journal};
use crate::live_file::LiveState;
use crate::notify;
use crate::settings::format_time;
use crate::state::State;
use crate::status::MaintenanceStatus;

impl Engine {
    /// Rewrites the live state (counts, drain) as it stands, and `STATUS=` when `status` (the
    /// `warn_after` suffix changed): the once-a-second ticker calls it when something changed.
    pub fn refresh_live(&self, status: bool) {
        let mut journal = self.lock();
        self.write_live_file(&mut journal);
        if status {
            notify::status(&self.status_of(&self.current(), &journal));
        }
    }

    pub(super) fn status_of(&self, state: &State, journal: &Journal) -> String {
        let mut line = self.status_line(state, journal.last_error.as_deref());
        if let Some(on_for) = over_warn_after(state) {
            line = format!("{line} (on for {on_for}, over warn_after)");
        }
        match &journal.fleet_error {
            Some(e) => format!("{line}; fleet store failing, state kept: {e}"),
            None => line,
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

    pub(super) fn write_live_file(&self, journal: &mut Journal) {
        if !journal.published {
            return;
        }
        let state = self.current();
        let p = state.policy();
        let writes_in_flight = self.older_writes_in_flight();
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
            counts: state.counts.document(),
            writes_in_flight,
            drained: writes_in_flight == 0,
            reason: p.audit.reason.clone(),
            changed_by: p.audit.changed_by.clone(),
            changed_at: p.audit.changed_at.clone(),
            over_warn_after: over_warn_after(&state).is_some(),
            started: crate::live_file::own_start_ticks(),
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
}

/// How long maintenance has been on (`5h 12m`), when that is longer than `warn_after`.
pub(crate) fn over_warn_after(state: &State) -> Option<String> {
    let warn_after = state.policy().warn_after?;
    let on_for = std::time::SystemTime::now()
        .duration_since(state.since?)
        .ok()?;
    (on_for > warn_after).then(|| {
        let minutes = on_for.as_secs() / 60;
        match (minutes / 60, minutes % 60) {
            (0, m) => format!("{m}m"),
            (h, 0) => format!("{h}h"),
            (h, m) => format!("{h}h {m}m"),
        }
    })
}
