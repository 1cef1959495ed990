//! "Plan my day", re-plan hints, the road matrix the app may supply, and navigation links.

use fieldkit_domain::ids::CustomerId;
use fieldkit_domain::model::{DayPlan, PlanTrigger, WgsPoint};
use fieldkit_domain::nav::{AppIdentity, NavApp, NavStop, Platform, TravelMode as NavMode};
use fieldkit_engine::PlanOptions;

use super::{FieldKit, parse_id};
use crate::error::FieldKitError;
use crate::records::geo::checked_point;
use crate::records::route::NavLink;
use crate::runtime::guard;

#[uniffi::export]
impl FieldKit {
    /// Plans the rest of today from `position`: the rep's open and in-progress tasks with a
    /// place, in the best order, each before its deadline, all before the end of the org's
    /// working day. `options` `null`/`nil`: 30 minutes a stop, driving, ending at the last
    /// stop. Stored and queued for the manager. Works offline.
    ///
    /// Fails with `InvalidInput` for a position out of range, `Unauthorized` when nobody is
    /// logged in.
    pub fn plan_my_day(
        &self,
        position: WgsPoint,
        options: Option<PlanOptions>,
    ) -> Result<DayPlan, FieldKitError> {
        guard(|| {
            let position = checked_point("position", position)?;
            let options = match options {
                None => PlanOptions::default(),
                Some(o) => PlanOptions { end: o.end.map(|e| checked_point("end", e)).transpose()?, ..o },
            };
            Ok(self.inner.plan_my_day(position, options)?)
        })
    }

    /// Today's latest plan on this phone, or `null`/`nil` if the rep made none. Works
    /// offline.
    pub fn day_plan(&self) -> Result<Option<DayPlan>, FieldKitError> {
        guard(|| Ok(self.inner.day_plan()?))
    }

    /// Whether today's plan should be made again, and why (a visit ran long, a task
    /// arrived); `null`/`nil` when there is no plan or it still holds. Works offline.
    pub fn replan_needed(&self) -> Result<Option<PlanTrigger>, FieldKitError> {
        guard(|| Ok(self.inner.replan_needed()?))
    }

    /// The places today's plan routes between (open tasks' places, then `end`), in the order
    /// a road matrix from the app's map service must follow (see `setTravelMatrix`).
    pub fn plan_points(&self, end: Option<WgsPoint>) -> Result<Vec<WgsPoint>, FieldKitError> {
        guard(|| {
            let end = end.map(|e| checked_point("end", e)).transpose()?;
            Ok(self.inner.plan_points(end)?)
        })
    }

    /// Keeps today's road matrix from the app's map service: `distance_m[i * n + j]` and
    /// `duration_s[i * n + j]` from `points[i]` to `points[j]`. Later plans use it where it
    /// covers a leg. Fails with `InvalidInput` (nothing kept) when sizes disagree or a value
    /// is negative or not a number.
    pub fn set_travel_matrix(
        &self,
        points: Vec<WgsPoint>,
        distance_m: Vec<f64>,
        duration_s: Vec<f64>,
    ) -> Result<(), FieldKitError> {
        guard(|| {
            let points =
                points.into_iter().map(|p| checked_point("points", p)).collect::<Result<Vec<_>, _>>()?;
            Ok(self.inner.set_travel_matrix(points, distance_m, duration_s)?)
        })
    }

    /// Links that navigate from `origin` (`null`/`nil`: the map app's "my location") through
    /// the customers `customer_ids`, in order (e.g. the plan's stops), one per map app in
    /// `apps` order (`null`/`nil`: the default for `platform` where the first customer is,
    /// Chinese apps first in China). The app opens the first one installed. Works offline.
    ///
    /// Fails with `NotFound` for a customer not on this phone, `InvalidInput` for an empty
    /// list or a malformed id.
    pub fn navigation_links(
        &self,
        customer_ids: Vec<String>,
        origin: Option<NavStop>,
        mode: NavMode,
        identity: AppIdentity,
        platform: Platform,
        apps: Option<Vec<NavApp>>,
    ) -> Result<Vec<NavLink>, FieldKitError> {
        guard(|| {
            let customers = customer_ids
                .iter()
                .map(|id| parse_id::<CustomerId>("customer_ids", id))
                .collect::<Result<Vec<_>, _>>()?;
            let origin = origin
                .map(|o| {
                    Ok::<_, FieldKitError>(NavStop { point: checked_point("origin", o.point)?, name: o.name })
                })
                .transpose()?;
            let links = self.inner.navigation_links(&customers, origin, mode, &identity, platform, apps)?;
            Ok(links.into_iter().map(NavLink::from).collect())
        })
    }
}
