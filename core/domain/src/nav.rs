//! Navigation deep links for a stop or a day route: Amap (Android, iOS and web), Baidu,
//! Tencent, Apple Maps and Google Maps, each in the datum that app expects.
//!
//! The app asks for links in a preference order ([`default_app_order`] or its own), tries
//! them in turn and opens the first whose app is installed ([`NavLink::scheme`] for iOS's
//! `canOpenURL`, [`NavLink::android_package`] for Android's package visibility); web links
//! come last and always open.
//!
//! | app | datum sent | waypoints |
//! |---|---|---|
//! | Amap (`amapuri://`, `iosamap://`) | GCJ-02, `dev=0` | up to 16 (`vian`, `vialons`, `vialats`, `vianames`) |
//! | Amap web (`uri.amap.com`) | GCJ-02, `coordinate=gaode` | none |
//! | Baidu (`baidumap://`) | BD-09 `coord_type=bd09ll` (WGS-84 `wgs84` when no point is in China) | none |
//! | Tencent (`qqmap://`) | GCJ-02 | none |
//! | Apple Maps | GCJ-02 in mainland China, WGS-84 elsewhere | none |
//! | Google Maps | WGS-84 | up to 3 (mobile) |
//!
//! Where the shift applies per provider is [`crate::geo::MapProvider::default_shift_regions`]
//! unless the caller passes its own [`ProviderRegions`]. For a day route an app that takes
//! fewer waypoints than the route has gets a link to as many next stops as it can carry
//! ([`NavLink::stops_covered`]); the rep navigates the rest from the next link. Names are
//! percent-encoded as UTF-8 (Chinese names work), and so is `|`, which iOS refuses raw.

use serde::{Deserialize, Serialize};

use crate::geo::{
    ChinaRegion, Datum, MapCoord, MapProvider, ShiftRegions, china_region, wgs84_to_bd09, wgs84_to_gcj02,
};
use crate::model::WgsPoint;

/// A request the links cannot serve.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NavError {
    /// The route has no stop.
    #[error("a navigation request needs at least one stop, got 0")]
    NoStops,
    /// An identity field the apps require is empty.
    #[error("{0} must not be empty")]
    Empty(&'static str),
}

/// The phone's operating system.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
pub enum Platform {
    /// Android.
    Android,
    /// iOS.
    Ios,
}

/// A navigation target: one app's link flavour.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
pub enum NavApp {
    /// Amap on Android (`amapuri://route/plan/`).
    AmapAndroid,
    /// Amap on iOS (`iosamap://path`).
    AmapIos,
    /// Amap's web page, which hands over to the app if installed.
    AmapWeb,
    /// Baidu Maps (`baidumap://map/direction`).
    Baidu,
    /// Tencent Maps (`qqmap://map/routeplan`).
    Tencent,
    /// Apple Maps (`https://maps.apple.com/`).
    AppleMaps,
    /// Google Maps (`https://www.google.com/maps/dir/`), app or web.
    GoogleMaps,
}

impl NavApp {
    /// The provider whose datum rules apply.
    #[must_use]
    pub fn provider(self) -> MapProvider {
        match self {
            NavApp::AmapAndroid | NavApp::AmapIos | NavApp::AmapWeb => MapProvider::Amap,
            NavApp::Baidu => MapProvider::Baidu,
            NavApp::Tencent => MapProvider::Tencent,
            NavApp::AppleMaps => MapProvider::Apple,
            NavApp::GoogleMaps => MapProvider::Google,
        }
    }

    /// How many intermediate stops the link can carry.
    #[must_use]
    pub fn max_waypoints(self) -> usize {
        match self {
            NavApp::AmapAndroid | NavApp::AmapIos => 16,
            NavApp::GoogleMaps => 3,
            NavApp::AmapWeb | NavApp::Baidu | NavApp::Tencent | NavApp::AppleMaps => 0,
        }
    }

