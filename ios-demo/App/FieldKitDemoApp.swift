// The demo app's entry point: opens FieldKit on the app's private database, sets up the
// photo watermark font, and shows the rep day with the phone's position and camera. The
// server and org come from the environment (FIELDKIT_SERVER_URL, FIELDKIT_ORG; set them in
// the Xcode scheme) and default to a server on the Mac running the simulator.
import CoreText
import FieldKitCore
import Foundation
import RepDay
import SwiftUI

@main
struct FieldKitDemoApp: App {
    /// The rep day, or nil when FieldKit could not open its database.
    private let model: RepDayViewModel?
    /// Why FieldKit could not open (shown instead of the app, never a crash).
    private let openError: String?

    init() {
        let env = ProcessInfo.processInfo.environment
        let support = FileManager.default.urls(for: .applicationSupportDirectory, in: .userDomainMask)[0]
        try? FileManager.default.createDirectory(at: support, withIntermediateDirectories: true)
        do {
            let kit = try FieldKit.open(
                dbPath: support.appendingPathComponent("fieldkit.db").path,
                serverUrl: env["FIELDKIT_SERVER_URL"] ?? "http://127.0.0.1:8080",
                org: env["FIELDKIT_ORG"] ?? "acme"
            )
            if let font = Self.cjkFont() { try? kit.configurePhotos(font: font, fontIndex: 0, settings: nil) }
            model = RepDayViewModel(backend: FieldKitBackend(kit: kit))
            openError = nil
        } catch {
            // A database from a newer app version, or an unreadable disk.
            model = nil
            openError = userMessage(error, .edit).text
        }
    }

    var body: some Scene {
        WindowGroup {
            if let model {
                DemoRoot(model: model)
            } else {
                Text(openError ?? "").padding()
            }
        }
    }

    /// A system font with CJK glyphs for the watermark (PingFang ships with iOS and macOS).
    private static func cjkFont() -> Data? {
        let font = CTFontCreateWithName("PingFangSC-Regular" as CFString, 12, nil)
        guard let url = CTFontCopyAttribute(font, kCTFontURLAttribute) as? URL else { return nil }
        return try? Data(contentsOf: url)
    }
}

/// The rep day with the phone's services: position for check-in and planning, the camera.
private struct DemoRoot: View {
    @ObservedObject var model: RepDayViewModel
    @State private var locator = Locator()
    @State private var showCamera = false

    var body: some View {
        RepDayRootView(model: model, device: Device(
            withFix: { use in
                locator.currentFix { fix in
                    if let fix { use(fix) }
                }
            },
            takePhoto: { showCamera = true }
        ))
        #if os(iOS)
        .sheet(isPresented: $showCamera) {
            CameraPicker { jpeg in
                locator.currentFix { fix in Task { await model.takePhoto(jpeg: jpeg, fix: fix) } }
            }
        }
        #endif
    }
}
