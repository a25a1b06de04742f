//! The script-backed product commands: their flags, and the bridge that hands them to a script.

use clap::Args;
use serde::Serialize;

use std::sync::Arc;

use super::{Command, Context, Failure, GlobalArgs, ScriptArgs};
use crate::engine::diagnostics::Diagnostic;
use crate::engine::{CommandRunner, Host, Output};
use crate::layers::{Kind, Layers, Resolved};

/// `--set key=value`, for inputs an overriding script defines.
#[derive(Debug, Args, Clone, Serialize, Default)]
pub struct SetArgs {
    /// Pass KEY=VALUE to the script as args.set.KEY (repeatable)
    #[arg(long = "set", value_name = "KEY=VALUE")]
    #[serde(skip)]
    pub set: Vec<String>,
}

#[derive(Debug, Args, Clone, Serialize)]
pub struct InstallArgs {
    /// Flux version to install (default: the one this wego pins)
    #[arg(long)]
    #[serde(skip)]
    pub flux_version: Option<String>,
    /// Path or URL of the Flux runtime manifest (install.yaml) to use instead of downloading it
    #[arg(long, env = "WEGO_FLUX_MANIFESTS", value_name = "PATH|URL")]
    #[serde(skip)]
    pub flux_manifests: Option<String>,
    /// Controllers to install (default: source, kustomize, helm, notification)
    #[arg(long, value_delimiter = ',')]
    #[serde(skip)]
    pub components: Option<Vec<String>>,
    /// Extra controllers: image-reflector-controller, image-automation-controller, source-watcher
    #[arg(long, value_delimiter = ',')]
    #[serde(skip)]
    pub components_extra: Option<Vec<String>>,
    /// Keep the NetworkPolicies that restrict traffic to the controllers
    #[arg(long, num_args = 0..=1, default_missing_value = "true", value_name = "BOOL")]
    #[serde(skip)]
    pub network_policy: Option<bool>,
    /// Container registry the controller images come from
    #[arg(long)]
    #[serde(skip)]
    pub registry: Option<String>,
    /// Let the controllers watch every namespace (false: only the runtime namespace)
    #[arg(long, num_args = 0..=1, default_missing_value = "true", value_name = "BOOL")]
    #[serde(skip)]
    pub watch_all_namespaces: Option<bool>,
    /// The controllers' log level: debug, info or error (config `flux.logLevel`; wego's own
    /// is --wego-log-level)
    #[arg(long, value_name = "LEVEL", value_parser = ["debug", "info", "error"])]
    pub log_level: Option<String>,
    /// Print the objects for `kubectl apply -f -` (the default, as `flux install --export`)
    #[arg(long, conflicts_with_all = ["apply", "dry_run"])]
    pub export: bool,
    /// Apply the objects to the cluster (server-side apply) instead of printing them
    #[arg(long)]
    pub apply: bool,
    /// Check the objects against the cluster without changing anything (server-side dry run)
    #[arg(long)]
    pub dry_run: bool,
    /// After --apply, wait until the controllers are ready, within --timeout (default: true)
    #[arg(long, num_args = 0..=1, default_missing_value = "true", value_name = "BOOL")]
    pub wait: Option<bool>,
    #[command(flatten)]
    #[serde(skip)]
    pub set: SetArgs,
    #[command(flatten)]
    #[serde(skip)]
    pub script: ScriptArgs,
}

impl InstallArgs {
    /// Flags that set config keys, so `config` in the script is the one source of truth.
    pub fn flag_overrides(&self) -> Vec<(String, String, serde_json::Value)> {
        use serde_json::Value;
        let mut v = Vec::new();
        let mut push = |flag: &str, key: &str, val: Value| v.push((flag.to_string(), key.to_string(), val));
        if let Some(x) = &self.flux_version {
            push("--flux-version", "flux.version", Value::String(x.trim_start_matches('v').to_string()));
        }
        if let Some(x) = &self.flux_manifests {
            push("--flux-manifests", "flux.manifests", Value::String(x.clone()));
        }
        if let Some(x) = &self.components {
            push("--components", "flux.components", Value::from(x.clone()));
        }
        if let Some(x) = &self.components_extra {
            push("--components-extra", "flux.componentsExtra", Value::from(x.clone()));
        }
        if let Some(x) = self.network_policy {
            push("--network-policy", "flux.networkPolicy", Value::Bool(x));
        }
        if let Some(x) = &self.registry {
            push("--registry", "flux.registry", Value::String(x.trim_end_matches('/').to_string()));
        }
        if let Some(x) = self.watch_all_namespaces {
            push("--watch-all-namespaces", "flux.watchAllNamespaces", Value::Bool(x));
        }
        if let Some(x) = &self.log_level {
            push("--log-level", "flux.logLevel", Value::String(x.clone()));
        }
        v
    }
}

/// How an app is applied.
#[derive(Debug, Clone, Copy, clap::ValueEnum, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum DeploymentType {
    Kustomize,
    Helm,
}

