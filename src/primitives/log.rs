//! `log::` — progress and notices on stderr, in the style of the flux CLI. stdout stays data.

use std::sync::Arc;

use rhai::Module;

use super::api::api_module;
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

/// Print a message for a script (what every `log::` call but `enabled` does).
fn say(h: &Host, l: Level, symbol: &str, ansi: &str, msg: &str) -> Result<(), Box<rhai::EvalAltResult>> {
    h.session.log.emit(l, symbol, ansi, msg);
    Ok(())
}

pub fn module(host: &Arc<Host>) -> Module {
    api_module! {
        let h = host;
        //! Progress and notices on stderr (stdout carries data only).

        /// Announce a step that is starting.
        ///
        /// Example: `log::action("cloning the wego repo");`
        fn action(message: &str) -> () {
            say(h, Level::Info, "►", "36", message)
        }

        /// Report a step that succeeded.
        ///
        /// Example: `log::ok("app added");`
        fn ok(message: &str) -> () {
            say(h, Level::Info, "✔", "32", message)
        }

        /// Report that wego is waiting for something.
        ///
        /// Example: `log::wait("waiting for the CRD");`
        fn wait(message: &str) -> () {
            say(h, Level::Info, "◎", "36", message)
        }

        /// An informational message.
        ///
        /// Example: `log::info("nothing to do");`
        fn info(message: &str) -> () {
            say(h, Level::Info, "•", "0", message)
        }

        /// A warning: something the user should look at.
        ///
        /// Example: `log::warn("old Kubernetes");`
        fn warn(message: &str) -> () {
            say(h, Level::Warn, "⚠", "33", message)
        }

        /// Report a failed check (does not stop the script; use `throw` for that).
        ///
        /// Example: `log::fail("controller not ready");`
        fn fail(message: &str) -> () {
            say(h, Level::Error, "✗", "31", message)
        }

        /// A message shown only with `-v` or `logLevel: debug`.
        ///
        /// Example: `log::debug(`got ${n} objects`);`
        fn debug(message: &str) -> () {
            say(h, Level::Debug, "…", "90", message)
        }

        /// Whether messages of `level` (error, warn, info, debug, trace) are shown.
        ///
        /// Example: `if log::enabled("debug") { ... }`
        fn enabled(level: &str) -> bool {
            let l = match level {
                "error" => Level::Error,
                "warn" => Level::Warn,
                "info" => Level::Info,
                "debug" => Level::Debug,
                _ => Level::Trace,
            };
            Ok(h.session.log.enabled(l))
        }
    }
}
