//! `kube::` — the Kubernetes API for scripts: apply, get, list, delete, status, events.

use std::sync::Arc;

use kube::api::{DeleteParams, Patch, PatchParams};
use rhai::{Array, Dynamic, EvalAltResult, Map, Module};
use serde_json::Value;

use super::api::ApiModule;
use super::host::{fail, Host};
use crate::k8s::apply::{apply_all, ApplyOpts};
use crate::k8s::KubeError;

type R<T> = Result<T, Box<EvalAltResult>>;

pub(super) fn err(prim: &str, e: KubeError) -> Box<EvalAltResult> {
    fail(prim, e.message, e.help.as_deref())
}

/// Objects given as YAML text, one map, or an array of maps.
fn objects(prim: &str, v: &Dynamic) -> R<Vec<Value>> {
    if let Some(s) = v.read_lock::<rhai::ImmutableString>() {
        return super::yaml::parse_all(&s).map_err(|e| fail(prim, format!("invalid YAML: {e}"), None));
    }
    if v.is_array() {
        return Ok(v.clone().cast::<Array>().iter().map(super::from_dynamic).collect());
    }
    if v.is_map() {
        return Ok(vec![super::from_dynamic(v)]);
    }
    Err(fail(prim, format!("expected YAML text, a map or an array of maps, got {}", v.type_name()), None))
}

