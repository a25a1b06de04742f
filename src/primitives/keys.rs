//! `keys::` — deploy keys: generate an ed25519 key pair, and the known_hosts lines Flux needs
//! for a git host. Host keys come only from verified sources — the user's known_hosts files,
//! a file the user names, or the provider's published keys (`provider.ssh_host_keys()`); a
//! key a server presents is only ever checked against those, never trusted on first sight.
//! Private keys come back as a `Secret`, which prints as `<secret>` so it cannot reach a log
//! or an error by accident; it keeps its value where data is written (a Kubernetes Secret
//! through `kube::apply`).

use std::fmt;
use std::net::{TcpStream, ToSocketAddrs};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use rhai::{Dynamic, Engine, EvalAltResult, Map, Module};
use ssh_key::{Algorithm, LineEnding, PrivateKey};

use super::api::api_module;
use super::host::fail;
use crate::git::auth;

/// Sensitive text. Displays as `<secret>`; its value is only taken when writing data.
#[derive(Clone)]
pub struct Secret(Arc<String>);

impl Secret {
    pub fn new(s: String) -> Self {
        Secret(Arc::new(s))
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<secret>")
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<secret>")
    }
}

/// Register the `Secret` type and how it prints.
pub fn register_types(engine: &mut Engine) {
    engine.register_type_with_name::<Secret>("Secret");
    let printing = api_module! {
        /// A `Secret` prints as `<secret>`, so it never reaches output or logs.
        ///
        /// Example: `print(keys::ed25519("x").private_key); // <secret>`
        method to_string | to_debug(secret: &mut Secret) -> String {
            Ok(secret.to_string())
        }
    };
    engine.register_global_module(printing.into());
}

fn ed25519(comment: &str) -> Result<Map, String> {
    let mut key = PrivateKey::random(&mut rand_core::OsRng, Algorithm::Ed25519).map_err(|e| e.to_string())?;
    key.set_comment(comment);
    let private = key.to_openssh(LineEnding::LF).map_err(|e| e.to_string())?;
    let public = key.public_key().to_openssh().map_err(|e| e.to_string())?;
    let fingerprint = key.public_key().fingerprint(ssh_key::HashAlg::Sha256).to_string();
    let mut m = Map::new();
    m.insert("private_key".into(), Dynamic::from(Secret::new(private.to_string())));
    m.insert("public_key".into(), public.into());
    m.insert("fingerprint".into(), fingerprint.into());
    Ok(m)
}

/// `host` for port 22, `[host]:port` otherwise: how OpenSSH names a server in known_hosts.
pub fn known_hosts_name(host: &str, port: u16) -> String {
    if port == 22 {
        host.to_string()
    } else {
        format!("[{host}]:{port}")
    }
}

/// A host and port from a script, refused when they could not name an SSH server (or would
/// smuggle extra fields into a known_hosts line).
fn host_port(host: &str, port: i64) -> Result<(String, u16), (String, &'static str)> {
    let ok = !host.is_empty()
        && host.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | ':'))
        && !host.starts_with('-');
    if !ok {
        return Err((
            format!("`{host}` is not a host name"),
            "pass the bare host of the git server, e.g. `github.com`",
        ));
    }
    let port = u16::try_from(port).ok().filter(|p| *p > 0).ok_or((
        format!("{port} is not a TCP port"),
        "pass the SSH port of the git server (22 unless the URL names another)",
    ))?;
    Ok((host.to_ascii_lowercase(), port))
}

/// The known_hosts lines for `host:port` in `file` (default `~/.ssh/known_hosts`), under the
/// plain name; `None` when the file has none (or does not exist, for the default file).
pub fn lookup(host: &str, port: u16, file: Option<&Path>) -> Result<Option<String>, String> {
    let default = dirs::home_dir().map(|h| h.join(".ssh/known_hosts"));
    let path = match (file, &default) {
        (Some(f), _) => f,
        (None, Some(d)) => d.as_path(),
        (None, None) => return Ok(None),
    };
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if file.is_none() && e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(format!("cannot read {}: {e}", path.display())),
    };
    let lines = auth::entries_for(&text, &known_hosts_name(host, port));
    Ok((!lines.is_empty()).then(|| lines.join("\n") + "\n"))
}

