//! The mechanism without the script engine: a `Provider` against a tiny local HTTP server that
//! answers from a script and records every request.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::{NewKey, Notice, Policy, PrQuery, Provider, Repo, Target};

/// One request as the server saw it.
#[derive(Debug, Clone)]
struct Seen {
    method: String,
    path: String,
    headers: Vec<(String, String)>,
}

impl Seen {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
}

type Answer = (u16, Vec<(&'static str, String)>, String);

/// Serve `answer(request, how many came before)` on a free local port, one request per
/// connection; returns the base URL and the requests seen.
fn serve(answer: impl Fn(&Seen, usize) -> Answer + Send + 'static) -> (String, Arc<Mutex<Vec<Seen>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut line = String::new();
            if reader.read_line(&mut line).is_err() || line.is_empty() {
                continue;
            }
            let mut parts = line.split_whitespace();
            let (method, path) = (parts.next().unwrap_or("").to_string(), parts.next().unwrap_or("").to_string());
            let mut headers = Vec::new();
            loop {
                let mut h = String::new();
                if reader.read_line(&mut h).unwrap_or(0) == 0 || h.trim().is_empty() {
                    break;
                }
                if let Some((k, v)) = h.trim_end().split_once(':') {
                    headers.push((k.trim().to_string(), v.trim().to_string()));
                }
            }
            let req = Seen { method, path, headers };
            let len = req.header("content-length").and_then(|v| v.parse().ok()).unwrap_or(0usize);
            let mut body = vec![0; len];
            let _ = reader.read_exact(&mut body);
            let n = {
                let mut l = log.lock().unwrap();
                l.push(req.clone());
                l.len() - 1
            };
            let (status, hs, body) = answer(&req, n);
            let mut out = format!("HTTP/1.1 {status} X\r\nContent-Length: {}\r\nConnection: close\r\n", body.len());
            out.push_str("Content-Type: application/json\r\n");
            for (k, v) in hs {
                out.push_str(&format!("{k}: {v}\r\n"));
            }
            out.push_str("\r\n");
            out.push_str(&body);
            let _ = stream.write_all(out.as_bytes());
        }
    });
    (base, seen)
}

fn policy() -> Policy {
    Policy {
        retries: 3,
        timeout: Duration::from_secs(5),
        max_wait: Duration::from_secs(5),
        backoff: Duration::from_millis(10),
        settle: Duration::from_secs(1),
        deadline: Duration::from_secs(20),
    }
}

async fn connect(kind: &'static str, api: &str) -> Provider {
    let target = Target { kind, api: api.to_string(), repo: Some(("org".into(), "fleet".into())) };
    Provider::connect(target, None, policy()).await.unwrap()
}

/// What the HTTP layer told, in order.
type Notes = Arc<Mutex<Vec<(Notice, String)>>>;

fn notes() -> (Notes, impl Fn(Notice, &str) + Sync) {
    let notes = Arc::new(Mutex::new(Vec::new()));
    let n = notes.clone();
    (notes, move |k: Notice, m: &str| n.lock().unwrap().push((k, m.to_string())))
}

