//! What `wego test` files use: the assertions (global functions, usable by any script) and
//! `test::` — fixtures and golden files found beside the test file, in its layer.

use std::path::PathBuf;
use std::sync::Mutex;

use rhai::{Array, Dynamic, Engine, EvalAltResult, Module};

use super::api::api_module;
use super::host::fail;

/// Where the running test file's fixtures are.
#[derive(Debug, Clone)]
pub enum Fixtures {
    /// The directory of a test file on disk.
    Dir(PathBuf),
    /// The built-in tests, compiled into the binary (read-only).
    Builtin,
}

/// The test file being run, and whether golden files are rewritten (`wego test --update`).
#[derive(Debug, Clone)]
pub struct Current {
    pub fixtures: Fixtures,
    pub update: bool,
}

// One command runs per process and `wego test` runs one file at a time, so the file in
// progress is process state rather than a field every other command's host would carry.
static CURRENT: Mutex<Option<Current>> = Mutex::new(None);

/// Set (or clear) the test file in progress.
pub fn set_current(c: Option<Current>) {
    *CURRENT.lock().expect("test state") = c;
}

fn current(prim: &str) -> Result<Current, Box<EvalAltResult>> {
    CURRENT.lock().expect("test state").clone().ok_or_else(|| {
        fail(prim, "there is no test file in progress", Some("call it from a `*_test.rhai` file run by `wego test`"))
    })
}

/// A fixture's text, by a path relative to the test file; never outside its directory.
fn read_fixture(prim: &str, path: &str) -> Result<String, Box<EvalAltResult>> {
    let c = current(prim)?;
    let rel = relative(prim, path)?;
    let text = match &c.fixtures {
        Fixtures::Builtin => crate::layers::builtin_test_file(&rel),
        Fixtures::Dir(d) => std::fs::read_to_string(d.join(&rel)).ok(),
    };
    text.ok_or_else(|| fail(prim, format!("no fixture `{path}` beside the test file"), None))
}

fn relative(prim: &str, path: &str) -> Result<String, Box<EvalAltResult>> {
    let p = std::path::Path::new(path);
    let plain = p.components().all(|c| matches!(c, std::path::Component::Normal(_)));
    if path.is_empty() || !plain {
        return Err(fail(
            prim,
            format!("`{path}` is not a path inside the test's directory"),
            Some("name fixtures relative to the test file, e.g. \"fixtures/app.yaml\""),
        ));
    }
    Ok(path.to_string())
}

/// Both values as data, for comparing and showing them.
fn show(v: &Dynamic) -> String {
    match v.clone().into_immutable_string() {
        Ok(s) => format!("{:?}", s.as_str()),
        Err(_) => serde_json::to_string(&super::from_dynamic(v)).unwrap_or_else(|_| v.to_string()),
    }
}

fn same(a: &Dynamic, b: &Dynamic) -> bool {
    a.type_name() == b.type_name() && super::from_dynamic(a) == super::from_dynamic(b)
}

fn differ(prim: &str, what: &str, a: &Dynamic, b: &Dynamic, msg: &str) -> Box<EvalAltResult> {
    let head = if msg.is_empty() { what.to_string() } else { format!("{msg}: {what}") };
    fail(prim, format!("{head}\n  left:  {}\n  right: {}", show(a), show(b)), None)
}

/// The first line where two texts part, for a golden-file mismatch.
fn first_difference(want: &str, got: &str) -> String {
    let (w, g): (Vec<&str>, Vec<&str>) = (want.lines().collect(), got.lines().collect());
    let i = w.iter().zip(&g).position(|(a, b)| a != b).unwrap_or(w.len().min(g.len()));
    let line = |v: &[&str]| v.get(i).map(|l| format!("{l:?}")).unwrap_or_else(|| "(end of text)".into());
    format!("line {}\n  want: {}\n  got:  {}", i + 1, line(&w), line(&g))
}

