// The rep-day view model over the real bindings and the real server started by
// scripts/test-kotlin: what the screens show after login, offline and back online, for a
// wrong password, for check-in verdicts, a photo (and its stamped image), a planned route and
// logout. Uses the bindings tests' runner, environment and dispatcher session (ServerApi).
// Its main also runs the form-answer tests (FormAnswersTests.kt) and the SOP screen's
// (VisitSopViewModelTests.kt), which share the phone and the shop defined here.
package com.fieldkit.demo.logic

import com.fieldkit.core.FieldKit
import com.fieldkit.core.model.LocationFix
import com.fieldkit.core.model.LocationProvider
import com.fieldkit.core.model.TaskStatus
import com.fieldkit.core.model.WgsPoint
import com.fieldkit.core.test.ServerApi
import com.fieldkit.core.test.TestCase
import com.fieldkit.core.test.TestEnv
import com.fieldkit.core.test.assertEquals
import com.fieldkit.core.test.check
import com.fieldkit.core.test.runTests
import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.SupervisorJob
import kotlinx.coroutines.cancel
import kotlinx.coroutines.runBlocking
import java.nio.file.Files

/** The admin's HTTP session, made once. */
internal val admin by lazy { ServerApi.login(TestEnv.serverUrl, TestEnv.org, TestEnv.admin, TestEnv.password) }

/** Dispatches a task due within the day to the test rep and returns its id. */
private fun dispatch(title: String): String =
    admin.createTask(title, TestEnv.repId, 31.2304, 121.4737, System.currentTimeMillis() + 3_600_000L)

/** The shop of the check-in tests (WGS-84), a customer of the test rep, made once. */
private const val SHOP_LAT = 31.2304
private const val SHOP_LNG = 121.4737
private val shopId: String by lazy {
    admin.setWorkingAllDay()
    admin.createCustomer("演示 便利店", SHOP_LAT, SHOP_LNG, TestEnv.repId)
}

/** Dispatches a visit to the shop due within the day. */
internal fun dispatchAtShop(title: String): String =
    admin.createTask(title, TestEnv.repId, SHOP_LAT, SHOP_LNG, System.currentTimeMillis() + 3_600_000L, shopId)

/** A fix taken now, `northM` metres north of the shop, 10 m accurate. */
internal fun fixNear(northM: Double): LocationFix =
    LocationFix(WgsPoint(SHOP_LAT + northM / 111_320.0, SHOP_LNG), 10.0, System.currentTimeMillis(), LocationProvider.GNSS, false)

/** A real camera JPEG and a font with CJK glyphs for the watermark. */
internal val storefrontJpeg: ByteArray by lazy { Files.readAllBytes(java.nio.file.Path.of("tests/fixtures/photos/storefront.jpg")) }
internal val cjkFont: ByteArray by lazy { Files.readAllBytes(java.nio.file.Path.of("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc")) }

/** A phone: a fresh database, the real FieldKit on `serverUrl`, and a view model over it. */
internal class Phone(serverUrl: String = TestEnv.serverUrl) : AutoCloseable {
    private val db = Files.createTempDirectory(TestEnv.phonesDir, "demo-").resolve("fieldkit.db")
    val kit: FieldKit = FieldKit.open(db.toString(), serverUrl, TestEnv.org)
    private val scope = CoroutineScope(SupervisorJob() + Dispatchers.Default)
    val vm = RepDayViewModel(FieldKitBackend(kit), scope)

    /** Runs an action to completion and returns the state it left. */
    fun run(action: RepDayViewModel.() -> kotlinx.coroutines.Job): RepDayState = runBlocking {
        vm.action().join()
        vm.state.value
    }

    override fun close() {
        scope.cancel()
        kit.close()
    }
}

fun main() {
    runTests(formAnswersTests() + repDayViewModelTests() + visitSopTests())
}

