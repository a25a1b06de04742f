//! `wego scripts|templates list|show|eject`.

use clap::Subcommand;

use super::{Context, Failure, GlobalArgs};
use crate::engine::diagnostics::Diagnostic;
use crate::engine::Output;
use crate::layers::{Entry, Kind};

#[derive(Debug, Subcommand)]
pub enum FilesAction {
    /// List every name with the layer it comes from
    List,
    /// Print the text in effect
    Show { name: String },
    /// Copy the built-in version into .wego/ of the current repo for editing
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
            let root = ctx.repo_root.clone().unwrap_or_else(|| ctx.cwd.clone());
            let rel = builtin.display.clone(); // e.g. scripts/add.rhai
            let dest = root.join(".wego").join(&rel);
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
            if kind == Kind::Template {
                eprintln!("✔ wrote {}; it now overrides the built-in {}", dest.display(), name);
            } else {
                let key = crate::trust::Key::dir(&root);
                eprintln!(
                    "✔ wrote {}; it overrides the built-in {} once you trust this repo's scripts: `{}`",
                    dest.display(),
                    name,
                    key.command()
                );
            }
            Ok(0)
        }
    }
}

fn not_found(name: &str, which: Which) -> Diagnostic {
    let cmd = match which {
        Which::Scripts => "scripts",
        Which::Templates => "templates",
    };
    Diagnostic::new(format!("no {} named `{name}`", cmd.trim_end_matches('s')))
        .with_help(format!("`wego {cmd} list` shows the names"))
}

pub fn print_data(out: Output, v: &serde_json::Value) {
    match out {
        Output::Json => println!("{}", serde_json::to_string_pretty(v).unwrap_or_default()),
        _ => print!("{}", crate::primitives::yaml::to_string(v).unwrap_or_default()),
    }
}
