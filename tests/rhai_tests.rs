//! `wego test`: the stdlib's own Rhai tests pass as built, every exported stdlib function has
//! one, those needing live services pass against the test servers, a team's override is judged
//! by them (failures at file:line:col with both values), golden files are written by `--update`
//! and compared after, and broken test files are errors of their own.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use common::cluster::cluster;
use common::servers::push_files;
use common::world::World;
use common::{write_files, Env};

fn summary(stdout: &str) -> &str {
    stdout.lines().last().unwrap_or_default()
}

#[test]
fn the_stdlibs_own_tests_pass_and_cover_every_module_with_pure_functions() {
    let env = Env::new();
    let out = env.wego().args(["test"]).run();
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    assert!(summary(&out.stdout).ends_with("passed, 0 failed"), "{}", out.stdout);
    for module in ["naming", "layout", "health", "flux_install", "apps", "cluster_config", "delivery", "deploy_keys"] {
        let file = format!("tests/rhai/{module}_test.rhai::test_");
        assert!(out.stdout.contains(&file), "{module} has tests:\n{}", out.stdout);
    }
    assert!(out.stdout.lines().all(|l| l.starts_with("test ") || l.contains(" passed, ")), "{}", out.stdout);
}

/// `module::function` of every function a stdlib module exports (its `fn`s that are not `private`).
fn exported_stdlib_functions() -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for entry in std::fs::read_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join("stdlib")).unwrap() {
        let path = entry.unwrap().path();
        let module = path.file_stem().unwrap().to_str().unwrap().to_string();
        for line in std::fs::read_to_string(&path).unwrap().lines() {
            if let Some(name) = line.strip_prefix("fn ").and_then(|rest| rest.split('(').next()) {
                out.insert(format!("{module}::{}", name.trim()));
            }
        }
    }
    out
}

/// `module::function` of every stdlib function a Rhai test under tests/rhai calls, through the
/// alias its file imports the module as (`import "wego/naming" as naming;`).
fn tested_stdlib_functions() -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/rhai");
    let mut dirs = vec![root];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
                continue;
            }
            if path.extension().is_none_or(|e| e != "rhai") {
                continue;
            }
            let text = std::fs::read_to_string(&path).unwrap();
            let aliases: BTreeMap<String, String> = text
                .lines()
                .filter_map(|l| l.trim().strip_prefix("import \"wego/"))
                .filter_map(|rest| {
                    let (module, alias) = rest.split_once("\" as ")?;
                    Some((alias.trim_end_matches(';').trim().to_string(), module.to_string()))
                })
                .collect();
            for (alias, module) in aliases {
                for call in text.split(&format!("{alias}::")).skip(1) {
                    let name: String = call.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
                    out.insert(format!("{module}::{name}"));
                }
            }
        }
    }
    out
}

#[test]
fn every_exported_stdlib_function_has_a_rhai_test() {
    let exported = exported_stdlib_functions();
    assert!(exported.len() > 50 && exported.contains("naming::branch"), "the stdlib was read: {exported:?}");
    let tested = tested_stdlib_functions();
    let untested: Vec<&String> = exported.difference(&tested).collect();
    assert!(
        untested.is_empty(),
        "exported stdlib functions no test under tests/rhai calls (add them to the module's \
         `*_test.rhai`, or to tests/rhai/live/ when they need a cluster or a provider): {untested:?}"
    );
}

/// `wego test` of files under tests/rhai/live (they are no `*_test.rhai`, so only when named).
fn live(w: &World, files: &[&str]) -> common::Wego {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/rhai/live");
    w.wego().arg("test").args(files.iter().map(|f| dir.join(f).display().to_string()))
}

fn passed(out: &common::Out, files: &[&str]) {
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    assert!(summary(&out.stdout).ends_with("passed, 0 failed"), "{}", out.stdout);
    for f in files {
        assert!(out.stdout.contains(&format!("live/{f}::test_")), "{f} ran:\n{}", out.stdout);
    }
}

#[test]
fn the_stdlib_functions_that_need_a_cluster_or_a_provider_pass_against_the_test_servers() {
    let Some(c) = cluster() else { return };
    let Some(w) = World::new(&c, "rt-live") else { return };
    let fleet = w.repo("github", "fleet", true, "main", &[("README.md", "fleet\n")]);
    for branch in ["wego/prod/add-web", "wego/prod/remove-api", "wego/dev/add-db", "feature/readme"] {
        push_files(&fleet.remote, branch, &[(&format!("{branch}.txt"), "x\n")], branch);
    }
    let files = ["apps.rhai", "cluster_config.rhai", "delivery.rhai", "deploy_keys.rhai", "health.rhai"];
    passed(&live(&w, &files).env("WEGO_REPO", &fleet.url).run(), &files);
    // wait_for_controllers gives up shortly before the command's deadline.
    passed(&live(&w, &["flux_install.rhai"]).args(["--timeout", "5s"]).run(), &["flux_install.rhai"]);
}

