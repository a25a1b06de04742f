//! `kube::patch` and `kube::wait`: change one field of an object someone else applied, and
//! wait for an object to reach a state. Registered into the `kube::` module.

use std::sync::Arc;
use std::time::{Duration, Instant};

use kube::api::{Patch, PatchParams};
use rhai::{Dynamic, EvalAltResult, FnPtr, Map, NativeCallContext};

use super::api::ApiModule;
use super::host::{fail, Host};

type R<T> = Result<T, Box<EvalAltResult>>;

/// Time kept back from the command's `--timeout`, so a wait that gives up can still say why.
const DEADLINE_MARGIN: Duration = Duration::from_secs(2);

pub fn register(m: &mut ApiModule, host: &Arc<Host>) {
    let patch_doc = "JSON merge patch (RFC 7386) of one object, as `kubectl patch --type merge` and `flux suspend` do: only the fields in `patch` change (a `()` value removes a field), and the fields stay owned by whoever applied them. Returns the object as the server has it.\nOptions: `field_manager` (default: config `kube.fieldManager`), `dry_run` (the server checks the patch and persists nothing).\n\nErrors: not found, unknown kind, invalid patch, forbidden.\n\nExample: `kube::patch(\"kustomize.toolkit.fluxcd.io/v1\", \"Kustomization\", \"web\", \"flux-system\", #{ spec: #{ suspend: true } }, #{});`";
    let h = host.clone();
    m.func(
        "patch",
        &["api_version: &str", "kind: &str", "name: &str", "namespace: &str", "patch: Map", "options: Map", "Map"],
        patch_doc,
        move |av: &str, kind: &str, n: &str, ns: &str, patch: Map, opts: Map| -> R<Dynamic> {
            merge_patch(&h, av, kind, n, ns, patch, &opts)
        },
    );

    let h = host.clone();
    m.func(
        "wait",
        &["api_version: &str", "kind: &str", "name: &str", "namespace: &str", "until: FnPtr", "options: Map", "Map"],
        "Poll one object until `until(object)` returns true, or time runs out. Returns `#{ok, object}`: `ok` is false on timeout, and `object` is the last one seen (`()` while it does not exist).\nOptions: `timeout` in seconds (default: what is left of the command's `--timeout`, less 2 seconds to report), `interval` in seconds (default 2).\n\nErrors: unknown kind, forbidden, `until` failing or not returning a bool.\n\nExample: `let r = kube::wait(av, \"Kustomization\", \"web\", ns, |o| o.status?.lastHandledReconcileAt == at, #{ timeout: 60 });`",
        move |ctx: NativeCallContext, av: &str, kind: &str, n: &str, ns: &str, until: FnPtr, opts: Map| -> R<Map> {
            wait(&h, &ctx, (av, kind, n, ns), &until, &opts)
        },
    );
}

fn merge_patch(h: &Host, av: &str, kind: &str, n: &str, ns: &str, patch: Map, opts: &Map) -> R<Dynamic> {
    let body = super::from_dynamic(&patch.into());
    let mut params = PatchParams {
        field_manager: Some(super::opt_str(opts, "field_manager").unwrap_or(h.config().kube.field_manager)),
        ..PatchParams::default()
    };
    params.dry_run = super::opt_bool(opts, "dry_run");
    let what = crate::k8s::describe(kind, n, ns);
    let obj = h
        .block_on(async {
            let k = h.kube.require_kind(av, kind).await?;
            let api = h.kube.api(&k, Some(ns)).await?;
            api.patch(n, &params, &Patch::Merge(&body)).await.map_err(|e| h.kube.explain(e, "patch", &what))
        })
        .map_err(|e| match e.is_not_found() {
            true => fail("kube::patch", format!("{what} not found"), None),
            false => fail("kube::patch", e.message, e.help.as_deref()),
        })?;
    Ok(super::to_dynamic(&crate::k8s::to_json(&obj, av, kind)))
}

/// Seconds from an options map (an integer or a decimal).
fn seconds(opts: &Map, key: &str) -> Option<Duration> {
    let v = opts.get(key)?;
    let s = v.as_float().ok().or_else(|| v.as_int().ok().map(|i| i as f64))?;
    Some(Duration::from_secs_f64(s.max(0.0)))
}

fn wait(h: &Host, ctx: &NativeCallContext, at: (&str, &str, &str, &str), until: &FnPtr, opts: &Map) -> R<Map> {
    let (av, kind, n, ns) = at;
    let left = crate::deadline::remaining().map(|r| r.saturating_sub(DEADLINE_MARGIN));
    let timeout = match (seconds(opts, "timeout"), left) {
        (Some(t), Some(l)) => t.min(l),
        (Some(t), None) => t,
        (None, Some(l)) => l,
        (None, None) => Duration::from_secs(300),
    };
    let interval = seconds(opts, "interval").unwrap_or(Duration::from_secs(2)).max(Duration::from_millis(100));
    let start = Instant::now();
    loop {
        let got = h
            .block_on(h.kube.get_opt(av, kind, n, ns))
            .map_err(|e| fail("kube::wait", e.message, e.help.as_deref()))?;
        let object = got.as_ref().map(super::to_dynamic).unwrap_or(Dynamic::UNIT);
        let done = match &got {
            None => false,
            Some(_) => until.call_within_context::<bool>(ctx, (object.clone(),)).map_err(|e| {
                fail(
                    "kube::wait",
                    format!("`until` failed: {}", e.to_string().lines().next().unwrap_or_default()),
                    None,
                )
            })?,
        };
        let elapsed = start.elapsed();
        if done || elapsed >= timeout {
            let mut out = Map::new();
            out.insert("ok".into(), done.into());
            out.insert("object".into(), object);
            return Ok(out);
        }
        std::thread::sleep(interval.min(timeout - elapsed));
    }
}
