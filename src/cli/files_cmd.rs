//! `wego scripts|templates list|show|eject`.

use clap::Subcommand;

use super::{Context, Failure, GlobalArgs};
use crate::engine::diagnostics::Diagnostic;
use crate::engine::Output;
use std::path::Path;

use crate::layers::{Entry, Kind, Layer};

#[derive(Debug, Subcommand)]
pub enum FilesAction {
    /// List every name with the layer it comes from
    #[command(after_help = "Examples:\n  wego scripts list\n  wego templates list -o json")]
    List,
    /// Print the text in effect
    #[command(
        after_help = "Examples:\n  wego scripts show status\n  wego scripts show wego/apps\n  wego templates show wego/app.yaml.j2"
    )]
    Show { name: String },
    /// Copy the built-in version where an override takes effect, and print its path: the
    /// --scripts-dir, else .wego/ of the current git work tree, else $XDG_CONFIG_HOME/wego/
    #[command(
        after_help = "Examples:\n  $EDITOR \"$(wego scripts eject status)\"\n  wego templates eject wego/app.yaml.j2 --force"
    )]
    Eject {
        name: String,
        /// Overwrite an existing file
        #[arg(long)]
        force: bool,
    },
}

#[derive(Debug, Clone, Copy)]
pub enum Which {
    Scripts,
    Templates,
}

/// Scripts and stdlib modules share `wego scripts`; stdlib modules are named `wego/<name>`.
fn kind_of(which: Which, name: &str) -> (Kind, String) {
    match which {
        Which::Templates => (Kind::Template, name.to_string()),
        Which::Scripts => match name.strip_prefix("wego/") {
            Some(m) => (Kind::Stdlib, m.to_string()),
            None => (Kind::Script, name.trim_end_matches(".rhai").to_string()),
        },
    }
}

pub fn run(g: &GlobalArgs, action: FilesAction, which: Which) -> Result<i32, Failure> {
    let ctx = Context::load(g, vec![])?;
    let color = ctx.globals.color;
    let fail = |d: Diagnostic| Failure { diagnostic: d, color, host: None };
    match action {
        FilesAction::List => {
            let mut rows: Vec<(String, Entry)> = Vec::new();
            match which {
                Which::Templates => {
                    rows.extend(ctx.layers.list(Kind::Template).into_iter().map(|e| ("template".into(), e)))
                }
                Which::Scripts => {
                    rows.extend(ctx.layers.list(Kind::Script).into_iter().map(|e| ("script".into(), e)));
                    rows.extend(ctx.layers.list(Kind::Stdlib).into_iter().map(|mut e| {
                        e.name = format!("wego/{}", e.name);
                        ("stdlib".into(), e)
                    }));
                }
            }
            match ctx.globals.output {
                Output::Table => {
                    let body: Vec<Vec<String>> = rows
                        .iter()
                        .map(|(k, e)| vec![e.name.clone(), k.clone(), e.layer.clone(), e.path.clone()])
                        .collect();
                    let header = ["NAME", "KIND", "LAYER", "PATH"].map(String::from);
                    print!("{}", crate::primitives::term::table(&header, &body));
                }
                out => {
                    let list: Vec<serde_json::Value> = rows
                        .iter()
                        .map(|(k, e)| serde_json::json!({"name": e.name, "kind": k, "layer": e.layer, "path": e.path}))
                        .collect();
                    print_data(out, &serde_json::Value::Array(list));
                }
            }
            Ok(0)
        }
        FilesAction::Show { name } => {
            let (kind, n) = kind_of(which, &name);
            let r = ctx
                .layers
                .resolve(kind, &n)
                .map_err(|e| fail(Diagnostic::new(format!("cannot read `{name}`: {e}"))))?
                .ok_or_else(|| fail(not_found(&name, which)))?;
            print!("{}", r.text);
            Ok(0)
        }
        FilesAction::Eject { name, force } => {
            let (kind, n) = kind_of(which, &name);
            let builtin = ctx.layers.builtin(kind, &n).ok_or_else(|| fail(not_found(&name, which)))?;
            let (layer, root) = ctx.layers.override_root().ok_or_else(|| {
                fail(Diagnostic::new("there is nowhere an override would take effect").with_help(
                    "run it inside the wego repo's work tree, pass --scripts-dir DIR, or set XDG_CONFIG_HOME or HOME",
                ))
            })?;
            // `display` is the file's place in any layer root, e.g. scripts/add.rhai.
            let dest = root.join(&builtin.display);
            if dest.exists() && !force {
                return Err(fail(
                    Diagnostic::new(format!("{} already exists", dest.display()))
                        .with_help("edit it, or pass --force to overwrite it with the built-in version"),
                ));
            }
            if let Some(dir) = dest.parent() {
                std::fs::create_dir_all(dir)
                    .map_err(|e| fail(Diagnostic::new(format!("cannot create {}: {e}", dir.display()))))?;
            }
            std::fs::write(&dest, &builtin.text)
                .map_err(|e| fail(Diagnostic::new(format!("cannot write {}: {e}", dest.display()))))?;
            println!("{}", dest.display());
            let listed = list_name(&name, which);
            let winner = ctx.layers.list(kind).into_iter().find(|e| e.name == n);
            match winner {
                Some(w) if Path::new(&w.path) != dest => {
                    eprintln!("⚠ wrote it to the {layer} layer, but {} ({}) takes precedence over it", w.path, w.layer)
                }
                _ if layer == Layer::Repo && kind != Kind::Template => {
                    let key = crate::trust::Key::dir(ctx.repo_root.as_deref().unwrap_or(&ctx.cwd));
                    eprintln!(
                        "✔ it overrides the built-in {listed} once you trust this repo's scripts: `{}`",
                        key.command()
                    )
                }
                _ => eprintln!(
                    "✔ it overrides the built-in {listed} ({layer} layer); `wego {} list` shows it",
                    which.verb()
                ),
            }
            Ok(0)
        }
    }
}

impl Which {
    /// The command word: `scripts` or `templates`.
    fn verb(self) -> &'static str {
        match self {
            Which::Scripts => "scripts",
            Which::Templates => "templates",
        }
    }
}

/// How a file is named to the user: `script status`, `stdlib module wego/apps`, `template x`.
fn list_name(name: &str, which: Which) -> String {
    match kind_of(which, name).0 {
        Kind::Script => format!("script {name}"),
        Kind::Stdlib => format!("stdlib module {name}"),
        Kind::Template => format!("template {name}"),
    }
}

fn not_found(name: &str, which: Which) -> Diagnostic {
    let cmd = which.verb();
    Diagnostic::new(format!("no {} named `{name}`", cmd.trim_end_matches('s')))
        .with_help(format!("`wego {cmd} list` shows the names"))
}

pub fn print_data(out: Output, v: &serde_json::Value) {
    match out {
        Output::Json => println!("{}", serde_json::to_string_pretty(v).unwrap_or_default()),
        _ => print!("{}", crate::primitives::yaml::to_string(v).unwrap_or_default()),
    }
}
