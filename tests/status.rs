//! `wego status` against the real API server. Flux's controllers cannot run here, so the tests
//! write what they would write: Deployment status, Flux objects' status, and Events.

mod common;

use common::cluster::{audit_log, audited, cluster, Cluster};
use common::{flux_mirror, redact, Env};
use serde_json::Value;

struct Fixture<'a> {
    c: &'a Cluster,
    env: Env,
    ns: String,
    _mirror: common::http_server::HttpServer,
    mirror_url: String,
}

impl<'a> Fixture<'a> {
    /// A runtime installed by wego in a fresh namespace, controllers made ready.
    fn new(c: &'a Cluster, prefix: &str, ready: bool) -> Self {
        let env = Env::new();
        let mirror = flux_mirror(false);
        let ns = format!("{prefix}-{}", std::process::id());
        let f = Fixture { c, env, ns, mirror_url: mirror.url.clone(), _mirror: mirror };
        f.wego()
            .args(["install", "--apply", "--wait=false"])
            .env("WEGO_FLUX_MANIFESTS_BASE_URL", &f.mirror_url)
            .run()
            .ok();
        if ready {
            let mut y = String::new();
            for d in ["helm-controller", "kustomize-controller", "notification-controller", "source-controller"] {
                y.push_str(&deployment_ready(d, &f.ns));
            }
            f.apply(&y);
        }
        f
    }

    /// The test server (Kubernetes 1.20) is older than Flux 2.9 supports, which fails the
    /// runtime check as `flux check` does. Tests of a healthy runtime use a team's override of
    /// `wego/health` (the user layer) that accepts it.
    fn accept_old_kubernetes(&self) {
        let builtin = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/stdlib/health.rhai")).unwrap();
        let lowered = builtin.replace(r#""2.9": [1, 33],"#, r#""2.9": [1, 20],"#);
        assert_ne!(builtin, lowered, "health.rhai names Flux 2.9's constraint");
        common::write_files(&self.env.config_dir(), &[("wego/stdlib/health.rhai", &lowered)]);
    }

    fn wego(&self) -> common::Wego {
        self.env.wego().env("KUBECONFIG", self.c.kubeconfig.display().to_string()).args(["-n", &self.ns])
    }

    /// Apply objects (with statuses) through the fixture script.
    fn apply(&self, yaml: &str) {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("objs.yaml"), yaml).unwrap();
        let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/apply-with-status.rhai");
        std::fs::copy(&script, dir.path().join("fixture.rhai")).unwrap();
        self.wego().args(["run", "fixture.rhai", "objs.yaml"]).cwd(dir.path()).run().ok();
    }

    fn status(&self, extra: &[&str]) -> common::Out {
        self.wego().arg("status").args(extra).run()
    }

    fn json(&self, extra: &[&str]) -> (i32, Value) {
        let out = self.wego().args(["status", "-o", "json"]).args(extra).run();
        let v = serde_json::from_str(&out.stdout).unwrap_or_else(|e| panic!("{e}: {out:?}"));
        common::validate_status_json(&v);
        (out.code, v)
    }
}

impl Drop for Fixture<'_> {
    fn drop(&mut self) {
        self.c.kubectl(["delete", "namespace", &self.ns, "--wait=false"]);
    }
}

fn deployment_ready(name: &str, ns: &str) -> String {
    format!(
        r#"---
apiVersion: apps/v1
kind: Deployment
metadata: {{name: {name}, namespace: {ns}}}
status:
  observedGeneration: 1
  replicas: 1
  updatedReplicas: 1
  readyReplicas: 1
  availableReplicas: 1
  conditions:
  - {{type: Available, status: "True", reason: MinimumReplicasAvailable, message: Deployment has minimum availability.}}
  - {{type: Progressing, status: "True", reason: NewReplicaSetAvailable, message: ReplicaSet has successfully progressed.}}
"#
    )
}

fn condition(status: &str, reason: &str, message: &str, time: &str) -> String {
    format!(
        r#"  conditions:
  - type: Ready
    status: "{status}"
    reason: {reason}
    message: "{message}"
    lastTransitionTime: "{time}"
    observedGeneration: 1
"#
    )
}

