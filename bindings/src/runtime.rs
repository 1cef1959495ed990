//! The tokio runtime this crate owns, and the guards that keep every panic on the Rust side
//! of the FFI.
//!
//! Async exports do not need the app to run tokio: each call is spawned on this runtime and
//! the foreign side (Kotlin coroutines, Swift tasks) only awaits its completion. A call the
//! app cancels aborts its task at its next await point; the engine keeps each write in one
//! SQLite transaction, so a cut never leaves half a write.
//!
//! uniffi 0.32 already catches panics (it wraps every call, and every poll of an async
//! call, in `catch_unwind`) but reports them as its generic `InternalException`
//! (Kotlin) / a fatal error (Swift) that apps do not expect from a typed API. The guards here
//! turn a panic into [`FieldKitError::Internal`] first, so apps handle one error type.

use std::any::Any;
use std::future::Future;
use std::panic::{self, AssertUnwindSafe};
use std::sync::OnceLock;

use tokio::runtime::{Builder, Runtime};
use tokio::task::JoinHandle;

use crate::error::FieldKitError;

/// Worker threads of the runtime: the engine's async work is network I/O, so two are plenty
/// on a phone.
const WORKER_THREADS: usize = 2;

/// The crate's runtime, built on first use.
pub(crate) fn runtime() -> Result<&'static Runtime, FieldKitError> {
    static RUNTIME: OnceLock<Result<Runtime, String>> = OnceLock::new();
    RUNTIME
        .get_or_init(|| {
            Builder::new_multi_thread()
                .worker_threads(WORKER_THREADS)
                .thread_name("fieldkit")
                .enable_all()
                .build()
                .map_err(|e| e.to_string())
        })
        .as_ref()
        .map_err(|e| FieldKitError::Internal { detail: format!("cannot start the async runtime: {e}") })
}

/// Runs `work` on the crate's runtime and waits for it; a panic inside becomes
/// [`FieldKitError::Internal`]. Dropping the returned future (the app cancelled the call)
/// aborts the work.
pub(crate) async fn run_async<T, F>(work: F) -> Result<T, FieldKitError>
where
    T: Send + 'static,
    F: Future<Output = Result<T, FieldKitError>> + Send + 'static,
{
    let mut task = AbortOnDrop(runtime()?.spawn(work));
    match (&mut task.0).await {
        Ok(result) => result,
        Err(e) if e.is_panic() => Err(from_panic(e.into_panic())),
        Err(e) => Err(FieldKitError::Internal { detail: format!("the call was stopped: {e}") }),
    }
}

/// Runs a blocking call; a panic inside becomes [`FieldKitError::Internal`].
///
/// `AssertUnwindSafe` is sound here: the engine's shared state is SQLite (every write one
/// transaction, rolled back if a panic unwinds through it) and mutexes it recovers from
/// poisoning explicitly.
pub(crate) fn guard<T>(call: impl FnOnce() -> Result<T, FieldKitError>) -> Result<T, FieldKitError> {
    panic::catch_unwind(AssertUnwindSafe(call)).unwrap_or_else(|payload| Err(from_panic(payload)))
}

/// The error reported for a caught panic, with its message.
fn from_panic(payload: Box<dyn Any + Send>) -> FieldKitError {
    let message = payload
        .downcast_ref::<&'static str>()
        .map(|s| (*s).to_owned())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".to_owned());
    tracing::error!(%message, "a panic was caught at the FFI boundary");
    FieldKitError::Internal { detail: format!("panic: {message}") }
}

/// A spawned task that is aborted if its caller stops waiting for it.
struct AbortOnDrop<T>(JoinHandle<T>);

impl<T> Drop for AbortOnDrop<T> {
    fn drop(&mut self) {
        // A no-op once the task has finished.
        self.0.abort();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panic_in_a_blocking_call_becomes_an_internal_error() {
        let result: Result<(), _> = guard(|| panic!("boom"));
        assert_eq!(result, Err(FieldKitError::Internal { detail: "panic: boom".into() }));
    }

    #[test]
    fn a_panic_in_an_async_call_becomes_an_internal_error() {
        let call = run_async(async {
            if std::hint::black_box(true) {
                panic!("async boom {}", 42);
            }
            Ok(())
        });
        assert_eq!(block_on(call), Err(FieldKitError::Internal { detail: "panic: async boom 42".into() }));
    }

    #[test]
    fn an_async_call_returns_its_value_to_a_caller_outside_tokio() {
        assert_eq!(block_on(run_async(async { Ok(7) })), Ok(7));
    }

    /// Wakes the waiting thread.
    struct ThreadWaker(std::thread::Thread);

    impl std::task::Wake for ThreadWaker {
        fn wake(self: std::sync::Arc<Self>) {
            self.0.unpark();
        }
    }

    /// Waits for a future on the calling thread, outside any tokio runtime, as a foreign
    /// executor does.
    fn block_on<T>(future: impl Future<Output = T>) -> T {
        let mut future = std::pin::pin!(future);
        let waker = std::sync::Arc::new(ThreadWaker(std::thread::current())).into();
        let mut cx = std::task::Context::from_waker(&waker);
        loop {
            if let std::task::Poll::Ready(value) = future.as_mut().poll(&mut cx) {
                return value;
            }
            std::thread::park();
        }
    }
}
