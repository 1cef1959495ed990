// The check-in verdict cards and reason lines, from the engine's Verdict and Reason values as
// the generated bindings carry them. No server needed; like the rest of this folder, not run on
// the development machines (no Swift there).
import FieldKitCore
import XCTest
@testable import RepDay

final class VerdictsTests: XCTestCase {
    private func assessment(_ verdict: Verdict) -> CheckInAssessment {
        CheckInAssessment(verdict: verdict, distanceM: 312, limitM: 200)
    }

    func testARejectionAStatedReasonWouldPassOffersTheReasonFieldAndSaysHowFar() {
        let card = verdictCard(taskId: "t1", assessment(.rejected(
            reasons: [.tooFar(distanceM: 312.4, limitM: 200)], rejectedBy: [.tooFar], needsStatedReason: true
        )))
        XCTAssertEqual(card.outcome, .rejected)
        XCTAssertEqual(card.title, "Not checked in — add a reason to check in from here")
        XCTAssertEqual(card.reasons, ["Too far from the customer: 312 m (limit 200 m)"])
        XCTAssertTrue(card.needsReason)
        XCTAssertEqual(card.taskId, "t1")
    }

    func testARejectionNoReasonCanPassOffersNoReasonField() {
        let card = verdictCard(taskId: "t1", assessment(.rejected(
            reasons: [.mockLocation], rejectedBy: [.mockLocation], needsStatedReason: false
        )))
        XCTAssertEqual(card.title, "Not checked in")
        XCTAssertEqual(card.reasons, ["A mock-location app is on"])
        XCTAssertFalse(card.needsReason)
    }

    func testAFlaggedCheckInListsItsReasonsAndTheRepsStatedReason() {
        let card = verdictCard(taskId: "t1", assessment(.flagged(
            reasons: [.staleFix(ageMs: 95_000, maxMs: 60_000)], statedReason: "门店装修"
        )))
        XCTAssertEqual(card.outcome, .flagged)
        XCTAssertEqual(card.title, "Checked in — flagged for your manager")
        XCTAssertEqual(card.reasons, ["Location too old: 95 s (limit 60 s)", "Your reason: 门店装修"])
        XCTAssertFalse(card.needsReason)
    }

    func testAnAcceptedCheckInAndOneThePhoneCouldNotJudgeBothReadAsCheckedIn() {
        for card in [verdictCard(taskId: "t1", assessment(.accepted)), verdictCard(taskId: "t1", nil)] {
            XCTAssertEqual(card.outcome, .accepted)
            XCTAssertEqual(card.title, "Checked in")
            XCTAssertEqual(card.reasons, [])
        }
    }

    func testSpeedsReadInKilometresPerHourAndAClockBehindByHowFarItIsOff() {
        XCTAssertEqual(reasonLine(.impossibleSpeed(speedMps: 50, maxMps: 40)), "Moved impossibly fast: 180 km/h (limit 144 km/h)")
        XCTAssertEqual(reasonLine(.deviceClockOff(skewMs: -600_000, maxMs: 300_000)), "The phone's clock is off: 600 s (limit 300 s)")
        XCTAssertEqual(reasonLine(.poorAccuracy(accuracyM: 150, maxM: 100)), "Location too imprecise: 150 m (limit 100 m)")
    }
}
