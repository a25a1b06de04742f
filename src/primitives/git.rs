//! `git::` — clone, change, commit and push repositories; `Repo` handles with methods.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rhai::{Array, Dynamic, Engine, EvalAltResult, Map, Module};

use super::api::api_module;
use super::host::{fail, Host};
use crate::git::auth::{AuthOpts, Target};
use crate::git::{remote, url, worktree, GitError};

type R<T> = Result<T, Box<EvalAltResult>>;

fn err(prim: &str, e: GitError) -> Box<EvalAltResult> {
    fail(prim, e.message, e.help.as_deref())
}

/// A checked-out repository. Cheap to clone; all clones are the same repository.
#[derive(Clone)]
pub struct Repo {
    inner: Arc<RepoInner>,
}

struct RepoInner {
    dir: PathBuf,
    /// The remote `origin`, when there is one.
    target: Option<Target>,
    auth: AuthOpts,
    default_branch: Mutex<Option<String>>,
    /// The branch an empty remote starts on (config `git.defaultBranch`).
    unborn_branch: String,
}

impl Repo {
    fn open(&self, prim: &str) -> R<git2::Repository> {
        worktree::open(&self.inner.dir).map_err(|e| {
            fail(prim, format!("cannot open the repository at {}: {}", self.inner.dir.display(), e.message()), None)
        })
    }

    fn target(&self, prim: &str) -> R<&Target> {
        self.inner.target.as_ref().ok_or_else(|| {
            fail(prim, format!("the repository at {} has no remote `origin`", self.inner.dir.display()), None)
        })
    }

    pub fn dir(&self) -> &Path {
        &self.inner.dir
    }
}

/// Parse a remote URL for git, refusing embedded secrets (without echoing them).
fn target(host: &Host, prim: &str, raw: &str) -> R<Target> {
    let u = url::parse(raw).map_err(|e| fail(prim, e, None))?;
    if u.had_secret {
        return Err(fail(
            prim,
            format!("the URL {} carries a password or token", u.to_git()),
            Some("remove it from the URL and set GITHUB_TOKEN, GITLAB_TOKEN or WEGO_GIT_TOKEN instead"),
        ));
    }
    let config = host.config();
    let (provider, entry, _) = url::provider_of(&u, &config.providers);
    let allow_http = entry.is_some_and(|p| p.allow_http);
    Ok(Target { url: u, provider, allow_http })
}

fn expand_home(p: &str) -> PathBuf {
    match (p.strip_prefix("~/"), dirs::home_dir()) {
        (Some(rest), Some(home)) => home.join(rest),
        _ => PathBuf::from(p),
    }
}

fn auth_opts(opts: &Map) -> AuthOpts {
    AuthOpts {
        private_key: super::opt_str(opts, "private_key").map(|p| expand_home(&p)),
        passphrase: super::opt_str(opts, "passphrase"),
        known_hosts: super::opt_str(opts, "known_hosts").map(|p| expand_home(&p)),
    }
}

fn opt_int(opts: &Map, key: &str) -> Option<i64> {
    opts.get(key).and_then(|v| v.as_int().ok())
}

fn debug(h: &Host, msg: &str) {
    h.session.log.emit(super::log::Level::Debug, "…", "90", msg);
}

