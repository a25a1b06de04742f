//! Credentials and host verification for git transports.
//!
//! - https: a token from the environment, handed to libgit2 through the credential callback
//!   (never in a URL, so never in `.git/config` or an error), asked for only when the server
//!   challenges; a rejected token is not retried. A token only goes to the host it belongs to
//!   (`GITHUB_TOKEN` to GitHub hosts, `GITLAB_TOKEN` to GitLab hosts, `WEGO_GIT_TOKEN` to the
//!   remote wego was pointed at), over https: plain http needs `allowHttp: true` on the host's
//!   `providers:` entry, and a server that redirected to another scheme, host or port is sent
//!   nothing.
//! - ssh: a key file given explicitly, else the ssh-agent, else the usual `~/.ssh/id_*` files,
//!   each tried once; the host key is checked against known_hosts ourselves (hashed entries,
//!   patterns, `@revoked`), and an unknown or changed key refuses the connection.

use std::cell::RefCell;
use std::path::PathBuf;

use base64::Engine as _;
use git2::{CertificateCheckStatus, Cred, CredentialType, RemoteCallbacks};
use hmac::{Hmac, Mac};
use sha2::Digest;

use super::url::{GitUrl, Scheme};
use crate::secrets;

/// Options affecting authentication, from the script's options map.
#[derive(Debug, Clone, Default)]
pub struct AuthOpts {
    /// A private key file for ssh (instead of the agent).
    pub private_key: Option<PathBuf>,
    /// Its passphrase, if it has one.
    pub passphrase: Option<String>,
    /// A known_hosts file (instead of `WEGO_KNOWN_HOSTS` or `~/.ssh/known_hosts`).
    pub known_hosts: Option<PathBuf>,
}

/// The remote being talked to.
#[derive(Debug, Clone)]
pub struct Target {
    pub url: GitUrl,
    /// `github`, `gitlab` or "" (decides which token variable is used).
    pub provider: String,
    /// The user opted in to sending credentials over plain http to this host (`allowHttp` on
    /// its `providers:` entry).
    pub allow_http: bool,
}

/// What happened while connecting, to explain a failure precisely.
#[derive(Debug, Default)]
pub struct AuthLog {
    /// The server asked for credentials and no token was set.
    pub https_missing: bool,
    /// The token from this variable was sent and rejected.
    pub https_rejected: Option<&'static str>,
    /// The token from this variable was sent.
    pub https_sent: Option<&'static str>,
    /// The server asked for credentials over plain http, and the user did not opt in.
    pub http_refused: bool,
    /// The server asking for credentials was not the remote's (a redirect): where it was.
    pub redirected_to: Option<String>,
    https_asks: u32,
    /// ssh methods tried, in order ("key file ~/.ssh/x", "ssh-agent").
    pub ssh_tried: Vec<String>,
    /// Every ssh method was tried and refused.
    pub ssh_exhausted: bool,
    ssh_next: usize,
    /// Why the host key was refused.
    pub host_key_error: Option<(String, String)>,
}

enum SshMethod {
    KeyFile(PathBuf),
    Agent,
}

fn ssh_methods(opts: &AuthOpts) -> Vec<SshMethod> {
    if let Some(k) = &opts.private_key {
        return vec![SshMethod::KeyFile(k.clone())];
    }
    let mut m = Vec::new();
    if std::env::var_os("SSH_AUTH_SOCK").is_some_and(|s| !s.is_empty()) {
        m.push(SshMethod::Agent);
    }
    if let Some(home) = dirs::home_dir() {
        for name in ["id_ed25519", "id_ecdsa", "id_rsa"] {
            let p = home.join(".ssh").join(name);
            if p.is_file() {
                m.push(SshMethod::KeyFile(p));
            }
        }
    }
    m
}

