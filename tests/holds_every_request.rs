//! With maintenance on, every method and every path gets the maintenance response, and no
//! application handler runs: not a wildcard route, not a low-ranked route, not a FileServer.

mod common;

use common::{client, rocket_with, Calls};
use rocket::http::{Method, Status};
use rocket::{get, post, routes};

static CALLS: Calls = Calls::new();

#[get("/")]
fn index() -> &'static str {
    CALLS.hit();
    "home"
}

#[post("/form")]
fn form() -> &'static str {
    CALLS.hit();
    "posted"
}

#[get("/<_..>")]
fn greedy() -> &'static str {
    CALLS.hit();
    "greedy wildcard"
}

#[rocket::route(HEAD, uri = "/<_..>")]
fn head_wildcard() -> &'static str {
    CALLS.hit();
    "head wildcard"
}

const ON: &str = r#"
[maintenance]
enabled = true
message = "Upgrading the database"
retry_after = 900
"#;

#[rocket::async_test]
async fn every_method_and_path_is_held_back_and_no_handler_runs() {
    let static_dir = tempfile::tempdir().unwrap();
    std::fs::write(static_dir.path().join("app.js"), "alert(1)").unwrap();
    let mut app = routes![index, form, greedy, head_wildcard];
    app[2].rank = -100; // ahead of everything the app has
    let rocket = rocket_with(ON, app, vec![])
        .mount("/static", rocket::fs::FileServer::from(static_dir.path()));
    let client = client(rocket).await;
    let methods = [
        Method::Get,
        Method::Post,
        Method::Put,
        Method::Patch,
        Method::Delete,
        Method::Options,
        Method::Trace,
        Method::Connect,
        Method::Head,
    ];
    for path in [
        "/",
        "/form",
        "/static/app.js",
        "/no/route/here",
        "/__rocket_maintenance_open/x",
        "/?q=1",
    ] {
        for method in methods {
            let response = client.req(method, path).dispatch().await;
            assert_eq!(
                response.status(),
                Status::ServiceUnavailable,
                "{method} {path}"
            );
            assert_eq!(
                response.headers().get_one("Cache-Control"),
                Some("no-store")
            );
            assert_eq!(response.headers().get_one("Retry-After"), Some("900"));
            assert_eq!(response.headers().get_one("Vary"), Some("Accept"));
            let body = response.into_string().await.unwrap_or_default();
            if method == Method::Head {
                assert!(body.is_empty(), "HEAD has no body");
            } else {
                assert!(
                    body.contains("Upgrading the database"),
                    "{method} {path}: {body}"
                );
            }
        }
    }
    assert_eq!(CALLS.count(), 0, "no application handler ran");
}

#[rocket::async_test]
async fn off_means_the_app_answers_as_usual() {
    static OFF_CALLS: Calls = Calls::new();
    #[get("/hello")]
    fn hello() -> &'static str {
        OFF_CALLS.hit();
        "hello"
    }
    let client = client(rocket_with(
        "[maintenance]\nenabled = false",
        routes![hello],
        vec![],
    ))
    .await;
    let response = client.get("/hello").dispatch().await;
    assert_eq!(response.status(), Status::Ok);
    assert_eq!(response.into_string().await.unwrap(), "hello");
    assert_eq!(
        client.get("/missing").dispatch().await.status(),
        Status::NotFound
    );
    assert_eq!(
        client
            .get("/__rocket_maintenance_open/hello")
            .dispatch()
            .await
            .status(),
        Status::NotFound,
        "the private prefix is not an alias while off"
    );
    assert_eq!(OFF_CALLS.count(), 1);
}
