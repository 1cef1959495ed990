//! The day's route and the links that navigate it: plan options and the plan (stops in
//! order with expected times, tasks left off and why), and navigation links for the map
//! apps (Amap, Baidu, Tencent, Apple, Google).

use fieldkit_domain::{model, nav, route};

use super::geo::{GeoPoint, date_text};

/// How the rep travels, for planning the day (average speed and detour factor).
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum TravelMode {
    /// On foot.
    Walking,
    /// Bicycle.
    Cycling,
    /// Electric scooter or e-bike.
    Scooter,
    /// Car in city traffic.
    Driving,
    /// Bus and metro, door to door.
    Transit,
}

impl From<TravelMode> for route::TravelMode {
    fn from(m: TravelMode) -> Self {
        match m {
            TravelMode::Walking => Self::Walking,
            TravelMode::Cycling => Self::Cycling,
            TravelMode::Scooter => Self::Scooter,
            TravelMode::Driving => Self::Driving,
            TravelMode::Transit => Self::Transit,
        }
    }
}

/// Why a plan was made, or why a new one is due.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum PlanTrigger {
    /// The rep asked (the morning plan).
    Requested,
    /// A visit ran past its planned departure.
    VisitRanLong,
    /// A task for today arrived after the last plan.
    TaskAdded,
}

impl From<PlanTrigger> for model::PlanTrigger {
    fn from(t: PlanTrigger) -> Self {
        match t {
            PlanTrigger::Requested => Self::Requested,
            PlanTrigger::VisitRanLong => Self::VisitRanLong,
            PlanTrigger::TaskAdded => Self::TaskAdded,
        }
    }
}

impl From<model::PlanTrigger> for PlanTrigger {
    fn from(t: model::PlanTrigger) -> Self {
        match t {
            model::PlanTrigger::Requested => Self::Requested,
            model::PlanTrigger::VisitRanLong => Self::VisitRanLong,
            model::PlanTrigger::TaskAdded => Self::TaskAdded,
        }
    }
}

/// How to plan the day.
#[derive(Debug, Clone, Copy, PartialEq, uniffi::Record)]
pub struct PlanOptions {
    /// Minutes spent at each stop (30 is usual).
    pub service_min: u32,
    /// How the rep travels.
    pub mode: TravelMode,
    /// Where the day ends (office or home); `null`/`nil` ends at the last stop.
    pub end: Option<GeoPoint>,
    /// Why this plan is made (`Requested` for the rep's own tap).
    pub trigger: PlanTrigger,
}

/// One stop of the plan.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct PlannedStop {
    /// The task (a UUID).
    pub task_id: String,
    /// Its customer, if any (a UUID): pass these to `navigationLinks`.
    pub customer_id: Option<String>,
    /// Expected arrival, Unix milliseconds.
    pub arrive_ms: i64,
    /// Expected departure, Unix milliseconds.
    pub depart_ms: i64,
}

/// Why a task is not on the plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum UnplannedReason {
    /// The task has no place to go to.
    NoPlace,
    /// Its deadline passes before the rep can get there.
    DeadlineMissed,
    /// The working day ends before it can be done.
    DayTooShort,
}

/// A task left off the plan, and why.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct UnplannedTask {
    /// The task (a UUID).
    pub task_id: String,
    /// Why it is left off.
    pub reason: UnplannedReason,
}

/// The rep's plan for today.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct DayPlan {
    /// The plan's id (a UUID).
    pub id: String,
    /// The day, `YYYY-MM-DD` in the org's time zone.
    pub date: String,
    /// The stops in visiting order.
    pub stops: Vec<PlannedStop>,
    /// Today's tasks left off, with the reason.
    pub unplanned: Vec<UnplannedTask>,
    /// Route length, metres.
    pub distance_m: f64,
    /// Whether no better order exists.
    pub proven_optimal: bool,
    /// Why it was made.
    pub trigger: PlanTrigger,
}

impl From<model::DayPlan> for DayPlan {
    fn from(p: model::DayPlan) -> Self {
        Self {
            id: p.id.to_string(),
            date: date_text(p.date),
            stops: p
                .stops
                .into_iter()
                .map(|s| PlannedStop {
                    task_id: s.task_id.to_string(),
                    customer_id: s.customer_id.map(|c| c.to_string()),
                    arrive_ms: s.arrive_ms,
                    depart_ms: s.depart_ms,
                })
                .collect(),
            unplanned: p
                .unplanned
                .into_iter()
                .map(|u| UnplannedTask {
                    task_id: u.task_id.to_string(),
                    reason: match u.reason {
                        model::UnplannedReason::NoPlace => UnplannedReason::NoPlace,
                        model::UnplannedReason::DeadlineMissed => UnplannedReason::DeadlineMissed,
                        model::UnplannedReason::DayTooShort => UnplannedReason::DayTooShort,
                    },
                })
                .collect(),
            distance_m: p.distance_m,
            proven_optimal: p.proven_optimal,
            trigger: p.trigger.into(),
        }
    }
}

