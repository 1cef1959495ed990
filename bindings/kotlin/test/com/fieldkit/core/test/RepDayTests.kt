// A rep's whole day through the bindings against the real server: plan and navigate,
// check in (flagged, with the reasons), a watermarked photo, the SOP form, an order,
// check-out, customer 360, the knowledge base and the track; then the sync observer, the
// hardware signer, the log sink, callbacks that throw, and typed errors for bad input.
package com.fieldkit.core.test

import com.fieldkit.core.FieldKit
import com.fieldkit.core.FieldKitException
import com.fieldkit.core.LogLevel
import com.fieldkit.core.LogSink
import com.fieldkit.core.OrderLineInput
import com.fieldkit.core.PhotoSigner
import com.fieldkit.core.SignerAlgorithm
import com.fieldkit.core.SignerKey
import com.fieldkit.core.SyncFailure
import com.fieldkit.core.SyncObserver
import com.fieldkit.core.engine.SyncReport
import com.fieldkit.core.engine.SyncStatus
import com.fieldkit.core.model.AppIdentity
import com.fieldkit.core.model.FieldKind
import com.fieldkit.core.model.Grade
import com.fieldkit.core.model.LocationFix
import com.fieldkit.core.model.LocationProvider
import com.fieldkit.core.model.NavApp
import com.fieldkit.core.model.NavMode
import com.fieldkit.core.model.Platform
import com.fieldkit.core.model.Reason
import com.fieldkit.core.model.SopStepKind
import com.fieldkit.core.model.TaskStatus
import com.fieldkit.core.model.Verdict
import com.fieldkit.core.model.WgsPoint
import com.fieldkit.core.setLogSink
import kotlinx.coroutines.runBlocking
import java.nio.file.Files
import java.nio.file.Path
import java.security.KeyPairGenerator
import java.security.Signature
import java.security.spec.ECGenParameterSpec
import java.util.concurrent.CopyOnWriteArrayList
import java.util.concurrent.CountDownLatch
import java.util.concurrent.TimeUnit
import java.util.concurrent.atomic.AtomicInteger

/** The shop the day is about: 好又多超市 on Nanjing East Road, Shanghai (WGS-84). */
private const val SHOP_LAT = 31.2304
private const val SHOP_LNG = 121.4737

/** A real camera JPEG and a font with CJK glyphs for the watermark. */
private val storefrontJpeg: ByteArray by lazy { Files.readAllBytes(Path.of("tests/fixtures/photos/storefront.jpg")) }
private val cjkFont: ByteArray by lazy { Files.readAllBytes(Path.of("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc")) }

/** What the manager set up on the server for the day, once. */
private class DaySetup(val customerId: String, val productId: String, val formId: String, val articleTitle: String)

private val setup: DaySetup by lazy {
    val admin = ServerApi.login(TestEnv.serverUrl, TestEnv.org, TestEnv.admin, TestEnv.password)
    admin.setWorkingAllDay()
    val customer = admin.createCustomer("好又多超市", SHOP_LAT, SHOP_LNG, TestEnv.repId)
    val product = admin.createProduct("COLA-330", "可乐 330ml", 350, 320)
    val form = admin.createShelfForm()
    admin.createVisitSop(form)
    admin.createArticle("货架陈列标准", "所有门店的货架陈列标准：新品放在视线高度，老品放在下层。")
    DaySetup(customer, product, form, "货架陈列标准")
}

/** The admin's session, for dispatching tasks at the shop. */
private val dispatcher by lazy { ServerApi.login(TestEnv.serverUrl, TestEnv.org, TestEnv.admin, TestEnv.password) }

/** Dispatches a visit to the shop for today and returns the task's id. */
private fun dispatchAtShop(title: String): String =
    dispatcher.createTask(title, TestEnv.repId, SHOP_LAT, SHOP_LNG, System.currentTimeMillis() + 6 * 3_600_000L, setup.customerId)

private fun freshDb(): Path = Files.createTempDirectory(TestEnv.phonesDir, "phone-").resolve("fieldkit.db")

/** A fix taken now, `northM` metres north of the shop, 10 m accurate. */
private fun fixNear(northM: Double, atMs: Long = System.currentTimeMillis()): LocationFix =
    LocationFix(WgsPoint(SHOP_LAT + northM / 111_320.0, SHOP_LNG), 10.0, atMs, LocationProvider.GNSS, false)

