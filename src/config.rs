//! The wego config: typed, versioned, layered.
//!
//! Precedence, lowest first: the built-in layer (`defaults/config.yaml`) < user file (`$XDG_CONFIG_HOME/wego/config.yaml`)
//! < repo file (`.wego/config.yaml` in the wego repo) < environment < flags. Every leaf value
//! remembers where it came from so `wego config view` can say why a value is what it is.

/// The built-in layer's config: the lowest layer of the config (this module), as the
/// user's `$XDG_CONFIG_HOME/wego/config.yaml` and a repo's `.wego/config.yaml` are of theirs.
pub const BUILTIN_CONFIG: &str = include_str!("../defaults/config.yaml");
/// How the built-in config is named in diagnostics.
pub const BUILTIN_CONFIG_PATH: &str = "defaults/config.yaml";

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::Value;

pub const API_VERSION: &str = "wego.weave.works/v1alpha1";
pub const KIND: &str = "Config";

/// Errors loading or merging configuration.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// A config file could not be read.
    #[error("cannot read {path}: {source}")]
    Read { path: String, source: std::io::Error },
    /// A config file is not valid YAML or does not match the schema.
    #[error("{path}: {message}")]
    Invalid { path: String, message: String },
    /// An environment variable or flag holds a value of the wrong type.
    #[error("{origin}: {message}")]
    Override { origin: String, message: String },
}

impl ConfigError {
    /// The fix to suggest to the user.
    pub fn help(&self) -> String {
        match self {
            ConfigError::Read { .. } => "check the file's permissions".into(),
            ConfigError::Invalid { .. } => {
                "fix the value (see `wego config view` for every key, its type and default)".into()
            }
            ConfigError::Override { .. } => "fix or unset it".into(),
        }
    }
}

// Every field takes `#[serde(default)]` (its type's empty value) rather than the struct's
// default: a user or repo file sets only some keys, and parsing one only checks names and types.
// The real defaults are the built-in layer, `defaults/config.yaml`; a container-level default
// would have to come from that file while parsing it.

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Config {
    #[serde(default = "api_version")]
    pub api_version: String,
    #[serde(default = "kind")]
    pub kind: String,
    /// error, warn, info, debug or trace.
    #[serde(default)]
    pub log_level: String,
    /// Send the anonymous usage ping and check for updates.
    #[serde(default)]
    pub telemetry: bool,
    #[serde(default)]
    pub checkpoint: Checkpoint,
    /// Experimental features to enable.
    #[serde(default)]
    pub features: Vec<String>,
    #[serde(default)]
    pub flux: Flux,
    #[serde(default)]
    pub git: Git,
    #[serde(default)]
    pub kube: Kube,
    #[serde(default)]
    pub pull_request: PullRequest,
    #[serde(default)]
    pub layout: Layout,
    #[serde(default)]
    pub providers: Vec<ProviderHost>,
    #[serde(default)]
    pub limits: Limits,
    /// URL of the wego repo (the repo `wego add` writes to); empty: created on first add.
    #[serde(default)]
    pub wego_repo: String,
}

fn api_version() -> String {
    API_VERSION.into()
}

