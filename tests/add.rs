//! `wego add` end to end: the real API server, real git remotes, and the GitHub/GitLab fakes.
//! Flux cannot run here, so delivery is shown up to what Flux would read: the files on the
//! default branch after the PR is merged, validated against Flux's CRDs and accepted by the
//! API server (server-side dry run).

mod common;

use std::path::Path;

use common::cluster::{cluster, Cluster};
use common::servers::{self, control, fakes, git, push_files, Remote};
use common::world::{ensure_crds, Repo, World};
use common::{crds, flux_mirror, Env};
use serde_json::{json, Value};

const SOCKSHOP: &str = "tests/fixtures/apps/sockshop";

/// The provider's ssh URL of a repo, as Flux must read it.
fn flux_ssh_url(w: &World, flavor: &str, name: &str) -> String {
    let r = w.api_repo(flavor, name);
    flux_ssh(r[if flavor == "github" { "ssh_url" } else { "ssh_url_to_repo" }].as_str().unwrap())
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

/// Every Kubernetes object under `dir` (recursively), with its file; kustomize's own files
/// (`kustomization.yaml`) and wego's config are not objects.
fn objects(dir: &Path) -> Vec<(String, Value)> {
    let mut out = vec![];
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(d).unwrap().flatten() {
            let p = e.path();
            let name = p.file_name().unwrap().to_string_lossy().to_string();
            if p.is_dir() {
                stack.push(p);
            } else if name.ends_with(".yaml") && name != "kustomization.yaml" && name != "config.yaml" {
                let docs: Vec<Value> = serde_saphyr::from_multiple(&std::fs::read_to_string(&p).unwrap()).unwrap();
                out.extend(docs.into_iter().filter(|d| !d.is_null()).map(|d| (p.display().to_string(), d)));
            }
        }
    }
    out
}

/// Every file under `dir` (relative, sorted), `.git` left out.
fn files_under(dir: &Path) -> Vec<String> {
    let mut out = vec![];
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(d).unwrap().flatten() {
            let p = e.path();
            if p.file_name().is_some_and(|n| n == ".git") {
                continue;
            }
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push(p.strip_prefix(dir).unwrap().display().to_string());
            }
        }
    }
    out.sort();
    out
}

/// What Flux applies to `cluster` from a checkout of the wego repo. Like kustomize-controller
/// for a path without a kustomization.yaml, it generates one that lists the directory's YAML
/// files and takes every sub-directory holding a kustomization.yaml as one resource, then
/// builds it with kustomize (kubectl's, default load restrictions).
fn flux_build(w: &World, checkout: &Path, cluster: &str) -> Vec<Value> {
    let dir = checkout.join(".wego/targets").join(cluster);
    let mut resources = vec![];
    for e in std::fs::read_dir(&dir).unwrap().flatten() {
        let p = e.path();
        let name = p.file_name().unwrap().to_string_lossy().to_string();
        let base = p.is_dir() && p.join("kustomization.yaml").is_file();
        let manifest = p.is_file() && name.ends_with(".yaml") && name != "kustomization.yaml";
        if base || manifest {
            resources.push(name);
        }
    }
    resources.sort();
    let generated = dir.join("kustomization.yaml");
    assert!(!generated.exists(), "Flux generates the cluster directory's kustomization.yaml; wego must not write one");
    let list: String = resources.iter().map(|r| format!("- {r}\n")).collect();
    std::fs::write(
        &generated,
        format!("apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n{list}"),
    )
    .unwrap();
    let out = w.c.kubectl(["kustomize", dir.to_str().unwrap()]);
    std::fs::remove_file(&generated).unwrap();
    assert_eq!(out.code, 0, "kustomize build of {}: {}", dir.display(), out.stderr);
    serde_saphyr::from_multiple::<Value>(&out.stdout).unwrap().into_iter().filter(|d| !d.is_null()).collect()
}

/// What Flux needs on the default branch for `cluster`: every object it builds valid for its
/// CRD, and the API server accepts them all (server-side dry run). Returns the objects.
fn assert_deliverable(w: &World, checkout: &Path, cluster: &str) -> Vec<Value> {
    let objs = flux_build(w, checkout, cluster);
    assert!(!objs.is_empty());
    if let Some(flux) = crds::flux_crds() {
        let app = crds::app_crd(&w.env);
        for o in &objs {
            let p = crds::problems(o, &flux, &app);
            assert!(p.is_empty(), "{} {}: {p:?}", o["kind"], o["metadata"]["name"]);
        }
    }
    let yaml: String = objs.iter().map(|o| format!("---\n{}\n", serde_json::to_string(o).unwrap())).collect();
    let out = w.c.kubectl_stdin(["apply", "--dry-run=server", "-f", "-"], Some(&yaml));
    assert_eq!(out.code, 0, "server-side dry run: {}\n{}", out.stdout, out.stderr);
    objs
}

