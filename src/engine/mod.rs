//! The one place a Rhai engine is built: limits, module resolution through the layers,
//! host primitives, and running a script to an exit code or a diagnostic.

pub mod api;
pub mod diagnostics;
mod resolver;

// The layered files, the path policy and the trust store are mechanisms below the engine;
// re-exported here so `engine::layers` keeps naming them for callers above.
pub use crate::{layers, paths, trust};

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use rhai::{Dynamic, Engine, EvalAltResult, Position, Scope, AST};

use crate::config::Effective;
use crate::render::Renderer;
use diagnostics::{Diagnostic, SourceLookup};
use layers::{Layers, Resolved};

/// Output format requested with `-o`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, clap::ValueEnum, Default)]
#[serde(rename_all = "lowercase")]
pub enum Output {
    #[default]
    Table,
    Json,
    Yaml,
}

/// Global options that primitives honour.
#[derive(Debug, Clone, Default)]
pub struct Globals {
    pub kubeconfig: Option<PathBuf>,
    pub context: Option<String>,
    pub namespace: Option<String>,
    pub output: Output,
    pub verbose: u8,
    pub color: bool,
    pub offline: bool,
    pub allow_exec: bool,
}

/// Everything a running script can reach. Shared by all primitives.
pub struct Host {
    pub rt: tokio::runtime::Handle,
    pub globals: Globals,
    pub layers: Arc<Layers>,
    config: std::sync::RwLock<Effective>,
    /// How the config was built, to rebuild it when a command checks out the wego repo.
    loader: crate::config::Loader,
    pub renderer: Renderer,
    /// Directories file primitives may touch: the current directory, and repos checked out.
    pub workspaces: Mutex<Vec<PathBuf>>,
    /// Temporary directories (e.g. repos cloned without a `dir`), removed when the command ends.
    pub temp_dirs: Mutex<Vec<tempfile::TempDir>>,
    pub log: crate::primitives::log::Logger,
    pub checkpoint: crate::checkpoint::Checkpoint,
    pub kube: crate::k8s::KubeState,
    /// Source text by display name, for diagnostics.
    sources: Mutex<HashMap<String, String>>,
    /// Import path -> display name, for errors raised while a module loads.
    modules: Mutex<HashMap<String, String>>,
}

/// Raised by `exit(code)`; carried through Rhai as a termination token.
#[derive(Debug, Clone, Copy)]
pub struct ExitCode(pub i32);

impl Host {
    pub fn new(
        rt: tokio::runtime::Handle,
        globals: Globals,
        layers: Arc<Layers>,
        loader: crate::config::Loader,
        config: Effective,
        workspace: PathBuf,
    ) -> Arc<Self> {
        let log = crate::primitives::log::Logger::new(&config.config.log_level, globals.verbose, globals.color);
        let checkpoint = crate::checkpoint::Checkpoint::new(&config.config, globals.offline);
        let kube = crate::k8s::KubeState::new(crate::k8s::Target {
            kubeconfig: globals.kubeconfig.clone(),
            context: globals.context.clone(),
        });
        Arc::new(Host {
            rt,
            renderer: Renderer::with_limits(layers.clone(), &config.config.limits),
            layers,
            config: std::sync::RwLock::new(config),
            loader,
            globals,
            workspaces: Mutex::new(vec![workspace]),
            temp_dirs: Mutex::new(Vec::new()),
            log,
            checkpoint,
            kube,
            sources: Mutex::new(HashMap::new()),
            modules: Mutex::new(HashMap::new()),
        })
    }

    /// The effective config.
    pub fn config(&self) -> crate::config::Config {
        self.config.read().expect("config lock").config.clone()
    }

    /// The effective config with the origin of each value.
    pub fn effective(&self) -> Effective {
        self.config.read().expect("config lock").clone()
    }

