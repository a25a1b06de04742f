//! `keys::` against the real sshd of the git test servers.

mod common;

use common::{git_work_tree, write_files, Env};

/// The test sshd: (host, port, its known_hosts line).
fn ssh_server() -> Option<(String, u16, String)> {
    let ssh = common::servers::ssh_server()?;
    // ssh://root@127.0.0.1:12222/...
    let hostport = ssh.base.split('@').nth(1).unwrap().split('/').next().unwrap();
    let (host, port) = hostport.split_once(':').unwrap();
    // The servers' known_hosts may list other hosts too (the scp-style ones on port 22).
    let all = std::fs::read_to_string(&ssh.known_hosts).unwrap();
    let line = all.lines().find(|l| l.starts_with(&format!("[{host}]:{port} "))).expect("the ssh server's line");
    Some((host.into(), port.parse().unwrap(), format!("{line}\n")))
}

fn run(env: &Env, script: &str) -> common::Out {
    let d = git_work_tree();
    write_files(d.path(), &[("k.rhai", script)]);
    env.wego().args(["run", "k.rhai"]).cwd(d.path()).run()
}

/// The same line with one bit of the key flipped: a key the server does not have.
fn wrong_key(line: &str) -> String {
    let (head, key) = line.trim().rsplit_once(' ').unwrap();
    let mut chars: Vec<char> = key.chars().collect();
    let i = chars.len() - 6;
    chars[i] = if chars[i] == 'A' { 'B' } else { 'A' };
    format!("{head} {}\n", chars.into_iter().collect::<String>())
}

#[test]
fn lookup_reads_the_users_known_hosts_hashed_or_not_and_asks_no_server() {
    let Some((host, port, line)) = ssh_server() else { return };
    let env = Env::new();
    let script = format!("print(keys::known_hosts_lookup(\"{host}\", {port}) ?? \"none\");");
    // Nothing in ~/.ssh/known_hosts (not even the file): ().
    assert_eq!(run(&env, &script).ok().stdout.trim(), "none");
    let ssh_dir = env.home.path().join(".ssh");
    std::fs::create_dir_all(&ssh_dir).unwrap();
    let kh = ssh_dir.join("known_hosts");
    std::fs::write(&kh, format!("other.example.com {}\n{line}", line.split_once(' ').unwrap().1)).unwrap();
    assert_eq!(run(&env, &script).ok().stdout.trim(), line.trim());
    // Hashed by OpenSSH itself.
    let hashed = std::process::Command::new("ssh-keygen").arg("-H").arg("-f").arg(&kh).output().unwrap();
    assert!(hashed.status.success(), "{}", String::from_utf8_lossy(&hashed.stderr));
    assert!(std::fs::read_to_string(&kh).unwrap().starts_with("|1|"));
    assert_eq!(run(&env, &script).ok().stdout.trim(), line.trim());
    // Another port is another host.
    let other = format!("print(keys::known_hosts_lookup(\"{host}\", {}) ?? \"none\");", port + 1);
    assert_eq!(run(&env, &other).ok().stdout.trim(), "none");
}

#[test]
fn lookup_in_a_named_file_only() {
    let Some((host, port, line)) = ssh_server() else { return };
    let env = Env::new();
    let d = tempfile::tempdir().unwrap();
    let file = d.path().join("kh");
    std::fs::write(&file, &line).unwrap();
    let script =
        |f: &str| format!("print(keys::known_hosts_lookup(\"{host}\", {port}, #{{ file: \"{f}\" }}) ?? \"none\");");
    assert_eq!(run(&env, &script(&file.display().to_string())).ok().stdout.trim(), line.trim());
    // A named file that does not exist is an error, not "no entry".
    let out = run(&env, &script("/nonexistent/kh")).expect_code(1);
    assert!(out.stderr.contains("/nonexistent/kh") && out.stderr.contains("--ssh-known-hosts"), "{}", out.stderr);
    // Bad input: one clear line.
    let out = run(&env, "keys::known_hosts_lookup(\"a b\", 22);").expect_code(1);
    assert!(out.stderr.contains("is not a host name"), "{}", out.stderr);
}

#[test]
fn the_presented_key_is_accepted_only_when_the_given_lines_list_it() {
    let Some((host, port, line)) = ssh_server() else { return };
    let env = Env::new();
    let verify = |lines: &str| format!("print(keys::verify_host_key(\"{host}\", {port}, {lines:?}));");
    let out = run(&env, &verify(&line)).ok();
    assert_eq!(out.stdout.trim(), line.trim());
    let out = run(&env, &verify(&wrong_key(&line))).expect_code(1);
    assert!(out.stdout.is_empty());
    assert!(out.stderr.contains("do not list") && out.stderr.contains("SHA256:"), "{}", out.stderr);
    let out = run(&env, &verify("")).expect_code(1);
    assert!(out.stderr.contains("name no key"), "{}", out.stderr);
}

#[test]
fn known_hosts_never_trusts_on_first_use() {
    let Some((host, port, line)) = ssh_server() else { return };
    let env = Env::new();
    let script = format!("print(keys::known_hosts(\"{host}\", {port}));");
    // The server is up and shows its key, but nothing the user keeps vouches for it.
    let out = run(&env, &script).expect_code(1);
    assert!(out.stdout.is_empty());
    assert!(out.stderr.contains("no known_hosts entry") && out.stderr.contains("ssh-keyscan"), "{}", out.stderr);
    // Listed where wego's own ssh connections look: confirmed and returned.
    let d = tempfile::tempdir().unwrap();
    let kh = d.path().join("kh");
    std::fs::write(&kh, &line).unwrap();
    let w = git_work_tree();
    write_files(w.path(), &[("k.rhai", &script)]);
    let ok =
        env.wego().args(["run", "k.rhai"]).cwd(w.path()).env("WEGO_KNOWN_HOSTS", kh.display().to_string()).run().ok();
    assert_eq!(ok.stdout.trim(), line.trim());
    // Listed with another key: refused.
    std::fs::write(&kh, wrong_key(&line)).unwrap();
    let out = env.wego().args(["run", "k.rhai"]).cwd(w.path()).env("WEGO_KNOWN_HOSTS", kh.display().to_string()).run();
    let out = out.expect_code(1);
    assert!(out.stderr.contains("do not list"), "{}", out.stderr);
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
