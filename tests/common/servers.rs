//! The git servers and provider fakes that tests/env/git-up.sh and providers-up.sh start.
//!
//! Tests find them through `WEGO_TEST_*` variables: from the environment, else from the env
//! files the scripts write (`$WEGO_TEST_ENV_DIR`, else `$GIT_DIR_ROOT`, else /var/tmp/wego-git:
//! `git.env`, `providers.env`). A server that is not there (or does not answer) skips the test
//! locally and fails it in CI (CI=true), so CI never passes silently.

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::Duration;

fn env_dir() -> PathBuf {
    std::env::var_os("WEGO_TEST_ENV_DIR")
        .or_else(|| std::env::var_os("GIT_DIR_ROOT"))
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/var/tmp/wego-git"))
}

/// `export A=1 B='x y'` lines into a map (the subset of shell the env files use).
fn parse_env_file(text: &str, out: &mut HashMap<String, String>) {
    for line in text.lines() {
        let line = line.trim();
        let Some(rest) = line.strip_prefix("export ") else { continue };
        let mut chars = rest.chars().peekable();
        loop {
            while chars.peek() == Some(&' ') {
                chars.next();
            }
            let name: String = chars.by_ref().take_while(|c| *c != '=').collect();
            if name.is_empty() {
                break;
            }
            let mut value = String::new();
            let mut quoted = false;
            while let Some(&c) = chars.peek() {
                if c == '\'' {
                    quoted = !quoted;
                    chars.next();
                } else if c == ' ' && !quoted {
                    break;
                } else {
                    value.push(c);
                    chars.next();
                }
            }
            out.insert(name, value);
        }
    }
}

fn file_env() -> &'static HashMap<String, String> {
    static ENV: OnceLock<HashMap<String, String>> = OnceLock::new();
    ENV.get_or_init(|| {
        let mut m = HashMap::new();
        for f in ["git.env", "providers.env"] {
            if let Ok(t) = std::fs::read_to_string(env_dir().join(f)) {
                parse_env_file(&t, &mut m);
            }
        }
        m
    })
}

/// A `WEGO_TEST_*` setting, from the environment first.
pub fn setting(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty()).or_else(|| file_env().get(name).cloned())
}

/// Skip (locally) or fail (in CI) for a missing server.
pub fn missing<T>(what: &str) -> Option<T> {
    if std::env::var("CI").is_ok_and(|v| !v.is_empty()) {
        panic!(
            "{what} is not available: in CI the test servers must run (tests/env/git-up.sh, tests/env/providers-up.sh)"
        );
    }
    eprintln!("skipped: {what} is not available (start tests/env/git-up.sh and tests/env/providers-up.sh)");
    None
}

/// Whether something listens at the host:port of `url`.
pub fn reachable(url: &str) -> bool {
    let rest = url.split_once("://").map(|(_, r)| r).unwrap_or(url);
    let hostport = rest.split('/').next().unwrap_or(rest);
    let hostport = hostport.rsplit_once('@').map(|(_, h)| h).unwrap_or(hostport);
    use std::net::ToSocketAddrs;
    hostport
        .to_socket_addrs()
        .ok()
        .and_then(|mut a| a.next())
        .is_some_and(|a| TcpStream::connect_timeout(&a, Duration::from_secs(2)).is_ok())
}

fn unique(prefix: &str) -> String {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static N: AtomicUsize = AtomicUsize::new(0);
    let t = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().subsec_nanos();
    format!("{prefix}-{}-{:x}{}", std::process::id(), t % 0xfffff, N.fetch_add(1, Ordering::SeqCst))
}

