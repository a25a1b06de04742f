//! `wego config view|path`: the effective config, every layer searched for it (the cluster's
//! `wego-config` included) and where each value comes from.

use std::time::Duration;

use clap::Subcommand;
use serde_json::Value;

use super::{config_diagnostic, Failure, GlobalArgs, Searched};
use crate::config::{self, FileLayer, FileState, Origin};
use crate::engine::diagnostics::Diagnostic;
use crate::engine::Output;
use crate::primitives::term::table;

#[derive(Debug, Subcommand)]
pub enum ConfigAction {
    /// Print every layer searched, then each key with its value and origin (-o yaml|json: the
    /// effective config). An invalid layer is left out, shown, and makes the exit code 1
    #[command(
        after_help = "Examples:\n  wego config view\n  wego config view --context prod\n  wego config view -o yaml"
    )]
    View,
    /// Print the config files searched, lowest precedence first, and whether each was found
    #[command(after_help = "Examples:\n  wego config path\n  wego config path -o json")]
    Path,
}

/// How long `config view` waits for the cluster before saying it is unreachable: it reads one
/// ConfigMap, and a missing cluster must not make a local question slow.
const CLUSTER_TIMEOUT: Duration = Duration::from_secs(5);

/// The name of the ConfigMap `wego install` writes the cluster-level settings to.
const CLUSTER_CONFIG: &str = "wego-config";

pub fn run(g: &GlobalArgs, action: ConfigAction) -> Result<i32, Failure> {
    let color = super::color_enabled(g);
    let fail = |d: Diagnostic| Failure { diagnostic: d, color, host: None };
    let searched = Searched::new(g, vec![])?;
    let (effective, files, errors) = searched.loader.load_reporting().map_err(|e| fail(config_diagnostic(&e)))?;
    let output = g.output.unwrap_or_default();
    match action {
        // The state column says which file is invalid; `config view` explains it.
        ConfigAction::Path => {
            let files = with_repo_row(files, &searched);
            match output {
                Output::Table => {
                    let rows: Vec<Vec<String>> =
                        files.iter().map(|f| vec![f.layer.to_string(), f.path.clone(), state(&f.state)]).collect();
                    print!("{}", table(&["LAYER", "PATH", "STATE"].map(String::from), &rows));
                }
                out => super::files_cmd::print_data(out, &serde_json::to_value(&files).unwrap_or_default()),
            }
            return Ok(0);
        }
        ConfigAction::View => match output {
            Output::Table => {
                let ns = effective.config.flux.namespace.clone();
                let cluster = read_cluster(g, &ns);
                let mut layers = vec![vec!["built-in".into(), config::BUILTIN_CONFIG_PATH.into(), "loaded".into()]];
                layers.extend(
                    with_repo_row(files, &searched)
                        .iter()
                        .map(|f| vec![f.layer.to_string(), f.path.clone(), state(&f.state)]),
                );
                layers.push(source_row("env", &effective.origins, |o| matches!(o, Origin::Env(_))));
                layers.push(source_row("flags", &effective.origins, |o| matches!(o, Origin::Flag(_))));
                layers.push(vec!["cluster".into(), format!("ConfigMap {ns}/{CLUSTER_CONFIG}"), cluster.state()]);
                print!("{}", table(&["LAYER", "SOURCE", "STATE"].map(String::from), &layers));
                println!();
                let rows: Vec<Vec<String>> = effective
                    .rows()
                    .into_iter()
                    .map(|(k, v, o)| vec![k, serde_json::to_string(&v).unwrap_or_default(), o.to_string()])
                    .collect();
                print!("{}", table(&["KEY", "VALUE", "ORIGIN"].map(String::from), &rows));
                if let Cluster::Found(settings) = &cluster {
                    println!();
                    println!("In the cluster (ConfigMap {ns}/{CLUSTER_CONFIG}, as `wego install` recorded it):");
                    let here = serde_json::to_value(&effective.config).unwrap_or_default();
                    let rows: Vec<Vec<String>> = leaves(settings)
                        .into_iter()
                        .map(|(k, v)| {
                            let same = config::get_key(&here, &k) == Some(&v);
                            let note = if same { "" } else { "differs from the effective value" };
                            vec![k, serde_json::to_string(&v).unwrap_or_default(), note.into()]
                        })
                        .collect();
                    print!("{}", table(&["KEY", "VALUE", ""].map(String::from), &rows));
                }
            }
            out => {
                let v = serde_json::to_value(&effective.config).unwrap_or_default();
                super::files_cmd::print_data(out, &v);
            }
        },
    }
    for e in &errors {
        eprint!("{}", config_diagnostic(e).render(&super::NoSources, color));
    }
    Ok(if errors.is_empty() { 0 } else { 1 })
}

