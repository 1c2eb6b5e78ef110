use async_graphql::{Context, Enum, Object, Result, SimpleObject};
use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use uuid::Uuid;

use crate::domain::usage::{Window, empty_value};
use crate::error::AppError;
use crate::graphql::context::ContextExt;
use crate::graphql::usage::loaders::{MeterById, UsageTotals};
use crate::graphql::usage::meter::Meter;

/// The length of a usage time series' windows, aligned to UTC.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
pub enum UsageWindow {
    /// Clock hours.
    Hour,
    /// Days from 00:00 UTC.
    Day,
    /// Calendar months from the 1st, 00:00 UTC.
    Month,
}

impl From<UsageWindow> for Window {
    fn from(w: UsageWindow) -> Self {
        match w {
            UsageWindow::Hour => Window::Hour,
            UsageWindow::Day => Window::Day,
            UsageWindow::Month => Window::Month,
        }
    }
}

/// One window of a usage time series (only windows with events are listed).
#[derive(SimpleObject, Debug, Clone)]
pub struct UsageWindowValue {
    /// The window's start, inclusive (UTC).
    pub start: DateTime<Utc>,
    /// The window's end, exclusive (UTC).
    pub end: DateTime<Utc>,
    /// The meter's aggregate over the window's events; null for MAX, AVG and LATEST when none
    /// counted.
    pub value: Option<Decimal>,
    /// Events that counted in the window.
    pub event_count: i64,
}

pub struct MeterUsage {
    pub meter_id: Uuid,
    pub totals: UsageTotals,
}

/// A customer's usage of one meter over a range.
#[Object]
impl MeterUsage {
    /// The meter measured.
    async fn meter(&self, ctx: &Context<'_>) -> Result<Meter> {
        let row = ctx.loader().load_one(MeterById(self.meter_id)).await?;
        Ok(Meter(row.ok_or_else(|| AppError::not_found("meter"))?))
    }

    /// The aggregate; null for MAX, AVG and LATEST when no event counted.
    async fn value(&self) -> Option<Decimal> {
        self.totals.value.or_else(|| empty_value(self.totals.aggregation))
    }

    /// Events that counted.
    async fn event_count(&self) -> i64 {
        self.totals.event_count
    }

    /// Matching events left out because the property was missing or, where
    /// a number is needed, not a number.
    async fn skipped_events(&self) -> i64 {
        self.totals.skipped
    }

    /// The time series, when a window was asked for.
    async fn windows(&self) -> Vec<UsageWindowValue> {
        self.totals.windows.clone()
    }
}
