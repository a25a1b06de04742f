//! Kubernetes mechanisms: a lazily built client for the chosen kubeconfig/context, kinds
//! resolved without discovery where the API fixes them (built-ins, CRDs just read) and through
//! discovery otherwise (any CRD, cached per group-version), paged lists, and errors that say
//! what to do. Objects travel as JSON so scripts see plain maps.

pub mod apply;
pub mod columns;
mod connect;
pub mod keep;
pub mod kinds;
pub mod list;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Mutex;

use kube::api::{Api, DynamicObject};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::core::{ApiResource, GroupVersionKind};
use kube::discovery::{ApiCapabilities, Scope};
use kube::{Client, Config};
use serde_json::Value;

/// Where the client comes from, as the user chose it.
#[derive(Debug, Clone, Default)]
pub struct Target {
    pub kubeconfig: Option<PathBuf>,
    pub context: Option<String>,
}

/// The current context as the kubeconfig names it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ContextInfo {
    pub name: String,
    pub cluster: String,
    pub user: String,
    pub namespace: String,
    pub server: String,
    pub kubeconfig: String,
}

/// A kind the server knows: how to address it and whether it is namespaced.
#[derive(Clone, Debug)]
pub struct Kind {
    pub resource: ApiResource,
    pub namespaced: bool,
}

/// A failure with the cause and the fix, ready to become a script error.
#[derive(Debug, Clone)]
pub struct KubeError {
    pub message: String,
    pub help: Option<String>,
    pub code: Option<u16>,
}

impl KubeError {
    fn new(message: impl Into<String>, help: Option<&str>) -> Self {
        KubeError { message: message.into(), help: help.map(str::to_string), code: None }
    }
    pub fn is_not_found(&self) -> bool {
        self.code == Some(404)
    }
}

const CONNECT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);
const IO_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

pub const RUNTIME_HELP: &str = "is the GitOps runtime installed? run `wego install | kubectl apply -f -`";

/// Per-command Kubernetes state: one client, one discovery cache.
#[derive(Default)]
pub struct KubeState {
    target: Target,
    client: Mutex<Option<Client>>,
    kinds: Mutex<HashMap<(String, String), Option<Kind>>>,
}

impl KubeState {
    pub fn new(target: Target) -> Self {
        KubeState { target, ..Default::default() }
    }

    fn kubeconfig(&self) -> Result<(Kubeconfig, String), KubeError> {
        let (kc, source) = match &self.target.kubeconfig {
            Some(p) => (Kubeconfig::read_from(p), p.display().to_string()),
            None => (Kubeconfig::read(), std::env::var("KUBECONFIG").unwrap_or_else(|_| "~/.kube/config".into())),
        };
        let kc = kc.map_err(|e| {
            KubeError::new(
                format!("cannot read kubeconfig {source}: {e}"),
                Some("point --kubeconfig or KUBECONFIG at a valid kubeconfig"),
            )
        })?;
        Ok((kc, source))
    }

    /// The context in effect (flag, else the kubeconfig's current-context).
    pub fn context(&self) -> Result<ContextInfo, KubeError> {
        let (kc, source) = self.kubeconfig()?;
        let name = self.target.context.clone().or(kc.current_context.clone()).ok_or_else(|| {
            KubeError::new(format!("kubeconfig {source} has no current context"), Some("pass --context NAME"))
        })?;
        let ctx = kc.contexts.iter().find(|c| c.name == name).and_then(|c| c.context.clone()).ok_or_else(|| {
            KubeError::new(
                format!("context `{name}` is not in kubeconfig {source}"),
                Some("`kubectl config get-contexts` lists the contexts"),
            )
        })?;
        let server = kc
            .clusters
            .iter()
            .find(|c| c.name == ctx.cluster)
            .and_then(|c| c.cluster.as_ref())
            .and_then(|c| c.server.clone())
            .unwrap_or_default();
        Ok(ContextInfo {
            name,
            cluster: ctx.cluster,
            user: ctx.user.unwrap_or_default(),
            namespace: ctx.namespace.unwrap_or_else(|| "default".into()),
            server,
            kubeconfig: source,
        })
    }

