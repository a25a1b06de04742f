//! Which repos' code the user has allowed to run, like direnv's and mise's allow lists.
//!
//! A repo's `.wego/scripts/` and `.wego/stdlib/` are code with the user's tokens in reach, so
//! they run only once the user has said so with `wego trust`. The allowance is pinned to a
//! hash of all that code: any change needs trusting again. The list lives in the user's own
//! config dir (`$XDG_CONFIG_HOME/wego/trust.yaml`), never in a repo.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// The sub-directories of a layer that hold code (templates are data and need no trust).
pub const CODE_DIRS: [&str; 2] = ["scripts", "stdlib"];

/// Layer files larger than this are not read (scripts and templates alike).
pub const MAX_FILE_BYTES: u64 = 4 << 20;

/// How deep a layer's directories are searched.
pub const MAX_DEPTH: usize = 16;

/// What a repo is known by: its work tree's path, or (for a repo a command cloned) its URL.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Key(pub String);

impl Key {
    /// A work tree, by its canonical path.
    pub fn dir(root: &Path) -> Key {
        Key(root.canonicalize().unwrap_or_else(|_| root.to_path_buf()).display().to_string())
    }

    /// A remote, by its normalized URL (so `git@host:o/r.git` and `https://host/o/r` agree).
    pub fn url(raw: &str) -> Result<Key, String> {
        let d = crate::git::url::describe(raw, &[])?;
        if d.https.is_empty() {
            return Err(format!("`{raw}` is not a remote URL"));
        }
        Ok(Key(d.https))
    }

    /// The argument to `wego trust` that trusts this key, quoted for a POSIX shell if needed.
    pub fn command(&self) -> String {
        let s = &self.0;
        let plain = !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || "/._-:@+=,".contains(c));
        if plain {
            format!("wego trust {s}")
        } else {
            format!("wego trust '{}'", s.replace('\'', "'\\''"))
        }
    }
}

/// The code of one layer: every file under `scripts/` and `stdlib/`, by `dir/relative path`.
#[derive(Debug, Clone, Default)]
pub struct Code {
    pub files: BTreeMap<String, String>,
    /// `sha256:<hex>` over every path and its bytes.
    pub hash: String,
}

impl Code {
    /// Read the code of the layer at `root` (a `.wego/` directory), following symlinks only
    /// while they stay beneath `jail`.
    pub fn read(root: &Path, jail: &Path) -> Code {
        let mut files = BTreeMap::new();
        let mut h = Sha256::new();
        for dir in CODE_DIRS {
            for (rel, real) in crate::paths::walk_files(jail, &root.join(dir), MAX_DEPTH) {
                let too_big = std::fs::metadata(&real).map(|m| m.len() > MAX_FILE_BYTES).unwrap_or(true);
                let Ok(bytes) = (if too_big { Ok(Vec::new()) } else { std::fs::read(&real) }) else {
                    continue;
                };
                let name = format!("{dir}/{rel}");
                // Length-prefixed, so no two different layers hash alike.
                h.update((name.len() as u64).to_le_bytes());
                h.update(name.as_bytes());
                h.update((bytes.len() as u64).to_le_bytes());
                h.update(&bytes);
                files.insert(name, String::from_utf8_lossy(&bytes).into_owned());
            }
        }
        Code { files, hash: format!("sha256:{}", hex::encode(h.finalize())) }
    }
}

