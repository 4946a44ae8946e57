//! The `rocket-maintenance` CLI against real files and a real running demo.

mod common;

use std::process::{Command, Output};

use common::{demo_config, output_text as text, Demo};

fn cli(args: &[&str], env: &[(&str, &str)], cwd: &std::path::Path) -> Output {
    common::cli_output(args, cwd, env)
}

#[test]
fn on_and_off_flip_a_live_process_and_wait_for_it() {
    let demo = Demo::start(&demo_config("enabled = false"), false, &[]);
    let pid = demo.pid().to_string();
    let runtime = demo.dir.path().join("run");
    let env = [("RUNTIME_DIRECTORY", runtime.to_str().unwrap())];
    let elsewhere = tempfile::tempdir().unwrap();

    // --pid: --config and --profile come from the live state, wherever the CLI runs.
    let out = cli(
        &["on", "--pid", &pid, "--message", "Back at 3"],
        &env,
        elsewhere.path(),
    );
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        text(&out).contains("maintenance: on (live"),
        "{}",
        text(&out)
    );
    let (status, body) = demo.request("GET", "/", &[]).unwrap();
    assert_eq!(status, 503, "applied when the CLI returned");
    assert!(body.contains("Back at 3"));
    assert!(
        !elsewhere.path().join("Rocket.toml").exists(),
        "never edits ./Rocket.toml"
    );

    let out = cli(&["status", "--pid", &pid], &env, elsewhere.path());
    let t = text(&out);
    assert!(t.starts_with("maintenance: on\n"), "{t}");
    assert!(t.contains("live: on"), "{t}");

    let out = cli(&["off", "--pid", &pid], &env, elsewhere.path());
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(demo.request("GET", "/", &[]).unwrap().0, 200);

    // Without RUNTIME_DIRECTORY in the CLI's environment, /proc/<pid>/environ finds it.
    let out = cli(&["on", "--pid", &pid], &[], elsewhere.path());
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(demo.request("GET", "/", &[]).unwrap().0, 503);
}

#[test]
fn invalid_edits_are_refused_and_leave_the_file_untouched() {
    let demo = Demo::start(&demo_config("enabled = false"), false, &[]);
    let pid = demo.pid().to_string();
    let before = std::fs::read(demo.config_path()).unwrap();
    for args in [
        vec!["on", "--pid", &pid, "--status", "200"],
        vec!["on", "--pid", &pid, "--retry-after", "whenever"],
        vec![
            "on",
            "--pid",
            &pid,
            "--starts-at",
            "2030-01-02T00:00:00Z",
            "--ends-at",
            "2030-01-01T00:00:00Z",
        ],
        vec!["on", "--pid", &pid, "--redirect", "javascript:alert(1)"],
    ] {
        let out = cli(&args, &[], demo.dir.path());
        assert!(!out.status.success(), "{args:?} must fail");
        assert!(
            text(&out).contains("maintenance."),
            "names the key: {}",
            text(&out)
        );
        assert_eq!(
            std::fs::read(demo.config_path()).unwrap(),
            before,
            "{args:?}: file untouched"
        );
    }
    assert_eq!(demo.request("GET", "/", &[]).unwrap().0, 200);
}

#[test]
fn failed_reload_is_reported_with_the_services_error() {
    let demo = Demo::start(&demo_config("enabled = true"), false, &[]);
    let pid = demo.pid().to_string();
    demo.write_config(&demo_config("enabled = false\nallow_ips = [\"300.1.1.1\"]"));
    let out = cli(
        &["reload", "--pid", &pid, "--timeout", "10s"],
        &[],
        demo.dir.path(),
    );
    assert!(!out.status.success());
    let t = text(&out);
    assert!(
        t.contains("maintenance.allow_ips[0]") && t.contains("kept"),
        "{t}"
    );
    assert_eq!(
        demo.request("GET", "/", &[]).unwrap().0,
        503,
        "old state kept"
    );
}

