//! Command-line definitions and dispatch. The four product commands are declared here (so
//! `--help` and completions are complete) and carried out by scripts.

mod commands;
mod config_cmd;
mod docs;
mod files_cmd;
mod repl;
mod run;
mod test_cmd;
mod trust_cmd;

use std::io::IsTerminal;
use std::path::PathBuf;
use std::sync::Arc;

use clap::{Args, CommandFactory, Parser, Subcommand};

use crate::config::{self, Loader};
use crate::engine::diagnostics::Diagnostic;
use crate::engine::{Globals, Host, Output};
use crate::layers::{self, Layers};

pub use commands::{AddArgs, InstallArgs, StatusArgs, VersionArgs};

#[derive(Debug, Parser)]
#[command(
    name = "wego",
    version,
    about = "A simple, opinionated on-ramp to GitOps on Kubernetes, built on Flux",
    long_about = "wego installs the GitOps runtime (Flux), delivers applications through a wego repo, and reports their status.\nEvery command is a Rhai script rendering templates; override any of them in .wego/ of the wego repo (scripts there run once you `wego trust` the repo)."
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Args, Clone)]
#[command(next_help_heading = "Global options")]
pub struct GlobalArgs {
    /// Path to the kubeconfig file (default: $KUBECONFIG or ~/.kube/config)
    #[arg(long, global = true, value_name = "FILE")]
    pub kubeconfig: Option<PathBuf>,
    /// The kubeconfig context to use
    #[arg(long, global = true)]
    pub context: Option<String>,
    /// The namespace of the GitOps runtime
    #[arg(short = 'n', long, global = true)]
    pub namespace: Option<String>,
    /// Output format, where the command prints data
    #[arg(short = 'o', long, global = true, value_enum)]
    pub output: Option<Output>,
    /// More detail on stderr (-vv for trace)
    #[arg(short = 'v', long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// Log level: error, warn, info, debug, trace
    #[arg(long, global = true, value_parser = ["error", "warn", "info", "debug", "trace"])]
    pub log_level: Option<String>,
    /// Disable colour (also NO_COLOR)
    #[arg(long, global = true)]
    pub no_color: bool,
    /// A directory overriding scripts/, templates/ and stdlib/ (like .wego/)
    #[arg(long, global = true, env = "WEGO_SCRIPTS_DIR", value_name = "DIR")]
    pub scripts_dir: Option<PathBuf>,
    /// No network access for the update check or telemetry
    #[arg(long, global = true)]
    pub offline: bool,
    /// Allow scripts to run external programs
    #[arg(long, global = true)]
    pub allow_exec: bool,
    /// Give up when the command has not finished in this time (e.g. 90s, 5m, 1h; 0: never)
    #[arg(long, global = true, value_name = "DURATION", default_value = crate::deadline::DEFAULT, value_parser = crate::deadline::parse)]
    pub timeout: std::time::Duration,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Print the GitOps runtime (Flux) and wego's CRD and config, for `| kubectl apply -f -`
    Install(InstallArgs),
    /// Deliver an application to the cluster through the wego repo (a pull request by default)
    Add(AddArgs),
    /// Show the health of the GitOps runtime and the delivery state of applications
    Status(StatusArgs),
    /// Show the versions of wego and of the Flux it installs
    Version(VersionArgs),
    /// Run a Rhai script with the whole wego API
    Run(run::RunArgs),
    /// Run Rhai tests (`*_test.rhai`): the stdlib's own, your overrides', or the files given
    Test(test_cmd::TestArgs),
    /// Explore the scripting API interactively (reads a script from stdin when not a terminal)
    Repl,
    /// List, show or eject the scripts and stdlib modules behind the commands
    Scripts {
        #[command(subcommand)]
        action: files_cmd::FilesAction,
    },
    /// List, show or eject the templates the commands render
    Templates {
        #[command(subcommand)]
        action: files_cmd::FilesAction,
    },
    /// Allow a repo's .wego/scripts and .wego/stdlib to run (pinned to their hash)
    Trust(trust_cmd::TrustArgs),
    /// Inspect the effective configuration
    Config {
        #[command(subcommand)]
        action: config_cmd::ConfigAction,
    },
    /// Generate documentation
    Docs {
        #[command(subcommand)]
        action: docs::DocsAction,
    },
    /// Print shell completions
    Completion {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
}

/// Parse the process arguments, run, and return the exit code.
pub fn main() -> i32 {
    // Bare `wego` is a request for orientation, not a mistake.
    if std::env::args_os().len() == 1 {
        let _ = Cli::command().print_help();
        return 0;
    }
    let enabled = early_features();
    let mut command = Cli::command();
    for (path, feature) in EXPERIMENTAL {
        if enabled.iter().any(|f| f == feature) {
            command = unhide(command, path);
        }
    }
    let parsed = command.try_get_matches().and_then(|m| {
        let name = m.subcommand_name().unwrap_or_default().to_string();
        <Cli as clap::FromArgMatches>::from_arg_matches(&m).map(|c| (c, name))
    });
    let (cli, name) = match parsed {
        Ok(c) => c,
        Err(e) => {
            let code = if e.use_stderr() { 2 } else { 0 };
            let _ = e.print();
            return code;
        }
    };
    if let Some((path, feature)) = experimental_in_use(&cli).filter(|(_, f)| !enabled.iter().any(|e| e == f)) {
        eprintln!(
            "error: `wego {path}` is experimental\n  = help: enable it with WEGO_FEATURES={feature} or `features: [{feature}]` in the wego config"
        );
        return 2;
    }
    // The REPL waits on a person, not a server.
    if !matches!(cli.command, Command::Repl) {
        crate::deadline::arm(&name, cli.global.timeout);
    }
    match dispatch(cli) {
        Ok(code) => code,
        Err(Failure { diagnostic, color, host }) => {
            let text = match host {
                Some(h) => h.render(&diagnostic),
                None => diagnostic.render(&NoSources, color),
            };
            eprint!("{text}");
            1
        }
    }
}

/// Experimental commands (subcommand path, feature flag): hidden from help and refused unless
/// the feature is enabled.
const EXPERIMENTAL: &[(&str, &str)] = &[("docs definitions", "rhai-definitions")];

/// Features enabled before flags are parsed: WEGO_FEATURES and the config files.
fn early_features() -> Vec<String> {
    let cwd = std::env::current_dir().unwrap_or_default();
    let loader = Loader {
        user_file: dirs::config_dir().map(|d| d.join("wego/config.yaml")),
        repo_file: layers::find_repo_root(&cwd).map(|r| r.join(".wego/config.yaml")),
        env: std::env::vars().filter(|(k, _)| k == "WEGO_FEATURES").collect(),
        flags: vec![],
    };
    // A broken config is reported properly once the command runs; here it only hides.
    loader.load().map(|e| e.config.features).unwrap_or_default()
}

fn unhide(cmd: clap::Command, path: &str) -> clap::Command {
    match path.split_once(' ') {
        Some((first, rest)) => {
            let rest = rest.to_string();
            cmd.mut_subcommand(first, move |c| unhide(c, &rest))
        }
        None => cmd.mut_subcommand(path, |c| c.hide(false)),
    }
}

fn experimental_in_use(cli: &Cli) -> Option<(&'static str, &'static str)> {
    match &cli.command {
        Command::Docs { action: docs::DocsAction::Definitions { .. } } => Some(EXPERIMENTAL[0]),
        _ => None,
    }
}

/// An error to print, with the host (if one was built) to look up source lines.
pub struct Failure {
    pub diagnostic: Diagnostic,
    pub color: bool,
    pub host: Option<Arc<Host>>,
}

struct NoSources;
impl crate::engine::diagnostics::SourceLookup for NoSources {
    fn source(&self, _: &str) -> Option<String> {
        None
    }
}

fn color_enabled(g: &GlobalArgs) -> bool {
    let no_color_env = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
    !g.no_color && !no_color_env && std::io::stderr().is_terminal()
}

/// The pieces every command needs, built from flags, environment and files.
pub struct Context {
    pub layers: Arc<Layers>,
    pub loader: Loader,
    pub config: config::Effective,
    pub globals: Globals,
    pub cwd: PathBuf,
    pub repo_root: Option<PathBuf>,
}

impl Context {
    pub fn load(g: &GlobalArgs, flag_overrides: Vec<(String, String, serde_json::Value)>) -> Result<Self, Failure> {
        let color = color_enabled(g);
        let fail = |d: Diagnostic| Failure { diagnostic: d, color, host: None };
        let cwd = std::env::current_dir()
            .map_err(|e| fail(Diagnostic::new(format!("cannot read the current directory: {e}"))))?;
        let repo_root = layers::find_repo_root(&cwd);
        let user_dir = dirs::config_dir().map(|d| d.join("wego"));
        let mut flags = flag_overrides;
        if let Some(l) = &g.log_level {
            flags.push(("--log-level".into(), "logLevel".into(), serde_json::Value::String(l.clone())));
        }
        if let Some(ns) = &g.namespace {
            flags.push(("--namespace".into(), "flux.namespace".into(), serde_json::Value::String(ns.clone())));
        }
        let loader = Loader {
            user_file: user_dir.as_ref().map(|d| d.join("config.yaml")),
            repo_file: repo_root.as_ref().map(|r| r.join(".wego/config.yaml")),
            env: std::env::vars().collect(),
            flags,
        };
        let config = loader.load().map_err(|e| {
            let help = e.help();
            fail(Diagnostic::new(format!("invalid config: {e}")).with_help(help))
        })?;
        let layers = Arc::new(Layers::new(g.scripts_dir.clone(), repo_root.clone(), user_dir));
        let globals = Globals {
            kubeconfig: g.kubeconfig.clone(),
            context: g.context.clone(),
            namespace: g.namespace.clone(),
            output: g.output.unwrap_or_default(),
            verbose: g.verbose,
            color,
            offline: g.offline,
            allow_exec: g.allow_exec,
        };
        Ok(Context { layers, loader, config, globals, cwd, repo_root })
    }

