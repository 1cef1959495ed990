// The rep-day screen's state: plain values the SwiftUI views render as they are (mirrors
// android-demo's RepDayState.kt).
import FieldKitCore
import Foundation

/// Everything the rep-day screens show.
public struct RepDayState: Equatable {
    /// The logged-in user; nil shows the login screen.
    public var user: User?
    /// True until the first read of the local database finished.
    public var loading = true
    /// A login is in flight: disable the login button.
    public var loggingIn = false
    /// The rep's tasks, soonest deadline first.
    public var tasks: [TaskRow] = []
    /// Today's route: the open tasks that have a place, in visiting order.
    public var route: [RouteStop] = []
    /// True when the route follows today's plan.
    public var planned = false
    /// The visit the rep is checked in to, or nil.
    public var visit: VisitCard?
    /// The verdict of the last check-in attempt; nil: none yet.
    public var verdict: VerdictCard?
    /// The last photo taken in this session, with what its watermark proves.
    public var photo: PhotoCard?
    /// The status line: queue counts, last sync, offline banner.
    public var sync = SyncLine()
    /// The message to show once (alert); nil when there is none.
    public var message: UserMessage?

    public init() {}
}

/// One row of the task list, with the buttons it offers.
public struct TaskRow: Equatable, Identifiable {
    public let id: String
    public let title: String
    public let status: TaskStatus
    public let deadlineMs: Int64?
    public let address: String
    /// Show a "Start" button (the task is open).
    public let canStart: Bool
    /// Show a "Done" button (open or in progress).
    public let canFinish: Bool
    /// The customer to check in at, or nil (no "Check in" button).
    public let customerId: String?

    init(_ task: FieldTask) {
        id = task.id
        title = task.title
        status = task.status
        deadlineMs = task.deadlineMs
        address = task.place?.address ?? ""
        canStart = task.status == .open
        canFinish = task.status == .open || task.status == .inProgress
        customerId = task.customerId
    }
}

/// One stop of today's route, with its navigation buttons.
public struct RouteStop: Equatable, Identifiable {
    public var id: String { taskId }
    /// 1-based position in the route.
    public let order: Int
    public let taskId: String
    public let title: String
    public let address: String
    public let latitude: Double
    public let longitude: Double
    /// Buttons that open a map app at this stop, first one preferred.
    public let navigation: [NavigationButton]
}

/// The open visit.
public struct VisitCard: Equatable {
    public let id: String
    public let customerId: String
    public let taskId: String?
    public let startedMs: Int64
}

/// A check-in verdict as the rep sees it.
public struct VerdictCard: Equatable {
    /// The task the check-in was for: what "check in with this reason" retries.
    public let taskId: String
    /// Accepted, flagged or rejected: the card's colour.
    public let outcome: CheckInOutcome
    /// Headline, e.g. "Checked in — flagged for your manager".
    public let title: String
    /// One line per reason, e.g. "Too far from the customer: 312 m (limit 200 m)".
    public let reasons: [String]
    /// Rejected, but a stated reason lets it through: show the reason field and retry.
    public let needsReason: Bool
}

/// How a check-in attempt ended, without the details `Verdict`'s cases carry.
public enum CheckInOutcome: Equatable {
    /// Checked in, nothing to report.
    case accepted
    /// Checked in, with reasons for the rep's manager.
    case flagged
    /// Not checked in (nothing stored).
    case rejected
}

/// The photo just taken: what its watermark and signature prove.
public struct PhotoCard: Equatable {
    public let id: String
    /// The code printed in the watermark, which the server can verify.
    public let verificationCode: String
    public let signed: Bool
    public let width: UInt32
    public let height: UInt32
    public let sizeBytes: Int64
}

/// A button that hands the stop to a map app.
public struct NavigationButton: Equatable, Hashable {
    public let label: String
    public let url: URL
}

/// The sync status line.
public struct SyncLine: Equatable {
    /// Changes waiting on this phone to be sent (`SyncStatus.outbox.pending`).
    public var pending: UInt64 = 0
    /// Changes the server refused for good (`SyncStatus.outbox.parked`).
    public var parked: UInt64 = 0
    /// Photos and files still to upload (`SyncStatus.blobsPending`).
    public var filesPending: UInt64 = 0
    /// Device time of the last successful sync, Unix milliseconds; nil: never.
    public var lastSyncMs: Int64?
    /// The last sync could not reach the server: show the offline banner.
    public var offline = false
    /// A sync is running.
    public var syncing = false
}

/// How a message is shown.
public enum MessageKind: Equatable { case info, warning, error }

/// A message for the rep, already worded for the screen.
public struct UserMessage: Equatable, Identifiable {
    public var id: String { text }
    public let kind: MessageKind
    public let text: String
}
