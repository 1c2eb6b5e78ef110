//! DataLoaders of plans and prices.

use std::hash::Hash;

use crate::db::plans::{self, PlanRow, PriceRow};
use crate::graphql::loaders::{rows_by_id, rows_of_parent};

rows_by_id! {
    PlanById => PlanRow, plans::plans_by_ids
}

rows_of_parent! {
    PricesOfPlan => PriceRow, plans::prices_of_plans, plan_id
}

rows_by_id! {
    PriceById => PriceRow, plans::prices_by_ids
}
