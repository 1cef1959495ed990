// Approvals through the bindings: a leave asked for on the phone (offline), approved on the
// server by an admin, seen on the phone after sync; typed exceptions for a kind without a
// flow and for malformed ids; and an approver deciding on their own phone.
package com.fieldkit.core.test

import com.fieldkit.core.FieldKit
import com.fieldkit.core.FieldKitException
import com.fieldkit.core.RequestSubjectInput
import com.fieldkit.core.model.ApprovalKind
import com.fieldkit.core.model.ApprovalStatus
import com.fieldkit.core.model.DecisionVerdict
import com.fieldkit.core.model.TimeRange
import kotlinx.coroutines.runBlocking
import java.nio.file.Files

private const val DAY_MS = 86_400_000L

fun approvalTests(): List<TestCase> = listOf(
    TestCase("a leave asked for offline is approved on the server and the phone sees it, with typed errors for bad requests") {
        val admin = ServerApi.login(TestEnv.serverUrl, TestEnv.org, TestEnv.admin, TestEnv.password)
        admin.defineAdminApprovedFlow("leave")
        val db = Files.createTempDirectory(TestEnv.phonesDir, "phone-").resolve("fieldkit.db")
        FieldKit.open(db.toString(), TestEnv.serverUrl, TestEnv.org).use { kit ->
            runBlocking { kit.login(TestEnv.rep, TestEnv.password); kit.syncNow() }
            check(kit.approvalFlows().any { it.kind == ApprovalKind.LEAVE }) { "no leave flow on the phone" }

            val now = System.currentTimeMillis()
            val asked = kit.requestApproval(RequestSubjectInput.Leave(TimeRange(now + DAY_MS, now + 3 * DAY_MS)), "家里有事")
            val queued = kit.approvals().single { it.request.id == asked.id }
            check(!queued.sent && queued.view == null) { "before sync: $queued" }

            runBlocking { kit.syncNow() }
            admin.approve(asked.id, "批准")
            runBlocking { kit.syncNow() }
            val view = kit.approvals().single { it.request.id == asked.id }.view ?: error("no view after sync")
            check(view.status is ApprovalStatus.Approved) { "status ${view.status}" }
            assertEquals("批准", view.decisions.single().comment, "the approver's comment")

            val noFlow = assertThrows<FieldKitException.Refused> {
                kit.requestApproval(RequestSubjectInput.BusinessTrip(TimeRange(now, now + DAY_MS), "Hangzhou"), "")
            }
            check(noFlow.reason.contains("business_trip")) { "reason ${noFlow.reason}" }
            val badId = assertThrows<FieldKitException.InvalidInput> {
                kit.requestApproval(RequestSubjectInput.OrderDiscount("shop-1", null, "CNY", 10_000L, 1_000L), "")
            }
            assertEquals("customer_id", badId.field, "field of a malformed customer id")
            val backwards = assertThrows<FieldKitException.InvalidInput> {
                kit.requestApproval(RequestSubjectInput.Leave(TimeRange(now + DAY_MS, now)), "")
            }
            assertEquals("subject", backwards.field, "field of a leave that ends before it starts")
            assertEquals(1, kit.approvals().size, "requests stored by the refused calls")
        }
    },
    TestCase("an approver decides a request on their own phone, offline, and the requester sees it after sync") {
        val admin = ServerApi.login(TestEnv.serverUrl, TestEnv.org, TestEnv.admin, TestEnv.password)
        admin.defineAdminApprovedFlow("leave")
        val repDb = Files.createTempDirectory(TestEnv.phonesDir, "phone-").resolve("fieldkit.db")
        val adminDb = Files.createTempDirectory(TestEnv.phonesDir, "phone-").resolve("fieldkit.db")
        FieldKit.open(repDb.toString(), TestEnv.serverUrl, TestEnv.org).use { rep ->
            FieldKit.open(adminDb.toString(), TestEnv.serverUrl, TestEnv.org).use { approver ->
                runBlocking { rep.login(TestEnv.rep, TestEnv.password); rep.syncNow() }
                val now = System.currentTimeMillis()
                val asked = rep.requestApproval(RequestSubjectInput.Leave(TimeRange(now + 5 * DAY_MS, now + 6 * DAY_MS)), "体检")
                runBlocking { rep.syncNow(); approver.login(TestEnv.admin, TestEnv.password); approver.syncNow() }

                check(approver.approvalsToDecide().any { it.request.id == asked.id }) { "not in the approver's inbox" }
                check(rep.approvalsToDecide().none { it.request.id == asked.id }) { "in the requester's own inbox" }
                val decision = approver.decideApproval(asked.id, DecisionVerdict.APPROVE, "好的")
                assertEquals(asked.id, decision.requestId, "the decision's request")
                check(approver.approvalsToDecide().none { it.request.id == asked.id }) { "still in the inbox after deciding" }
                val twice = assertThrows<FieldKitException.Refused> { approver.decideApproval(asked.id, DecisionVerdict.REJECT, "") }
                check(twice.reason.contains(asked.id)) { "reason ${twice.reason}" }
                assertThrows<FieldKitException.InvalidInput> { approver.decideApproval("not-an-id", DecisionVerdict.APPROVE, "") }

                runBlocking { approver.syncNow(); rep.syncNow() }
                val view = rep.approvals().single { it.request.id == asked.id }.view ?: error("no view after sync")
                check(view.status is ApprovalStatus.Approved) { "status ${view.status}" }
                assertEquals("好的", view.decisions.single().comment, "the approver's comment")
            }
        }
    },
)
