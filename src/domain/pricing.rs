//! What a quantity costs under a billing model: per unit, per package, or
//! by tiers (volume or graduated).
//!
//! Amounts are computed exactly (within Decimal's 28 significant digits) and
//! rounded once, at the end, with `money::round_amount`, so a charge's total
//! never drifts from its breakdown by more than that one rounding.
//!
//! A negative quantity is priced as 0: usage cannot be negative, and a
//! correction that drives a meter below zero must not turn into a payout.
//! Pricing never panics, even on a model that failed validation or on huge
//! quantities, and never saturates: a charge above `money::MAX_AMOUNT` (or
//! one whose arithmetic leaves Decimal's range) is an `AmountOverflow`, so
//! no invoice ever carries a figure that is not the true one.

use rust_decimal::Decimal;

use super::ValidationError;
use super::money::{self, AmountOverflow, Currency};
use super::stored::stored_enum;

/// Most tiers one price may have.
pub const MAX_TIERS: usize = 50;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TierMode {
    /// Every unit is priced by the tier the total quantity falls in.
    Volume,
    /// Each unit is priced by the tier it falls in.
    Graduated,
}

impl TierMode {
    pub const ALL: [TierMode; 2] = [TierMode::Volume, TierMode::Graduated];

    /// Stored in the database.
    pub fn as_str(self) -> &'static str {
        match self {
            TierMode::Volume => "VOLUME",
            TierMode::Graduated => "GRADUATED",
        }
    }

    pub fn parse(s: &str) -> Option<TierMode> {
        TierMode::ALL.into_iter().find(|m| m.as_str() == s)
    }
}

/// How a partly used package is billed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PackageRounding {
    /// A started package is billed in full.
    Up,
    /// Only complete packages are billed.
    Down,
}

impl PackageRounding {
    pub const ALL: [PackageRounding; 2] = [PackageRounding::Up, PackageRounding::Down];

    /// Stored in the database.
    pub fn as_str(self) -> &'static str {
        match self {
            PackageRounding::Up => "UP",
            PackageRounding::Down => "DOWN",
        }
    }

    pub fn parse(s: &str) -> Option<PackageRounding> {
        PackageRounding::ALL.into_iter().find(|r| r.as_str() == s)
    }
}

/// One tier. It covers quantities above the previous tier's `up_to` up to
/// and including its own; `None` marks the open-ended last tier.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tier {
    pub up_to: Option<Decimal>,
    pub unit_amount: Decimal,
    /// Charged once when the quantity reaches the tier.
    pub flat_amount: Decimal,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BillingModel {
    PerUnit {
        unit_amount: Decimal,
    },
    Package {
        package_size: Decimal,
        package_amount: Decimal,
        rounding: PackageRounding,
    },
    Tiered {
        mode: TierMode,
        tiers: Vec<Tier>,
    },
}

stored_enum! {
    /// Which billing model a usage price has: stored beside the model's
    /// figures, so the row says what it holds without parsing them.
    pub enum BillingModelKind {
        PerUnit = "PER_UNIT",
        Package = "PACKAGE",
        Tiered = "TIERED",
    }
}

impl BillingModel {
    pub fn kind(&self) -> BillingModelKind {
        match self {
            BillingModel::PerUnit { .. } => BillingModelKind::PerUnit,
            BillingModel::Package { .. } => BillingModelKind::Package,
            BillingModel::Tiered { .. } => BillingModelKind::Tiered,
        }
    }
}

/// The part of a tiered charge that one tier contributes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TierCharge {
    /// 0-based index into the model's tiers.
    pub tier: usize,
    /// Units priced in this tier (all units, for volume pricing).
    pub quantity: Decimal,
    pub unit_amount: Decimal,
    pub flat_amount: Decimal,
    /// `quantity * unit_amount + flat_amount`, not rounded: only the total is.
    pub amount: Decimal,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Charge {
    /// The quantity priced: the one given, or 0 if it was negative.
    pub quantity: Decimal,
    /// The total, rounded once to the currency's minor units.
    pub amount: Decimal,
    /// The price of one unit when a single one applies: per-unit and fixed
    /// prices, and the tier reached under volume pricing.
    pub unit_amount: Option<Decimal>,
    /// Per-tier breakdown for tiered prices; empty otherwise.
    pub tiers: Vec<TierCharge>,
}

/// Checks a tier list. `field` is the list's input path; errors name the
/// tier and its member, e.g. `input.tiers[1].upTo`.
pub fn validate_tiers(field: &str, tiers: &[Tier]) -> Result<(), ValidationError> {
    if tiers.is_empty() || tiers.len() > MAX_TIERS {
        return Err(ValidationError::new(field, format!("must have 1 to {MAX_TIERS} tiers")));
    }
    let last = tiers.len() - 1;
    let mut previous: Option<Decimal> = None;
    for (i, tier) in tiers.iter().enumerate() {
        let up_to_field = format!("{field}[{i}].upTo");
        match (tier.up_to, i == last) {
            (None, true) => {}
            (Some(_), true) => {
                return Err(ValidationError::new(
                    up_to_field,
                    "must be empty on the last tier, so every quantity has a price",
                ));
            }
            (None, false) => {
                return Err(ValidationError::new(
                    up_to_field,
                    "is required on every tier but the last",
                ));
            }
            (Some(up_to), false) => {
                let up_to = money::validate_non_negative(&up_to_field, up_to)?;
                if up_to.is_zero() {
                    return Err(ValidationError::new(up_to_field, "must be greater than 0"));
                }
                if let Some(prev) = previous
                    && up_to <= prev
                {
                    return Err(ValidationError::new(
                        up_to_field,
                        format!("must be greater than the previous tier's upTo ({prev})"),
                    ));
                }
                previous = Some(up_to);
            }
        }
        money::validate_non_negative(&format!("{field}[{i}].unitAmount"), tier.unit_amount)?;
        money::validate_non_negative(&format!("{field}[{i}].flatAmount"), tier.flat_amount)?;
    }
    Ok(())
}

