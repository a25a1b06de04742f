//! `wego add` end to end: the real API server, real git remotes, and the GitHub/GitLab fakes.
//! Flux cannot run here, so delivery is shown up to what Flux would read: the files on the
//! default branch after the PR is merged, validated against Flux's CRDs and accepted by the
//! API server (server-side dry run).

mod common;

use std::path::{Path, PathBuf};

use common::cluster::{cluster, Cluster};
use common::servers::{self, control, fakes, git, push_files, Fakes, Remote};
use common::{crds, flux_mirror, Env, Wego};
use serde_json::{json, Value};

const SOCKSHOP: &str = "tests/fixtures/apps/sockshop";

/// Everything one add test needs: its own namespace, user home, fake org and repos.
struct World<'a> {
    c: &'a Cluster,
    f: Fakes,
    env: Env,
    ns: String,
    org: String,
    _lock: common::cluster::ClusterLock,
}

/// The runtime's CRDs are installed once per test process (cluster-wide).
fn ensure_crds(c: &Cluster) {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let _l = c.lock();
        let env = Env::new();
        let mirror = flux_mirror(false);
        let out = env
            .wego()
            .args(["install", "--apply", "-n", "wego-add-crds"])
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
        for base in [&f.github, &f.gitlab] {
            let kind = if *base == f.github { "Organization" } else { "group" };
            control(base, "/_fake/users", json!({"login": org, "type": kind}));
        }
        let http = servers::setting("WEGO_TEST_GIT_HTTP").unwrap();
        let cfg = format!(
            "apiVersion: wego.weave.works/v1alpha1\nkind: Config\nproviders:\n- host: {h}/github\n  type: github\n  apiUrl: {gh}\n- host: {h}/gitlab\n  type: gitlab\n  apiUrl: {gl}\n",
            h = http.trim_start_matches("http://"),
            gh = f.github,
            gl = f.gitlab
        );
        common::write_files(&env.config_dir(), &[("wego/config.yaml", &cfg)]);
        Some(World { c, f, env, ns, org, _lock: lock })
    }

    fn wego(&self) -> Wego {
        self.env
            .wego()
            .env("KUBECONFIG", self.c.kubeconfig.display().to_string())
            .env("GITHUB_TOKEN", &self.f.token)
            .env("GITLAB_TOKEN", &self.f.token)
            .args(["-n", &self.ns])
    }

    /// A repo in the fake `flavor` (github|gitlab) under this test's org, with `files` on `branch`.
    fn repo(&self, flavor: &str, name: &str, private: bool, branch: &str, files: &[(&str, &str)]) -> Repo {
        let base = if flavor == "github" { &self.f.github } else { &self.f.gitlab };
        let r = control(
            base,
            "/_fake/repos",
            json!({"owner": self.org, "name": name, "private": private, "default_branch": branch}),
        );
        assert!(r.status < 300, "{}", r.body);
        let path = self.f.srv.join(flavor).join(&self.org).join(format!("{name}.git"));
        let remote = Remote { name: format!("{flavor}/{}/{name}", self.org), path };
        if !files.is_empty() {
            push_files(&remote, branch, files, "app manifests");
        }
        let http = servers::setting("WEGO_TEST_GIT_HTTP").unwrap();
        Repo {
            url: format!("{http}/{}.git", remote.name),
            remote,
            flavor: flavor.into(),
            owner: self.org.clone(),
            name: name.into(),
        }
    }

    /// The fake's record of one of this test's repos (with its `pulls` and `keys`).
    fn fake_repo(&self, flavor: &str, name: &str) -> Value {
        let base = if flavor == "github" { &self.f.github } else { &self.f.gitlab };
        let state = servers::http("GET", &format!("{base}/_fake/state"), &[], None).json();
        state["repos"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["owner"] == self.org && r["name"] == name)
            .cloned()
            .unwrap_or(Value::Null)
    }

    fn pulls(&self, flavor: &str, name: &str) -> Vec<Value> {
        self.fake_repo(flavor, name)["pulls"].as_array().cloned().unwrap_or_default()
    }

    fn keys(&self, flavor: &str, name: &str) -> Vec<Value> {
        self.fake_repo(flavor, name)["keys"].as_array().cloned().unwrap_or_default()
    }
}

