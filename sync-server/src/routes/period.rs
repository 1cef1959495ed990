//! What the report routes share: calendar dates in `yyyy-mm-dd` and a checked period (who
//! may read whose figures is `User::may_read`).

use fieldkit_domain::geo::CivilDate;
use fieldkit_domain::protocol::ErrorCode;

use crate::error::{ApiError, ApiResult};

/// Parses `yyyy-mm-dd` into a date that exists.
pub(super) fn parse_date(text: &str) -> Option<CivilDate> {
    text.parse().ok()
}

/// A query value that does not parse.
pub(super) fn malformed(message: String) -> ApiError {
    ApiError::new(ErrorCode::MalformedBody, message)
}

/// The period `from..=to`, both ends included, at most `max_days` long.
pub(super) fn period(from: &str, to: &str, max_days: i64) -> ApiResult<(CivilDate, CivilDate)> {
    let parse = |name: &str, text: &str| {
        parse_date(text)
            .ok_or_else(|| malformed(format!("{name} {text:?} is not a calendar date in yyyy-mm-dd form")))
    };
    let (from, to) = (parse("from", from)?, parse("to", to)?);
    let days = to.to_days() - from.to_days() + 1;
    if days < 1 {
        return Err(ApiError::invalid(format!("period from {from} to {to} ends before it starts")));
    }
    if days > max_days {
        return Err(ApiError::invalid(format!(
            "period of {days} days from {from} to {to} is longer than {max_days} days"
        )));
    }
    Ok((from, to))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_parse_only_in_full_calendar_form() {
        assert_eq!(parse_date("2025-03-03"), CivilDate::new(2025, 3, 3).ok());
        for bad in
            ["2025-3-3", "2025-02-30", "2025-03-03-01", "03-03-2025", "", "2025-13-01", "２０２５-03-03"]
        {
            assert_eq!(parse_date(bad), None, "{bad}");
        }
    }

    #[test]
    fn periods_must_run_forward_and_stay_within_their_limit() {
        assert!(period("2025-03-01", "2025-03-31", 366).is_ok());
        assert!(period("2025-03-01", "2025-03-01", 366).is_ok());
        assert!(period("2025-03-02", "2025-03-01", 366).is_err());
        assert!(period("2025-01-01", "2026-01-02", 366).is_err());
        assert!(period("2025-01-01", "2025-04-30", 92).is_err());
        assert!(period("2025-3-1", "2025-03-02", 366).is_err());
    }
}
