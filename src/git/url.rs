//! Git remote URLs: the forms people write (`git@host:org/repo.git`, `ssh://`, `https://`,
//! `git://`, local paths), which provider serves a host, and normalized https/ssh forms.

use crate::config::ProviderHost;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scheme {
    Https,
    Http,
    Ssh,
    Git,
    File,
}

impl Scheme {
    pub fn as_str(self) -> &'static str {
        match self {
            Scheme::Https => "https",
            Scheme::Http => "http",
            Scheme::Ssh => "ssh",
            Scheme::Git => "git",
            Scheme::File => "file",
        }
    }
}

/// A parsed remote URL. Credentials are never kept: a URL carrying a password (or a token
/// as its user name) is flagged, and the caller refuses it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GitUrl {
    pub scheme: Scheme,
    /// The ssh user (`git`); for http(s) a plain user name given in the URL, if any.
    pub user: Option<String>,
    /// The URL carried a secret in its user-info part (dropped here).
    pub had_secret: bool,
    /// Host name, lower case, without port ("" for local paths).
    pub host: String,
    pub port: Option<u16>,
    /// Path without the leading `/` for remote URLs (`org/repo.git`, `~user/repo`); the
    /// absolute or relative file path for local repositories.
    pub path: String,
    /// Written in scp form (`git@host:org/repo.git`).
    pub scp: bool,
}

fn looks_like_token(user: &str) -> bool {
    const PREFIXES: [&str; 6] = ["ghp_", "gho_", "ghs_", "ghu_", "github_pat_", "glpat-"];
    PREFIXES.iter().any(|p| user.starts_with(p)) || user.len() >= 30
}

/// Parse a remote URL or local path.
pub fn parse(url: &str) -> Result<GitUrl, String> {
    let url = url.trim();
    if url.is_empty() {
        return Err("the URL is empty".into());
    }
    if let Some((scheme, rest)) = url.split_once("://") {
        let scheme = match scheme.to_ascii_lowercase().as_str() {
            "https" => Scheme::Https,
            "http" => Scheme::Http,
            "ssh" | "git+ssh" | "ssh+git" => Scheme::Ssh,
            "git" => Scheme::Git,
            "file" => Scheme::File,
            other => return Err(format!("unsupported URL scheme `{other}` (use https, http, ssh, git or file)")),
        };
        if scheme == Scheme::File {
            return Ok(GitUrl {
                scheme,
                user: None,
                had_secret: false,
                host: String::new(),
                port: None,
                path: rest.to_string(),
                scp: false,
            });
        }
        let (authority, path) = match rest.find('/') {
            Some(i) => (&rest[..i], &rest[i + 1..]),
            None => (rest, ""),
        };
        let (userinfo, hostport) = match authority.rfind('@') {
            Some(i) => (Some(&authority[..i]), &authority[i + 1..]),
            None => (None, authority),
        };
        let (mut user, mut had_secret) = (None, false);
        if let Some(ui) = userinfo {
            let (name, password) = match ui.split_once(':') {
                Some((n, p)) => (n, Some(p)),
                None => (ui, None),
            };
            had_secret = password.is_some_and(|p| !p.is_empty())
                || (matches!(scheme, Scheme::Http | Scheme::Https) && looks_like_token(name));
            if !had_secret && !name.is_empty() {
                user = Some(name.to_string());
            }
        }
        let (host, port) = split_port(hostport)?;
        if host.is_empty() {
            return Err("the URL has no host".into());
        }
        let path = path.trim_end_matches('/').to_string();
        return Ok(GitUrl { scheme, user, had_secret, host, port, path, scp: false });
    }
    // scp-like: [user@]host:path, where the host part has no '/'.
    if let Some(colon) = url.find(':') {
        let before = &url[..colon];
        // (a one-letter "host" would be a Windows drive; wego does not run there)
        if !before.contains('/') && !before.is_empty() {
            let (user, host) = match before.rfind('@') {
                Some(i) => (Some(before[..i].to_string()), &before[i + 1..]),
                None => (None, before),
            };
            if host.is_empty() {
                return Err("the URL has no host".into());
            }
            let path = url[colon + 1..].trim_start_matches('/').trim_end_matches('/').to_string();
            return Ok(GitUrl {
                scheme: Scheme::Ssh,
                user: user.filter(|u| !u.is_empty()),
                had_secret: false,
                host: host.to_ascii_lowercase(),
                port: None,
                path,
                scp: true,
            });
        }
    }
    Ok(GitUrl {
        scheme: Scheme::File,
        user: None,
        had_secret: false,
        host: String::new(),
        port: None,
        path: url.to_string(),
        scp: false,
    })
}