/// The host key the SSH server at `host:port` presents: (key type, raw key).
fn presented_key(host: &str, port: u16) -> Result<(String, Vec<u8>), String> {
    let addrs: Vec<_> = (host, port).to_socket_addrs().map_err(|e| e.to_string())?.collect();
    let addr = addrs.first().ok_or("the name has no address")?;
    let tcp = TcpStream::connect_timeout(addr, Duration::from_secs(10)).map_err(|e| e.to_string())?;
    // Bound every read too: a server that accepts and never speaks must not hang wego.
    tcp.set_read_timeout(Some(Duration::from_secs(15))).map_err(|e| e.to_string())?;
    tcp.set_write_timeout(Some(Duration::from_secs(15))).map_err(|e| e.to_string())?;
    let mut session = ssh2::Session::new().map_err(|e| e.to_string())?;
    session.set_timeout(15_000);
    session.set_tcp_stream(tcp);
    session.handshake().map_err(|e| e.to_string())?;
    let (key, kind) = session.host_key().ok_or("the server sent no host key")?;
    let kind = match kind {
        ssh2::HostKeyType::Rsa => "ssh-rsa",
        ssh2::HostKeyType::Dss => "ssh-dss",
        ssh2::HostKeyType::Ecdsa256 => "ecdsa-sha2-nistp256",
        ssh2::HostKeyType::Ecdsa384 => "ecdsa-sha2-nistp384",
        ssh2::HostKeyType::Ecdsa521 => "ecdsa-sha2-nistp521",
        ssh2::HostKeyType::Ed25519 => "ssh-ed25519",
        ssh2::HostKeyType::Unknown => return Err("unknown host key type".into()),
    };
    Ok((kind.to_string(), key.to_vec()))
}

/// Why a presented key was refused, and what to do.
type Refusal = (String, String);

/// Connect to `host:port` and accept the key it presents only if `expected` (known_hosts lines
/// from a verified source) lists it. Returns `expected`'s lines for the host, so what Flux is
/// given is exactly what was verified.
pub fn verify_presented(host: &str, port: u16, expected: &str) -> Result<String, Refusal> {
    let name = known_hosts_name(host, port);
    let lines = auth::entries_for(expected, &name);
    if lines.is_empty() {
        return Err((
            format!("the expected known_hosts lines name no key for {name}"),
            "pass the lines `keys::known_hosts_lookup` or the provider returned for this host".into(),
        ));
    }
    let (kind, blob) = presented_key(host, port).map_err(|e| {
        (format!("cannot read the SSH host key of {name}: {e}"), "check the host and port of the git server".into())
    })?;
    if !auth::vouches_for(expected, &name, &kind, &blob) {
        return Err((
            format!(
                "the SSH server at {name} presented {kind} {}, which the expected known_hosts lines do not list; \
                 someone may be intercepting the connection, or the server's key changed",
                auth::fingerprint(&blob)
            ),
            "check the key with the server's administrator (or the provider's published keys) before trusting it"
                .into(),
        ));
    }
    Ok(lines.join("\n") + "\n")
}

/// The known_hosts lines wego's own ssh connections trust for `host:port` (`WEGO_KNOWN_HOSTS`,
/// else `~/.ssh/known_hosts` and `/etc/ssh/ssh_known_hosts`), confirmed against the key the
/// server presents now.
pub fn known_hosts(host: &str, port: u16) -> Result<String, Refusal> {
    let name = known_hosts_name(host, port);
    let (files, _) = auth::known_hosts_files(&auth::AuthOpts::default());
    let text: String = files.iter().filter_map(|f| std::fs::read_to_string(f).ok()).collect::<Vec<_>>().join("\n");
    if auth::entries_for(&text, &name).is_empty() {
        let list = files.iter().map(|f| f.display().to_string()).collect::<Vec<_>>().join(", ");
        let scan = if port == 22 { format!("ssh-keyscan {host}") } else { format!("ssh-keyscan -p {port} {host}") };
        return Err((
            format!("no known_hosts entry for {name} ({list}); wego does not take a host key on first sight"),
            format!(
                "check the server's fingerprint with its administrator, then add it: `{scan} >> ~/.ssh/known_hosts`"
            ),
        ));
    }
    verify_presented(host, port, &text)
}

fn lookup_prim(host: &str, port: i64, opts: &Map) -> Result<Dynamic, Box<EvalAltResult>> {
    const PRIM: &str = "keys::known_hosts_lookup";
    let (host, port) = host_port(host, port).map_err(|(e, h)| fail(PRIM, e, Some(h)))?;
    let file = super::opt_str(opts, "file").map(PathBuf::from);
    match lookup(&host, port, file.as_deref()) {
        Ok(Some(text)) => Ok(text.into()),
        Ok(None) => Ok(Dynamic::UNIT),
        Err(e) => Err(fail(PRIM, e, Some("check the path given to --ssh-known-hosts"))),
    }
}

