// The SOP screen over the real bindings and server: the open visit's steps (the test org's
// customer-visit SOP, published by the bindings tests that run first on the same server:
// photo → the shelf form with its integer `facings` field, at most 200 → order), a form value
// out of range refused on its field with nothing submitted, a valid one submitted with its
// step done, and steps out of order refused with the engine's reason on the step.
package com.fieldkit.demo.logic

import com.fieldkit.core.test.TestCase
import com.fieldkit.core.test.TestEnv
import com.fieldkit.core.test.assertEquals
import com.fieldkit.core.test.check

/** A logged-in phone with the photo pipeline set up, checked in at the shop for a new visit task. */
private fun checkedInPhone(title: String): Phone {
    val taskId = dispatchAtShop(title)
    val phone = Phone()
    phone.run { login(TestEnv.rep, TestEnv.password) }
    phone.kit.configurePhotos(cjkFont, 0u, null)
    val state = phone.run { checkIn(taskId, fixNear(5.0)) }
    check(state.visit?.taskId == taskId) { "not checked in: ${state.verdict} ${state.message}" }
    return phone
}

/** The SOP shown on `phone`, failing the test when there is none. */
private fun sopOf(phone: Phone): SopState =
    phone.vm.state.value.sop ?: error("no SOP shown for the visit (message: ${phone.vm.state.value.message})")

/** The responses submitted in the phone's open visit. */
private fun submittedIn(phone: Phone, visitId: String) = phone.kit.formResponses().filter { it.visitId == visitId && it.submitted }

/** The SOP screen's tests. */
internal fun visitSopTests(): List<TestCase> = listOf(
    TestCase("the open visit lists its SOP steps in order with the photo step next") {
        checkedInPhone("演示 SOP 步骤").use { phone ->
            val sop = sopOf(phone)
            assertEquals(phone.vm.state.value.visit?.id, sop.visitId, "visit")
            assertEquals(listOf(StepKind.PHOTO, StepKind.FORM, StepKind.ORDER), sop.steps.map { it.kind }, "kinds")
            assertEquals(listOf(true, true, false), sop.steps.map { it.required }, "required")
            assertEquals(listOf(false, false, false), sop.steps.map { it.done }, "done")
            assertEquals(listOf(true, false, false), sop.steps.map { it.next }, "next")
            assertEquals(listOf("门头照", "货架检查", "下单"), sop.steps.map { it.title }, "titles")
            check(sop.steps[1].formTemplateId != null) { "the form step names no template: ${sop.steps[1]}" }
            assertEquals(null, sop.form, "form open before asking")
        }
    },
    TestCase("steps out of order are refused with the engine's reason shown on the step") {
        checkedInPhone("演示 SOP 顺序").use { phone ->
            var state = phone.run { sop.completeStep(2) }
            var order = sopOf(phone).steps[2]
            assertEquals(false, order.done, "order step after a refusal")
            val reason = order.problem ?: error("no reason shown on the step: ${state.message}")
            check(reason.contains("waits for required steps") && reason.endsWith(".")) { "reason $reason" }
            state = phone.run { sop.completeStep(0) }
            val photoReason = sopOf(phone).steps[0].problem ?: error("no reason for a photo step without a photo: ${state.message}")
            check(photoReason.contains("needs a photo")) { "reason $photoReason" }
            assertEquals(null, sopOf(phone).steps[2].problem, "the earlier refusal is cleared by the next action")
            // The form before the photo: submitted, but its step waits for the photo.
            phone.run { sop.openForm(1) }
            phone.vm.sop.editField("facings", "12")
            state = phone.run { sop.submitForm() }
            var form = sopOf(phone).steps[1]
            assertEquals(null, state.sop?.form, "form once submitted")
            check(form.formSubmitted && !form.done) { "form step after submitting out of order: $form" }
            check(form.problem?.contains("waits for required steps") == true) { "reason ${form.problem}" }
            // The photo marks its step done; then the submitted form's step can be.
            state = phone.run { takePhoto(storefrontJpeg, fixNear(5.0)) }
            check(sopOf(phone).steps[0].done) { "photo step after the photo: ${sopOf(phone).steps[0]} ${state.message}" }
            phone.run { sop.completeStep(1) }
            form = sopOf(phone).steps[1]
            check(form.done && form.problem == null) { "form step: $form" }
            order = sopOf(phone).steps[2]
            check(order.next && !order.done) { "order step: $order" }
            phone.run { sop.completeStep(2) }
            check(sopOf(phone).steps[2].problem?.contains("needs a") == true) {
                "order step without an order: ${sopOf(phone).steps[2]}"
            }
        }
    },
    TestCase("a facings count over the maximum shows the engine's rule on the field and nothing is submitted") {
        checkedInPhone("演示 SOP 超限").use { phone ->
            phone.run { takePhoto(storefrontJpeg, fixNear(5.0)) }
            assertEquals(true, sopOf(phone).steps[0].done, "photo step")
            var state = phone.run { sop.openForm(1) }
            val form = state.sop?.form ?: error("form not opened: ${state.message}")
            val facings = form.fields.single()
            assertEquals("facings", facings.key, "field")
            assertEquals(FieldInput.WHOLE, facings.input, "input")
            check(facings.required) { "facings not required" }
            phone.vm.sop.editField("facings", "500")
            state = phone.run { sop.submitForm() }
            val refused = state.sop?.form ?: error("the form closed on a refused value")
            assertEquals("Must be at most 200.", refused.fields.single().error, "error on the field")
            assertEquals(null, refused.problem, "problem on the form as a whole")
            assertEquals(false, refused.submitting, "submitting")
            val visitId = sopOf(phone).visitId
            assertEquals(0, submittedIn(phone, visitId).size, "responses submitted")
            assertEquals(false, sopOf(phone).steps[1].done, "form step")
            phone.vm.sop.editField("facings", "5 boxes")
            assertEquals(null, phone.vm.state.value.sop?.form?.fields?.single()?.error, "error once edited")
            state = phone.run { sop.submitForm() }
            assertEquals(FieldTexts.NOT_A_WHOLE_NUMBER, state.sop?.form?.fields?.single()?.error, "text in a whole-number field")
            assertEquals(0, submittedIn(phone, visitId).size, "responses submitted after a local refusal")
        }
    },
    TestCase("a valid facings count submits the form and the step shows done") {
        checkedInPhone("演示 SOP 提交").use { phone ->
            phone.run { takePhoto(storefrontJpeg, fixNear(5.0)) }
            phone.run { sop.openForm(1) }
            phone.vm.sop.editField("facings", "500")
            phone.run { sop.submitForm() }
            phone.vm.sop.editField("facings", "12")
            val state = phone.run { sop.submitForm() }
            val sop = state.sop ?: error("no SOP")
            assertEquals(null, sop.form, "form once submitted")
            val step = sop.steps[1]
            check(step.done && step.formSubmitted && step.problem == null) { "form step $step (message ${state.message})" }
            check(sop.steps[2].next) { "the order step is not next: ${sop.steps}" }
            val submitted = submittedIn(phone, sop.visitId).singleOrNull() ?: error("not one submitted response")
            assertEquals(mapOf("facings" to "12"), submitted.values, "values")
            assertEquals(1, phone.kit.formResponses().count { it.visitId == sop.visitId }, "responses started (the refused try reused)")
            val synced = phone.run { refresh() }
            assertEquals(0L, synced.sync.pending, "pending after the sync")
            assertEquals(0L, synced.sync.parked, "refused by the server")
        }
    },
)