    /// The client, built on first use (must be called on a runtime thread via block_on).
    pub async fn client(&self) -> Result<Client, KubeError> {
        if let Some(c) = self.client.lock().expect("kube client").clone() {
            return Ok(c);
        }
        let (kc, source) = self.kubeconfig()?;
        let opts = KubeConfigOptions { context: self.target.context.clone(), ..Default::default() };
        let mut config = Config::from_custom_kubeconfig(kc, &opts).await.map_err(|e| {
            KubeError::new(format!("cannot use kubeconfig {source}: {e}"), Some("check --kubeconfig and --context"))
        })?;
        // Name ourselves in the server's audit log, and fail fast on an unreachable server.
        if let Ok(agent) = http::HeaderValue::from_str(&format!("wego/{}", crate::build_info::VERSION)) {
            config.headers.push((http::header::USER_AGENT, agent));
        }
        // A server that accepts and then never answers (or stalls mid-answer) must not hang
        // wego: bound the connection (TLS included) and every read and write. The read clock
        // restarts with each request, not when a pooled connection went idle. No wego call
        // watches or streams, so no legitimate answer takes this long to start arriving.
        config.connect_timeout = Some(CONNECT_TIMEOUT);
        config.read_timeout = Some(IO_TIMEOUT);
        config.write_timeout = Some(IO_TIMEOUT);
        config.reset_reader_on_write = true;
        let client = connect::client(config)
            .map_err(|e| KubeError::new(format!("cannot build a Kubernetes client: {e}"), None))?;
        *self.client.lock().expect("kube client") = Some(client.clone());
        Ok(client)
    }

    /// Resolve `api_version`/`kind` through discovery; `None` when the server does not serve it.
    pub async fn kind(&self, api_version: &str, kind: &str) -> Result<Option<Kind>, KubeError> {
        if let Some(k) = kinds::builtin(api_version, kind) {
            return Ok(Some(k));
        }
        let key = (api_version.to_string(), kind.to_string());
        if let Some(k) = self.kinds.lock().expect("kinds").get(&key) {
            return Ok(k.clone());
        }
        let client = self.client().await?;
        let (group, version) = match api_version.split_once('/') {
            Some((g, v)) => (g, v),
            None => ("", api_version),
        };
        let gvk = GroupVersionKind::gvk(group, version, kind);
        let found = match kube::discovery::pinned_kind(&client, &gvk).await {
            Ok((resource, caps)) => Some(Kind { resource, namespaced: is_namespaced(&caps) }),
            Err(e) => {
                let err = self.explain(e, "discover", &format!("{kind} ({api_version})"));
                if err.code == Some(404) || err.message.contains("not found") {
                    None
                } else {
                    return Err(err);
                }
            }
        };
        self.kinds.lock().expect("kinds").insert(key, found.clone());
        Ok(found)
    }

    /// Remember kinds learnt from CRDs, so using them needs no discovery request.
    fn learn(&self, learned: Vec<((String, String), Kind)>) {
        if learned.is_empty() {
            return;
        }
        let mut cache = self.kinds.lock().expect("kinds");
        for (key, k) in learned {
            cache.insert(key, Some(k));
        }
    }

    /// Forget what discovery said (after CRDs were created).
    pub fn forget_kinds(&self) {
        self.kinds.lock().expect("kinds").clear();
    }

    /// Like [`KubeState::kind`] but an unknown kind is an error naming the fix.
    pub async fn require_kind(&self, api_version: &str, kind: &str) -> Result<Kind, KubeError> {
        self.kind(api_version, kind).await?.ok_or_else(|| KubeError {
            message: format!("the server does not know kind `{kind}` ({api_version})"),
            help: Some(RUNTIME_HELP.into()),
            code: Some(404),
        })
    }

    /// An `Api` for `kind` in `namespace` (ignored for cluster-scoped kinds; empty = all).
    pub async fn api(&self, k: &Kind, namespace: Option<&str>) -> Result<Api<DynamicObject>, KubeError> {
        let client = self.client().await?;
        Ok(match (k.namespaced, namespace.filter(|n| !n.is_empty())) {
            (true, Some(ns)) => Api::namespaced_with(client, ns, &k.resource),
            _ => Api::all_with(client, &k.resource),
        })
    }

