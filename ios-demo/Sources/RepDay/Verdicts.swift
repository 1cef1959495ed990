// Check-in verdicts and photos as the rep reads them (mirrors android-demo's Verdicts.kt).
import FieldKitCore
import Foundation

/// The card for `verdict` of a check-in for `taskId`; nil (the org judges nothing) reads as accepted.
public func verdictCard(taskId: String, _ verdict: CheckInVerdict?) -> VerdictCard {
    guard let verdict else { return VerdictCard(taskId: taskId, outcome: .accepted, title: "Checked in", reasons: [], needsReason: false) }
    let title: String
    switch verdict.outcome {
    case .accepted: title = "Checked in"
    case .flagged: title = "Checked in — flagged for your manager"
    case .rejected:
        title = verdict.needsStatedReason ? "Not checked in — add a reason to check in from here" : "Not checked in"
    }
    var lines = verdict.reasons.map(reasonLine)
    if let stated = verdict.statedReason { lines.append("Your reason: \(stated)") }
    return VerdictCard(
        taskId: taskId, outcome: verdict.outcome, title: title, reasons: lines,
        needsReason: verdict.needsStatedReason && verdict.outcome == .rejected
    )
}

/// One reason as a sentence with its measured value and limit.
public func reasonLine(_ reason: CheckInReason) -> String {
    func pair(_ unit: String, _ scale: Double = 1) -> String {
        guard let measured = reason.measured else { return "" }
        var text = ": \(Int64((measured * scale).rounded())) \(unit)"
        if let limit = reason.threshold { text += " (limit \(Int64((limit * scale).rounded())) \(unit))" }
        return text
    }
    switch reason.kind {
    case .tooFar: return "Too far from the customer" + pair("m")
    case .poorAccuracy: return "Location too imprecise" + pair("m")
    case .staleFix: return "Location too old" + pair("s", 0.001)
    case .mockLocation: return "A mock-location app is on"
    case .impossibleSpeed: return "Moved impossibly fast" + pair("km/h", 3.6)
    case .deviceClockOff: return "The phone's clock is off" + pair("s", 0.001)
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
