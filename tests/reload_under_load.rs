//! Many reloads in a row, with requests in flight: every response is 200 or 503 as the state
//! allows, no request fails, and after each acknowledged reload the new state serves.

mod common;

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{demo_config, http, Demo};
use nix::sys::signal::Signal;

#[test]
fn reload_storm_under_load_drops_nothing() {
    let demo = Demo::start(&demo_config("enabled = false"), true, &[]);
    assert!(demo
        .next_notification(Duration::from_secs(10))
        .unwrap()
        .starts_with("READY=1"));
    let port = demo.port;
    let stop = Arc::new(AtomicBool::new(false));
    let (ok, unavailable, failed) = (
        Arc::new(AtomicUsize::new(0)),
        Arc::new(AtomicUsize::new(0)),
        Arc::new(AtomicUsize::new(0)),
    );
    let mut load = Vec::new();
    for _ in 0..4 {
        let (stop, ok, unavailable, failed) = (
            stop.clone(),
            ok.clone(),
            unavailable.clone(),
            failed.clone(),
        );
        load.push(std::thread::spawn(move || {
            let mut errors = Vec::new();
            while !stop.load(Ordering::Relaxed) {
                match http(port, "GET", "/", &[]) {
                    Ok((200, _)) => ok.fetch_add(1, Ordering::Relaxed),
                    Ok((503, _)) => unavailable.fetch_add(1, Ordering::Relaxed),
                    Ok((other, text)) => {
                        errors.push(format!("{other}: {text}"));
                        failed.fetch_add(1, Ordering::Relaxed)
                    }
                    Err(e) => {
                        errors.push(e.to_string());
                        failed.fetch_add(1, Ordering::Relaxed)
                    }
                };
            }
            errors
        }));
    }

    let mut latencies = Vec::new();
    for i in 0..100 {
        let on = i % 2 == 0;
        let broken = i % 5 == 4;
        let config = if broken {
            demo_config("enabled = true\nstatus = 99")
        } else {
            demo_config(&format!("enabled = {on}"))
        };
        demo.write_config(&config);
        let sent = Instant::now();
        demo.signal(Signal::SIGHUP);
        let mut acknowledged = false;
        while let Some(d) = demo.next_notification(Duration::from_secs(10)) {
            if d.starts_with("READY=1") {
                acknowledged = true;
                latencies.push(sent.elapsed());
                if broken {
                    assert!(d.contains("reload failed"), "{d:?}");
                }
                break;
            }
        }
        assert!(acknowledged, "reload {i} acknowledged");
        if !broken {
            let (status, _) = http(port, "GET", "/", &[]).unwrap();
            assert_eq!(
                status,
                if on { 503 } else { 200 },
                "reload {i}: the new state serves"
            );
            assert_eq!(
                http(port, "GET", "/about", &[]).unwrap().0,
                200,
                "force_off stays open"
            );
        }
    }
    stop.store(true, Ordering::Relaxed);
    let errors: Vec<String> = load.into_iter().flat_map(|t| t.join().unwrap()).collect();
    assert!(errors.is_empty(), "failed requests: {errors:?}");
    assert_eq!(failed.load(Ordering::Relaxed), 0);
    assert!(ok.load(Ordering::Relaxed) > 0 && unavailable.load(Ordering::Relaxed) > 0);
    latencies.sort();
    eprintln!(
        "100 reloads under load: {} OK, {} 503; signal to READY=1 median {:?}, max {:?}",
        ok.load(Ordering::Relaxed),
        unavailable.load(Ordering::Relaxed),
        latencies[latencies.len() / 2],
        latencies[latencies.len() - 1]
    );
    assert!(demo.child.id() > 0);
}
