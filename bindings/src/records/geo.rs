//! Edge checks of the points and fixes the app builds. uniffi lifts a record field by field,
//! past [`WgsPoint::new`], so every point that arrives from Kotlin or Swift is checked here
//! before the engine sees it, and a point off the globe is `InvalidInput` naming the argument.

use fieldkit_domain::model::{LocationFix, WgsPoint};

use crate::error::FieldKitError;

/// `point` as the engine may trust it; `InvalidInput` (`field`) when it is off the globe.
pub(crate) fn checked_point(field: &str, point: WgsPoint) -> Result<WgsPoint, FieldKitError> {
    WgsPoint::new(point.lat(), point.lng()).map_err(|e| FieldKitError::invalid(field, e.to_string()))
}

/// `fix` with its point checked as [`checked_point`] does.
pub(crate) fn checked_fix(field: &str, fix: LocationFix) -> Result<LocationFix, FieldKitError> {
    Ok(LocationFix { point: checked_point(field, fix.point)?, ..fix })
}
