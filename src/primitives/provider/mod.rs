//! `provider::` — the Git hosting provider's API (GitHub with octocrab, GitLab with the `gitlab`
//! crate): repositories, pull/merge requests, deploy keys, the token's user.
//!
//! Every request goes through [`Http::send`]: a timeout per attempt, and retries with backoff
//! on 5xx, timeouts, connection errors and rate limits (429, or 403 with rate-limit headers),
//! honouring `Retry-After`. The clients' own retries are off, so the counts are ours. Tokens
//! come from GITHUB_TOKEN / GITLAB_TOKEN, go only into request headers, and every message built
//! from a server's answer is redacted.

mod github;
mod gitlab;

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use rhai::{Array, Dynamic, Engine, EvalAltResult, Map, Module};
use serde_json::Value;

use crate::engine::api::ApiModule;
use crate::engine::{fail, Host};
use crate::git::url;
use crate::primitives::log::Level;
use crate::secrets;

type R<T> = Result<T, Box<EvalAltResult>>;

/// A failed provider call: message and fix, never a token.
#[derive(Debug, Clone)]
pub struct ProviderError {
    pub message: String,
    pub help: Option<String>,
}

/// Whether a new repository goes under the token's user (`me`): when asked (`Some(true)`, which
/// must be that user) or when the owner is that user. `group` names the provider's word for an
/// organization in the advice.
pub(crate) fn personal_namespace(
    requested: Option<bool>,
    me: &str,
    owner: &str,
    name: &str,
    group: &str,
) -> Result<bool, ProviderError> {
    let mine = me.eq_ignore_ascii_case(owner);
    if requested == Some(true) && !mine {
        return Err(ProviderError::new(
            format!("cannot create {owner}/{name} under your own account: the token belongs to `{me}`"),
            Some(format!("use owner `{me}`, or leave out `personal` to create it in the {group} `{owner}`")),
        ));
    }
    Ok(mine)
}

impl ProviderError {
    fn new(message: impl Into<String>, help: Option<String>) -> Self {
        ProviderError { message: secrets::redact(&message.into()), help: help.map(|h| secrets::redact(&h)) }
    }
}

type PResult<T> = Result<T, ProviderError>;

/// Retry and timeout settings, from `provider::for_url`'s options.
#[derive(Debug, Clone)]
pub struct Policy {
    /// Retries after the first attempt.
    pub retries: u32,
    /// Per attempt.
    pub timeout: Duration,
    /// The longest wait wego accepts (Retry-After / rate-limit reset) before giving up.
    pub max_wait: Duration,
    /// First backoff; doubles per retry.
    pub backoff: Duration,
    /// How long wego waits for the provider to catch up with a push or a new repository
    /// (a pull request's head "not found" / "No commits between" right after the push, a new
    /// repository not visible yet).
    pub settle: Duration,
    /// The longest one call may take, all retries and waits included.
    pub deadline: Duration,
}

/// An HTTP answer.
#[derive(Debug)]
pub struct Resp {
    pub status: u16,
    pub headers: http::HeaderMap,
    pub body: String,
}

impl Resp {
    /// A lookup's answer: `Some(read(body))`, `None` for 404, else the explained error.
    pub fn found<T>(&self, ex: &Explain<'_>, read: impl Fn(&Value) -> T) -> PResult<Option<T>> {
        match self.status {
            404 => Ok(None),
            _ if self.ok() => Ok(Some(read(&self.json()))),
            _ => Err(ex.error(self)),
        }
    }

    fn ok(&self) -> bool {
        (200..300).contains(&self.status)
    }

    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or(Value::Null)
    }

    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The provider's error text: GitHub `message` + `errors[]`, GitLab `message` (string,
    /// list or field map) or `error`.
    fn message(&self) -> String {
        let v = self.json();
        let mut parts = Vec::new();
        match &v["message"] {
            Value::String(s) => parts.push(s.clone()),
            Value::Array(a) => parts.extend(a.iter().map(flat)),
            Value::Object(m) => parts.extend(m.iter().map(|(k, v)| format!("{k} {}", flat(v)))),
            _ => {}
        }
        if let Some(e) = v["error"].as_str() {
            parts.push(e.to_string());
        }
        for e in v["errors"].as_array().into_iter().flatten() {
            match e {
                Value::String(s) => parts.push(s.clone()),
                Value::Object(_) => {
                    let m = e["message"].as_str().map(str::to_string).unwrap_or_else(|| {
                        [&e["resource"], &e["field"], &e["code"]]
                            .iter()
                            .filter_map(|x| x.as_str())
                            .collect::<Vec<_>>()
                            .join(" ")
                    });
                    if !m.is_empty() {
                        parts.push(m);
                    }
                }
                _ => {}
            }
        }
        if parts.is_empty() {
            let t = self.body.trim();
            parts.push(if t.is_empty() { format!("HTTP {}", self.status) } else { t.chars().take(200).collect() });
        }
        secrets::redact(&parts.join(": "))
    }
}

fn flat(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Array(a) => a.iter().map(flat).collect::<Vec<_>>().join(", "),
        other => other.to_string(),
    }
}

/// The full chain of an error's causes, on one line.
pub fn chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        let t = c.to_string();
        if !s.contains(&t) {
            s.push_str(": ");
            s.push_str(&t);
        }
        cur = c.source();
    }
    secrets::redact(&s)
}

/// What the retry loop needs to know about the provider, and where it logs.
pub struct Http<'a> {
    pub host: &'a Host,
    /// `GitHub` / `GitLab`, for messages.
    pub name: &'static str,
    pub api: &'a str,
    pub policy: &'a Policy,
}

fn retry_after(r: &Resp) -> Option<Duration> {
    let v = r.header("retry-after")?.trim();
    if let Ok(secs) = v.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    http_date(v).map(|t| t.duration_since(SystemTime::now()).unwrap_or(Duration::ZERO))
}