fn split_port(hostport: &str) -> Result<(String, Option<u16>), String> {
    // [v6]:port
    if let Some(rest) = hostport.strip_prefix('[') {
        let (h, after) = rest.split_once(']').ok_or("unbalanced `[` in the host")?;
        let port = match after.strip_prefix(':') {
            Some(p) if !p.is_empty() => Some(p.parse().map_err(|_| format!("invalid port `{p}`"))?),
            _ => None,
        };
        return Ok((h.to_ascii_lowercase(), port));
    }
    match hostport.rsplit_once(':') {
        Some((h, p)) if !p.is_empty() => {
            Ok((h.to_ascii_lowercase(), Some(p.parse().map_err(|_| format!("invalid port `{p}`"))?)))
        }
        Some((h, _)) => Ok((h.to_ascii_lowercase(), None)),
        None => Ok((hostport.to_ascii_lowercase(), None)),
    }
}

impl GitUrl {
    fn host_port(&self) -> String {
        let h = if self.host.contains(':') { format!("[{}]", self.host) } else { self.host.clone() };
        match self.port {
            Some(p) => format!("{h}:{p}"),
            None => h,
        }
    }

    /// The URL given to git and stored as the remote: no credentials, otherwise as written.
    /// Safe to print.
    pub fn to_git(&self) -> String {
        match self.scheme {
            Scheme::File => self.path.clone(),
            Scheme::Ssh if self.scp => match &self.user {
                Some(u) => format!("{u}@{}:{}", self.host, self.path),
                None => format!("{}:{}", self.host, self.path),
            },
            Scheme::Ssh => {
                let user = self.user.as_ref().map(|u| format!("{u}@")).unwrap_or_default();
                format!("ssh://{user}{}/{}", self.host_port(), self.path)
            }
            s => format!("{}://{}/{}", s.as_str(), self.host_port(), self.path),
        }
    }

    /// `host` or `[host]:port` as OpenSSH writes it in known_hosts.
    pub fn known_hosts_name(&self) -> String {
        match self.port {
            Some(p) if p != 22 => format!("[{}]:{p}", self.host),
            _ => self.host.clone(),
        }
    }
}

/// A provider config entry's `host`: `host[:port][/path-prefix]`, an optional scheme ignored.
struct HostPattern {
    host: String,
    port: Option<u16>,
    prefix: String,
}

fn host_pattern(entry: &str) -> Option<HostPattern> {
    let e = entry.trim();
    let e = e.split_once("://").map(|(_, r)| r).unwrap_or(e);
    let (hp, prefix) = match e.find('/') {
        Some(i) => (&e[..i], e[i + 1..].trim_matches('/')),
        None => (e, ""),
    };
    let (host, port) = split_port(hp).ok()?;
    (!host.is_empty()).then(|| HostPattern { host, port, prefix: prefix.to_string() })
}

/// The provider serving `u`: (`github`|`gitlab`|"", the matching config entry, the path
/// prefix the entry covers). Config entries win over the built-in github.com / gitlab.com.
pub fn provider_of<'a>(u: &GitUrl, providers: &'a [ProviderHost]) -> (String, Option<&'a ProviderHost>, String) {
    let mut best: Option<(&ProviderHost, HostPattern)> = None;
    for p in providers {
        let Some(pat) = host_pattern(&p.host) else { continue };
        if pat.host != u.host || pat.port.is_some_and(|port| Some(port) != u.port) {
            continue;
        }
        if !pat.prefix.is_empty() {
            let path = u.path.trim_start_matches('/');
            if !(path == pat.prefix || path.starts_with(&format!("{}/", pat.prefix))) {
                continue;
            }
        }
        let better = match &best {
            None => true,
            Some((_, b)) => (pat.prefix.len(), pat.port.is_some()) > (b.prefix.len(), b.port.is_some()),
        };
        if better {
            best = Some((p, pat));
        }
    }
    if let Some((p, pat)) = best {
        return (p.kind.to_ascii_lowercase(), Some(p), pat.prefix);
    }
    let kind = if u.host == "github.com" || u.host.ends_with(".github.com") {
        "github"
    } else if u.host == "gitlab.com" || u.host.ends_with(".gitlab.com") {
        "gitlab"
    } else {
        ""
    };
    (kind.to_string(), None, String::new())
}

