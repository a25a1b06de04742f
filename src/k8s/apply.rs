//! Server-side apply of many objects, in an order the server can take: Namespaces and CRDs
//! first, then (once each new CRD is Established) everything else.

use std::time::Duration;

use kube::api::{Patch, PatchParams, PostParams};
use kube::core::DynamicObject;
use serde_json::Value;

use super::{describe, KubeError, KubeState};

#[derive(Debug, Clone)]
pub struct ApplyOpts {
    /// Config `kube.fieldManager` unless the caller names another.
    pub field_manager: String,
    pub force: bool,
    pub dry_run: bool,
    /// The Flux version being installed (config `flux.version`), named when the server is too old.
    pub flux_version: String,
}

/// What happened to one object.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Applied {
    #[serde(rename = "apiVersion")]
    pub api_version: String,
    pub kind: String,
    pub name: String,
    pub namespace: String,
    /// `created`, `configured` or `unchanged`.
    pub result: String,
}

/// Install order: what other objects depend on goes first.
fn rank(kind: &str) -> u8 {
    match kind {
        "Namespace" => 0,
        "CustomResourceDefinition" => 1,
        "ResourceQuota" | "LimitRange" | "ServiceAccount" | "ClusterRole" | "Role" => 2,
        "ClusterRoleBinding" | "RoleBinding" => 3,
        "ConfigMap" | "Secret" => 4,
        _ => 5,
    }
}

fn field<'a>(o: &'a Value, path: &[&str]) -> Option<&'a str> {
    path.iter().try_fold(o, |v, k| v.get(k))?.as_str()
}

/// Remove what the server owns, so an object read back can be applied again.
fn strip_server_fields(o: &mut Value) {
    if let Some(m) = o.get_mut("metadata").and_then(Value::as_object_mut) {
        for k in ["managedFields", "resourceVersion", "uid", "creationTimestamp", "generation", "selfLink"] {
            m.remove(k);
        }
    }
}

/// The Kubernetes 1.20-era rejection of CRDs whose schema uses fields it does not know
/// (`x-kubernetes-validations`): server-side apply cannot build a typed patch for them.
fn is_schema_rejection(e: &KubeError) -> bool {
    e.message.contains("failed to create typed patch object") || e.message.contains("field not declared in schema")
}

pub async fn apply_all(
    state: &KubeState,
    mut objects: Vec<Value>,
    opts: &ApplyOpts,
    warn: &(dyn Fn(&str) + Sync),
    applied: &(dyn Fn(u64, u64) + Sync),
) -> Result<Vec<Applied>, KubeError> {
    for (i, o) in objects.iter_mut().enumerate() {
        if field(o, &["apiVersion"]).is_none()
            || field(o, &["kind"]).is_none()
            || field(o, &["metadata", "name"]).is_none()
        {
            return Err(KubeError::new(
                format!("object #{} has no apiVersion, kind or metadata.name", i + 1),
                Some("every object needs apiVersion, kind and metadata.name"),
            ));
        }
        strip_server_fields(o);
    }
    objects.sort_by_key(|o| rank(field(o, &["kind"]).unwrap_or("")));
    let default_ns = state.context().map(|c| c.namespace).unwrap_or_else(|_| "default".into());
    let mut results = Vec::with_capacity(objects.len());
    let mut new_crds = Vec::new();
    let mut crds_done = false;
    let mut fell_back = Vec::new();
    for o in &objects {
        applied(results.len() as u64, objects.len() as u64);
        let kind = field(o, &["kind"]).unwrap_or_default();
        if rank(kind) > 1 && !crds_done {
            crds_done = true;
            if !new_crds.is_empty() && !opts.dry_run {
                wait_established(state, &new_crds).await?;
                state.forget_kinds();
            }
        }
        // A dry run persists nothing, so objects inside a namespace or of a kind it would
        // create cannot be checked by the server; they would be created.
        if opts.dry_run {
            if let Some(r) = would_be_created(state, o, &results, &objects).await? {
                results.push(r);
                continue;
            }
        }
        let r = apply_one(state, o, &default_ns, opts, &mut fell_back).await?;
        if kind == "CustomResourceDefinition" && r.result != "unchanged" {
            new_crds.push(r.name.clone());
        }
        results.push(r);
    }
    if !crds_done && !new_crds.is_empty() && !opts.dry_run {
        wait_established(state, &new_crds).await?;
        state.forget_kinds();
    }
    if !fell_back.is_empty() {
        let version = state.server_version().await.unwrap_or_else(|_| "?".into());
        warn(&format!(
            "the API server (Kubernetes {version}) cannot server-side apply {} object(s) whose schema uses fields it \
             does not know (x-kubernetes-validations), so wego {} them instead: {}. Upgrade the \
             cluster to a Kubernetes version Flux {} supports.",
            fell_back.len(),
            if opts.dry_run { "would create/replace" } else { "created/replaced" },
            fell_back.join(", "),
            opts.flux_version
        ));
    }
    Ok(results)
}