/// Whether a layer's code may run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Trusted,
    /// Trusted once, but the code changed since.
    Changed,
    Untrusted,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Entry {
    /// A work tree's path or a remote's normalized URL.
    pub repo: String,
    /// The hash of the code that was trusted.
    pub hash: String,
    /// How many code files that was.
    #[serde(default)]
    pub files: usize,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct FileFormat {
    #[serde(default)]
    trusted: Vec<Entry>,
}

/// The user's allow list.
#[derive(Debug, Clone)]
pub struct Store {
    path: PathBuf,
    entries: Vec<Entry>,
}

impl Store {
    /// `<user config dir>/trust.yaml`.
    pub fn file_in(user_dir: &Path) -> PathBuf {
        user_dir.join("trust.yaml")
    }

    /// Load the list; a missing file is an empty list.
    pub fn load(path: &Path) -> Result<Store, String> {
        let entries = match std::fs::read_to_string(path) {
            Ok(text) if text.trim().is_empty() => vec![],
            Ok(text) => {
                serde_saphyr::from_str::<FileFormat>(&text)
                    .map_err(|e| format!("{}: {}", path.display(), e.to_string().lines().next().unwrap_or("")))?
                    .trusted
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => vec![],
            Err(e) => return Err(format!("cannot read {}: {e}", path.display())),
        };
        Ok(Store { path: path.to_path_buf(), entries })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn entries(&self) -> &[Entry] {
        &self.entries
    }

    pub fn status(&self, key: &Key, code: &Code) -> Status {
        match self.entries.iter().find(|e| e.repo == key.0) {
            Some(e) if e.hash == code.hash => Status::Trusted,
            Some(_) => Status::Changed,
            None => Status::Untrusted,
        }
    }

    /// Trust `code` of `key`; whether anything changed.
    pub fn trust(&mut self, key: &Key, code: &Code) -> bool {
        let entry = Entry { repo: key.0.clone(), hash: code.hash.clone(), files: code.files.len() };
        match self.entries.iter_mut().find(|e| e.repo == key.0) {
            Some(e) if *e == entry => false,
            Some(e) => {
                *e = entry;
                true
            }
            None => {
                self.entries.push(entry);
                self.entries.sort_by(|a, b| a.repo.cmp(&b.repo));
                true
            }
        }
    }

    /// Forget `key`; whether it was there.
    pub fn revoke(&mut self, key: &Key) -> bool {
        let before = self.entries.len();
        self.entries.retain(|e| e.repo != key.0);
        before != self.entries.len()
    }

    /// Write the list (to a temporary file first, so a crash never leaves half a list).
    pub fn save(&self) -> Result<(), String> {
        let text = format!(
            "# Repos whose .wego/scripts and .wego/stdlib wego may run, pinned to a hash of that code.\n# Managed by `wego trust`; see `wego trust --help`.\n{}",
            serde_saphyr::to_string(&FileFormat { trusted: self.entries.clone() }).map_err(|e| e.to_string())?
        );
        let dir = self.path.parent().unwrap_or(Path::new("."));
        std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        let tmp =
            tempfile::NamedTempFile::new_in(dir).map_err(|e| format!("cannot write in {}: {e}", dir.display()))?;
        std::fs::write(tmp.path(), text).map_err(|e| format!("cannot write {}: {e}", tmp.path().display()))?;
        tmp.persist(&self.path).map_err(|e| format!("cannot write {}: {e}", self.path.display()))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn changed_code_is_no_longer_trusted() {
        let d = tempfile::tempdir().unwrap();
        let layer = d.path().join(".wego");
        std::fs::create_dir_all(layer.join("scripts")).unwrap();
        std::fs::write(layer.join("scripts/add.rhai"), "print(1);").unwrap();
        let code = Code::read(&layer, d.path());
        assert_eq!(code.files.len(), 1);
        let mut s = Store::load(&d.path().join("cfg/trust.yaml")).unwrap();
        let key = Key::dir(d.path());
        assert_eq!(s.status(&key, &code), Status::Untrusted);
        assert!(s.trust(&key, &code));
        assert!(!s.trust(&key, &code), "trusting twice changes nothing");
        s.save().unwrap();
        let s = Store::load(&d.path().join("cfg/trust.yaml")).unwrap();
        assert_eq!(s.status(&key, &code), Status::Trusted);
        std::fs::write(layer.join("stdlib.rhai"), "not code: outside scripts/ and stdlib/").unwrap();
        assert_eq!(s.status(&key, &Code::read(&layer, d.path())), Status::Trusted);
        std::fs::create_dir_all(layer.join("stdlib")).unwrap();
        std::fs::write(layer.join("stdlib/x.rhai"), "fn f() {}").unwrap();
        assert_eq!(s.status(&key, &Code::read(&layer, d.path())), Status::Changed);
    }

    #[test]
    fn url_forms_of_one_repo_share_a_key() {
        let a = Key::url("git@github.com:Org/fleet.git").unwrap();
        let b = Key::url("https://github.com/Org/fleet").unwrap();
        assert_eq!(a, b);
        assert!(Key::url("/tmp/x").is_err());
        assert_eq!(Key("/a b".into()).command(), "wego trust '/a b'");
    }
}
