//! A generated, recorded-style day of a rep in Shanghai run through the whole pipeline:
//! gate → filter → smooth → stays → reconcile → mileage → simplify.
//!
//! Monday 2025-03-03, working hours 08:30–18:00 (UTC+8). The rep leaves home at 08:00
//! (before hours), drives to five shops, parks 60–80 m away and walks in, stays 15–30 min,
//! lunches at a restaurant (not a customer), drives through a tunnel with no fixes for
//! about 7 minutes, ends the day at the office, and drives home after 18:00 where the phone
//! keeps reporting. Fixes carry
//! deterministic noise, one multipath jump of 3 km and one 300 m network fix.

use uuid::Uuid;

use crate::geo::{
    CivilDate, CustomerSite, FilterConfig, GateDecision, KalmanConfig, LocalFrame, MileageConfig, OffReason,
    StayConfig, TrackingPolicy, UtcOffset, VisitRecord, WorkWindow, WorkingHours, daily_mileage,
    detect_stays, filter_track, haversine_m, reconcile_visits, simplify_track, smooth_track,
};
use crate::ids::CustomerId;
use crate::model::{TrackPoint, WgsPoint};

struct Sim {
    frame: LocalFrame,
    t_ms: i64,
    x: f64,
    y: f64,
    seed: u64,
    points: Vec<TrackPoint>,
    /// Ground-truth distance travelled while recorded, metres.
    truth_recorded_m: f64,
    recording_truth: bool,
}

impl Sim {
    fn noise(&mut self) -> f64 {
        // xorshift64*, mapped to [-1, 1).
        self.seed ^= self.seed << 13;
        self.seed ^= self.seed >> 7;
        self.seed ^= self.seed << 17;
        (self.seed >> 11) as f64 / (1u64 << 52) as f64 - 1.0
    }

    fn fix(&mut self, accuracy_m: f64, jitter_m: f64) {
        let (nx, ny) = (self.noise() * jitter_m, self.noise() * jitter_m);
        let point = self.frame.to_point(self.x + nx, self.y + ny).expect("on the globe");
        self.points.push(TrackPoint { point, accuracy_m, time_ms: self.t_ms });
    }

    /// Moves in a straight line at `speed`, a fix every `every_s` (none when `silent`).
    fn go(&mut self, to: (f64, f64), speed: f64, every_s: i64, accuracy_m: f64, silent: bool) {
        let (dx, dy) = (to.0 - self.x, to.1 - self.y);
        let len = dx.hypot(dy);
        let steps = ((len / speed) / every_s as f64).ceil().max(1.0) as i64;
        for _ in 0..steps {
            self.x += dx / steps as f64;
            self.y += dy / steps as f64;
            self.t_ms += (len / speed * 1_000.0 / steps as f64) as i64;
            if self.recording_truth && !silent {
                self.truth_recorded_m += len / steps as f64;
            }
            if !silent {
                self.fix(accuracy_m, accuracy_m * 0.4);
            }
        }
    }

    fn stay(&mut self, minutes: i64, every_s: i64, accuracy_m: f64) {
        for _ in 0..(minutes * 60 / every_s) {
            self.t_ms += every_s * 1_000;
            self.fix(accuracy_m, accuracy_m * 0.6);
        }
    }
}

fn local_ms(h: i64, m: i64) -> i64 {
    let day = CivilDate::new(2025, 3, 3).expect("date").to_days();
    (day * 86_400 + h * 3_600 + m * 60 - 8 * 3_600) * 1_000
}

