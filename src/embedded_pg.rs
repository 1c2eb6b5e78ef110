//! A private PostgreSQL cluster for when no DATABASE_URL is given: found on the
//! machine, initialised once under the data folder, started on a free loopback
//! port, and stopped with the process that started it.
//!
//! The postmaster is a child process with a parent-death signal, so it stops
//! even when billgraph (or a test run) is killed without a chance to clean up.

use std::fs;
use std::io::Write;
use std::net::TcpListener;
use std::os::unix::fs::{PermissionsExt, chown};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use anyhow::{Context, anyhow, bail};
use diesel::sql_types::Text;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};

const SUPERUSER: &str = "postgres";

/// How the cluster should trade durability for speed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Durability {
    /// Normal PostgreSQL durability: for `cargo run`.
    Durable,
    /// fsync off: for throw-away test clusters only.
    Ephemeral,
}

/// The server binaries of the machine's PostgreSQL install.
#[derive(Debug, Clone)]
pub struct PgInstallation {
    bin_dir: PathBuf,
}

impl PgInstallation {
    /// Looks for initdb and postgres on PATH, then under /usr/lib/postgresql/*/bin
    /// (newest version first), where Debian puts them off PATH.
    pub fn find() -> anyhow::Result<Self> {
        let mut candidates: Vec<PathBuf> = std::env::var_os("PATH")
            .map(|p| std::env::split_paths(&p).collect())
            .unwrap_or_default();
        let mut versioned: Vec<(u32, PathBuf)> = fs::read_dir("/usr/lib/postgresql")
            .into_iter()
            .flatten()
            .flatten()
            .filter_map(|e| {
                let version = e.file_name().to_str()?.parse::<u32>().ok()?;
                Some((version, e.path().join("bin")))
            })
            .collect();
        versioned.sort_by_key(|v| std::cmp::Reverse(v.0));
        candidates.extend(versioned.into_iter().map(|(_, dir)| dir));
        candidates
            .into_iter()
            .find(|dir| dir.join("initdb").is_file() && dir.join("postgres").is_file())
            .map(|bin_dir| PgInstallation { bin_dir })
            .ok_or_else(|| {
                anyhow!(
                    "no PostgreSQL server binaries (initdb, postgres) found on PATH or under /usr/lib/postgresql/*/bin: \
                     install the PostgreSQL server (e.g. `apt-get install postgresql`) or set DATABASE_URL"
                )
            })
    }

    fn bin(&self, name: &str) -> PathBuf {
        self.bin_dir.join(name)
    }
}

/// A running private cluster. Dropping it does not stop the cluster; call
/// [`EmbeddedPostgres::stop`], or let the process exit.
pub struct EmbeddedPostgres {
    port: u16,
    password: String,
    /// None when we attached to a cluster another billgraph process started.
    child: Mutex<Option<Child>>,
}