fn clone(h: &Arc<Host>, raw: &str, opts: &Map) -> R<Repo> {
    const P: &str = "git::clone";
    let t = target(h, P, raw)?;
    // A local path reads whatever the machine holds; only a script's own explicit choice
    // clones one (built-in commands never pass `local`, so a repo's config cannot steer them
    // to a local path).
    if t.url.scheme == url::Scheme::File && !super::opt_bool(opts, "local") {
        return Err(fail(
            P,
            format!("`{raw}` is a local path"),
            Some(
                "clone a local repository with #{local: true} from your own script; \
                 wego commands clone remote URLs only",
            ),
        ));
    }
    let auth = auth_opts(opts);
    let depth = opt_int(opts, "depth").unwrap_or(1).max(0) as u32;
    let branch = super::opt_str(opts, "branch");
    let (dir, temp) = match super::opt_str(opts, "dir") {
        Some(d) => {
            let p = super::fs::checked(h, P, &d, crate::paths::Access::Write)?.real;
            if p.exists() && std::fs::read_dir(&p).map(|mut r| r.next().is_some()).unwrap_or(true) {
                return Err(fail(
                    P,
                    format!("`{d}` already exists and is not empty"),
                    Some("clone into a new or empty directory"),
                ));
            }
            (p, None)
        }
        None => {
            let t = tempfile::Builder::new()
                .prefix("wego-repo-")
                .tempdir()
                .map_err(|e| fail(P, format!("cannot create a temporary directory: {e}"), None))?;
            (t.path().to_path_buf(), Some(t))
        }
    };
    let existed = dir.exists();
    debug(
        h,
        &format!(
            "cloning {} into {} (depth {})",
            t.url.to_git(),
            dir.display(),
            if depth == 0 { "full".into() } else { depth.to_string() }
        ),
    );
    // A repository the provider has just created can refuse clones for a moment.
    let wait = Duration::from_secs(opt_int(opts, "wait_seconds").unwrap_or(0).clamp(0, 120) as u64);
    let deadline = Instant::now() + wait;
    // Leave nothing half-cloned behind.
    let clean = || {
        if existed || temp.is_some() {
            if let Ok(rd) = std::fs::read_dir(&dir) {
                for entry in rd.flatten() {
                    let _ = std::fs::remove_dir_all(entry.path()).or_else(|_| std::fs::remove_file(entry.path()));
                }
            }
        } else {
            let _ = std::fs::remove_dir_all(&dir);
        }
    };
    let unborn = h.config().git.default_branch;
    let step = super::opt_step(opts);
    let on_transfer = |done, total| step.iter().for_each(|s| s.count(done, total, "objects"));
    let on_transfer: remote::OnTransfer<'_> = Some(&on_transfer);
    let mut attempt = remote::clone(&t, &auth, &dir, branch.as_deref(), &unborn, depth, on_transfer);
    while attempt.is_err() && Instant::now() < deadline {
        debug(h, &format!("{} is not ready yet; trying again", t.url.to_git()));
        clean();
        std::thread::sleep(Duration::from_millis(250));
        attempt = remote::clone(&t, &auth, &dir, branch.as_deref(), &unborn, depth, on_transfer);
    }
    let cloned = match attempt {
        Ok(c) => c,
        Err(e) => {
            clean();
            return Err(err(P, e));
        }
    };
    let dir = dir.canonicalize().unwrap_or(dir);
    if let Some(t) = temp {
        h.workspace.keep_temp(t);
    }
    h.workspace.add(dir.clone());
    Ok(Repo {
        inner: Arc::new(RepoInner {
            dir,
            target: Some(t),
            auth,
            default_branch: Mutex::new(cloned.default_branch),
            unborn_branch: unborn,
        }),
    })
}

fn open(h: &Arc<Host>, dir: &str, opts: &Map) -> R<Repo> {
    const P: &str = "git::open";
    let p = super::fs::resolve(h, P, dir)?;
    let repo = worktree::open(&p).map_err(|e| {
        fail(P, format!("`{dir}` is not a git repository: {}", e.message()), Some("clone it with git::clone first"))
    })?;
    let root = repo.workdir().map(Path::to_path_buf).unwrap_or(p);
    let root = root.canonicalize().unwrap_or(root);
    let origin = repo.find_remote("origin").ok().and_then(|r| r.url().ok().map(str::to_string));
    let target = match origin {
        Some(u) => Some(target(h, P, &u)?),
        None => None,
    };
    let default = repo.find_reference("refs/remotes/origin/HEAD").ok().and_then(|r| {
        r.symbolic_target().ok().flatten().map(|t| t.trim_start_matches("refs/remotes/origin/").to_string())
    });
    h.workspace.add(root.clone());
    Ok(Repo {
        inner: Arc::new(RepoInner {
            dir: root,
            target,
            auth: auth_opts(opts),
            default_branch: Mutex::new(default),
            unborn_branch: h.config().git.default_branch,
        }),
    })
}

