//! Fleet: one switch for many instances through a real `redis-server`, with real demo processes
//! built with `--features fleet`. Run with `cargo test --features fleet`.
#![cfg(feature = "fleet")]

mod common;

use std::process::Output;
use std::time::{Duration, Instant};

use common::{output_text as text, Demo, Redis};

fn fleet_config(store: &str, namespace: &str, extra: &str) -> String {
    format!(
        "[default]\naddress = \"127.0.0.1\"\nport = 0\ntemplate_dir = \"templates\"\n\n\
         [default.maintenance]\nenabled = false\n\n\
         [default.maintenance.fleet]\nstore = \"{store}\"\nnamespace = \"{namespace}\"\npoll = \"1s\"\n{extra}"
    )
}

/// The CLI aimed at namespace `ns` of the store at `url`.
fn fleet_at(url: &str, ns: &str, args: &[&str]) -> Output {
    common::cli_output(
        &common::fleet_args(url, ns, args),
        std::path::Path::new("."),
        &[],
    )
}

fn fleet(redis: &Redis, ns: &str, args: &[&str]) -> Output {
    fleet_at(&redis.url(), ns, args)
}

fn status(demo: &Demo) -> u16 {
    demo.request("GET", "/", &[]).map(|r| r.0).unwrap_or(0)
}

