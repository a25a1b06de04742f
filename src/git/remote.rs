//! Talking to a remote: list refs, clone (shallow by default), fetch one branch, and push —
//! retrying a push the remote rejected because its branch moved, by re-applying wego's own
//! commits onto the new tip (same file changes, new parents; nobody else's commits are touched).

use std::cell::RefCell;
use std::path::Path;

use git2::build::{CheckoutBuilder, TreeUpdateBuilder};
use git2::{AutotagOption, Direction, FetchOptions, Oid, ProxyOptions, PushOptions, Repository, RepositoryInitOptions};

use super::auth::{self, AuthLog, AuthOpts, Target};
use super::{network_error, GitError};

/// What a remote advertises.
#[derive(Debug, Clone, Default)]
pub struct Refs {
    /// (ref name, sha) in the remote's order.
    pub refs: Vec<(String, String)>,
    /// The ref the remote's HEAD points at (`refs/heads/main`), when it says.
    pub head: Option<String>,
}

impl Refs {
    pub fn has_branch(&self, b: &str) -> bool {
        let name = format!("refs/heads/{b}");
        self.refs.iter().any(|(n, _)| *n == name)
    }

    /// The default branch: the remote HEAD's target, else `main`/`master`, else the first one.
    pub fn default_branch(&self) -> Option<String> {
        let branches: Vec<&str> = self.refs.iter().filter_map(|(n, _)| n.strip_prefix("refs/heads/")).collect();
        self.head
            .as_deref()
            .and_then(|h| h.strip_prefix("refs/heads/"))
            .map(str::to_string)
            .or_else(|| ["main", "master"].into_iter().find(|b| branches.contains(b)).map(str::to_string))
            .or_else(|| branches.first().map(|b| b.to_string()))
    }
}

/// Bound every network operation: 30 s to connect, 2 min without progress on a socket.
fn init_timeouts() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        // SAFETY: these set libgit2 globals without synchronization. They run once, before the
        // first network operation, from the script thread — the only thread that uses libgit2
        // — so nothing reads them concurrently.
        unsafe {
            let _ = git2::opts::set_server_connect_timeout_in_milliseconds(30_000);
            let _ = git2::opts::set_server_timeout_in_milliseconds(120_000);
        }
    });
}

fn proxy<'a>() -> ProxyOptions<'a> {
    init_timeouts();
    let mut p = ProxyOptions::new();
    p.auto();
    p
}

/// `git ls-remote`.
pub fn ls_remote(target: &Target, opts: &AuthOpts) -> Result<Refs, GitError> {
    let log = RefCell::new(AuthLog::default());
    let mut remote = git2::Remote::create_detached(target.url.to_git())?;
    let conn = remote
        .connect_auth(Direction::Fetch, Some(auth::callbacks(target, opts, &log)), Some(proxy()))
        .map_err(|e| network_error("cannot read", target, &log, &e))?;
    let mut out = Refs::default();
    for h in conn.list()? {
        if h.name() == "HEAD" {
            out.head = h.symref_target().map(str::to_string);
        }
        if h.name().ends_with("capabilities^{}") {
            continue;
        }
        out.refs.push((h.name().to_string(), h.oid().to_string()));
    }
    if out.head.is_none() {
        out.head = conn.default_branch().ok().and_then(|b| b.as_str().ok().map(str::to_string));
    }
    Ok(out)
}

/// What a clone found.
#[derive(Debug, Clone)]
pub struct Cloned {
    /// The branch checked out (for an empty remote: the unborn branch HEAD names).
    pub branch: String,
    /// The remote's default branch, when it has one.
    pub default_branch: Option<String>,
}

