//! Command-line definitions and dispatch. The four product commands are declared here (so
//! `--help` and completions are complete) and carried out by scripts.

mod commands;
mod completion;
mod config_cmd;
mod docs;
mod examples;
mod files_cmd;
mod pipes;
mod repl;
mod run;
mod script_commands;
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
pub use run::RunArgs;

#[derive(Debug, Parser)]
#[command(
    name = "wego",
    version,
    about = "A simple, opinionated on-ramp to GitOps on Kubernetes, built on Flux",
    long_about = "wego installs the GitOps runtime (Flux), delivers applications through a wego repo, and reports their status.\nEvery command is a Rhai script rendering templates; override any of them in .wego/ of the wego repo (scripts there run once you `wego trust` the repo).",
    after_help = examples::WEGO
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
    #[arg(long, global = true, value_name = "NAME")]
    pub context: Option<String>,
    /// The namespace of the GitOps runtime
    #[arg(short = 'n', long, global = true)]
    pub namespace: Option<String>,
    /// Output format, where the command prints data
    #[arg(short = 'o', long, global = true, value_enum)]
    pub output: Option<Output>,
    /// More detail on stderr (-vv for trace)
    #[arg(short = 'v', long, global = true, action = clap::ArgAction::Count, conflicts_with = "quiet")]
    pub verbose: u8,
    /// No progress or notices on stderr; warnings, errors and data still print
    #[arg(short = 'q', long, global = true)]
    pub quiet: bool,
    /// The level of wego's own messages on stderr: error, warn, info, debug, trace (also
    /// WEGO_LOG_LEVEL). Not the controllers' log level: that is `install --log-level`
    #[arg(long, global = true, value_name = "LEVEL", value_parser = ["error", "warn", "info", "debug", "trace"])]
    pub wego_log_level: Option<String>,
    /// Disable colour (also NO_COLOR)
    #[arg(long, global = true)]
    pub no_color: bool,
    /// No network access for the update check or telemetry
    #[arg(long, global = true)]
    pub offline: bool,
    /// Give up when the command has not finished in this time (e.g. 90s, 5m, 1h; 0: never)
    #[arg(long, global = true, value_name = "DURATION", default_value = crate::deadline::DEFAULT, value_parser = crate::deadline::parse)]
    pub timeout: std::time::Duration,
    /// From the running command's `--scripts-dir` (only commands that run scripts offer it).
    #[arg(skip)]
    pub scripts_dir: Option<PathBuf>,
    /// From the running command's `--allow-exec` (only commands that run scripts offer it).
    #[arg(skip)]
    pub allow_exec: bool,
}

/// Where overriding scripts, templates and stdlib modules are looked for first.
#[derive(Debug, Args, Clone, Default)]
pub struct LayerArgs {
    /// A directory overriding scripts/, templates/ and stdlib/ (like .wego/)
    #[arg(long, global = true, env = "WEGO_SCRIPTS_DIR", value_name = "DIR")]
    pub scripts_dir: Option<PathBuf>,
}

/// The options of commands that run scripts.
#[derive(Debug, Args, Clone, Default)]
#[command(next_help_heading = "Script options")]
pub struct ScriptArgs {
    #[command(flatten)]
    pub layers: LayerArgs,
    /// Allow scripts to run external programs
    #[arg(long)]
    pub allow_exec: bool,
}

