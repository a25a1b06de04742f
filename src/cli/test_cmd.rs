//! `wego test [PATH...]`: run Rhai test files (`*_test.rhai`). With no path: the built-in
//! stdlib tests, then those in `tests/` of `--scripts-dir` and of the user's layer — so a team
//! that overrides a stdlib module sees at once what its override changed.

use std::path::{Path, PathBuf};

use clap::Args;

use super::{Context, Failure, GlobalArgs};
use crate::engine::diagnostics::Diagnostic;
use crate::layers::{Layer, Resolved};
use crate::primitives::testing::{Current, Fixtures};

#[derive(Debug, Args)]
pub struct TestArgs {
    /// Test files or directories holding `*_test.rhai` files (default: the built-in tests and
    /// the `tests/` directories of --scripts-dir and of the user's config layer)
    #[arg(value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    /// Run only the tests whose name contains TEXT
    #[arg(long, value_name = "TEXT")]
    pub filter: Option<String>,
    /// Write golden files (`test::golden`) from this run instead of comparing with them
    #[arg(long)]
    pub update: bool,
    #[command(flatten)]
    pub script: super::ScriptArgs,
}

/// A test file found, with where its fixtures are.
struct TestFile {
    script: Resolved,
    fixtures: Fixtures,
}

fn on_disk(path: &Path) -> std::io::Result<TestFile> {
    let text = std::fs::read_to_string(path)?;
    let dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
    let display = path.display().to_string();
    let script = Resolved { name: display.clone(), layer: Layer::Explicit, path: Some(path.into()), display, text };
    Ok(TestFile { script, fixtures: Fixtures::Dir(dir) })
}

/// `*_test.rhai` files under `dir`, in name order (at most a few levels down, never through a
/// link out of `dir`).
fn test_files_in(dir: &Path, out: &mut Vec<PathBuf>) {
    let found = crate::paths::walk_files(dir, dir, 4);
    out.extend(found.into_iter().filter(|(rel, _)| rel.ends_with("_test.rhai")).map(|(rel, _)| dir.join(rel)));
}

fn discover(a: &TestArgs, dirs: Vec<PathBuf>) -> Result<Vec<TestFile>, Diagnostic> {
    let mut paths = Vec::new();
    let mut files = Vec::new();
    if a.paths.is_empty() {
        for (display, text) in crate::layers::builtin_tests() {
            let script = Resolved { name: display.clone(), layer: Layer::Builtin, path: None, display, text };
            files.push(TestFile { script, fixtures: Fixtures::Builtin });
        }
        for d in dirs {
            test_files_in(&d, &mut paths);
        }
    }
    for p in &a.paths {
        if p.is_dir() {
            test_files_in(p, &mut paths);
        } else if p.exists() {
            paths.push(p.clone());
        } else {
            return Err(Diagnostic::new(format!("no test file or directory `{}`", p.display()))
                .with_help("give `*_test.rhai` files or directories holding them"));
        }
    }
    for p in paths {
        files.push(on_disk(&p).map_err(|e| Diagnostic::new(format!("cannot read {}: {e}", p.display())))?);
    }
    Ok(files)
}

pub fn run(g: &GlobalArgs, a: TestArgs) -> Result<i32, Failure> {
    let ctx = Context::load(g, vec![])?;
    let color = ctx.globals.color;
    let dirs = ctx.layers.test_dirs();
    let files = discover(&a, dirs).map_err(|diagnostic| Failure { diagnostic, color, host: None })?;
    let (_rt, host) = ctx.host()?;
    let (mut passed, mut failed) = (0, 0);
    for f in files {
        let current = Current { fixtures: f.fixtures, update: a.update };
        let outcomes = match crate::engine::testing::run_file(&host, &f.script, current, a.filter.as_deref()) {
            Ok(o) => o,
            Err(d) => {
                println!("test {} ... FAILED (does not compile)", f.script.display);
                eprintln!("{}", host.render(&d));
                failed += 1;
                continue;
            }
        };
        for o in outcomes {
            match o.failure {
                None => {
                    passed += 1;
                    println!("test {}::{} ... ok", f.script.display, o.name);
                }
                Some(d) => {
                    failed += 1;
                    println!("test {}::{} ... FAILED", f.script.display, o.name);
                    eprintln!("{}", host.render(&d));
                }
            }
        }
    }
    println!("{passed} passed, {failed} failed");
    Ok(if failed > 0 { 1 } else { 0 })
}
