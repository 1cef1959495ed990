// The rep's typed answers and the engine's form values: the text in a field turned into the
// JSON text `fillForm` takes (by the field's kind), and the engine's refusal of a submission
// turned back into one problem per field. Pure functions, no FieldKit calls.
package com.fieldkit.demo.logic

import com.fieldkit.core.model.Condition
import com.fieldkit.core.model.ConditionTest
import com.fieldkit.core.model.FieldKind

/** What a field's text becomes in `fillForm`'s values. */
sealed class Answer {
    /** Nothing typed: the field is left out (the engine says whether it is required). */
    object Blank : Answer()

    /** The value as JSON text, e.g. `12`, `"yes"`, `true`. */
    data class Json(val text: String) : Answer()

    /** The text cannot be a value of the field's kind: `problem` is shown on the field. */
    data class NotValid(val problem: String) : Answer()
}

/** Problems shown on a field before anything is sent. */
object FieldTexts {
    /** A decimal field with text that is not a number. */
    const val NOT_A_NUMBER = "Enter a number, e.g. 12.5."

    /** A whole-number field with text that is not one. */
    const val NOT_A_WHOLE_NUMBER = "Enter a whole number, e.g. 12."

    /** A yes/no field with something else. */
    const val NOT_YES_NO = "Choose yes or no."

    /** A field kind the demo has no input for. */
    const val NOT_SUPPORTED = "Not supported in the demo."

    /** The engine refused a value it could not read as the field's value. */
    const val NOT_READABLE = "This value cannot be read."
}

/** How a field is entered on the screen. */
enum class FieldInput {
    /** Free text (text and barcode fields). */
    TEXT,

    /** A decimal number (number keyboard with a decimal point). */
    DECIMAL,

    /** A whole number (number keyboard): integers, amounts in minor units, ratings. */
    WHOLE,

    /** One of [FieldRow.choices], as radio buttons. */
    CHOICE,

    /** Yes or no, as a switch. */
    YES_NO,

    /** A heading that groups the fields after it; holds no value. */
    HEADING,

    /** A kind the demo has no input for (photos, signature, location, date, multi-choice, product table). */
    UNSUPPORTED,
}

/** The input for a field of `kind`. */
fun fieldInput(kind: FieldKind): FieldInput = when (kind) {
    is FieldKind.Text, is FieldKind.Barcode -> FieldInput.TEXT
    is FieldKind.Number -> FieldInput.DECIMAL
    is FieldKind.Integer, is FieldKind.Money, is FieldKind.Rating -> FieldInput.WHOLE
    is FieldKind.SingleChoice -> FieldInput.CHOICE
    is FieldKind.YesNo -> FieldInput.YES_NO
    is FieldKind.Section -> FieldInput.HEADING
    is FieldKind.DateTime, is FieldKind.MultiChoice, is FieldKind.Photos, is FieldKind.Location,
    is FieldKind.Signature, is FieldKind.ProductTable -> FieldInput.UNSUPPORTED
}

/**
 * The value `text` (as typed) gives a field of `kind`: numbers as they are (checked to be
 * numbers, written as JSON numbers), text and choices quoted, yes/no as `true`/`false`.
 * Blank text is [Answer.Blank]; text that cannot be such a value is [Answer.NotValid].
 */
fun answer(kind: FieldKind, text: String): Answer {
    val trimmed = text.trim()
    if (trimmed.isEmpty()) return Answer.Blank
    return when (fieldInput(kind)) {
        FieldInput.TEXT, FieldInput.CHOICE -> Answer.Json(jsonString(text))
        FieldInput.DECIMAL -> trimmed.replace(',', '.').takeIf { DECIMAL_NUMBER.matches(it) }?.toBigDecimalOrNull()
            ?.let { Answer.Json(it.toPlainString()) }
            ?: Answer.NotValid(FieldTexts.NOT_A_NUMBER)
        FieldInput.WHOLE -> trimmed.takeIf { WHOLE_NUMBER.matches(it) }?.toBigIntegerOrNull()
            ?.let { Answer.Json(it.toString()) }
            ?: Answer.NotValid(FieldTexts.NOT_A_WHOLE_NUMBER)
        FieldInput.YES_NO -> when (trimmed) {
            "true", "false" -> Answer.Json(trimmed)
            else -> Answer.NotValid(FieldTexts.NOT_YES_NO)
        }
        FieldInput.HEADING, FieldInput.UNSUPPORTED -> Answer.NotValid(FieldTexts.NOT_SUPPORTED)
    }
}

