//! The one place a Rhai engine is built: limits, module resolution through the layers,
//! host primitives, and running a script to an exit code or a diagnostic.

pub mod coverage;
mod resolver;
pub mod testing;

// The layered files, the path policy and the trust store are mechanisms below the engine;
// re-exported here so `engine::layers` keeps naming them for callers above.
pub use crate::{diagnostics, layers, paths, trust};

// What scripts run against lives with the primitives that use it; the engine builds on it.
pub use crate::primitives::api;
pub use crate::primitives::host::{
    exit, exit_status, fail, CommandRunner, ExitCode, Globals, Host, Output, CLOSED_PIPE_EXIT,
};

use std::sync::Arc;

use rhai::{Dynamic, Engine, EvalAltResult, Scope, AST};

use diagnostics::Diagnostic;
use layers::Resolved;

/// Build an engine with limits, the layered module resolver and every primitive.
pub fn build(host: &Arc<Host>) -> Engine {
    let mut engine = Engine::new();
    let l = &host.config().limits.clamped();
    engine.set_max_operations(l.max_operations);
    engine.set_max_call_levels(l.max_call_depth);
    engine.set_max_expr_depths(l.max_expr_depth, l.max_expr_depth);
    engine.set_max_string_size(l.max_string_size);
    engine.set_max_array_size(l.max_array_size);
    engine.set_max_map_size(l.max_map_size);
    engine.set_max_modules(256);
    engine.set_module_resolver(resolver::LayeredResolver::new(host.clone()));
    engine.on_print(|s| println!("{s}"));
    let h = host.clone();
    engine.on_debug(move |s, src, pos| {
        if h.session.globals.verbose > 0 {
            eprintln!("debug: {}:{}: {s}", src.unwrap_or("<script>"), pos.line().unwrap_or(0));
        }
    });
    crate::primitives::register_all(&mut engine, host);
    coverage::attach(&mut engine);
    engine
}

/// Compile `script` (recording its text for diagnostics).
pub fn compile(engine: &Engine, host: &Host, script: &Resolved) -> Result<AST, Diagnostic> {
    host.sources.remember_source(&script.display, &script.text);
    let mut ast =
        engine.compile(without_shebang(&script.text)).map_err(|e| Diagnostic::from_parse(&e, &script.display))?;
    ast.set_source(script.display.as_str());
    coverage::compiled(&ast);
    Ok(ast)
}

/// A `#!` first line (for `#!/usr/bin/env -S wego run`) becomes a comment, keeping line numbers.
fn without_shebang(text: &str) -> std::borrow::Cow<'_, str> {
    if text.starts_with("#!") {
        let rest = text.find('\n').map(|i| &text[i..]).unwrap_or("");
        std::borrow::Cow::Owned(format!("//{rest}"))
    } else {
        std::borrow::Cow::Borrowed(text)
    }
}

/// Run a compiled script with `args` and `config` in scope; returns the exit code.
pub fn run_ast(
    engine: &Engine,
    host: &Arc<Host>,
    ast: &AST,
    display: &str,
    scope: &mut Scope,
) -> Result<i32, Diagnostic> {
    match engine.eval_ast_with_scope::<Dynamic>(scope, ast) {
        Ok(_) => Ok(0),
        Err(e) => exit_or_diagnostic(host, &e, display),
    }
}

/// A scope with the standard constants every script sees.
pub fn scope(host: &Host, args: Dynamic) -> Scope<'static> {
    let mut scope = Scope::new();
    scope.push_constant("args", args);
    scope.push_constant("config", crate::primitives::wego::config_value(host));
    scope
}

/// Resolve, compile and run the script `script` with `args`.
pub fn run(host: &Arc<Host>, script: &Resolved, args: Dynamic) -> Result<i32, Diagnostic> {
    let engine = build(host);
    let ast = compile(&engine, host, script)?;
    let mut scope = scope(host, args);
    run_ast(&engine, host, &ast, &script.display, &mut scope)
}

/// `exit(code)` becomes an exit code; anything else a diagnostic.
pub fn exit_or_diagnostic(host: &Host, e: &EvalAltResult, display: &str) -> Result<i32, Diagnostic> {
    let mut inner = e;
    loop {
        match inner {
            EvalAltResult::ErrorInFunctionCall(_, _, i, _) | EvalAltResult::ErrorInModule(_, i, _) => inner = i,
            EvalAltResult::ErrorTerminated(token, _) => {
                if let Some(code) = token.read_lock::<ExitCode>() {
                    return Ok(code.0);
                }
                break;
            }
            _ => break,
        }
    }
    Err(Diagnostic::from_eval(e, display, &|p| host.sources.module_display(p)))
}