impl Drop for World<'_> {
    fn drop(&mut self) {
        self.c.kubectl(["delete", "namespace", &self.ns, "--wait=false"]);
    }
}

struct Repo {
    url: String,
    remote: Remote,
    flavor: String,
    owner: String,
    name: String,
}

impl Repo {
    fn refs(&self) -> String {
        git(&self.remote.path, &["for-each-ref", "--format=%(refname) %(objectname)"])
    }
    /// Files of `branch` in a fresh clone.
    fn checkout(&self, branch: &str) -> (tempfile::TempDir, PathBuf) {
        let d = tempfile::tempdir().unwrap();
        let dir = d.path().join("c");
        git(d.path(), &["clone", "-q", "-b", branch, self.remote.path.to_str().unwrap(), "c"]);
        (d, dir)
    }
}

/// The fixture directory's files as (path inside the repo, content).
fn fixture(dir: &str, under: &str) -> Vec<(String, String)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join(dir);
    let mut out = vec![];
    let mut stack = vec![root.clone()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(d).unwrap().flatten() {
            if e.path().is_dir() {
                stack.push(e.path());
            } else {
                let rel = e.path().strip_prefix(&root).unwrap().display().to_string();
                out.push((format!("{under}/{rel}"), std::fs::read_to_string(e.path()).unwrap()));
            }
        }
    }
    out
}

fn as_refs(v: &[(String, String)]) -> Vec<(&str, &str)> {
    v.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect()
}

/// Every YAML object under `dir` (recursively), with its file.
fn objects(dir: &Path) -> Vec<(String, Value)> {
    let mut out = vec![];
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(d).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "yaml") {
                let docs: Vec<Value> = serde_saphyr::from_multiple(&std::fs::read_to_string(&p).unwrap()).unwrap();
                out.extend(docs.into_iter().filter(|d| !d.is_null()).map(|d| (p.display().to_string(), d)));
            }
        }
    }
    out
}

/// What Flux needs on the default branch: every object valid for its CRD, and the API server
/// accepts them all (server-side dry run).
fn assert_deliverable(w: &World, checkout: &Path) {
    let wego_dir = checkout.join(".wego");
    let objs = objects(&wego_dir);
    assert!(!objs.is_empty());
    if let Some(flux) = crds::flux_crds() {
        let app = crds::app_crd(&w.env);
        for (file, o) in objs.iter().filter(|(f, _)| !f.ends_with("config.yaml")) {
            let p = crds::problems(o, &flux, &app);
            assert!(p.is_empty(), "{} in {file}: {p:?}", o["kind"]);
        }
    }
    let out = w.c.kubectl([
        "apply",
        "--dry-run=server",
        "-R",
        "-f",
        wego_dir.join("apps").to_str().unwrap(),
        "-f",
        wego_dir.join("targets").to_str().unwrap(),
    ]);
    assert_eq!(out.code, 0, "server-side dry run: {}\n{}", out.stdout, out.stderr);
}