/// Flux's form of a provider's ssh URL: scp-like `git@host:owner/repo.git` becomes
/// `ssh://git@host/owner/repo.git` (Flux's GitRepository accepts only `ssh://`).
fn flux_ssh(url: &str) -> String {
    if url.contains("://") {
        return url.to_string();
    }
    let (user_host, path) = url.split_once(':').unwrap();
    format!("ssh://{user_host}/{}", path.trim_start_matches('/'))
}

/// The deploy-key Secret wego made in the test's namespace for the repo called `repo`.
fn deploy_key_secrets(w: &World, repo: &str) -> Vec<Value> {
    let all: Value = serde_json::from_str(
        &w.c.kubectl(["get", "secrets", "-n", &w.ns, "-l", "app.kubernetes.io/part-of=wego", "-o", "json"]).ok().stdout,
    )
    .unwrap();
    let prefix = format!("wego-{repo}-");
    all["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| {
            let n = s["metadata"]["name"].as_str().unwrap();
            n.starts_with(&prefix) && n.ends_with("-deploy-key")
        })
        .cloned()
        .collect()
}

fn secret_text(secret: &Value, key: &str) -> String {
    use base64::Engine;
    let b = base64::engine::general_purpose::STANDARD.decode(secret["data"][key].as_str().unwrap()).unwrap();
    String::from_utf8(b).unwrap()
}

/// Type and body of an ssh public key (comments differ).
fn key_body(k: &str) -> String {
    k.split_whitespace().take(2).collect::<Vec<_>>().join(" ")
}

/// The branch name `add` uses for `app` on the test cluster.
fn work_branch(app: &str) -> String {
    format!("wego/test/add-{app}")
}

/// The cluster objects that follow the wego repo: the GitRepository's branch.
fn followed_branch(w: &World) -> String {
    w.c.kubectl([
        "get",
        "gitrepositories.source.toolkit.fluxcd.io",
        "wego",
        "-n",
        &w.ns,
        "-o",
        "jsonpath={.spec.ref.branch}",
    ])
    .ok()
    .stdout
}

