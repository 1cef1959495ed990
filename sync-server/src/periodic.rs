//! Background work on a fixed period, stopped with the server: the summaries, the approvals
//! refresh and track retention all run this way.

use std::future::Future;
use std::time::Duration;

use tokio::sync::watch;

/// Runs `work` now and then every `every` (at least a second; a late tick waits instead of
/// bursting), until `stop` turns true or its sender is gone. A run in progress is dropped at
/// the stop: each piece of work stores what it finishes in its own transactions.
pub async fn every<F, Fut>(every: Duration, mut stop: watch::Receiver<bool>, mut work: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = ()>,
{
    let mut ticks = tokio::time::interval(every.max(Duration::from_secs(1)));
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let stopped = |changed: Result<(), watch::error::RecvError>, stop: &watch::Receiver<bool>| {
        changed.is_err() || *stop.borrow()
    };
    loop {
        tokio::select! {
            _ = ticks.tick() => {}
            changed = stop.changed() => {
                if stopped(changed, &stop) {
                    return;
                }
                continue;
            }
        }
        tokio::select! {
            () = work() => {}
            changed = stop.changed() => {
                if stopped(changed, &stop) {
                    return;
                }
            }
        }
    }
}
