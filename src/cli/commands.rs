//! The script-backed product commands: their flags, and the bridge that hands them to a script.

use clap::Args;
use serde::Serialize;

use super::{Context, Failure, GlobalArgs};
use crate::engine::diagnostics::Diagnostic;
use crate::engine::layers::Kind;

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
    pub flux_version: Option<String>,
    /// Path or URL of the Flux runtime manifest (install.yaml) to use instead of downloading it
    #[arg(long, env = "WEGO_FLUX_MANIFESTS", value_name = "PATH|URL")]
    pub flux_manifests: Option<String>,
    /// Controllers to install (default: source, kustomize, helm, notification)
    #[arg(long, value_delimiter = ',')]
    pub components: Option<Vec<String>>,
    /// Extra controllers: image-reflector-controller, image-automation-controller, source-watcher
    #[arg(long, value_delimiter = ',')]
    pub components_extra: Option<Vec<String>>,
    /// Keep the NetworkPolicies that restrict traffic to the controllers
    #[arg(long, num_args = 0..=1, default_missing_value = "true", value_name = "BOOL")]
    pub network_policy: Option<bool>,
    /// Container registry the controller images come from
    #[arg(long)]
    pub registry: Option<String>,
    /// Let the controllers watch every namespace (false: only the runtime namespace)
    #[arg(long, num_args = 0..=1, default_missing_value = "true", value_name = "BOOL")]
    pub watch_all_namespaces: Option<bool>,
    /// Apply the objects to the cluster (server-side apply) instead of printing them
    #[arg(long)]
    pub apply: bool,
    /// With --apply: ask the server to validate without persisting anything
    #[arg(long, requires = "apply")]
    pub dry_run: bool,
    #[command(flatten)]
    #[serde(skip)]
    pub set: SetArgs,
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
}

#[derive(Debug, Args, Clone, Serialize)]
pub struct VersionArgs {
    #[command(flatten)]
    #[serde(skip)]
    pub set: SetArgs,
}

trait HasSet {
    fn set_args(&self) -> &[String];
}
macro_rules! has_set {
    ($($t:ty),*) => { $(impl HasSet for $t { fn set_args(&self) -> &[String] { &self.set.set } })* };
}
has_set!(InstallArgs, StatusArgs, VersionArgs);

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

/// Run the script `name` with the command's flags as `args`.
#[allow(private_bounds)]
pub fn script_command<A: Serialize + HasSet>(
    name: &str,
    g: &GlobalArgs,
    a: &A,
    overrides: Vec<(String, String, serde_json::Value)>,
    ping: bool,
) -> Result<i32, Failure> {
    let ctx = Context::load(g, overrides)?;
    let color = ctx.globals.color;
    let fail = |d: Diagnostic| Failure { diagnostic: d, color, host: None };
    let set = parse_set(a.set_args()).map_err(fail)?;
    let mut args = crate::primitives::to_dynamic(&serde_json::to_value(a).expect("args serialize"))
        .try_cast::<rhai::Map>()
        .unwrap_or_default();
    args.insert("set".into(), set.into());
    args.insert("command".into(), name.into());
    for (k, v) in [("context", &g.context), ("namespace", &g.namespace)] {
        args.insert(k.into(), v.clone().map(rhai::Dynamic::from).unwrap_or(rhai::Dynamic::UNIT));
    }
    args.insert(
        "kubeconfig".into(),
        g.kubeconfig.as_ref().map(|p| p.display().to_string().into()).unwrap_or(rhai::Dynamic::UNIT),
    );
    args.insert(
        "output".into(),
        serde_json::to_value(ctx.globals.output)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default()
            .into(),
    );

    let script = ctx
        .layers
        .resolve(Kind::Script, name)
        .map_err(|e| fail(Diagnostic::new(format!("cannot read script `{name}`: {e}"))))?
        .ok_or_else(|| {
            fail(Diagnostic::new(format!("no script `{name}`")).with_help("`wego scripts list` shows the scripts"))
        })?;
    let (_rt, host) = ctx.host()?;
    host.checkpoint.start(&host.rt, name, ping);
    crate::engine::run(&host, &script, args.into()).map_err(|d| Failure {
        diagnostic: d,
        color,
        host: Some(host.clone()),
    })
}