pub fn module(host: &Arc<Host>) -> Module {
    let mut m = ApiModule::new("The Kubernetes API of the current kubeconfig context (`--kubeconfig`, `--context`).");

    let h = host.clone();
    m.func(
        "context",
        &["Map"],
        "The kubeconfig context in effect: `#{name, cluster, user, namespace, server, kubeconfig}`. Reads the kubeconfig only; no API call.\n\nErrors: no kubeconfig, unknown context.\n\nExample: `let cluster = kube::context().cluster;`",
        move || -> R<Dynamic> {
            let c = h.kube.context().map_err(|e| err("kube::context", e))?;
            Ok(super::to_dynamic(&serde_json::to_value(c).expect("context serializes")))
        },
    );

    let h = host.clone();
    m.func(
        "server_version",
        &["Map"],
        "The API server's version: `#{version: \"v1.33.1\", major, minor}`.\n\nErrors: the server is unreachable.\n\nExample: `if kube::server_version().minor < 33 { log::warn(\"old cluster\"); }`",
        move || -> R<Map> {
            let v = h.block_on(h.kube.server_version()).map_err(|e| err("kube::server_version", e))?;
            let nums: Vec<i64> = v
                .trim_start_matches('v')
                .split(['.', '-', '+'])
                .take(2)
                .map(|p| p.chars().take_while(char::is_ascii_digit).collect::<String>().parse().unwrap_or(0))
                .collect();
            let mut m = Map::new();
            m.insert("version".into(), v.into());
            m.insert("major".into(), nums.first().copied().unwrap_or(0).into());
            m.insert("minor".into(), nums.get(1).copied().unwrap_or(0).into());
            Ok(m)
        },
    );

    let h = host.clone();
    m.func(
        "has_kind",
        &["api_version: &str", "kind: &str", "bool"],
        "Whether the server serves `kind` at `api_version` (discovery; cached per group-version).\n\nExample: `if !kube::has_kind(\"wego.weave.works/v1alpha1\", \"App\") { throw \"run wego install\"; }`",
        move |av: &str, kind: &str| -> R<bool> {
            h.block_on(h.kube.kind(av, kind)).map(|k| k.is_some()).map_err(|e| err("kube::has_kind", e))
        },
    );

    let apply_doc = "Server-side apply `objects` (YAML text, a map, or an array of maps) in a safe order: Namespaces and CRDs first, custom resources after their CRD is Established. Kinds are resolved through discovery, so any CRD works.\nOptions: `field_manager` (default: config `kube.fieldManager`), `force` (take over conflicting fields), `dry_run` (server-side validation only).\nReturns one `#{apiVersion, kind, name, namespace, result}` per object, `result` being `created`, `configured` or `unchanged`.\nOn a server too old for a CRD's schema it falls back to create/replace with a warning.\n\nErrors: unknown kind (is the runtime installed?), forbidden, invalid object, unreachable server.\n\nExample: `for r in kube::apply(yaml_text, #{}) { log::ok(`${r.kind}/${r.name} ${r.result}`); }`";
    let h = host.clone();
    m.func(
        "apply",
        &["objects: Dynamic", "options: Map", "Array"],
        apply_doc,
        move |objs: Dynamic, opts: Map| -> R<Array> { apply(&h, &objs, &opts) },
    );
    let h = host.clone();
    m.func("apply", &["objects: Dynamic", "Array"], apply_doc, move |objs: Dynamic| -> R<Array> {
        apply(&h, &objs, &Map::new())
    });

    for (name, optional) in [("get", false), ("get_opt", true)] {
        let doc = if optional {
            "Get one object, or `()` when it does not exist. `namespace` is ignored for cluster-scoped kinds.\n\nErrors: unknown kind, forbidden, unreachable server.\n\nExample: `let cm = kube::get_opt(\"v1\", \"ConfigMap\", \"wego-config\", \"flux-system\");`"
        } else {
            "Get one object; missing is an error. `namespace` is ignored for cluster-scoped kinds.\n\nErrors: not found, unknown kind, forbidden, unreachable server.\n\nExample: `let crd = kube::get(\"apiextensions.k8s.io/v1\", \"CustomResourceDefinition\", \"apps.wego.weave.works\", \"\");`"
        };
        let h = host.clone();
        let prim = format!("kube::{name}");
        m.func(
            name,
            &["api_version: &str", "kind: &str", "name: &str", "namespace: &str", "Dynamic"],
            doc,
            move |av: &str, kind: &str, n: &str, ns: &str| -> R<Dynamic> {
                let got = h.block_on(h.kube.get_opt(av, kind, n, ns)).map_err(|e| err(&prim, e))?;
                match got {
                    Some(v) => Ok(super::to_dynamic(&v)),
                    None if optional => Ok(Dynamic::UNIT),
                    None => Err(fail(&prim, format!("{} not found", crate::k8s::describe(kind, n, ns)), None)),
                }
            },
        );
    }

    super::kube_list::register(&mut m, host);

    let h = host.clone();
    m.func(
        "delete",
        &["api_version: &str", "kind: &str", "name: &str", "namespace: &str", "bool"],
        "Delete one object; returns `false` when it did not exist.\n\nErrors: unknown kind, forbidden, unreachable server.\n\nExample: `kube::delete(\"v1\", \"ConfigMap\", \"old\", \"default\");`",
        move |av: &str, kind: &str, n: &str, ns: &str| -> R<bool> {
            h.block_on(async {
                let k = h.kube.require_kind(av, kind).await?;
                let api = h.kube.api(&k, Some(ns)).await?;
                match api.delete(n, &DeleteParams::default()).await {
                    Ok(_) => Ok(true),
                    Err(kube::Error::Api(s)) if s.code == 404 => Ok(false),
                    Err(e) => Err(h.kube.explain(e, "delete", &crate::k8s::describe(kind, n, ns))),
                }
            })
            .map_err(|e| err("kube::delete", e))
        },
    );

    let h = host.clone();
    m.func(
        "patch_status",
        &["api_version: &str", "kind: &str", "name: &str", "namespace: &str", "status: Map", "Map"],
        "Merge-patch the `status` subresource of an object (what a controller writes); returns the object.\n\nErrors: not found, the kind has no status subresource, forbidden.\n\nExample: `kube::patch_status(\"apps/v1\", \"Deployment\", \"web\", \"default\", #{ readyReplicas: 1 });`",
        move |av: &str, kind: &str, n: &str, ns: &str, status: Map| -> R<Dynamic> {
            let body = serde_json::json!({ "status": super::from_dynamic(&status.into()) });
            let obj = h
                .block_on(async {
                    let k = h.kube.require_kind(av, kind).await?;
                    let api = h.kube.api(&k, Some(ns)).await?;
                    api.patch_status(n, &PatchParams::default(), &Patch::Merge(&body))
                        .await
                        .map_err(|e| h.kube.explain(e, "patch status of", &crate::k8s::describe(kind, n, ns)))
                })
                .map_err(|e| err("kube::patch_status", e))?;
            Ok(super::to_dynamic(&crate::k8s::to_json(&obj, av, kind)))
        },
    );

    m.build()
}

fn apply(h: &Host, objs: &Dynamic, opts: &Map) -> R<Array> {
    let objects = objects("kube::apply", objs)?;
    let config = h.config();
    let o = ApplyOpts {
        field_manager: super::opt_str(opts, "field_manager").unwrap_or(config.kube.field_manager),
        force: super::opt_bool(opts, "force"),
        dry_run: super::opt_bool(opts, "dry_run"),
        flux_version: config.flux.version,
    };
    let warn = |msg: &str| h.log.emit(super::log::Level::Warn, "⚠", "33", msg);
    let results = h.block_on(apply_all(&h.kube, objects, &o, &warn)).map_err(|e| err("kube::apply", e))?;
    Ok(results.iter().map(|r| super::to_dynamic(&serde_json::to_value(r).expect("result serializes"))).collect())
}