#[test]
fn github_pull_request_flow_with_a_public_app_and_a_private_wego_repo() {
    let Some(c) = cluster() else { return };
    let Some(w) = World::new(&c, "add-gh") else { return };
    let app = w.repo("github", "podinfo", false, "main", &as_refs(&fixture(SOCKSHOP, "deploy")));
    let fleet = w.repo("github", "fleet", true, "main", &[("README.md", "fleet\n")]);
    let main_before = git(&fleet.remote.path, &["rev-parse", "main"]);
    let add = ["add", "--url", &app.url, "--path", "./deploy", "--app-config-url", &fleet.url];

    let out = w.wego().args(add).run().ok();
    let pr_url = out.stdout.trim().to_string();
    assert!(pr_url.contains("/pull/"), "{out:?}");
    assert_eq!(git(&fleet.remote.path, &["rev-parse", "main"]), main_before, "the default branch does not move");
    let prs = w.pulls("github", "fleet");
    assert_eq!(prs.len(), 1, "{prs:#?}");
    let pr = &prs[0];
    assert_eq!(pr["head"], work_branch("podinfo"));
    assert_eq!(pr["base"], "main");
    assert_eq!(pr["title"], "wego: add podinfo to test");
    let body = pr["body"].as_str().unwrap();
    assert!(body.contains(".wego/apps/podinfo/app.yaml") && body.contains("once this is merged"), "{body}");

    // The private wego repo: one read-only deploy key, whose public half is the Secret's, and
    // the Secret Flux uses (with known_hosts from what the provider publishes).
    let keys = w.keys("github", "fleet");
    assert_eq!(keys.len(), 1, "{keys:#?}");
    assert_eq!(keys[0]["read_only"], true);
    let secrets = deploy_key_secrets(&w, "fleet");
    assert_eq!(secrets.len(), 1);
    let secret = &secrets[0];
    for k in ["identity", "identity.pub", "known_hosts"] {
        assert!(secret["data"][k].is_string(), "{k}");
    }
    assert_eq!(key_body(&secret_text(secret, "identity.pub")), key_body(keys[0]["key"].as_str().unwrap()));
    let secret_name = secret["metadata"]["name"].as_str().unwrap().to_string();
    // The cluster follows the wego repo's default branch, over the provider's ssh URL in the
    // form Flux accepts.
    let git_repo: Value = serde_json::from_str(
        &c.kubectl(["get", "gitrepositories.source.toolkit.fluxcd.io", "wego", "-n", &w.ns, "-o", "json"]).ok().stdout,
    )
    .unwrap();
    assert_eq!(git_repo["spec"]["ref"]["branch"], "main");
    assert_eq!(git_repo["spec"]["secretRef"]["name"], secret_name);
    let ssh_url = flux_ssh_url(&w, "github", "fleet");
    assert_eq!(git_repo["spec"]["url"], ssh_url);
    let kh = secret_text(secret, "known_hosts");
    let host = ssh_url.split('@').nth(1).unwrap().split(['/', ':']).next().unwrap().to_string();
    assert!(kh.lines().all(|l| l.starts_with(&host) || l.starts_with(&format!("[{host}"))), "{kh}");
    let recorded =
        c.kubectl(["get", "configmap", "wego-cluster", "-n", &w.ns, "-o", "jsonpath={.data.wegoRepo}"]).ok().stdout;
    assert!(recorded.ends_with(&format!("{}/fleet.git", w.org)), "the wego repo is recorded: {recorded}");

    // Idempotent: the same add again makes no commit, PR, key or Secret.
    let refs = fleet.refs();
    let rv = |w: &World| {
        w.c.kubectl(["get", "secret", &secret_name, "-n", &w.ns, "-o", "jsonpath={.metadata.resourceVersion}"])
            .ok()
            .stdout
    };
    let rv_before = rv(&w);
    let again = w.wego().args(add).run().ok();
    assert_eq!(again.stdout.trim(), pr_url);
    assert!(again.stderr.contains("awaits"), "{}", again.stderr);
    assert_eq!(fleet.refs(), refs);
    assert_eq!(w.pulls("github", "fleet").len(), 1);
    assert_eq!(w.keys("github", "fleet").len(), 1);
    assert_eq!(rv(&w), rv_before);

    // Merged: the default branch holds exactly what Flux needs.
    let number = pr["number"].as_i64().unwrap();
    let r = control(&w.f.github, "/_fake/merge", json!({"owner": w.org, "name": "fleet", "number": number}));
    assert!(r.status < 300, "{}", r.body);
    let (_d, main) = fleet.checkout("main");
    assert_eq!(
        files_under(&main.join(".wego")),
        [
            "apps/podinfo/app.yaml",
            "apps/podinfo/kustomization.yaml",
            "config.yaml",
            "targets/test/podinfo/kustomization.yaml",
            "targets/test/podinfo/podinfo-gitops-runtime.yaml",
            "targets/test/test-gitops-runtime.yaml",
        ]
    );
    let delivered = assert_deliverable(&w, &main, "test");
    let kinds: Vec<&str> = delivered.iter().map(|o| o["kind"].as_str().unwrap()).collect();
    for k in ["App", "GitRepository", "Kustomization"] {
        assert!(kinds.contains(&k), "{kinds:?}");
    }
    // The delivered kustomize directory builds: several services and a stateful store.
    let (_a, app_dir) = app.checkout("main");
    let built = c.kubectl(["kustomize", app_dir.join("deploy").to_str().unwrap()]).ok().stdout;
    assert_eq!(built.matches("kind: Deployment").count(), 3);
    assert!(built.contains("kind: StatefulSet") && built.contains("volumeClaimTemplates"));

    // Reruns after the merge converge: exit 0, no new pull request, no new commit, the runtime
    // applied; with the merged branch kept (GitHub's default) and after it is deleted.
    let merged_refs = fleet.refs();
    c.kubectl(["delete", "gitrepositories.source.toolkit.fluxcd.io", "wego", "-n", &w.ns]).ok();
    let after_merge = w.wego().args(add).run().ok();
    assert!(after_merge.stderr.contains("up to date"), "{}", after_merge.stderr);
    assert_eq!(fleet.refs(), merged_refs, "no new commit or branch");
    assert_eq!(w.pulls("github", "fleet").len(), 1, "no new pull request");
    assert_eq!(followed_branch(&w), "main", "the runtime is applied again");
    git(&fleet.remote.path, &["branch", "-D", &work_branch("podinfo")]);
    let deleted_refs = fleet.refs();
    w.wego().args(add).run().ok();
    assert_eq!(fleet.refs(), deleted_refs);
    assert_eq!(w.pulls("github", "fleet").len(), 1);
    assert_eq!(w.keys("github", "fleet").len(), 1);
}