fn kind() -> String {
    KIND.into()
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Checkpoint {
    #[serde(default)]
    pub url: String,
    #[serde(default)]
    pub timeout_ms: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Flux {
    #[serde(default)]
    pub version: String,
    #[serde(default)]
    pub namespace: String,
    #[serde(default)]
    pub components: Vec<String>,
    #[serde(default)]
    pub components_extra: Vec<String>,
    /// Base URL of Flux release downloads (a mirror), `<base>/v<version>/install.yaml`.
    #[serde(default)]
    pub manifests_base_url: String,
    /// A local file or URL of the runtime manifest; overrides the download.
    #[serde(default)]
    pub manifests: String,
    #[serde(default)]
    pub registry: String,
    #[serde(default)]
    pub network_policy: bool,
    #[serde(default)]
    pub watch_all_namespaces: bool,
    #[serde(default)]
    pub log_level: String,
    /// Extra arguments passed to every Flux controller.
    #[serde(default)]
    pub install_args: Vec<String>,
    #[serde(default)]
    pub download_timeout_seconds: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Git {
    /// Commit straight to the default branch instead of a branch + pull request.
    #[serde(default)]
    pub commit_to_main: bool,
    /// The branch a new, empty repository starts on (its remote has no default branch yet).
    #[serde(default)]
    pub default_branch: String,
    /// Branch name pattern; `{app}` and `{cluster}` are replaced.
    #[serde(default)]
    pub branch_pattern: String,
    #[serde(default)]
    pub author_name: String,
    #[serde(default)]
    pub author_email: String,
    /// Template rendering the commit message.
    #[serde(default)]
    pub commit_message_template: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Kube {
    /// The server-side apply field manager wego applies as (`kube::apply`'s default).
    #[serde(default)]
    pub field_manager: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PullRequest {
    #[serde(default)]
    pub title_template: String,
    #[serde(default)]
    pub body_template: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Layout {
    /// Directory of App resources in the wego repo.
    #[serde(default)]
    pub apps: String,
    /// Directory of per-cluster Flux resources in the wego repo.
    #[serde(default)]
    pub targets: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct ProviderHost {
    /// Git host name as it appears in repo URLs, e.g. `github.example.com`.
    pub host: String,
    /// `github` or `gitlab`.
    #[serde(rename = "type")]
    pub kind: String,
    /// API base URL, e.g. `https://github.example.com/api/v3`.
    pub api_url: String,
    /// Allow a plain `http://` `apiUrl` for this host. Off by default: the API token would cross
    /// the network in clear text, so wego refuses such a URL unless the user opts in here.
    pub allow_http: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Limits {
    #[serde(default)]
    pub max_operations: u64,
    #[serde(default)]
    pub max_call_depth: usize,
    #[serde(default)]
    pub max_expr_depth: usize,
    #[serde(default)]
    pub max_string_size: usize,
    #[serde(default)]
    pub max_array_size: usize,
    #[serde(default)]
    pub max_map_size: usize,
}

/// The built-in layer, as JSON: `defaults/config.yaml` plus `flux.version`.
///
/// `flux.version` is the one default not in the file: `build_info::FLUX_VERSION` is the version
/// this build pins and is tested against, and the only place that number is written. It is put
/// into the built-in layer here, so it shows as "built-in" and is overridden like any other key.
pub fn builtin_layer() -> &'static Value {
    static LAYER: std::sync::OnceLock<Value> = std::sync::OnceLock::new();
    LAYER.get_or_init(|| {
        // Compiled in and checked by the unit tests, so a failure here is a build defect.
        let mut v = parse(BUILTIN_CONFIG).unwrap_or_else(|e| panic!("built-in {}: {e}", BUILTIN_CONFIG_PATH));
        set_key(&mut v, "flux.version", Value::String(crate::build_info::FLUX_VERSION.into()));
        v
    })
}

/// Each section's `Default` is its part of the built-in layer.
macro_rules! builtin_default {
    ($($ty:ty => $key:expr),* $(,)?) => {$(
        impl Default for $ty {
            fn default() -> Self {
                let v = if $key.is_empty() { Some(builtin_layer()) } else { get_key(builtin_layer(), $key) };
                serde_json::from_value(v.cloned().unwrap_or(Value::Null)).expect("the built-in config matches the schema")
            }
        }
    )*};
}

builtin_default! {
    Config => "",
    Checkpoint => "checkpoint",
    Flux => "flux",
    Git => "git",
    Kube => "kube",
    PullRequest => "pullRequest",
    Layout => "layout",
    Limits => "limits",
}

/// The smallest value each limit takes, whatever the config says: `0` must never mean
/// "unlimited" (Rhai reads it so), and tiny values would only break the built-in commands.
pub const LIMIT_MINIMUMS: Limits = Limits {
    max_operations: 100_000,
    max_call_depth: 16,
    max_expr_depth: 32,
    max_string_size: 64 << 10,
    max_array_size: 1_024,
    max_map_size: 1_024,
};

impl Limits {
    /// The limits in force: each value raised to its minimum ([`LIMIT_MINIMUMS`]).
    pub fn clamped(&self) -> Limits {
        let m = &LIMIT_MINIMUMS;
        Limits {
            max_operations: self.max_operations.max(m.max_operations),
            max_call_depth: self.max_call_depth.max(m.max_call_depth),
            max_expr_depth: self.max_expr_depth.max(m.max_expr_depth),
            max_string_size: self.max_string_size.max(m.max_string_size),
            max_array_size: self.max_array_size.max(m.max_array_size),
            max_map_size: self.max_map_size.max(m.max_map_size),
        }
    }
}

/// Where a value came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum Origin {
    /// The built-in layer, `defaults/config.yaml`.
    Builtin,
    User(String),
    Repo(String),
    Env(String),
    Flag(String),
}

impl std::fmt::Display for Origin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Origin::Builtin => f.write_str("built-in"),
            Origin::User(p) => write!(f, "user file {p}"),
            Origin::Repo(p) => write!(f, "repo file {p}"),
            Origin::Env(v) => write!(f, "env {v}"),
            Origin::Flag(v) => write!(f, "flag {v}"),
        }
    }
}

/// The effective config with the origin of every leaf (dotted key).
#[derive(Debug, Clone)]
pub struct Effective {
    pub config: Config,
    pub origins: BTreeMap<String, Origin>,
}

/// Environment variables that set config keys, with the key they set.
pub const ENV_KEYS: &[(&str, &str)] = &[
    ("WEGO_LOG_LEVEL", "logLevel"),
    ("WEGO_FEATURES", "features"),
    ("WEGO_FLUX_VERSION", "flux.version"),
    ("WEGO_FLUX_MANIFESTS", "flux.manifests"),
    ("WEGO_FLUX_MANIFESTS_BASE_URL", "flux.manifestsBaseUrl"),
    ("WEGO_CHECKPOINT_URL", "checkpoint.url"),
    ("WEGO_TELEMETRY", "telemetry"),
    ("WEGO_REPO", "wegoRepo"),
];

/// Keys only the user's own config, flags or environment may set: where tokens and telemetry
/// are sent, where the runtime's code comes from, how much a script may do, and whose name
/// wego's cluster writes carry (a repo must not make wego take over another manager's fields). A repo's
/// `.wego/config.yaml` is written by whoever can push to the repo.
pub const USER_ONLY_KEYS: &[&str] =
    &["providers", "checkpoint", "limits", "flux.registry", "flux.manifests", "flux.manifestsBaseUrl", "kube"];

/// Remove [`USER_ONLY_KEYS`] from a repo file's keys, warning once per key and file.
fn strip_user_only(layer: &mut Value, path: &Path) {
    static WARNED: std::sync::Mutex<Vec<(String, String)>> = std::sync::Mutex::new(Vec::new());
    for key in USER_ONLY_KEYS {
        let (parent, leaf) = match key.rsplit_once('.') {
            Some((p, l)) => (get_key_mut(layer, p), l),
            None => (Some(&mut *layer), *key),
        };
        let Some(Value::Object(m)) = parent else { continue };
        if m.remove(leaf).is_none() {
            continue;
        }
        let id = (path.display().to_string(), (*key).to_string());
        let mut warned = WARNED.lock().unwrap_or_else(|e| e.into_inner());
        if !warned.contains(&id) {
            eprintln!(
                "wego: warning: ignoring `{key}` in {}: only your own config ($XDG_CONFIG_HOME/wego/config.yaml), flags or environment may set it",
                path.display()
            );
            warned.push(id);
        }
    }
}

fn get_key_mut<'a>(v: &'a mut Value, key: &str) -> Option<&'a mut Value> {
    key.split('.').try_fold(v, |v, k| v.get_mut(k))
}

/// Builds the effective config from its layers.
#[derive(Debug, Default, Clone)]
pub struct Loader {
    pub user_file: Option<PathBuf>,
    pub repo_file: Option<PathBuf>,
    /// Environment as (name, value); passed in so tests need not touch the process env.
    pub env: Vec<(String, String)>,
    /// Flag overrides as (flag, dotted key, value).
    pub flags: Vec<(String, String, Value)>,
}

/// A config file searched, as `wego config view` and `wego config path` report it.
#[derive(Debug, Clone, Serialize)]
pub struct FileLayer {
    /// `user` or `repo`.
    pub layer: &'static str,
    pub path: String,
    #[serde(flatten)]
    pub state: FileState,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase", tag = "state", content = "error")]
pub enum FileState {
    /// Not there: nothing to merge.
    Missing,
    Loaded,
    /// Left out of the merge; the error says why.
    Invalid(String),
}

impl Loader {
    pub fn load(&self) -> Result<Effective, ConfigError> {
        self.merge_layers(&mut |e| Err(e)).map(|(e, _)| e)
    }

    /// Like [`Loader::load`], but an invalid file or environment variable is left out of the
    /// merge and reported instead of failing everything: `wego config view` must work to show
    /// what is wrong. Returns the effective config, the files searched and the errors.
    pub fn load_reporting(&self) -> Result<(Effective, Vec<FileLayer>, Vec<ConfigError>), ConfigError> {
        let mut errors = Vec::new();
        let (effective, files) = self.merge_layers(&mut |e| {
            errors.push(e);
            Ok(())
        })?;
        Ok((effective, files, errors))
    }

    /// Merge every layer; an error in a file or variable goes to `on_error`, which either stops
    /// the load (returns it) or lets the load go on without that layer.
    fn merge_layers(
        &self,
        on_error: &mut dyn FnMut(ConfigError) -> Result<(), ConfigError>,
    ) -> Result<(Effective, Vec<FileLayer>), ConfigError> {
        let mut merged = builtin_layer().clone();
        let mut origins = BTreeMap::new();
        leaves(&merged, "", &mut |k, _| {
            origins.insert(k.to_string(), Origin::Builtin);
        });
        let mut files = Vec::new();

        for (file, layer, origin) in [
            (&self.user_file, "user", Origin::User as fn(String) -> Origin),
            (&self.repo_file, "repo", Origin::Repo as fn(String) -> Origin),
        ] {
            let Some(path) = file else { continue };
            let mut report = FileLayer { layer, path: path.display().to_string(), state: FileState::Missing };
            if !path.is_file() {
                files.push(report);
                continue;
            }
            let mut layer = match read_file(path) {
                Ok(l) => l,
                Err(e) => {
                    report.state = FileState::Invalid(e.to_string());
                    files.push(report);
                    on_error(e)?;
                    continue;
                }
            };
            report.state = FileState::Loaded;
            files.push(report);
            let o = origin(path.display().to_string());
            if matches!(o, Origin::Repo(_)) {
                strip_user_only(&mut layer, path);
            }
            merge(&mut merged, &layer, "", &mut |k| {
                origins.insert(k.to_string(), o.clone());
            });
        }

        for (name, key) in ENV_KEYS {
            let Some((_, raw)) = self.env.iter().find(|(n, _)| n == name) else {
                continue;
            };
            match env_value(name, key, raw) {
                Ok(value) => {
                    set_key(&mut merged, key, value);
                    origins.insert((*key).to_string(), Origin::Env((*name).to_string()));
                }
                Err(e) => on_error(e)?,
            }
        }
        // CHECKPOINT_DISABLE is the convention shared by Weaveworks and HashiCorp tools.
        if self.env.iter().any(|(n, v)| n == "CHECKPOINT_DISABLE" && !v.is_empty() && v != "0") {
            set_key(&mut merged, "telemetry", Value::Bool(false));
            origins.insert("telemetry".into(), Origin::Env("CHECKPOINT_DISABLE".into()));
        }
        for (flag, key, value) in &self.flags {
            set_key(&mut merged, key, value.clone());
            origins.insert(key.clone(), Origin::Flag(flag.clone()));
        }

        let config: Config = serde_json::from_value(merged)
            .map_err(|e| ConfigError::Override { origin: "environment or flags".into(), message: e.to_string() })?;
        Ok((Effective { config, origins }, files))
    }
}

/// Parse and validate one config file; returns its keys as JSON for merging.
pub fn read_file(path: &Path) -> Result<Value, ConfigError> {
    let text = std::fs::read_to_string(path)
        .map_err(|source| ConfigError::Read { path: path.display().to_string(), source })?;
    let shown = path.display().to_string();
    // The parser's excerpt names its input `<input>`; the user knows it by its path.
    parse(&text).map_err(|message| ConfigError::Invalid { message: message.replace("<input>", &shown), path: shown })
}

/// Validate config text against the schema; returns the keys it sets.
pub fn parse(text: &str) -> Result<Value, String> {
    let opts = serde_saphyr::options! { strict_booleans: true };
    if text.trim().is_empty() {
        return Ok(Value::Object(Default::default()));
    }
    let typed: Config = serde_saphyr::from_str_with_options(text, opts.clone()).map_err(|e| excerpt(&e.to_string()))?;
    if typed.api_version != API_VERSION || typed.kind != KIND {
        return Err(format!(
            "apiVersion/kind must be `{API_VERSION}`/`{KIND}`, found `{}`/`{}`",
            typed.api_version, typed.kind
        ));
    }
    serde_saphyr::from_str_with_options::<Value>(text, opts).map_err(|e| excerpt(&e.to_string()))
}

/// The parser's message with its source excerpt kept line by line (the excerpt's layout is
/// what points at the column), only blank lines and trailing spaces dropped.
fn excerpt(s: &str) -> String {
    let s = s.strip_prefix("error: ").unwrap_or(s);
    s.lines().map(str::trim_end).filter(|l| !l.trim().is_empty()).collect::<Vec<_>>().join("\n")
}

/// Interpret an environment value for `key`, using the default's type.
fn env_value(name: &str, key: &str, raw: &str) -> Result<Value, ConfigError> {
    let default = builtin_layer();
    let bad = |expected: &str| ConfigError::Override {
        origin: format!("env {name}"),
        message: format!("`{raw}` is not {expected} (it sets `{key}`)"),
    };
    Ok(match get_key(default, key) {
        Some(Value::Bool(_)) => match raw {
            "true" | "1" => Value::Bool(true),
            "false" | "0" => Value::Bool(false),
            _ => return Err(bad("a boolean (true/false)")),
        },
        Some(Value::Array(_)) => Value::Array(
            raw.split(',').map(str::trim).filter(|s| !s.is_empty()).map(|s| Value::String(s.into())).collect(),
        ),
        Some(Value::Number(_)) => Value::Number(raw.parse::<u64>().map_err(|_| bad("a whole number"))?.into()),
        _ => Value::String(raw.into()),
    })
}

/// Call `f` with each leaf of `v` as (dotted key, value); an empty map is a leaf.
pub fn leaves(v: &Value, prefix: &str, f: &mut dyn FnMut(&str, &Value)) {
    match v {
        Value::Object(m) if !m.is_empty() => {
            for (k, v) in m {
                leaves(v, &join(prefix, k), f);
            }
        }
        _ => f(prefix, v),
    }
}

fn join(prefix: &str, k: &str) -> String {
    if prefix.is_empty() {
        k.to_string()
    } else {
        format!("{prefix}.{k}")
    }
}

/// Deep-merge `layer` into `base`: maps merge, everything else replaces.
fn merge(base: &mut Value, layer: &Value, prefix: &str, set: &mut dyn FnMut(&str)) {
    match (base, layer) {
        (Value::Object(b), Value::Object(l)) => {
            for (k, lv) in l {
                let key = join(prefix, k);
                let slot = b.entry(k.clone()).or_insert(Value::Null);
                if slot.is_object() && lv.is_object() {
                    merge(slot, lv, &key, set);
                } else {
                    *slot = lv.clone();
                    set(&key);
                }
            }
        }
        (b, l) => {
            *b = l.clone();
            set(prefix);
        }
    }
}

pub fn get_key<'a>(v: &'a Value, key: &str) -> Option<&'a Value> {
    key.split('.').try_fold(v, |v, k| v.get(k))
}

