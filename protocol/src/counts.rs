//! Interval counts: what one camera saw in one interval, per line × direction × class,
//! per zone and per origin→destination movement.
//!
//! Invariant: `coverage` is the fraction of the interval for which frames were really
//! processed. A camera that is down yields an interval with coverage 0, never a
//! silent zero count; consumers must treat counts as covering only that fraction.

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
    fn unknown_class_key_is_rejected() {
        let err =
            serde_json::from_str::<ClassCounts>(r#"{"car":0,"motorcycle":0,"bus":0,"truck":0,"bicycle":0,"tram":1}"#)
                .unwrap_err();
        assert!(err.to_string().contains("tram"));
    }
}
