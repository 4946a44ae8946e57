//! The bypass secret never appears in logs, `STATUS=`, the live state, errors or the CLI's
//! output, whatever happens: logins, header bypasses, failed reloads quoting the secret's line.

mod common;

use std::process::Command;
use std::time::Duration;

use common::{demo_config, Demo};
use nix::sys::signal::Signal;

const SECRET: &str = "sEcReT-never-to-be-seen_0123456789";

#[test]
fn the_secret_shows_nowhere() {
    let good = demo_config(&format!("enabled = true\nbypass_secret = \"{SECRET}\""));
    let mut demo = Demo::start(&good, true, &[]);
    let mut seen = demo.launch_output.join("\n");
    let mut notes = Vec::new();
    let drain = |demo: &Demo, notes: &mut Vec<String>| {
        while let Some(d) = demo.next_notification(Duration::from_millis(300)) {
            notes.push(d);
        }
    };

    let (status, login) = demo.request("GET", &format!("/{SECRET}"), &[]).unwrap();
    assert_eq!(status, 302);
    assert!(!login.contains(SECRET), "the cookie and redirect: {login}");
    assert_eq!(
        demo.request("GET", "/", &[("X-Maintenance-Bypass", SECRET)])
            .unwrap()
            .0,
        200
    );

    // Reloads that fail on the secret's own line, or on its value.
    let broken_toml = good.replace(&format!("\"{SECRET}\""), &format!("\"{SECRET}"));
    let too_short = demo_config(&format!(
        "enabled = true\nbypass_secret = \"{}\"",
        &SECRET[..10]
    ));
    let wrong_type = demo_config("enabled = true\nbypass_secret = 12345678901234567");
    for config in [broken_toml, too_short, wrong_type] {
        demo.write_config(&config);
        demo.signal(Signal::SIGHUP);
        drain(&demo, &mut notes);
        let live = std::fs::read_to_string(
            demo.dir
                .path()
                .join("run")
                .join(format!("{}.json", demo.pid())),
        )
        .unwrap();
        assert!(live.contains("reload failed"), "{live}");
        seen.push_str(&live);
        let cli = Command::new(common::cli_bin())
            .args(["status", "--pid", &demo.pid().to_string()])
            .output()
            .unwrap();
        seen.push_str(&String::from_utf8_lossy(&cli.stdout));
        seen.push_str(&String::from_utf8_lossy(&cli.stderr));
        let cli = Command::new(common::cli_bin())
            .args(["on", "--config", demo.config_path().to_str().unwrap()])
            .output()
            .unwrap();
        assert!(!cli.status.success());
        seen.push_str(&String::from_utf8_lossy(&cli.stderr));
    }
    demo.signal(Signal::SIGTERM);
    let _ = demo.child.wait();
    std::thread::sleep(Duration::from_millis(200));
    seen.push_str(&demo.output().join("\n"));
    seen.push_str(&notes.join("\n"));

    assert!(seen.contains("reload failed"), "the failures were seen");
    assert!(seen.contains("<redacted"), "and redacted");
    assert!(!seen.contains(SECRET), "the secret leaked:\n{seen}");
    assert!(
        !seen.contains(&SECRET[..10]),
        "a prefix of the secret leaked:\n{seen}"
    );
    assert!(
        !seen.contains("12345678901234567"),
        "a wrong-typed secret leaked:\n{seen}"
    );
}
