//! The layers of `src/` point one way (see `src/README.md`): a module names only modules in
//! its own layer or below, and modules in one layer never form a cycle. This scans the
//! source for `crate::<module>` (and `crate::{a, b}`, `super::<module>` at the top of a
//! module, `wego::<module>` in the binary), comments included, so a doc link upward fails too.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Top-level modules by layer, highest first. A module may name its own layer and lower ones.
const LAYERS: &[(&str, &[&str])] = &[
    ("main", &["main"]),
    ("cli", &["cli"]),
    ("engine", &["engine"]),
    ("primitives", &["primitives"]),
    ("mechanisms", &["provider", "git", "k8s", "render", "config", "layers", "trust", "checkpoint"]),
    ("util", &["secrets", "civil", "build_info", "deadline", "text", "paths", "diagnostics", "progress"]),
];

fn rank(module: &str) -> Option<usize> {
    LAYERS.iter().position(|(_, ms)| ms.contains(&module))
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// The identifier at the start of `s`.
fn ident(s: &str) -> &str {
    let end = s.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).unwrap_or(s.len());
    &s[..end]
}

/// The top-level modules `text` names after each occurrence of `prefix`.
fn named_after(text: &str, prefix: &str, out: &mut BTreeSet<String>) {
    for (i, _) in text.match_indices(prefix) {
        // `$crate::` and `foo_crate::` are other paths.
        if text[..i].ends_with(|c: char| c.is_ascii_alphanumeric() || c == '_' || c == '$') {
            continue;
        }
        let rest = &text[i + prefix.len()..];
        if let Some(group) = rest.strip_prefix('{') {
            let mut depth = 1;
            let mut start = 0;
            for (j, c) in group.char_indices() {
                match c {
                    '{' => depth += 1,
                    '}' => depth -= 1,
                    ',' if depth == 1 => {
                        out.insert(ident(group[start..j].trim()).to_string());
                        start = j + 1;
                    }
                    _ => {}
                }
                if depth == 0 {
                    out.insert(ident(group[start..j].trim()).to_string());
                    break;
                }
            }
        } else {
            out.insert(ident(rest).to_string());
        }
    }
}

/// Module -> the top-level modules it names, from the sources under `src/`.
fn edges() -> BTreeMap<String, BTreeSet<String>> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for f in files {
        let rel = f.strip_prefix(&src).unwrap().to_string_lossy().replace('\\', "/");
        if rel == "lib.rs" {
            continue;
        }
        let top = rel.split('/').next().unwrap().trim_end_matches(".rs").to_string();
        let text = std::fs::read_to_string(&f).unwrap();
        let mut named = BTreeSet::new();
        named_after(&text, "crate::", &mut named);
        if rel == "main.rs" {
            named_after(&text, "wego::", &mut named);
        }
        // At the top of a module (`src/x.rs`, `src/x/mod.rs`) `super::` is the crate root;
        // deeper, `super::super::` is. Names that are not top-level modules (items of the
        // parent, in `mod tests`) are dropped below.
        let depth = rel.matches('/').count() + usize::from(!rel.ends_with("/mod.rs"));
        let mut via_super = BTreeSet::new();
        named_after(&text, &"super::".repeat(depth), &mut via_super);
        named.extend(via_super);
        let entry = graph.entry(top.clone()).or_default();
        entry.extend(named.into_iter().filter(|m| *m != top && rank(m).is_some()));
    }
    graph
}

#[test]
fn every_module_has_a_layer() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    for e in std::fs::read_dir(&src).unwrap().flatten() {
        let name = e.file_name().to_string_lossy().trim_end_matches(".rs").to_string();
        if name == "lib" || name == "README.md" {
            continue;
        }
        assert!(rank(&name).is_some(), "src/{name} has no layer: add it to LAYERS here and to src/README.md");
    }
}

