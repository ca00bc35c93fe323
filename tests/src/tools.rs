//! Where the browser suite's tools are. `cargo xtask test` installs them (Debian's
//! chromium, axe-core from npm under `.tools/node/`) and passes their paths in
//! `PASSERELLE_TEST_CHROMIUM` and `PASSERELLE_TEST_AXE`; a plain `cargo test` looks in the
//! same default places. A missing tool fails the test with what to run: the suite never
//! passes by skipping.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// The pinned axe-core version `cargo xtask test` installs.
pub const AXE_VERSION: &str = "4.14.1";

/// The workspace root (this crate lives in `tests/`).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default()
}

fn from_env_or(variable: &str, default: PathBuf) -> PathBuf {
    std::env::var_os(variable)
        .filter(|v| !v.is_empty())
        .map_or(default, PathBuf::from)
}

fn missing(what: &str, path: &Path, variable: &str) -> ! {
    panic!(
        "{what} not found at {}: run `cargo xtask test` (or `cargo xtask tools`), which \
         installs it, or point {variable} at it",
        path.display()
    )
}

/// The Chromium executable: `PASSERELLE_TEST_CHROMIUM`, else `/usr/bin/chromium`.
pub fn chromium() -> PathBuf {
    let path = from_env_or(
        "PASSERELLE_TEST_CHROMIUM",
        PathBuf::from("/usr/bin/chromium"),
    );
    if !path.is_file() {
        missing("Chromium", &path, "PASSERELLE_TEST_CHROMIUM");
    }
    path
}

/// The path of `axe.min.js`: `PASSERELLE_TEST_AXE`, else the copy under `.tools/node/`.
pub fn axe_path() -> PathBuf {
    from_env_or(
        "PASSERELLE_TEST_AXE",
        workspace_root().join(".tools/node/node_modules/axe-core/axe.min.js"),
    )
}

/// The source of axe-core, read once per test binary.
pub fn axe_source() -> &'static str {
    static SOURCE: OnceLock<String> = OnceLock::new();
    SOURCE.get_or_init(|| {
        let path = axe_path();
        std::fs::read_to_string(&path)
            .unwrap_or_else(|_| missing("axe-core", &path, "PASSERELLE_TEST_AXE"))
    })
}

/// Where journeys save screenshots, when `PASSERELLE_SCREENSHOTS` names a folder
/// (relative to the workspace root, e.g. `docs/screenshots`).
pub fn screenshots_dir() -> Option<PathBuf> {
    let dir = std::env::var_os("PASSERELLE_SCREENSHOTS").filter(|v| !v.is_empty())?;
    let dir = PathBuf::from(dir);
    Some(if dir.is_absolute() {
        dir
    } else {
        workspace_root().join(dir)
    })
}
