//! Shell completion through clap_complete's dynamic engine: `wego completion SHELL` prints a
//! small registration script that asks wego itself (`COMPLETE=SHELL wego -- WORDS`) for the
//! candidates, so values that live outside the command line — kubeconfig contexts and
//! namespaces, script and template names, the apps of the wego repo you are in — complete
//! too. Candidates come from local files only (the kubeconfig, the layers, the work tree):
//! never an API call, so a Tab never waits on a cluster.

use std::io::Write;

use clap::CommandFactory;
use clap_complete::env::Shells;
use clap_complete::{ArgValueCandidates, CompleteEnv, CompletionCandidate};

use crate::layers::{self, Kind, Layers};

/// The variable the registration script sets when it calls wego back.
const VAR: &str = "COMPLETE";

/// The command tree completion answers from: the built-ins with their value candidates, and
/// the script commands of the layers in effect (visible, so they complete).
pub fn command() -> clap::Command {
    let argv: Vec<_> = std::env::args_os().collect();
    super::script_commands::Registry::discover(&super::Cli::command(), &argv).augment(base(), true)
}

/// The built-in commands with their value candidates.
pub fn base() -> clap::Command {
    super::Cli::command()
        .mut_arg("context", |a| a.add(ArgValueCandidates::new(contexts)))
        .mut_arg("namespace", |a| a.add(ArgValueCandidates::new(namespaces)))
        .mut_subcommand("scripts", |c| with_names(c, scripts))
        .mut_subcommand("templates", |c| with_names(c, templates))
        .mut_subcommand("status", |c| c.mut_arg("app", |a| a.add(ArgValueCandidates::new(apps))))
}

fn with_names(cmd: clap::Command, names: fn() -> Vec<CompletionCandidate>) -> clap::Command {
    ["show", "eject"].into_iter().fold(cmd, |cmd, sub| {
        cmd.mut_subcommand(sub, move |s| s.mut_arg("name", move |a| a.add(ArgValueCandidates::new(names))))
    })
}

/// Answer a completion request and exit, when this run is one (`COMPLETE` set by the
/// registration script); otherwise return and let wego run.
pub fn answer_if_asked() {
    CompleteEnv::with_factory(command).var(VAR).complete();
}

/// Print the registration script for `shell`.
pub fn print_registration(shell: clap_complete::Shell) -> std::io::Result<()> {
    let name = shell.to_string();
    let shells = Shells::builtins();
    let completer =
        shells.completer(&name).ok_or_else(|| std::io::Error::other(format!("no dynamic completion for {name}")))?;
    let mut out = Vec::new();
    completer.write_registration(VAR, "wego", "wego", "wego", &mut out)?;
    std::io::stdout().write_all(&out)
}

/// The kubeconfig as kubectl reads it ($KUBECONFIG, else ~/.kube/config).
fn kubeconfig() -> Option<kube::config::Kubeconfig> {
    kube::config::Kubeconfig::read().ok()
}

fn contexts() -> Vec<CompletionCandidate> {
    let Some(kc) = kubeconfig() else { return vec![] };
    kc.contexts
        .iter()
        .map(|c| {
            let cluster = c.context.as_ref().map(|x| x.cluster.clone()).unwrap_or_default();
            CompletionCandidate::new(&c.name).help(Some(format!("cluster {cluster}").into()))
        })
        .collect()
}

/// The namespaces the kubeconfig's contexts name, and the runtime's default.
fn namespaces() -> Vec<CompletionCandidate> {
    let mut names: Vec<String> = kubeconfig()
        .map(|kc| kc.contexts.iter().filter_map(|c| c.context.as_ref()?.namespace.clone()).collect())
        .unwrap_or_default();
    names.push(crate::config::Flux::default().namespace);
    names.sort();
    names.dedup();
    names.into_iter().map(CompletionCandidate::new).collect()
}

/// The layers as a command run here would see them.
fn layers() -> Layers {
    let cwd = std::env::current_dir().unwrap_or_default();
    let explicit = std::env::var_os("WEGO_SCRIPTS_DIR").filter(|d| !d.is_empty()).map(Into::into);
    Layers::new(explicit, layers::find_repo_root(&cwd), dirs::config_dir().map(|d| d.join("wego")))
}

fn scripts() -> Vec<CompletionCandidate> {
    let l = layers();
    let scripts = l.list(Kind::Script).into_iter().map(|e| (e.name, e.layer));
    let stdlib = l.list(Kind::Stdlib).into_iter().map(|e| (format!("wego/{}", e.name), e.layer));
    scripts.chain(stdlib).map(|(name, layer)| CompletionCandidate::new(name).help(Some(layer.into()))).collect()
}

fn templates() -> Vec<CompletionCandidate> {
    layers()
        .list(Kind::Template)
        .into_iter()
        .map(|e| CompletionCandidate::new(e.name).help(Some(e.layer.into())))
        .collect()
}

/// The apps of the wego repo whose work tree this is: the directories of `layout.apps` holding
/// an `app.yaml`, as `add` writes them.
fn apps() -> Vec<CompletionCandidate> {
    let cwd = std::env::current_dir().unwrap_or_default();
    let Some(root) = layers::find_repo_root(&cwd) else { return vec![] };
    let loader = crate::config::Loader {
        user_file: dirs::config_dir().map(|d| d.join("wego/config.yaml")),
        repo_file: Some(root.join(".wego/config.yaml")),
        ..Default::default()
    };
    let apps_dir =
        loader.load().map(|e| e.config.layout.apps).unwrap_or_else(|_| crate::config::Layout::default().apps);
    let Ok(entries) = std::fs::read_dir(root.join(apps_dir)) else { return vec![] };
    let mut names: Vec<String> = entries
        .flatten()
        .filter(|e| e.path().join("app.yaml").is_file())
        .filter_map(|e| e.file_name().into_string().ok())
        .collect();
    names.sort();
    names.into_iter().map(CompletionCandidate::new).collect()
}
