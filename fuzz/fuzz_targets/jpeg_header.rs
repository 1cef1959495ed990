//! The phone's photo input: JPEG bytes from the camera or a picked file, as the pipeline
//! reads them (`fieldkit_engine::photo`): [`read_header`] (its own marker walker, which
//! must refuse any damaged file before a decoder allocates), the pipeline's size checks,
//! then [`decode_scaled`] and [`dhash_of_stamped_jpeg`] under a pixel cap.
//!
//! The decoders are third-party and the engine catches their panics on purpose (a damaged
//! file is an error, never a crash); so here a panic counts only if it escapes the engine's
//! own functions. Properties: a header that reads has a non-zero size; a decoded picture is
//! no larger than its header says.

#![no_main]

use std::cell::RefCell;
use std::panic::{self, AssertUnwindSafe};
use std::sync::Once;

use fieldkit_engine::photo::decode::decode_scaled;
use fieldkit_engine::photo::dhash::dhash_of_stamped_jpeg;
use fieldkit_engine::photo::header::read_header;
use libfuzzer_sys::fuzz_target;

/// At most this many pixels are decoded (a few megapixels keep each run short).
const MAX_PIXELS: u64 = 4_000_000;

thread_local! {
    static LAST_PANIC: RefCell<Option<String>> = const { RefCell::new(None) };
}

/// Replaces the fuzzer's abort-on-any-panic hook by one that remembers the message, so that
/// panics the engine catches stay caught.
fn quiet_panics() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        panic::set_hook(Box::new(|info| {
            LAST_PANIC.with(|last| *last.borrow_mut() = Some(info.to_string()));
        }));
    });
}

fuzz_target!(|data: &[u8]| {
    quiet_panics();
    let outcome = panic::catch_unwind(AssertUnwindSafe(|| run(data)));
    if outcome.is_err() {
        let message = LAST_PANIC.with(|last| last.borrow_mut().take()).unwrap_or_default();
        eprintln!("panic escaped the engine: {message}");
        std::process::abort();
    }
});

fn run(data: &[u8]) {
    let Ok(header) = read_header(data) else { return };
    assert!(header.width > 0 && header.height > 0, "a header of {}x{} reads", header.width, header.height);
    let _ = header.orientation.upright_size(header.width, header.height);
    let pixels = u64::from(header.width) * u64::from(header.height);
    if pixels > MAX_PIXELS {
        return;
    }
    for long_edge in [64, 480] {
        if let Ok(image) = decode_scaled(data, &header, long_edge) {
            let (w, h) = image.dimensions();
            assert!(
                w <= header.width && h <= header.height,
                "decoded {w}x{h} from a header of {}x{}",
                header.width,
                header.height
            );
        }
    }
    let _ = dhash_of_stamped_jpeg(data, MAX_PIXELS);
}
