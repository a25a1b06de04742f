//! `wego run FILE.rhai [ARGS...]`: a user script with the whole API.

use std::path::PathBuf;

use clap::Args;

use super::{Context, Failure, GlobalArgs};
use crate::engine::diagnostics::Diagnostic;
use crate::engine::layers::{Layer, Resolved};

#[derive(Debug, Args)]
pub struct RunArgs {
    /// The script to run
    pub file: PathBuf,
    /// Arguments for the script, available as `args` (an array of strings)
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    pub args: Vec<String>,
}

pub fn run(g: &GlobalArgs, a: RunArgs) -> Result<i32, Failure> {
    let ctx = Context::load(g, vec![])?;
    let color = ctx.globals.color;
    let text = std::fs::read_to_string(&a.file).map_err(|e| Failure {
        diagnostic: Diagnostic::new(format!("cannot read {}: {e}", a.file.display()))
            .with_help("check the path of the script"),
        color,
        host: None,
    })?;
    let script = Resolved {
        name: a.file.display().to_string(),
        layer: Layer::Explicit,
        display: a.file.display().to_string(),
        path: Some(a.file.clone()),
        text,
    };
    let (_rt, host) = ctx.host()?;
    let args: rhai::Array = a.args.into_iter().map(rhai::Dynamic::from).collect();
    crate::engine::run(&host, &script, args.into()).map_err(|d| Failure {
        diagnostic: d,
        color,
        host: Some(host.clone()),
    })
}
