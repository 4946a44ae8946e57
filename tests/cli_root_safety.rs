//! The CLI run as root must not be steered by another user (the audit's findings 1, 4 and 7).
//! These tests need root (as the tests and CI run here); as another user they return early.

mod common;

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::os::unix::process::CommandExt;
use std::process::{Command, Output};

use common::{live_state, output_text as text};

fn cli(args: &[&str]) -> Output {
    common::cli_output(args, std::path::Path::new("."), &[])
}

fn is_root() -> bool {
    nix::unistd::geteuid().is_root()
}

fn nobody() -> nix::unistd::User {
    nix::unistd::User::from_name("nobody").unwrap().unwrap()
}

/// A line of a password file: what must never be printed.
const SHADOW_LINE: &str = "root:$6$saltsalt$hashhashhash:19000:0:99999:7:::\n";

/// A file in `dir` that root alone may read, holding `text`.
fn root_only_file(dir: &std::path::Path, name: &str, text: &str) -> std::path::PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    path
}

/// A root-owned config with a mode of its own, in a directory only root writes.
fn config_dir(mode: u32) -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let path = dir.path().join("Rocket.toml");
    std::fs::write(
        &path,
        "# the operator's comment\n[default.maintenance]\nenabled = false\n",
    )
    .unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
    (dir, path)
}

#[test]
fn the_written_file_keeps_owner_and_permission_bits_only() {
    if !is_root() {
        return;
    }
    let (_dir, path) = config_dir(0o640);
    let out = cli(&["on", "--config", path.to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out));
    let meta = std::fs::metadata(&path).unwrap();
    assert_eq!(meta.mode() & 0o7777, 0o640);
    assert_eq!(meta.uid(), 0);
    let after = std::fs::read_to_string(&path).unwrap();
    assert!(after.contains("# the operator's comment") && after.contains("enabled = true"));
}

#[test]
fn root_refuses_a_config_another_user_can_change() {
    if !is_root() {
        return;
    }
    let nobody = nobody();
    // The directory belongs to the service's user: it could swap the file for a symlink.
    let (dir, path) = config_dir(0o640);
    nix::unistd::chown(dir.path(), Some(nobody.uid), None).unwrap();
    let before = std::fs::read(&path).unwrap();
    let out = cli(&["on", "--config", path.to_str().unwrap()]);
    assert!(!out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("owned by uid"), "{}", text(&out));
    assert_eq!(std::fs::read(&path).unwrap(), before, "the file changed");
    nix::unistd::chown(dir.path(), Some(nix::unistd::Uid::from_raw(0)), None).unwrap();

    // A setuid, world-writable config: refused, never copied onto the new file.
    let (_dir, path) = config_dir(0o4777);
    let out = cli(&["on", "--config", path.to_str().unwrap()]);
    assert!(!out.status.success(), "{}", text(&out));
    assert!(
        text(&out).contains("writable by everyone"),
        "{}",
        text(&out)
    );
}

#[test]
fn root_never_follows_a_planted_lock_symlink_or_prints_a_foreign_file() {
    if !is_root() {
        return;
    }
    let (dir, path) = config_dir(0o640);
    // A symlink where the lock goes, pointing at a file root alone may write.
    let victim_dir = tempfile::tempdir().unwrap();
    let victim = victim_dir.path().join("victim");
    std::os::unix::fs::symlink(&victim, dir.path().join(".Rocket.toml.lock")).unwrap();
    let out = cli(&["on", "--config", path.to_str().unwrap()]);
    assert!(!out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("symlink"), "{}", text(&out));
    assert!(
        !victim.exists(),
        "root created a file through the planted symlink"
    );

    // A config that is a symlink to a file that is not TOML (a password hash): its contents are
    // never printed.
    let secret = root_only_file(victim_dir.path(), "shadow", SHADOW_LINE);
    let link = dir.path().join("linked.toml");
    std::os::unix::fs::symlink(&secret, &link).unwrap();
    let out = cli(&["on", "--config", link.to_str().unwrap()]);
    assert!(!out.status.success(), "{}", text(&out));
    assert!(!text(&out).contains("hashhashhash"), "{}", text(&out));
    assert_eq!(std::fs::read_to_string(&secret).unwrap(), SHADOW_LINE);
}

