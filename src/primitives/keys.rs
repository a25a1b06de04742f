//! `keys::` — deploy keys: generate an ed25519 key pair, and read a git host's SSH host key
//! for a known_hosts line. Private keys come back as a `Secret`, which prints as `<secret>` so
//! it cannot reach a log or an error by accident; it keeps its value where data is written
//! (a Kubernetes Secret through `kube::apply`).

use std::fmt;
use std::net::{TcpStream, ToSocketAddrs};
use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use rhai::{Dynamic, Engine, Map, Module};
use ssh_key::{Algorithm, LineEnding, PrivateKey};

use crate::engine::api::ApiModule;
use crate::engine::fail;

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

pub fn register_types(engine: &mut Engine) {
    engine.register_type_with_name::<Secret>("Secret");
    for name in ["to_string", "to_debug"] {
        rhai::FuncRegistration::new(name)
            .with_params_info(["secret: &mut Secret", "String"])
            .with_comments(["/// A `Secret` prints as `<secret>`, so it never reaches output or logs.\n///\n/// Example: `print(keys::ed25519(\"x\").private_key); // <secret>`"])
            .register_into_engine(engine, |s: &mut Secret| s.to_string());
    }
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

/// `host key-type base64` for the SSH server at host:port, as known_hosts wants it.
pub fn known_hosts(host: &str, port: u16) -> Result<String, String> {
    let addr = (host, port).to_socket_addrs().map_err(|e| e.to_string())?.next().ok_or("no address")?;
    let tcp = TcpStream::connect_timeout(&addr, Duration::from_secs(10)).map_err(|e| e.to_string())?;
    let mut session = ssh2::Session::new().map_err(|e| e.to_string())?;
    session.set_timeout(10_000);
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
    let name = if port == 22 { host.to_string() } else { format!("[{host}]:{port}") };
    Ok(format!("{name} {kind} {}", base64::engine::general_purpose::STANDARD.encode(key)))
}

pub fn module() -> Module {
    let mut m = ApiModule::new("Deploy keys: key pairs and SSH host keys.");
    m.func(
        "ed25519",
        &["comment: &str", "Map"],
        "Generate an ed25519 key pair: `#{private_key, public_key, fingerprint}`. `private_key` (OpenSSH format) is a `Secret`: it prints as `<secret>` and keeps its value only where data is written, e.g. a Kubernetes Secret applied with `kube::apply`.\n\nExample: `let k = keys::ed25519(\"wego deploy key\"); provider.add_deploy_key(#{ title: \"wego\", key: k.public_key, read_only: true });`",
        |comment: &str| ed25519(comment).map_err(|e| fail("keys::ed25519", e, None)),
    );
    m.func(
        "known_hosts",
        &["host: &str", "port: i64", "String"],
        "Connect to the SSH server at `host:port` and return its host key as a known_hosts line (`[host]:port` for ports other than 22). Trust on first use: call it once, store the line, and verify against it afterwards.\n\nErrors: unreachable host, not an SSH server.\n\nExample: `let kh = keys::known_hosts(\"github.com\", 22);`",
        |host: &str, port: i64| {
            known_hosts(host, port.clamp(1, 65535) as u16)
                .map_err(|e| fail("keys::known_hosts", format!("cannot read the SSH host key of {host}:{port}: {e}"), Some("check the host and port of the git server")))
        },
    );
    m.build()
}

#[cfg(test)]
mod tests {
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