/// Callbacks for one connection. `log` records what happened for [`super::GitError`].
pub fn callbacks<'a>(target: &'a Target, opts: &'a AuthOpts, log: &'a RefCell<AuthLog>) -> RemoteCallbacks<'a> {
    let mut cbs = RemoteCallbacks::new();
    let methods = ssh_methods(opts);
    cbs.credentials(move |url, user_from_url, allowed| {
        let mut log = log.borrow_mut();
        if allowed.contains(CredentialType::USER_PASS_PLAINTEXT) {
            // libgit2 passes the URL of the server that challenged, which after a redirect is
            // no longer the remote's: a token for one host must not reach another.
            if let Some(there) = foreign_server(&target.url, url) {
                log.redirected_to = Some(there);
                return Err(git2::Error::from_str("not sending credentials to a server the remote redirected to"));
            }
            if target.url.scheme != Scheme::Https && !target.allow_http {
                log.http_refused = true;
                return Err(git2::Error::from_str("not sending credentials over plain http"));
            }
            log.https_asks += 1;
            let Some(token) = secrets::git_token(&target.provider) else {
                log.https_missing = true;
                return Err(git2::Error::from_str("authentication required and no token is set"));
            };
            if log.https_asks > 1 {
                log.https_rejected = Some(token.var);
                return Err(git2::Error::from_str("the token was rejected"));
            }
            log.https_sent = Some(token.var);
            let user = target.url.user.clone().unwrap_or_else(|| match target.provider.as_str() {
                "gitlab" => "oauth2".to_string(),
                _ => "x-access-token".to_string(),
            });
            return Cred::userpass_plaintext(&user, token.expose());
        }
        let user =
            user_from_url.map(str::to_string).or_else(|| target.url.user.clone()).unwrap_or_else(|| "git".into());
        if allowed.contains(CredentialType::SSH_KEY) {
            let Some(method) = methods.get(log.ssh_next) else {
                log.ssh_exhausted = true;
                return Err(git2::Error::from_str("no ssh credentials left to try"));
            };
            log.ssh_next += 1;
            return match method {
                SshMethod::KeyFile(p) => {
                    log.ssh_tried.push(format!("key file {}", p.display()));
                    Cred::ssh_key(&user, None, p, opts.passphrase.as_deref())
                }
                SshMethod::Agent => {
                    log.ssh_tried.push("ssh-agent".into());
                    Cred::ssh_key_from_agent(&user)
                }
            };
        }
        if allowed.contains(CredentialType::USERNAME) {
            return Cred::username(&user);
        }
        Err(git2::Error::from_str("the server asked for a kind of credentials wego does not support"))
    });
    cbs.certificate_check(move |cert, _host| {
        let Some(hk) = cert.as_hostkey() else {
            // TLS: libgit2 verifies the certificate chain against the system's roots.
            return Ok(CertificateCheckStatus::CertificatePassthrough);
        };
        let verdict = match (hk.hostkey(), hk.hostkey_type()) {
            (Some(blob), Some(kind)) => verify_host_key(&target.url, opts, kind.name(), blob),
            _ => Err((
                format!("cannot verify the ssh host key of {}: no raw key available", target.url.known_hosts_name()),
                "use an https URL instead".to_string(),
            )),
        };
        match verdict {
            Ok(()) => Ok(CertificateCheckStatus::CertificateOk),
            Err((msg, help)) => {
                let e = git2::Error::from_str(&msg);
                log.borrow_mut().host_key_error = Some((msg, help));
                Err(e)
            }
        }
    });
    cbs
}

/// `Some(scheme://host:port)` of `asked` when it is not the server of `remote` (other scheme,
/// host or port, or unparsable); `None` when it is the same server.
fn foreign_server(remote: &GitUrl, asked: &str) -> Option<String> {
    let origin = |scheme: &str, host: &str, port: Option<u16>| {
        let default = match scheme {
            "https" => 443,
            "http" => 80,
            _ => 0,
        };
        (scheme.to_ascii_lowercase(), host.trim_matches(['[', ']']).to_ascii_lowercase(), port.unwrap_or(default))
    };
    let Ok(u) = url::Url::parse(asked) else { return Some("an unparsable URL".into()) };
    let theirs = origin(u.scheme(), u.host_str().unwrap_or(""), u.port());
    let ours = origin(remote.scheme.as_str(), &remote.host, remote.port);
    (theirs != ours).then(|| format!("{}://{}:{}", theirs.0, theirs.1, theirs.2))
}

