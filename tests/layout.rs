//! The files `wego add` writes to the wego repo: every Flux object validates against Flux's
//! own CRD schemas (v2.9.4) and every App against wego's CRD, and the layout is WEP-001's.

mod common;

use std::path::{Path, PathBuf};

use common::{crds, git_work_tree, Env};
use serde_json::Value;

fn render(env: &Env) -> (tempfile::TempDir, Vec<(PathBuf, Vec<Value>)>) {
    let repo = git_work_tree();
    std::fs::copy(
        concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/render-layout.rhai"),
        repo.path().join("render.rhai"),
    )
    .unwrap();
    env.wego().args(["run", "render.rhai"]).cwd(repo.path()).run().ok();
    let mut files = vec![];
    collect(&repo.path().join("out"), &mut files);
    files.sort();
    let parsed = files
        .into_iter()
        .map(|f| {
            let text = std::fs::read_to_string(&f).unwrap();
            let docs: Vec<Value> =
                serde_saphyr::from_multiple(&text).unwrap_or_else(|e| panic!("{}: {e}", f.display()));
            let rel = f.strip_prefix(repo.path().join("out")).unwrap().to_path_buf();
            (rel, docs.into_iter().filter(|d| !d.is_null()).collect())
        })
        .collect();
    (repo, parsed)
}

fn collect(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        if e.path().is_dir() {
            collect(&e.path(), out);
        } else {
            out.push(e.path());
        }
    }
}

#[test]
fn layout_follows_the_wep() {
    let env = Env::new();
    let (_repo, files) = render(&env);
    let paths: Vec<String> = files.iter().map(|(p, _)| p.display().to_string()).collect();
    assert_eq!(
        paths,
        [
            ".wego/apps/chart-in-git/app.yaml",
            ".wego/apps/chart-in-git/kustomization.yaml",
            ".wego/apps/podinfo/app.yaml",
            ".wego/apps/podinfo/kustomization.yaml",
            ".wego/apps/redis/app.yaml",
            ".wego/apps/redis/kustomization.yaml",
            ".wego/targets/prod/chart-in-git/chart-in-git-gitops-runtime.yaml",
            ".wego/targets/prod/chart-in-git/kustomization.yaml",
            ".wego/targets/prod/podinfo/kustomization.yaml",
            ".wego/targets/prod/podinfo/podinfo-gitops-runtime.yaml",
            ".wego/targets/prod/prod-gitops-runtime.yaml",
            ".wego/targets/prod/redis/kustomization.yaml",
            ".wego/targets/prod/redis/redis-gitops-runtime.yaml",
        ]
    );
    let target = &files.iter().find(|(p, _)| p.ends_with("prod-gitops-runtime.yaml")).unwrap().1;
    let kinds: Vec<&str> = target.iter().map(|o| o["kind"].as_str().unwrap()).collect();
    // No Kustomization of all apps: a cluster gets only its own directory.
    assert_eq!(kinds, ["GitRepository", "Kustomization"]);
    assert_eq!(target[0]["spec"]["ref"]["branch"], "main", "delivers from the default branch");
    assert_eq!(target[0]["metadata"]["annotations"]["wego.weave.works/cluster-uid"], "0f6f3c2e-uid");
    assert_eq!(target[1]["spec"]["path"], "./.wego/targets/prod");
    // An app's directory for the cluster: its App (from apps/, cluster-neutral) and its Flux
    // objects, in the cluster's runtime namespace.
    let k = &files.iter().find(|(p, _)| p.ends_with("prod/podinfo/kustomization.yaml")).unwrap().1[0];
    assert_eq!(k["namespace"], "flux-system");
    assert_eq!(k["resources"], serde_json::json!(["../../../../.wego/apps/podinfo", "podinfo-gitops-runtime.yaml"]));
    let app = &files.iter().find(|(p, _)| p.ends_with("apps/podinfo/app.yaml")).unwrap().1[0];
    assert!(app["spec"].get("cluster").is_none() && app["metadata"].get("namespace").is_none(), "{app}");
    let podinfo = &files.iter().find(|(p, _)| p.ends_with("podinfo-gitops-runtime.yaml")).unwrap().1;
    assert_eq!(podinfo[0]["spec"]["interval"], "1m");
    assert_eq!(podinfo[1]["spec"]["interval"], "5m");
    assert_eq!(podinfo[1]["spec"]["prune"], true);
    assert_eq!(podinfo[1]["spec"]["targetNamespace"], "web");
    let redis = &files.iter().find(|(p, _)| p.ends_with("redis-gitops-runtime.yaml")).unwrap().1;
    assert_eq!(redis[0]["kind"], "HelmRepository");
    assert_eq!(redis[1]["spec"]["install"]["createNamespace"], true);
    assert_eq!(redis[1]["spec"]["chart"]["spec"]["version"], "17.3.2");
    let git_chart = &files.iter().find(|(p, _)| p.ends_with("chart-in-git-gitops-runtime.yaml")).unwrap().1;
    assert_eq!(git_chart[1]["spec"]["chart"]["spec"]["sourceRef"]["kind"], "GitRepository");
    assert_eq!(git_chart[0]["spec"]["secretRef"]["name"], "wego-private-deploy-key");
}

#[test]
fn every_object_validates_against_the_crd_schemas() {
    let Some(crds) = crds::flux_crds() else { return };
    let env = Env::new();
    let app_crd = crds::app_crd(&env);
    let (_repo, files) = render(&env);
    let mut checked = 0;
    for (path, objs) in &files {
        if path.ends_with("kustomization.yaml") {
            continue;
        }
        for o in objs {
            let p = crds::problems(o, &crds, &app_crd);
            assert!(p.is_empty(), "{} in {} does not validate: {p:?}", o["kind"], path.display());
            checked += 1;
        }
    }
    // The schemas do bite: a Kustomization without sourceRef and a string `prune` is rejected.
    let bad = serde_json::json!({"apiVersion": "kustomize.toolkit.fluxcd.io/v1", "kind": "Kustomization",
        "metadata": {"name": "x"}, "spec": {"interval": "5m", "prune": "yes"}});
    assert!(crds::problems(&bad, &crds, &app_crd).len() >= 2);
    // 3 Apps, the cluster's 2 runtime objects, and a source + a delivery object per app.
    assert_eq!(checked, 3 + 2 + 3 * 2, "every object checked");
    // WEP-001's own App example is valid; an App that names no source is not.
    let wep = serde_json::json!({"apiVersion": "wego.weave.works/v1alpha1", "kind": "App",
        "metadata": {"name": "mywego"}, "spec": {"path": "/foo/bar", "gitURL": "https://github.com/myorg/foo.git"}});
    assert!(crds::problems(&wep, &crds, &app_crd).is_empty());
    let nowhere = serde_json::json!({"apiVersion": "wego.weave.works/v1alpha1", "kind": "App",
        "metadata": {"name": "x"}, "spec": {"path": "./deploy"}});
    assert!(!crds::problems(&nowhere, &crds, &app_crd).is_empty());
}