#[test]
fn github_pull_request_flow_with_a_public_app_and_a_private_wego_repo() {
    let Some(c) = cluster() else { return };
    let Some(w) = World::new(&c, "add-gh") else { return };
    let app = w.repo("github", "podinfo", false, "main", &as_refs(&fixture(SOCKSHOP, "deploy")));
    let fleet = w.repo("github", "fleet", true, "main", &[("README.md", "fleet\n")]);
    let main_before = git(&fleet.remote.path, &["rev-parse", "main"]);

    let out =
        w.wego().args(["add", "--url", &app.url, "--path", "./deploy", "--app-config-url", &fleet.url]).run().ok();
    let pr_url = out.stdout.trim().to_string();
    assert!(pr_url.contains("/pull/"), "{out:?}");
    assert_eq!(git(&fleet.remote.path, &["rev-parse", "main"]), main_before, "the default branch does not move");
    let prs = w.pulls("github", "fleet");
    assert_eq!(prs.len(), 1, "{prs:#?}");
    let pr = &prs[0];
    assert_eq!(pr["head"], "wego/add-podinfo");
    assert_eq!(pr["title"], "wego: add podinfo to test");
    let body = pr["body"].as_str().unwrap();
    assert!(body.contains(".wego/apps/podinfo/app.yaml") && body.contains("once this is merged"), "{body}");

    // The private wego repo: a read-only deploy key and the Secret Flux uses.
    let keys = w.keys("github", "fleet");
    assert_eq!(keys.len(), 1, "{keys:#?}");
    assert_eq!(keys[0]["read_only"], true);
    let secret: Value = serde_json::from_str(
        &c.kubectl(["get", "secret", "wego-fleet-deploy-key", "-n", &w.ns, "-o", "json"]).ok().stdout,
    )
    .unwrap();
    for k in ["identity", "identity.pub", "known_hosts"] {
        assert!(secret["data"][k].is_string(), "{k}");
    }
    // The cluster follows the wego repo's default branch.
    let git_repo: Value = serde_json::from_str(
        &c.kubectl(["get", "gitrepositories.source.toolkit.fluxcd.io", "wego", "-n", &w.ns, "-o", "json"]).ok().stdout,
    )
    .unwrap();
    assert_eq!(git_repo["spec"]["ref"]["branch"], "main");
    assert_eq!(git_repo["spec"]["secretRef"]["name"], "wego-fleet-deploy-key");
    assert!(git_repo["spec"]["url"].as_str().unwrap().starts_with("ssh://"));
    let cm =
        c.kubectl(["get", "configmap", "wego-config", "-n", &w.ns, "-o", "jsonpath={.data.config\\.yaml}"]).ok().stdout;
    assert!(cm.contains(&format!("{}/fleet.git", w.org)), "the wego repo is recorded: {cm}");

    // Idempotent: the same add again makes no commit, PR, key or Secret.
    let refs = fleet.refs();
    let rv = c
        .kubectl(["get", "secret", "wego-fleet-deploy-key", "-n", &w.ns, "-o", "jsonpath={.metadata.resourceVersion}"])
        .ok()
        .stdout;
    let again =
        w.wego().args(["add", "--url", &app.url, "--path", "./deploy", "--app-config-url", &fleet.url]).run().ok();
    assert_eq!(again.stdout.trim(), pr_url);
    assert!(again.stderr.contains("awaits"), "{}", again.stderr);
    assert_eq!(fleet.refs(), refs);
    assert_eq!(w.pulls("github", "fleet").len(), 1);
    assert_eq!(w.keys("github", "fleet").len(), 1);
    assert_eq!(
        c.kubectl([
            "get",
            "secret",
            "wego-fleet-deploy-key",
            "-n",
            &w.ns,
            "-o",
            "jsonpath={.metadata.resourceVersion}"
        ])
        .ok()
        .stdout,
        rv
    );

    // Merged: the default branch holds exactly what Flux needs.
    let number = pr["number"].as_i64().unwrap();
    let r = control(&w.f.github, "/_fake/merge", json!({"owner": w.org, "name": "fleet", "number": number}));
    assert!(r.status < 300, "{}", r.body);
    let (_d, main) = fleet.checkout("main");
    let mut files: Vec<String> =
        objects(&main.join(".wego")).into_iter().map(|(f, _)| f.replace(main.to_str().unwrap(), "")).collect();
    files.sort();
    files.dedup();
    assert_eq!(
        files,
        [
            "/.wego/apps/podinfo/app.yaml",
            "/.wego/config.yaml",
            "/.wego/targets/test/podinfo/podinfo-gitops-runtime.yaml",
            "/.wego/targets/test/test-gitops-runtime.yaml"
        ]
    );
    assert_deliverable(&w, &main);
    // The delivered kustomize directory builds: several services and a stateful store.
    let (_a, app_dir) = app.checkout("main");
    let built = c.kubectl(["kustomize", app_dir.join("deploy").to_str().unwrap()]).ok().stdout;
    assert_eq!(built.matches("kind: Deployment").count(), 3);
    assert!(built.contains("kind: StatefulSet") && built.contains("volumeClaimTemplates"));
}
