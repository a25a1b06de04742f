//! The app's life after `add`: script commands, `list`, `suspend`/`resume`, `sync`, `remove`
//! and `uninstall`, on the real API server with the git servers and provider stand-ins. Flux's
//! controllers cannot run here, so the tests write what they would: the objects Flux applies
//! from the wego repo, and their status.

mod common;

use std::path::Path;
use std::time::{Duration, Instant};

use common::cluster::{audit_log, audited, cluster, Cluster};
use common::servers::{self, control, fakes, git, push_files, Fakes, Remote};
use common::{flux_mirror, Env, Wego};
use serde_json::{json, Value};

// ── Script commands (no cluster needed) ─────────────────────────────────────────────────────

const GREET: &str = r#"//! Greet someone, loudly if asked
//!
//! A user's own command: its flags come from this header.
// wego:arg WHO "Whom to greet"
// wego:flag -l,--loud "Shout it"
// wego:flag --times int default=1 "How many times"
// wego:flag --style plain|fancy "How it looks"
let text = `hello ${args.who}`;
if args.loud { text = text.to_upper(); }
for i in 0..args.times { print(text); }
print(`style=${args.style ?? "none"} command=${args.command} output=${args.output}`);
"#;

fn user_scripts(env: &Env, files: &[(&str, &str)]) {
    let files: Vec<(String, &str)> = files.iter().map(|(n, t)| (format!("wego/scripts/{n}"), *t)).collect();
    let refs: Vec<(&str, &str)> = files.iter().map(|(n, t)| (n.as_str(), *t)).collect();
    common::write_files(&env.config_dir(), &refs);
}

#[test]
fn a_user_script_with_flags_is_a_command_in_help_completion_and_errors() {
    let env = Env::new();
    user_scripts(&env, &[("greet.rhai", GREET), ("raw.rhai", "print(args);\n")]);

    let help = env.wego().arg("--help").run().ok().stdout;
    let section = help.split("Script commands:").nth(1).unwrap_or_else(|| panic!("{help}"));
    assert!(section.contains("greet") && section.contains("Greet someone, loudly if asked"), "{help}");
    for builtin in ["list", "suspend", "resume", "sync", "remove", "uninstall"] {
        assert!(section.lines().any(|l| l.trim_start().starts_with(builtin)), "{builtin} in {help}");
    }
    let sub = env.wego().args(["greet", "--help"]).run().ok().stdout;
    for want in
        ["A user's own command", "<WHO>", "-l, --loud", "Shout it", "--times <TIMES>", "[default: 1]", "plain, fancy"]
    {
        assert!(sub.contains(want), "{want} in {sub}");
    }

    let out = env.wego().args(["greet", "Bob", "--loud", "--times", "2", "--style", "fancy"]).run().ok();
    assert_eq!(out.stdout, "HELLO BOB\nHELLO BOB\nstyle=fancy command=greet output=table\n");
    let bad = env.wego().args(["greet", "Bob", "--bogus"]).run().expect_code(2);
    assert!(bad.stderr.contains("unexpected argument '--bogus'"), "{}", bad.stderr);
    let bad = env.wego().args(["greet", "Bob", "--times", "many"]).run().expect_code(2);
    assert!(bad.stderr.contains("invalid value 'many'"), "{}", bad.stderr);
    let bad = env.wego().args(["greet"]).run().expect_code(2);
    assert!(bad.stderr.contains("<WHO>"), "{}", bad.stderr);

    // No header: the words as they are.
    let raw = env.wego().args(["raw", "a", "--b", "-c"]).run().ok();
    assert_eq!(raw.stdout.trim(), r#"["a", "--b", "-c"]"#);

    // Completion asks wego back, which knows the script commands and their flags.
    let cwd = tempfile::tempdir().unwrap();
    let complete = |words: &[&str]| common::bash_complete(&env, cwd.path(), Path::new("/nonexistent"), words);
    assert_eq!(complete(&["wego", "gre"]), ["greet"]);
    assert!(complete(&["wego", "greet", "--lo"]).contains(&"--loud".to_string()));
    assert_eq!(complete(&["wego", "uninstall", "--keep"]), ["--keep-namespace"]);
}

#[test]
fn built_in_commands_are_never_shadowed_and_headers_are_checked() {
    let env = Env::new();
    let dir = tempfile::tempdir().unwrap();
    common::write_files(
        dir.path(),
        &[
            ("scripts/config.rhai", "print(\"not the config command\");"),
            ("scripts/version.rhai", "print(\"my version\");"),
            ("scripts/broken.rhai", "//! Broken\n// wego:flag --wait wat \"Wait\"\nprint(1);\n"),
            ("scripts/clash.rhai", "//! Clash\n// wego:flag --timeout \"Mine\"\n"),
        ],
    );
    let d = dir.path().display().to_string();
    // `config` is built in: a script of that name is not a command.
    let out = env.wego().env("WEGO_SCRIPTS_DIR", &d).args(["config", "--help"]).run().ok();
    assert!(out.stdout.contains("Inspect the effective configuration"), "{}", out.stdout);
    let help = env.wego().env("WEGO_SCRIPTS_DIR", &d).arg("--help").run().ok().stdout;
    let section = help.split("Script commands:").nth(1).unwrap();
    for builtin in ["config", "version"] {
        assert!(!section.lines().any(|l| l.trim_start().starts_with(builtin)), "{section}");
    }
    assert!(section.contains("broken     (its header has a mistake"), "{section}");
    // Overriding a built-in goes through the layers and says so.
    let out = env.wego().env("WEGO_SCRIPTS_DIR", &d).arg("version").run().ok();
    assert_eq!(out.stdout.trim(), "my version");
    assert!(out.stderr.contains("wego: using script version from"), "{}", out.stderr);
    // A mistake in a header is reported where the author will look.
    let out = env.wego().args(["broken", "--scripts-dir", &d]).run().expect_code(1);
    assert!(out.stderr.contains("unknown word `wat`"), "{}", out.stderr);
    assert!(out.stderr.contains("scripts/broken.rhai:2:21"), "{}", out.stderr);
    let out = env.wego().args(["clash", "--scripts-dir", &d]).run().expect_code(1);
    assert!(out.stderr.contains("`--timeout` is a global option"), "{}", out.stderr);
}

#[test]
fn a_repos_scripts_are_commands_only_once_trusted() {
    let env = Env::new();
    let repo = common::git_work_tree();
    common::write_files(
        repo.path(),
        &[(".wego/scripts/team-report.rhai", "//! The team's report\n// wego:command\nprint(\"report\");\n")],
    );
    let help = env.wego().arg("--help").cwd(repo.path()).run().ok().stdout;
    assert!(!help.contains("team-report"), "untrusted code is no command: {help}");
    let out = env.wego().args(["team-report"]).cwd(repo.path()).run().expect_code(2);
    assert!(out.stderr.contains(".wego/scripts/team-report.rhai, which you have not trusted"), "{}", out.stderr);
    assert!(out.stderr.contains("help: read it, then run `wego trust"), "{}", out.stderr);
    // A name no layer has is still clap's own error.
    let out = env.wego().args(["team-reprot"]).cwd(repo.path()).run().expect_code(2);
    assert!(out.stderr.contains("unrecognized subcommand 'team-reprot'"), "{}", out.stderr);
    env.wego().arg("trust").cwd(repo.path()).run().ok();
    let help = env.wego().arg("--help").cwd(repo.path()).run().ok().stdout;
    assert!(help.contains("team-report  The team's report"), "{help}");
    let out = env.wego().args(["team-report"]).cwd(repo.path()).run().ok();
    assert_eq!(out.stdout, "report\n");
    let out = env.wego().args(["team-report", "extra"]).cwd(repo.path()).run().expect_code(2);
    assert!(out.stderr.contains("unexpected argument 'extra'"), "declared: takes nothing: {}", out.stderr);
}

// ── A namespace with one app as Flux would have applied it ─────────────────────────────────

/// The runtime's CRDs, installed once per test process (cluster-wide).
fn ensure_crds(c: &Cluster) {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let _l = c.lock();
        install(c, "wego-lc-crds").ok();
    });
}