fn git_app(name: &str, ns: &str) -> String {
    format!(
        r#"---
apiVersion: wego.weave.works/v1alpha1
kind: App
metadata: {{name: {name}, namespace: {ns}}}
spec:
  url: https://github.com/example/{name}.git
  gitURL: https://github.com/example/{name}.git
  branch: main
  path: ./deploy
  deploymentType: kustomize
  sourceType: git
"#
    )
}

fn git_source(name: &str, ns: &str, revision: &str) -> String {
    format!(
        r#"---
apiVersion: source.toolkit.fluxcd.io/v1
kind: GitRepository
metadata:
  name: {name}
  namespace: {ns}
  labels: {{wego.weave.works/app: {name}}}
spec: {{url: "https://github.com/example/{name}.git", interval: 1m, ref: {{branch: main}}}}
status:
  artifact: {{revision: "{revision}", path: "gitrepository/{ns}/{name}/x.tar.gz", url: "http://source-controller/x.tar.gz", digest: "sha256:0f", lastUpdateTime: "2026-11-25T09:59:00Z"}}
"#
    )
}

fn kustomization(name: &str, ns: &str, applied: Option<&str>, cond: &str) -> String {
    let applied = applied.map(|r| format!("  lastAppliedRevision: \"{r}\"\n")).unwrap_or_default();
    format!(
        r#"---
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata:
  name: {name}
  namespace: {ns}
  labels: {{wego.weave.works/app: {name}}}
spec: {{interval: 5m, prune: true, path: ./deploy, sourceRef: {{kind: GitRepository, name: {name}}}}}
status:
  observedGeneration: 1
{applied}{cond}"#
    )
}

fn warning(app: &str, ns: &str, i: usize, time: &str, reason: &str) -> String {
    format!(
        r#"---
apiVersion: v1
kind: Event
metadata: {{name: "{app}.{i}", namespace: {ns}}}
involvedObject: {{apiVersion: kustomize.toolkit.fluxcd.io/v1, kind: Kustomization, name: {app}, namespace: {ns}}}
type: Warning
reason: {reason}
message: "warning {i} of {app}"
firstTimestamp: "{time}"
lastTimestamp: "{time}"
count: 1
source: {{component: kustomize-controller}}
"#
    )
}

#[test]
fn healthy_runtime_and_apps_exit_zero() {
    let Some(c) = cluster() else { return };
    let _l = c.lock();
    let f = Fixture::new(&c, "st-healthy", true);
    f.accept_old_kubernetes();
    let ns = f.ns.clone();
    f.apply(&format!(
        "{}{}{}",
        git_app("podinfo", &ns),
        git_source("podinfo", &ns, "main@sha1:1111"),
        kustomization(
            "podinfo",
            &ns,
            Some("main@sha1:1111"),
            &condition("True", "ReconciliationSucceeded", "Applied revision: main@sha1:1111", "2026-11-25T10:00:00Z")
        )
    ));
    let (code, v) = f.json(&[]);
    assert_eq!(code, 0, "{v:#}");
    assert_eq!(v["healthy"], true);
    assert_eq!(v["runtime"]["flux"]["installed"], "v2.9.4");
    assert_eq!(v["runtime"]["kubernetes"]["ok"], true, "accepted by the override");
    let app = &v["apps"][0];
    assert_eq!(app["name"], "podinfo");
    assert_eq!(app["state"], "ready");
    assert_eq!(app["lastSync"]["time"], "2026-11-25T10:00:00Z");
    assert_eq!(app["lastSync"]["revision"], "main@sha1:1111");
    assert_eq!(app["lastSync"]["sourceRevision"], "main@sha1:1111");
    assert_eq!(app["source"], "https://github.com/example/podinfo.git@main ./deploy");

    let out = f.status(&[]).ok();
    // The checks are progress (stderr); the apps are the data (stdout).
    insta::assert_snapshot!(
        "healthy_table",
        redact(&out.stdout, std::path::Path::new("/nonexistent"), "").replace(&ns, "[NS]")
    );
    let checks: Vec<&str> = out.stderr.lines().filter(|l| !l.starts_with("wego: using")).collect();
    insta::assert_snapshot!("healthy_checks", checks.join("\n").replace(&ns, "[NS]"));
    assert!(!out.stderr.contains("error"), "{}", out.stderr);
}