/// Waits until every demo answers `want` on `/`, or the deadline passes; returns the wait.
fn converge(demos: &[&Demo], want: u16, within: Duration) -> Option<Duration> {
    let start = Instant::now();
    while start.elapsed() < within {
        if demos.iter().all(|d| status(d) == want) {
            return Some(start.elapsed());
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    None
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

#[test]
fn one_command_flips_every_instance() {
    let redis = Redis::start(false);
    let config = fleet_config(&redis.url(), "shop", "");
    let demos: Vec<Demo> = (0..3).map(|_| Demo::start(&config, false, &[])).collect();
    let all: Vec<&Demo> = demos.iter().collect();
    // Heartbeats come at start; give the tasks a moment to subscribe.
    std::thread::sleep(Duration::from_millis(500));

    let mut to_on = Vec::new();
    let mut to_off = Vec::new();
    for i in 0..50 {
        let out = fleet(&redis, "shop", &["on", "--message", &format!("flip {i}")]);
        assert!(out.status.success(), "{}", text(&out));
        to_on.push(converge(&all, 503, Duration::from_secs(5)).expect("all three answer 503"));
        let out = fleet(&redis, "shop", &["off"]);
        assert!(out.status.success(), "{}", text(&out));
        to_off.push(converge(&all, 200, Duration::from_secs(5)).expect("all three answer 200"));
    }
    let mut flips: Vec<Duration> = to_on.into_iter().chain(to_off).collect();
    flips.sort();
    eprintln!(
        "fleet propagation, CLI exit to all 3 instances answering (100 flips): p50 {:?}, p99 {:?}, max {:?}",
        percentile(&flips, 0.5),
        percentile(&flips, 0.99),
        flips[flips.len() - 1]
    );
    assert!(percentile(&flips, 0.99) < Duration::from_secs(1));

    let out = fleet(&redis, "shop", &["status"]);
    let t = text(&out);
    assert!(t.starts_with("maintenance: off\n"), "{t}");
    assert!(t.contains("instances: 3"), "{t}");

    let out = fleet(&redis, "shopp", &["on"]);
    assert!(
        !out.status.success(),
        "a mistyped namespace must not look like success"
    );
    assert!(text(&out).contains("no live instance"), "{}", text(&out));
}

#[test]
fn an_instance_started_while_the_fleet_is_on_never_serves_an_app_route() {
    let redis = Redis::start(false);
    let out = fleet(
        &redis,
        "late",
        &["on", "--no-wait", "--message", "fleet says down"],
    );
    assert!(out.status.success(), "{}", text(&out));
    let demo = Demo::start(&fleet_config(&redis.url(), "late", ""), false, &[]);
    let (status, body) = demo.request("GET", "/", &[]).unwrap();
    assert_eq!(status, 503, "the very first request");
    assert!(body.contains("fleet says down"));
}

#[test]
fn a_local_drain_keeps_its_own_message_whatever_the_fleet_says() {
    let redis = Redis::start(false);
    let drained = Demo::start(
        &fleet_config(&redis.url(), "prec", "").replace(
            "enabled = false",
            "enabled = true\nmessage = \"local drain\"",
        ),
        false,
        &[],
    );
    let other = Demo::start(&fleet_config(&redis.url(), "prec", ""), false, &[]);
    std::thread::sleep(Duration::from_millis(300));
    assert!(fleet(&redis, "prec", &["on", "--message", "fleet message"])
        .status
        .success());
    assert!(drained
        .request("GET", "/", &[])
        .unwrap()
        .1
        .contains("local drain"));
    assert!(other
        .request("GET", "/", &[])
        .unwrap()
        .1
        .contains("fleet message"));
    assert!(fleet(&redis, "prec", &["off"]).status.success());
    assert_eq!(
        status(&drained),
        503,
        "the file is on: off in the fleet does not end a local drain"
    );
    assert_eq!(status(&other), 200);
}

#[test]
fn store_outage_holds_state_warns_once_and_a_new_record_converges() {
    let mut redis = Redis::start(false);
    let config = fleet_config(&redis.url(), "outage", "");
    let demos: Vec<Demo> = (0..3).map(|_| Demo::start(&config, true, &[])).collect();
    let all: Vec<&Demo> = demos.iter().collect();
    std::thread::sleep(Duration::from_millis(500));
    assert!(fleet(&redis, "outage", &["on", "--message", "migrating"])
        .status
        .success());
    assert_eq!(
        converge(&all, 503, Duration::from_secs(2)).map(|_| ()),
        Some(())
    );

    redis.stop();
    let outage = Instant::now();
    let mut other = Vec::new();
    while outage.elapsed() < Duration::from_secs(30) {
        for d in &demos {
            match d.request("GET", "/", &[]) {
                Ok((503, body)) if body.contains("migrating") => {}
                other_answer => other.push(format!("{other_answer:?}")),
            }
            match d.request("GET", "/about", &[]) {
                Ok((200, _)) => {}
                other_answer => other.push(format!("{other_answer:?}")),
            }
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(
        other.is_empty(),
        "state held, no other answer: {:?}",
        &other[..other.len().min(3)]
    );
    for d in &demos {
        let log = d.output().join("\n");
        assert_eq!(
            log.matches("keeping the current state").count(),
            1,
            "one warning:\n{log}"
        );
        let mut notes = Vec::new();
        while let Some(n) = d.next_notification(Duration::from_millis(50)) {
            notes.push(n);
        }
        assert!(
            notes.iter().any(|n| n.contains("fleet store failing")),
            "STATUS= says so: {notes:?}"
        );
    }

    redis.restart();
    let out = fleet(
        &redis,
        "outage",
        &["on", "--no-wait", "--message", "after restart"],
    );
    assert!(out.status.success(), "{}", text(&out));
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(2) + Duration::from_millis(500) {
        if demos.iter().all(|d| {
            d.request("GET", "/", &[])
                .unwrap()
                .1
                .contains("after restart")
        }) {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    eprintln!(
        "converged after the store restart in {:?} (poll 1 s)",
        start.elapsed()
    );
    for d in &demos {
        let body = d.request("GET", "/", &[]).unwrap().1;
        assert!(
            body.contains("after restart"),
            "converged within poll + 1 s: {}\n{}",
            body.lines().find(|l| l.contains("<p>")).unwrap_or_default(),
            d.output().join("\n")
        );
    }
}

#[test]
fn a_cut_off_instance_converges_after_it_heals() {
    let redis = Redis::start(true);
    let port = redis.port.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut demos = Vec::new();
    for i in 0..3 {
        let user = format!("inst{i}");
        assert_eq!(
            redis
                .cli(&[
                    "ACL",
                    "SETUSER",
                    &user,
                    "on",
                    ">pw-of-the-instance",
                    "~rocket_maintenance:*",
                    "&*",
                    "+@all"
                ])
                .trim(),
            "OK"
        );
        let pw = dir.path().join(format!("{user}.pw"));
        std::fs::write(&pw, "pw-of-the-instance\n").unwrap();
        let store = format!("redis://{user}@127.0.0.1:{port}/0");
        let extra = format!("password_file = {:?}\n", pw.display().to_string());
        demos.push(Demo::start(
            &fleet_config(&store, "acl", &extra),
            false,
            &[],
        ));
    }
    std::thread::sleep(Duration::from_millis(500));
    assert!(fleet(&redis, "acl", &["on"]).status.success());
    let all: Vec<&Demo> = demos.iter().collect();
    assert!(converge(&all, 503, Duration::from_secs(2)).is_some());

    // Cut instance 0 off: its user is disabled and its connections killed.
    redis.cli(&["ACL", "SETUSER", "inst0", "off"]);
    redis.cli(&["CLIENT", "KILL", "USER", "inst0"]);
    std::thread::sleep(Duration::from_millis(300));
    let out = fleet(&redis, "acl", &["off", "--no-wait"]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(converge(&all[1..], 200, Duration::from_secs(3)).is_some());
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(
        status(&demos[0]),
        503,
        "cut off: keeps its state, never flips on an error"
    );

    redis.cli(&["ACL", "SETUSER", "inst0", "on"]);
    let healed = converge(&all[..1], 200, Duration::from_secs(3));
    assert!(healed.is_some(), "converges after it heals");
    eprintln!(
        "the cut-off instance converged {:?} after healing (poll 1 s)",
        healed.unwrap()
    );
    // The password never shows in its log.
    assert!(!demos[0].output().join("\n").contains("pw-of-the-instance"));
}

#[test]
fn client_pause_does_not_slow_requests() {
    let redis = Redis::start(false);
    let demo = Demo::start(&fleet_config(&redis.url(), "pause", ""), false, &[]);
    std::thread::sleep(Duration::from_millis(300));
    assert!(fleet(&redis, "pause", &["on", "--no-wait"])
        .status
        .success());
    std::thread::sleep(Duration::from_millis(1200));
    let sample = |n: usize| {
        let mut times: Vec<Duration> = (0..n)
            .map(|_| {
                let t = Instant::now();
                assert_eq!(demo.request("GET", "/", &[]).unwrap().0, 503);
                t.elapsed()
            })
            .collect();
        times.sort();
        percentile(&times, 0.99)
    };
    let before = sample(400);
    redis.cli(&["CLIENT", "PAUSE", "3000", "ALL"]);
    let paused = sample(400);
    eprintln!("request p99: {before:?} normally, {paused:?} while the store is paused");
    assert!(
        paused <= before.mul_f64(1.10) + Duration::from_millis(2),
        "requests never touch the store: p99 {paused:?} vs {before:?}"
    );
}

#[test]
fn two_namespaces_on_one_store_never_interfere() {
    let redis = Redis::start(false);
    let a = Demo::start(&fleet_config(&redis.url(), "app-a", ""), false, &[]);
    let b = Demo::start(&fleet_config(&redis.url(), "app-b", ""), false, &[]);
    std::thread::sleep(Duration::from_millis(300));
    assert!(fleet(&redis, "app-a", &["on"]).status.success());
    assert_eq!(status(&a), 503);
    std::thread::sleep(Duration::from_millis(1200));
    assert_eq!(status(&b), 200);
    let t = text(&fleet(&redis, "app-b", &["status"]));
    assert!(
        t.starts_with("maintenance: off") && t.contains("instances: 1"),
        "{t}"
    );
}

#[test]
fn a_malformed_record_changes_nothing() {
    let redis = Redis::start(false);
    let demo = Demo::start(&fleet_config(&redis.url(), "bad", ""), false, &[]);
    std::thread::sleep(Duration::from_millis(300));
    assert!(fleet(&redis, "bad", &["on"]).status.success());
    redis.cli(&[
        "HSET",
        "rocket_maintenance:bad:record",
        "switch",
        "{\"enabled\": \"yes\"}",
    ]);
    redis.cli(&["PUBLISH", "rocket_maintenance:bad:changed", "x"]);
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(status(&demo), 503, "kept");
    let out = fleet(&redis, "bad", &["on", "--retry-after", "whenever"]);
    assert!(!out.status.success());
    assert!(
        text(&out).contains("maintenance.retry_after"),
        "{}",
        text(&out)
    );
}

/// A subscriber sees a fleet change as it sees a reload: the record flips the status.
#[test]
fn a_subscriber_sees_a_fleet_change() {
    let redis = Redis::start(true);
    let url = redis.url();
    rocket::execute(async move {
        let toml = format!(
            "[maintenance]\nenabled = false\n[maintenance.fleet]\nstore = \"{url}\"\nnamespace = \"subscriber\"\npoll = \"1s\"\n"
        );
        let client = common::client(common::rocket_with(&toml, rocket::routes![], vec![])).await;
        let handle = common::handle(&client);
        let mut status = handle.subscribe();
        assert!(!status.borrow().is_on());
        let out = rocket::tokio::task::spawn_blocking(move || {
            fleet_at(
                &url,
                "subscriber",
                &["on", "--message", "fleet says so", "--no-wait"],
            )
        })
        .await
        .unwrap();
        assert!(out.status.success(), "{}", text(&out));
        rocket::tokio::time::timeout(Duration::from_secs(10), status.wait_for(|s| s.is_on()))
            .await
            .expect("the fleet change reached the subscriber")
            .unwrap();
        assert_eq!(status.borrow().reason(), Some("fleet"));
        assert_eq!(status.borrow().message(), "fleet says so");
    });
}
