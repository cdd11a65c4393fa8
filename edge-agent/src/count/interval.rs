//! Per-interval aggregation with coverage.
//!
//! Intervals are aligned to multiples of their length on the UTC clock (60 s intervals
//! start on the minute). Coverage is the share of an interval during which frames were
//! actually processed: the time between two consecutive processed frames counts as
//! covered up to `max_gap`, beyond which it is a gap. An interval in which no frame was
//! processed is still emitted, with coverage 0: a camera that is down is never zero
//! traffic. An interval is emitted once `now` has passed its end by `lateness` (the
//! counter's decision delay), so late-decided events still land in it.
//!
//! On a calibrated camera each interval also carries, per line, the mean and 85th
//! percentile speed of the vehicles that crossed it (all and per class), and per zone
//! the density: mean occupancy over the zone's lane-kilometres.

use std::collections::BTreeMap;

use protocol::{
    ClassCounts, DirectionCounts, IntervalCounts, LineSpeeds, MovementCount, SpeedStats, VehicleClass, ZoneStats,
};

use super::{CountEvent, Direction, EventKind};

#[derive(Debug, Default, Clone)]
struct ZoneAcc {
    entered: ClassCounts,
    occupancy_sum: f64,
    samples: u64,
    occupancy_max: u32,
    queue_max: u32,
    dwell_sum: f64,
    dwell_n: u64,
    dwell_max: f64,
}

#[derive(Debug, Default, Clone)]
struct Acc {
    covered_ms: f64,
    frames: u64,
    lines: BTreeMap<String, DirectionCounts>,
    zones: Vec<ZoneAcc>,
    movements: BTreeMap<(String, String), ClassCounts>,
    /// Per line index: the measured speed of each crossing, with its class.
    speeds: BTreeMap<usize, Vec<(VehicleClass, f64)>>,
}

pub struct Aggregator {
    length_ms: i64,
    max_gap_ms: i64,
    lateness_ms: i64,
    line_names: Vec<String>,
    zone_names: Vec<String>,
    open: BTreeMap<i64, Acc>,
    /// Start of the next interval to emit (all earlier ones are out).
    next_emit: Option<i64>,
    last_frame_ms: Option<i64>,
    late_events: u64,
    /// Per zone: its length on the road times its lanes (km); `None` without calibration.
    zone_lane_km: Vec<Option<f64>>,
}

impl Aggregator {
    pub fn new(
        length_ms: i64,
        max_gap_ms: i64,
        lateness_ms: i64,
        line_names: Vec<String>,
        zone_names: Vec<String>,
    ) -> Aggregator {
        assert!(length_ms > 0, "interval length must be positive");
        Aggregator {
            length_ms,
            max_gap_ms,
            lateness_ms,
            line_names,
            zone_names,
            open: BTreeMap::new(),
            next_emit: None,
            last_frame_ms: None,
            late_events: 0,
            zone_lane_km: Vec::new(),
        }
    }

    /// Reports each zone's density from its lane-kilometres (a calibrated camera).
    pub fn with_zone_lane_km(mut self, lane_km: Vec<Option<f64>>) -> Aggregator {
        self.zone_lane_km = lane_km;
        self
    }

    fn start_of(&self, t: i64) -> i64 {
        t.div_euclid(self.length_ms) * self.length_ms
    }

    /// The end of the interval holding `t`: where the next one starts.
    pub fn next_boundary(&self, t: i64) -> i64 {
        self.start_of(t) + self.length_ms
    }

    fn acc(&mut self, start: i64) -> &mut Acc {
        let zones = self.zone_names.len();
        if self.next_emit.is_none() {
            self.next_emit = Some(start);
        }
        self.open.entry(start).or_insert_with(|| Acc { zones: vec![ZoneAcc::default(); zones], ..Default::default() })
    }

    /// Starts the interval clock at `now_ms`, before any frame: intervals from here on
    /// are reported even if no frame ever arrives.
    pub fn start(&mut self, now_ms: i64) {
        if self.next_emit.is_none() {
            self.next_emit = Some(self.start_of(now_ms));
        }
    }

    /// Events that arrived for intervals already emitted (added to the next open one).
    pub fn late_events(&self) -> u64 {
        self.late_events
    }

    /// A processed frame at `at_ms`, with each zone's (inside, stationary) counts.
    pub fn frame(&mut self, at_ms: i64, occupancy: &[(u32, u32)]) {
        self.cover_until(at_ms);
        self.last_frame_ms = Some(self.last_frame_ms.map_or(at_ms, |p| p.max(at_ms)));
        let start = self.start_of(at_ms);
        let acc = self.acc(start);
        acc.frames += 1;
        for (z, &(inside, queued)) in occupancy.iter().enumerate() {
            let za = &mut acc.zones[z];
            za.occupancy_sum += inside as f64;
            za.samples += 1;
            za.occupancy_max = za.occupancy_max.max(inside);
            za.queue_max = za.queue_max.max(queued);
        }
    }

