//! `fieldkit-e2e`: the real server and real engines together, in one process.
//!
//! [`harness`] starts the server on `127.0.0.1:0` over a temporary SQLite file and opens
//! engines ("phones") in temporary folders; [`facts`] builds facts as phones push them.
//! Scenario tests in `tests/` and the demo binary build on them; [`api_org`] builds an org
//! through the admin API as a dashboard would. [`demo_data`] holds the
//! demo org: real places in Shanghai. [`year_data`] generates a year of a large org
//! straight into the server's storage (the reports bench). [`browser`] runs the
//! headless-Chromium scripts of `tests/browser`.

pub mod api_org;
pub mod browser;
pub mod demo_data;
pub mod facts;
pub mod harness;
pub mod load;
pub mod proxy;
pub mod year_data;
