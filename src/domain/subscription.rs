//! Subscription rules: status, lifecycle transitions, the current period and
//! the stretches of time in which charges accrue.
//!
//! A subscription's status is never stored. It follows from a few instants
//! (start, trial end, an open pause, the end) and the clock, so it is right
//! at every moment without a worker flipping it on time.

use chrono::{DateTime, Utc};

use super::ValidationError;
use super::instant;
use super::period::{Cadence, Period, boundary, period_containing, trial_end};
use super::proration::PeriodShare;
use super::stored::stored_enum;

/// The longest trial accepted: two years.
pub const MAX_TRIAL_DAYS: i32 = 730;

stored_enum! {
    pub enum Payer {
        /// Invoiced to the subscribing customer.
        Customer = "SELF",
        /// Invoiced to the nearest ancestor that pays for itself.
        Parent = "PARENT",
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Status {
    Trialing,
    Active,
    Paused,
    Cancelled,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Trialing => "TRIALING",
            Status::Active => "ACTIVE",
            Status::Paused => "PAUSED",
            Status::Cancelled => "CANCELLED",
        }
    }
}

/// The instants a subscription's state follows from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lifecycle {
    pub start_at: DateTime<Utc>,
    pub billing_anchor: DateTime<Utc>,
    pub cadence: Cadence,
    pub trial_end: Option<DateTime<Utc>>,
    /// Start of the pause in force, if any.
    pub paused_at: Option<DateTime<Utc>>,
    /// When the subscription ends (or ended).
    pub ends_at: Option<DateTime<Utc>>,
    /// The last change of billing period: before it, periods followed
    /// another anchor and cadence, and the period it falls in ends there.
    pub cut: Option<Cut>,
}

/// A change of billing period at `at`: periods before it follow `anchor`
/// and `cadence`, periods from it the lifecycle's own (anchored at `at`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cut {
    pub at: DateTime<Utc>,
    pub anchor: DateTime<Utc>,
    pub cadence: Cadence,
}

/// The anchor and cadence periods follow at `at`.
pub fn rule_at(life: &Lifecycle, at: DateTime<Utc>) -> (DateTime<Utc>, Cadence) {
    match life.cut {
        Some(cut) if at < cut.at => (cut.anchor, cut.cadence),
        _ => (life.billing_anchor, life.cadence),
    }
}

/// The lifecycle with its billing period changed at `at` to `cadence`,
/// anchored there. `at` must not precede an earlier cut.
pub fn with_cut(life: &Lifecycle, at: DateTime<Utc>, cadence: Cadence) -> Lifecycle {
    let (anchor, before) = rule_at(life, at - chrono::Duration::microseconds(1));
    Lifecycle {
        billing_anchor: at,
        cadence,
        cut: Some(Cut {
            at,
            anchor,
            cadence: before,
        }),
        ..*life
    }
}

/// Status at `now`: an ended subscription is CANCELLED whatever else holds;
/// a pause outranks a trial, since nothing accrues either way and the pause
/// is the thing a client must undo.
pub fn status_at(life: &Lifecycle, now: DateTime<Utc>) -> Status {
    if life.ends_at.is_some_and(|end| end <= now) {
        Status::Cancelled
    } else if life.paused_at.is_some() {
        Status::Paused
    } else if life.trial_end.is_some_and(|end| now < end) {
        Status::Trialing
    } else {
        Status::Active
    }
}

/// Why a lifecycle change is refused; callers report these as CONFLICT.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal(pub String);

fn refuse<T>(message: impl Into<String>) -> Result<T, Refusal> {
    Err(Refusal(message.into()))
}

fn refuse_if_cancelled(life: &Lifecycle, now: DateTime<Utc>) -> Result<(), Refusal> {
    if status_at(life, now) == Status::Cancelled {
        return refuse("subscription is cancelled");
    }
    Ok(())
}

/// Pausing needs a subscription that runs and is not paused already.
pub fn check_pause(life: &Lifecycle, now: DateTime<Utc>) -> Result<(), Refusal> {
    refuse_if_cancelled(life, now)?;
    if life.paused_at.is_some() {
        return refuse("subscription is already paused");
    }
    Ok(())
}