#[test]
fn an_unsupported_kubernetes_fails_the_check_as_flux_does() {
    let Some(c) = cluster() else { return };
    let _l = c.lock();
    let f = Fixture::new(&c, "st-oldk8s", true);
    let (code, v) = f.json(&[]);
    assert_eq!(code, 1, "{v:#}");
    assert_eq!(v["healthy"], false);
    assert_eq!(v["runtime"]["ok"], false);
    assert_eq!(v["runtime"]["kubernetes"]["ok"], false);
    assert_eq!(v["runtime"]["kubernetes"]["constraint"], ">=1.33.0-0");
    let out = f.status(&[]).expect_code(1);
    assert!(out.stderr.contains("✗ Kubernetes version v1.20"), "{}", out.stderr);
    assert!(out.stderr.contains("does not match >=1.33.0-0"), "{}", out.stderr);
    assert!(out.stderr.contains("✗ some checks failed") && !out.stderr.contains("all checks passed"), "{}", out.stderr);
    // Nothing but data on stdout: no apps here, so nothing at all.
    assert_eq!(out.stdout, "", "stdout carries data only");
    assert!(out.stderr.contains("No apps yet"), "{}", out.stderr);
}

#[test]
fn a_controller_not_ready_fails_the_check() {
    let Some(c) = cluster() else { return };
    let _l = c.lock();
    let f = Fixture::new(&c, "st-notready", true);
    let ns = f.ns.clone();
    f.apply(
        &deployment_ready("helm-controller", &ns)
            .replace("readyReplicas: 1", "readyReplicas: 0")
            .replace("availableReplicas: 1", "availableReplicas: 0"),
    );
    let (code, v) = f.json(&[]);
    assert_eq!(code, 1);
    let helm = v["runtime"]["controllers"].as_array().unwrap().iter().find(|c| c["name"] == "helm-controller").unwrap();
    assert_eq!(helm["ok"], false);
    assert!(helm["message"].as_str().unwrap().contains("0/1 ready"), "{helm}");
    assert_eq!(helm["image"], "ghcr.io/fluxcd/helm-controller:v1.6.3");
    let out = f.status(&[]).expect_code(1);
    assert!(out.stderr.contains("✗ helm-controller: deployment not ready: 0/1 ready, 0/1 available"), "{}", out.stderr);
    assert!(out.stderr.contains("✔ source-controller: deployment ready"), "{}", out.stderr);
}

#[test]
fn a_missing_app_crd_says_what_to_run() {
    let Some(c) = cluster() else { return };
    let _l = c.lock();
    let f = Fixture::new(&c, "st-nocrd", true);
    c.kubectl(["delete", "crd", "apps.wego.weave.works", "--wait=true"]).ok();
    let (code, v) = f.json(&[]);
    assert_eq!(code, 1);
    assert_eq!(v["crds"]["app"]["installed"], false);
    let out = f.status(&[]).expect_code(1);
    assert!(
        out.stderr
            .contains("✗ apps.wego.weave.works: the App CRD is not installed; run `wego install | kubectl apply -f -`"),
        "{}",
        out.stderr
    );
    // Put it back for the other tests.
    f.wego().args(["install", "--apply", "--wait=false"]).env("WEGO_FLUX_MANIFESTS_BASE_URL", &f.mirror_url).run().ok();
}

