//! `on --drain`: returns only once no write admitted before is still being processed, with a
//! real slow `POST` in flight on a real server; at `--timeout` it fails, saying how many run.
//!
//! The service is this test process itself (one rocket on a loopback port, its settings in a
//! file), so the CLI signals it with `--pid` as it would a service.

mod common;

use std::time::{Duration, Instant};

use rocket::{post, routes};

#[post("/slow")]
async fn slow() -> &'static str {
    rocket::tokio::time::sleep(Duration::from_millis(2500)).await;
    "written"
}

#[test]
fn on_drain_waits_for_writes_in_flight() {
    let runtime = tempfile::tempdir().unwrap();
    std::env::set_var("XDG_RUNTIME_DIR", runtime.path());
    std::env::remove_var("RUNTIME_DIRECTORY");
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("Rocket.toml");
    let port = common::free_port();
    std::fs::write(
        &config,
        format!("[default]\naddress = \"127.0.0.1\"\nport = {port}\nlog_level = \"off\"\n\n[default.maintenance]\nenabled = false\n"),
    )
    .unwrap();
    let figment = {
        let config = config.clone();
        move || {
            use rocket::figment::providers::{Format, Toml};
            rocket::figment::Figment::from(rocket::Config::default())
                .merge(Toml::file_exact(&config).nested())
        }
    };
    let rocket = rocket::custom(figment())
        .mount("/", routes![slow])
        .attach(rocket_maintenance::Maintenance::custom(figment));
    let server = std::thread::spawn(move || {
        rocket::execute(async move {
            let _ = rocket.launch().await;
        })
    });
    // Wait for the server and its live state.
    let deadline = Instant::now() + Duration::from_secs(20);
    while common::http(port, "GET", "/", &[]).is_err() {
        assert!(Instant::now() < deadline, "the server did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
    let pid = std::process::id().to_string();
    let runtime_dir = runtime.path().to_str().unwrap().to_string();
    let cli = |args: &[&str]| {
        common::run_cli(
            args,
            dir.path(),
            &[("XDG_RUNTIME_DIR", runtime_dir.as_str())],
        )
    };

    // A slow write in flight: --drain with a short timeout fails and says how many run.
    let write = std::thread::spawn(move || common::http(port, "POST", "/slow", &[]));
    std::thread::sleep(Duration::from_millis(300));
    let (ok, out) = cli(&["on", "--pid", &pid, "--drain", "--timeout", "500ms"]);
    assert!(!ok, "{out}");
    assert!(
        out.contains("1 write(s) admitted before maintenance are still running"),
        "{out}"
    );
    // Maintenance is on; the write admitted before still completes.
    assert_eq!(common::http(port, "POST", "/slow", &[]).unwrap().0, 503);
    let (status, body) = write.join().unwrap().unwrap();
    assert_eq!(status, 200, "{body}");

    // Off again, another slow write, and --drain waits for it.
    let (ok, out) = cli(&["off", "--pid", &pid]);
    assert!(ok, "{out}");
    let write = std::thread::spawn(move || common::http(port, "POST", "/slow", &[]));
    std::thread::sleep(Duration::from_millis(300));
    let started = Instant::now();
    let (ok, out) = cli(&["on", "--pid", &pid, "--drain", "--timeout", "10s"]);
    eprintln!("{out}");
    let waited = started.elapsed();
    assert!(ok, "{out}");
    assert!(
        out.contains("drained: no write admitted before is still running (waited"),
        "{out}"
    );
    assert!(
        waited >= Duration::from_millis(1500),
        "returned before the write ended: {waited:?}"
    );
    assert_eq!(write.join().unwrap().unwrap().0, 200);

    // --drain without a service is refused.
    let (ok, out) = cli(&["on", "--config", config.to_str().unwrap(), "--drain"]);
    assert!(!ok && out.contains("--drain"), "{out}");
    drop(server);
}
