//! The load and soak generator's parts (the `load-gen` binary): [`world`] provisions the
//! simulated orgs straight into the server's storage, [`phone`] is one simulated phone (a
//! light task with a token, a feed cursor and an outbox kept until acknowledged),
//! [`servers`] runs server instances as child processes and restarts the database,
//! [`stats`] collects latencies and CPU time, [`verify`] checks that every fact a phone made
//! is stored exactly once.

pub mod phone;
pub mod servers;
pub mod stats;
pub mod verify;
pub mod world;