    /// The URL scheme to test with `canOpenURL` (listed in `LSApplicationQueriesSchemes`);
    /// `None` for https links, which always open.
    #[must_use]
    pub fn scheme(self) -> Option<&'static str> {
        match self {
            NavApp::AmapAndroid => Some("amapuri"),
            NavApp::AmapIos => Some("iosamap"),
            NavApp::Baidu => Some("baidumap"),
            NavApp::Tencent => Some("qqmap"),
            NavApp::AmapWeb | NavApp::AppleMaps | NavApp::GoogleMaps => None,
        }
    }

    /// The Android package to declare in `<queries>` and test for.
    #[must_use]
    pub fn android_package(self) -> Option<&'static str> {
        match self {
            NavApp::AmapAndroid => Some("com.autonavi.minimap"),
            NavApp::Baidu => Some("com.baidu.BaiduMap"),
            NavApp::Tencent => Some("com.tencent.map"),
            NavApp::GoogleMaps => Some("com.google.android.apps.maps"),
            NavApp::AmapIos | NavApp::AmapWeb | NavApp::AppleMaps => None,
        }
    }

    /// Whether the link is an https page (opens in any case).
    #[must_use]
    pub fn is_web(self) -> bool {
        self.scheme().is_none()
    }
}

/// How the rep travels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum), uniffi(name = "NavMode"))]
pub enum TravelMode {
    /// By car.
    Drive,
    /// By public transport.
    Transit,
    /// On foot.
    Walk,
    /// By bicycle or e-bike.
    Ride,
}

/// A named place to navigate to, stored in WGS-84.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct NavStop {
    /// Where, in WGS-84.
    pub point: WgsPoint,
    /// The name shown in the map app (the customer's shop name).
    pub name: String,
}

/// What the map apps want to know about the calling app.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct AppIdentity {
    /// The app's name (Amap `sourceApplication`/`src`).
    pub app_name: String,
    /// The company, for Baidu's `src=andr.COMPANY.APP` / `ios.COMPANY.APP`.
    pub company: String,
    /// Tencent's `referer` (the developer key registered with Tencent).
    pub tencent_referer: String,
}

/// A route to navigate: from `origin` (or the phone's current position) through `stops`,
/// the last being the destination.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NavRequest {
    /// Where to start; `None` for the phone's current position.
    pub origin: Option<NavStop>,
    /// The stops in visiting order; at least one.
    pub stops: Vec<NavStop>,
    /// How the rep travels.
    pub mode: TravelMode,
}

/// Where each provider applies the China shift (defaults: FieldKit's decisions).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProviderRegions {
    /// Amap.
    pub amap: ShiftRegions,
    /// Baidu.
    pub baidu: ShiftRegions,
    /// Tencent.
    pub tencent: ShiftRegions,
    /// Apple Maps.
    pub apple: ShiftRegions,
}

impl Default for ProviderRegions {
    fn default() -> Self {
        Self {
            amap: MapProvider::Amap.default_shift_regions(),
            baidu: MapProvider::Baidu.default_shift_regions(),
            tencent: MapProvider::Tencent.default_shift_regions(),
            apple: MapProvider::Apple.default_shift_regions(),
        }
    }
}

impl ProviderRegions {
    fn of(&self, provider: MapProvider) -> ShiftRegions {
        match provider {
            MapProvider::Amap => self.amap,
            MapProvider::Baidu => self.baidu,
            MapProvider::Tencent => self.tencent,
            MapProvider::Apple => self.apple,
            MapProvider::Google => ShiftRegions::NOWHERE,
        }
    }
}

/// One link, ready to open.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NavLink {
    /// Which app it is for.
    pub app: NavApp,
    /// The URL.
    pub url: String,
    /// The scheme to test before opening (`None`: https, always opens).
    pub scheme: Option<&'static str>,
    /// The Android package to test for, if any.
    pub android_package: Option<&'static str>,
    /// The coordinates placed in the URL, origin first if given, each with its datum.
    pub coords: Vec<MapCoord>,
    /// How many of the request's stops the link covers (the first ones).
    pub stops_covered: usize,
}

/// A sensible order of apps for `platform` at `here`: in China the Chinese apps first,
/// elsewhere Google (Android) or Apple (iOS); web links last.
#[must_use]
pub fn default_app_order(platform: Platform, here: WgsPoint) -> Vec<NavApp> {
    let in_china = china_region(here) != ChinaRegion::Outside;
    match (platform, in_china) {
        (Platform::Android, true) => {
            vec![NavApp::AmapAndroid, NavApp::Baidu, NavApp::Tencent, NavApp::GoogleMaps, NavApp::AmapWeb]
        }
        (Platform::Ios, true) => {
            vec![NavApp::AmapIos, NavApp::Baidu, NavApp::Tencent, NavApp::AppleMaps, NavApp::AmapWeb]
        }
        (Platform::Android, false) => vec![NavApp::GoogleMaps, NavApp::AmapAndroid, NavApp::AmapWeb],
        (Platform::Ios, false) => {
            vec![NavApp::AppleMaps, NavApp::GoogleMaps, NavApp::AmapIos, NavApp::AmapWeb]
        }
    }
}