fn install(c: &Cluster, ns: &str) -> common::Out {
    let mirror = flux_mirror(false);
    Env::new()
        .wego()
        .args(["install", "--apply", "--wait=false", "-n", ns])
        .env("WEGO_FLUX_MANIFESTS_BASE_URL", &mirror.url)
        .env("KUBECONFIG", c.kubeconfig.display().to_string())
        .run()
}

struct Cl<'a> {
    c: &'a Cluster,
    env: Env,
    ns: String,
}

impl<'a> Cl<'a> {
    fn new(c: &'a Cluster, prefix: &str) -> Self {
        let ns = servers::name(prefix);
        c.kubectl(["create", "namespace", &ns]).ok();
        Cl { c, env: Env::new(), ns }
    }

    fn wego(&self) -> Wego {
        self.env.wego().env("KUBECONFIG", self.c.kubeconfig.display().to_string()).args(["-n", &self.ns])
    }

    /// Apply objects, then write their `status` as the controllers would (the fixture script).
    fn apply(&self, yaml: &str) {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("objs.yaml"), yaml).unwrap();
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/apply-with-status.rhai");
        std::fs::copy(&script, dir.path().join("fixture.rhai")).unwrap();
        self.wego().args(["run", "fixture.rhai", "objs.yaml"]).cwd(dir.path()).run().ok();
    }

    fn get(&self, kind: &str, name: &str) -> Value {
        let out = self.c.kubectl(["get", kind, name, "-n", &self.ns, "-o", "json"]).ok();
        serde_json::from_str(&out.stdout).unwrap()
    }

    fn patch_status(&self, kind: &str, name: &str, status: Value) {
        let body = json!({ "status": status }).to_string();
        self.c.kubectl(["patch", kind, name, "-n", &self.ns, "--subresource=status", "--type=merge", "-p", &body]).ok();
    }

    fn versions(&self) -> (String, String) {
        let rv = |k: &str| self.get(k, "web")["metadata"]["resourceVersion"].as_str().unwrap().to_string();
        (rv(GIT), rv(KS))
    }
}