    /// Credits the time since the last frame up to `at_ms` as covered (up to `max_gap`).
    fn cover_until(&mut self, at_ms: i64) {
        if let Some(prev) = self.last_frame_ms
            && at_ms > prev
        {
            let covered_end = prev + (at_ms - prev).min(self.max_gap_ms);
            let mut t = prev;
            while t < covered_end {
                let start = self.start_of(t);
                let end = (start + self.length_ms).min(covered_end);
                self.acc(start).covered_ms += (end - t) as f64;
                t = end;
            }
        }
    }

    /// Hands over at `boundary` to `next` (new lines and zones): this one is credited up
    /// to the boundary, `next` from it, so a geometry switch costs no coverage.
    pub fn hand_over(&mut self, next: &mut Aggregator, boundary: i64) {
        let Some(prev) = self.last_frame_ms else { return };
        self.cover_until(boundary);
        if boundary - prev < self.max_gap_ms {
            next.last_frame_ms = Some(boundary);
        }
        next.start(boundary);
    }

    pub fn event(&mut self, ev: &CountEvent) {
        let mut start = self.start_of(ev.at_ms);
        if let Some(next) = self.next_emit
            && start < next
        {
            self.late_events += 1;
            tracing::warn!(at_ms = ev.at_ms, "count event for an interval already reported; added to the current one");
            start = next;
        }
        let line_names = self.line_names.clone();
        let acc = self.acc(start);
        match &ev.kind {
            EventKind::Line { line, direction } => {
                let counts = acc.lines.entry(line_names[*line].clone()).or_default();
                match direction {
                    Direction::Forward => counts.forward.add(ev.class, 1),
                    Direction::Backward => counts.backward.add(ev.class, 1),
                }
                if let Some(v) = ev.speed_kmh {
                    acc.speeds.entry(*line).or_default().push((ev.class, v));
                }
            }
            EventKind::ZoneEnter { zone } => acc.zones[*zone].entered.add(ev.class, 1),
            EventKind::ZoneDwell { zone, seconds } => {
                let z = &mut acc.zones[*zone];
                z.dwell_sum += seconds;
                z.dwell_n += 1;
                z.dwell_max = z.dwell_max.max(*seconds);
            }
            EventKind::Movement { from, to } => {
                acc.movements.entry((from.clone(), to.clone())).or_default().add(ev.class, 1)
            }
        }
    }

    /// Intervals complete at `now_ms` (including empty ones: gaps are explicit).
    pub fn poll(&mut self, now_ms: i64) -> Vec<IntervalCounts> {
        let mut out = Vec::new();
        while let Some(start) = self.next_emit {
            if start + self.length_ms + self.lateness_ms > now_ms {
                break;
            }
            out.push(self.emit(start));
        }
        out
    }

    /// Everything still open, up to and including the interval holding `now_ms`.
    pub fn flush(&mut self, now_ms: i64) -> Vec<IntervalCounts> {
        let mut out = Vec::new();
        let last = self.open.keys().next_back().copied().unwrap_or(i64::MIN).max(self.start_of(now_ms));
        while let Some(start) = self.next_emit {
            if start > last {
                break;
            }
            out.push(self.emit(start));
        }
        out
    }

    fn emit(&mut self, start: i64) -> IntervalCounts {
        let acc = self
            .open
            .remove(&start)
            .unwrap_or_else(|| Acc { zones: vec![ZoneAcc::default(); self.zone_names.len()], ..Default::default() });
        self.next_emit = Some(start + self.length_ms);
        let covered_s = acc.covered_ms / 1000.0;
        let mut lines = acc.lines;
        for name in &self.line_names {
            lines.entry(name.clone()).or_default();
        }
        let zones = self
            .zone_names
            .iter()
            .enumerate()
            .zip(acc.zones)
            .map(|((index, name), z)| {
                let occupancy_mean = if z.samples > 0 { z.occupancy_sum / z.samples as f64 } else { 0.0 };
                let lane_km = self.zone_lane_km.get(index).copied().flatten().filter(|km| *km > 0.0);
                let stats = ZoneStats {
                    entered: z.entered,
                    occupancy_mean,
                    // Not measured without frames: absent, never zero.
                    density_veh_km_lane: lane_km
                        .filter(|_| z.samples > 0)
                        .map(|km| (occupancy_mean / km * 10.0).round() / 10.0),
                    occupancy_max: z.occupancy_max,
                    queue_max: z.queue_max,
                    dwell_mean_s: if z.dwell_n > 0 { z.dwell_sum / z.dwell_n as f64 } else { 0.0 },
                    dwell_max_s: z.dwell_max,
                };
                (name.clone(), stats)
            })
            .collect();
        IntervalCounts {
            start_ms: start,
            end_ms: start + self.length_ms,
            coverage: (acc.covered_ms / self.length_ms as f64).clamp(0.0, 1.0),
            fps: if covered_s > 0.0 { acc.frames as f64 / covered_s } else { 0.0 },
            frames: acc.frames,
            lines,
            zones,
            movements: acc
                .movements
                .into_iter()
                .map(|((from, to), counts)| MovementCount { from, to, counts })
                .collect(),
            speeds: acc
                .speeds
                .into_iter()
                .filter_map(|(line, measured)| Some((self.line_names[line].clone(), line_speeds(&measured)?)))
                .collect(),
        }
    }
}

