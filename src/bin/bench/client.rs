//! The bench's HTTP client and its ways of timing requests: alone (median
//! of five) and under load (many clients for a fixed time).

use std::sync::OnceLock;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use billgraph::db::StatementCounter;
use bytes::Bytes;
use serde_json::{Value, json};

#[derive(Clone)]
pub struct Api {
    pub client: reqwest::Client,
    pub base: String,
    pub key: String,
}

impl Api {
    /// The same server, as another tenant.
    pub fn with_key(&self, key: &str) -> Api {
        Api {
            key: key.to_string(),
            ..self.clone()
        }
    }

    pub async fn send(&self, path: &str, body: Bytes) -> anyhow::Result<reqwest::Response> {
        Ok(self
            .client
            .post(format!("{}{path}", self.base))
            .header("x-api-key", &self.key)
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await?)
    }

    pub async fn post(&self, path: &str, body: Bytes) -> anyhow::Result<Value> {
        let res = self.send(path, body).await?;
        let status = res.status();
        let value: Value = res.json().await?;
        if !status.is_success() || value.get("errors").is_some_and(|e| !e.is_null()) {
            bail!("{path} answered {status}: {value}");
        }
        Ok(value)
    }

    /// A GraphQL request whose answer is checked but not parsed, so the
    /// load client costs little of the machine the server runs on.
    pub async fn gql_unparsed(&self, query: &str, variables: &Value) -> anyhow::Result<()> {
        let body = json!({ "query": query, "variables": variables }).to_string();
        let res = self.send("/graphql", Bytes::from(body)).await?;
        let status = res.status();
        let bytes = res.bytes().await?;
        if !status.is_success() || bytes.windows(9).any(|w| w == b"\"errors\":") {
            bail!("/graphql answered {status}: {}", String::from_utf8_lossy(&bytes));
        }
        Ok(())
    }

    /// Creates a plan from its input; returns its id.
    pub async fn create_plan(&self, input: Value) -> anyhow::Result<String> {
        let data = self
            .gql(
                "mutation($i: CreatePlanInput!) { createPlan(input: $i) { id } }",
                json!({ "i": input }),
            )
            .await?;
        Ok(data["createPlan"]["id"].as_str().context("plan id")?.to_string())
    }

    pub async fn gql(&self, query: &str, variables: Value) -> anyhow::Result<Value> {
        let body = json!({ "query": query, "variables": variables }).to_string();
        Ok(self.post("/graphql", Bytes::from(body)).await?["data"].clone())
    }
}

pub fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

/// The median of timings in any order.
pub fn median(mut times: Vec<f64>) -> f64 {
    times.sort_by(|a, b| a.total_cmp(b));
    percentile(&times, 0.5)
}

/// The median of `runs` timings of `f`, in milliseconds, and its last answer.
pub async fn median_ms<T, F: AsyncFnMut() -> anyhow::Result<T>>(runs: usize, mut f: F) -> anyhow::Result<(f64, T)> {
    let mut times = Vec::with_capacity(runs);
    let mut last = None;
    for _ in 0..runs {
        let started = Instant::now();
        last = Some(f().await?);
        times.push(started.elapsed().as_secs_f64() * 1000.0);
    }
    Ok((median(times), last.expect("at least one run")))
}

/// The PostgreSQL cluster's postmaster, whose processes' CPU time the
/// load runs report.
pub static POSTMASTER: OnceLock<i32> = OnceLock::new();

/// CPU time (user + system) of this process and of the cluster, in ms.
fn cpu_ms() -> (f64, f64) {
    let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as f64;
    let own = process_ticks("/proc/self/stat").map(|(t, _)| t).unwrap_or(0);
    let cluster = POSTMASTER.get().map_or(0, |&postmaster| {
        let Ok(entries) = std::fs::read_dir("/proc") else {
            return 0;
        };
        entries
            .flatten()
            .filter_map(|e| process_ticks(&format!("{}/stat", e.path().display())))
            .filter(|(_, (pid, ppid))| *pid == postmaster || *ppid == postmaster)
            .map(|(t, _)| t)
            .sum()
    });
    (own as f64 * 1000.0 / ticks, cluster as f64 * 1000.0 / ticks)
}