impl Drop for Cl<'_> {
    fn drop(&mut self) {
        self.c.kubectl(["delete", "namespace", &self.ns, "--wait=false"]);
    }
}

const GIT: &str = "gitrepositories.source.toolkit.fluxcd.io";
const KS: &str = "kustomizations.kustomize.toolkit.fluxcd.io";

/// The App `web` and its Flux objects, as Flux applies them from the wego repo.
fn web_app(ns: &str) -> String {
    app_yaml("web", ns)
}

/// The App `name` and its Flux objects, ready, as Flux applies them from the wego repo.
fn app_yaml(name: &str, ns: &str) -> String {
    let web = format!(
        r#"---
apiVersion: wego.weave.works/v1alpha1
kind: App
metadata: {{name: web, namespace: {ns}, labels: {{wego.weave.works/app: web}}}}
spec: {{url: "https://github.com/example/web.git", gitURL: "https://github.com/example/web.git", branch: main, path: ./deploy, deploymentType: kustomize, sourceType: git}}
---
apiVersion: source.toolkit.fluxcd.io/v1
kind: GitRepository
metadata: {{name: web, namespace: {ns}, labels: {{wego.weave.works/app: web}}}}
spec: {{url: "https://github.com/example/web.git", interval: 1m, ref: {{branch: main}}}}
status:
  observedGeneration: 1
  artifact: {{revision: "main@sha1:1111", path: "x", url: "http://source-controller/x.tar.gz", digest: "sha256:0f", lastUpdateTime: "2026-11-25T09:59:00Z"}}
  conditions: [{{type: Ready, status: "True", reason: Succeeded, message: "stored artifact", lastTransitionTime: "2026-11-25T10:00:00Z"}}]
---
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata: {{name: web, namespace: {ns}, labels: {{wego.weave.works/app: web}}}}
spec: {{interval: 5m, prune: true, path: ./deploy, sourceRef: {{kind: GitRepository, name: web}}}}
status:
  observedGeneration: 1
  lastAppliedRevision: "main@sha1:1111"
  conditions: [{{type: Ready, status: "True", reason: ReconciliationSucceeded, message: "Applied revision: main@sha1:1111", lastTransitionTime: "2026-11-25T10:00:00Z"}}]
"#
    );
    web.replace("web", name)
}

/// A fresh namespace holding the app `web` as Flux applied it; the CRDs stay while the lock is held.
fn with_web<'a>(c: &'a Cluster, prefix: &str) -> (Cl<'a>, common::cluster::ClusterLock) {
    ensure_crds(c);
    let lock = c.shared_lock();
    let cl = Cl::new(c, prefix);
    cl.apply(&web_app(&cl.ns));
    (cl, lock)
}

fn suspended(cl: &Cl, kind: &str) -> Value {
    cl.get(kind, "web")["spec"]["suspend"].clone()
}

#[test]
fn suspend_and_resume_set_only_spec_suspend_and_reruns_change_nothing() {
    let Some(c) = cluster() else { return };
    let (cl, _l) = with_web(&c, "lc-suspend");

    // Dry run: the server checks the patch; nothing changes.
    let before = cl.versions();
    let out = cl.wego().args(["suspend", "web", "--dry-run"]).run().ok();
    assert!(out.stderr.contains("would suspend Kustomization"), "{}", out.stderr);
    assert_eq!(cl.versions(), before);

    let out = cl.wego().args(["suspend", "web"]).run().ok();
    assert!(out.stderr.contains(&format!("suspended Kustomization {}/web", cl.ns)), "{}", out.stderr);
    assert_eq!((suspended(&cl, KS), suspended(&cl, GIT)), (json!(true), json!(true)));
    // wego's field manager owns spec.suspend, and only that.
    let out = c.kubectl(["get", KS, "web", "-n", &cl.ns, "-o", "json", "--show-managed-fields"]).ok();
    let ks: Value = serde_json::from_str(&out.stdout).unwrap();
    let mine: Vec<&Value> =
        ks["metadata"]["managedFields"].as_array().unwrap().iter().filter(|m| m["manager"] == "wego").collect();
    // (The fixture wrote the status as a controller would; that part is not suspend's.)
    let spec: Vec<&Value> = mine.iter().map(|m| &m["fieldsV1"]["f:spec"]).filter(|s| !s.is_null()).collect();
    assert_eq!(spec, [&json!({"f:suspend": {}})], "{ks:#}");
    // The Kustomization that applied the object applies it again: no conflict, still suspended.
    cl.apply(&web_app(&cl.ns));
    assert_eq!(suspended(&cl, KS), json!(true));

    // list and status show it.
    let v = list_json(cl.wego());
    let web = app_row(&v, "web");
    assert_eq!((web["suspended"].clone(), web["state"].clone()), (json!(true), json!("ready")));
    let st: Value = serde_json::from_str(&cl.wego().args(["status", "-o", "json"]).run().stdout).unwrap();
    common::validate_status_json(&st);
    assert_eq!(st["apps"][0]["suspended"], true, "{st:#}");
    assert!(st["apps"][0]["message"].as_str().unwrap().starts_with("suspended"), "{st:#}");

    // Rerun: nothing to do, nothing written.
    let before = cl.versions();
    let out = cl.wego().args(["suspend", "web"]).run().ok();
    assert!(out.stderr.contains("web is already suspended"), "{}", out.stderr);
    assert_eq!(cl.versions(), before);

    // A suspended app is not synced.
    let out = cl.wego().args(["sync", "web"]).run().expect_code(1);
    assert!(out.stderr.contains("is suspended") && out.stderr.contains("wego resume web"), "{}", out.stderr);

    let out = cl.wego().args(["resume", "web", "--dry-run"]).run().ok();
    assert!(out.stderr.contains("would resume GitRepository"), "{}", out.stderr);
    assert_eq!(suspended(&cl, KS), json!(true));
    cl.wego().args(["resume", "web"]).run().ok();
    assert_eq!((suspended(&cl, KS), suspended(&cl, GIT)), (json!(false), json!(false)));
    let before = cl.versions();
    let out = cl.wego().args(["resume", "web"]).run().ok();
    assert!(out.stderr.contains("web is not suspended"), "{}", out.stderr);
    assert_eq!(cl.versions(), before);
    assert_eq!(app_row(&list_json(cl.wego()), "web")["suspended"], false);
}