fn set_key(v: &mut Value, key: &str, value: Value) {
    let mut cur = v;
    let parts: Vec<&str> = key.split('.').collect();
    for (i, k) in parts.iter().enumerate() {
        if !cur.is_object() {
            *cur = Value::Object(Default::default());
        }
        let m = cur.as_object_mut().expect("object");
        if i == parts.len() - 1 {
            m.insert((*k).to_string(), value);
            return;
        }
        cur = m.entry((*k).to_string()).or_insert(Value::Object(Default::default()));
    }
}

impl Effective {
    /// Rows of (dotted key, JSON value, origin) for `wego config view`.
    pub fn rows(&self) -> Vec<(String, Value, Origin)> {
        let v = serde_json::to_value(&self.config).expect("config serializes");
        let mut rows = Vec::new();
        leaves(&v, "", &mut |k, val| {
            let origin = self
                .origins
                .iter()
                .filter(|(o, _)| *o == k || k.starts_with(&format!("{o}.")))
                .map(|(_, o)| o.clone())
                .next_back()
                .unwrap_or(Origin::Builtin);
            rows.push((k.to_string(), val.clone(), origin));
        });
        rows
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, name: &str, body: &str) -> PathBuf {
        let p = dir.join(name);
        std::fs::write(&p, body).unwrap();
        p
    }

