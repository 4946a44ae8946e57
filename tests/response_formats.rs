//! The maintenance response: HTML (built-in or a custom template with partials and context),
//! `application/problem+json`, plain text, `Retry-After` forms, redirect and refresh.

mod common;

use common::{client, rocket_with};
use rocket::http::{Accept, ContentType, Header, Status};
use rocket::routes;

#[rocket::async_test]
async fn browsers_get_the_built_in_page_and_api_clients_json() {
    let client = client(rocket_with(
        "[maintenance]\nenabled = true\nmessage = \"Back at 03:00 UTC\"\nretry_after = \"1h 30m\"",
        routes![],
        routes![],
    ))
    .await;
    let html = client.get("/").header(Accept::HTML).dispatch().await;
    assert_eq!(html.content_type(), Some(ContentType::HTML));
    assert_eq!(html.headers().get_one("Retry-After"), Some("5400"));
    let body = html.into_string().await.unwrap();
    assert!(
        body.contains("Back at 03:00 UTC") && body.contains("viewport"),
        "{body}"
    );
    assert!(body.contains("2 hours"), "{body}");

    let fetch = client
        .get("/api/orders")
        .header(Header::new("Accept", "application/json, text/plain, */*"))
        .dispatch()
        .await;
    assert_eq!(fetch.status(), Status::ServiceUnavailable);
    assert_eq!(
        fetch.content_type(),
        Some(ContentType::new("application", "problem+json"))
    );
    let doc: serde_json::Value = serde_json::from_str(&fetch.into_string().await.unwrap()).unwrap();
    assert_eq!(doc["status"], 503);
    assert_eq!(doc["title"], "Service Unavailable");
    assert_eq!(doc["detail"], "Back at 03:00 UTC");
    assert_eq!(doc["retry_after"], 5400);

    let text = client.get("/").header(Accept::Text).dispatch().await;
    assert_eq!(text.content_type(), Some(ContentType::Plain));
    assert!(text
        .into_string()
        .await
        .unwrap()
        .contains("Back at 03:00 UTC"));

    let curl = client
        .get("/")
        .header(Header::new("Accept", "*/*"))
        .dispatch()
        .await;
    assert_eq!(curl.content_type(), Some(ContentType::HTML));
}

#[rocket::async_test]
async fn custom_template_with_partials_and_context() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("errors")).unwrap();
    std::fs::write(
        dir.path().join("errors/503.html.hbs"),
        "{{> footer}}<h1>Website Unavailable</h1><p>{{message}}</p><p>{{support_email}}</p><p>{{status}}</p>",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("footer.html.hbs"),
        "<footer>partial ok</footer>",
    )
    .unwrap();
    let toml = format!(
        "template_dir = {:?}\n[maintenance]\nenabled = true\nstatus = 502\ntemplate = \"errors/503\"\ncontext = {{ support_email = \"help@example.com\" }}",
        dir.path().display().to_string()
    );
    let client = client(rocket_with(&toml, routes![], routes![])).await;
    let response = client.get("/x").dispatch().await;
    assert_eq!(response.status(), Status::BadGateway);
    let body = response.into_string().await.unwrap();
    assert!(body.contains("<footer>partial ok</footer>"), "{body}");
    assert!(body.contains("Website Unavailable"));
    assert!(body.contains("help@example.com"));
    assert!(body.contains("<p>502</p>"));
}

#[rocket::async_test]
async fn a_time_is_sent_as_an_http_date() {
    let client = client(rocket_with(
        "[maintenance]\nenabled = true\nretry_after = \"2099-01-01T03:00:00Z\"",
        routes![],
        routes![],
    ))
    .await;
    let response = client.get("/").header(Accept::JSON).dispatch().await;
    assert_eq!(
        response.headers().get_one("Retry-After"),
        Some("Thu, 01 Jan 2099 03:00:00 GMT")
    );
    let doc: serde_json::Value =
        serde_json::from_str(&response.into_string().await.unwrap()).unwrap();
    assert_eq!(doc["retry_at"], "2099-01-01T03:00:00Z");
    assert!(doc.get("retry_after").is_none());
}

