//! Operating it: health and readiness, counts, audit, expiry, `warn_after`, `watch`, and
//! subscribers. In-process with Rocket's local client where that suffices, real demo processes
//! and the real CLI where the contract is about them.

mod common;

use std::time::Duration;

use common::{client, demo_config, rocket_with, Demo};
use rocket::http::Status;
use rocket::{get, routes};

fn cli(args: &[&str], cwd: &std::path::Path) -> (bool, String) {
    common::run_cli(args, cwd, &[("SUDO_USER", "alice")])
}

#[get("/healthz")]
fn app_health() -> &'static str {
    "the app's own"
}

/// `health_path` stays green in every state (the load balancer keeps the instance, visitors see
/// the page); `ready_path` is red only in full maintenance; both are the fairing's answers.
#[rocket::async_test]
async fn health_stays_green_and_ready_follows_the_mode() {
    for (settings, mode, ready) in [
        ("enabled = false", "off", Status::Ok),
        ("enabled = true", "on", Status::ServiceUnavailable),
        ("enabled = true\nread_only = true", "read_only", Status::Ok),
    ] {
        let toml = format!(
            "[maintenance]\n{settings}\nhealth_path = \"/healthz\"\nready_path = \"/readyz\"\n"
        );
        let client = client(rocket_with(&toml, routes![app_health], vec![])).await;
        let health = client.get("/healthz").dispatch().await;
        assert_eq!(health.status(), Status::Ok, "{settings}");
        assert_eq!(health.headers().get_one("Cache-Control"), Some("no-store"));
        let doc: serde_json::Value =
            serde_json::from_str(&health.into_string().await.unwrap()).unwrap();
        assert_eq!(doc["status"], "ok");
        assert_eq!(doc["maintenance"], mode, "{settings}");
        assert!(doc["generation"].as_u64().unwrap() >= 1);
        assert_eq!(
            client.get("/readyz").dispatch().await.status(),
            ready,
            "{settings}"
        );
        let head = client.head("/healthz").dispatch().await;
        assert_eq!(head.status(), Status::Ok);
        // Other methods go through the decision order like any path.
        let post = client.post("/healthz").dispatch().await;
        if mode == "off" {
            assert_ne!(post.status(), Status::ServiceUnavailable);
        } else {
            assert_eq!(post.status(), Status::ServiceUnavailable, "{settings}");
        }
    }
    for (bad, key) in [
        ("health_path = \"healthz\"", "maintenance.health_path"),
        ("health_path = \"/healthz/\"", "maintenance.health_path"),
        (
            "health_path = \"/h\"\nready_path = \"/h\"",
            "maintenance.ready_path",
        ),
        ("warn_after = \"0s\"", "maintenance.warn_after"),
    ] {
        let err = rocket_maintenance::check_settings(&common::figment(&format!(
            "[maintenance]\n{bad}\n"
        )))
        .unwrap_err()
        .to_string();
        assert!(err.contains(key), "{bad}: {err}");
    }
}

/// Subscribers see every change: a reload, and a window edge.
#[rocket::async_test]
async fn a_subscriber_sees_reloads_and_window_edges() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("Rocket.toml");
    std::fs::write(&path, "[default.maintenance]\nenabled = false\n").unwrap();
    let figment = common::file_figment(&path);
    let rocket = rocket::custom(figment()).attach(rocket_maintenance::Maintenance::custom(figment));
    let client = client(rocket).await;
    let handle = common::handle(&client);
    let mut status = handle.subscribe();
    assert!(!status.borrow().is_on());
    std::fs::write(&path, "[default.maintenance]\nenabled = true\n").unwrap();
    handle.reload().await.unwrap();
    rocket::tokio::time::timeout(Duration::from_secs(5), status.changed())
        .await
        .unwrap()
        .unwrap();
    assert!(status.borrow_and_update().is_on(), "the reload");
    // A window that starts two seconds from now: no reload, the edge alone.
    let start = std::time::SystemTime::now() + Duration::from_secs(2);
    let text = format!(
        "[default.maintenance]\nenabled = false\nstarts_at = \"{}\"\n",
        rocket_maintenance::control::format_time(start)
    );
    std::fs::write(&path, text).unwrap();
    handle.reload().await.unwrap();
    status.changed().await.unwrap();
    assert!(
        !status.borrow_and_update().is_on(),
        "off until the window starts"
    );
    rocket::tokio::time::timeout(Duration::from_secs(5), status.changed())
        .await
        .expect("the window edge reached the subscriber")
        .unwrap();
    assert_eq!(status.borrow().reason(), Some("window"));
}

