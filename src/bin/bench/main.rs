//! The benchmark: seeds a realistic tenant on a private PostgreSQL cluster,
//! then measures ingestion (REST bulk and GraphQL, beside plain COPY), the
//! two dashboard pages (A: relations, B: subtree usage) alone and at
//! concurrency 16 beside the same page written as one hand-made SQL
//! statement, the upcoming-invoice page, the billing run, and a parent's
//! subtree usage; then the two pages again on a tenant with ten times the
//! subscriptions, invoices, wallet transactions and events; and a mixed
//! load (pages, customers, events, debits) at 16, 64 and 128 clients. Prints the
//! figures and writes them to a JSON file.
//!
//!     cargo run --release --bin bench -- [--events N] [--scale K] [--out FILE]

/// The server's allocator (see src/main.rs), so the bench measures what
/// runs in production.
/// mimalloc: a request allocates thousands of small objects (resolver
/// futures, values, strings); glibc's malloc spent a quarter of the
/// server's CPU on them under load.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

mod client;
mod mixed;
mod pages;
mod relations;
mod scaled;

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use billgraph::AppState;
use billgraph::config::{Config, Sharing};
use billgraph::db::{self, StatementCounter, api_keys, tenants};
use billgraph::domain::api_key::ApiKey;
use billgraph::embedded_pg::{Durability, EmbeddedPostgres};
use bytes::Bytes;
use chrono::{DateTime, Utc};
use clap::Parser;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use futures_util::SinkExt;
use serde_json::{Value, json};
use uuid::Uuid;

use client::{Api, alone, load, percentile};
use pages::{HandSql, PAGE_A, PAGE_B, Page, Yardstick};

#[derive(Parser)]
struct Args {
    /// Events to seed through the REST bulk endpoint.
    #[arg(long, default_value_t = 1_000_000)]
    events: usize,
    /// Events sent through the ingestEvents mutation (and loaded by COPY).
    #[arg(long, default_value_t = 100_000)]
    graphql_events: usize,
    /// Concurrent ingestion clients.
    #[arg(long, default_value_t = 4)]
    ingest_concurrency: usize,
    /// Seconds each page runs at concurrency 16.
    #[arg(long, default_value_t = 10)]
    dashboard_seconds: u64,
    /// Measure pages A and B only (no upcoming-invoice page, billing run or parent usage).
    #[arg(long)]
    pages_only: bool,
    /// Seconds of each mixed-load run (16, 64 and 128 clients).
    #[arg(long, default_value_t = 10)]
    mixed_seconds: u64,
    /// Seed, ingest and run the mixed load only.
    #[arg(long)]
    mixed_only: bool,
    /// How many times the first tenant's rows the scaled tenant holds (0: no scaled run).
    #[arg(long, default_value_t = 10)]
    scale: u32,
    #[arg(long, default_value = "bench-results.json")]
    out: String,
}

const BATCH: usize = 1000;
const ROOTS: usize = 100;
const PARENT_CHILDREN: usize = 100;
const DAYS: i64 = 30;
const MIXED_CLIENTS: [usize; 3] = [16, 64, 128];

struct Seeded {
    /// External ids that events are spread over.
    external_ids: Vec<String>,
    big_parent: Uuid,
    big_parent_external_ids: Vec<String>,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let dir = std::env::temp_dir().join(format!("billgraph-bench-{}", std::process::id()));
    let cluster = EmbeddedPostgres::start(&dir, Durability::Durable)?;
    if let Some(pid) = std::fs::read_to_string(dir.join("pgdata/postmaster.pid"))
        .ok()
        .and_then(|text| text.lines().next()?.trim().parse().ok())
    {
        let _ = client::POSTMASTER.set(pid);
    }
    let result = run(&args, &cluster).await;
    cluster.stop();
    let _ = std::fs::remove_dir_all(&dir);
    result
}

