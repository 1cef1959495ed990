// Check-in verdicts and photos as the rep reads them: the engine's verdict (a sealed class
// with one case per reason) turned into a headline and one line per reason, in metres,
// seconds and km/h.
package com.fieldkit.demo.logic

import com.fieldkit.core.Photo
import com.fieldkit.core.model.CheckInAssessment
import com.fieldkit.core.model.Reason
import com.fieldkit.core.model.Verdict
import kotlin.math.roundToLong

/**
 * The card for the verdict of a check-in for `taskId`; a null `assessment` (the org judges
 * nothing) reads as accepted.
 */
fun verdictCard(taskId: String, assessment: CheckInAssessment?): VerdictCard =
    when (val verdict = assessment?.verdict ?: Verdict.Accepted) {
        is Verdict.Accepted -> VerdictCard(taskId, Outcome.ACCEPTED, "Checked in", emptyList(), needsReason = false)
        is Verdict.Flagged -> VerdictCard(
            taskId,
            Outcome.FLAGGED,
            "Checked in — flagged for your manager",
            verdict.reasons.map(::reasonLine) + listOfNotNull(verdict.statedReason?.let { "Your reason: $it" }),
            needsReason = false,
        )
        is Verdict.Rejected -> VerdictCard(
            taskId,
            Outcome.REJECTED,
            if (verdict.needsStatedReason) "Not checked in — add a reason to check in from here" else "Not checked in",
            verdict.reasons.map(::reasonLine),
            needsReason = verdict.needsStatedReason,
        )
    }

/** One reason as a sentence with its measured value and limit. */
fun reasonLine(reason: Reason): String = when (reason) {
    is Reason.TooFar -> "Too far from the customer" + measured(reason.distanceM, reason.limitM, "m")
    is Reason.PoorAccuracy -> "Location too imprecise" + measured(reason.accuracyM, reason.maxM, "m")
    is Reason.StaleFix -> "Location too old" + measured(reason.ageMs.toDouble(), reason.maxMs.toDouble(), "s", MS_TO_S)
    is Reason.MockLocation -> "A mock-location app is on"
    is Reason.ImpossibleSpeed -> "Moved impossibly fast" + measured(reason.speedMps, reason.maxMps, "km/h", MPS_TO_KMH)
    is Reason.DeviceClockOff -> "The phone's clock is off" + measured(reason.skewMs.toDouble(), reason.maxMs.toDouble(), "s", MS_TO_S)
}

/** ": 312 m (limit 200 m)": the value and its limit, scaled to `unit` and rounded. */
private fun measured(value: Double, limit: Double, unit: String, scale: Double = 1.0): String =
    ": ${(value * scale).roundToLong()} $unit (limit ${(limit * scale).roundToLong()} $unit)"

private const val MS_TO_S = 0.001
private const val MPS_TO_KMH = 3.6

/** The card for a photo just taken; `file` is its stamped JPEG on this phone (see [RepBackend.photoFile]). */
fun photoCard(photo: Photo, file: String?): PhotoCard = PhotoCard(
    id = photo.id,
    verificationCode = photo.verificationCode,
    signed = photo.signed,
    width = photo.width.toInt(),
    height = photo.height.toInt(),
    sizeBytes = photo.sizeBytes,
    file = file,
)
