//! The host a running script reaches: flags, layers, config, renderer, logger, cluster
//! state, and the runner for nested commands, plus the errors primitives raise.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use rhai::{Dynamic, Engine, EvalAltResult, Position};

use super::api::api_module;
use crate::config::Effective;
use crate::diagnostics::{Diagnostic, SourceLookup};
use crate::layers::Layers;
use crate::render::Renderer;
use crate::trust;

/// Runs a product command for `wego::command` (the words after `wego`) with the calling
/// script's host. The outer error is a usage error (the words); the inner result is the
/// command's own outcome. The CLI knows the commands, so it hands this to the host when it
/// builds one, and primitives never name the CLI.
pub type CommandRunner =
    Box<dyn Fn(&Arc<Host>, &[String]) -> Result<Result<i32, Diagnostic>, Diagnostic> + Send + Sync>;

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
    pub log: super::log::Logger,
    pub checkpoint: crate::checkpoint::Checkpoint,
    pub kube: crate::k8s::KubeState,
    /// Source text by display name, for diagnostics.
    sources: Mutex<HashMap<String, String>>,
    /// Import path -> display name, for errors raised while a module loads.
    modules: Mutex<HashMap<String, String>>,
    /// Runs `wego::command`; see [`CommandRunner`].
    commands: CommandRunner,
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
        commands: CommandRunner,
    ) -> Arc<Self> {
        let log = super::log::Logger::new(&config.config.log_level, globals.verbose, globals.color);
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
            commands,
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

    pub fn remember_module(&self, path: &str, display: &str) {
        self.modules.lock().expect("modules").insert(path.to_string(), display.to_string());
    }

    pub fn module_display(&self, path: &str) -> Option<String> {
        self.modules.lock().expect("modules").get(path).cloned()
    }

    /// Render a diagnostic for the terminal.
    pub fn render(&self, d: &Diagnostic) -> String {
        d.render(self, self.globals.color)
    }

    /// Run a product command from a script (the words after `wego`), through the runner the
    /// CLI gave this host.
    pub fn command(self: &Arc<Self>, argv: &[String]) -> Result<Result<i32, Diagnostic>, Diagnostic> {
        (self.commands)(self, argv)
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

/// The error a primitive raises: `<prim>: <cause>` and the fix, as wego's one error type.
pub fn fail(prim: &str, cause: impl std::fmt::Display, help: Option<&str>) -> Box<EvalAltResult> {
    let mut d = Diagnostic::new(format!("{prim}: {cause}"));
    d.help = help.map(str::to_string);
    d.raise()
}

/// Register the `Error` type a script catches from a host function, and how it prints.
pub fn register_error_type(engine: &mut Engine) {
    // Scripts (and the reference) call it `Error`.
    use crate::diagnostics::Diagnostic as Error;
    engine.register_type_with_name::<Error>("Error");
    const PRINTS: &str = "An `Error` a host function raised, as text: the message, then `help: <fix>` on its own \
                          line. Throw it again as it is, or as text with a fix of your own appended.\n\n\
                          Example: `try { fs::read(\"missing\") } catch (e) { log::warn(e.to_string()); }`";
    let printing = api_module! {
        #[doc = PRINTS]
        method to_string(error: &mut Error) -> String {
            Ok(error.text())
        }

        #[doc = PRINTS]
        method to_debug(error: &mut Error) -> String {
            Ok(error.text())
        }
    };
    engine.register_global_module(printing.into());
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
