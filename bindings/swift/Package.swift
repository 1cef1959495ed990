// swift-tools-version:5.9
// FieldKit for iOS (and macOS, for `swift test` on a Mac): the uniffi-generated Swift module
// `FieldKitCore` over the Rust core, shipped as the static library in FieldKitFFI.xcframework.
//
// Generated, ignored by git, and produced by `scripts/build-xcframework` (on macOS with
// Xcode; run it before the first build and after every change to the Rust code):
//  - FieldKitFFI.xcframework;
//  - in Sources/FieldKitCore, one Swift file per Rust crate with uniffi exports, all three
//    compiled into the one module FieldKitCore (they use each other's types without imports):
//      FieldKitCore.swift    fieldkit-ffi: FieldKit, FieldKitError, the callbacks, a few views
//      FieldKitDomain.swift  fieldkit-domain: FieldTask, User, WgsPoint, CheckIn, Verdict, Visit…
//      FieldKitEngine.swift  fieldkit-engine: SyncReport, SyncStatus, CheckedOut, Customer360…
import PackageDescription

let package = Package(
    name: "FieldKit",
    platforms: [
        .iOS(.v15),
        .macOS(.v12),
    ],
    products: [
        .library(name: "FieldKitCore", targets: ["FieldKitCore"]),
    ],
    targets: [
        // The Rust core: libfieldkit_ffi.a per platform, with the C headers and the one
        // module map of the C modules `FieldKitCoreFFI`, `FieldKitDomainFFI` and
        // `FieldKitEngineFFI` the three generated Swift files import.
        .binaryTarget(
            name: "FieldKitFFI",
            path: "FieldKitFFI.xcframework"
        ),
        // The generated Swift API (the three files above, beside FieldKitCoreModule.swift):
        // `import FieldKitCore`.
        .target(
            name: "FieldKitCore",
            dependencies: ["FieldKitFFI"],
            path: "Sources/FieldKitCore",
            linkerSettings: [
                // What the Rust static library links against on Apple platforms (TLS trust
                // evaluation through the system's certificate store).
                .linkedFramework("Security"),
                .linkedFramework("CoreFoundation"),
            ]
        ),
        .testTarget(
            name: "FieldKitCoreTests",
            dependencies: ["FieldKitCore"],
            path: "Tests/FieldKitCoreTests"
        ),
    ]
)
