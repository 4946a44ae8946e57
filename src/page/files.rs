//! The files of `template_dir`: found safely, compiled once per change.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};

use handlebars::Handlebars;

/// The most templates `template_dir` may hold.
const MAX_TEMPLATES: usize = 1000;
/// The largest template file.
const MAX_TEMPLATE_BYTES: u64 = 1024 * 1024;

/// `template_dir` files: `name` (path without the template extensions) and the file.
///
/// The walk follows symlinks (as rocket_dyn_templates does) but visits each directory once (by
/// device and inode, so a loop or two links to one directory cost nothing), takes regular files
/// only (a FIFO named `x.html.hbs` is skipped, never opened), and stops with a named error at
/// more than 1,000 templates or a template over 1 MiB.
pub(crate) fn template_files(dir: &Path) -> Result<Vec<(String, PathBuf)>, String> {
    use std::os::unix::fs::MetadataExt;
    let meta = std::fs::metadata(dir)
        .map_err(|e| format!("template_dir {} cannot be read: {e}", dir.display()))?;
    if !meta.is_dir() {
        return Err(format!("template_dir {} is not a directory", dir.display()));
    }
    let mut seen = std::collections::HashSet::new();
    let mut out = Vec::new();
    let mut walk = walkdir::WalkDir::new(dir).follow_links(true).into_iter();
    while let Some(entry) = walk.next() {
        let Ok(entry) = entry else {
            continue; // a loop (walkdir detects it) or an unreadable entry
        };
        let Ok(meta) = entry.metadata() else {
            continue;
        };
        if meta.is_dir() {
            if !seen.insert((meta.dev(), meta.ino())) {
                walk.skip_current_dir();
            }
            continue;
        }
        if !meta.is_file() {
            continue;
        }
        let path = entry.path();
        let Some(rel) = path
            .strip_prefix(dir)
            .ok()
            .and_then(|r| r.to_str())
            .and_then(|r| r.strip_suffix(".hbs"))
        else {
            continue;
        };
        if meta.len() > MAX_TEMPLATE_BYTES {
            return Err(format!(
                "template {} is larger than 1 MiB; is template_dir {} the right directory?",
                path.display(),
                dir.display()
            ));
        }
        if out.len() == MAX_TEMPLATES {
            return Err(format!(
                "template_dir {} holds more than {MAX_TEMPLATES} templates; is it the right \
                 directory?",
                dir.display()
            ));
        }
        // `about.html.hbs` is `about`, as rocket_dyn_templates names it.
        let name = match rel.rsplit_once('.') {
            Some((stem, ext)) if !ext.contains('/') => stem,
            _ => rel,
        };
        out.push((name.replace('\\', "/"), path.to_path_buf()));
    }
    Ok(out)
}

/// Templates compiled by earlier loads, by name and file, with the source they came from: a
/// reload reads every file again but compiles only what changed (handlebars' parser is most of a
/// reload's work).
type CompiledCache = HashMap<(String, PathBuf), (String, handlebars::Template)>;

fn compiled_cache() -> &'static Mutex<CompiledCache> {
    static CACHE: OnceLock<Mutex<CompiledCache>> = OnceLock::new();
    CACHE.get_or_init(Default::default)
}

/// `registry.register_template_file(name, path)`, compiling only when the file changed since it
/// was last compiled.
pub(crate) fn register_file(
    registry: &mut Handlebars<'static>,
    name: &str,
    path: &Path,
) -> Result<(), handlebars::TemplateError> {
    if registry.dev_mode() || registry.prevent_indent() {
        return registry.register_template_file(name, path);
    }
    let source = std::fs::read_to_string(path)
        .map_err(|e| handlebars::TemplateError::from((e, name.to_owned())))?;
    let key = (name.to_owned(), path.to_path_buf());
    let mut cache = compiled_cache().lock().unwrap_or_else(|e| e.into_inner());
    let template = match cache.get(&key) {
        Some((cached, template)) if *cached == source => template.clone(),
        _ => {
            let template = handlebars::Template::compile_with_name(&source, name.to_owned())?;
            cache.insert(key, (source, template.clone()));
            template
        }
    };
    registry.register_template(name, template);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_template_walk_survives_loops_and_fifos() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("page.html.hbs"), "<p>{{message}}</p>").unwrap();
        std::os::unix::fs::symlink(".", dir.path().join("a")).unwrap();
        std::os::unix::fs::symlink(".", dir.path().join("b")).unwrap();
        nix::unistd::mkfifo(
            &dir.path().join("x.html.hbs"),
            nix::sys::stat::Mode::S_IRWXU,
        )
        .unwrap();
        let files = template_files(dir.path()).unwrap();
        let names: Vec<&str> = files.iter().map(|(n, _)| n.as_str()).collect();
        assert!(names.contains(&"page"), "{names:?}");
        assert!(
            !names.iter().any(|n| n.ends_with('x')),
            "the FIFO was taken: {names:?}"
        );
        assert!(files.len() < 10, "the loops multiplied the walk: {names:?}");

        for i in 0..=MAX_TEMPLATES {
            std::fs::write(dir.path().join(format!("t{i}.html.hbs")), "x").unwrap();
        }
        let err = template_files(dir.path()).unwrap_err();
        assert!(err.contains("more than 1000 templates"), "{err}");
        let err = template_files(&dir.path().join("missing")).unwrap_err();
        assert!(
            err.contains("missing") && err.contains("cannot be read"),
            "{err}"
        );
    }
}