/** The rep day's screens over the real engine and server. */
private fun repDayViewModelTests(): List<TestCase> =
    listOf(
        TestCase("a fresh phone starts on the login screen with an empty queue") {
            Phone().use { phone ->
                val state = phone.run { start() }
                assertEquals(null, state.user, "user")
                assertEquals(false, state.loading, "loading")
                assertEquals(0L, state.sync.pending, "pending")
                assertEquals(null, state.sync.lastSyncMs, "last sync")
            }
        },
        TestCase("after login the dispatched task appears in the list and on today's route") {
            val taskId = dispatch("演示 拜访 客户")
            Phone().use { phone ->
                phone.run { start() }
                val state = phone.run { login(TestEnv.rep, TestEnv.password) }
                assertEquals(TestEnv.rep, state.user?.username, "user")
                assertEquals(null, state.message, "message")
                val row = state.tasks.singleOrNull { it.id == taskId } ?: error("task not listed: ${state.tasks}")
                assertEquals("演示 拜访 客户", row.title, "title")
                check(row.canStart && row.canFinish) { "buttons of an open task: $row" }
                assertEquals("上海市黄浦区南京东路1号", row.address, "address")
                val stop = state.route.singleOrNull { it.taskId == taskId } ?: error("not on the route: ${state.route}")
                check(stop.navigation.first().uri.startsWith("geo:31.2304,121.4737")) { "navigation ${stop.navigation}" }
                check(state.sync.lastSyncMs != null) { "no last sync time" }
                assertEquals(false, state.sync.offline, "offline banner")
                assertEquals(false, state.sync.syncing, "syncing")
            }
        },
        TestCase("offline the banner shows and pending grows, back online the queue drains") {
            val taskId = dispatch("offline demo")
            val otherId = dispatch("offline demo, second stop")
            NetworkSwitch(TestEnv.serverUrl).use { network ->
                Phone(network.url).use { phone ->
                    phone.run { login(TestEnv.rep, TestEnv.password) }
                    check(phone.vm.state.value.tasks.any { it.id == taskId }) { "task did not arrive" }
                    network.off()
                    var state = phone.run { startTask(taskId) }
                    assertEquals(TaskStatus.IN_PROGRESS, state.tasks.single { it.id == taskId }.status, "status")
                    assertEquals(1L, state.sync.pending, "pending after the offline change")
                    state = phone.run { refresh() }
                    assertEquals(true, state.sync.offline, "offline banner")
                    assertEquals(1L, state.sync.pending, "pending after the failed sync")
                    assertEquals(null, state.message, "message (the banner says it)")
                    state = phone.run { finishTask(otherId) }
                    assertEquals(2L, state.sync.pending, "pending after a change to a second task")
                    network.on()
                    val before = state.sync.lastSyncMs ?: error("no earlier sync")
                    state = phone.run { refresh() }
                    assertEquals(false, state.sync.offline, "offline banner once back")
                    assertEquals(0L, state.sync.pending, "pending once back")
                    check((state.sync.lastSyncMs ?: 0) >= before) { "last sync ${state.sync.lastSyncMs} < $before" }
                    assertEquals(TaskStatus.IN_PROGRESS, state.tasks.single { it.id == taskId }.status, "started task")
                    assertEquals(TaskStatus.DONE, state.tasks.single { it.id == otherId }.status, "finished task")
                    check(!state.route.any { it.taskId == otherId }) { "a done task stays on the route" }
                }
            }
        },
        TestCase("a wrong password shows the message the login screen reads and keeps the rep logged out") {
            Phone().use { phone ->
                phone.run { start() }
                val state = phone.run { login(TestEnv.rep, "not-the-password") }
                assertEquals(UserMessage(MessageKind.ERROR, Texts.WRONG_PASSWORD), state.message, "message")
                assertEquals(null, state.user, "user")
                assertEquals(false, state.loggingIn, "logging in")
                phone.vm.messageShown()
                assertEquals(null, phone.vm.state.value.message, "message once shown")
            }
        },
        TestCase("an empty username asks for it and a server out of reach says login needs a connection") {
            Phone().use { phone ->
                assertEquals(Texts.missing("username"), phone.run { login("  ", "x") }.message?.text, "empty username")
            }
            NetworkSwitch(TestEnv.serverUrl).use { network ->
                network.off()
                Phone(network.url).use { phone ->
                    assertEquals(Texts.OFFLINE_LOGIN, phone.run { login(TestEnv.rep, TestEnv.password) }.message?.text, "offline")
                }
            }
        },
        TestCase("finishing a task twice is refused with the engine's reason as a sentence") {
            val taskId = dispatch("refused demo")
            Phone().use { phone ->
                phone.run { login(TestEnv.rep, TestEnv.password) }
                phone.run { finishTask(taskId) }
                val state = phone.run { startTask(taskId) }
                val message = state.message ?: error("no message")
                assertEquals(MessageKind.ERROR, message.kind, "kind")
                check(message.text.first().isUpperCase() && message.text.endsWith(".")) { "text ${message.text}" }
                assertEquals(TaskStatus.DONE, state.tasks.single { it.id == taskId }.status, "status")
            }
        },
        TestCase("a check-in from across the road shows the rejected verdict, then flagged with the stated reason") {
            val taskId = dispatchAtShop("演示 打卡")
            Phone().use { phone ->
                phone.run { login(TestEnv.rep, TestEnv.password) }
                var state = phone.run { checkIn(taskId, fixNear(300.0)) }
                var verdict = state.verdict ?: error("no verdict shown: $state")
                assertEquals(Outcome.REJECTED, verdict.outcome, "outcome without a reason")
                check(verdict.needsReason) { "the reason field is not offered: $verdict" }
                assertEquals(taskId, verdict.taskId, "the task a retry checks in for")
                check(verdict.reasons.any { it.startsWith("Too far from the customer: ") && it.contains(" m (limit ") }) {
                    "reasons ${verdict.reasons}"
                }
                assertEquals(null, state.visit, "visit after a rejection")
                assertEquals(null, state.message, "message (the verdict card says it)")
                state = phone.run { checkIn(taskId, fixNear(300.0), "门店装修") }
                verdict = state.verdict ?: error("no verdict shown")
                assertEquals(Outcome.FLAGGED, verdict.outcome, "outcome with a reason")
                assertEquals("Checked in — flagged for your manager", verdict.title, "title")
                check("Your reason: 门店装修" in verdict.reasons) { "reasons ${verdict.reasons}" }
                assertEquals(taskId, state.visit?.taskId, "open visit")
                assertEquals(TaskStatus.IN_PROGRESS, state.tasks.single { it.id == taskId }.status, "task after check-in")
            }
        },
        TestCase("a photo in the visit shows its stamped image and verification code, and check-out closes the visit") {
            val taskId = dispatchAtShop("演示 拍照")
            Phone().use { phone ->
                phone.run { login(TestEnv.rep, TestEnv.password) }
                phone.kit.configurePhotos(cjkFont, 0u, null)
                phone.run { checkIn(taskId, fixNear(5.0)) }
                assertEquals(Outcome.ACCEPTED, phone.vm.state.value.verdict?.outcome, "check-in at the door")
                var state = phone.run { takePhoto(storefrontJpeg, fixNear(5.0)) }
                val photo = state.photo ?: error("no photo card: ${state.message}")
                check(photo.verificationCode.isNotEmpty() && photo.width > 0 && photo.sizeBytes > 0) { "photo $photo" }
                val file = java.io.File(photo.file ?: error("no stamped file on the card: $photo"))
                check(file.isFile) { "the card's file does not exist: $file" }
                val image = javax.imageio.ImageIO.read(file) ?: error("the card's file is not an image: $file")
                assertEquals(photo.width to photo.height, image.width to image.height, "size of the stamped JPEG")
                assertEquals(1L, state.sync.filesPending, "photos waiting to upload")
                state = phone.run { checkOut(fixNear(5.0)) }
                assertEquals(null, state.visit, "visit after check-out")
                check(state.message?.text?.startsWith("Checked out after ") == true) { "message ${state.message}" }
                state = phone.run { refresh() }
                assertEquals(0L, state.sync.filesPending, "photos after the sync")
                assertEquals(0L, state.sync.pending, "pending after the sync")
            }
        },
        TestCase("planning the day puts the visit on the route with Amap as the first navigation button in Shanghai") {
            val taskId = dispatchAtShop("演示 路线")
            Phone().use { phone ->
                phone.run { login(TestEnv.rep, TestEnv.password) }
                // Earlier tests left the rep more visits than an afternoon holds: clear them on
                // this phone (not synced) so that the plan is about the shop.
                phone.vm.state.value.tasks.filter { it.id != taskId && it.canFinish }.forEach { phone.run { finishTask(it.id) } }
                val state = phone.run { planDay(31.2200, 121.4600) }
                check(state.planned) { "no plan: ${state.message}" }
                val stop = state.route.singleOrNull { it.taskId == taskId } ?: error("not on the route: ${state.route}")
                val first = stop.navigation.first()
                assertEquals("Amap", first.label, "first navigation button")
                check(first.uri.startsWith("amapuri://")) { "uri ${first.uri}" }
                assertEquals(listOf(taskId), state.route.map { it.taskId }, "stops")
                assertEquals(null, state.message, "message")
            }
        },
        TestCase("logging out returns to the login screen and the queue survives") {
            val taskId = dispatch("logout demo")
            NetworkSwitch(TestEnv.serverUrl).use { network ->
                Phone(network.url).use { phone ->
                    phone.run { login(TestEnv.rep, TestEnv.password) }
                    network.off()
                    phone.run { startTask(taskId) }
                    val state = phone.run { logout() }
                    assertEquals(null, state.user, "user")
                    check(state.tasks.isEmpty()) { "tasks still shown: ${state.tasks}" }
                    assertEquals(1L, state.sync.pending, "pending kept")
                }
            }
        },
    )