#[rocket::async_test]
async fn a_past_time_sends_no_retry_after() {
    let client = client(rocket_with(
        "[maintenance]\nenabled = true\nretry_after = \"2001-01-01T03:00:00Z\"",
        routes![],
        routes![],
    ))
    .await;
    let response = client.get("/").dispatch().await;
    assert_eq!(response.headers().get_one("Retry-After"), None);
}

#[rocket::async_test]
async fn fixed_format_overrides_accept() {
    let client = client(rocket_with(
        "[maintenance]\nenabled = true\nformat = \"json\"",
        routes![],
        routes![],
    ))
    .await;
    let response = client.get("/").header(Accept::HTML).dispatch().await;
    assert_eq!(
        response.content_type(),
        Some(ContentType::new("application", "problem+json"))
    );
}

#[rocket::async_test]
async fn redirect_for_browsers_document_for_json_clients_and_refresh_on_the_page() {
    let client = client(rocket_with(
        "[maintenance]\nenabled = true\nredirect = \"https://status.example.com/\"",
        routes![],
        routes![],
    ))
    .await;
    let response = client.get("/shop").dispatch().await;
    assert_eq!(response.status(), Status::Found);
    assert_eq!(
        response.headers().get_one("Location"),
        Some("https://status.example.com/")
    );
    assert_eq!(
        response.headers().get_one("Cache-Control"),
        Some("no-store")
    );
    let api = client.get("/shop").header(Accept::JSON).dispatch().await;
    assert_eq!(api.status(), Status::ServiceUnavailable);

    let client = client_refresh().await;
    let response = client.get("/").dispatch().await;
    assert_eq!(response.headers().get_one("Refresh"), Some("30"));
}

async fn client_refresh() -> rocket::local::asynchronous::Client {
    client(rocket_with(
        "[maintenance]\nenabled = true\nrefresh = 30",
        routes![],
        routes![],
    ))
    .await
}

#[rocket::async_test]
async fn a_local_redirect_target_gets_the_page_not_a_loop() {
    let client = client(rocket_with(
        "[maintenance]\nenabled = true\nredirect = \"/down\"",
        routes![],
        routes![],
    ))
    .await;
    assert_eq!(client.get("/x").dispatch().await.status(), Status::Found);
    assert_eq!(
        client.get("/down").dispatch().await.status(),
        Status::ServiceUnavailable
    );
}

#[rocket::async_test]
async fn the_page_is_rendered_at_load_not_per_request() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("down.html.hbs"), "<h1>{{message}}</h1>").unwrap();
    let toml = format!(
        "template_dir = {:?}\n[maintenance]\nenabled = true\ntemplate = \"down\"\nmessage = \"pre-rendered\"",
        dir.path().display().to_string()
    );
    let client = client(rocket_with(&toml, routes![], routes![])).await;
    std::fs::remove_file(dir.path().join("down.html.hbs")).unwrap();
    let body = client
        .get("/")
        .dispatch()
        .await
        .into_string()
        .await
        .unwrap();
    assert_eq!(body, "<h1>pre-rendered</h1>");
}

/// An `Accept` over 4 KiB is not parsed (Rocket's parser grows worse than linearly with it): the
/// default representation answers, even when the header asks for JSON first.
#[rocket::async_test]
async fn an_oversized_accept_is_not_parsed() {
    let client = client(rocket_with(
        "[maintenance]\nenabled = true\n",
        routes![],
        vec![],
    ))
    .await;
    let mut huge = String::from("application/json");
    while huge.len() <= 360 * 1024 {
        huge.push_str(", text/x-filler;q=0.1");
    }
    let res = client
        .get("/")
        .header(Header::new("Accept", huge))
        .dispatch()
        .await;
    assert_eq!(res.status(), Status::ServiceUnavailable);
    assert_eq!(res.content_type(), Some(ContentType::HTML));
    let small = client
        .get("/")
        .header(Header::new("Accept", "application/json"))
        .dispatch()
        .await;
    assert_eq!(
        small.content_type().map(|c| c.to_string()).as_deref(),
        Some("application/problem+json")
    );
}

