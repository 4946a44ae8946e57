//! Which representation of the maintenance response a client gets.
//!
//! Only media ranges the client names count: the highest `q` among HTML (`text/html`,
//! `text/*`), JSON (`application/json`, `text/json`, `application/*+json`) and text
//! (`text/plain`) wins, ties going HTML > JSON > text. When `Accept` names none of them (absent,
//! or `*/*` alone), a request from script gets JSON (`Sec-Fetch-Dest: empty`, what every current
//! browser's `fetch` and `XMLHttpRequest` send, or jQuery's `X-Requested-With: XMLHttpRequest`),
//! and so does one that sends a JSON body; anything else gets HTML. So browsers and curl get
//! HTML, and `fetch`, axios and jQuery get JSON.

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

/// Chooses the representation for a configured format, the request's `Accept` and hints.
pub(crate) fn negotiate(format: Format, accept: Option<&Accept>, hints: Hints) -> Representation {
    match format {
        Format::Html => return Representation::Html,
        Format::Json => return Representation::Json,
        Format::Text => return Representation::Text,
        Format::Auto => {}
    }
    let named = accept.and_then(best_named);
    match named {
        Some(rep) => rep,
        None if hints.script || hints.json_body => Representation::Json,
        None => Representation::Html,
    }
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
    use std::str::FromStr;

    fn auto(accept: &str) -> Representation {
        negotiate(
            Format::Auto,
            Some(&Accept::from_str(accept).unwrap()),
            Hints::default(),
        )
    }

    #[test]
    fn browsers_get_html() {
        assert_eq!(
            auto("text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"),
            Representation::Html
        );
        assert_eq!(auto("*/*"), Representation::Html);
        assert_eq!(
            negotiate(Format::Auto, None, Hints::default()),
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
        let any = Accept::from_str("*/*").unwrap();
        let script = Hints {
            script: true,
            json_body: false,
        };
        let body = Hints {
            script: false,
            json_body: true,
        };
        assert_eq!(
            negotiate(Format::Auto, Some(&any), script),
            Representation::Json
        );
        assert_eq!(negotiate(Format::Auto, None, script), Representation::Json);
        assert_eq!(negotiate(Format::Auto, None, body), Representation::Json);
        assert_eq!(auto("text/json"), Representation::Json);
        // A named range still decides: a script that asks for HTML gets HTML.
        let html = Accept::from_str("text/html").unwrap();
        assert_eq!(
            negotiate(Format::Auto, Some(&html), script),
            Representation::Html
        );
    }

    #[test]
    fn fixed_formats_ignore_accept() {
        let json = Accept::from_str("application/json").unwrap();
        assert_eq!(
            negotiate(Format::Html, Some(&json), Hints::default()),
            Representation::Html
        );
        assert_eq!(
            negotiate(Format::Text, Some(&json), Hints::default()),
            Representation::Text
        );
        assert_eq!(
            negotiate(Format::Json, None, Hints::default()),
            Representation::Json
        );
    }
}
