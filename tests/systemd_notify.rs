//! The exact datagrams systemd gets, on a real `UnixDatagram`, from a real demo process: start,
//! reload, failed reload, stop, watchdog; and `STATUS=` cannot be used to inject lines.

mod common;

use std::time::Duration;

use common::{demo_config, Demo};
use nix::sys::signal::Signal;

const WAIT: Duration = Duration::from_secs(10);

fn split(datagram: &str) -> Vec<&str> {
    datagram.lines().collect()
}

#[test]
fn start_reload_failed_reload_and_stop_send_the_protocol() {
    let mut demo = Demo::start(&demo_config("enabled = false"), true, &[]);
    assert_eq!(
        demo.next_notification(WAIT).unwrap(),
        "READY=1\nSTATUS=serving\n"
    );
    assert_eq!(demo.request("GET", "/", &[]).unwrap().0, 200);

    demo.write_config(&demo_config("enabled = true\nmessage = \"Upgrading\""));
    demo.signal(Signal::SIGHUP);
    let reloading = demo.next_notification(WAIT).unwrap();
    let lines = split(&reloading);
    assert_eq!(
        lines.len(),
        2,
        "RELOADING=1 and MONOTONIC_USEC= in one datagram: {reloading:?}"
    );
    assert_eq!(lines[0], "RELOADING=1");
    let usec: u64 = lines[1]
        .strip_prefix("MONOTONIC_USEC=")
        .unwrap()
        .parse()
        .unwrap();
    assert!(usec > 0 && usec <= rocket_maintenance::control::monotonic_usec());
    let ready = demo.next_notification(WAIT).unwrap();
    assert!(
        ready.starts_with("READY=1\nSTATUS=maintenance on since "),
        "{ready:?}"
    );
    assert!(ready.ends_with(": Upgrading\n"), "{ready:?}");
    assert_eq!(demo.request("GET", "/", &[]).unwrap().0, 503);

    demo.write_config(&demo_config("enabled = true\nstatus = 200"));
    demo.signal(Signal::SIGHUP);
    assert!(demo
        .next_notification(WAIT)
        .unwrap()
        .starts_with("RELOADING=1\nMONOTONIC_USEC="));
    let failed = demo.next_notification(WAIT).unwrap();
    assert!(
        failed.starts_with("READY=1\nSTATUS=reload failed: "),
        "{failed:?}"
    );
    assert!(
        failed.contains("maintenance.status"),
        "names the key: {failed:?}"
    );
    assert!(
        failed.contains("still maintenance on"),
        "says what is kept: {failed:?}"
    );
    assert_eq!(split(&failed).len(), 2, "STATUS= is one line: {failed:?}");
    assert_eq!(
        demo.request("GET", "/", &[]).unwrap().0,
        503,
        "old state kept"
    );

    demo.signal(Signal::SIGTERM);
    assert_eq!(demo.next_notification(WAIT).unwrap(), "STOPPING=1\n");
    let status = demo.child.wait().unwrap();
    assert!(status.success(), "clean exit: {status}");
    let live = demo
        .dir
        .path()
        .join("run")
        .join(format!("{}.json", demo.pid()));
    assert!(!live.exists(), "live state removed at shutdown");
}

#[test]
fn status_text_cannot_inject_lines() {
    let demo = Demo::start(
        &demo_config("enabled = true\nmessage = \"down\\nREADY=1\\nWATCHDOG=trigger\""),
        true,
        &[],
    );
    let ready = demo.next_notification(WAIT).unwrap();
    assert_eq!(split(&ready).len(), 2, "{ready:?}");
    // The message's newlines are escaped (the same text that goes to the log): one line.
    assert!(
        ready.contains("down\\nREADY=1\\nWATCHDOG=trigger"),
        "{ready:?}"
    );
}

#[test]
fn watchdog_pings_at_half_the_period() {
    let demo = Demo::start(
        &demo_config("enabled = false"),
        true,
        &[("WATCHDOG_USEC", "400000")],
    );
    let mut pings = 0;
    let start = std::time::Instant::now();
    while start.elapsed() < Duration::from_millis(1100) {
        if let Some(d) = demo.next_notification(Duration::from_millis(500)) {
            if d == "WATCHDOG=1\n" {
                pings += 1;
            }
        }
    }
    assert!(
        (3..=8).contains(&pings),
        "about one ping per 200 ms, got {pings}"
    );
}

#[test]
fn sighup_during_start_up_does_not_kill_and_triggers_a_reload() {
    let demo = Demo::start_hupping(&demo_config("enabled = false"), true, &[], true);
    let mut notifications = Vec::new();
    while let Some(d) = demo.next_notification(Duration::from_millis(1500)) {
        notifications.push(d);
    }
    assert_eq!(notifications[0], "READY=1\nSTATUS=serving\n");
    assert!(
        notifications.iter().any(|d| d.starts_with("RELOADING=1")),
        "the early SIGHUP was not lost: {notifications:?}"
    );
    assert_eq!(demo.request("GET", "/", &[]).unwrap().0, 200, "still alive");
    let output = demo.launch_output.join("\n");
    if !output.contains("SIGHUP before liftoff") {
        eprintln!("note: the SIGHUPs arrived after liftoff this time");
    }
}

/// `WATCHDOG_USEC=0` means no watchdog: the service starts, serves and sends no ping (a
/// zero-length interval would panic the watchdog task).
#[test]
fn a_zero_watchdog_period_is_no_watchdog() {
    let demo = Demo::start(
        &demo_config("enabled = false"),
        true,
        &[("WATCHDOG_USEC", "0")],
    );
    let mut seen = Vec::new();
    while let Some(d) = demo.next_notification(Duration::from_millis(600)) {
        seen.push(d);
    }
    assert!(!seen.iter().any(|d| d.contains("WATCHDOG=1")), "{seen:?}");
    assert_eq!(
        demo.request("GET", "/", &[]).unwrap().0,
        200,
        "still serving"
    );
    assert!(
        !demo.output().join("\n").contains("panicked"),
        "{:?}",
        demo.output()
    );
}
