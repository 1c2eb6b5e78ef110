//! Coupons and the discounts they grant, as the API shows them.

pub mod coupon;
pub mod discount;
pub mod loaders;
pub mod root;
