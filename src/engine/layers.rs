//! Where scripts, templates and stdlib modules come from.
//!
//! One rule serves all three kinds: an explicit directory (`--scripts-dir`), then the wego
//! repo's `.wego/`, then the user's config dir, then the copies built into the binary. Each
//! layer root has the same shape: `scripts/`, `templates/`, `stdlib/`.

use std::collections::{BTreeMap, HashSet};
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, RwLock};

use include_dir::{include_dir, Dir};

static BUILTIN_SCRIPTS: Dir<'static> = include_dir!("$CARGO_MANIFEST_DIR/scripts");
static BUILTIN_TEMPLATES: Dir<'static> = include_dir!("$CARGO_MANIFEST_DIR/templates");
static BUILTIN_STDLIB: Dir<'static> = include_dir!("$CARGO_MANIFEST_DIR/stdlib");

/// The three kinds of overridable files.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    Script,
    Template,
    Stdlib,
}

impl Kind {
    /// The sub-directory of a layer root holding this kind.
    pub fn dir(self) -> &'static str {
        match self {
            Kind::Script => "scripts",
            Kind::Template => "templates",
            Kind::Stdlib => "stdlib",
        }
    }

    /// File name for a logical name: scripts and stdlib modules get `.rhai`, templates are
    /// named with their extension already.
    fn file_name(self, name: &str) -> String {
        match self {
            Kind::Template => name.to_string(),
            _ if name.ends_with(".rhai") => name.to_string(),
            _ => format!("{name}.rhai"),
        }
    }

    fn logical_name(self, file: &str) -> Option<String> {
        match self {
            Kind::Template => Some(file.to_string()),
            _ => file.strip_suffix(".rhai").map(str::to_string),
        }
    }

    fn builtin(self) -> &'static Dir<'static> {
        match self {
            Kind::Script => &BUILTIN_SCRIPTS,
            Kind::Template => &BUILTIN_TEMPLATES,
            Kind::Stdlib => &BUILTIN_STDLIB,
        }
    }
}

/// Which layer a file was found in, highest precedence first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Layer {
    /// `--scripts-dir` / `WEGO_SCRIPTS_DIR`.
    Explicit,
    /// `.wego/` of the wego repo.
    Repo,
    /// `$XDG_CONFIG_HOME/wego/`.
    User,
    /// Compiled into the binary.
    Builtin,
}

impl fmt::Display for Layer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Layer::Explicit => "scripts-dir",
            Layer::Repo => "repo",
            Layer::User => "user",
            Layer::Builtin => "built-in",
        })
    }
}

/// A resolved file: its text and where it came from.
#[derive(Debug, Clone)]
pub struct Resolved {
    pub name: String,
    pub layer: Layer,
    /// On-disk path; `None` for built-ins.
    pub path: Option<PathBuf>,
    /// Name used in diagnostics: the on-disk path, or `scripts/add.rhai` for a built-in.
    pub display: String,
    pub text: String,
}

/// One row of `wego scripts list`.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Entry {
    pub name: String,
    pub layer: String,
    pub path: String,
}

/// The ordered set of layer roots. The repo root can change while a command runs (a command
/// that checks out the wego repo makes its `.wego/` count from then on).
#[derive(Debug, Default)]
pub struct Layers {
    explicit: Option<PathBuf>,
    repo: RwLock<Option<PathBuf>>,
    user: Option<PathBuf>,
    announced: Mutex<HashSet<(Kind, String)>>,
    quiet: bool,
}

impl Layers {
    pub fn new(explicit: Option<PathBuf>, repo_root: Option<PathBuf>, user: Option<PathBuf>) -> Self {
        Layers {
            explicit,
            repo: RwLock::new(repo_root.map(|r| r.join(".wego"))),
            user,
            announced: Mutex::new(HashSet::new()),
            quiet: false,
        }
    }

    /// Only built-ins; for tests and documentation generation.
    pub fn builtin_only() -> Self {
        Layers { quiet: true, ..Default::default() }
    }