impl EmbeddedPostgres {
    /// Starts the cluster kept in `base_dir` (initialising it on first use),
    /// or attaches to it when another process already runs it.
    pub fn start(base_dir: &Path, durability: Durability) -> anyhow::Result<Self> {
        let install = PgInstallation::find()?;
        fs::create_dir_all(base_dir).with_context(|| format!("creating data folder {}", base_dir.display()))?;
        let base_dir = base_dir
            .canonicalize()
            .with_context(|| format!("resolving data folder {}", base_dir.display()))?;
        let pgdata = base_dir.join("pgdata");
        let password = ensure_password(&base_dir)?;
        let owner = ClusterOwner::detect()?;
        if !pgdata.join("PG_VERSION").exists() {
            init_cluster(&install, &pgdata, &password, &owner)?;
        }
        if let Some(port) = running_cluster_port(&pgdata) {
            tracing::info!(port, "attaching to the private PostgreSQL cluster already running");
            return Ok(EmbeddedPostgres {
                port,
                password,
                child: Mutex::new(None),
            });
        }
        let log_path = base_dir.join("postgres.log");
        let mut last_err = None;
        // A free port can be taken between probing and binding: retry a few times.
        for _ in 0..3 {
            let port = free_port()?;
            let child = spawn_postmaster(&install, &pgdata, port, durability, &owner, &log_path)?;
            let pg = EmbeddedPostgres {
                port,
                password: password.clone(),
                child: Mutex::new(Some(child)),
            };
            match pg.wait_until_ready(Duration::from_secs(60)) {
                Ok(()) => return Ok(pg),
                Err(e) => {
                    pg.stop();
                    last_err = Some(e);
                }
            }
        }
        Err(last_err.unwrap_or_else(|| anyhow!("PostgreSQL did not start")))
            .with_context(|| format!("starting PostgreSQL (see {})", log_path.display()))
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// Connection URL for one database of the cluster.
    pub fn url(&self, database: &str) -> String {
        format!(
            "postgres://{SUPERUSER}:{}@127.0.0.1:{}/{database}",
            self.password, self.port
        )
    }

    /// Creates the database when it does not exist yet.
    pub async fn ensure_database(&self, database: &str) -> anyhow::Result<()> {
        let mut conn = AsyncPgConnection::establish(&self.url("postgres")).await?;
        #[derive(diesel::QueryableByName)]
        struct Exists {
            #[diesel(sql_type = diesel::sql_types::Bool)]
            exists: bool,
        }
        let found: Exists = diesel::sql_query("SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1) AS exists")
            .bind::<Text, _>(database)
            .get_result(&mut conn)
            .await?;
        if !found.exists {
            diesel::sql_query(format!("CREATE DATABASE {}", quote_ident(database)))
                .execute(&mut conn)
                .await?;
        }
        Ok(())
    }

    /// Fast shutdown: open transactions roll back, committed data is kept.
    pub fn stop(&self) {
        let Some(mut child) = self.child.lock().expect("child lock").take() else {
            return;
        };
        // SIGINT is PostgreSQL's "fast shutdown".
        unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGINT) };
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = child.kill();
        let _ = child.wait();
    }

    fn wait_until_ready(&self, timeout: Duration) -> anyhow::Result<()> {
        let deadline = Instant::now() + timeout;
        let url = self.url("postgres");
        loop {
            if let Some(child) = self.child.lock().expect("child lock").as_mut()
                && let Ok(Some(status)) = child.try_wait()
            {
                bail!("PostgreSQL exited during start-up ({status})");
            }
            // A connection attempt on its own thread and runtime keeps this
            // usable from inside a tokio runtime as well as outside of one.
            let attempt = std::thread::scope(|s| {
                s.spawn(|| -> anyhow::Result<()> {
                    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
                    rt.block_on(AsyncPgConnection::establish(&url))?;
                    Ok(())
                })
                .join()
                .expect("readiness probe thread")
            });
            match attempt {
                Ok(()) => return Ok(()),
                Err(e) if Instant::now() > deadline => bail!("PostgreSQL not ready after {timeout:?}: {e}"),
                Err(_) => std::thread::sleep(Duration::from_millis(50)),
            }
        }
    }
}

/// initdb and postgres refuse to run as root: as root the cluster belongs to
/// the `postgres` system user.
struct ClusterOwner {
    ids: Option<(u32, u32)>,
}

impl ClusterOwner {
    fn detect() -> anyhow::Result<Self> {
        if unsafe { libc::geteuid() } != 0 {
            return Ok(ClusterOwner { ids: None });
        }
        let name = std::ffi::CString::new(SUPERUSER)?;
        let pw = unsafe { libc::getpwnam(name.as_ptr()) };
        if pw.is_null() {
            bail!(
                "running as root needs a `postgres` system user to own the private cluster (install the postgresql package)"
            );
        }
        let (uid, gid) = unsafe { ((*pw).pw_uid, (*pw).pw_gid) };
        Ok(ClusterOwner { ids: Some((uid, gid)) })
    }

    fn apply(&self, cmd: &mut Command) {
        if let Some((uid, gid)) = self.ids {
            cmd.uid(uid).gid(gid);
        }
    }

    fn give(&self, path: &Path) -> anyhow::Result<()> {
        if let Some((uid, gid)) = self.ids {
            chown(path, Some(uid), Some(gid)).with_context(|| format!("chown {}", path.display()))?;
        }
        Ok(())
    }
}

fn ensure_password(base_dir: &Path) -> anyhow::Result<String> {
    let path = base_dir.join("pg-password");
    if let Ok(existing) = fs::read_to_string(&path) {
        let existing = existing.trim().to_string();
        if !existing.is_empty() {
            return Ok(existing);
        }
    }
    let password = hex::encode(rand::random::<[u8; 16]>());
    let mut file = fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode_0600()
        .open(&path)
        .with_context(|| format!("writing {}", path.display()))?;
    file.write_all(password.as_bytes())?;
    Ok(password)
}

trait OpenOptionsMode {
    fn mode_0600(&mut self) -> &mut Self;
}

impl OpenOptionsMode for fs::OpenOptions {
    fn mode_0600(&mut self) -> &mut Self {
        std::os::unix::fs::OpenOptionsExt::mode(self, 0o600)
    }
}

