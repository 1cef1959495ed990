//! The app's log sink (a foreign trait): FieldKit's `tracing` events, at the level the app
//! sets, handed to the app's logger (Logcat, `os_log`). Installed once as the process's
//! `tracing` subscriber; `setLogSink` replaces the sink and level at any time, `null`/`nil`
//! turns logging off. A sink that throws is ignored.

use std::cell::Cell;
use std::fmt::Write as _;
use std::sync::{Arc, OnceLock, PoisonError, RwLock};

use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::subscriber::Interest;
use tracing::{Event, Metadata, Subscriber};

use crate::error::FieldKitError;

/// How much to log, most severe first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, uniffi::Enum)]
pub enum LogLevel {
    /// Something failed.
    Error,
    /// Something odd that FieldKit handled.
    Warn,
    /// Milestones: opened, logged in, synced.
    Info,
    /// Details for debugging.
    Debug,
    /// Everything.
    Trace,
}

impl LogLevel {
    fn of(level: tracing::Level) -> Self {
        match level {
            tracing::Level::ERROR => Self::Error,
            tracing::Level::WARN => Self::Warn,
            tracing::Level::INFO => Self::Info,
            tracing::Level::DEBUG => Self::Debug,
            _ => Self::Trace,
        }
    }
}

/// Where FieldKit's log lines go. Called on whichever thread logs: return quickly.
#[uniffi::export(with_foreign)]
pub trait LogSink: Send + Sync {
    /// One event: its level, its source (`fieldkit_engine::sync`…) and its message with
    /// its fields (`sync finished pushed=3`). Never carries passwords or tokens.
    fn log(&self, level: LogLevel, target: String, message: String) -> Result<(), FieldKitError>;
}

/// The sink and level now in force.
type Current = Option<(Arc<dyn LogSink>, LogLevel)>;

fn current() -> &'static RwLock<Current> {
    static CURRENT: RwLock<Current> = RwLock::new(None);
    &CURRENT
}

thread_local! {
    /// Set while the sink runs on this thread, so that logging from inside it is dropped.
    static IN_SINK: Cell<bool> = const { Cell::new(false) };
}

/// Sends FieldKit's log events at `level` and above to `sink`; `null`/`nil` turns logging
/// off. Call it once at start (again to change the level).
///
/// Fails with `Internal` if another `tracing` subscriber was installed in this process
/// before FieldKit's.
#[uniffi::export]
pub fn set_log_sink(sink: Option<Arc<dyn LogSink>>, level: LogLevel) -> Result<(), FieldKitError> {
    crate::runtime::guard(|| {
        static INSTALLED: OnceLock<Result<(), String>> = OnceLock::new();
        INSTALLED
            .get_or_init(|| {
                tracing::subscriber::set_global_default(SinkSubscriber).map_err(|e| e.to_string())
            })
            .clone()
            .map_err(|e| FieldKitError::Internal { detail: format!("cannot install the log sink: {e}") })?;
        *current().write().unwrap_or_else(PoisonError::into_inner) = sink.map(|s| (s, level));
        tracing::callsite::rebuild_interest_cache();
        Ok(())
    })
}

/// A `tracing` subscriber that formats each event and hands it to the current sink. Spans
/// are not tracked (FieldKit logs with events).
struct SinkSubscriber;

impl Subscriber for SinkSubscriber {
    fn register_callsite(&self, _: &'static Metadata<'static>) -> Interest {
        // The level can change at any time: ask `enabled` every time.
        Interest::sometimes()
    }

    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        let current = current().read().unwrap_or_else(PoisonError::into_inner);
        current.as_ref().is_some_and(|(_, level)| LogLevel::of(*metadata.level()) <= *level)
    }

    fn new_span(&self, _: &Attributes<'_>) -> Id {
        Id::from_u64(1)
    }

    fn record(&self, _: &Id, _: &Record<'_>) {}

    fn record_follows_from(&self, _: &Id, _: &Id) {}

    fn event(&self, event: &Event<'_>) {
        if IN_SINK.with(Cell::get) {
            return;
        }
        let Some((sink, level)) = current().read().unwrap_or_else(PoisonError::into_inner).clone() else {
            return;
        };
        let metadata = event.metadata();
        let event_level = LogLevel::of(*metadata.level());
        if event_level > level {
            return;
        }
        let mut text = Message::default();
        event.record(&mut text);
        IN_SINK.with(|f| f.set(true));
        let target = metadata.target().to_owned();
        // Whatever the app's sink throws stays here: logging never fails a call.
        let _ =
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| sink.log(event_level, target, text.0)));
        IN_SINK.with(|f| f.set(false));
    }

    fn enter(&self, _: &Id) {}

    fn exit(&self, _: &Id) {}
}

/// An event's message followed by its other fields as `name=value`.
#[derive(Default)]
struct Message(String);

impl Visit for Message {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == "message" {
            let fields = std::mem::take(&mut self.0);
            let _ = write!(self.0, "{value:?}{fields}");
        } else {
            let _ = write!(self.0, " {}={value:?}", field.name());
        }
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            let fields = std::mem::take(&mut self.0);
            self.0 = format!("{value}{fields}");
        } else {
            let _ = write!(self.0, " {}={value}", field.name());
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use super::*;

    /// Keeps every line.
    struct Lines(Mutex<Vec<String>>);

    impl LogSink for Lines {
        fn log(&self, level: LogLevel, target: String, message: String) -> Result<(), FieldKitError> {
            self.0.lock().expect("not poisoned").push(format!("{level:?} {target} {message}"));
            Ok(())
        }
    }

    #[test]
    fn events_at_the_level_set_reach_the_sink_with_their_fields_and_the_rest_do_not() {
        let sink = Arc::new(Lines(Mutex::new(Vec::new())));
        set_log_sink(Some(sink.clone()), LogLevel::Info).expect("installs");
        tracing::info!(pushed = 3, "sync finished");
        tracing::debug!("too detailed");
        set_log_sink(None, LogLevel::Error).expect("turns off");
        tracing::error!("after off");
        let lines = sink.0.lock().expect("not poisoned").clone();
        assert_eq!(lines, vec![format!("Info {} sync finished pushed=3", module_path!())]);
    }
}
