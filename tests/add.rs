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
        Repo { url: format!("{http}/{}.git", remote.name), remote }
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

#[test]
fn gitlab_direct_commit_flow_with_a_private_app_repo_over_ssh() {
    let Some(c) = cluster() else { return };
    let Some(w) = World::new(&c, "add-gl") else { return };
    let app = w.repo("gitlab", "shop", true, "main", &as_refs(&fixture(SOCKSHOP, "k8s")));
    let fleet = w.repo("gitlab", "fleet", false, "main", &[("README.md", "fleet\n")]);
    let before = git(&fleet.remote.path, &["rev-parse", "main"]);
    let add = [
        "add",
        "--url",
        &app.url,
        "--path",
        "k8s",
        "--app-config-url",
        &fleet.url,
        "--auto-merge",
        "--target-namespace",
        "sock-shop",
    ];
    let out = w.wego().args(add).run().ok();
    assert!(out.stdout.is_empty(), "no PR in the direct flow: {}", out.stdout);
    let after = git(&fleet.remote.path, &["rev-parse", "main"]);
    assert_ne!(before, after, "the default branch moved");
    assert!(git(&fleet.remote.path, &["branch", "--list"]).lines().count() == 1, "no extra branch");
    assert!(w.pulls("gitlab", "fleet").is_empty(), "no merge request");
    // The private app repo gets a read-only deploy key and an ssh URL; the public wego repo none.
    let keys = w.keys("gitlab", "shop");
    assert_eq!(keys.len(), 1, "{keys:#?}");
    assert!(w.keys("gitlab", "fleet").is_empty());
    let (_d, main) = fleet.checkout("main");
    let runtime = std::fs::read_to_string(main.join(".wego/targets/test/shop/shop-gitops-runtime.yaml")).unwrap();
    let objs: Vec<Value> = serde_saphyr::from_multiple(&runtime).unwrap();
    let source = objs.iter().find(|o| o["kind"] == "GitRepository").unwrap();
    assert!(source["spec"]["url"].as_str().unwrap().starts_with("ssh://"), "{source}");
    assert_eq!(source["spec"]["secretRef"]["name"], "wego-shop-deploy-key");
    let ks = objs.iter().find(|o| o["kind"] == "Kustomization").unwrap();
    assert_eq!(ks["spec"]["path"], "./k8s");
    assert_eq!(ks["spec"]["targetNamespace"], "sock-shop");
    let kh = c
        .kubectl(["get", "secret", "wego-shop-deploy-key", "-n", &w.ns, "-o", "jsonpath={.data.known_hosts}"])
        .ok()
        .stdout;
    assert!(!kh.is_empty(), "known_hosts stored for Flux");
    assert_deliverable(&w, &main);
    // Rerun: nothing new.
    w.wego().args(add).run().ok();
    assert_eq!(git(&fleet.remote.path, &["rev-parse", "main"]), after);
    assert_eq!(w.keys("gitlab", "shop").len(), 1);
}

