//! Places and location fixes as they cross the FFI: WGS-84 points (what the phone's GPS
//! reports) and the OS's fixes with their accuracy, time, source and mock flag.

use fieldkit_domain::geo::CivilDate;
use fieldkit_domain::model;

use crate::error::FieldKitError;

/// A point on the map in WGS-84 (GPS) degrees.
#[derive(Debug, Clone, Copy, PartialEq, uniffi::Record)]
pub struct GeoPoint {
    /// Latitude in degrees, −90…90.
    pub latitude: f64,
    /// Longitude in degrees, −180…180.
    pub longitude: f64,
}

impl GeoPoint {
    /// The engine's point; `InvalidInput` (`field`) for coordinates out of range.
    pub(crate) fn to_wgs(self, field: &str) -> Result<model::WgsPoint, FieldKitError> {
        model::WgsPoint::new(self.latitude, self.longitude)
            .map_err(|e| FieldKitError::invalid(field, e.to_string()))
    }
}

impl From<model::WgsPoint> for GeoPoint {
    fn from(p: model::WgsPoint) -> Self {
        Self { latitude: p.lat(), longitude: p.lng() }
    }
}

/// Which positioning source produced a fix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum LocationProvider {
    /// Satellite positioning.
    Gnss,
    /// Wi-Fi / cell network positioning.
    Network,
    /// The OS's fused provider.
    Fused,
    /// Unknown or not reported.
    Other,
}

impl From<LocationProvider> for model::LocationProvider {
    fn from(p: LocationProvider) -> Self {
        match p {
            LocationProvider::Gnss => Self::Gnss,
            LocationProvider::Network => Self::Network,
            LocationProvider::Fused => Self::Fused,
            LocationProvider::Other => Self::Other,
        }
    }
}

impl From<model::LocationProvider> for LocationProvider {
    fn from(p: model::LocationProvider) -> Self {
        match p {
            model::LocationProvider::Gnss => Self::Gnss,
            model::LocationProvider::Network => Self::Network,
            model::LocationProvider::Fused => Self::Fused,
            model::LocationProvider::Other => Self::Other,
        }
    }
}

/// A location fix as the phone's OS reported it.
#[derive(Debug, Clone, Copy, PartialEq, uniffi::Record)]
pub struct LocationFix {
    /// Where, in WGS-84.
    pub point: GeoPoint,
    /// Horizontal accuracy radius in metres (68 % confidence).
    pub accuracy_m: f64,
    /// When the fix was taken, device Unix milliseconds.
    pub fix_time_ms: i64,
    /// The source of the fix.
    pub provider: LocationProvider,
    /// The OS flagged the fix as coming from a mock-location app.
    pub is_mock: bool,
}

impl LocationFix {
    /// The engine's fix; `InvalidInput` (`location`) for a point out of range.
    pub(crate) fn to_model(self) -> Result<model::LocationFix, FieldKitError> {
        Ok(model::LocationFix {
            point: self.point.to_wgs("location")?,
            accuracy_m: self.accuracy_m,
            fix_time_ms: self.fix_time_ms,
            provider: self.provider.into(),
            is_mock: self.is_mock,
        })
    }
}

impl From<model::LocationFix> for LocationFix {
    fn from(f: model::LocationFix) -> Self {
        Self {
            point: f.point.into(),
            accuracy_m: f.accuracy_m,
            fix_time_ms: f.fix_time_ms,
            provider: f.provider.into(),
            is_mock: f.is_mock,
        }
    }
}

/// A calendar date as `YYYY-MM-DD`.
pub(crate) fn date_text(date: CivilDate) -> String {
    format!("{:04}-{:02}-{:02}", date.year(), date.month(), date.day())
}
