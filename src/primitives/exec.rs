//! `exec::` — run programs, only with `--allow-exec`.

use std::io::Write;
use std::process::{Command, Stdio};
use std::sync::Arc;

use rhai::{Array, Map, Module};

use super::api::api_module;
use super::host::{fail, Host};

pub fn module(host: &Arc<Host>) -> Module {
    api_module! {
        let h = host;
        //! Run external programs (needs `--allow-exec`).

        /// Run `program` with `args`; options: `stdin` (text), `cwd` (inside the workspace).\
        /// Returns `#{code, stdout, stderr}`; a non-zero exit is not an error.
        ///
        /// Errors: `--allow-exec` not given; the program cannot start.
        ///
        /// Example: `let r = exec::run("kubectl", ["version", "--client"], #{});`
        fn run(program: &str, args: Array, options: Map) -> Map {
            run(h, program, &args, &options)
        }
    }
}

fn run(h: &Host, program: &str, args: &Array, opts: &Map) -> Result<Map, Box<rhai::EvalAltResult>> {
    if !h.session.globals.allow_exec {
        return Err(fail(
            "exec::run",
            format!("running `{program}` is not allowed"),
            Some("pass --allow-exec to let scripts run programs"),
        ));
    }
    let mut cmd = Command::new(program);
    cmd.args(args.iter().map(|a| a.to_string()));
    if let Some(cwd) = super::opt_str(opts, "cwd") {
        cmd.current_dir(super::fs::resolve(h, "exec::run", &cwd)?);
    }
    let stdin = super::opt_str(opts, "stdin");
    cmd.stdin(if stdin.is_some() { Stdio::piped() } else { Stdio::null() });
    cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = cmd.spawn().map_err(|e| fail("exec::run", format!("cannot start `{program}`: {e}"), None))?;
    if let (Some(text), Some(mut pipe)) = (stdin, child.stdin.take()) {
        pipe.write_all(text.as_bytes()).map_err(|e| fail("exec::run", e, None))?;
    }
    let out = child.wait_with_output().map_err(|e| fail("exec::run", e, None))?;
    let mut r = Map::new();
    r.insert("code".into(), (out.status.code().unwrap_or(-1) as i64).into());
    r.insert("stdout".into(), String::from_utf8_lossy(&out.stdout).to_string().into());
    r.insert("stderr".into(), String::from_utf8_lossy(&out.stderr).to_string().into());
    Ok(r)
}
