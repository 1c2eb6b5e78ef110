//! The Python tools some tests run (tests/requirements.txt), in a virtual
//! environment the support creates on first use, so `cargo test` needs
//! nothing but python3 beforehand.

use std::path::PathBuf;
use std::process::Command;
use std::sync::OnceLock;

static VENV: OnceLock<PathBuf> = OnceLock::new();

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The environment's interpreter; run the tools as modules
/// (`python -m localstripe`), since their scripts name the folder they were
/// installed in.
pub fn python() -> PathBuf {
    venv().join("bin/python")
}

fn venv() -> &'static PathBuf {
    VENV.get_or_init(|| {
        let dir = repo().join(".venv-test");
        let requirements = repo().join("tests/requirements.txt");
        let stamp = dir.join("requirements.txt");
        let wanted = std::fs::read_to_string(&requirements).expect("tests/requirements.txt");
        if std::fs::read_to_string(&stamp).ok().as_deref() == Some(wanted.as_str()) {
            return dir;
        }
        // Another test binary may be installing at the same time: build
        // aside, then move into place.
        let building = repo().join(format!(".venv-test-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&building);
        run(Command::new("python3").arg("-m").arg("venv").arg(&building));
        run(Command::new(building.join("bin/python"))
            .args(["-m", "pip", "install", "--quiet", "--disable-pip-version-check", "-r"])
            .arg(&requirements));
        std::fs::write(building.join("requirements.txt"), &wanted).unwrap();
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::rename(&building, &dir).unwrap_or_else(|_| panic!("moving {} into place", building.display()));
        dir
    })
}

fn run(command: &mut Command) {
    let status = command
        .status()
        .unwrap_or_else(|e| panic!("running {command:?}: {e} (is python3 with venv installed?)"));
    assert!(status.success(), "{command:?} failed with {status}");
}

#[test]
fn the_tools_import() {
    let out = Command::new(python())
        .args(["-c", "import localstripe, standardwebhooks; print('ok')"])
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "ok",
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