#[test]
fn edits_keep_comments_and_go_to_the_deciding_table() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("Rocket.toml");
    std::fs::write(
        &path,
        "# top comment\n[default]\nport = 8000 # keep me\n\n[default.maintenance]\nenabled = false # the switch\n\n[release.maintenance]\nmessage = \"release message\"\n\n[global.maintenance]\nretry_after = 60\n",
    )
    .unwrap();
    let p = path.to_str().unwrap();
    let out = cli(
        &[
            "on",
            "--config",
            p,
            "--profile",
            "release",
            "--message",
            "new",
            "--retry-after",
            "5m",
        ],
        &[],
        dir.path(),
    );
    assert!(out.status.success(), "{}", text(&out));
    let after = std::fs::read_to_string(&path).unwrap();
    assert!(
        after.starts_with("# top comment\n[default]\nport = 8000 # keep me\n"),
        "{after}"
    );
    assert!(after.contains("enabled = true # the switch"), "{after}");
    assert!(
        after.contains("[release.maintenance]\nmessage = \"new\""),
        "profile table decides: {after}"
    );
    assert!(
        after.contains("[global.maintenance]\nretry_after = \"5m\""),
        "global decides: {after}"
    );
    let out = cli(
        &["status", "--config", p, "--profile", "release"],
        &[],
        dir.path(),
    );
    assert!(
        text(&out).starts_with("maintenance: on\n"),
        "{}",
        text(&out)
    );
}

#[test]
fn keys_set_nowhere_go_to_default_and_the_table_is_created() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("Rocket.toml");
    std::fs::write(&path, "[default]\nport = 8000\n").unwrap();
    let out = cli(&["on", "--config", path.to_str().unwrap()], &[], dir.path());
    assert!(out.status.success(), "{}", text(&out));
    let after = std::fs::read_to_string(&path).unwrap();
    assert!(
        after.contains("[default.maintenance]\nenabled = true"),
        "{after}"
    );
}

#[test]
fn symlinks_are_followed_and_mode_is_kept() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let real = dir.path().join("real.toml");
    std::fs::write(&real, "[default.maintenance]\nenabled = false\n").unwrap();
    std::fs::set_permissions(&real, std::fs::Permissions::from_mode(0o640)).unwrap();
    let link = dir.path().join("Rocket.toml");
    std::os::unix::fs::symlink(&real, &link).unwrap();
    let out = cli(&["on", "--config", link.to_str().unwrap()], &[], dir.path());
    assert!(out.status.success(), "{}", text(&out));
    assert!(std::fs::symlink_metadata(&link)
        .unwrap()
        .file_type()
        .is_symlink());
    assert!(std::fs::read_to_string(&real)
        .unwrap()
        .contains("enabled = true"));
    let mode = std::fs::metadata(&real).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o640);
}

#[test]
fn off_ends_an_active_window_and_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("Rocket.toml");
    std::fs::write(
        &path,
        "[default.maintenance]\nstarts_at = \"2000-01-01T00:00:00Z\"\nends_at = \"2999-01-01T00:00:00Z\"\n",
    )
    .unwrap();
    let out = cli(
        &["off", "--config", path.to_str().unwrap()],
        &[],
        dir.path(),
    );
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("window is active"), "{}", text(&out));
    let after = std::fs::read_to_string(&path).unwrap();
    assert!(!after.contains("starts_at"), "{after}");
}

#[test]
fn with_secret_prints_a_secret_once_that_works() {
    use std::os::unix::fs::PermissionsExt;
    let demo = Demo::start(&demo_config("enabled = false"), false, &[]);
    let pid = demo.pid().to_string();
    // A world-readable config would show the secret to every user: refused, file untouched.
    let before = std::fs::read(demo.config_path()).unwrap();
    std::fs::set_permissions(demo.config_path(), std::fs::Permissions::from_mode(0o644)).unwrap();
    let out = cli(
        &["on", "--pid", &pid, "--with-secret"],
        &[],
        demo.dir.path(),
    );
    assert!(!out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("chmod 640"), "{}", text(&out));
    assert_eq!(std::fs::read(demo.config_path()).unwrap(), before);
    std::fs::set_permissions(demo.config_path(), std::fs::Permissions::from_mode(0o640)).unwrap();
    let out = cli(
        &["on", "--pid", &pid, "--with-secret"],
        &[],
        demo.dir.path(),
    );
    assert!(out.status.success(), "{}", text(&out));
    let t = text(&out);
    let secret = t
        .lines()
        .find_map(|l| l.strip_prefix("bypass secret (shown once): "))
        .unwrap()
        .to_string();
    assert_eq!(
        t.matches(&secret).count(),
        2,
        "printed once (and in the URL hint): {t}"
    );
    let (status, response) = demo.request("GET", &format!("/{secret}"), &[]).unwrap();
    assert_eq!(status, 302);
    let cookie = response
        .lines()
        .find_map(|l| l.strip_prefix("set-cookie: "))
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_string();
    assert_eq!(demo.request("GET", "/", &[]).unwrap().0, 503);
    assert_eq!(
        demo.request("GET", "/", &[("Cookie", &cookie)]).unwrap().0,
        200
    );
    // The secret never shows in status output.
    let out = cli(&["status", "--pid", &pid], &[], demo.dir.path());
    assert!(!text(&out).contains(&secret));
}