#[test]
fn a_helm_chart_from_a_helm_repository_into_the_users_namespace() {
    let Some(c) = cluster() else { return };
    let Some(w) = World::new(&c, "add-helm") else { return };
    let Some(helm) = servers::setting("WEGO_TEST_HELM")
        .or_else(|| Some("/var/tmp/wego-tools/bin/helm".into()))
        .filter(|h| Path::new(h).is_file())
    else {
        servers::missing::<()>("helm (tests/env/helm-install.sh)");
        return;
    };
    // A chart repository built with helm itself, served over HTTP.
    let charts = tempfile::tempdir().unwrap();
    let chart_src = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/apps/chart");
    let run = |args: &[&str]| {
        let o = std::process::Command::new(&helm).args(args).output().unwrap();
        assert!(o.status.success(), "helm {args:?}: {}", String::from_utf8_lossy(&o.stderr));
        String::from_utf8_lossy(&o.stdout).to_string()
    };
    run(&["package", chart_src.to_str().unwrap(), "-d", charts.path().to_str().unwrap()]);
    let tgz = std::fs::read(charts.path().join("hello-chart-0.3.0.tgz")).unwrap();
    // The index names the chart by a relative URL, so it works wherever it is served.
    run(&["repo", "index", charts.path().to_str().unwrap()]);
    let index = std::fs::read(charts.path().join("index.yaml")).unwrap();
    let server = common::http_server::HttpServer::start_bytes(
        vec![("/charts/index.yaml".into(), index), ("/charts/hello-chart-0.3.0.tgz".into(), tgz)],
        std::time::Duration::ZERO,
    );
    let repo_url = format!("{}/charts", server.url);
    let fleet = w.repo("github", "fleet", false, "main", &[("README.md", "fleet\n")]);
    w.wego()
        .args(["add", "--chart", "hello-chart", "--helm-repo-url", &repo_url, "--chart-version", "0.3.0"])
        .args(["--target-namespace", "team-a", "--app-config-url", &fleet.url, "--auto-merge"])
        .run()
        .ok();
    let (_d, main) = fleet.checkout("main");
    let runtime =
        std::fs::read_to_string(main.join(".wego/targets/test/hello-chart/hello-chart-gitops-runtime.yaml")).unwrap();
    let objs: Vec<Value> = serde_saphyr::from_multiple(&runtime).unwrap();
    let hr = objs.iter().find(|o| o["kind"] == "HelmRepository").unwrap();
    assert_eq!(hr["spec"]["url"], repo_url);
    let rel = objs.iter().find(|o| o["kind"] == "HelmRelease").unwrap();
    assert_eq!(rel["spec"]["chart"]["spec"]["chart"], "hello-chart");
    assert_eq!(rel["spec"]["chart"]["spec"]["version"], "0.3.0");
    assert_eq!(rel["spec"]["chart"]["spec"]["sourceRef"]["kind"], "HelmRepository");
    assert_eq!(rel["spec"]["targetNamespace"], "team-a");
    assert_eq!(rel["spec"]["install"]["createNamespace"], true);
    assert_deliverable(&w, &main);
    // What helm-controller would render: the chart fetched from that repository, at that
    // version, with the release's name and namespace.
    let rendered = run(&[
        "template",
        rel["spec"]["releaseName"].as_str().unwrap(),
        "hello-chart",
        "--repo",
        &repo_url,
        "--version",
        "0.3.0",
        "--namespace",
        "team-a",
    ]);
    assert!(rendered.contains("namespace: team-a") && rendered.contains("name: hello-chart"), "{rendered}");
}

#[test]
fn charts_and_plain_manifests_from_git_and_two_apps_from_one_repo() {
    let Some(c) = cluster() else { return };
    let Some(w) = World::new(&c, "add-mono") else { return };
    let mut files = fixture("tests/fixtures/apps/chart", "charts/hello");
    files.extend(fixture("tests/fixtures/apps/plain", "plain"));
    files.extend(fixture(SOCKSHOP, "shop"));
    let mono = w.repo("github", "mono", false, "develop", &as_refs(&files));
    let fleet = w.repo("github", "fleet", false, "main", &[("README.md", "fleet\n")]);
    let add = |name: &str, path: &str| {
        w.wego()
            .args([
                "add",
                "--url",
                &mono.url,
                "--name",
                name,
                "--path",
                path,
                "--app-config-url",
                &fleet.url,
                "--auto-merge",
            ])
            .run()
            .ok()
    };
    add("hello", "./charts/hello/");
    add("plain", "plain");
    add("shop", "shop");
    let (_d, main) = fleet.checkout("main");
    let read = |app: &str| -> Vec<Value> {
        serde_saphyr::from_multiple(
            &std::fs::read_to_string(main.join(format!(".wego/targets/test/{app}/{app}-gitops-runtime.yaml"))).unwrap(),
        )
        .unwrap()
    };
    // A Chart.yaml at the path: delivered with helm, the chart read from the git source.
    let hello = read("hello");
    let rel = hello.iter().find(|o| o["kind"] == "HelmRelease").expect("a HelmRelease for a chart in git");
    assert_eq!(rel["spec"]["chart"]["spec"]["chart"], "./charts/hello");
    assert_eq!(rel["spec"]["chart"]["spec"]["sourceRef"]["kind"], "GitRepository");
    // The repo's default branch is develop: never assume main.
    assert_eq!(hello[0]["spec"]["ref"]["branch"], "develop");
    let plain = read("plain");
    assert_eq!(plain.iter().find(|o| o["kind"] == "Kustomization").unwrap()["spec"]["path"], "./plain");
    let shop = read("shop");
    assert_eq!(shop.iter().find(|o| o["kind"] == "Kustomization").unwrap()["spec"]["path"], "./shop");
    // Two apps from one repo: two sources for the same URL, each its own name.
    assert_eq!(plain[0]["spec"]["url"], shop[0]["spec"]["url"]);
    assert_ne!(plain[0]["metadata"]["name"], shop[0]["metadata"]["name"]);
    assert_deliverable(&w, &main);
}