#[derive(Debug, Args)]
pub struct ReplArgs {
    #[command(flatten)]
    pub script: ScriptArgs,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Print the GitOps runtime (Flux) and wego's CRD and config, for `| kubectl apply -f -`
    #[command(after_help = examples::INSTALL)]
    Install(InstallArgs),
    /// Deliver an application to the cluster through the wego repo (a pull request by default)
    #[command(after_help = examples::ADD)]
    Add(AddArgs),
    /// Show the health of the GitOps runtime and the delivery state of applications
    #[command(after_help = examples::STATUS)]
    Status(StatusArgs),
    /// Show the versions of wego and of the Flux it installs
    #[command(after_help = examples::VERSION)]
    Version(VersionArgs),
    /// Run a Rhai script with the whole wego API
    #[command(after_help = examples::RUN)]
    Run(run::RunArgs),
    /// Run Rhai tests (`*_test.rhai`): the stdlib's own, your overrides', or the files given
    #[command(after_help = examples::TEST)]
    Test(test_cmd::TestArgs),
    /// Explore the scripting API interactively (reads a script from stdin when not a terminal)
    #[command(after_help = examples::REPL)]
    Repl(ReplArgs),
    /// List, show or eject the scripts and stdlib modules behind the commands
    #[command(after_help = examples::SCRIPTS)]
    Scripts {
        #[command(flatten)]
        layers: LayerArgs,
        #[command(subcommand)]
        action: files_cmd::FilesAction,
    },
    /// List, show or eject the templates the commands render
    #[command(after_help = examples::TEMPLATES)]
    Templates {
        #[command(flatten)]
        layers: LayerArgs,
        #[command(subcommand)]
        action: files_cmd::FilesAction,
    },
    /// Allow a repo's .wego/scripts and .wego/stdlib to run (pinned to their hash)
    Trust(trust_cmd::TrustArgs),
    /// Inspect the effective configuration
    #[command(after_help = examples::CONFIG)]
    Config {
        #[command(subcommand)]
        action: config_cmd::ConfigAction,
    },
    /// Generate documentation
    #[command(after_help = examples::DOCS)]
    Docs {
        #[command(subcommand)]
        action: docs::DocsAction,
    },
    /// Print the shell code that completes wego's commands, flags, kubeconfig contexts and
    /// namespaces, and script and template names
    #[command(after_help = examples::COMPLETION)]
    Completion {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
}

impl Command {
    /// The `--scripts-dir` and `--allow-exec` of a command that offers them.
    fn script_options(&self) -> Option<(Option<PathBuf>, bool)> {
        let script = match self {
            Command::Install(a) => &a.script,
            Command::Add(a) => &a.script,
            Command::Status(a) => &a.script,
            Command::Version(a) => &a.script,
            Command::Run(a) => &a.script,
            Command::Test(a) => &a.script,
            Command::Repl(a) => &a.script,
            Command::Scripts { layers, .. } | Command::Templates { layers, .. } => {
                return Some((layers.scripts_dir.clone(), false))
            }
            _ => return None,
        };
        Some((script.layers.scripts_dir.clone(), script.allow_exec))
    }
}

/// Parse the process arguments, run, and return the exit code.
pub fn main() -> i32 {
    pipes::exit_quietly_when_closed();
    completion::answer_if_asked();
    let argv: Vec<_> = std::env::args_os().collect();
    let scripts = script_commands::Registry::discover(&Cli::command(), &argv);
    // Bare `wego` is a request for orientation, not a mistake.
    if argv.len() == 1 {
        let _ = scripts.augment(Cli::command(), false).print_help();
        return 0;
    }
    let enabled = early_features();
    let mut command = scripts.augment(completion::base(), false);
    if no_color_requested() {
        command = command.color(clap::ColorChoice::Never);
    }
    for (path, feature) in EXPERIMENTAL {
        if enabled.iter().any(|f| f == feature) {
            command = unhide(command, path);
        }
    }
    let parsed = command.try_get_matches_from(&argv).and_then(|m| {
        let name = m.subcommand_name().unwrap_or_default().to_string();
        if let Some(c) = scripts.get(&name) {
            return Ok(Err(script_commands::run(c, &m)));
        }
        <Cli as clap::FromArgMatches>::from_arg_matches(&m).map(|c| Ok((c, name)))
    });
    let (mut cli, name) = match parsed {
        Ok(Ok(c)) => c,
        Ok(Err(script_command)) => return report(script_command),
        Err(e) => {
            let code = if e.use_stderr() { 2 } else { 0 };
            let hint = match e.get(clap::error::ContextKind::InvalidSubcommand) {
                Some(clap::error::ContextValue::String(name)) => scripts.untrusted_hint(name),
                _ => None,
            };
            match hint {
                Some(hint) => eprintln!("{hint}"),
                None => {
                    let _ = e.print();
                }
            }
            return code;
        }
    };
    if let Some((path, feature)) = experimental_in_use(&cli).filter(|(_, f)| !enabled.iter().any(|e| e == f)) {
        eprintln!(
            "error: `wego {path}` is experimental\n  = help: enable it with WEGO_FEATURES={feature} or `features: [{feature}]` in the wego config"
        );
        return 2;
    }
    if let Some((scripts_dir, allow_exec)) = cli.command.script_options() {
        cli.global.scripts_dir = scripts_dir;
        cli.global.allow_exec = allow_exec;
    }
    // The REPL waits on a person, not a server.
    if !matches!(cli.command, Command::Repl(_)) {
        crate::deadline::arm(&name, cli.global.timeout);
    }
    report(dispatch(cli))
}

/// The exit code of a finished command, its error printed.
fn report(result: Result<i32, Failure>) -> i32 {
    match result {
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

fn no_color_env() -> bool {
    std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty())
}

/// `--no-color` or NO_COLOR, seen before parsing so that clap's own errors honour it too.
fn no_color_requested() -> bool {
    no_color_env() || std::env::args_os().skip(1).take_while(|a| a != "--").any(|a| a == "--no-color")
}

fn color_enabled(g: &GlobalArgs) -> bool {
    !g.no_color && !no_color_env() && std::io::stderr().is_terminal()
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

/// Where the config and the layers are searched, from the flags and the current directory.
pub struct Searched {
    pub cwd: PathBuf,
    pub repo_root: Option<PathBuf>,
    pub user_dir: Option<PathBuf>,
    pub loader: Loader,
}

impl Searched {
    pub fn new(g: &GlobalArgs, flag_overrides: Vec<(String, String, serde_json::Value)>) -> Result<Self, Failure> {
        let cwd = std::env::current_dir().map_err(|e| Failure {
            diagnostic: Diagnostic::new(format!("cannot read the current directory: {e}")),
            color: color_enabled(g),
            host: None,
        })?;
        let repo_root = layers::find_repo_root(&cwd);
        let user_dir = dirs::config_dir().map(|d| d.join("wego"));
        let mut flags = flag_overrides;
        if let Some(l) = &g.wego_log_level {
            flags.push(("--wego-log-level".into(), "logLevel".into(), serde_json::Value::String(l.clone())));
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
        Ok(Searched { cwd, repo_root, user_dir, loader })
    }
}

/// A config error as one line in the user's words, the parser's excerpt (if any) kept below
/// it line by line.
pub fn config_diagnostic(e: &config::ConfigError) -> Diagnostic {
    let text = e.to_string();
    let mut lines = text.lines();
    let mut d = Diagnostic::new(format!("invalid config: {}", lines.next().unwrap_or_default()));
    d.detail = lines.map(|l| format!("   {l}")).collect();
    d.with_help(e.help())
}

impl Context {
    pub fn load(g: &GlobalArgs, flag_overrides: Vec<(String, String, serde_json::Value)>) -> Result<Self, Failure> {
        let color = color_enabled(g);
        let Searched { cwd, repo_root, user_dir, loader } = Searched::new(g, flag_overrides)?;
        let config = loader.load().map_err(|e| Failure { diagnostic: config_diagnostic(&e), color, host: None })?;
        let layers = Layers::new(g.scripts_dir.clone(), repo_root.clone(), user_dir);
        let layers = Arc::new(if g.quiet { layers.without_notices() } else { layers });
        let globals = globals(g, color);
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

fn globals(g: &GlobalArgs, color: bool) -> Globals {
    Globals {
        kubeconfig: g.kubeconfig.clone(),
        context: g.context.clone(),
        output: g.output.unwrap_or_default(),
        verbose: g.verbose,
        color,
        offline: g.offline,
        allow_exec: g.allow_exec,
        quiet: g.quiet,
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
        Command::Repl(_) => repl::run(&g),
        Command::Scripts { action, .. } => files_cmd::run(&g, action, files_cmd::Which::Scripts),
        Command::Templates { action, .. } => files_cmd::run(&g, action, files_cmd::Which::Templates),
        Command::Trust(a) => trust_cmd::run(&g, a),
        Command::Config { action } => config_cmd::run(&g, action),
        Command::Docs { action } => docs::run(&g, action),
        Command::Completion { shell } => match completion::print_registration(shell) {
            Ok(()) => Ok(0),
            Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(pipes::CLOSED_PIPE_EXIT),
            Err(e) => Err(Failure {
                diagnostic: Diagnostic::new(format!("cannot print the {shell} completion: {e}")),
                color: color_enabled(&g),
                host: None,
            }),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every command and subcommand, with its path (`scripts eject`).
    fn commands(cmd: &clap::Command, path: String, out: &mut Vec<(String, clap::Command)>) {
        for sub in cmd.get_subcommands().filter(|s| s.get_name() != "help") {
            let p = format!("{path} {}", sub.get_name()).trim().to_string();
            out.push((p.clone(), sub.clone()));
            commands(sub, p, out);
        }
    }

    #[test]
    fn every_command_has_examples_in_its_help() {
        let mut all = vec![("wego".to_string(), Cli::command())];
        commands(&Cli::command(), String::new(), &mut all);
        for (path, cmd) in all {
            let help = cmd.get_after_help().map(|h| h.to_string()).unwrap_or_default();
            assert!(help.contains("Examples:\n  "), "`{path} --help` has no Examples section");
            assert!(help.contains("wego "), "`{path} --help` examples run no wego command");
        }
    }

    #[test]
    fn script_flags_are_offered_only_to_commands_that_run_scripts() {
        let mut root = Cli::command();
        root.build();
        let mut all = Vec::new();
        commands(&root, String::new(), &mut all);
        let runs_scripts = ["install", "add", "status", "version", "run", "repl", "test"];
        let layers_only = ["scripts", "templates"];
        for (path, cmd) in all {
            let has = |id: &str| cmd.get_arguments().any(|a| a.get_id() == id);
            let top = path.split(' ').next().unwrap_or_default();
            let scripts = runs_scripts.contains(&path.as_str());
            assert_eq!(has("allow_exec"), scripts, "--allow-exec on `{path}`");
            assert_eq!(has("scripts_dir"), scripts || layers_only.contains(&top), "--scripts-dir on `{path}`");
            let set = matches!(path.as_str(), "install" | "add" | "status" | "version");
            assert_eq!(has("set"), set, "--set on `{path}`");
        }
    }
}