#[test]
fn two_clis_at_once_never_lose_a_change() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("Rocket.toml");
    std::fs::write(&path, "[default.maintenance]\nenabled = false\n").unwrap();
    let p = path.to_str().unwrap().to_string();
    let handles: Vec<_> = (0..8)
        .map(|i| {
            let p = p.clone();
            std::thread::spawn(move || {
                let key = format!("--{}", ["message", "retry-after"][i % 2]);
                let value = if i % 2 == 0 {
                    format!("m{i}")
                } else {
                    format!("{i}m")
                };
                Command::new(common::cli_bin())
                    .args(["on", "--config", &p, &key, &value])
                    .output()
                    .unwrap()
            })
        })
        .collect();
    for h in handles {
        let out = h.join().unwrap();
        assert!(out.status.success(), "{}", text(&out));
    }
    let after = std::fs::read_to_string(&path).unwrap();
    assert!(after.contains("message = \"m"), "{after}");
    assert!(after.contains("retry_after = \""), "{after}");
    assert!(after.contains("enabled = true"), "{after}");
}

#[test]
fn a_killed_cli_leaves_the_file_whole() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("Rocket.toml");
    let old = "[default.maintenance]\nenabled = false\n";
    std::fs::write(&path, old).unwrap();
    for i in 0..30u64 {
        let mut child = Command::new(common::cli_bin())
            .args([
                "on",
                "--config",
                path.to_str().unwrap(),
                "--message",
                &format!("m{i}"),
            ])
            .stdout(std::process::Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(std::time::Duration::from_micros(200 * i));
        let _ = child.kill();
        let _ = child.wait();
        let now = std::fs::read_to_string(&path).unwrap();
        assert!(
            rocket::figment::Figment::from(
                <rocket::figment::providers::Toml as rocket::figment::providers::Format>::string(
                    &now
                )
            )
            .extract::<rocket::figment::value::Value>()
            .is_ok()
                && now.contains("[default.maintenance]"),
            "whole after kill {i}: {now:?}"
        );
    }
}

#[test]
fn a_held_lock_is_waited_for_within_the_timeout_then_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("Rocket.toml");
    let before = "[default.maintenance]\nenabled = false\n";
    std::fs::write(&path, before).unwrap();
    let lock = std::fs::File::create(dir.path().join(".Rocket.toml.lock")).unwrap();
    lock.lock().unwrap();
    let start = std::time::Instant::now();
    let out = cli(
        &["on", "--config", path.to_str().unwrap(), "--timeout", "1s"],
        &[],
        dir.path(),
    );
    assert!(!out.status.success());
    assert!(text(&out).contains("locked"), "{}", text(&out));
    assert!(start.elapsed() >= std::time::Duration::from_secs(1));
    assert_eq!(std::fs::read_to_string(&path).unwrap(), before);
    lock.unlock().unwrap();
    let out = cli(&["on", "--config", path.to_str().unwrap()], &[], dir.path());
    assert!(out.status.success(), "{}", text(&out));
}

