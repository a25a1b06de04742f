//! The one path policy for every file primitive and every override layer.
//!
//! A path is taken relative to a root and must stay beneath it after every symlink along it
//! is followed; a dangling or looping symlink leads nowhere (it does not "exist", and nothing
//! is written through it); nothing is written into a `.git` directory (any component, in any
//! case: `.GIT` is the same directory on case-insensitive file systems), because hooks and
//! `core.*` settings there are code that runs outside `--allow-exec`.

use std::collections::HashSet;
use std::path::{Component, Path, PathBuf};

/// What the caller is about to do with the path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    Read,
    Write,
}

/// Why a path was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PathError {
    /// It (or a symlink on the way) leads outside the root.
    Outside,
    /// A write into `.git`.
    IntoGit,
    /// A symlink on the way points at nothing, or at itself (a loop).
    BrokenLink,
    /// The name is empty or not valid text.
    Empty,
}

impl PathError {
    /// The cause, in the user's words, for `path`.
    pub fn message(&self, path: &str) -> String {
        match self {
            PathError::Outside => format!("`{path}` is outside the workspace"),
            PathError::IntoGit => format!("`{path}` is inside .git"),
            PathError::BrokenLink => format!("`{path}` goes through a symlink that points at nothing or loops"),
            PathError::Empty => "an empty path names no file".to_string(),
        }
    }

    /// The fix.
    pub fn help(&self) -> &'static str {
        match self {
            PathError::Outside => "use a path below the workspace root, without `..` above it or symlinks out of it",
            PathError::IntoGit => "scripts may change the work tree only, never .git (hooks and config there run code)",
            PathError::BrokenLink => "remove or fix the symlink",
            PathError::Empty => "name a file",
        }
    }
}

/// `p` with `.` and `..` removed lexically (`..` never climbs above the start).
pub fn normalize(p: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in p.components() {
        match c {
            Component::ParentDir => {
                out.pop();
            }
            Component::CurDir => {}
            c => out.push(c),
        }
    }
    out
}

/// Whether any component of `p` is `.git`, in any case.
pub fn has_git_component(p: &Path) -> bool {
    p.components()
        .any(|c| matches!(c, Component::Normal(s) if s.to_str().is_some_and(|s| s.eq_ignore_ascii_case(".git"))))
}

/// A path checked against its root.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checked {
    /// The path with every symlink resolved (what to open).
    pub real: PathBuf,
    /// The root it is beneath (canonical).
    pub root: PathBuf,
    /// Something is there (a dangling symlink is not something).
    pub exists: bool,
}

/// Check the absolute, normalized `full` against the canonical `roots` (the first root that
/// contains it wins).
pub fn check(roots: &[PathBuf], full: &Path, access: Access) -> Result<Checked, PathError> {
    if full.as_os_str().is_empty() {
        return Err(PathError::Empty);
    }
    // The longest prefix that is there at all (a dangling link is "there" for lstat).
    let mut prefix = full.to_path_buf();
    let mut rest: Vec<std::ffi::OsString> = Vec::new();
    while std::fs::symlink_metadata(&prefix).is_err() {
        match (prefix.file_name().map(|s| s.to_os_string()), prefix.parent()) {
            (Some(name), Some(parent)) => {
                rest.push(name);
                prefix = parent.to_path_buf();
            }
            _ => break,
        }
    }
    let (mut real, exists) = match prefix.canonicalize() {
        Ok(r) => (r, rest.is_empty()),
        // The prefix ends in a symlink to nothing, or a loop.
        Err(_) if std::fs::symlink_metadata(&prefix).is_ok_and(|m| m.file_type().is_symlink()) => {
            // A dangling link inside the root is still refused for anything but a look.
            if access == Access::Write || !rest.is_empty() {
                return Err(PathError::BrokenLink);
            }
            let parent = prefix.parent().and_then(|p| p.canonicalize().ok()).ok_or(PathError::BrokenLink)?;
            let real = parent.join(prefix.file_name().unwrap_or_default());
            let root = roots.iter().find(|r| real.starts_with(r)).ok_or(PathError::Outside)?;
            return Ok(Checked { real, root: root.clone(), exists: false });
        }
        Err(_) => (prefix.clone(), false),
    };
    for n in rest.into_iter().rev() {
        real.push(n);
    }
    let root = roots.iter().find(|r| real.starts_with(r)).ok_or(PathError::Outside)?;
    if access == Access::Write {
        let below = real.strip_prefix(root).unwrap_or(&real);
        if has_git_component(below) || has_git_component(full.strip_prefix(root).unwrap_or(full)) {
            return Err(PathError::IntoGit);
        }
    }
    Ok(Checked { real, root: root.clone(), exists })
}

/// `rel` (relative, or absolute inside `root`) checked beneath the single `root`.
pub fn beneath(root: &Path, rel: &str, access: Access) -> Result<Checked, PathError> {
    if rel.contains('\0') {
        return Err(PathError::Outside);
    }
    let real_root = root.canonicalize().unwrap_or_else(|_| normalize(root));
    let p = Path::new(rel);
    let full = if p.is_absolute() { normalize(p) } else { normalize(&real_root.join(p)) };
    // `..` that would climb above the root is caught lexically too (normalize cannot tell).
    if !p.is_absolute() && climbs_above(p) {
        return Err(PathError::Outside);
    }
    check(&[real_root], &full, access)
}

