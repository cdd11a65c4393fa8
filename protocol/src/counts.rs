//! Interval counts: what one camera saw in one interval, per line × direction × class,
//! per zone and per origin→destination movement.
//!
//! Invariant: `coverage` is the fraction of the interval for which frames were really
//! processed. A camera that is down yields an interval with coverage 0, never a
//! silent zero count; consumers must treat counts as covering only that fraction.
//! Speeds and densities exist only where the camera is calibrated: their absence means
//! "not measured", never zero.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::class::VehicleClass;

/// Counts per vehicle class. Serialises as `{"car": n, "motorcycle": n, ...}`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ClassCounts {
    pub car: u32,
    pub motorcycle: u32,
    pub bus: u32,
    pub truck: u32,
    pub bicycle: u32,
}

impl ClassCounts {
    pub fn get(&self, class: VehicleClass) -> u32 {
        match class {
            VehicleClass::Car => self.car,
            VehicleClass::Motorcycle => self.motorcycle,
            VehicleClass::Bus => self.bus,
            VehicleClass::Truck => self.truck,
            VehicleClass::Bicycle => self.bicycle,
        }
    }

    pub fn add(&mut self, class: VehicleClass, n: u32) {
        let slot = match class {
            VehicleClass::Car => &mut self.car,
            VehicleClass::Motorcycle => &mut self.motorcycle,
            VehicleClass::Bus => &mut self.bus,
            VehicleClass::Truck => &mut self.truck,
            VehicleClass::Bicycle => &mut self.bicycle,
        };
        *slot = slot.saturating_add(n);
    }

    pub fn total(&self) -> u32 {
        VehicleClass::ALL.iter().map(|c| self.get(*c)).sum()
    }

    pub fn merge(&mut self, other: &ClassCounts) {
        for c in VehicleClass::ALL {
            self.add(c, other.get(c));
        }
    }
}

/// Counts on one directed line. `forward`: the anchor moved from the left-hand side
/// of A→B to its right-hand side as seen on screen (image y pointing down).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DirectionCounts {
    pub forward: ClassCounts,
    pub backward: ClassCounts,
}

impl DirectionCounts {
    pub fn merge(&mut self, other: &DirectionCounts) {
        self.forward.merge(&other.forward);
        self.backward.merge(&other.backward);
    }
}

/// Occupancy and queue figures for one polygon zone over an interval.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ZoneStats {
    /// Vehicles that entered the zone during the interval, per class.
    pub entered: ClassCounts,
    /// Mean number of vehicles inside the zone over processed frames.
    pub occupancy_mean: f64,
    /// Largest number of vehicles inside the zone in one frame.
    pub occupancy_max: u32,
    /// Largest number of stationary vehicles (a queue) in one frame.
    pub queue_max: u32,
    /// Mean time spent inside by vehicles that left the zone in this interval.
    pub dwell_mean_s: f64,
    /// Longest such time.
    pub dwell_max_s: f64,
    /// Vehicles per km per lane (mean occupancy over the zone's ground length and lanes);
    /// only from a calibrated camera (since 1.1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub density_veh_km_lane: Option<f64>,
}

/// Speeds (km/h) of the vehicles that crossed a line in one interval, measured on the
/// road plane of a calibrated camera.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SpeedStats {
    /// Crossings with a measured speed.
    pub vehicles: u32,
    pub mean_kmh: f64,
    /// The 85th percentile (nearest rank): the speed traffic engineers set limits by.
    pub p85_kmh: f64,
}

impl SpeedStats {
    /// Mean and 85th percentile of `speeds`; `None` when empty.
    pub fn of(speeds: &[f64]) -> Option<SpeedStats> {
        if speeds.is_empty() {
            return None;
        }
        let mut sorted = speeds.to_vec();
        sorted.sort_by(f64::total_cmp);
        let rank = ((0.85 * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
        let round = |x: f64| (x * 10.0).round() / 10.0;
        Some(SpeedStats {
            vehicles: sorted.len() as u32,
            mean_kmh: round(sorted.iter().sum::<f64>() / sorted.len() as f64),
            p85_kmh: round(sorted[rank - 1]),
        })
    }
}

/// Speeds on one line: every vehicle, and per class.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LineSpeeds {
    pub all: SpeedStats,
    pub classes: BTreeMap<VehicleClass, SpeedStats>,
}

/// One origin→destination movement (entry line/zone → exit line/zone).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MovementCount {
    pub from: String,
    pub to: String,
    pub counts: ClassCounts,
}

/// Everything one camera reports for one interval.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct IntervalCounts {
    /// Interval start, milliseconds since the Unix epoch (UTC).
    pub start_ms: i64,
    /// Interval end (exclusive), milliseconds since the Unix epoch (UTC).
    pub end_ms: i64,
    /// Fraction 0..=1 of the interval for which frames were processed.
    pub coverage: f64,
    /// Frames processed per second of covered time.
    pub fps: f64,
    /// Frames processed in the interval.
    pub frames: u64,
    pub lines: BTreeMap<String, DirectionCounts>,
    pub zones: BTreeMap<String, ZoneStats>,
    pub movements: Vec<MovementCount>,
    /// Per line, the speeds of the vehicles that crossed it; only lines with a measured
    /// speed, only from a calibrated camera (since 1.1).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub speeds: BTreeMap<String, LineSpeeds>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn class_counts_serialise_with_the_contract_keys() {
        let mut c = ClassCounts::default();
        c.add(VehicleClass::Motorcycle, 3);
        c.add(VehicleClass::Bus, 1);
        let json = serde_json::to_string(&c).unwrap();
        assert_eq!(json, r#"{"car":0,"motorcycle":3,"bus":1,"truck":0,"bicycle":0}"#);
        assert_eq!(c.total(), 4);
        let mut d = ClassCounts::default();
        d.merge(&c);
        d.merge(&c);
        assert_eq!(d.motorcycle, 6);
    }

    #[test]
    fn speed_stats_take_the_mean_and_the_nearest_rank_85th_percentile() {
        assert_eq!(SpeedStats::of(&[]), None);
        let s = SpeedStats::of(&[30.0, 10.0, 20.0, 40.0, 50.0, 60.0, 70.0, 80.0, 90.0, 100.0]).unwrap();
        assert_eq!((s.vehicles, s.mean_kmh, s.p85_kmh), (10, 55.0, 90.0));
        let one = SpeedStats::of(&[42.04]).unwrap();
        assert_eq!((one.mean_kmh, one.p85_kmh), (42.0, 42.0));
    }

    #[test]
    fn an_uncalibrated_interval_serialises_as_in_1_0() {
        let json = serde_json::to_value(IntervalCounts::default()).unwrap();
        assert!(json.get("speeds").is_none());
        let mut i = IntervalCounts::default();
        i.zones.insert("z".into(), ZoneStats::default());
        let json = serde_json::to_value(&i).unwrap();
        assert!(json["zones"]["z"].get("density_veh_km_lane").is_none());
    }

    #[test]
    fn unknown_class_key_is_rejected() {
        let err =
            serde_json::from_str::<ClassCounts>(r#"{"car":0,"motorcycle":0,"bus":0,"truck":0,"bicycle":0,"tram":1}"#)
                .unwrap_err();
        assert!(err.to_string().contains("tram"));
    }
}
