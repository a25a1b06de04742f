//! The work tree of a checked-out repository: files (confined to the repository), status,
//! commit, diff, branches.

use std::path::{Component, Path, PathBuf};

use git2::{IndexAddOption, Oid, Repository, Signature, StatusOptions};

use super::auth::{AuthOpts, Target};
use super::{remote, GitError};
use crate::paths::{self, Access, PathError};

/// `rel` inside `root`: relative, no `..` above the root, not inside `.git` (any component,
/// any case), and not through a symlink that leads outside or to nothing. The one policy of
/// [`crate::paths`]; the returned path has its symlinks resolved.
pub fn resolve(root: &Path, rel: &str, allow_root: bool) -> Result<PathBuf, GitError> {
    let p = Path::new(rel);
    lexical(rel, allow_root)?;
    if p.components().all(|c| matches!(c, Component::CurDir)) {
        return Ok(root.canonicalize().unwrap_or_else(|_| root.to_path_buf()));
    }
    paths::beneath(root, rel, Access::Write).map(|c| c.real).map_err(|e| refused(rel, e))
}

fn refused(rel: &str, e: PathError) -> GitError {
    match e {
        PathError::Outside => GitError::new(format!("`{rel}` is outside the repository"))
            .help("use a path relative to the repository root, without `..` above it"),
        PathError::IntoGit => {
            GitError::new(format!("`{rel}` is inside .git")).help("scripts may change the work tree only")
        }
        e => GitError::new(e.message(rel)).help(e.help()),
    }
}

/// The checks that need no file system: relative, not above the root, not into `.git`.
fn lexical(rel: &str, allow_root: bool) -> Result<(), GitError> {
    let p = Path::new(rel);
    if p.is_absolute() || rel.contains('\0') || paths::climbs_above(p) {
        return Err(refused(rel, PathError::Outside));
    }
    if paths::has_git_component(p) {
        return Err(refused(rel, PathError::IntoGit));
    }
    if !allow_root && p.components().all(|c| matches!(c, Component::CurDir)) {
        return Err(GitError::new("an empty path names no file"));
    }
    Ok(())
}

/// Open the repository at `dir` with `dir` as its work tree, whatever `core.worktree` in its
/// config says: a cloned repo's config is the remote's to write, and a `core.worktree`
/// pointing elsewhere would widen what scripts may change.
pub fn open(dir: &Path) -> Result<Repository, git2::Error> {
    let repo = Repository::open(dir)?;
    if !repo.is_bare() {
        let want = dir.canonicalize().unwrap_or_else(|_| dir.to_path_buf());
        let have = repo.workdir().map(|w| w.canonicalize().unwrap_or_else(|_| w.to_path_buf()));
        if have.as_deref() != Some(want.as_path()) && want.join(".git").exists() {
            repo.set_workdir(&want, false)?;
        }
    }
    Ok(repo)
}

fn io(path: &str, e: std::io::Error) -> GitError {
    GitError::new(format!("{path}: {e}"))
}

/// Write `text` to `rel`, creating directories; whether the content changed.
pub fn write(root: &Path, rel: &str, text: &str) -> Result<bool, GitError> {
    let p = resolve(root, rel, false)?;
    if p.is_dir() {
        return Err(GitError::new(format!("`{rel}` is a directory")));
    }
    if std::fs::read(&p).ok().as_deref() == Some(text.as_bytes()) {
        return Ok(false);
    }
    if let Some(dir) = p.parent() {
        std::fs::create_dir_all(dir).map_err(|e| io(rel, e))?;
    }
    std::fs::write(&p, text).map_err(|e| io(rel, e))?;
    Ok(true)
}

/// The text of `rel`, or `None` when there is no such file.
pub fn read(root: &Path, rel: &str) -> Result<Option<String>, GitError> {
    let p = resolve(root, rel, false)?;
    match std::fs::read(&p) {
        Ok(bytes) => {
            String::from_utf8(bytes).map(Some).map_err(|_| GitError::new(format!("`{rel}` is not UTF-8 text")))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) if p.is_dir() => Err(GitError::new(format!("`{rel}` is a directory: {e}"))),
        Err(e) => Err(io(rel, e)),
    }
}