/// Resuming needs a paused subscription that has not ended.
pub fn check_resume(life: &Lifecycle, now: DateTime<Utc>) -> Result<(), Refusal> {
    refuse_if_cancelled(life, now)?;
    if life.paused_at.is_none() {
        return refuse("subscription is not paused");
    }
    Ok(())
}

/// When a cancellation ends the subscription.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CancelAt {
    Now,
    PeriodEnd,
    /// A chosen instant, already checked by [`validate_change_at`].
    At(DateTime<Utc>),
}

/// The instant a cancellation asked for at `now` ends the subscription. A
/// cancellation already set can be brought forward, not set again or later.
pub fn cancellation_end(life: &Lifecycle, now: DateTime<Utc>, when: CancelAt) -> Result<DateTime<Utc>, Refusal> {
    refuse_if_cancelled(life, now)?;
    let end = match when {
        CancelAt::Now => return Ok(now),
        CancelAt::PeriodEnd => current_period(life, now).end,
        CancelAt::At(at) => at,
    };
    match life.ends_at {
        Some(set) if end >= set => refuse(format!("subscription is already set to end at {}", set.to_rfc3339())),
        _ => Ok(end),
    }
}

/// The last boundary the billing run invoiced, given the next one it will
/// (`next_billing_at`): time before it is settled, so no change may reach
/// back past it. Before the opening boundary is billed, the start.
pub fn billed_through(life: &Lifecycle, next_billing_at: Option<DateTime<Utc>>) -> DateTime<Utc> {
    match next_billing_at {
        Some(next) if next > life.start_at => current_period(life, next - chrono::Duration::microseconds(1)).start,
        Some(_) => life.start_at,
        // Billed to the end.
        None => life.ends_at.unwrap_or(life.start_at),
    }
}

/// Checks the instant a client asks a change to take effect at: not before
/// the last invoiced boundary (`billed_through`), and, when `not_after_now`
/// (pauses and resumes, which cannot be scheduled), not in the future.
pub fn validate_change_at(
    field: &str,
    at: DateTime<Utc>,
    billed_through: DateTime<Utc>,
    now: DateTime<Utc>,
    not_after_now: bool,
) -> Result<DateTime<Utc>, ValidationError> {
    if at < billed_through {
        return Err(ValidationError::new(
            field,
            format!(
                "must not be before the last invoiced boundary ({})",
                billed_through.to_rfc3339()
            ),
        ));
    }
    if not_after_now && at > now {
        return Err(ValidationError::new(field, "must not be in the future"));
    }
    instant::check_not_too_late(field, at, now)?;
    Ok(at)
}

/// The anchor periods follow when the client names none: the end of the
/// trial (so the first paid period starts when the trial ends), else the start.
pub fn default_anchor(start_at: DateTime<Utc>, trial_days: u32) -> DateTime<Utc> {
    if trial_days == 0 {
        start_at
    } else {
        trial_end(start_at, trial_days)
    }
}

/// Checks a client's start: not before `instant::earliest()`, at most
/// `max_backdate_days` before `now` (each period since the start is billed
/// at once, so a start years back would flood the customer with invoices),
/// and at most `instant::MAX_YEARS_AHEAD` years after it.
pub fn validate_start_at(
    field: &str,
    start_at: DateTime<Utc>,
    now: DateTime<Utc>,
    max_backdate_days: u32,
) -> Result<DateTime<Utc>, ValidationError> {
    instant::check_not_too_early(field, start_at)?;
    let oldest = chrono::Duration::try_days(i64::from(max_backdate_days))
        .and_then(|back| now.checked_sub_signed(back))
        .unwrap_or(DateTime::<Utc>::MIN_UTC);
    if start_at < oldest {
        return Err(ValidationError::new(
            field,
            format!("must be at most {max_backdate_days} days in the past"),
        ));
    }
    instant::check_not_too_late(field, start_at, now)?;
    Ok(start_at)
}