/// Redirect loops peers' users hit: a request for the target, however the target is written (a
/// query, a fragment, non-ASCII, an absolute URL of this very site), gets the page; `Location`
/// is ASCII; a redirect carries no `Retry-After` (on a 3xx it means "wait before following").
#[rocket::async_test]
async fn a_request_for_the_redirect_target_never_loops() {
    let cases = [
        (
            "/maintenance?from=app",
            "/maintenance",
            "/maintenance?from=app",
        ),
        ("/maintenance#top", "/maintenance/", "/maintenance#top"),
        ("/wartung-ä", "/wartung-%C3%A4", "/wartung-%C3%A4"),
        (
            "http://localhost/maintenance",
            "/maintenance",
            "http://localhost/maintenance",
        ),
    ];
    for (target, request, location) in cases {
        let toml =
            format!("[maintenance]\nenabled = true\nretry_after = 600\nredirect = {target:?}\n");
        let client = client(rocket_with(&toml, routes![], routes![])).await;
        let other = client
            .get("/shop")
            .header(Header::new("Host", "localhost"))
            .dispatch()
            .await;
        assert_eq!(other.status(), Status::Found, "{target}");
        assert_eq!(
            other.headers().get_one("Location"),
            Some(location),
            "{target}"
        );
        assert_eq!(other.headers().get_one("Retry-After"), None, "{target}");
        let itself = client
            .get(request)
            .header(Header::new("Host", "localhost"))
            .dispatch()
            .await;
        assert_eq!(
            itself.status(),
            Status::ServiceUnavailable,
            "{target} via {request}"
        );
        assert_eq!(itself.headers().get_one("Retry-After"), Some("600"));
    }
    // Another site's URL with the same path is not this one: it is followed.
    let toml =
        "[maintenance]\nenabled = true\nredirect = \"https://status.example.com/maintenance\"\n";
    let client = client(rocket_with(toml, routes![], routes![])).await;
    let res = client
        .get("/maintenance")
        .header(Header::new("Host", "localhost"))
        .dispatch()
        .await;
    assert_eq!(res.status(), Status::Found);
}

/// Script clients and API calls get JSON when `Accept` names nothing they want; `text/json` is
/// JSON; the document has `message` as well as `detail`; `json_paths` always answers JSON; and
/// `Vary` names every header the choice depends on.
#[rocket::async_test]
async fn script_clients_api_calls_and_json_paths_get_json() {
    let toml =
        "[maintenance]\nenabled = true\nmessage = \"Upgrading\"\njson_paths = [\"/api/**\"]\n";
    let client = client(rocket_with(toml, routes![], routes![])).await;
    let json = ContentType::new("application", "problem+json");
    let cases: Vec<(&str, Vec<Header<'static>>)> = vec![
        (
            "/",
            vec![
                Header::new("Accept", "*/*"),
                Header::new("Sec-Fetch-Dest", "empty"),
            ],
        ),
        ("/", vec![Header::new("X-Requested-With", "XMLHttpRequest")]),
        ("/", vec![Header::new("Accept", "text/json")]),
        ("/api/orders/7", vec![Header::new("Accept", "text/html")]),
    ];
    for (path, headers) in cases {
        let mut req = client.get(path);
        for h in headers.clone() {
            req = req.header(h);
        }
        let res = req.dispatch().await;
        assert_eq!(res.content_type(), Some(json.clone()), "{path} {headers:?}");
        assert_eq!(
            res.headers().get_one("Vary"),
            Some("Accept, Sec-Fetch-Dest, X-Requested-With")
        );
        let doc: serde_json::Value =
            serde_json::from_str(&res.into_string().await.unwrap()).unwrap();
        assert_eq!(doc["message"], "Upgrading");
        assert_eq!(doc["detail"], "Upgrading");
    }
    // A POST with a JSON body and no Accept.
    let res = client
        .post("/orders")
        .header(ContentType::JSON)
        .body("{\"id\": 7}")
        .dispatch()
        .await;
    assert_eq!(res.content_type(), Some(json.clone()));
    // A browser navigation and curl still get the page.
    let res = client
        .get("/")
        .header(Header::new("Accept", "text/html,*/*;q=0.8"))
        .header(Header::new("Sec-Fetch-Dest", "document"))
        .dispatch()
        .await;
    assert_eq!(res.content_type(), Some(ContentType::HTML));
    let res = client
        .get("/")
        .header(Header::new("Accept", "*/*"))
        .dispatch()
        .await;
    assert_eq!(res.content_type(), Some(ContentType::HTML));
}

