//! `cargo xtask cold-start [--runs N] [function …]`: builds each function's release
//! bootstrap on its own (its own features, as SAM's per-function build does), starts
//! moto, and runs the `cold-start` measurement (`infra/cold-start`), which prints the
//! table `docs/performance.md` records.

use std::path::{Path, PathBuf};

use crate::{cargo, moto, step, tools};

/// The function crates, from `functions/`.
fn functions(root: &Path) -> Result<Vec<String>, String> {
    let mut names: Vec<String> = std::fs::read_dir(root.join("functions"))
        .map_err(|e| format!("functions/: {e}"))?
        .filter_map(|e| e.ok())
        .filter(|e| e.path().join("Cargo.toml").is_file())
        .filter_map(|e| e.file_name().into_string().ok())
        .collect();
    names.sort();
    Ok(names)
}

fn target_dir(root: &Path) -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("target"))
}

pub fn run(root: &Path, args: &[String]) -> Result<(), String> {
    let venv = tools::ensure(root)?.venv;
    let target = target_dir(root);
    let bin_dir = target.join("cold-start");
    // Function names are the arguments that are neither options nor an option's value.
    let wanted: Vec<&String> = args
        .iter()
        .enumerate()
        .filter(|(i, a)| !a.starts_with('-') && (*i == 0 || !args[i - 1].starts_with('-')))
        .map(|(_, a)| a)
        .collect();
    for name in functions(root)? {
        if !wanted.is_empty() && !wanted.iter().any(|w| **w == name) {
            continue;
        }
        step(
            &format!("build {name} (release)"),
            cargo().args(["build", "--release", "-p", &name]),
        )?;
        let dir = bin_dir.join(&name);
        std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        std::fs::copy(target.join("release").join(&name), dir.join("bootstrap"))
            .map_err(|e| format!("{name}: copying the binary: {e}"))?;
    }
    let moto = moto::Moto::start(&venv)?;
    let bin = bin_dir.display().to_string();
    let mut measure = cargo();
    measure
        .args(["run", "-q", "-p", "cold-start", "--"])
        .args(["--bin-dir", &bin, "--moto", moto.url()])
        .args(args);
    step("measure cold starts", &mut measure)
}