/// Whether `..` in a relative path climbs above where it starts.
pub fn climbs_above(p: &Path) -> bool {
    let mut depth: i64 = 0;
    for c in p.components() {
        match c {
            Component::ParentDir => {
                depth -= 1;
                if depth < 0 {
                    return true;
                }
            }
            Component::Normal(_) => depth += 1,
            Component::CurDir => {}
            _ => return true,
        }
    }
    false
}

/// Every file below `dir` (recursively), as (path relative to `dir` with `/`, real path),
/// sorted. Symlinks are followed only while they stay beneath `jail`; each real directory is
/// entered once, so a symlinked loop ends; at most `max_depth` levels.
pub fn walk_files(jail: &Path, dir: &Path, max_depth: usize) -> Vec<(String, PathBuf)> {
    let mut out = Vec::new();
    let jail = jail.canonicalize().unwrap_or_else(|_| jail.to_path_buf());
    let Ok(start) = dir.canonicalize() else {
        return out;
    };
    if !start.starts_with(&jail) {
        return out;
    }
    let mut seen = HashSet::new();
    walk(&jail, &start, "", max_depth, &mut seen, &mut out);
    out.sort();
    out
}

fn walk(
    jail: &Path,
    dir: &Path,
    rel: &str,
    depth: usize,
    seen: &mut HashSet<PathBuf>,
    out: &mut Vec<(String, PathBuf)>,
) {
    if depth == 0 || !seen.insert(dir.to_path_buf()) {
        return;
    }
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    for e in rd.flatten() {
        let Some(name) = e.file_name().to_str().map(str::to_string) else {
            continue;
        };
        let Ok(real) = e.path().canonicalize() else {
            continue; // dangling or looping link
        };
        if !real.starts_with(jail) {
            continue;
        }
        let child = if rel.is_empty() { name } else { format!("{rel}/{name}") };
        if real.is_dir() {
            walk(jail, &real, &child, depth - 1, seen, out);
        } else if real.is_file() {
            out.push((child, real));
        }
    }
}

/// Entry names of `dir`, sorted, directories ending with `/`, leaving out `skip`. A symlink
/// to a directory is listed as a directory; a dangling or looping one as a plain name.
pub fn list_names(dir: &Path, skip: &[&str]) -> std::io::Result<Vec<String>> {
    let mut names: Vec<String> = std::fs::read_dir(dir)?
        .flatten()
        .filter(|e| !skip.iter().any(|s| e.file_name() == *s))
        .map(|e| {
            let n = e.file_name().to_string_lossy().to_string();
            if e.path().is_dir() {
                format!("{n}/")
            } else {
                n
            }
        })
        .collect();
    names.sort();
    Ok(names)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    #[test]
    fn links_out_dangling_links_and_git_are_refused() {
        let d = tempfile::tempdir().unwrap();
        let root = d.path().join("root");
        std::fs::create_dir_all(root.join(".git/hooks")).unwrap();
        std::fs::create_dir_all(root.join("sub")).unwrap();
        symlink("/etc", root.join("out")).unwrap();
        symlink(root.join("nowhere"), root.join("dangling")).unwrap();
        symlink(root.join("loop"), root.join("loop")).unwrap();
        assert_eq!(beneath(&root, "out/passwd", Access::Read).unwrap_err(), PathError::Outside);
        assert_eq!(beneath(&root, "../x", Access::Read).unwrap_err(), PathError::Outside);
        assert_eq!(beneath(&root, "sub/../../x", Access::Read).unwrap_err(), PathError::Outside);
        assert_eq!(beneath(&root, "dangling", Access::Write).unwrap_err(), PathError::BrokenLink);
        assert!(!beneath(&root, "dangling", Access::Read).unwrap().exists);
        assert_eq!(beneath(&root, "dangling/x", Access::Write).unwrap_err(), PathError::BrokenLink);
        assert_eq!(beneath(&root, "loop", Access::Write).unwrap_err(), PathError::BrokenLink);
        for git in [".git/hooks/post-checkout", ".GIT/config", "sub/.Git/x", "./.git/config"] {
            assert_eq!(beneath(&root, git, Access::Write).unwrap_err(), PathError::IntoGit, "{git}");
        }
        assert!(beneath(&root, ".git/config", Access::Read).is_ok());
        let c = beneath(&root, "sub/new/file", Access::Write).unwrap();
        assert!(!c.exists && c.real.ends_with("sub/new/file"));
        assert!(beneath(&root, "sub", Access::Read).unwrap().exists);
    }

    #[test]
    fn walking_a_symlink_loop_ends() {
        let d = tempfile::tempdir().unwrap();
        let root = d.path();
        std::fs::create_dir_all(root.join("a/b")).unwrap();
        std::fs::write(root.join("a/b/f.txt"), "x").unwrap();
        symlink(root.join("a"), root.join("a/b/up")).unwrap();
        symlink("/etc/passwd", root.join("a/pw")).unwrap();
        let files = walk_files(root, &root.join("a"), 32);
        let names: Vec<&str> = files.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["b/f.txt"]);
    }
}
