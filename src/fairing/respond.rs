//! The fairing's answers: the maintenance response and the bypass login.

use std::io::Cursor;

use rocket::http::{ContentType, Cookie, Header, SameSite, Status};
use rocket::{Request, Response};

use crate::negotiate::{negotiate, Hints, Representation};
use crate::policy::{COOKIE_LIFETIME, COOKIE_NAME};
use crate::settings::Format;
use crate::snapshot::Snapshot;
use crate::state::State;

/// The maintenance response: status, headers and the pre-rendered body, shared, never copied.
/// `moved`: the request's snapshot when it was moved under the open prefix (the URI the client
/// sent is then recovered for `json_paths`).
pub(crate) fn maintenance_response<'r>(
    req: &'r Request<'_>,
    moved: Option<&'r Snapshot>,
    state: &'r State,
    redirect: bool,
) -> Response<'r> {
    let pages = &state.pages;
    let policy = state.policy();
    let representation = if policy.has_json_paths()
        && policy.is_json_path(match moved {
            Some(snapshot) => snapshot.original_uri(req),
            None => req.uri(),
        }) {
        Representation::Json
    } else {
        let headers = req.headers();
        negotiate(policy.format, headers.get_one("Accept"), || Hints {
            script: headers
                .get_one("Sec-Fetch-Dest")
                .is_some_and(|v| v.eq_ignore_ascii_case("empty"))
                || headers
                    .get_one("X-Requested-With")
                    .is_some_and(|v| v.eq_ignore_ascii_case("XMLHttpRequest")),
            json_body: req.content_type().is_some_and(|ct| {
                ct.top() == "application"
                    && (ct.sub() == "json" || ct.sub().as_str().ends_with("+json"))
            }),
        })
    };
    let mut response = Response::build();
    response.raw_header("Cache-Control", "no-store").raw_header(
        "Vary",
        // `curl` and `fetch` send the same `Accept` and get different answers.
        match (policy.format, pages.multilingual()) {
            (Format::Auto, false) => "Accept, Sec-Fetch-Dest, X-Requested-With",
            (Format::Auto, true) => "Accept, Sec-Fetch-Dest, X-Requested-With, Accept-Language",
            (_, false) => "Accept",
            (_, true) => "Accept, Accept-Language",
        },
    );
    if let (true, Some(url), false) = (
        redirect,
        &pages.redirect,
        representation == Representation::Json,
    ) {
        // No `Retry-After`: on a 3xx it means "wait before following" (RFC 9110).
        return response
            .status(Status::Found)
            .raw_header("Location", url.as_str())
            .finalize();
    }
    if let Some(retry_after) = &pages.retry_after {
        response.raw_header("Retry-After", retry_after.as_str());
    }
    let page = pages.pick(|| req.headers().get_one("Accept-Language"));
    response.raw_header("Content-Language", page.tag.as_str());
    let (content_type, body) = match representation {
        Representation::Html => {
            if let Some(refresh) = &pages.refresh {
                response.raw_header("Refresh", refresh.as_str());
            }
            (ContentType::HTML, &page.html)
        }
        Representation::Json => (ContentType::new("application", "problem+json"), &page.json),
        Representation::Text => (ContentType::Plain, &page.text),
    };
    response
        .status(Status::new(pages.status))
        .header(content_type)
        .sized_body(body.len(), Cursor::new(body.clone()))
        .finalize()
}

/// The bypass path's answer: the cookie, and a redirect to `/`.
pub(crate) fn login_response<'r>(state: &State, secure: bool) -> Response<'r> {
    let mut response = Response::build();
    response
        .status(Status::Found)
        .raw_header("Location", "/")
        .raw_header("Cache-Control", "no-store");
    if let Some(bypass) = state.policy().bypass() {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        let cookie = Cookie::build((COOKIE_NAME, bypass.cookie_value(now)))
            .path("/")
            .max_age(rocket::time::Duration::seconds(
                COOKIE_LIFETIME.as_secs() as i64
            ))
            .http_only(true)
            .same_site(SameSite::Lax)
            .secure(secure)
            .build();
        response.header(Header::new("Set-Cookie", cookie.to_string()));
    }
    response.finalize()
}

/// The answer to `health_path` (always `200`: alive and serving) and `ready_path` (`503` while
/// fully in maintenance): `{"status": "ok", "maintenance": "off"|"on"|"read_only",
/// "generation": N}`, never cached.
pub(crate) fn health_response<'r>(state: &State, ready: bool) -> Response<'r> {
    let mode = match (state.active.is_some(), state.policy().read_only) {
        (false, _) => "off",
        (true, true) => "read_only",
        (true, false) => "on",
    };
    let status = if ready && mode == "on" {
        Status::ServiceUnavailable
    } else {
        Status::Ok
    };
    let body = format!(
        "{{\"status\":\"ok\",\"maintenance\":\"{mode}\",\"generation\":{}}}",
        state.generation
    );
    Response::build()
        .status(status)
        .header(ContentType::JSON)
        .raw_header("Cache-Control", "no-store")
        .sized_body(body.len(), Cursor::new(body))
        .finalize()
}
