//! `log::` — progress and notices on stderr, in the style of the flux CLI. stdout stays data.

use std::sync::Arc;

use rhai::Module;

use super::api::ApiModule;
use super::host::Host;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    Error,
    Warn,
    Info,
    Debug,
    Trace,
}

pub struct Logger {
    level: Level,
    color: bool,
}

impl Logger {
    pub fn new(level: &str, verbose: u8, color: bool) -> Self {
        let mut level = match level {
            "error" => Level::Error,
            "warn" | "warning" => Level::Warn,
            "debug" => Level::Debug,
            "trace" => Level::Trace,
            _ => Level::Info,
        };
        if verbose >= 2 {
            level = level.max(Level::Trace);
        } else if verbose == 1 {
            level = level.max(Level::Debug);
        }
        Logger { level, color }
    }

    pub fn enabled(&self, l: Level) -> bool {
        l <= self.level
    }

    /// Print `msg` behind `symbol` (coloured with `ansi` on a terminal) if `l` is enabled.
    pub fn emit(&self, l: Level, symbol: &str, ansi: &str, msg: &str) {
        if !self.enabled(l) {
            return;
        }
        if self.color {
            eprintln!("\x1b[{ansi}m{symbol}\x1b[0m {msg}");
        } else {
            eprintln!("{symbol} {msg}");
        }
    }
}

pub fn module(host: &Arc<Host>) -> Module {
    let mut m = ApiModule::new("Progress and notices on stderr (stdout carries data only).");
    type Entry = (&'static str, Level, &'static str, &'static str, &'static str);
    let entries: [Entry; 7] = [
        ("action", Level::Info, "►", "36", "Announce a step that is starting.\n\nExample: `log::action(\"cloning the wego repo\");`"),
        ("ok", Level::Info, "✔", "32", "Report a step that succeeded.\n\nExample: `log::ok(\"app added\");`"),
        ("wait", Level::Info, "◎", "36", "Report that wego is waiting for something.\n\nExample: `log::wait(\"waiting for the CRD\");`"),
        ("info", Level::Info, "•", "0", "An informational message.\n\nExample: `log::info(\"nothing to do\");`"),
        ("warn", Level::Warn, "⚠", "33", "A warning: something the user should look at.\n\nExample: `log::warn(\"old Kubernetes\");`"),
        ("fail", Level::Error, "✗", "31", "Report a failed check (does not stop the script; use `throw` for that).\n\nExample: `log::fail(\"controller not ready\");`"),
        ("debug", Level::Debug, "…", "90", "A message shown only with `-v` or `logLevel: debug`.\n\nExample: `log::debug(`got ${n} objects`);`"),
    ];
    for (name, level, symbol, ansi, doc) in entries {
        let h = host.clone();
        m.func(name, &["message: &str", "()"], doc, move |msg: &str| h.log.emit(level, symbol, ansi, msg));
    }
    let h = host.clone();
    m.func(
        "enabled",
        &["level: &str", "bool"],
        "Whether messages of `level` (error, warn, info, debug, trace) are shown.\n\nExample: `if log::enabled(\"debug\") { ... }`",
        move |level: &str| {
            let l = match level {
                "error" => Level::Error,
                "warn" => Level::Warn,
                "info" => Level::Info,
                "debug" => Level::Debug,
                _ => Level::Trace,
            };
            h.log.enabled(l)
        },
    );
    m.build()
}
