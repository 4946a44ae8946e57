//! `ForceOn`, `MaintenanceStatus`, `exempt_when`, `on_change` and the handle.

mod common;

use std::sync::{Arc, Mutex};

use common::{client, figment, rocket_with, Calls};
use rocket::http::{Header, Status};
use rocket::request::{FromRequest, Outcome, Request};
use rocket::{get, post, routes, State};
use rocket_maintenance::{ForceOn, Maintenance, MaintenanceHandle, MaintenanceStatus};

static CHECKOUT: Calls = Calls::new();

#[post("/checkout")]
fn checkout(_closed: ForceOn) -> &'static str {
    CHECKOUT.hit();
    "charged"
}

#[get("/status")]
fn status(s: MaintenanceStatus) -> String {
    format!(
        "on={} gen={} msg={}",
        s.is_on(),
        s.generation(),
        s.message()
    )
}

#[rocket::async_test]
async fn force_on_route_answers_maintenance_even_when_off_and_its_handler_never_runs() {
    let client = client(rocket_with(
        "[maintenance]\nenabled = false\nmessage = \"Checkout closed\"\nretry_after = 60",
        routes![checkout],
        routes![],
    ))
    .await;
    let response = client.post("/checkout").dispatch().await;
    assert_eq!(response.status(), Status::ServiceUnavailable);
    assert_eq!(
        response.headers().get_one("Cache-Control"),
        Some("no-store")
    );
    assert_eq!(response.headers().get_one("Retry-After"), Some("60"));
    assert!(response
        .into_string()
        .await
        .unwrap()
        .contains("Checkout closed"));
    assert_eq!(CHECKOUT.count(), 0);
}

#[rocket::async_test]
async fn force_on_beats_force_off_and_allow_rules() {
    let client = client(rocket_with(
        "[maintenance]\nenabled = true\nallow_paths = [\"/checkout\"]",
        routes![],
        routes![checkout],
    ))
    .await;
    assert_eq!(
        client.post("/checkout").dispatch().await.status(),
        Status::ServiceUnavailable
    );
    assert_eq!(CHECKOUT.count(), 0);
}

#[rocket::async_test]
async fn status_guard_reports_the_live_state() {
    let client = client(rocket_with(
        "[maintenance]\nenabled = true\nmessage = \"hello\"",
        routes![],
        routes![status],
    ))
    .await;
    let body = client
        .get("/status")
        .dispatch()
        .await
        .into_string()
        .await
        .unwrap();
    assert_eq!(body, "on=true gen=1 msg=hello");
}

struct Staff;

#[rocket::async_trait]
impl<'r> FromRequest<'r> for Staff {
    type Error = ();
    async fn from_request(req: &'r Request<'_>) -> Outcome<Self, ()> {
        match req.headers().get_one("X-Staff") {
            Some("yes") => Outcome::Success(Staff),
            _ => Outcome::Forward(Status::Unauthorized),
        }
    }
}

#[rocket::async_test]
async fn exempt_guard_lets_staff_through() {
    static HOME: Calls = Calls::new();
    #[get("/")]
    fn home() -> &'static str {
        HOME.hit();
        "home"
    }
    let f = figment("[maintenance]\nenabled = true");
    let g = f.clone();
    let rocket = rocket::custom(f)
        .mount("/", routes![home])
        .attach(Maintenance::custom(move || g.clone()).exempt_when::<Staff>());
    let client = client(rocket).await;
    assert_eq!(
        client.get("/").dispatch().await.status(),
        Status::ServiceUnavailable
    );
    assert_eq!(HOME.count(), 0);
    let staff = client
        .get("/")
        .header(Header::new("X-Staff", "yes"))
        .dispatch()
        .await;
    assert_eq!(staff.status(), Status::Ok);
    assert_eq!(HOME.count(), 1);
}

