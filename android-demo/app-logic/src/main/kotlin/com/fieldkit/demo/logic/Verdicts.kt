// Check-in verdicts and photos as the rep reads them: the engine's verdict records turned
// into a headline and one line per reason, in metres, seconds and km/h.
package com.fieldkit.demo.logic

import com.fieldkit.core.CheckInReason
import com.fieldkit.core.CheckInVerdict
import com.fieldkit.core.Photo
import com.fieldkit.core.ReasonKind
import com.fieldkit.core.VerdictOutcome
import kotlin.math.roundToLong

/** The card for `verdict` of a check-in for `taskId`; `null` (the org judges nothing) reads as accepted. */
fun verdictCard(taskId: String, verdict: CheckInVerdict?): VerdictCard {
    if (verdict == null) return VerdictCard(taskId, VerdictOutcome.ACCEPTED, "Checked in", emptyList(), needsReason = false)
    val title = when (verdict.outcome) {
        VerdictOutcome.ACCEPTED -> "Checked in"
        VerdictOutcome.FLAGGED -> "Checked in — flagged for your manager"
        VerdictOutcome.REJECTED ->
            if (verdict.needsStatedReason) "Not checked in — add a reason to check in from here" else "Not checked in"
    }
    val lines = verdict.reasons.map(::reasonLine) +
        listOfNotNull(verdict.statedReason?.let { "Your reason: $it" })
    return VerdictCard(taskId, verdict.outcome, title, lines, verdict.needsStatedReason && verdict.outcome == VerdictOutcome.REJECTED)
}

/** One reason as a sentence with its measured value and limit. */
fun reasonLine(reason: CheckInReason): String {
    val measured = reason.measured
    val limit = reason.threshold
    fun pair(unit: String, scale: Double = 1.0): String =
        if (measured == null) "" else ": ${(measured * scale).roundToLong()} $unit" +
            (limit?.let { " (limit ${(it * scale).roundToLong()} $unit)" } ?: "")
    return when (reason.kind) {
        ReasonKind.TOO_FAR -> "Too far from the customer" + pair("m")
        ReasonKind.POOR_ACCURACY -> "Location too imprecise" + pair("m")
        ReasonKind.STALE_FIX -> "Location too old" + pair("s", 0.001)
        ReasonKind.MOCK_LOCATION -> "A mock-location app is on"
        ReasonKind.IMPOSSIBLE_SPEED -> "Moved impossibly fast" + pair("km/h", 3.6)
        ReasonKind.DEVICE_CLOCK_OFF -> "The phone's clock is off" + pair("s", 0.001)
    }
}

/** The card for a photo just taken. */
fun photoCard(photo: Photo): PhotoCard = PhotoCard(
    id = photo.id,
    verificationCode = photo.verificationCode,
    signed = photo.signed,
    width = photo.width.toInt(),
    height = photo.height.toInt(),
    sizeBytes = photo.sizeBytes,
)
