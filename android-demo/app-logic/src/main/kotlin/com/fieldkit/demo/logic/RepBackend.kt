// The small slice of FieldKit the demo's view models use, as an interface, and its one real
// implementation over the generated bindings. View models depend on the interface only, so a
// preview or a test can hand them anything; this repository's tests hand them the real one.
package com.fieldkit.demo.logic

import com.fieldkit.core.FieldKit
import com.fieldkit.core.FormResponse
import com.fieldkit.core.NavLink
import com.fieldkit.core.Photo
import com.fieldkit.core.engine.CheckedOut
import com.fieldkit.core.engine.SyncReport
import com.fieldkit.core.engine.SyncStatus
import com.fieldkit.core.model.AppIdentity
import com.fieldkit.core.model.CheckIn
import com.fieldkit.core.model.DayPlan
import com.fieldkit.core.model.FieldTask
import com.fieldkit.core.model.FormTemplate
import com.fieldkit.core.model.LocationFix
import com.fieldkit.core.model.NavMode
import com.fieldkit.core.model.Platform
import com.fieldkit.core.model.SopTemplate
import com.fieldkit.core.model.TaskStatus
import com.fieldkit.core.model.User
import com.fieldkit.core.model.Visit
import com.fieldkit.core.model.WgsPoint

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
    fun queueStatus(): SyncStatus

    /** The rep's tasks, soonest deadline first. */
    fun myTasks(): List<FieldTask>

    /** Moves a task forward and/or replaces its notes; works offline. */
    fun updateTask(taskId: String, status: TaskStatus?, notes: String?): FieldTask

    /** Checks in at a customer; the check-in carries the verdict (see [FieldKit.checkIn]). */
    fun checkIn(customerId: String, taskId: String?, fix: LocationFix, note: String?): CheckIn

    /** Checks out of the open visit. */
    fun checkOut(visitId: String, fix: LocationFix): CheckedOut

    /** The visit the rep has open, or null. */
    fun openVisit(): Visit?

    /** Takes a photo through the watermark-and-sign pipeline. */
    fun takePhoto(jpeg: ByteArray, visitId: String?, fix: LocationFix?): Photo

    /** The path of the photo's stamped (watermarked, signed) JPEG on this phone, or null. */
    fun photoFile(sha256: String): String?

    /** Plans the rest of today from `position`, with the default options. */
    fun planMyDay(position: WgsPoint): DayPlan

    /** Today's latest plan, or null. */
    fun dayPlan(): DayPlan?

    /** Links to navigate to `customerId`, one per map app, preferred first. */
    fun navigationLinks(customerId: String): List<NavLink>

    /** The SOP visit `visitId` follows, or null (no task, or no SOP for its kind). */
    fun visitSop(visitId: String): SopTemplate?

    /** The form templates on this phone, every version. */
    fun formTemplates(): List<FormTemplate>

    /** The form responses on this phone. */
    fun formResponses(): List<FormResponse>

    /** Starts a response to a template version, in `visitId`. */
    fun startForm(templateId: String, templateVersion: UInt, visitId: String?): FormResponse

    /** Sets a response's values (JSON text per field key), and submits it if `submit`. */
    fun fillForm(responseId: String, values: Map<String, String>, submit: Boolean): FormResponse

    /** Marks SOP step `completeStep` of a visit done. */
    fun updateVisit(visitId: String, completeStep: UInt): Visit
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

    override fun queueStatus(): SyncStatus = kit.queueStatus()

    override fun myTasks(): List<FieldTask> = kit.myTasks()

    override fun updateTask(taskId: String, status: TaskStatus?, notes: String?): FieldTask =
        kit.updateTask(taskId, status, notes)

    override fun checkIn(customerId: String, taskId: String?, fix: LocationFix, note: String?): CheckIn =
        kit.checkIn(customerId, taskId, fix, note)

    override fun checkOut(visitId: String, fix: LocationFix): CheckedOut = kit.checkOut(visitId, fix)

    override fun openVisit(): Visit? = kit.openVisit()

    override fun takePhoto(jpeg: ByteArray, visitId: String?, fix: LocationFix?): Photo =
        kit.takePhoto(jpeg, visitId, fix)

    override fun photoFile(sha256: String): String? = kit.photoFile(sha256)

    override fun planMyDay(position: WgsPoint): DayPlan = kit.planMyDay(position, null)

    override fun dayPlan(): DayPlan? = kit.dayPlan()

    override fun navigationLinks(customerId: String): List<NavLink> =
        kit.navigationLinks(listOf(customerId), null, NavMode.DRIVE, identity, platform, null)

    override fun visitSop(visitId: String): SopTemplate? = kit.visitSop(visitId)

    override fun formTemplates(): List<FormTemplate> = kit.formTemplates()

    override fun formResponses(): List<FormResponse> = kit.formResponses()

    override fun startForm(templateId: String, templateVersion: UInt, visitId: String?): FormResponse =
        kit.startForm(templateId, templateVersion, visitId)

    override fun fillForm(responseId: String, values: Map<String, String>, submit: Boolean): FormResponse =
        kit.fillForm(responseId, values, submit)

    override fun updateVisit(visitId: String, completeStep: UInt): Visit = kit.updateVisit(visitId, completeStep, null)
}
