// The Swift bindings: opening a database (and an encrypted one), typed errors, and (against
// a real server) login, the remembered session and a dispatched task reaching the phone.
//
// Written for machines with Swift (macOS with Xcode); NOT run in this repository's CI, which
// has no Swift toolchain (there, scripts/check-swift-header checks the generated headers and
// the library's symbols instead). Run with `swift test` in bindings/swift after
// scripts/build-xcframework. The server tests need a running fieldkit-server with an org, an
// admin and a rep (README "Running the server yourself") and are skipped unless
//   FIELDKIT_TEST_URL       e.g. http://127.0.0.1:8080
//   FIELDKIT_TEST_ORG       the org's login name
//   FIELDKIT_TEST_REP       a rep's username
//   FIELDKIT_TEST_PASSWORD  the rep's (and the admin's) password
// are set; the dispatch test also needs FIELDKIT_TEST_ADMIN and FIELDKIT_TEST_REP_ID (the
// rep's user id). The names are the ones scripts/test-kotlin passes to the Kotlin tests.
import Foundation
import XCTest

import FieldKitCore

/// The test server, from the environment, or nil when it is not set.
private struct TestServer {
    let url: String
    let org: String
    let rep: String
    let password: String

    static func fromEnvironment() -> TestServer? {
        let env = ProcessInfo.processInfo.environment
        guard let url = env["FIELDKIT_TEST_URL"], let org = env["FIELDKIT_TEST_ORG"],
            let rep = env["FIELDKIT_TEST_REP"], let password = env["FIELDKIT_TEST_PASSWORD"]
        else { return nil }
        return TestServer(url: url, org: org, rep: rep, password: password)
    }
}

/// A loopback address where nothing listens: the server as the phone sees it when offline.
private let unreachableURL = "http://127.0.0.1:9"

final class FieldKitCoreTests: XCTestCase {
    private var folder: URL!

