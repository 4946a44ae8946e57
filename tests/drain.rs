//! `on --drain`: returns only once no write admitted before is still being processed, with a
//! real slow `POST` in flight on a real server; at `--timeout` it fails, saying how many run.
//!
//! The service is this test process itself (one rocket on a loopback port, its settings in a
//! file), so the CLI signals it with `--pid` as it would a service.

mod common;

use common::slow;
use rocket::routes;

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
    common::serve_in_process(&config, port, routes![slow]);
    let pid = std::process::id().to_string();
    let runtime_dir = runtime.path().to_str().unwrap().to_string();
    let cli = |args: &[&str]| {
        common::run_cli(
            args,
            dir.path(),
            &[("XDG_RUNTIME_DIR", runtime_dir.as_str())],
        )
    };

    common::drain_waits_for_writes(
        port,
        cli,
        &["on", "--pid", &pid],
        &["off", "--pid", &pid],
        "1 write(s) admitted before maintenance are still running",
        "drained: no write admitted before is still running (waited",
    );

    // --drain without a service is refused.
    let (ok, out) = cli(&["on", "--config", config.to_str().unwrap(), "--drain"]);
    assert!(!ok && out.contains("--drain"), "{out}");
}