pub fn module() -> Module {
    api_module! {
        //! Deploy keys: key pairs, and SSH host keys from verified sources only.

        /// Generate an ed25519 key pair: `#{private_key, public_key, fingerprint}`. `private_key` (OpenSSH format) is a
        /// `Secret`: it prints as `<secret>` and keeps its value only where data is written, e.g. a Kubernetes Secret
        /// applied with `kube::apply`.
        ///
        /// Example: `let k = keys::ed25519("wego deploy key"); provider.add_deploy_key(#{ title: "wego", key:
        /// k.public_key, read_only: true });`
        fn ed25519(comment: &str) -> Map {
            ed25519(comment).map_err(|e| fail("keys::ed25519", e, None))
        }

        /// The known_hosts lines (`HOST KEYTYPE BASE64`, one per key; HOST is `host` for port 22, `[host]:port`
        /// otherwise) the user's `~/.ssh/known_hosts` holds for `host:port`, hashed entries included; `()` when it has
        /// none. Option `file`: read that file instead (e.g. from `--ssh-known-hosts FILE`); it must exist. Keys named
        /// by an `@revoked` line are left out. Nothing is asked of the server: these lines come only from files the
        /// user keeps.
        ///
        /// Errors: invalid host or port; an unreadable `file`.
        ///
        /// Example: `let kh = keys::known_hosts_lookup("github.com", 22, #{ file: "team_known_hosts" });`
        fn known_hosts_lookup(host: &str, port: i64, #[optional] options: Map) -> Dynamic {
            lookup_prim(host, port, &options)
        }

        /// Connect to the SSH server at `host:port` and check that the host key it presents is one of `known_hosts`
        /// (lines from a verified source: `known_hosts_lookup`, or `provider.ssh_host_keys()` written as `HOST KEYTYPE
        /// BASE64`). Returns those lines for the host. A key the lines do not list is an error: there is no trust on
        /// first use.
        ///
        /// Errors: invalid host or port; no line for the host; unreachable server; a presented key that is not listed.
        ///
        /// Example: `let kh = keys::verify_host_key("github.com", 22, keys::known_hosts_lookup("github.com", 22) ??
        /// "");`
        fn verify_host_key(host: &str, port: i64, known_hosts: &str) -> String {
            const PRIM: &str = "keys::verify_host_key";
            let (host, port) = host_port(host, port).map_err(|(e, h)| fail(PRIM, e, Some(h)))?;
            verify_presented(&host, port, known_hosts).map_err(|(e, h)| fail(PRIM, e, Some(&h)))
        }

        /// The known_hosts lines wego's own ssh connections trust for `host:port` (`WEGO_KNOWN_HOSTS`, else
        /// `~/.ssh/known_hosts` and `/etc/ssh/ssh_known_hosts`), after checking that the key the server presents now is
        /// among them. A host those files do not list is an error, never trusted on first sight.
        ///
        /// Errors: invalid host or port; no entry for the host; unreachable server; a presented key that is not listed.
        ///
        /// Example: `let kh = keys::known_hosts("github.com", 22);`
        fn known_hosts(host: &str, port: i64) -> String {
            const PRIM: &str = "keys::known_hosts";
            let (host, port) = host_port(host, port).map_err(|(e, h)| fail(PRIM, e, Some(h)))?;
            known_hosts(&host, port).map_err(|(e, h)| fail(PRIM, e, Some(&h)))
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn hosts_and_ports_that_cannot_name_a_server_are_refused() {
        assert_eq!(super::host_port("GitHub.com", 22).unwrap(), ("github.com".into(), 22));
        for (h, p) in [("", 22), ("a b", 22), ("a,b", 22), ("-oProxy", 22), ("höst", 22), ("h", 0), ("h", 70000)] {
            assert!(super::host_port(h, p).is_err(), "{h}:{p}");
        }
        assert_eq!(super::known_hosts_name("h", 22), "h");
        assert_eq!(super::known_hosts_name("h", 2222), "[h]:2222");
    }

    #[test]
    fn keys_are_ed25519_and_private_part_is_hidden() {
        let m = super::ed25519("test").unwrap();
        let public = m["public_key"].to_string();
        assert!(public.starts_with("ssh-ed25519 ") && public.ends_with(" test"), "{public}");
        let private = m["private_key"].clone().cast::<super::Secret>();
        assert_eq!(private.to_string(), "<secret>");
        assert!(private.expose().contains("BEGIN OPENSSH PRIVATE KEY"));
    }
}