/// utime + stime of a /proc/<pid>/stat file, with its pid and parent pid.
fn process_ticks(path: &str) -> Option<(u64, (i32, i32))> {
    let text = std::fs::read_to_string(path).ok()?;
    let pid = text.split_whitespace().next()?.parse().ok()?;
    // The command name may hold spaces; fields after it are plain.
    let rest: Vec<&str> = text.rsplit_once(')')?.1.split_whitespace().collect();
    let ppid = rest.get(1)?.parse().ok()?;
    let utime: u64 = rest.get(11)?.parse().ok()?;
    let stime: u64 = rest.get(12)?.parse().ok()?;
    Some((utime + stime, (pid, ppid)))
}

/// Latencies of one query sent by `concurrency` clients for `seconds`.
pub struct LoadRun {
    latencies_ms: Vec<f64>,
    failures: usize,
    elapsed_s: f64,
    /// CPU time of this process (server and load client) and of PostgreSQL.
    cpu_ms: (f64, f64),
}

impl LoadRun {
    pub fn report(&self, concurrency: usize) -> Value {
        json!({
            "concurrency": concurrency,
            "requests": self.latencies_ms.len(),
            "failed_requests": self.failures,
            "requests_per_s": self.requests_per_s(),
            "p50_ms": percentile(&self.latencies_ms, 0.5),
            "p99_ms": percentile(&self.latencies_ms, 0.99),
            "billgraph_and_client_cpu_ms_per_request": self.cpu_ms.0 / self.latencies_ms.len().max(1) as f64,
            "postgres_cpu_ms_per_request": self.cpu_ms.1 / self.latencies_ms.len().max(1) as f64,
        })
    }

    pub fn requests_per_s(&self) -> f64 {
        self.latencies_ms.len() as f64 / self.elapsed_s
    }
}

pub async fn load(
    api: &Api,
    query: &'static str,
    vars: Value,
    concurrency: usize,
    seconds: u64,
) -> anyhow::Result<LoadRun> {
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let started = Instant::now();
    let cpu_before = cpu_ms();
    let mut workers = Vec::new();
    for _ in 0..concurrency {
        let (api, vars) = (api.clone(), vars.clone());
        workers.push(tokio::spawn(async move {
            let (mut latencies, mut failures) = (Vec::new(), 0usize);
            while Instant::now() < deadline {
                let t = Instant::now();
                match api.gql_unparsed(query, &vars).await {
                    Ok(_) => latencies.push(t.elapsed().as_secs_f64() * 1000.0),
                    Err(e) => {
                        eprintln!("  request failed after {:?}: {e}", t.elapsed());
                        failures += 1;
                    }
                }
            }
            anyhow::Ok((latencies, failures))
        }));
    }
    let (mut latencies_ms, mut failures) = (Vec::new(), 0);
    for w in workers {
        let (l, f) = w.await??;
        latencies_ms.extend(l);
        failures += f;
    }
    let elapsed_s = started.elapsed().as_secs_f64();
    let cpu_after = cpu_ms();
    latencies_ms.sort_by(|a, b| a.total_cmp(b));
    Ok(LoadRun {
        latencies_ms,
        failures,
        elapsed_s,
        cpu_ms: (cpu_after.0 - cpu_before.0, cpu_after.1 - cpu_before.1),
    })
}

/// One request measured alone: milliseconds and SQL statements.
pub async fn alone(api: &Api, statements: &StatementCounter, query: &str, vars: Value) -> anyhow::Result<(f64, u64)> {
    let before = statements.get();
    let started = Instant::now();
    api.gql(query, vars).await?;
    Ok((started.elapsed().as_secs_f64() * 1000.0, statements.get() - before))
}
