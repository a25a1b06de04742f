//! Faults in the middle of a `wego add`, against the real API server, git server and provider
//! fakes: the API server stops answering (through a TCP proxy this test controls; the shared
//! server itself is never touched), the provider answers 5xx then a day-long 429, and the git
//! server's hook rejects the push. Each must end in a clear error well within the deadline, and
//! a rerun without the fault must converge. Also: a hung API server and the `--timeout` flag.

mod common;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::cluster::{cluster, Cluster};
use common::servers::{self, control, fakes, git, push_files, Fakes, Remote};
use common::{flux_mirror, Env, Wego};
use serde_json::json;

/// The deadline every faulty run gets; each must end well before it on its own.
const DEADLINE: Duration = Duration::from_secs(90);

/// A TCP proxy in front of the API server. Once cut, it forwards nothing more in either
/// direction but keeps every connection open, and accepts new ones it never answers: a server
/// that stopped answering, as a hung process or a dead network path looks to a client.
struct Proxy {
    addr: String,
    cut: Arc<AtomicBool>,
    forwarded: Arc<AtomicUsize>,
}

impl Proxy {
    /// Forward to `upstream`; with `cut_after_quiet`, cut at the first request that follows a
    /// pause at least that long after traffic — the next step of the command, mid-run.
    fn start(upstream: String, cut_after_quiet: Option<Duration>) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        let cut = Arc::new(AtomicBool::new(false));
        let forwarded = Arc::new(AtomicUsize::new(0));
        let last = Arc::new(Mutex::new(Instant::now()));
        let held = Arc::new(Mutex::new(Vec::new()));
        let (c, f) = (cut.clone(), forwarded.clone());
        std::thread::spawn(move || {
            for client in listener.incoming().flatten() {
                held.lock().unwrap().push(client.try_clone().unwrap());
                if c.load(Ordering::SeqCst) {
                    continue;
                }
                let Ok(server) = TcpStream::connect(&upstream) else { continue };
                held.lock().unwrap().push(server.try_clone().unwrap());
                let pump = |mut from: TcpStream, mut to: TcpStream, upward: bool| {
                    let (c, f, last) = (c.clone(), f.clone(), last.clone());
                    std::thread::spawn(move || {
                        let mut buf = [0u8; 16384];
                        while let Ok(n) = from.read(&mut buf) {
                            if n == 0 {
                                let _ = to.shutdown(std::net::Shutdown::Write);
                                return;
                            }
                            let mut last = last.lock().unwrap();
                            let quiet = last.elapsed();
                            *last = Instant::now();
                            if upward && f.load(Ordering::SeqCst) > 0 && cut_after_quiet.is_some_and(|q| quiet >= q) {
                                c.store(true, Ordering::SeqCst);
                            }
                            if c.load(Ordering::SeqCst) {
                                continue; // swallowed: the connection stays open, silent
                            }
                            if to.write_all(&buf[..n]).is_err() {
                                return;
                            }
                            f.fetch_add(n, Ordering::SeqCst);
                        }
                    });
                };
                pump(client.try_clone().unwrap(), server.try_clone().unwrap(), true);
                pump(server, client, false);
            }
        });
        Proxy { addr, cut, forwarded }
    }

    /// A listener that accepts and never answers.
    fn hung() -> Proxy {
        let p = Proxy::start("127.0.0.1:9".into(), None);
        p.cut.store(true, Ordering::SeqCst);
        p
    }

    fn is_cut(&self) -> bool {
        self.cut.load(Ordering::SeqCst)
    }

    /// A copy of `kubeconfig` whose server is this proxy.
    fn kubeconfig(&self, kubeconfig: &Path, dir: &Path) -> PathBuf {
        let text = std::fs::read_to_string(kubeconfig).unwrap();
        let server = text
            .split("server:")
            .nth(1)
            .and_then(|rest| rest.split('"').nth(1))
            .expect("the test kubeconfig names its server in quotes")
            .to_string();
        let path = dir.join("kubeconfig");
        std::fs::write(&path, text.replace(&server, &format!("https://{}", self.addr))).unwrap();
        path
    }
}

fn upstream(kubeconfig: &Path) -> String {
    let text = std::fs::read_to_string(kubeconfig).unwrap();
    let server = text.split("server:").nth(1).and_then(|rest| rest.split('"').nth(1)).unwrap().to_string();
    server.trim_start_matches("https://").to_string()
}

/// One add test's world: namespace, user home and config, fake org, public app and wego repos.
struct World<'a> {
    c: &'a Cluster,
    f: Fakes,
    env: Env,
    ns: String,
    org: String,
    app: String,
    fleet: Remote,
    fleet_url: String,
    _lock: common::cluster::ClusterLock,
}