/// Percent-encodes everything but RFC 3986's unreserved characters (UTF-8 bytes).
fn enc(s: &str) -> String {
    let mut out = String::with_capacity(s.len() * 3);
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The links for `request` for each app in `apps`, in that order, with the default datum
/// rules.
pub fn nav_links(
    request: &NavRequest,
    identity: &AppIdentity,
    platform: Platform,
    apps: &[NavApp],
) -> Result<Vec<NavLink>, NavError> {
    nav_links_with(request, identity, platform, apps, &ProviderRegions::default())
}

/// [`nav_links`] with explicit per-provider datum rules.
pub fn nav_links_with(
    request: &NavRequest,
    identity: &AppIdentity,
    platform: Platform,
    apps: &[NavApp],
    regions: &ProviderRegions,
) -> Result<Vec<NavLink>, NavError> {
    if request.stops.is_empty() {
        return Err(NavError::NoStops);
    }
    for (field, value) in [
        ("app name", &identity.app_name),
        ("company", &identity.company),
        ("tencent referer", &identity.tencent_referer),
    ] {
        if value.trim().is_empty() {
            return Err(NavError::Empty(field));
        }
    }
    Ok(apps.iter().map(|&app| link(request, identity, platform, app, regions)).collect())
}

/// A stop converted for one app: its coordinate and its name.
struct Placed {
    coord: MapCoord,
    name: String,
}

impl Placed {
    fn lat_lng(&self) -> String {
        format!("{:.6},{:.6}", self.coord.lat(), self.coord.lng())
    }
    fn lng_lat(&self) -> String {
        format!("{:.6},{:.6}", self.coord.lng(), self.coord.lat())
    }
}

fn link(
    request: &NavRequest,
    id: &AppIdentity,
    platform: Platform,
    app: NavApp,
    regions: &ProviderRegions,
) -> NavLink {
    let covered = request.stops.len().min(app.max_waypoints() + 1);
    let stops = &request.stops[..covered];
    let shift = regions.of(app.provider());
    let all_points = || request.origin.iter().chain(stops.iter()).map(|s| s.point);
    let baidu_wgs = app == NavApp::Baidu && !all_points().any(|p| shift.applies_at(p));
    let place = |s: &NavStop| -> Placed {
        let coord = match app {
            NavApp::GoogleMaps => MapCoord::Wgs84(s.point),
            NavApp::Baidu if baidu_wgs => MapCoord::Wgs84(s.point),
            NavApp::Baidu => MapCoord::Bd09(wgs84_to_bd09(s.point, shift)),
            NavApp::AppleMaps if !shift.applies_at(s.point) => MapCoord::Wgs84(s.point),
            _ => MapCoord::Gcj02(wgs84_to_gcj02(s.point, shift)),
        };
        Placed { coord, name: s.name.clone() }
    };
    let origin = request.origin.as_ref().map(place);
    let placed: Vec<Placed> = stops.iter().map(place).collect();
    let (via, dest) = placed.split_at(placed.len() - 1);
    let dest = &dest[0];
    let mut q: Vec<(String, String)> = Vec::new();
    let mut push = |k: &str, v: String| q.push((k.to_owned(), v));

    let base = match app {
        NavApp::AmapAndroid | NavApp::AmapIos => {
            push("sourceApplication", enc(&id.app_name));
            if let Some(o) = &origin {
                push("slat", format!("{:.6}", o.coord.lat()));
                push("slon", format!("{:.6}", o.coord.lng()));
                push("sname", enc(&o.name));
            }
            if !via.is_empty() {
                let join = |f: &dyn Fn(&Placed) -> String| via.iter().map(f).collect::<Vec<_>>().join("%7C");
                push("vian", via.len().to_string());
                push("vialons", join(&|p| format!("{:.6}", p.coord.lng())));
                push("vialats", join(&|p| format!("{:.6}", p.coord.lat())));
                push("vianames", join(&|p| enc(&p.name)));
            }
            push("dlat", format!("{:.6}", dest.coord.lat()));
            push("dlon", format!("{:.6}", dest.coord.lng()));
            push("dname", enc(&dest.name));
            push("dev", "0".into());
            let t = match request.mode {
                TravelMode::Drive => "0",
                TravelMode::Transit => "1",
                TravelMode::Walk => "2",
                TravelMode::Ride => "3",
            };
            push("t", t.into());
            if app == NavApp::AmapAndroid { "amapuri://route/plan/?" } else { "iosamap://path?" }
        }
        NavApp::AmapWeb => {
            if let Some(o) = &origin {
                push("from", format!("{},{}", o.lng_lat(), enc(&o.name)));
            }
            push("to", format!("{},{}", dest.lng_lat(), enc(&dest.name)));
            let mode = match request.mode {
                TravelMode::Drive => "car",
                TravelMode::Transit => "bus",
                TravelMode::Walk => "walk",
                TravelMode::Ride => "ride",
            };
            push("mode", mode.into());
            push("src", enc(&id.app_name));
            push("coordinate", "gaode".into());
            push("callnative", "1".into());
            "https://uri.amap.com/navigation?"
        }
        NavApp::Baidu => {
            let spot = |p: &Placed| format!("name:{}%7Clatlng:{}", enc(&p.name), p.lat_lng());
            if let Some(o) = &origin {
                push("origin", spot(o));
            }
            push("destination", spot(dest));
            push("coord_type", if baidu_wgs { "wgs84" } else { "bd09ll" }.into());
            let mode = match request.mode {
                TravelMode::Drive => "driving",
                TravelMode::Transit => "transit",
                TravelMode::Walk => "walking",
                TravelMode::Ride => "riding",
            };
            push("mode", mode.into());
            let os = match platform {
                Platform::Android => "andr",
                Platform::Ios => "ios",
            };
            push("src", format!("{os}.{}.{}", enc(&id.company), enc(&id.app_name)));
            "baidumap://map/direction?"
        }
        NavApp::Tencent => {
            let kind = match request.mode {
                TravelMode::Drive => "drive",
                TravelMode::Transit => "bus",
                TravelMode::Walk => "walk",
                TravelMode::Ride => "bike",
            };
            push("type", kind.into());
            match &origin {
                Some(o) => {
                    push("from", enc(&o.name));
                    push("fromcoord", o.lat_lng());
                }
                None => push("fromcoord", "CurrentLocation".into()),
            }
            push("to", enc(&dest.name));
            push("tocoord", dest.lat_lng());
            push("referer", enc(&id.tencent_referer));
            "qqmap://map/routeplan?"
        }
        NavApp::AppleMaps => {
            if let Some(o) = &origin {
                push("saddr", o.lat_lng());
            }
            push("daddr", dest.lat_lng());
            let flag = match request.mode {
                TravelMode::Drive => "d",
                TravelMode::Transit => "r",
                // Apple's URL scheme has no cycling flag: walking routes suit bikes best.
                TravelMode::Walk | TravelMode::Ride => "w",
            };
            push("dirflg", flag.into());
            "https://maps.apple.com/?"
        }
        NavApp::GoogleMaps => {
            push("api", "1".into());
            if let Some(o) = &origin {
                push("origin", o.lat_lng());
            }
            push("destination", dest.lat_lng());
            if !via.is_empty() {
                push("waypoints", via.iter().map(Placed::lat_lng).collect::<Vec<_>>().join("%7C"));
            }
            let mode = match request.mode {
                TravelMode::Drive => "driving",
                TravelMode::Transit => "transit",
                TravelMode::Walk => "walking",
                TravelMode::Ride => "bicycling",
            };
            push("travelmode", mode.into());
            push("dir_action", "navigate".into());
            "https://www.google.com/maps/dir/?"
        }
    };
    let query = q.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("&");
    let coords = origin.iter().chain(placed.iter()).map(|p| p.coord).collect();
    NavLink {
        app,
        url: format!("{base}{query}"),
        scheme: app.scheme(),
        android_package: app.android_package(),
        coords,
        stops_covered: covered,
    }
}

impl NavLink {
    /// The datum of the destination coordinate (all coordinates share it except Apple's
    /// mixed routes across the mainland border).
    #[must_use]
    pub fn datum(&self) -> Datum {
        self.coords.last().map_or(Datum::Wgs84, MapCoord::datum)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::geo::{gcj02_to_bd09, haversine_m, wgs84_to_gcj02_unchecked};

    fn stop(lat: f64, lng: f64, name: &str) -> NavStop {
        NavStop { point: WgsPoint::new(lat, lng).expect("valid"), name: name.to_owned() }
    }

    fn id() -> AppIdentity {
        AppIdentity { app_name: "FieldKit".into(), company: "acme".into(), tencent_referer: "KEY-123".into() }
    }

    const ALL: [NavApp; 7] = [
        NavApp::AmapAndroid,
        NavApp::AmapIos,
        NavApp::AmapWeb,
        NavApp::Baidu,
        NavApp::Tencent,
        NavApp::AppleMaps,
        NavApp::GoogleMaps,
    ];

    fn one_stop_in_shanghai() -> NavRequest {
        NavRequest {
            origin: None,
            stops: vec![stop(31.2304, 121.4737, "人民广场店")],
            mode: TravelMode::Drive,
        }
    }

    #[test]
    fn a_stop_in_shanghai_in_every_app() {
        let links = nav_links(&one_stop_in_shanghai(), &id(), Platform::Android, &ALL).expect("links");
        let shop = one_stop_in_shanghai().stops[0].point;
        let gcj = wgs84_to_gcj02_unchecked(shop);
        let bd = gcj02_to_bd09(gcj);
        let by_app = |a: NavApp| links.iter().find(|l| l.app == a).expect("link");
        let name = "%E4%BA%BA%E6%B0%91%E5%B9%BF%E5%9C%BA%E5%BA%97";

        let amap = by_app(NavApp::AmapAndroid);
        assert_eq!(
            amap.url,
            format!(
                "amapuri://route/plan/?sourceApplication=FieldKit&dlat={:.6}&dlon={:.6}&dname={name}&dev=0&t=0",
                gcj.lat(),
                gcj.lng()
            )
        );
        assert_eq!(amap.datum(), Datum::Gcj02);
        assert!(by_app(NavApp::AmapIos).url.starts_with("iosamap://path?sourceApplication=FieldKit&dlat="));
        assert_eq!(
            by_app(NavApp::AmapWeb).url,
            format!(
                "https://uri.amap.com/navigation?to={:.6},{:.6},{name}&mode=car&src=FieldKit&coordinate=gaode&callnative=1",
                gcj.lng(),
                gcj.lat()
            )
        );
        let baidu = by_app(NavApp::Baidu);
        assert_eq!(
            baidu.url,
            format!(
                "baidumap://map/direction?destination=name:{name}%7Clatlng:{:.6},{:.6}&coord_type=bd09ll&mode=driving&src=andr.acme.FieldKit",
                bd.lat(),
                bd.lng()
            )
        );
        assert_eq!(baidu.datum(), Datum::Bd09);
        assert_eq!(
            by_app(NavApp::Tencent).url,
            format!(
                "qqmap://map/routeplan?type=drive&fromcoord=CurrentLocation&to={name}&tocoord={:.6},{:.6}&referer=KEY-123",
                gcj.lat(),
                gcj.lng()
            )
        );
        let apple = by_app(NavApp::AppleMaps);
        assert_eq!(
            apple.url,
            format!("https://maps.apple.com/?daddr={:.6},{:.6}&dirflg=d", gcj.lat(), gcj.lng())
        );
        assert_eq!(apple.datum(), Datum::Gcj02);
        let google = by_app(NavApp::GoogleMaps);
        assert_eq!(
            google.url,
            "https://www.google.com/maps/dir/?api=1&destination=31.230400,121.473700&travelmode=driving&dir_action=navigate"
        );
        assert_eq!(google.datum(), Datum::Wgs84);
        // The GCJ-02 point really is a few hundred metres off.
        let off = haversine_m(shop, WgsPoint::new(gcj.lat(), gcj.lng()).expect("valid"));
        assert!((300.0..800.0).contains(&off));
        assert!(links.iter().all(|l| !l.url.contains('|') && !l.url.contains(' ')));
    }

    #[test]
    fn outside_china_nobody_shifts_and_baidu_is_told_wgs84() {
        let req = NavRequest {
            origin: None,
            stops: vec![stop(35.6762, 139.6503, "Tokyo shop")],
            mode: TravelMode::Walk,
        };
        let links = nav_links(&req, &id(), Platform::Ios, &ALL).expect("links");
        for l in &links {
            assert!(l.url.contains("35.676200") && l.url.contains("139.650300"), "{}", l.url);
        }
        let baidu = links.iter().find(|l| l.app == NavApp::Baidu).expect("baidu");
        assert!(baidu.url.contains("coord_type=wgs84") && baidu.url.contains("src=ios.acme.FieldKit"));
        assert!(baidu.url.contains("name:Tokyo%20shop"));
        let apple = links.iter().find(|l| l.app == NavApp::AppleMaps).expect("apple");
        assert_eq!(apple.datum(), Datum::Wgs84);
        assert!(apple.url.ends_with("dirflg=w"));
    }

    #[test]
    fn hong_kong_is_shifted_for_amap_but_not_for_apple() {
        let req = NavRequest {
            origin: None,
            stops: vec![stop(22.2819, 114.1585, "Central")],
            mode: TravelMode::Drive,
        };
        let links =
            nav_links(&req, &id(), Platform::Ios, &[NavApp::AmapIos, NavApp::AppleMaps]).expect("links");
        assert!(!links[0].url.contains("22.281900"));
        assert!(links[1].url.contains("daddr=22.281900,114.158500"));
        // A caller that finds Amap leaves Hong Kong alone can say so.
        let regions = ProviderRegions { amap: ShiftRegions::MAINLAND_ONLY, ..ProviderRegions::default() };
        let links = nav_links_with(&req, &id(), Platform::Ios, &[NavApp::AmapIos], &regions).expect("links");
        assert!(links[0].url.contains("dlat=22.281900"));
    }

    #[test]
    fn a_day_route_uses_waypoints_where_the_app_has_them() {
        let stops: Vec<NavStop> =
            (0..6).map(|i| stop(31.20 + f64::from(i) * 0.01, 121.45, &format!("店{i}"))).collect();
        let req = NavRequest { origin: Some(stop(31.19, 121.44, "公司")), stops, mode: TravelMode::Ride };
        let links = nav_links(&req, &id(), Platform::Android, &ALL).expect("links");
        let by_app = |a: NavApp| links.iter().find(|l| l.app == a).expect("link");
        let amap = by_app(NavApp::AmapAndroid);
        assert_eq!(amap.stops_covered, 6);
        assert!(amap.url.contains("&vian=5&vialons="));
        assert!(amap.url.contains("&vianames=%E5%BA%970%7C%E5%BA%971%7C"));
        assert!(amap.url.contains("&sname=%E5%85%AC%E5%8F%B8") && amap.url.ends_with("&dev=0&t=3"));
        assert_eq!(amap.coords.len(), 7);
        let google = by_app(NavApp::GoogleMaps);
        assert_eq!(google.stops_covered, 4);
        assert!(
            google
                .url
                .contains("&waypoints=31.200000,121.450000%7C31.210000,121.450000%7C31.220000,121.450000&")
        );
        assert!(
            google.url.contains("destination=31.230000,121.450000")
                && google.url.contains("travelmode=bicycling")
        );
        for app in [NavApp::Baidu, NavApp::Tencent, NavApp::AppleMaps, NavApp::AmapWeb] {
            assert_eq!(by_app(app).stops_covered, 1, "{app:?} goes to the next stop");
        }
        assert!(by_app(NavApp::Tencent).url.contains("from=%E5%85%AC%E5%8F%B8&fromcoord="));
        assert!(by_app(NavApp::Baidu).url.contains("origin=name:%E5%85%AC%E5%8F%B8%7Clatlng:"));
    }

    #[test]
    fn default_orders_and_bad_requests() {
        let shanghai = WgsPoint::new(31.2304, 121.4737).expect("valid");
        let paris = WgsPoint::new(48.8566, 2.3522).expect("valid");
        assert_eq!(default_app_order(Platform::Android, shanghai)[0], NavApp::AmapAndroid);
        assert_eq!(default_app_order(Platform::Ios, shanghai)[0], NavApp::AmapIos);
        assert_eq!(default_app_order(Platform::Android, paris)[0], NavApp::GoogleMaps);
        assert_eq!(default_app_order(Platform::Ios, paris)[0], NavApp::AppleMaps);
        for order in [default_app_order(Platform::Ios, shanghai), default_app_order(Platform::Android, paris)]
        {
            assert!(order.last().is_some_and(|a| a.is_web()), "a web link comes last");
        }
        let empty = NavRequest { origin: None, stops: vec![], mode: TravelMode::Drive };
        assert_eq!(nav_links(&empty, &id(), Platform::Ios, &ALL), Err(NavError::NoStops));
        let nameless = AppIdentity { app_name: " ".into(), ..id() };
        assert_eq!(
            nav_links(&one_stop_in_shanghai(), &nameless, Platform::Ios, &ALL),
            Err(NavError::Empty("app name"))
        );
        assert_eq!(enc("a b&c=d|e/f"), "a%20b%26c%3Dd%7Ce%2Ff");
    }
}
