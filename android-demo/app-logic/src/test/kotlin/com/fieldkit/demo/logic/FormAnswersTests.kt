// The pure parts of the SOP form and the verdict card, without a server: typed text to the
// JSON values fillForm takes, the engine's refusal back to per-field problems, showIf, and
// verdicts and reasons to the sentences the rep reads. Run by RepDayViewModelTests' main.
package com.fieldkit.demo.logic

import com.fieldkit.core.model.CheckInAssessment
import com.fieldkit.core.model.Condition
import com.fieldkit.core.model.ConditionTest
import com.fieldkit.core.model.FieldKind
import com.fieldkit.core.model.Reason
import com.fieldkit.core.model.ReasonKind
import com.fieldkit.core.model.Verdict
import com.fieldkit.core.test.TestCase
import com.fieldkit.core.test.assertEquals

/** The form-answer and verdict tests. */
internal fun formAnswersTests(): List<TestCase> = listOf(
    TestCase("numbers are sent as they are and text and choices quoted, by the field's kind") {
        assertEquals(Answer.Json("12"), answer(FieldKind.Integer, " 12 "), "integer")
        assertEquals(Answer.Json("12"), answer(FieldKind.Integer, "012"), "integer with a leading zero")
        assertEquals(Answer.Json("-3"), answer(FieldKind.Integer, "-3"), "negative integer")
        assertEquals(Answer.Json("1250"), answer(FieldKind.Money, "1250"), "money in minor units")
        assertEquals(Answer.Json("4"), answer(FieldKind.Rating(5u), "4"), "rating")
        assertEquals(Answer.Json("12.5"), answer(FieldKind.Number, "12.5"), "decimal")
        assertEquals(Answer.Json("12.5"), answer(FieldKind.Number, "12,5"), "decimal comma")
        assertEquals(Answer.Json("0.5"), answer(FieldKind.Number, ".5"), "decimal without a leading zero")
        assertEquals(Answer.Json("\"货架 A\""), answer(FieldKind.Text, "货架 A"), "text")
        assertEquals(Answer.Json("\"12\""), answer(FieldKind.Text, "12"), "digits in a text field stay text")
        assertEquals(Answer.Json("\"good\""), answer(FieldKind.SingleChoice(listOf("good", "bad")), "good"), "choice")
        assertEquals(Answer.Json("true"), answer(FieldKind.YesNo, "true"), "yes")
        assertEquals(Answer.Json("false"), answer(FieldKind.YesNo, "false"), "no")
        assertEquals(Answer.Json("\"6901234567892\""), answer(FieldKind.Barcode, "6901234567892"), "barcode")
    },
    TestCase("blank text is left out and text that is not a value of the kind is refused on the field") {
        assertEquals(Answer.Blank, answer(FieldKind.Integer, "  "), "blank integer")
        assertEquals(Answer.Blank, answer(FieldKind.Text, ""), "blank text")
        assertEquals(Answer.NotValid(FieldTexts.NOT_A_WHOLE_NUMBER), answer(FieldKind.Integer, "12.5"), "decimal in an integer field")
        assertEquals(Answer.NotValid(FieldTexts.NOT_A_WHOLE_NUMBER), answer(FieldKind.Integer, "twelve"), "word in an integer field")
        assertEquals(Answer.NotValid(FieldTexts.NOT_A_NUMBER), answer(FieldKind.Number, "1e5"), "exponent in a decimal field")
        assertEquals(Answer.NotValid(FieldTexts.NOT_A_NUMBER), answer(FieldKind.Number, "12 pcs"), "unit in a decimal field")
        assertEquals(Answer.NotValid(FieldTexts.NOT_YES_NO), answer(FieldKind.YesNo, "maybe"), "yes/no")
        assertEquals(Answer.NotValid(FieldTexts.NOT_SUPPORTED), answer(FieldKind.Signature, "x"), "signature")
    },
    TestCase("quotes, backslashes and control characters are escaped in JSON strings") {
        assertEquals("\"a\\\"b\\\\c\\nd\\te\\u0001\"", jsonString("a\"b\\c\nd\te\u0001"), "escaped")
        assertEquals("\"\"", jsonString(""), "empty")
    },
    TestCase("each field kind has its input, and kinds without one are marked unsupported") {
        assertEquals(FieldInput.WHOLE, fieldInput(FieldKind.Integer), "integer")
        assertEquals(FieldInput.DECIMAL, fieldInput(FieldKind.Number), "number")
        assertEquals(FieldInput.TEXT, fieldInput(FieldKind.Text), "text")
        assertEquals(FieldInput.CHOICE, fieldInput(FieldKind.SingleChoice(listOf("a"))), "single choice")
        assertEquals(FieldInput.YES_NO, fieldInput(FieldKind.YesNo), "yes/no")
        assertEquals(FieldInput.HEADING, fieldInput(FieldKind.Section), "section")
        assertEquals(FieldInput.UNSUPPORTED, fieldInput(FieldKind.Photos(1u, 3u)), "photos")
        assertEquals(FieldInput.UNSUPPORTED, fieldInput(FieldKind.MultiChoice(listOf("a"))), "multi choice")
        assertEquals(FieldInput.UNSUPPORTED, fieldInput(FieldKind.DateTime), "date and time")
    },
    TestCase("the engine's refusal of a submission becomes one sentence per field key") {
        val detail = "form response breaks 3 rule(s): field \"facings\": must be at most 200; " +
            "field \"brand\": \"Cola; Zero\" is not one of the choices; field \"facings\": expected a whole number"
        assertEquals(
            mapOf(
                "facings" to "Must be at most 200. Expected a whole number.",
                "brand" to "\"Cola; Zero\" is not one of the choices.",
            ),
            formProblems(detail),
            "problems",
        )
        assertEquals(emptyMap<String, String>(), formProblems("something else"), "a detail naming no field")
        assertEquals("facings", unreadableField("facings: \"x\" is not json: expected value"), "unreadable value")
    },
    TestCase("a field with a condition shows only while the other field's answer meets it") {
        val whenYes = Condition("stocked", ConditionTest.IsTrue)
        assertEquals(true, isShown(whenYes, mapOf("stocked" to "true")), "yes")
        assertEquals(false, isShown(whenYes, mapOf("stocked" to "false")), "no")
        assertEquals(false, isShown(whenYes, emptyMap()), "unanswered")
        val whenBad = Condition("state", ConditionTest.OneOf(listOf("\"bad\"", "\"broken\"")))
        assertEquals(true, isShown(whenBad, mapOf("state" to "\"broken\"")), "one of")
        assertEquals(false, isShown(whenBad, mapOf("state" to "\"good\"")), "none of")
        assertEquals(true, isShown(Condition("n", ConditionTest.Equals("3")), mapOf("n" to "3.0")), "equal numbers")
        assertEquals(true, isShown(Condition("n", ConditionTest.IsSet), mapOf("n" to "0")), "set")
        assertEquals(true, isShown(null, emptyMap()), "no condition")
    },
    TestCase("each check-in reason reads in metres, seconds or km/h with its limit") {
        assertEquals("Too far from the customer: 312 m (limit 200 m)", reasonLine(Reason.TooFar(312.4, 200.0)), "too far")
        assertEquals("Location too imprecise: 85 m (limit 50 m)", reasonLine(Reason.PoorAccuracy(85.0, 50.0)), "accuracy")
        assertEquals("Location too old: 45 s (limit 30 s)", reasonLine(Reason.StaleFix(45_000, 30_000)), "stale")
        assertEquals("A mock-location app is on", reasonLine(Reason.MockLocation), "mock")
        assertEquals("Moved impossibly fast: 180 km/h (limit 144 km/h)", reasonLine(Reason.ImpossibleSpeed(50.0, 40.0)), "speed")
        assertEquals("The phone's clock is off: 600 s (limit 300 s)", reasonLine(Reason.DeviceClockOff(600_000, 300_000)), "clock")
    },
    TestCase("verdicts become cards: accepted, flagged with the stated reason, rejected asking for one") {
        assertEquals(Outcome.ACCEPTED, verdictCard("t", null).outcome, "no assessment")
        val flagged = verdictCard("t", CheckInAssessment(Verdict.Flagged(listOf(Reason.TooFar(300.0, 200.0)), "门店装修"), 300.0, 200.0))
        assertEquals(Outcome.FLAGGED, flagged.outcome, "flagged")
        assertEquals(listOf("Too far from the customer: 300 m (limit 200 m)", "Your reason: 门店装修"), flagged.reasons, "flagged lines")
        assertEquals(false, flagged.needsReason, "a flagged card asks for nothing")
        val rejected = verdictCard(
            "t",
            CheckInAssessment(Verdict.Rejected(listOf(Reason.TooFar(300.0, 200.0)), listOf(ReasonKind.TOO_FAR), true), 300.0, 200.0),
        )
        assertEquals(Outcome.REJECTED, rejected.outcome, "rejected")
        assertEquals("Not checked in — add a reason to check in from here", rejected.title, "title")
        assertEquals(true, rejected.needsReason, "the reason field is offered")
        val mocked = verdictCard("t", CheckInAssessment(Verdict.Rejected(listOf(Reason.MockLocation), listOf(ReasonKind.MOCK_LOCATION), false), 3.0, 200.0))
        assertEquals("Not checked in", mocked.title, "title without a way through")
        assertEquals(false, mocked.needsReason, "no reason field when a reason would not help")
    },
)
