//! Which representation of the maintenance response a client gets.
//!
//! Only media ranges the client names count: the highest `q` among HTML (`text/html`,
//! `text/*`), JSON (`application/json`, `text/json`, `application/*+json`) and text
//! (`text/plain`) wins, ties going HTML > JSON > text. When `Accept` names none of them (absent,
//! or `*/*` alone), a request from script gets JSON (`Sec-Fetch-Dest: empty`, what every current
//! browser's `fetch` and `XMLHttpRequest` send, or jQuery's `X-Requested-With: XMLHttpRequest`),
//! and so does one that sends a JSON body; anything else gets HTML. So browsers and curl get
//! HTML, and `fetch`, axios and jQuery get JSON.

use std::str::FromStr;

use rocket::http::Accept;

use crate::settings::Format;

/// A representation of the maintenance response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Representation {
    Html,
    Json,
    Text,
}

/// What a request says about the answer it can use, besides `Accept`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Hints {
    /// `Sec-Fetch-Dest: empty` or `X-Requested-With: XMLHttpRequest`.
    pub script: bool,
    /// A JSON body (`Content-Type: application/json` or `…+json`).
    pub json_body: bool,
}

/// The longest `Accept` (or `Accept-Language`) value that is parsed; a longer one gets the
/// defaults, so the cost of answering is bounded whatever the headers.
pub(crate) const MAX_PARSED_HEADER: usize = 4096;

/// Chooses the representation for a configured format, the request's raw `Accept` and hints
/// (asked for only when `Accept` names no representation).
pub(crate) fn negotiate(
    format: Format,
    accept: Option<&str>,
    hints: impl FnOnce() -> Hints,
) -> Representation {
    match format {
        Format::Html => return Representation::Html,
        Format::Json => return Representation::Json,
        Format::Text => return Representation::Text,
        Format::Auto => {}
    }
    let named = match accept {
        // Over 4 KiB: not parsed (Rocket's parser grows worse than linearly): the default.
        Some(value) if value.len() > MAX_PARSED_HEADER => return Representation::Html,
        Some(value) => named_in(value),
        None => None,
    };
    match named {
        Some(rep) => rep,
        None => {
            let hints = hints();
            if hints.script || hints.json_body {
                Representation::Json
            } else {
                Representation::Html
            }
        }
    }
}

/// The representation `Accept` names, if any. What browsers send (no JSON, no `text/plain`, no
/// zero weight) is HTML without a parse; anything else is parsed.
fn named_in(value: &str) -> Option<Representation> {
    // One pass over the bytes: what could name JSON or plain text, or weigh a range zero, sends
    // the header to the parser; otherwise only whether HTML is named matters.
    let bytes = value.as_bytes();
    let mut html = false;
    for (i, b) in bytes.iter().enumerate() {
        let rest = &bytes[i..];
        match b {
            b'j' if rest.starts_with(b"json") => return parsed(value),
            b'p' if rest.starts_with(b"plain") => return parsed(value),
            b'q' if rest.starts_with(b"q=0") => return parsed(value),
            b't' if rest.starts_with(b"text/html") || rest.starts_with(b"text/*") => html = true,
            _ => {}
        }
    }
    html.then_some(Representation::Html)
}

fn parsed(value: &str) -> Option<Representation> {
    Accept::from_str(value).ok().as_ref().and_then(best_named)
}

/// The best representation among the media ranges `accept` names, if it names any.
fn best_named(accept: &Accept) -> Option<Representation> {
    // Scores: (q, preference) where preference breaks ties html > json > text.
    let mut best: Option<(f32, u8, Representation)> = None;
    for item in accept.iter() {
        let mt = item.media_type();
        let (top, sub) = (mt.top(), mt.sub());
        let rep = if top == "text" && (sub == "html" || sub == "*") {
            (2, Representation::Html)
        } else if (top == "application" && (sub == "json" || sub.as_str().ends_with("+json")))
            || (top == "text" && sub == "json")
        {
            (1, Representation::Json)
        } else if top == "text" && sub == "plain" {
            (0, Representation::Text)
        } else {
            continue;
        };
        let q = item.weight_or(1.0);
        if q <= 0.0 {
            continue;
        }
        let candidate = (q, rep.0, rep.1);
        best = match best {
            Some(b) if (b.0, b.1) >= (candidate.0, candidate.1) => Some(b),
            _ => Some(candidate),
        };
    }
    best.map(|b| b.2)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn auto(accept: &str) -> Representation {
        negotiate(Format::Auto, Some(accept), Hints::default)
    }

    #[test]
    fn browsers_get_html() {
        assert_eq!(
            auto("text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"),
            Representation::Html
        );
        assert_eq!(auto("*/*"), Representation::Html);
        assert_eq!(
            negotiate(Format::Auto, None, Hints::default),
            Representation::Html
        );
    }

    #[test]
    fn fetch_and_axios_get_json() {
        assert_eq!(
            auto("application/json, text/plain, */*"),
            Representation::Json
        );
        assert_eq!(auto("application/problem+json"), Representation::Json);
    }

    #[test]
    fn highest_q_wins_and_ties_prefer_html() {
        assert_eq!(
            auto("text/html;q=0.5, application/json"),
            Representation::Json
        );
        assert_eq!(auto("application/json, text/html"), Representation::Html);
        assert_eq!(auto("text/plain"), Representation::Text);
        assert_eq!(
            auto("text/plain, application/json;q=0.9"),
            Representation::Text
        );
        assert_eq!(auto("text/*"), Representation::Html);
        assert_eq!(auto("application/json;q=0"), Representation::Html);
    }

    #[test]
    fn script_clients_and_json_bodies_get_json_when_accept_names_nothing() {
        let script = || Hints {
            script: true,
            json_body: false,
        };
        let body = || Hints {
            script: false,
            json_body: true,
        };
        assert_eq!(
            negotiate(Format::Auto, Some("*/*"), script),
            Representation::Json
        );
        assert_eq!(negotiate(Format::Auto, None, script), Representation::Json);
        assert_eq!(negotiate(Format::Auto, None, body), Representation::Json);
        assert_eq!(auto("text/json"), Representation::Json);
        // A named range still decides: a script that asks for HTML gets HTML.
        assert_eq!(
            negotiate(Format::Auto, Some("text/html"), script),
            Representation::Html
        );
    }

    #[test]
    fn the_fast_path_agrees_with_the_parse() {
        for accept in [
            "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,*/*;q=0.8",
            "text/html",
            "*/*",
            "image/png",
            "text/*;q=0.5, */*",
            "text/html;q=0",
            "text/html;q=0.5, application/json",
            "text/plain",
        ] {
            let parsed = Accept::from_str(accept).ok().as_ref().and_then(best_named);
            assert_eq!(named_in(accept), parsed, "{accept}");
        }
    }

    #[test]
    fn fixed_formats_ignore_accept() {
        let json = Some("application/json");
        assert_eq!(
            negotiate(Format::Html, json, Hints::default),
            Representation::Html
        );
        assert_eq!(
            negotiate(Format::Text, json, Hints::default),
            Representation::Text
        );
        assert_eq!(
            negotiate(Format::Json, None, Hints::default),
            Representation::Json
        );
    }
}