#[test]
fn dry_run_changes_nothing_anywhere() {
    let Some(c) = cluster() else { return };
    let Some(w) = World::new(&c, "add-dry") else { return };
    let app = w.repo("github", "podinfo", true, "main", &as_refs(&fixture(SOCKSHOP, "deploy")));
    let fleet = w.repo("github", "fleet", true, "main", &[("README.md", "fleet\n")]);
    let refs = (app.refs(), fleet.refs());
    let objects_before =
        c.kubectl(["get", "gitrepositories,kustomizations,secrets,configmaps", "-n", &w.ns, "-o", "name"]).ok().stdout;
    let out = w
        .wego()
        .args(["add", "--url", &app.url, "--path", "deploy", "--app-config-url", &fleet.url, "--dry-run"])
        .run()
        .ok();
    assert!(out.stdout.contains("+++ b/.wego/apps/podinfo/app.yaml"), "shows the files as a diff: {}", out.stdout);
    assert!(out.stdout.contains("kind: GitRepository"), "shows the objects it would apply");
    assert!(out.stderr.contains("would open a pull request"), "{}", out.stderr);
    assert!(out.stderr.contains("would create the deploy key"), "{}", out.stderr);
    assert_eq!((app.refs(), fleet.refs()), refs, "remote refs unchanged");
    assert!(
        w.pulls("github", "fleet").is_empty()
            && w.keys("github", "podinfo").is_empty()
            && w.keys("github", "fleet").is_empty()
    );
    let objects_after =
        c.kubectl(["get", "gitrepositories,kustomizations,secrets,configmaps", "-n", &w.ns, "-o", "name"]).ok().stdout;
    assert_eq!(objects_before, objects_after, "cluster unchanged");
}

#[test]
fn a_failed_step_then_a_rerun_converges() {
    let Some(c) = cluster() else { return };
    let Some(w) = World::new(&c, "add-fail") else { return };
    let app = w.repo("github", "podinfo", false, "main", &as_refs(&fixture(SOCKSHOP, "deploy")));
    let fleet = w.repo("github", "fleet", false, "main", &[("README.md", "fleet\n")]);
    // The provider keeps failing to open the PR (more 500s than the retries).
    let fault = json!({"method": "POST", "path_regex": format!("/repos/{}/fleet/pulls$", w.org), "status": 500, "times": 10,
                       "body": {"message": "Server Error"}});
    control(&w.f.github, "/_fake/faults", fault);
    let args = ["add", "--url", &app.url, "--path", "deploy", "--app-config-url", &fleet.url];
    let out = w.wego().args(args).run().expect_code(1);
    assert!(out.stderr.contains("500") || out.stderr.contains("Server Error"), "{}", out.stderr);
    assert!(w.pulls("github", "fleet").is_empty());
    servers::http("DELETE", &format!("{}/_fake/faults", w.f.github), &[], None);
    let branch_sha = git(&fleet.remote.path, &["rev-parse", "refs/heads/wego/add-podinfo"]);
    let out = w.wego().args(args).run().ok();
    assert!(out.stdout.contains("/pull/"), "{out:?}");
    assert_eq!(w.pulls("github", "fleet").len(), 1);
    assert_eq!(git(&fleet.remote.path, &["rev-parse", "refs/heads/wego/add-podinfo"]), branch_sha, "no second commit");
}