fn ls_remote(h: &Arc<Host>, raw: &str, opts: &Map) -> R<Map> {
    const P: &str = "git::ls_remote";
    let t = target(h, P, raw)?;
    let refs = remote::ls_remote(&t, &auth_opts(opts)).map_err(|e| err(P, e))?;
    let mut m = Map::new();
    for (name, sha) in refs.refs {
        m.insert(name.into(), sha.into());
    }
    if let Some(head) = refs.head {
        m.insert("HEAD".into(), head.into());
    }
    Ok(m)
}

fn signature(h: &Host, opts: &Map) -> R<git2::Signature<'static>> {
    let config = h.config();
    let cfg = &config.git;
    let (mut name, mut email) = (cfg.author_name.clone(), cfg.author_email.clone());
    if let Some(a) = super::opt_str(opts, "author") {
        match a.split_once('<') {
            Some((n, e)) => {
                name = n.trim().to_string();
                email = e.trim_end().trim_end_matches('>').trim().to_string();
            }
            None => name = a.trim().to_string(),
        }
    }
    if let Some(n) = super::opt_str(opts, "author_name") {
        name = n;
    }
    if let Some(e) = super::opt_str(opts, "author_email") {
        email = e;
    }
    git2::Signature::now(&name, &email)
        .map_err(|e| fail("repo.commit", format!("invalid author `{name} <{email}>`: {}", e.message()), None))
}

fn str_map(pairs: &[(&str, Dynamic)]) -> Map {
    pairs.iter().map(|(k, v)| ((*k).into(), v.clone())).collect()
}

fn opt_dyn(v: Option<String>) -> Dynamic {
    v.map(Dynamic::from).unwrap_or(Dynamic::UNIT)
}

/// Register the `Repo` type so errors and docs call it by name.
pub fn register_types(engine: &mut Engine) {
    engine.register_type_with_name::<Repo>("Repo");
}