/// Mean and 85th percentile over every crossing and per class.
pub fn line_speeds(measured: &[(VehicleClass, f64)]) -> Option<LineSpeeds> {
    let all: Vec<f64> = measured.iter().map(|(_, v)| *v).collect();
    let classes = VehicleClass::ALL
        .into_iter()
        .filter_map(|class| {
            let of_class: Vec<f64> = measured.iter().filter(|(c, _)| *c == class).map(|(_, v)| *v).collect();
            SpeedStats::of(&of_class).map(|s| (class, s))
        })
        .collect();
    Some(LineSpeeds { all: SpeedStats::of(&all)?, classes })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn agg() -> Aggregator {
        Aggregator::new(10_000, 1_000, 1_000, vec!["l".into()], vec!["z".into()])
    }

    #[test]
    fn steady_frames_cover_the_interval_and_a_gap_does_not() {
        let mut a = agg();
        // 25 fps from t=0 to 10 s, then nothing until 14 s, then 25 fps to 20 s.
        let mut t = 0;
        while t < 10_000 {
            a.frame(t, &[(1, 0)]);
            t += 40;
        }
        t = 14_000;
        while t <= 20_000 {
            a.frame(t, &[(2, 1)]);
            t += 40;
        }
        let out = a.poll(21_000);
        assert_eq!(out.len(), 2);
        // The 4.04 s pause after 9.96 s counts as covered for 1 s only (max_gap).
        assert!((out[0].coverage - 1.0).abs() < 1e-9, "{}", out[0].coverage);
        assert!((out[1].coverage - 0.696).abs() < 1e-9, "{}", out[1].coverage);
        assert!((out[0].fps - 25.0).abs() < 0.2);
        assert_eq!(out[1].zones["z"].queue_max, 1);
        assert_eq!(out[0].zones["z"].occupancy_mean, 1.0);
    }

    #[test]
    fn intervals_without_frames_are_emitted_with_zero_coverage() {
        let mut a = agg();
        a.frame(5_000, &[(0, 0)]);
        a.frame(35_000, &[(0, 0)]);
        let out = a.poll(60_000);
        let cov: Vec<f64> = out.iter().map(|i| i.coverage).collect();
        assert_eq!(out.iter().map(|i| i.start_ms).collect::<Vec<_>>(), vec![0, 10_000, 20_000, 30_000, 40_000]);
        assert_eq!(cov[2], 0.0, "camera down all interval: no traffic claimed");
        assert_eq!(out[2].lines["l"], DirectionCounts::default());
    }

    #[test]
    fn events_land_in_their_interval_until_it_is_emitted() {
        let mut a = agg();
        a.frame(9_000, &[(0, 0)]);
        let ev = |at_ms| CountEvent {
            kind: EventKind::Line { line: 0, direction: Direction::Backward },
            class: VehicleClass::Bus,
            at_ms,
            track: 1,
            speed_kmh: None,
        };
        a.event(&ev(9_500));
        assert!(a.poll(10_500).is_empty(), "waits for the lateness");
        let out = a.poll(11_000);
        assert_eq!(out[0].lines["l"].backward.bus, 1);
        a.event(&ev(9_900));
        assert_eq!(a.late_events(), 1);
        let out = a.flush(12_000);
        assert_eq!(out[0].lines["l"].backward.bus, 1, "late event kept, in the next interval");
    }

    #[test]
    fn speeds_and_densities_are_reported_only_where_measured() {
        let mut a = agg().with_zone_lane_km(vec![Some(0.05)]);
        let crossing = |class, speed_kmh| CountEvent {
            kind: EventKind::Line { line: 0, direction: Direction::Forward },
            class,
            at_ms: 1_000,
            track: 1,
            speed_kmh,
        };
        a.frame(500, &[(2, 0)]);
        a.frame(1_500, &[(4, 0)]);
        for (class, v) in [(VehicleClass::Car, Some(40.0)), (VehicleClass::Car, Some(50.0))] {
            a.event(&crossing(class, v));
        }
        a.event(&crossing(VehicleClass::Motorcycle, Some(30.0)));
        a.event(&crossing(VehicleClass::Bus, None));
        let out = a.flush(11_000);
        let speeds = &out[0].speeds["l"];
        assert_eq!((speeds.all.vehicles, speeds.all.mean_kmh, speeds.all.p85_kmh), (3, 40.0, 50.0));
        assert_eq!(speeds.classes[&VehicleClass::Car].mean_kmh, 45.0);
        assert!(!speeds.classes.contains_key(&VehicleClass::Bus), "a crossing without a speed has none");
        assert_eq!(out[0].lines["l"].forward.bus, 1, "but it is counted");
        assert_eq!(out[0].zones["z"].density_veh_km_lane, Some(60.0), "3 vehicles on 0.05 lane-km");
        assert!(out[1].speeds.is_empty());
        assert_eq!(out[1].zones["z"].density_veh_km_lane, None, "no frames: not measured");
    }
}