/// What `git::parse_url` returns.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Described {
    pub scheme: String,
    pub host: String,
    pub port: Option<u16>,
    pub owner: String,
    pub repo: String,
    /// `owner/repo` (GitLab: `group/subgroup/project`).
    pub path: String,
    /// The part of the URL path a provider config entry covers (self-hosted under a path).
    pub prefix: String,
    pub provider: String,
    /// Normalized https form (`http://` kept for plain-http servers); "" for local paths.
    pub https: String,
    /// Normalized ssh form `ssh://user@host[:port]/path.git`; "" for local paths.
    pub ssh: String,
}

/// Describe `url`: host, owner, repo, provider and the normalized https/ssh forms.
pub fn describe(url: &str, providers: &[ProviderHost]) -> Result<Described, String> {
    let u = parse(url)?;
    if u.had_secret {
        return Err("the URL carries a password or token; give tokens through the environment instead".into());
    }
    let (provider, _, prefix) = provider_of(&u, providers);
    let local = u.scheme == Scheme::File;
    let full = u.path.trim_start_matches('/');
    let rest = if prefix.is_empty() { full } else { full[prefix.len()..].trim_start_matches('/') };
    let rest = rest.trim_end_matches('/');
    let rest = rest.strip_suffix(".git").unwrap_or(rest);
    let segs: Vec<&str> = rest.split('/').filter(|s| !s.is_empty()).collect();
    let (owner, repo) = if local {
        let n = segs.len();
        (if n >= 2 { segs[n - 2].to_string() } else { String::new() }, segs.last().copied().unwrap_or("").to_string())
    } else if provider == "github" {
        if segs.len() < 2 {
            return Err(format!("`{}` names no repository (expected OWNER/REPO)", u.to_git()));
        }
        (segs[0].to_string(), segs[1].to_string())
    } else {
        if segs.is_empty() {
            return Err(format!("`{}` names no repository", u.to_git()));
        }
        (segs[..segs.len() - 1].join("/"), segs[segs.len() - 1].to_string())
    };
    let path = if owner.is_empty() { repo.clone() } else { format!("{owner}/{repo}") };
    let with_prefix = |keep: bool| {
        if keep && !prefix.is_empty() {
            format!("{prefix}/{path}")
        } else {
            path.clone()
        }
    };
    let (https, ssh) = if local {
        (String::new(), String::new())
    } else {
        let https = match u.scheme {
            Scheme::Http | Scheme::Https => {
                format!("{}://{}/{}.git", u.scheme.as_str(), u.host_port(), with_prefix(true))
            }
            _ => format!("https://{}/{path}.git", host_only(&u)),
        };
        let ssh = match u.scheme {
            Scheme::Ssh => {
                let user = u.user.clone().unwrap_or_else(|| "git".into());
                format!("ssh://{user}@{}/{}.git", u.host_port(), with_prefix(true))
            }
            _ => format!("ssh://git@{}/{path}.git", host_only(&u)),
        };
        (https, ssh)
    };
    Ok(Described {
        scheme: u.scheme.as_str().into(),
        host: u.host.clone(),
        port: u.port,
        owner,
        repo,
        path,
        prefix,
        provider,
        https,
        ssh,
    })
}