async fn run(args: &Args, cluster: &EmbeddedPostgres) -> anyhow::Result<()> {
    cluster.ensure_database("bench").await?;
    let url = cluster.url("bench");
    db::run_migrations(&url).await?;
    let mut config = Config::from_lookup(|_| None)?;
    config.database_url = Some(url.clone());
    config.db_pool_size = 20;
    config.secret_key = Some(billgraph::secrets::generate_key());
    // Measure slow requests instead of refusing them.
    config.limits.request_timeout = Duration::from_secs(300);
    let statements = StatementCounter::default();
    config.sharing = Sharing::for_pool(config.db_pool_size);
    let state = AppState::connect(config, &url, statements.clone())?;

    let mut conn = AsyncPgConnection::establish(&url).await?;
    let (tenant_id, key) = tenant_with_key(&mut conn, "bench").await?;

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let base = format!("http://{}", listener.local_addr()?);
    let app = billgraph::build_app(state.clone());
    let header_read_timeout = state.config.limits.header_read_timeout;
    tokio::spawn(billgraph::http::server::serve(
        listener,
        app,
        header_read_timeout,
        std::future::pending(),
    ));
    // The server's own outbound client: it installs the TLS provider reqwest needs.
    let client = billgraph::outbound::client(Duration::from_secs(300));
    let api = Api {
        client: client.clone(),
        base: base.clone(),
        key,
    };

    eprintln!("seeding customers and meters");
    let seeded = seed_customers(&api).await?;
    let meter_ids = seed_meters(&api).await?;
    let now = Utc::now();

    eprintln!("ingesting {} events through POST /v1/events/bulk", args.events);
    let bodies = rest_bodies(&seeded.external_ids, args.events, now);
    let rest = ingest_all(&api, "/v1/events/bulk", bodies, args.ingest_concurrency).await?;
    eprintln!("  REST bulk: {rest:.0} events/s");

    eprintln!("ingesting {} events through ingestEvents", args.graphql_events);
    let bodies = graphql_bodies(&seeded.external_ids, args.graphql_events, now);
    let graphql = ingest_all(&api, "/graphql", bodies, args.ingest_concurrency).await?;
    eprintln!("  ingestEvents: {graphql:.0} events/s");

    eprintln!("loading {} events with COPY", args.graphql_events);
    let copy = copy_rate(
        &url,
        tenant_id,
        &seeded.external_ids,
        args.graphql_events,
        args.ingest_concurrency,
        now,
    )
    .await?;
    eprintln!("  COPY: {copy:.0} events/s");
    let total_events = args.events + args.graphql_events * 2;

    // What the rollup worker does once the days have ended.
    eprintln!("rolling up the ended days");
    let rollup_started = Instant::now();
    let rolled_days = billgraph::usage::rollups::roll_up_ended_days(&state.pool, Utc::now()).await?;
    let rollup_s = rollup_started.elapsed().as_secs_f64();
    eprintln!("  {rolled_days} days in {rollup_s:.1} s");
    analyze(&mut conn).await?;

    if args.mixed_only {
        eprintln!("mixed load at 16, 64 and 128 clients");
        let mixed = mixed::run(&api, &seeded.external_ids, now, &MIXED_CLIENTS, args.mixed_seconds).await?;
        let report =
            json!({ "ingestion": { "rest_bulk_events_per_s": rest, "copy_events_per_s": copy }, "mixed_load": mixed });
        println!("{}", serde_json::to_string_pretty(&report)?);
        std::fs::write(&args.out, serde_json::to_string_pretty(&report)?)?;
        return Ok(());
    }

    let seconds = args.dashboard_seconds;
    let yardstick = Yardstick {
        statements: &statements,
        database_url: &url,
        seconds,
    };
    let page_b = || Page {
        name: "page B",
        query: PAGE_B,
        vars: json!({ "from": (now - chrono::Duration::days(DAYS)).to_rfc3339(), "to": now.to_rfc3339() }),
        hand: HandSql::Usage {
            from: now - chrono::Duration::days(DAYS),
            to: now,
        },
        hand_under_load: false,
    };
    let page_a = || Page {
        name: "page A",
        query: PAGE_A,
        vars: json!({}),
        hand: HandSql::Relations { now: Utc::now() },
        hand_under_load: true,
    };
    eprintln!("page B: usage of 50 root subtrees and their children over {DAYS} days");
    let page_b_run = pages::measure(&yardstick, &api, &mut conn, tenant_id, page_b()).await?;

    let preview = if args.pages_only {
        Value::Null
    } else {
        eprintln!("upcoming invoices of 50 subscribed customers at concurrency 16 for {seconds} s");
        preview(&api, &statements, &meter_ids, now, seconds).await?
    };

    eprintln!("page A: relations of 50 roots (subscriptions, invoices with lines, wallets)");
    let page_a_seed = relations::seed(&api, &state, meter_ids[0], now).await?;
    analyze(&mut conn).await?;
    let page_a_run = pages::measure(&yardstick, &api, &mut conn, tenant_id, page_a()).await?;

    let mixed = if args.pages_only {
        Value::Null
    } else {
        eprintln!("mixed load at 16, 64 and 128 clients");
        mixed::run(&api, &seeded.external_ids, now, &MIXED_CLIENTS, args.mixed_seconds).await?
    };

    let billing = if args.pages_only {
        Value::Null
    } else {
        eprintln!("billing run over {BILLED_SUBSCRIPTIONS} subscriptions");
        billing_run(&api, &state, &statements, &meter_ids, Utc::now()).await?
    };

    let parent = if args.pages_only {
        Value::Null
    } else {
        eprintln!("usage of one parent with {PARENT_CHILDREN} children over {DAYS} days");
        parent_usage(&api, &mut conn, tenant_id, &seeded, meter_ids[1], now).await?
    };

    let scaled = if args.scale > 1 {
        eprintln!(
            "a tenant with {}x the subscriptions, invoices, wallet transactions and events",
            args.scale
        );
        let (scaled_tenant, scaled_key) = scaled::seed(&mut conn, &state, tenant_id, args.scale).await?;
        let scaled_api = api.with_key(&scaled_key);
        let b = pages::measure(&yardstick, &scaled_api, &mut conn, scaled_tenant, page_b()).await?;
        let a = pages::measure(&yardstick, &scaled_api, &mut conn, scaled_tenant, page_a()).await?;
        let growth_a = pages::alone_growth(&api, &scaled_api, PAGE_A, &page_a().vars).await?;
        let growth_b = pages::alone_growth(&api, &scaled_api, PAGE_B, &page_b().vars).await?;
        eprintln!(
            "  alone on this tenant against the first, requests in turn: page A {:.2}x, page B {:.2}x",
            growth_a["growth"].as_f64().unwrap_or(0.0),
            growth_b["growth"].as_f64().unwrap_or(0.0)
        );
        json!({
            "scale": args.scale,
            "page_a": a,
            "page_b": b,
            "page_a_alone_growth": growth_a["growth"],
            "page_b_alone_growth": growth_b["growth"],
            "page_a_alone_in_turn": growth_a,
            "page_b_alone_in_turn": growth_b,
        })
    } else {
        Value::Null
    };

    let report = json!({
        "machine": { "cores": std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0) },
        "seed": { "customers": ROOTS * 10 + 1 + PARENT_CHILDREN, "events": total_events, "days": DAYS, "meters": meter_ids.len() },
        "ingestion": {
            "batch_size": BATCH,
            "concurrency": args.ingest_concurrency,
            "rest_bulk_events_per_s": rest,
            "graphql_events_per_s": graphql,
            "copy_streams": args.ingest_concurrency,
            "copy_events_per_s": copy,
            "note": "REST and GraphQL ingestion also record the events' days; COPY writes the events only",
            "rest_vs_copy": rest / copy,
            "graphql_vs_copy": graphql / copy,
        },
        "rollup": { "days": rolled_days, "seconds": rollup_s, "events_per_s": total_events as f64 / rollup_s },
        "page_a": { "seed": page_a_seed, "run": page_a_run },
        "page_b": page_b_run,
        "upcoming_invoice_page": preview,
        "mixed_load": mixed,
        "billing_run": billing,
        "parent_usage": parent,
        "scaled_tenant": scaled,
    });
    println!("{}", serde_json::to_string_pretty(&report)?);
    if std::env::var_os("BENCH_HOLD").is_some() {
        // Keeps the seeded cluster for a look at its plans until Ctrl-C.
        eprintln!("holding the cluster at {url}; Ctrl-C ends the bench");
        tokio::signal::ctrl_c().await?;
    }
    std::fs::write(&args.out, serde_json::to_string_pretty(&report)?)?;
    eprintln!("written to {}", args.out);
    Ok(())
}

