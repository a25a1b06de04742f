//! `wego::` — facts about this wego: versions, the effective config, the requested output.

use std::sync::Arc;

use rhai::{Array, Dynamic, Engine, EvalAltResult, Map, Module};

use super::api::api_module;
use super::host::{exit, fail, Host, Output, CLOSED_PIPE_EXIT};
use crate::build_info;

/// The effective config as a script value (camelCase keys, like the file).
pub fn config_value(host: &Host) -> Dynamic {
    super::to_dynamic(&serde_json::to_value(host.config()).expect("config serializes"))
}

pub fn info() -> Map {
    let mut m = Map::new();
    m.insert("version".into(), build_info::VERSION.into());
    m.insert("commit".into(), build_info::GIT_COMMIT.into());
    m.insert("build_date".into(), build_info::BUILD_DATE.into());
    m.insert("app_api_version".into(), build_info::APP_API_VERSION.into());
    m.insert("os".into(), std::env::consts::OS.into());
    m.insert("arch".into(), std::env::consts::ARCH.into());
    m
}

pub fn module(host: &Arc<Host>) -> Module {
    api_module! {
        let h = host;
        //! Facts about this wego and the current invocation.

        /// wego's build facts: `version`, `commit`, `build_date`, `app_api_version`, `os`, `arch`.
        ///
        /// Example: `print(wego::info().version);`
        fn info() -> Map {
            Ok(info())
        }

        /// The effective wego config (defaults < user file < repo file < env < flags). The same value is in scope as
        /// `config` in a command script; modules call this.
        ///
        /// Example: `let ns = wego::config().flux.namespace;`
        fn config() -> Map {
            Ok(config_value(h).try_cast::<Map>().unwrap_or_default())
        }

        /// Make the checked-out wego repo at `dir` the one in effect: its `.wego/templates/` override the built-ins
        /// from now on, and so do its `.wego/stdlib/` modules once the user has trusted that code (`wego trust URL`;
        /// untrusted code is skipped with one notice; scripts already running keep going); its `.wego/config.yaml`
        /// takes the repo file's place in the config, for the keys a repo may set. Returns the new effective config.
        ///
        /// Errors: `dir` outside the workspace; an invalid `.wego/config.yaml` (named, with the key).
        ///
        /// Example: `let repo = git::clone(url); config = wego::use_repo(repo.path());`
        fn use_repo(dir: &str) -> Map {
            const P: &str = "wego::use_repo";
            let path = super::fs::resolve(h, P, dir)?;
            let cfg = h.use_repo(&path).map_err(|e| fail(P, format!("invalid config: {e}"), Some(&e.help())))?;
            Ok(super::to_dynamic(&serde_json::to_value(cfg).expect("config serializes")).try_cast().unwrap_or_default())
        }

        /// Run `install`, `add`, `status`, `version` or a script command (`list`, `sync`, ...) as if from the command
        /// line (the words after `wego`), with this script's cluster, config and overrides; returns its exit code. Its
        /// errors are printed on stderr as the command would print them, so a script can go on with the next item.
        ///
        /// Errors: words the command line would reject.
        ///
        /// Example: `let code = wego::command(["add", "--url", url, "--path", "./deploy", "--auto-merge"]);`
        fn command(words: Array) -> i64 {
            let argv: Vec<String> = words.iter().map(|w| w.to_string()).collect();
            match h.command(&argv) {
                Err(usage) => Err(fail("wego::command", usage.message, usage.help.as_deref())),
                Ok(Ok(code)) => Ok(code as i64),
                Ok(Err(d)) => {
                    eprint!("{}", h.render(&d));
                    Ok(1)
                }
            }
        }

        /// The output format asked for with `-o`: `table`, `json` or `yaml`.
        ///
        /// Example: `if wego::output() == "json" { ... }`
        fn output() -> String {
            let name = serde_json::to_value(h.session.globals.output).ok().and_then(|v| v.as_str().map(str::to_string));
            Ok(name.unwrap_or_default())
        }

        /// Print `value` on stdout as JSON or YAML according to `-o` (YAML for `table`).
        ///
        /// Example: `wego::print_data(#{apps: apps});`
        fn print_data(value: Dynamic) -> () {
            print_data(h, &value)
        }
    }
}

/// What `wego::print_data` does: the value streams out (no copy of it is built first). A reader
/// that has gone (`wego status -o json | head`) ends the script as a closed pipe ends a command.
fn print_data(h: &Host, value: &Dynamic) -> Result<(), Box<EvalAltResult>> {
    use std::io::Write;
    let data = super::Data(value);
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    let written = match h.session.globals.output {
        Output::Json => serde_json::to_writer_pretty(&mut out, &data)
            .map_err(std::io::Error::from)
            .and_then(|()| out.write_all(b"\n")),
        _ => {
            let text = super::yaml::to_string(&data).map_err(|e| fail("wego::print_data", e, None))?;
            out.write_all(text.as_bytes())
        }
    };
    match written.and_then(|()| out.flush()) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Err(exit(CLOSED_PIPE_EXIT.into())),
        Err(e) => Err(fail("wego::print_data", e, None)),
    }
}

/// Functions in the global namespace.
pub fn register_globals(engine: &mut Engine) {
    let globals = api_module! {
        /// Stop the script and exit wego with `code`.
        ///
        /// Example: `if failed { exit(1); }`
        fn exit(code: i64) -> () {
            Err(exit(code))
        }
    };
    engine.register_global_module(globals.into());
}