/// An IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`), the HTTP-date form servers send.
fn http_date(v: &str) -> Option<SystemTime> {
    let f: Vec<&str> = v.split_whitespace().collect();
    let [_, day, mon, year, hms, "GMT"] = f.as_slice() else { return None };
    let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
    let m = months.iter().position(|x| x == mon)? as i64 + 1;
    let (d, y): (i64, i64) = (day.parse().ok()?, year.parse().ok()?);
    let t: Vec<i64> = hms.split(':').map(|x| x.parse().ok()).collect::<Option<_>>()?;
    let [hh, mm, ss] = t.as_slice() else { return None };
    // Days from civil (Howard Hinnant's algorithm).
    let y2 = if m <= 2 { y - 1 } else { y };
    let era = y2.div_euclid(400);
    let yoe = y2 - era * 400;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146097 + doe - 719468;
    let secs = days * 86400 + hh * 3600 + mm * 60 + ss;
    u64::try_from(secs).ok().map(|s| SystemTime::UNIX_EPOCH + Duration::from_secs(s))
}

/// How long a rate-limited answer asks us to wait: `None` when it is not a rate limit.
fn rate_limit_wait(r: &Resp) -> Option<Option<Duration>> {
    let remaining_zero = r.header("x-ratelimit-remaining").is_some_and(|v| v.trim() == "0");
    // GitHub's secondary rate limit: 403 (or 429) whose message says so, often without Retry-After.
    let secondary = r.status == 403 && {
        let m = r.message().to_ascii_lowercase();
        m.contains("secondary rate limit") || m.contains("abuse detection")
    };
    let limited =
        r.status == 429 || (r.status == 403 && (r.header("retry-after").is_some() || remaining_zero || secondary));
    if !limited {
        return None;
    }
    if let Some(d) = retry_after(r) {
        return Some(Some(d));
    }
    // The reset time is the primary limit's: it applies only when that limit is used up.
    if !remaining_zero {
        return Some(None);
    }
    let reset = r
        .header("x-ratelimit-reset")
        .or_else(|| r.header("ratelimit-reset"))
        .and_then(|v| v.trim().parse::<u64>().ok());
    Some(reset.map(|epoch| {
        let now = SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).unwrap_or_default().as_secs();
        Duration::from_secs(epoch.saturating_sub(now) + 1)
    }))
}

/// `HH:MM:SS UTC` of a moment, for "retry after" advice.
fn utc_clock(t: SystemTime) -> String {
    let secs = t.duration_since(SystemTime::UNIX_EPOCH).unwrap_or_default().as_secs() % 86400;
    format!("{:02}:{:02}:{:02} UTC", secs / 3600, secs / 60 % 60, secs % 60)
}

impl Http<'_> {
    /// Run `attempt` until it gives a final answer. Returns the answer (any status the caller
    /// must interpret) or an error when retries are exhausted, a wait is too long, or the
    /// call's deadline passes.
    pub async fn send<F, Fut>(&self, what: &str, mut attempt: F) -> PResult<Resp>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<Resp, String>>,
    {
        let p = self.policy;
        let start = std::time::Instant::now();
        let mut n = 0u32;
        loop {
            let outcome = tokio::time::timeout(p.timeout, attempt()).await;
            let backoff = p.backoff.saturating_mul(1u32 << n.min(16)).min(Duration::from_secs(30));
            let (problem, wait) = match outcome {
                Err(_) => (format!("no answer within {}s", p.timeout.as_secs_f32()), backoff),
                Ok(Err(e)) => (format!("cannot reach {}: {e}", self.api), backoff),
                Ok(Ok(r)) => {
                    if let Some(w) = rate_limit_wait(&r) {
                        // Without a stated wait, back off exponentially (GitHub's advice for
                        // secondary limits), never longer than max_wait.
                        let w = w.unwrap_or_else(|| backoff.max(Duration::from_secs(1)).min(p.max_wait));
                        if w > p.max_wait || start.elapsed() + w > p.deadline {
                            return Err(ProviderError::new(
                                format!(
                                    "{} is rate limiting wego ({} {}): it asks to wait {}s, until {}",
                                    self.name,
                                    r.status,
                                    r.message(),
                                    w.as_secs(),
                                    utc_clock(SystemTime::now() + w)
                                ),
                                Some(format!(
                                    "run the command again after {} (waits up to the `max_wait_seconds` option of provider::for_url, {}s, are waited out)",
                                    utc_clock(SystemTime::now() + w),
                                    p.max_wait.as_secs()
                                )),
                            ));
                        }
                        (format!("rate limited ({})", r.status), w)
                    } else if r.status >= 500 {
                        let msg = r.message();
                        let problem =
                            if msg == format!("HTTP {}", r.status) { msg } else { format!("HTTP {}: {msg}", r.status) };
                        (problem, retry_after(&r).unwrap_or(backoff))
                    } else {
                        return Ok(r);
                    }
                }
            };
            if n >= p.retries || start.elapsed() + wait > p.deadline {
                return Err(ProviderError::new(
                    format!("{what}: {} failed after {} attempt(s): {problem}", self.name, n + 1),
                    Some(format!(
                        "check that {} is reachable and healthy, then run the command again (more retries: the `retries` option of provider::for_url)",
                        self.api
                    )),
                ));
            }
            n += 1;
            let msg = format!("{what}: {problem}; retry {n}/{} in {:.1}s", p.retries, wait.as_secs_f32());
            if wait >= Duration::from_secs(1) {
                self.host.log.emit(Level::Info, "◎", "36", &secrets::redact(&msg));
            } else {
                self.host.log.emit(Level::Debug, "…", "90", &secrets::redact(&msg));
            }
            tokio::time::sleep(wait).await;
        }
    }
}