/// Table statistics, as autovacuum gathers them within a minute of a bulk
/// load: the pages are measured as a tenant that has been serving a while
/// sees them, not in the moment after its data arrived. (Plans without
/// statistics keep their shape; see the loader statements' comments.)
async fn analyze(conn: &mut AsyncPgConnection) -> anyhow::Result<()> {
    let started = Instant::now();
    diesel_async::SimpleAsyncConnection::batch_execute(conn, "ANALYZE").await?;
    eprintln!("  ANALYZE in {:.1} s", started.elapsed().as_secs_f64());
    Ok(())
}

/// A tenant (created when missing) and a new API key of it.
async fn tenant_with_key(conn: &mut AsyncPgConnection, name: &str) -> anyhow::Result<(Uuid, String)> {
    let tenant = tenants::ensure_tenant(conn, name).await?;
    let key = ApiKey::generate();
    api_keys::insert_api_key(conn, tenant.id, &key, Some("bench")).await?;
    Ok((tenant.id, key.secret().to_string()))
}

/// 100 trees of three levels (1 root, 3 children, 6 grandchildren) and one
/// parent with 100 children.
async fn seed_customers(api: &Api) -> anyhow::Result<Seeded> {
    const CREATE: &str = "mutation($i: CreateCustomerInput!) { createCustomer(input: $i) { id } }";
    let create = |ext: String, parent: Option<Uuid>| {
        let api = api.clone();
        async move {
            let data = api
                .gql(
                    CREATE,
                    json!({ "i": { "externalCustomerId": ext, "name": ext, "parentCustomerId": parent } }),
                )
                .await?;
            anyhow::Ok(data["createCustomer"]["id"].as_str().context("id")?.parse::<Uuid>()?)
        }
    };
    let mut external_ids = Vec::new();
    for r in 0..ROOTS {
        let root = create(format!("root-{r}"), None).await?;
        external_ids.push(format!("root-{r}"));
        for c in 0..3 {
            let child = create(format!("child-{r}-{c}"), Some(root)).await?;
            external_ids.push(format!("child-{r}-{c}"));
            for g in 0..2 {
                create(format!("grandchild-{r}-{c}-{g}"), Some(child)).await?;
                external_ids.push(format!("grandchild-{r}-{c}-{g}"));
            }
        }
    }
    let big_parent = create("big-parent".into(), None).await?;
    let mut big_parent_external_ids = vec!["big-parent".to_string()];
    for c in 0..PARENT_CHILDREN {
        create(format!("big-child-{c}"), Some(big_parent)).await?;
        big_parent_external_ids.push(format!("big-child-{c}"));
    }
    external_ids.extend(big_parent_external_ids.iter().cloned());
    Ok(Seeded {
        external_ids,
        big_parent,
        big_parent_external_ids,
    })
}