#[test]
fn templates_and_branch_pattern_are_overridden_from_the_wego_repo() {
    let Some(c) = cluster() else { return };
    let Some(w) = World::new(&c, "add-ovr") else { return };
    let app = w.repo("github", "podinfo", false, "main", &as_refs(&fixture(SOCKSHOP, "deploy")));
    let delivery = w.env.wego().args(["templates", "show", "flux/app-delivery.yaml.j2"]).run().ok().stdout;
    let team_delivery = delivery.replacen("interval: 5m", "interval: 30m", 1);
    let team_config =
        "apiVersion: wego.weave.works/v1alpha1\nkind: Config\ngit:\n  branchPattern: team/{cluster}/{app}\n";
    let fleet = w.repo(
        "github",
        "fleet",
        false,
        "main",
        &[(".wego/templates/flux/app-delivery.yaml.j2", &team_delivery), (".wego/config.yaml", team_config)],
    );
    let out = w.wego().args(["add", "--url", &app.url, "--path", "deploy", "--app-config-url", &fleet.url]).run().ok();
    assert!(out.stderr.contains("wego: using template flux/app-delivery.yaml.j2"), "{}", out.stderr);
    let (_d, branch) = fleet.checkout("team/test/podinfo");
    let runtime =
        std::fs::read_to_string(branch.join(".wego/targets/test/podinfo/podinfo-gitops-runtime.yaml")).unwrap();
    assert!(runtime.contains("interval: 30m"), "{runtime}");
    assert_eq!(w.pulls("github", "fleet")[0]["head"], "team/test/podinfo");
}

#[test]
fn inputs_are_checked_before_anything_is_written() {
    let Some(c) = cluster() else { return };
    let Some(w) = World::new(&c, "add-bad") else { return };
    let app = w.repo("github", "podinfo", false, "main", &as_refs(&fixture(SOCKSHOP, "deploy")));
    let fleet = w.repo("github", "fleet", false, "main", &[("README.md", "fleet\n")]);
    let refs = fleet.refs();
    // Usage errors (exit 2).
    w.wego().args(["add", ".", "--url", &app.url]).run().expect_code(2);
    w.wego().args(["add", "--url", &app.url, "--chart", "x"]).run().expect_code(2);
    w.wego().args(["add", "--url", &app.url, "--deployment-type", "jsonnet"]).run().expect_code(2);
    // Invalid values (exit 1) name the rule.
    let out = w
        .wego()
        .args(["add", "--url", &app.url, "--name", "Bad_Name", "--app-config-url", &fleet.url])
        .run()
        .expect_code(1);
    assert!(out.stderr.contains("DNS-1123"), "{}", out.stderr);
    let out = w
        .wego()
        .args(["add", "--url", &app.url, "--path", "../../etc", "--app-config-url", &fleet.url])
        .run()
        .expect_code(1);
    assert!(out.stderr.contains("leaves the repository"), "{}", out.stderr);
    let out = w
        .wego()
        .args(["add", "--url", &app.url, "--branch", "nope", "--app-config-url", &fleet.url])
        .run()
        .expect_code(1);
    assert!(out.stderr.contains("branch 'nope' does not exist"), "{}", out.stderr);
    // Flux fetches over https/http/ssh only: a local path is refused before anything is written.
    let local = app.remote.path.display().to_string();
    let out = w.wego().args(["add", "--url", &local, "--app-config-url", &fleet.url]).run().expect_code(1);
    assert!(out.stderr.contains("Flux cannot fetch the app repo"), "{}", out.stderr);
    let wego_local = fleet.remote.path.display().to_string();
    let out = w
        .wego()
        .args(["add", "--url", &app.url, "--path", "deploy", "--app-config-url", &wego_local])
        .run()
        .expect_code(1);
    assert!(out.stderr.contains("Flux cannot fetch the wego repo"), "{}", out.stderr);
    let long = "a".repeat(64);
    let out =
        w.wego().args(["add", "--url", &app.url, "--name", &long, "--app-config-url", &fleet.url]).run().expect_code(1);
    assert!(out.stderr.contains("at most 63"), "{}", out.stderr);
    assert_eq!(fleet.refs(), refs, "nothing written");
    assert!(w.pulls("github", "fleet").is_empty());
}

