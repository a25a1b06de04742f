//! The host a running script reaches, one part per concern — the session (runtime, flags,
//! logger), the settings (config), the workspace, the source map for diagnostics — beside the
//! layered files, the service clients and the runner for nested commands; plus the error
//! primitives raise.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};

use rhai::{Dynamic, Engine, EvalAltResult, Position};

use super::api::api_module;
use crate::config::{Config, ConfigError, Effective, Loader};
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
    pub output: Output,
    pub verbose: u8,
    pub color: bool,
    pub offline: bool,
    pub allow_exec: bool,
    /// `--quiet`: no progress or notices, only warnings and errors.
    pub quiet: bool,
}

/// Everything a running script can reach, by concern. Shared by all primitives.
pub struct Host {
    /// How this invocation runs: its runtime, flags and logger.
    pub session: Session,
    /// The effective config, and how to rebuild it for a checked-out wego repo.
    pub settings: Settings,
    /// Where file primitives may reach.
    pub workspace: Workspace,
    /// Script sources, for diagnostics.
    pub sources: SourceMap,
    /// The layered scripts, templates and stdlib, and the template renderer over them.
    pub layers: Arc<Layers>,
    pub renderer: Renderer,
    /// The clients of outside services.
    pub kube: crate::k8s::KubeState,
    pub checkpoint: crate::checkpoint::Checkpoint,
    /// Runs `wego::command`; see [`CommandRunner`].
    commands: CommandRunner,
}

/// How this invocation runs: the runtime primitives block on, the global flags, the logger.
pub struct Session {
    pub rt: tokio::runtime::Handle,
    pub globals: Globals,
    pub log: super::log::Logger,
}

/// The effective config and the loader that built it.
pub struct Settings {
    effective: RwLock<Effective>,
    loader: Loader,
}

impl Settings {
    /// The effective config.
    pub fn config(&self) -> Config {
        self.effective.read().expect("config lock").config.clone()
    }

    /// Load the config again with `repo`'s `.wego/config.yaml` as the repo file, and use it.
    fn use_repo_file(&self, repo: &Path) -> Result<Config, ConfigError> {
        let loader = Loader { repo_file: Some(repo.join(".wego/config.yaml")), ..self.loader.clone() };
        let effective = loader.load()?;
        let config = effective.config.clone();
        *self.effective.write().expect("config lock") = effective;
        Ok(config)
    }
}

/// The directories file primitives may touch (the current directory, and repos checked
/// out), and the temporary ones to remove when the command ends.
pub struct Workspace {
    roots: Mutex<Vec<PathBuf>>,
    temp_dirs: Mutex<Vec<tempfile::TempDir>>,
}

impl Workspace {
    /// The roots, the first being the directory relative paths start from.
    pub fn roots(&self) -> Vec<PathBuf> {
        self.roots.lock().expect("workspaces").clone()
    }

    /// Let file primitives reach `dir` too.
    pub fn add(&self, dir: PathBuf) {
        let mut roots = self.roots.lock().expect("workspaces");
        if !roots.contains(&dir) {
            roots.push(dir);
        }
    }

    /// Keep `dir` until the command ends, then remove it.
    pub fn keep_temp(&self, dir: tempfile::TempDir) {
        self.temp_dirs.lock().expect("temp dirs").push(dir);
    }
}

/// Source text by display name, and import path by display name, for diagnostics.
#[derive(Default)]
pub struct SourceMap {
    sources: Mutex<HashMap<String, String>>,
    /// Import path -> display name, for errors raised while a module loads.
    modules: Mutex<HashMap<String, String>>,
}

impl SourceMap {
    pub fn remember_source(&self, display: &str, text: &str) {
        self.sources.lock().expect("sources").insert(display.to_string(), text.to_string());
    }

    pub fn remember_module(&self, path: &str, display: &str) {
        self.modules.lock().expect("modules").insert(path.to_string(), display.to_string());
    }

    pub fn module_display(&self, path: &str) -> Option<String> {
        self.modules.lock().expect("modules").get(path).cloned()
    }
}

impl SourceLookup for SourceMap {
    fn source(&self, file: &str) -> Option<String> {
        self.sources.lock().expect("sources").get(file).cloned()
    }
}

/// Raised by `exit(code)`; carried through Rhai as a termination token.
#[derive(Debug, Clone, Copy)]
pub struct ExitCode(pub i32);