async fn seed_meters(api: &Api) -> anyhow::Result<Vec<Uuid>> {
    let meters = [
        json!({ "name": "API calls", "eventName": "api_call", "aggregation": "COUNT" }),
        json!({ "name": "Tokens", "eventName": "api_call", "aggregation": "SUM", "property": "tokens" }),
        json!({ "name": "Peak latency", "eventName": "api_call", "aggregation": "MAX", "property": "latency_ms" }),
        json!({ "name": "Active users", "eventName": "api_call", "aggregation": "UNIQUE_COUNT", "property": "user" }),
    ];
    let mut ids = Vec::new();
    for input in meters {
        let data = api
            .gql(
                "mutation($i: CreateMeterInput!) { createMeter(input: $i) { id } }",
                json!({ "i": input }),
            )
            .await?;
        ids.push(data["createMeter"]["id"].as_str().context("id")?.parse()?);
    }
    Ok(ids)
}

/// The n-th event of a deterministic stream spread over 30 days.
fn event_fields(external_ids: &[String], n: usize, now: DateTime<Utc>) -> (String, DateTime<Utc>, Value) {
    let customer = external_ids[n % external_ids.len()].clone();
    let seconds_ago = (n as i64 * 7919) % (DAYS * 86_400 - 3600) + 60;
    let properties =
        json!({ "tokens": (n % 500) + 1, "latency_ms": (n % 97) as f64 + 0.5, "user": format!("u{}", n % 53) });
    (customer, now - chrono::Duration::seconds(seconds_ago), properties)
}

