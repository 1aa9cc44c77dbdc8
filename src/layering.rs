//! The layering rules of `src/`, checked over its `crate::` and `super::`
//! paths (see `docs/architecture.md`):
//!
//! 1. No import circles between files, with each module slice (`echo/`,
//!    `mocks/`, ...) counted as one node: inside a slice its `mod.rs` wires
//!    handlers that use the slice's own types, and that is one unit.
//! 2. A slice never imports another slice.
//! 3. Only the composition roots import slices: `server.rs`, which mounts
//!    them, and `config.rs`, which nests their settings.
//! 4. `http/` does not depend on `db/`.
//!
//! Code inside a folder imports its siblings by their own path, not through
//! the folder's `mod.rs` re-exports (which would make a circle of every
//! folder that re-exports).
//!
//! A small reader of our own rather than `cargo-modules`: that tool builds
//! rust-analyzer (minutes on CI), and these rules need only the paths.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The vertical slices: one node each.
const SLICES: &[&str] = &["echo", "mocks", "people", "events", "messages", "resources"];
/// The files that assemble the slices: into a server, and their settings
/// into one set.
const COMPOSITION_ROOTS: &[&str] = &["server.rs", "config.rs"];

/// Every `.rs` file under `dir`, relative to `root`, sorted.
fn rust_files(root: &Path, dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            rust_files(root, &path, out);
        } else if path.extension().is_some_and(|e| e == "rs")
            && let Ok(relative) = path.strip_prefix(root)
        {
            out.push(relative.to_path_buf());
        }
    }
    out.sort();
}

/// The module path a file defines: `http/serve.rs` is `http::serve`,
/// `http/mod.rs` is `http`, `lib.rs` is the crate root.
fn module_path(file: &Path) -> Vec<String> {
    let mut segments: Vec<String> = file
        .with_extension("")
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    if segments.last().is_some_and(|s| s == "mod" || s == "lib") {
        segments.pop();
    }
    segments
}