/// Repeat `attempt` while it says the provider has not caught up yet (`(value, true)`: a
/// pull request's head "not found" right after the push, a new repository not visible yet),
/// backing off from 250 ms (doubling, at most 2 s) until `policy.settle` has passed; then the
/// last value is returned for the caller to explain.
pub(crate) async fn settle<T, F, Fut>(http: &Http<'_>, what: &str, mut attempt: F) -> PResult<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = PResult<(T, bool)>>,
{
    let start = std::time::Instant::now();
    let mut wait = Duration::from_millis(250);
    loop {
        let (v, settling) = attempt().await?;
        if !settling || start.elapsed() + wait > http.policy.settle {
            return Ok(v);
        }
        let msg = format!("{what}: {} has not caught up yet; again in {:.2}s", http.name, wait.as_secs_f32());
        http.host.log.emit(Level::Debug, "…", "90", &msg);
        tokio::time::sleep(wait).await;
        wait = (wait * 2).min(Duration::from_secs(2));
    }
}

/// Published SSH host keys as `type base64`, each checked: the base64 decodes to a key blob of
/// the stated type and, when the provider lists SHA256 fingerprints too, its fingerprint is
/// one of them. A key that fails either check fails the whole answer.
pub(crate) fn checked_host_keys(keys: &[String], fingerprints: &[String]) -> PResult<Vec<String>> {
    use base64::Engine as _;
    use sha2::Digest;
    let mut out = Vec::new();
    for k in keys {
        let k = norm_key(k);
        let bad = || ProviderError::new(format!("the provider published a malformed SSH host key `{k}`"), None);
        let (kind, b64) = k.split_once(' ').ok_or_else(bad)?;
        let blob = base64::engine::general_purpose::STANDARD.decode(b64).map_err(|_| bad())?;
        let n = blob.get(..4).map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]) as usize).ok_or_else(bad)?;
        if blob.get(4..4usize.saturating_add(n)) != Some(kind.as_bytes()) {
            return Err(bad());
        }
        if !fingerprints.is_empty() {
            let fp = base64::engine::general_purpose::STANDARD_NO_PAD.encode(sha2::Sha256::digest(&blob));
            if !fingerprints.iter().any(|f| f.trim_start_matches("SHA256:") == fp) {
                return Err(ProviderError::new(
                    format!("the provider's SSH host key `{kind}` matches none of its published fingerprints"),
                    Some("do not trust this host key; check the provider's API URL".into()),
                ));
            }
        }
        out.push(k);
    }
    Ok(out)
}

/// The two APIs behind a handle.
enum Client {
    GitHub(github::GitHub),
    GitLab(gitlab::GitLab),
}

/// A provider handle: a host's API, optionally bound to the repository of the URL it was made from.
#[derive(Clone)]
pub struct Provider {
    inner: Arc<Inner>,
}

struct Inner {
    kind: &'static str,
    api: String,
    /// `owner/name` of the URL the handle was made for, if it named one.
    repo: Option<(String, String)>,
    token_var: &'static str,
    has_token: bool,
    policy: Policy,
    client: Client,
}

/// Context for explaining a failed call.
pub struct Explain<'a> {
    pub name: &'static str,
    pub token_var: &'static str,
    pub has_token: bool,
    pub scope: &'static str,
    /// What wego tried, e.g. "create a pull request in org/repo".
    pub action: &'a str,
    /// Whether the action needs admin rights (GitHub answers 404 to non-admins for those).
    pub admin_only: bool,
}

impl Explain<'_> {
    /// Turn a non-success answer into an error that says what to do.
    pub fn error(&self, r: &Resp) -> ProviderError {
        let (name, var, action, msg) = (self.name, self.token_var, self.action, r.message());
        let (message, help) = match r.status {
            401 if !self.has_token => (
                format!("cannot {action}: {name} needs a token and {var} is not set ({msg})"),
                format!("set {var} to a personal access token with the `{}` scope", self.scope),
            ),
            401 => (
                format!("cannot {action}: {name} rejected the token in {var} ({msg})"),
                format!("check that {var} holds a valid, unexpired token for this {name} host"),
            ),
            403 => (
                format!("cannot {action}: {name} refused it ({msg})"),
                if self.has_token {
                    format!(
                        "the token in {var} lacks a permission: it needs the `{}` scope and, for deploy keys or creating repositories in an organization, admin rights",
                        self.scope
                    )
                } else {
                    format!("set {var} to a token with the `{}` scope", self.scope)
                },
            ),
            404 if self.admin_only && self.has_token => (
                format!("cannot {action}: not found ({msg}) — no such repository, or the token's user is no admin of it"),
                format!("deploy keys need admin rights on the repository: use a token ({var}) of a repository admin, and check the owner and name"),
            ),
            404 => (
                format!("cannot {action}: not found ({msg}) — no such repository or owner, or the token has no access to it"),
                if self.has_token {
                    format!("check the owner and name; a private repository looks missing to a token without access to it ({var})")
                } else {
                    format!("check the owner and name; for a private repository set {var}")
                },
            ),
            _ => (
                format!("cannot {action}: {name} answered {} ({msg})", r.status),
                "check the request's values".to_string(),
            ),
        };
        ProviderError::new(message, Some(help))
    }
}

impl Inner {
    fn explain<'a>(&self, action: &'a str) -> Explain<'a> {
        Explain {
            name: if self.kind == "github" { "GitHub" } else { "GitLab" },
            token_var: self.token_var,
            has_token: self.has_token,
            scope: if self.kind == "github" { "repo" } else { "api" },
            action,
            admin_only: action.contains("deploy key"),
        }
    }

    fn http<'a>(&'a self, host: &'a Host) -> Http<'a> {
        Http {
            host,
            name: if self.kind == "github" { "GitHub" } else { "GitLab" },
            api: &self.api,
            policy: &self.policy,
        }
    }

    fn bound(&self, prim: &str) -> R<(&str, &str)> {
        self.repo.as_ref().map(|(o, n)| (o.as_str(), n.as_str())).ok_or_else(|| {
            fail(
                prim,
                "this provider handle names no repository",
                Some("make it from a repository URL: provider::for_url(\"https://github.com/org/repo\")"),
            )
        })
    }
}

