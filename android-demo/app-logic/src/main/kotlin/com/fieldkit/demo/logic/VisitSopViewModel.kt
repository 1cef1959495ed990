// The SOP slice of the rep day: the open visit's steps (from the SOP its task's kind
// follows), the form of a form step filled in and submitted, and steps marked done, in
// order, as the engine allows. Shares RepDayViewModel's state (RepDayState.sop) and runs
// every FieldKit call on the IO dispatcher; a refusal shows on the step or the field it is
// about. Plain Kotlin, no Android imports.
package com.fieldkit.demo.logic

import com.fieldkit.core.FieldKitException
import com.fieldkit.core.FormResponse
import com.fieldkit.core.model.FieldKind
import com.fieldkit.core.model.SopStepKind
import com.fieldkit.core.model.SopTemplate
import com.fieldkit.core.model.Visit
import kotlinx.coroutines.CancellationException
import kotlinx.coroutines.CoroutineDispatcher
import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.Job
import kotlinx.coroutines.flow.MutableStateFlow
import kotlinx.coroutines.flow.update
import kotlinx.coroutines.launch
import kotlinx.coroutines.withContext

/**
 * The open visit's SOP: [RepDayState.sop]. Made by [RepDayViewModel] (as its `sop`), which
 * calls [load] whenever it re-reads the visit. Every action returns at once and reports
 * through the state; the returned [Job] is for tests.
 */
