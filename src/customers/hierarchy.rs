//! Moving customers within the hierarchy. Every change of a parent link
//! holds the tenant's hierarchy lock, so concurrent moves cannot together
//! form a cycle or exceed the depth limit.

use diesel_async::{AsyncConnection, AsyncPgConnection};
use uuid::Uuid;

use crate::config::Limits;
use crate::db::customers::{self, CustomerRow};
use crate::db::hierarchy::{ancestors, lock_tenant_hierarchy, subtree_height};
use crate::db::{DbPool, connection};
use crate::domain::hierarchy::{check_depth, check_no_cycle};
use crate::domain::outbox::EventType;
use crate::error::{AppError, AppResult};
use crate::outbox::{self, views::CustomerView};

/// Moves a customer, with its whole subtree, under `new_parent` (or makes it
/// a root when `None`).
pub async fn move_customer(
    pool: &DbPool,
    tenant_id: Uuid,
    id: Uuid,
    new_parent: Option<Uuid>,
    limits: &Limits,
) -> AppResult<CustomerRow> {
    let mut conn = connection(pool).await?;
    let max_levels = limits.max_hierarchy_depth;
    conn.transaction(async |conn| {
        lock_tenant_hierarchy(conn, tenant_id).await?;
        let current = super::live_customer_for_update(conn, tenant_id, id).await?;
        if current.parent_customer_id == new_parent {
            return Ok(current);
        }
        if let Some(parent) = new_parent {
            let height = subtree_height(conn, tenant_id, id).await? as u32;
            check_parent(
                conn,
                tenant_id,
                Some(id),
                parent,
                height,
                max_levels,
                "parentCustomerId",
            )
            .await?;
        }
        let row = customers::set_parent(conn, tenant_id, id, new_parent).await?;
        outbox::emit(
            conn,
            tenant_id,
            EventType::CustomerParentChanged,
            row.id,
            &CustomerView::from(&row),
        )
        .await?;
        Ok(row)
    })
    .await
}

/// Takes the hierarchy lock, then checks that `parent` can take a subtree
/// `height` levels tall (and, when moving, is not inside `customer`'s subtree).
pub(crate) async fn lock_and_check_parent(
    conn: &mut AsyncPgConnection,
    tenant_id: Uuid,
    customer: Option<Uuid>,
    parent: Uuid,
    height: u32,
    max_levels: u32,
    field: &str,
) -> AppResult<()> {
    lock_tenant_hierarchy(conn, tenant_id).await?;
    check_parent(conn, tenant_id, customer, parent, height, max_levels, field).await
}

async fn check_parent(
    conn: &mut AsyncPgConnection,
    tenant_id: Uuid,
    customer: Option<Uuid>,
    parent: Uuid,
    height: u32,
    max_levels: u32,
    field: &str,
) -> AppResult<()> {
    let parent_row = customers::find_by_ids(conn, tenant_id, &[parent])
        .await?
        .into_iter()
        .next()
        .ok_or_else(|| AppError::not_found("parent customer"))?;
    if !parent_row.is_active() {
        return Err(AppError::conflict("parent customer is archived"));
    }
    let mut chain = vec![parent];
    chain.extend(
        ancestors(conn, tenant_id, &[parent])
            .await?
            .into_iter()
            .map(|a| a.customer.id),
    );
    if let Some(customer) = customer {
        check_no_cycle(field, customer, &chain)?;
    }
    check_depth(field, chain.len() as u32, height, max_levels)?;
    Ok(())
}
