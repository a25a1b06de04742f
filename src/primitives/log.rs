//! `log::` — progress and notices on stderr, in the style of the flux CLI. stdout stays data.

use std::sync::Arc;

use rhai::Module;

use super::api::api_module;
use super::host::Host;
use crate::progress::{Mode, Reporter, Step};

/// Register the `Step` type so errors and docs call it by name.
pub fn register_types(engine: &mut rhai::Engine) {
    engine.register_type_with_name::<Step>("Step");
}

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
    progress: Arc<Reporter>,
}

impl Logger {
    /// `quiet` (`--quiet`) keeps warnings and errors only, and no progress.
    pub fn new(level: &str, verbose: u8, color: bool, quiet: bool) -> Self {
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
        let mode = Mode::detect(quiet);
        if mode == Mode::Quiet {
            level = level.min(Level::Warn);
        }
        Logger { level, progress: Arc::new(Reporter::new(mode, color)) }
    }

    pub fn enabled(&self, l: Level) -> bool {
        l <= self.level
    }

    /// Print `msg` behind `symbol` (coloured with `ansi` on a terminal) if `l` is enabled.
    pub fn emit(&self, l: Level, symbol: &str, ansi: &str, msg: &str) {
        if !self.enabled(l) {
            return;
        }
        self.progress.line(symbol, ansi, msg);
    }

    /// Start a step of progress (see [`crate::progress`]): `► msg` in a plain log.
    pub fn step(&self, msg: &str) -> Step {
        self.progress.step("►", "36", msg)
    }

    /// Start waiting for something: `◎ msg` in a plain log, as flux says it.
    pub fn waiting(&self, msg: &str) -> Step {
        self.progress.step("◎", "36", msg)
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

        /// Start a step that takes a while (a clone, a push, a wait) and return its `Step`: on a terminal a spinner
        /// showing `message` until the step ends, elsewhere a `► message` line, nothing with `--quiet`. End it with
        /// `.done(message)` or `.fail(message)`. `git::clone`, `repo.push` and `kube::apply` take it as their
        /// `progress` option and show how far they are.
        ///
        /// Example: `let s = log::step("cloning the wego repo"); let repo = git::clone(url, #{ progress: s }); s.done("cloned");`
        fn step(message: &str) -> Step {
            Ok(h.session.log.step(message))
        }

        /// Like `log::step`, for waiting on something (controllers, a reconciliation): `◎ message` in a plain log, as
        /// flux says it.
        ///
        /// Example: `let s = log::waiting("waiting for the controllers"); ...; s.done("all controllers ready");`
        fn waiting(message: &str) -> Step {
            Ok(h.session.log.waiting(message))
        }

        /// End a step with `✔ message` (nothing with `--quiet`). A step ends once; later calls do nothing.
        ///
        /// Example: `s.done("cloned the wego repo");`
        method done(step: &mut Step, message: &str) -> () {
            step.done(message);
            Ok(())
        }

        /// End a step with `✗ message`, shown even with `--quiet`. Does not stop the script (use `throw` for that).
        ///
        /// Example: `s.fail("the controllers did not become ready");`
        method fail(step: &mut Step, message: &str) -> () {
            step.fail(message);
            Ok(())
        }

        /// Change what a running step says (on a terminal; plain output shows only its start and end).
        ///
        /// Example: `s.update("waiting for source-controller");`
        method update(step: &mut Step, message: &str) -> () {
            step.update(message);
            Ok(())
        }

        /// `Step(<message>)`.
        ///
        /// Example: `log::debug(`${s}`);`
        method to_string | to_debug(step: &mut Step) -> String {
            Ok(format!("{step:?}"))
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