pub fn module(host: &Arc<Host>) -> Module {
    api_module! {
        let h = host;
        //! Git repositories: clone (shallow by default), change files, commit and push. Tokens come from GITHUB_TOKEN,
        //! GITLAB_TOKEN or WEGO_GIT_TOKEN; ssh uses the agent or a key file and checks known_hosts.

        /// Clone a repository and return a `Repo`. Options: `branch` (default: the remote's default branch; for an
        /// empty remote, the branch the first commit goes to, default `main`), `depth` (default 1, shallow; 0 for full
        /// history), `dir` (a new or empty directory inside the workspace; default: a temporary directory removed when
        /// the command ends), `wait_seconds` (keep trying this long, at most 120, while the remote refuses: for a
        /// repository the provider has just created; default 0), `local` (must be `true` to clone a local path or
        /// `file://` URL), `progress` (a `Step` from `log::step`: shows the objects received).\
        #[doc = AUTH]
        ///
        /// Errors: authentication (names the variable to set), unknown ssh host key, unreachable or missing repository,
        /// missing branch, `dir` not empty.
        ///
        /// Example: `let repo = git::clone("https://github.com/org/fleet.git", #{ depth: 1 });`
        fn clone(url: &str, #[optional] options: Map) -> Repo {
            clone(h, url, &options)
        }

        /// Open an existing repository in the workspace (e.g. the current directory) as a `Repo`. Options: the auth
        /// options used when it talks to its `origin`.
        ///
        /// Errors: not a repository, outside the workspace.
        ///
        /// Example: `let repo = git::open(".");`
        fn open(dir: &str, #[optional] options: Map) -> Repo {
            open(h, dir, &options)
        }

        /// List a remote's refs without cloning: a map of ref name to sha (`refs/heads/main`, `refs/tags/v1`, ...) plus
        /// `HEAD`, the ref the remote's HEAD points at (`refs/heads/main`). An empty remote gives `#{}`.\
        #[doc = AUTH]
        ///
        /// Errors: authentication, unknown ssh host key, unreachable or missing repository.
        ///
        /// Example: `let main = git::ls_remote(url)["refs/heads/main"];`
        fn ls_remote(url: &str, #[optional] options: Map) -> Map {
            ls_remote(h, url, &options)
        }

        /// Take a remote URL apart: `#{scheme, host, port, owner, repo, path, prefix, provider, https, ssh}`. Accepts
        /// `git@host:org/repo.git`, `ssh://git@host[:port]/org/repo(.git)`, `https://host/org/repo(.git)`, `git://`,
        /// local paths; GitLab subgroups stay in `owner` (`group/sub`). `provider` is `github`, `gitlab` or "" — from
        /// the host (github.com, gitlab.com) or the config's `providers` entries (whose `host` may carry a path
        /// prefix). `https`/`ssh` are normalized forms (`https://host/owner/repo.git`,
        /// `ssh://git@host/owner/repo.git`).
        ///
        /// Errors: an unparseable URL, a URL carrying a password or token, no repository in the path.
        ///
        /// Example: `let u = git::parse_url("git@github.com:org/fleet.git"); print(u.https);`
        fn parse_url(url: &str) -> Map {
            let d = url::describe(url, &h.config().providers).map_err(|e| fail("git::parse_url", e, None))?;
            let v = super::to_dynamic(&serde_json::to_value(d).expect("url serializes"));
            Ok(v.try_cast::<Map>().unwrap_or_default())
        }

        /// The repository's directory (absolute). `fs::` functions may use it too.
        ///
        /// Example: `print(repo.path());`
        method path(repo: &mut Repo) -> String {
            Ok(repo.inner.dir.display().to_string())
        }

        /// The URL of the repository's `origin` (never with credentials), or "" without one.
        ///
        /// Example: `print(repo.url());`
        method url(repo: &mut Repo) -> String {
            Ok(repo.inner.target.as_ref().map(|t| t.url.to_git()).unwrap_or_default())
        }

        /// `Repo(<path>)`.
        ///
        /// Example: `print(repo);`
        method to_string | to_debug(repo: &mut Repo) -> String {
            Ok(format!("Repo({})", repo.inner.dir.display()))
        }

        /// The remote's default branch (what its HEAD points at), as found at clone time or asked from the remote. For
        /// an empty remote: the branch checked out.
        ///
        /// Errors: no `origin`, the remote is unreachable.
        ///
        /// Example: `let base = repo.default_branch();`
        method default_branch(repo: &mut Repo) -> String {
            default_branch(repo)
        }

        /// The checked-out branch and commit: `#{branch, sha}`; `branch` is `()` when detached, `sha` is `()` before
        /// the first commit.
        ///
        /// Example: `let here = repo.head().branch;`
        method head(repo: &mut Repo) -> Map {
            let (b, s) = worktree::head(&repo.open("repo.head")?).map_err(|e| err("repo.head", e))?;
            Ok(str_map(&[("branch", opt_dyn(b)), ("sha", opt_dyn(s))]))
        }

        /// Switch to `branch`: the local branch, else the remote's branch of that name (fetched), else — with
        /// `#{create: true}` — a new branch at the current commit. Uncommitted changes are kept when they do not
        /// conflict. Returns `#{branch, sha, source}` with `source` `local`, `remote` or `created`. Options: `create`;
        /// `fresh` (start the branch anew at the current commit, ignoring any local or remote branch of that name —
        /// push it with `force`).
        ///
        /// Errors: no such branch (without `create`), conflicting uncommitted changes, invalid name, the remote is
        /// unreachable.
        ///
        /// Example: `repo.checkout("wego/add-podinfo", #{ create: true });`
        method checkout(repo: &mut Repo, branch: &str, #[optional] options: Map) -> Map {
            checkout(h, repo, branch, &options)
        }

        /// Write a file in the work tree (parent directories are created); returns whether its content changed. `path`
        /// is relative to the repository root and may not leave it or touch `.git`.
        ///
        /// Errors: the path leaves the repository or is inside .git; I/O errors.
        ///
        /// Example: `let changed = repo.write("apps/podinfo.yaml", text);`
        method write(repo: &mut Repo, path: &str, text: &str) -> bool {
            worktree::write(&repo.inner.dir, path, text).map_err(|e| err("repo.write", e))
        }

        /// Read a file of the work tree as text, or `()` when it does not exist.
        ///
        /// Errors: the path leaves the repository; not UTF-8.
        ///
        /// Example: `let cfg = repo.read(".wego/config.yaml") ?? "";`
        method read(repo: &mut Repo, path: &str) -> Dynamic {
            Ok(opt_dyn(worktree::read(&repo.inner.dir, path).map_err(|e| err("repo.read", e))?))
        }

        /// Remove a file or directory of the work tree; returns whether anything was there.
        ///
        /// Errors: the path leaves the repository or is inside .git.
        ///
        /// Example: `repo.remove("apps/old.yaml");`
        method remove(repo: &mut Repo, path: &str) -> bool {
            worktree::remove(&repo.inner.dir, path).map_err(|e| err("repo.remove", e))
        }

        /// Names in a directory of the work tree ("" or "." for the root), sorted; directories end with `/`; `.git` is
        /// left out; `[]` when the directory does not exist.
        ///
        /// Errors: the path leaves the repository.
        ///
        /// Example: `for f in repo.list("apps") { print(f); }`
        method list(repo: &mut Repo, #[optional] dir: &str) -> Array {
            let names = worktree::list(&repo.inner.dir, dir).map_err(|e| err("repo.list", e))?;
            Ok(names.into_iter().map(Dynamic::from).collect())
        }

        /// Uncommitted changes against HEAD: `[#{path, status}]` with `status` one of `added`, `modified`, `deleted`,
        /// `renamed`, `typechange`, sorted by path; `[]` when clean.
        ///
        /// Example: `if repo.status().is_empty() { log::ok("nothing to do"); }`
        method status(repo: &mut Repo) -> Array {
            let st = worktree::status(&repo.open("repo.status")?).map_err(|e| err("repo.status", e))?;
            let entry = |(p, s): (String, &str)| Dynamic::from(str_map(&[("path", p.into()), ("status", s.into())]));
            Ok(st.into_iter().map(entry).collect())
        }

        /// A unified diff of the work tree (new files included) against HEAD — what a commit would record; "" when
        /// nothing changed. For `--dry-run`.
        ///
        /// Example: `if args.dry_run { print(repo.diff()); return; }`
        method diff(repo: &mut Repo) -> String {
            worktree::diff(&repo.open("repo.diff")?).map_err(|e| err("repo.diff", e))
        }

        /// Stage every change (new, changed and deleted files) and commit on the current branch. Returns the new
        /// commit's sha, or `()` when nothing changed. Options: `author_name`, `author_email` (or `author: "Name
        /// <email>"`); default: the config's `git.authorName`/`git.authorEmail`.
        ///
        /// Errors: an invalid author.
        ///
        /// Example: `let sha = repo.commit("Add podinfo", #{ author_name: "wego", author_email: "wego@example.com" });`
        method commit(repo: &mut Repo, message: &str, #[optional] options: Map) -> Dynamic {
            commit(h, repo, message, &options)
        }

        /// Push a local branch to the branch of the same name on `origin`. Options: `branch` (default: the checked-out
        /// branch), `force`, `retries` (default 5), `progress` (a `Step` from `log::step`: shows the objects sent).
        /// When the remote branch moved (someone pushed first), wego fetches
        /// it, re-applies its own commits on top (the same file changes; others' commits untouched) and pushes again,
        /// up to `retries` times; if the remote changed the same files, nothing is pushed and the error says so.
        /// Returns `#{branch, sha, rewrites}`.
        ///
        /// Errors: authentication (names the variable to set), unknown ssh host key, conflicting concurrent changes,
        /// rejected by the server (protected branch, hook).
        ///
        /// Example: `repo.push(#{});`
        method push(repo: &mut Repo, #[optional] options: Map) -> Map {
            push(h, repo, &options)
        }
    }
}