/// Run git (tests use the git CLI to set up and inspect remotes).
pub fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .env("GIT_AUTHOR_NAME", "Test")
        .env("GIT_AUTHOR_EMAIL", "test@example.com")
        .env("GIT_COMMITTER_NAME", "Test")
        .env("GIT_COMMITTER_EMAIL", "test@example.com")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .output()
        .expect("git");
    assert!(out.status.success(), "git {args:?} in {}: {}", dir.display(), String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// git-up.sh's servers, sharing one directory of bare repositories.
pub struct GitServers {
    pub http: String,
    pub daemon: String,
    pub root: PathBuf,
}

/// git-up.sh's sshd.
pub struct SshServer {
    /// `ssh://user@127.0.0.1:PORT<root>`: append `/NAME.git`.
    pub base: String,
    pub key: PathBuf,
    pub known_hosts: PathBuf,
}

/// A bare repository on the git servers.
pub struct Remote {
    pub name: String,
    pub path: PathBuf,
}

impl GitServers {
    pub fn http_url(&self, r: &Remote) -> String {
        format!("{}/{}.git", self.http, r.name)
    }
    pub fn daemon_url(&self, r: &Remote) -> String {
        format!("{}/{}.git", self.daemon, r.name)
    }

    /// A new empty bare repository (default branch `main`).
    pub fn bare(&self, prefix: &str) -> Remote {
        let name = unique(prefix);
        let path = self.root.join(format!("{name}.git"));
        git(&self.root, &["init", "-q", "--bare", "-b", "main", path.to_str().unwrap()]);
        git(&path, &["config", "http.receivepack", "true"]);
        Remote { name, path }
    }

    /// A new bare repository with `files` committed on `main`.
    pub fn seeded(&self, prefix: &str, files: &[(&str, &str)]) -> Remote {
        let r = self.bare(prefix);
        push_files(&r, "main", files, "seed");
        r
    }
}

/// Commit `files` on `branch` of a bare repository (from a scratch clone), like someone else would.
/// A new branch starts from `main` (when there is one).
pub fn push_files(r: &Remote, branch: &str, files: &[(&str, &str)], message: &str) -> String {
    let tmp = tempfile::tempdir().unwrap();
    let w = tmp.path();
    git(w, &["init", "-q", "-b", branch]);
    git(w, &["remote", "add", "origin", r.path.to_str().unwrap()]);
    let has_branch = Command::new("git")
        .arg("-C")
        .arg(w)
        .args(["fetch", "-q", "origin", branch])
        .stderr(Stdio::null())
        .status()
        .unwrap()
        .success();
    let from_main = !has_branch
        && Command::new("git")
            .arg("-C")
            .arg(w)
            .args(["fetch", "-q", "origin", "main"])
            .stderr(Stdio::null())
            .status()
            .unwrap()
            .success();
    if has_branch || from_main {
        git(w, &["reset", "-q", "--hard", "FETCH_HEAD"]);
    }
    for (p, body) in files {
        let path = w.join(p);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, body).unwrap();
    }
    git(w, &["add", "-A"]);
    git(w, &["commit", "-q", "-m", message]);
    git(w, &["push", "-q", "origin", &format!("HEAD:refs/heads/{branch}")]);
    git(w, &["rev-parse", "HEAD"])
}

/// The git servers, or `None` (skip locally, panic in CI).
pub fn git_servers() -> Option<GitServers> {
    match (setting("WEGO_TEST_GIT_HTTP"), setting("WEGO_TEST_GIT_DAEMON"), setting("WEGO_TEST_GIT_ROOT")) {
        (Some(http), Some(daemon), Some(root))
            if reachable(&http) && reachable(&daemon) && Path::new(&root).is_dir() =>
        {
            Some(GitServers { http, daemon, root: root.into() })
        }
        _ => missing("the git servers (WEGO_TEST_GIT_HTTP, WEGO_TEST_GIT_DAEMON, WEGO_TEST_GIT_ROOT)"),
    }
}

