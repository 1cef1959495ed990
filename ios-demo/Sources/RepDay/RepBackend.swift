// The slice of FieldKit the rep-day screens use, as a protocol, and its one real
// implementation over the generated Swift bindings (mirrors android-demo's RepBackend.kt).
import FieldKitCore
import Foundation

/// What the rep-day screens need from FieldKit. Synchronous members read or write the local
/// database; async members talk to the server. Every member may throw `FieldKitError`.
public protocol RepBackend: AnyObject, Sendable {
    /// The logged-in user, or nil: decides between the login screen and the day.
    func currentUser() throws -> User?
    /// Logs in and remembers the session.
    func login(username: String, password: String) async throws -> User
    /// Forgets the session; queued work stays queued.
    func logout() throws
    /// Pushes the queue and pulls what is new.
    func syncNow() async throws -> SyncReport
    /// The offline queue's counts (`outbox.pending`, `outbox.parked`), the photos still to
    /// upload and the last sync time.
    func queueStatus() throws -> SyncStatus
    /// The rep's tasks, soonest deadline first.
    func myTasks() throws -> [FieldTask]
    /// Moves a task forward and/or replaces its notes; works offline.
    func updateTask(taskId: String, status: TaskStatus?, notes: String?) throws -> FieldTask
    /// Checks in at a customer; the stored check-in carries the phone's verdict
    /// (`assessment?.verdict`). A rejected check-in throws `FieldKitError.Refused` instead.
    func checkIn(customerId: String, taskId: String?, fix: LocationFix, note: String?) throws -> CheckIn
    /// Checks out of the open visit: the stored check-out (`checkOut.sopMissing`) and how long
    /// the visit lasted (`duration.ms`).
    func checkOut(visitId: String, fix: LocationFix) throws -> CheckedOut
    /// The visit the rep has open, or nil.
    func openVisit() throws -> Visit?
    /// Takes a photo through the watermark-and-sign pipeline.
    func takePhoto(jpeg: Data, visitId: String?, fix: LocationFix?) throws -> Photo
    /// Plans the rest of today from `position` (WGS-84), with the default options.
    func planMyDay(position: WgsPoint) throws -> DayPlan
    /// Today's latest plan, or nil.
    func dayPlan() throws -> DayPlan?
    /// Links to navigate to `customerId`, one per map app, preferred first.
    func navigationLinks(customerId: String) throws -> [NavLink]
}

/// `RepBackend` over the real engine: each member forwards to the same-named binding.
public final class FieldKitBackend: RepBackend {
    private let kit: FieldKit
    private let identity: AppIdentity

    /// Wraps an opened FieldKit (keep one per app). `identity` names the app to the map apps
    /// it opens (Tencent Maps needs the app's referer key; the demo's is a placeholder).
    public init(kit: FieldKit, identity: AppIdentity = AppIdentity(appName: "FieldKit Demo", company: "fieldkit", tencentReferer: "FIELDKIT-DEMO")) {
        self.kit = kit
        self.identity = identity
    }

    public func currentUser() throws -> User? { try kit.currentUser() }
    public func login(username: String, password: String) async throws -> User {
        try await kit.login(username: username, password: password)
    }
    public func logout() throws { try kit.logout() }
    public func syncNow() async throws -> SyncReport { try await kit.syncNow() }
    public func queueStatus() throws -> SyncStatus { try kit.queueStatus() }
    public func myTasks() throws -> [FieldTask] { try kit.myTasks() }
    public func updateTask(taskId: String, status: TaskStatus?, notes: String?) throws -> FieldTask {
        try kit.updateTask(taskId: taskId, status: status, notes: notes)
    }
    public func checkIn(customerId: String, taskId: String?, fix: LocationFix, note: String?) throws -> CheckIn {
        try kit.checkIn(customerId: customerId, taskId: taskId, fix: fix, note: note)
    }
    public func checkOut(visitId: String, fix: LocationFix) throws -> CheckedOut { try kit.checkOut(visitId: visitId, fix: fix) }
    public func openVisit() throws -> Visit? { try kit.openVisit() }
    public func takePhoto(jpeg: Data, visitId: String?, fix: LocationFix?) throws -> Photo {
        try kit.takePhoto(jpeg: jpeg, visitId: visitId, fix: fix)
    }
    public func planMyDay(position: WgsPoint) throws -> DayPlan { try kit.planMyDay(position: position, options: nil) }
    public func dayPlan() throws -> DayPlan? { try kit.dayPlan() }
    public func navigationLinks(customerId: String) throws -> [NavLink] {
        try kit.navigationLinks(customerIds: [customerId], origin: nil, mode: .drive, identity: identity, platform: .ios, apps: nil)
    }
}