// ---- results, the same shape for both providers

/// `#{owner, name, path, visibility, private, default_branch, clone_url, ssh_url, html_url}`
#[derive(Debug, Clone, serde::Serialize)]
pub struct RepoInfo {
    pub owner: String,
    pub name: String,
    pub path: String,
    pub visibility: String,
    pub private: bool,
    pub default_branch: String,
    pub clone_url: String,
    pub ssh_url: String,
    pub html_url: String,
    pub id: i64,
}

/// `#{number, url, state, head, base, title}`; `state` is `open`, `closed` or `merged`.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Pr {
    pub number: i64,
    pub url: String,
    pub state: String,
    pub head: String,
    pub base: String,
    pub title: String,
}

/// `#{id, title, key, read_only}`
#[derive(Debug, Clone, serde::Serialize)]
pub struct Key {
    pub id: i64,
    pub title: String,
    pub key: String,
    pub read_only: bool,
}

/// `#{login, name, email, id}`
#[derive(Debug, Clone, serde::Serialize)]
pub struct User {
    pub login: String,
    pub name: String,
    pub email: String,
    pub id: i64,
}

/// `type algo base64` without the comment, for comparing keys.
pub fn norm_key(k: &str) -> String {
    k.split_whitespace().take(2).collect::<Vec<_>>().join(" ")
}

