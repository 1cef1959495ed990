// The rep day's view model: holds RepDayState in a StateFlow, runs every FieldKit call on the
// IO dispatcher, and turns failures into UserMessages. Plain Kotlin (no Android imports): the
// Android app wraps it in an androidx ViewModel and passes viewModelScope.
package com.fieldkit.demo.logic

import com.fieldkit.core.FieldKitException
import com.fieldkit.core.model.DayPlan
import com.fieldkit.core.model.FieldTask
import com.fieldkit.core.model.LocationFix
import com.fieldkit.core.model.NavApp
import com.fieldkit.core.model.TaskStatus
import com.fieldkit.core.model.WgsPoint
import kotlinx.coroutines.CancellationException
import kotlinx.coroutines.CoroutineDispatcher
import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.Job
import kotlinx.coroutines.flow.MutableStateFlow
import kotlinx.coroutines.flow.StateFlow
import kotlinx.coroutines.flow.asStateFlow
import kotlinx.coroutines.flow.update
import kotlinx.coroutines.launch
import kotlinx.coroutines.withContext

/**
 * The rep's day: login, tasks, today's route, sync status; the open visit's SOP is [sop].
 *
 * Create one per screen graph with the scope that outlives configuration changes (Android:
 * `viewModelScope`); call [start] once. Every action returns at once and reports through
 * [state]; the returned [Job] is for tests and previews, the UI ignores it.
 */
