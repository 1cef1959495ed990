// The small slice of FieldKit the demo's view models use, as an interface, and its one real
// implementation over the generated bindings. View models depend on the interface only, so a
// preview or a test can hand them anything; this repository's tests hand them the real one.
package com.fieldkit.demo.logic

import com.fieldkit.core.AppIdentity
import com.fieldkit.core.CheckInResult
import com.fieldkit.core.CheckOutResult
import com.fieldkit.core.DayPlan
import com.fieldkit.core.FieldKit
import com.fieldkit.core.FieldTask
import com.fieldkit.core.GeoPoint
import com.fieldkit.core.LocationFix
import com.fieldkit.core.NavLink
import com.fieldkit.core.NavMode
import com.fieldkit.core.Photo
import com.fieldkit.core.Platform
import com.fieldkit.core.QueueStatus
import com.fieldkit.core.SyncReport
import com.fieldkit.core.TaskStatus
import com.fieldkit.core.User
import com.fieldkit.core.Visit

/**
 * What the rep-day screens need from FieldKit. Blocking members read or write the local
 * database; suspend members talk to the server. Every member may throw
 * [com.fieldkit.core.FieldKitException]; view models call them off the main thread.
 */
interface RepBackend {
    /** The logged-in user, or null: decides between the login screen and the day. */
    fun currentUser(): User?

    /** Logs in and remembers the session (see [FieldKit.login]). */
    suspend fun login(username: String, password: String): User

    /** Forgets the session; queued work stays queued. */
    fun logout()

    /** Pushes the queue and pulls what is new (see [FieldKit.syncNow]). */
    suspend fun syncNow(): SyncReport

    /** The offline queue's counts and the last sync time. */
    fun queueStatus(): QueueStatus

    /** The rep's tasks, soonest deadline first. */
    fun myTasks(): List<FieldTask>

    /** Moves a task forward and/or replaces its notes; works offline. */
    fun updateTask(taskId: String, status: TaskStatus?, notes: String?): FieldTask

    /** Checks in at a customer; the result carries the verdict (see [FieldKit.checkIn]). */
    fun checkIn(customerId: String, taskId: String?, fix: LocationFix, note: String?): CheckInResult

    /** Checks out of the open visit. */
    fun checkOut(visitId: String, fix: LocationFix): CheckOutResult

    /** The visit the rep has open, or null. */
    fun openVisit(): Visit?

    /** Takes a photo through the watermark-and-sign pipeline. */
    fun takePhoto(jpeg: ByteArray, visitId: String?, fix: LocationFix?): Photo

    /** Plans the rest of today from `position`, with the default options. */
    fun planMyDay(position: GeoPoint): DayPlan

    /** Today's latest plan, or null. */
    fun dayPlan(): DayPlan?

    /** Links to navigate to `customerId`, one per map app, preferred first. */
    fun navigationLinks(customerId: String): List<NavLink>
}

/**
 * [RepBackend] over the real engine: each member forwards to the same-named binding.
 * `identity` names the app to the map apps it opens (Tencent Maps needs the app's referer
 * key; the demo's is a placeholder); `platform` picks their links.
 */
class FieldKitBackend(
    private val kit: FieldKit,
    private val identity: AppIdentity = AppIdentity("FieldKit Demo", "fieldkit", "FIELDKIT-DEMO"),
    private val platform: Platform = Platform.ANDROID,
) : RepBackend {
    override fun currentUser(): User? = kit.currentUser()

    override suspend fun login(username: String, password: String): User = kit.login(username, password)

    override fun logout() = kit.logout()

    override suspend fun syncNow(): SyncReport = kit.syncNow()

    override fun queueStatus(): QueueStatus = kit.queueStatus()

    override fun myTasks(): List<FieldTask> = kit.myTasks()

    override fun updateTask(taskId: String, status: TaskStatus?, notes: String?): FieldTask =
        kit.updateTask(taskId, status, notes)

    override fun checkIn(customerId: String, taskId: String?, fix: LocationFix, note: String?): CheckInResult =
        kit.checkIn(customerId, taskId, fix, note)

    override fun checkOut(visitId: String, fix: LocationFix): CheckOutResult = kit.checkOut(visitId, fix)

    override fun openVisit(): Visit? = kit.openVisit()

    override fun takePhoto(jpeg: ByteArray, visitId: String?, fix: LocationFix?): Photo =
        kit.takePhoto(jpeg, visitId, fix)

    override fun planMyDay(position: GeoPoint): DayPlan = kit.planMyDay(position, null)

    override fun dayPlan(): DayPlan? = kit.dayPlan()

    override fun navigationLinks(customerId: String): List<NavLink> =
        kit.navigationLinks(listOf(customerId), null, NavMode.DRIVE, identity, platform, null)
}
