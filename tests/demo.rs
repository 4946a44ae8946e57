//! The tutorial's demo as a real process on a loopback port, spoken to over HTTP.

mod common;

use common::{demo_config, Demo};
use nix::sys::signal::Signal;

#[test]
fn the_tutorial_works_end_to_end() {
    let config = std::fs::read_to_string(common::repo().join("Rocket.toml"))
        .unwrap()
        .replace("port = 8000", "port = 0");
    let demo = Demo::start(&config, true, &[]);
    let (status, body) = demo.request("GET", "/", &[]).unwrap();
    assert_eq!(status, 200);
    assert!(
        body.contains("<h1>Home</h1>") && body.contains("Lorem ipsum"),
        "{body}"
    );
    let (status, body) = demo.request("GET", "/about", &[]).unwrap();
    assert_eq!(status, 200);
    assert!(body.contains("<h1>About</h1>"), "{body}");

    demo.write_config(&config.replace("enabled = false", "enabled = true"));
    demo.signal(Signal::SIGHUP);
    let mut ready = 0;
    while ready < 2 {
        let d = demo
            .next_notification(std::time::Duration::from_secs(10))
            .unwrap();
        ready += usize::from(d.starts_with("READY=1"));
    }

    let (status, body) = demo.request("GET", "/", &[]).unwrap();
    assert_eq!(status, 503);
    assert!(
        body.contains("Website Unavailable"),
        "the demo's own template: {body}"
    );
    assert!(
        body.contains("support@example.com"),
        "context variables: {body}"
    );
    assert!(
        body.to_ascii_lowercase().contains("retry-after: 900"),
        "{body}"
    );
    assert!(
        body.to_ascii_lowercase()
            .contains("cache-control: no-store"),
        "{body}"
    );
    assert_eq!(
        demo.request("GET", "/about", &[]).unwrap().0,
        200,
        "about is force_off"
    );
    assert_eq!(
        demo.request("GET", "//about", &[]).unwrap().0,
        200,
        "as Rocket routes it"
    );
    assert_eq!(demo.request("GET", "/about/..", &[]).unwrap().0, 503);
    assert_eq!(demo.request("POST", "/about", &[]).unwrap().0, 503);
    assert_eq!(demo.request("DELETE", "/nothing/here", &[]).unwrap().0, 503);
    let (status, head) = demo.request("HEAD", "/", &[]).unwrap();
    assert_eq!(status, 503);
    assert!(head.ends_with("\r\n\r\n"), "HEAD has no body: {head:?}");
    assert_eq!(demo.request("HEAD", "/about", &[]).unwrap().0, 200);
    let (status, json) = demo
        .request(
            "GET",
            "/",
            &[("Accept", "application/json, text/plain, */*")],
        )
        .unwrap();
    assert_eq!(status, 503);
    assert!(json.contains("application/problem+json"), "{json}");
    assert!(json.contains("\"retry_after\":900"), "{json}");
}

#[test]
fn rocket_env_variables_work_as_in_any_rocket_app() {
    let demo = Demo::start(
        &demo_config("enabled = false"),
        false,
        &[(
            "ROCKET_MAINTENANCE",
            "{enabled=true,message=\"from the environment\"}",
        )],
    );
    let (status, body) = demo.request("GET", "/", &[]).unwrap();
    assert_eq!(status, 503);
    assert!(body.contains("from the environment"), "{body}");
}