    #[test]
    fn precedence_defaults_user_repo_env_flags() {
        let d = tempfile::tempdir().unwrap();
        let hdr = "apiVersion: wego.weave.works/v1alpha1\nkind: Config\n";
        let user =
            write(d.path(), "u.yaml", &format!("{hdr}logLevel: debug\nflux:\n  namespace: a\n  version: 2.0.0\n"));
        let repo = write(d.path(), "r.yaml", &format!("{hdr}flux:\n  namespace: b\n"));
        let l = Loader {
            user_file: Some(user),
            repo_file: Some(repo),
            env: vec![("WEGO_FLUX_VERSION".into(), "2.1.0".into())],
            flags: vec![("--log-level".into(), "logLevel".into(), Value::String("warn".into()))],
        };
        let e = l.load().unwrap();
        assert_eq!(e.config.flux.namespace, "b");
        assert_eq!(e.config.flux.version, "2.1.0");
        assert_eq!(e.config.log_level, "warn");
        assert_eq!(e.config.git.branch_pattern, "wego/{cluster}/add-{app}");
        assert!(matches!(e.origins["flux.namespace"], Origin::Repo(_)));
        assert_eq!(e.origins["flux.version"], Origin::Env("WEGO_FLUX_VERSION".into()));
    }

    #[test]
    fn unknown_keys_and_wrong_types_are_named() {
        let hdr = "apiVersion: wego.weave.works/v1alpha1\nkind: Config\n";
        let e = parse(&format!("{hdr}flux:\n  namspace: x\n")).unwrap_err();
        assert!(e.contains("namspace"), "{e}");
        let e = parse(&format!("{hdr}telemetry: yes\n")).unwrap_err();
        assert!(e.contains("telemetry") || e.contains("bool"), "{e}");
    }