/// Checks a model. `field` is the input object holding the model's members,
/// so errors read `input.unitAmount`, `input.packageSize`, `input.tiers[0].upTo`.
pub fn validate_model(field: &str, model: &BillingModel) -> Result<(), ValidationError> {
    match model {
        BillingModel::PerUnit { unit_amount } => {
            money::validate_non_negative(&format!("{field}.unitAmount"), *unit_amount)?;
        }
        BillingModel::Package {
            package_size,
            package_amount,
            rounding: _,
        } => {
            let size_field = format!("{field}.packageSize");
            // Fractional sizes are allowed (e.g. billing per 0.5 GB).
            if money::validate_non_negative(&size_field, *package_size)?.is_zero() {
                return Err(ValidationError::new(size_field, "must be greater than 0"));
            }
            money::validate_non_negative(&format!("{field}.packageAmount"), *package_amount)?;
        }
        BillingModel::Tiered { mode: _, tiers } => validate_tiers(&format!("{field}.tiers"), tiers)?,
    }
    Ok(())
}

/// What `quantity` costs under `model`, rounded once to `currency`.
///
/// Zero usage costs only the flat amount of the first tier under tiered
/// pricing (a platform fee that applies even in a quiet month), and nothing
/// otherwise. Above zero, graduated pricing adds the flat amount of every
/// tier the quantity reaches, volume pricing that of the one tier it lands in.
/// A total above `money::MAX_AMOUNT` is refused.
pub fn price_usage(model: &BillingModel, quantity: Decimal, currency: Currency) -> Result<Charge, AmountOverflow> {
    let overflow = AmountOverflow {
        what: "the usage charge",
        currency,
    };
    let mut charge = price_exact(model, quantity).ok_or(overflow)?;
    charge.amount = money::bounded_amount(overflow.what, charge.amount, currency)?;
    Ok(charge)
}

/// A fixed price per unit (a subscription fee, a seat): `amount * quantity`,
/// rounded. A negative quantity counts as 0; a negative amount (a credit)
/// is kept. A product above `money::MAX_AMOUNT` in magnitude is refused.
pub fn price_fixed(amount: Decimal, quantity: Decimal, currency: Currency) -> Result<Charge, AmountOverflow> {
    let quantity = clamp_quantity(quantity);
    let what = "amount x quantity";
    let product = amount.checked_mul(quantity).ok_or(AmountOverflow { what, currency })?;
    Ok(Charge {
        quantity,
        amount: money::bounded_amount(what, product, currency)?,
        unit_amount: Some(amount),
        tiers: Vec::new(),
    })
}

/// Checks, when a fixed price or a one-off line is created, that what it
/// charges per period stays within `money::MAX_AMOUNT`, so billing can
/// never meet a charge it must refuse. The error names `quantity_field`,
/// the input a client most often gets wrong.
pub fn validate_fixed_charge(
    quantity_field: &str,
    amount: Decimal,
    quantity: Decimal,
    currency: Currency,
) -> Result<(), ValidationError> {
    price_fixed(amount, quantity, currency).map(drop).map_err(|_| {
        ValidationError::new(
            quantity_field,
            format!("amount x quantity must be at most {} {currency}", money::MAX_AMOUNT),
        )
    })
}

/// `price_usage` before its one rounding: `amount` is exact. None when a
/// product or sum leaves Decimal's range.
fn price_exact(model: &BillingModel, quantity: Decimal) -> Option<Charge> {
    let quantity = clamp_quantity(quantity);
    let (amount, unit_amount, tiers) = match model {
        BillingModel::PerUnit { unit_amount } => (quantity.checked_mul(*unit_amount)?, Some(*unit_amount), Vec::new()),
        BillingModel::Package {
            package_size,
            package_amount,
            rounding,
        } => {
            let packages = packages(quantity, *package_size, *rounding)?;
            (packages.checked_mul(*package_amount)?, None, Vec::new())
        }
        BillingModel::Tiered { mode, tiers } => {
            let breakdown = match mode {
                TierMode::Volume => volume(tiers, quantity)?,
                TierMode::Graduated => graduated(tiers, quantity)?,
            };
            let unit_amount = match mode {
                TierMode::Volume => breakdown.first().map(|t| t.unit_amount),
                TierMode::Graduated => None,
            };
            let total = money::checked_sum(breakdown.iter().map(|t| t.amount))?;
            (total, unit_amount, breakdown)
        }
    };
    Some(Charge {
        quantity,
        amount,
        unit_amount,
        tiers,
    })
}

fn clamp_quantity(quantity: Decimal) -> Decimal {
    if quantity.is_sign_negative() {
        Decimal::ZERO
    } else {
        quantity
    }
}

