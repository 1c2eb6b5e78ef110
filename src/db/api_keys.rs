use chrono::Utc;
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::db::schema::{api_keys, tenants};
use crate::domain::api_key::ApiKey;

/// Stores the key's hash (never the key) and returns the key's id.
pub async fn insert_api_key(
    conn: &mut AsyncPgConnection,
    tenant_id: Uuid,
    key: &ApiKey,
    label: Option<&str>,
) -> QueryResult<Uuid> {
    let id = Uuid::now_v7();
    diesel::insert_into(api_keys::table)
        .values((
            api_keys::tenant_id.eq(tenant_id),
            api_keys::id.eq(id),
            api_keys::key_hash.eq(key.hash().to_vec()),
            api_keys::key_prefix.eq(key.prefix()),
            api_keys::label.eq(label),
        ))
        .execute(conn)
        .await?;
    Ok(id)
}

/// The tenant a live (not revoked) key belongs to.
pub async fn tenant_for_key_hash(conn: &mut AsyncPgConnection, key_hash: &[u8]) -> QueryResult<Option<Uuid>> {
    api_keys::table
        .filter(api_keys::key_hash.eq(key_hash))
        .filter(api_keys::revoked_at.is_null())
        .select(api_keys::tenant_id)
        .first(conn)
        .await
        .optional()
}

/// Revokes by key hash or by key id; returns how many keys were revoked.
pub async fn revoke(conn: &mut AsyncPgConnection, target: RevokeTarget<'_>) -> QueryResult<usize> {
    let live = api_keys::table.filter(api_keys::revoked_at.is_null());
    match target {
        RevokeTarget::Hash(hash) => {
            diesel::update(live.filter(api_keys::key_hash.eq(hash)))
                .set(api_keys::revoked_at.eq(Utc::now()))
                .execute(conn)
                .await
        }
        RevokeTarget::Id(id) => {
            diesel::update(live.filter(api_keys::id.eq(id)))
                .set(api_keys::revoked_at.eq(Utc::now()))
                .execute(conn)
                .await
        }
    }
}

pub enum RevokeTarget<'a> {
    Hash(&'a [u8]),
    Id(Uuid),
}

/// Live keys of a tenant, for `api-key list`: (id, prefix, label, created).
pub async fn list_live(
    conn: &mut AsyncPgConnection,
    tenant_name: &str,
) -> QueryResult<Vec<(Uuid, String, Option<String>, chrono::DateTime<Utc>)>> {
    api_keys::table
        .inner_join(tenants::table)
        .filter(tenants::name.eq(tenant_name))
        .filter(api_keys::revoked_at.is_null())
        .order(api_keys::created_at)
        .select((
            api_keys::id,
            api_keys::key_prefix,
            api_keys::label,
            api_keys::created_at,
        ))
        .load(conn)
        .await
}