/// SHA256 fingerprint as OpenSSH prints it.
pub fn fingerprint(blob: &[u8]) -> String {
    let digest = sha2::Sha256::digest(blob);
    format!("SHA256:{}", base64::engine::general_purpose::STANDARD_NO_PAD.encode(digest))
}

/// The files to look in, and whether they were named explicitly (then they must exist).
pub fn known_hosts_files(opts: &AuthOpts) -> (Vec<PathBuf>, bool) {
    if let Some(p) = &opts.known_hosts {
        return (vec![p.clone()], true);
    }
    if let Some(p) = std::env::var_os("WEGO_KNOWN_HOSTS").filter(|p| !p.is_empty()) {
        return (vec![PathBuf::from(p)], true);
    }
    let mut v = Vec::new();
    if let Some(home) = dirs::home_dir() {
        v.push(home.join(".ssh/known_hosts"));
    }
    v.push(PathBuf::from("/etc/ssh/ssh_known_hosts"));
    (v, false)
}

fn verify_host_key(url: &GitUrl, opts: &AuthOpts, kind: &str, blob: &[u8]) -> Result<(), (String, String)> {
    let name = url.known_hosts_name();
    let fp = fingerprint(blob);
    let (files, explicit) = known_hosts_files(opts);
    let mut verdict = Check::Unknown;
    for f in &files {
        match std::fs::read_to_string(f) {
            Ok(text) => match check(&text, &name, kind, blob) {
                Check::Match => return Ok(()),
                Check::Unknown => {}
                v => verdict = v,
            },
            Err(e) if explicit => {
                return Err((
                    format!("cannot read the known_hosts file {}: {e}", f.display()),
                    "point WEGO_KNOWN_HOSTS or the `known_hosts` option at an existing file".into(),
                ))
            }
            Err(_) => {}
        }
    }
    let list = files.iter().map(|f| f.display().to_string()).collect::<Vec<_>>().join(", ");
    let scan = match url.port {
        Some(p) if p != 22 => format!("ssh-keyscan -p {p} {}", url.host),
        _ => format!("ssh-keyscan {}", url.host),
    };
    Err(match verdict {
        Check::Mismatch => (
            format!(
                "the ssh host key of {name} does not match the one in known_hosts ({list}); it offered {kind} {fp}. Someone may be intercepting the connection, or the host key was changed"
            ),
            "check the new key with the server's administrator before replacing the old entry".into(),
        ),
        Check::Revoked => (
            format!("the ssh host key of {name} ({kind} {fp}) is marked @revoked in known_hosts ({list})"),
            "the server's key was revoked: ask its administrator".into(),
        ),
        _ => (
            format!("the ssh host key of {name} is unknown: {kind} {fp} is not in known_hosts ({list})"),
            format!(
                "if that fingerprint is the server's, add it: `{scan} >> ~/.ssh/known_hosts` (or set WEGO_KNOWN_HOSTS / the `known_hosts` option to a file that lists it)"
            ),
        ),
    })
}

#[derive(Debug, PartialEq, Eq)]
enum Check {
    Match,
    Mismatch,
    Revoked,
    Unknown,
}

/// Look `name` (`host` or `[host]:port`) up in known_hosts `text`.
fn check(text: &str, name: &str, kind: &str, blob: &[u8]) -> Check {
    let mut result = Check::Unknown;
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let mut fields = line.split_whitespace();
        let mut first = fields.next().unwrap_or("");
        let marker = if first.starts_with('@') {
            let m = first;
            first = fields.next().unwrap_or("");
            Some(m)
        } else {
            None
        };
        let (Some(ktype), Some(key64)) = (fields.next(), fields.next()) else { continue };
        if !hosts_match(first, name) {
            continue;
        }
        let Ok(key) = base64::engine::general_purpose::STANDARD.decode(key64) else { continue };
        match marker {
            Some("@revoked") if key == blob => return Check::Revoked,
            Some(_) => continue,
            None if ktype == kind && key == blob => result = Check::Match,
            None if ktype == kind && result != Check::Match => result = Check::Mismatch,
            None => {}
        }
    }
    result
}

/// Whether `text` (known_hosts lines) vouches for the key `kind`/`blob` of `name`: a plain
/// entry with exactly that key, and no `@revoked` entry for it.
pub fn vouches_for(text: &str, name: &str, kind: &str, blob: &[u8]) -> bool {
    check(text, name, kind, blob) == Check::Match
}

