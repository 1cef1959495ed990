// The rep day's view model for SwiftUI (mirrors android-demo's RepDayViewModel.kt): publishes
// RepDayState on the main actor, runs every FieldKit call off it, and turns FieldKitError into
// UserMessages.
import FieldKitCore
import Foundation

/// The rep's day: login, tasks, today's route, sync status. Create one per app (a
/// `@StateObject`); call `start()` once. Actions return when done; views call them in `Task {}`.
@MainActor
public final class RepDayViewModel: ObservableObject {
    /// What the views render.
    @Published public private(set) var state = RepDayState()

    private let backend: RepBackend
    private nonisolated static let dayMs: Int64 = 24 * 60 * 60 * 1000

    public init(backend: RepBackend) { self.backend = backend }

    /// Reads the session, tasks and queue from the phone (no network).
    public func start() async {
        let user = await attempt(.edit) { [backend] in try backend.currentUser() }
        state.user = user ?? nil
        state.loading = false
        if state.user != nil { await reload() }
    }

    /// Logs in, then syncs so that the rep's tasks arrive.
    public func login(username: String, password: String) async {
        state.loggingIn = true
        state.message = nil
        let name = username.trimmingCharacters(in: .whitespaces)
        let user = await attempt(.login) { [backend] in try await backend.login(username: name, password: password) }
        state.loggingIn = false
        if let user {
            state.user = user
            await syncAndReload()
        }
    }

    /// "Sync now" and pull-to-refresh.
    public func refresh() async { await syncAndReload() }

    /// Starts a task (open → in progress); works offline.
    public func startTask(_ id: String) async { await edit { [backend] in _ = try backend.updateTask(taskId: id, status: .inProgress, notes: nil) } }

    /// Marks a task done; works offline.
    public func finishTask(_ id: String) async { await edit { [backend] in _ = try backend.updateTask(taskId: id, status: .done, notes: nil) } }

    /// Checks in at the customer of task `taskId` with the fix the OS reported, and `note` as
    /// the stated reason. Shows the verdict either way: accepted, flagged, or rejected.
    public func checkIn(taskId: String, fix: LocationFix, note: String? = nil) async {
        guard let customerId = state.tasks.first(where: { $0.id == taskId })?.customerId else {
            state.message = UserMessage(kind: .error, text: Texts.noCustomer)
            return
        }
        let stated = note.flatMap { $0.trimmingCharacters(in: .whitespaces).isEmpty ? nil : $0 }
        do {
            let result = try await Task.detached { [backend] in
                try backend.checkIn(customerId: customerId, taskId: taskId, fix: fix, note: stated)
            }.value
            state.verdict = verdictCard(taskId: taskId, result.assessment)
            state.message = nil
        } catch let FieldKitError.Refused(reason, verdict) {
            if let verdict {
                state.verdict = verdictCard(taskId: taskId, verdict)
            } else {
                show(FieldKitError.Refused(reason: reason, verdict: nil), .edit)
            }
        } catch {
            show(error, .edit)
        }
        await reload()
    }

    /// Checks out of the open visit; says how long it lasted and which SOP steps were left.
    public func checkOut(fix: LocationFix) async {
        guard let visit = state.visit else {
            state.message = UserMessage(kind: .error, text: Texts.noVisit)
            return
        }
        if let result = await attempt(.edit, { [backend] in try backend.checkOut(visitId: visit.id, fix: fix) }) {
            let missing = result.checkOut.sopMissing.count
            state.message = UserMessage(
                kind: missing == 0 ? .info : .warning,
                text: "Checked out after \(result.duration.ms / 60_000) min." + (missing > 0 ? " \(missing) required step(s) not done." : "")
            )
            state.verdict = nil
            state.photo = nil
        }
        await reload()
    }

    /// Takes a photo from the camera's JPEG: watermarked, signed and queued, in the open visit.
    public func takePhoto(jpeg: Data, fix: LocationFix?) async {
        let visitId = state.visit?.id
        if let photo = await attempt(.edit, { [backend] in try backend.takePhoto(jpeg: jpeg, visitId: visitId, fix: fix) }) {
            state.photo = photoCard(photo)
        }
        await reload()
    }

    /// Plans the rest of today from where the rep is; the route then follows the plan.
    public func planDay(latitude: Double, longitude: Double) async {
        let position = WgsPoint(lat: latitude, lng: longitude)
        if let plan = await attempt(.edit, { [backend] in try backend.planMyDay(position: position) }), !plan.unplanned.isEmpty {
            state.message = UserMessage(kind: .warning, text: "\(plan.unplanned.count) task(s) do not fit in today's plan.")
        }
        await reload()
    }