#[test]
fn the_app_repo_can_be_the_current_directory_and_long_names_stay_valid() {
    let Some(c) = cluster() else { return };
    let Some(w) = World::new(&c, "add-dir") else { return };
    let app =
        w.repo("github", "web-frontend", false, "master", &as_refs(&fixture("tests/fixtures/apps/plain", "manifests")));
    let fleet = w.repo("github", "fleet", false, "main", &[("README.md", "fleet\n")]);
    let work = tempfile::tempdir().unwrap();
    git(work.path(), &["clone", "-q", &app.url, "checkout"]);
    let dir = work.path().join("checkout");
    let cluster_name = format!("production-cluster-{}", "x".repeat(70));
    w.wego()
        .args([
            "add",
            "--path",
            "manifests",
            "--app-config-url",
            &fleet.url,
            "--auto-merge",
            "--cluster",
            &common::dns(&cluster_name),
        ])
        .cwd(&dir)
        .run()
        .ok();
    let (_d, main) = fleet.checkout("main");
    let objs = objects(&main.join(".wego"));
    for (_, o) in &objs {
        if let Some(n) = o["metadata"]["name"].as_str() {
            assert!(n.len() <= 63, "{n}");
        }
    }
    let app_obj = objs.iter().find(|(_, o)| o["kind"] == "App").unwrap();
    assert_eq!(app_obj.1["metadata"]["name"], "web-frontend", "named after the repo");
    assert_eq!(app_obj.1["spec"]["branch"], "master", "never assume main");
    assert_deliverable(&w, &main);
}

#[test]
fn a_wego_repo_is_created_on_the_first_add_and_reused_after() {
    let Some(c) = cluster() else { return };
    let Some(w) = World::new(&c, "add-new") else { return };
    let app = w.repo("github", "podinfo", false, "main", &as_refs(&fixture(SOCKSHOP, "deploy")));
    let other = w.repo("github", "billing", false, "main", &as_refs(&fixture("tests/fixtures/apps/plain", "deploy")));
    w.wego().args(["add", "--url", &app.url, "--path", "deploy", "--auto-merge"]).run().ok();
    let created = w.fake_repo("github", "test-wego");
    assert_eq!(created["visibility"], "private", "{created}");
    w.wego().args(["add", "--url", &other.url, "--path", "deploy", "--auto-merge"]).run().ok();
    let repo = Repo {
        url: String::new(),
        remote: Remote { name: String::new(), path: w.f.srv.join("github").join(&w.org).join("test-wego.git") },
    };
    let (_d, main) = repo.checkout("main");
    assert!(main.join(".wego/apps/podinfo/app.yaml").is_file() && main.join(".wego/apps/billing/app.yaml").is_file());
    assert!(main.join(".wego/config.yaml").is_file());
}