/// Remove a file or a directory tree; whether anything was there. A symlink is removed
/// itself, never what it points at (so a dangling one can be cleaned up).
pub fn remove(root: &Path, rel: &str) -> Result<bool, GitError> {
    lexical(rel, false)?;
    let p = paths::normalize(Path::new(rel));
    let (Some(name), parent) = (p.file_name(), p.parent().and_then(|d| d.to_str()).unwrap_or("")) else {
        return Err(GitError::new("an empty path names no file"));
    };
    let dir = resolve(root, if parent.is_empty() { "." } else { parent }, true)?;
    let p = dir.join(name);
    let meta = match std::fs::symlink_metadata(&p) {
        Ok(m) => m,
        Err(_) => return Ok(false),
    };
    if meta.is_dir() {
        std::fs::remove_dir_all(&p).map_err(|e| io(rel, e))?;
    } else {
        std::fs::remove_file(&p).map_err(|e| io(rel, e))?;
    }
    Ok(true)
}

/// Entry names of directory `rel` ("" or "." for the root), sorted, directories with a
/// trailing `/`, `.git` left out; empty when the directory does not exist.
pub fn list(root: &Path, rel: &str) -> Result<Vec<String>, GitError> {
    let p = resolve(root, rel, true)?;
    match crate::paths::list_names(&p, &[".git"]) {
        Ok(names) => Ok(names),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(vec![]),
        Err(e) => Err(io(rel, e)),
    }
}