/// In a dry run: `Some(created)` when `o` lives in a namespace, or is of a kind, that this same
/// batch would create first.
async fn would_be_created(
    state: &KubeState,
    o: &Value,
    done: &[Applied],
    batch: &[Value],
) -> Result<Option<Applied>, KubeError> {
    let api_version = field(o, &["apiVersion"]).unwrap_or_default();
    let kind = field(o, &["kind"]).unwrap_or_default();
    let name = field(o, &["metadata", "name"]).unwrap_or_default();
    let ns = field(o, &["metadata", "namespace"]).unwrap_or_default();
    let created = |k: &str, n: &str| done.iter().any(|r| r.kind == k && r.name == n && r.result == "created");
    let group = api_version.split_once('/').map(|(g, _)| g).unwrap_or("");
    let new_kind = state.kind(api_version, kind).await?.is_none()
        && batch.iter().any(|c| {
            field(c, &["kind"]) == Some("CustomResourceDefinition")
                && field(c, &["spec", "group"]) == Some(group)
                && field(c, &["spec", "names", "kind"]) == Some(kind)
        });
    if new_kind || (!ns.is_empty() && created("Namespace", ns)) {
        return Ok(Some(Applied {
            api_version: api_version.into(),
            kind: kind.into(),
            name: name.into(),
            namespace: ns.into(),
            result: "created".into(),
        }));
    }
    Ok(None)
}

/// Strip what a no-op write changes anyway, to tell a real change from a no-op.
fn comparable(o: &DynamicObject) -> Value {
    let mut v = serde_json::to_value(o).unwrap_or(Value::Null);
    if let Some(m) = v.get_mut("metadata").and_then(Value::as_object_mut) {
        m.remove("managedFields");
        m.remove("resourceVersion");
    }
    v
}

/// How an object reaches the server.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Method {
    ServerSideApply,
    /// Create or replace, for servers that cannot server-side apply the object.
    Put,
}

/// One object and everything needed to write it.
struct Target<'a> {
    state: &'a KubeState,
    api: &'a kube::Api<DynamicObject>,
    name: &'a str,
    body: &'a Value,
    before: &'a Option<DynamicObject>,
    what: &'a str,
    opts: &'a ApplyOpts,
}

impl Target<'_> {
    async fn write(&self, method: Method, dry_run: bool) -> Result<DynamicObject, KubeError> {
        let (state, what) = (self.state, self.what);
        match method {
            Method::ServerSideApply => {
                let mut pp = PatchParams::apply(&self.opts.field_manager);
                pp.force = self.opts.force;
                pp.dry_run = dry_run;
                self.api
                    .patch(self.name, &pp, &Patch::Apply(self.body))
                    .await
                    .map_err(|e| state.explain(e, "apply", what))
            }
            Method::Put => {
                let mut obj: DynamicObject = serde_json::from_value(self.body.clone())
                    .map_err(|e| KubeError::new(format!("cannot read {what}: {e}"), None))?;
                let pp = PostParams { dry_run, field_manager: Some(self.opts.field_manager.clone()) };
                match self.before {
                    Some(existing) => {
                        obj.metadata.resource_version = existing.metadata.resource_version.clone();
                        self.api.replace(self.name, &pp, &obj).await.map_err(|e| state.explain(e, "replace", what))
                    }
                    None => self.api.create(&pp, &obj).await.map_err(|e| state.explain(e, "create", what)),
                }
            }
        }
    }
}