/// The source that counts: without line comments and without the inline
/// unit tests (which `use super::*` by design).
fn code_of(source: &str) -> String {
    let end = source
        .find("#[cfg(test)]\nmod tests")
        .unwrap_or(source.len());
    source[..end]
        .lines()
        .map(|line| match line.find("//") {
            Some(at) => &line[..at],
            None => line,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Every path that starts with `crate::` or `super::`, brace groups
/// expanded: `use super::{a::B, c}` gives `super::a::B` and `super::c`.
fn paths_in(code: &str) -> Vec<String> {
    let bytes = code.as_bytes();
    let mut paths = Vec::new();
    let mut at = 0;
    while at < bytes.len() {
        let rest = &bytes[at..];
        let starts = rest.starts_with(b"crate::") || rest.starts_with(b"super::");
        let boundary = at == 0 || !is_ident(bytes[at - 1]) && bytes[at - 1] != b':';
        if starts && boundary {
            // An ASCII byte starts here, so `at` is a character boundary.
            let (found, used) = expand(&code[at..]);
            paths.extend(found);
            at += used.max(1);
        } else {
            at += 1;
        }
    }
    paths
}

fn is_ident(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || byte == b'_'
}

/// Expands the path at the start of `text`; returns the paths and the bytes read.
fn expand(text: &str) -> (Vec<String>, usize) {
    let bytes = text.as_bytes();
    let mut end = 0;
    while end < bytes.len() && (is_ident(bytes[end]) || bytes[end] == b':') {
        end += 1;
    }
    let prefix = text[..end].trim_end_matches(':');
    if !text[end..].starts_with('{') || !text[..end].ends_with("::") {
        return (vec![prefix.to_owned()], end);
    }
    // A group: split its top level at commas, expand each part.
    let mut depth = 0;
    let mut part_start = end + 1;
    let mut paths = Vec::new();
    for (i, c) in text[end..].char_indices() {
        let i = end + i;
        match c {
            '{' => depth += 1,
            '}' | ',' if depth == 1 => {
                let part = text[part_start..i].trim();
                if part == "self" {
                    paths.push(prefix.to_owned());
                } else if !part.is_empty() && part != "*" {
                    let (inner, _) = expand(&format!("{prefix}::{part}"));
                    paths.extend(inner);
                } else if part == "*" {
                    paths.push(prefix.to_owned());
                }
                part_start = i + 1;
                if c == '}' {
                    return (paths, i + 1);
                }
            }
            '}' => depth -= 1,
            _ => {}
        }
    }
    (paths, text.len())
}

/// The module an import path names, as an absolute module path, from the
/// file whose module path is `here`.
fn absolute(path: &str, here: &[String]) -> Vec<String> {
    let mut segments: Vec<&str> = path.split("::").filter(|s| !s.is_empty()).collect();
    let mut base = here.to_vec();
    if segments.first() == Some(&"crate") {
        base.clear();
        segments.remove(0);
    } else {
        while segments.first() == Some(&"super") {
            segments.remove(0);
            base.pop();
        }
    }
    base.extend(segments.iter().map(|s| (*s).to_owned()));
    base
}

/// The graph's node for a file: the slice it belongs to, or the file.
fn node_of(file: &str) -> String {
    match file.split_once('/') {
        Some((top, _)) if SLICES.contains(&top) => format!("{top}/"),
        _ => match file.strip_suffix(".rs") {
            Some(top) if SLICES.contains(&top) => format!("{top}/"),
            _ => file.to_owned(),
        },
    }
}

/// File -> the files it imports (by their paths under `src/`).
fn import_graph(src: &Path) -> BTreeMap<String, BTreeSet<String>> {
    let mut files = Vec::new();
    rust_files(src, src, &mut files);
    files.retain(|f| f != Path::new("main.rs"));
    let modules: BTreeMap<Vec<String>, String> = files
        .iter()
        .map(|f| (module_path(f), f.to_string_lossy().replace('\\', "/")))
        .collect();
    let mut graph = BTreeMap::new();
    for file in &files {
        let name = file.to_string_lossy().replace('\\', "/");
        let here = module_path(file);
        let source = std::fs::read_to_string(src.join(file)).unwrap_or_default();
        let mut targets = BTreeSet::new();
        for path in paths_in(&code_of(&source)) {
            let mut target = absolute(&path, &here);
            // The longest prefix that is a file: `http::serve::Connection` is `http/serve.rs`.
            while !target.is_empty() && !modules.contains_key(&target) {
                target.pop();
            }
            if let Some(target_file) = modules.get(&target)
                && *target_file != name
                && !target.is_empty()
            {
                targets.insert(target_file.clone());
            }
        }
        graph.insert(name, targets);
    }
    graph
}

/// Strongly connected groups of more than one node (Tarjan).
fn circles(graph: &BTreeMap<String, BTreeSet<String>>) -> Vec<Vec<String>> {
    struct Search<'a> {
        graph: &'a BTreeMap<String, BTreeSet<String>>,
        index: BTreeMap<&'a str, usize>,
        low: BTreeMap<&'a str, usize>,
        stack: Vec<&'a str>,
        on_stack: BTreeSet<&'a str>,
        found: Vec<Vec<String>>,
    }
    impl<'a> Search<'a> {
        fn visit(&mut self, node: &'a str) {
            let n = self.index.len();
            self.index.insert(node, n);
            self.low.insert(node, n);
            self.stack.push(node);
            self.on_stack.insert(node);
            for next in self.graph.get(node).into_iter().flatten() {
                let next = next.as_str();
                if !self.index.contains_key(next) {
                    self.visit(next);
                    let low = self.low[node].min(self.low[next]);
                    self.low.insert(node, low);
                } else if self.on_stack.contains(next) {
                    let low = self.low[node].min(self.index[next]);
                    self.low.insert(node, low);
                }
            }
            if self.low[node] == self.index[node] {
                let mut group = Vec::new();
                while let Some(member) = self.stack.pop() {
                    self.on_stack.remove(member);
                    group.push(member.to_owned());
                    if member == node {
                        break;
                    }
                }
                if group.len() > 1 {
                    group.sort();
                    self.found.push(group);
                }
            }
        }
    }
    let mut search = Search {
        graph,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on_stack: BTreeSet::new(),
        found: Vec::new(),
    };
    for node in graph.keys() {
        if !search.index.contains_key(node.as_str()) {
            search.visit(node);
        }
    }
    search.found
}

/// The graph with each slice folded into one node.
fn node_graph(files: &BTreeMap<String, BTreeSet<String>>) -> BTreeMap<String, BTreeSet<String>> {
    let mut nodes: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (file, targets) in files {
        let from = node_of(file);
        let entry = nodes.entry(from.clone()).or_default();
        entry.extend(targets.iter().map(|t| node_of(t)).filter(|t| *t != from));
    }
    nodes
}

/// Every way `src/` breaks the rules, one line each.
fn violations(src: &Path) -> Vec<String> {
    let files = import_graph(src);
    let nodes = node_graph(&files);
    let mut found = Vec::new();
    for group in circles(&nodes) {
        let edges: Vec<String> = group
            .iter()
            .flat_map(|from| {
                nodes[from]
                    .iter()
                    .filter(|to| group.contains(to))
                    .map(move |to| format!("{from} -> {to}"))
            })
            .collect();
        found.push(format!("import circle: {}", edges.join(", ")));
    }
    for (from, targets) in &nodes {
        for to in targets {
            let from_slice = from.ends_with('/');
            let to_slice = to.ends_with('/');
            if from_slice && to_slice {
                found.push(format!("slice imports a slice: {from} -> {to}"));
            } else if to_slice && !COMPOSITION_ROOTS.contains(&from.as_str()) {
                found.push(format!("shared layer imports a slice: {from} -> {to}"));
            } else if from.starts_with("http/") && to.starts_with("db/") {
                found.push(format!("http depends on db: {from} -> {to}"));
            }
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn src_keeps_its_layering_rules() {
        let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let found = violations(&src);
        assert!(
            found.is_empty(),
            "layering rules broken:\n{}",
            found.join("\n")
        );
    }

    #[test]
    fn brace_groups_expand_to_every_path() {
        let paths = paths_in("use super::{a::{B, c}, self, d::E};\nlet x = crate::f::g(1);");
        assert_eq!(
            paths,
            [
                "super::a::B",
                "super::a::c",
                "super",
                "super::d::E",
                "crate::f::g"
            ]
        );
    }

    #[test]
    fn super_is_relative_to_the_file_s_module() {
        let here = |s: &str| s.split("::").map(str::to_owned).collect::<Vec<_>>();
        assert_eq!(
            absolute("super::error::X", &here("http::serve")),
            here("http::error::X")
        );
        assert_eq!(absolute("super::serve", &here("http")), here("serve"));
        assert_eq!(
            absolute("crate::db::Database", &here("http::ops")),
            here("db::Database")
        );
    }

    /// A circle, a slice importing a slice, and `http` on `db`, in a tree
    /// made for the purpose: the check must see each.
    #[test]
    fn every_rule_is_reported_when_broken() {
        let dir = tempfile::tempdir().expect("temp dir");
        let write = |name: &str, body: &str| {
            let path = dir.path().join(name);
            std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
            std::fs::write(path, body).expect("write");
        };
        write(
            "lib.rs",
            "pub mod http; pub mod db; pub mod echo; pub mod mocks;",
        );
        write("http/mod.rs", "pub mod a; pub mod b;");
        write("http/a.rs", "use super::b::X;");
        write("http/b.rs", "use super::a::Y; use crate::db::Pool;");
        write("db/mod.rs", "pub struct Pool;");
        write("echo/mod.rs", "use crate::mocks::Stub;");
        write("mocks/mod.rs", "pub struct Stub;");
        let found = violations(dir.path());
        let has = |text: &str| found.iter().any(|line| line.contains(text));
        assert!(has("import circle: http/a.rs -> http/b.rs"), "{found:?}");
        assert!(has("slice imports a slice: echo/ -> mocks/"), "{found:?}");
        assert!(
            has("http depends on db: http/b.rs -> db/mod.rs"),
            "{found:?}"
        );
    }
}
