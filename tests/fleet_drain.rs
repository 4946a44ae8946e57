//! `on --store --drain`: returns only once every instance of the fleet has applied the switch
//! and no write admitted there before is still running, with a real slow `POST` in flight on a
//! real server and a real `redis-server`; at `--timeout` it fails, naming the instance that still
//! runs writes. Run with `cargo test --features fleet`.
#![cfg(feature = "fleet")]

mod common;

use std::time::{Duration, Instant};

use common::slow;
use rocket::routes;

#[test]
fn on_store_drain_waits_for_writes_in_flight_on_every_instance() {
    let redis = common::Redis::start(false);
    let runtime = tempfile::tempdir().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("Rocket.toml");
    let port = common::free_port();
    std::fs::write(
        &config,
        format!(
            "[default]\naddress = \"127.0.0.1\"\nport = {port}\nlog_level = \"off\"\n\n\
             [default.maintenance]\nenabled = false\n\n\
             [default.maintenance.fleet]\nstore = \"{}\"\nnamespace = \"drain\"\npoll = \"1s\"\n",
            redis.url()
        ),
    )
    .unwrap();
    std::env::set_var("XDG_RUNTIME_DIR", runtime.path());
    std::env::remove_var("RUNTIME_DIRECTORY");
    common::serve_in_process(&config, port, routes![slow]);
    let url = redis.url();
    let cli =
        |args: &[&str]| common::run_cli(&common::fleet_args(&url, "drain", args), dir.path(), &[]);
    // The instance reports to the store at start; wait until the CLI sees it.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let (_, out) = cli(&["status"]);
        if out.contains("instances: 1") {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the instance never reported: {out}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }

    common::drain_waits_for_writes(
        port,
        cli,
        &["on"],
        &["off"],
        "applied it; writes admitted before still running",
        "applied and drained by 1 instance(s)",
    );
}
