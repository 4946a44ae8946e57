//! Request paths in the form Rocket routes on.

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