/// The auth options, shared by the functions that reach a remote.
const AUTH: &str = "Auth options (any call that reaches a remote): `private_key` (ssh key file; default: ssh-agent, \
                    then ~/.ssh/id_*), `passphrase`, `known_hosts` (default: WEGO_KNOWN_HOSTS, else \
                    ~/.ssh/known_hosts). https tokens come from GITHUB_TOKEN / GITLAB_TOKEN (by the host's provider) \
                    or WEGO_GIT_TOKEN, through a credential callback: never in a URL, .git/config or a message.";

fn default_branch(r: &Repo) -> R<String> {
    const P: &str = "repo.default_branch";
    if let Some(b) = r.inner.default_branch.lock().expect("default branch").clone() {
        return Ok(b);
    }
    let t = r.target(P)?;
    let refs = remote::ls_remote(t, &r.inner.auth).map_err(|e| err(P, e))?;
    let b = match refs.default_branch() {
        Some(b) => b,
        None => worktree::head(&r.open(P)?).map_err(|e| err(P, e))?.0.unwrap_or_else(|| r.inner.unborn_branch.clone()),
    };
    *r.inner.default_branch.lock().expect("default branch") = Some(b.clone());
    Ok(b)
}

fn checkout(h: &Host, r: &Repo, branch: &str, opts: &Map) -> R<Map> {
    const P: &str = "repo.checkout";
    let repo = r.open(P)?;
    debug(h, &format!("checking out {branch} in {}", r.inner.dir.display()));
    let src = worktree::checkout(
        &repo,
        r.inner.target.as_ref(),
        &r.inner.auth,
        branch,
        super::opt_bool(opts, "create"),
        super::opt_bool(opts, "fresh"),
    )
    .map_err(|e| err(P, e))?;
    let (_, sha) = worktree::head(&repo).map_err(|e| err(P, e))?;
    let source = match src {
        worktree::Source::Local => "local",
        worktree::Source::Remote => "remote",
        worktree::Source::Created => "created",
    };
    Ok(str_map(&[("branch", branch.into()), ("sha", opt_dyn(sha)), ("source", source.into())]))
}

