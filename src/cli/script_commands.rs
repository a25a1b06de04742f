//! Scripts as commands: every `scripts/<name>.rhai` of a layer that may run (`--scripts-dir`, a
//! trusted repo's `.wego/`, the user's config dir, the built-ins) becomes `wego <name>`, with
//! the arguments its header declares (see [`header`]). A built-in command's name is never taken
//! by a script: a script of that name is an override, resolved and announced by the layers.

mod header;

use std::ffi::OsString;
use std::path::PathBuf;
use std::sync::Arc;

use clap::{Arg, ArgAction, ArgMatches, FromArgMatches};
use rhai::Dynamic;

use super::{commands, Context, Failure, GlobalArgs};
use crate::engine::diagnostics::{Diagnostic, Location};
use crate::engine::Host;
use crate::layers::{self, Kind, Layers};
use header::{Header, HeaderError, Param, ValueType};

/// One script command: its name, where it comes from, and its header (or what is wrong with it).
pub struct ScriptCommand {
    pub name: String,
    /// The script's path as diagnostics show it.
    display: String,
    header: Result<Header, HeaderError>,
}

/// The script commands found for this invocation.
#[derive(Default)]
pub struct Registry {
    commands: Vec<ScriptCommand>,
    /// Commands this repo's `.wego/scripts/` would add once trusted: (name, path, trust command).
    untrusted: Vec<(String, String, String)>,
}

/// `--scripts-dir DIR` from the raw words (clap has not run yet), else `WEGO_SCRIPTS_DIR`.
fn scripts_dir(argv: &[OsString]) -> Option<PathBuf> {
    let mut words = argv.iter().skip(1);
    while let Some(w) = words.next() {
        let w = w.to_string_lossy();
        if w == "--" {
            break;
        }
        if w == "--scripts-dir" {
            return words.next().map(PathBuf::from);
        }
        if let Some(dir) = w.strip_prefix("--scripts-dir=") {
            return Some(PathBuf::from(dir));
        }
    }
    std::env::var_os("WEGO_SCRIPTS_DIR").filter(|v| !v.is_empty()).map(PathBuf::from)
}

/// A name clap and shells take as a command word.
fn is_command_name(name: &str) -> bool {
    name.chars().next().is_some_and(|c| c.is_ascii_lowercase())
        && name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
}

impl Registry {
    /// Find the script commands beside the built-in commands of `cli`.
    pub fn discover(cli: &clap::Command, argv: &[OsString]) -> Self {
        let cwd = std::env::current_dir().unwrap_or_default();
        let user_dir = dirs::config_dir().map(|d| d.join("wego"));
        let layers = Layers::new(scripts_dir(argv), layers::find_repo_root(&cwd), user_dir);
        Self::from_layers(cli, &layers)
    }

    fn from_layers(cli: &clap::Command, layers: &Layers) -> Self {
        let builtin = |n: &str| n == "help" || cli.get_subcommands().any(|c| c.get_name() == n);
        let mut commands = Vec::new();
        let mut untrusted = Vec::new();
        for entry in layers.list(Kind::Script) {
            if !is_command_name(&entry.name) || builtin(&entry.name) {
                continue;
            }
            // The layer that would run it: an untrusted repo's copy is skipped, silently here,
            // and remembered so that calling it says why it is missing.
            let Ok(Some(script)) = layers.peek(Kind::Script, &entry.name) else {
                if let Some((key, _)) = layers.repo_trust().filter(|_| entry.layer.starts_with("repo")) {
                    untrusted.push((entry.name, entry.path, key.command()));
                }
                continue;
            };
            commands.push(ScriptCommand {
                name: entry.name,
                header: header::parse(&script.text),
                display: script.display,
            });
        }
        Registry { commands, untrusted }
    }

    pub fn get(&self, name: &str) -> Option<&ScriptCommand> {
        self.commands.iter().find(|c| c.name == name)
    }

    /// Why `name` is not a command when this repo's untrusted scripts would make it one.
    pub fn untrusted_hint(&self, name: &str) -> Option<String> {
        let (_, path, trust) = self.untrusted.iter().find(|(n, ..)| n == name)?;
        Some(format!(
            "error: `wego {name}` is this repo's script {path}, which you have not trusted\n  \
             help: read it, then run `{trust}` to allow this repo's scripts"
        ))
    }

