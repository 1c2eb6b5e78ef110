//! Mutations of meters and events.

use async_graphql::{Context, Object, Result};
use uuid::Uuid;

use crate::graphql::context::ContextExt;
use crate::graphql::usage::event::IngestEventsResult;
use crate::graphql::usage::inputs::{CreateMeterInput, EventInput};
use crate::graphql::usage::meter::Meter;
use crate::usage::{ingest, meters};

#[derive(Default)]
pub struct UsageMutationRoot;

#[Object]
impl UsageMutationRoot {
    /// Creates a meter; events already stored count for it too. VALIDATION names the bad field
    /// (`input.name`, `input.property` when missing for an aggregation other than COUNT,
    /// `input.filters`, ...).
    async fn create_meter(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The new meter.")] input: CreateMeterInput,
    ) -> Result<Meter> {
        let draft = input.validate()?;
        Ok(Meter(meters::create(ctx.pool(), ctx.tenant_id(), draft).await?))
    }

    /// Archived meters keep their past usage but no longer appear in usage
    /// queries that name no meters.
    async fn archive_meter(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The meter to archive. Another tenant's id, or none: NOT_FOUND.")] id: Uuid,
    ) -> Result<Meter> {
        Ok(Meter(meters::archive(ctx.pool(), ctx.tenant_id(), id).await?))
    }

    /// Stores up to 1000 events. Each is ACCEPTED, a DUPLICATE of an eventId
    /// seen before, or REFUSED with its reason; refusals never drop the valid
    /// events. Accepted events are committed when the call returns. A refused
    /// character in any text (NUL, other control characters but tab and line
    /// breaks) refuses the whole call as VALIDATION.
    async fn ingest_events(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The events, 1 to 1000 (more: VALIDATION on `events`).")] events: Vec<EventInput>,
    ) -> Result<IngestEventsResult> {
        let raw = events.into_iter().map(Into::into).collect();
        let outcomes = ingest::ingest(ctx.pool(), ctx.tenant_id(), raw).await?;
        Ok(outcomes.into())
    }
}