    /// Make `<repo>/.wego/` the repo layer (called when a command checks out the wego repo).
    pub fn set_repo_root(&self, repo: &Path) {
        *self.repo.write().expect("layers lock") = Some(repo.join(".wego"));
    }

    /// The `.wego/` directory of the wego repo in effect, if any.
    pub fn repo_dir(&self) -> Option<PathBuf> {
        self.repo.read().expect("layers lock").clone()
    }

    fn roots(&self) -> Vec<(Layer, PathBuf)> {
        let mut roots = Vec::new();
        if let Some(p) = &self.explicit {
            roots.push((Layer::Explicit, p.clone()));
        }
        if let Some(p) = self.repo_dir() {
            roots.push((Layer::Repo, p));
        }
        if let Some(p) = &self.user {
            roots.push((Layer::User, p.clone()));
        }
        roots
    }

    /// Find `name` of `kind`, the highest layer winning. Announces overrides on stderr once.
    pub fn resolve(&self, kind: Kind, name: &str) -> std::io::Result<Option<Resolved>> {
        if !is_safe_name(name) {
            return Ok(None);
        }
        let file = kind.file_name(name);
        for (layer, root) in self.roots() {
            let path = root.join(kind.dir()).join(&file);
            if path.is_file() {
                let text = std::fs::read_to_string(&path)?;
                self.announce(kind, name, layer, &path);
                return Ok(Some(Resolved {
                    name: name.to_string(),
                    layer,
                    display: path.display().to_string(),
                    path: Some(path),
                    text,
                }));
            }
        }
        Ok(self.builtin(kind, name))
    }

    /// The built-in copy of `name`, ignoring overrides (for `eject`).
    pub fn builtin(&self, kind: Kind, name: &str) -> Option<Resolved> {
        let file = kind.file_name(name);
        let f = kind.builtin().get_file(&file)?;
        Some(Resolved {
            name: name.to_string(),
            layer: Layer::Builtin,
            path: None,
            display: format!("{}/{}", kind.dir(), file),
            text: f.contents_utf8()?.to_string(),
        })
    }

    fn announce(&self, kind: Kind, name: &str, layer: Layer, path: &Path) {
        if self.quiet {
            return;
        }
        let mut seen = self.announced.lock().expect("announce lock");
        if seen.insert((kind, name.to_string())) {
            eprintln!("wego: using {} {} from {} ({})", kind.dir().trim_end_matches('s'), name, path.display(), layer);
        }
    }

    /// Every name of `kind` with the layer that wins for it.
    pub fn list(&self, kind: Kind) -> Vec<Entry> {
        let mut found: BTreeMap<String, Entry> = BTreeMap::new();
        let mut builtin_files = Vec::new();
        collect_builtin(kind.builtin(), &mut builtin_files);
        for f in builtin_files {
            if let Some(name) = kind.logical_name(&f) {
                found.insert(
                    name.clone(),
                    Entry { name, layer: Layer::Builtin.to_string(), path: format!("{}/{}", kind.dir(), f) },
                );
            }
        }
        // Lowest precedence first, so higher layers overwrite.
        for (layer, root) in self.roots().into_iter().rev() {
            let dir = root.join(kind.dir());
            let mut files = Vec::new();
            collect_disk(&dir, &dir, &mut files);
            for (rel, path) in files {
                if let Some(name) = kind.logical_name(&rel) {
                    found.insert(
                        name.clone(),
                        Entry { name, layer: layer.to_string(), path: path.display().to_string() },
                    );
                }
            }
        }
        found.into_values().collect()
    }
}

/// Names are relative paths with forward slashes and no `..`: an override can never reach
/// outside its layer root.
fn is_safe_name(name: &str) -> bool {
    !name.is_empty()
        && !name.starts_with('/')
        && !name.contains('\\')
        && name.split('/').all(|c| !c.is_empty() && c != "." && c != "..")
}

fn collect_builtin(dir: &Dir<'static>, out: &mut Vec<String>) {
    for f in dir.files() {
        out.push(f.path().to_string_lossy().replace('\\', "/"));
    }
    for d in dir.dirs() {
        collect_builtin(d, out);
    }
}