    #[test]
    fn a_repo_file_cannot_set_user_only_keys() {
        let d = tempfile::tempdir().unwrap();
        let hdr = "apiVersion: wego.weave.works/v1alpha1\nkind: Config\n";
        let repo = write(
            d.path(),
            "r.yaml",
            &format!("{hdr}providers: [{{host: github.com, type: github, apiUrl: 'http://127.0.0.1:1'}}]\ncheckpoint: {{url: 'http://evil'}}\nlimits: {{maxOperations: 0}}\nkube: {{fieldManager: kustomize-controller}}\nflux: {{registry: evil.io, manifests: /x, manifestsBaseUrl: 'http://evil', namespace: team}}\n"),
        );
        let user = write(d.path(), "u.yaml", &format!("{hdr}flux: {{registry: mirror.example}}\n"));
        let e = Loader { user_file: Some(user), repo_file: Some(repo), ..Default::default() }.load().unwrap();
        let c = &e.config;
        assert!(c.providers.is_empty());
        assert_eq!(c.checkpoint, Checkpoint::default());
        assert_eq!(c.kube, Kube::default());
        assert_eq!(c.limits, Limits::default());
        assert_eq!((c.flux.registry.as_str(), c.flux.manifests.as_str()), ("mirror.example", ""));
        assert_eq!(c.flux.manifests_base_url, Flux::default().manifests_base_url);
        assert_eq!(c.flux.namespace, "team", "team conventions still apply");
    }