fn init_cluster(install: &PgInstallation, pgdata: &Path, password: &str, owner: &ClusterOwner) -> anyhow::Result<()> {
    // A half-initialised folder from an interrupted initdb cannot be reused.
    if pgdata.exists() {
        fs::remove_dir_all(pgdata).with_context(|| format!("removing incomplete cluster {}", pgdata.display()))?;
    }
    fs::create_dir_all(pgdata)?;
    fs::set_permissions(pgdata, fs::Permissions::from_mode(0o700))?;
    owner.give(pgdata)?;
    let pwfile = pgdata.with_extension("pwfile");
    fs::write(&pwfile, password)?;
    owner.give(&pwfile)?;
    let mut cmd = Command::new(install.bin("initdb"));
    cmd.arg("-D")
        .arg(pgdata)
        .args([
            "-U",
            SUPERUSER,
            "--auth=scram-sha-256",
            "-E",
            "UTF8",
            "--no-locale",
            "--no-sync",
        ])
        .arg(format!("--pwfile={}", pwfile.display()))
        .stdin(Stdio::null());
    owner.apply(&mut cmd);
    let out = cmd.output().context("running initdb")?;
    let _ = fs::remove_file(&pwfile);
    if !out.status.success() {
        bail!(
            "initdb failed: {}{}",
            String::from_utf8_lossy(&out.stderr).trim(),
            if owner.ids.is_some() {
                " (as root, the cluster runs as the postgres user: every folder above the data folder must be readable by it; set BILLGRAPH_DATA_DIR elsewhere if it is not)"
            } else {
                ""
            }
        );
    }
    Ok(())
}

/// The port of a postmaster already serving `pgdata`, read from its lock file.
fn running_cluster_port(pgdata: &Path) -> Option<u16> {
    let pidfile = fs::read_to_string(pgdata.join("postmaster.pid")).ok()?;
    let mut lines = pidfile.lines();
    let pid: libc::pid_t = lines.next()?.trim().parse().ok()?;
    let port: u16 = lines.nth(2)?.trim().parse().ok()?;
    // Signal 0 only checks that the process exists.
    let alive =
        unsafe { libc::kill(pid, 0) } == 0 || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM);
    alive.then_some(port)
}

fn free_port() -> anyhow::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

fn spawn_postmaster(
    install: &PgInstallation,
    pgdata: &Path,
    port: u16,
    durability: Durability,
    owner: &ClusterOwner,
    log_path: &Path,
) -> anyhow::Result<Child> {
    let log = fs::OpenOptions::new().create(true).append(true).open(log_path)?;
    let mut cmd = Command::new(install.bin("postgres"));
    cmd.arg("-D").arg(pgdata).args(["-p", &port.to_string()]).args([
        "-c",
        "listen_addresses=127.0.0.1",
        "-c",
        "unix_socket_directories=",
        "-c",
        "max_connections=200",
    ]);
    if durability == Durability::Ephemeral {
        cmd.args([
            "-c",
            "fsync=off",
            "-c",
            "synchronous_commit=off",
            "-c",
            "full_page_writes=off",
        ]);
    }
    cmd.stdin(Stdio::null()).stdout(log.try_clone()?).stderr(log);
    owner.apply(&mut cmd);
    // Its own process group: a Ctrl-C in the terminal must reach billgraph
    // first, so in-flight requests finish before the database stops.
    cmd.process_group(0);
    unsafe {
        // Runs after the uid switch (which would clear it): the cluster gets
        // SIGINT (fast shutdown) when the spawning thread dies.
        cmd.pre_exec(|| {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGINT) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    // The parent-death signal fires when the spawning *thread* exits, so the
    // spawn happens on a thread that lives as long as the process.
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::Builder::new()
        .name("postgres-parent".into())
        .spawn(move || {
            let _ = tx.send(cmd.spawn());
            loop {
                std::thread::park();
            }
        })
        .context("spawning the postgres parent thread")?;
    rx.recv()
        .context("postgres parent thread")?
        .with_context(|| format!("starting {}", install.bin("postgres").display()))
}

fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers_are_quoted() {
        assert_eq!(quote_ident("billgraph"), "\"billgraph\"");
        assert_eq!(quote_ident("a\"b"), "\"a\"\"b\"");
    }

    #[test]
    fn a_missing_lock_file_means_no_running_cluster() {
        assert_eq!(running_cluster_port(Path::new("/nonexistent/pgdata")), None);
    }
}
