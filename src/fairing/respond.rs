//! The fairing's answers: the maintenance response and the bypass login.

use std::io::Cursor;

use rocket::http::{ContentType, Cookie, Header, SameSite, Status};
use rocket::{Request, Response};

use crate::negotiate::{negotiate, Representation};
use crate::policy::{COOKIE_LIFETIME, COOKIE_NAME};
use crate::state::State;

/// The longest `Accept` (or `Accept-Language`) value that is parsed; a longer one gets the
/// defaults, so the cost of answering is bounded whatever the headers.
pub(crate) const MAX_PARSED_HEADER: usize = 4096;

/// The maintenance response: status, headers and the pre-rendered body, shared, never copied.
pub(crate) fn maintenance_response<'r>(
    req: &'r Request<'_>,
    state: &'r State,
    redirect: bool,
) -> Response<'r> {
    let pages = &state.pages;
    // An `Accept` over 4 KiB is not parsed (Rocket's parser is worse than linear): the default.
    let accept = match req.headers().get_one("Accept") {
        Some(value) if value.len() > MAX_PARSED_HEADER => None,
        _ => req.accept(),
    };
    let representation = negotiate(state.policy().format, accept);
    let mut response = Response::build();
    response
        .raw_header("Cache-Control", "no-store")
        .raw_header("Vary", "Accept");
    if let Some(retry_after) = &pages.retry_after {
        response.raw_header("Retry-After", retry_after.as_str());
    }
    if let (true, Some(url), false) = (
        redirect,
        &pages.redirect,
        representation == Representation::Json,
    ) {
        return response
            .status(Status::Found)
            .raw_header("Location", url.as_str())
            .finalize();
    }
    let (content_type, body) = match representation {
        Representation::Html => {
            if let Some(refresh) = &pages.refresh {
                response.raw_header("Refresh", refresh.as_str());
            }
            (ContentType::HTML, &pages.html)
        }
        Representation::Json => (ContentType::new("application", "problem+json"), &pages.json),
        Representation::Text => (ContentType::Plain, &pages.text),
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