#[test]
fn the_token_never_leaks() {
    let Some(c) = cluster() else { return };
    let Some(w) = World::new(&c, "add-leak") else { return };
    let app = w.repo("github", "podinfo", true, "main", &as_refs(&fixture(SOCKSHOP, "deploy")));
    let fleet = w.repo("github", "fleet", true, "main", &[("README.md", "fleet\n")]);
    let out = w.wego().args(["add", "--url", &app.url, "--path", "deploy", "--app-config-url", &fleet.url]).run().ok();
    let bad = w
        .wego()
        .args(["add", "--url", &app.url, "--path", "deploy", "--app-config-url", "http://127.0.0.1:9/x/y.git"])
        .run();
    for text in [&out.stdout, &out.stderr, &bad.stdout, &bad.stderr] {
        assert!(!text.contains(&w.f.token), "token in output: {text}");
        assert!(!text.contains("PRIVATE KEY"), "private key in output");
    }
    let log = git(&fleet.remote.path, &["log", "--all", "-p"]);
    assert!(!log.contains(&w.f.token) && !log.contains("PRIVATE KEY"), "secret in the wego repo's history");
    let cms = c.kubectl(["get", "configmaps,gitrepositories,kustomizations", "-n", &w.ns, "-o", "yaml"]).ok().stdout;
    assert!(!cms.contains(&w.f.token));
}

fn example(name: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("examples").join(name).display().to_string()
}

#[test]
fn example_scripts_add_apps_from_a_list_and_bump_a_chart_through_a_pr() {
    let Some(c) = cluster() else { return };
    let Some(w) = World::new(&c, "add-ex") else { return };
    let shop = w.repo("github", "shop", false, "main", &as_refs(&fixture(SOCKSHOP, "deploy")));
    let plain = w.repo("github", "plain", false, "main", &as_refs(&fixture("tests/fixtures/apps/plain", "manifests")));
    let fleet = w.repo("github", "fleet", false, "main", &[("README.md", "fleet\n")]);
    let list = tempfile::tempdir().unwrap();
    let apps = format!(
        "wegoRepo: {}\nautoMerge: true\napps:\n- url: {}\n  path: ./deploy\n- url: {}\n  path: manifests\n  name: hello\n- chart: redis\n  helmRepoUrl: https://charts.example.com\n  chartVersion: 17.3.2\n  targetNamespace: cache\n",
        fleet.url, shop.url, plain.url
    );
    std::fs::write(list.path().join("apps.yaml"), apps).unwrap();
    let out = w.wego().args(["run", &example("add-apps.rhai"), "apps.yaml"]).cwd(list.path()).run().ok();
    assert!(out.stderr.contains("3 apps added"), "{}", out.stderr);
    let (_d, main) = fleet.checkout("main");
    for app in ["shop", "hello", "redis"] {
        assert!(main.join(format!(".wego/apps/{app}/app.yaml")).is_file(), "{app}");
    }
    let bad = w.wego().args(["run", &example("add-apps.rhai"), "apps.yaml"]).cwd(list.path());
    std::fs::write(list.path().join("apps.yaml"), format!("apps:\n- url: {}\n  colour: red\n", shop.url)).unwrap();
    let out = bad.run().expect_code(1);
    assert!(out.stderr.contains("unknown key 'colour'"), "{}", out.stderr);

    // Bump the Helm app through a pull request.
    let work = tempfile::tempdir().unwrap();
    let out =
        w.wego().args(["run", &example("bump-chart.rhai"), "redis", "17.4.0", &fleet.url]).cwd(work.path()).run().ok();
    assert!(out.stdout.contains("/pull/"), "{out:?}");
    let prs = w.pulls("github", "fleet");
    assert_eq!(prs.len(), 1);
    assert_eq!(prs[0]["head"], "wego/bump-redis-17.4.0");
    let (_b, branch) = fleet.checkout("wego/bump-redis-17.4.0");
    let runtime = std::fs::read_to_string(branch.join(".wego/targets/test/redis/redis-gitops-runtime.yaml")).unwrap();
    assert!(runtime.contains("version: 17.4.0") || runtime.contains("version: \"17.4.0\""), "{runtime}");
    assert_deliverable(&w, &branch);
    // The default branch is untouched until the PR is merged.
    let (_m, main) = fleet.checkout("main");
    let before = std::fs::read_to_string(main.join(".wego/targets/test/redis/redis-gitops-runtime.yaml")).unwrap();
    assert!(before.contains("17.3.2"));
}

