// swift-tools-version:5.9
// The FieldKit iOS demo as a Swift package, no .xcodeproj: `RepDay` (view model and SwiftUI
// screens, mirroring android-demo) over the FieldKit Swift package in ../bindings/swift,
// the app's entry point `FieldKitDemo`, and tests of the view model against a real server.
// Not built here (no Swift toolchain on the development machines): see README.md.
import PackageDescription

let package = Package(
    name: "FieldKitDemo",
    platforms: [
        .iOS(.v16),
        .macOS(.v13),
    ],
    products: [
        .library(name: "RepDay", targets: ["RepDay"]),
        .executable(name: "FieldKitDemo", targets: ["FieldKitDemo"]),
    ],
    dependencies: [
        // A local package's identity is its folder's name: "swift".
        .package(path: "../bindings/swift"),
    ],
    targets: [
        .target(
            name: "RepDay",
            dependencies: [.product(name: "FieldKitCore", package: "swift")],
            path: "Sources/RepDay"
        ),
        .executableTarget(
            name: "FieldKitDemo",
            dependencies: ["RepDay"],
            path: "App"
        ),
        .testTarget(
            name: "RepDayTests",
            dependencies: ["RepDay"],
            path: "Tests/RepDayTests"
        ),
    ]
)
