// The rep's position as FieldKit wants it: one Core Location fix as a LocationFix, with its
// accuracy, time and the simulated flag, which the engine judges check-ins on.
import CoreLocation
import FieldKitCore

/// Reads one fix at a time; asks for "when in use" permission on first use.
@MainActor
final class Locator: NSObject, CLLocationManagerDelegate {
    private let manager = CLLocationManager()
    private var waiting: [(LocationFix?) -> Void] = []

    override init() {
        super.init()
        manager.delegate = self
        manager.desiredAccuracy = kCLLocationAccuracyBest
    }

    /// Calls `done` with the current fix, or nil when there is none (no permission, no signal).
    func currentFix(_ done: @escaping (LocationFix?) -> Void) {
        waiting.append(done)
        if manager.authorizationStatus == .notDetermined { manager.requestWhenInUseAuthorization() }
        manager.requestLocation()
    }

    nonisolated func locationManager(_ manager: CLLocationManager, didUpdateLocations locations: [CLLocation]) {
        let fix = locations.last.map(Self.fix)
        Task { @MainActor in self.finish(fix) }
    }

    nonisolated func locationManager(_ manager: CLLocationManager, didFailWithError error: Error) {
        Task { @MainActor in self.finish(nil) }
    }

    private func finish(_ fix: LocationFix?) {
        let callbacks = waiting
        waiting = []
        callbacks.forEach { $0(fix) }
    }

    private nonisolated static func fix(_ location: CLLocation) -> LocationFix {
        let simulated = location.sourceInformation?.isSimulatedBySoftware ?? false
        return LocationFix(
            // Core Location reports WGS-84, also in China (only maps draw in GCJ-02 there).
            point: WgsPoint(lat: location.coordinate.latitude, lng: location.coordinate.longitude),
            accuracyM: location.horizontalAccuracy,
            fixTimeMs: Int64(location.timestamp.timeIntervalSince1970 * 1000),
            provider: .fused,
            isMock: simulated
        )
    }
}
