//! `wego config view`: the effective config and where each value comes from.

use clap::Subcommand;

use super::{Context, Failure, GlobalArgs};
use crate::engine::Output;

#[derive(Debug, Subcommand)]
pub enum ConfigAction {
    /// Print the effective config with the origin of each value
    View,
}

pub fn run(g: &GlobalArgs, action: ConfigAction) -> Result<i32, Failure> {
    let ctx = Context::load(g, vec![])?;
    match action {
        ConfigAction::View => {
            match ctx.globals.output {
                Output::Table => {
                    let rows: Vec<Vec<String>> = ctx
                        .config
                        .rows()
                        .into_iter()
                        .map(|(k, v, o)| vec![k, serde_json::to_string(&v).unwrap_or_default(), o.to_string()])
                        .collect();
                    let header = ["KEY", "VALUE", "ORIGIN"].map(String::from);
                    print!("{}", crate::primitives::term::table(&header, &rows));
                }
                out => {
                    let v = serde_json::to_value(&ctx.config.config).expect("config serializes");
                    super::files_cmd::print_data(out, &v);
                }
            }
            Ok(0)
        }
    }
}
