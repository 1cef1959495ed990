// swift-tools-version:5.9
// FieldKit for iOS (and macOS, for `swift test` on a Mac): the uniffi-generated Swift module
// `FieldKitCore` over the Rust core, shipped as the static library in FieldKitFFI.xcframework.
//
// Both Sources/FieldKitCore/FieldKitCore.swift and FieldKitFFI.xcframework are generated,
// ignored by git, and produced by `scripts/build-xcframework` (on macOS with Xcode). Run it
// before the first build and after every change to the Rust code.
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
        // The Rust core: libfieldkit_ffi.a per platform, with the C header and module map
        // of the C module `FieldKitCoreFFI` the generated Swift imports.
        .binaryTarget(
            name: "FieldKitFFI",
            path: "FieldKitFFI.xcframework"
        ),
        // The generated Swift API: `import FieldKitCore`.
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
