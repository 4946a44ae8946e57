//! `force_off` routes stay open during maintenance, chosen by Rocket's own router: path tricks
//! open nothing else, a forwarding `force_off` route falls to the maintenance response, and
//! `HEAD` on a `force_off` GET route answers as Rocket does when maintenance is off.

mod common;

use common::{client, rocket_with, Calls};
use rocket::http::Status;
use rocket::{get, routes};

static APP: Calls = Calls::new();

#[get("/")]
fn index() -> &'static str {
    APP.hit();
    "home"
}

#[get("/about")]
fn about() -> &'static str {
    "about us"
}

#[get("/about/<_..>", rank = 5)]
fn about_wild() -> &'static str {
    APP.hit();
    "app wildcard under about"
}

#[get("/item/<id>")]
fn item(id: u32) -> String {
    format!("item {id}")
}

#[get("/<_..>", rank = 20)]
fn fallback() -> &'static str {
    APP.hit();
    "spa fallback"
}

const ON: &str = "[maintenance]\nenabled = true";

async fn on_client() -> rocket::local::asynchronous::Client {
    client(rocket_with(
        ON,
        routes![index, about_wild, fallback],
        routes![about, item],
    ))
    .await
}

/// Maintenance off, `about` a `force_off` route.
async fn off_client() -> rocket::local::asynchronous::Client {
    client(rocket_with(
        "[maintenance]\nenabled = false",
        routes![index],
        routes![about],
    ))
    .await
}

#[rocket::async_test]
async fn force_off_route_answers_during_maintenance() {
    let client = on_client().await;
    let response = client.get("/about").dispatch().await;
    assert_eq!(response.status(), Status::Ok);
    assert_eq!(response.into_string().await.unwrap(), "about us");
    let response = client.get("/item/7?x=1").dispatch().await;
    assert_eq!(response.into_string().await.unwrap(), "item 7");
    assert_eq!(
        client.get("/").dispatch().await.status(),
        Status::ServiceUnavailable
    );
    assert_eq!(APP.count(), 0);
}

#[rocket::async_test]
async fn path_tricks_open_no_other_handler() {
    let client = on_client().await;
    for path in [
        "/about/..",
        "/about/../",
        "/%2e%2e/about",
        "/about/x",
        "/about%2F..",
        "/abou%74/x",
        "/ABOUT",
    ] {
        let response = client.get(path).dispatch().await;
        assert_eq!(response.status(), Status::ServiceUnavailable, "{path}");
    }
    // Rocket itself routes these to /about when maintenance is off; they reach only `about`.
    for path in ["//about", "/about/", "/%61bout"] {
        let response = client.get(path).dispatch().await;
        let status = response.status();
        let body = response.into_string().await.unwrap_or_default();
        assert!(
            status == Status::ServiceUnavailable || body == "about us",
            "{path}: {status} {body}"
        );
    }
    assert_eq!(APP.count(), 0, "no other application handler ran");
}

#[rocket::async_test]
async fn forwarding_force_off_route_falls_to_the_maintenance_response() {
    let client = on_client().await;
    // `item` forwards when <id> is not a u32; the next candidate must not be an app route.
    let response = client.get("/item/not-a-number").dispatch().await;
    assert_eq!(response.status(), Status::ServiceUnavailable);
    assert_eq!(APP.count(), 0);
}

#[rocket::async_test]
async fn head_on_a_force_off_get_route_is_answered_like_rocket_does() {
    let client = on_client().await;
    let response = client.head("/about").dispatch().await;
    assert_eq!(response.status(), Status::Ok);
    assert!(response.into_string().await.unwrap_or_default().is_empty());
    let response = client.head("/").dispatch().await;
    assert_eq!(response.status(), Status::ServiceUnavailable);
}

#[rocket::async_test]
async fn force_off_routes_are_mounted_for_normal_operation_too() {
    let client = off_client().await;
    assert_eq!(
        client
            .get("/about")
            .dispatch()
            .await
            .into_string()
            .await
            .unwrap(),
        "about us"
    );
    assert_eq!(client.head("/about").dispatch().await.status(), Status::Ok);
}

/// A client that asks for the private prefix itself, in any spelling Rocket routes the same,
/// is decided like any request: while off it gets what it would get without the fairing (a
/// `force_off` route is open anyway; anything else is not found), never the maintenance page;
/// while on it is held back.
#[rocket::async_test]
async fn the_private_prefix_gives_nothing_it_should_not() {
    let off = off_client().await;
    let response = off.get("/~m/about").dispatch().await;
    assert_eq!(response.into_string().await.unwrap(), "about us");
    for path in [
        "/~m",
        "/~m/x",
        "/%7Em/x",
        "/%7em/x",
        "//~m/x",
        "/%7Em",
        "/~m-answer/x",
    ] {
        for request in [off.get(path), off.post(path)] {
            let response = request.dispatch().await;
            assert_eq!(response.status(), Status::NotFound, "off: {path}");
        }
    }
    let on = on_client().await;
    for path in ["/~m/about", "/%7Em/about", "//~m/about", "/~m/x", "/%7Em/x"] {
        let response = on.get(path).dispatch().await;
        assert_eq!(response.status(), Status::ServiceUnavailable, "on: {path}");
    }
    assert_eq!(APP.count(), 0, "no application handler ran");
}

#[get("/login?<next>")]
fn login(uri: rocket_maintenance::OriginalUri<'_>, next: Option<&str>) -> String {
    format!("{} next={}", uri.0, next.unwrap_or("-"))
}

/// A `force_off` handler sees, through `OriginalUri`, the URI the client sent, not the fairing's
/// private prefix, during maintenance and outside it alike.
#[rocket::async_test]
async fn force_off_handlers_get_the_uri_the_client_sent() {
    for toml in [
        "[maintenance]\nenabled = true\n",
        "[maintenance]\nenabled = false\n",
    ] {
        let client = client(rocket_with(toml, routes![], routes![login])).await;
        let res = client.get("/login?next=/cart").dispatch().await;
        assert_eq!(res.status(), Status::Ok, "{toml}");
        assert_eq!(
            res.into_string().await.unwrap(),
            "/login?next=/cart next=/cart",
            "{toml}"
        );
    }
}
