//! Which API serves a repository URL: the provider type, the API base URL (https unless the
//! user's config opts a host in), and the repository the URL names.

use super::ProviderError;
use crate::config::ProviderHost;
use crate::git::url;

/// A provider API to talk to.
#[derive(Debug, Clone)]
pub struct Target {
    /// `github` or `gitlab`.
    pub kind: &'static str,
    /// The API base URL, without a trailing `/`.
    pub api: String,
    /// `owner/name` of the URL, if it named one.
    pub repo: Option<(String, String)>,
}

fn refuse(message: impl Into<String>, help: Option<&str>) -> ProviderError {
    ProviderError { message: message.into(), help: help.map(str::to_string) }
}

/// The API for `raw` given the config's `providers:` list.
pub fn resolve(raw: &str, providers: &[ProviderHost]) -> Result<Target, ProviderError> {
    let u = url::parse(raw).map_err(|e| refuse(e, None))?;
    if u.had_secret {
        return Err(refuse(
            format!("the URL {} carries a password or token", u.to_git()),
            Some("set GITHUB_TOKEN or GITLAB_TOKEN instead"),
        ));
    }
    let (kind, entry, prefix) = url::provider_of(&u, providers);
    let kind: &'static str =
        match kind.as_str() {
            "github" => "github",
            "gitlab" => "gitlab",
            "" => return Err(refuse(
                format!("no known provider serves {}", if u.host.is_empty() { raw } else { &u.host }),
                Some("add an entry to the config's `providers:` list: `host`, `type` (github or gitlab) and `apiUrl`"),
            )),
            other => {
                return Err(refuse(
                    format!("unknown provider type `{other}` in the config"),
                    Some("use `github` or `gitlab`"),
                ))
            }
        };
    let rest = u.path.trim_start_matches('/');
    let rest = rest.strip_prefix(prefix.as_str()).unwrap_or(rest).trim_start_matches('/');
    let repo = if rest.trim_matches('/').is_empty() {
        None
    } else {
        let d = url::describe(raw, providers).map_err(|e| refuse(e, None))?;
        Some((d.owner, d.repo))
    };
    let host_part = if prefix.is_empty() { u.host.clone() } else { format!("{}/{prefix}", u.host) };
    let api = match entry.map(|e| e.api_url.trim()).filter(|a| !a.is_empty()) {
        Some(a) => a.trim_end_matches('/').to_string(),
        None if kind == "github" && u.host == "github.com" => "https://api.github.com".into(),
        None if kind == "github" => format!("https://{host_part}/api/v3"),
        None => format!("https://{host_part}"),
    };
    // The token goes only over https, unless the user's own config opts this host in.
    let allow_http = entry.is_some_and(|e| e.allow_http);
    match api.split_once("://").map(|(scheme, _)| scheme.to_ascii_lowercase()) {
        Some(s) if s == "https" => {}
        Some(s) if s == "http" && allow_http => {}
        Some(s) if s == "http" => {
            return Err(refuse(
                format!("refusing the plain-http API URL {api}: the token would be sent unencrypted"),
                Some(&format!(
                    "use an https `apiUrl`, or, for a trusted local server only, add `allowHttp: true` to the `providers:` entry of host `{}` in your config",
                    entry.map(|e| e.host.as_str()).unwrap_or(u.host.as_str())
                )),
            ))
        }
        _ => {
            return Err(refuse(
                format!("the API URL {api} is neither https nor http"),
                Some("set the `providers:` entry's `apiUrl` to an https URL"),
            ))
        }
    }
    Ok(Target { kind, api, repo })
}