fn commit(h: &Host, r: &Repo, msg: &str, opts: &Map) -> R<Dynamic> {
    const P: &str = "repo.commit";
    if msg.trim().is_empty() {
        return Err(fail(P, "the commit message is empty", None));
    }
    let sig = signature(h, opts)?;
    let oid = worktree::commit(&r.open(P)?, msg, &sig).map_err(|e| err(P, e))?;
    if let Some(o) = &oid {
        debug(h, &format!("committed {o} in {}", r.inner.dir.display()));
    }
    Ok(opt_dyn(oid.map(|o| o.to_string())))
}

fn push(h: &Host, r: &Repo, opts: &Map) -> R<Map> {
    const P: &str = "repo.push";
    let repo = r.open(P)?;
    let t = r.target(P)?;
    let branch = match super::opt_str(opts, "branch") {
        Some(b) => b,
        None => worktree::head(&repo)
            .map_err(|e| err(P, e))?
            .0
            .ok_or_else(|| fail(P, "HEAD is detached: there is no branch to push", Some("pass #{branch: \"name\"}")))?,
    };
    let retries = opt_int(opts, "retries").unwrap_or(5).clamp(0, 100) as u32;
    debug(h, &format!("pushing {branch} to {}", t.url.to_git()));
    let step = super::opt_step(opts);
    let on_transfer = |done, total| step.iter().for_each(|s| s.count(done, total, "objects"));
    let p = remote::push(&repo, t, &r.inner.auth, &branch, super::opt_bool(opts, "force"), retries, Some(&on_transfer))
        .map_err(|e| err(P, e))?;
    if p.rewrites > 0 {
        h.session.log.emit(
            super::log::Level::Info,
            "•",
            "0",
            &format!("{branch} moved on the remote: re-applied wego's commit on top ({} time(s))", p.rewrites),
        );
    }
    Ok(str_map(&[("branch", p.branch.into()), ("sha", p.sha.into()), ("rewrites", (p.rewrites as i64).into())]))
}
