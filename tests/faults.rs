//! Faults at reload: the config file deleted or replaced by a directory keeps the old state
//! with a clear error; SIGTERM in the middle of reloads exits cleanly with STOPPING=1.

mod common;

use std::time::Duration;

use common::{demo_config, Demo};
use nix::sys::signal::Signal;

const WAIT: Duration = Duration::from_secs(10);

fn reload_and_get_ready(demo: &Demo) -> String {
    demo.signal(Signal::SIGHUP);
    loop {
        let d = demo.next_notification(WAIT).expect("an answer to SIGHUP");
        if d.starts_with("READY=1") {
            return d;
        }
    }
}

#[test]
fn a_deleted_or_replaced_config_keeps_the_old_state() {
    let demo = Demo::start(
        &demo_config("enabled = true\nmessage = \"kept\""),
        true,
        &[],
    );
    assert!(demo.next_notification(WAIT).unwrap().starts_with("READY=1"));

    std::fs::remove_file(demo.config_path()).unwrap();
    let ready = reload_and_get_ready(&demo);
    assert!(ready.contains("reload failed: config file"), "{ready:?}");
    assert!(ready.contains("Rocket.toml"), "names the file: {ready:?}");
    let (status, body) = demo.request("GET", "/", &[]).unwrap();
    assert_eq!(
        status, 503,
        "a missing file must not silently end maintenance"
    );
    assert!(body.contains("kept"));

    std::fs::create_dir(demo.config_path()).unwrap();
    let ready = reload_and_get_ready(&demo);
    assert!(ready.contains("not a regular file"), "{ready:?}");
    assert_eq!(demo.request("GET", "/", &[]).unwrap().0, 503);

    std::fs::remove_dir(demo.config_path()).unwrap();
    demo.write_config(&demo_config("enabled = false"));
    let ready = reload_and_get_ready(&demo);
    assert_eq!(
        ready, "READY=1\nSTATUS=serving\n",
        "recovers with the next good reload"
    );
    assert_eq!(demo.request("GET", "/", &[]).unwrap().0, 200);
}

#[test]
fn sigterm_during_reloads_exits_cleanly_with_stopping() {
    let mut demo = Demo::start(&demo_config("enabled = false"), true, &[]);
    assert!(demo.next_notification(WAIT).unwrap().starts_with("READY=1"));
    for i in 0..20 {
        demo.write_config(&demo_config(&format!("enabled = {}", i % 2 == 0)));
        demo.signal(Signal::SIGHUP);
    }
    demo.signal(Signal::SIGTERM);
    let mut got_stopping = false;
    while let Some(d) = demo.next_notification(Duration::from_secs(5)) {
        got_stopping |= d == "STOPPING=1\n";
        if got_stopping {
            break;
        }
    }
    assert!(got_stopping, "STOPPING=1 sent");
    let status = demo.child.wait().unwrap();
    assert!(status.success(), "clean exit: {status}");
}

#[test]
fn an_unreadable_config_keeps_the_old_state() {
    // Root reads any file, so the demo runs as `nobody` here.
    if !nix::unistd::getuid().is_root() {
        eprintln!("skipped: needs root to run the demo as another user");
        return;
    }
    use std::os::unix::fs::PermissionsExt;
    let demo = Demo::start_as(&demo_config("enabled = true\nmessage = \"kept\""), 65534);
    assert!(demo.next_notification(WAIT).unwrap().starts_with("READY=1"));
    std::fs::set_permissions(demo.config_path(), std::fs::Permissions::from_mode(0o600)).unwrap();
    let ready = reload_and_get_ready(&demo);
    assert!(ready.contains("reload failed: config file"), "{ready:?}");
    assert!(ready.contains("cannot be read"), "{ready:?}");
    assert_eq!(
        demo.request("GET", "/", &[]).unwrap().0,
        503,
        "old state kept"
    );
}

/// Every error names the file, also for a list item (`allow_ips[0]`), and says in words what was
/// expected and found.
#[test]
fn errors_name_the_file_for_list_items_too() {
    use rocket::figment::providers::{Format, Toml};
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("Rocket.toml");
    for (text, key) in [
        (
            "[default.maintenance]\nallow_ips = [\"10.0.0.0/33\"]\n",
            "maintenance.allow_ips[0]",
        ),
        (
            "[default.maintenance]\nretry_after = true\n",
            "maintenance.retry_after",
        ),
    ] {
        std::fs::write(&path, text).unwrap();
        let figment = rocket::figment::Figment::from(rocket::Config::default())
            .merge(Toml::file_exact(&path).nested());
        let err = rocket_maintenance::check_settings(&figment)
            .unwrap_err()
            .to_string();
        assert!(err.contains(key), "{err}");
        assert!(err.contains(&path.display().to_string()), "{err}");
    }
}