#[test]
fn a_failing_app_shows_the_three_newest_warnings_since_its_last_sync() {
    let Some(c) = cluster() else { return };
    let _l = c.lock();
    let f = Fixture::new(&c, "st-failing", true);
    let ns = f.ns.clone();
    let failed_since = "2026-11-25T10:00:00Z";
    let mut y = format!(
        "{}{}{}",
        git_app("web", &ns),
        git_source("web", &ns, "main@sha1:2222"),
        kustomization(
            "web",
            &ns,
            Some("main@sha1:1111"),
            &condition("False", "BuildFailed", "kustomize build failed: missing resource", failed_since)
        )
    );
    // One warning from before the last sync, four after it.
    y.push_str(&warning("web", &ns, 1, "2026-11-25T09:00:00Z", "OldFailure"));
    for (i, t) in [(2, "10:01"), (3, "10:02"), (4, "10:03"), (5, "10:04")] {
        y.push_str(&warning("web", &ns, i, &format!("2026-11-25T{t}:00Z"), "BuildFailed"));
    }
    f.apply(&y);
    let (code, v) = f.json(&["web"]);
    assert_eq!(code, 1);
    let app = &v["apps"][0];
    assert_eq!(app["state"], "failing");
    assert_eq!(app["message"], "kustomize build failed: missing resource");
    let ws: Vec<&str> = app["warnings"].as_array().unwrap().iter().map(|w| w["message"].as_str().unwrap()).collect();
    assert_eq!(ws, ["warning 5 of web", "warning 4 of web", "warning 3 of web"]);
    let out = f.status(&["web"]).expect_code(1);
    assert!(out.stdout.contains("web: warnings since the last sync, newest first"), "{}", out.stdout);
    assert!(!out.stdout.contains("warning 1 of web") && !out.stdout.contains("warning 2 of web"));

    // The example script lists the failing app with its newest warning, and exits 1.
    let example = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/failing-apps.rhai");
    let out = f.wego().args(["run", example]).run().expect_code(1);
    let line = out.stdout.lines().find(|l| l.starts_with("web ")).unwrap_or_else(|| panic!("{}", out.stdout));
    assert!(
        line.contains("kustomize build failed: missing resource") && line.contains("BuildFailed: warning 5 of web"),
        "{line}"
    );
}

#[test]
fn a_helm_app_and_an_app_never_synced() {
    let Some(c) = cluster() else { return };
    let _l = c.lock();
    let f = Fixture::new(&c, "st-helm", true);
    let ns = f.ns.clone();
    f.apply(&format!(
        r#"---
apiVersion: wego.weave.works/v1alpha1
kind: App
metadata: {{name: redis, namespace: {ns}}}
spec: {{url: "https://charts.example.com", helmRepoURL: "https://charts.example.com", chart: redis, chartVersion: "17.3.2", deploymentType: helm, sourceType: helm, targetNamespace: cache}}
---
apiVersion: source.toolkit.fluxcd.io/v1
kind: HelmRepository
metadata: {{name: redis, namespace: {ns}, labels: {{wego.weave.works/app: redis}}}}
spec: {{url: "https://charts.example.com", interval: 1m}}
status:
  artifact: {{revision: "sha256:abcd", path: "helmrepository/{ns}/redis/index.yaml", url: "http://source-controller/index.yaml", digest: "sha256:0e", lastUpdateTime: "2026-11-25T09:58:00Z"}}
---
apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata: {{name: redis, namespace: {ns}, labels: {{wego.weave.works/app: redis}}}}
spec:
  interval: 5m
  targetNamespace: cache
  chart: {{spec: {{chart: redis, version: "17.3.2", sourceRef: {{kind: HelmRepository, name: redis}}}}}}
status:
  observedGeneration: 1
  lastAttemptedRevision: "17.3.2"
  history:
  - {{chartName: redis, chartVersion: "17.3.2", appVersion: "7.0.5", name: redis, namespace: cache, version: 1, status: deployed, digest: "sha256:1", configDigest: "sha256:2", firstDeployed: "2026-11-25T10:05:00Z", lastDeployed: "2026-11-25T10:05:00Z"}}
{cond}{app}"#,
        cond = condition("True", "InstallSucceeded", "Helm install succeeded for release cache/redis.v1 with chart redis@17.3.2", "2026-11-25T10:05:00Z"),
        app = git_app("fresh", &ns),
    ));
    let (code, v) = f.json(&[]);
    assert_eq!(code, 1, "an app that never synced is not healthy");
    let apps = v["apps"].as_array().unwrap();
    let fresh = apps.iter().find(|a| a["name"] == "fresh").unwrap();
    assert_eq!(fresh["state"], "never-synced");
    assert_eq!(fresh["lastSync"]["time"], Value::Null);
    let redis = apps.iter().find(|a| a["name"] == "redis").unwrap();
    assert_eq!(redis["state"], "ready");
    assert_eq!(redis["deploymentType"], "helm");
    assert_eq!(redis["source"], "redis@17.3.2 (https://charts.example.com)");
    assert_eq!(redis["lastSync"]["revision"], "17.3.2");
    assert_eq!(redis["lastSync"]["time"], "2026-11-25T10:05:00Z");
    f.accept_old_kubernetes();
    let (code, v) = f.json(&["redis"]);
    assert_eq!(code, 0, "status of one healthy app");
    assert_eq!(v["apps"].as_array().unwrap().len(), 1, "{v:#}");
    // `status APP`: the runtime in one line (stderr), the app's row (stdout).
    let out = f.status(&["redis"]).ok();
    let checks: Vec<&str> = out.stderr.lines().filter(|l| !l.starts_with("wego: using")).collect();
    assert_eq!(checks.len(), 1, "{}", out.stderr);
    assert!(
        checks[0].starts_with(&format!("✔ runtime: Flux v2.9.4 in {ns}, 4/4 controllers ready, Kubernetes v1.")),
        "{}",
        checks[0]
    );
    let rows: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(rows.len(), 2, "{}", out.stdout);
    assert!(rows[0].starts_with("APP ") && rows[1].starts_with("redis "), "{}", out.stdout);
    let out = f.status(&["nope"]).expect_code(1);
    assert!(out.stderr.contains("app 'nope' is not in the cluster"), "{}", out.stderr);
}

