// The SwiftUI screens (mirror android-demo's RepDayScreens.kt): login, then the day (tasks,
// route) under a sync status line with the offline banner. They render RepDayState and call
// RepDayViewModel's actions, nothing else.
import FieldKitCore
import SwiftUI

/// What the screens need from the phone: the position and the camera (the app supplies them).
public struct Device {
    /// Reads the current position, then calls the closure with it (not at all without one).
    public var withFix: (@escaping (LocationFix) -> Void) -> Void
    /// Shows the camera; the app passes the JPEG to `RepDayViewModel.takePhoto`.
    public var takePhoto: () -> Void

    public init(withFix: @escaping (@escaping (LocationFix) -> Void) -> Void, takePhoto: @escaping () -> Void) {
        self.withFix = withFix
        self.takePhoto = takePhoto
    }
}

/// The whole app: a spinner, the login screen, or the day. Messages show as alerts.
public struct RepDayRootView: View {
    @ObservedObject var model: RepDayViewModel
    let device: Device

    public init(model: RepDayViewModel, device: Device) {
        self.model = model
        self.device = device
    }

    public var body: some View {
        Group {
            if model.state.loading {
                ProgressView()
            } else if model.state.user == nil {
                LoginView(loggingIn: model.state.loggingIn) { user, password in
                    Task { await model.login(username: user, password: password) }
                }
            } else {
                DayView(model: model, device: device)
            }
        }
        .alert(
            model.state.message?.text ?? "",
            isPresented: Binding(get: { model.state.message != nil }, set: { if !$0 { model.messageShown() } })
        ) {
            Button("OK") { model.messageShown() }
        }
        .task { await model.start() }
    }
}

/// Username, password, and a button disabled while a login is in flight.
struct LoginView: View {
    let loggingIn: Bool
    let onLogin: (String, String) -> Void
    @State private var username = ""
    @State private var password = ""

    var body: some View {
        Form {
            Section("FieldKit") {
                TextField("Username", text: $username)
                    .textContentType(.username)
                    .autocorrectionDisabled()
                SecureField("Password", text: $password)
                    .textContentType(.password)
                Button(loggingIn ? "Logging in…" : "Log in") { onLogin(username, password) }
                    .disabled(loggingIn)
            }
        }
    }
}

/// The day: status line, then Tasks / Route tabs.
struct DayView: View {
    @ObservedObject var model: RepDayViewModel
    let device: Device
    @State private var tab = 0

    var body: some View {
        NavigationStack {
            VStack(spacing: 0) {
                SyncStatusView(sync: model.state.sync) { Task { await model.refresh() } }
                VisitPanel(model: model, device: device)
                Picker("", selection: $tab) {
                    Text("Tasks (\(model.state.tasks.count))").tag(0)
                    Text("Route (\(model.state.route.count))").tag(1)
                }
                .pickerStyle(.segmented)
                .padding(.horizontal)
                if tab == 0 {
                    TaskListView(tasks: model.state.tasks, model: model, device: device)
                } else {
                    RouteListView(route: model.state.route, planned: model.state.planned) {
                        device.withFix { fix in
                            Task { await model.planDay(latitude: fix.point.lat, longitude: fix.point.lng) }
                        }
                    }
                }
            }
            .navigationTitle(model.state.user?.displayName ?? "")
            .toolbar {
                Button("Log out") { Task { await model.logout() } }
            }
            .refreshable { await model.refresh() }
        }
    }
}

/// Offline banner, queue counts, last sync and "Sync now".
struct SyncStatusView: View {
    let sync: SyncLine
    let onSync: () -> Void

    var body: some View {
        VStack(alignment: .leading, spacing: 4) {
            if sync.offline {
                Text("Offline — your work is saved and will be sent when you're back online.")
                    .frame(maxWidth: .infinity, alignment: .leading)
                    .padding(8)
                    .background(Color.orange.opacity(0.25))
            }
            HStack {
                VStack(alignment: .leading) {
                    Text("\(sync.pending) waiting to send" + (sync.filesPending > 0 ? ", \(sync.filesPending) photos" : ""))
                    if sync.parked > 0 { Text("\(sync.parked) refused by the server").foregroundColor(.red) }
                    Text("Last sync: " + (sync.lastSyncMs.map { Date(timeIntervalSince1970: Double($0) / 1000).formatted(date: .omitted, time: .shortened) } ?? "never"))
                        .font(.caption)
                }
                Spacer()
                if sync.syncing { ProgressView() } else { Button("Sync now", action: onSync) }
            }
            .padding(.horizontal)
        }
        .padding(.vertical, 8)
    }
}