#[derive(Debug, Args, Clone, Serialize)]
pub struct AddArgs {
    /// The app repo's work tree; its `origin` is the app repo (default: the current directory)
    #[arg(conflicts_with = "url", value_name = "DIR")]
    pub dir: Option<String>,
    /// The app repo's URL, instead of a local work tree
    #[arg(long)]
    pub url: Option<String>,
    /// The app's name (default: the repo's name); a DNS-1123 label
    #[arg(long)]
    pub name: Option<String>,
    /// The directory of the manifests or chart in the app repo
    #[arg(long, default_value = "./")]
    pub path: String,
    /// The app repo's branch to deliver (default: its default branch)
    #[arg(long)]
    pub branch: Option<String>,
    /// How to apply the app (default: helm when a Chart.yaml is at the path, else kustomize)
    #[arg(long, value_enum)]
    pub deployment_type: Option<DeploymentType>,
    /// A chart from a Helm repository (needs --helm-repo-url)
    #[arg(long, requires = "helm_repo_url")]
    pub chart: Option<String>,
    /// The Helm repository the chart comes from
    #[arg(long, requires = "chart")]
    pub helm_repo_url: Option<String>,
    /// The chart version or semver range (default: the latest)
    #[arg(long, requires = "chart")]
    pub chart_version: Option<String>,
    /// The namespace the app is delivered into
    #[arg(long)]
    pub target_namespace: Option<String>,
    /// The wego repo (default: recorded in the cluster, else created on the first add)
    #[arg(long)]
    pub app_config_url: Option<String>,
    /// Commit straight to the default branch instead of a branch and pull request
    #[arg(long)]
    pub auto_merge: bool,
    /// SSH private key for git (default: ssh-agent, then ~/.ssh/id_*)
    #[arg(long, value_name = "FILE")]
    pub private_key: Option<String>,
    /// The target cluster's name (default: the name recorded by the first add, else the kube
    /// context's cluster, made DNS-safe)
    #[arg(long)]
    pub cluster: Option<String>,
    /// known_hosts file with the git host's ssh key, for Flux's deploy-key Secret (default: the
    /// keys the provider publishes, else ~/.ssh/known_hosts)
    #[arg(long, value_name = "FILE")]
    pub ssh_known_hosts: Option<String>,
    /// Show the files, objects and pull request it would make, and change nothing
    #[arg(long)]
    pub dry_run: bool,
    #[command(flatten)]
    #[serde(skip)]
    pub set: SetArgs,
    #[command(flatten)]
    #[serde(skip)]
    pub script: ScriptArgs,
}

impl AddArgs {
    /// Flags that are config keys too.
    pub fn flag_overrides(&self) -> Vec<(String, String, serde_json::Value)> {
        let mut v = Vec::new();
        if self.auto_merge {
            v.push(("--auto-merge".into(), "git.commitToMain".into(), serde_json::Value::Bool(true)));
        }
        if let Some(u) = &self.app_config_url {
            v.push(("--app-config-url".into(), "wegoRepo".into(), serde_json::Value::String(u.clone())));
        }
        v
    }
}

#[derive(Debug, Args, Clone, Serialize)]
pub struct StatusArgs {
    /// Show only this application
    pub app: Option<String>,
    #[command(flatten)]
    #[serde(skip)]
    pub set: SetArgs,
    #[command(flatten)]
    #[serde(skip)]
    pub script: ScriptArgs,
}

#[derive(Debug, Args, Clone, Serialize)]
pub struct VersionArgs {
    #[command(flatten)]
    #[serde(skip)]
    pub set: SetArgs,
    #[command(flatten)]
    #[serde(skip)]
    pub script: ScriptArgs,
}

trait HasSet {
    fn set_args(&self) -> &[String];
}
macro_rules! has_set {
    ($($t:ty),*) => { $(impl HasSet for $t { fn set_args(&self) -> &[String] { &self.set.set } })* };
}
has_set!(InstallArgs, AddArgs, StatusArgs, VersionArgs);

/// Parse `--set` pairs into a map; a pair without `=` is a usage error.
fn parse_set(pairs: &[String]) -> Result<rhai::Map, Diagnostic> {
    let mut m = rhai::Map::new();
    for p in pairs {
        let Some((k, v)) = p.split_once('=') else {
            return Err(
                Diagnostic::new(format!("--set `{p}` is not KEY=VALUE")).with_help("write it as --set key=value")
            );
        };
        m.insert(k.trim().into(), v.to_string().into());
    }
    Ok(m)
}

/// The `args` map a command script sees: its flags, `set`, `command` and the global options.
#[allow(private_bounds)]
fn args_map<A: Serialize + HasSet>(name: &str, a: &A, output: Output) -> Result<rhai::Map, Diagnostic> {
    let set = parse_set(a.set_args())?;
    let mut args = crate::primitives::to_dynamic(&serde_json::to_value(a).expect("args serialize"))
        .try_cast::<rhai::Map>()
        .unwrap_or_default();
    args.insert("set".into(), set.into());
    insert_command(&mut args, name, output);
    Ok(args)
}

