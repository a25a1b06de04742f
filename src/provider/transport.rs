//! The HTTP layer every request goes through: a timeout per attempt, and retries with backoff
//! on 5xx, timeouts, connection errors and rate limits (429, or 403 with rate-limit headers),
//! honouring `Retry-After`; plus the wait for a provider to catch up (`settle`).

use std::future::Future;
use std::time::{Duration, SystemTime};

use serde_json::Value;

use super::{Explain, Notice, PResult, ProviderError};
use crate::secrets;

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

    pub fn ok(&self) -> bool {
        (200..300).contains(&self.status)
    }

    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or(Value::Null)
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The provider's error text: GitHub `message` + `errors[]`, GitLab `message` (string,
    /// list or field map) or `error`.
    pub fn message(&self) -> String {
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
    /// Where retries and waits are told.
    pub log: &'a (dyn Fn(Notice, &str) + Sync),
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
                (self.log)(Notice::Progress, &secrets::redact(&msg));
            } else {
                (self.log)(Notice::Detail, &secrets::redact(&msg));
            }
            tokio::time::sleep(wait).await;
        }
    }
}

/// Repeat `attempt` while it says the provider has not caught up yet (`(value, true)`: a
/// pull request's head "not found" right after the push, a new repository not visible yet),
/// backing off from 250 ms (doubling, at most 2 s) until `policy.settle` has passed; then the
/// last value is returned for the caller to explain.
pub async fn settle<T, F, Fut>(http: &Http<'_>, what: &str, mut attempt: F) -> PResult<T>
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
        (http.log)(Notice::Detail, &msg);
        tokio::time::sleep(wait).await;
        wait = (wait * 2).min(Duration::from_secs(2));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::provider::norm_key;

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