/// Whole packages in `quantity`. Uses the exact remainder rather than
/// `ceil(quantity / size)`, because a quotient rounded to 28 digits can land
/// on a whole number that the true quotient just misses. None when the
/// count leaves Decimal's range.
fn packages(quantity: Decimal, size: Decimal, rounding: PackageRounding) -> Option<Decimal> {
    if size <= Decimal::ZERO || quantity.is_zero() {
        return Some(Decimal::ZERO);
    }
    let rem = quantity.checked_rem(size)?;
    // quantity - rem is an exact multiple of size; the quotient only needs
    // its rounding noise removed.
    let whole = (quantity - rem).checked_div(size)?.round();
    match rounding {
        PackageRounding::Down => Some(whole),
        PackageRounding::Up if rem.is_zero() => Some(whole),
        PackageRounding::Up => whole.checked_add(Decimal::ONE),
    }
}

/// Zero usage: the first tier, for its flat amount only.
fn zero_usage(tiers: &[Tier]) -> Option<Vec<TierCharge>> {
    match tiers.first() {
        Some(t) => Some(vec![tier_charge(0, t, Decimal::ZERO)?]),
        None => Some(Vec::new()),
    }
}

fn volume(tiers: &[Tier], quantity: Decimal) -> Option<Vec<TierCharge>> {
    if quantity.is_zero() {
        return zero_usage(tiers);
    }
    // Past every bound (only possible on an unvalidated model), the last
    // tier applies, so usage is never free by accident.
    let Some(index) = tiers
        .iter()
        .position(|t| t.up_to.is_none_or(|up_to| quantity <= up_to))
        .or(tiers.len().checked_sub(1))
    else {
        return Some(Vec::new());
    };
    Some(vec![tier_charge(index, &tiers[index], quantity)?])
}

fn graduated(tiers: &[Tier], quantity: Decimal) -> Option<Vec<TierCharge>> {
    if quantity.is_zero() {
        return zero_usage(tiers);
    }
    let mut charges = Vec::new();
    // Upper bound of the tiers already filled.
    let mut filled = Decimal::ZERO;
    for (i, tier) in tiers.iter().enumerate() {
        // The last tier takes the rest even if it is (wrongly) bounded.
        let bound = if i + 1 == tiers.len() { None } else { tier.up_to };
        let top = bound.map_or(quantity, |b| b.min(quantity));
        if top > filled {
            charges.push(tier_charge(i, tier, top - filled)?);
        }
        match bound {
            Some(b) if b < quantity => filled = filled.max(b),
            _ => break,
        }
    }
    Some(charges)
}