/// The entries of `text` for `name` (`host` or `[host]:port`), each rewritten as
/// `name keytype base64` (hashed and pattern entries come out under the plain name). Marker
/// lines (`@cert-authority`) are left out, and so is every key an `@revoked` line names.
pub fn entries_for(text: &str, name: &str) -> Vec<String> {
    let b64 = base64::engine::general_purpose::STANDARD;
    let mut revoked = Vec::new();
    let mut found: Vec<(String, Vec<u8>)> = Vec::new();
    for line in text.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with('#')) {
        let mut fields = line.split_whitespace();
        let (marker, hosts) = match fields.next() {
            Some(m) if m.starts_with('@') => (Some(m), fields.next().unwrap_or("")),
            Some(h) => (None, h),
            None => continue,
        };
        let (Some(ktype), Some(key64)) = (fields.next(), fields.next()) else { continue };
        let Ok(key) = b64.decode(key64) else { continue };
        if !hosts_match(hosts, name) {
            continue;
        }
        match marker {
            Some("@revoked") => revoked.push(key),
            Some(_) => {}
            None => {
                if !found.iter().any(|(t, k)| t == ktype && *k == key) {
                    found.push((ktype.to_string(), key));
                }
            }
        }
    }
    found
        .into_iter()
        .filter(|(_, k)| !revoked.contains(k))
        .map(|(t, k)| format!("{name} {t} {}", b64.encode(k)))
        .collect()
}

fn hosts_match(field: &str, name: &str) -> bool {
    if let Some(rest) = field.strip_prefix("|1|") {
        return hashed_match(rest, name);
    }
    let mut matched = false;
    for pat in field.split(',') {
        if let Some(neg) = pat.strip_prefix('!') {
            if glob(&neg.to_ascii_lowercase(), &name.to_ascii_lowercase()) {
                return false;
            }
        } else if glob(&pat.to_ascii_lowercase(), &name.to_ascii_lowercase()) {
            matched = true;
        }
    }
    matched
}

fn hashed_match(rest: &str, name: &str) -> bool {
    let b64 = base64::engine::general_purpose::STANDARD;
    let Some((salt, hash)) = rest.split_once('|') else { return false };
    let (Ok(salt), Ok(hash)) = (b64.decode(salt), b64.decode(hash)) else { return false };
    let Ok(mut mac) = Hmac::<sha1::Sha1>::new_from_slice(&salt) else { return false };
    mac.update(name.as_bytes());
    mac.verify_slice(&hash).is_ok()
}

/// OpenSSH host patterns: `*` any run, `?` one character.
fn glob(pat: &str, s: &str) -> bool {
    let (p, s): (Vec<char>, Vec<char>) = (pat.chars().collect(), s.chars().collect());
    let (mut pi, mut si, mut star, mut mark) = (0, 0, None, 0);
    while si < s.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == s[si]) {
            pi += 1;
            si += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = si;
            pi += 1;
        } else if let Some(st) = star {
            pi = st + 1;
            mark += 1;
            si = mark;
        } else {
            return false;
        }
    }
    while pi < p.len() && p[pi] == '*' {
        pi += 1;
    }
    pi == p.len()
}