#[test]
fn no_module_imports_upward() {
    let graph = edges();
    let mut upward = Vec::new();
    for (from, tos) in &graph {
        println!("{from} -> {}", tos.iter().cloned().collect::<Vec<_>>().join(", "));
        for to in tos {
            if rank(to) < rank(from) {
                upward.push(format!("{from} -> {to}"));
            }
        }
    }
    assert!(upward.is_empty(), "upward imports (see src/README.md for the layers):\n{}", upward.join("\n"));
}

#[test]
fn no_cycle_within_a_layer() {
    let graph = edges();
    // Depth-first search for a back edge, over the modules of one layer at a time.
    fn visit<'a>(
        m: &'a str,
        graph: &'a BTreeMap<String, BTreeSet<String>>,
        path: &mut Vec<&'a str>,
        done: &mut BTreeSet<&'a str>,
    ) -> Option<String> {
        if let Some(i) = path.iter().position(|p| *p == m) {
            return Some(format!("{} -> {m}", path[i..].join(" -> ")));
        }
        if !done.insert(m) {
            return None;
        }
        path.push(m);
        for to in graph.get(m).into_iter().flatten() {
            if rank(to) == rank(m) {
                if let Some(c) = visit(to, graph, path, done) {
                    return Some(c);
                }
            }
        }
        path.pop();
        None
    }
    let mut done = BTreeSet::new();
    for m in graph.keys() {
        let mut path = Vec::new();
        if let Some(cycle) = visit(m, &graph, &mut path, &mut done) {
            panic!("import cycle within a layer: {cycle}");
        }
    }
}

#[test]
fn the_scan_sees_imports() {
    let mut named = BTreeSet::new();
    named_after("use crate::{cli::x, engine};\n/// [`crate::git::url`]\n$crate::no", "crate::", &mut named);
    assert_eq!(named.into_iter().collect::<Vec<_>>(), ["cli", "engine", "git"]);
    let graph = edges();
    assert!(graph["cli"].contains("engine"), "the scan finds cli's use of the engine");
    assert!(graph["main"].contains("cli"), "the scan finds the binary's use of cli");
}

/// `wego run` of `script` in a fresh directory with its own config dir; (status, stdout, stderr).
fn run_script(name: &str, script: &str) -> (i32, String, String) {
    let dir = std::env::temp_dir().join(format!("wego-layers-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("config")).unwrap();
    std::fs::write(dir.join("s.rhai"), script).unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_wego"))
        .args(["--offline", "run", "s.rhai"])
        .current_dir(&dir)
        .env("XDG_CONFIG_HOME", dir.join("config"))
        .env("HOME", &dir)
        .env_remove("WEGO_SCRIPTS_DIR")
        .output()
        .unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    let text = |b: &[u8]| String::from_utf8_lossy(b).to_string();
    (out.status.code().unwrap_or(-1), text(&out.stdout), text(&out.stderr))
}

/// Scripts reach the product commands through the runner the CLI gives the host: the nested
/// command runs its script and returns its exit code.
#[test]
fn a_script_runs_a_product_command_through_the_runner() {
    let (code, out, err) =
        run_script("version", "let c = wego::command([\"version\"]); print(`code=${c}`); exit(c + 7);");
    assert_eq!(code, 7, "stdout: {out}\nstderr: {err}");
    assert!(out.contains("wego version: v") && out.contains("flux version: v"), "{out}");
    assert!(out.contains("code=0"), "{out}");
}

/// A command that is not a script is refused by the same dispatch, in the script's words.
#[test]
fn a_script_cannot_run_a_command_that_is_not_a_script() {
    let (code, out, err) = run_script("repl", "wego::command([\"repl\"]);");
    assert_eq!(code, 1, "stdout: {out}\nstderr: {err}");
    assert!(err.contains("wego::command: `repl` cannot run from a script"), "{err}");
    assert!(err.contains("help: wego::command runs install, add, status, version and the script commands"), "{err}");
}