/// Percent-encode one URL path segment.
pub fn enc(seg: &str) -> String {
    let mut out = String::new();
    for b in seg.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn s(v: &Value) -> String {
    v.as_str().unwrap_or_default().to_string()
}

fn to_map<T: serde::Serialize>(v: &T, extra: &[(&str, Dynamic)]) -> Dynamic {
    let mut d = super::to_dynamic(&serde_json::to_value(v).expect("result serializes"));
    if let Some(mut m) = d.write_lock::<Map>() {
        for (k, v) in extra {
            m.insert((*k).into(), v.clone());
        }
    }
    d
}

fn for_url(h: &Arc<Host>, raw: &str, opts: &Map) -> R<Provider> {
    const P: &str = "provider::for_url";
    let u = url::parse(raw).map_err(|e| fail(P, e, None))?;
    if u.had_secret {
        return Err(fail(
            P,
            format!("the URL {} carries a password or token", u.to_git()),
            Some("set GITHUB_TOKEN or GITLAB_TOKEN instead"),
        ));
    }
    let config = h.config();
    let providers = &config.providers;
    let (kind, entry, prefix) = url::provider_of(&u, providers);
    let kind: &'static str =
        match kind.as_str() {
            "github" => "github",
            "gitlab" => "gitlab",
            "" => return Err(fail(
                P,
                format!("no known provider serves {}", if u.host.is_empty() { raw } else { &u.host }),
                Some("add an entry to the config's `providers:` list: `host`, `type` (github or gitlab) and `apiUrl`"),
            )),
            other => {
                return Err(fail(
                    P,
                    format!("unknown provider type `{other}` in the config"),
                    Some("use `github` or `gitlab`"),
                ))
            }
        };
    let rest = u.path.trim_start_matches('/');
    let rest = rest.strip_prefix(prefix.as_str()).unwrap_or(rest).trim_start_matches('/');
    let repo = if rest.trim_matches('/').is_empty() {
        None
    } else {
        let d = url::describe(raw, providers).map_err(|e| fail(P, e, None))?;
        Some((d.owner, d.repo))
    };
    let host_part = if prefix.is_empty() { u.host.clone() } else { format!("{}/{prefix}", u.host) };
    let api = match entry.map(|e| e.api_url.trim()).filter(|a| !a.is_empty()) {
        Some(a) => a.trim_end_matches('/').to_string(),
        None if kind == "github" && u.host == "github.com" => "https://api.github.com".into(),
        None if kind == "github" => format!("https://{host_part}/api/v3"),
        None => format!("https://{host_part}"),
    };
    // The token goes only over https, unless the user's own config opts this host in.
    let allow_http = entry.is_some_and(|e| e.allow_http);
    match api.split_once("://").map(|(scheme, _)| scheme.to_ascii_lowercase()) {
        Some(s) if s == "https" => {}
        Some(s) if s == "http" && allow_http => {}
        Some(s) if s == "http" => {
            return Err(fail(
                P,
                format!("refusing the plain-http API URL {api}: the token would be sent unencrypted"),
                Some(&format!(
                    "use an https `apiUrl`, or, for a trusted local server only, add `allowHttp: true` to the `providers:` entry of host `{}` in your config",
                    entry.map(|e| e.host.as_str()).unwrap_or(u.host.as_str())
                )),
            ))
        }
        _ => {
            return Err(fail(
                P,
                format!("the API URL {api} is neither https nor http"),
                Some("set the `providers:` entry's `apiUrl` to an https URL"),
            ))
        }
    }
    let num = |k: &str, d: i64| opts.get(k).and_then(|v| v.as_int().ok()).unwrap_or(d).max(0) as u64;
    let policy = Policy {
        retries: num("retries", 3).min(20) as u32,
        timeout: Duration::from_secs(num("timeout_seconds", 30).max(1)),
        max_wait: Duration::from_secs(num("max_wait_seconds", 60)),
        backoff: Duration::from_millis(num("backoff_ms", 500)),
        settle: Duration::from_secs(num("settle_seconds", 10)),
        deadline: Duration::from_secs(num("deadline_seconds", 300).max(1)),
    };
    let token = secrets::api_token(kind);
    let token_var = secrets::var_for(kind);
    let client = match kind {
        "github" => {
            Client::GitHub(github::GitHub::new(&h.rt, &api, token.as_ref(), &policy).map_err(|e| fail(P, e, None))?)
        }
        _ => Client::GitLab(h.block_on(gitlab::GitLab::new(&api, token.clone())).map_err(|e| fail(P, e, None))?),
    };
    h.log.emit(Level::Debug, "…", "90", &format!("{kind} API {api}"));
    Ok(Provider { inner: Arc::new(Inner { kind, api, repo, token_var, has_token: token.is_some(), policy, client }) })
}

/// Register the `Provider` type.
pub fn register_types(engine: &mut Engine) {
    engine.register_type_with_name::<Provider>("Provider");
}

fn perr(prim: &str, e: ProviderError) -> Box<EvalAltResult> {
    fail(prim, e.message, e.help.as_deref())
}

pub fn module(host: &Arc<Host>) -> Module {
    let mut m = ApiModule::new(
        "The Git hosting provider's API (GitHub, GitLab): repositories, pull/merge requests, deploy keys. Tokens: GITHUB_TOKEN / GITLAB_TOKEN.",
    );
    let for_doc = "A `Provider` handle for the host of `url` — GitHub (github.com) or GitLab (gitlab.com), or any host listed in the config's `providers:` (`host`, `type`, `apiUrl`; for GitHub Enterprise and self-hosted GitLab). When `url` names a repository, the handle is bound to it (for `find_pr`, `create_pr` and deploy keys). Options: `retries` (default 3; retried: 5xx, timeouts, connection errors, rate limits honouring Retry-After), `timeout_seconds` (per request, default 30), `max_wait_seconds` (longest rate-limit wait accepted, default 60), `backoff_ms` (first backoff, default 500, doubling), `settle_seconds` (how long to wait for the provider to catch up with a push or a new repository, default 10), `deadline_seconds` (longest time one call may take with its retries, default 300). Secondary rate limits without Retry-After are backed off exponentially; a wait longer than `max_wait_seconds` fails at once, saying when to retry. API URLs must be https unless the config's entry has `allowHttp: true`. No request is sent until a method is called.\n\nErrors: no provider known for the host, a URL carrying a secret.\n\nExample: `let gh = provider::for_url(\"https://github.com/org/fleet\", #{ retries: 5 });`";
    let h = host.clone();
    m.func("for_url", &["url: &str", "options: Map", "Provider"], for_doc, move |u: &str, o: Map| for_url(&h, u, &o));
    let h = host.clone();
    m.func("for_url", &["url: &str", "Provider"], for_doc, move |u: &str| for_url(&h, u, &Map::new()));

    m.method(
        "kind",
        &["provider: &mut Provider", "String"],
        "`github` or `gitlab`.\n\nExample: `if p.kind() == \"gitlab\" { ... }`",
        |p: &mut Provider| p.inner.kind.to_string(),
    );
    m.method(
        "api_url",
        &["provider: &mut Provider", "String"],
        "The API base URL in use.\n\nExample: `log::debug(p.api_url());`",
        |p: &mut Provider| p.inner.api.clone(),
    );
    for name in ["to_string", "to_debug"] {
        m.method(
            name,
            &["provider: &mut Provider", "String"],
            "`Provider(<kind> <api url> <owner/name>)`.\n\nExample: `print(p);`",
            |p: &mut Provider| {
                let repo = p.inner.repo.as_ref().map(|(o, n)| format!(" {o}/{n}")).unwrap_or_default();
                format!("Provider({} {}{repo})", p.inner.kind, p.inner.api)
            },
        );
    }

    let h = host.clone();
    m.method(
        "user",
        &["provider: &mut Provider", "Map"],
        "The user the token belongs to: `#{login, name, email, id}`.\n\nErrors: no token or a rejected one (names the variable), unreachable API.\n\nExample: `let me = p.user().login;`",
        move |p: &mut Provider| -> R<Dynamic> {
            let i = &p.inner;
            let u = h
                .block_on(async {
                    match &i.client {
                        Client::GitHub(c) => c.user(&i.http(&h), &i.explain("read the token's user")).await,
                        Client::GitLab(c) => c.user(&i.http(&h), &i.explain("read the token's user")).await,
                    }
                })
                .map_err(|e| perr("provider.user", e))?;
            Ok(to_map(&u, &[]))
        },
    );

    let repo_doc = "A repository: `#{owner, name, path, visibility, private, default_branch, clone_url, ssh_url, html_url, id}`, or `()` when it does not exist (or the token cannot see it). Without arguments: the repository of the handle's URL.\n\nErrors: a rejected token, unreachable API.\n\nExample: `let r = p.repo(\"org\", \"fleet\"); if r == () { ... }`";
    let h = host.clone();
    m.method(
        "repo",
        &["provider: &mut Provider", "owner: &str", "name: &str", "Dynamic"],
        repo_doc,
        move |p: &mut Provider, o: &str, n: &str| get_repo(&h, p, o, n),
    );
    let h = host.clone();
    m.method("repo", &["provider: &mut Provider", "Dynamic"], repo_doc, move |p: &mut Provider| {
        let (o, n) = p.inner.bound("provider.repo")?;
        let (o, n) = (o.to_string(), n.to_string());
        get_repo(&h, p, &o, &n)
    });

    let h = host.clone();
    m.method(
        "create_repo",
        &["provider: &mut Provider", "owner: &str", "name: &str", "options: Map", "Map"],
        "Create a repository and return it like `repo()`, plus `created: true`; an existing one is returned with `created: false`. Options: `visibility` (`private` (default), `public`, `internal`; or `\"private\": bool` — `private` is a reserved word in Rhai, so quote it), `personal` (create under the token's user; default: when `owner` is that user, else in the organization / group `owner`, GitLab subgroups as `group/sub`), `description`, `auto_init` (an initial commit; default false).\n\nErrors: no token or missing scope (names the variable), no such organization/group, `personal` with another owner.\n\nExample: `let r = p.create_repo(\"org\", \"fleet\", #{ visibility: \"private\" });`",
        move |p: &mut Provider, o: &str, n: &str, opts: Map| -> R<Dynamic> {
            let i = &p.inner;
            let action = format!("create repository {o}/{n}");
            let ex = i.explain(&action);
            let personal = opts.get("personal").and_then(|v| v.as_bool().ok());
            // `private` is a reserved word in Rhai (`#{"private": true}` works); `visibility` reads better.
            let visibility = match (super::opt_str(&opts, "visibility"), opts.get("private").and_then(|v| v.as_bool().ok())) {
                (Some(v), _) => v,
                (None, Some(false)) => "public".to_string(),
                (None, _) => "private".to_string(),
            };
            if !["private", "public", "internal"].contains(&visibility.as_str()) {
                return Err(fail("provider.create_repo", format!("unknown visibility `{visibility}`"), Some("use private, public or internal")));
            }
            let description = super::opt_str(&opts, "description");
            let auto_init = super::opt_bool(&opts, "auto_init");
            let req = CreateRepo { owner: o, name: n, personal, visibility: &visibility, description: description.as_deref(), auto_init };
            let (r, created) = h
                .block_on(async {
                    let http = i.http(&h);
                    // Idempotent: an existing repository is returned as it is.
                    let existing = match &i.client {
                        Client::GitHub(c) => c.repo(&http, &ex, o, n).await?,
                        Client::GitLab(c) => c.repo(&http, &ex, o, n).await?,
                    };
                    if let Some(r) = existing {
                        return Ok((r, false));
                    }
                    let personal = match personal {
                        Some(false) => false,
                        _ => {
                            let (me, group) = match &i.client {
                                Client::GitHub(c) => (c.user(&http, &ex).await?, "organization"),
                                Client::GitLab(c) => (c.user(&http, &ex).await?, "group"),
                            };
                            personal_namespace(personal, &me.login, o, n, group)?
                        }
                    };
                    let (r, created) = match &i.client {
                        Client::GitHub(c) => c.create_repo(&http, &ex, &req, personal).await?,
                        Client::GitLab(c) => c.create_repo(&http, &ex, &req, personal).await?,
                    };
                    // A new repository is briefly invisible (API 404, clone fails): return once
                    // the provider shows it, so the caller can clone and push right away.
                    let seen = settle(&http, "wait for the new repository", || async {
                        let v = match &i.client {
                            Client::GitHub(c) => c.repo(&http, &ex, o, n).await?,
                            Client::GitLab(c) => c.repo(&http, &ex, o, n).await?,
                        };
                        let missing = v.is_none();
                        Ok((v, missing))
                    })
                    .await?;
                    match seen {
                        Some(r) => Ok((r, created)),
                        None => Err(ProviderError::new(
                            format!("created {}, but {} does not show it yet", r.path, i.explain("").name),
                            Some("run the command again in a minute (a longer wait: the `settle_seconds` option of provider::for_url)".into()),
                        )),
                    }
                })
                .map_err(|e| perr("provider.create_repo", e))?;
            Ok(to_map(&r, &[("created", created.into())]))
        },
    );

    let h = host.clone();
    m.method(
        "find_pr",
        &["provider: &mut Provider", "options: Map", "Dynamic"],
        "The newest pull/merge request of the handle's repository from branch `head` (`\"branch\"` or, on GitHub, `\"owner:branch\"`): `#{number, url, state, head, base, title}`, or `()`. Options: `head` (required), `base`, `state` (`open` (default), `closed`, `merged`, `all`).\n\nErrors: no repository on the handle, a rejected token, no such repository.\n\nExample: `let pr = p.find_pr(#{ head: \"wego/add-podinfo\" });`",
        move |p: &mut Provider, opts: Map| -> R<Dynamic> {
            let i = &p.inner;
            let (o, n) = i.bound("provider.find_pr")?;
            let head = super::opt_str(&opts, "head").ok_or_else(|| fail("provider.find_pr", "the `head` option is required", None))?;
            let base = super::opt_str(&opts, "base");
            let state = super::opt_str(&opts, "state").unwrap_or_else(|| "open".into());
            if !["open", "closed", "merged", "all"].contains(&state.as_str()) {
                return Err(fail("provider.find_pr", format!("unknown state `{state}`"), Some("use open, closed, merged or all")));
            }
            let action = format!("list pull requests of {o}/{n}");
            let ex = i.explain(&action);
            let pr = h
                .block_on(async {
                    match &i.client {
                        Client::GitHub(c) => c.find_pr(&i.http(&h), &ex, o, n, &head, base.as_deref(), &state).await,
                        Client::GitLab(c) => c.find_pr(&i.http(&h), &ex, o, n, &head, base.as_deref(), &state).await,
                    }
                })
                .map_err(|e| perr("provider.find_pr", e))?;
            Ok(pr.map(|p| to_map(&p, &[])).unwrap_or(Dynamic::UNIT))
        },
    );

    let h = host.clone();
    m.method(
        "list_prs",
        &["provider: &mut Provider", "options: Map", "Array"],
        "The pull/merge requests of the handle's repository, newest first, every page of them: `[#{number, url, state, head, base, title}]`. Options: `state` (`open` (default), `closed`, `merged`, `all`).\n\nErrors: no repository on the handle, a rejected token, no such repository.\n\nExample: `let waiting = p.list_prs(#{}).filter(|pr| pr.head.starts_with(\"wego/\"));`",
        move |p: &mut Provider, opts: Map| -> R<Array> {
            let i = &p.inner;
            let (o, n) = i.bound("provider.list_prs")?;
            let state = super::opt_str(&opts, "state").unwrap_or_else(|| "open".into());
            if !["open", "closed", "merged", "all"].contains(&state.as_str()) {
                return Err(fail("provider.list_prs", format!("unknown state `{state}`"), Some("use open, closed, merged or all")));
            }
            let action = format!("list pull requests of {o}/{n}");
            let ex = i.explain(&action);
            let prs = h
                .block_on(async {
                    match &i.client {
                        Client::GitHub(c) => c.list_prs(&i.http(&h), &ex, o, n, &state).await,
                        Client::GitLab(c) => c.list_prs(&i.http(&h), &ex, o, n, &state).await,
                    }
                })
                .map_err(|e| perr("provider.list_prs", e))?;
            Ok(prs.iter().map(|p| to_map(p, &[])).collect())
        },
    );

    let h = host.clone();
    m.method(
        "create_pr",
        &["provider: &mut Provider", "options: Map", "Map"],
        "Open a pull/merge request in the handle's repository from branch `head` into `base` (default: the repository's default branch). If an open one from `head` exists it is returned instead: `#{number, url, state, head, base, title, created}` with `created` false then. Options: `title` (required), `body`, `head` (required), `base`.\n\nErrors: no token or missing scope (names the variable), `head` has no commits that `base` lacks, missing branch.\n\nExample: `let pr = p.create_pr(#{ title: \"Add podinfo\", body: text, head: branch });`",
        move |p: &mut Provider, opts: Map| -> R<Dynamic> {
            let i = &p.inner;
            let (o, n) = i.bound("provider.create_pr")?;
            let need = |k: &str| {
                super::opt_str(&opts, k).filter(|v| !v.is_empty()).ok_or_else(|| fail("provider.create_pr", format!("the `{k}` option is required"), None))
            };
            let (title, head) = (need("title")?, need("head")?);
            let body = super::opt_str(&opts, "body").unwrap_or_default();
            let base = super::opt_str(&opts, "base");
            let action = format!("open a pull request in {o}/{n}");
            let ex = i.explain(&action);
            let req = CreatePr { owner: o, name: n, title: &title, body: &body, head: &head, base: base.as_deref() };
            let (pr, created) = h
                .block_on(async {
                    match &i.client {
                        Client::GitHub(c) => c.create_pr(&i.http(&h), &ex, &req).await,
                        Client::GitLab(c) => c.create_pr(&i.http(&h), &ex, &req).await,
                    }
                })
                .map_err(|e| perr("provider.create_pr", e))?;
            Ok(to_map(&pr, &[("created", created.into())]))
        },
    );

    let h = host.clone();
    m.method(
        "ssh_host_keys",
        &["provider: &mut Provider", "Dynamic"],
        "The SSH host keys the provider publishes for its git host, as `[\"KEYTYPE BASE64\"]` (compose known_hosts lines as `HOST KEYTYPE BASE64`), or `()` when the provider publishes none. GitHub: `GET /meta` (`ssh_keys`, each checked against `ssh_key_fingerprints`); GitLab's API has no such endpoint, so `()`. Fetched over the API's https with the token's trust, so the keys are verified without trusting on first use.\n\nErrors: unreachable API, a malformed key or one matching no published fingerprint.\n\nExample: `let keys = p.ssh_host_keys(); if keys != () { let kh = keys.map(|k| `github.com ${k}`); }`",
        move |p: &mut Provider| -> R<Dynamic> {
            let i = &p.inner;
            let ex = i.explain("read the provider's SSH host keys");
            let keys = h
                .block_on(async {
                    match &i.client {
                        Client::GitHub(c) => c.ssh_host_keys(&i.http(&h), &ex).await,
                        Client::GitLab(_) => Ok(None),
                    }
                })
                .map_err(|e| perr("provider.ssh_host_keys", e))?;
            Ok(keys.map(|ks| Dynamic::from_array(ks.into_iter().map(Dynamic::from).collect())).unwrap_or(Dynamic::UNIT))
        },
    );

    let h = host.clone();
    m.method(
        "deploy_keys",
        &["provider: &mut Provider", "Array"],
        "The deploy keys of the handle's repository: `[#{id, title, key, read_only}]`.\n\nErrors: no token or no admin rights (names the variable), no such repository.\n\nExample: `for k in p.deploy_keys() { print(k.title); }`",
        move |p: &mut Provider| -> R<Array> {
            let i = &p.inner;
            let (o, n) = i.bound("provider.deploy_keys")?;
            let action = format!("list the deploy keys of {o}/{n}");
            let keys = h
                .block_on(list_keys(&h, i, &action, o, n))
                .map_err(|e| perr("provider.deploy_keys", e))?;
            Ok(keys.iter().map(|k| to_map(k, &[])).collect())
        },
    );

    let h = host.clone();
    m.method(
        "add_deploy_key",
        &["provider: &mut Provider", "options: Map", "Map"],
        "Add a deploy key (an ssh public key) to the handle's repository; idempotent: a key with the same title and key is returned as is. Returns `#{id, title, key, read_only, created}`. Options: `title`, `key` (both required), `read_only` (default true).\n\nErrors: no token or no admin rights (names the variable), an invalid key, a key already used elsewhere (GitHub keys are unique per site).\n\nExample: `p.add_deploy_key(#{ title: \"wego-cluster\", key: public_key, read_only: true });`",
        move |p: &mut Provider, opts: Map| -> R<Dynamic> {
            let i = &p.inner;
            let (o, n) = i.bound("provider.add_deploy_key")?;
            let need = |k: &str| {
                super::opt_str(&opts, k)
                    .filter(|v| !v.trim().is_empty())
                    .ok_or_else(|| fail("provider.add_deploy_key", format!("the `{k}` option is required"), None))
            };
            let (title, key) = (need("title")?, need("key")?);
            let read_only = opts.get("read_only").and_then(|v| v.as_bool().ok()).unwrap_or(true);
            let action = format!("add a deploy key to {o}/{n}");
            let ex = i.explain(&action);
            let (k, created) = h
                .block_on(async {
                    let existing = list_keys(&h, i, &action, o, n).await?;
                    if let Some(k) = existing.iter().find(|k| k.title == title && norm_key(&k.key) == norm_key(&key)) {
                        return Ok((k.clone(), false));
                    }
                    let (k, created) = match &i.client {
                        Client::GitHub(c) => c.add_key(&i.http(&h), &ex, o, n, &title, &key, read_only).await?,
                        Client::GitLab(c) => c.add_key(&i.http(&h), &ex, o, n, &title, &key, read_only).await?,
                    };
                    // GitLab answers an already-present key with that key: not created then.
                    let created = created && !existing.iter().any(|e| e.id == k.id);
                    Ok((k, created))
                })
                .map_err(|e| perr("provider.add_deploy_key", e))?;
            Ok(to_map(&k, &[("created", created.into())]))
        },
    );

    let h = host.clone();
    m.method(
        "delete_deploy_key",
        &["provider: &mut Provider", "id: i64", "bool"],
        "Delete a deploy key of the handle's repository by id; `false` when there was no such key.\n\nErrors: no token or no admin rights (names the variable).\n\nExample: `for k in p.deploy_keys() { if k.title == \"old\" { p.delete_deploy_key(k.id); } }`",
        move |p: &mut Provider, id: i64| -> R<bool> {
            let i = &p.inner;
            let (o, n) = i.bound("provider.delete_deploy_key")?;
            let action = format!("delete deploy key {id} of {o}/{n}");
            let ex = i.explain(&action);
            h.block_on(async {
                match &i.client {
                    Client::GitHub(c) => c.delete_key(&i.http(&h), &ex, o, n, id).await,
                    Client::GitLab(c) => c.delete_key(&i.http(&h), &ex, o, n, id).await,
                }
            })
            .map_err(|e| perr("provider.delete_deploy_key", e))
        },
    );

    m.build()
}

fn get_repo(h: &Arc<Host>, p: &Provider, o: &str, n: &str) -> R<Dynamic> {
    let i = &p.inner;
    let action = format!("read repository {o}/{n}");
    let ex = i.explain(&action);
    let r = h
        .block_on(async {
            match &i.client {
                Client::GitHub(c) => c.repo(&i.http(h), &ex, o, n).await,
                Client::GitLab(c) => c.repo(&i.http(h), &ex, o, n).await,
            }
        })
        .map_err(|e| perr("provider.repo", e))?;
    Ok(r.map(|r| to_map(&r, &[])).unwrap_or(Dynamic::UNIT))
}

async fn list_keys(h: &Host, i: &Inner, action: &str, o: &str, n: &str) -> PResult<Vec<Key>> {
    let ex = i.explain(action);
    match &i.client {
        Client::GitHub(c) => c.keys(&i.http(h), &ex, o, n).await,
        Client::GitLab(c) => c.keys(&i.http(h), &ex, o, n).await,
    }
}

/// Arguments of `create_repo`.
pub struct CreateRepo<'a> {
    pub owner: &'a str,
    pub name: &'a str,
    pub personal: Option<bool>,
    /// `private`, `public` or `internal`.
    pub visibility: &'a str,
    pub description: Option<&'a str>,
    pub auto_init: bool,
}

