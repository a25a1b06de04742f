//! Rhai line coverage, from Rhai's own positions, when `WEGO_RHAI_COVERAGE=<dir>` is set.
//!
//! A line is executable when it holds a statement of a compiled AST, and executed when the
//! engine steps on a statement or expression there. Each process appends its records,
//! `E|X <tab> source <tab> line`, to `<dir>/rhai-<pid>.lines` whenever one of its engines is
//! dropped; `tests/rhai-coverage.sh` sums them per file. The first write also lists every
//! built-in script and stdlib module, so a file no test loads counts as uncovered, not absent.
//! Unset, no debugger is registered: Rhai's check for one is a branch per statement.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::io::Write as _;
use std::path::PathBuf;
use std::sync::{Mutex, OnceLock, PoisonError};

use rhai::debugger::DebuggerCommand;
use rhai::{ASTNode, Engine, Position, Stmt, AST};

use super::layers::{Kind, Layers};

/// The variable naming the directory the records go to.
pub const VAR: &str = "WEGO_RHAI_COVERAGE";

/// Lines by source name.
type Lines = BTreeMap<String, BTreeSet<usize>>;

#[derive(Default)]
struct Records {
    executable: Lines,
    executed: Lines,
    /// Whether this process has written the built-ins' executable lines yet.
    builtins_written: bool,
}

struct Recorder {
    file: PathBuf,
    records: Mutex<Records>,
}

/// The process's recorder, if the variable is set (read once).
fn recorder() -> Option<&'static Recorder> {
    static RECORDER: OnceLock<Option<Recorder>> = OnceLock::new();
    RECORDER
        .get_or_init(|| {
            let dir = std::env::var_os(VAR).filter(|d| !d.is_empty())?;
            let file = PathBuf::from(dir).join(format!("rhai-{}.lines", std::process::id()));
            Some(Recorder { file, records: Mutex::default() })
        })
        .as_ref()
}

/// Record the lines `engine` executes, if coverage is on.
pub fn attach(engine: &mut Engine) {
    let Some(recorder) = recorder() else { return };
    // Owned by the engine's callback, so dropped with the engine: the point to write.
    let flush = FlushOnDrop(recorder);
    // Rhai marks this API volatile with `deprecated`; stepping into every node is all we use.
    #[allow(deprecated)]
    engine.register_debugger(
        |_, debugger| debugger,
        move |_, _, node, source, pos| {
            if let Some(source) = source {
                flush.executed(source, &node, pos);
            }
            Ok(DebuggerCommand::StepInto)
        },
    );
}

/// Record the executable lines of `ast` (named by its source), if coverage is on.
pub fn compiled(ast: &AST) {
    if let (Some(recorder), Some(source)) = (recorder(), ast.source()) {
        let lines = statement_lines(ast);
        recorder.lock().executable.entry(source.to_string()).or_default().extend(lines);
    }
}

/// The lines holding a statement, in the top level and in every function.
pub fn statement_lines(ast: &AST) -> BTreeSet<usize> {
    let mut lines = BTreeSet::new();
    ast.walk(&mut |path: &[ASTNode]| {
        if let Some(ASTNode::Stmt(stmt)) = path.last() {
            if !matches!(stmt, Stmt::Noop(..)) {
                lines.extend(stmt.position().line());
            }
        }
        true
    });
    lines
}

struct FlushOnDrop(&'static Recorder);

impl FlushOnDrop {
    /// Through `self`, so that the callback calling it owns `self` (a closure would capture
    /// only the copied reference inside, dropping this at once).
    fn executed(&self, source: &str, node: &ASTNode, pos: Position) {
        self.0.executed(source, node, pos);
    }
}

impl Drop for FlushOnDrop {
    fn drop(&mut self) {
        self.0.flush();
    }
}

impl Recorder {
    fn lock(&self) -> std::sync::MutexGuard<'_, Records> {
        self.records.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn executed(&self, source: &str, node: &ASTNode, pos: Position) {
        let mut records = self.lock();
        // Looked up by `&str` first: a `String` per step would dominate the cost.
        if !records.executed.contains_key(source) {
            records.executed.insert(source.to_string(), BTreeSet::new());
        }
        let Some(lines) = records.executed.get_mut(source) else { return };
        lines.extend(pos.line());
        // An expression statement is stepped on as its expression, whose position may be an
        // operator on a later line; the statement's own line is where the expression starts.
        if let ASTNode::Expr(expr) = node {
            lines.extend(expr.start_position().line());
        }
    }

    /// Append what was recorded since the last write, under the lock so that engines
    /// dropped at once do not interleave.
    fn flush(&self) {
        let mut records = self.lock();
        if !records.builtins_written {
            records.builtins_written = true;
            builtin_statement_lines(&mut records.executable);
        }
        let mut text = String::new();
        for (kind, lines) in
            [("E", std::mem::take(&mut records.executable)), ("X", std::mem::take(&mut records.executed))]
        {
            for (source, lines) in lines {
                for line in lines {
                    let _ = writeln!(text, "{kind}\t{source}\t{line}");
                }
            }
        }
        if text.is_empty() {
            return;
        }
        let written = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.file)
            .and_then(|mut f| f.write_all(text.as_bytes()));
        if let Err(e) = written {
            eprintln!("wego: {VAR}: cannot write {}: {e}", self.file.display());
        }
    }
}

/// The executable lines of every built-in script and stdlib module, by display name.
fn builtin_statement_lines(into: &mut Lines) {
    let layers = Layers::builtin_only();
    let mut engine = Engine::new();
    // Debug builds of Rhai default to shallow limits; the real engine sets its own.
    engine.set_max_expr_depths(0, 0);
    for kind in [Kind::Script, Kind::Stdlib] {
        for entry in layers.list(kind) {
            let Some(file) = layers.builtin(kind, &entry.name) else { continue };
            if let Ok(ast) = engine.compile(&file.text) {
                into.entry(file.display).or_default().extend(statement_lines(&ast));
            }
        }
    }
}