/// Counts per state while on, in the live state and `status`; the audit (reason, who, when) in
/// the live state, the log line and `status`, never on the page.
#[test]
fn counts_and_audit_reach_the_live_state_the_log_and_status() {
    let demo = Demo::start(
        &demo_config("enabled = false\nallow_paths = [\"/static/**\"]"),
        false,
        &[],
    );
    let pid = demo.pid().to_string();
    let (ok, out) = cli(
        &["on", "--pid", &pid, "--reason", "db migration"],
        demo.dir.path(),
    );
    assert!(ok, "{out}");
    let config = std::fs::read_to_string(demo.config_path()).unwrap();
    assert!(config.contains("reason = \"db migration\""), "{config}");
    assert!(config.contains("changed_by = \"alice@"), "{config}");
    assert!(config.contains("changed_at = "), "{config}");
    for _ in 0..3 {
        assert_eq!(demo.request("GET", "/", &[]).unwrap().0, 503);
    }
    assert_eq!(demo.request("GET", "/about", &[]).unwrap().0, 200);
    assert_eq!(demo.request("GET", "/static/x.css", &[]).unwrap().0, 404);
    let (_, page) = demo.request("GET", "/", &[]).unwrap();
    assert!(
        !page.contains("db migration") && !page.contains("alice"),
        "{page}"
    );
    let live = demo.wait_live(Duration::from_secs(5), |l| l["counts"]["held"] == 4);
    assert_eq!(live["counts"]["held"], 4, "{live}");
    assert_eq!(live["counts"]["passed"]["force_off"], 1, "{live}");
    assert_eq!(live["counts"]["passed"]["allow_paths"], 1, "{live}");
    assert_eq!(live["reason"], "db migration");
    assert!(live["changed_by"].as_str().unwrap().starts_with("alice@"));
    let (ok, status) = cli(&["status", "--pid", &pid], demo.dir.path());
    assert!(ok, "{status}");
    assert!(status.starts_with("maintenance: on\n"), "{status}");
    assert!(status.contains("held back 4 requests"), "{status}");
    assert!(
        status.contains("force_off 1") && status.contains("allow_paths 1"),
        "{status}"
    );
    assert!(
        status.contains("changed by alice@") && status.contains(": db migration"),
        "{status}"
    );
    let log = demo.output().join("\n");
    assert!(
        log.contains("maintenance on (generation 2, from the file) by alice@")
            && log.contains(": db migration"),
        "{log}"
    );
    // `off` without --reason removes the old reason.
    let (ok, out) = cli(&["off", "--pid", &pid], demo.dir.path());
    assert!(ok, "{out}");
    let config = std::fs::read_to_string(demo.config_path()).unwrap();
    assert!(!config.contains("reason ="), "{config}");
}

/// `on --for` ends maintenance on its own; `--for` with `--until` or `--starts-at` is refused.
#[test]
fn on_for_a_while_ends_by_itself() {
    let demo = Demo::start(&demo_config("enabled = false"), false, &[]);
    let pid = demo.pid().to_string();
    let (ok, out) = cli(&["on", "--pid", &pid, "--for", "3s"], demo.dir.path());
    assert!(ok, "{out}");
    assert!(out.contains("ends on its own at"), "{out}");
    assert_eq!(demo.request("GET", "/", &[]).unwrap().0, 503);
    let live = demo.wait_live(Duration::from_secs(8), |l| l["on"] == false);
    assert_eq!(live["on"], false, "{live}");
    assert_eq!(demo.request("GET", "/", &[]).unwrap().0, 200);
    for bad in [
        vec!["on", "--for", "1h", "--until", "2999-01-01T00:00:00Z"],
        vec!["on", "--for", "1h", "--starts-at", "2999-01-01T00:00:00Z"],
    ] {
        let mut args = bad.clone();
        args.extend(["--pid", &pid]);
        let (ok, out) = cli(&args, demo.dir.path());
        assert!(!ok, "{bad:?}: {out}");
    }
}

