// The module FieldKitCore. Its API is generated: scripts/build-xcframework writes
// FieldKitCore.swift beside this file (ignored by git) with uniffi-bindgen from the same Rust
// build as FieldKitFFI.xcframework, so that its checksums match the library's. Nothing is
// written by hand here, so that the generated API is all there is.
