//! A second tenant with the first one's customers and `scale` times its
//! subscriptions, invoices, wallet transactions and events: the pages must
//! cost what their page costs, not what the tenant holds.

use std::time::Instant;

use billgraph::AppState;
use diesel_async::{AsyncPgConnection, SimpleAsyncConnection};
use uuid::Uuid;

const SCALE_SQL: &str = include_str!("scale_tenant.sql");

/// Creates the scaled tenant, rolls up its days; returns its id and API key.
pub async fn seed(
    conn: &mut AsyncPgConnection,
    state: &AppState,
    source: Uuid,
    scale: u32,
) -> anyhow::Result<(Uuid, String)> {
    let started = Instant::now();
    let (tenant, key) = crate::tenant_with_key(conn, &format!("bench-x{scale}")).await?;
    let sql = SCALE_SQL
        .replace("{SOURCE}", &source.to_string())
        .replace("{TARGET}", &tenant.to_string())
        .replace("{SCALE}", &scale.to_string());
    conn.batch_execute(&sql).await?;
    eprintln!("  copied x{scale} in {:.0} s", started.elapsed().as_secs_f64());
    let started = Instant::now();
    let days = billgraph::usage::rollups::roll_up_ended_days(&state.pool, chrono::Utc::now()).await?;
    eprintln!("  rolled up {days} days in {:.0} s", started.elapsed().as_secs_f64());
    crate::analyze(conn).await?;
    Ok((tenant, key))
}