/// Checks a client's anchor: periods may follow any instant from
/// `instant::earliest()` up to one period after the first paid day, so the
/// first period is never longer than a trial plus one period.
pub fn validate_anchor(
    field: &str,
    anchor: DateTime<Utc>,
    first_paid: DateTime<Utc>,
    cadence: Cadence,
) -> Result<DateTime<Utc>, ValidationError> {
    instant::check_not_too_early(field, anchor)?;
    if anchor > boundary(first_paid, cadence, 1) {
        return Err(ValidationError::new(
            field,
            "must be at most one billing period after the start (or the trial's end)",
        ));
    }
    Ok(anchor)
}

/// The cadence's whole period containing `at` (at or after the start):
/// periods follow the anchor, also back from it.
pub fn nominal_period(life: &Lifecycle, at: DateTime<Utc>) -> Period {
    let at = at.max(life.start_at);
    let (anchor, cadence) = rule_at(life, at);
    if at >= anchor {
        return period_containing(anchor, cadence, at);
    }
    // Count back from the anchor; the anchor is at most a trial plus a
    // period ahead of the start (validate_anchor), so this is short.
    let mut n = -1;
    while boundary(anchor, cadence, n) > at {
        n -= 1;
    }
    Period {
        start: boundary(anchor, cadence, n),
        end: boundary(anchor, cadence, n + 1),
    }
}

/// The period containing `at`: the cadence's period (see
/// [`nominal_period`]), except that the first one starts with the
/// subscription (it can be shorter than the rest, or, before an anchor at
/// the trial's end, cover the trial). Before the start, the first period.
pub fn current_period(life: &Lifecycle, at: DateTime<Utc>) -> Period {
    let period = nominal_period(life, at);
    // A change of billing period ends the period it falls in.
    let end = match life.cut {
        Some(cut) if at.max(life.start_at) < cut.at => period.end.min(cut.at),
        _ => period.end,
    };
    Period {
        start: period.start.max(life.start_at),
        end,
    }
}

/// The stretches of `period` before `until` in which charges accrue: from
/// the start (after any trial) until the subscription ends, minus pauses.
/// `pauses` are the closed pauses, half-open; the open one is in `life`.
/// Sorted and disjoint.
pub fn billable_intervals(life: &Lifecycle, period: Period, pauses: &[Period], until: DateTime<Utc>) -> Vec<Period> {
    let from = period
        .start
        .max(life.start_at)
        .max(life.trial_end.unwrap_or(life.start_at));
    let to = period
        .end
        .min(until)
        .min(life.ends_at.unwrap_or(DateTime::<Utc>::MAX_UTC));
    if from >= to {
        return Vec::new();
    }
    let mut gaps: Vec<Period> = pauses.to_vec();
    if let Some(paused_at) = life.paused_at {
        gaps.push(Period {
            start: paused_at,
            end: DateTime::<Utc>::MAX_UTC,
        });
    }
    gaps.sort_by_key(|gap| gap.start);
    let mut intervals = Vec::new();
    let mut cursor = from;
    for gap in gaps {
        if gap.end <= cursor {
            continue;
        }
        if gap.start >= to {
            break;
        }
        if gap.start > cursor {
            intervals.push(Period {
                start: cursor,
                end: gap.start,
            });
        }
        cursor = gap.end;
        if cursor >= to {
            break;
        }
    }
    if cursor < to {
        intervals.push(Period { start: cursor, end: to });
    }
    intervals
}

/// `period` as its fees see it: its cadence's whole period, and the
/// stretches before `until` in which charges accrue (see
/// [`billable_intervals`]).
pub fn share_of(life: &Lifecycle, period: Period, pauses: &[Period], until: DateTime<Utc>) -> PeriodShare {
    PeriodShare {
        period,
        nominal: nominal_period(life, period.start),
        billable: billable_intervals(life, period, pauses, until),
    }
}