    /// Make `repo` the wego repo in effect: its `.wego/` overrides scripts' imports and
    /// templates from now on, and its `.wego/config.yaml` takes its place in the config. A
    /// clone is trusted by its `origin` URL (it lives in a temporary directory), a work tree
    /// without one by its path.
    pub fn use_repo(&self, repo: &std::path::Path) -> Result<crate::config::Config, crate::config::ConfigError> {
        let loader = crate::config::Loader { repo_file: Some(repo.join(".wego/config.yaml")), ..self.loader.clone() };
        let effective = loader.load()?;
        let config = effective.config.clone();
        *self.config.write().expect("config lock") = effective;
        let origin = crate::git::worktree::open(repo)
            .ok()
            .and_then(|r| r.find_remote("origin").ok().and_then(|o| o.url().ok().map(str::to_string)));
        let key = origin.and_then(|u| trust::Key::url(&u).ok()).unwrap_or_else(|| trust::Key::dir(repo));
        self.layers.set_repo_root(repo, key);
        self.renderer.reload();
        Ok(config)
    }

    pub fn remember_source(&self, display: &str, text: &str) {
        self.sources.lock().expect("sources").insert(display.to_string(), text.to_string());
    }

    fn remember_module(&self, path: &str, display: &str) {
        self.modules.lock().expect("modules").insert(path.to_string(), display.to_string());
    }

    fn module_display(&self, path: &str) -> Option<String> {
        self.modules.lock().expect("modules").get(path).cloned()
    }

    /// Render a diagnostic for the terminal.
    pub fn render(&self, d: &Diagnostic) -> String {
        d.render(self, self.globals.color)
    }

    /// Run `f` on the host's tokio runtime from a script thread.
    pub fn block_on<F: std::future::Future>(&self, f: F) -> F::Output {
        self.rt.block_on(f)
    }
}

impl SourceLookup for Host {
    fn source(&self, file: &str) -> Option<String> {
        self.sources.lock().expect("sources").get(file).cloned()
    }
}

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
        if h.globals.verbose > 0 {
            eprintln!("debug: {}:{}: {s}", src.unwrap_or("<script>"), pos.line().unwrap_or(0));
        }
    });
    crate::primitives::register_all(&mut engine, host);
    engine
}

/// Compile `script` (recording its text for diagnostics).
pub fn compile(engine: &Engine, host: &Host, script: &Resolved) -> Result<AST, Diagnostic> {
    host.remember_source(&script.display, &script.text);
    let mut ast =
        engine.compile(without_shebang(&script.text)).map_err(|e| Diagnostic::from_parse(&e, &script.display))?;
    ast.set_source(script.display.as_str());
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
    Err(Diagnostic::from_eval(e, display, &|p| host.module_display(p)))
}

/// The error a primitive raises: `"<prim>: <cause>"`, with `help: <fix>` on its own line.
pub fn fail(prim: &str, cause: impl std::fmt::Display, help: Option<&str>) -> Box<EvalAltResult> {
    let mut msg = format!("{prim}: {cause}");
    if let Some(h) = help {
        msg.push_str("\nhelp: ");
        msg.push_str(h);
    }
    Box::new(EvalAltResult::ErrorRuntime(msg.into(), Position::NONE))
}

/// Raise `exit(code)`.
pub fn exit(code: i64) -> Box<EvalAltResult> {
    Box::new(EvalAltResult::ErrorTerminated(Dynamic::from(ExitCode(exit_status(code))), Position::NONE))
}

/// The process status for `exit(code)`: a process can report only 0–255, and a failure must
/// never wrap around to 0 (`exit(256)`), so anything outside 0–255 is a failure: 1 below
/// zero, 255 above.
pub fn exit_status(code: i64) -> i32 {
    match code {
        0..=255 => code as i32,
        c if c < 0 => 1,
        _ => 255,
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn exit_codes_never_wrap_to_success() {
        for (code, want) in [(0, 0), (3, 3), (255, 255), (256, 255), (4294967296, 255), (-1, 1), (i64::MIN, 1)] {
            assert_eq!(super::exit_status(code), want, "{code}");
        }
    }
}
