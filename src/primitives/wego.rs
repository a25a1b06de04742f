//! `wego::` — facts about this wego: versions, the effective config, the requested output.

use std::sync::Arc;

use rhai::{Dynamic, Engine, Map, Module};

use super::api::ApiModule;
use super::host::Host;
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
    let mut m = ApiModule::new("Facts about this wego and the current invocation.");
    m.func(
        "info",
        &["Map"],
        "wego's build facts: `version`, `commit`, `build_date`, `app_api_version`, `os`, `arch`.\n\nExample: `print(wego::info().version);`",
        info,
    );
    let h = host.clone();
    m.func(
        "config",
        &["Map"],
        "The effective wego config (defaults < user file < repo file < env < flags). The same value is in scope as `config` in a command script; modules call this.\n\nExample: `let ns = wego::config().flux.namespace;`",
        move || config_value(&h),
    );
    let h = host.clone();
    m.func(
        "use_repo",
        &["dir: &str", "Map"],
        "Make the checked-out wego repo at `dir` the one in effect: its `.wego/templates/` override the built-ins from now on, and so do its `.wego/stdlib/` modules once the user has trusted that code (`wego trust URL`; untrusted code is skipped with one notice; scripts already running keep going); its `.wego/config.yaml` takes the repo file's place in the config, for the keys a repo may set. Returns the new effective config.\n\nErrors: `dir` outside the workspace; an invalid `.wego/config.yaml` (named, with the key).\n\nExample: `let repo = git::clone(url); config = wego::use_repo(repo.path());`",
        move |dir: &str| -> Result<Dynamic, Box<rhai::EvalAltResult>> {
            let path = super::fs::resolve(&h, "wego::use_repo", dir)?;
            let cfg = h.use_repo(&path).map_err(|e| crate::primitives::host::fail("wego::use_repo", format!("invalid config: {e}"), Some(&e.help())))?;
            Ok(super::to_dynamic(&serde_json::to_value(cfg).expect("config serializes")))
        },
    );
    let h = host.clone();
    m.func(
        "command",
        &["words: Array", "i64"],
        "Run `install`, `add`, `status`, `version` or a script command (`list`, `sync`, ...) as if from the command line (the words after `wego`), with this script's cluster, config and overrides; returns its exit code. Its errors are printed on stderr as the command would print them, so a script can go on with the next item.\n\nErrors: words the command line would reject.\n\nExample: `let code = wego::command([\"add\", \"--url\", url, \"--path\", \"./deploy\", \"--auto-merge\"]);`",
        move |words: rhai::Array| -> Result<i64, Box<rhai::EvalAltResult>> {
            let argv: Vec<String> = words.iter().map(|w| w.to_string()).collect();
            match h.command(&argv) {
                Err(usage) => Err(crate::primitives::host::fail("wego::command", usage.message, usage.help.as_deref())),
                Ok(Ok(code)) => Ok(code as i64),
                Ok(Err(d)) => {
                    eprint!("{}", h.render(&d));
                    Ok(1)
                }
            }
        },
    );
    let h = host.clone();
    m.func(
        "output",
        &["String"],
        "The output format asked for with `-o`: `table`, `json` or `yaml`.\n\nExample: `if wego::output() == \"json\" { ... }`",
        move || serde_json::to_value(h.globals.output).ok().and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default(),
    );
    let h = host.clone();
    m.func(
        "print_data",
        &["value: Dynamic", "()"],
        "Print `value` on stdout as JSON or YAML according to `-o` (YAML for `table`).\n\nExample: `wego::print_data(#{apps: apps});`",
        move |v: Dynamic| {
            let data = super::from_dynamic(&v);
            let text = match h.globals.output {
                crate::primitives::host::Output::Json => serde_json::to_string_pretty(&data).map(|s| s + "\n").map_err(|e| e.to_string()),
                _ => super::yaml::to_string(&data),
            };
            text.map(|t| print!("{t}")).map_err(|e| crate::primitives::host::fail("wego::print_data", e, None))
        },
    );
    m.build()
}

/// Functions in the global namespace.
pub fn register_globals(engine: &mut Engine) {
    rhai::FuncRegistration::new("exit")
        .with_params_info(["code: i64", "()"])
        .with_comments(["/// Stop the script and exit wego with `code`.\n///\n/// Example: `if failed { exit(1); }`"])
        .register_into_engine(engine, |code: i64| -> Result<(), Box<rhai::EvalAltResult>> {
            Err(crate::primitives::host::exit(code))
        });
}