    override func setUpWithError() throws {
        folder = FileManager.default.temporaryDirectory
            .appendingPathComponent("fieldkit-swift-\(UUID().uuidString)", isDirectory: true)
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: folder)
    }

    /// A database path inside this test's own folder.
    private func freshDb(_ name: String = "fieldkit.db") -> String {
        folder.appendingPathComponent(name).path
    }

    /// The server from the environment, or a skip.
    private func requireServer() throws -> TestServer {
        guard let server = TestServer.fromEnvironment() else {
            throw XCTSkip("FIELDKIT_TEST_URL, _ORG, _REP and _PASSWORD are not set")
        }
        return server
    }

    // MARK: - Without a server

    func testTheCoreVersionIsASemanticVersion() {
        let parts = coreVersion().split(separator: ".")
        XCTAssertEqual(parts.count, 3, "version \(coreVersion())")
        XCTAssertTrue(parts.allSatisfy { Int($0) != nil }, "version \(coreVersion())")
    }

    func testAFreshDatabaseHasNoUserNoTasksAndAnEmptyQueue() throws {
        let kit = try FieldKit.open(dbPath: freshDb(), serverUrl: unreachableURL, org: "acme")
        XCTAssertNil(try kit.currentUser())
        XCTAssertTrue(try kit.myTasks().isEmpty)
        let status = try kit.queueStatus()
        XCTAssertEqual(status.outbox.pending, 0)
        XCTAssertEqual(status.outbox.parked, 0)
        XCTAssertNil(status.outbox.oldestPendingMs)
        XCTAssertEqual(status.blobsPending, 0)
        XCTAssertNil(status.lastSyncMs)
        XCTAssertEqual(kit.deviceId().count, 36, "a UUID")
    }

    func testTheDeviceIdIsStableAcrossReopening() throws {
        let db = freshDb()
        let first = try FieldKit.open(dbPath: db, serverUrl: unreachableURL, org: "acme").deviceId()
        let second = try FieldKit.open(dbPath: db, serverUrl: unreachableURL, org: "acme").deviceId()
        XCTAssertEqual(first, second)
    }

    func testAnEncryptedDatabaseOpensOnlyWithItsKeyAndAWrongKeyChangesNothing() throws {
        let db = freshDb()
        // As an app keeps it in the Keychain: 32 random bytes.
        let key = Data((0..<32).map { _ in UInt8.random(in: 0...255) })
        let newKey = Data((0..<32).map { _ in UInt8.random(in: 0...255) })
        let device: String
        do {
            device = try FieldKit.openEncrypted(dbPath: db, serverUrl: unreachableURL, org: "acme", key: key).deviceId()
        }
        let before = try Data(contentsOf: URL(fileURLWithPath: db))
        XCTAssertFalse(before.starts(with: Data("SQLite format 3".utf8)), "the file is encrypted")
        do {
            _ = try FieldKit.openEncrypted(dbPath: db, serverUrl: unreachableURL, org: "acme", key: Data(repeating: 7, count: 32))
            XCTFail("a wrong key opened the database")
        } catch FieldKitError.WrongDatabaseKey(let file) {
            XCTAssertEqual(file, "fieldkit.db")
        }
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: db)), before, "a wrong key changed the file")
        do {
            let kit = try FieldKit.openEncrypted(dbPath: db, serverUrl: unreachableURL, org: "acme", key: key)
            XCTAssertEqual(kit.deviceId(), device)
            try kit.changeDatabaseKey(newKey: newKey)
        }
        XCTAssertThrowsError(try FieldKit.openEncrypted(dbPath: db, serverUrl: unreachableURL, org: "acme", key: key))
        let reopened = try FieldKit.openEncrypted(dbPath: db, serverUrl: unreachableURL, org: "acme", key: newKey)
        XCTAssertEqual(reopened.deviceId(), device)
    }

    func testAnEmptyUsernameThrowsInvalidInputNamingTheField() async throws {
        let kit = try FieldKit.open(dbPath: freshDb(), serverUrl: unreachableURL, org: "acme")
        do {
            _ = try await kit.login(username: " ", password: "x")
            XCTFail("login with an empty username succeeded")
        } catch FieldKitError.InvalidInput(let field, _) {
            XCTAssertEqual(field, "username")
        }
    }

    func testAMalformedTaskIdThrowsInvalidInputAndAnUnknownOneNotFound() throws {
        let kit = try FieldKit.open(dbPath: freshDb(), serverUrl: unreachableURL, org: "acme")
        do {
            _ = try kit.updateTask(taskId: "forty-two", status: .done, notes: nil)
            XCTFail("a malformed id was accepted")
        } catch FieldKitError.InvalidInput(let field, _) {
            XCTAssertEqual(field, "task_id")
        }
        do {
            _ = try kit.updateTask(taskId: UUID().uuidString.lowercased(), status: .done, notes: nil)
            XCTFail("an unknown task was updated")
        } catch FieldKitError.NotFound {
            // expected
        }
    }

    func testLoggingInWithTheServerUnreachableThrowsOffline() async throws {
        let kit = try FieldKit.open(dbPath: freshDb(), serverUrl: unreachableURL, org: "acme")
        do {
            _ = try await kit.login(username: "wang", password: "secret")
            XCTFail("login reached a server that does not exist")
        } catch FieldKitError.Offline(let detail) {
            XCTAssertFalse(detail.isEmpty)
        }
        XCTAssertNil(try kit.currentUser())
    }

    func testADatabaseFromANewerAppThrowsStorageAndIsLeftUntouched() throws {
        let db = freshDb()
        do {
            // Dropping the last reference closes the engine (and its SQLite connections).
            _ = try FieldKit.open(dbPath: db, serverUrl: unreachableURL, org: "acme")
        }
        // SQLite keeps user_version (the schema version) big-endian at byte 60 of the file.
        let handle = try FileHandle(forUpdating: URL(fileURLWithPath: db))
        try handle.seek(toOffset: 60)
        try handle.write(contentsOf: Data([0, 0, 0x03, 0xE7]))  // 999
        try handle.close()
        let before = try Data(contentsOf: URL(fileURLWithPath: db))
        do {
            _ = try FieldKit.open(dbPath: db, serverUrl: unreachableURL, org: "acme")
            XCTFail("a database from a newer app was opened")
        } catch FieldKitError.Storage(let detail) {
            XCTAssertTrue(detail.contains("999"), detail)
        }
        XCTAssertEqual(before, try Data(contentsOf: URL(fileURLWithPath: db)), "the file was modified")
    }

    // MARK: - Against the server named by FIELDKIT_TEST_URL

    func testLoginReturnsTheRepAndTheSessionIsRememberedAfterReopening() async throws {
        let server = try requireServer()
        let db = freshDb()
        do {
            let kit = try FieldKit.open(dbPath: db, serverUrl: server.url, org: server.org)
            let user = try await kit.login(username: server.rep, password: server.password)
            XCTAssertEqual(user.username, server.rep)
            XCTAssertEqual(user.role, .rep)
        }
        let offline = try FieldKit.open(dbPath: db, serverUrl: unreachableURL, org: server.org)
        XCTAssertEqual(try offline.currentUser()?.username, server.rep, "remembered user, offline")
    }

    func testAWrongPasswordThrowsUnauthorized() async throws {
        let server = try requireServer()
        let kit = try FieldKit.open(dbPath: freshDb(), serverUrl: server.url, org: server.org)
        do {
            _ = try await kit.login(username: server.rep, password: "not-the-password")
            XCTFail("a wrong password was accepted")
        } catch FieldKitError.Unauthorized {
            // expected
        }
        XCTAssertNil(try kit.currentUser())
    }

    func testSyncingBeforeAnyLoginThrowsUnauthorized() async throws {
        let server = try requireServer()
        let kit = try FieldKit.open(dbPath: freshDb(), serverUrl: server.url, org: server.org)
        do {
            _ = try await kit.syncNow()
            XCTFail("a sync without a session succeeded")
        } catch FieldKitError.Unauthorized {
            // expected
        }
    }

    func testATaskDispatchedOnTheServerReachesMyTasksAfterSyncNow() async throws {
        let server = try requireServer()
        let env = ProcessInfo.processInfo.environment
        guard let admin = env["FIELDKIT_TEST_ADMIN"], let repId = env["FIELDKIT_TEST_REP_ID"] else {
            throw XCTSkip("FIELDKIT_TEST_ADMIN and FIELDKIT_TEST_REP_ID are not set")
        }
        let title = "拜访 Swift 客户 \(UUID().uuidString.prefix(8))"
        let taskId = try await dispatch(server: server, admin: admin, repId: repId, title: title)

        let kit = try FieldKit.open(dbPath: freshDb(), serverUrl: server.url, org: server.org)
        _ = try await kit.login(username: server.rep, password: server.password)
        XCTAssertFalse(try kit.myTasks().contains { $0.id == taskId }, "there before any sync")
        let report = try await kit.syncNow()
        XCTAssertGreaterThan(report.pulled, 0)
        let task = try XCTUnwrap(try kit.myTasks().first { $0.id == taskId })
        XCTAssertEqual(task.title, title)
        XCTAssertEqual(task.kind, .customerVisit)
        XCTAssertEqual(task.status, .open)
        XCTAssertEqual(task.place?.point.lat, 31.2304)
        XCTAssertEqual(task.place?.point.lng, 121.4737)
        XCTAssertEqual(task.place?.address, "上海市黄浦区南京东路1号")
        XCTAssertNotNil(try kit.queueStatus().lastSyncMs)

        let started = try kit.updateTask(taskId: taskId, status: .inProgress, notes: "on my way")
        XCTAssertEqual(started.status, .inProgress)
        XCTAssertEqual(try kit.queueStatus().outbox.pending, 1)
        let pushed = try await kit.syncNow()
        XCTAssertEqual(pushed.pushed, 1)
        XCTAssertEqual(try kit.queueStatus().outbox.pending, 0)
    }

    /// Creates a customer visit for the rep over the server's HTTP API, as the dashboard
    /// would, and returns its id.
    private func dispatch(server: TestServer, admin: String, repId: String, title: String) async throws -> String {
        let login = try await post(
            server.url + "/v1/login", token: nil,
            body: [
                "org": server.org, "username": admin, "password": server.password,
                "device_id": UUID().uuidString.lowercased(),
            ], expecting: 200)
        let token = try XCTUnwrap(login["token"] as? String, "no token in the login answer")
        let deadlineMs = Int64(Date().timeIntervalSince1970 * 1000) + 86_400_000
        let task = try await post(
            server.url + "/v1/tasks", token: token,
            body: [
                "kind": "customer_visit", "title": title, "assignee_id": repId, "deadline_ms": deadlineMs,
                "place": ["point": ["lat": 31.2304, "lng": 121.4737], "address": "上海市黄浦区南京东路1号"],
            ], expecting: 201)
        return try XCTUnwrap(task["id"] as? String, "no id in the task answer")
    }

    /// POSTs JSON and returns the JSON object answered, failing on another status.
    private func post(_ url: String, token: String?, body: [String: Any], expecting status: Int) async throws
        -> [String: Any]
    {
        var request = URLRequest(url: try XCTUnwrap(URL(string: url)))
        request.httpMethod = "POST"
        request.setValue("application/json", forHTTPHeaderField: "content-type")
        if let token { request.setValue("Bearer \(token)", forHTTPHeaderField: "authorization") }
        request.httpBody = try JSONSerialization.data(withJSONObject: body)
        let (data, response) = try await URLSession.shared.data(for: request)
        let code = (response as? HTTPURLResponse)?.statusCode ?? 0
        XCTAssertEqual(code, status, "POST \(url): \(String(decoding: data, as: UTF8.self))")
        return try XCTUnwrap(try JSONSerialization.jsonObject(with: data) as? [String: Any])
    }
}
