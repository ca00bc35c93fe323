//! Project automation. `cargo xtask test` runs every check CI runs: it installs the test
//! tools (idempotently), starts moto on a free loopback port and always stops it, then
//! runs fmt, clippy, the feature-isolation check, every test on both adapter sets, and
//! cfn-lint. `cargo xtask cold-start` measures the functions' cold starts.
#![forbid(unsafe_code)]
#![allow(clippy::print_stdout)]

mod cold_start;
mod moto;
mod tools;

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::time::Instant;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .nth(2)
        .map(Path::to_path_buf)
        .unwrap_or_default()
}

/// Runs a step, printing its name and time; the error names the step.
fn step(name: &str, cmd: &mut Command) -> Result<(), String> {
    println!("\n==> {name}");
    let started = Instant::now();
    let status = cmd
        .current_dir(root())
        .status()
        .map_err(|e| format!("{name}: could not start: {e}"))?;
    println!(
        "<== {name}: {} in {:.1}s",
        if status.success() { "ok" } else { "FAILED" },
        started.elapsed().as_secs_f64()
    );
    if status.success() {
        Ok(())
    } else {
        Err(format!("{name} failed"))
    }
}

fn cargo() -> Command {
    Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
}

/// The domain must build without any AWS or HTTP crate: list the crate's normal
/// dependencies with its adapter and web features off and look for them.
fn check_feature_isolation() -> Result<(), String> {
    step(
        "check: shared without features",
        cargo().args(["check", "-p", "passerelle", "--no-default-features"]),
    )?;
    let out = cargo()
        .current_dir(root())
        .args([
            "tree",
            "-p",
            "passerelle",
            "--no-default-features",
            "-e",
            "normal",
            "--prefix",
            "none",
        ])
        .output()
        .map_err(|e| format!("cargo tree: {e}"))?;
    let tree = String::from_utf8_lossy(&out.stdout);
    let forbidden: Vec<&str> = tree
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .filter(|name| {
            name.starts_with("aws-")
                || name.starts_with("lambda")
                || ["axum", "hyper", "http", "askama", "tower", "reqwest"].contains(name)
        })
        .collect();
    if forbidden.is_empty() {
        println!("<== the domain builds with no AWS or HTTP crate");
        Ok(())
    } else {
        Err(format!(
            "the domain pulls in {forbidden:?} without the aws/web features"
        ))
    }
}

fn test() -> Result<(), String> {
    let root = root();
    let tools = tools::ensure(&root)?;
    let venv = tools.venv;
    step("fmt", cargo().args(["fmt", "--all", "--", "--check"]))?;
    step(
        "clippy",
        cargo().args([
            "clippy",
            "--workspace",
            "--all-targets",
            "--all-features",
            "--",
            "-D",
            "warnings",
        ]),
    )?;
    check_feature_isolation()?;
    step(
        "cfn-lint",
        Command::new(venv.join("bin/cfn-lint")).arg("template.yaml"),
    )?;
    let moto = moto::Moto::start(&venv)?;
    println!("moto_server is listening at {}", moto.url());
    let mut cmd = cargo();
    cmd.args(["test", "--workspace", "--all-features", "--no-fail-fast"])
        .env("PASSERELLE_TEST_MOTO_URL", moto.url())
        .env("PASSERELLE_TEST_CHROMIUM", &tools.browser.chromium)
        .env("PASSERELLE_TEST_AXE", &tools.browser.axe);
    run_tests(&mut cmd)
}

/// Runs the tests, echoing their output, and closes with one total line over every test
/// binary (`N passed, N failed`), so the summary does not hinge on the last binary's.
fn run_tests(cmd: &mut Command) -> Result<(), String> {
    use std::io::{BufRead, BufReader};
    println!("\n==> tests (embedded and AWS-on-moto adapters)");
    let started = Instant::now();
    let mut child = cmd
        .current_dir(root())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .map_err(|e| format!("tests: could not start: {e}"))?;
    let (mut passed, mut failed, mut ignored) = (0u64, 0u64, 0u64);
    if let Some(out) = child.stdout.take() {
        for line in BufReader::new(out).lines().map_while(Result::ok) {
            println!("{line}");
            if let Some(rest) = line.strip_prefix("test result: ") {
                let count = |word: &str| -> u64 {
                    rest.split(';')
                        .find_map(|part| {
                            part.trim()
                                .strip_suffix(word)?
                                .trim()
                                .rsplit(' ')
                                .next()?
                                .parse()
                                .ok()
                        })
                        .unwrap_or(0)
                };
                passed += count("passed");
                failed += count("failed");
                ignored += count("ignored");
            }
        }
    }
    let status = child.wait().map_err(|e| format!("tests: {e}"))?;
    println!(
        "<== tests: {} in {:.1}s",
        if status.success() { "ok" } else { "FAILED" },
        started.elapsed().as_secs_f64()
    );
    println!("\n{passed} passed, {failed} failed, {ignored} skipped");
    if status.success() && failed == 0 && passed > 0 {
        Ok(())
    } else if passed == 0 {
        Err("no test ran".into())
    } else {
        Err("tests failed".into())
    }
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("test") => test(),
        Some("tools") => tools::ensure(&root()).map(|_| ()),
        Some("cold-start") => cold_start::run(&root(), &args[1..]),
        _ => Err("usage: cargo xtask test | cargo xtask tools | cargo xtask cold-start [--runs N] [function …]".into()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("\nxtask: {e}");
            ExitCode::FAILURE
        }
    }
}