/// The ssh server, or `None` (skip locally, panic in CI).
pub fn ssh_server() -> Option<SshServer> {
    match (setting("WEGO_TEST_GIT_SSH"), setting("WEGO_TEST_SSH_KEY"), setting("WEGO_TEST_SSH_KNOWN_HOSTS")) {
        (Some(base), Some(key), Some(kh)) if reachable(&base) && Path::new(&key).is_file() => {
            Some(SshServer { base, key: key.into(), known_hosts: kh.into() })
        }
        _ => missing("the ssh git server (WEGO_TEST_GIT_SSH, WEGO_TEST_SSH_KEY, WEGO_TEST_SSH_KNOWN_HOSTS)"),
    }
}

/// A smart-HTTP git server with basic auth, started for one test over the same repositories
/// (tests/env/git_http_server.py); stopped when dropped.
pub struct AuthGitServer {
    pub url: String,
    child: Child,
}

impl AuthGitServer {
    pub fn start(root: &Path, user: &str, password: &str) -> Option<Self> {
        let port = TcpListener::bind("127.0.0.1:0").ok()?.local_addr().ok()?.port();
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/env/git_http_server.py");
        let child = Command::new("python3")
            .arg(&script)
            .arg(root)
            .arg(port.to_string())
            .env("GIT_HTTP_USER", user)
            .env("GIT_HTTP_PASS", password)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn();
        let Ok(child) = child else { return missing("python3 (for an authenticating git HTTP server)") };
        let url = format!("http://127.0.0.1:{port}");
        for _ in 0..100 {
            if reachable(&url) {
                return Some(AuthGitServer { url, child });
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        missing("an authenticating git HTTP server (tests/env/git_http_server.py did not start)")
    }
}

impl Drop for AuthGitServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// providers-up.sh's GitHub and GitLab fakes.
pub struct Fakes {
    /// `http://127.0.0.1:PORT`
    pub github: String,
    /// `http://127.0.0.1:PORT` (API under /api/v4)
    pub gitlab: String,
    pub token: String,
    pub user: String,
    /// Where the fakes create bare repositories (`github/OWNER/NAME.git`, `gitlab/...`).
    pub srv: PathBuf,
}

pub fn fakes() -> Option<Fakes> {
    let vars = (
        setting("WEGO_TEST_GITHUB_API"),
        setting("WEGO_TEST_GITLAB_HOST"),
        setting("WEGO_TEST_PROVIDER_TOKEN"),
        setting("WEGO_TEST_PROVIDER_USER"),
        setting("WEGO_TEST_GIT_SRV"),
    );
    match vars {
        (Some(github), Some(gitlab), Some(token), Some(user), Some(srv)) => {
            let gitlab = if gitlab.contains("://") { gitlab } else { format!("http://{gitlab}") };
            if reachable(&github) && reachable(&gitlab) {
                return Some(Fakes { github, gitlab, token, user, srv: srv.into() });
            }
            missing("the provider fakes (not answering)")
        }
        _ => missing("the provider fakes (WEGO_TEST_GITHUB_API, WEGO_TEST_GITLAB_HOST, ...)"),
    }
}

/// Prism serving GitHub's OpenAPI description.
pub fn prism() -> Option<String> {
    match setting("WEGO_TEST_PRISM_API") {
        Some(url) if reachable(&url) => Some(url),
        _ => missing("Prism (WEGO_TEST_PRISM_API)"),
    }
}

/// A unique name for a repository, user or branch.
pub fn name(prefix: &str) -> String {
    unique(prefix)
}

/// A minimal blocking HTTP/1.1 client for the fakes' control endpoints and Prism.
#[derive(Debug)]
pub struct HttpResp {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl HttpResp {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or(serde_json::Value::Null)
    }
}

pub fn http(method: &str, url: &str, headers: &[(&str, &str)], body: Option<&str>) -> HttpResp {
    let rest = url.strip_prefix("http://").expect("http URL");
    let (hostport, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    let mut s = TcpStream::connect(hostport).unwrap_or_else(|e| panic!("connect {hostport}: {e}"));
    s.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
    let body = body.unwrap_or("");
    let mut req = format!(
        "{method} {path} HTTP/1.1\r\nHost: {hostport}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    if !body.is_empty() && !headers.iter().any(|(k, _)| k.eq_ignore_ascii_case("content-type")) {
        req.push_str("Content-Type: application/json\r\n");
    }
    req.push_str("\r\n");
    req.push_str(body);
    s.write_all(req.as_bytes()).unwrap();
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).unwrap();
    let text = String::from_utf8_lossy(&raw).to_string();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let mut lines = head.lines();
    let status = lines.next().and_then(|l| l.split_whitespace().nth(1)).and_then(|c| c.parse().ok()).unwrap_or(0);
    let headers: Vec<(String, String)> =
        lines.filter_map(|l| l.split_once(':')).map(|(k, v)| (k.trim().to_string(), v.trim().to_string())).collect();
    let chunked = headers.iter().any(|(k, v)| k.eq_ignore_ascii_case("transfer-encoding") && v.contains("chunked"));
    let body = if chunked { dechunk(body) } else { body.to_string() };
    HttpResp { status, headers, body }
}

fn dechunk(mut s: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = s.split_once("\r\n") {
        let n = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
        if n == 0 || rest.len() < n {
            break;
        }
        out.push_str(&rest[..n]);
        s = rest[n..].trim_start_matches("\r\n");
    }
    out
}

/// POST a JSON control request to a fake (`/_fake/...`).
pub fn control(base: &str, path: &str, body: serde_json::Value) -> HttpResp {
    let r = http("POST", &format!("{base}{path}"), &[], Some(&body.to_string()));
    assert!(r.status < 300, "{path}: {} {}", r.status, r.body);
    r
}

/// A fresh organisation on the GitHub fake, and the user's wego config that points wego's
/// GitHub API for the test git server's `github/` repos at the fake: `(org, config text)`.
pub fn github_org(f: &Fakes) -> (String, String) {
    let org = name("org");
    control(&f.github, "/_fake/users", serde_json::json!({"login": org, "type": "Organization"}));
    let http = setting("WEGO_TEST_GIT_HTTP").unwrap();
    let cfg = format!(
        "apiVersion: wego.weave.works/v1alpha1\nkind: Config\nproviders:\n- host: {h}/github\n  type: github\n  apiUrl: {gh}\n  allowHttp: true\n",
        h = http.trim_start_matches("http://"),
        gh = f.github,
    );
    (org, cfg)
}

/// A fake's record of the repo `owner/name` (with its `pulls` and `keys`), or null.
pub fn fake_repo(base: &str, owner: &str, name: &str) -> serde_json::Value {
    let state = http("GET", &format!("{base}/_fake/state"), &[], None).json();
    state["repos"]
        .as_array()
        .and_then(|repos| repos.iter().find(|r| r["owner"] == owner && r["name"] == name).cloned())
        .unwrap_or(serde_json::Value::Null)
}

/// An OpenSSH ed25519 public key line with random key material (valid for the fakes).
pub fn random_public_key(comment: &str) -> String {
    use base64::Engine as _;
    let mut blob = Vec::new();
    blob.extend_from_slice(&11u32.to_be_bytes());
    blob.extend_from_slice(b"ssh-ed25519");
    blob.extend_from_slice(&32u32.to_be_bytes());
    let seed = unique("k");
    let mut bytes = [0u8; 32];
    for (i, b) in seed.bytes().cycle().take(32).enumerate() {
        bytes[i] = b.wrapping_mul(31).wrapping_add(i as u8 * 7);
    }
    let t = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos().to_le_bytes();
    for (i, b) in t.iter().enumerate() {
        bytes[i] ^= b;
    }
    blob.extend_from_slice(&bytes);
    format!("ssh-ed25519 {} {comment}", base64::engine::general_purpose::STANDARD.encode(blob))
}
