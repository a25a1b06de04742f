//! `kube::patch` and `kube::wait`: change one field of an object someone else applied, and
//! wait for an object to reach a state. `kube.rs` registers them.

use std::time::{Duration, Instant};

use kube::api::{Patch, PatchParams};
use rhai::{Dynamic, EvalAltResult, FnPtr, Map, NativeCallContext};

use super::host::{fail, Host};

type R<T> = Result<T, Box<EvalAltResult>>;

/// Time kept back from the command's `--timeout`, so a wait that gives up can still say why.
const DEADLINE_MARGIN: Duration = Duration::from_secs(2);

/// What `kube::patch` does; `at` is (api version, kind, name, namespace).
pub fn merge_patch(h: &Host, at: (&str, &str, &str, &str), patch: Map, opts: &Map) -> R<Map> {
    let (av, kind, n, ns) = at;
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
    Ok(super::to_dynamic(&crate::k8s::to_json(&obj, av, kind)).try_cast::<Map>().unwrap_or_default())
}

/// Seconds from an options map (an integer or a decimal).
fn seconds(opts: &Map, key: &str) -> Option<Duration> {
    let v = opts.get(key)?;
    let s = super::seconds(v)?;
    Some(Duration::from_secs_f64(s.max(0.0)))
}

/// What `kube::wait` does.
pub fn wait(h: &Host, ctx: &NativeCallContext, at: (&str, &str, &str, &str), until: &FnPtr, opts: &Map) -> R<Map> {
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
