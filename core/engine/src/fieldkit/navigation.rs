//! Navigation links to the rep's customers: one stop or a day's route, for each map app in
//! the order the app prefers; the app opens the first one installed.

use fieldkit_domain::ids::CustomerId;
use fieldkit_domain::nav::{self, AppIdentity, NavApp, NavLink, NavRequest, NavStop, Platform, TravelMode};
use fieldkit_domain::protocol::{Record, RecordKind};

use super::FieldKit;
use crate::error::{Error, Result};
use crate::store::records;

impl FieldKit {
    /// Links that navigate from `origin` (or the map app's "my location") through the
    /// customers in `customers`, in order. `apps` is the preference order; `None` uses the
    /// default for `platform` where the first customer is (Chinese apps first in China).
    /// Each link carries the coordinates in the datum its app expects. Offline.
    pub fn navigation_links(
        &self,
        customers: &[CustomerId],
        origin: Option<NavStop>,
        mode: TravelMode,
        identity: &AppIdentity,
        platform: Platform,
        apps: Option<Vec<NavApp>>,
    ) -> Result<Vec<NavLink>> {
        let stops = self.store.read(|conn| {
            customers
                .iter()
                .map(|id| match records::get(conn, RecordKind::Customer, id.0)? {
                    Some(Record::Customer(c)) => Ok(NavStop { point: c.place.point, name: c.name }),
                    _ => Err(Error::NotFound(format!("customer {id}"))),
                })
                .collect::<Result<Vec<_>>>()
        })?;
        let first = stops.first().ok_or(nav::NavError::NoStops)?.point;
        let apps = apps.unwrap_or_else(|| nav::default_app_order(platform, first));
        let request = NavRequest { origin, stops, mode };
        Ok(nav::nav_links(&request, identity, platform, &apps)?)
    }
}
