//! `keys::` against the real sshd of the git test servers.

mod common;

use common::{git_work_tree, write_files, Env};

fn ssh_server() -> Option<(String, String)> {
    match (std::env::var("WEGO_TEST_GIT_SSH"), std::env::var("WEGO_TEST_SSH_KNOWN_HOSTS")) {
        (Ok(url), Ok(kh)) if !url.is_empty() => Some((url, std::fs::read_to_string(kh).unwrap())),
        _ if std::env::var("CI").is_ok_and(|v| !v.is_empty()) => panic!("CI runs the git servers (tests/run.sh)"),
        _ => {
            eprintln!("skipped: no git test servers (tests/env/git-up.sh, then source git.env)");
            None
        }
    }
}

#[test]
fn known_hosts_matches_the_servers_host_key() {
    let Some((url, expected)) = ssh_server() else { return };
    // ssh://root@127.0.0.1:12222/...
    let hostport = url.split('@').nth(1).unwrap().split('/').next().unwrap();
    let (host, port) = hostport.split_once(':').unwrap();
    let env = Env::new();
    let d = git_work_tree();
    write_files(d.path(), &[("kh.rhai", &format!("print(keys::known_hosts(\"{host}\", {port}));"))]);
    let out = env.wego().args(["run", "kh.rhai"]).cwd(d.path()).run().ok();
    assert_eq!(out.stdout.trim(), expected.trim());
}

#[test]
fn generated_private_keys_never_print() {
    let env = Env::new();
    let d = git_work_tree();
    write_files(
        d.path(),
        &[("k.rhai", "let k = keys::ed25519(\"wego\");\nprint(k);\nlog::info(`${k.private_key}`);\nfs::write(\"secret.json\", json::to_string(#{ identity: k.private_key }));\nthrow `failed with ${k}`;\n")],
    );
    let out = env.wego().args(["run", "k.rhai"]).cwd(d.path()).run().expect_code(1);
    for text in [&out.stdout, &out.stderr] {
        assert!(!text.contains("PRIVATE KEY"), "{text}");
    }
    assert!(out.stdout.contains("\"private_key\": <secret>"), "{}", out.stdout);
    // Written as data, the value is there.
    let written = std::fs::read_to_string(d.path().join("secret.json")).unwrap();
    assert!(written.contains("BEGIN OPENSSH PRIVATE KEY"));
}
