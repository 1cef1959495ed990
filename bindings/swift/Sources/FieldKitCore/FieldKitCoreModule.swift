// The module FieldKitCore. Its API is generated: scripts/build-xcframework writes
// FieldKitCore.swift (the FFI crate: FieldKit, FieldKitError, callbacks), FieldKitDomain.swift
// (the domain's records and enums) and FieldKitEngine.swift (the engine's results) beside this
// file (ignored by git) with uniffi-bindgen from the same Rust build as FieldKitFFI.xcframework,
// so that their checksums match the library's. All three belong to this one module. Nothing is
// written by hand here, so that the generated API is all there is.