#[test]
fn a_reps_day_gives_the_expected_stays_mileage_and_dropped_points() {
    let home = WgsPoint::new(31.2000, 121.4000).expect("valid");
    let frame = LocalFrame::new(home);
    let shops =
        [(3_000.0, 4_000.0), (5_000.0, 6_500.0), (7_500.0, 5_000.0), (4_000.0, 1_500.0), (1_500.0, 2_500.0)];
    let restaurant = (9_000.0, 7_000.0);
    let ids: Vec<CustomerId> = (1..=6u128).map(|n| CustomerId(Uuid::from_u128(n))).collect();
    let mut sites: Vec<CustomerSite> = shops
        .iter()
        .zip(&ids)
        .map(|(&(x, y), &id)| CustomerSite {
            customer_id: id,
            point: frame.to_point(x, y).expect("valid"),
            radius_m: 100.0,
        })
        .collect();
    // A sixth customer nobody visits.
    sites.push(CustomerSite {
        customer_id: ids[5],
        point: frame.to_point(-4_000.0, 0.0).expect("valid"),
        radius_m: 100.0,
    });

    let mut sim = Sim {
        frame,
        t_ms: local_ms(7, 45),
        x: 0.0,
        y: 0.0,
        seed: 0x9e37_79b9_7f4a_7c15,
        points: Vec::new(),
        truth_recorded_m: 0.0,
        recording_truth: false,
    };
    // Home before hours: 07:45–08:30, a fix a minute.
    sim.stay(45, 60, 20.0);
    sim.recording_truth = true;
    let mut lunch_done = false;
    for (i, &(sx, sy)) in shops.iter().enumerate() {
        let parking = (sx - 60.0 - 5.0 * i as f64, sy - 40.0);
        if i == 3 {
            // Through a tunnel: 8 minutes without fixes on the way.
            let mid = ((sim.x + parking.0) / 2.0, (sim.y + parking.1) / 2.0);
            sim.go(mid, 9.0, 10, 8.0, true);
        }
        sim.go(parking, 11.0, 10, 8.0, false);
        sim.go((sx, sy), 1.3, 10, 12.0, false);
        sim.stay([20, 15, 25, 20, 30][i], 30, 25.0);
        if i == 1 {
            // A multipath jump 3 km away, and a 300 m network fix.
            let (x, y) = (sim.x, sim.y);
            sim.x += 3_000.0;
            sim.t_ms += 5_000;
            sim.fix(15.0, 0.0);
            sim.x = x;
            sim.y = y;
            sim.t_ms += 5_000;
            sim.fix(300.0, 0.0);
        }
        sim.go(parking, 1.3, 10, 12.0, false);
        if i == 2 && !lunch_done {
            sim.go(restaurant, 11.0, 10, 8.0, false);
            sim.stay(60, 60, 30.0);
            lunch_done = true;
        }
    }
    // The office until a little after 18:00, then home.
    let office = (2_000.0, -1_500.0);
    sim.go(office, 11.0, 10, 8.0, false);
    let after_hours_start = local_ms(18, 0);
    assert!(sim.t_ms < after_hours_start, "the day ends at {}", sim.t_ms);
    sim.recording_truth = false;
    sim.stay((after_hours_start - sim.t_ms) / 60_000 + 10, 60, 20.0);
    let recorded_until = sim.t_ms;
    sim.go((0.0, 0.0), 11.0, 10, 8.0, false);
    sim.stay(120, 60, 20.0);

    // 1. The gate: hours 08:30–18:00 Monday–Friday.
    let policy = TrackingPolicy::new(WorkingHours::weekdays(
        UtcOffset::CHINA,
        WorkWindow::hm(8, 30, 18, 0).expect("window"),
    ));
    let mut stored = Vec::new();
    let mut dropped_after = 0;
    let mut dropped_before = 0;
    for p in &sim.points {
        match policy.gate(p.time_ms, true, p.time_ms + 500).expect("valid fix") {
            GateDecision::Record => stored.push(*p),
            GateDecision::Drop { reason } => {
                assert_eq!(reason, OffReason::OutsideHours);
                if p.time_ms >= after_hours_start {
                    dropped_after += 1;
                } else {
                    dropped_before += 1;
                }
            }
        }
    }
    let expected_after = sim.points.iter().filter(|p| p.time_ms >= after_hours_start).count();
    let expected_before = sim.points.iter().filter(|p| p.time_ms < local_ms(8, 30)).count();
    assert_eq!(dropped_after, expected_after);
    assert_eq!(dropped_before, expected_before);
    assert!(expected_after > 100, "the drive home and the evening were generated");
    assert!(stored.iter().all(|p| p.time_ms >= local_ms(8, 30) && p.time_ms < after_hours_start));

    // 2. Filter: the jump and the network fix go.
    let filtered = filter_track(&stored, &FilterConfig::default());
    assert_eq!(filtered.dropped.len(), 2, "{:?}", filtered.dropped);
    let smooth = smooth_track(&filtered.kept, &KalmanConfig::default());

    // 3. Stays: five shops, lunch and the office.
    let stays = detect_stays(&smooth, &StayConfig::default(), &sites);
    assert_eq!(stays.len(), 7, "{stays:#?}");
    let matched: Vec<Option<CustomerId>> = stays.iter().map(|s| s.customer.map(|m| m.customer_id)).collect();
    assert_eq!(
        matched,
        vec![Some(ids[0]), Some(ids[1]), Some(ids[2]), None, Some(ids[3]), Some(ids[4]), None]
    );
    for (stay, minutes) in stays.iter().filter(|s| s.customer.is_some()).zip([20, 15, 25, 20, 30]) {
        let d = stay.duration_ms() as f64 / 60_000.0;
        assert!((d - minutes as f64).abs() <= 3.0, "stay of {d} min, expected ~{minutes}");
        assert!(stay.customer.is_some_and(|m| m.distance_m < 30.0), "{stay:?}");
    }
    let lunch = stays[3];
    assert!(haversine_m(lunch.center, frame.to_point(restaurant.0, restaurant.1).expect("valid")) < 30.0);

    // Reconcile with check-ins: shops 1–4 checked in, shop 5 not, and a check-in at the
    // sixth customer with no stay behind it.
    let mut visits: Vec<VisitRecord> = stays
        .iter()
        .filter_map(|s| s.customer.map(|m| (s, m)))
        .take(4)
        .map(|(s, m)| VisitRecord {
            customer_id: m.customer_id,
            checked_in_ms: s.start_ms + 60_000,
            checked_out_ms: Some(s.end_ms - 60_000),
        })
        .collect();
    visits.push(VisitRecord { customer_id: ids[5], checked_in_ms: local_ms(16, 0), checked_out_ms: None });
    let rec = reconcile_visits(&stays, &visits, 10 * 60_000);
    assert_eq!(rec.unreported_visits.len(), 1);
    assert_eq!(rec.unreported_visits[0].customer.map(|m| m.customer_id), Some(ids[4]));
    assert_eq!(rec.unsupported_check_ins.len(), 1);
    assert_eq!(rec.unsupported_check_ins[0].visit.customer_id, ids[5]);

    // 4. Mileage: one day, the tunnel reported as a gap, the rest within 3 % of the truth.
    let days = daily_mileage(&smooth, &MileageConfig::new(UtcOffset::CHINA));
    assert_eq!(days.len(), 1);
    assert_eq!(days[0].date, CivilDate::new(2025, 3, 3).expect("date"));
    assert_eq!(days[0].gaps.len(), 1, "{:?}", days[0].gaps);
    let gap = days[0].gaps[0];
    assert!(gap.to_ms - gap.from_ms > 300_000 && gap.straight_m > 300.0);
    let truth = sim.truth_recorded_m;
    let got = days[0].distance_m;
    assert!((got - truth).abs() / truth < 0.03, "mileage {got:.0} m vs truth {truth:.0} m");
    assert!(recorded_until > after_hours_start);

    // 5. Simplify for display: far fewer points, same ends.
    let simple = simplify_track(&smooth, 8.0).expect("valid tolerance");
    assert!(simple.len() * 3 < smooth.len(), "{} of {}", simple.len(), smooth.len());
    assert_eq!(simple.first(), smooth.first());
    assert_eq!(simple.last(), smooth.last());
}