#[tokio::test]
async fn server_errors_are_retried_and_logged() {
    let (api, seen) = serve(|_, n| match n {
        0 => (503, vec![], r#"{"message":"busy"}"#.into()),
        _ => (200, vec![], r#"{"login":"me","name":"Me","email":"me@x","id":7}"#.into()),
    });
    let p = connect("github", &api).await;
    let (notes, log) = notes();
    let u = p.session(&log).user().await.unwrap();
    assert_eq!((u.login.as_str(), u.id), ("me", 7));
    let seen = seen.lock().unwrap();
    assert_eq!(seen.len(), 2);
    assert!(seen.iter().all(|r| r.method == "GET" && r.path == "/user"));
    // Prism checks requests against GitHub's contract: no vendor media type is asked for.
    assert!(seen.iter().all(|r| !r.header("accept").unwrap_or("").contains("vnd.")), "{seen:?}");
    let notes = notes.lock().unwrap();
    assert!(notes.iter().any(|(_, m)| m.contains("HTTP 503: busy; retry 1/3")), "{notes:?}");
}

#[tokio::test]
async fn a_missing_token_is_named_in_the_error() {
    let (api, _) = serve(|_, _| (401, vec![], r#"{"message":"Requires authentication"}"#.into()));
    let p = connect("github", &api).await;
    let (_, log) = notes();
    let e = p.session(&log).deploy_keys(p.bound().unwrap()).await.unwrap_err();
    assert!(e.message.contains("cannot list the deploy keys of org/fleet"), "{}", e.message);
    assert!(e.message.contains("GITHUB_TOKEN is not set"), "{}", e.message);
    assert!(e.help.unwrap().contains("GITHUB_TOKEN"));
}

#[tokio::test]
async fn a_long_rate_limit_fails_at_once() {
    let (api, seen) = serve(|_, _| (429, vec![("Retry-After", "3600".into())], r#"{"message":"slow down"}"#.into()));
    let p = connect("gitlab", &api).await;
    let (_, log) = notes();
    let e = p.session(&log).repo(Repo { owner: "org", name: "fleet" }).await.unwrap_err();
    assert!(e.message.contains("GitLab is rate limiting wego (429 slow down)"), "{}", e.message);
    assert!(e.help.unwrap().contains("max_wait_seconds"));
    assert_eq!(seen.lock().unwrap().len(), 1);
}

#[tokio::test]
async fn gitlab_lists_every_page_and_filters_merge_requests() {
    let (api, seen) = serve(|r, _| {
        let mr = |iid: i64, src: &str| {
            format!(
                r#"{{"iid":{iid},"web_url":"u","state":"opened","source_branch":"{src}","target_branch":"main","title":"t"}}"#
            )
        };
        if r.path.ends_with("&page=1") {
            (200, vec![("X-Next-Page", "2".into())], format!("[{}]", mr(1, "wego/a")))
        } else {
            (200, vec![("X-Next-Page", "".into())], format!("[{},{}]", mr(3, "wego/a"), mr(2, "other")))
        }
    });
    let p = connect("gitlab", &api).await;
    let (_, log) = notes();
    let q = PrQuery { head: Some("wego/a"), base: None, state: "open" };
    let prs = p.session(&log).prs(p.bound().unwrap(), &q).await.unwrap();
    assert_eq!(prs.iter().map(|p| (p.number, p.state.as_str())).collect::<Vec<_>>(), [(3, "open"), (1, "open")]);
    let seen = seen.lock().unwrap();
    assert_eq!(seen.len(), 2);
    assert!(seen[0].path.starts_with("/api/v4/projects/org%2Ffleet/merge_requests?"), "{}", seen[0].path);
    assert!(seen[0].path.contains("source_branch=wego%2Fa") && seen[0].path.contains("state=opened"));
}

#[tokio::test]
async fn an_existing_deploy_key_is_not_added_again() {
    let (api, seen) = serve(|_, _| {
        (200, vec![], r#"[{"id":5,"title":"wego","key":"ssh-ed25519 AAAA old@host","read_only":true}]"#.into())
    });
    let p = connect("github", &api).await;
    let (_, log) = notes();
    let k = NewKey { title: "wego", key: "ssh-ed25519 AAAA", read_only: true };
    let (key, created) = p.session(&log).add_deploy_key(p.bound().unwrap(), &k).await.unwrap();
    assert_eq!((key.id, created), (5, false));
    let seen = seen.lock().unwrap();
    assert_eq!(seen.iter().map(|r| r.method.as_str()).collect::<Vec<_>>(), ["GET"]);
}

#[tokio::test]
async fn host_keys_must_match_the_published_fingerprints() {
    let key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl";
    let (api, _) = serve(move |_, _| {
        let body = format!(r#"{{"ssh_keys":["{key}"],"ssh_key_fingerprints":{{"SHA256_ED25519":"SHA256:not-it"}}}}"#);
        (200, vec![], body)
    });
    let p = connect("github", &api).await;
    let (_, log) = notes();
    let e = p.session(&log).ssh_host_keys().await.unwrap_err();
    assert!(e.message.contains("matches none of its published fingerprints"), "{}", e.message);
    let gl = connect("gitlab", &api).await;
    assert!(gl.session(&log).ssh_host_keys().await.unwrap().is_none());
}