#[test]
fn a_scheduled_on_whose_window_has_begun_is_accepted() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("Rocket.toml");
    std::fs::write(&path, "[default.maintenance]\nenabled = false\n").unwrap();
    let out = cli(
        &[
            "on",
            "--config",
            path.to_str().unwrap(),
            "--starts-at",
            "2000-01-01T00:00:00Z",
            "--ends-at",
            "2999-01-01T00:00:00Z",
        ],
        &[],
        dir.path(),
    );
    assert!(out.status.success(), "{}", text(&out));
    let out = cli(
        &["status", "--config", path.to_str().unwrap()],
        &[],
        dir.path(),
    );
    assert!(
        text(&out).starts_with("maintenance: on\n"),
        "{}",
        text(&out)
    );
    assert!(text(&out).contains("(active now)"), "{}", text(&out));
}

#[test]
fn with_pid_templates_are_validated_in_the_services_template_dir() {
    // No template_dir in the file: the service resolves `templates` in its working directory.
    let config = "[default]\naddress = \"127.0.0.1\"\nport = 0\n\n[default.maintenance]\nenabled = false\ntemplate = \"maintenance\"\n";
    let demo = Demo::start(config, false, &[]);
    let elsewhere = tempfile::tempdir().unwrap();
    let out = cli(
        &["on", "--pid", &demo.pid().to_string()],
        &[],
        elsewhere.path(),
    );
    assert!(out.status.success(), "{}", text(&out));
    let (status, body) = demo.request("GET", "/", &[]).unwrap();
    assert_eq!(status, 503);
    assert!(body.contains("Website Unavailable"));
}

/// `status --pid` of a process that is gone says so, and never reports a live state.
#[test]
fn status_of_a_gone_process_says_it_is_gone() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new("true").spawn().unwrap();
    let pid = child.id();
    child.wait().unwrap();
    let out = cli(&["status", "--pid", &pid.to_string()], &[], dir.path());
    assert!(!out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("is gone"), "{}", text(&out));
    assert!(!text(&out).contains("live:"), "{}", text(&out));
}

/// A live state left behind by a process that died names a pid that a later, unrelated process
/// may get: the CLI tells them apart by the start time the file records, and never signals the
/// newcomer (`SIGHUP` ends most programs) nor reports it live.
#[test]
fn a_live_state_left_by_a_dead_process_is_not_taken_for_its_pids_new_owner() {
    use rocket_maintenance::control::process_start_ticks;
    use std::os::unix::fs::PermissionsExt;

    let dir = tempfile::tempdir().unwrap();
    let runtime = dir.path().join("run");
    std::fs::create_dir(&runtime).unwrap();
    std::fs::set_permissions(&runtime, std::fs::Permissions::from_mode(0o700)).unwrap();
    // The newcomer: a process that got the pid, with the runtime directory the service had.
    let mut newcomer = Command::new("sleep")
        .arg("30")
        .env("RUNTIME_DIRECTORY", &runtime)
        .spawn()
        .unwrap();
    let pid = newcomer.id();
    common::wait_for_environment(pid);
    let started = process_start_ticks(pid).expect("/proc shows the child");
    let config = dir.path().join("Rocket.toml");
    std::fs::write(&config, "[default.maintenance]\nenabled = true\n").unwrap();
    let write_live = |started: u64| {
        let mut live = common::live_state(pid, Some(&config), "maintenance on");
        live["on"] = true.into();
        live["started"] = started.into();
        let path = runtime.join(format!("{pid}.json"));
        std::fs::write(&path, live.to_string()).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    };

    // Left by the earlier owner of the pid, which started before the newcomer.
    write_live(started - 1);
    for args in [
        vec!["reload", "--pid", &pid.to_string(), "--timeout", "2s"],
        vec!["status", "--pid", &pid.to_string()],
    ] {
        let out = cli(&args, &[], dir.path());
        assert!(!out.status.success(), "{args:?}: {}", text(&out));
        assert!(
            text(&out).contains("earlier process") && !text(&out).contains("maintenance: on"),
            "{args:?}: {}",
            text(&out)
        );
    }
    assert!(
        newcomer.try_wait().unwrap().is_none(),
        "the newcomer was signalled and ended"
    );

    // Written by the process itself: read as its live state.
    write_live(started);
    let out = cli(&["status", "--pid", &pid.to_string()], &[], dir.path());
    assert!(
        text(&out).contains("maintenance: on"),
        "the newcomer's own live state is read: {}",
        text(&out)
    );
    newcomer.kill().unwrap();
    newcomer.wait().unwrap();
}
