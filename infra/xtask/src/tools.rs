//! The test tools, installed idempotently under `.tools/` (git-ignored): a Python venv
//! with moto (AWS on loopback) and cfn-lint, at pinned versions. A stamp file records what
//! was installed, so a second run does nothing.

use std::path::{Path, PathBuf};
use std::process::Command;

const PACKAGES: &[&str] = &["moto[server]==5.2.5", "cfn-lint==1.58.0"];

pub fn ensure(root: &Path) -> Result<PathBuf, String> {
    let venv = root.join(".tools/venv");
    let stamp = venv.join(".passerelle-tools");
    let wanted = PACKAGES.join("\n");
    if std::fs::read_to_string(&stamp).is_ok_and(|s| s == wanted) {
        return Ok(venv);
    }
    println!(
        "==> installing test tools into {} ({})",
        venv.display(),
        PACKAGES.join(", ")
    );
    let python = std::env::var("PYTHON").unwrap_or_else(|_| "python3".into());
    if !venv.join("bin/pip").exists() {
        run(
            Command::new(&python).args(["-m", "venv"]).arg(&venv),
            "create the Python venv",
        )?;
    }
    run(
        Command::new(venv.join("bin/pip"))
            .args(["install", "--quiet", "--disable-pip-version-check"])
            .args(PACKAGES),
        "install moto and cfn-lint",
    )?;
    std::fs::write(&stamp, wanted).map_err(|e| format!("write {}: {e}", stamp.display()))?;
    Ok(venv)
}

fn run(cmd: &mut Command, what: &str) -> Result<(), String> {
    let status = cmd.status().map_err(|e| format!("{what}: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("could not {what} ({status})"))
    }
}
