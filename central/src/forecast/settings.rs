//! `[forecast]` in central.toml: the grid, passenger-car-unit factors, approaches with
//! their capacity, and the retraining schedule.

use std::path::PathBuf;

use protocol::VehicleClass;
use protocol::forecast::CongestionLevel;
use serde::Deserialize;

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ForecastSettings {
    #[serde(default = "yes")]
    pub enabled: bool,
    /// Grid step (seconds); must divide 15 minutes.
    #[serde(default = "default_step")]
    pub step_s: u32,
    /// Local time offset from UTC, for time-of-day and day-of-week (HCMC: +7 h).
    #[serde(default = "default_offset")]
    pub utc_offset_s: i32,
    /// History read from the store for retraining.
    #[serde(default = "default_history")]
    pub history_days: u32,
    #[serde(default = "default_retrain")]
    pub retrain_every_s: u64,
    /// A grid step counts as observed when at least this fraction of it was covered;
    /// below that it is missing (never zero traffic).
    #[serde(default = "default_min_coverage")]
    pub min_coverage: f64,
    /// Model and profiles, written after each retraining and read at start-up; relative
    /// to the config file.
    #[serde(default = "default_state")]
    pub state_file: PathBuf,
    /// The 15- or 30-minute forecast at or past this level raises an alert.
    #[serde(default = "default_alert")]
    pub alert_level: CongestionLevel,
    #[serde(default)]
    pub pcu: PcuFactors,
    /// Approaches with capacity, area and road-graph neighbours. Lines not listed here
    /// are still forecast (area = camera id, no capacity, so no level).
    #[serde(default, rename = "approach")]
    pub approaches: Vec<ApproachSettings>,
}

/// Passenger-car units per vehicle class. Defaults follow Vietnamese practice for mixed,
/// motorbike-dominated urban traffic (a motorbike ≈ 0.3 PCU).
#[derive(Debug, Clone, Copy, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct PcuFactors {
    pub car: f64,
    pub motorcycle: f64,
    pub bicycle: f64,
    pub bus: f64,
    pub truck: f64,
}

impl Default for PcuFactors {
    fn default() -> Self {
        PcuFactors { car: 1.0, motorcycle: 0.3, bicycle: 0.2, bus: 2.5, truck: 2.5 }
    }
}

impl PcuFactors {
    pub fn of(&self, class: VehicleClass) -> f64 {
        match class {
            VehicleClass::Car => self.car,
            VehicleClass::Motorcycle => self.motorcycle,
            VehicleClass::Bicycle => self.bicycle,
            VehicleClass::Bus => self.bus,
            VehicleClass::Truck => self.truck,
        }
    }
}

#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq, Default)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    #[default]
    Both,
    Forward,
    Backward,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ApproachSettings {
    pub camera: String,
    pub line: String,
    #[serde(default)]
    pub direction: Direction,
    /// Capacity of the approach, PCU per hour (saturation flow × green ratio).
    pub capacity_pcu_per_hour: Option<f64>,
    /// Free-flow speed (km/h, about the speed limit): with a calibrated camera the current
    /// level comes from measured speed against it, not from counts against capacity.
    #[serde(default)]
    pub free_flow_kmh: Option<f64>,
    /// A zone of the camera on an uninterrupted stretch of this approach (mid-block, not
    /// a stop-line queue): with a calibrated camera its density (vehicles per km per lane)
    /// grades the current level too, and the worse of speed and density is reported.
    #[serde(default)]
    pub density_zone: Option<String>,
    /// Area id of the forecast topic; defaults to the camera id.
    pub area: Option<String>,
    /// Upstream / neighbouring approaches as "camera/line".
    #[serde(default)]
    pub neighbours: Vec<String>,
}

impl Default for ForecastSettings {
    fn default() -> Self {
        toml::from_str("").expect("every field has a default")
    }
}

impl ForecastSettings {
    pub fn validate(&self, bad: &mut Vec<(String, String)>) {
        let mut push = |f: &str, m: &str| bad.push((format!("forecast.{f}"), m.into()));
        if self.step_s == 0 || 900 % self.step_s != 0 {
            push("step_s", "must divide 900 (15 minutes)");
        }
        if self.utc_offset_s.abs() > 14 * 3600 {
            push("utc_offset_s", "must be within ±14 h");
        }
        if !(1..=366).contains(&self.history_days) {
            push("history_days", "must be within 1..=366");
        }
        if self.retrain_every_s < 60 {
            push("retrain_every_s", "must be at least 60");
        }
        if !(self.min_coverage > 0.0 && self.min_coverage <= 1.0) {
            push("min_coverage", "must be in (0, 1]");
        }
        let p = self.pcu;
        for (name, v) in
            [("car", p.car), ("motorcycle", p.motorcycle), ("bicycle", p.bicycle), ("bus", p.bus), ("truck", p.truck)]
        {
            if !(v.is_finite() && v >= 0.0) {
                push(&format!("pcu.{name}"), "must be a non-negative number");
            }
        }
        let keys: Vec<String> = self.approaches.iter().map(|a| format!("{}/{}", a.camera, a.line)).collect();
        for (i, a) in self.approaches.iter().enumerate() {
            let at = |f: &str| format!("approach[{i}].{f}");
            if protocol::topics::check_id(&a.camera).is_err() {
                push(&at("camera"), "must be a camera id (1-64 letters, digits, '-' or '_')");
            }
            if a.line.is_empty() {
                push(&at("line"), "must not be empty");
            }
            if let Some(c) = a.capacity_pcu_per_hour.filter(|c| !(c.is_finite() && *c > 0.0)) {
                push(&at("capacity_pcu_per_hour"), &format!("must be positive, got {c}"));
            }
            if a.density_zone.as_deref().is_some_and(|z| z.trim().is_empty()) {
                push(&at("density_zone"), "must name one of the camera's zones");
            }
            if let Some(v) = a.free_flow_kmh.filter(|v| !(v.is_finite() && (5.0..=200.0).contains(v))) {
                push(&at("free_flow_kmh"), &format!("must be within 5..=200 km/h, got {v}"));
            }
            if let Some(area) = &a.area
                && protocol::topics::check_id(area).is_err()
            {
                push(&at("area"), "must be an id (1-64 letters, digits, '-' or '_')");
            }
            if keys[..i].contains(&keys[i]) {
                push(&at("line"), &format!("{} is listed twice", keys[i]));
            }
            for n in &a.neighbours {
                if !keys.contains(n) {
                    push(&at("neighbours"), &format!("{n:?} is not a configured approach (\"camera/line\")"));
                }
            }
        }
    }
}

fn yes() -> bool {
    true
}
fn default_step() -> u32 {
    300
}
fn default_offset() -> i32 {
    7 * 3600
}
fn default_history() -> u32 {
    28
}
fn default_retrain() -> u64 {
    86_400
}
fn default_min_coverage() -> f64 {
    0.5
}
fn default_state() -> PathBuf {
    "forecast-state.json".into()
}
fn default_alert() -> CongestionLevel {
    CongestionLevel::E
}