/// `assert`, `assert_eq` and `assert_ne`, as global functions.
pub fn register_globals(engine: &mut Engine) {
    let globals = api_module! {
        /// Fail the test (or script) when `condition` is false, saying `message` (optional).
        ///
        /// Example: `assert(name.len() <= 63, "a DNS label");`
        fn assert(condition: bool, #[optional] message: String) -> () {
            match condition {
                true => Ok(()),
                false if message.is_empty() => Err(fail("assert", "the condition is false", None)),
                false => Err(fail("assert", message, None)),
            }
        }

        /// Fail unless both values are equal (same type, same data); the error shows both, after `message`
        /// (optional).
        ///
        /// Example: `assert_eq(naming::repo_name("git@github.com:org/web.git"), "web");`
        fn assert_eq(left: Dynamic, right: Dynamic, #[optional] message: String) -> () {
            match same(&left, &right) {
                true => Ok(()),
                false => Err(differ("assert_eq", "the values differ", &left, &right, &message)),
            }
        }

        /// Fail when both values are equal, saying `message` (optional).
        ///
        /// Example: `assert_ne(first, second, "two repos never share a Secret");`
        fn assert_ne(left: Dynamic, right: Dynamic, #[optional] message: String) -> () {
            match same(&left, &right) {
                true => Err(differ("assert_ne", "the values are equal", &left, &right, &message)),
                false => Ok(()),
            }
        }
    };
    engine.register_global_module(globals.into());
}

pub fn module() -> Module {
    api_module! {
        //! Fixtures and golden files for `wego test` (paths relative to the test file).

        /// The text of a fixture file beside the test file.
        ///
        /// Errors: no such fixture, a path leaving the test's directory, outside `wego test`.
        ///
        /// Example: `let text = test::fixture("fixtures/values.yaml");`
        fn fixture(path: &str) -> String {
            read_fixture("test::fixture", path)
        }

        /// The objects of a YAML fixture (every document), e.g. Kubernetes objects as a stdlib function's input.
        ///
        /// Errors: no such fixture, invalid YAML, outside `wego test`.
        ///
        /// Example: `let objs = test::objects("fixtures/kustomizations.yaml");`
        fn objects(path: &str) -> Array {
            let text = read_fixture("test::objects", path)?;
            let docs =
                super::yaml::parse_all(&text).map_err(|e| fail("test::objects", format!("{path}: {e}"), None))?;
            Ok(docs.iter().map(super::to_dynamic).collect())
        }

        /// Compare `actual` with the golden file `path` beside the test file; `wego test --update` writes it instead
        /// (as insta does).
        ///
        /// Errors: the texts differ (first differing line shown), no golden file yet, updating a built-in test.
        ///
        /// Example: `test::golden("golden/app.yaml", template::render("wego/app.yaml.j2", values));`
        fn golden(path: &str, actual: &str) -> () {
            golden(path, actual)
        }
    }
}

fn golden(path: &str, actual: &str) -> Result<(), Box<EvalAltResult>> {
    let prim = "test::golden";
    let c = current(prim)?;
    let rel = relative(prim, path)?;
    if c.update {
        let Fixtures::Dir(dir) = &c.fixtures else {
            let help = "copy the test into your own tests/ directory";
            return Err(fail(prim, "built-in golden files cannot be updated", Some(help)));
        };
        let file = dir.join(&rel);
        if let Some(parent) = file.parent() {
            std::fs::create_dir_all(parent).map_err(|e| fail(prim, format!("{}: {e}", parent.display()), None))?;
        }
        return std::fs::write(&file, actual).map_err(|e| fail(prim, format!("{}: {e}", file.display()), None));
    }
    let want = read_fixture(prim, path).map_err(|_| {
        fail(prim, format!("no golden file `{path}` yet"), Some("run `wego test --update` to write it"))
    })?;
    match want == actual {
        true => Ok(()),
        false => {
            let help = "review the change, then run `wego test --update` to accept it";
            Err(fail(prim, format!("`{path}` differs at {}", first_difference(&want, actual)), Some(help)))
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_first_difference_names_its_line_and_both_sides() {
        assert_eq!(super::first_difference("a\nb\n", "a\nc\n"), "line 2\n  want: \"b\"\n  got:  \"c\"");
        assert_eq!(super::first_difference("a\n", "a\nb\n"), "line 2\n  want: (end of text)\n  got:  \"b\"");
    }
}
