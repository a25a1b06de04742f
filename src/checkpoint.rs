//! The update check and usage ping, speaking the Weaveworks checkpoint protocol:
//! `GET {endpoint}/v1/check/weave-gitops?version=..&arch=..&os=..&signature=..`.
//!
//! It never slows a command by more than its timeout and never fails one: the request runs in
//! the background from the moment a command starts, and the answer is only waited for (up to
//! the deadline) when a script asks. Answers are cached for 24 h; a command that pings
//! (install, add) always sends, others reuse a fresh cache. Disabled means no request at all.

use std::path::PathBuf;
use std::sync::mpsc::{channel, Receiver};
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use crate::config::Config;

const CACHE_TTL: Duration = Duration::from_secs(24 * 3600);
const PRODUCT: &str = "weave-gitops";

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Info {
    pub current_version: String,
    #[serde(default)]
    pub current_download_url: String,
    #[serde(default)]
    pub outdated: bool,
}

#[derive(Debug, Serialize, Deserialize)]
struct Cached {
    checked_at: u64,
    /// The wego version the answer is about; a different binary asks again.
    version: String,
    info: Info,
}

enum State {
    Idle,
    Pending { rx: Receiver<Option<Info>>, deadline: Instant },
    Done(Option<Info>),
}

pub struct Checkpoint {
    enabled: bool,
    url: String,
    timeout: Duration,
    state: Mutex<State>,
}

impl Checkpoint {
    pub fn new(config: &Config, offline: bool) -> Self {
        Checkpoint {
            enabled: config.telemetry && !offline,
            url: config.checkpoint.url.trim_end_matches('/').to_string(),
            timeout: Duration::from_millis(config.checkpoint.timeout_ms.clamp(1, 1000)),
            state: Mutex::new(State::Idle),
        }
    }

    pub fn enabled(&self) -> bool {
        self.enabled
    }

    /// Start the check for `command` in the background. `ping` commands always send.
    pub fn start(&self, rt: &tokio::runtime::Handle, command: &str, ping: bool) {
        if !self.enabled {
            return;
        }
        let mut state = self.state.lock().expect("checkpoint");
        if !matches!(*state, State::Idle) {
            return;
        }
        if !ping {
            if let Some(info) = read_cache() {
                *state = State::Done(Some(info));
                return;
            }
        }
        let (tx, rx) = channel();
        let url = format!(
            "{}/v1/check/{PRODUCT}?version={}&arch={}&os={}&signature={}&flag_command={}",
            self.url,
            crate::build_info::VERSION,
            std::env::consts::ARCH,
            std::env::consts::OS,
            signature(),
            command
        );
        let timeout = self.timeout;
        rt.spawn(async move {
            let _ = tx.send(fetch(&url, timeout).await);
        });
        *state = State::Pending { rx, deadline: Instant::now() + self.timeout };
    }

    /// The answer, waiting at most until the deadline set when the check started.
    pub fn result(&self, rt: &tokio::runtime::Handle, command: &str) -> Option<Info> {
        self.start(rt, command, false);
        let mut state = self.state.lock().expect("checkpoint");
        if let State::Pending { rx, deadline } = &*state {
            let wait = deadline.saturating_duration_since(Instant::now());
            let got = rx.recv_timeout(wait).ok().flatten();
            if let Some(info) = &got {
                write_cache(info);
            }
            *state = State::Done(got);
        }
        match &*state {
            State::Done(i) => i.clone(),
            _ => None,
        }
    }
}

async fn fetch(url: &str, timeout: Duration) -> Option<Info> {
    let client = reqwest::Client::builder()
        .timeout(timeout)
        .connect_timeout(timeout)
        .user_agent(format!("wego/{}", crate::build_info::VERSION))
        .build()
        .ok()?;
    let resp = client.get(url).send().await.ok()?;
    if !resp.status().is_success() {
        return None;
    }
    resp.json::<Info>().await.ok()
}

fn cache_dir() -> Option<PathBuf> {
    dirs::cache_dir().map(|d| d.join("wego"))
}

fn now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
}

fn read_cache() -> Option<Info> {
    let text = std::fs::read_to_string(cache_dir()?.join("checkpoint.json")).ok()?;
    let c: Cached = serde_json::from_str(&text).ok()?;
    let fresh = now().saturating_sub(c.checked_at) < CACHE_TTL.as_secs();
    (fresh && c.version == crate::build_info::VERSION).then_some(c.info)
}

fn write_cache(info: &Info) {
    let Some(dir) = cache_dir() else { return };
    let c = Cached { checked_at: now(), version: crate::build_info::VERSION.into(), info: info.clone() };
    if std::fs::create_dir_all(&dir).is_ok() {
        let _ = std::fs::write(dir.join("checkpoint.json"), serde_json::to_string(&c).unwrap_or_default());
    }
}

/// An anonymous, random per-user id (no personal data), kept so repeated runs count once.
fn signature() -> String {
    let Some(dir) = cache_dir() else {
        return String::new();
    };
    let path = dir.join("checkpoint-signature");
    if let Ok(s) = std::fs::read_to_string(&path) {
        if !s.trim().is_empty() {
            return s.trim().to_string();
        }
    }
    let seed = format!("{:?}{}{:?}", SystemTime::now(), std::process::id(), std::thread::current().id());
    let sig = crate::text::short_hash(&seed)[..32].to_string();
    let _ = std::fs::create_dir_all(&dir).and_then(|_| std::fs::write(&path, &sig));
    sig
}