/** `text` as a JSON string literal: quoted, with quotes, backslashes and control characters escaped. */
fun jsonString(text: String): String = buildString(text.length + 2) {
    append('"')
    for (c in text) {
        when (c) {
            '"' -> append("\\\"")
            '\\' -> append("\\\\")
            '\n' -> append("\\n")
            '\r' -> append("\\r")
            '\t' -> append("\\t")
            '\b' -> append("\\b")
            '\u000C' -> append("\\f")
            else -> if (c < ' ') append("\\u%04x".format(c.code)) else append(c)
        }
    }
    append('"')
}

/**
 * Whether a field with `showIf` is shown, given the answers so far (field key → JSON text):
 * the condition on another field's answer, compared as JSON values. A field hidden this way
 * is not sent (the engine does not check hidden fields).
 */
fun isShown(showIf: Condition?, answers: Map<String, String>): Boolean {
    val condition = showIf ?: return true
    val value = answers[condition.field]
    return when (val test = condition.test) {
        is ConditionTest.IsSet -> value != null
        is ConditionTest.IsTrue -> value == "true"
        is ConditionTest.Equals -> value != null && sameJson(value, test.value)
        is ConditionTest.OneOf -> value != null && test.values.any { sameJson(value, it) }
    }
}

/** JSON texts that mean the same value, as far as the demo's answers go (strings, numbers, booleans). */
private fun sameJson(a: String, b: String): Boolean {
    if (a.trim() == b.trim()) return true
    val x = a.trim().toBigDecimalOrNull() ?: return false
    val y = b.trim().toBigDecimalOrNull() ?: return false
    return x.compareTo(y) == 0
}

/**
 * The problems in the engine's refusal of a submission, per field key: `detail` of
 * `InvalidInput("form", …)` reads `form response breaks 2 rule(s): field "a": must be at
 * most 200; field "b": a value is required` (the field's key, never its value). Each
 * problem is a sentence ("Must be at most 200."); several on one field are joined.
 * Parts that name no field are left out: the caller shows the detail as a whole then.
 */
fun formProblems(detail: String): Map<String, String> {
    val problems = LinkedHashMap<String, String>()
    for (match in FIELD_PROBLEM.findAll(detail)) {
        val key = match.groupValues[1].replace("\\\"", "\"").replace("\\\\", "\\")
        val rule = sentence(match.groupValues[2].trim())
        problems[key] = problems[key]?.let { "$it $rule" } ?: rule
    }
    return problems
}

/**
 * The field key in `InvalidInput("values", …)`, whose detail reads `key: … is not json: …`
 * (a value the engine could not read); null if there is none.
 */
fun unreadableField(detail: String): String? = detail.substringBefore(':', "").takeIf { it.isNotEmpty() }

/** `text` with a capital first letter and a final full stop. */
private fun sentence(text: String): String {
    val capital = text.replaceFirstChar { it.uppercaseChar() }
    return if (capital.endsWith('.')) capital else "$capital."
}

/** A decimal number as the rep types it (`12`, `-3.5`, `.5`, `12.`; a decimal comma was made a point). */
private val DECIMAL_NUMBER = Regex("""[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)""")

/** A whole number as the rep types it (a `+` and leading zeros are dropped before sending). */
private val WHOLE_NUMBER = Regex("""[+-]?[0-9]+""")

/** One `field "key": rule` part of a refusal, up to the next `; field "` or the end. */
private val FIELD_PROBLEM = Regex("""field "((?:[^"\\]|\\.)*)": (.*?)(?=; field "|$)""")