fn tier_charge(index: usize, tier: &Tier, quantity: Decimal) -> Option<TierCharge> {
    Some(TierCharge {
        tier: index,
        quantity,
        unit_amount: tier.unit_amount,
        flat_amount: tier.flat_amount,
        amount: quantity.checked_mul(tier.unit_amount)?.checked_add(tier.flat_amount)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn d(s: &str) -> Decimal {
        s.parse().unwrap()
    }

    fn cur(code: &str) -> Currency {
        Currency::parse("c", code).unwrap()
    }

    fn tier(up_to: Option<&str>, unit: &str, flat: &str) -> Tier {
        Tier {
            up_to: up_to.map(d),
            unit_amount: d(unit),
            flat_amount: d(flat),
        }
    }

    fn tiered(mode: TierMode, tiers: Vec<Tier>) -> BillingModel {
        BillingModel::Tiered { mode, tiers }
    }

    fn package(size: &str, amount: &str, rounding: PackageRounding) -> BillingModel {
        BillingModel::Package {
            package_size: d(size),
            package_amount: d(amount),
            rounding,
        }
    }

    /// [{up to 1000 at 0.10}, {rest at 0.08}]
    fn two_tiers() -> Vec<Tier> {
        vec![tier(Some("1000"), "0.10", "0"), tier(None, "0.08", "0")]
    }

    /// [{up to 10 at 1 + 5}, {up to 20 at 0.5 + 3}, {rest at 0.1 + 1}]
    fn flat_tiers() -> Vec<Tier> {
        vec![
            tier(Some("10"), "1", "5"),
            tier(Some("20"), "0.5", "3"),
            tier(None, "0.1", "1"),
        ]
    }

    /// Ok, or the (field, message) of the expected error.
    type Expected = Result<(), (&'static str, &'static str)>;

    const HUGE: &str = "1000000000000000";

    fn check_amounts(model: &BillingModel, code: &str, cases: &[(&str, &str)]) {
        for &(quantity, want) in cases {
            let got = price_usage(model, d(quantity), cur(code)).unwrap();
            assert_eq!(got.amount.to_string(), want, "{quantity} under {model:?} in {code}");
        }
    }

    #[test]
    fn per_unit_table() {
        let model = BillingModel::PerUnit {
            unit_amount: d("0.0001"),
        };
        check_amounts(
            &model,
            "USD",
            &[
                ("0", "0.00"),
                ("-5", "0.00"),
                ("1", "0.00"),
                ("49", "0.00"),
                ("50", "0.01"),
                ("10000", "1.00"),
                ("1234567", "123.46"),
                ("0.5", "0.00"),
                (HUGE, "100000000000.00"),
            ],
        );
        let yen = BillingModel::PerUnit { unit_amount: d("0.5") };
        check_amounts(
            &yen,
            "JPY",
            &[("0", "0"), ("1", "1"), ("2", "1"), ("3", "2"), ("5", "3")],
        );
        let dinar = BillingModel::PerUnit {
            unit_amount: d("0.3335"),
        };
        check_amounts(&dinar, "KWD", &[("3", "1.001"), ("1", "0.334"), ("2", "0.667")]);

        let charge = price_usage(&model, d("-5"), cur("USD")).unwrap();
        assert_eq!(charge.quantity, Decimal::ZERO);
        assert_eq!(charge.unit_amount, Some(d("0.0001")));
        assert!(charge.tiers.is_empty());
    }

    #[test]
    fn charges_above_the_bound_are_refused_not_saturated() {
        let refused = |model: &BillingModel, quantity: &str, code: &str| {
            let err = price_usage(model, d(quantity), cur(code)).unwrap_err();
            assert_eq!(err.what, "the usage charge");
            assert_eq!(
                err.to_string(),
                format!("the usage charge would exceed 1000000000000000 {code}")
            );
        };
        let expensive = BillingModel::PerUnit { unit_amount: d(HUGE) };
        // The largest charge allowed is exact to the minor unit.
        check_amounts(&expensive, "USD", &[("1", "1000000000000000.00")]);
        refused(&expensive, "1.000000000001", "USD");
        refused(&expensive, HUGE, "USD");
        // Beyond Decimal's range: refused, never a panic.
        refused(&expensive, "79228162514264337593543950335", "USD");
        let graduated = tiered(
            TierMode::Graduated,
            vec![tier(Some("1"), HUGE, HUGE), tier(None, HUGE, HUGE)],
        );
        refused(&graduated, HUGE, "KWD");
        let volume = tiered(TierMode::Volume, vec![tier(None, HUGE, HUGE)]);
        refused(&volume, HUGE, "JPY");
        let pkg = package("0.000000000001", HUGE, PackageRounding::Up);
        refused(&pkg, HUGE, "USD");
        refused(&pkg, "79228162514264337593543950335", "USD");

        assert_eq!(
            price_fixed(d(HUGE), d("1"), cur("USD")).unwrap().amount,
            d("1000000000000000.00")
        );
        assert_eq!(
            price_fixed(d("-1"), d(HUGE), cur("USD")).unwrap().amount,
            d("-1000000000000000.00")
        );
        for (amount, quantity) in [
            (HUGE, HUGE),
            (HUGE, "1.000000000001"),
            ("-1", "79228162514264337593543950335"),
        ] {
            let err = price_fixed(d(amount), d(quantity), cur("USD")).unwrap_err();
            assert_eq!(err.what, "amount x quantity", "{amount} x {quantity}");
        }
    }

    #[test]
    fn validate_fixed_charge_table() {
        let cases: &[(&str, &str, &str, bool)] = &[
            ("1000000000000000", "1", "USD", true),
            ("1", "1000000000000000", "USD", true),
            ("0.000000000001", "1000000000000000", "USD", true),
            ("1000", "1000000000000", "JPY", true),
            // 10^15 x 10^15 is 10^30, beyond even Decimal's range.
            ("1000000000000000", "1000000000000000", "USD", false),
            ("1000", "1000000000001", "JPY", false),
            // Rounds to 1000000000000000.01 USD.
            ("1000000000000000.005", "1", "USD", false),
        ];
        for &(amount, quantity, code, ok) in cases {
            let got = validate_fixed_charge("input.prices[0].quantity", d(amount), d(quantity), cur(code));
            match got {
                Ok(()) => assert!(ok, "{amount} x {quantity} {code} was accepted"),
                Err(e) => {
                    assert!(!ok, "{amount} x {quantity} {code}: {e}");
                    assert_eq!(e.field, "input.prices[0].quantity");
                    assert_eq!(
                        e.message,
                        format!("amount x quantity must be at most 1000000000000000 {code}")
                    );
                }
            }
        }
    }

    #[test]
    fn package_table() {
        let up = package("100", "5", PackageRounding::Up);
        let down = package("100", "5", PackageRounding::Down);
        // (quantity, rounding up, rounding down)
        let cases: &[(&str, &str, &str)] = &[
            ("0", "0.00", "0.00"),
            ("-1", "0.00", "0.00"),
            ("0.001", "5.00", "0.00"),
            ("1", "5.00", "0.00"),
            ("99", "5.00", "0.00"),
            ("100", "5.00", "5.00"),
            ("100.5", "10.00", "5.00"),
            ("101", "10.00", "5.00"),
            ("200", "10.00", "10.00"),
            ("201", "15.00", "10.00"),
            (HUGE, "50000000000000.00", "50000000000000.00"),
        ];
        for &(quantity, want_up, want_down) in cases {
            let got_up = price_usage(&up, d(quantity), cur("USD")).unwrap();
            let got_down = price_usage(&down, d(quantity), cur("USD")).unwrap();
            assert_eq!(got_up.amount.to_string(), want_up, "{quantity} up");
            assert_eq!(got_down.amount.to_string(), want_down, "{quantity} down");
            assert_eq!(got_up.unit_amount, None);
            assert!(got_up.tiers.is_empty());
        }
    }

    #[test]
    fn package_fractional_size() {
        let up = package("0.5", "2.5", PackageRounding::Up);
        let down = package("0.5", "2.5", PackageRounding::Down);
        check_amounts(&up, "JPY", &[("1", "5"), ("1.25", "8"), ("1.5", "8"), ("0.1", "3")]);
        check_amounts(&down, "JPY", &[("1", "5"), ("1.25", "5"), ("1.5", "8"), ("0.1", "0")]);
        // A size whose reciprocal does not terminate: 1 / 0.3 is 3.33...
        let third = package("0.3", "1", PackageRounding::Up);
        check_amounts(
            &third,
            "USD",
            &[("0.9", "3.00"), ("0.9000000001", "4.00"), ("1", "4.00")],
        );
        let third_down = package("0.3", "1", PackageRounding::Down);
        check_amounts(
            &third_down,
            "USD",
            &[("0.9", "3.00"), ("0.8999999999", "2.00"), ("1", "3.00")],
        );
    }

    #[test]
    fn package_with_invalid_size_prices_nothing() {
        for size in ["0", "-1"] {
            let model = package(size, "5", PackageRounding::Up);
            check_amounts(&model, "USD", &[("10", "0.00")]);
        }
    }

    #[test]
    fn two_tiers_at_every_boundary() {
        let volume = tiered(TierMode::Volume, two_tiers());
        let graduated = tiered(TierMode::Graduated, two_tiers());
        // (quantity, volume, graduated)
        let cases: &[(&str, &str, &str)] = &[
            ("0", "0.00", "0.00"),
            ("-3", "0.00", "0.00"),
            ("1", "0.10", "0.10"),
            ("999", "99.90", "99.90"),
            ("999.999", "100.00", "100.00"),
            ("1000", "100.00", "100.00"),
            ("1000.5", "80.04", "100.04"),
            ("1001", "80.08", "100.08"),
            ("2000", "160.00", "180.00"),
            (HUGE, "80000000000000.00", "80000000000020.00"),
        ];
        for &(quantity, want_volume, want_graduated) in cases {
            let v = price_usage(&volume, d(quantity), cur("USD")).unwrap();
            let g = price_usage(&graduated, d(quantity), cur("USD")).unwrap();
            assert_eq!(v.amount.to_string(), want_volume, "{quantity} volume");
            assert_eq!(g.amount.to_string(), want_graduated, "{quantity} graduated");
        }
    }

    #[test]
    fn graduated_breakdown() {
        let model = tiered(TierMode::Graduated, two_tiers());
        let charge = price_usage(&model, d("1001"), cur("USD")).unwrap();
        assert_eq!(charge.quantity, d("1001"));
        assert_eq!(charge.unit_amount, None);
        assert_eq!(
            charge.tiers,
            vec![
                TierCharge {
                    tier: 0,
                    quantity: d("1000"),
                    unit_amount: d("0.10"),
                    flat_amount: d("0"),
                    amount: d("100"),
                },
                TierCharge {
                    tier: 1,
                    quantity: d("1"),
                    unit_amount: d("0.08"),
                    flat_amount: d("0"),
                    amount: d("0.08"),
                },
            ]
        );
        let on_boundary = price_usage(&model, d("1000"), cur("USD")).unwrap();
        assert_eq!(on_boundary.tiers.len(), 1);
        assert_eq!(on_boundary.tiers[0].quantity, d("1000"));
        let fractional = price_usage(&model, d("1000.5"), cur("USD")).unwrap();
        assert_eq!(fractional.tiers[1].quantity, d("0.5"));
    }

    #[test]
    fn volume_breakdown() {
        let model = tiered(TierMode::Volume, two_tiers());
        let charge = price_usage(&model, d("1001"), cur("USD")).unwrap();
        assert_eq!(charge.unit_amount, Some(d("0.08")));
        assert_eq!(
            charge.tiers,
            vec![TierCharge {
                tier: 1,
                quantity: d("1001"),
                unit_amount: d("0.08"),
                flat_amount: d("0"),
                amount: d("80.08"),
            }]
        );
        let on_boundary = price_usage(&model, d("1000"), cur("USD")).unwrap();
        assert_eq!(on_boundary.unit_amount, Some(d("0.10")));
        assert_eq!(on_boundary.tiers[0].tier, 0);
    }

    #[test]
    fn flat_amounts_at_every_boundary() {
        let volume = tiered(TierMode::Volume, flat_tiers());
        let graduated = tiered(TierMode::Graduated, flat_tiers());
        // (quantity, volume, graduated)
        let cases: &[(&str, &str, &str)] = &[
            // Zero usage: the first tier's flat amount only.
            ("0", "5.00", "5.00"),
            ("-1", "5.00", "5.00"),
            ("0.5", "5.50", "5.50"),
            ("10", "15.00", "15.00"),
            // One past: graduated adds tier 1's flat amount, volume swaps to it.
            ("10.001", "8.00", "18.00"),
            ("11", "8.50", "18.50"),
            ("20", "13.00", "23.00"),
            ("21", "3.10", "24.10"),
            ("30", "4.00", "25.00"),
        ];
        for &(quantity, want_volume, want_graduated) in cases {
            let v = price_usage(&volume, d(quantity), cur("USD")).unwrap();
            let g = price_usage(&graduated, d(quantity), cur("USD")).unwrap();
            assert_eq!(v.amount.to_string(), want_volume, "{quantity} volume");
            assert_eq!(g.amount.to_string(), want_graduated, "{quantity} graduated");
        }
        let zero = price_usage(&graduated, Decimal::ZERO, cur("USD")).unwrap();
        assert_eq!(
            zero.tiers,
            vec![TierCharge {
                tier: 0,
                quantity: d("0"),
                unit_amount: d("1"),
                flat_amount: d("5"),
                amount: d("5"),
            }]
        );
        let g21 = price_usage(&graduated, d("21"), cur("USD")).unwrap();
        let flats: Vec<_> = g21.tiers.iter().map(|t| (t.tier, t.flat_amount)).collect();
        assert_eq!(flats, vec![(0, d("5")), (1, d("3")), (2, d("1"))]);
    }

    #[test]
    fn tiers_in_zero_and_three_decimal_currencies() {
        let tiers = vec![tier(Some("100"), "0.125", "0"), tier(None, "0.0625", "0")];
        let volume = tiered(TierMode::Volume, tiers.clone());
        let graduated = tiered(TierMode::Graduated, tiers);
        // 101 volume = 6.3125; graduated = 12.5 + 0.0625 = 12.5625.
        check_amounts(&volume, "JPY", &[("4", "1"), ("100", "13"), ("101", "6"), ("108", "7")]);
        check_amounts(
            &graduated,
            "JPY",
            &[("4", "1"), ("100", "13"), ("101", "13"), ("108", "13")],
        );
        check_amounts(&volume, "KWD", &[("4", "0.500"), ("100", "12.500"), ("101", "6.313")]);
        check_amounts(
            &graduated,
            "KWD",
            &[("4", "0.500"), ("100", "12.500"), ("101", "12.563")],
        );
    }

    #[test]
    fn rounds_once_at_the_end() {
        // Each unit costs 0.004: rounded per tier or per unit it would be 0.
        let tiers = vec![
            tier(Some("1"), "0.004", "0"),
            tier(Some("2"), "0.004", "0"),
            tier(None, "0.004", "0"),
        ];
        let model = tiered(TierMode::Graduated, tiers);
        check_amounts(&model, "USD", &[("3", "0.01"), ("2", "0.01"), ("1", "0.00")]);
    }

    #[test]
    fn unvalidated_tiers_do_not_panic() {
        let models = [
            tiered(TierMode::Graduated, vec![]),
            tiered(TierMode::Volume, vec![]),
            // Bounded last tier: the rest is priced there.
            tiered(TierMode::Graduated, vec![tier(Some("10"), "1", "0")]),
            tiered(TierMode::Volume, vec![tier(Some("10"), "1", "0")]),
            // Decreasing and negative bounds.
            tiered(
                TierMode::Graduated,
                vec![
                    tier(Some("10"), "1", "0"),
                    tier(Some("-5"), "2", "0"),
                    tier(None, "3", "0"),
                ],
            ),
        ];
        let want = ["0.00", "0.00", "20.00", "20.00", "40.00"];
        for (model, want) in models.iter().zip(want) {
            assert_eq!(
                price_usage(model, d("20"), cur("USD")).unwrap().amount.to_string(),
                want,
                "{model:?}"
            );
        }
    }

    #[test]
    fn fixed_table() {
        let cases: &[(&str, &str, &str, &str)] = &[
            ("10", "3", "USD", "30.00"),
            ("9.99", "0", "USD", "0.00"),
            ("9.99", "-2", "USD", "0.00"),
            ("0.333", "1", "USD", "0.33"),
            ("0.335", "1", "USD", "0.34"),
            ("-5", "2", "USD", "-10.00"),
            ("99.5", "1", "JPY", "100"),
            ("1.0005", "1", "KWD", "1.001"),
            ("0.5", "2.5", "JPY", "1"),
        ];
        for &(amount, quantity, code, want) in cases {
            let charge = price_fixed(d(amount), d(quantity), cur(code)).unwrap();
            assert_eq!(charge.amount.to_string(), want, "{amount} x {quantity} {code}");
            assert_eq!(charge.unit_amount, Some(d(amount)));
            assert!(charge.tiers.is_empty());
        }
    }

    #[test]
    fn validate_tiers_table() {
        let open = |unit: &str| tier(None, unit, "0");
        let bounded = |up_to: &str| tier(Some(up_to), "1", "0");
        let too_many: Vec<Tier> = (1..=MAX_TIERS)
            .map(|i| tier(Some(&i.to_string()), "1", "0"))
            .chain([open("1")])
            .collect();
        let most: Vec<Tier> = too_many[1..].to_vec();
        let cases: Vec<(Vec<Tier>, Expected)> = vec![
            (vec![open("0.10")], Ok(())),
            (two_tiers(), Ok(())),
            (flat_tiers(), Ok(())),
            (vec![bounded("0.5"), bounded("0.75"), open("0")], Ok(())),
            (most, Ok(())),
            (vec![], Err(("input.tiers", "must have 1 to 50 tiers"))),
            (too_many, Err(("input.tiers", "must have 1 to 50 tiers"))),
            (
                vec![bounded("10")],
                Err((
                    "input.tiers[0].upTo",
                    "must be empty on the last tier, so every quantity has a price",
                )),
            ),
            (
                vec![bounded("10"), bounded("20")],
                Err((
                    "input.tiers[1].upTo",
                    "must be empty on the last tier, so every quantity has a price",
                )),
            ),
            (
                vec![open("1"), open("1")],
                Err(("input.tiers[0].upTo", "is required on every tier but the last")),
            ),
            (
                vec![bounded("0"), open("1")],
                Err(("input.tiers[0].upTo", "must be greater than 0")),
            ),
            (
                vec![bounded("-1"), open("1")],
                Err(("input.tiers[0].upTo", "must not be negative")),
            ),
            (
                vec![bounded("10"), bounded("10"), open("1")],
                Err((
                    "input.tiers[1].upTo",
                    "must be greater than the previous tier's upTo (10)",
                )),
            ),
            (
                vec![bounded("10"), bounded("5"), open("1")],
                Err((
                    "input.tiers[1].upTo",
                    "must be greater than the previous tier's upTo (10)",
                )),
            ),
            (
                vec![bounded("10.0"), bounded("10.00"), open("1")],
                Err((
                    "input.tiers[1].upTo",
                    "must be greater than the previous tier's upTo (10)",
                )),
            ),
            (
                vec![bounded("0.0000000000001"), open("1")],
                Err(("input.tiers[0].upTo", "must have at most 12 decimal places")),
            ),
            (
                vec![bounded("1000000000000001"), open("1")],
                Err(("input.tiers[0].upTo", "must be at most 1000000000000000")),
            ),
            (
                vec![bounded("10"), open("-0.01")],
                Err(("input.tiers[1].unitAmount", "must not be negative")),
            ),
            (
                vec![tier(Some("10"), "1", "-1"), open("1")],
                Err(("input.tiers[0].flatAmount", "must not be negative")),
            ),
            (
                vec![bounded("10"), tier(None, "1", "0.0000000000001")],
                Err(("input.tiers[1].flatAmount", "must have at most 12 decimal places")),
            ),
        ];
        for (tiers, want) in cases {
            let got = validate_tiers("input.tiers", &tiers);
            let want = want.map_err(|(field, message)| ValidationError::new(field, message));
            assert_eq!(got, want, "{tiers:?}");
        }
    }

    #[test]
    fn validate_model_table() {
        let per_unit = |amount: &str| BillingModel::PerUnit { unit_amount: d(amount) };
        let cases: Vec<(BillingModel, Expected)> = vec![
            (per_unit("0"), Ok(())),
            (per_unit("0.000001"), Ok(())),
            (per_unit("-1"), Err(("input.unitAmount", "must not be negative"))),
            (
                per_unit("1000000000000001"),
                Err(("input.unitAmount", "must be at most 1000000000000000")),
            ),
            (package("100", "5", PackageRounding::Up), Ok(())),
            (package("0.5", "0", PackageRounding::Down), Ok(())),
            (
                package("0", "5", PackageRounding::Up),
                Err(("input.packageSize", "must be greater than 0")),
            ),
            (
                package("-10", "5", PackageRounding::Up),
                Err(("input.packageSize", "must not be negative")),
            ),
            (
                package("10", "-5", PackageRounding::Up),
                Err(("input.packageAmount", "must not be negative")),
            ),
            (tiered(TierMode::Volume, two_tiers()), Ok(())),
            (
                tiered(TierMode::Graduated, vec![]),
                Err(("input.tiers", "must have 1 to 50 tiers")),
            ),
            (
                tiered(
                    TierMode::Graduated,
                    vec![tier(Some("5"), "1", "0"), tier(Some("1"), "1", "0")],
                ),
                Err((
                    "input.tiers[1].upTo",
                    "must be empty on the last tier, so every quantity has a price",
                )),
            ),
        ];
        for (model, want) in cases {
            let got = validate_model("input", &model);
            let want = want.map_err(|(field, message)| ValidationError::new(field, message));
            assert_eq!(got, want, "{model:?}");
        }
    }

    #[test]
    fn enum_names_round_trip() {
        for mode in TierMode::ALL {
            assert_eq!(TierMode::parse(mode.as_str()), Some(mode));
        }
        for rounding in PackageRounding::ALL {
            assert_eq!(PackageRounding::parse(rounding.as_str()), Some(rounding));
        }
        assert_eq!(TierMode::parse("volume"), None);
        assert_eq!(PackageRounding::parse(""), None);
    }

    /// A non-negative Decimal with at most `max_scale` places below `max`.
    fn decimal(max: i64, max_scale: u32) -> impl Strategy<Value = Decimal> {
        (0..=max, 0..=max_scale).prop_map(|(m, s)| Decimal::new(m, s))
    }

    /// 1 to 6 valid tiers.
    fn valid_tiers() -> impl Strategy<Value = Vec<Tier>> {
        prop::collection::vec((decimal(1_000_000, 3), decimal(100_000, 4), decimal(10_000, 2)), 1..=6).prop_map(
            |rows| {
                let last = rows.len() - 1;
                let mut bound = Decimal::ZERO;
                rows.into_iter()
                    .enumerate()
                    .map(|(i, (step, unit_amount, flat_amount))| {
                        // Steps of at least 0.001 keep bounds strictly increasing.
                        bound += step + Decimal::new(1, 3);
                        Tier {
                            up_to: (i < last).then_some(bound),
                            unit_amount,
                            flat_amount,
                        }
                    })
                    .collect()
            },
        )
    }

    fn currency() -> impl Strategy<Value = Currency> {
        prop::sample::select(vec!["USD", "JPY", "KWD", "CLF"]).prop_map(cur)
    }

    proptest! {
        #[test]
        fn generated_tiers_are_valid(tiers in valid_tiers()) {
            prop_assert_eq!(validate_tiers("t", &tiers), Ok(()));
        }

        // More usage must never cost less under graduated pricing, or a
        // customer could save by consuming more.
        #[test]
        fn graduated_never_decreases(
            tiers in valid_tiers(),
            a in decimal(10_000_000_000, 3),
            b in decimal(10_000_000_000, 3),
            currency in currency(),
        ) {
            let (low, high) = if a <= b { (a, b) } else { (b, a) };
            let model = tiered(TierMode::Graduated, tiers);
            let cheap = price_usage(&model, low, currency).unwrap();
            let dear = price_usage(&model, high, currency).unwrap();
            prop_assert!(cheap.amount <= dear.amount, "{} at {} > {} at {}", cheap.amount, low, dear.amount, high);
            let exact_low = price_exact(&model, low).unwrap().amount;
            let exact_high = price_exact(&model, high).unwrap().amount;
            prop_assert!(exact_low <= exact_high);
        }

        #[test]
        fn volume_and_graduated_agree_in_first_tier(
            tiers in valid_tiers(),
            permille in 0i64..=1000,
            currency in currency(),
        ) {
            let first = tiers[0].up_to.unwrap_or(Decimal::ONE_THOUSAND);
            let quantity = first * Decimal::new(permille, 3);
            let volume = price_usage(&tiered(TierMode::Volume, tiers.clone()), quantity, currency).unwrap();
            let graduated = price_usage(&tiered(TierMode::Graduated, tiers), quantity, currency).unwrap();
            prop_assert_eq!(volume.amount, graduated.amount);
            prop_assert_eq!(&volume.tiers, &graduated.tiers);
        }

        #[test]
        fn zero_usage_costs_the_first_flat_amount(tiers in valid_tiers(), currency in currency()) {
            let want = money::round_amount(tiers[0].flat_amount, currency);
            for mode in TierMode::ALL {
                let model = tiered(mode, tiers.clone());
                prop_assert_eq!(price_usage(&model, Decimal::ZERO, currency).unwrap().amount, want);
                prop_assert_eq!(price_usage(&model, Decimal::NEGATIVE_ONE, currency).unwrap().amount, want);
            }
        }

        #[test]
        fn per_unit_is_linear(
            unit_amount in decimal(1_000_000, 6),
            a in decimal(1_000_000_000, 6),
            b in decimal(1_000_000_000, 6),
        ) {
            let model = BillingModel::PerUnit { unit_amount };
            let whole = price_exact(&model, a + b).unwrap().amount;
            let part_a = price_exact(&model, a).unwrap().amount;
            let part_b = price_exact(&model, b).unwrap().amount;
            prop_assert_eq!(whole, part_a + part_b);
        }

        // With 2 places on both sides the product has 4, which CLF keeps:
        // the rounded charges add up exactly too (within the amount bound).
        #[test]
        fn per_unit_is_linear_after_rounding_when_exact(
            unit_amount in decimal(1_000_000, 2),
            a in decimal(100_000_000, 2),
            b in decimal(100_000_000, 2),
        ) {
            let model = BillingModel::PerUnit { unit_amount };
            let clf = cur("CLF");
            let whole = price_usage(&model, a + b, clf).unwrap().amount;
            let parts = price_usage(&model, a, clf).unwrap().amount + price_usage(&model, b, clf).unwrap().amount;
            prop_assert_eq!(whole, parts);
        }

        // The breakdown adds up to the total before rounding.
        #[test]
        fn breakdown_adds_up(
            tiers in valid_tiers(),
            quantity in decimal(10_000_000_000, 3),
            graduated in any::<bool>(),
        ) {
            let mode = if graduated { TierMode::Graduated } else { TierMode::Volume };
            let model = tiered(mode, tiers);
            let charge = price_exact(&model, quantity).unwrap();
            prop_assert_eq!(charge.quantity, quantity);
            prop_assert_eq!(charge.tiers.iter().map(|t| t.amount).sum::<Decimal>(), charge.amount);
            if graduated {
                prop_assert_eq!(charge.tiers.iter().map(|t| t.quantity).sum::<Decimal>(), quantity);
            }
        }

        #[test]
        fn package_count_matches_definition(
            size in decimal(1_000_000, 4).prop_filter("positive", |s| !s.is_zero()),
            quantity in decimal(10_000_000_000, 4),
        ) {
            let down = packages(quantity, size, PackageRounding::Down).unwrap();
            let up = packages(quantity, size, PackageRounding::Up).unwrap();
            prop_assert!(down.is_integer() && up.is_integer());
            prop_assert!(down * size <= quantity && quantity < (down + Decimal::ONE) * size);
            prop_assert!(up * size >= quantity);
            prop_assert!(up == down || up == down + Decimal::ONE);
        }

        // Any model, validated or not, with any quantity: no panic.
        #[test]
        fn pricing_never_panics(
            up_tos in prop::collection::vec(prop::option::of(any::<i64>()), 0..=4),
            unit_mantissa in any::<i64>(),
            scale in 0u32..=28,
            quantity_mantissa in any::<i64>(),
            factor in prop::sample::select(vec![Decimal::ONE, Decimal::MAX, Decimal::new(1, 28)]),
            currency in currency(),
        ) {
            let unit_amount = Decimal::new(unit_mantissa, scale);
            let quantity = Decimal::new(quantity_mantissa, scale).checked_mul(factor).unwrap_or(Decimal::MAX);
            let tiers: Vec<Tier> = up_tos
                .iter()
                .map(|u| Tier { up_to: u.map(Decimal::from), unit_amount, flat_amount: unit_amount })
                .collect();
            let models = [
                BillingModel::PerUnit { unit_amount },
                BillingModel::Package { package_size: unit_amount, package_amount: unit_amount, rounding: PackageRounding::Up },
                BillingModel::Package { package_size: unit_amount, package_amount: unit_amount, rounding: PackageRounding::Down },
                tiered(TierMode::Volume, tiers.clone()),
                tiered(TierMode::Graduated, tiers),
            ];
            // Ok or refused; what matters is that it returns.
            for model in &models {
                let _ = price_usage(model, quantity, currency);
            }
            let _ = price_fixed(unit_amount, quantity, currency);
        }
    }
}