#[test]
fn status_app_sums_up_a_failing_runtime_in_one_line() {
    let Some(c) = cluster() else { return };
    let _l = c.lock();
    let f = Fixture::new(&c, "st-oneline", true);
    let ns = f.ns.clone();
    f.apply(&format!(
        "{}{}",
        git_app("web", &ns),
        deployment_ready("helm-controller", &ns)
            .replace("readyReplicas: 1", "readyReplicas: 0")
            .replace("availableReplicas: 1", "availableReplicas: 0")
    ));
    let out = f.status(&["web"]).expect_code(1);
    let checks: Vec<&str> = out.stderr.lines().collect();
    assert_eq!(checks.len(), 1, "{}", out.stderr);
    assert!(checks[0].starts_with("✗ runtime: Flux v2.9.4"), "{}", checks[0]);
    assert!(checks[0].contains("3/4 controllers ready"), "{}", checks[0]);
    assert!(checks[0].contains("helm-controller: deployment not ready: 0/1 ready"), "{}", checks[0]);
    assert!(checks[0].contains("does not match >=1.33.0-0"), "{}", checks[0]);
    assert!(out.stdout.lines().nth(1).is_some_and(|l| l.starts_with("web ")), "{}", out.stdout);
}

#[test]
fn an_app_committed_but_not_reconciled_is_waiting_for_flux() {
    let Some(c) = cluster() else { return };
    let Some(git) = common::servers::git_servers() else { return };
    let _l = c.lock();
    let f = Fixture::new(&c, "st-commit", true);
    f.accept_old_kubernetes();
    let ns = f.ns.clone();
    // What `add --auto-merge` leaves: the app in the wego repo's cluster directory, and the
    // cluster following that directory; Flux (absent here) has not reconciled it.
    let app_yaml = git_app("podinfo", &ns);
    let fleet = git.seeded(
        "st-fleet",
        &[
            (".wego/apps/podinfo/app.yaml", app_yaml.as_str()),
            (".wego/targets/edge/podinfo/kustomization.yaml", "resources: [../../../apps/podinfo]\n"),
            (".wego/targets/edge/edge-gitops-runtime.yaml", "# the cluster's runtime\n"),
        ],
    );
    let url = git.http_url(&fleet);
    let sha = common::servers::git(&fleet.path, &["rev-parse", "main"]);
    f.apply(&format!(
        r#"---
apiVersion: source.toolkit.fluxcd.io/v1
kind: GitRepository
metadata: {{name: wego, namespace: {ns}, labels: {{app.kubernetes.io/part-of: wego}}}}
spec: {{url: "{url}", interval: 1m, ref: {{branch: main}}}}
---
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata: {{name: wego-edge, namespace: {ns}, labels: {{app.kubernetes.io/part-of: wego}}}}
spec: {{interval: 5m, prune: true, path: ./.wego/targets/edge, sourceRef: {{kind: GitRepository, name: wego}}}}
"#
    ));
    let (code, v) = f.json(&[]);
    assert_eq!(code, 0, "an app on its way does not fail status: {v:#}");
    let apps = v["apps"].as_array().unwrap();
    assert_eq!(apps.len(), 1, "{v:#}");
    assert_eq!(apps[0]["name"], "podinfo");
    assert_eq!(apps[0]["state"], "committed");
    assert_eq!(apps[0]["commit"], format!("main@sha1:{sha}"));
    assert_eq!(apps[0]["message"], format!("committed, waiting for Flux (main@sha1:{sha})"));
    let out = f.status(&["podinfo"]).ok();
    assert!(out.stdout.contains("committed, waiting for Flux") && out.stdout.contains(&sha), "{out:?}");
    // Once Flux has applied that revision the repo is not read again (the App would be in the
    // cluster by then): nothing is on its way.
    f.apply(&format!(
        "---\napiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata: {{name: wego-edge, namespace: {ns}, labels: {{app.kubernetes.io/part-of: wego}}}}\nspec: {{interval: 5m, prune: true, path: ./.wego/targets/edge, sourceRef: {{kind: GitRepository, name: wego}}}}\nstatus:\n  lastAppliedRevision: \"main@sha1:{sha}\"\n"
    ));
    let (_, v) = f.json(&[]);
    assert!(v["apps"].as_array().unwrap().is_empty(), "{v:#}");
}

