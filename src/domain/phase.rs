//! Phases: a subscription's plan and seat quantities over time. A plan or
//! quantity change starts a new phase; each lasts until the next one starts.
//! Within one billing period, each phase's fees bill by its own share of
//! the period, and usage is priced by the plan in force when it happened.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use uuid::Uuid;

use super::period::Period;

/// A stretch of a subscription on one plan with one set of quantities.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Phase {
    pub starts_at: DateTime<Utc>,
    pub plan_id: Uuid,
    /// Per fixed price, the quantity that replaces the price's own.
    pub quantities: BTreeMap<Uuid, Decimal>,
}

/// When a change takes effect.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effective {
    /// At once: the period in progress is shared between the old and new terms.
    Now,
    /// At the end of the current period; until then it is pending.
    PeriodEnd,
}

/// The phases overlapping `period`, each with the part of `period` it covers.
/// `phases` are sorted by start; the first one starts at the subscription's start.
pub fn phases_in(phases: &[Phase], period: Period) -> Vec<(&Phase, Period)> {
    let mut spans = Vec::new();
    for (i, phase) in phases.iter().enumerate() {
        let end = phases
            .get(i + 1)
            .map_or(DateTime::<Utc>::MAX_UTC, |next| next.starts_at);
        let span = Period {
            start: phase.starts_at.max(period.start),
            end: end.min(period.end),
        };
        if span.start < span.end {
            spans.push((phase, span));
        }
    }
    spans
}

/// The phase in force at `at`: the last one started by then, else the first.
pub fn phase_at(phases: &[Phase], at: DateTime<Utc>) -> Option<&Phase> {
    phases
        .iter()
        .rev()
        .find(|p| p.starts_at <= at)
        .or_else(|| phases.first())
}

/// The phases after `at`: a change scheduled for a later period end.
pub fn pending_after(phases: &[Phase], at: DateTime<Utc>) -> Option<&Phase> {
    phases.iter().find(|p| p.starts_at > at)
}

/// The parts of `stretches` inside `span`.
pub fn clip(stretches: &[Period], span: Period) -> Vec<Period> {
    stretches
        .iter()
        .filter_map(|s| {
            let clipped = Period {
                start: s.start.max(span.start),
                end: s.end.min(span.end),
            };
            (clipped.start < clipped.end).then_some(clipped)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn day(d: i64) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap() + chrono::Duration::days(d)
    }

    fn span(a: i64, b: i64) -> Period {
        Period {
            start: day(a),
            end: day(b),
        }
    }

    fn phase(start: i64, plan: Uuid) -> Phase {
        Phase {
            starts_at: day(start),
            plan_id: plan,
            quantities: BTreeMap::new(),
        }
    }

    #[test]
    fn a_period_is_shared_between_the_phases_in_it() {
        let (basic, pro) = (Uuid::now_v7(), Uuid::now_v7());
        let phases = vec![phase(0, basic), phase(10, pro), phase(40, basic)];
        let spans: Vec<(Uuid, Period)> = phases_in(&phases, span(5, 30))
            .into_iter()
            .map(|(p, s)| (p.plan_id, s))
            .collect();
        assert_eq!(spans, vec![(basic, span(5, 10)), (pro, span(10, 30))]);
        assert_eq!(phase_at(&phases, day(39)).unwrap().plan_id, pro);
        assert_eq!(phase_at(&phases, day(40)).unwrap().plan_id, basic);
        assert_eq!(pending_after(&phases, day(20)).unwrap().starts_at, day(40));
        assert_eq!(pending_after(&phases, day(40)), None);
        assert_eq!(
            clip(&[span(0, 7), span(8, 12)], span(5, 10)),
            vec![span(5, 7), span(8, 10)]
        );
    }
}
