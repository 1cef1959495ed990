//! `fieldkit-e2e`: the real server and real engines together, in one process.
//!
//! [`harness`] starts the server on `127.0.0.1:0` over a temporary SQLite file and opens
//! engines ("phones") in temporary folders; scenario tests in `tests/` and the demo binary
//! build on it. [`demo_data`] holds the demo org: real places in Shanghai.

pub mod demo_data;
pub mod harness;
pub mod proxy;
