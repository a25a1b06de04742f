//! Turning a provider's refusal into an error that says what to do.

use super::transport::Resp;
use super::ProviderError;

/// Context for explaining a failed call.
pub struct Explain<'a> {
    pub name: &'static str,
    pub token_var: &'static str,
    pub has_token: bool,
    pub scope: &'static str,
    /// What wego tried, e.g. "create a pull request in org/repo".
    pub action: &'a str,
    /// Whether the action needs admin rights (GitHub answers 404 to non-admins for those).
    pub admin_only: bool,
}

impl Explain<'_> {
    /// Turn a non-success answer into an error that says what to do.
    pub fn error(&self, r: &Resp) -> ProviderError {
        let (name, var, action, msg) = (self.name, self.token_var, self.action, r.message());
        let (message, help) = match r.status {
            401 if !self.has_token => (
                format!("cannot {action}: {name} needs a token and {var} is not set ({msg})"),
                format!("set {var} to a personal access token with the `{}` scope", self.scope),
            ),
            401 => (
                format!("cannot {action}: {name} rejected the token in {var} ({msg})"),
                format!("check that {var} holds a valid, unexpired token for this {name} host"),
            ),
            403 => (
                format!("cannot {action}: {name} refused it ({msg})"),
                if self.has_token {
                    format!(
                        "the token in {var} lacks a permission: it needs the `{}` scope and, for deploy keys or creating repositories in an organization, admin rights",
                        self.scope
                    )
                } else {
                    format!("set {var} to a token with the `{}` scope", self.scope)
                },
            ),
            404 if self.admin_only && self.has_token => (
                format!("cannot {action}: not found ({msg}) — no such repository, or the token's user is no admin of it"),
                format!("deploy keys need admin rights on the repository: use a token ({var}) of a repository admin, and check the owner and name"),
            ),
            404 => (
                format!("cannot {action}: not found ({msg}) — no such repository or owner, or the token has no access to it"),
                if self.has_token {
                    format!("check the owner and name; a private repository looks missing to a token without access to it ({var})")
                } else {
                    format!("check the owner and name; for a private repository set {var}")
                },
            ),
            _ => (
                format!("cannot {action}: {name} answered {} ({msg})", r.status),
                "check the request's values".to_string(),
            ),
        };
        ProviderError::new(message, Some(help))
    }
}