class VisitSopViewModel internal constructor(
    private val backend: RepBackend,
    private val scope: CoroutineScope,
    private val io: CoroutineDispatcher,
    private val state: MutableStateFlow<RepDayState>,
    private val reload: suspend () -> Unit,
) {
    /**
     * Marks step `index` done. The engine refuses a step that waits for earlier required
     * steps, or that asks for a photo, an order or a form the visit does not have yet: the
     * reason then shows on the step ([StepRow.problem]).
     */
    fun completeStep(index: Int): Job = scope.launch {
        clearProblems()
        complete(index)
        reload()
    }

    /**
     * Opens form step `index` for filling in: the latest version on the phone of the form
     * template the step asks for, every field empty (yes/no fields at no).
     */
    fun openForm(index: Int): Job = scope.launch {
        clearProblems()
        val sop = state.value.sop ?: return@launch
        val step = sop.steps.getOrNull(index)?.takeIf { it.kind == StepKind.FORM } ?: return@launch
        val templateId = step.formTemplateId ?: return@launch
        val found = call { backend.formTemplates() to backend.formResponses() } ?: return@launch
        val (templates, responses) = found
        val template = templates.filter { it.id == templateId }.maxByOrNull { it.version }
        if (template == null) {
            state.update { it.copy(message = UserMessage(MessageKind.ERROR, Texts.NOT_FOUND)) }
            return@launch
        }
        // A response started by an earlier try that was refused: send into it, not a new one.
        val started = responses.lastOrNull {
            it.visitId == sop.visitId && it.templateId == templateId && it.templateVersion == template.version && !it.submitted
        }
        val fields = template.fields.map { field ->
            val input = fieldInput(field.kind)
            FieldRow(
                key = field.key,
                label = field.label,
                kind = field.kind,
                input = input,
                choices = (field.kind as? FieldKind.SingleChoice)?.choices.orEmpty(),
                required = field.required,
                showIf = field.showIf,
                // A switch has no "unanswered": it starts at no.
                text = if (input == FieldInput.YES_NO) "false" else "",
            )
        }
        val draft = FormDraft(index, templateId, template.version.toInt(), template.title, visibility(fields), started?.id)
        state.update { it.copy(sop = it.sop?.copy(form = draft)) }
    }

    /** The rep typed `text` into field `key` (for yes/no: `true` or `false`); clears its error. */
    fun editField(key: String, text: String) {
        state.update { current ->
            val sop = current.sop ?: return@update current
            val form = sop.form ?: return@update current
            val fields = form.fields.map { if (it.key == key) it.copy(text = text, error = null) else it }
            current.copy(sop = sop.copy(form = form.copy(fields = visibility(fields), problem = null)))
        }
    }

    /** Leaves the form without submitting it (what was typed is dropped). */
    fun closeForm() {
        state.update { it.copy(sop = it.sop?.copy(form = null)) }
    }

    /**
     * Submits the open form: each shown field's text as its JSON value ([answer]); text that
     * cannot be a value (letters in a number field) is refused on the field before anything
     * is sent. Then `startForm` (once) and `fillForm(submit = true)`: when the engine refuses
     * the values (a count over the field's maximum…), each problem shows on its field and
     * nothing is submitted; when it takes them, the form closes and its step is marked done
     * (or shows why it cannot be yet, e.g. an earlier required step is open).
     */
    fun submitForm(): Job = scope.launch {
        val sop = state.value.sop ?: return@launch
        val form = sop.form?.takeIf { !it.submitting } ?: return@launch
        val fields = visibility(form.fields)
        val answers = fields.filter { it.shown }.associate { it.key to answerOf(it) }
        val local = answers.mapNotNull { (key, a) -> (a as? Answer.NotValid)?.let { key to it.problem } }.toMap()
        if (local.isNotEmpty()) {
            updateForm { it.copy(fields = withErrors(fields, local), problem = null) }
            return@launch
        }
        val values = answers.mapNotNull { (key, a) -> (a as? Answer.Json)?.let { key to it.text } }.toMap()
        updateForm { it.copy(fields = withErrors(fields, emptyMap()), problem = null, submitting = true) }
        try {
            val responseId = form.responseId ?: withContext(io) {
                backend.startForm(form.templateId, form.templateVersion.toUInt(), sop.visitId)
            }.id.also { id -> updateForm { it.copy(responseId = id) } }
            withContext(io) { backend.fillForm(responseId, values, true) }
        } catch (e: CancellationException) {
            throw e
        } catch (e: FieldKitException.InvalidInput) {
            refusedValues(e)
            reload()
            return@launch
        } catch (e: FieldKitException.Refused) {
            updateForm { it.copy(submitting = false, problem = userMessage(e, Action.EDIT).text) }
            return@launch
        } catch (e: Exception) {
            updateForm { it.copy(submitting = false) }
            fail(e)
            return@launch
        }
        state.update { it.copy(sop = it.sop?.copy(form = null)) }
        complete(form.stepIndex)
        reload()
    }

    /**
     * Re-reads the SOP of `visit` (null: no visit open, no SOP shown) and rebuilds the step
     * list; keeps the open form and the problems shown, if it is the same visit.
     */
    internal suspend fun load(visit: Visit?) {
        if (visit == null) {
            state.update { it.copy(sop = null) }
            return
        }
        // On a failed read (its message shown) the steps stay as they were.
        val read = call { backend.visitSop(visit.id) to backend.formResponses() } ?: return
        val (sop, responses) = read
        if (sop == null) {
            state.update { it.copy(sop = null) }
            return
        }
        state.update { current ->
            val before = current.sop?.takeIf { it.visitId == visit.id }
            val steps = stepsOf(sop, visit, responses).map { row ->
                row.copy(problem = before?.steps?.getOrNull(row.index)?.problem?.takeIf { !row.done })
            }
            current.copy(sop = SopState(visit.id, steps, before?.form))
        }
    }

    /** A photo was taken in the open visit: marks the next step done if it is a photo step. */
    internal suspend fun photoTaken() {
        val next = state.value.sop?.steps?.firstOrNull { it.next } ?: return
        if (next.kind == StepKind.PHOTO) {
            clearProblems()
            complete(next.index)
        }
    }

    /** `updateVisit` for step `index` of the open visit; a refusal shows on the step. */
    private suspend fun complete(index: Int) {
        val visitId = state.value.sop?.visitId ?: return
        try {
            val visit = withContext(io) { backend.updateVisit(visitId, index.toUInt()) }
            load(visit)
        } catch (e: CancellationException) {
            throw e
        } catch (e: FieldKitException.Refused) {
            val reason = userMessage(e, Action.EDIT).text
            state.update { current ->
                val sop = current.sop ?: return@update current
                current.copy(sop = sop.copy(steps = sop.steps.map { if (it.index == index) it.copy(problem = reason) else it }))
            }
        } catch (e: Exception) {
            fail(e)
        }
    }

    /** The engine refused the values: each problem on its field, the rest on the form. */
    private fun refusedValues(e: FieldKitException.InvalidInput) {
        updateForm { form ->
            val keys = form.fields.map { it.key }.toSet()
            val problems = when (e.field) {
                "form" -> formProblems(e.detail)
                "values" -> listOfNotNull(unreadableField(e.detail)).associateWith { FieldTexts.NOT_READABLE }
                else -> emptyMap()
            }
            val onFields = problems.filterKeys { it in keys }
            form.copy(
                fields = withErrors(form.fields, onFields),
                submitting = false,
                problem = if (onFields.isEmpty() || onFields.size < problems.size) userMessage(e, Action.EDIT).text else null,
            )
        }
    }

    /** Runs `call` on [io]; on failure shows its message and returns null. */
    private suspend fun <T> call(call: () -> T): T? = try {
        withContext(io) { call() }
    } catch (e: CancellationException) {
        throw e
    } catch (e: Exception) {
        fail(e)
        null
    }

    /** Shows `e` as a message; a session that ended returns to the login screen. */
    private fun fail(e: Exception) {
        state.update {
            it.copy(
                message = userMessage(e, Action.EDIT),
                user = if (e is FieldKitException.Unauthorized) null else it.user,
            )
        }
    }

    private fun clearProblems() {
        state.update { current ->
            val sop = current.sop ?: return@update current
            current.copy(sop = sop.copy(steps = sop.steps.map { it.copy(problem = null) }))
        }
    }

    private fun updateForm(change: (FormDraft) -> FormDraft) {
        state.update { current ->
            val sop = current.sop ?: return@update current
            val form = sop.form ?: return@update current
            current.copy(sop = sop.copy(form = change(form)))
        }
    }

    private companion object {
        /** The field's answer; a field the demo cannot enter counts as blank (the engine says if it is required). */
        fun answerOf(field: FieldRow): Answer =
            if (field.input == FieldInput.HEADING || field.input == FieldInput.UNSUPPORTED) Answer.Blank else answer(field.kind, field.text)

        /**
         * `fields` each shown or hidden by its condition on the other fields' answers (a
         * hidden field keeps its text, and shows it again when the condition holds again).
         */
        fun visibility(fields: List<FieldRow>): List<FieldRow> {
            val answers = fields.mapNotNull { field -> (answerOf(field) as? Answer.Json)?.let { field.key to it.text } }.toMap()
            return fields.map { it.copy(shown = isShown(it.showIf, answers)) }
        }

        /** `fields` with `errors` (field key → problem) on them, and no other error. */
        fun withErrors(fields: List<FieldRow>, errors: Map<String, String>): List<FieldRow> =
            fields.map { it.copy(error = errors[it.key]) }

        /** The rows of the SOP's steps in `visit`: done, next, and a form step's submitted form. */
        fun stepsOf(sop: SopTemplate, visit: Visit, responses: List<FormResponse>): List<StepRow> {
            val done = visit.completedSteps.map { it.toInt() }.toSet()
            val next = sop.steps.indices.firstOrNull { it !in done }
            return sop.steps.mapIndexed { index, step ->
                val kind = step.kind
                val templateId = (kind as? SopStepKind.Form)?.templateId
                StepRow(
                    index = index,
                    title = step.title,
                    kind = when (kind) {
                        is SopStepKind.Photo -> StepKind.PHOTO
                        is SopStepKind.Form -> StepKind.FORM
                        is SopStepKind.StockCount -> StepKind.STOCK_COUNT
                        is SopStepKind.Order -> StepKind.ORDER
                    },
                    formTemplateId = templateId,
                    required = step.required,
                    done = index in done,
                    next = index == next,
                    formSubmitted = templateId != null && responses.any {
                        it.visitId == visit.id && it.templateId == templateId && it.submitted
                    },
                )
            }
        }
    }
}
