//! `wego run FILE.rhai [ARGS...]`: a user script with the whole API.

use std::path::PathBuf;

use clap::Args;

use super::{Context, Failure, GlobalArgs, ScriptArgs};
use crate::engine::diagnostics::Diagnostic;
use crate::layers::{Layer, Resolved};

#[derive(Debug, Args)]
pub struct RunArgs {
    #[command(flatten)]
    pub script: ScriptArgs,
    /// The script to run, then its arguments (available to it as `args`, an array of strings).
    /// Everything after FILE belongs to the script, flags included.
    #[arg(value_name = "FILE [ARGS]...", required = true, num_args = 1.., trailing_var_arg = true, allow_hyphen_values = true)]
    pub argv: Vec<String>,
}

pub fn run(g: &GlobalArgs, a: RunArgs) -> Result<i32, Failure> {
    let ctx = Context::load(g, vec![])?;
    let color = ctx.globals.color;
    let mut argv = a.argv.into_iter();
    let file = PathBuf::from(argv.next().unwrap_or_default());
    let rest: Vec<String> = argv.collect();
    let text = std::fs::read_to_string(&file).map_err(|e| Failure {
        diagnostic: Diagnostic::new(format!("cannot read {}: {e}", file.display()))
            .with_help("check the path of the script"),
        color,
        host: None,
    })?;
    let script = Resolved {
        name: file.display().to_string(),
        layer: Layer::Explicit,
        display: file.display().to_string(),
        path: Some(file.clone()),
        text,
    };
    let (_rt, host) = ctx.host()?;
    let args: rhai::Array = rest.into_iter().map(rhai::Dynamic::from).collect();
    crate::engine::run(&host, &script, args.into()).map_err(|d| Failure {
        diagnostic: d,
        color,
        host: Some(host.clone()),
    })
}