    /// `cli` with a subcommand per script. They are listed under their own heading in
    /// `--help`, so the subcommands themselves are hidden from clap's list unless `visible`
    /// (completion scripts must see them).
    pub fn augment(&self, cli: clap::Command, visible: bool) -> clap::Command {
        if self.commands.is_empty() {
            return cli;
        }
        let width = self.commands.iter().map(|c| c.name.len()).max().unwrap_or(0);
        let header = cli.get_styles().get_header();
        let mut listing = format!("{header}Script commands:{header:#}\n");
        for c in &self.commands {
            let summary = match &c.header {
                Ok(h) => h.summary().unwrap_or("(no description)"),
                Err(_) => "(its header has a mistake: run it to see where)",
            };
            listing.push_str(&format!("  {:<width$}  {summary}\n", c.name));
        }
        listing.push_str("\nScripts in scripts/ of --scripts-dir, a trusted repo's .wego/, or the user's config dir become commands too; `wego scripts list` shows where each comes from.");
        let mut cli = cli.after_help(listing);
        for c in &self.commands {
            cli = cli.subcommand(c.clap(visible));
        }
        cli
    }
}

impl ScriptCommand {
    fn clap(&self, visible: bool) -> clap::Command {
        // A script command runs a script, so it offers the script options built-ins do.
        let mut cmd =
            <super::ScriptArgs as clap::Args>::augment_args(clap::Command::new(self.name.clone())).hide(!visible);
        let declared = match &self.header {
            Ok(h) => {
                if let Some(s) = h.summary() {
                    cmd = cmd.about(s.to_string());
                }
                if let Some(l) = h.long_help() {
                    cmd = cmd.long_about(l);
                }
                h.declared.then_some(h)
            }
            // Still runnable, to report the mistake in the header.
            Err(_) => None,
        };
        let Some(h) = declared else {
            return cmd.arg(
                Arg::new("words")
                    .value_name("ARGS")
                    .help("Words passed to the script as `args`, an array of strings")
                    .num_args(0..)
                    .trailing_var_arg(true)
                    .allow_hyphen_values(true),
            );
        };
        for p in &h.args {
            let mut a = Arg::new(p.key.clone()).value_name(p.name.clone()).help(p.help.clone()).required(p.required);
            if p.value == ValueType::List {
                a = a.num_args(if p.required { 1.. } else { 0.. }).action(ArgAction::Append);
            }
            cmd = cmd.arg(typed(a, p));
        }
        for p in &h.flags {
            let mut a = Arg::new(p.key.clone()).long(p.name.clone()).help(p.help.clone()).required(p.required);
            if !p.aliases.is_empty() {
                a = a.visible_aliases(p.aliases.clone());
            }
            if let Some(s) = p.short {
                a = a.short(s);
            }
            a = match p.value {
                ValueType::Bool => a.action(ArgAction::SetTrue),
                ValueType::List => a.action(ArgAction::Append).value_name(p.name.to_uppercase().replace('-', "_")),
                _ => a.action(ArgAction::Set).value_name(p.name.to_uppercase().replace('-', "_")),
            };
            if let Some(d) = &p.default {
                a = a.default_value(d.clone());
            }
            cmd = cmd.arg(typed(a, p));
        }
        cmd
    }

    /// The header's mistake, where the script author will look for it.
    fn header_error(&self, e: &HeaderError) -> Diagnostic {
        let mut d = Diagnostic::new(format!("invalid command header: {}", e.message)).with_help(
            "the header declares arguments as `// wego:arg NAME \"help\"` and options as `// wego:flag --name [TYPE] \"help\"`",
        );
        d.location = Some(Location { file: self.display.clone(), line: Some(e.line), column: e.column, text: None });
        d
    }

