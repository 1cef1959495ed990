// Check-in verdicts and photos as the rep reads them (mirrors android-demo's Verdicts.kt).
import FieldKitCore
import Foundation

/// The card for the phone's `assessment` of a check-in for `taskId`: the check-in's own
/// (`CheckIn.assessment`) or a refusal's (`FieldKitError.Refused`'s `verdict`). nil (the
/// phone could not judge: the customer was not on it yet; the server judges it) reads as
/// checked in.
public func verdictCard(taskId: String, _ assessment: CheckInAssessment?) -> VerdictCard {
    guard let assessment else {
        return VerdictCard(taskId: taskId, outcome: .accepted, title: "Checked in", reasons: [], needsReason: false)
    }
    switch assessment.verdict {
    case .accepted:
        return VerdictCard(taskId: taskId, outcome: .accepted, title: "Checked in", reasons: [], needsReason: false)
    case let .flagged(reasons, statedReason):
        var lines = reasons.map(reasonLine)
        if let statedReason { lines.append("Your reason: \(statedReason)") }
        return VerdictCard(
            taskId: taskId, outcome: .flagged, title: "Checked in — flagged for your manager", reasons: lines,
            needsReason: false
        )
    case let .rejected(reasons, _, needsStatedReason):
        return VerdictCard(
            taskId: taskId, outcome: .rejected,
            title: needsStatedReason ? "Not checked in — add a reason to check in from here" : "Not checked in",
            reasons: reasons.map(reasonLine), needsReason: needsStatedReason
        )
    }
}

/// One reason as a sentence with its measured value and limit.
public func reasonLine(_ reason: Reason) -> String {
    /// ": 312 m (limit 200 m)", both values scaled from the engine's unit to `unit`.
    func pair(_ measured: Double, _ limit: Double, _ unit: String, _ scale: Double = 1) -> String {
        ": \(Int64((measured * scale).rounded())) \(unit) (limit \(Int64((limit * scale).rounded())) \(unit))"
    }
    switch reason {
    case let .tooFar(distanceM, limitM): return "Too far from the customer" + pair(distanceM, limitM, "m")
    case let .poorAccuracy(accuracyM, maxM): return "Location too imprecise" + pair(accuracyM, maxM, "m")
    case let .staleFix(ageMs, maxMs): return "Location too old" + pair(Double(ageMs), Double(maxMs), "s", 0.001)
    case .mockLocation: return "A mock-location app is on"
    case let .impossibleSpeed(speedMps, maxMps): return "Moved impossibly fast" + pair(speedMps, maxMps, "km/h", 3.6)
    case let .deviceClockOff(skewMs, maxMs):
        // The skew is signed (ahead or behind); the rep needs how far off.
        return "The phone's clock is off" + pair(Double(skewMs.magnitude), Double(maxMs), "s", 0.001)
    }
}

/// The card for a photo just taken.
public func photoCard(_ photo: Photo) -> PhotoCard {
    PhotoCard(
        id: photo.id, verificationCode: photo.verificationCode, signed: photo.signed,
        width: photo.width, height: photo.height, sizeBytes: photo.sizeBytes
    )
}

/// The button label for a map app.
public func appLabel(_ app: NavApp) -> String {
    switch app {
    case .amapAndroid, .amapIos: return "Amap"
    case .amapWeb: return "Amap (web)"
    case .baidu: return "Baidu Maps"
    case .tencent: return "Tencent Maps"
    case .appleMaps: return "Apple Maps"
    case .googleMaps: return "Google Maps"
    }
}
