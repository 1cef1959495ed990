// The offline queue against a real outage: the test runs a server of its own, stops it while
// the rep works, sees the queue grow and syncNow throw Offline, starts it again at the same
// address and sees the queue drain, the observer hear it, and the server hold each fact once.
package com.fieldkit.core.test

import com.fieldkit.core.FieldKit
import com.fieldkit.core.FieldKitException
import com.fieldkit.core.SyncFailure
import com.fieldkit.core.SyncObserver
import com.fieldkit.core.engine.SyncReport
import com.fieldkit.core.engine.SyncStatus
import com.fieldkit.core.model.LocationFix
import com.fieldkit.core.model.LocationProvider
import com.fieldkit.core.model.TaskStatus
import com.fieldkit.core.model.WgsPoint
import kotlinx.coroutines.runBlocking
import java.nio.file.Files
import java.util.concurrent.CopyOnWriteArrayList

/** The shop of the outage test (Shanghai, WGS-84). */
private const val SHOP_LAT = 31.2304
private const val SHOP_LNG = 121.4737

/** A fix at the shop, taken now, 10 m accurate. */
private fun fixAtShop(): LocationFix =
    LocationFix(WgsPoint(SHOP_LAT, SHOP_LNG), 10.0, System.currentTimeMillis(), LocationProvider.GNSS, false)

/** Items waiting in the offline queue. */
private fun FieldKit.pending(): Long = queueStatus().outbox.pending.toLong()

/** Records every callback, in order. */
private class RecordingObserver : SyncObserver {
    /** The pending count at the start of each scheduled sync. */
    val progress = CopyOnWriteArrayList<Long>()
    val reports = CopyOnWriteArrayList<SyncReport>()
    val failures = CopyOnWriteArrayList<SyncFailure>()

    override fun onProgress(queue: SyncStatus) {
        progress.add(queue.outbox.pending.toLong())
    }

    override fun onFinished(report: SyncReport) {
        reports.add(report)
    }

    override fun onFailed(failure: SyncFailure) {
        failures.add(failure)
    }
}

/** Waits up to `seconds` for `condition`; fails with `what` if it never holds. */
private fun waitFor(seconds: Long, what: () -> String, condition: () -> Boolean) {
    val deadline = System.nanoTime() + seconds * 1_000_000_000L
    while (!condition()) {
        check(System.nanoTime() < deadline) { "after $seconds s: ${what()}" }
        Thread.sleep(20)
    }
}

/** How many times `needle` occurs in `haystack`. */
private fun occurrences(haystack: String, needle: String): Int = haystack.windowed(needle.length).count { it == needle }

fun offlineQueueTests(): List<TestCase> = listOf(
    TestCase("the queue grows while the server is down, drains when it is back, the observer hears it and the server holds each fact once") {
        OwnServer("outage", TestEnv.password).use { server ->
            server.start()
            val admin = ServerApi.login(server.url, server.org, "admin", server.password)
            admin.setWorkingAllDay()
            val customerId = admin.createCustomer("断网便利店", SHOP_LAT, SHOP_LNG, server.repId)
            val taskId = admin.createTask("断网拜访", server.repId, SHOP_LAT, SHOP_LNG, System.currentTimeMillis() + 6 * 3_600_000L, customerId)
            val db = Files.createTempDirectory(TestEnv.phonesDir, "phone-").resolve("fieldkit.db")
            FieldKit.open(db.toString(), server.url, server.org).use { kit ->
                runBlocking { kit.login("rep", server.password); kit.syncNow() }
                check(kit.myTasks().any { it.id == taskId }) { "the task did not arrive" }
                val observer = RecordingObserver()
                kit.observeSync(observer, 50L, 60_000L).use {
                    // The server goes down; the rep works on.
                    server.stop()
                    val pending = mutableListOf(kit.pending())
                    assertEquals(0L, pending.last(), "pending before the outage")
                    kit.updateTask(taskId, TaskStatus.IN_PROGRESS, "到店，网络断了")
                    pending += kit.pending()
                    val visitId = kit.checkIn(customerId, taskId, fixAtShop(), null).visitId
                    pending += kit.pending()
                    kit.checkOut(visitId, fixAtShop())
                    pending += kit.pending()
                    check(pending.zipWithNext().all { (a, b) -> b > a }) { "the queue did not grow with each write: $pending" }
                    // A second change to the task joins its queued change instead of adding one.
                    kit.updateTask(taskId, TaskStatus.DONE, "离线完成")
                    val queued = kit.pending()
                    assertEquals(pending.last(), queued, "pending after a second change to the queued task")

                    val offline = assertThrows<FieldKitException.Offline> { runBlocking { kit.syncNow() } }
                    check(offline.detail.isNotEmpty()) { "empty detail" }
                    assertEquals(queued, kit.pending(), "pending after the failed syncNow")
                    // The schedule tried after the writes, failed as offline, and pushed nothing.
                    waitFor(10, { "no failure reported (progress ${observer.progress})" }) { observer.failures.isNotEmpty() }
                    check(observer.failures.all { it.offline }) { "failures not offline: ${observer.failures}" }
                    check(observer.progress.all { it in 1L..queued }) { "progress while offline: ${observer.progress}" }
                    assertEquals(0, observer.reports.size, "syncs finished while the server was down")

                    // The server comes back at the same address; the app says the network is back.
                    val progressBefore = observer.progress.size
                    server.start()
                    kit.networkAvailable()
                    // Until the drain's report arrives: the queue empties when the server acks,
                    // before that sync's report (a scheduled sync may also finish first having
                    // sent nothing, its items still waiting out their retry delay).
                    val drainedSoFar = { observer.reports.sumOf { (it.pushed + it.alreadyStored).toLong() } }
                    waitFor(30, { "pending ${kit.pending()}, reports ${observer.reports}, failures ${observer.failures}" }) {
                        kit.pending() == 0L && drainedSoFar() >= queued
                    }
                    val progressAfter = observer.progress.drop(progressBefore)
                    check(progressAfter.isNotEmpty() && progressAfter.first() == queued) {
                        "progress after the restart: $progressAfter (queued $queued)"
                    }
                    assertEquals(queued, drainedSoFar(), "items pushed by the drain (${observer.reports})")
                    assertEquals(0, observer.reports.sumOf { it.rejected.toInt() }, "rejected (parked: ${kit.parkedItems()})")

                    // Exactly once on the server: one check-in and one check-out of the visit,
                    // the task done with the offline notes, and nothing left to push.
                    val checkIns = admin.get("/v1/facts?kind=check_in")
                    assertEquals(1, occurrences(checkIns, "\"visit_id\":\"$visitId\""), "check-ins of the visit on the server")
                    val checkOuts = admin.get("/v1/facts?kind=check_out")
                    assertEquals(1, occurrences(checkOuts, "\"visit_id\":\"$visitId\""), "check-outs of the visit on the server")
                    val task = admin.get("/v1/tasks/$taskId")
                    check(task.contains("\"status\":\"done\"") && task.contains("离线完成")) { "the task on the server: $task" }
                    val again = runBlocking { kit.syncNow() }
                    assertEquals(0u, again.pushed + again.alreadyStored, "pushed by a second sync ($again)")
                }
            }
        }
    },
)
