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
    /// effective config, with `status.values` (each key's value and origin) and `status.layers`
    /// (each layer searched, its state and error), as docs/config-view.schema.json describes).
    /// An invalid layer is left out, shown, and makes the exit code 1
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
                layers.push(source_row("env", &effective.origins, is_env));
                layers.push(source_row("flags", &effective.origins, is_flag));
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
                let ns = effective.config.flux.namespace.clone();
                let cluster = read_cluster(g, &ns);
                let v = view_data(&effective, &with_repo_row(files, &searched), &errors, &cluster, &ns);
                super::files_cmd::print_data(out, &v);
            }
        },
    }
    for e in &errors {
        eprint!("{}", config_diagnostic(e).render(&super::NoSources, color));
    }
    Ok(if errors.is_empty() { 0 } else { 1 })
}

/// `config view -o json|yaml`: the effective config as a `Config` object, plus a `status` saying
/// where each value comes from and what every layer held.
fn view_data(
    effective: &config::Effective,
    files: &[FileLayer],
    errors: &[config::ConfigError],
    cluster: &Cluster,
    ns: &str,
) -> Value {
    let values: Vec<Value> = effective
        .rows()
        .into_iter()
        .map(|(key, value, origin)| serde_json::json!({ "key": key, "value": value, "origin": origin_data(&origin) }))
        .collect();
    let mut layers = vec![serde_json::json!({
        "layer": "default", "source": config::BUILTIN_CONFIG_PATH, "state": "loaded",
    })];
    for f in files {
        let searched = !f.path.starts_with("(none");
        let mut l = serde_json::json!({
            "layer": f.layer,
            "source": if searched { Value::from(f.path.clone()) } else { Value::Null },
            "state": match (&f.state, searched) {
                (_, false) => "notSearched",
                (FileState::Missing, _) => "notFound",
                (FileState::Loaded, _) => "loaded",
                (FileState::Invalid(_), _) => "invalid",
            },
        });
        match &f.state {
            FileState::Invalid(e) => l["error"] = e.clone().into(),
            _ if !searched => l["error"] = "not in a git work tree".into(),
            _ => {}
        }
        layers.push(l);
    }
    for (layer, of) in [("env", is_env as fn(&Origin) -> bool), ("flag", is_flag)] {
        let mut names: Vec<String> = effective
            .origins
            .values()
            .filter(|o| of(o))
            .filter_map(|o| match o {
                Origin::Env(n) | Origin::Flag(n) => Some(n.clone()),
                _ => None,
            })
            .collect();
        names.sort();
        names.dedup();
        let bad: Vec<String> = errors
            .iter()
            .filter(|e| matches!(e, config::ConfigError::Override { .. }))
            .map(|e| e.to_string())
            .filter(|e| (layer == "env") == e.starts_with("env "))
            .collect();
        let state = if !bad.is_empty() {
            "invalid"
        } else if names.is_empty() {
            "notSet"
        } else {
            "loaded"
        };
        let mut l = serde_json::json!({ "layer": layer, "sources": names, "state": state });
        if !bad.is_empty() {
            l["error"] = bad.join("\n").into();
        }
        layers.push(l);
    }
    let mut c = serde_json::json!({
        "layer": "cluster",
        "source": format!("ConfigMap {ns}/{CLUSTER_CONFIG}"),
        "state": cluster.code(),
    });
    match cluster {
        Cluster::Found(settings) => {
            let here = serde_json::to_value(&effective.config).unwrap_or_default();
            c["values"] = leaves(settings)
                .into_iter()
                .map(|(k, v)| {
                    let differs = config::get_key(&here, &k) != Some(&v);
                    serde_json::json!({ "key": k, "value": v, "differsFromEffective": differs })
                })
                .collect::<Vec<_>>()
                .into();
        }
        Cluster::NotInstalled(ctx) => c["context"] = ctx.clone().into(),
        Cluster::NoContext(why) | Cluster::Unreachable(why) | Cluster::Invalid(why) => c["error"] = why.clone().into(),
    }
    layers.push(c);
    let mut v = serde_json::to_value(&effective.config).unwrap_or_default();
    v["status"] = serde_json::json!({ "values": values, "layers": layers });
    v
}

fn is_env(o: &Origin) -> bool {
    matches!(o, Origin::Env(_))
}

fn is_flag(o: &Origin) -> bool {
    matches!(o, Origin::Flag(_))
}

/// Where one value comes from: its layer, and the file, variable or flag that set it.
fn origin_data(o: &Origin) -> Value {
    let (layer, source) = match o {
        Origin::Builtin => ("default", config::BUILTIN_CONFIG_PATH),
        Origin::User(p) => ("user", p.as_str()),
        Origin::Repo(p) => ("repo", p.as_str()),
        Origin::Env(n) => ("env", n.as_str()),
        Origin::Flag(f) => ("flag", f.as_str()),
    };
    serde_json::json!({ "layer": layer, "source": source })
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
    /// The state as one word, for `-o json|yaml`.
    fn code(&self) -> &'static str {
        match self {
            Cluster::NoContext(_) => "notSearched",
            Cluster::Unreachable(_) => "unreachable",
            Cluster::NotInstalled(_) => "notFound",
            Cluster::Invalid(_) => "invalid",
            Cluster::Found(_) => "loaded",
        }
    }

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