    /// Logs out: back to the login screen; queued work stays on the phone.
    public func logout() async {
        if await attempt(.edit, { [backend] in try backend.logout() }) != nil {
            let sync = state.sync
            state = RepDayState()
            state.loading = false
            state.sync = sync
        }
    }

    /// The view showed the message: clear it.
    public func messageShown() { state.message = nil }

    private func edit(_ change: @escaping @Sendable () throws -> Void) async {
        _ = await attempt(.edit, change)
        await reload()
    }

    private func syncAndReload() async {
        state.sync.syncing = true
        var offline = false
        do {
            let report = try await backend.syncNow()
            if report.rejected > 0 {
                state.message = UserMessage(kind: .warning, text: "\(report.rejected) change(s) were refused by the server.")
            }
        } catch FieldKitError.Offline {
            offline = true
        } catch {
            show(error, .sync)
        }
        state.sync.syncing = false
        state.sync.offline = offline
        await reload()
    }

    private func reload() async {
        guard let tasks = await attempt(.edit, { [backend] in try backend.myTasks() }),
              let queue = await attempt(.edit, { [backend] in try backend.queueStatus() }) else { return }
        let visit = await attempt(.edit, { [backend] in try backend.openVisit() }) ?? nil
        let plan = await attempt(.edit, { [backend] in try backend.dayPlan() }) ?? nil
        let now = Int64(Date().timeIntervalSince1970 * 1000)
        let route = await Task.detached { [backend] in Self.route(of: tasks, plan: plan, now: now, backend: backend) }.value
        state.tasks = tasks.map(TaskRow.init)
        state.route = route
        state.planned = plan != nil
        state.visit = visit.map { VisitCard(id: $0.id, customerId: $0.customerId, taskId: $0.taskId, startedMs: $0.startedMs) }
        state.sync.pending = queue.outbox.pending
        state.sync.parked = queue.outbox.parked
        state.sync.filesPending = queue.blobsPending
        state.sync.lastSyncMs = queue.lastSyncMs
    }

    /// Runs `call` off the main actor; on failure shows its message and returns nil.
    private func attempt<T: Sendable>(_ action: Action, _ call: @escaping @Sendable () async throws -> T) async -> T? {
        do {
            return try await Task.detached(operation: call).value
        } catch {
            show(error, action)
            return nil
        }
    }

    private func show(_ error: Error, _ action: Action) {
        state.message = userMessage(error, action)
        if let error = error as? FieldKitError, case .Unauthorized = error, action != .login { state.user = nil }
    }

    /// Today's route: the plan's stops in its order when there is a plan, else unfinished
    /// tasks with a place due within a day, soonest first. Stops with a customer get the
    /// engine's navigation links; others an Apple Maps link.
    nonisolated static func route(of tasks: [FieldTask], plan: DayPlan?, now: Int64, backend: RepBackend) -> [RouteStop] {
        let unfinished = tasks.filter { $0.place != nil && ($0.status == .open || $0.status == .inProgress) }
        let ordered: [FieldTask]
        if let plan {
            let byId = Dictionary(unfinished.map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
            ordered = plan.stops.compactMap { byId[$0.taskId] }
        } else {
            let endOfDay = now + dayMs
            ordered = unfinished
                .filter { ($0.deadlineMs ?? endOfDay) <= endOfDay }
                .sorted { ($0.deadlineMs ?? .max) < ($1.deadlineMs ?? .max) }
        }
        return ordered
            .enumerated()
            .compactMap { index, task in
                guard let place = task.place else { return nil }
                var links: [NavigationButton] = []
                if let customerId = task.customerId, let navLinks = try? backend.navigationLinks(customerId: customerId) {
                    links = navLinks.compactMap { link in URL(string: link.url).map { NavigationButton(label: appLabel(link.app), url: $0) } }
                }
                if !links.isEmpty {
                    return RouteStop(
                        order: index + 1, taskId: task.id, title: task.title, address: place.address,
                        latitude: place.point.lat, longitude: place.point.lng, navigation: links
                    )
                }
                var apple = URLComponents(string: "https://maps.apple.com/")
                apple?.queryItems = [
                    URLQueryItem(name: "daddr", value: "\(place.point.lat),\(place.point.lng)"),
                    URLQueryItem(name: "q", value: task.title),
                ]
                if let url = apple?.url { links.append(NavigationButton(label: "Maps", url: url)) }
                return RouteStop(
                    order: index + 1, taskId: task.id, title: task.title, address: place.address,
                    latitude: place.point.lat, longitude: place.point.lng, navigation: links
                )
            }
    }
}