    pub async fn get_opt(
        &self,
        api_version: &str,
        kind: &str,
        name: &str,
        ns: &str,
    ) -> Result<Option<Value>, KubeError> {
        let k = self.require_kind(api_version, kind).await?;
        let api = self.api(&k, Some(ns)).await?;
        let obj = api.get_opt(name).await.map_err(|e| self.explain(e, "get", &describe(kind, name, ns)))?;
        let obj = obj.map(|o| to_json(&o, api_version, kind));
        if let Some(o) = obj.as_ref().filter(|_| kinds::is_crd(api_version, kind)) {
            self.learn(kinds::served_by(o));
        }
        Ok(obj)
    }

    /// One list, paged as [`list::ListSpec`] says.
    pub async fn list(&self, spec: list::ListSpec) -> Result<Vec<Value>, KubeError> {
        let mut lists = self.list_many(std::slice::from_ref(&spec), |v| v).await?;
        Ok(lists.pop().unwrap_or_default())
    }

    /// Turn a kube error into cause + fix, naming the kubeconfig/context for connection errors.
    pub fn explain(&self, e: kube::Error, verb: &str, what: &str) -> KubeError {
        match e {
            kube::Error::Api(s) => {
                let help = match s.code {
                    401 => Some("the credentials in the kubeconfig were rejected; log in again".to_string()),
                    403 => Some(format!("ask for RBAC permission to {verb} {what}")),
                    404 => None,
                    409 => Some("another client changed it; rerunning is safe".to_string()),
                    _ => None,
                };
                let message = match s.code {
                    403 => format!("forbidden: cannot {verb} {what}: {}", s.message),
                    _ => format!("cannot {verb} {what}: {}", s.message),
                };
                KubeError { message, help, code: Some(s.code) }
            }
            other => {
                let ctx = self.context().ok();
                let (server, context, kubeconfig) = ctx
                    .map(|c| (c.server, c.name, c.kubeconfig))
                    .unwrap_or_else(|| ("?".into(), "?".into(), "?".into()));
                let mut cause = root_cause(&other);
                if cause.contains("timed out") || cause.contains("deadline has elapsed") {
                    cause = format!(
                        "timed out (wego waits {}s to connect and {}s for each answer)",
                        CONNECT_TIMEOUT.as_secs(),
                        IO_TIMEOUT.as_secs()
                    );
                }
                KubeError {
                    message: format!(
                        "cannot reach the Kubernetes API at {server} (context `{context}`, kubeconfig {kubeconfig}): {cause}"
                    ),
                    help: Some("check that the cluster is running and that --kubeconfig/--context point at it".into()),
                    code: None,
                }
            }
        }
    }
}

fn is_namespaced(caps: &ApiCapabilities) -> bool {
    matches!(caps.scope, Scope::Namespaced)
}

fn root_cause(e: &dyn std::error::Error) -> String {
    let mut cur: &dyn std::error::Error = e;
    while let Some(next) = cur.source() {
        cur = next;
    }
    cur.to_string()
}

/// `kind/name` or `kind ns/name` for messages.
pub fn describe(kind: &str, name: &str, ns: &str) -> String {
    if ns.is_empty() {
        format!("{kind} {name}")
    } else {
        format!("{kind} {ns}/{name}")
    }
}

/// A dynamic object as JSON, with apiVersion/kind filled in (lists leave them out).
pub fn to_json(o: &DynamicObject, api_version: &str, kind: &str) -> Value {
    let mut v = serde_json::to_value(o).unwrap_or(Value::Null);
    if let Some(m) = v.as_object_mut() {
        m.entry("apiVersion").or_insert_with(|| Value::String(api_version.into()));
        m.entry("kind").or_insert_with(|| Value::String(kind.into()));
        if m.get("apiVersion").is_some_and(Value::is_null) {
            m.insert("apiVersion".into(), Value::String(api_version.into()));
        }
        if m.get("kind").is_some_and(Value::is_null) {
            m.insert("kind".into(), Value::String(kind.into()));
        }
    }
    v
}