/// Told how far a transfer is, as (objects done, objects in all), for a progress display.
pub type OnTransfer<'a> = Option<&'a (dyn Fn(u64, u64) + 'a)>;

/// Clone `target` into `dir` (which must not exist or be empty): only `branch` (default: the
/// remote's default branch), `depth` commits deep (0: full history). An empty remote gives an
/// empty repository whose unborn HEAD is `branch` or `unborn_branch` (config `git.defaultBranch`).
pub fn clone(
    target: &Target,
    opts: &AuthOpts,
    dir: &Path,
    branch: Option<&str>,
    unborn_branch: &str,
    depth: u32,
    on_transfer: OnTransfer<'_>,
) -> Result<Cloned, GitError> {
    let refs = ls_remote(target, opts)?;
    let default_branch = refs.default_branch();
    let url = target.url.to_git();
    let want = match branch {
        Some(b) if !refs.refs.is_empty() && !refs.has_branch(b) => {
            return Err(GitError::new(format!("branch `{b}` does not exist on {url}"))
                .help("leave out `branch` to clone the default branch, then create it with `repo.checkout(name, #{create: true})`"))
        }
        Some(b) => b.to_string(),
        None => default_branch.clone().unwrap_or_else(|| unborn_branch.to_string()),
    };
    let mut io = RepositoryInitOptions::new();
    io.initial_head(&want).no_reinit(true).mkpath(true);
    let repo = Repository::init_opts(dir, &io)
        .map_err(|e| GitError::new(format!("cannot create a repository in {}: {}", dir.display(), e.message())))?;
    repo.remote("origin", &url)?;
    if refs.has_branch(&want) {
        let oid = fetch_branch(&repo, target, opts, &want, depth, on_transfer)?
            .ok_or_else(|| GitError::new(format!("{url} did not send branch `{want}`")))?;
        let commit = repo.find_commit(oid)?;
        let mut br = repo.branch(&want, &commit, true)?;
        br.set_upstream(Some(&format!("origin/{want}")))?;
        repo.set_head(&format!("refs/heads/{want}"))?;
        repo.checkout_head(Some(CheckoutBuilder::new().force()))?;
        if default_branch.as_deref() == Some(want.as_str()) {
            repo.reference_symbolic("refs/remotes/origin/HEAD", &format!("refs/remotes/origin/{want}"), true, "clone")?;
        }
    }
    Ok(Cloned { branch: want, default_branch })
}

/// Fetch one branch into `refs/remotes/origin/<branch>`; its new sha, or `None` when the
/// remote has no such branch.
pub fn fetch_branch(
    repo: &Repository,
    target: &Target,
    opts: &AuthOpts,
    branch: &str,
    depth: u32,
    on_transfer: OnTransfer<'_>,
) -> Result<Option<Oid>, GitError> {
    let log = RefCell::new(AuthLog::default());
    let mut remote = repo.find_remote("origin")?;
    let mut cbs = auth::callbacks(target, opts, &log);
    if let Some(on) = on_transfer {
        cbs.transfer_progress(move |p| {
            on(p.received_objects() as u64, p.total_objects() as u64);
            true
        });
    }
    let mut fo = FetchOptions::new();
    fo.remote_callbacks(cbs).download_tags(AutotagOption::None).proxy_options(proxy());
    // libgit2's local transport cannot fetch shallow; a local fetch is cheap in full anyway.
    if depth > 0 && target.url.scheme != super::url::Scheme::File {
        fo.depth(depth as i32);
    }
    let spec = format!("+refs/heads/{branch}:refs/remotes/origin/{branch}");
    remote.fetch(&[&spec], Some(&mut fo), None).map_err(|e| network_error("cannot fetch from", target, &log, &e))?;
    Ok(repo.refname_to_id(&format!("refs/remotes/origin/{branch}")).ok())
}

/// The outcome of a push.
#[derive(Debug, Clone)]
pub struct Pushed {
    pub branch: String,
    pub sha: String,
    /// How many times wego's commits were re-applied onto a moved remote branch.
    pub rewrites: u32,
}

/// Push local `branch` to the same branch on origin. A rejection because the remote moved is
/// handled by fetching, re-applying wego's own commits on the new tip, and pushing again, up to
/// `retries` times. A push updates one ref, so it lands whole or not at all.
pub fn push(
    repo: &Repository,
    target: &Target,
    opts: &AuthOpts,
    branch: &str,
    force: bool,
    retries: u32,
    on_transfer: OnTransfer<'_>,
) -> Result<Pushed, GitError> {
    let local_ref = format!("refs/heads/{branch}");
    let tracking = format!("refs/remotes/origin/{branch}");
    let mut rewrites = 0;
    loop {
        let local = repo.refname_to_id(&local_ref).map_err(|_| {
            GitError::new(format!("there is no local branch `{branch}` to push"))
                .help("commit first, or name another branch")
        })?;
        let spec = if force { format!("+{local_ref}:{local_ref}") } else { format!("{local_ref}:{local_ref}") };
        let Some(reason) = push_once(repo, target, opts, &spec, on_transfer)? else {
            // libgit2 updates the tracking ref after a push; make sure, then record the upstream.
            let _ = repo.reference(&tracking, local, true, "push");
            if let Ok(mut b) = repo.find_branch(branch, git2::BranchType::Local) {
                let _ = b.set_upstream(Some(&format!("origin/{branch}")));
            }
            return Ok(Pushed { branch: branch.into(), sha: local.to_string(), rewrites });
        };
        let refused = || {
            GitError::new(format!("{} refused the push of `{branch}`: {reason}", target.url.to_git()))
                .help("the branch may be protected, or a server hook declined the change")
        };
        if force {
            return Err(refused());
        }
        if rewrites >= retries {
            return Err(GitError::new(format!(
                "cannot push `{branch}`: the remote branch kept moving ({} attempts); nothing was pushed",
                rewrites + 1
            ))
            .help("run the command again"));
        }
        let own = own_commits(repo, local)?;
        let depth = if repo.is_shallow() { 1 } else { 0 };
        let Some(theirs) = fetch_branch(repo, target, opts, branch, depth, on_transfer)? else { return Err(refused()) };
        if theirs == local || repo.graph_descendant_of(local, theirs).unwrap_or(false) {
            // The remote did not move past us: the rejection is about something else.
            return Err(refused());
        }
        rewrite_onto(repo, branch, &own, theirs)?;
        rewrites += 1;
    }
}

/// Push one refspec; `Some(reason)` when the remote (or libgit2's fast-forward check) rejected it.
fn push_once(
    repo: &Repository,
    target: &Target,
    opts: &AuthOpts,
    spec: &str,
    on_transfer: OnTransfer<'_>,
) -> Result<Option<String>, GitError> {
    let log = RefCell::new(AuthLog::default());
    let rejected: RefCell<Option<String>> = RefCell::new(None);
    let mut remote = repo.find_remote("origin")?;
    let mut cbs = auth::callbacks(target, opts, &log);
    cbs.push_update_reference(|_name, status| {
        if let Some(s) = status {
            *rejected.borrow_mut() = Some(s.to_string());
        }
        Ok(())
    });
    if let Some(on) = on_transfer {
        cbs.push_transfer_progress(move |done, total, _bytes| on(done as u64, total as u64));
    }
    let mut po = PushOptions::new();
    po.remote_callbacks(cbs).proxy_options(proxy());
    match remote.push(&[spec], Some(&mut po)) {
        Ok(()) => Ok(rejected.borrow().clone()),
        Err(e) if e.code() == git2::ErrorCode::NotFastForward => {
            Ok(Some("the remote branch has commits this clone does not have".into()))
        }
        Err(e) => {
            let lower = e.message().to_ascii_lowercase();
            if lower.contains("non-fast-forward")
                || lower.contains("fetch first")
                || lower.contains("failed to update ref")
            {
                return Ok(Some(e.message().to_string()));
            }
            Err(network_error("cannot push to", target, &log, &e))
        }
    }
}

/// Commits on `tip` that no remote-tracking ref reaches: the ones this clone made. Oldest first.
fn own_commits(repo: &Repository, tip: Oid) -> Result<Vec<Oid>, GitError> {
    let mut walk = repo.revwalk()?;
    walk.push(tip)?;
    for r in repo.references_glob("refs/remotes/origin/*")?.flatten() {
        if let Some(oid) = r.target() {
            let _ = walk.hide(oid);
        }
    }
    walk.set_sorting(git2::Sort::TOPOLOGICAL | git2::Sort::REVERSE)?;
    let own: Vec<Oid> = walk.collect::<Result<_, _>>()?;
    if own.len() > 100 {
        return Err(GitError::new(format!(
            "refusing to re-apply {} commits onto the moved remote branch (expected only wego's own)",
            own.len()
        )));
    }
    for oid in &own {
        if repo.find_commit(*oid)?.parent_count() > 1 {
            return Err(GitError::new("cannot re-apply a merge commit onto the moved remote branch")
                .help("pull and push yourself, or run the command again"));
        }
    }
    Ok(own)
}

fn entry(tree: Option<&git2::Tree<'_>>, path: &Path) -> Option<(Oid, i32)> {
    tree.and_then(|t| t.get_path(path).ok()).map(|e| (e.id(), e.filemode()))
}

/// Re-create `own` commits on top of `base`: each sets the files it changed to the contents it
/// gave them. A file the remote changed differently is a conflict: nothing is rewritten then.
fn rewrite_onto(repo: &Repository, branch: &str, own: &[Oid], base: Oid) -> Result<(), GitError> {
    let mut tip = repo.find_commit(base)?;
    for oid in own {
        let c = repo.find_commit(*oid)?;
        let parent_tree = if c.parent_count() > 0 { Some(c.parent(0)?.tree()?) } else { None };
        let ctree = c.tree()?;
        let btree = tip.tree()?;
        let diff = repo.diff_tree_to_tree(parent_tree.as_ref(), Some(&ctree), None)?;
        let mut upd = TreeUpdateBuilder::new();
        let mut conflicts = Vec::new();
        for d in diff.deltas() {
            let Some(path) = d.new_file().path().or_else(|| d.old_file().path()) else { continue };
            let old = entry(parent_tree.as_ref(), path);
            let new = (d.status() != git2::Delta::Deleted).then(|| (d.new_file().id(), i32::from(d.new_file().mode())));
            let theirs = entry(Some(&btree), path);
            if theirs != old && theirs != new {
                conflicts.push(path.display().to_string());
                continue;
            }
            match new {
                Some((id, _)) => upd.upsert(path, id, d.new_file().mode()),
                None => upd.remove(path),
            };
        }
        if !conflicts.is_empty() {
            return Err(GitError::new(format!(
                "cannot push `{branch}`: the remote branch moved and changed files wego also changed ({}); nothing was pushed",
                conflicts.join(", ")
            ))
            .help("run the command again to start from the new state of the remote"));
        }
        let tree = repo.find_tree(upd.create_updated(repo, &btree)?)?;
        if tree.id() == btree.id() {
            continue; // the remote already has these changes
        }
        let committer = c.committer();
        let committer = git2::Signature::now(committer.name().unwrap_or("wego"), committer.email().unwrap_or(""))?;
        let msg = c.message_raw().unwrap_or("");
        let n = repo.commit(None, &c.author(), &committer, msg, &tree, &[&tip])?;
        tip = repo.find_commit(n)?;
    }
    // Bring the work tree along first (it diffs against the current HEAD), then move the branch.
    let head_is_branch =
        repo.head().ok().and_then(|h| h.name().ok().map(str::to_string)) == Some(format!("refs/heads/{branch}"));
    if head_is_branch {
        repo.checkout_tree(tip.as_object(), Some(CheckoutBuilder::new().safe()))?;
    }
    repo.reference(&format!("refs/heads/{branch}"), tip.id(), true, "wego: re-applied onto the moved remote branch")?;
    Ok(())
}