/// The visitor's language: chosen from `Accept-Language` among the configured ones, said in
/// `Content-Language` and `<html lang>`, named in `Vary`; the JSON document too; a custom
/// template's variant serves its language, the plain one every other.
#[rocket::async_test]
async fn the_answer_speaks_the_visitors_language() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("down.html.hbs"),
        "<html lang=\"{{lang}}\">plain: {{message}}</html>",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("down.de.html.hbs"),
        "<html lang=\"{{lang}}\">deutsch: {{message}}</html>",
    )
    .unwrap();
    for (template, de_marker) in [
        ("", "Wir sind bald wieder"),
        ("template = \"down\"\n", "deutsch: "),
    ] {
        let toml = format!(
            "template_dir = {:?}\n[maintenance]\nenabled = true\n{template}\
             message = {{ en = \"Back at 3.\", de = \"Um 3 Uhr zurück.\", fr = \"Retour à 3 h.\" }}\n",
            dir.path().display().to_string()
        );
        let client = client(rocket_with(&toml, routes![], routes![])).await;
        let de = client
            .get("/")
            .header(Header::new("Accept-Language", "de-AT,de;q=0.9,en;q=0.5"))
            .dispatch()
            .await;
        assert_eq!(de.headers().get_one("Content-Language"), Some("de"));
        assert_eq!(
            de.headers().get_one("Vary"),
            Some("Accept, Sec-Fetch-Dest, X-Requested-With, Accept-Language")
        );
        let html = de.into_string().await.unwrap();
        assert!(
            html.contains("<html lang=\"de\">") && html.contains(de_marker),
            "{html}"
        );
        assert!(html.contains("Um 3 Uhr zurück."), "{html}");
        let fr = client
            .get("/")
            .header(Header::new("Accept-Language", "fr-CA"))
            .dispatch()
            .await;
        let html = fr.into_string().await.unwrap();
        assert!(
            html.contains("Retour à 3 h.") && !html.contains("deutsch"),
            "{html}"
        );
        let other = client
            .get("/")
            .header(Header::new("Accept-Language", "ja"))
            .dispatch()
            .await;
        assert_eq!(other.headers().get_one("Content-Language"), Some("en"));
        let json = client
            .get("/")
            .header(Accept::JSON)
            .header(Header::new("Accept-Language", "de"))
            .dispatch()
            .await;
        let doc: serde_json::Value =
            serde_json::from_str(&json.into_string().await.unwrap()).unwrap();
        assert_eq!(doc["detail"], "Um 3 Uhr zurück.");
    }
    // The default language must be among the message's languages.
    let figment =
        common::figment("[maintenance]\nlanguage = \"it\"\nmessage = { en = \"Back soon.\" }\n");
    let err = rocket_maintenance::check_settings(&figment)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("maintenance.message") && err.contains("`it`"),
        "{err}"
    );
}