    /// Start the runtime and build the host scripts run against.
    pub fn host(self) -> Result<(tokio::runtime::Runtime, Arc<Host>), Failure> {
        let color = self.globals.color;
        let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().map_err(|e| {
            Failure { diagnostic: Diagnostic::new(format!("cannot start the async runtime: {e}")), color, host: None }
        })?;
        let host = Host::new(
            rt.handle().clone(),
            self.globals,
            self.layers,
            self.loader,
            self.config,
            self.cwd,
            commands::runner(),
        );
        Ok((rt, host))
    }
}

fn dispatch(cli: Cli) -> Result<i32, Failure> {
    let g = cli.global;
    match cli.command {
        c @ (Command::Install(_) | Command::Add(_) | Command::Status(_) | Command::Version(_)) => {
            commands::script_command(&c, &g)
        }
        Command::Run(a) => run::run(&g, a),
        Command::Test(a) => test_cmd::run(&g, a),
        Command::Repl => repl::run(&g),
        Command::Scripts { action } => files_cmd::run(&g, action, files_cmd::Which::Scripts),
        Command::Templates { action } => files_cmd::run(&g, action, files_cmd::Which::Templates),
        Command::Trust(a) => trust_cmd::run(&g, a),
        Command::Config { action } => config_cmd::run(&g, action),
        Command::Docs { action } => docs::run(&g, action),
        Command::Completion { shell } => {
            clap_complete::generate(shell, &mut Cli::command(), "wego", &mut std::io::stdout());
            Ok(0)
        }
    }
}