/// What the billing run invoices at one boundary of a subscription.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BoundaryBill {
    /// The period that ends here, billed in arrears (fees due at the end,
    /// usage); None at the start.
    pub arrears: Option<Period>,
    /// The period that starts here, whose fees are billed in advance for
    /// the share of it expected to be billable; None when the subscription
    /// ends here.
    pub advance: Option<Period>,
    /// The next boundary to bill; None once the subscription has ended.
    pub next: Option<DateTime<Utc>>,
}

/// The bill at boundary `at`: the subscription's start, a period's end, or
/// its own end. Boundaries are where the billing cursor stops, so each is
/// invoiced exactly once.
pub fn bill_at(life: &Lifecycle, at: DateTime<Utc>) -> BoundaryBill {
    let arrears = (at > life.start_at).then(|| {
        let just_before = at - chrono::Duration::microseconds(1);
        Period {
            start: current_period(life, just_before).start,
            end: at,
        }
    });
    let continues = life.ends_at.is_none_or(|end| end > at);
    if !continues {
        return BoundaryBill {
            arrears,
            advance: None,
            next: None,
        };
    }
    let period = current_period(life, at);
    BoundaryBill {
        arrears,
        advance: Some(period),
        next: Some(life.ends_at.map_or(period.end, |end| end.min(period.end))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::period::BillingPeriod;
    use chrono::TimeZone;
    use proptest::prelude::*;

    fn utc(y: i32, m: u32, d: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, m, d, 0, 0, 0).unwrap()
    }

    const MONTHLY: Cadence = Cadence {
        unit: BillingPeriod::Monthly,
        count: 1,
    };

    fn life(start: DateTime<Utc>) -> Lifecycle {
        Lifecycle {
            start_at: start,
            billing_anchor: start,
            cadence: MONTHLY,
            trial_end: None,
            paused_at: None,
            ends_at: None,
            cut: None,
        }
    }

    fn period(start: DateTime<Utc>, end: DateTime<Utc>) -> Period {
        Period { start, end }
    }

    #[test]
    fn status_follows_the_clock() {
        let mut l = life(utc(2026, 1, 1));
        l.trial_end = Some(utc(2026, 1, 15));
        assert_eq!(status_at(&l, utc(2026, 1, 14)), Status::Trialing);
        assert_eq!(status_at(&l, utc(2026, 1, 15)), Status::Active);
        l.paused_at = Some(utc(2026, 1, 10));
        assert_eq!(status_at(&l, utc(2026, 1, 12)), Status::Paused);
        l.ends_at = Some(utc(2026, 2, 1));
        assert_eq!(status_at(&l, utc(2026, 1, 31)), Status::Paused);
        assert_eq!(status_at(&l, utc(2026, 2, 1)), Status::Cancelled);
    }

    #[test]
    fn transitions_are_checked() {
        let now = utc(2026, 1, 10);
        let mut l = life(utc(2026, 1, 1));
        assert!(check_resume(&l, now).is_err());
        assert!(check_pause(&l, now).is_ok());
        l.paused_at = Some(now);
        assert_eq!(check_pause(&l, now).unwrap_err().0, "subscription is already paused");
        assert!(check_resume(&l, now).is_ok());
        l.ends_at = Some(now);
        assert_eq!(check_resume(&l, now).unwrap_err().0, "subscription is cancelled");
        assert!(check_pause(&l, now).is_err());
        assert!(cancellation_end(&l, now, CancelAt::Now).is_err());
    }

    #[test]
    fn cancelling_at_period_end_uses_the_current_period() {
        let l = life(utc(2026, 1, 31));
        let now = utc(2026, 2, 10);
        assert_eq!(cancellation_end(&l, now, CancelAt::PeriodEnd), Ok(utc(2026, 2, 28)));
        assert_eq!(cancellation_end(&l, now, CancelAt::Now), Ok(now));
        let scheduled = Lifecycle {
            ends_at: Some(utc(2026, 2, 28)),
            ..l
        };
        assert!(cancellation_end(&scheduled, now, CancelAt::PeriodEnd).is_err());
        assert_eq!(cancellation_end(&scheduled, now, CancelAt::Now), Ok(now));
    }

    #[test]
    fn periods_follow_the_anchor_with_a_short_first_period() {
        let mut l = life(utc(2026, 1, 10));
        l.billing_anchor = utc(2026, 1, 1);
        assert_eq!(
            current_period(&l, utc(2026, 1, 20)),
            period(utc(2026, 1, 10), utc(2026, 2, 1))
        );
        assert_eq!(
            current_period(&l, utc(2026, 2, 20)),
            period(utc(2026, 2, 1), utc(2026, 3, 1))
        );
        // Before the start: the first period.
        assert_eq!(
            current_period(&l, utc(2025, 12, 1)),
            period(utc(2026, 1, 10), utc(2026, 2, 1))
        );
    }

    #[test]
    fn a_trial_is_its_own_period_before_the_anchor() {
        let start = utc(2026, 1, 1);
        let anchor = default_anchor(start, 14);
        assert_eq!(anchor, utc(2026, 1, 15));
        let l = Lifecycle {
            billing_anchor: anchor,
            trial_end: Some(anchor),
            ..life(start)
        };
        assert_eq!(current_period(&l, utc(2026, 1, 5)), period(start, anchor));
        assert_eq!(current_period(&l, utc(2026, 1, 15)), period(anchor, utc(2026, 2, 15)));
        // Nothing accrues in the trial.
        assert!(billable_intervals(&l, period(start, anchor), &[], utc(2026, 3, 1)).is_empty());
    }

    #[test]
    fn anchors_more_than_a_period_ahead_are_refused() {
        let start = utc(2026, 1, 31);
        assert!(validate_anchor("a", utc(2026, 2, 28), start, MONTHLY).is_ok());
        assert!(validate_anchor("a", utc(2026, 3, 1), start, MONTHLY).is_err());
        assert!(validate_anchor("a", utc(2020, 3, 1), start, MONTHLY).is_ok());
        let err = validate_anchor("a", utc(1999, 12, 31), start, MONTHLY).unwrap_err();
        assert_eq!(err.message, "must not be before 2000-01-01T00:00:00Z");
        let err = validate_anchor("a", DateTime::<Utc>::MIN_UTC, start, MONTHLY).unwrap_err();
        assert_eq!(err.field, "a");
    }

    #[test]
    fn start_at_table() {
        let now = utc(2026, 6, 15);
        let day = chrono::Duration::days(1);
        let second = chrono::Duration::seconds(1);
        // (start, backdate days, expected message)
        let cases: &[(DateTime<Utc>, u32, Option<&str>)] = &[
            (now, 365, None),
            (now, 0, None),
            (now - second, 0, Some("must be at most 0 days in the past")),
            (now - day * 365, 365, None),
            (
                now - day * 365 - second,
                365,
                Some("must be at most 365 days in the past"),
            ),
            (now - day * 30, 7, Some("must be at most 7 days in the past")),
            (utc(2001, 1, 1), 36_500, None),
            // The floor holds whatever the setting allows.
            (
                utc(1999, 12, 31),
                36_500,
                Some("must not be before 2000-01-01T00:00:00Z"),
            ),
            (utc(1, 1, 1), u32::MAX, Some("must not be before 2000-01-01T00:00:00Z")),
            (
                DateTime::<Utc>::MIN_UTC,
                365,
                Some("must not be before 2000-01-01T00:00:00Z"),
            ),
            (utc(2036, 6, 15), 365, None),
            (utc(2036, 6, 16), 365, Some("must be at most 10 years in the future")),
            (utc(9999, 12, 31), 365, Some("must be at most 10 years in the future")),
            (
                DateTime::<Utc>::MAX_UTC,
                365,
                Some("must be at most 10 years in the future"),
            ),
        ];
        for &(start, backdate, want) in cases {
            let got = validate_start_at("input.startAt", start, now, backdate);
            match (got, want) {
                (Ok(at), None) => assert_eq!(at, start),
                (Err(e), Some(message)) => {
                    assert_eq!(e.field, "input.startAt");
                    assert_eq!(e.message, message, "{start}");
                }
                (got, want) => panic!("{start} (backdate {backdate}): got {got:?}, want {want:?}"),
            }
        }
    }

    #[test]
    fn pauses_and_ends_cut_the_billable_time() {
        let mut l = life(utc(2026, 1, 1));
        let p = period(utc(2026, 1, 1), utc(2026, 2, 1));
        let pauses = [period(utc(2026, 1, 5), utc(2026, 1, 10))];
        l.paused_at = Some(utc(2026, 1, 20));
        assert_eq!(
            billable_intervals(&l, p, &pauses, utc(2026, 1, 25)),
            vec![
                period(utc(2026, 1, 1), utc(2026, 1, 5)),
                period(utc(2026, 1, 10), utc(2026, 1, 20))
            ]
        );
        l.paused_at = None;
        l.ends_at = Some(utc(2026, 1, 7));
        assert_eq!(
            billable_intervals(&l, p, &pauses, utc(2026, 3, 1)),
            vec![period(utc(2026, 1, 1), utc(2026, 1, 5))]
        );
        // Paused since before the period: nothing accrues.
        let paused = Lifecycle {
            paused_at: Some(utc(2025, 12, 1)),
            ..life(utc(2025, 11, 1))
        };
        assert!(billable_intervals(&paused, p, &[], utc(2026, 3, 1)).is_empty());
    }

    #[test]
    fn boundaries_bill_advance_fees_at_the_start_and_arrears_at_the_end() {
        let start = utc(2026, 1, 31);
        let l = life(start);
        let opening = bill_at(&l, start);
        assert_eq!(opening.arrears, None);
        assert_eq!(opening.advance, Some(period(start, utc(2026, 2, 28))));
        assert_eq!(opening.next, Some(utc(2026, 2, 28)));
        let second = bill_at(&l, utc(2026, 2, 28));
        assert_eq!(second.arrears, Some(period(start, utc(2026, 2, 28))));
        assert_eq!(second.advance, Some(period(utc(2026, 2, 28), utc(2026, 3, 31))));
        assert_eq!(second.next, Some(utc(2026, 3, 31)));
    }

    #[test]
    fn the_end_is_the_last_boundary() {
        let ended = Lifecycle {
            ends_at: Some(utc(2026, 2, 10)),
            ..life(utc(2026, 1, 1))
        };
        let before = bill_at(&ended, utc(2026, 2, 1));
        assert_eq!(before.next, Some(utc(2026, 2, 10)));
        let last = bill_at(&ended, utc(2026, 2, 10));
        assert_eq!(last.arrears, Some(period(utc(2026, 2, 1), utc(2026, 2, 10))));
        assert_eq!((last.advance, last.next), (None, None));
    }

    #[test]
    fn a_trial_or_a_pause_takes_its_stretch_out_of_the_share() {
        let start = utc(2026, 1, 1);
        let trial = Lifecycle {
            trial_end: Some(utc(2026, 1, 15)),
            billing_anchor: utc(2026, 1, 15),
            ..life(start)
        };
        // The trial is a period of its own before the anchor: nothing accrues.
        let opening = bill_at(&trial, start);
        assert_eq!(opening.advance, Some(period(start, utc(2026, 1, 15))));
        let share = share_of(&trial, period(start, utc(2026, 1, 15)), &[], utc(2026, 1, 15));
        assert_eq!(share.nominal, period(utc(2025, 12, 15), utc(2026, 1, 15)));
        assert!(!share.accrues());
        // A trial ending inside a period anchored at the start: 14 of 31 days.
        let inside = Lifecycle {
            billing_anchor: start,
            ..trial
        };
        let january = period(start, utc(2026, 2, 1));
        let share = share_of(&inside, january, &[], january.end);
        assert_eq!(share.billable, vec![period(utc(2026, 1, 15), utc(2026, 2, 1))]);
        assert_eq!(share.billable_seconds() * 31, share.nominal_seconds() * 17);
        // Paused on the 20th and still paused: only the days before count.
        let paused = Lifecycle {
            paused_at: Some(utc(2026, 1, 20)),
            ..life(start)
        };
        let share = share_of(&paused, january, &[], january.end);
        assert_eq!(share.billable, vec![period(start, utc(2026, 1, 20))]);
        let at_end = bill_at(&paused, utc(2026, 2, 1));
        assert_eq!(at_end.advance, Some(period(utc(2026, 2, 1), utc(2026, 3, 1))));
        assert_eq!(at_end.next, Some(utc(2026, 3, 1)));
    }

    #[test]
    fn a_change_of_billing_period_cuts_the_period_it_falls_in() {
        let weekly = Cadence {
            unit: BillingPeriod::Weekly,
            count: 1,
        };
        let l = life(utc(2026, 1, 1));
        let cut = with_cut(&l, utc(2026, 1, 10), weekly);
        // Before the cut: January as it was, ending at the cut, whose nominal
        // period (for proration) is still the whole month.
        assert_eq!(
            current_period(&cut, utc(2026, 1, 5)),
            period(utc(2026, 1, 1), utc(2026, 1, 10))
        );
        assert_eq!(
            nominal_period(&cut, utc(2026, 1, 5)),
            period(utc(2026, 1, 1), utc(2026, 2, 1))
        );
        // From it: weeks anchored at the cut.
        assert_eq!(
            current_period(&cut, utc(2026, 1, 10)),
            period(utc(2026, 1, 10), utc(2026, 1, 17))
        );
        assert_eq!(rule_at(&cut, utc(2026, 1, 9)), (utc(2026, 1, 1), MONTHLY));
        assert_eq!(rule_at(&cut, utc(2026, 1, 10)), (utc(2026, 1, 10), weekly));
        // The cut is a boundary: the month's part ends there, the week starts.
        let at_cut = bill_at(&cut, utc(2026, 1, 10));
        assert_eq!(at_cut.arrears, Some(period(utc(2026, 1, 1), utc(2026, 1, 10))));
        assert_eq!(at_cut.advance, Some(period(utc(2026, 1, 10), utc(2026, 1, 17))));
    }

    #[test]
    fn a_short_first_period_is_a_share_of_the_whole_one() {
        let l = Lifecycle {
            billing_anchor: utc(2026, 1, 1),
            ..life(utc(2026, 1, 10))
        };
        let first = current_period(&l, utc(2026, 1, 10));
        let share = share_of(&l, first, &[], first.end);
        assert_eq!(share.period, period(utc(2026, 1, 10), utc(2026, 2, 1)));
        assert_eq!(share.nominal, period(utc(2026, 1, 1), utc(2026, 2, 1)));
        assert_eq!(share.billable_seconds(), 22 * 86_400);
    }

    proptest! {
        #[test]
        fn billable_intervals_are_sorted_disjoint_and_inside_the_period(
            start_day in 0i64..60,
            pauses in proptest::collection::vec((0i64..90, 1i64..20), 0..5),
            until_day in 0i64..90,
        ) {
            let base = utc(2026, 1, 1);
            let day = |d: i64| base + chrono::Duration::days(d);
            let l = life(day(start_day));
            let p = period(day(10), day(40));
            let mut closed: Vec<Period> = pauses.iter().map(|(s, len)| period(day(*s), day(s + len))).collect();
            // Closed pauses never overlap one another.
            closed.sort_by_key(|g| g.start);
            closed.dedup_by(|b, a| b.start < a.end);
            let intervals = billable_intervals(&l, p, &closed, day(until_day));
            for w in intervals.windows(2) {
                prop_assert!(w[0].end <= w[1].start);
            }
            for i in &intervals {
                prop_assert!(i.start < i.end);
                prop_assert!(i.start >= p.start.max(l.start_at) && i.end <= p.end.min(day(until_day)));
                for g in &closed {
                    prop_assert!(i.end <= g.start || i.start >= g.end);
                }
            }
        }
    }
}
