//! The repository explains itself: every document the code, the tests, the chart and the
//! README name is in the repository, and every link into `docs/` lands on a heading
//! that exists. A comment pointing at a file nobody who clones the project has, or at a
//! section since renamed, fails here.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use regex::Regex;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The text files of the repository that name documents: the README, `docs/`, and
/// everything under `src`, `tests`, `benches`, `fuzz` and `deploy` (build output left
/// out).
fn files() -> Vec<PathBuf> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            let name = entry.file_name();
            if path.is_dir() {
                if name != "target" && name != "corpus" && name != "artifacts" {
                    walk(&path, out);
                }
            } else if std::fs::read_to_string(&path).is_ok() {
                out.push(path);
            }
        }
    }
    let root = root();
    let mut out = vec![root.join("README.md")];
    for dir in ["docs", "src", "tests", "benches", "fuzz", "deploy"] {
        walk(&root.join(dir), &mut out);
    }
    out
}

/// The anchor GitHub gives a heading: lowercase, punctuation dropped, spaces as `-`.
fn anchor(heading: &str) -> String {
    heading
        .trim()
        .to_lowercase()
        .chars()
        .filter(|c| c.is_alphanumeric() || matches!(c, ' ' | '-' | '_'))
        .map(|c| if c == ' ' { '-' } else { c })
        .collect()
}

/// The anchors of a markdown file's headings (none inside code blocks).
fn anchors(markdown: &str) -> BTreeSet<String> {
    let mut fenced = false;
    let mut out = BTreeSet::new();
    for line in markdown.lines() {
        if line.starts_with("```") {
            fenced = !fenced;
        } else if !fenced && line.starts_with('#') {
            out.insert(anchor(line.trim_start_matches('#')));
        }
    }
    out
}

fn shown(path: &Path) -> String {
    path.strip_prefix(root())
        .unwrap_or(path)
        .display()
        .to_string()
}

/// Whether `name` (a file name, or a path) is a file of the repository, as seen from
/// `from`: relative to it, to the root, or (a bare name) in `docs/`.
fn exists(name: &str, from: &Path) -> bool {
    let dir = from.parent().unwrap_or(Path::new("."));
    let name = name.trim_start_matches('/');
    [
        dir.join(name),
        root().join(name),
        root().join("docs").join(name),
    ]
    .iter()
    .any(|p| p.is_file())
}

#[test]
fn every_document_named_is_in_the_repository() {
    let document = Regex::new(r"(?:\.\./|[A-Za-z0-9_./-])*[A-Za-z0-9_-]+\.md\b").unwrap();
    let outside = concat!("..", "/shared");
    let mut missing = Vec::new();
    for file in files() {
        let text = std::fs::read_to_string(&file).unwrap_or_default();
        for found in document.find_iter(&text) {
            if !exists(found.as_str(), &file) {
                missing.push(format!("{}: {}", shown(&file), found.as_str()));
            }
        }
        if text.contains(outside) {
            missing.push(format!("{}: {outside}", shown(&file)));
        }
    }
    assert!(
        missing.is_empty(),
        "documents named but not in the repository (write what is needed in docs/): {missing:?}"
    );
}

#[test]
fn every_link_into_docs_lands_on_a_heading() {
    // `docs/<file>.md#<heading>` anywhere; `<file>.md#<heading>` and `#<heading>` as
    // markdown links inside the README and `docs/`.
    let from_code = Regex::new(r"docs/([a-z0-9_-]+\.md)#([a-z0-9_-]+)").unwrap();
    let in_markdown = Regex::new(r"\]\(([a-z0-9_/-]+\.md)?#([a-z0-9_-]+)\)").unwrap();
    let mut broken = Vec::new();
    let mut seen = 0;
    for file in files() {
        let text = std::fs::read_to_string(&file).unwrap_or_default();
        let markdown = file.extension().is_some_and(|e| e == "md");
        let mut links: Vec<(PathBuf, String)> = from_code
            .captures_iter(&text)
            .map(|c| (root().join("docs").join(&c[1]), c[2].to_string()))
            .collect();
        if markdown {
            let dir = file.parent().unwrap_or(Path::new(".")).to_path_buf();
            links.extend(in_markdown.captures_iter(&text).map(|c| {
                let target = c.get(1).map_or(file.clone(), |m| dir.join(m.as_str()));
                (target, c[2].to_string())
            }));
        }
        for (target, wanted) in links {
            seen += 1;
            let headings = std::fs::read_to_string(&target)
                .map(|t| anchors(&t))
                .unwrap_or_default();
            if !headings.contains(&wanted) {
                broken.push(format!("{}: {}#{wanted}", shown(&file), shown(&target)));
            }
        }
    }
    assert!(seen > 20, "only {seen} links found: is the pattern right?");
    assert!(
        broken.is_empty(),
        "links to headings that do not exist: {broken:?}"
    );
}
