//! With the cargo feature `metrics`, the counts and the state go to the `metrics` facade under
//! the documented names and labels: a recorder installed here reads them back.
#![cfg(feature = "metrics")]

mod common;

use metrics_util::debugging::{DebugValue, DebuggingRecorder};
use rocket::routes;

#[test]
fn counts_and_state_reach_the_metrics_facade() {
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    recorder.install().unwrap();
    rocket::execute(async {
        let toml = "[maintenance]\nenabled = true\nallow_paths = [\"/static/**\"]\n";
        let client = common::client(common::rocket_with(toml, routes![], vec![])).await;
        for _ in 0..3 {
            client.get("/").dispatch().await;
        }
        client.get("/static/app.css").dispatch().await;
        let handle = common::handle(&client);
        let _ = handle.reload().await;
        assert!(handle.status().is_on());
    });
    let mut held = 0;
    let mut allow_paths = 0;
    let mut reloads = 0;
    let mut active_on = None;
    for (key, _, _, value) in snapshotter.snapshot().into_vec() {
        let key = key.key();
        let label = |name: &str| {
            key.labels()
                .find(|l| l.key() == name)
                .map(|l| l.value().to_string())
        };
        match (key.name(), value) {
            ("rocket_maintenance_requests_total", DebugValue::Counter(n)) => {
                match (label("outcome").as_deref(), label("rule").as_deref()) {
                    (Some("held"), _) => held += n,
                    (Some("passed"), Some("allow_paths")) => allow_paths += n,
                    _ => {}
                }
            }
            ("rocket_maintenance_reloads_total", DebugValue::Counter(n)) => {
                assert_eq!(label("result").as_deref(), Some("ok"));
                reloads += n;
            }
            ("rocket_maintenance_active", DebugValue::Gauge(v))
                if label("mode").as_deref() == Some("on") =>
            {
                active_on = Some(v.into_inner());
            }
            _ => {}
        }
    }
    assert_eq!(held, 3);
    assert_eq!(allow_paths, 1);
    assert_eq!(reloads, 1);
    assert_eq!(active_on, Some(1.0));
}