fn collect_disk(base: &Path, dir: &Path, out: &mut Vec<(String, PathBuf)>) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    for e in rd.flatten() {
        let p = e.path();
        if p.is_dir() {
            collect_disk(base, &p, out);
        } else if let Ok(rel) = p.strip_prefix(base) {
            out.push((rel.to_string_lossy().replace('\\', "/"), p.clone()));
        }
    }
}

/// The root of the git work tree containing `start`, if any.
pub fn find_repo_root(start: &Path) -> Option<PathBuf> {
    start.ancestors().find(|d| d.join(".git").exists()).map(Path::to_path_buf)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unsafe_names_never_resolve() {
        for n in ["../x", "a/../../b", "/etc/passwd", "", "a//b", "./a"] {
            assert!(!is_safe_name(n), "{n}");
        }
        assert!(is_safe_name("flux/kustomization.yaml.j2"));
    }

    #[test]
    fn higher_layer_wins() {
        let tmp = tempfile::tempdir().unwrap();
        let explicit = tmp.path().join("explicit");
        let repo = tmp.path().join("repo");
        let user = tmp.path().join("user");
        for (root, body) in [(&explicit, "e"), (&repo.join(".wego"), "r"), (&user, "u")] {
            std::fs::create_dir_all(root.join("stdlib")).unwrap();
            std::fs::write(root.join("stdlib/x.rhai"), body).unwrap();
        }
        let mut l = Layers::new(Some(explicit.clone()), Some(repo.clone()), Some(user.clone()));
        l.quiet = true;
        assert_eq!(l.resolve(Kind::Stdlib, "x").unwrap().unwrap().text, "e");
        std::fs::remove_file(explicit.join("stdlib/x.rhai")).unwrap();
        assert_eq!(l.resolve(Kind::Stdlib, "x").unwrap().unwrap().text, "r");
        std::fs::remove_file(repo.join(".wego/stdlib/x.rhai")).unwrap();
        let r = l.resolve(Kind::Stdlib, "x").unwrap().unwrap();
        assert_eq!((r.text.as_str(), r.layer), ("u", Layer::User));
    }
}

#[cfg(test)]
mod builtin_tests {
    use super::*;

    /// Every built-in script and stdlib module compiles: a syntax error must never ship.
    #[test]
    fn builtin_scripts_compile() {
        let mut engine = rhai::Engine::new();
        let limits = crate::config::Limits::default();
        engine.set_max_expr_depths(limits.max_expr_depth, limits.max_expr_depth);
        let layers = Layers::builtin_only();
        for kind in [Kind::Script, Kind::Stdlib] {
            let entries = layers.list(kind);
            assert!(!entries.is_empty());
            for e in entries {
                let r = layers.builtin(kind, &e.name).unwrap();
                if let Err(err) = engine.compile(&r.text) {
                    panic!("{}: {err}", r.display);
                }
            }
        }
    }

    /// The example scripts compile too (they are run by the integration tests).
    #[test]
    fn example_scripts_compile() {
        let mut engine = rhai::Engine::new();
        let limits = crate::config::Limits::default();
        engine.set_max_expr_depths(limits.max_expr_depth, limits.max_expr_depth);
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples");
        let mut n = 0;
        for e in std::fs::read_dir(dir).unwrap().flatten() {
            let text = std::fs::read_to_string(e.path()).unwrap();
            let text = text
                .split_once('\n')
                .map(|(first, rest)| if first.starts_with("#!") { rest } else { text.as_str() })
                .unwrap_or(&text);
            if let Err(err) = engine.compile(text) {
                panic!("{}: {err}", e.path().display());
            }
            n += 1;
        }
        assert!(n >= 3);
    }

    /// Every built-in template parses.
    #[test]
    fn builtin_templates_parse() {
        let layers = Layers::builtin_only();
        let env = minijinja::Environment::new();
        for e in layers.list(Kind::Template) {
            let r = layers.builtin(Kind::Template, &e.name).unwrap();
            if let Err(err) = env.template_from_str(&r.text) {
                panic!("{}: {err}", r.display);
            }
        }
    }
}
