//! One line in the log, and one structured journal entry, at every change of state: who turned
//! maintenance on or off, when, why, and from where.
//!
//! The journal entry has the fixed `MESSAGE_ID` below, so `journalctl MESSAGE_ID=<id>` lists every
//! flip of every app that uses the crate, with the fields `MAINTENANCE_STATE` (`on`, `off`,
//! `read_only`), `MAINTENANCE_SOURCE` (`file`, `window`, `fleet`), `MAINTENANCE_GENERATION`,
//! `MAINTENANCE_REASON` and `MAINTENANCE_CHANGED_BY`. It is sent only when the process's stderr is
//! the journal (`JOURNAL_STREAM` names stderr's device and inode, as under systemd).

use crate::policy::Why;
use crate::redact::escape_controls;
use crate::state::State;

/// The `MESSAGE_ID` of every change of state.
pub const MESSAGE_ID: &str = "e778860731f74ab6b0fbfa55ee2013dc";

/// `on`, `off` or `read_only`.
pub(crate) fn mode(state: &State) -> &'static str {
    match (state.active.is_some(), state.policy().read_only) {
        (false, _) => "off",
        (true, true) => "read_only",
        (true, false) => "on",
    }
}

/// What decided the new state: the file, a window, or the fleet record.
fn source(old: &State, new: &State) -> &'static str {
    let why = new.active.or(old.active);
    match why {
        Some(Why::Window) => "window",
        Some(Why::Fleet) => "fleet",
        _ if old.from_overlay || new.from_overlay => "fleet",
        _ => "file",
    }
}

/// Tells the log (and the journal) when `old` to `new` changes the mode.
pub(crate) fn state_changed(old: &State, new: &State) {
    let state = mode(new);
    if mode(old) == state {
        return;
    }
    let source = source(old, new);
    let audit = &new.policy().audit;
    let mut line = format!(
        "maintenance {state} (generation {}, from the {source})",
        new.generation
    );
    if let Some(by) = &audit.changed_by {
        line.push_str(&format!(" by {}", escape_controls(by)));
    }
    if let Some(reason) = &audit.reason {
        line.push_str(&format!(": {}", escape_controls(reason)));
    }
    tracing::info!("{line}");
    if systemd_journal_logger::connected_to_journal() {
        send_to_journal(&line, state, source, new);
    }
}

fn send_to_journal(line: &str, state: &str, source: &str, new: &State) {
    let audit = &new.policy().audit;
    let fields = [
        ("MESSAGE_ID", MESSAGE_ID.to_string()),
        ("MAINTENANCE_STATE", state.to_string()),
        ("MAINTENANCE_SOURCE", source.to_string()),
        ("MAINTENANCE_GENERATION", new.generation.to_string()),
        (
            "MAINTENANCE_REASON",
            audit.reason.clone().unwrap_or_default(),
        ),
        (
            "MAINTENANCE_CHANGED_BY",
            audit.changed_by.clone().unwrap_or_default(),
        ),
    ];
    let sent = systemd_journal_logger::JournalLog::new().and_then(|journal| {
        journal.with_extra_fields(fields).journal_send(
            &log::Record::builder()
                .args(format_args!("{line}"))
                .level(log::Level::Info)
                .target("rocket_maintenance")
                .build(),
        )
    });
    if let Err(e) = sent {
        tracing::warn!("maintenance: cannot write the change of state to the journal: {e}");
    }
}
