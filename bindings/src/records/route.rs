//! Navigation links as the app opens them: the domain's link without its map coordinates,
//! with the app scheme and Android package as plain strings.

use fieldkit_domain::nav::{self, NavApp};

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
            app: l.app,
            url: l.url,
            scheme: l.scheme.map(str::to_owned),
            android_package: l.android_package.map(str::to_owned),
            stops_covered: u32::try_from(l.stops_covered).unwrap_or(u32::MAX),
        }
    }
}