/// The phone's operating system, for the link flavours.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum Platform {
    /// Android.
    Android,
    /// iOS.
    Ios,
}

impl From<Platform> for nav::Platform {
    fn from(p: Platform) -> Self {
        match p {
            Platform::Android => Self::Android,
            Platform::Ios => Self::Ios,
        }
    }
}

/// A map app a link is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum NavApp {
    /// Amap on Android.
    AmapAndroid,
    /// Amap on iOS.
    AmapIos,
    /// Amap's web page (hands over to the app if installed).
    AmapWeb,
    /// Baidu Maps.
    Baidu,
    /// Tencent Maps.
    Tencent,
    /// Apple Maps.
    AppleMaps,
    /// Google Maps, app or web.
    GoogleMaps,
}

impl From<NavApp> for nav::NavApp {
    fn from(a: NavApp) -> Self {
        match a {
            NavApp::AmapAndroid => Self::AmapAndroid,
            NavApp::AmapIos => Self::AmapIos,
            NavApp::AmapWeb => Self::AmapWeb,
            NavApp::Baidu => Self::Baidu,
            NavApp::Tencent => Self::Tencent,
            NavApp::AppleMaps => Self::AppleMaps,
            NavApp::GoogleMaps => Self::GoogleMaps,
        }
    }
}

impl From<nav::NavApp> for NavApp {
    fn from(a: nav::NavApp) -> Self {
        match a {
            nav::NavApp::AmapAndroid => Self::AmapAndroid,
            nav::NavApp::AmapIos => Self::AmapIos,
            nav::NavApp::AmapWeb => Self::AmapWeb,
            nav::NavApp::Baidu => Self::Baidu,
            nav::NavApp::Tencent => Self::Tencent,
            nav::NavApp::AppleMaps => Self::AppleMaps,
            nav::NavApp::GoogleMaps => Self::GoogleMaps,
        }
    }
}

/// How the rep travels, for the map app's route.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum NavMode {
    /// By car.
    Drive,
    /// By public transport.
    Transit,
    /// On foot.
    Walk,
    /// By bicycle or e-bike.
    Ride,
}

impl From<NavMode> for nav::TravelMode {
    fn from(m: NavMode) -> Self {
        match m {
            NavMode::Drive => Self::Drive,
            NavMode::Transit => Self::Transit,
            NavMode::Walk => Self::Walk,
            NavMode::Ride => Self::Ride,
        }
    }
}

/// What the map apps want to know about the calling app.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct AppIdentity {
    /// The app's name (Amap's `sourceApplication`).
    pub app_name: String,
    /// The company, for Baidu's `src`.
    pub company: String,
    /// Tencent's `referer` (the developer key registered with Tencent).
    pub tencent_referer: String,
}

impl From<AppIdentity> for nav::AppIdentity {
    fn from(i: AppIdentity) -> Self {
        Self { app_name: i.app_name, company: i.company, tencent_referer: i.tencent_referer }
    }
}

/// A named starting point for navigation, in WGS-84.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct NavOrigin {
    /// Where.
    pub point: GeoPoint,
    /// The name shown in the map app.
    pub name: String,
}

/// One navigation link, ready to open.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct NavLink {
    /// Which app it is for.
    pub app: NavApp,
    /// The URL to open.
    pub url: String,
    /// The URL scheme to test before opening (`null`/`nil`: https, always opens).
    pub scheme: Option<String>,
    /// The Android package to test for, if any.
    pub android_package: Option<String>,
    /// How many of the route's stops the link covers (the first ones).
    pub stops_covered: u32,
}

impl From<nav::NavLink> for NavLink {
    fn from(l: nav::NavLink) -> Self {
        Self {
            app: l.app.into(),
            url: l.url,
            scheme: l.scheme.map(str::to_owned),
            android_package: l.android_package.map(str::to_owned),
            stops_covered: u32::try_from(l.stops_covered).unwrap_or(u32::MAX),
        }
    }
}
