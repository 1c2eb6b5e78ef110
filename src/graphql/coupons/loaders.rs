//! DataLoaders of coupons and discounts: by id, and pages of a customer's
//! or a subscription's discounts, one statement per relation.

use std::collections::HashMap;

use async_graphql::dataloader::Loader;
use uuid::Uuid;

use crate::db::coupons::{self, CouponRow, DiscountHolder, DiscountPageKey, DiscountRow};
use crate::error::SharedError;
use crate::graphql::loaders::{TenantLoader, grouped_by_position, rows_by_id, shared};

rows_by_id! {
    CouponById => CouponRow, coupons::coupons_by_ids
}

rows_by_id! {
    DiscountById => DiscountRow, coupons::discounts_by_ids
}

/// One page of a customer's or a subscription's discounts, oldest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct DiscountsPage(pub DiscountHolder, pub DiscountPageKey);

impl Loader<DiscountsPage> for TenantLoader {
    type Value = Vec<DiscountRow>;
    type Error = SharedError;

    async fn load(&self, keys: &[DiscountsPage]) -> Result<HashMap<DiscountsPage, Vec<DiscountRow>>, SharedError> {
        let mut out = HashMap::with_capacity(keys.len());
        // A request asks for customers' discounts, subscriptions' or both: one statement each.
        for holder in [DiscountHolder::Customer, DiscountHolder::Subscription] {
            let mine: Vec<DiscountsPage> = keys.iter().filter(|k| k.0 == holder).copied().collect();
            if mine.is_empty() {
                continue;
            }
            let page_keys: Vec<DiscountPageKey> = mine.iter().map(|k| k.1).collect();
            let rows = coupons::discount_pages(&mut *self.conn().await?, self.tenant_id(), holder, &page_keys)
                .await
                .map_err(shared)?;
            out.extend(grouped_by_position(
                &mine,
                rows.into_iter().map(|r| (r.idx, r.discount)),
            ));
        }
        Ok(out)
    }
}

/// How many discounts a customer or a subscription has (removed ones too, or not).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct DiscountCount {
    pub holder: DiscountHolder,
    pub id: Uuid,
    pub include_removed: bool,
}

impl Loader<DiscountCount> for TenantLoader {
    type Value = i64;
    type Error = SharedError;

    async fn load(&self, keys: &[DiscountCount]) -> Result<HashMap<DiscountCount, i64>, SharedError> {
        let mut out = HashMap::with_capacity(keys.len());
        for holder in [DiscountHolder::Customer, DiscountHolder::Subscription] {
            let mine: Vec<DiscountCount> = keys.iter().filter(|k| k.holder == holder).copied().collect();
            if mine.is_empty() {
                continue;
            }
            let pairs: Vec<(Uuid, bool)> = mine.iter().map(|k| (k.id, k.include_removed)).collect();
            let counts = coupons::discount_counts(&mut *self.conn().await?, self.tenant_id(), holder, &pairs)
                .await
                .map_err(shared)?;
            out.extend(counts.into_iter().filter_map(|c| {
                let key = usize::try_from(c.idx - 1).ok().and_then(|i| mine.get(i))?;
                Some((*key, c.count))
            }));
        }
        Ok(out)
    }
}