/// `warn_after`: a maintenance on for longer is logged (and shown in STATUS= and the live state).
#[test]
fn a_forgotten_maintenance_is_warned_about() {
    let demo = Demo::start(
        &demo_config("enabled = true\nwarn_after = \"1s\""),
        true,
        &[],
    );
    let live = demo.wait_live(Duration::from_secs(6), |l| l["over_warn_after"] == true);
    assert_eq!(live["over_warn_after"], true, "{live}");
    assert!(
        live["status"].as_str().unwrap().contains("over warn_after"),
        "{live}"
    );
    let log = demo.output().join("\n");
    assert!(log.contains("longer than warn_after"), "{log}");
}

/// `watch = true`: an editor's rename-over and a ConfigMap-style `..data` swap reload the
/// service without a signal, once per change.
#[test]
fn watch_reloads_on_a_change_of_the_file_once() {
    let demo = Demo::start(&demo_config("enabled = false\nwatch = true"), false, &[]);
    let before = demo.live()["reloads"].as_array().unwrap().len();
    // An editor writes a new file and renames it over the old one.
    let tmp = demo.dir.path().join(".Rocket.toml.swp");
    std::fs::write(&tmp, demo_config("enabled = true\nwatch = true")).unwrap();
    std::fs::rename(&tmp, demo.config_path()).unwrap();
    let live = demo.wait_live(Duration::from_secs(5), |l| l["on"] == true);
    assert_eq!(live["on"], true, "{live}");
    std::thread::sleep(Duration::from_millis(800));
    let after = demo.live()["reloads"].as_array().unwrap().len();
    assert_eq!(after, before + 1, "one change, one reload");
    assert!(demo.output().join("\n").contains("changed (watch = true)"));
}

/// A Kubernetes ConfigMap: the config is a symlink through `..data`, and an update swaps that
/// symlink atomically to a new directory.
#[test]
fn watch_follows_a_configmap_update() {
    let dir = tempfile::tempdir().unwrap();
    let mount = dir.path().join("config");
    let v1 = mount.join("..2026_11_30_v1");
    std::fs::create_dir_all(&v1).unwrap();
    std::fs::write(
        v1.join("Rocket.toml"),
        demo_config("enabled = false\nwatch = true"),
    )
    .unwrap();
    std::os::unix::fs::symlink("..2026_11_30_v1", mount.join("..data")).unwrap();
    std::os::unix::fs::symlink("..data/Rocket.toml", mount.join("Rocket.toml")).unwrap();
    let config = mount.join("Rocket.toml");
    let templates = format!(
        "template_dir = {:?}",
        common::repo().join("templates").display().to_string()
    );
    let text = std::fs::read_to_string(v1.join("Rocket.toml")).unwrap();
    std::fs::write(
        v1.join("Rocket.toml"),
        text.replace("template_dir = \"templates\"", &templates),
    )
    .unwrap();
    let demo = Demo::start(
        &demo_config("enabled = false"),
        false,
        &[("ROCKET_CONFIG", config.to_str().unwrap())],
    );
    assert_eq!(demo.live()["config_path"], config.to_str().unwrap());
    // The update: a new directory, then `..data` swapped by a rename.
    let v2 = mount.join("..2026_11_30_v2");
    std::fs::create_dir_all(&v2).unwrap();
    std::fs::write(
        v2.join("Rocket.toml"),
        demo_config("enabled = true\nwatch = true")
            .replace("template_dir = \"templates\"", &templates),
    )
    .unwrap();
    std::os::unix::fs::symlink("..2026_11_30_v2", mount.join("..data_tmp")).unwrap();
    std::fs::rename(mount.join("..data_tmp"), mount.join("..data")).unwrap();
    let live = demo.wait_live(Duration::from_secs(5), |l| l["on"] == true);
    assert_eq!(live["on"], true, "{live}");
}