    /// The script's `args`: declared values by name (and the global options), or its words.
    fn args(&self, m: &ArgMatches, g: &GlobalArgs, output: crate::engine::Output) -> Result<Dynamic, Diagnostic> {
        let h = match &self.header {
            Err(e) => return Err(self.header_error(e)),
            Ok(h) if !h.declared => {
                let words: rhai::Array =
                    m.get_many::<String>("words").into_iter().flatten().cloned().map(Dynamic::from).collect();
                return Ok(words.into());
            }
            Ok(h) => h,
        };
        let mut args = rhai::Map::new();
        for p in h.args.iter().chain(&h.flags) {
            args.insert(p.key.as_str().into(), value(m, p));
        }
        commands::insert_globals(&mut args, &self.name, g, output);
        args.insert("timeout".into(), Dynamic::from(g.timeout.as_secs() as i64));
        Ok(args.into())
    }
}

fn typed(a: Arg, p: &Param) -> Arg {
    match &p.value {
        ValueType::Int => a.value_parser(clap::value_parser!(i64)),
        ValueType::Choice(c) => a.value_parser(clap::builder::PossibleValuesParser::new(c.clone())),
        _ => a,
    }
}

fn value(m: &ArgMatches, p: &Param) -> Dynamic {
    let one = |v: Option<Dynamic>| v.unwrap_or(Dynamic::UNIT);
    match p.value {
        ValueType::Bool => m.get_flag(&p.key).into(),
        ValueType::Int => one(m.get_one::<i64>(&p.key).map(|v| Dynamic::from(*v))),
        ValueType::List => {
            let items: rhai::Array =
                m.get_many::<String>(&p.key).into_iter().flatten().cloned().map(Dynamic::from).collect();
            items.into()
        }
        ValueType::String | ValueType::Choice(_) => one(m.get_one::<String>(&p.key).cloned().map(Dynamic::from)),
    }
}

/// Run the script command `c` the command line `m` chose.
pub fn run(c: &ScriptCommand, m: &ArgMatches) -> Result<i32, Failure> {
    let usage = |e: clap::Error| Failure { diagnostic: Diagnostic::new(e.to_string()), color: false, host: None };
    let mut g = GlobalArgs::from_arg_matches(m).map_err(usage)?;
    crate::deadline::arm(&c.name, g.timeout);
    let sub = m.subcommand_matches(&c.name).cloned().unwrap_or_default();
    let script_options = <super::ScriptArgs as clap::FromArgMatches>::from_arg_matches(&sub).map_err(usage)?;
    (g.scripts_dir, g.allow_exec) = (script_options.layers.scripts_dir, script_options.allow_exec);
    let ctx = Context::load(&g, vec![])?;
    let color = ctx.globals.color;
    let fail = |d: Diagnostic| Failure { diagnostic: d, color, host: None };
    let args = c.args(&sub, &g, ctx.globals.output).map_err(fail)?;
    let script = commands::script(&ctx.layers, &c.name).map_err(fail)?;
    let (_rt, host) = ctx.host()?;
    host.checkpoint.start(&host.session.rt, &c.name, false);
    crate::engine::run(&host, &script, args).map_err(|d| Failure { diagnostic: d, color, host: Some(host.clone()) })
}

