//! `kube::` — the Kubernetes API for scripts: apply, get, list, delete, status, events.

use std::sync::Arc;

use kube::api::{DeleteParams, Patch, PatchParams};
use rhai::{Array, Dynamic, EvalAltResult, FnPtr, Map, Module};
use serde_json::Value;

use super::api::api_module;
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
    api_module! {
        let h = host;
        //! The Kubernetes API of the current kubeconfig context (`--kubeconfig`, `--context`).

        /// The kubeconfig context in effect: `#{name, cluster, user, namespace, server, kubeconfig}`. Reads the
        /// kubeconfig only; no API call.
        ///
        /// Errors: no kubeconfig, unknown context.
        ///
        /// Example: `let cluster = kube::context().cluster;`
        fn context() -> Map {
            let c = h.kube.context().map_err(|e| err("kube::context", e))?;
            Ok(to_map(&serde_json::to_value(c).expect("context serializes")))
        }

        /// The API server's version: `#{version: "v1.33.1", major, minor}`.
        ///
        /// Errors: the server is unreachable.
        ///
        /// Example: `if kube::server_version().minor < 33 { log::warn("old cluster"); }`
        fn server_version() -> Map {
            let v = h.block_on(h.kube.server_version()).map_err(|e| err("kube::server_version", e))?;
            Ok(version_map(v))
        }

        /// Whether the server serves `kind` at `api_version` (discovery; cached per group-version).
        ///
        /// Example: `if !kube::has_kind("wego.weave.works/v1alpha1", "App") { throw "run wego install"; }`
        fn has_kind(api_version: &str, kind: &str) -> bool {
            h.block_on(h.kube.kind(api_version, kind)).map(|k| k.is_some()).map_err(|e| err("kube::has_kind", e))
        }

        /// Server-side apply `objects` (YAML text, a map, or an array of maps) in a safe order: Namespaces and CRDs
        /// first, custom resources after their CRD is Established. Kinds are resolved through discovery, so any CRD
        /// works.\
        /// Options: `field_manager` (default: config `kube.fieldManager`), `force` (take over conflicting fields),
        /// `dry_run` (server-side validation only), `progress` (a `Step` from `log::step`: shows the objects applied).\
        /// Returns one `#{apiVersion, kind, name, namespace, result}` per object, `result` being `created`,
        /// `configured` or `unchanged`.\
        /// On a server too old for a CRD's schema it falls back to create/replace with a warning.
        ///
        /// Errors: unknown kind (is the runtime installed?), forbidden, invalid object, unreachable server.
        ///
        /// Example: `for r in kube::apply(yaml_text, #{}) { log::ok(`${r.kind}/${r.name} ${r.result}`); }`
        fn apply(objects: Dynamic, #[optional] options: Map) -> Array {
            apply(h, &objects, &options)
        }

        /// Get one object; missing is an error. `namespace` is ignored for cluster-scoped kinds.
        ///
        /// Errors: not found, unknown kind, forbidden, unreachable server.
        ///
        /// Example: `let crd = kube::get("apiextensions.k8s.io/v1", "CustomResourceDefinition",
        /// "apps.wego.weave.works", "");`
        fn get(api_version: &str, kind: &str, name: &str, namespace: &str) -> Dynamic {
            let prim = "kube::get";
            let found = h.block_on(h.kube.get_opt(api_version, kind, name, namespace)).map_err(|e| err(prim, e))?;
            let missing = || fail(prim, format!("{} not found", crate::k8s::describe(kind, name, namespace)), None);
            found.map(|v| super::to_dynamic(&v)).ok_or_else(missing)
        }

        /// Get one object, or `()` when it does not exist. `namespace` is ignored for cluster-scoped kinds.
        ///
        /// Errors: unknown kind, forbidden, unreachable server.
        ///
        /// Example: `let cm = kube::get_opt("v1", "ConfigMap", "wego-config", "flux-system");`
        fn get_opt(api_version: &str, kind: &str, name: &str, namespace: &str) -> Dynamic {
            let found = h.block_on(h.kube.get_opt(api_version, kind, name, namespace));
            Ok(found.map_err(|e| err("kube::get_opt", e))?.map(|v| super::to_dynamic(&v)).unwrap_or(Dynamic::UNIT))
        }

        /// List objects of a kind, paged as the server allows. Options: `namespace` (default: all namespaces),
        /// `labels` (label selector), `fields` (field selector), `keep` (dotted paths to keep, e.g.
        /// `["metadata.name", "status.conditions"]`; `apiVersion` and `kind` always stay; default: everything),
        /// `chunk_size` (objects per request, as kubectl's `--chunk-size`; default 500, 0 for one request),
        /// `columns` (each object as one flat map, as kubectl's `-o custom-columns`: a map of names to paths such as
        /// `"metadata.name"`, `"status.history[0].chartVersion"`, `"metadata.labels['app.kubernetes.io/name']"`, or to an
        /// array of paths tried in turn; `()` where none has a value; without `keep`, only what the columns read is
        /// decoded. A list of rows costs a fraction of the objects' memory).
        ///
        /// Errors: unknown kind, forbidden, unreachable server.
        ///
        /// Example: `let apps = kube::list("wego.weave.works/v1alpha1", "App", #{ namespace: "flux-system" });`
        fn list(api_version: &str, kind: &str, options: Map) -> Array {
            let s = super::kube_list::spec("kube::list", api_version, kind, &options)?;
            Ok(super::kube_list::list_many(h, vec![s], "kube::list")?.pop().unwrap_or_default())
        }

        /// Objects as rows, as `kube::list`'s `columns` option makes them while listing: each object becomes one map of
        /// `columns` (name → path, or an array of paths tried in turn; `()` where none has a value).
        ///
        /// Errors: a path that is not one.
        ///
        /// Example: `let rows = kube::rows(objects, #{ name: "metadata.name", ready: "status.conditions[0].status" });`
        fn rows(objects: Array, columns: Map) -> Array {
            let c = super::kube_list::columns("kube::rows", &Dynamic::from_map(columns))?;
            Ok(objects.iter().map(|o| super::to_dynamic(&c.row(&super::from_dynamic(o)))).collect())
        }

        /// A list as a map keyed by one field of its elements (a column of rows, or a top-level key of objects): each
        /// value maps to the element holding it, the last one when several do; elements without it are left out. For
        /// joining lists in memory without a loop in the script (pass the list with `take` so it is moved, not copied).
        ///
        /// Example: `let sources = kube::index(take(rows), "app"); let mine = sources["web"];`
        fn index(list: Array, key: &str) -> Map {
            Ok(super::kube_list::index(list, key))
        }

        /// A list as a map of arrays keyed by one field of its elements: each value maps to the elements holding it, in
        /// list order; elements without it are left out. Pass the list with `take` so it is moved, not copied.
        ///
        /// Example: `let by_object = kube::group(take(events), "name"); let about_web = by_object["web"] ?? [];`
        fn group(list: Array, key: &str) -> Map {
            Ok(super::kube_list::group(list, key))
        }

        /// Fetch several lists at once (concurrently) and return them in the same order. Each entry is a map with
        /// `api_version`, `kind` and the options of `kube::list`.
        ///
        /// Errors: a missing `api_version`/`kind`, unknown kind, forbidden, unreachable server.
        ///
        /// Example: `let [apps, sources] = kube::list_many([#{ api_version: "wego.weave.works/v1alpha1", kind: "App",
        /// namespace: ns }, #{ api_version: "source.toolkit.fluxcd.io/v1", kind: "GitRepository", namespace: ns, keep:
        /// ["metadata", "status.artifact"] }]);`
        fn list_many(lists: Array) -> Array {
            super::kube_list::list_all(h, &lists)
        }

        /// Delete one object; returns `false` when it did not exist.
        ///
        /// Errors: unknown kind, forbidden, unreachable server.
        ///
        /// Example: `kube::delete("v1", "ConfigMap", "old", "default");`
        fn delete(api_version: &str, kind: &str, name: &str, namespace: &str) -> bool {
            delete(h, api_version, kind, name, namespace)
        }

        /// Merge-patch the `status` subresource of an object (what a controller writes); returns the object.
        ///
        /// Errors: not found, the kind has no status subresource, forbidden.
        ///
        /// Example: `kube::patch_status("apps/v1", "Deployment", "web", "default", #{ readyReplicas: 1 });`
        fn patch_status(api_version: &str, kind: &str, name: &str, namespace: &str, status: Map) -> Map {
            patch_status(h, api_version, kind, name, namespace, status)
        }

        /// Events, newest first, in one list. Options: `namespace` (default all), `involved_kind`, `involved_name`,
        /// `types` (e.g. `["Warning"]`), `since` (RFC 3339; older events are dropped), `limit`.\
        /// Each event: `#{type, reason, message, time, count, source, involved: #{kind, name, namespace}}`.
        ///
        /// Example: `let warnings = kube::events(#{ namespace: "flux-system", types: ["Warning"], limit: 3 });`
        fn events(options: Map) -> Array {
            super::kube_list::events(h, &options)
        }

        /// Events as `kube::events` gives them, from Event objects listed another way (e.g. by `kube::list_many`
        /// alongside other kinds). Options: `types`, `since`, `limit` as for `kube::events`.
        ///
        /// Example: `let [apps, evs] = kube::list_many([a, #{ api_version: "v1", kind: "Event", namespace: ns, fields:
        /// "type=Warning" }]); let warnings = kube::to_events(evs, #{});`
        fn to_events(objects: Array, options: Map) -> Array {
            Ok(super::kube_list::shape_events(objects.iter().map(super::from_dynamic).collect(), &options))
        }

        /// JSON merge patch (RFC 7386) of one object, as `kubectl patch --type merge` and `flux suspend` do: only the
        /// fields in `patch` change (a `()` value removes a field), and the fields stay owned by whoever applied them.
        /// Returns the object as the server has it.\
        /// Options: `field_manager` (default: config `kube.fieldManager`), `dry_run` (the server checks the patch and
        /// persists nothing).
        ///
        /// Errors: not found, unknown kind, invalid patch, forbidden.
        ///
        /// Example: `kube::patch("kustomize.toolkit.fluxcd.io/v1", "Kustomization", "web", "flux-system", #{ spec: #{
        /// suspend: true } }, #{});`
        fn patch(api_version: &str, kind: &str, name: &str, namespace: &str, patch: Map, options: Map) -> Map {
            super::kube_watch::merge_patch(h, (api_version, kind, name, namespace), patch, &options)
        }

        /// Poll one object until `until(object)` returns true, or time runs out. Returns `#{ok, object}`: `ok` is
        /// false on timeout, and `object` is the last one seen (`()` while it does not exist).\
        /// Options: `timeout` in seconds (default: what is left of the command's `--timeout`, less 2 seconds to
        /// report), `interval` in seconds (default 2).
        ///
        /// Errors: unknown kind, forbidden, `until` failing or not returning a bool.
        ///
        /// Example: `let r = kube::wait(av, "Kustomization", "web", ns, |o| o.status?.lastHandledReconcileAt == at, #{
        /// timeout: 60 });`
        fn wait(#[context] ctx, api_version: &str, kind: &str, name: &str, namespace: &str, until: FnPtr, options: Map) -> Map {
            super::kube_watch::wait(h, &ctx, (api_version, kind, name, namespace), &until, &options)
        }
    }
}

