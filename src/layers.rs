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

use crate::paths::Access;
use crate::trust::{Code, Key, Status, Store, MAX_DEPTH, MAX_FILE_BYTES};

static BUILTIN_SCRIPTS: Dir<'static> = include_dir!("$CARGO_MANIFEST_DIR/scripts");
static BUILTIN_TEMPLATES: Dir<'static> = include_dir!("$CARGO_MANIFEST_DIR/templates");
static BUILTIN_STDLIB: Dir<'static> = include_dir!("$CARGO_MANIFEST_DIR/stdlib");
/// The stdlib's own tests (`wego test`), with their fixtures.
static BUILTIN_TESTS: Dir<'static> = include_dir!("$CARGO_MANIFEST_DIR/tests/rhai");

/// The built-in `*_test.rhai` files: (display name, text), in name order.
pub fn builtin_tests() -> Vec<(String, String)> {
    let mut files = Vec::new();
    collect_builtin(&BUILTIN_TESTS, &mut files);
    files.sort();
    files
        .into_iter()
        .filter(|f| f.ends_with("_test.rhai"))
        .filter_map(|f| Some((format!("tests/rhai/{f}"), builtin_test_file(&f)?)))
        .collect()
}

/// A file of the built-in tests by its path under `tests/rhai/` (a test's fixture).
pub fn builtin_test_file(rel: &str) -> Option<String> {
    BUILTIN_TESTS.get_file(rel)?.contents_utf8().map(str::to_string)
}

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

/// The repo layer in effect: where it is, what it is known by, and its code as read (and
/// hashed) once, so what runs is exactly what the trust decision was about.
#[derive(Debug)]
struct RepoLayer {
    /// `<repo>/.wego`.
    dir: PathBuf,
    /// The repo's work tree: nothing in the layer may lead outside it.
    jail: PathBuf,
    key: Key,
    code: Code,
    status: Status,
}

/// The ordered set of layer roots. The repo root can change while a command runs (a command
/// that checks out the wego repo makes its `.wego/` count from then on).
#[derive(Debug, Default)]
pub struct Layers {
    explicit: Option<PathBuf>,
    repo: RwLock<Option<RepoLayer>>,
    user: Option<PathBuf>,
    announced: Mutex<HashSet<(Kind, String)>>,
    /// Repo keys whose skipped code has been reported (once each).
    skipped: Mutex<HashSet<String>>,
    quiet: bool,
    /// Say nothing of the overrides used (`--quiet`).
    quiet_notices: bool,
}

impl Layers {
    pub fn new(explicit: Option<PathBuf>, repo_root: Option<PathBuf>, user: Option<PathBuf>) -> Self {
        let l = Layers { explicit, user, ..Default::default() };
        if let Some(r) = repo_root {
            let key = Key::dir(&r);
            l.set_repo_root(&r, key);
        }
        l
    }

    /// The same layers, without the notices of which override is used (`--quiet`); skipped
    /// code is still reported.
    pub fn without_notices(self) -> Self {
        Layers { quiet_notices: true, ..self }
    }

    /// Only built-ins; for tests and documentation generation.
    pub fn builtin_only() -> Self {
        Layers { quiet: true, ..Default::default() }
    }

    /// The user's allow list file, if there is a user config dir.
    pub fn trust_file(&self) -> Option<PathBuf> {
        self.user.as_deref().map(Store::file_in)
    }

    /// Make `<repo>/.wego/` the repo layer (called when a command checks out the wego repo);
    /// its code runs only if the user trusted `key` with this very code.
    pub fn set_repo_root(&self, repo: &Path, key: Key) {
        let jail = repo.canonicalize().unwrap_or_else(|_| repo.to_path_buf());
        let dir = repo.join(".wego");
        let code = Code::read(&dir, &jail);
        let store = self.trust_file().and_then(|f| Store::load(&f).ok());
        let status = store.map(|s| s.status(&key, &code)).unwrap_or(Status::Untrusted);
        *self.repo.write().expect("layers lock") = Some(RepoLayer { dir, jail, key, code, status });
    }

    /// The `.wego/` directory of the wego repo in effect, if any.
    pub fn repo_dir(&self) -> Option<PathBuf> {
        self.repo.read().expect("layers lock").as_ref().map(|r| r.dir.clone())
    }