#[test]
fn the_update_notice_names_the_new_version_and_where_to_get_it() {
    let server = common::http_server::HttpServer::start(
        vec![(
            "/v1/check/weave-gitops".into(),
            r#"{"current_version":"9.9.9","current_download_url":"https://example.invalid/wego/v9.9.9","outdated":true}"#
                .into(),
        )],
        std::time::Duration::ZERO,
    );
    let file = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/rhai/live/update.rhai");
    let out = Env::new().wego().args(["test", file.to_str().unwrap()]).env("WEGO_CHECKPOINT_URL", &server.url).run();
    assert_eq!(summary(&out.stdout), "1 passed, 0 failed", "{}\n{}", out.stdout, out.stderr);
    assert!(
        out.stderr.contains("wego v9.9.9 is available; please update: https://example.invalid/wego/v9.9.9"),
        "{}",
        out.stderr
    );
}

#[test]
fn an_override_is_judged_by_the_builtin_tests_with_positions_and_both_values() {
    let env = Env::new();
    let naming = include_str!("../stdlib/naming.rhai").replace(
        "    b.replace(\"{cluster}\", cluster);\n    b\n",
        "    b.replace(\"{cluster}\", cluster);\n    b.to_upper()\n",
    );
    assert!(naming.contains("to_upper"), "the override changes the branch rule");
    write_files(&env.config_dir(), &[("wego/stdlib/naming.rhai", &naming)]);
    let out = env.wego().args(["test", "--filter", "branches"]).run();
    assert_eq!(out.code, 1, "{}\n{}", out.stdout, out.stderr);
    assert!(out.stdout.contains("test_branches_follow_the_pattern_both_ways ... FAILED"), "{}", out.stdout);
    assert_eq!(summary(&out.stdout), "0 passed, 1 failed");
    let e = &out.stderr;
    assert!(e.contains("assert_eq: the values differ"), "{e}");
    assert!(e.contains("left:  \"WEGO/PROD/ADD-WEB\"") && e.contains("right: \"wego/prod/add-web\""), "{e}");
    assert!(e.contains("tests/rhai/naming_test.rhai:"), "file:line:col of the assertion: {e}");
}

#[test]
fn golden_files_are_written_by_update_then_compared() {
    let env = Env::new();
    let dir = env.home.path().join("team/tests");
    let test = "fn test_pr_title() {\n    let t = template::render_str(\"Add {{ app.name }}\", #{ app: #{ name: \"web\" } });\n    test::golden(\"golden/title.txt\", t);\n}\n";
    write_files(&dir, &[("title_test.rhai", test)]);
    let run = |extra: &[&str]| env.wego().args(["test"]).args(extra).args([dir.to_str().unwrap()]).run();
    let missing = run(&[]);
    assert_eq!(missing.code, 1);
    assert!(missing.stderr.contains("no golden file `golden/title.txt` yet") && missing.stderr.contains("--update"));
    let update = run(&["--update"]);
    assert_eq!(update.code, 0, "{}", update.stderr);
    assert_eq!(std::fs::read_to_string(dir.join("golden/title.txt")).unwrap(), "Add web");
    assert_eq!(summary(&run(&[]).stdout), "1 passed, 0 failed");
    std::fs::write(dir.join("golden/title.txt"), "Add api").unwrap();
    let changed = run(&[]);
    assert_eq!(changed.code, 1);
    assert!(
        changed.stderr.contains("differs at line 1") && changed.stderr.contains("want: \"Add api\""),
        "{}",
        changed.stderr
    );
}

#[test]
fn fixtures_stay_beside_the_test_and_broken_files_are_reported() {
    let env = Env::new();
    let dir = env.home.path().join("t");
    write_files(
        &dir,
        &[
            ("fixtures/objs.yaml", "kind: A\n---\nkind: B\n"),
            ("objs_test.rhai", "fn test_kinds() { assert_eq(test::objects(\"fixtures/objs.yaml\").map(|o| o.kind), [\"A\", \"B\"]); }\nfn test_escape() { test::fixture(\"../../x\"); }\nfn helper(x) { x }\n"),
            ("broken_test.rhai", "fn test_x( {\n"),
        ],
    );
    let out = env.wego().args(["test"]).args([dir.to_str().unwrap()]).run();
    assert_eq!(out.code, 1);
    assert!(out.stdout.contains("objs_test.rhai::test_kinds ... ok"), "{}", out.stdout);
    assert!(out.stdout.contains("objs_test.rhai::test_escape ... FAILED"), "{}", out.stdout);
    assert!(out.stderr.contains("is not a path inside the test's directory"), "{}", out.stderr);
    assert!(out.stdout.contains("broken_test.rhai ... FAILED (does not compile)"), "{}", out.stdout);
    assert!(!out.stdout.contains("helper"), "only test_* functions run");
    assert_eq!(summary(&out.stdout), "1 passed, 2 failed");
    // test:: belongs to test runs; a script reaching for it is told so.
    write_files(&dir, &[("plain.rhai", "test::fixture(\"objs.yaml\");\n")]);
    let out = env.wego().args(["run"]).args([dir.join("plain.rhai").to_str().unwrap()]).run();
    assert_eq!(out.code, 1);
    assert!(out.stderr.contains("there is no test file in progress"), "{}", out.stderr);
    let out = env.wego().args(["test", "no/such/dir"]).run();
    assert_eq!(out.code, 1);
    assert!(out.stderr.contains("no test file or directory `no/such/dir`"), "{}", out.stderr);
}
