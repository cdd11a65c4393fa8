//! `tac/v1/forecasts/{area_id}`: central's demand forecast for one approach (a camera's
//! counting line), in passenger-car units per hour, with its congestion level.
//!
//! `made_at_ms` is the end of the last complete interval the forecast used; horizons are
//! counted from there. A horizon is absent when central knows nothing to forecast it
//! from. `method` says how much to trust it: `model` (learned), `profile` (too little
//! recent data: the usual value for that time) or `last_value` (no history yet).

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, schemars::JsonSchema)]
pub enum CongestionLevel {
    A,
    B,
    C,
    D,
    E,
    F,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ForecastMethod {
    Model,
    Profile,
    LastValue,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct HorizonForecast {
    pub minutes: u32,
    /// Expected demand, PCU per hour.
    pub pcu_per_hour: f64,
    /// 80 % prediction interval.
    pub low: f64,
    pub high: f64,
    /// Level of service from demand / capacity; absent without a configured capacity.
    pub level: Option<CongestionLevel>,
    pub method: ForecastMethod,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ForecastReport {
    pub camera_id: String,
    pub line: String,
    pub area: String,
    pub made_at_ms: i64,
    /// Demand in the last complete interval, PCU per hour; absent if it was not observed.
    pub current_pcu_per_hour: Option<f64>,
    /// From measured speed against free flow where the camera is calibrated and the
    /// approach has `free_flow_kmh` (see `current_speed_kmh`), else demand against capacity.
    pub current_level: Option<CongestionLevel>,
    /// Mean speed of the last interval's crossings (calibrated cameras; since 1.1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub current_speed_kmh: Option<f64>,
    pub capacity_pcu_per_hour: Option<f64>,
    pub horizons: Vec<HorizonForecast>,
    /// The 15- or 30-minute forecast is at or past the configured alert level.
    pub alert: bool,
}