#[test]
fn an_unknown_app_is_an_error_that_lists_the_apps() {
    let Some(c) = cluster() else { return };
    let (cl, _l) = with_web(&c, "lc-unknown");
    for cmd in ["suspend", "resume", "sync"] {
        let out = cl.wego().args([cmd, "wbe"]).run().expect_code(1);
        assert!(out.stderr.contains("no app 'wbe'"), "{cmd}: {}", out.stderr);
        assert!(out.stderr.contains("the apps are: web"), "{cmd}: {}", out.stderr);
    }
    let out = cl.wego().args(["suspend"]).run().expect_code(2);
    assert!(out.stderr.contains("<APP>"), "{}", out.stderr);
}

/// Wait until `kind/web` carries the reconcile request annotation; returns its value.
fn requested(cl: &Cl, kind: &str) -> String {
    let start = Instant::now();
    loop {
        let v = cl.get(kind, "web")["metadata"]["annotations"]["reconcile.fluxcd.io/requestedAt"].clone();
        if let Some(at) = v.as_str() {
            return at.to_string();
        }
        assert!(start.elapsed() < Duration::from_secs(90), "no reconcile request on {kind}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn ready(at: &str, revision: &str) -> Value {
    json!({
        "observedGeneration": 1,
        "lastHandledReconcileAt": at,
        "conditions": [{"type": "Ready", "status": "True", "reason": "Succeeded", "message": format!("Applied revision: {revision}"), "lastTransitionTime": "2026-11-25T11:00:00Z"}],
    })
}

#[test]
fn sync_requests_the_source_then_the_delivery_and_waits_for_both() {
    let Some(c) = cluster() else { return };
    let (cl, _l) = with_web(&c, "lc-sync");

    // Without --wait: both asked, nothing waited for.
    let out = cl.wego().args(["sync", "web"]).run().ok();
    assert!(out.stderr.contains("asked Flux to reconcile GitRepository"), "{}", out.stderr);
    let at = requested(&cl, GIT);
    assert_eq!(requested(&cl, KS), at);

    // With --wait: the controllers (this test) handle the request, source first.
    let waiting = cl.wego().args(["sync", "web", "--wait", "-o", "json"]);
    let run = std::thread::spawn(move || waiting.run());
    let start = Instant::now();
    let at2 = loop {
        let now = requested(&cl, GIT);
        if now != at {
            break now;
        }
        assert!(start.elapsed() < Duration::from_secs(90), "sync never asked for the source");
        std::thread::sleep(Duration::from_millis(200));
    };
    let mut src = ready(&at2, "main@sha1:2222");
    src["artifact"] = json!({"revision": "main@sha1:2222", "path": "x", "url": "http://source-controller/x.tar.gz", "digest": "sha256:0f", "lastUpdateTime": "2026-11-25T11:00:00Z"});
    // Not handled yet when only the source is: the Kustomization is asked after it.
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(requested(&cl, KS), at, "the delivery is asked once the source is handled");
    cl.patch_status(GIT, "web", src);
    let start = Instant::now();
    while requested(&cl, KS) != at2 {
        assert!(start.elapsed() < Duration::from_secs(90), "sync never asked for the source");
        std::thread::sleep(Duration::from_millis(200));
    }
    let mut ks = ready(&at2, "main@sha1:2222");
    ks["lastAppliedRevision"] = json!("main@sha1:2222");
    cl.patch_status(KS, "web", ks);
    let out = run.join().unwrap().ok();
    assert!(out.stderr.contains("applied revision main@sha1:2222"), "{}", out.stderr);
    let v: Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!((v["revision"].as_str(), v["requestedAt"].as_str()), (Some("main@sha1:2222"), Some(at2.as_str())));
}

#[test]
fn sync_wait_times_out_with_the_last_warning() {
    let Some(c) = cluster() else { return };
    let (cl, _l) = with_web(&c, "lc-timeout");
    cl.apply(&format!(
        r#"---
apiVersion: v1
kind: Event
metadata: {{name: web.1, namespace: {ns}}}
involvedObject: {{apiVersion: source.toolkit.fluxcd.io/v1, kind: GitRepository, name: web, namespace: {ns}}}
type: Warning
reason: GitOperationFailed
message: "failed to checkout and determine revision: unable to clone"
firstTimestamp: "2026-11-25T10:00:00Z"
lastTimestamp: "2026-11-25T10:00:00Z"
count: 1
source: {{component: source-controller}}
"#,
        ns = cl.ns
    ));
    let start = Instant::now();
    let out = cl.wego().args(["sync", "web", "--wait", "--timeout", "5s"]).run().expect_code(1);
    assert!(start.elapsed() < Duration::from_secs(5), "gives up before the command's deadline");
    assert!(out.stderr.contains(&format!("timed out waiting for GitRepository {}/web", cl.ns)), "{}", out.stderr);
    assert!(out.stderr.contains("GitOperationFailed: failed to checkout"), "{}", out.stderr);
    assert!(out.stderr.contains("allow more time with --timeout"), "{}", out.stderr);
}

fn list_json(w: Wego) -> Value {
    let out = w.args(["list", "-o", "json"]).run();
    let v: Value = serde_json::from_str(&out.stdout).unwrap_or_else(|e| panic!("{e}: {out:?}"));
    validate_list_json(&v);
    v
}

fn app_row<'v>(v: &'v Value, name: &str) -> &'v Value {
    v["apps"].as_array().unwrap().iter().find(|a| a["name"] == name).unwrap_or_else(|| panic!("{name} in {v:#}"))
}