/// What every command script finds in `args` besides its own flags: `command` and `output`.
fn insert_command(args: &mut rhai::Map, name: &str, output: Output) {
    args.insert("command".into(), name.into());
    let output = serde_json::to_value(output).ok().and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default();
    args.insert("output".into(), output.into());
}

/// A script command's `args` besides its own flags: `command`, `output` and the cluster
/// options as given (`context`, `namespace`, `kubeconfig`; `()` when not), for scripts that
/// hand them on.
pub(super) fn insert_globals(args: &mut rhai::Map, name: &str, g: &GlobalArgs, output: Output) {
    insert_command(args, name, output);
    for (k, v) in [("context", &g.context), ("namespace", &g.namespace)] {
        args.insert(k.into(), v.clone().map(rhai::Dynamic::from).unwrap_or(rhai::Dynamic::UNIT));
    }
    let kubeconfig = g.kubeconfig.as_ref().map(|p| p.display().to_string().into());
    args.insert("kubeconfig".into(), kubeconfig.unwrap_or(rhai::Dynamic::UNIT));
}

/// The script a product command runs and the `args` it sees, or `None` for a command that is
/// not a script (`run`, `repl`, ...). Commands from the command line and from scripts
/// (`wego::command`) both come through here.
fn product(command: &Command, output: Output) -> Option<Result<(&'static str, rhai::Map), Diagnostic>> {
    let (name, args) = match command {
        Command::Install(a) => ("install", args_map("install", a, output)),
        Command::Add(a) => ("add", args_map("add", a, output)),
        Command::Status(a) => ("status", args_map("status", a, output)),
        Command::Version(a) => ("version", args_map("version", a, output)),
        _ => return None,
    };
    Some(args.map(|args| (name, args)))
}

/// The script `name` from the layers.
pub(super) fn script(layers: &Layers, name: &str) -> Result<Resolved, Diagnostic> {
    layers
        .resolve(Kind::Script, name)
        .map_err(|e| Diagnostic::new(format!("cannot read script `{name}`: {e}")))?
        .ok_or_else(|| {
            Diagnostic::new(format!("no script `{name}`")).with_help("`wego scripts list` shows the scripts")
        })
}

/// Run a product command from the command line: its script with its flags as `args`.
pub fn script_command(command: &Command, g: &GlobalArgs) -> Result<i32, Failure> {
    let (overrides, ping) = match command {
        Command::Install(a) => (a.flag_overrides(), true),
        Command::Add(a) => (a.flag_overrides(), true),
        _ => (vec![], false),
    };
    let ctx = Context::load(g, overrides)?;
    let color = ctx.globals.color;
    let fail = |d: Diagnostic| Failure { diagnostic: d, color, host: None };
    let (name, args) = product(command, ctx.globals.output)
        .unwrap_or_else(|| Err(Diagnostic::new("this command is not a script")))
        .map_err(fail)?;
    let script = script(&ctx.layers, name).map_err(fail)?;
    let (_rt, host) = ctx.host()?;
    host.checkpoint.start(&host.session.rt, name, ping);
    crate::engine::run(&host, &script, args.into()).map_err(|d| Failure {
        diagnostic: d,
        color,
        host: Some(host.clone()),
    })
}

/// Run one of the product commands from a script (`wego::command(["add", "--url", u])`): the
/// words are parsed exactly as on the command line, and the command's script runs with the
/// calling script's host (same cluster, config and overrides).
fn nested_command(host: &Arc<Host>, argv: &[String]) -> Result<Result<i32, Diagnostic>, Diagnostic> {
    use clap::Parser;
    if let Some(run) = super::script_commands::nested(host, argv) {
        return run;
    }
    let cli = super::Cli::try_parse_from(std::iter::once("wego".to_string()).chain(argv.iter().cloned()))
        .map_err(nested_usage)?;
    let (name, args) = product(&cli.command, host.session.globals.output).unwrap_or_else(|| {
        Err(Diagnostic::new(format!("`{}` cannot run from a script", argv.first().map(String::as_str).unwrap_or("")))
            .with_help("wego::command runs install, add, status, version and the script commands"))
    })?;
    let script = script(&host.layers, name)?;
    Ok(crate::engine::run(host, &script, args.into()))
}

/// A command line a script gave `wego::command` that clap refuses.
pub(super) fn nested_usage(e: clap::Error) -> Diagnostic {
    let text = e.to_string();
    Diagnostic::new(text.lines().next().unwrap_or_default().trim_start_matches("error: ").to_string())
        .with_help("the words are those of the command line, e.g. [\"add\", \"--url\", url]")
}

/// The runner the CLI gives every host it builds, for `wego::command`.
pub fn runner() -> CommandRunner {
    Box::new(nested_command)
}