async fn apply_one(
    state: &KubeState,
    o: &Value,
    default_ns: &str,
    opts: &ApplyOpts,
    fell_back: &mut Vec<String>,
) -> Result<Applied, KubeError> {
    let api_version = field(o, &["apiVersion"]).unwrap_or_default().to_string();
    let kind_name = field(o, &["kind"]).unwrap_or_default().to_string();
    let name = field(o, &["metadata", "name"]).unwrap_or_default().to_string();
    let kind = state.require_kind(&api_version, &kind_name).await?;
    let namespace = if kind.namespaced {
        field(o, &["metadata", "namespace"]).unwrap_or(default_ns).to_string()
    } else {
        String::new()
    };
    let what = describe(&kind_name, &name, &namespace);
    let api = state.api(&kind, Some(&namespace)).await?;
    let before = api.get_opt(&name).await.map_err(|e| state.explain(e, "get", &what))?;
    let mut body = o.clone();
    if kind.namespaced {
        body["metadata"]["namespace"] = Value::String(namespace.clone());
    }
    let target = Target { state, api: &api, name: &name, body: &body, before: &before, what: &what, opts };
    // Preview first: some servers move resourceVersion on every apply, even a no-op, and an
    // unchanged object must stay untouched.
    let mut method = Method::ServerSideApply;
    let preview = match target.write(method, true).await {
        Ok(p) => p,
        Err(e) if is_schema_rejection(&e) => {
            method = Method::Put;
            target.write(method, true).await?
        }
        Err(e) => return Err(e),
    };
    let result = match &before {
        Some(b) if comparable(b) == comparable(&preview) => "unchanged",
        Some(_) => "configured",
        None => "created",
    };
    if result != "unchanged" {
        if method == Method::Put {
            fell_back.push(what.clone());
        }
        if !opts.dry_run {
            target.write(method, false).await?;
        }
    }
    Ok(Applied { api_version, kind: kind_name, name, namespace, result: result.into() })
}

/// Wait until each CRD reports Established=True, so its custom resources can be applied.
async fn wait_established(state: &KubeState, names: &[String]) -> Result<(), KubeError> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    for name in names {
        loop {
            let crd = state.get_opt("apiextensions.k8s.io/v1", "CustomResourceDefinition", name, "").await?;
            let established = crd
                .as_ref()
                .and_then(|c| c.pointer("/status/conditions"))
                .and_then(Value::as_array)
                .is_some_and(|cs| cs.iter().any(|c| c["type"] == "Established" && c["status"] == "True"));
            if established {
                break;
            }
            if tokio::time::Instant::now() > deadline {
                return Err(KubeError::new(
                    format!("CustomResourceDefinition {name} was not Established within 60 s"),
                    Some("check `kubectl get crd NAME -o yaml` for its conditions"),
                ));
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    Ok(())
}

impl KubeState {
    /// The server's version as `v1.20.2`.
    pub async fn server_version(&self) -> Result<String, KubeError> {
        let client = self.client().await?;
        let info = client.apiserver_version().await.map_err(|e| self.explain(e, "get", "the server version"))?;
        Ok(info.git_version)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn namespaces_and_crds_sort_first() {
        let mut kinds =
            vec!["Deployment", "CustomResourceDefinition", "ServiceAccount", "Namespace", "ClusterRoleBinding"];
        kinds.sort_by_key(|k| rank(k));
        assert_eq!(
            kinds,
            ["Namespace", "CustomResourceDefinition", "ServiceAccount", "ClusterRoleBinding", "Deployment"]
        );
    }
}
