//! The files `wego add` writes to the wego repo: every Flux object validates against Flux's
//! own CRD schemas (v2.9.4) and every App against wego's CRD, and the layout is WEP-001's.

mod common;

use std::path::{Path, PathBuf};

use common::{git_work_tree, Env};
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

/// The openAPIV3Schema of `kind`'s served `version` from a CRD document.
fn crd_schema(crd: &Value, version: &str) -> Value {
    crd["spec"]["versions"].as_array().unwrap().iter().find(|v| v["name"] == version).unwrap()["schema"]
        ["openAPIV3Schema"]
        .clone()
}

fn flux_crds() -> Option<Vec<Value>> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/flux/v2.9.4/crds");
    if !dir.is_dir() {
        assert!(std::env::var("CI").is_err(), "CI has ../shared/flux beside the checkout");
        eprintln!("skipped: no ../shared/flux/v2.9.4/crds");
        return None;
    }
    Some(
        std::fs::read_dir(dir)
            .unwrap()
            .flatten()
            .map(|e| serde_saphyr::from_str::<Value>(&std::fs::read_to_string(e.path()).unwrap()).unwrap())
            .collect(),
    )
}

fn validate(schema: &Value, obj: &Value, what: &str) {
    let v = jsonschema::validator_for(schema).unwrap_or_else(|e| panic!("schema for {what}: {e}"));
    let errors: Vec<String> = v.iter_errors(obj).map(|e| format!("{e} at {}", e.instance_path())).collect();
    assert!(errors.is_empty(), "{what} does not validate: {errors:?}\n{obj:#}");
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
            ".wego/apps/podinfo/app.yaml",
            ".wego/apps/redis/app.yaml",
            ".wego/targets/prod/chart-in-git/chart-in-git-gitops-runtime.yaml",
            ".wego/targets/prod/podinfo/podinfo-gitops-runtime.yaml",
            ".wego/targets/prod/prod-gitops-runtime.yaml",
            ".wego/targets/prod/redis/redis-gitops-runtime.yaml",
        ]
    );
    let target = &files.iter().find(|(p, _)| p.ends_with("prod-gitops-runtime.yaml")).unwrap().1;
    let kinds: Vec<&str> = target.iter().map(|o| o["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["GitRepository", "Kustomization", "Kustomization"]);
    assert_eq!(target[0]["spec"]["ref"]["branch"], "main", "delivers from the default branch");
    assert_eq!(target[1]["spec"]["path"], "./.wego/apps");
    assert_eq!(target[2]["spec"]["path"], "./.wego/targets/prod");
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
    let Some(crds) = flux_crds() else { return };
    let env = Env::new();
    let out = env
        .wego()
        .arg("repl")
        .stdin("print(template::render(\"wego/app-crd.yaml.j2\", #{ wego_version: \"test\" }));")
        .run()
        .ok();
    let app_crd: Value = serde_saphyr::from_str(&out.stdout).unwrap();
    let (_repo, files) = render(&env);
    let mut checked = 0;
    for (path, objs) in &files {
        for o in objs {
            let (group, version) = o["apiVersion"].as_str().unwrap().split_once('/').unwrap();
            let kind = o["kind"].as_str().unwrap();
            let crd = if group == "wego.weave.works" {
                &app_crd
            } else {
                crds.iter()
                    .find(|c| c["spec"]["group"] == group && c["spec"]["names"]["kind"] == kind)
                    .unwrap_or_else(|| panic!("no CRD for {kind}"))
            };
            let served =
                crd["spec"]["versions"].as_array().unwrap().iter().any(|v| v["name"] == version && v["served"] == true);
            assert!(served, "{kind} {version} is not served by Flux v2.9.4 ({})", path.display());
            validate(&crd_schema(crd, version), o, &format!("{kind} in {}", path.display()));
            checked += 1;
        }
    }
    // The schemas do bite: a Kustomization without sourceRef and a string `prune` is rejected.
    let ks = crds.iter().find(|c| c["spec"]["names"]["kind"] == "Kustomization").unwrap();
    let bad = serde_json::json!({"apiVersion": "kustomize.toolkit.fluxcd.io/v1", "kind": "Kustomization",
        "metadata": {"name": "x"}, "spec": {"interval": "5m", "prune": "yes"}});
    assert!(jsonschema::validator_for(&crd_schema(ks, "v1")).unwrap().iter_errors(&bad).count() >= 2);

    // 3 Apps, the cluster's 3 runtime objects, and a source + a delivery object per app.
    assert_eq!(checked, 3 + 3 + 3 * 2, "every object checked");
}
