//! Git mechanisms behind the `git::` primitives, on libgit2 (git2): remote URLs, credentials and
//! host keys, clone/fetch/push (with the rebase-free retry of a rejected push), and work-tree
//! operations. Nothing here knows about Rhai; errors carry a message and the fix to suggest.

pub mod auth;
pub mod remote;
pub mod url;
pub mod worktree;

use std::cell::RefCell;

use auth::{AuthLog, Target};

/// A failed git operation: what went wrong (no secrets) and what to do about it.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{message}")]
pub struct GitError {
    pub message: String,
    pub help: Option<String>,
}

impl GitError {
    pub fn new(message: impl Into<String>) -> Self {
        GitError { message: crate::secrets::redact(&message.into()), help: None }
    }
    pub fn help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }
}

impl From<git2::Error> for GitError {
    fn from(e: git2::Error) -> Self {
        GitError::new(e.message().to_string())
    }
}

/// Explain a failed network operation on `target`, using what the callbacks saw.
pub fn network_error(what: &str, target: &Target, log: &RefCell<AuthLog>, e: &git2::Error) -> GitError {
    let log = log.borrow();
    let url = target.url.to_git();
    if let Some((msg, help)) = &log.host_key_error {
        return GitError::new(msg.clone()).help(help.clone());
    }
    if let Some(there) = &log.redirected_to {
        return GitError::new(format!(
            "{what} {url}: the remote redirected to {there}, which asked for credentials; wego sends a host's token only to that host"
        ))
        .help("if you trust the new location, use its URL directly");
    }
    if log.http_refused {
        return GitError::new(format!(
            "{what} {url}: the server asks for credentials over plain http, where the token would cross the network unencrypted"
        ))
        .help(format!(
            "use the https URL; for a server you trust on a network you trust, set `allowHttp: true` on a `providers:` entry with `host: {}` in your own wego config",
            match target.url.port {
                Some(p) => format!("{}:{p}", target.url.host),
                None => target.url.host.clone(),
            }
        ));
    }
    if log.https_missing {
        let hint = crate::secrets::git_token_hint(&target.provider);
        return GitError::new(format!("{what} {url}: the server requires authentication and {hint} is not set"))
            .help(format!("set {hint} to a token with access to the repository (write access to push)"));
    }
    if let Some(var) = log.https_rejected {
        return GitError::new(format!("{what} {url}: the server rejected the token from {var}")).help(format!(
            "check that {var} holds a valid, unexpired token with access to the repository (write access to push)"
        ));
    }
    let msg = e.message().to_string();
    let lower = msg.to_ascii_lowercase();
    if log.ssh_exhausted || (auth::is_ssh(target) && e.code() == git2::ErrorCode::Auth) {
        let tried =
            if log.ssh_tried.is_empty() { "nothing: no agent, no key".to_string() } else { log.ssh_tried.join(", ") };
        let user = target.url.user.clone().unwrap_or_else(|| "git".into());
        return GitError::new(format!(
            "{what} {url}: ssh authentication as `{user}` was refused (tried {tried})"
        ))
        .help("load a key into ssh-agent (SSH_AUTH_SOCK) or pass the `private_key` option; the server must accept that key");
    }
    if lower.contains("401") || e.code() == git2::ErrorCode::Auth {
        let hint = crate::secrets::git_token_hint(&target.provider);
        let detail = match log.https_sent {
            Some(var) => format!("the token from {var} was not accepted"),
            None => "authentication failed".into(),
        };
        return GitError::new(format!("{what} {url}: {detail}"))
            .help(format!("set {hint} to a token with access to the repository"));
    }
    if lower.contains("403") {
        let hint = crate::secrets::git_token_hint(&target.provider);
        return GitError::new(format!("{what} {url}: access denied (403)"))
            .help(format!("the token in {hint} needs write access to the repository"));
    }
    if lower.contains("404") || lower.contains("not found") || lower.contains("does not appear to be a git repository")
    {
        return GitError::new(format!("{what} {url}: repository not found ({msg})"))
            .help("check the URL; a private repository also looks missing without credentials");
    }
    match e.class() {
        git2::ErrorClass::Net
        | git2::ErrorClass::Os
        | git2::ErrorClass::Ssl
        | git2::ErrorClass::Ssh
        | git2::ErrorClass::Http => GitError::new(format!("cannot reach {url}: {msg}"))
            .help("check the URL, the network and any proxy settings"),
        _ => GitError::new(format!("{what} {url}: {msg}")),
    }
}