fn ensure_crds(c: &Cluster) {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let _l = c.lock();
        let mirror = flux_mirror(false);
        let out = Env::new()
            .wego()
            .args(["install", "--apply", "--wait=false", "-n", "wego-faults-crds"])
            .env("WEGO_FLUX_MANIFESTS_BASE_URL", &mirror.url)
            .env("KUBECONFIG", c.kubeconfig.display().to_string())
            .run();
        assert_eq!(out.code, 0, "{}", out.stderr);
    });
}

impl<'a> World<'a> {
    fn new(c: &'a Cluster, prefix: &str) -> Option<Self> {
        let f = fakes()?;
        servers::git_servers()?;
        ensure_crds(c);
        let lock = c.shared_lock();
        let ns = servers::name(prefix);
        c.kubectl(["create", "namespace", &ns]).ok();
        let env = Env::new();
        let org = servers::name("org");
        control(&f.github, "/_fake/users", json!({"login": org, "type": "Organization"}));
        let http = servers::setting("WEGO_TEST_GIT_HTTP").unwrap();
        let cfg = format!(
            "apiVersion: wego.weave.works/v1alpha1\nkind: Config\nproviders:\n- host: {h}/github\n  type: github\n  apiUrl: {gh}\n  allowHttp: true\n",
            h = http.trim_start_matches("http://"),
            gh = f.github,
        );
        common::write_files(&env.config_dir(), &[("wego/config.yaml", &cfg)]);
        let repo = |name: &str, files: &[(&str, &str)]| {
            let r = control(
                &f.github,
                "/_fake/repos",
                json!({"owner": org, "name": name, "private": false, "default_branch": "main"}),
            );
            assert!(r.status < 300, "{}", r.body);
            let remote = Remote {
                name: format!("github/{org}/{name}"),
                path: f.srv.join("github").join(&org).join(format!("{name}.git")),
            };
            push_files(&remote, "main", files, "seed");
            (format!("{http}/{}.git", remote.name), remote)
        };
        let manifest = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: podinfo\ndata:\n  a: b\n";
        let (app, _) = repo("podinfo", &[("deploy/configmap.yaml", manifest)]);
        let (fleet_url, fleet) = repo("fleet", &[("README.md", "fleet\n")]);
        Some(World { c, f, env, ns, org, app, fleet, fleet_url, _lock: lock })
    }

    fn wego(&self, kubeconfig: &Path) -> Wego {
        self.env
            .wego()
            .env("KUBECONFIG", kubeconfig.display().to_string())
            .env("GITHUB_TOKEN", &self.f.token)
            .args(["-n", &self.ns])
    }

    fn add(&self, kubeconfig: &Path) -> (common::Out, Duration) {
        let start = Instant::now();
        let out = self
            .wego(kubeconfig)
            .args(["add", "--url", &self.app, "--path", "deploy", "--app-config-url", &self.fleet_url])
            .args(["--timeout", &format!("{}s", DEADLINE.as_secs())])
            .run();
        (out, start.elapsed())
    }

    fn pulls(&self) -> usize {
        let state = servers::http("GET", &format!("{}/_fake/state", self.f.github), &[], None).json();
        state["repos"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["owner"] == self.org && r["name"] == "fleet")
            .and_then(|r| r["pulls"].as_array().map(Vec::len))
            .unwrap_or(0)
    }

    /// A clean rerun succeeds with one pull request and one commit on the work branch, and the
    /// cluster holds what add applies; a second rerun changes nothing.
    fn converges(&self) {
        let (out, _) = self.add(&self.c.kubeconfig);
        assert_eq!(out.code, 0, "rerun\n{}", out.stderr);
        assert_eq!(self.pulls(), 1);
        let branch = git(&self.fleet.path, &["for-each-ref", "--format=%(refname)", "refs/heads/wego/"]);
        assert_eq!(branch.lines().count(), 1, "{branch}");
        let commits = git(&self.fleet.path, &["rev-list", "--count", &format!("main..{}", branch.trim())]);
        assert_eq!(commits, "1", "one commit on the work branch");
        let applied = self.c.kubectl(["get", "gitrepositories", "-n", &self.ns, "-o", "name"]).ok().stdout;
        assert!(!applied.trim().is_empty(), "add applied its source");
        let sha = git(&self.fleet.path, &["rev-parse", branch.trim()]);
        let (again, _) = self.add(&self.c.kubeconfig);
        assert_eq!(again.code, 0, "{}", again.stderr);
        assert_eq!((self.pulls(), git(&self.fleet.path, &["rev-parse", branch.trim()])), (1, sha), "idempotent");
    }
}

impl Drop for World<'_> {
    fn drop(&mut self) {
        self.c.kubectl(["delete", "namespace", &self.ns, "--wait=false"]);
    }
}

