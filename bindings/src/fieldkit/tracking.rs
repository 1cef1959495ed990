//! Duty state, track intake and the rep's own day.

use super::FieldKit;
use crate::error::FieldKitError;
use fieldkit_domain::model::LocationFix;
use fieldkit_engine::TrackIntake;

use crate::records::geo::checked_fix;
use crate::records::tracking::MyDay;
use crate::runtime::guard;

#[uniffi::export]
impl FieldKit {
    /// Goes on or off duty. Off duty, no fix is stored even inside working hours; going off
    /// duty cuts the waiting batch so it syncs.
    pub fn set_on_duty(&self, on_duty: bool) -> Result<(), FieldKitError> {
        guard(|| Ok(self.inner.set_on_duty(on_duty)?))
    }

    /// Whether the rep is on duty.
    pub fn is_on_duty(&self) -> Result<bool, FieldKitError> {
        guard(|| Ok(self.inner.is_on_duty()?))
    }

    /// Feeds the fixes the OS delivered. Only those taken on duty inside the org's working
    /// hours are kept (the rest are dropped unseen), after the accuracy and speed filters;
    /// they are batched for sync. Returns what became of them.
    ///
    /// Fails with `InvalidInput` (`location`, nothing stored) for a malformed fix.
    pub fn record_fixes(&self, fixes: Vec<LocationFix>) -> Result<TrackIntake, FieldKitError> {
        guard(|| {
            let fixes =
                fixes.into_iter().map(|f| checked_fix("location", f)).collect::<Result<Vec<_>, _>>()?;
            Ok(self.inner.record_fixes(&fixes)?)
        })
    }

    /// Everything recorded about the rep today: track points, check-ins and check-outs,
    /// photos. Works offline.
    pub fn my_day(&self) -> Result<MyDay, FieldKitError> {
        guard(|| Ok(self.inner.my_day()?.into()))
    }
}