#[test]
fn gitlab_direct_commit_flow_with_a_private_app_repo_over_ssh() {
    let Some(c) = cluster() else { return };
    let Some(w) = World::new(&c, "add-gl") else { return };
    let app = w.repo("gitlab", "shop", true, "main", &as_refs(&fixture(SOCKSHOP, "k8s")));
    let fleet = w.repo("gitlab", "fleet", false, "main", &[("README.md", "fleet\n")]);
    let before = git(&fleet.remote.path, &["rev-parse", "main"]);
    let known_hosts = servers::setting("WEGO_TEST_SSH_KNOWN_HOSTS").unwrap();
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
        // GitLab publishes no ssh host keys: the user vouches for them.
        "--ssh-known-hosts",
        &known_hosts,
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
    assert_eq!(source["spec"]["url"], flux_ssh_url(&w, "gitlab", "shop"), "{source}");
    let secrets = deploy_key_secrets(&w, "shop");
    assert_eq!(secrets.len(), 1);
    assert_eq!(source["spec"]["secretRef"]["name"], secrets[0]["metadata"]["name"]);
    assert_eq!(key_body(&secret_text(&secrets[0], "identity.pub")), key_body(keys[0]["key"].as_str().unwrap()));
    let ks = objs.iter().find(|o| o["kind"] == "Kustomization").unwrap();
    assert_eq!(ks["spec"]["path"], "./k8s");
    assert_eq!(ks["spec"]["targetNamespace"], "sock-shop");
    let kh = secret_text(&secrets[0], "known_hosts");
    let known = std::fs::read_to_string(servers::setting("WEGO_TEST_SSH_KNOWN_HOSTS").unwrap()).unwrap();
    assert!(!kh.is_empty() && kh.lines().all(|l| known.contains(l.split_once(' ').unwrap().1)), "{kh}");
    assert_deliverable(&w, &main, "test");
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
    assert_deliverable(&w, &main, "test");
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
    assert_deliverable(&w, &main, "test");
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
    let branch_sha = git(&fleet.remote.path, &["rev-parse", &format!("refs/heads/{}", work_branch("podinfo"))]);
    let out = w.wego().args(args).run().ok();
    assert!(out.stdout.contains("/pull/"), "{out:?}");
    assert_eq!(w.pulls("github", "fleet").len(), 1);
    assert_eq!(
        git(&fleet.remote.path, &["rev-parse", &format!("refs/heads/{}", work_branch("podinfo"))]),
        branch_sha,
        "no second commit"
    );
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
    // Credentials in a Helm repository URL would be committed: refused, and never echoed.
    let out = w
        .wego()
        .args(["add", "--chart", "redis", "--helm-repo-url", "ftp://bob:s3cr3t-pw@charts.example.com/stable"])
        .args(["--app-config-url", &fleet.url])
        .run()
        .expect_code(1);
    assert!(out.stderr.contains("carries credentials") && out.stderr.contains("secretRef"), "{}", out.stderr);
    assert!(!out.stderr.contains("s3cr3t-pw"), "{}", out.stderr);
    let out = w
        .wego()
        .args([
            "add",
            "--chart",
            "redis",
            "--helm-repo-url",
            "ftp://charts.example.com",
            "--app-config-url",
            &fleet.url,
        ])
        .run()
        .expect_code(1);
    assert!(out.stderr.contains("--helm-repo-url"), "{}", out.stderr);
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
    // The longest valid cluster name: the objects named after it stay valid too.
    let cluster_name = format!("production-cluster-{}", "x".repeat(44));
    assert_eq!(cluster_name.len(), 63);
    w.wego()
        .args([
            "add",
            "--path",
            "manifests",
            "--app-config-url",
            &fleet.url,
            "--auto-merge",
            "--cluster",
            &cluster_name,
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
    assert_deliverable(&w, &main, &cluster_name);
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
    assert_deliverable(&w, &branch, "test");
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
        .args(["install", "--apply", "--wait=false", "-n", "wego-add-crds"])
        .env("WEGO_FLUX_MANIFESTS_BASE_URL", &mirror.url)
        .env("KUBECONFIG", c.kubeconfig.display().to_string())
        .run()
        .ok();
}

#[test]
fn the_first_add_from_nothing_is_gated_by_a_pull_request_and_reruns_converge() {
    first_add_from_nothing("github");
}

#[test]
fn the_first_add_from_nothing_on_gitlab_is_gated_by_a_merge_request_and_reruns_converge() {
    first_add_from_nothing("gitlab");
}

fn first_add_from_nothing(flavor: &str) {
    let Some(c) = cluster() else { return };
    let Some(w) = World::new(&c, &format!("add-first-{flavor}")) else { return };
    let app = w.repo(flavor, "podinfo", false, "main", &as_refs(&fixture(SOCKSHOP, "deploy")));
    if flavor == "gitlab" {
        // GitLab publishes no ssh host keys: like a user who has used ssh with it before, the
        // key is in ~/.ssh/known_hosts (GitHub's come from its /meta).
        let known = std::fs::read_to_string(servers::setting("WEGO_TEST_SSH_KNOWN_HOSTS").unwrap()).unwrap();
        common::write_files(w.env.home.path(), &[(".ssh/known_hosts", &known)]);
    }
    // Default flags: no wego repo given, none recorded, no --auto-merge.
    let add = ["add", "--url", &app.url, "--path", "deploy"];
    let out = w.wego().args(add).run().ok();
    let pr_url = out.stdout.trim().to_string();
    assert!(pr_url.contains(if flavor == "github" { "/pull/" } else { "/merge_requests/" }), "{out:?}");
    let created = w.api_repo(flavor, "test-wego");
    assert_eq!(created["visibility"], "private", "{created}");
    let fleet = Repo {
        url: String::new(),
        remote: Remote { name: String::new(), path: w.f.srv.join(flavor).join(&w.org).join("test-wego.git") },
    };
    // The default branch holds a base commit with the team config only; the app is in the PR.
    assert_eq!(created["default_branch"], "main", "{}", fleet.refs());
    let (_d, main) = fleet.checkout("main");
    assert_eq!(files_under(&main), [".wego/config.yaml"]);
    let prs = w.pulls(flavor, "test-wego");
    assert_eq!(prs.len(), 1, "{prs:#?}");
    let branch = work_branch("podinfo");
    let (head, base) = if flavor == "github" { ("head", "base") } else { ("source_branch", "target_branch") };
    assert_eq!((prs[0][head].as_str(), prs[0][base].as_str()), (Some(branch.as_str()), Some("main")), "{prs:#?}");
    // The cluster follows the default branch, never the work branch.
    assert_eq!(followed_branch(&w), "main");

    // A rerun before the merge: nothing new.
    let refs = fleet.refs();
    let again = w.wego().args(add).run().ok();
    assert_eq!(again.stdout.trim(), pr_url);
    assert_eq!(fleet.refs(), refs);
    assert_eq!(w.pulls(flavor, "test-wego").len(), 1);
    assert_eq!(followed_branch(&w), "main");

    // Merged: the default branch delivers the app; reruns (branch kept, then deleted) converge.
    let number = prs[0][if flavor == "github" { "number" } else { "iid" }].as_i64().unwrap();
    let base_url = if flavor == "github" { &w.f.github } else { &w.f.gitlab };
    let r = control(base_url, "/_fake/merge", json!({"owner": w.org, "name": "test-wego", "number": number}));
    assert!(r.status < 300, "{}", r.body);
    let (_m, merged) = fleet.checkout("main");
    assert!(merged.join(".wego/apps/podinfo/app.yaml").is_file());
    assert_deliverable(&w, &merged, "test");
    for delete_branch in [false, true] {
        if delete_branch {
            git(&fleet.remote.path, &["branch", "-D", &branch]);
        }
        let refs = fleet.refs();
        let out = w.wego().args(add).run().ok();
        assert!(out.stderr.contains("up to date"), "{}", out.stderr);
        assert_eq!(fleet.refs(), refs, "no new commit (branch deleted: {delete_branch})");
        assert_eq!(w.pulls(flavor, "test-wego").len(), 1, "no new pull request");
        assert_eq!(followed_branch(&w), "main");
    }
}

#[test]
fn reinstalling_keeps_what_add_recorded_and_the_cluster_config_holds_cluster_settings_only() {
    let Some(c) = cluster() else { return };
    let Some(w) = World::new(&c, "add-reinst") else { return };
    let app = w.repo("github", "podinfo", false, "main", &as_refs(&fixture(SOCKSHOP, "deploy")));
    let other = w.repo("github", "billing", false, "main", &as_refs(&fixture("tests/fixtures/apps/plain", "deploy")));
    let fleet = w.repo("github", "fleet", false, "main", &[("README.md", "fleet\n")]);
    w.wego()
        .args(["add", "--url", &app.url, "--path", "deploy", "--app-config-url", &fleet.url, "--auto-merge"])
        .run()
        .ok();
    // `wego install | kubectl apply -f -` again, as a user re-installs or upgrades.
    let mirror = flux_mirror(false);
    let manifest = w
        .wego()
        .args(["install"])
        .env("WEGO_FLUX_MANIFESTS_BASE_URL", &mirror.url)
        .env("WEGO_FLUX_MANIFESTS", "")
        .run()
        .ok()
        .stdout;
    let cm: Vec<Value> = serde_saphyr::from_multiple(&manifest).unwrap();
    let cm = cm.iter().find(|o| o["kind"] == "ConfigMap" && o["metadata"]["name"] == "wego-config").unwrap();
    let stored = cm["data"]["config.yaml"].as_str().unwrap();
    for local in ["wegoRepo", "checkpoint", "limits", "manifests", "git:", "providers"] {
        assert!(!stored.contains(local), "{local} is not a cluster setting: {stored}");
    }
    assert!(stored.contains(&format!("namespace: {}", w.ns)), "{stored}");
    let only_cm = format!("---\n{}\n", serde_json::to_string(cm).unwrap());
    c.kubectl_stdin(["apply", "-f", "-"], Some(&only_cm)).ok();
    // The next add without --app-config-url uses the recorded wego repo.
    w.wego().args(["add", "--url", &other.url, "--path", "deploy", "--auto-merge"]).run().ok();
    let (_d, main) = fleet.checkout("main");
    assert!(main.join(".wego/apps/billing/app.yaml").is_file(), "the same wego repo is used");
    assert!(w.fake_repo("github", "test-wego").is_null(), "no new wego repo was created");
}

#[test]
fn names_never_collide_and_wego_deletes_only_its_own_keys() {
    let Some(c) = cluster() else { return };
    let Some(w) = World::new(&c, "add-names") else { return };
    // Two private repos called `api` in two organisations.
    let org_b = servers::name("orgb");
    control(&w.f.github, "/_fake/users", json!({"login": org_b, "type": "Organization"}));
    let api_a = w.repo("github", "api", true, "main", &as_refs(&fixture("tests/fixtures/apps/plain", "deploy")));
    let r = control(&w.f.github, "/_fake/repos", json!({"owner": org_b, "name": "api", "private": true}));
    assert!(r.status < 300, "{}", r.body);
    let remote_b =
        Remote { name: format!("github/{org_b}/api"), path: w.f.srv.join("github").join(&org_b).join("api.git") };
    push_files(&remote_b, "main", &as_refs(&fixture("tests/fixtures/apps/plain", "deploy")), "app");
    let url_b = format!("{}/{}.git", servers::setting("WEGO_TEST_GIT_HTTP").unwrap(), remote_b.name);
    let fleet = w.repo("github", "fleet", false, "main", &[("README.md", "fleet\n")]);
    // A key with the title wego would use, but not wego's: it must survive.
    let ks = servers::name("stray");
    let stray = servers::random_public_key(&ks);
    let title = format!("wego-test-{}", &kube_system_uid(&c)[..8]);
    let r = servers::http(
        "POST",
        &format!("{}/repos/{}/api/keys", w.f.github, w.org),
        &[("Authorization", &format!("Bearer {}", w.f.token))],
        Some(&json!({"title": title, "key": stray, "read_only": true}).to_string()),
    );
    assert_eq!(r.status, 201, "{}", r.body);

    let add = |url: &str, name: &str| -> common::Out {
        w.wego()
            .args([
                "add",
                "--url",
                url,
                "--name",
                name,
                "--path",
                "deploy",
                "--app-config-url",
                &fleet.url,
                "--auto-merge",
            ])
            .run()
    };
    add(&api_a.url, "api-a").ok();
    add(&url_b, "api-b").ok();
    let secrets = deploy_key_secrets(&w, "api");
    assert_eq!(secrets.len(), 2, "one Secret per (host, owner, repo)");
    let keys_a = w.keys("github", "api");
    assert_eq!(keys_a.len(), 2, "the stray key is left alone: {keys_a:#?}");
    assert!(keys_a.iter().any(|k| key_body(k["key"].as_str().unwrap()) == key_body(&stray)));
    assert!(keys_a.iter().all(|k| k["title"] == title.as_str()));
    // A different app under an existing name is refused, naming --name; the same app again is a no-op.
    let refs = fleet.refs();
    let out = add(&url_b, "api-a").expect_code(1);
    assert!(out.stderr.contains("already has an app named 'api-a'") && out.stderr.contains("--name"), "{}", out.stderr);
    add(&api_a.url, "api-a").ok();
    assert_eq!(fleet.refs(), refs);
    // Invalid cluster names are refused before anything is written.
    for bad in ["Prod_EU", "x-", &"c".repeat(64)] {
        let out = w
            .wego()
            .args(["add", "--url", &api_a.url, "--path", "deploy", "--app-config-url", &fleet.url, "--cluster", bad])
            .run()
            .expect_code(1);
        assert!(out.stderr.contains("invalid cluster name") && out.stderr.contains("--cluster"), "{}", out.stderr);
    }
    assert_eq!(fleet.refs(), refs);
}

fn kube_system_uid(c: &Cluster) -> String {
    c.kubectl(["get", "namespace", "kube-system", "-o", "jsonpath={.metadata.uid}"]).ok().stdout
}

#[test]
fn two_clusters_share_one_wego_repo() {
    let Some(c) = cluster() else { return };
    let Some(w) = World::new(&c, "add-two") else { return };
    // Cluster B: another runtime namespace, named by --cluster (one API server is all this
    // machine has; the identity check is shown with a forged identity below).
    let ns_b = servers::name("add-two-b");
    c.kubectl(["create", "namespace", &ns_b]).ok();
    let app = w.repo("github", "podinfo", false, "main", &as_refs(&fixture(SOCKSHOP, "deploy")));
    let billing = w.repo("github", "billing", false, "main", &as_refs(&fixture("tests/fixtures/apps/plain", "deploy")));
    let fleet = w.repo("github", "fleet", false, "main", &[("README.md", "fleet\n")]);
    let add = |ns: &str, cluster: &str, url: &str| {
        w.wego_in(ns)
            .args(["add", "--url", url, "--path", "deploy", "--app-config-url", &fleet.url, "--auto-merge"])
            .args(["--cluster", cluster])
            .run()
            .ok()
    };
    add(&w.ns, "alpha", &app.url);
    let (_d1, first) = fleet.checkout("main");
    let app_yaml = std::fs::read_to_string(first.join(".wego/apps/podinfo/app.yaml")).unwrap();
    add(&ns_b, "beta", &app.url);
    add(&ns_b, "beta", &billing.url);
    let (_d2, main) = fleet.checkout("main");
    assert_eq!(std::fs::read_to_string(main.join(".wego/apps/podinfo/app.yaml")).unwrap(), app_yaml, "no flip");
    // Reruns on either cluster change nothing.
    let refs = fleet.refs();
    add(&w.ns, "alpha", &app.url);
    add(&ns_b, "beta", &app.url);
    assert_eq!(fleet.refs(), refs);
    // Each cluster gets its own deliveries only.
    let alpha = assert_deliverable(&w, &main, "alpha");
    let beta = assert_deliverable(&w, &main, "beta");
    let apps = |objs: &[Value]| -> Vec<(String, String)> {
        objs.iter()
            .filter(|o| o["kind"] == "App")
            .map(|o| {
                (o["metadata"]["name"].as_str().unwrap().into(), o["metadata"]["namespace"].as_str().unwrap().into())
            })
            .collect()
    };
    assert_eq!(apps(&alpha), [("podinfo".to_string(), w.ns.clone())]);
    let mut b = apps(&beta);
    b.sort();
    assert_eq!(b, [("billing".to_string(), ns_b.clone()), ("podinfo".to_string(), ns_b.clone())]);
    assert!(alpha.iter().all(|o| o["metadata"]["namespace"] == w.ns.as_str()));
    // What Flux would apply on each, then `status` on each shows only that cluster's apps.
    for objs in [&alpha, &beta] {
        let yaml: String = objs.iter().map(|o| format!("---\n{}\n", serde_json::to_string(o).unwrap())).collect();
        c.kubectl_stdin(["apply", "-f", "-"], Some(&yaml)).ok();
    }
    let names = |ns: &str| -> Vec<String> {
        let out = w.wego_in(ns).args(["status", "-o", "json"]).run();
        let v: Value = serde_json::from_str(&out.stdout).unwrap_or_else(|e| panic!("{e}: {out:?}"));
        let mut n: Vec<String> =
            v["apps"].as_array().unwrap().iter().map(|a| a["name"].as_str().unwrap().into()).collect();
        n.sort();
        n
    };
    assert_eq!(names(&w.ns), ["podinfo"]);
    assert_eq!(names(&ns_b), ["billing", "podinfo"]);
    // Another cluster (another identity) calling itself `alpha` may not take alpha's directory.
    let target = main.join(".wego/targets/alpha/alpha-gitops-runtime.yaml");
    let forged = std::fs::read_to_string(&target).unwrap().replace(&kube_system_uid(&c), "00000000-another-cluster");
    push_files(&fleet.remote, "main", &[(".wego/targets/alpha/alpha-gitops-runtime.yaml", &forged)], "another alpha");
    let refs = fleet.refs();
    let out = w
        .wego()
        .args(["add", "--url", &billing.url, "--path", "deploy", "--app-config-url", &fleet.url])
        .args(["--auto-merge", "--cluster", "alpha"])
        .run()
        .expect_code(1);
    assert!(out.stderr.contains("another cluster named 'alpha'") && out.stderr.contains("--cluster"), "{}", out.stderr);
    assert_eq!(fleet.refs(), refs);
    c.kubectl(["delete", "namespace", &ns_b, "--wait=false"]);
}

#[test]
fn the_weps_own_app_example_applies_unchanged() {
    let Some(c) = cluster() else { return };
    let Some(w) = World::new(&c, "add-wep") else { return };
    let wep = "apiVersion: wego.weave.works/v1alpha1\nkind: App\nmetadata:\n name: mywego\nspec:\n path: /foo/bar\n gitURL: https://github.com/myorg/foo.git\n";
    c.kubectl_stdin(["apply", "-n", &w.ns, "-f", "-"], Some(wep)).ok();
    let spec: Value = serde_json::from_str(
        &c.kubectl(["get", "apps.wego.weave.works", "mywego", "-n", &w.ns, "-o", "jsonpath={.spec}"]).ok().stdout,
    )
    .unwrap();
    assert_eq!(
        (spec["deploymentType"].as_str(), spec["sourceType"].as_str()),
        (Some("kustomize"), Some("git")),
        "{spec}"
    );
    // An App naming no source is refused by the API server.
    let bad = "apiVersion: wego.weave.works/v1alpha1\nkind: App\nmetadata:\n name: nowhere\nspec:\n path: ./x\n";
    assert_ne!(c.kubectl_stdin(["apply", "-n", &w.ns, "-f", "-"], Some(bad)).code, 0);
    // status reads it like any other app.
    let out = w.wego().args(["status", "mywego", "-o", "json"]).run();
    let v: Value = serde_json::from_str(&out.stdout).unwrap_or_else(|e| panic!("{e}: {out:?}"));
    assert_eq!(v["apps"][0]["source"], "https://github.com/myorg/foo.git /foo/bar");
}

#[test]
fn objects_the_api_server_refuses_are_never_pushed() {
    let Some(c) = cluster() else { return };
    let Some(w) = World::new(&c, "add-invalid") else { return };
    let app = w.repo("github", "podinfo", false, "main", &as_refs(&fixture(SOCKSHOP, "deploy")));
    // A team template that writes the app's source URL in scp form, which Flux's CRD refuses.
    let source = w.env.wego().args(["templates", "show", "flux/app-source.yaml.j2"]).run().ok().stdout;
    let scp = source.replacen("url: {{ app.fetch_url }}", "url: git@example.com:acme/podinfo.git", 1);
    assert_ne!(scp, source);
    let fleet = w.repo("github", "fleet", false, "main", &[(".wego/templates/flux/app-source.yaml.j2", &scp)]);
    let refs = fleet.refs();
    let out = w
        .wego()
        .args(["add", "--url", &app.url, "--path", "deploy", "--app-config-url", &fleet.url])
        .run()
        .expect_code(1);
    assert!(out.stderr.contains("spec.url"), "{}", out.stderr);
    assert_eq!(fleet.refs(), refs, "nothing pushed");
    assert!(w.pulls("github", "fleet").is_empty(), "no pull request");
}