/// Whether a target uses ssh.
pub fn is_ssh(t: &Target) -> bool {
    t.url.scheme == Scheme::Ssh
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl";

    fn blob() -> Vec<u8> {
        base64::engine::general_purpose::STANDARD.decode(KEY).unwrap()
    }

    #[test]
    fn plain_patterns_ports_and_negation() {
        let text = format!(
            "# comment\n[127.0.0.1]:2222,other ssh-ed25519 {KEY}\n*.example.com,!bad.example.com ssh-ed25519 {KEY}\n"
        );
        assert_eq!(check(&text, "[127.0.0.1]:2222", "ssh-ed25519", &blob()), Check::Match);
        assert_eq!(check(&text, "127.0.0.1", "ssh-ed25519", &blob()), Check::Unknown);
        assert_eq!(check(&text, "git.example.com", "ssh-ed25519", &blob()), Check::Match);
        assert_eq!(check(&text, "bad.example.com", "ssh-ed25519", &blob()), Check::Unknown);
        let mut other = blob();
        other[20] ^= 1;
        assert_eq!(check(&text, "other", "ssh-ed25519", &other), Check::Mismatch);
        assert_eq!(check(&text, "other", "ssh-rsa", &other), Check::Unknown);
    }

    #[test]
    fn hashed_entries_and_revocation() {
        // `ssh-keygen -H` form for "github.com" with a fixed salt.
        let salt = [7u8; 20];
        let mut mac = Hmac::<sha1::Sha1>::new_from_slice(&salt).unwrap();
        mac.update(b"github.com");
        let b64 = base64::engine::general_purpose::STANDARD;
        let hashed = format!("|1|{}|{}", b64.encode(salt), b64.encode(mac.finalize().into_bytes()));
        let text = format!("{hashed} ssh-ed25519 {KEY}\n");
        assert_eq!(check(&text, "github.com", "ssh-ed25519", &blob()), Check::Match);
        assert_eq!(check(&text, "gitlab.com", "ssh-ed25519", &blob()), Check::Unknown);
        let text = format!("@revoked * ssh-ed25519 {KEY}\n{text}");
        assert_eq!(check(&text, "github.com", "ssh-ed25519", &blob()), Check::Revoked);
    }

    #[test]
    fn entries_come_out_under_the_plain_name_without_revoked_keys() {
        let salt = [9u8; 20];
        let mut mac = Hmac::<sha1::Sha1>::new_from_slice(&salt).unwrap();
        mac.update(b"[git.example.com]:2222");
        let b64 = base64::engine::general_purpose::STANDARD;
        let hashed = format!("|1|{}|{}", b64.encode(salt), b64.encode(mac.finalize().into_bytes()));
        let other = "AAAAC3NzaC1lZDI1NTE5AAAAIBmpWo2mKVD9CMWkaMnHcpKDL9vaoBmmKWzWaWpC6h5a";
        let text = format!(
            "{hashed} ssh-ed25519 {KEY}\n[git.example.com]:2222 ssh-ed25519 {KEY}\ngit.example.com ssh-ed25519 {other}\n@cert-authority *.example.com ssh-ed25519 {other}\n"
        );
        let name = "[git.example.com]:2222";
        assert_eq!(entries_for(&text, name), vec![format!("{name} ssh-ed25519 {KEY}")]);
        assert_eq!(entries_for(&text, "git.example.com"), vec![format!("git.example.com ssh-ed25519 {other}")]);
        assert!(entries_for(&text, "[git.example.com]:22").is_empty());
        let revoked = format!("@revoked * ssh-ed25519 {KEY}\n{text}");
        assert!(entries_for(&revoked, name).is_empty());
        assert!(vouches_for(&text, name, "ssh-ed25519", &blob()));
        assert!(!vouches_for(&revoked, name, "ssh-ed25519", &blob()));
    }

    #[test]
    fn a_challenge_from_another_server_is_foreign() {
        let remote = super::super::url::parse("https://git.example.com/org/repo.git").unwrap();
        assert_eq!(foreign_server(&remote, "https://git.example.com/org/repo.git/info/refs"), None);
        assert_eq!(foreign_server(&remote, "https://GIT.example.com:443/org/repo.git"), None);
        assert!(foreign_server(&remote, "https://evil.example.com/org/repo.git").is_some());
        assert!(foreign_server(&remote, "https://git.example.com:8443/org/repo.git").is_some());
        assert!(foreign_server(&remote, "http://git.example.com/org/repo.git").is_some());
        assert!(foreign_server(&remote, "not a url").is_some());
        let local = super::super::url::parse("http://127.0.0.1:8080/r.git").unwrap();
        assert_eq!(foreign_server(&local, "http://127.0.0.1:8080/r.git"), None);
        assert!(foreign_server(&local, "http://127.0.0.1:8081/r.git").is_some());
    }

    #[test]
    fn fingerprints_look_like_openssh() {
        assert!(fingerprint(&blob()).starts_with("SHA256:"));
        assert!(!fingerprint(&blob()).ends_with('='));
    }
}