/// Run a script command for `wego::command(words)`, with the calling script's host; `None` when
/// the first word names no script command.
pub fn nested(host: &Arc<Host>, argv: &[String]) -> Option<Result<Result<i32, Diagnostic>, Diagnostic>> {
    let cli = <super::Cli as clap::CommandFactory>::command();
    let registry = Registry::from_layers(&cli, &host.layers);
    let c = registry.get(argv.first()?)?;
    let words = std::iter::once("wego".to_string()).chain(argv.iter().cloned());
    let run = || -> Result<Result<i32, Diagnostic>, Diagnostic> {
        let m = registry.augment(cli, false).try_get_matches_from(words).map_err(commands::nested_usage)?;
        let g = GlobalArgs::from_arg_matches(&m).map_err(commands::nested_usage)?;
        let sub = m.subcommand_matches(&c.name).cloned().unwrap_or_default();
        let args = match c.args(&sub, &g, host.session.globals.output) {
            Ok(a) => a,
            Err(d) => return Ok(Err(d)),
        };
        let script = commands::script(&host.layers, &c.name)?;
        Ok(crate::engine::run(host, &script, args))
    };
    Some(run())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn registry(files: &[(&str, &str)]) -> (tempfile::TempDir, clap::Command, Registry) {
        let tmp = tempfile::tempdir().unwrap();
        for (name, text) in files {
            let p = tmp.path().join("scripts").join(name);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, text).unwrap();
        }
        let layers = Layers::new(Some(tmp.path().to_path_buf()), None, None);
        let cli = <super::super::Cli as clap::CommandFactory>::command();
        let r = Registry::from_layers(&cli, &layers);
        let cli = r.augment(cli, false);
        (tmp, cli, r)
    }

    #[test]
    fn scripts_become_commands_but_never_take_a_built_in_name() {
        let (_t, _cli, r) = registry(&[
            ("hello.rhai", "//! Say hello.\n// wego:arg who \"Whom to greet\"\nprint(args.who);\n"),
            ("config.rhai", "print(1);"),
            ("status.rhai", "print(1);"),
            ("lib/helper.rhai", "fn f() {}"),
            ("Bad_Name.rhai", "print(1);"),
        ]);
        assert!(r.get("hello").is_some());
        for n in ["config", "status", "lib/helper", "Bad_Name", "help"] {
            assert!(r.get(n).is_none(), "{n}");
        }
        // The built-in lifecycle scripts are commands too.
        assert!(r.get("list").is_some());
    }

    #[test]
    fn declared_flags_are_parsed_by_clap() {
        let (_t, cli, r) = registry(&[(
            "deploy.rhai",
            "//! Deploy.\n// wego:arg target \"Where\"\n// wego:flag -f,--force \"Force\"\n// wego:flag --count int default=2 \"How many\"\n// wego:flag --tag list \"Tags\"\n// wego:flag --mode fast|slow \"Mode\"\n",
        )]);
        let m = cli
            .clone()
            .try_get_matches_from(["wego", "deploy", "prod", "-f", "--tag", "a", "--tag", "b", "--mode", "slow"])
            .unwrap();
        let c = r.get("deploy").unwrap();
        let g = GlobalArgs::from_arg_matches(&m).unwrap();
        let args = c.args(m.subcommand_matches("deploy").unwrap(), &g, crate::engine::Output::Table).unwrap();
        let args = args.cast::<rhai::Map>();
        assert_eq!(args["target"].to_string(), "prod");
        assert!(args["force"].as_bool().unwrap());
        assert_eq!(args["count"].as_int().unwrap(), 2);
        assert_eq!(args["tag"].clone().cast::<rhai::Array>().len(), 2);
        assert_eq!(args["mode"].to_string(), "slow");
        assert_eq!(args["command"].to_string(), "deploy");
        let e = cli.clone().try_get_matches_from(["wego", "deploy", "prod", "--mode", "medium"]).unwrap_err();
        assert_eq!(e.kind(), clap::error::ErrorKind::InvalidValue);
        let e = cli.try_get_matches_from(["wego", "deploy"]).unwrap_err();
        assert_eq!(e.kind(), clap::error::ErrorKind::MissingRequiredArgument);
    }

    #[test]
    fn a_script_without_a_header_gets_its_words() {
        let (_t, cli, r) = registry(&[("raw.rhai", "print(args);\n")]);
        let m = cli.try_get_matches_from(["wego", "raw", "a", "--b", "-c"]).unwrap();
        let g = GlobalArgs::from_arg_matches(&m).unwrap();
        let c = r.get("raw").unwrap();
        let args = c.args(m.subcommand_matches("raw").unwrap(), &g, crate::engine::Output::Table).unwrap();
        let words: Vec<String> = args.cast::<rhai::Array>().iter().map(|w| w.to_string()).collect();
        assert_eq!(words, ["a", "--b", "-c"]);
    }

    #[test]
    fn a_broken_header_is_reported_at_its_line() {
        let (_t, _cli, r) = registry(&[("broken.rhai", "//! Broken.\n// wego:flag --wait wat \"w\"\n")]);
        let c = r.get("broken").unwrap();
        let e = c.args(&ArgMatches::default(), &globals(), crate::engine::Output::Table).unwrap_err();
        let l = e.location.unwrap();
        assert!(l.file.ends_with("scripts/broken.rhai"), "{}", l.file);
        assert_eq!((l.line, l.column), (Some(2), 21));
    }

    fn globals() -> GlobalArgs {
        let m =
            <super::super::Cli as clap::CommandFactory>::command().try_get_matches_from(["wego", "version"]).unwrap();
        GlobalArgs::from_arg_matches(&m).unwrap()
    }
}