#[test]
fn status_makes_a_constant_number_of_requests() {
    let Some(c) = cluster() else { return };
    let Some(audit) = audit_log() else { return };
    // Under the cluster lock no other wego runs, so the growth of wego's entries in the audit
    // log during one `wego status` is exactly its requests.
    let _l = c.lock();
    let f = Fixture::new(&c, "st-count", true);
    let ns = f.ns.clone();
    let mut calls = vec![];
    let mut total = 0;
    for n in [1, 9] {
        let mut y = String::new();
        for i in total..n {
            let name = format!("app-{i}");
            y.push_str(&git_app(&name, &ns));
            y.push_str(&git_source(&name, &ns, "main@sha1:1"));
            y.push_str(&kustomization(
                &name,
                &ns,
                Some("main@sha1:1"),
                &condition("True", "ReconciliationSucceeded", "ok", "2026-11-25T10:00:00Z"),
            ));
            y.push_str(&warning(&name, &ns, i, "2026-11-25T10:01:00Z", "Flaky"));
        }
        total = n;
        f.apply(&y);
        let before = audited(&audit);
        let (_, v) = f.json(&[]);
        assert_eq!(v["apps"].as_array().unwrap().len(), n);
        calls.push(audited(&audit) - before);
    }
    assert_eq!(calls[0], calls[1], "API requests of `wego status` for 1 app vs 9 apps");
    assert!(calls[0] <= 10, "`wego status` makes at most 10 API requests, no discovery: {calls:?}");
    let before = audited(&audit);
    let (_, v) = f.json(&["app-3"]);
    assert_eq!(v["apps"][0]["name"], "app-3");
    let one = audited(&audit) - before;
    assert!(one <= 8, "`wego status APP` makes at most 8 API requests: {one}");
}