fn host_only(u: &GitUrl) -> String {
    if u.host.contains(':') {
        format!("[{}]", u.host)
    } else {
        u.host.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(url: &str) -> Described {
        describe(url, &[]).unwrap()
    }

    #[test]
    fn the_common_forms_normalize_to_the_same_repo() {
        for url in [
            "git@github.com:org/repo.git",
            "git@github.com:org/repo",
            "ssh://git@github.com/org/repo.git",
            "ssh://git@github.com/org/repo",
            "https://github.com/org/repo.git",
            "https://github.com/org/repo",
            "https://github.com/org/repo/",
            "https://x-access-token@github.com/org/repo",
        ] {
            let r = d(url);
            assert_eq!((r.host.as_str(), r.owner.as_str(), r.repo.as_str()), ("github.com", "org", "repo"), "{url}");
            assert_eq!(r.provider, "github", "{url}");
            assert_eq!(r.https, "https://github.com/org/repo.git", "{url}");
            assert_eq!(r.ssh, "ssh://git@github.com/org/repo.git", "{url}");
            assert_eq!(r.path, "org/repo");
        }
    }

    #[test]
    fn ports_nested_groups_and_unknown_hosts() {
        let r = d("ssh://git@gitlab.com:2222/group/sub/project.git");
        assert_eq!((r.owner.as_str(), r.repo.as_str(), r.port), ("group/sub", "project", Some(2222)));
        assert_eq!(r.provider, "gitlab");
        assert_eq!(r.ssh, "ssh://git@gitlab.com:2222/group/sub/project.git");
        assert_eq!(r.https, "https://gitlab.com/group/sub/project.git");
        let r = d("http://127.0.0.1:8080/a/b.git");
        assert_eq!(r.provider, "");
        assert_eq!(r.https, "http://127.0.0.1:8080/a/b.git");
        assert_eq!(r.ssh, "ssh://git@127.0.0.1/a/b.git");
        let r = d("git@example.org:team/app.git");
        assert_eq!((r.scheme.as_str(), r.owner.as_str()), ("ssh", "team"));
    }

    #[test]
    fn config_entries_pick_the_provider_and_strip_a_path_prefix() {
        let providers = vec![
            ProviderHost { host: "git.corp".into(), kind: "gitlab".into(), ..Default::default() },
            ProviderHost { host: "127.0.0.1:8081/github".into(), kind: "github".into(), ..Default::default() },
        ];
        let r = describe("https://git.corp/a/b/c.git", &providers).unwrap();
        assert_eq!((r.provider.as_str(), r.owner.as_str(), r.repo.as_str()), ("gitlab", "a/b", "c"));
        let r = describe("http://127.0.0.1:8081/github/octo/hello.git", &providers).unwrap();
        assert_eq!((r.provider.as_str(), r.owner.as_str(), r.repo.as_str()), ("github", "octo", "hello"));
        assert_eq!(r.prefix, "github");
        assert_eq!(r.https, "http://127.0.0.1:8081/github/octo/hello.git");
        // Another port on the same host is not covered by the entry.
        let r = describe("http://127.0.0.1:9999/github/octo/hello.git", &providers).unwrap();
        assert_eq!(r.provider, "");
    }

    #[test]
    fn secrets_in_urls_are_flagged_and_never_echoed() {
        for url in ["https://user:s3cr3t@github.com/o/r", "https://ghp_abcdef@github.com/o/r"] {
            let u = parse(url).unwrap();
            assert!(u.had_secret, "{url}");
            assert!(!u.to_git().contains("s3cr3t") && !u.to_git().contains("ghp_"), "{}", u.to_git());
            let e = describe(url, &[]).unwrap_err();
            assert!(!e.contains("s3cr3t") && !e.contains("ghp_"), "{e}");
        }
    }

    #[test]
    fn known_hosts_names_follow_openssh() {
        assert_eq!(parse("ssh://git@h:2222/x").unwrap().known_hosts_name(), "[h]:2222");
        assert_eq!(parse("git@h:x").unwrap().known_hosts_name(), "h");
        assert_eq!(parse("ssh://git@h:22/x").unwrap().known_hosts_name(), "h");
    }

    #[test]
    fn local_paths_are_files() {
        let u = parse("/srv/git/app.git").unwrap();
        assert_eq!(u.scheme, Scheme::File);
        assert_eq!(u.to_git(), "/srv/git/app.git");
        let r = d("/srv/git/app.git");
        assert_eq!((r.owner.as_str(), r.repo.as_str(), r.https.as_str()), ("git", "app", ""));
    }
}
