// The rep-day screen's state: immutable values the UI renders as they are. Nothing here
// talks to FieldKit; RepDayViewModel builds these from the bindings' records.
package com.fieldkit.demo.logic

import com.fieldkit.core.model.FieldTask
import com.fieldkit.core.model.TaskKind
import com.fieldkit.core.model.TaskStatus
import com.fieldkit.core.model.User

/** Everything the rep-day screens show, as one immutable value. */
data class RepDayState(
    /** The logged-in user; null shows the login screen. */
    val user: User? = null,
    /** True until the first read of the local database finished (show a splash). */
    val loading: Boolean = true,
    /** A login is in flight: disable the login button. */
    val loggingIn: Boolean = false,
    /** The rep's tasks, soonest deadline first. */
    val tasks: List<TaskRow> = emptyList(),
    /** Today's route: the open tasks that have a place, in visiting order. */
    val route: List<RouteStop> = emptyList(),
    /** True when the route follows today's plan (else: deadline order, "Plan my day" shown). */
    val planned: Boolean = false,
    /** The visit the rep is checked in to, or null (show "Check in" on tasks). */
    val visit: VisitCard? = null,
    /** The verdict of the last check-in attempt, shown until the next one; null: none yet. */
    val verdict: VerdictCard? = null,
    /** The last photo taken in this session, with what its watermark proves. */
    val photo: PhotoCard? = null,
    /** The open visit's SOP: its steps and the form being filled; null without one. */
    val sop: SopState? = null,
    /** The status line: queue counts, last sync, offline banner. */
    val sync: SyncLine = SyncLine(),
    /** The message to show once (snackbar or alert); null when there is none. */
    val message: UserMessage? = null,
)

/** One row of the task list, with the buttons it offers. */
data class TaskRow(
    /** Task id (a UUID): what actions take. */
    val id: String,
    /** Title shown in the list. */
    val title: String,
    /** What kind of work it is. */
    val kind: TaskKind,
    /** Where it stands. */
    val status: TaskStatus,
    /** Deadline, Unix milliseconds, or null. */
    val deadlineMs: Long?,
    /** Postal address, empty when the task has no place. */
    val address: String,
    /** Notes from the manager or the rep. */
    val notes: String,
    /** Show a "Start" button (the task is open). */
    val canStart: Boolean,
    /** Show a "Done" button (the task is open or in progress). */
    val canFinish: Boolean,
    /** The customer to check in at, or null (no "Check in" button). */
    val customerId: String?,
) {
    companion object {
        /** The row for one of the bindings' tasks. */
        fun of(task: FieldTask): TaskRow = TaskRow(
            id = task.id,
            title = task.title,
            kind = task.kind,
            status = task.status,
            deadlineMs = task.deadlineMs,
            address = task.place?.address.orEmpty(),
            notes = task.notes,
            canStart = task.status == TaskStatus.OPEN,
            canFinish = task.status == TaskStatus.OPEN || task.status == TaskStatus.IN_PROGRESS,
            customerId = task.customerId,
        )
    }
}

/** One stop of today's route, with its navigation buttons. */
data class RouteStop(
    /** 1-based position in the route. */
    val order: Int,
    /** The task visited here. */
    val taskId: String,
    /** Title shown on the stop. */
    val title: String,
    /** Postal address (may be empty). */
    val address: String,
    /** Latitude, WGS-84. */
    val latitude: Double,
    /** Longitude, WGS-84. */
    val longitude: Double,
    /** Buttons that open a map app at this stop, first one preferred. */
    val navigation: List<NavigationButton>,
)

/** The open visit. */
data class VisitCard(
    /** Visit id, for check-out and photos. */
    val id: String,
    /** The customer visited. */
    val customerId: String,
    /** The task the visit is for, if any. */
    val taskId: String?,
    /** Check-in time, Unix milliseconds. */
    val startedMs: Long,
)

/** A check-in verdict as the rep sees it. */
data class VerdictCard(
    /** The task the check-in was for: what "check in with this reason" retries. */
    val taskId: String,
    /** Accepted, flagged or rejected: the card's colour. */
    val outcome: Outcome,
    /** Headline, e.g. "Checked in — flagged for your manager". */
    val title: String,
    /** One line per reason, e.g. "Too far from the customer: 312 m (limit 200 m)". */
    val reasons: List<String>,
    /** Rejected, but a stated reason lets it through: show the reason field and retry. */
    val needsReason: Boolean,
)

/** How a check-in went. */
enum class Outcome {
    /** Checked in, nothing to review. */
    ACCEPTED,

    /** Checked in, with reasons for the manager to review. */
    FLAGGED,

    /** Not checked in: nothing was stored. */
    REJECTED,
}

/** The photo just taken: what its watermark and signature prove, and the image itself. */
data class PhotoCard(
    /** Photo id. */
    val id: String,
    /** The code printed in the watermark, which the server can verify. */
    val verificationCode: String,
    /** Signed by the device key. */
    val signed: Boolean,
    /** Pixel size after the pipeline. */
    val width: Int,
    /** Pixel size after the pipeline. */
    val height: Int,
    /** Bytes stored and queued for upload. */
    val sizeBytes: Long,
    /** Path of the stamped (watermarked, signed) JPEG on this phone, to show; null if not held. */
    val file: String?,
)

/** A button that hands the stop to a map app. */
data class NavigationButton(
    /** Button label, e.g. "Map". */
    val label: String,
    /** The URI the platform opens (Android intent data, iOS `openURL`). */
    val uri: String,
    /** The Android app that handles it, to target the intent (null: any). */
    val androidPackage: String? = null,
)

/** The sync status line. */
data class SyncLine(
    /** Changes waiting on this phone to be sent. */
    val pending: Long = 0,
    /** Changes the server refused for good (shown as a warning with a count). */
    val parked: Long = 0,
    /** Photos and files still to upload. */
    val filesPending: Long = 0,
    /** Device time of the last successful sync, Unix milliseconds, or null (never). */
    val lastSyncMs: Long? = null,
    /** The last sync could not reach the server: show the offline banner. */
    val offline: Boolean = false,
    /** A sync is running: show a progress indicator, disable "Sync now". */
    val syncing: Boolean = false,
)

/** How a message is shown. */
enum class MessageKind {
    /** Something worked (short snackbar). */
    INFO,

    /** Nothing is lost but the rep should know (e.g. offline). */
    WARNING,

    /** The action failed; the text says what to do. */
    ERROR,
}

/** A message for the rep, already worded for the screen. */
data class UserMessage(
    /** How to show it. */
    val kind: MessageKind,
    /** The text shown. */
    val text: String,
)
