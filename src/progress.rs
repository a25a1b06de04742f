//! Progress on stderr, in three modes: a spinner per step when stderr is a terminal, one plain
//! line per start and end otherwise (logs and pipes get no escape codes), nothing with `--quiet`.
//! The words are the caller's; this module only decides how they are drawn.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

/// How progress is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// `--quiet`: no progress at all (failures still print).
    Quiet,
    /// stderr is not a terminal: a line when a step starts and one when it ends.
    Plain,
    /// stderr is a terminal: a spinner that becomes the step's last line.
    Live,
}

impl Mode {
    /// The mode for this process: quiet when asked, live on a terminal, plain otherwise.
    pub fn detect(quiet: bool) -> Mode {
        use std::io::IsTerminal;
        match (quiet, std::io::stderr().is_terminal()) {
            (true, _) => Mode::Quiet,
            (false, true) => Mode::Live,
            (false, false) => Mode::Plain,
        }
    }
}

/// How often a spinner moves while the step blocks (a clone, a wait).
const TICK: Duration = Duration::from_millis(100);

/// Draws steps and lines on stderr; lines printed while a spinner runs go above it.
pub struct Reporter {
    mode: Mode,
    color: bool,
    bars: MultiProgress,
}

impl Reporter {
    pub fn new(mode: Mode, color: bool) -> Self {
        let target = if mode == Mode::Live { ProgressDrawTarget::stderr() } else { ProgressDrawTarget::hidden() };
        Reporter { mode, color, bars: MultiProgress::with_draw_target(target) }
    }

    pub fn mode(&self) -> Mode {
        self.mode
    }

    /// Print `symbol msg` on stderr (the symbol coloured with the SGR code `ansi` when colour is
    /// on), above any running spinner. Printed in every mode: the caller decides what `--quiet`
    /// silences.
    pub fn line(&self, symbol: &str, ansi: &str, msg: &str) {
        let text = if self.color { format!("\x1b[{ansi}m{symbol}\x1b[0m {msg}") } else { format!("{symbol} {msg}") };
        self.bars.suspend(|| eprintln!("{text}"));
    }

    /// Start a step: a spinner showing `msg` (live), a `symbol msg` line (plain; `ansi` colours
    /// the symbol), or nothing (quiet).
    pub fn step(self: &Arc<Self>, symbol: &str, ansi: &str, msg: &str) -> Step {
        let bar = match self.mode {
            Mode::Live => {
                let template = if self.color { "{spinner:.cyan} {msg}" } else { "{spinner} {msg}" };
                let style = ProgressStyle::with_template(template)
                    .unwrap_or_else(|_| ProgressStyle::default_spinner())
                    .tick_chars("⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏ ");
                let bar = self.bars.add(ProgressBar::new_spinner().with_style(style).with_message(msg.to_string()));
                bar.enable_steady_tick(TICK);
                Some(bar)
            }
            Mode::Plain => {
                self.line(symbol, ansi, msg);
                None
            }
            Mode::Quiet => None,
        };
        Step(Arc::new(StepInner {
            reporter: Arc::clone(self),
            bar,
            message: Mutex::new(msg.to_string()),
            open: Mutex::new(true),
        }))
    }
}

/// A running step. Clones share it; it ends once, with [`Step::done`] or [`Step::fail`] (or,
/// unfinished, when the last clone is dropped: the spinner is cleared).
#[derive(Clone)]
pub struct Step(Arc<StepInner>);

struct StepInner {
    reporter: Arc<Reporter>,
    bar: Option<ProgressBar>,
    message: Mutex<String>,
    open: Mutex<bool>,
}

impl Step {
    /// Replace the step's message (live only: a plain log gets start and end lines, not every
    /// change).
    pub fn update(&self, msg: &str) {
        *self.0.message.lock().unwrap_or_else(|e| e.into_inner()) = msg.to_string();
        if let Some(bar) = &self.0.bar {
            bar.set_message(msg.to_string());
        }
    }

    /// Show how far the step is: `done` of `total` `unit` after its message (live only).
    pub fn count(&self, done: u64, total: u64, unit: &str) {
        if let Some(bar) = &self.0.bar {
            let msg = self.0.message.lock().unwrap_or_else(|e| e.into_inner()).clone();
            bar.set_message(format!("{msg} ({done}/{total} {unit})"));
        }
    }

    /// End the step with `✔ msg` (nothing under `--quiet`).
    pub fn done(&self, msg: &str) {
        if self.close() && self.0.reporter.mode != Mode::Quiet {
            self.0.reporter.line("✔", "32", msg);
        }
    }

    /// End the step with `✗ msg`, printed even under `--quiet`: it is a failure.
    pub fn fail(&self, msg: &str) {
        if self.close() {
            self.0.reporter.line("✗", "31", msg);
        }
    }

    /// Clear the spinner; false if the step had already ended.
    fn close(&self) -> bool {
        let mut open = self.0.open.lock().unwrap_or_else(|e| e.into_inner());
        if !*open {
            return false;
        }
        *open = false;
        if let Some(bar) = &self.0.bar {
            bar.finish_and_clear();
            self.0.reporter.bars.remove(bar);
        }
        true
    }
}

impl Drop for StepInner {
    fn drop(&mut self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
            self.reporter.bars.remove(bar);
        }
    }
}

impl std::fmt::Debug for Step {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Step({:?})", self.0.message.lock().unwrap_or_else(|e| e.into_inner()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_step_ends_once() {
        let r = Arc::new(Reporter::new(Mode::Quiet, false));
        let s = r.step("►", "36", "working");
        assert!(s.close());
        assert!(!s.clone().close(), "a clone shares the step");
    }
}