/// Check `wego list -o json` against docs/list.schema.json.
fn validate_list_json(v: &Value) {
    let schema: Value = serde_json::from_str(
        &std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/list.schema.json")).unwrap(),
    )
    .unwrap();
    let validator = jsonschema::validator_for(&schema).unwrap();
    let errors: Vec<String> = validator.iter_errors(v).map(|e| format!("{} at {}", e, e.instance_path())).collect();
    assert!(errors.is_empty(), "list JSON violates docs/list.schema.json: {errors:?}\n{v:#}");
}

// ── Through the wego repo: list and remove ──────────────────────────────────────────────────

struct World<'a> {
    cl: Cl<'a>,
    f: Fakes,
    org: String,
    _lock: common::cluster::ClusterLock,
}

impl<'a> World<'a> {
    /// With the CRDs in place (a shared lock on them) and a fresh org on the GitHub stand-in.
    fn new(c: &'a Cluster, prefix: &str) -> Option<Self> {
        let f = fakes()?;
        servers::git_servers()?;
        ensure_crds(c);
        let lock = c.shared_lock();
        let cl = Cl::new(c, prefix);
        let (org, cfg) = servers::github_org(&f);
        common::write_files(&cl.env.config_dir(), &[("wego/config.yaml", &cfg)]);
        Some(World { cl, f, org, _lock: lock })
    }

    fn wego(&self) -> Wego {
        self.cl.wego().env("GITHUB_TOKEN", &self.f.token)
    }

    fn repo(&self, name: &str, private: bool, files: &[(&str, &str)]) -> (String, Remote) {
        let r = control(
            &self.f.github,
            "/_fake/repos",
            json!({"owner": self.org, "name": name, "private": private, "default_branch": "main"}),
        );
        assert!(r.status < 300, "{}", r.body);
        let remote = Remote {
            name: format!("github/{}/{name}", self.org),
            path: self.f.srv.join("github").join(&self.org).join(format!("{name}.git")),
        };
        if !files.is_empty() {
            push_files(&remote, "main", files, "app manifests");
        }
        let http = servers::setting("WEGO_TEST_GIT_HTTP").unwrap();
        (format!("{http}/{}.git", remote.name), remote)
    }

    fn fake_repo(&self, name: &str) -> Value {
        servers::fake_repo(&self.f.github, &self.org, name)
    }

    fn open_pulls(&self, name: &str) -> Vec<Value> {
        let pulls = self.fake_repo(name)["pulls"].as_array().cloned().unwrap_or_default();
        pulls.into_iter().filter(|p| p["state"] == "open").collect()
    }

    fn merge(&self, repo: &str, number: &Value) {
        let r = control(&self.f.github, "/_fake/merge", json!({"owner": self.org, "name": repo, "number": number}));
        assert!(r.status < 300, "{}", r.body);
    }

