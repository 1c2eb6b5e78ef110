//! The npm tools some tests run (tests/js/package.json, pinned by its
//! package-lock.json), installed with `npm ci` on first use, so `cargo test`
//! needs nothing but Node and npm beforehand.

use std::path::PathBuf;
use std::process::Command;
use std::sync::OnceLock;

static MODULES: OnceLock<PathBuf> = OnceLock::new();

fn js_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/js")
}

/// The executable an installed package puts in `node_modules/.bin`.
pub fn bin(name: &str) -> PathBuf {
    modules().join(".bin").join(name)
}

fn modules() -> &'static PathBuf {
    MODULES.get_or_init(|| {
        let dir = js_dir();
        let modules = dir.join("node_modules");
        // npm ci starts from an empty node_modules; the copied lock file
        // says which lock the folder was installed from.
        let stamp = modules.join(".billgraph-lock.json");
        let wanted = std::fs::read_to_string(dir.join("package-lock.json")).expect("tests/js/package-lock.json");
        if std::fs::read_to_string(&stamp).ok().as_deref() == Some(wanted.as_str()) {
            return modules;
        }
        let status = Command::new("npm")
            .args(["ci", "--no-audit", "--no-fund", "--loglevel=error"])
            .current_dir(&dir)
            .status()
            .unwrap_or_else(|e| panic!("running npm ci in {}: {e} (are node and npm installed?)", dir.display()));
        assert!(status.success(), "npm ci in {} failed with {status}", dir.display());
        std::fs::write(&stamp, &wanted).unwrap();
        modules
    })
}