/** A logged-in, synced phone with the photo pipeline set up. */
private fun repPhone(kit: FieldKit = FieldKit.open(freshDb().toString(), TestEnv.serverUrl, TestEnv.org)): FieldKit {
    setup
    runBlocking { kit.login(TestEnv.rep, TestEnv.password); kit.syncNow() }
    kit.configurePhotos(cjkFont, 0u, null)
    return kit
}

private val identity = AppIdentity("FieldKit Tests", "fieldkit", "FIELDKIT-TEST-REFERER")

/** Counts an observer's callbacks; `throwOnProgress` makes it throw from `onProgress`. */
private class CountingObserver(private val throwOnProgress: Boolean = false) : SyncObserver {
    val progress = AtomicInteger()
    val finished = AtomicInteger()
    val failed = CopyOnWriteArrayList<SyncFailure>()
    val reports = CopyOnWriteArrayList<SyncReport>()
    val finishedLatch = CountDownLatch(1)

    override fun onProgress(queue: SyncStatus) {
        progress.incrementAndGet()
        if (throwOnProgress) throw IllegalStateException("observer bug: progress")
    }

    override fun onFinished(report: SyncReport) {
        reports.add(report)
        finished.incrementAndGet()
        finishedLatch.countDown()
    }

    override fun onFailed(failure: SyncFailure) {
        failed.add(failure)
    }
}

/** A hardware-like signer: an ECDSA P-256 key held by the JVM, as Android Keystore holds one. */
private class EcSigner(private val fail: Boolean = false) : PhotoSigner {
    private val pair = KeyPairGenerator.getInstance("EC").apply { initialize(ECGenParameterSpec("secp256r1")) }.generateKeyPair()
    val signed = AtomicInteger()

    override fun publicKey(): SignerKey = SignerKey(SignerAlgorithm.ECDSA_P256_SHA256, pair.public.encoded)

    override fun sign(message: ByteArray): ByteArray {
        if (fail) throw IllegalStateException("the keystore is locked")
        signed.incrementAndGet()
        return Signature.getInstance("SHA256withECDSA").run {
            initSign(pair.private)
            update(message)
            sign()
        }
    }
}