/// A process of user `nobody` that ignores SIGHUP (a service that never answers), with a live
/// state of its own in `run` whose fields `forge` gives (the pid is filled in), written as
/// `nobody`. Returns the process.
fn forged_service(
    run: &std::path::Path,
    forge: impl Fn(u32) -> serde_json::Value,
) -> std::process::Child {
    let nobody = nobody();
    nix::unistd::chown(run, Some(nobody.uid), Some(nobody.gid)).unwrap();
    let service = Command::new("sh")
        .args(["-c", "trap '' HUP; sleep 30"])
        .env("RUNTIME_DIRECTORY", run)
        .uid(nobody.uid.as_raw())
        .gid(nobody.gid.as_raw())
        .spawn()
        .unwrap();
    common::wait_for_environment(service.id());
    let live = run.join(format!("{}.json", service.id()));
    std::fs::write(&live, forge(service.id()).to_string()).unwrap();
    nix::unistd::chown(&live, Some(nobody.uid), Some(nobody.gid)).unwrap();
    service
}

/// Runs the CLI with `args` and `--pid` of `service`, whose live state is in `run`, then ends
/// the service.
fn ask(service: &mut std::process::Child, run: &std::path::Path, args: &[&str]) -> Output {
    let pid = service.id().to_string();
    let mut all = args.to_vec();
    all.extend(["--pid", &pid]);
    let out = common::cli_output(
        &all,
        std::path::Path::new("."),
        &[("RUNTIME_DIRECTORY", run.to_str().unwrap())],
    );
    let _ = service.kill();
    let _ = service.wait();
    out
}

/// A live state that another user (the service's) wrote names the config root edits only when
/// that user can read it and cannot change it: a forged one pointing at a root-only file is
/// refused, and that file is untouched (the audit's finding 2); one that names another process
/// is refused too.
#[test]
fn a_forged_live_state_cannot_point_roots_edit_at_another_file() {
    if !is_root() {
        return;
    }
    let run = tempfile::tempdir().unwrap();
    // The file the forgery aims at: root's alone.
    let (_dir, victim) = config_dir(0o600);
    let before = std::fs::read(&victim).unwrap();
    let mut service = forged_service(run.path(), |pid| live_state(pid, Some(&victim), "owned"));
    let out = ask(&mut service, run.path(), &["on", "--timeout", "2s"]);
    assert!(!out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("--config"), "{}", text(&out));
    assert!(!text(&out).contains("owned"), "{}", text(&out));
    assert_eq!(
        std::fs::read(&victim).unwrap(),
        before,
        "root edited the forged target"
    );

    let mut service = forged_service(run.path(), |_| live_state(1, None, ""));
    let out = ask(&mut service, run.path(), &["status"]);
    assert!(!out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("names process 1"), "{}", text(&out));
}

/// The path as given counts too: a config reached through a directory another user owns (here a
/// symlink in it) is refused, however root-owned its target is; and `status` never prints a file
/// that is not TOML.
#[test]
fn a_path_through_another_users_directory_is_refused_and_status_quotes_nothing() {
    if !is_root() {
        return;
    }
    let nobody = nobody();
    let (target_dir, _config) = config_dir(0o640);
    let theirs = tempfile::tempdir().unwrap();
    nix::unistd::chown(theirs.path(), Some(nobody.uid), None).unwrap();
    std::os::unix::fs::symlink(target_dir.path(), theirs.path().join("conf")).unwrap();
    let given = theirs.path().join("conf/Rocket.toml");
    let out = cli(&["on", "--config", given.to_str().unwrap()]);
    assert!(!out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("owned by uid"), "{}", text(&out));

    let secret = root_only_file(target_dir.path(), "shadow", SHADOW_LINE);
    let out = cli(&["status", "--config", secret.to_str().unwrap()]);
    assert!(!out.status.success(), "{}", text(&out));
    assert!(!text(&out).contains("hashhashhash"), "{}", text(&out));
}

/// A live state that is a symlink (here to a root-only file) is not followed, and nothing of the
/// file it points to is printed.
#[test]
fn a_live_state_symlink_is_not_followed() {
    if !is_root() {
        return;
    }
    let run = tempfile::tempdir().unwrap();
    let secret_dir = tempfile::tempdir().unwrap();
    let secret = root_only_file(
        secret_dir.path(),
        "secret.json",
        "{\"pid\": \"hunter2-root-only\"}",
    );
    let mut service = forged_service(run.path(), |pid| live_state(pid, None, ""));
    let live = run.path().join(format!("{}.json", service.id()));
    std::fs::remove_file(&live).unwrap();
    std::os::unix::fs::symlink(&secret, &live).unwrap();
    let nobody = nobody();
    std::os::unix::fs::lchown(&live, Some(nobody.uid.as_raw()), Some(nobody.gid.as_raw())).unwrap();
    let out = ask(&mut service, run.path(), &["status"]);
    assert!(!out.status.success(), "{}", text(&out));
    assert!(!text(&out).contains("hunter2"), "{}", text(&out));
}
