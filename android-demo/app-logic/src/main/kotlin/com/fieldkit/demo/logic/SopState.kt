// The SOP screen's state: the open visit's steps in order, and the form step the rep is
// filling in, as immutable values the UI renders as they are. VisitSopViewModel builds them
// from the bindings' SopTemplate, FormTemplate and Visit.
package com.fieldkit.demo.logic

import com.fieldkit.core.model.Condition
import com.fieldkit.core.model.FieldKind

/** The SOP the open visit follows, with the form being filled (if any). */
data class SopState(
    /** The visit the steps belong to. */
    val visitId: String,
    /** The steps, in the order the SOP asks for them. */
    val steps: List<StepRow>,
    /** The form step open for filling in, or null (show the step list). */
    val form: FormDraft? = null,
)

/** What a step asks for. */
enum class StepKind {
    /** A photo in the visit ("Take photo", then "Mark done"). */
    PHOTO,

    /** A submitted form ("Fill in" opens it). */
    FORM,

    /** A stock count (not taken in the demo). */
    STOCK_COUNT,

    /** An order in the visit (not taken in the demo). */
    ORDER,
}

/** One step of the SOP, with what the rep can do about it. */
data class StepRow(
    /** 0-based position: what [VisitSopViewModel.completeStep] and [VisitSopViewModel.openForm] take. */
    val index: Int,
    /** Title set by the manager, e.g. "门头照". */
    val title: String,
    /** What it asks for. */
    val kind: StepKind,
    /** The form template a [StepKind.FORM] step asks for, else null. */
    val formTemplateId: String?,
    /** Check-out waits for (or flags) a required step. */
    val required: Boolean,
    /** Marked done in the visit. */
    val done: Boolean,
    /** The first step not done yet: the one to do now. */
    val next: Boolean,
    /** A [StepKind.FORM] step whose form is already submitted in this visit (only "Mark done" is left). */
    val formSubmitted: Boolean,
    /** Why the engine refused to mark it done, as a sentence; null when it did not refuse. */
    val problem: String? = null,
)

/** The form of a form step, as the rep is filling it in. */
data class FormDraft(
    /** The step the form is for. */
    val stepIndex: Int,
    /** The form template. */
    val templateId: String,
    /** The template version the response follows (the latest on the phone). */
    val templateVersion: Int,
    /** The form's title. */
    val title: String,
    /** Every field of the template, in order, with the rep's text. */
    val fields: List<FieldRow>,
    /** The response started for it, once a submission was tried; reused by the next try. */
    val responseId: String? = null,
    /** A problem with the form as a whole (not one field's), or null. */
    val problem: String? = null,
    /** A submission is in flight: disable "Submit". */
    val submitting: Boolean = false,
)

/** One field of a form, with the text the rep typed and the problem found with it. */
data class FieldRow(
    /** The field's key in the response's values. */
    val key: String,
    /** The label shown. */
    val label: String,
    /** The field's kind in the template: what its text becomes (see [answer]). */
    val kind: FieldKind,
    /** How it is entered. */
    val input: FieldInput,
    /** The choices of a [FieldInput.CHOICE] field, else empty. */
    val choices: List<String>,
    /** Submission needs a value (when shown). */
    val required: Boolean,
    /** Shown only while another field's answer meets this; null: always shown. */
    val showIf: Condition? = null,
    /** What the rep typed or chose (`true`/`false` for yes/no); empty: no value. */
    val text: String = "",
    /** Shown under the field: why the value is refused; null when it is not. */
    val error: String? = null,
    /** False while another field's answer hides it (its value is not sent). */
    val shown: Boolean = true,
)