/// Request bodies of `BATCH` events each: `render` writes one event in the
/// endpoint's field names, `wrap` makes the body of a batch.
fn batch_bodies(
    external_ids: &[String],
    count: usize,
    now: DateTime<Utc>,
    render: impl Fn(usize, String, DateTime<Utc>, Value) -> Value,
    wrap: impl Fn(Vec<Value>) -> Value,
) -> Vec<Bytes> {
    (0..count)
        .collect::<Vec<_>>()
        .chunks(BATCH)
        .map(|chunk| {
            let events = chunk
                .iter()
                .map(|&n| {
                    let (customer, ts, properties) = event_fields(external_ids, n, now);
                    render(n, customer, ts, properties)
                })
                .collect();
            Bytes::from(wrap(events).to_string())
        })
        .collect()
}

fn rest_bodies(external_ids: &[String], count: usize, now: DateTime<Utc>) -> Vec<Bytes> {
    batch_bodies(
        external_ids,
        count,
        now,
        |n, customer, ts, properties| {
            json!({ "event_id": format!("rest-{n}"), "event_name": "api_call", "external_customer_id": customer,
                "timestamp": ts.to_rfc3339(), "properties": properties, "source": "bench" })
        },
        |events| json!({ "events": events }),
    )
}

fn graphql_bodies(external_ids: &[String], count: usize, now: DateTime<Utc>) -> Vec<Bytes> {
    const INGEST: &str = "mutation($e: [EventInput!]!) { ingestEvents(events: $e) { accepted duplicates refused } }";
    batch_bodies(
        external_ids,
        count,
        now,
        |n, customer, ts, properties| {
            json!({ "eventId": format!("gql-{n}"), "eventName": "api_call", "externalCustomerId": customer,
                "timestamp": ts.to_rfc3339(), "properties": properties, "source": "bench" })
        },
        |events| json!({ "query": INGEST, "variables": { "e": events } }),
    )
}

/// Sends every body with `concurrency` clients; returns events per second.
async fn ingest_all(api: &Api, path: &str, bodies: Vec<Bytes>, concurrency: usize) -> anyhow::Result<f64> {
    let batches = bodies.len();
    let queue = Arc::new(tokio::sync::Mutex::new(bodies));
    let started = Instant::now();
    let mut workers = Vec::new();
    for _ in 0..concurrency {
        let (api, queue, path) = (api.clone(), queue.clone(), path.to_string());
        workers.push(tokio::spawn(async move {
            loop {
                let Some(body) = queue.lock().await.pop() else {
                    return anyhow::Ok(());
                };
                api.post(&path, body).await?;
            }
        }));
    }
    for w in workers {
        w.await??;
    }
    Ok((batches * BATCH) as f64 / started.elapsed().as_secs_f64())
}