    /// The highest layer a new override can be written to, and its root: `--scripts-dir`, else
    /// the wego repo's `.wego/`, else the user's config dir. A file written there wins over
    /// every layer below it (a repo's code once the repo is trusted).
    pub fn override_root(&self) -> Option<(Layer, PathBuf)> {
        self.roots().into_iter().next().map(|(layer, root, _)| (layer, root))
    }

    /// Whether the repo layer's code may run (no repo layer: nothing to trust).
    pub fn repo_trust(&self) -> Option<(Key, Status)> {
        self.repo.read().expect("layers lock").as_ref().map(|r| (r.key.clone(), r.status))
    }

    /// The `tests/` directories `wego test` searches when given no path: `--scripts-dir` and
    /// the user's layer. A repo's tests run only when named, as `wego run` scripts do.
    pub fn test_dirs(&self) -> Vec<PathBuf> {
        self.roots().into_iter().filter(|(l, ..)| *l != Layer::Repo).map(|(_, root, _)| root.join("tests")).collect()
    }

    /// (layer, root, the directory nothing in it may lead outside of).
    fn roots(&self) -> Vec<(Layer, PathBuf, PathBuf)> {
        let mut roots = Vec::new();
        if let Some(p) = &self.explicit {
            roots.push((Layer::Explicit, p.clone(), p.clone()));
        }
        if let Some(r) = self.repo.read().expect("layers lock").as_ref() {
            roots.push((Layer::Repo, r.dir.clone(), r.jail.clone()));
        }
        if let Some(p) = &self.user {
            roots.push((Layer::User, p.clone(), p.clone()));
        }
        roots
    }

    /// Find `name` of `kind`, the highest layer winning. Announces overrides on stderr once.
    /// A repo's scripts and stdlib modules count only when the user trusted them; otherwise
    /// they are skipped with one line saying how to trust them.
    pub fn resolve(&self, kind: Kind, name: &str) -> std::io::Result<Option<Resolved>> {
        self.find(kind, name, true)
    }

    /// Like [`Layers::resolve`], but silent: for looking at what would run (a script command's
    /// header, when building `--help`) without announcing it.
    pub fn peek(&self, kind: Kind, name: &str) -> std::io::Result<Option<Resolved>> {
        self.find(kind, name, false)
    }

    fn find(&self, kind: Kind, name: &str, announce: bool) -> std::io::Result<Option<Resolved>> {
        if !is_safe_name(name) {
            return Ok(None);
        }
        let file = kind.file_name(name);
        for (layer, root, jail) in self.roots() {
            let path = root.join(kind.dir()).join(&file);
            let text = if layer == Layer::Repo && kind != Kind::Template {
                let repo = self.repo.read().expect("layers lock");
                let Some(r) = repo.as_ref() else { continue };
                let Some(text) = r.code.files.get(&format!("{}/{}", kind.dir(), file)) else { continue };
                if r.status != Status::Trusted {
                    if announce {
                        self.report_skipped(kind, name, &path, r);
                    }
                    continue;
                }
                text.clone()
            } else {
                match read_beneath(&jail, &path)? {
                    Some(text) => text,
                    None => continue,
                }
            };
            if announce {
                self.announce(kind, name, layer, &path);
            }
            let display = path.display().to_string();
            return Ok(Some(Resolved { name: name.to_string(), layer, display, path: Some(path), text }));
        }
        Ok(self.builtin(kind, name))
    }

    /// Whether `display` names a built-in file (as diagnostics show it: `scripts/add.rhai`).
    pub fn is_builtin_display(&self, display: &str) -> bool {
        [Kind::Script, Kind::Stdlib, Kind::Template].iter().any(|k| {
            display
                .strip_prefix(k.dir())
                .and_then(|f| f.strip_prefix('/'))
                .is_some_and(|f| k.builtin().get_file(f).is_some())
        })
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
        if self.quiet || self.quiet_notices {
            return;
        }
        let mut seen = self.announced.lock().expect("announce lock");
        if seen.insert((kind, name.to_string())) {
            eprintln!("wego: using {} {} from {} ({})", kind.dir().trim_end_matches('s'), name, path.display(), layer);
        }
    }

    fn report_skipped(&self, kind: Kind, name: &str, path: &Path, r: &RepoLayer) {
        if self.quiet || !self.skipped.lock().expect("skipped lock").insert(r.key.0.clone()) {
            return;
        }
        let what = match kind {
            Kind::Script => "script",
            _ => "stdlib module",
        };
        let why = match r.status {
            Status::Changed => "this repo's scripts changed since you trusted them; review them, then run",
            _ => "this repo's scripts are not trusted; to allow them run",
        };
        eprintln!("wego: skipped {what} {name} from {} ({why} `{}`)", path.display(), r.key.command());
    }