#[test]
fn status_shows_an_app_awaiting_its_pull_request() {
    let Some(c) = cluster() else { return };
    let Some(w) = World::new(&c, "add-await") else { return };
    let app = w.repo("github", "podinfo", false, "main", &as_refs(&fixture(SOCKSHOP, "deploy")));
    let fleet = w.repo("github", "fleet", false, "main", &[("README.md", "fleet\n")]);
    let pr_url =
        w.wego().args(["add", "--url", &app.url, "--path", "deploy", "--app-config-url", &fleet.url]).run().ok().stdout;
    let out = w.wego().args(["status", "-o", "json"]).run();
    let v: Value = serde_json::from_str(&out.stdout).unwrap_or_else(|e| panic!("{e}: {out:?}"));
    common::validate_status_json(&v);
    let a = v["apps"].as_array().unwrap().iter().find(|a| a["name"] == "podinfo").unwrap_or_else(|| panic!("{v:#}"));
    assert_eq!(a["state"], "awaiting-pr");
    assert_eq!(a["pullRequest"], pr_url.trim());
    let one = w.wego().args(["status", "podinfo"]).run();
    assert!(one.stdout.contains("awaiting the pull request") && one.stdout.contains(pr_url.trim()), "{one:?}");
    // Once merged (and delivered), it is no longer awaiting.
    let number = w.pulls("github", "fleet")[0]["number"].as_i64().unwrap();
    control(&w.f.github, "/_fake/merge", json!({"owner": w.org, "name": "fleet", "number": number}));
    let v: Value = serde_json::from_str(&w.wego().args(["status", "-o", "json"]).run().stdout).unwrap();
    assert!(!v["apps"].as_array().unwrap().iter().any(|a| a["state"] == "awaiting-pr"), "{v:#}");
}

#[test]
fn without_the_runtime_add_stops_before_writing_anything() {
    let Some(c) = cluster() else { return };
    let Some(f) = fakes() else { return };
    if servers::git_servers().is_none() {
        return;
    }
    ensure_crds(&c);
    // Removing the App CRD affects every test on this cluster: hold the exclusive lock.
    let _l = c.lock();
    let env = Env::new();
    let ns = servers::name("add-noruntime");
    let org = servers::name("org");
    control(&f.github, "/_fake/users", json!({"login": org, "type": "Organization"}));
    control(&f.github, "/_fake/repos", json!({"owner": org, "name": "fleet", "private": false}));
    let fleet = f.srv.join("github").join(&org).join("fleet.git");
    let http = servers::setting("WEGO_TEST_GIT_HTTP").unwrap();
    let url = format!("{http}/github/{org}/fleet.git");
    let app = servers::git_servers()
        .unwrap()
        .seeded("noruntime-app", &[("deploy/cm.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n")]);
    let app_url = format!("{http}/{}.git", app.name);
    c.kubectl(["delete", "crd", "apps.wego.weave.works", "--wait=true"]).ok();
    let out = env
        .wego()
        .env("KUBECONFIG", c.kubeconfig.display().to_string())
        .args(["-n", &ns, "add", "--url", &app_url, "--path", "deploy", "--app-config-url", &url, "--auto-merge"])
        .run()
        .expect_code(1);
    assert!(out.stderr.contains("run `wego install | kubectl apply -f -` first"), "{}", out.stderr);
    assert!(git(&fleet, &["for-each-ref"]).is_empty(), "nothing pushed to the wego repo");
    // Put the runtime back for the other tests.
    let mirror = flux_mirror(false);
    env.wego()
        .args(["install", "--apply", "-n", "wego-add-crds"])
        .env("WEGO_FLUX_MANIFESTS_BASE_URL", &mirror.url)
        .env("KUBECONFIG", c.kubeconfig.display().to_string())
        .run()
        .ok();
}
