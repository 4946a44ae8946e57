//! Which representation of the maintenance response a client gets.
//!
//! Only media ranges the client names count: the highest `q` among HTML (`text/html`,
//! `text/*`), JSON (`application/json`, `application/*+json`) and text (`text/plain`) wins, ties
//! going HTML > JSON > text; `*/*` alone, an unparsable header or no `Accept` means HTML. So
//! browsers and curl get HTML, and `fetch`/axios (`application/json, text/plain, */*`) get JSON.

use rocket::http::Accept;

use crate::settings::Format;

/// A representation of the maintenance response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Representation {
    Html,
    Json,
    Text,
}

/// Chooses the representation for a configured format and the request's `Accept`.
pub(crate) fn negotiate(format: Format, accept: Option<&Accept>) -> Representation {
    match format {
        Format::Html => return Representation::Html,
        Format::Json => return Representation::Json,
        Format::Text => return Representation::Text,
        Format::Auto => {}
    }
    let Some(accept) = accept else {
        return Representation::Html;
    };
    // Scores: (q, preference) where preference breaks ties html > json > text.
    let mut best: Option<(f32, u8, Representation)> = None;
    for item in accept.iter() {
        let mt = item.media_type();
        let (top, sub) = (mt.top(), mt.sub());
        let rep = if top == "text" && (sub == "html" || sub == "*") {
            (2, Representation::Html)
        } else if top == "application" && (sub == "json" || sub.as_str().ends_with("+json")) {
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
    best.map_or(Representation::Html, |b| b.2)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;

    fn auto(accept: &str) -> Representation {
        negotiate(Format::Auto, Some(&Accept::from_str(accept).unwrap()))
    }

    #[test]
    fn browsers_get_html() {
        assert_eq!(
            auto("text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"),
            Representation::Html
        );
        assert_eq!(auto("*/*"), Representation::Html);
        assert_eq!(negotiate(Format::Auto, None), Representation::Html);
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
    fn fixed_formats_ignore_accept() {
        let json = Accept::from_str("application/json").unwrap();
        assert_eq!(negotiate(Format::Html, Some(&json)), Representation::Html);
        assert_eq!(negotiate(Format::Text, Some(&json)), Representation::Text);
        assert_eq!(negotiate(Format::Json, None), Representation::Json);
    }
}