    fn secrets(&self) -> String {
        self.cl
            .c
            .kubectl(["get", "secrets", "-n", &self.cl.ns, "-l", "app.kubernetes.io/part-of=wego", "-o", "name"])
            .ok()
            .stdout
    }
}

fn refs(r: &Remote) -> String {
    git(&r.path, &["for-each-ref", "--format=%(refname) %(objectname)"])
}

fn tree(r: &Remote, branch: &str) -> String {
    git(&r.path, &["ls-tree", "-r", "--name-only", branch])
}

const MANIFEST: &str = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: web}\ndata: {a: b}\n";

#[test]
fn list_shows_the_repo_the_cluster_and_pull_requests_and_remove_takes_an_app_out() {
    let Some(c) = cluster() else { return };
    let Some(w) = World::new(&c, "lc-remove") else { return };
    let (web_url, web) = w.repo("web", true, &[("deploy/cm.yaml", MANIFEST)]);
    let (api_url, _api) = w.repo("api", false, &[("deploy/cm.yaml", MANIFEST)]);
    let (new_url, _new) = w.repo("fresh", false, &[("deploy/cm.yaml", MANIFEST)]);
    let (fleet_url, fleet) = w.repo("fleet", false, &[("README.md", "fleet\n")]);
    let add = |url: &str, extra: &[&str]| {
        w.wego().args(["add", "--url", url, "--path", "deploy", "--app-config-url", &fleet_url]).args(extra).run().ok()
    };
    add(&web_url, &["--auto-merge"]);
    add(&api_url, &["--auto-merge"]);
    add(&new_url, &[]);
    assert_eq!(w.fake_repo("web")["keys"].as_array().unwrap().len(), 1, "the private app has a deploy key");
    assert!(w.secrets().contains("wego-web-"), "{}", w.secrets());
    // Flux applied `web` (the others are not in the cluster yet).
    w.cl.apply(&web_app(&w.cl.ns));

    let v = list_json(w.wego());
    assert_eq!(v["cluster"], "test");
    let names: Vec<&str> = v["apps"].as_array().unwrap().iter().map(|a| a["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["api", "fresh", "web"]);
    let web_row = app_row(&v, "web");
    assert_eq!((web_row["state"].as_str(), web_row["inCluster"].as_bool()), (Some("ready"), Some(true)));
    assert_eq!(web_row["clusters"], json!(["test"]));
    let api_row = app_row(&v, "api");
    assert_eq!((api_row["state"].as_str(), api_row["type"].as_str()), (Some("not-in-cluster"), Some("kustomize")));
    assert!(api_row["source"].as_str().unwrap().contains("/api.git@main ./deploy"), "{api_row}");
    let fresh = app_row(&v, "fresh");
    assert_eq!(fresh["state"], "awaiting-pr");
    assert_eq!(fresh["pullRequest"]["change"], "add");
    let table = w.wego().arg("list").run().ok().stdout;
    assert!(table.starts_with("APP") && table.contains("SUSPENDED") && table.contains("awaiting-pr"), "{table}");

    // Dry run: the diff and the pull request it would open; nothing anywhere changes.
    let before =
        (refs(&fleet), refs(&web), w.open_pulls("fleet").len(), w.fake_repo("web")["keys"].clone(), w.secrets());
    let out = w.wego().args(["remove", "web", "--dry-run"]).run().ok();
    assert!(out.stdout.contains("--- a/.wego/apps/web/app.yaml"), "{}", out.stdout);
    assert!(out.stdout.contains("--- a/.wego/targets/test/web/web-gitops-runtime.yaml"), "{}", out.stdout);
    assert!(out.stderr.contains("would open a pull request from wego/test/remove-web"), "{}", out.stderr);
    assert!(out.stderr.contains("would delete the deploy key"), "{}", out.stderr);
    assert_eq!(
        before,
        (refs(&fleet), refs(&web), w.open_pulls("fleet").len(), w.fake_repo("web")["keys"].clone(), w.secrets())
    );

    // The pull request; the deploy key and its Secret go, nothing else does.
    let main_before = git(&fleet.path, &["rev-parse", "main"]);
    let out = w.wego().args(["remove", "web"]).run().ok();
    let url = out.stdout.trim().to_string();
    assert!(url.contains("/pull/"), "{out:?}");
    assert_eq!(git(&fleet.path, &["rev-parse", "main"]), main_before);
    let pr = w.open_pulls("fleet").into_iter().find(|p| p["head"] == "wego/test/remove-web").unwrap();
    assert_eq!(pr["title"], "wego: remove web from test");
    assert!(w.fake_repo("web")["keys"].as_array().unwrap().is_empty(), "the deploy key is deleted");
    assert!(!w.secrets().contains("wego-web-"), "{}", w.secrets());
    let files = tree(&fleet, "wego/test/remove-web");
    assert!(!files.contains(".wego/apps/web/") && !files.contains(".wego/targets/test/web/"), "{files}");
    assert!(
        files.contains(".wego/apps/api/app.yaml") && files.contains(".wego/targets/test/test-gitops-runtime.yaml"),
        "{files}"
    );
    assert_eq!(app_row(&list_json(w.wego()), "web")["pullRequest"]["change"], "remove");

    // Rerun: the same pull request, nothing new.
    let before = (refs(&fleet), w.open_pulls("fleet").len());
    let again = w.wego().args(["remove", "web"]).run().ok();
    assert_eq!(again.stdout.trim(), url);
    assert_eq!(before, (refs(&fleet), w.open_pulls("fleet").len()));

    // Merged: Flux prunes the app; until it has, and after, a rerun is a no-op.
    w.merge("fleet", &pr["number"]);
    let merged = refs(&fleet);
    let out = w.wego().args(["remove", "web"]).run().ok();
    assert!(out.stderr.contains("not in") && out.stderr.contains("any more"), "{}", out.stderr);
    assert_eq!(refs(&fleet), merged);

    // An app only in its pull request is not removed: that pull request is.
    let out = w.wego().args(["remove", "fresh"]).run().expect_code(1);
    assert!(out.stderr.contains("adds it") && out.stderr.contains("close that pull request"), "{}", out.stderr);

    // Unknown: the known apps are named.
    let out = w.wego().args(["remove", "nope"]).run().expect_code(1);
    assert!(out.stderr.contains("no app 'nope'") && out.stderr.contains("api, web"), "{}", out.stderr);

    // --auto-merge: straight to the default branch.
    let out = w.wego().args(["remove", "api", "--auto-merge"]).run().ok();
    assert!(out.stderr.contains("removed api from main"), "{}", out.stderr);
    let files = tree(&fleet, "main");
    assert!(
        !files.contains(".wego/apps/api/") && files.contains(".wego/targets/test/test-gitops-runtime.yaml"),
        "{files}"
    );
}

// ── Uninstall, and every command without the runtime ───────────────────────────────────────

fn crds_left(c: &Cluster) -> String {
    let flux = c.kubectl(["get", "crd", "-l", "app.kubernetes.io/part-of=flux", "-o", "name"]).ok().stdout;
    let app = c.kubectl(["get", "crd", "apps.wego.weave.works", "--ignore-not-found", "-o", "name"]).ok().stdout;
    flux + &app
}

#[test]
fn uninstall_removes_the_runtime_and_every_command_then_says_it_is_missing() {
    let Some(c) = cluster() else { return };
    ensure_crds(&c);
    // Deleting the CRDs affects every test on this cluster: hold the exclusive lock, and put the
    // runtime back before letting go.
    let _l = c.lock();
    let env = Env::new();
    let ns = servers::name("lc-uninstall");
    install(&c, &ns).ok();
    let cl = Cl { c: &c, env, ns: ns.clone() };
    cl.apply(&web_app(&ns));
    c.kubectl([
        "patch",
        GIT,
        "web",
        "-n",
        &ns,
        "--type=merge",
        "-p",
        r#"{"metadata":{"finalizers":["finalizers.fluxcd.io"]}}"#,
    ])
    .ok();
    c.kubectl(["create", "secret", "generic", "wego-x-deploy-key", "-n", &ns]).ok();
    c.kubectl(["label", "secret", "wego-x-deploy-key", "-n", &ns, "app.kubernetes.io/part-of=wego"]).ok();
    let objects =
        || c.kubectl(["get", "deployments,configmaps,secrets,serviceaccounts", "-n", &ns, "-o", "name"]).ok().stdout;
    let before = (objects(), crds_left(&c));

    let out = cl.wego().args(["uninstall", "--dry-run"]).run().ok();
    for want in [
        "would remove the finalizers of GitRepository",
        "would delete Deployment",
        "would delete CustomResourceDefinition apps.wego.weave.works",
        "would delete Secret",
        &format!("would delete Namespace {ns}"),
        "wego repo is left as it is",
    ] {
        assert!(out.stderr.contains(want), "{want}: {}", out.stderr);
    }
    assert_eq!(before, (objects(), crds_left(&c)));
    // Asked, and answered no (or not at all): nothing is deleted.
    for answer in ["n\n", ""] {
        let out = cl.wego().arg("uninstall").stdin(answer).run().expect_code(1);
        assert!(out.stderr.contains("[y/N]") && out.stderr.contains("uninstall aborted"), "{}", out.stderr);
    }
    assert_eq!(before, (objects(), crds_left(&c)));

    let out = cl.wego().args(["uninstall", "--silent", "--keep-namespace"]).run().ok();
    assert!(out.stderr.contains("removed the finalizers of GitRepository"), "{}", out.stderr);
    assert!(out.stderr.contains("uninstall finished; the wego repo is left as it is"), "{}", out.stderr);
    let start = Instant::now();
    while !crds_left(&c).is_empty() {
        if start.elapsed() > Duration::from_secs(120) {
            let why = c.kubectl(["get", "crd", "-l", "app.kubernetes.io/part-of=flux", "-o", "jsonpath={range .items[*]}{.metadata.name}: {.status.conditions[?(@.type==\"Terminating\")].message}{\"\\n\"}{end}"]);
            panic!("CRDs still there: {}\n{}", crds_left(&c), why.stdout);
        }
        std::thread::sleep(Duration::from_millis(500));
    }
    let left = objects();
    assert!(
        !left.contains("deployment") && !left.contains("wego-x-deploy-key") && !left.contains("wego-config"),
        "{left}"
    );
    let phase =
        || c.kubectl(["get", "namespace", &ns, "--ignore-not-found", "-o", "jsonpath={.status.phase}"]).ok().stdout;
    assert_eq!(phase(), "Active", "--keep-namespace keeps it");
    // Rerun: nothing left to do.
    let out = cl.wego().args(["uninstall", "--yes", "--keep-namespace"]).run().ok();
    assert!(out.stderr.contains("nothing to uninstall"), "{}", out.stderr);
    let out = cl.wego().args(["uninstall", "--yes"]).run().ok();
    assert!(out.stderr.contains(&format!("deleted Namespace {ns}")), "{}", out.stderr);
    assert!(matches!(phase().as_str(), "" | "Terminating"), "{}", phase());

    // Without the runtime, every app command says so and changes nothing.
    for cmd in [vec!["list"], vec!["suspend", "web"], vec!["resume", "web"], vec!["sync", "web"], vec!["remove", "web"]]
    {
        let out = cl.wego().args(&cmd).run().expect_code(1);
        assert!(out.stderr.contains("the GitOps runtime is not installed"), "{cmd:?}: {}", out.stderr);
        assert!(out.stderr.contains("wego install | kubectl apply -f -"), "{cmd:?}");
    }
    // Put the runtime back for the other tests.
    install(&c, "wego-lc-crds").ok();
}

#[test]
fn list_makes_a_constant_number_of_requests() {
    let Some(c) = cluster() else { return };
    let Some(audit) = audit_log() else { return };
    ensure_crds(&c);
    // Under the exclusive lock no other wego runs: the audit log's growth is this list's requests.
    let _l = c.lock();
    let cl = Cl::new(&c, "lc-count");
    let mut calls = vec![];
    for names in
        [vec!["app-0"], (1..9).map(|i| format!("app-{i}")).collect::<Vec<_>>().iter().map(String::as_str).collect()]
    {
        cl.apply(&names.iter().map(|n| app_yaml(n, &cl.ns)).collect::<String>());
        let before = audited(&audit);
        let v = list_json(cl.wego());
        assert!(v["apps"].as_array().unwrap().len() >= names.len());
        calls.push(audited(&audit) - before);
    }
    assert_eq!(calls[0], calls[1], "API requests of `wego list` for 1 app vs 9 apps");
    assert!(calls[0] < 20, "{calls:?}");
}

#[test]
fn remove_from_one_cluster_keeps_the_app_for_the_others_and_all_clusters_takes_it_everywhere() {
    let Some(c) = cluster() else { return };
    let Some(w) = World::new(&c, "lc-two") else { return };
    let other = Cl::new(&c, "lc-two-b");
    let (app_url, _app) = w.repo("web", false, &[("deploy/cm.yaml", MANIFEST)]);
    let (fleet_url, fleet) = w.repo("fleet", false, &[("README.md", "fleet\n")]);
    let cfg = std::fs::read_to_string(w.cl.env.config_dir().join("wego/config.yaml")).unwrap();
    common::write_files(&other.env.config_dir(), &[("wego/config.yaml", &cfg)]);
    let in_b = || other.wego().env("GITHUB_TOKEN", &w.f.token);
    let add = ["add", "--url", &app_url, "--path", "deploy", "--app-config-url", &fleet_url, "--auto-merge"];
    w.wego().args(add).args(["--cluster", "east"]).run().ok();
    in_b().args(add).args(["--cluster", "west"]).run().ok();

    let out = w.wego().args(["remove", "web", "--auto-merge"]).run().ok();
    assert!(out.stderr.contains("Flux prunes web and everything it applied from east"), "{}", out.stderr);
    let files = tree(&fleet, "main");
    assert!(!files.contains(".wego/targets/east/web/") && files.contains(".wego/targets/west/web/"), "{files}");
    assert!(files.contains(".wego/apps/web/app.yaml"), "west still delivers it: {files}");
    assert_eq!(app_row(&list_json(in_b()), "web")["clusters"], json!(["west"]));

    // From east again: nothing of it is left there; --all-clusters reaches west too.
    let out = w.wego().args(["remove", "web", "--auto-merge"]).run().expect_code(1);
    assert!(
        out.stderr.contains("delivers web to west, not to east") && out.stderr.contains("--all-clusters"),
        "{}",
        out.stderr
    );
    w.wego().args(["remove", "web", "--auto-merge", "--all-clusters"]).run().ok();
    let files = tree(&fleet, "main");
    assert!(!files.contains("/web/"), "{files}");
    assert!(files.contains(".wego/targets/west/west-gitops-runtime.yaml"), "{files}");
}
