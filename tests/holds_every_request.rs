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
        "/~m/x",
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
            assert_eq!(
                response.headers().get_one("Vary"),
                Some("Accept, Sec-Fetch-Dest, X-Requested-With")
            );
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
        client.get("/~m/hello").dispatch().await.status(),
        Status::NotFound,
        "the private prefix is not an alias while off"
    );
    assert_eq!(OFF_CALLS.count(), 1);
}

#[get("/<slug>")]
fn slug(slug: &str) -> String {
    CALLS.hit();
    format!("slug {slug}")
}

/// An asterisk-form target (`OPTIONS *`, and the same with other methods) is not a path: during
/// maintenance it gets the maintenance response (or Rocket's 400), never a handler of the app,
/// and never the configured redirect (which is for pages). Over real HTTP on loopback, since the
/// local client cannot send such a target.
#[rocket::async_test]
async fn asterisk_form_requests_never_reach_a_handler() {
    for extra in ["", "redirect = \"https://status.example.com/\"\n"] {
        let port = common::free_port();
        let toml = format!("address = \"127.0.0.1\"\nport = {port}\n{ON}\n{extra}");
        let mut app = routes![index, form, greedy, slug];
        app[2].rank = -100;
        let rocket = rocket_with(&toml, app, vec![]).ignite().await.unwrap();
        let shutdown = rocket.shutdown();
        let server = rocket::tokio::spawn(rocket.launch());
        let before = CALLS.count();
        for method in ["OPTIONS", "GET", "POST", "DELETE", "PUT"] {
            let (status, text) = rocket::tokio::task::spawn_blocking(move || loop {
                match common::http(port, method, "*", &[]) {
                    Ok(answer) => return answer,
                    Err(_) => std::thread::sleep(std::time::Duration::from_millis(20)),
                }
            })
            .await
            .unwrap();
            assert!(
                status == 503 || status == 400,
                "{method} * ({extra}): {text}"
            );
            assert!(
                !text.contains("wildcard") && !text.contains("slug"),
                "{method} *: {text}"
            );
        }
        assert_eq!(
            CALLS.count(),
            before,
            "an app handler ran for an asterisk-form request"
        );
        shutdown.notify();
        let _ = server.await;
    }
}
