//! Running a `*_test.rhai` file: every `fn test_*()` in it, each in a fresh scope (the file's
//! top level, e.g. its imports, runs again before each), one outcome per test.

use std::sync::Arc;

use rhai::{Dynamic, Scope};

use super::diagnostics::Diagnostic;
use super::layers::Resolved;
use super::{compile, Host};
use crate::primitives::testing::{self, Current};

/// One test's result.
pub struct Outcome {
    pub name: String,
    pub failure: Option<Diagnostic>,
}

/// The `test_*` functions of a file that take no arguments, in the order they are written.
pub fn test_names(ast: &rhai::AST, text: &str) -> Vec<String> {
    let mut names: Vec<(usize, String)> = ast
        .iter_functions()
        .filter(|f| f.name.starts_with("test_") && f.params.is_empty())
        .map(|f| (text.find(&format!("fn {}(", f.name)).unwrap_or(usize::MAX), f.name.to_string()))
        .collect();
    names.sort();
    names.into_iter().map(|(_, n)| n).collect()
}

/// Run the tests of `file` whose names contain `filter`. A file that does not compile is an
/// error of its own, not a failed test.
pub fn run_file(
    host: &Arc<Host>,
    file: &Resolved,
    current: Current,
    filter: Option<&str>,
) -> Result<Vec<Outcome>, Diagnostic> {
    let engine = super::build(host);
    let ast = compile(&engine, host, file)?;
    testing::set_current(Some(current));
    let outcomes = test_names(&ast, &file.text)
        .into_iter()
        .filter(|n| filter.is_none_or(|f| n.contains(f)))
        .map(|name| {
            let mut scope: Scope = super::scope(host, Dynamic::from(rhai::Array::new()));
            let failure = match engine.call_fn::<Dynamic>(&mut scope, &ast, &name, ()) {
                Ok(_) => None,
                Err(e) => match super::exit_or_diagnostic(host, &e, &file.display) {
                    Ok(0) => None,
                    Ok(code) => Some(Diagnostic::new(format!("the test called exit({code})"))),
                    Err(d) => Some(d),
                },
            };
            Outcome { name, failure }
        })
        .collect();
    testing::set_current(None);
    Ok(outcomes)
}
