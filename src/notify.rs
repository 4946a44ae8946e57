//! systemd notifications (`sd_notify`), thin and never fatal.
//!
//! With no `NOTIFY_SOCKET` every call is a no-op. A failed send is logged, never propagated.
//!
//! # Limitations
//!
//! - `RELOADING=1` must be followed by `MONOTONIC_USEC=` in the same datagram for
//!   `Type=notify-reload` (systemd >= 253); older systemd ignores both, harmlessly.
//! - `STATUS=` must be one line: the text is sanitised (control characters become spaces, so a
//!   newline in a message cannot inject `READY=1`) and cut to 200 characters.

use sd_notify::NotifyState;

/// The longest `STATUS=` text sent.
pub const STATUS_MAX_CHARS: usize = 200;

/// Makes `text` safe for one `STATUS=` line.
pub fn sanitize_status(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(STATUS_MAX_CHARS)
        .collect()
}

fn send(states: &[NotifyState<'_>]) {
    if let Err(e) = sd_notify::notify(states) {
        tracing::warn!("sd_notify failed (is NOTIFY_SOCKET right?): {e}");
    }
}

/// `READY=1` with the status line.
pub(crate) fn ready(status: &str) {
    let status = sanitize_status(status);
    send(&[NotifyState::Ready, NotifyState::Status(&status)]);
}

/// `RELOADING=1` and `MONOTONIC_USEC=` in one datagram.
pub(crate) fn reloading(monotonic_usec: u64) {
    send(&[
        NotifyState::Reloading,
        NotifyState::MonotonicUsec(i128::from(monotonic_usec)),
    ]);
}

/// `STATUS=` alone, for changes that are not reloads (a window edge).
pub(crate) fn status(status: &str) {
    let status = sanitize_status(status);
    send(&[NotifyState::Status(&status)]);
}

/// `STOPPING=1`.
pub(crate) fn stopping() {
    send(&[NotifyState::Stopping]);
}

/// `WATCHDOG=1`.
pub(crate) fn watchdog() {
    send(&[NotifyState::Watchdog]);
}

/// `CLOCK_MONOTONIC` in microseconds, as systemd's `MONOTONIC_USEC=` wants it.
pub fn monotonic_usec() -> u64 {
    nix::time::clock_gettime(nix::time::ClockId::CLOCK_MONOTONIC)
        .map(|t| (t.tv_sec() as u64) * 1_000_000 + (t.tv_nsec() as u64) / 1_000)
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_is_one_line_and_bounded() {
        assert_eq!(sanitize_status("a\nREADY=1\rb\u{7}"), "a READY=1 b ");
        assert_eq!(sanitize_status(&"é".repeat(500)).chars().count(), 200);
    }
}
