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

#[get("/about")]
fn about() {}

/// A new user's mistakes that used to pass silently or point the wrong way stop the launch with
/// the fix: `rocket::custom(figment)` with `Maintenance::fairing()` (its reloads would read
/// Rocket.toml, not the app's figment), and a `force_off` route mounted by the app as well.
#[rocket::async_test]
async fn a_new_users_mistakes_stop_the_launch_with_the_fix() {
    let custom = rocket::custom(common::figment("[maintenance]\nenabled = true\n"))
        .attach(Maintenance::fairing());
    let err = custom.ignite().await.unwrap_err();
    assert!(matches!(err.kind(), ErrorKind::FailedFairings(_)), "{err}");
    std::mem::forget(err);

    let f = common::figment("");
    let g = f.clone();
    let twice = rocket::custom(f)
        .mount("/", routes![about])
        .attach(Maintenance::custom(move || g.clone()).force_off("/", routes![about]));
    let err = twice.ignite().await.unwrap_err();
    match err.kind() {
        ErrorKind::FailedFairings(failed) => assert_eq!(failed[0].name, FAIRING_NAME),
        other => panic!("Rocket's own collision error came first: {other:?}"),
    }
    std::mem::forget(err);
}

/// A launch that aborts after the fairing ignited, and a rocket dropped after liftoff (a test's
/// client), leave no live-state file behind.
#[rocket::async_test]
async fn no_live_state_file_is_left_behind() {
    let dir = tempfile::tempdir().unwrap();
    std::env::set_var("XDG_RUNTIME_DIR", dir.path());
    // Live-state files (not the temporary files they are written through).
    let files = || {
        std::fs::read_dir(dir.path().join("rocket-maintenance"))
            .map(|d| {
                d.flatten()
                    .filter(|e| e.path().extension().is_some_and(|x| x == "json"))
                    .count()
            })
            .unwrap_or(0)
    };
    let client = common::client(common::rocket_with("", routes![], vec![])).await;
    assert_eq!(files(), 1, "written at liftoff");
    drop(client);
    // A background task may hold the engine for a moment after the rocket is gone.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(2);
    while files() > 0 && std::time::Instant::now() < deadline {
        rocket::tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    assert_eq!(files(), 0, "removed when the rocket is dropped");
    let ignited = common::rocket_with("", routes![], vec![])
        .ignite()
        .await
        .unwrap();
    drop(ignited);
    assert_eq!(
        files(),
        0,
        "an ignited rocket that never lifts off writes none"
    );
}