    /// Every name of `kind` with the layer that wins for it. A repo's untrusted code is
    /// listed as `repo (untrusted)`: it would not run.
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
        let repo_trusted = self.repo_trust().is_none_or(|(_, s)| s == Status::Trusted);
        // Lowest precedence first, so higher layers overwrite.
        for (layer, root, jail) in self.roots().into_iter().rev() {
            let dir = root.join(kind.dir());
            for (rel, _) in crate::paths::walk_files(&jail, &dir, MAX_DEPTH) {
                if let Some(name) = kind.logical_name(&rel) {
                    let label = if layer == Layer::Repo && kind != Kind::Template && !repo_trusted {
                        format!("{layer} (untrusted)")
                    } else {
                        layer.to_string()
                    };
                    found
                        .insert(name.clone(), Entry { name, layer: label, path: dir.join(&rel).display().to_string() });
                }
            }
        }
        found.into_values().collect()
    }
}

/// The text of `path` if it is a file beneath `jail` (after symlinks), within the size limit.
/// A file that leads outside or is too large is an error, not a silent fallback.
fn read_beneath(jail: &Path, path: &Path) -> std::io::Result<Option<String>> {
    if std::fs::symlink_metadata(path).is_err() {
        return Ok(None);
    }
    let jail = jail.canonicalize().unwrap_or_else(|_| jail.to_path_buf());
    let checked = match crate::paths::check(std::slice::from_ref(&jail), &crate::paths::normalize(path), Access::Read) {
        Ok(c) if c.exists => c,
        Ok(_) => return Ok(None),
        Err(e) => {
            return Err(std::io::Error::other(format!(
                "{} ({}; override files must stay inside their layer)",
                e.message(&path.display().to_string()),
                jail.display()
            )))
        }
    };
    if !checked.real.is_file() {
        return Ok(None);
    }
    let size = std::fs::metadata(&checked.real)?.len();
    if size > MAX_FILE_BYTES {
        return Err(std::io::Error::other(format!(
            "{} is {size} bytes; override files may be at most {MAX_FILE_BYTES}",
            path.display()
        )));
    }
    std::fs::read_to_string(&checked.real).map(Some)
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

/// The root of the git work tree containing `start`, if any.
pub fn find_repo_root(start: &Path) -> Option<PathBuf> {
    start.ancestors().find(|d| d.join(".git").exists()).map(Path::to_path_buf)
}

#[cfg(test)]
mod policy_tests {
    use super::*;

    /// A template that is a symlink out of its layer is an error, never rendered; a symlinked
    /// directory loop in a layer ends.
    #[test]
    fn layer_files_stay_inside_their_layer() {
        let tmp = tempfile::tempdir().unwrap();
        let repo = tmp.path().join("repo");
        std::fs::create_dir_all(repo.join(".wego/templates/wego")).unwrap();
        std::fs::write(tmp.path().join("secret"), "s3cret").unwrap();
        std::os::unix::fs::symlink(tmp.path().join("secret"), repo.join(".wego/templates/wego/app.yaml.j2")).unwrap();
        std::os::unix::fs::symlink(repo.join(".wego/templates"), repo.join(".wego/templates/wego/loop")).unwrap();
        let mut l = Layers::new(None, Some(repo.clone()), None);
        l.quiet = true;
        let e = l.resolve(Kind::Template, "wego/app.yaml.j2").unwrap_err();
        assert!(e.to_string().contains("outside"), "{e}");
        let names: Vec<String> =
            l.list(Kind::Template).into_iter().filter(|e| e.layer == "repo").map(|e| e.name).collect();
        assert!(names.is_empty(), "{names:?}");
    }
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
        // The repo's code is not trusted: the user's copy wins.
        assert_eq!(l.resolve(Kind::Stdlib, "x").unwrap().unwrap().text, "u");
        let mut store = Store::load(&Store::file_in(&user)).unwrap();
        store.trust(&Key::dir(&repo), &Code::read(&repo.join(".wego"), &repo));
        store.save().unwrap();
        l.set_repo_root(&repo, Key::dir(&repo));
        assert_eq!(l.resolve(Kind::Stdlib, "x").unwrap().unwrap().text, "r");
        std::fs::remove_file(repo.join(".wego/stdlib/x.rhai")).unwrap();
        l.set_repo_root(&repo, Key::dir(&repo));
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
