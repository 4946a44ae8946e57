//! Who gets through: allowed IPs (behind trusted proxies only), allowed paths, the bypass secret
//! (cookie and header), read-only maintenance, and a window that starts while the server runs.

mod common;

use std::net::SocketAddr;
use std::time::{Duration, SystemTime};

use common::{client, rocket_with, Calls};
use rocket::http::{Cookie, Header, Status};
use rocket::{get, post, routes};

static HITS: Calls = Calls::new();

#[get("/")]
fn index(headers: HeaderDump) -> String {
    HITS.hit();
    format!("home bypass-header={:?}", headers.0)
}

#[post("/")]
fn write() -> &'static str {
    "written"
}

#[get("/static/<_..>")]
fn assets() -> &'static str {
    "asset"
}

struct HeaderDump(Option<String>);

#[rocket::async_trait]
impl<'r> rocket::request::FromRequest<'r> for HeaderDump {
    type Error = ();
    async fn from_request(req: &'r rocket::Request<'_>) -> rocket::request::Outcome<Self, ()> {
        rocket::request::Outcome::Success(HeaderDump(
            req.headers()
                .get_one("X-Maintenance-Bypass")
                .map(str::to_string),
        ))
    }
}

fn addr(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

#[rocket::async_test]
async fn allowed_ip_passes_and_a_lying_client_gains_nothing() {
    let toml = "[maintenance]\nenabled = true\nallow_ips = [\"192.0.2.0/24\"]\ntrusted_proxies = [\"10.0.0.1\"]";
    let client = client(rocket_with(toml, routes![index], vec![])).await;
    let ok = client
        .get("/")
        .remote(addr("192.0.2.9:5000"))
        .dispatch()
        .await;
    assert_eq!(ok.status(), Status::Ok);
    let mapped = client
        .get("/")
        .remote(addr("[::ffff:192.0.2.9]:5000"))
        .dispatch()
        .await;
    assert_eq!(
        mapped.status(),
        Status::Ok,
        "IPv4-mapped IPv6 compares as IPv4"
    );
    for (name, value) in [("X-Forwarded-For", "192.0.2.9"), ("X-Real-IP", "192.0.2.9")] {
        let lie = client
            .get("/")
            .remote(addr("203.0.113.5:5000"))
            .header(Header::new(name, value))
            .dispatch()
            .await;
        assert_eq!(
            lie.status(),
            Status::ServiceUnavailable,
            "{name} from an untrusted peer"
        );
    }
    let proxied = client
        .get("/")
        .remote(addr("10.0.0.1:5000"))
        .header(Header::new("X-Forwarded-For", "203.0.113.5, 192.0.2.9"))
        .dispatch()
        .await;
    assert_eq!(
        proxied.status(),
        Status::Ok,
        "the proxy's own hop is believed"
    );
    let prepended = client
        .get("/")
        .remote(addr("10.0.0.1:5000"))
        .header(Header::new("X-Forwarded-For", "192.0.2.9, 203.0.113.5"))
        .dispatch()
        .await;
    assert_eq!(
        prepended.status(),
        Status::ServiceUnavailable,
        "a prepended lie gains nothing"
    );
    let garbage = client
        .get("/")
        .remote(addr("10.0.0.1:5000"))
        .header(Header::new("X-Forwarded-For", "\u{0}\u{1}garbage,,;[]:::"))
        .dispatch()
        .await;
    assert_eq!(garbage.status(), Status::ServiceUnavailable);
}

#[rocket::async_test]
async fn allowed_paths_pass() {
    let toml = "[maintenance]\nenabled = true\nallow_paths = [\"/static/**\"]";
    let client = client(rocket_with(toml, routes![index, assets], vec![])).await;
    assert_eq!(
        client.get("/static/css/a.css").dispatch().await.status(),
        Status::Ok
    );
    assert_eq!(
        client.get("/").dispatch().await.status(),
        Status::ServiceUnavailable
    );
    assert_eq!(
        client.get("/static/%2e%2e/").dispatch().await.status(),
        Status::ServiceUnavailable
    );
}

const SECRET: &str = "Q2hhbmdlLW1lLXBsZWFzZQ";

#[rocket::async_test]
async fn bypass_secret_sets_a_cookie_that_lets_its_holder_through() {
    let toml = format!("[maintenance]\nenabled = true\nbypass_secret = \"{SECRET}\"");
    let client = client(rocket_with(&toml, routes![index], vec![])).await;
    let before = HITS.count();
    let login = client.get(format!("/{SECRET}")).dispatch().await;
    assert_eq!(login.status(), Status::Found);
    assert_eq!(login.headers().get_one("Location"), Some("/"));
    assert_eq!(login.headers().get_one("Cache-Control"), Some("no-store"));
    let set_cookie = login.headers().get_one("Set-Cookie").unwrap().to_string();
    assert!(
        set_cookie.contains("HttpOnly") && set_cookie.contains("SameSite=Lax"),
        "{set_cookie}"
    );
    assert!(
        set_cookie.contains("Path=/") && set_cookie.contains("Max-Age=43200"),
        "{set_cookie}"
    );
    assert!(
        !set_cookie.contains(SECRET),
        "the cookie never holds the secret"
    );
    assert!(
        !set_cookie.contains("Secure"),
        "plain HTTP, no trusted proxy"
    );
    assert_eq!(
        HITS.count(),
        before,
        "the secret path never reaches the app"
    );

    // The tracked client keeps the cookie.
    let through = client.get("/").dispatch().await;
    assert_eq!(through.status(), Status::Ok);

    let forged = client
        .get("/")
        .cookie(Cookie::new(
            "rocket_maintenance_bypass",
            "v1.99999999999.00",
        ))
        .dispatch()
        .await;
    assert_eq!(forged.status(), Status::ServiceUnavailable);
}

#[rocket::async_test]
async fn bypass_header_lets_one_request_through_and_is_removed() {
    let toml = format!("[maintenance]\nenabled = true\nbypass_secret = \"{SECRET}\"");
    let client =
        rocket::local::asynchronous::Client::untracked(rocket_with(&toml, routes![index], vec![]))
            .await
            .unwrap();
    let through = client
        .get("/")
        .header(Header::new("X-Maintenance-Bypass", SECRET))
        .dispatch()
        .await;
    assert_eq!(through.status(), Status::Ok);
    let body = through.into_string().await.unwrap();
    assert!(
        !body.contains(SECRET),
        "the app never sees the secret: {body}"
    );
    let wrong = client
        .get("/")
        .header(Header::new("X-Maintenance-Bypass", "nope"))
        .dispatch()
        .await;
    assert_eq!(wrong.status(), Status::ServiceUnavailable);
}

#[rocket::async_test]
async fn bypass_path_works_while_off_too() {
    let toml = format!("[maintenance]\nenabled = false\nbypass_secret = \"{SECRET}\"");
    let client = client(rocket_with(&toml, routes![index], vec![])).await;
    let login = client.get(format!("/{SECRET}")).dispatch().await;
    assert_eq!(login.status(), Status::Found);
}

#[rocket::async_test]
async fn read_only_keeps_reads_up_and_holds_writes() {
    let toml = "[maintenance]\nenabled = true\nread_only = true";
    let client = client(rocket_with(toml, routes![index, write], vec![])).await;
    assert_eq!(client.get("/").dispatch().await.status(), Status::Ok);
    let post = client.post("/").dispatch().await;
    assert_eq!(post.status(), Status::ServiceUnavailable);
    assert!(post.into_string().await.unwrap().contains("read-only"));
}

#[rocket::async_test]
async fn window_starts_and_ends_while_the_server_runs() {
    let fmt = |t: SystemTime| rocket_maintenance::control::format_time(t);
    // Seconds granularity: start at the next second boundary + 1, end 2 s later.
    let now = SystemTime::now();
    let start = now + Duration::from_secs(2);
    let end = start + Duration::from_secs(2);
    let toml = format!(
        "[maintenance]\nstarts_at = \"{}\"\nends_at = \"{}\"",
        fmt(start),
        fmt(end)
    );
    let start = rocket_maintenance::control::parse_time(&fmt(start)).unwrap();
    let end = rocket_maintenance::control::parse_time(&fmt(end)).unwrap();
    let client = client(rocket_with(&toml, routes![index], vec![])).await;
    let handle = common::handle(&client);
    assert!(
        handle.status().upcoming().is_some(),
        "announced before it starts"
    );
    assert_eq!(client.get("/").dispatch().await.status(), Status::Ok);

    let wait_until = |t: SystemTime| t.duration_since(SystemTime::now()).unwrap_or_default();
    rocket::tokio::time::sleep(wait_until(start) + Duration::from_millis(300)).await;
    let during = client.get("/").dispatch().await;
    assert_eq!(
        during.status(),
        Status::ServiceUnavailable,
        "on by itself, no reload"
    );
    assert_eq!(
        during.headers().get_one("Retry-After").map(str::to_string),
        Some(httpdate::fmt_http_date(end))
    );
    assert_eq!(handle.status().reason(), Some("window"));

    rocket::tokio::time::sleep(wait_until(end) + Duration::from_millis(300)).await;
    assert_eq!(
        client.get("/").dispatch().await.status(),
        Status::Ok,
        "off by itself"
    );
}

#[rocket::async_test]
async fn the_bypass_header_never_reaches_the_app_in_any_state() {
    for toml in [
        format!("[maintenance]\nenabled = false\nbypass_secret = \"{SECRET}\""),
        format!("[maintenance]\nenabled = true\nread_only = true\nbypass_secret = \"{SECRET}\""),
        format!(
            "[maintenance]\nenabled = true\nallow_paths = [\"/\"]\nbypass_secret = \"{SECRET}\""
        ),
    ] {
        let client = client(rocket_with(&toml, routes![index], vec![])).await;
        let response = client
            .get("/")
            .header(Header::new("X-Maintenance-Bypass", SECRET))
            .dispatch()
            .await;
        assert_eq!(response.status(), Status::Ok, "{toml}");
        let body = response.into_string().await.unwrap();
        assert!(!body.contains(SECRET), "{toml}: {body}");
    }
}

/// `client_ip_header = "X-Real-IP"`: behind a proxy that sets only `X-Real-IP` (and passes the
/// client's own `X-Forwarded-For` through), a client cannot choose its address with a forged
/// `X-Forwarded-For`; with the default, `X-Real-IP` is not believed.
#[rocket::async_test]
async fn only_the_configured_forwarding_header_is_believed() {
    let proxy: SocketAddr = "10.0.0.1:4000".parse().unwrap();
    let real_ip = r#"
[maintenance]
enabled = true
allow_ips = ["192.0.2.7"]
trusted_proxies = ["10.0.0.1"]
client_ip_header = "X-Real-IP"
"#;
    let client = common::client(common::rocket_with(real_ip, vec![], vec![])).await;
    let forged = client
        .get("/")
        .remote(proxy)
        .header(Header::new("X-Forwarded-For", "192.0.2.7"))
        .header(Header::new("X-Real-IP", "203.0.113.9"))
        .dispatch()
        .await;
    assert_eq!(
        forged.status(),
        Status::ServiceUnavailable,
        "a forged X-Forwarded-For won"
    );
    let real = client
        .get("/")
        .remote(proxy)
        .header(Header::new("X-Real-IP", "192.0.2.7"))
        .dispatch()
        .await;
    assert_ne!(
        real.status(),
        Status::ServiceUnavailable,
        "X-Real-IP from the proxy is the client"
    );

    let default = r#"
[maintenance]
enabled = true
allow_ips = ["192.0.2.7"]
trusted_proxies = ["10.0.0.1"]
"#;
    let client = common::client(common::rocket_with(default, vec![], vec![])).await;
    let real = client
        .get("/")
        .remote(proxy)
        .header(Header::new("X-Real-IP", "192.0.2.7"))
        .dispatch()
        .await;
    assert_eq!(
        real.status(),
        Status::ServiceUnavailable,
        "X-Real-IP is not the configured header"
    );
}

/// `bypass_secret_file`: the secret from a file (one trailing newline stripped), exclusive with
/// `bypass_secret`.
#[rocket::async_test]
async fn the_bypass_secret_can_come_from_a_file() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("bypass");
    std::fs::write(&file, "from-a-credential-file-123\n").unwrap();
    let toml = format!(
        "[maintenance]\nenabled = true\nbypass_secret_file = {:?}\n",
        file.display().to_string()
    );
    let client = common::client(common::rocket_with(&toml, vec![], vec![])).await;
    let res = client
        .get("/")
        .header(Header::new(
            "X-Maintenance-Bypass",
            "from-a-credential-file-123",
        ))
        .dispatch()
        .await;
    assert_ne!(res.status(), Status::ServiceUnavailable);
    let both = format!("{toml}bypass_secret = \"another-secret-abcdefgh\"\n");
    let figment = common::figment(&both);
    let err = rocket_maintenance::check_settings(&figment)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("maintenance.bypass_secret_file")
            && err.contains("maintenance.bypass_secret`"),
        "{err}"
    );
    assert!(
        !err.contains("from-a-credential-file-123") && !err.contains("another-secret-abcdefgh"),
        "{err}"
    );
}