/// The repo layer is searched only inside a git work tree; say so rather than leave it out.
fn with_repo_row(mut files: Vec<FileLayer>, searched: &Searched) -> Vec<FileLayer> {
    if searched.repo_root.is_none() {
        files.push(FileLayer {
            layer: "repo",
            path: "(none: not in a git work tree)".into(),
            state: FileState::Missing,
        });
    }
    files
}

fn state(s: &FileState) -> String {
    match s {
        FileState::Missing => "not found".into(),
        FileState::Loaded => "loaded".into(),
        FileState::Invalid(_) => "invalid: left out (`wego config view` says why)".into(),
    }
}

/// One row for the environment or the flags: the variables or flags that set keys.
fn source_row(
    layer: &str,
    origins: &std::collections::BTreeMap<String, Origin>,
    of: fn(&Origin) -> bool,
) -> Vec<String> {
    let mut names: Vec<String> = origins
        .values()
        .filter(|o| of(o))
        .map(|o| match o {
            Origin::Env(n) | Origin::Flag(n) => n.clone(),
            other => other.to_string(),
        })
        .collect();
    names.sort();
    names.dedup();
    let (source, state) = if names.is_empty() { ("-".to_string(), "none set") } else { (names.join(", "), "loaded") };
    vec![layer.into(), source, state.into()]
}

/// What the cluster holds for `config view`.
enum Cluster {
    /// No kubeconfig or context to ask: the cluster layer is not searched.
    NoContext(String),
    Unreachable(String),
    NotInstalled(String),
    Invalid(String),
    Found(Value),
}

impl Cluster {
    fn state(&self) -> String {
        match self {
            Cluster::NoContext(why) => format!("not searched: {why}"),
            Cluster::Unreachable(why) => format!("unreachable: {why}"),
            Cluster::NotInstalled(ctx) => format!("not found in context {ctx} (`wego install` writes it)"),
            Cluster::Invalid(why) => format!("invalid: {why}"),
            Cluster::Found(_) => "loaded (below)".into(),
        }
    }
}

/// Read the cluster's `wego-config` in namespace `ns`, bounded by [`CLUSTER_TIMEOUT`].
fn read_cluster(g: &GlobalArgs, ns: &str) -> Cluster {
    let kube =
        crate::k8s::KubeState::new(crate::k8s::Target { kubeconfig: g.kubeconfig.clone(), context: g.context.clone() });
    let context = match kube.context() {
        Ok(c) => c.name,
        Err(e) => return Cluster::NoContext(e.message),
    };
    let rt = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => return Cluster::Unreachable(format!("cannot start the async runtime: {e}")),
    };
    let got = rt.block_on(async {
        tokio::time::timeout(CLUSTER_TIMEOUT, kube.get_opt("v1", "ConfigMap", CLUSTER_CONFIG, ns)).await
    });
    let cm = match got {
        Err(_) => return Cluster::Unreachable(format!("no answer within {}s", CLUSTER_TIMEOUT.as_secs())),
        Ok(Err(e)) => return Cluster::Unreachable(e.message),
        Ok(Ok(None)) => return Cluster::NotInstalled(context),
        Ok(Ok(Some(cm))) => cm,
    };
    match cm["data"]["config.yaml"].as_str().map(config::parse) {
        Some(Ok(v)) => Cluster::Found(v),
        Some(Err(e)) => Cluster::Invalid(e.lines().next().unwrap_or_default().to_string()),
        None => Cluster::Invalid("it has no `config.yaml` key".into()),
    }
}

/// The leaves of the cluster's settings as (dotted key, value), apiVersion and kind left out.
fn leaves(v: &Value) -> Vec<(String, Value)> {
    let mut out = Vec::new();
    config::leaves(v, "", &mut |k, v| {
        if k != "apiVersion" && k != "kind" {
            out.push((k.to_string(), v.clone()));
        }
    });
    out
}