class RepDayViewModel(
    private val backend: RepBackend,
    private val scope: CoroutineScope,
    private val io: CoroutineDispatcher = Dispatchers.IO,
    private val now: () -> Long = System::currentTimeMillis,
) {
    private val mutableState = MutableStateFlow(RepDayState())

    /** What the screens render. */
    val state: StateFlow<RepDayState> = mutableState.asStateFlow()

    /** The open visit's SOP steps and forms ([RepDayState.sop]). */
    val sop: VisitSopViewModel = VisitSopViewModel(backend, scope, io, mutableState) { reload() }

    /** Reads the session, tasks and queue from the phone (no network). */
    fun start(): Job = scope.launch {
        val user = attempt(Action.EDIT) { backend.currentUser() }
        mutableState.update { it.copy(user = user, loading = false) }
        if (user != null) reload()
    }

    /** Logs in, then syncs so that the rep's tasks arrive. */
    fun login(username: String, password: String): Job = scope.launch {
        mutableState.update { it.copy(loggingIn = true, message = null) }
        val user = attempt(Action.LOGIN) { backend.login(username.trim(), password) }
        mutableState.update { it.copy(loggingIn = false, user = user ?: it.user) }
        if (user != null) syncAndReload()
    }

    /** "Sync now" and pull-to-refresh: pushes the queue, pulls what is new. */
    fun refresh(): Job = scope.launch { syncAndReload() }

    /** Starts a task (open → in progress); works offline. */
    fun startTask(taskId: String): Job = edit { backend.updateTask(taskId, TaskStatus.IN_PROGRESS, null) }

    /** Marks a task done; works offline. */
    fun finishTask(taskId: String): Job = edit { backend.updateTask(taskId, TaskStatus.DONE, null) }

    /** Replaces a task's notes; works offline. */
    fun saveNotes(taskId: String, notes: String): Job = edit { backend.updateTask(taskId, null, notes) }

    /**
     * Checks in at the customer of task `taskId` with the fix the OS reported, and `note` as
     * the stated reason (asked for when the verdict says so). Shows the verdict either way:
     * accepted, flagged with its reasons, or rejected (nothing stored).
     */
    fun checkIn(taskId: String, fix: LocationFix, note: String? = null): Job = scope.launch {
        val customerId = mutableState.value.tasks.firstOrNull { it.id == taskId }?.customerId
        if (customerId == null) {
            show(UserMessage(MessageKind.ERROR, Texts.NO_CUSTOMER))
            return@launch
        }
        try {
            val checkIn = withContext(io) { backend.checkIn(customerId, taskId, fix, note?.takeIf { it.isNotBlank() }) }
            mutableState.update { it.copy(verdict = verdictCard(taskId, checkIn.assessment), message = null) }
        } catch (e: FieldKitException.Refused) {
            val verdict = e.verdict
            if (verdict != null) {
                mutableState.update { it.copy(verdict = verdictCard(taskId, verdict)) }
            } else {
                show(userMessage(e, Action.EDIT))
            }
        } catch (e: CancellationException) {
            throw e
        } catch (e: Exception) {
            show(userMessage(e, Action.EDIT))
        }
        reload()
    }

    /** Checks out of the open visit; says how long it lasted and which SOP steps were left. */
    fun checkOut(fix: LocationFix): Job = scope.launch {
        val visit = mutableState.value.visit ?: return@launch show(UserMessage(MessageKind.ERROR, Texts.NO_VISIT))
        val result = attempt(Action.EDIT) { backend.checkOut(visit.id, fix) }
        if (result != null) {
            val minutes = result.duration.ms / 60_000
            val missing = result.checkOut.sopMissing.size
            show(
                UserMessage(
                    if (missing == 0) MessageKind.INFO else MessageKind.WARNING,
                    "Checked out after $minutes min." + if (missing > 0) " $missing required step(s) not done." else "",
                ),
            )
            mutableState.update { it.copy(verdict = null, photo = null) }
        }
        reload()
    }

    /**
     * Takes a photo from the camera's JPEG: watermarked (time, place, verification code),
     * signed and queued, in the open visit if there is one. Shows the stamped image and what
     * its watermark proves; when the visit's next SOP step is a photo, marks it done.
     */
    fun takePhoto(jpeg: ByteArray, fix: LocationFix?): Job = scope.launch {
        val visitId = mutableState.value.visit?.id
        val taken = attempt(Action.EDIT) {
            val photo = backend.takePhoto(jpeg, visitId, fix)
            photo to backend.photoFile(photo.sha256)
        }
        if (taken != null) {
            val (photo, file) = taken
            mutableState.update { it.copy(photo = photoCard(photo, file)) }
            if (visitId != null) sop.photoTaken()
        }
        reload()
    }

    /** Plans the rest of today from where the rep is; the route then follows the plan. */
    fun planDay(latitude: Double, longitude: Double): Job = scope.launch {
        val plan = attempt(Action.EDIT) { backend.planMyDay(WgsPoint(latitude, longitude)) }
        if (plan != null && plan.unplanned.isNotEmpty()) {
            show(UserMessage(MessageKind.WARNING, "${plan.unplanned.size} task(s) do not fit in today's plan."))
        }
        reload()
    }

    /** Logs out: back to the login screen; queued work stays on the phone. */
    fun logout(): Job = scope.launch {
        if (attempt(Action.EDIT) { backend.logout() } != null) {
            mutableState.update { RepDayState(loading = false, sync = it.sync) }
        }
    }

    /** The UI showed the message: clear it. */
    fun messageShown() {
        mutableState.update { it.copy(message = null) }
    }

    /** Runs a local change, then refreshes the lists and the queue count. */
    private fun edit(change: () -> Unit): Job = scope.launch {
        attempt(Action.EDIT, change)
        reload()
    }

    private suspend fun syncAndReload() {
        mutableState.update { it.copy(sync = it.sync.copy(syncing = true)) }
        var offline = false
        val report = try {
            withContext(io) { backend.syncNow() }
        } catch (e: FieldKitException.Offline) {
            offline = true
            null
        } catch (e: CancellationException) {
            throw e
        } catch (e: Exception) {
            show(userMessage(e, Action.SYNC))
            if (e is FieldKitException.Unauthorized) mutableState.update { it.copy(user = null) }
            null
        }
        mutableState.update {
            it.copy(
                sync = it.sync.copy(syncing = false, offline = offline),
                message = if (report != null && report.rejected > 0u) {
                    UserMessage(MessageKind.WARNING, "${report.rejected} change(s) were refused by the server.")
                } else {
                    it.message
                },
            )
        }
        reload()
    }

    /** Re-reads tasks, the open visit (and its SOP), today's plan and queue counts from the phone. */
    private suspend fun reload() {
        val tasks = attempt(Action.EDIT) { backend.myTasks() } ?: return
        val queue = attempt(Action.EDIT) { backend.queueStatus() } ?: return
        val visit = attempt(Action.EDIT) { backend.openVisit() }
        val plan = attempt(Action.EDIT) { backend.dayPlan() }
        val route = withContext(io) { routeOf(tasks, plan) }
        mutableState.update {
            it.copy(
                tasks = tasks.map(TaskRow::of),
                route = route,
                planned = plan != null,
                visit = visit?.let { v -> VisitCard(v.id, v.customerId, v.taskId, v.startedMs) },
                sync = it.sync.copy(
                    pending = queue.outbox.pending.toLong(),
                    parked = queue.outbox.parked.toLong(),
                    filesPending = queue.blobsPending.toLong(),
                    lastSyncMs = queue.lastSyncMs,
                ),
            )
        }
        sop.load(visit)
    }

    /**
     * Runs `call` on [io]; on failure shows its message and returns null. Any exception is
     * caught (a bug reads as [Texts.INTERNAL]) so that no FieldKit call can crash the app;
     * cancellation still cancels.
     */
    private suspend fun <T> attempt(action: Action, call: suspend () -> T): T? = try {
        withContext(io) { call() }
    } catch (e: CancellationException) {
        throw e
    } catch (e: Exception) {
        show(userMessage(e, action))
        if (e is FieldKitException.Unauthorized && action != Action.LOGIN) {
            mutableState.update { it.copy(user = null) }
        }
        null
    }

    private fun show(message: UserMessage) {
        mutableState.update { it.copy(message = message) }
    }

    /**
     * Today's route: the plan's stops in its order when there is a plan, else unfinished
     * tasks with a place due within a day, soonest deadline first. Each stop gets the
     * engine's navigation links (map apps, coordinates converted for Chinese maps) when it
     * has a customer, and a plain `geo:` link otherwise.
     */
    private fun routeOf(tasks: List<FieldTask>, plan: DayPlan?): List<RouteStop> {
        val unfinished = tasks.filter {
            it.place != null && (it.status == TaskStatus.OPEN || it.status == TaskStatus.IN_PROGRESS)
        }
        val ordered = if (plan != null) {
            val byId = unfinished.associateBy { it.id }
            plan.stops.mapNotNull { byId[it.taskId] }
        } else {
            val endOfDay = now() + DAY_MS
            unfinished.filter { (it.deadlineMs ?: endOfDay) <= endOfDay }.sortedBy { it.deadlineMs ?: Long.MAX_VALUE }
        }
        return ordered.mapIndexed { index, task ->
            val place = checkNotNull(task.place) { "filtered on a place above" }
            RouteStop(
                order = index + 1,
                taskId = task.id,
                title = task.title,
                address = place.address,
                latitude = place.point.lat,
                longitude = place.point.lng,
                navigation = navigationFor(task) ?: listOf(NavigationButton("Map", geoUri(place.point.lat, place.point.lng, task.title))),
            )
        }
    }

    /** The engine's links to the task's customer, or null (no customer, or not on the phone). */
    private fun navigationFor(task: FieldTask): List<NavigationButton>? {
        val customerId = task.customerId ?: return null
        val links = try {
            backend.navigationLinks(customerId)
        } catch (e: FieldKitException) {
            return null
        }
        return links.map { NavigationButton(appLabel(it.app), it.url, it.androidPackage) }.ifEmpty { null }
    }

    private companion object {
        const val DAY_MS = 24L * 60 * 60 * 1000
    }
}

/** The button label for a map app. */
fun appLabel(app: NavApp): String = when (app) {
    NavApp.AMAP_ANDROID, NavApp.AMAP_IOS -> "Amap"
    NavApp.AMAP_WEB -> "Amap (web)"
    NavApp.BAIDU -> "Baidu Maps"
    NavApp.TENCENT -> "Tencent Maps"
    NavApp.APPLE_MAPS -> "Apple Maps"
    NavApp.GOOGLE_MAPS -> "Google Maps"
}

/** A `geo:` URI (RFC 5870, WGS-84) that any map app on Android opens at the point. */
fun geoUri(latitude: Double, longitude: Double, label: String): String =
    "geo:$latitude,$longitude?q=$latitude,$longitude(" + java.net.URLEncoder.encode(label, Charsets.UTF_8) + ")"