/// Plain COPY of the same kind of rows into the events table, in as many
/// parallel streams as there are ingestion clients: the physical limit of
/// this machine for the table and its indexes.
async fn copy_rate(
    url: &str,
    tenant: Uuid,
    external_ids: &[String],
    count: usize,
    streams: usize,
    now: DateTime<Utc>,
) -> anyhow::Result<f64> {
    let mut clients = Vec::new();
    for _ in 0..streams {
        let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls).await?;
        tokio::spawn(connection);
        clients.push(client);
    }
    // Rows are rendered before the clock starts, like the HTTP bodies.
    let chunks: Vec<Vec<Bytes>> = (0..streams)
        .map(|stream| {
            let rows: Vec<usize> = (0..count).filter(|n| n % streams == stream).collect();
            rows.chunks(BATCH)
                .map(|chunk| {
                    let mut buf = String::with_capacity(BATCH * 200);
                    for &n in chunk {
                        let (customer, ts, properties) = event_fields(external_ids, n, now);
                        buf.push_str(&format!(
                            "{tenant}\tcopy-{n}\tapi_call\t{customer}\t{}\t{}\tbench\n",
                            ts.to_rfc3339(),
                            properties.to_string().replace('\\', "\\\\")
                        ));
                    }
                    Bytes::from(buf)
                })
                .collect()
        })
        .collect();
    let started = Instant::now();
    let mut tasks = Vec::new();
    for (client, chunks) in clients.into_iter().zip(chunks) {
        tasks.push(tokio::spawn(async move {
            let sink = client
                .copy_in(
                    "COPY events (tenant_id, event_id, event_name, external_customer_id, \"timestamp\", properties, source) FROM STDIN",
                )
                .await?;
            let mut sink = std::pin::pin!(sink);
            for chunk in chunks {
                sink.send(chunk).await?;
            }
            sink.as_mut().finish().await?;
            anyhow::Ok(())
        }));
    }
    for t in tasks {
        t.await??;
    }
    Ok(count as f64 / started.elapsed().as_secs_f64())
}

const PREVIEW: &str = "query {
    customers(first: 50, filter: { rootsOnly: true }) { edges { node {
        id name
        subscriptions(first: 5) { edges { node {
            status currentPeriod { start end }
            upcomingInvoice { subtotal lineItems { description quantity unitAmount amount } }
        } } }
    } } }
}";

/// Subscribes every root to a plan (a fixed fee, calls per unit, graduated
/// tokens) from 20 days ago, then measures the page of 50 customers with
/// their subscriptions and upcoming invoices.
async fn preview(
    api: &Api,
    statements: &StatementCounter,
    meter_ids: &[Uuid],
    now: DateTime<Utc>,
    seconds: u64,
) -> anyhow::Result<Value> {
    let plan = json!({ "name": "Bench", "prices": [
        { "currency": "USD", "billingPeriod": "MONTHLY", "type": "FIXED", "amount": "49" },
        { "currency": "USD", "billingPeriod": "MONTHLY", "type": "USAGE", "meterId": meter_ids[0],
          "billingModel": "PER_UNIT", "unitAmount": "0.001" },
        { "currency": "USD", "billingPeriod": "MONTHLY", "type": "USAGE", "meterId": meter_ids[1],
          "billingModel": "TIERED", "tierMode": "GRADUATED", "tiers": [
            { "upTo": "10000", "unitAmount": "0" }, { "upTo": null, "unitAmount": "0.0002" } ] }
    ] });
    let plan_id = api.create_plan(plan).await?;
    let start = (now - chrono::Duration::days(20)).to_rfc3339();
    let mut after: Option<String> = None;
    loop {
        let page = api
            .gql(
                "query($after: String) { customers(first: 100, after: $after, filter: { rootsOnly: true }) {
                    edges { node { id } } pageInfo { hasNextPage endCursor } } }",
                json!({ "after": after }),
            )
            .await?;
        for edge in page["customers"]["edges"].as_array().context("edges")? {
            api.gql(
                "mutation($i: CreateSubscriptionInput!) { createSubscription(input: $i) { id } }",
                json!({ "i": { "customerId": edge["node"]["id"], "planId": plan_id, "startAt": start } }),
            )
            .await?;
        }
        let info = &page["customers"]["pageInfo"];
        if info["hasNextPage"] != json!(true) {
            break;
        }
        after = info["endCursor"].as_str().map(str::to_string);
    }
    let (alone_ms, per_request) = alone(api, statements, PREVIEW, json!({})).await?;
    eprintln!("  one preview page alone: {alone_ms:.0} ms, {per_request} statements");
    let run = load(api, PREVIEW, json!({}), 16, seconds).await?;
    let mut report = run.report(16);
    report["query"] =
        json!("customers(first: 50, roots) { subscriptions { upcomingInvoice { lineItems } } }, 20 days of usage each");
    report["statements_per_request"] = json!(per_request);
    report["single_request_ms"] = json!(alone_ms);
    Ok(report)
}

/// Subscriptions billed by the billing-run figure.
const BILLED_SUBSCRIPTIONS: usize = 10_000;