    #[test]
    fn zero_limits_are_raised_to_their_minimums() {
        let zero = Limits {
            max_operations: 0,
            max_call_depth: 0,
            max_expr_depth: 0,
            max_string_size: 0,
            max_array_size: 0,
            max_map_size: 0,
        };
        assert_eq!(zero.clamped(), LIMIT_MINIMUMS);
        assert_eq!(Limits::default().clamped(), Limits::default());
    }

    #[test]
    fn the_built_in_layer_sets_every_key_and_is_the_default() {
        // A key missing from defaults/config.yaml would silently default to an empty value.
        let full = serde_json::to_value(Config::default()).unwrap();
        assert_eq!(&full, builtin_layer(), "defaults/config.yaml must set every key of the schema");
        let c = Config::default();
        assert_eq!(c.flux.version, crate::build_info::FLUX_VERSION);
        assert_eq!((c.git.default_branch.as_str(), c.kube.field_manager.as_str()), ("main", "wego"));
        assert_eq!(c.limits, Limits::default());
        assert_eq!(c.limits.clamped(), c.limits, "the built-in limits are above their minimums");
    }

    #[test]
    fn built_in_values_say_so_and_can_be_overridden() {
        let d = tempfile::tempdir().unwrap();
        let hdr = "apiVersion: wego.weave.works/v1alpha1\nkind: Config\n";
        let user =
            write(d.path(), "u.yaml", &format!("{hdr}git:\n  defaultBranch: trunk\nkube:\n  fieldManager: me\n"));
        let e = Loader { user_file: Some(user), ..Default::default() }.load().unwrap();
        assert_eq!((e.config.git.default_branch.as_str(), e.config.kube.field_manager.as_str()), ("trunk", "me"));
        let rows = e.rows();
        let origin = |k: &str| rows.iter().find(|r| r.0 == k).map(|r| r.2.to_string()).unwrap();
        assert_eq!(origin("flux.version"), "built-in");
        assert_eq!(origin("git.branchPattern"), "built-in");
        assert!(origin("git.defaultBranch").starts_with("user file"));
        // A file without apiVersion/kind still reads as the current version, as before.
        assert!(parse("logLevel: debug\n").is_ok());
    }

    #[test]
    fn checkpoint_disable_turns_telemetry_off() {
        let l = Loader { env: vec![("CHECKPOINT_DISABLE".into(), "1".into())], ..Default::default() };
        assert!(!l.load().unwrap().config.telemetry);
    }
}
