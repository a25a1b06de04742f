//! Validation of objects against the CRD schemas they belong to: Flux v2.9.4's (the reference
//! data in ../shared/flux) and wego's own App CRD.

use std::path::Path;

use serde_json::Value;

use super::Env;

/// Flux's CRDs, or `None` (skip locally, fail in CI) when the reference data is missing.
pub fn flux_crds() -> Option<Vec<Value>> {
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

/// wego's App CRD as `wego install` renders it.
pub fn app_crd(env: &Env) -> Value {
    let out = env
        .wego()
        .arg("repl")
        .stdin("print(template::render(\"wego/app-crd.yaml.j2\", #{ wego_version: \"test\" }));")
        .run()
        .ok();
    serde_saphyr::from_str(&out.stdout).unwrap()
}

/// The openAPIV3Schema of a CRD's `version`.
pub fn schema(crd: &Value, version: &str) -> Value {
    crd["spec"]["versions"].as_array().unwrap().iter().find(|v| v["name"] == version).unwrap()["schema"]
        ["openAPIV3Schema"]
        .clone()
}

/// Problems of `o` against its CRD (empty when valid); panics for a kind without a CRD or an
/// API version the CRD does not serve.
pub fn problems(o: &Value, flux: &[Value], app: &Value) -> Vec<String> {
    let (group, version) = o["apiVersion"].as_str().unwrap().split_once('/').unwrap();
    let kind = o["kind"].as_str().unwrap();
    let crd = if group == "wego.weave.works" {
        app
    } else {
        flux.iter()
            .find(|c| c["spec"]["group"] == group && c["spec"]["names"]["kind"] == kind)
            .unwrap_or_else(|| panic!("no CRD for {kind}"))
    };
    let served =
        crd["spec"]["versions"].as_array().unwrap().iter().any(|v| v["name"] == version && v["served"] == true);
    assert!(served, "{kind} {version} is not served");
    let v = jsonschema::validator_for(&schema(crd, version)).unwrap();
    v.iter_errors(o).map(|e| format!("{e} at {}", e.instance_path())).collect()
}
