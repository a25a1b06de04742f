//! `wego test`: the stdlib's own Rhai tests pass as built, a team's override is judged by
//! them (failures at file:line:col with both values), golden files are written by `--update`
//! and compared after, and broken test files are errors of their own.

mod common;

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
    for module in ["naming", "layout", "health", "flux_install", "apps"] {
        let file = format!("tests/rhai/{module}_test.rhai::test_");
        assert!(out.stdout.contains(&file), "{module} has tests:\n{}", out.stdout);
    }
    assert!(out.stdout.lines().all(|l| l.starts_with("test ") || l.contains(" passed, ")), "{}", out.stdout);
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
