//! Tokens: where they come from, and keeping them out of everything wego prints or writes.
//!
//! Tokens are read from the environment when a request needs one and handed straight to the
//! client (a git2 credential callback, an HTTP header); they are never put into a URL, a file
//! or a message. As a second line of defence, every error or log line built from text that
//! did not originate in wego (server messages, libgit2 errors) goes through [`redact`].

/// Environment variables that may hold a token, in lookup order per provider.
pub const GITHUB_TOKEN: &str = "GITHUB_TOKEN";
pub const GITLAB_TOKEN: &str = "GITLAB_TOKEN";
pub const WEGO_GIT_TOKEN: &str = "WEGO_GIT_TOKEN";

const ALL: [&str; 3] = [GITHUB_TOKEN, GITLAB_TOKEN, WEGO_GIT_TOKEN];

/// A token and the variable it came from (the name is safe to print, the value never is).
#[derive(Clone)]
pub struct Token {
    pub var: &'static str,
    value: String,
}

impl Token {
    pub fn expose(&self) -> &str {
        &self.value
    }
}

impl std::fmt::Debug for Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Token({}=***)", self.var)
    }
}

fn env(var: &'static str) -> Option<Token> {
    std::env::var(var).ok().map(|v| v.trim().to_string()).filter(|v| !v.is_empty()).map(|value| Token { var, value })
}

/// The variable a user should set for `provider` (`github`, `gitlab`, anything else).
pub fn var_for(provider: &str) -> &'static str {
    match provider {
        "github" => GITHUB_TOKEN,
        "gitlab" => GITLAB_TOKEN,
        _ => WEGO_GIT_TOKEN,
    }
}

/// The token for a provider's API: its own variable only.
pub fn api_token(provider: &str) -> Option<Token> {
    env(var_for(provider))
}

/// The token for git over https to a host of `provider`: the provider's variable, then
/// `WEGO_GIT_TOKEN` (which also serves hosts of no known provider).
pub fn git_token(provider: &str) -> Option<Token> {
    match provider {
        "github" | "gitlab" => env(var_for(provider)).or_else(|| env(WEGO_GIT_TOKEN)),
        _ => env(WEGO_GIT_TOKEN),
    }
}

/// Which variables to mention when git over https to a host of `provider` needs a token.
pub fn git_token_hint(provider: &str) -> String {
    match provider {
        "github" | "gitlab" => format!("{} (or {WEGO_GIT_TOKEN})", var_for(provider)),
        _ => WEGO_GIT_TOKEN.to_string(),
    }
}

/// Replace every token value found in the environment by `***`.
pub fn redact(text: &str) -> String {
    let mut out = text.to_string();
    for var in ALL {
        if let Some(t) = env(var) {
            // Very short values would redact ordinary words; real tokens are long.
            if t.value.len() >= 6 {
                out = out.replace(&t.value, "***");
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_the_value() {
        let t = Token { var: GITHUB_TOKEN, value: "ghp_secret_value".into() };
        assert_eq!(format!("{t:?}"), "Token(GITHUB_TOKEN=***)");
    }

    #[test]
    fn hints_name_the_right_variables() {
        assert_eq!(git_token_hint("github"), "GITHUB_TOKEN (or WEGO_GIT_TOKEN)");
        assert_eq!(git_token_hint(""), "WEGO_GIT_TOKEN");
        assert_eq!(var_for("gitlab"), "GITLAB_TOKEN");
    }
}