/// Arguments of `create_pr`.
pub struct CreatePr<'a> {
    pub owner: &'a str,
    pub name: &'a str,
    pub title: &'a str,
    pub body: &'a str,
    pub head: &'a str,
    pub base: Option<&'a str>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resp(status: u16, headers: &[(&'static str, &str)], body: &str) -> Resp {
        let mut h = http::HeaderMap::new();
        for (k, v) in headers {
            h.insert(*k, v.parse().unwrap());
        }
        Resp { status, headers: h, body: body.into() }
    }

    #[test]
    fn rate_limits_are_recognised() {
        assert_eq!(rate_limit_wait(&resp(429, &[("retry-after", "2")], "")), Some(Some(Duration::from_secs(2))));
        assert_eq!(rate_limit_wait(&resp(429, &[], "")), Some(None));
        assert_eq!(rate_limit_wait(&resp(403, &[("retry-after", "1")], "")), Some(Some(Duration::from_secs(1))));
        assert!(rate_limit_wait(&resp(403, &[("x-ratelimit-remaining", "0")], "")).is_some());
        assert_eq!(rate_limit_wait(&resp(403, &[("x-ratelimit-remaining", "10")], "")), None);
        assert_eq!(rate_limit_wait(&resp(500, &[], "")), None);
    }

    #[test]
    fn provider_messages_are_flattened() {
        let r = resp(
            422,
            &[],
            r#"{"message":"Validation Failed","errors":[{"resource":"PullRequest","code":"custom","message":"A pull request already exists for o:b."}]}"#,
        );
        assert_eq!(r.message(), "Validation Failed: A pull request already exists for o:b.");
        let r = resp(400, &[], r#"{"message":{"name":["has already been taken"]}}"#);
        assert_eq!(r.message(), "name has already been taken");
        let r =
            resp(409, &[], r#"{"message":["Another open merge request already exists for this source branch: !1"]}"#);
        assert!(r.message().contains("!1"));
        let r = resp(502, &[], "");
        assert_eq!(r.message(), "HTTP 502");
    }

    #[test]
    fn errors_name_the_variable() {
        let ex = Explain {
            name: "GitHub",
            token_var: "GITHUB_TOKEN",
            has_token: false,
            scope: "repo",
            action: "read x",
            admin_only: false,
        };
        let e = ex.error(&resp(401, &[], r#"{"message":"Requires authentication"}"#));
        assert!(e.message.contains("GITHUB_TOKEN is not set") && e.help.unwrap().contains("GITHUB_TOKEN"));
        let ex = Explain { has_token: true, ..ex };
        let e = ex.error(&resp(404, &[], r#"{"message":"Not Found"}"#));
        assert!(e.message.contains("no such repository") && e.help.unwrap().contains("GITHUB_TOKEN"));
    }

    #[test]
    fn http_dates_parse() {
        let t = http_date("Sun, 06 Nov 1994 08:49:37 GMT").unwrap();
        assert_eq!(t.duration_since(SystemTime::UNIX_EPOCH).unwrap().as_secs(), 784111777);
        assert!(http_date("soon").is_none());
    }

    #[test]
    fn keys_compare_without_comments() {
        assert_eq!(norm_key("ssh-ed25519 AAAA user@host\n"), norm_key("ssh-ed25519  AAAA"));
    }
}