/// Creates `count` customers (or subscriptions) with aliased mutations,
/// 100 a request; returns what each alias answered.
async fn create_many(api: &Api, count: usize, mutation: impl Fn(usize) -> String) -> anyhow::Result<Vec<Value>> {
    let mut answers = Vec::with_capacity(count);
    for chunk in (0..count).collect::<Vec<_>>().chunks(100) {
        let body: String = chunk.iter().map(|&i| format!("m{i}: {} ", mutation(i))).collect();
        let data = api.gql(&format!("mutation {{ {body} }}"), json!({})).await?;
        for &i in chunk {
            answers.push(data[format!("m{i}")].clone());
        }
    }
    Ok(answers)
}

const BILLING_DASHBOARD: &str = "query { customers(first: 50, filter: { search: \"billed-\" }) { edges { node {
    id name
    subscriptions(first: 3) { edges { node { status plan { name } } } }
    invoices(first: 3) { totalCount edges { node { number status total amountDue lineItems { description amount } } } }
    wallets { name creditBalance balance }
    balanceDue { currency amount }
} } } }";

/// 10,000 daily subscriptions that started a day and an hour ago, with ten
/// usage events each: the run bills two boundaries per subscription (the
/// start, with the fee billed in advance, and the first day's end).
async fn billing_run(
    api: &Api,
    state: &AppState,
    statements: &StatementCounter,
    meter_ids: &[Uuid],
    now: DateTime<Utc>,
) -> anyhow::Result<Value> {
    let plan = json!({ "name": "Daily", "prices": [
        { "currency": "USD", "billingPeriod": "DAILY", "type": "FIXED", "amount": "10", "invoiceCadence": "ADVANCE" },
        { "currency": "USD", "billingPeriod": "DAILY", "type": "USAGE", "meterId": meter_ids[0],
          "billingModel": "PER_UNIT", "unitAmount": "0.01" },
        { "currency": "USD", "billingPeriod": "DAILY", "type": "USAGE", "meterId": meter_ids[1],
          "billingModel": "TIERED", "tierMode": "GRADUATED", "tiers": [
            { "upTo": "1000", "unitAmount": "0" }, { "upTo": null, "unitAmount": "0.001" } ] }
    ] });
    let plan_id = api.create_plan(plan).await?;
    let customers = create_many(api, BILLED_SUBSCRIPTIONS, |i| {
        format!("createCustomer(input: {{ externalCustomerId: \"billed-{i}\", name: \"billed-{i}\" }}) {{ id }}")
    })
    .await?;
    let start = (now - chrono::Duration::hours(25)).to_rfc3339();
    create_many(api, BILLED_SUBSCRIPTIONS, |i| {
        format!(
            "createSubscription(input: {{ customerId: \"{}\", planId: \"{plan_id}\", startAt: \"{start}\" }}) {{ id }}",
            customers[i]["id"].as_str().unwrap_or_default()
        )
    })
    .await?;
    let events: Vec<Value> = (0..BILLED_SUBSCRIPTIONS * 10)
        .map(|n| {
            let ts = now - chrono::Duration::hours(24) + chrono::Duration::seconds((n % 80_000) as i64);
            json!({ "event_id": format!("billed-{n}"), "event_name": "api_call",
                    "external_customer_id": format!("billed-{}", n % BILLED_SUBSCRIPTIONS),
                    "timestamp": ts.to_rfc3339(), "properties": { "tokens": 150 } })
        })
        .collect();
    for chunk in events.chunks(BATCH) {
        api.post("/v1/events/bulk", Bytes::from(json!({ "events": chunk }).to_string()))
            .await?;
    }

    let settings = state.config.billing;
    let started = Instant::now();
    let summary = billgraph::billing::run::run(&state.pool, &settings, &state.links, Utc::now()).await?;
    let bill_s = started.elapsed().as_secs_f64();
    eprintln!(
        "  {} invoices for {} boundaries in {bill_s:.1} s",
        summary.invoices_created, summary.boundaries
    );
    // Finalize every draft as if its grace period were over.
    let started = Instant::now();
    let mut finalized = 0;
    loop {
        let batch = billgraph::billing::invoices::finalize_due_batch(
            &state.pool,
            &settings,
            &state.links,
            Utc::now() + chrono::Duration::hours(2),
            &[],
        )
        .await?;
        if batch.due == 0 {
            break;
        }
        finalized += batch.finalized;
    }
    let finalize_s = started.elapsed().as_secs_f64();
    eprintln!("  {finalized} invoices finalized in {finalize_s:.1} s");

    let (alone_ms, per_request) = alone(api, statements, BILLING_DASHBOARD, json!({})).await?;
    eprintln!("  billing dashboard page alone: {alone_ms:.0} ms, {per_request} statements");
    Ok(json!({
        "subscriptions": BILLED_SUBSCRIPTIONS,
        "usage_events": BILLED_SUBSCRIPTIONS * 10,
        "boundaries": summary.boundaries,
        "invoices_created": summary.invoices_created,
        "billing_seconds": bill_s,
        "invoices_per_s": summary.invoices_created as f64 / bill_s,
        "invoices_finalized": finalized,
        "finalize_seconds": finalize_s,
        "finalized_per_s": finalized as f64 / finalize_s,
        "dashboard_query": "customers(first: 50) { subscriptions invoices(first: 3) { lineItems } wallets balanceDue }",
        "dashboard_statements_per_request": per_request,
        "dashboard_single_request_ms": alone_ms,
    }))
}

