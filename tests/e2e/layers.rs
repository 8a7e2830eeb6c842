//! The layers of `docs/architecture.md`, held: every top-level module uses only modules
//! of its own layer or below (never one above), and no modules use each other in a
//! circle. Read from the source: each `crate::<module>` outside comments and tests.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// Each top-level module's layer, the foundations first.
const LAYERS: &[&[&str]] = &[
    &[
        "names", "ids", "redact", "secret", "clock", "backoff", "lease", "shutdown", "location",
        "turns", "weekly", "metrics",
    ],
    &["job", "chat", "freeze", "paas", "render", "store", "sim"],
    &["config"],
    &["engine", "holds", "delivery"],
    &["commands"],
    &["adapters", "discord", "http"],
    &["app"],
];

fn layer(module: &str) -> usize {
    LAYERS
        .iter()
        .position(|l| l.contains(&module))
        .unwrap_or_else(|| panic!("src/{module} is in no layer: add it to LAYERS and the docs"))
}

/// The non-test Rust files of a top-level module.
fn files(src: &Path, module: &str) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    let single = src.join(format!("{module}.rs"));
    if single.exists() {
        out.push(single);
    }
    let mut dirs = vec![src.join(module)];
    while let Some(dir) = dirs.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for e in entries.flatten() {
            let p = e.path();
            let name = p.file_name().unwrap().to_string_lossy().to_string();
            if p.is_dir() {
                if name != "tests" {
                    dirs.push(p);
                }
            } else if name.ends_with(".rs") && !name.ends_with("tests.rs") {
                out.push(p);
            }
        }
    }
    out
}

/// Who uses whom, among top-level modules.
fn uses() -> BTreeMap<String, BTreeSet<String>> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let modules: BTreeSet<String> = LAYERS
        .iter()
        .flat_map(|l| l.iter())
        .map(|m| m.to_string())
        .collect();
    let mut graph = BTreeMap::new();
    for m in &modules {
        let mut used = BTreeSet::new();
        for file in files(&src, m) {
            let text = std::fs::read_to_string(&file).unwrap();
            let code = text.split("#[cfg(test)]\nmod tests").next().unwrap_or("");
            for line in code.lines().filter(|l| !l.trim_start().starts_with("//")) {
                for (i, _) in line.match_indices("crate::") {
                    let name: String = line[i + 7..]
                        .chars()
                        .take_while(|c| c.is_alphanumeric() || *c == '_')
                        .collect();
                    if &name != m && modules.contains(&name) {
                        used.insert(name);
                    }
                }
            }
        }
        graph.insert(m.clone(), used);
    }
    graph
}

#[test]
fn every_module_is_in_a_layer_and_uses_none_above_it() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    for e in std::fs::read_dir(&src).unwrap().flatten() {
        let name = e.file_name().to_string_lossy().replace(".rs", "");
        if name != "lib" && name != "main" {
            layer(&name);
        }
    }
    let upward: Vec<String> = uses()
        .iter()
        .flat_map(|(a, used)| used.iter().map(move |b| (a, b)))
        .filter(|(a, b)| layer(b) > layer(a))
        .map(|(a, b)| format!("{a} → {b}"))
        .collect();
    assert!(upward.is_empty(), "arrows up the layers: {upward:?}");
}

#[test]
fn no_modules_use_each_other_in_a_circle() {
    let graph = uses();
    // Kahn's algorithm: whatever cannot be ordered lies on a circle.
    let mut left = graph.clone();
    loop {
        let free: Vec<String> = left
            .iter()
            .filter(|(_, used)| used.iter().all(|u| !left.contains_key(u)))
            .map(|(m, _)| m.clone())
            .collect();
        if free.is_empty() {
            break;
        }
        for m in free {
            left.remove(&m);
        }
    }
    assert!(left.is_empty(), "modules on a circle: {left:?}");
}
