//! The guards stop the launch when the fairing is missing; bad settings stop ignite, and the
//! failing fairing is named "Maintenance".

mod common;

use rocket::error::ErrorKind;
use rocket::{get, routes};
use rocket_maintenance::{ForceOn, Maintenance, MaintenanceStatus};

/// The fairing's name, as Rocket prints it.
const FAIRING_NAME: &str = "Maintenance";

#[get("/a")]
fn a(_s: MaintenanceStatus) {}

#[get("/b")]
fn b(_f: ForceOn) {}

#[rocket::async_test]
async fn guards_without_the_fairing_abort_the_launch() {
    for routes in [routes![a], routes![b]] {
        let rocket = rocket::custom(common::figment("")).mount("/", routes);
        let err = rocket.ignite().await.unwrap_err();
        assert!(matches!(err.kind(), ErrorKind::SentinelAborts(_)), "{err}");
        std::mem::forget(err); // a dropped rocket::Error panics on purpose
    }
}

#[rocket::async_test]
async fn guards_with_the_fairing_launch() {
    let rocket = common::rocket_with("", routes![a, b], vec![]);
    assert!(rocket.ignite().await.is_ok());
}

#[rocket::async_test]
async fn bad_settings_stop_ignite_naming_the_fairing() {
    assert_eq!(FAIRING_NAME, "Maintenance");
    for toml in [
        "[maintenance]\nenabeld = true",
        "[maintenance]\nstatus = 200",
        "[maintenance]\ntemplate = \"does/not/exist\"",
        "[maintenance.fleet]\nstore = \"redis://127.0.0.1\"",
        "shutdown = { signals = [\"hup\"] }",
    ] {
        let f = common::figment(toml);
        let g = f.clone();
        let rocket = rocket::custom(f).attach(Maintenance::custom(move || g.clone()));
        let err = rocket.ignite().await.unwrap_err();
        match err.kind() {
            ErrorKind::FailedFairings(failed) => {
                assert_eq!(failed.len(), 1, "{toml}");
                assert_eq!(failed[0].name, FAIRING_NAME, "{toml}");
            }
            other => panic!("{toml}: unexpected {other:?}"),
        }
        std::mem::forget(err);
    }
}

/// Attaching the fairing twice is a launch error that says so, not a panic in `manage()`.
#[rocket::async_test]
async fn attaching_the_fairing_twice_stops_the_launch() {
    let f = common::figment("");
    let (g, h) = (f.clone(), f.clone());
    let rocket = rocket::custom(f)
        .attach(Maintenance::custom(move || g.clone()))
        .attach(Maintenance::custom(move || h.clone()));
    let err = rocket.ignite().await.unwrap_err();
    match err.kind() {
        ErrorKind::FailedFairings(failed) => assert_eq!(failed[0].name, FAIRING_NAME),
        other => panic!("unexpected {other:?}"),
    }
    std::mem::forget(err);
}
