//! The Node tools some tests run (tests/js: the graphql-http audit suite,
//! puppeteer-core), installed with `npm ci` from the committed lock file on
//! first use, so `cargo test` needs nothing but node and npm beforehand.

use std::path::PathBuf;
use std::process::Command;
use std::sync::OnceLock;

static INSTALLED: OnceLock<PathBuf> = OnceLock::new();

/// tests/js with its node_modules in place; run scripts from there.
pub fn js_dir() -> &'static PathBuf {
    INSTALLED.get_or_init(|| {
        let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/js");
        let lock = std::fs::read_to_string(dir.join("package-lock.json")).expect("tests/js/package-lock.json");
        // `npm ci` starts by deleting node_modules, so the stamp goes with it.
        let stamp = dir.join("node_modules/.installed-lock.json");
        if std::fs::read_to_string(&stamp).ok().as_deref() == Some(lock.as_str()) {
            return dir;
        }
        let status = Command::new("npm")
            .args(["ci", "--ignore-scripts", "--no-audit", "--no-fund", "--loglevel=error"])
            .current_dir(&dir)
            .status()
            .unwrap_or_else(|e| panic!("running npm ci in {}: {e} (are node and npm installed?)", dir.display()));
        assert!(status.success(), "npm ci in {} failed with {status}", dir.display());
        std::fs::write(&stamp, &lock).unwrap();
        dir
    })
}

/// Runs `node <script> <args>` in tests/js; its exit status and output
/// (stdout then stderr).
pub fn node(script: &str, args: &[&str]) -> (bool, String) {
    let out = Command::new("node")
        .arg(script)
        .args(args)
        .current_dir(js_dir())
        .output()
        .unwrap_or_else(|e| panic!("running node {script}: {e}"));
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

/// Debian's Chromium, or the one BILLGRAPH_TEST_CHROMIUM names.
pub fn chromium() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("BILLGRAPH_TEST_CHROMIUM") {
        return Some(PathBuf::from(path));
    }
    ["/usr/bin/chromium", "/usr/bin/chromium-browser"]
        .into_iter()
        .map(PathBuf::from)
        .find(|p| p.exists())
}

/// The executable an installed package puts in `node_modules/.bin`.
pub fn bin(name: &str) -> PathBuf {
    js_dir().join("node_modules/.bin").join(name)
}