async fn parent_usage(
    api: &Api,
    conn: &mut AsyncPgConnection,
    tenant: Uuid,
    seeded: &Seeded,
    sum_meter: Uuid,
    now: DateTime<Utc>,
) -> anyhow::Result<Value> {
    const RUNS: usize = 30;
    let from = now - chrono::Duration::days(DAYS);
    let query = "query($id: UUID!, $m: UUID!, $from: DateTime!, $to: DateTime!) {
        customer(id: $id) { usage(from: $from, to: $to, meterIds: [$m]) { value eventCount } } }";
    let vars = json!({ "id": seeded.big_parent, "m": sum_meter, "from": from.to_rfc3339(), "to": now.to_rfc3339() });
    let mut api_ms = Vec::new();
    let mut api_value = Value::Null;
    for _ in 0..RUNS {
        let t = Instant::now();
        api_value = api.gql(query, vars.clone()).await?["customer"]["usage"][0].clone();
        api_ms.push(t.elapsed().as_secs_f64() * 1000.0);
    }

    // The same aggregation by hand: the subtree's external ids are known.
    #[derive(diesel::QueryableByName)]
    struct Sum {
        #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Numeric>)]
        total: Option<rust_decimal::Decimal>,
    }
    let mut sql_ms = Vec::new();
    let mut sql_value = None;
    for _ in 0..RUNS {
        let t = Instant::now();
        let row: Sum = diesel::sql_query(
            "SELECT sum((properties ->> 'tokens')::numeric) AS total FROM events
             WHERE tenant_id = $1 AND external_customer_id = ANY($2) AND event_name = 'api_call'
               AND \"timestamp\" >= $3 AND \"timestamp\" < $4",
        )
        .bind::<diesel::sql_types::Uuid, _>(tenant)
        .bind::<diesel::sql_types::Array<diesel::sql_types::Text>, _>(&seeded.big_parent_external_ids)
        .bind::<diesel::sql_types::Timestamptz, _>(from)
        .bind::<diesel::sql_types::Timestamptz, _>(now)
        .get_result(conn)
        .await?;
        sql_value = row.total;
        sql_ms.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    api_ms.sort_by(|a, b| a.total_cmp(b));
    sql_ms.sort_by(|a, b| a.total_cmp(b));
    let (api_p50, sql_p50) = (percentile(&api_ms, 0.5), percentile(&sql_ms, 0.5));
    Ok(json!({
        "children": PARENT_CHILDREN,
        "days": DAYS,
        "events_counted": api_value["eventCount"],
        "api_value": api_value["value"],
        "hand_sql_value": sql_value.map(|v| v.to_string()),
        "api_p50_ms": api_p50,
        "hand_sql_p50_ms": sql_p50,
        "api_vs_hand_sql": api_p50 / sql_p50,
    }))
}