/// JSON-like data that is an object, as a script map.
fn to_map(v: &Value) -> Map {
    super::to_dynamic(v).try_cast::<Map>().unwrap_or_default()
}

/// `v1.33.1` as `#{version, major, minor}`.
fn version_map(v: String) -> Map {
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
    m
}

fn delete(h: &Host, av: &str, kind: &str, n: &str, ns: &str) -> R<bool> {
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
}

fn patch_status(h: &Host, av: &str, kind: &str, n: &str, ns: &str, status: Map) -> R<Map> {
    let body = serde_json::json!({ "status": super::from_dynamic(&status.into()) });
    let patched = h
        .block_on(async {
            let k = h.kube.require_kind(av, kind).await?;
            let api = h.kube.api(&k, Some(ns)).await?;
            api.patch_status(n, &PatchParams::default(), &Patch::Merge(&body))
                .await
                .map_err(|e| h.kube.explain(e, "patch status of", &crate::k8s::describe(kind, n, ns)))
        })
        .map_err(|e| err("kube::patch_status", e))?;
    Ok(to_map(&crate::k8s::to_json(&patched, av, kind)))
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
    let warn = |msg: &str| h.session.log.emit(super::log::Level::Warn, "⚠", "33", msg);
    let step = super::opt_step(opts);
    let applied = |done, total| step.iter().for_each(|s| s.count(done, total, "objects"));
    let results = h.block_on(apply_all(&h.kube, objects, &o, &warn, &applied)).map_err(|e| err("kube::apply", e))?;
    Ok(results.iter().map(|r| super::to_dynamic(&serde_json::to_value(r).expect("result serializes"))).collect())
}