/// Changes in the work tree (and index) against HEAD: (path, `added`|`modified`|`deleted`|
/// `renamed`|`typechange`), sorted by path. Untracked files count as added.
pub fn status(repo: &Repository) -> Result<Vec<(String, &'static str)>, GitError> {
    let mut so = StatusOptions::new();
    so.include_untracked(true).recurse_untracked_dirs(true).include_ignored(false).renames_head_to_index(false);
    let st = repo.statuses(Some(&mut so))?;
    let mut out: Vec<(String, &'static str)> = st
        .iter()
        .filter_map(|e| {
            let s = e.status();
            let kind = if s.intersects(git2::Status::WT_NEW | git2::Status::INDEX_NEW) {
                "added"
            } else if s.intersects(git2::Status::WT_DELETED | git2::Status::INDEX_DELETED) {
                "deleted"
            } else if s.intersects(git2::Status::WT_RENAMED | git2::Status::INDEX_RENAMED) {
                "renamed"
            } else if s.intersects(git2::Status::WT_TYPECHANGE | git2::Status::INDEX_TYPECHANGE) {
                "typechange"
            } else if s.intersects(git2::Status::WT_MODIFIED | git2::Status::INDEX_MODIFIED) {
                "modified"
            } else {
                return None;
            };
            e.path().ok().map(|p| (p.to_string(), kind))
        })
        .collect();
    out.sort();
    Ok(out)
}

fn head_tree(repo: &Repository) -> Result<Option<git2::Tree<'_>>, GitError> {
    match repo.head() {
        Ok(h) => Ok(Some(h.peel_to_tree()?)),
        Err(e) if matches!(e.code(), git2::ErrorCode::UnbornBranch | git2::ErrorCode::NotFound) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// Stage everything (additions, changes, deletions) and commit on the current branch.
/// `None` when the tree equals HEAD's (nothing to commit).
pub fn commit(repo: &Repository, message: &str, author: &Signature<'_>) -> Result<Option<Oid>, GitError> {
    let mut index = repo.index()?;
    index.add_all(["*"], IndexAddOption::DEFAULT, None)?;
    index.update_all(["*"], None)?;
    index.write()?;
    let tree_id = index.write_tree()?;
    let parent = match repo.head() {
        Ok(h) => Some(h.peel_to_commit()?),
        Err(e) if matches!(e.code(), git2::ErrorCode::UnbornBranch | git2::ErrorCode::NotFound) => None,
        Err(e) => return Err(e.into()),
    };
    let unchanged = match &parent {
        Some(p) => p.tree_id() == tree_id,
        None => repo.find_tree(tree_id)?.is_empty(),
    };
    if unchanged {
        return Ok(None);
    }
    let tree = repo.find_tree(tree_id)?;
    let parents: Vec<&git2::Commit<'_>> = parent.iter().collect();
    Ok(Some(repo.commit(Some("HEAD"), author, author, message, &tree, &parents)?))
}

/// A unified diff of the work tree (new files included) against HEAD.
pub fn diff(repo: &Repository) -> Result<String, GitError> {
    let tree = head_tree(repo)?;
    let mut opts = git2::DiffOptions::new();
    opts.include_untracked(true).recurse_untracked_dirs(true).show_untracked_content(true);
    let d = repo.diff_tree_to_workdir_with_index(tree.as_ref(), Some(&mut opts))?;
    let mut out = String::new();
    d.print(git2::DiffFormat::Patch, |_, _, line| {
        if matches!(line.origin(), '+' | '-' | ' ') {
            out.push(line.origin());
        }
        out.push_str(&String::from_utf8_lossy(line.content()));
        true
    })?;
    Ok(out)
}

/// The checked-out branch (`None` when detached) and commit (`None` before the first commit).
pub fn head(repo: &Repository) -> Result<(Option<String>, Option<String>), GitError> {
    match repo.head() {
        Ok(h) => {
            let branch = if h.is_branch() { h.shorthand().ok().map(str::to_string) } else { None };
            Ok((branch, h.target().map(|o| o.to_string())))
        }
        Err(e) if matches!(e.code(), git2::ErrorCode::UnbornBranch | git2::ErrorCode::NotFound) => {
            let name = repo
                .find_reference("HEAD")?
                .symbolic_target()?
                .map(|t| t.trim_start_matches("refs/heads/").to_string());
            Ok((name, None))
        }
        Err(e) => Err(e.into()),
    }
}

/// Where a checked-out branch came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    Local,
    Remote,
    Created,
}

/// Switch to `branch`: a local branch, else the remote's branch of that name (fetched), else,
/// with `create`, a new branch at the current commit. Uncommitted changes are carried over
/// when they do not conflict; otherwise the switch is refused.
pub fn checkout(
    repo: &Repository,
    remote_target: Option<&Target>,
    opts: &AuthOpts,
    branch: &str,
    create: bool,
    fresh: bool,
) -> Result<Source, GitError> {
    let refname = format!("refs/heads/{branch}");
    if !git2::Branch::name_is_valid(branch)? {
        return Err(GitError::new(format!("`{branch}` is not a valid branch name")));
    }
    let switch = |repo: &Repository, oid: Oid| -> Result<(), GitError> {
        let commit = repo.find_commit(oid)?;
        repo.checkout_tree(commit.as_object(), Some(git2::build::CheckoutBuilder::new().safe())).map_err(|e| {
            GitError::new(format!("cannot switch to `{branch}`: {}", e.message()))
                .help("commit or remove the uncommitted changes first")
        })?;
        repo.set_head(&refname)?;
        Ok(())
    };
    if fresh {
        // A branch started anew at the current commit, whatever a local or remote branch of the
        // same name holds (a merged work branch kept on the remote, say); pushed with force.
        let oid = repo.head().ok().and_then(|h| h.target());
        match oid {
            Some(oid) => {
                repo.branch(branch, &repo.find_commit(oid)?, true)?;
                repo.set_head(&refname)?;
            }
            None => repo.set_head(&refname)?,
        }
        return Ok(Source::Created);
    }
    if let Ok(oid) = repo.refname_to_id(&refname) {
        switch(repo, oid)?;
        return Ok(Source::Local);
    }
    if let Some(t) = remote_target {
        let refs = remote::ls_remote(t, opts)?;
        if refs.has_branch(branch) {
            let depth = if repo.is_shallow() { 1 } else { 0 };
            let oid = remote::fetch_branch(repo, t, opts, branch, depth, None)?
                .ok_or_else(|| GitError::new(format!("the remote did not send branch `{branch}`")))?;
            let mut b = repo.branch(branch, &repo.find_commit(oid)?, false)?;
            b.set_upstream(Some(&format!("origin/{branch}")))?;
            switch(repo, oid)?;
            return Ok(Source::Remote);
        }
    }
    if !create {
        return Err(GitError::new(format!("there is no branch `{branch}`, locally or on the remote"))
            .help("pass #{create: true} to create it"));
    }
    match repo.head().ok().and_then(|h| h.target()) {
        Some(oid) => {
            repo.branch(branch, &repo.find_commit(oid)?, false)?;
            repo.set_head(&refname)?;
        }
        // Nothing committed yet: the branch is born with the first commit.
        None => repo.set_head(&refname)?,
    }
    Ok(Source::Created)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_stay_in_the_work_tree() {
        let d = tempfile::tempdir().unwrap();
        std::fs::create_dir(d.path().join(".git")).unwrap();
        assert!(resolve(d.path(), "a/b.yaml", false).is_ok());
        assert!(resolve(d.path(), "a/../b.yaml", false).is_ok());
        for bad in ["../x", "/etc/passwd", "a/../../x", ".git/config", "./.git/hooks/pre-commit", ""] {
            assert!(resolve(d.path(), bad, false).is_err(), "{bad}");
        }
        std::os::unix::fs::symlink("/tmp", d.path().join("link")).unwrap();
        assert!(resolve(d.path(), "link/x", false).is_err());
        assert!(resolve(d.path(), ".", true).is_ok());
    }
}