fun repDayTests(): List<TestCase> = listOf(
    TestCase("a rep's whole day: plan, navigate, flagged check-in, photo, SOP form, order, check-out, 360, KB, track") {
        val taskId = dispatchAtShop("拜访好又多超市")
        repPhone().use { kit ->
            // Morning: the task, the plan and the way there.
            val task = kit.myTasks().singleOrNull { it.id == taskId } ?: error("the task did not arrive")
            assertEquals(setup.customerId, task.customerId, "task customer")
            val plan = kit.planMyDay(WgsPoint(31.2200, 121.4600), null)
            check(plan.stops.any { it.taskId == taskId }) { "the task is not on the plan: $plan" }
            check(plan.date.matches(Regex("""\d{4}-\d{2}-\d{2}"""))) { "plan date ${plan.date}" }
            assertEquals(plan.id, kit.dayPlan()?.id, "today's plan")
            assertEquals(null, kit.replanNeeded(), "re-plan right after planning")
            val links = kit.navigationLinks(listOf(setup.customerId), null, NavMode.DRIVE, identity, Platform.ANDROID, null)
            assertEquals(NavApp.AMAP_ANDROID, links.first().app, "first app in Shanghai on Android")
            check(links.first().url.startsWith("amapuri://")) { "amap link ${links.first().url}" }
            check(links.all { it.stopsCovered == 1u }) { "stops covered: $links" }

            // On duty, driving there: the track is kept.
            kit.setOnDuty(true)
            check(kit.isOnDuty()) { "not on duty" }
            val t0 = System.currentTimeMillis() - 20_000
            val intake = kit.recordFixes((0 until 5).map { fixNear(-400.0 + it * 20, t0 + it * 2_000L) })
            assertEquals(5u, intake.kept, "fixes kept on duty (intake $intake)")

            // Check-in from across the road: rejected without a reason, flagged with one.
            val refused = assertThrows<FieldKitException.Refused> { kit.checkIn(setup.customerId, taskId, fixNear(300.0), null) }
            val rejected = refused.verdict?.verdict as? Verdict.Rejected ?: error("no rejection with the refusal: ${refused.verdict}")
            check(rejected.needsStatedReason) { "a stated reason should let it through: $rejected" }
            assertEquals(null, kit.openVisit(), "open visit after a refusal")
            val note = "门店装修，在对面停车场打卡"
            val checkIn = kit.checkIn(setup.customerId, taskId, fixNear(300.0), note)
            val assessment = checkIn.assessment ?: error("no verdict")
            val verdict = assessment.verdict as? Verdict.Flagged ?: error("not flagged with a reason: $assessment")
            val tooFar = verdict.reasons.filterIsInstance<Reason.TooFar>().singleOrNull() ?: error("no too-far reason: $verdict")
            check(tooFar.distanceM > tooFar.limitM) { "distance ${tooFar.distanceM} within ${tooFar.limitM}" }
            assertEquals(note, verdict.statedReason, "stated reason")
            check(assessment.distanceM in 250.0..350.0) { "distance ${assessment.distanceM}" }
            assertEquals(checkIn.visitId, kit.openVisit()?.id, "open visit")
            assertEquals(TaskStatus.IN_PROGRESS, kit.myTasks().single { it.id == taskId }.status, "task status after check-in")
            val visitId = checkIn.visitId

            // The visit follows the customer-visit SOP: photo, the shelf form, order.
            val sop = kit.visitSop(visitId) ?: error("the visit has no SOP")
            assertEquals(listOf(true, true, false), sop.steps.map { it.required }, "required steps")
            assertEquals(SopStepKind.Photo, sop.steps[0].kind, "step 0")
            assertEquals(SopStepKind.Form(setup.formId), sop.steps[1].kind, "step 1")
            assertEquals(SopStepKind.Order, sop.steps[2].kind, "step 2")
            val form = kit.formTemplates().single { it.id == setup.formId }
            val facings = form.fields.single()
            assertEquals(FieldKind.Integer, facings.kind, "facings kind")
            assertEquals(200.0, facings.rules.max, "facings max")

            // SOP step 0 (photo) waits for the photo; the photo has a CJK watermark and is signed.
            assertThrows<FieldKitException.Refused> { kit.updateVisit(visitId, 0u, null) }
            val photo = kit.takePhoto(storefrontJpeg, visitId, fixNear(5.0))
            check(photo.sha256.matches(Regex("[0-9a-f]{64}"))) { "hash ${photo.sha256}" }
            check(photo.signed && photo.verificationCode.isNotEmpty()) { "photo $photo" }
            check(photo.width in 1u..1920u && photo.height in 1u..1920u) { "size ${photo.width}x${photo.height}" }
            assertEquals("pending", kit.photoUploadState(photo.sha256), "upload state")
            val shown = javax.imageio.ImageIO.read(java.io.File(kit.photoFile(photo.sha256) ?: error("no file for the photo")))
            assertEquals(photo.width.toInt() to photo.height.toInt(), shown.width to shown.height, "size of the stamped JPEG on disk")
            kit.updateVisit(visitId, 0u, null)

            // Step 1: the shelf form, refused while invalid, then submitted.
            val response = kit.startForm(setup.formId, 1u, visitId)
            val bad = assertThrows<FieldKitException.InvalidInput> { kit.fillForm(response.id, mapOf("facings" to "500"), true) }
            assertEquals("form", bad.field, "field of an out-of-range value")
            val submitted = kit.fillForm(response.id, mapOf("facings" to "12"), true)
            check(submitted.submitted) { "not submitted" }
            assertEquals("12", submitted.values["facings"], "facings")
            kit.updateVisit(visitId, 1u, null)

            // Step 2: an order priced at the customer's grade.
            val product = kit.products().single { it.id == setup.productId }
            assertEquals(320L, product.gradePrices[Grade.B], "grade B price")
            val order = kit.takeOrder(setup.customerId, visitId, listOf(OrderLineInput(setup.productId, 24u, 0L)), null)
            assertEquals(24L * 320L, order.totalMinor, "order total")
            val visit = kit.updateVisit(visitId, 2u, "陈列良好")
            assertEquals(listOf(0u, 1u, 2u), visit.completedSteps, "steps done")

            // Check-out at the door.
            val checkOut = kit.checkOut(visitId, fixNear(5.0))
            assertEquals(visitId, checkOut.checkOut.visitId, "visit checked out")
            check(checkOut.duration.ms >= 0) { "duration ${checkOut.duration}" }
            assertEquals(emptyList<UInt>(), checkOut.checkOut.sopMissing, "SOP steps missing")
            assertEquals(null, kit.openVisit(), "open visit after check-out")

            // The customer 360 shows the visit with its photo and order.
            val view = kit.customer360(setup.customerId)
            assertEquals("好又多超市", view.customer.name, "customer name")
            val summary = view.recentVisits.singleOrNull { it.visit.id == visitId } ?: error("the visit is not in the 360")
            assertEquals(1u, summary.photos, "photos in the visit")
            assertEquals(1u, summary.orders, "orders in the visit")
            check(view.recentOrders.any { it.id == order.id }) { "the order is not in the 360" }

            // The knowledge base, offline.
            val hits = kit.searchKb("陈列标准", 10u)
            val hit = hits.firstOrNull() ?: error("no KB hit")
            check(hit.title.contains("【")) { "not highlighted: ${hit.title}" }
            assertEquals(setup.articleTitle, kit.kbArticle(hit.id).title, "article title")

            // More track after the visit; the day as the rep sees it; everything syncs.
            val after = kit.recordFixes(listOf(fixNear(40.0), fixNear(80.0, System.currentTimeMillis() + 1_000)))
            assertEquals(2u, after.kept, "fixes after the visit (intake $after)")
            val day = kit.myDay()
            check(day.onDuty && day.track.size >= 7) { "my day: on duty ${day.onDuty}, ${day.track.size} points" }
            check(visitId in day.checkedInVisits && visitId in day.checkedOutVisits) { "my day visits $day" }
            assertEquals(listOf(photo.id), day.photos, "photos today")
            kit.setOnDuty(false)
            val report = runBlocking { kit.syncNow() }
            assertEquals(0u, report.rejected, "rejected at sync (parked: ${kit.parkedItems()})")
            check(report.blobs.completed >= 1u) { "the photo was not uploaded: $report" }
            assertEquals(0uL, kit.queueStatus().outbox.pending, "pending after the sync")
            assertEquals(emptyList<Any>(), kit.parkedItems(), "parked items")
        }
    },
    TestCase("the sync observer hears progress and the finish of a scheduled sync, and nothing once cancelled") {
        val taskId = dispatchAtShop("observed")
        repPhone().use { kit ->
            val observer = CountingObserver()
            val subscription = kit.observeSync(observer, 50L, 60_000L)
            kit.updateTask(taskId, TaskStatus.IN_PROGRESS, "observed write")
            check(observer.finishedLatch.await(10, TimeUnit.SECONDS)) { "no finish within 10 s (failed: ${observer.failed})" }
            check(observer.progress.get() >= 1) { "no progress before the finish" }
            check(observer.reports.sumOf { it.pushed } >= 1u) { "nothing pushed: ${observer.reports}" }
            check(subscription.isActive()) { "inactive before cancel" }
            subscription.cancel()
            check(!subscription.isActive()) { "active after cancel" }
            subscription.close()
            val finishedBefore = observer.finished.get()
            kit.updateTask(taskId, null, "after cancel")
            Thread.sleep(400)
            assertEquals(finishedBefore, observer.finished.get(), "finishes after cancel")
            assertEquals(1uL, kit.queueStatus().outbox.pending, "the write after cancel waits")
        }
    },
    TestCase("an observer that throws does not crash the process and the schedule carries on") {
        val taskId = dispatchAtShop("throwing observer")
        repPhone().use { kit ->
            val observer = CountingObserver(throwOnProgress = true)
            kit.observeSync(observer, 50L, 60_000L).use {
                kit.updateTask(taskId, TaskStatus.IN_PROGRESS, "first")
                check(observer.finishedLatch.await(10, TimeUnit.SECONDS)) { "no finish after a throw" }
                check(observer.progress.get() >= 1) { "onProgress was not called" }
                // The engine still works, and the next write syncs too.
                val before = observer.finished.get()
                kit.updateTask(taskId, null, "second")
                val deadline = System.currentTimeMillis() + 10_000
                while (observer.finished.get() == before && System.currentTimeMillis() < deadline) Thread.sleep(20)
                check(observer.finished.get() > before) { "the schedule stopped after the throw" }
            }
            assertThrows<FieldKitException.InvalidInput> { kit.observeSync(CountingObserver(), 0L, 0L) }
        }
    },
    TestCase("photos are signed by the app's hardware signer, and a signer that throws fails the photo only") {
        val signer = EcSigner()
        repPhone(FieldKit.openWithSigner(freshDb().toString(), TestEnv.serverUrl, TestEnv.org, signer)).use { kit ->
            val photo = kit.takePhoto(storefrontJpeg, null, null)
            check(photo.signed) { "unsigned" }
            assertEquals(1, signer.signed.get(), "signatures made by the app's key")
            val report = runBlocking { kit.syncNow() }
            assertEquals(0u, report.rejected, "rejected (parked: ${kit.parkedItems()})")
        }
        repPhone(FieldKit.openWithSigner(freshDb().toString(), TestEnv.serverUrl, TestEnv.org, EcSigner(fail = true))).use { kit ->
            val e = assertThrows<FieldKitException.Internal> { kit.takePhoto(storefrontJpeg, null, null) }
            check(e.detail.contains("keystore is locked")) { "detail ${e.detail}" }
            assertEquals(0uL, kit.queueStatus().outbox.pending, "nothing stored by the failed photo")
            check(kit.myTasks().isNotEmpty()) { "the engine stopped working" }
        }
    },
    TestCase("the log sink receives the engine's events at the level set, and a sink that throws changes nothing") {
        val lines = CopyOnWriteArrayList<String>()
        setLogSink(object : LogSink {
            override fun log(level: LogLevel, target: String, message: String) {
                lines.add("$level $target $message")
            }
        }, LogLevel.INFO)
        try {
            FieldKit.open(freshDb().toString(), TestEnv.serverUrl, TestEnv.org).close()
            check(lines.any { it.startsWith("INFO fieldkit_engine") && it.contains("engine opened") }) { "lines: $lines" }
            check(lines.none { it.startsWith("DEBUG") }) { "debug lines at INFO: $lines" }
            setLogSink(object : LogSink {
                override fun log(level: LogLevel, target: String, message: String) = throw IllegalStateException("sink bug")
            }, LogLevel.TRACE)
            repPhone().use { kit -> check(kit.myTasks().isNotEmpty()) { "no tasks" } }
        } finally {
            setLogSink(null, LogLevel.ERROR)
        }
    },
    TestCase("bad input gives typed exceptions and stores nothing") {
        repPhone().use { kit ->
            val badId = assertThrows<FieldKitException.InvalidInput> { kit.checkIn("shop-42", null, fixNear(0.0), null) }
            assertEquals("customer_id", badId.field, "field of a malformed customer id")
            val badFix = assertThrows<FieldKitException.InvalidInput> {
                kit.checkIn(setup.customerId, null, LocationFix(WgsPoint(95.0, 0.0), 10.0, System.currentTimeMillis(), LocationProvider.GNSS, false), null)
            }
            assertEquals("location", badFix.field, "field of a latitude out of range")
            val notJpeg = assertThrows<FieldKitException.InvalidInput> { kit.takePhoto("not a jpeg".toByteArray(), null, null) }
            assertEquals("photo", notJpeg.field, "field of non-JPEG bytes")
            val notHash = assertThrows<FieldKitException.InvalidInput> { kit.photoFile("../../etc/passwd") }
            assertEquals("sha256", notHash.field, "field of a path instead of a hash")
            assertEquals(null, kit.photoFile("0".repeat(64)), "file of a photo not on this phone")
            val unknown = java.util.UUID.randomUUID().toString()
            assertThrows<FieldKitException.NotFound> { kit.customer360(unknown) }
            assertThrows<FieldKitException.NotFound> {
                kit.navigationLinks(listOf(unknown), null, NavMode.DRIVE, identity, Platform.IOS, null)
            }
            assertThrows<FieldKitException.NotFound> { kit.takeOrder(unknown, null, listOf(OrderLineInput(setup.productId, 1u, 0L)), null) }
            val unknownProduct = assertThrows<FieldKitException.InvalidInput> {
                kit.takeOrder(setup.customerId, null, listOf(OrderLineInput(unknown, 1u, 0L)), null)
            }
            assertEquals("order", unknownProduct.field, "field of an unknown product")
            assertThrows<FieldKitException.InvalidInput> { kit.fillForm(unknown, mapOf("facings" to "{not json"), false) }
            assertThrows<FieldKitException.Refused> { kit.checkOut(unknown, fixNear(0.0)) }
            assertThrows<FieldKitException.NotFound> { kit.visitSop(unknown) }
            assertEquals(0uL, kit.queueStatus().outbox.pending, "queued by bad input")
        }
        FieldKit.open(freshDb().toString(), TestEnv.serverUrl, TestEnv.org).use { kit ->
            assertThrows<FieldKitException.InvalidInput> { kit.configurePhotos("no font".toByteArray(), 0u, null) }
        }
    },
)