#[rocket::async_test]
async fn handle_reload_swaps_state_and_calls_on_change() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("Rocket.toml");
    std::fs::write(&path, "[default.maintenance]\nenabled = false\n").unwrap();
    let make = common::file_figment(&path);
    let seen: Arc<Mutex<Vec<(bool, bool)>>> = Arc::default();
    let log = seen.clone();
    let rocket = rocket::custom(make()).mount("/", routes![status]).attach(
        Maintenance::custom(make).on_change(move |old, new| {
            log.lock().unwrap().push((old.is_on(), new.is_on()));
        }),
    );
    let client = client(rocket).await;
    let handle = client
        .rocket()
        .state::<MaintenanceHandle>()
        .unwrap()
        .clone();
    assert!(!handle.status().is_on());

    std::fs::write(
        &path,
        "[default.maintenance]\nenabled = true\nmessage = \"now\"\n",
    )
    .unwrap();
    let new = handle.reload().await.unwrap();
    assert!(new.is_on());
    assert_eq!(new.generation(), 2);
    assert_eq!(
        client.get("/status").dispatch().await.status(),
        Status::ServiceUnavailable
    );

    std::fs::write(&path, "[default.maintenance]\nenabled = maybe\n").unwrap();
    let err = handle.reload().await.unwrap_err().to_string();
    assert!(err.contains("Rocket.toml"), "{err}");
    assert!(
        handle.status().is_on(),
        "a failed reload keeps the old state"
    );
    assert_eq!(handle.status().generation(), 2);

    std::fs::remove_file(&path).unwrap();
    let err = handle.reload().await.unwrap_err().to_string();
    assert!(err.contains("Rocket.toml"), "{err}");
    assert!(
        handle.status().is_on(),
        "a missing file does not silently end maintenance"
    );

    assert_eq!(*seen.lock().unwrap(), vec![(false, true)]);
}

#[rocket::async_test]
async fn managed_handle_is_reachable_from_handlers() {
    #[get("/admin")]
    fn admin(handle: &State<MaintenanceHandle>) -> String {
        handle.status().is_on().to_string()
    }
    let client = client(rocket_with(
        "[maintenance]\nenabled = false",
        routes![admin],
        routes![],
    ))
    .await;
    assert_eq!(
        client
            .get("/admin")
            .dispatch()
            .await
            .into_string()
            .await
            .unwrap(),
        "false"
    );
}

/// A guard that looks at the maintenance status before the fairing has decided.
struct Curious;

#[rocket::async_trait]
impl<'r> FromRequest<'r> for Curious {
    type Error = ();
    async fn from_request(req: &'r Request<'_>) -> Outcome<Self, ()> {
        let _ = req.guard::<MaintenanceStatus>().await;
        Outcome::Forward(Status::Unauthorized)
    }
}

#[rocket::async_test]
async fn a_guard_that_reads_the_status_first_cannot_open_the_door() {
    static WILD: Calls = Calls::new();
    #[get("/<_..>", rank = 50)]
    fn wild() -> &'static str {
        WILD.hit();
        "app fallback"
    }
    let f = figment("[maintenance]\nenabled = true");
    let g = f.clone();
    let rocket = rocket::custom(f)
        .mount("/", routes![wild])
        .attach(Maintenance::custom(move || g.clone()).exempt_when::<Curious>());
    let client = client(rocket).await;
    assert_eq!(
        client.get("/x").dispatch().await.status(),
        Status::ServiceUnavailable
    );
    assert_eq!(WILD.count(), 0);
}

/// The fields a template sees are exactly the documented ones (README, `MaintenanceStatus`).
#[rocket::async_test]
async fn the_status_serializes_to_the_documented_fields() {
    let toml = "[maintenance]\nenabled = false\nstarts_at = \"2999-01-01T00:00:00Z\"\nends_at = \"2999-01-02T00:00:00Z\"\n";
    let client = client(rocket_with(toml, routes![], vec![])).await;
    let handle = client.rocket().state::<MaintenanceHandle>().unwrap();
    let doc = serde_json::to_value(handle.status()).unwrap();
    let mut fields: Vec<&str> = doc
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    fields.sort();
    assert_eq!(
        fields,
        [
            "generation",
            "message",
            "on",
            "read_only",
            "retry_after",
            "retry_at",
            "since",
            "upcoming",
            "why"
        ]
    );
    assert_eq!(doc["upcoming"]["starts_at"], "2999-01-01T00:00:00Z");
    assert_eq!(doc["on"], false);
}