/// A clear error, on its own well before the deadline: not the deadline's message.
fn clear_error(out: &common::Out, took: Duration, says: &[&str]) {
    eprintln!("--- after {took:?}:\n{}", out.stderr);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(took < DEADLINE - Duration::from_secs(10), "took {took:?}: {}", out.stderr);
    assert!(!out.stderr.contains("did not finish within"), "{}", out.stderr);
    assert!(out.stderr.contains("help:"), "says what to do: {}", out.stderr);
    for s in says {
        assert!(out.stderr.contains(s), "expected `{s}` in: {}", out.stderr);
    }
    assert!(!out.stderr.contains("panicked"), "{}", out.stderr);
}

#[test]
fn the_api_server_stops_answering_mid_add() {
    let Some(c) = cluster() else { return };
    let Some(w) = World::new(&c, "fault-kube") else { return };
    let proxy = Proxy::start(upstream(&c.kubeconfig), Some(Duration::from_millis(300)));
    let dir = tempfile::tempdir().unwrap();
    let kc = proxy.kubeconfig(&c.kubeconfig, dir.path());
    let (out, took) = w.add(&kc);
    assert!(proxy.is_cut(), "the proxy cut the connection mid-run");
    assert!(proxy.forwarded.load(Ordering::SeqCst) > 0, "the API server answered before it stopped");
    clear_error(&out, took, &["cannot reach the Kubernetes API", &proxy.addr, "timed out"]);
    w.converges();
}

#[test]
fn the_provider_fails_then_rate_limits_for_a_day() {
    let Some(c) = cluster() else { return };
    let Some(w) = World::new(&c, "fault-prov") else { return };
    let pulls = format!("/repos/{}/fleet/pulls$", w.org);
    control(
        &w.f.github,
        "/_fake/faults",
        json!([
            {"method": "POST", "path_regex": pulls, "status": 502, "times": 1, "body": {"message": "Bad Gateway"}},
            {"method": "POST", "path_regex": pulls, "status": 429, "times": 1, "headers": {"Retry-After": "86400"},
             "body": {"message": "API rate limit exceeded"}},
        ]),
    );
    let (out, took) = w.add(&c.kubeconfig);
    clear_error(&out, took, &["rate limiting", "86400"]);
    assert_eq!(w.pulls(), 0);
    // The faults were used up by this run: the next one meets a healthy provider.
    w.converges();
}

#[test]
fn the_git_server_rejects_the_push() {
    let Some(c) = cluster() else { return };
    let Some(w) = World::new(&c, "fault-push") else { return };
    let hook = w.fleet.path.join("hooks/pre-receive");
    std::fs::create_dir_all(hook.parent().unwrap()).unwrap();
    std::fs::write(&hook, "#!/bin/sh\necho 'policy: pushes are frozen' >&2\nexit 1\n").unwrap();
    std::process::Command::new("chmod").arg("+x").arg(&hook).status().unwrap();
    let (out, took) = w.add(&c.kubeconfig);
    clear_error(&out, took, &["refused the push"]);
    assert_eq!(w.pulls(), 0);
    let branches = git(&w.fleet.path, &["for-each-ref", "--format=%(refname)", "refs/heads/wego/"]);
    assert!(branches.is_empty(), "nothing pushed: {branches}");
    std::fs::remove_file(&hook).unwrap();
    w.converges();
}

#[test]
fn a_hung_api_server_is_an_error_within_the_connect_timeout() {
    let Some(c) = cluster() else { return };
    let hung = Proxy::hung();
    let dir = tempfile::tempdir().unwrap();
    let kc = hung.kubeconfig(&c.kubeconfig, dir.path());
    let env = Env::new();
    let start = Instant::now();
    let out = env.wego().env("KUBECONFIG", kc.display().to_string()).args(["status", "--timeout", "60s"]).run();
    let took = start.elapsed();
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(took < Duration::from_secs(40), "took {took:?}");
    assert!(
        out.stderr.contains("cannot reach the Kubernetes API") && out.stderr.contains(&hung.addr),
        "{}",
        out.stderr
    );
    assert!(!out.stdout.contains("panicked") && !out.stderr.contains("panicked"));
}

#[test]
fn the_overall_deadline_ends_any_command() {
    let Some(c) = cluster() else { return };
    let hung = Proxy::hung();
    let dir = tempfile::tempdir().unwrap();
    let kc = hung.kubeconfig(&c.kubeconfig, dir.path());
    let env = Env::new();
    let start = Instant::now();
    let out = env.wego().env("KUBECONFIG", kc.display().to_string()).args(["status", "--timeout", "2s"]).run();
    let took = start.elapsed();
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(took >= Duration::from_secs(2) && took < Duration::from_secs(8), "took {took:?}");
    assert!(out.stderr.contains("`wego status` did not finish within 2s (--timeout)"), "{}", out.stderr);
    assert!(out.stderr.contains("help:"), "{}", out.stderr);
    // Bad input for the flag: one clear line, usage error.
    let out = env.wego().args(["version", "--timeout", "soon"]).run();
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(out.stderr.contains("not a duration"), "{}", out.stderr);
}
