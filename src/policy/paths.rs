//! Request paths in the form Rocket routes on.

use globset::GlobSet;
use rocket::http::uri::Origin;

/// Whether `raw` already is what [`routed_path`] returns for it: `/`, or a path with no
/// percent-encoding, no empty segment (so no `//` and no trailing `/`) and no `.` or `..`
/// segment.
pub(super) fn is_routed_form(raw: &str) -> bool {
    raw == "/"
        || (raw.starts_with('/')
            && !raw.ends_with('/')
            && !raw.contains('%')
            && !raw.contains("//")
            && raw[1..].split('/').all(|s| s != "." && s != ".."))
}

/// The path Rocket routes on: its non-empty, percent-decoded segments joined by `/`, with a
/// leading `/`. `None` when a segment decodes to something containing `/`, or to `.` or `..`:
/// such a path never matches `allow_paths`.
pub(crate) fn routed_path(uri: &Origin<'_>) -> Option<String> {
    let mut path = String::with_capacity(uri.path().len() + 1);
    for segment in uri.path().segments() {
        if segment.contains('/') || segment == "." || segment == ".." {
            return None;
        }
        path.push('/');
        path.push_str(segment);
    }
    if path.is_empty() {
        path.push('/');
    }
    Some(path)
}

/// Path globs (`allow_paths`, `json_paths`), matched against the path Rocket routes on, with a
/// first look that costs a few comparisons: a path in plain form (no percent-encoding, no `//`)
/// that starts with none of the globs' literal prefixes cannot match any of them, so most
/// requests never build a glob candidate.
#[derive(Debug, Clone)]
pub(crate) struct PathGlobs {
    set: GlobSet,
    /// Each glob's text up to its first special character; `None` when one of them is just `/`
    /// (every path could match it: no first look).
    prefixes: Option<Vec<Box<str>>>,
}

impl PathGlobs {
    /// The compiled `set` of `patterns` (each starting with `/`).
    pub fn new(set: GlobSet, patterns: &[String]) -> PathGlobs {
        let prefixes: Vec<Box<str>> = patterns.iter().map(|p| literal_prefix(p).into()).collect();
        let prefixes = (!prefixes.iter().any(|p| &**p == "/")).then_some(prefixes);
        PathGlobs { set, prefixes }
    }

    /// Whether the path Rocket routes `uri` on matches one of the globs.
    pub fn matches(&self, uri: &Origin<'_>) -> bool {
        let raw = uri.path().as_str();
        // For a plain path the routed form is `raw` less a trailing `/`: if `raw` does not start
        // with a prefix, neither does the routed form.
        if let Some(prefixes) = &self.prefixes {
            if is_plain(raw) && !prefixes.iter().any(|p| raw.starts_with(&**p)) {
                return false;
            }
        }
        if is_routed_form(raw) {
            self.set.is_match(raw)
        } else {
            routed_path(uri).is_some_and(|path| self.set.is_match(&path))
        }
    }
}

/// A glob's text before its first special character (`*`, `?`, `[`, `{`, or an escape).
fn literal_prefix(pattern: &str) -> &str {
    let end = pattern
        .find(['*', '?', '[', ']', '{', '}', '\\'])
        .unwrap_or(pattern.len());
    &pattern[..end]
}

/// No percent-encoding and no empty segment but a trailing one: the routed form is the path
/// itself, less a trailing `/`.
fn is_plain(raw: &str) -> bool {
    let bytes = raw.as_bytes();
    !bytes.contains(&b'%') && !bytes.windows(2).any(|w| w == b"//")
}
