//! Kinds wego can address without asking the server. Discovery costs one request per
//! group-version on every run (kubectl caches it on disk for hours); these need none:
//! Kubernetes' built-in GA kinds, whose plural and scope are fixed by the API, and the kinds
//! of CustomResourceDefinitions wego has just read, whose spec says the same as discovery would.

use kube::core::{ApiResource, GroupVersionKind};
use serde_json::Value;

use super::Kind;

/// `(apiVersion, kind, plural, namespaced)` of built-in kinds every supported server serves.
const BUILTIN: &[(&str, &str, &str, bool)] = &[
    ("v1", "Namespace", "namespaces", false),
    ("v1", "ConfigMap", "configmaps", true),
    ("v1", "Secret", "secrets", true),
    ("v1", "Service", "services", true),
    ("v1", "ServiceAccount", "serviceaccounts", true),
    ("v1", "Event", "events", true),
    ("v1", "Pod", "pods", true),
    ("v1", "ResourceQuota", "resourcequotas", true),
    ("v1", "LimitRange", "limitranges", true),
    ("apps/v1", "Deployment", "deployments", true),
    ("apps/v1", "StatefulSet", "statefulsets", true),
    ("apps/v1", "DaemonSet", "daemonsets", true),
    ("apps/v1", "ReplicaSet", "replicasets", true),
    ("rbac.authorization.k8s.io/v1", "ClusterRole", "clusterroles", false),
    ("rbac.authorization.k8s.io/v1", "ClusterRoleBinding", "clusterrolebindings", false),
    ("rbac.authorization.k8s.io/v1", "Role", "roles", true),
    ("rbac.authorization.k8s.io/v1", "RoleBinding", "rolebindings", true),
    ("networking.k8s.io/v1", "NetworkPolicy", "networkpolicies", true),
    ("apiextensions.k8s.io/v1", "CustomResourceDefinition", "customresourcedefinitions", false),
];

fn gvk(api_version: &str, kind: &str) -> GroupVersionKind {
    let (group, version) = api_version.split_once('/').unwrap_or(("", api_version));
    GroupVersionKind::gvk(group, version, kind)
}

/// A built-in kind, or `None` for anything discovery must answer.
pub fn builtin(api_version: &str, kind: &str) -> Option<Kind> {
    BUILTIN.iter().find(|(av, k, _, _)| *av == api_version && *k == kind).map(|(av, k, plural, namespaced)| Kind {
        resource: ApiResource::from_gvk_with_plural(&gvk(av, k), plural),
        namespaced: *namespaced,
    })
}

/// Whether `api_version`/`kind` names a CustomResourceDefinition object.
pub fn is_crd(api_version: &str, kind: &str) -> bool {
    api_version.starts_with("apiextensions.k8s.io/") && kind == "CustomResourceDefinition"
}

/// The fields of a CRD that [`served_by`] reads.
pub const SERVED_BY: [&str; 7] = [
    "status.conditions",
    "spec.group",
    "spec.names.kind",
    "spec.names.plural",
    "spec.scope",
    "spec.versions.name",
    "spec.versions.served",
];

/// The kinds an Established CRD serves, one per served version, keyed as discovery is.
pub fn served_by(crd: &Value) -> Vec<((String, String), Kind)> {
    let established = crd
        .pointer("/status/conditions")
        .and_then(Value::as_array)
        .is_some_and(|cs| cs.iter().any(|c| c["type"] == "Established" && c["status"] == "True"));
    let spec = &crd["spec"];
    let (Some(group), Some(kind), Some(plural)) = (
        spec["group"].as_str(),
        spec.pointer("/names/kind").and_then(Value::as_str),
        spec.pointer("/names/plural").and_then(Value::as_str),
    ) else {
        return vec![];
    };
    if !established {
        return vec![];
    }
    let namespaced = spec["scope"] == "Namespaced";
    spec["versions"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|v| v["served"] == true)
        .filter_map(|v| v["name"].as_str())
        .map(|version| {
            let api_version = format!("{group}/{version}");
            let resource = ApiResource::from_gvk_with_plural(&GroupVersionKind::gvk(group, version, kind), plural);
            ((api_version, kind.to_string()), Kind { resource, namespaced })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_kinds_need_no_discovery() {
        let d = builtin("apps/v1", "Deployment").unwrap();
        assert_eq!(
            (d.resource.group.as_str(), d.resource.plural.as_str(), d.namespaced),
            ("apps", "deployments", true)
        );
        let e = builtin("v1", "Event").unwrap();
        assert_eq!((e.resource.group.as_str(), e.resource.api_version.as_str()), ("", "v1"));
        assert!(builtin("v1beta1", "Event").is_none());
        assert!(builtin("source.toolkit.fluxcd.io/v1", "GitRepository").is_none());
    }

    #[test]
    fn an_established_crd_gives_its_served_versions() {
        let crd = serde_json::json!({
            "spec": {"group": "wego.weave.works", "scope": "Namespaced", "names": {"kind": "App", "plural": "apps"},
                     "versions": [{"name": "v1alpha1", "served": true}, {"name": "v1alpha0", "served": false}]},
            "status": {"conditions": [{"type": "Established", "status": "True"}]},
        });
        let kinds = served_by(&crd);
        assert_eq!(kinds.len(), 1);
        assert_eq!(kinds[0].0, ("wego.weave.works/v1alpha1".to_string(), "App".to_string()));
        assert_eq!(kinds[0].1.resource.plural, "apps");
        let mut pending = crd.clone();
        pending["status"]["conditions"][0]["status"] = "False".into();
        assert!(served_by(&pending).is_empty(), "not Established: the server may not serve it yet");
    }
}
