//! The workspace's own `uniffi-bindgen`: generates the Kotlin and Swift sources from the
//! built library (`generate --library target/debug/libfieldkit_ffi.so --language kotlin`).
//! Built from this crate so that the generator and the library always share one uniffi version.

fn main() {
    uniffi::uniffi_bindgen_main();
}
