//! The window of time the API accepts instants in. Billing walks time
//! period by period, so an instant in year 1 or 9999 is not a harmless
//! typo: it would mean hundreds of thousands of periods to bill, or none
//! for centuries. Every instant a client sends is checked against these.

use chrono::{DateTime, Months, SecondsFormat, Utc};

use super::ValidationError;

/// The earliest instant accepted anywhere, 2000-01-01T00:00:00Z, as seconds
/// since the Unix epoch: older than any usage a tenant can still bill.
pub const EARLIEST_SECONDS: i64 = 946_684_800;

/// How far ahead a client may schedule (a subscription's start): far
/// enough for any contract signed today, near enough to catch a typo'd year.
pub const MAX_YEARS_AHEAD: u32 = 10;

/// 2000-01-01T00:00:00Z.
pub fn earliest() -> DateTime<Utc> {
    DateTime::from_timestamp(EARLIEST_SECONDS, 0).unwrap_or(DateTime::<Utc>::MIN_UTC)
}

/// Refuses an instant before `earliest()`.
pub fn check_not_too_early(field: &str, at: DateTime<Utc>) -> Result<(), ValidationError> {
    if at < earliest() {
        return Err(ValidationError::new(
            field,
            format!(
                "must not be before {}",
                earliest().to_rfc3339_opts(SecondsFormat::Secs, true)
            ),
        ));
    }
    Ok(())
}

/// The latest instant a client may schedule at `now`: `MAX_YEARS_AHEAD`
/// calendar years on.
pub fn latest_scheduled(now: DateTime<Utc>) -> DateTime<Utc> {
    now.checked_add_months(Months::new(12 * MAX_YEARS_AHEAD))
        .unwrap_or(DateTime::<Utc>::MAX_UTC)
}

/// Refuses an instant after `latest_scheduled(now)`.
pub fn check_not_too_late(field: &str, at: DateTime<Utc>, now: DateTime<Utc>) -> Result<(), ValidationError> {
    if at > latest_scheduled(now) {
        return Err(ValidationError::new(
            field,
            format!("must be at most {MAX_YEARS_AHEAD} years in the future"),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn utc(y: i32, m: u32, d: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, m, d, 0, 0, 0).unwrap()
    }

    #[test]
    fn earliest_is_the_start_of_2000() {
        assert_eq!(earliest(), utc(2000, 1, 1));
    }

    #[test]
    fn too_early_table() {
        let micro = chrono::Duration::microseconds(1);
        let cases = [
            (DateTime::<Utc>::MIN_UTC, false),
            (utc(1, 1, 1), false),
            (utc(1999, 12, 31), false),
            (utc(2000, 1, 1) - micro, false),
            (utc(2000, 1, 1), true),
            (utc(2026, 1, 1), true),
            (DateTime::<Utc>::MAX_UTC, true),
        ];
        for (at, ok) in cases {
            let got = check_not_too_early("input.startAt", at);
            assert_eq!(got.is_ok(), ok, "{at}");
            if let Err(e) = got {
                assert_eq!(e.field, "input.startAt");
                assert_eq!(e.message, "must not be before 2000-01-01T00:00:00Z");
            }
        }
    }

    #[test]
    fn too_late_table() {
        let now = utc(2026, 2, 28);
        let cases = [
            (now, true),
            (utc(2036, 2, 28), true),
            (utc(2036, 2, 28) + chrono::Duration::seconds(1), false),
            (utc(9999, 12, 31), false),
            (DateTime::<Utc>::MAX_UTC, false),
        ];
        for (at, ok) in cases {
            let got = check_not_too_late("input.startAt", at, now);
            assert_eq!(got.is_ok(), ok, "{at}");
            if let Err(e) = got {
                assert_eq!(e.message, "must be at most 10 years in the future");
            }
        }
        // Near the end of representable time the bound saturates.
        assert_eq!(latest_scheduled(DateTime::<Utc>::MAX_UTC), DateTime::<Utc>::MAX_UTC);
    }
}
