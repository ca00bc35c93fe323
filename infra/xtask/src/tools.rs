//! The test tools, installed idempotently: under `.tools/` (git-ignored) a Python venv with
//! moto (AWS on loopback) and cfn-lint, and axe-core from npm, at pinned versions; and
//! Debian's chromium for the browser tests. A stamp file records what was installed, so a
//! second run does nothing.

use std::path::{Path, PathBuf};
use std::process::Command;

const PACKAGES: &[&str] = &["moto[server]==5.2.5", "cfn-lint==1.58.0"];

/// axe-core, the accessibility rules the browser tests run on every page.
const AXE: &str = "axe-core@4.14.1";

/// Where Debian's chromium package puts its launcher.
const CHROMIUM: &str = "/usr/bin/chromium";

/// What the tests get from the tool step.
#[derive(Debug)]
pub struct Tools {
    pub venv: PathBuf,
    pub browser: BrowserTools,
}

/// The browser suite's tools, passed to the tests as `PASSERELLE_TEST_CHROMIUM` and
/// `PASSERELLE_TEST_AXE`.
#[derive(Debug)]
pub struct BrowserTools {
    pub chromium: PathBuf,
    pub axe: PathBuf,
}

pub fn ensure(root: &Path) -> Result<Tools, String> {
    Ok(Tools {
        venv: ensure_venv(root)?,
        browser: BrowserTools {
            chromium: ensure_chromium()?,
            axe: ensure_axe(root)?,
        },
    })
}

fn ensure_venv(root: &Path) -> Result<PathBuf, String> {
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

/// Debian's chromium: `PASSERELLE_TEST_CHROMIUM` if set, else `/usr/bin/chromium`,
/// installed with apt-get (as root) when missing; `apt-get update` first only if the
/// install fails on a stale package list.
fn ensure_chromium() -> Result<PathBuf, String> {
    if let Some(path) = std::env::var_os("PASSERELLE_TEST_CHROMIUM").filter(|p| !p.is_empty()) {
        let path = PathBuf::from(path);
        return if path.is_file() {
            Ok(path)
        } else {
            Err(format!(
                "PASSERELLE_TEST_CHROMIUM={} does not exist",
                path.display()
            ))
        };
    }
    let path = PathBuf::from(CHROMIUM);
    if path.is_file() {
        return Ok(path);
    }
    let root = Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout.trim_ascii() == b"0");
    if !root {
        return Err(format!(
            "the browser tests need Chromium at {CHROMIUM}: install Debian's package as root \
             (`apt-get install -y chromium`), or set PASSERELLE_TEST_CHROMIUM to a Chromium"
        ));
    }
    println!("==> installing chromium (apt-get install -y chromium)");
    let install = || {
        run(
            Command::new("apt-get")
                .args(["install", "-y", "chromium"])
                .env("DEBIAN_FRONTEND", "noninteractive"),
            "install chromium with apt-get",
        )
    };
    if install().is_err() {
        println!("==> apt-get update, then chromium again");
        run(
            Command::new("apt-get")
                .arg("update")
                .env("DEBIAN_FRONTEND", "noninteractive"),
            "update the package lists (apt-get update)",
        )?;
        install()?;
    }
    if path.is_file() {
        Ok(path)
    } else {
        Err(format!(
            "apt-get installed chromium but there is no {CHROMIUM}: install Chromium and set \
             PASSERELLE_TEST_CHROMIUM to it"
        ))
    }
}

/// axe-core from npm into `.tools/node/` (its `axe.min.js` is what the tests inject).
fn ensure_axe(root: &Path) -> Result<PathBuf, String> {
    let dir = root.join(".tools/node");
    let stamp = dir.join(".passerelle-tools");
    let axe = dir.join("node_modules/axe-core/axe.min.js");
    if std::fs::read_to_string(&stamp).is_ok_and(|s| s == AXE) && axe.is_file() {
        return Ok(axe);
    }
    println!("==> installing {AXE} into {}", dir.display());
    std::fs::create_dir_all(&dir).map_err(|e| format!("create {}: {e}", dir.display()))?;
    // Its own package.json, so npm installs here and not in a parent folder's project.
    let manifest = dir.join("package.json");
    if !manifest.is_file() {
        std::fs::write(
            &manifest,
            "{\n  \"name\": \"passerelle-test-tools\",\n  \"private\": true\n}\n",
        )
        .map_err(|e| format!("write {}: {e}", manifest.display()))?;
    }
    let npm = std::env::var("NPM").unwrap_or_else(|_| "npm".into());
    run(
        Command::new(&npm)
            .args([
                "install",
                "--no-audit",
                "--no-fund",
                "--loglevel=error",
                "--save-exact",
            ])
            .arg(AXE)
            .current_dir(&dir),
        "install axe-core with npm (is Node.js with npm installed?)",
    )?;
    if !axe.is_file() {
        return Err(format!(
            "npm installed {AXE} but {} is missing",
            axe.display()
        ));
    }
    std::fs::write(&stamp, AXE).map_err(|e| format!("write {}: {e}", stamp.display()))?;
    Ok(axe)
}

fn run(cmd: &mut Command, what: &str) -> Result<(), String> {
    let status = cmd.status().map_err(|e| format!("could not {what}: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("could not {what} ({status})"))
    }
}
