//! Reload timer for scripts/bench (a cargo example so that CI formats and lints it): sends a signal to a service at a fixed rate and times each
//! `SIGHUP` until the `READY=1` that ends the reload, on a real `NOTIFY_SOCKET` (systemd's
//! `Type=notify-reload` handshake: `RELOADING=1` with `MONOTONIC_USEC=`, then `READY=1`).
//!
//! ```text
//! cargo build --release --example reload_timer
//! target/release/examples/reload_timer PID SOCKET SECONDS RATE OUT [SIGNAL]
//! ```
//!
//! Binds SOCKET (the service's `NOTIFY_SOCKET`), sends SIGNAL (1, `SIGHUP`, by default) to PID
//! RATE times a second for SECONDS, and appends one line per signal to OUT: `total_ms start_ms ok`
//! (total: signal to `READY=1`; start: signal to the service's `MONOTONIC_USEC`, i.e. delivery and
//! wake-up; ok: 0 when `STATUS=` said the reload failed or no `READY=1` came within 2 s). With
//! SIGNAL 0 nothing is sent and nothing awaited: the same wake-ups with no reload, a control for
//! what the timer itself costs the machine. Written in Rust without dependencies so that it costs
//! the client's CPU far less than an interpreter would.

use std::io::Write;
use std::os::unix::net::UnixDatagram;
use std::time::{Duration, Instant};

#[repr(C)]
struct Timespec {
    tv_sec: i64,
    tv_nsec: i64,
}

extern "C" {
    fn kill(pid: i32, sig: i32) -> i32;
    fn clock_gettime(clock: i32, tp: *mut Timespec) -> i32;
}

const CLOCK_MONOTONIC: i32 = 1;

/// `CLOCK_MONOTONIC` in nanoseconds, the clock of `MONOTONIC_USEC=`.
fn monotonic_ns() -> i64 {
    let mut ts = Timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec.
    unsafe { clock_gettime(CLOCK_MONOTONIC, &mut ts) };
    ts.tv_sec * 1_000_000_000 + ts.tv_nsec
}

fn field<'a>(datagram: &'a str, key: &str) -> Option<&'a str> {
    datagram
        .lines()
        .find_map(|line| line.strip_prefix(key)?.strip_prefix('='))
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.len() < 6 {
        eprintln!("usage: reload-timer PID SOCKET SECONDS RATE OUT [SIGNAL]");
        std::process::exit(2);
    }
    let pid: i32 = args[1].parse().expect("PID");
    let socket = &args[2];
    let seconds: f64 = args[3].parse().expect("SECONDS");
    let rate: f64 = args[4].parse().expect("RATE");
    let out = &args[5];
    let signal: i32 = args.get(6).map_or(1, |s| s.parse().expect("SIGNAL"));

    let _ = std::fs::remove_file(socket);
    let sock = UnixDatagram::bind(socket).expect("bind the notify socket");
    let period = Duration::from_secs_f64(1.0 / rate);
    let deadline = Instant::now() + Duration::from_secs_f64(seconds);
    let mut lines = String::new();
    let mut buf = [0u8; 4096];
    while Instant::now() < deadline {
        let tick = Instant::now();
        if signal != 0 {
            let sent = monotonic_ns();
            // SAFETY: kill(2) with plain integers.
            if unsafe { kill(pid, signal) } != 0 {
                eprintln!("reload-timer: cannot signal {pid}");
                std::process::exit(1);
            }
            let mut start = None;
            let mut result = None;
            let give_up = Instant::now() + Duration::from_secs(2);
            while let Some(left) = give_up.checked_duration_since(Instant::now()) {
                sock.set_read_timeout(Some(left.max(Duration::from_millis(1))))
                    .unwrap();
                let Ok(n) = sock.recv(&mut buf) else { break };
                let now = monotonic_ns();
                let datagram = String::from_utf8_lossy(&buf[..n]);
                if field(&datagram, "RELOADING") == Some("1") {
                    start = field(&datagram, "MONOTONIC_USEC").and_then(|v| v.parse::<i64>().ok());
                }
                if field(&datagram, "READY") == Some("1") {
                    let ok = !field(&datagram, "STATUS")
                        .unwrap_or("")
                        .contains("reload failed");
                    result = Some((now, ok));
                    break;
                }
            }
            match result {
                Some((ready, ok)) => {
                    let start_ms = start.map_or(f64::NAN, |us| (us * 1000 - sent) as f64 / 1e6);
                    lines.push_str(&format!(
                        "{:.3} {:.3} {}\n",
                        (ready - sent) as f64 / 1e6,
                        start_ms,
                        u8::from(ok)
                    ));
                }
                None => lines.push_str("nan nan 0\n"),
            }
        }
        if let Some(pause) = (tick + period).checked_duration_since(Instant::now()) {
            std::thread::sleep(pause);
        }
    }
    drop(sock);
    let _ = std::fs::remove_file(socket);
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(out)
        .and_then(|mut f| f.write_all(lines.as_bytes()))
        .expect("write OUT");
}
