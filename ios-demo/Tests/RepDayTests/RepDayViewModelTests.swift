// The view model over the real Swift bindings and a real server (mirrors the android-demo
// app-logic tests). Needs the same environment as scripts/test-kotlin sets up:
// FIELDKIT_TEST_URL, FIELDKIT_TEST_ORG, FIELDKIT_TEST_REP, FIELDKIT_TEST_PASSWORD; skipped
// without it. Not run on the development machines (no Swift there).
import FieldKitCore
import Foundation
import XCTest
@testable import RepDay

@MainActor
final class RepDayViewModelTests: XCTestCase {
    private func env(_ name: String) throws -> String {
        guard let value = ProcessInfo.processInfo.environment[name] else {
            throw XCTSkip("\(name) is not set: start a server as scripts/test-kotlin does")
        }
        return value
    }

    private func phone(serverUrl: String? = nil) throws -> RepDayViewModel {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent(UUID().uuidString)
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let kit = try FieldKit.open(
            dbPath: dir.appendingPathComponent("fieldkit.db").path,
            serverUrl: try serverUrl ?? env("FIELDKIT_TEST_URL"),
            org: try env("FIELDKIT_TEST_ORG")
        )
        return RepDayViewModel(backend: FieldKitBackend(kit: kit))
    }

    func testLoginShowsTheRepAndALastSyncTime() async throws {
        let model = try phone()
        await model.start()
        XCTAssertNil(model.state.user)
        await model.login(username: try env("FIELDKIT_TEST_REP"), password: try env("FIELDKIT_TEST_PASSWORD"))
        XCTAssertEqual(model.state.user?.username, try env("FIELDKIT_TEST_REP"))
        XCTAssertNotNil(model.state.sync.lastSyncMs)
        XCTAssertFalse(model.state.sync.offline)
    }

    func testAWrongPasswordShowsTheLoginMessage() async throws {
        let model = try phone()
        await model.login(username: try env("FIELDKIT_TEST_REP"), password: "not-the-password")
        XCTAssertEqual(model.state.message, UserMessage(kind: .error, text: Texts.wrongPassword))
        XCTAssertNil(model.state.user)
    }

    func testAServerOutOfReachSaysLoginNeedsAConnection() async throws {
        let model = try phone(serverUrl: "http://127.0.0.1:9")
        await model.login(username: "rep", password: "x")
        XCTAssertEqual(model.state.message?.text, Texts.offlineLogin)
    }
}