/// The check-in verdict (with a reason field when a stated reason would let it through), and
/// while checked in: the photo button, the last photo's watermark facts, and check-out.
struct VisitPanel: View {
    @ObservedObject var model: RepDayViewModel
    let device: Device
    @State private var reason = ""

    var body: some View {
        VStack(alignment: .leading, spacing: 6) {
            if let verdict = model.state.verdict {
                VStack(alignment: .leading, spacing: 2) {
                    Text(verdict.title).font(.subheadline.bold())
                    ForEach(verdict.reasons, id: \.self) { Text("• \($0)").font(.caption) }
                    if verdict.needsReason {
                        TextField("Why are you checking in from here?", text: $reason)
                        Button("Check in with this reason") { retry(verdict.taskId) }.disabled(reason.isEmpty)
                    }
                }
                .padding(8)
                .frame(maxWidth: .infinity, alignment: .leading)
                .background(color(verdict.outcome).opacity(0.2))
            }
            if let visit = model.state.visit {
                Text("Checked in since " + Date(timeIntervalSince1970: Double(visit.startedMs) / 1000).formatted(date: .omitted, time: .shortened))
                if let photo = model.state.photo {
                    // The bindings return the stored photo's facts, not its bytes: show the
                    // verification code the watermark carries.
                    Text("Photo \(photo.width)×\(photo.height), \(photo.sizeBytes / 1024) KB · code \(photo.verificationCode)" + (photo.signed ? " · signed" : " · unsigned"))
                        .font(.caption)
                }
                HStack {
                    Button("Take photo", action: device.takePhoto).buttonStyle(.borderedProminent)
                    Button("Check out") { device.withFix { fix in Task { await model.checkOut(fix: fix) } } }
                        .buttonStyle(.bordered)
                }
            }
        }
        .padding(.horizontal)
    }

    private func retry(_ taskId: String) {
        let note = reason
        device.withFix { fix in Task { await model.checkIn(taskId: taskId, fix: fix, note: note) } }
    }

    private func color(_ outcome: CheckInOutcome) -> Color {
        switch outcome {
        case .accepted: return .green
        case .flagged: return .orange
        case .rejected: return .red
        }
    }
}

/// The rep's tasks with Start / Check in / Done buttons.
struct TaskListView: View {
    let tasks: [TaskRow]
    @ObservedObject var model: RepDayViewModel
    let device: Device

    var body: some View {
        List {
            if tasks.isEmpty { Text("No tasks. Pull down to sync.") }
            ForEach(tasks) { task in
                VStack(alignment: .leading, spacing: 4) {
                    Text(task.title).font(.headline)
                    Text("\(String(describing: task.status)) · \(task.address)").font(.caption)
                    HStack {
                        if task.canStart { Button("Start") { Task { await model.startTask(task.id) } }.buttonStyle(.bordered) }
                        if task.canFinish, task.customerId != nil, model.state.visit == nil {
                            Button("Check in") {
                                device.withFix { fix in Task { await model.checkIn(taskId: task.id, fix: fix) } }
                            }
                            .buttonStyle(.bordered)
                        }
                        if task.canFinish { Button("Done") { Task { await model.finishTask(task.id) } }.buttonStyle(.borderedProminent) }
                    }
                }
            }
        }
    }
}

/// Today's stops in order, each with its navigation buttons; "Plan my day" on top.
struct RouteListView: View {
    let route: [RouteStop]
    let planned: Bool
    let onPlan: () -> Void
    @Environment(\.openURL) private var openURL

    var body: some View {
        List {
            Button(planned ? "Plan again from here" : "Plan my day", action: onPlan)
            if route.isEmpty { Text("Nothing left to visit today.") }
            ForEach(route) { stop in
                VStack(alignment: .leading, spacing: 4) {
                    Text("\(stop.order). \(stop.title)").font(.headline)
                    Text(stop.address).font(.caption)
                    HStack {
                        ForEach(stop.navigation, id: \.self) { button in
                            Button(button.label) { openURL(button.url) }.buttonStyle(.bordered)
                        }
                    }
                }
            }
        }
    }
}
