//! A wego command run in a real terminal: a detached tmux session, its screen read back.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use super::Env;

/// A tmux session running one wego command in a pseudo-terminal.
pub struct Term {
    name: String,
}

impl Term {
    /// Run `wego ARGS` in `cwd`, in a clean environment under `env`'s home. With `linger`, the
    /// session stays after wego exits, its screen ending in `EXIT=<code>`; without, it ends with
    /// wego. `None` (test skipped) where tmux is missing, except in CI.
    pub fn start(env: &Env, cwd: &Path, args: &str, linger: bool) -> Option<Term> {
        if Command::new("tmux").arg("-V").output().is_err() {
            assert!(std::env::var("CI").is_err(), "tmux is needed for the terminal tests in CI");
            eprintln!("skipped: no tmux");
            return None;
        }
        let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos();
        let name = format!("wego-term-{}-{nanos}", std::process::id());
        let home = env.home.path().display().to_string();
        let after = if linger { "; echo EXIT=$?; sleep 600" } else { "" };
        let cmd = format!(
            "env -i PATH=/usr/bin:/bin HOME={home} XDG_STATE_HOME={home}/.local/state XDG_CONFIG_HOME={home}/.config XDG_CACHE_HOME={home}/.cache NO_COLOR=1 CHECKPOINT_DISABLE=1 TERM=xterm {} {args}{after}",
            env!("CARGO_BIN_EXE_wego")
        );
        let ok = Command::new("tmux")
            .args(["new-session", "-d", "-s", &name, "-x", "150", "-y", "50", "-c"])
            .arg(cwd)
            .arg(cmd)
            .status()
            .unwrap()
            .success();
        assert!(ok, "tmux new-session");
        Some(Term { name })
    }

    /// Type text literally (no tmux key names).
    pub fn type_text(&self, text: &str) {
        // tmux reads a `;` ending an argument as its command separator; `\;` is a literal one.
        let text = match text.strip_suffix(';') {
            Some(t) => format!("{t}\\;"),
            None => text.to_string(),
        };
        Command::new("tmux").args(["send-keys", "-t", &self.name, "-l", &text]).status().unwrap();
    }

    /// Press a key, by its tmux name (Enter, Tab, C-u).
    pub fn key(&self, key: &str) {
        Command::new("tmux").args(["send-keys", "-t", &self.name, key]).status().unwrap();
    }

    /// Type a line and press Enter.
    pub fn line(&self, text: &str) {
        self.type_text(text);
        self.key("Enter");
    }

    pub fn screen(&self) -> String {
        let o =
            Command::new("tmux").args(["capture-pane", "-p", "-J", "-S", "-200", "-t", &self.name]).output().unwrap();
        String::from_utf8_lossy(&o.stdout).into()
    }

    /// Wait (at most 15 s) until the screen contains `text`; returns the screen.
    pub fn wait_for(&self, text: &str) -> String {
        self.wait_until(&format!("{text:?}"), |s| s.contains(text))
    }

    /// Wait (at most 15 s) until `pred` holds for the screen; returns the screen.
    pub fn wait_until(&self, what: &str, pred: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            let s = self.screen();
            if pred(&s) {
                return s;
            }
            assert!(Instant::now() < deadline, "timed out waiting for {what}; screen:\n{s}");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Whether `pred` holds for the screen within `secs` seconds (no failure when it does not).
    pub fn shows_within(&self, secs: u64, pred: impl Fn(&str) -> bool) -> bool {
        let deadline = Instant::now() + Duration::from_secs(secs);
        while Instant::now() < deadline {
            if pred(&self.screen()) {
                return true;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        false
    }

    pub fn exited(&self) -> bool {
        !Command::new("tmux").args(["has-session", "-t", &self.name]).status().unwrap().success()
    }
}

impl Drop for Term {
    fn drop(&mut self) {
        let _ = Command::new("tmux").args(["kill-session", "-t", &self.name]).status();
    }
}