impl Host {
    pub fn new(
        rt: tokio::runtime::Handle,
        globals: Globals,
        layers: Arc<Layers>,
        loader: Loader,
        config: Effective,
        workspace: PathBuf,
        commands: CommandRunner,
    ) -> Arc<Self> {
        let log = super::log::Logger::new(&config.config.log_level, globals.verbose, globals.color, globals.quiet);
        let checkpoint = crate::checkpoint::Checkpoint::new(&config.config, globals.offline);
        let kube = crate::k8s::KubeState::new(crate::k8s::Target {
            kubeconfig: globals.kubeconfig.clone(),
            context: globals.context.clone(),
        });
        Arc::new(Host {
            renderer: Renderer::with_limits(layers.clone(), &config.config.limits),
            layers,
            session: Session { rt, globals, log },
            settings: Settings { effective: RwLock::new(config), loader },
            workspace: Workspace { roots: Mutex::new(vec![workspace]), temp_dirs: Mutex::new(Vec::new()) },
            sources: SourceMap::default(),
            checkpoint,
            kube,
            commands,
        })
    }

    /// The effective config.
    pub fn config(&self) -> Config {
        self.settings.config()
    }

    /// Make `repo` the wego repo in effect: its `.wego/` overrides scripts' imports and
    /// templates from now on, and its `.wego/config.yaml` takes its place in the config. A
    /// clone is trusted by its `origin` URL (it lives in a temporary directory), a work tree
    /// without one by its path.
    pub fn use_repo(&self, repo: &Path) -> Result<Config, ConfigError> {
        let config = self.settings.use_repo_file(repo)?;
        let origin = crate::git::worktree::open(repo)
            .ok()
            .and_then(|r| r.find_remote("origin").ok().and_then(|o| o.url().ok().map(str::to_string)));
        let key = origin.and_then(|u| trust::Key::url(&u).ok()).unwrap_or_else(|| trust::Key::dir(repo));
        self.layers.set_repo_root(repo, key);
        self.renderer.reload();
        Ok(config)
    }

    /// Render a diagnostic for the terminal.
    /// A failure inside the built-in scripts is the command's, told to its user in one line
    /// and a fix; positions and frames are for whoever wrote the script that failed (an
    /// override, a `wego run` script) and for `-v`.
    pub fn render(&self, d: &Diagnostic) -> String {
        let g = &self.session.globals;
        let builtin = d.location.as_ref().is_some_and(|l| self.layers.is_builtin_display(&l.file));
        if builtin && g.verbose == 0 {
            return d.render_brief(g.color);
        }
        d.render(&self.sources, g.color)
    }

    /// Run a product command from a script (the words after `wego`), through the runner the
    /// CLI gave this host.
    pub fn command(self: &Arc<Self>, argv: &[String]) -> Result<Result<i32, Diagnostic>, Diagnostic> {
        (self.commands)(self, argv)
    }

    /// Run `f` on the host's tokio runtime from a script thread.
    pub fn block_on<F: std::future::Future>(&self, f: F) -> F::Output {
        self.session.rt.block_on(f)
    }
}

/// The error a primitive raises: `<prim>: <cause>` and the fix, as wego's one error type.
pub fn fail(prim: &str, cause: impl std::fmt::Display, help: Option<&str>) -> Box<EvalAltResult> {
    let mut d = Diagnostic::new(format!("{prim}: {cause}"));
    d.help = help.map(str::to_string);
    d.raise()
}

const BRIEF_OF_TEXT: &str = "`brief` of an error a script threw as text (`\"cause\\nhelp: fix\"`).\n\n\
    Example: `try { throw \"kube::get: gone\\nhelp: retry\" } catch (e) { log::warn(e.brief()); }`";

/// Register the `Error` type a script catches from a host function, and how it prints.
pub fn register_error_type(engine: &mut Engine) {
    // Scripts (and the reference) call it `Error`.
    use crate::diagnostics::Diagnostic as Error;
    engine.register_type_with_name::<Error>("Error");
    let printing = api_module! {
        /// An `Error` a host function raised, as text: the message, then `help: <fix>` on its own line. Throw it
        /// again as it is, or as text with a fix of your own appended.
        ///
        /// Example: `try { fs::read("missing") } catch (e) { log::warn(e.to_string()); }`
        method to_string | to_debug(error: &mut Error) -> String {
            Ok(error.text())
        }

        /// What failed and the fix, for a warning that quotes a failure to the command's user:
        /// the message without the name of the function that raised it (`git::clone: `), then
        /// `help: <fix>` on its own line. Also takes an error a script threw as text.
        ///
        /// Example: `try { git::clone(url) } catch (e) { log::warn("cannot read " + url + ": " + e.brief()); }`
        method brief(error: &mut Error) -> String {
            Ok(error.brief())
        }

        #[doc = BRIEF_OF_TEXT]
        method brief(error: &str) -> String {
            Ok(Error::brief_of_text(error))
        }
    };
    engine.register_global_module(printing.into());
}

/// The exit code a shell reports for a process ended by SIGPIPE (128 + 13): what wego exits
/// with when the reader of its output has gone.
pub const CLOSED_PIPE_EXIT: i32 = 141;

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
