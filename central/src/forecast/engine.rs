//! The forecasting engine: keeps each approach's recent demand series, updates it as
//! each stored interval arrives, and forecasts 15 / 30 / 60 minutes ahead from the last
//! complete grid step, with level of service and alert.
//!
//! Retraining (`retrain`) rebuilds series and profiles from the store's history and fits
//! one lag model pooled over all approaches. Until a model could be fitted (too little
//! history) forecasts come from the profile; without a profile, from the last value.

use std::collections::BTreeMap;

use forecast::model::Method;
use forecast::{
    Grid, Grouping, LagModel, LevelThresholds, ModelSpec, ProfileConfig, ProfileStat, ProfileTable, SeriesInput,
};
use protocol::forecast::{CongestionLevel, ForecastMethod, ForecastReport, HorizonForecast};
use serde::{Deserialize, Serialize};

use super::series::{Cells, line_pcu};
use super::settings::{ApproachSettings, ForecastSettings};
use crate::store::StoredInterval;

pub const HORIZONS_MIN: [u32; 3] = [15, 30, 60];
/// Steps of recent series the features can reach back to (a day for "yesterday", plus
/// the three-hour background window).
const LOOKBACK_DAYS: i64 = 2;

/// What retraining produces; persisted to `state_file`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Trained {
    pub trained_at_ms: i64,
    pub grid: Grid,
    pub model: Option<LagModel>,
    /// Per approach key: profile table and scale.
    pub profiles: BTreeMap<String, (ProfileTable, f64)>,
}

struct Approach {
    settings: ApproachSettings,
    cells: Cells,
    alert: bool,
    /// Mean speed of the last interval's crossings, when enough were measured.
    speed_kmh: Option<f64>,
    /// The latest interval's density in `density_zone` (calibrated cameras only).
    density: Option<f64>,
}

/// Fewest measured crossings whose mean speed sets the level (one slow bus is no jam).
const MIN_SPEED_VEHICLES: u32 = 3;

pub struct Engine {
    settings: ForecastSettings,
    grid: Grid,
    spec: ModelSpec,
    approaches: BTreeMap<String, Approach>,
    pub trained: Option<Trained>,
}

pub fn profile_config() -> ProfileConfig {
    ProfileConfig { grouping: Grouping::DayType, stat: ProfileStat::Mean, smoothing: 0.25, max_days: 28, min_days: 2 }
}

fn to_level(level: forecast::CongestionLevel) -> CongestionLevel {
    use forecast::CongestionLevel as L;
    match level {
        L::A => CongestionLevel::A,
        L::B => CongestionLevel::B,
        L::C => CongestionLevel::C,
        L::D => CongestionLevel::D,
        L::E => CongestionLevel::E,
        L::F => CongestionLevel::F,
    }
}

impl Engine {
    pub fn new(settings: ForecastSettings) -> Engine {
        let grid = Grid::new(settings.step_s, settings.utc_offset_s);
        let steps = |m: u32| (m * 60 / settings.step_s) as usize;
        let spec = ModelSpec { horizons: HORIZONS_MIN.iter().map(|m| steps(*m)).collect(), ..ModelSpec::default() };
        let approaches = settings
            .approaches
            .iter()
            .map(|a| {
                (
                    format!("{}/{}", a.camera, a.line),
                    Approach {
                        settings: a.clone(),
                        cells: Cells::default(),
                        alert: false,
                        speed_kmh: None,
                        density: None,
                    },
                )
            })
            .collect();
        Engine { settings, grid, spec, approaches, trained: None }
    }

    fn approach(&mut self, camera: &str, line: &str) -> &mut Approach {
        self.approaches.entry(format!("{camera}/{line}")).or_insert_with(|| Approach {
            settings: ApproachSettings {
                camera: camera.into(),
                line: line.into(),
                direction: Default::default(),
                capacity_pcu_per_hour: None,
                free_flow_kmh: None,
                density_zone: None,
                area: None,
                neighbours: vec![],
            },
            cells: Cells::default(),
            alert: false,
            speed_kmh: None,
            density: None,
        })
    }

    /// Adds one interval to its approaches' series (no forecast).
    pub fn record(&mut self, s: &StoredInterval) {
        let (grid, pcu) = (self.grid, self.settings.pcu);
        for (line, counts) in &s.interval.lines {
            let a = self.approach(&s.camera_id, line);
            let value = line_pcu(counts, a.settings.direction, &pcu);
            a.cells.add(&grid, s.interval.start_ms, s.interval.end_ms, s.interval.coverage, value);
            a.speed_kmh = s
                .interval
                .speeds
                .get(line)
                .filter(|sp| sp.all.vehicles >= MIN_SPEED_VEHICLES)
                .map(|sp| sp.all.mean_kmh);
            a.density = a
                .settings
                .density_zone
                .as_ref()
                .and_then(|z| s.interval.zones.get(z))
                .and_then(|z| z.density_veh_km_lane);
        }
    }

    /// Records a newly stored interval and forecasts its camera's approaches.
    pub fn on_interval(&mut self, s: &StoredInterval) -> Vec<ForecastReport> {
        self.record(s);
        let origin = self.grid.index_of(s.interval.end_ms.div_euclid(1000)) - 1;
        let keys: Vec<String> = s.interval.lines.keys().map(|l| format!("{}/{l}", s.camera_id)).collect();
        keys.iter().filter_map(|k| self.forecast(k, origin)).collect()
    }

    /// Forecasts approach `key` from grid step `origin` (the last complete one).
    pub fn forecast(&mut self, key: &str, origin: i64) -> Option<ForecastReport> {
        let (grid, min_cov) = (self.grid, self.settings.min_coverage);
        let window = origin - LOOKBACK_DAYS * grid.slots_per_day() as i64..origin + 1;
        let series = |cells: &Cells| cells.values(&grid, window.clone(), min_cov);
        let approach = self.approaches.get(key)?;
        let own_values = series(&approach.cells);
        let current = *own_values.last()?;
        let neighbour_values: Vec<(Vec<Option<f64>>, String)> = approach
            .settings
            .neighbours
            .iter()
            .filter_map(|n| self.approaches.get(n).map(|a| (series(&a.cells), n.clone())))
            .collect();
        let capacity = approach.settings.capacity_pcu_per_hour;
        let thresholds = LevelThresholds::default();
        let level = |v: f64| capacity.map(|c| to_level(thresholds.level(v, c)));
        // Speed where it is measured: few crossings at walking pace is a jam, not a quiet road.
        let current_speed_kmh = approach.speed_kmh;
        let speed_level = approach
            .settings
            .free_flow_kmh
            .zip(current_speed_kmh)
            .map(|(free, v)| to_level(forecast::speed_level(v, free)));
        let density_level = approach.density.map(|d| to_level(forecast::density_level(d)));
        // Where both are measured, the worse: a queue reaching into the zone is congestion
        // even while the vehicles that do cross the line still move.
        let measured_level = speed_level.max(density_level);
        let mut horizons = Vec::new();
        let profile = self.trained.as_ref().and_then(|t| t.profiles.get(key));
        let model = self.trained.as_ref().and_then(|t| t.model.as_ref());
        if let Some((table, scale)) = profile {
            let own = SeriesInput { values: &own_values, first_index: window.start, profile: table, scale: *scale };
            let trained = self.trained.as_ref().expect("profile implies trained");
            let neighbours: Vec<(SeriesInput, f64)> = neighbour_values
                .iter()
                .filter_map(|(v, k)| {
                    trained.profiles.get(k).map(|(t, s)| {
                        (SeriesInput { values: v, first_index: window.start, profile: t, scale: *s }, 1.0)
                    })
                })
                .collect();
            let predictions = match model {
                Some(m) => m.predict(&own, &neighbours, origin, &mut Vec::new()),
                None => self
                    .spec
                    .horizons
                    .iter()
                    .filter_map(|&h| {
                        table.expected(origin + h as i64).map(|v| forecast::Prediction {
                            horizon_steps: h,
                            value: v,
                            low: v,
                            high: v,
                            method: Method::Profile,
                        })
                    })
                    .collect(),
            };
            for p in predictions {
                let minutes = (p.horizon_steps as u32 * grid.step_s) / 60;
                let method = if p.method == Method::Model { ForecastMethod::Model } else { ForecastMethod::Profile };
                horizons.push(HorizonForecast {
                    minutes,
                    pcu_per_hour: p.value,
                    low: p.low,
                    high: p.high,
                    level: level(p.value),
                    method,
                });
            }
        }
        // No history for this approach or time of day yet: "same as now" is all that is known.
        if let Some(v) = current {
            for m in HORIZONS_MIN {
                if !horizons.iter().any(|h| h.minutes == m) {
                    horizons.push(HorizonForecast {
                        minutes: m,
                        pcu_per_hour: v,
                        low: v,
                        high: v,
                        level: level(v),
                        method: ForecastMethod::LastValue,
                    });
                }
            }
            horizons.sort_by_key(|h| h.minutes);
        }
        let alert_level = self.settings.alert_level;
        let current_level = measured_level.or(current.and_then(level));
        // "Congestion ahead" means worse ahead than now: a road already at F is not warned
        // of F again (the current level says it), nor is a forecast that only repeats now.
        let alert = horizons.iter().any(|h| {
            h.minutes <= 30 && h.level.is_some_and(|l| l >= alert_level && current_level.is_none_or(|now| l > now))
        });
        let approach = self.approaches.get_mut(key)?;
        let raised = alert && !approach.alert;
        approach.alert = alert;
        if raised {
            tracing::warn!(approach = key, level = ?alert_level, "congestion forecast: alert raised");
        }
        approach.cells.prune_before(window.start);
        let s = &approach.settings;
        Some(ForecastReport {
            camera_id: s.camera.clone(),
            line: s.line.clone(),
            area: s.area.clone().unwrap_or_else(|| s.camera.clone()),
            made_at_ms: grid.start_of(origin + 1) * 1000,
            current_pcu_per_hour: current,
            current_level,
            current_speed_kmh,
            capacity_pcu_per_hour: capacity,
            horizons,
            alert,
        })
    }

    /// Retraining, step 1: forget the series; then `record` the history (camera by
    /// camera, so it never has to be in memory at once) and call `finish_retrain`.
    pub fn begin_retrain(&mut self) {
        for a in self.approaches.values_mut() {
            a.cells = Cells::default();
        }
    }

    /// Refits profiles and model on the complete steps before `now_ms`.
    pub fn finish_retrain(&mut self, now_ms: i64) -> Trained {
        let grid = self.grid;
        let end = grid.index_of(now_ms.div_euclid(1000)); // the current step is incomplete
        let config = profile_config();
        let keys: Vec<String> = self.approaches.keys().cloned().collect();
        let starts: Vec<i64> = keys.iter().map(|k| self.approaches[k].cells.first_index().unwrap_or(end)).collect();
        let first = starts.iter().copied().min().unwrap_or(end).min(end);
        let values: Vec<Vec<Option<f64>>> = keys
            .iter()
            .map(|k| self.approaches[k].cells.values(&grid, first..end, self.settings.min_coverage))
            .collect();
        let histories: Vec<forecast::History> =
            values.iter().map(|v| forecast::History { values: v, first_index: first }).collect();
        let neighbours: Vec<Vec<(usize, f64)>> = keys
            .iter()
            .map(|k| {
                self.approaches[k]
                    .settings
                    .neighbours
                    .iter()
                    .filter_map(|n| keys.iter().position(|x| x == n))
                    .map(|i| (i, 1.0))
                    .collect()
            })
            .collect();
        let mut profiles = BTreeMap::new();
        for (k, h) in keys.iter().zip(&histories) {
            let table = h.profile(grid, &config, first..end, None).table();
            if let Some(level) = table.level().filter(|l| *l > 0.0) {
                profiles.insert(k.clone(), (table, level));
            }
        }
        let model = if first < end {
            match forecast::train::fit(grid, &self.spec, &config, &histories, &neighbours, first..end) {
                Ok(f) => Some(f.model),
                Err(e) => {
                    tracing::info!(reason = %e, "forecast model not fitted yet; forecasting from profiles");
                    None
                }
            }
        } else {
            None
        };
        let trained = Trained { trained_at_ms: now_ms, grid, model, profiles };
        self.trained = Some(trained.clone());
        trained
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use protocol::{ClassCounts, DirectionCounts, IntervalCounts, VehicleClass};

    use super::*;
    use crate::forecast::settings::ApproachSettings;

    /// A 5-minute interval at `start_ms` with `motorcycles` and `cars` forward over `main`.
    pub(crate) fn interval(camera: &str, start_ms: i64, coverage: f64, motorcycles: u32, cars: u32) -> StoredInterval {
        let mut forward = ClassCounts::default();
        forward.add(VehicleClass::Motorcycle, motorcycles);
        forward.add(VehicleClass::Car, cars);
        let lines =
            [("main".to_string(), DirectionCounts { forward, backward: ClassCounts::default() })].into_iter().collect();
        StoredInterval {
            agent_id: camera.into(),
            epoch: 1,
            seq: (start_ms / 300_000) as u64,
            camera_id: camera.into(),
            model_id: "m".into(),
            model_sha256: "0".repeat(64),
            received_ms: start_ms + 300_000,
            interval: IntervalCounts {
                start_ms,
                end_ms: start_ms + 300_000,
                coverage,
                fps: 10.0,
                frames: 3000,
                lines,
                zones: Default::default(),
                movements: vec![],
                speeds: Default::default(),
            },
        }
    }

    /// Morning peak around 08:00 local; deterministic "noise".
    pub(crate) fn daily_motorcycles(start_ms: i64) -> u32 {
        let hour = ((start_ms / 1000 + 7 * 3600) % 86_400) as f64 / 3600.0;
        (100.0 + 400.0 * (-(hour - 8.0).powi(2) / 4.0).exp() + ((start_ms / 300_000) % 7) as f64 * 3.0) as u32
    }

    fn settings() -> ForecastSettings {
        let mut s = ForecastSettings::default();
        s.approaches.push(ApproachSettings {
            camera: "c1".into(),
            line: "main".into(),
            direction: Default::default(),
            capacity_pcu_per_hour: Some(1000.0),
            free_flow_kmh: None,
            density_zone: None,
            area: Some("d1".into()),
            neighbours: vec![],
        });
        s
    }

    #[test]
    fn a_calibrated_camera_levels_by_speed_so_a_jam_with_few_crossings_is_f() {
        let mut s = settings();
        s.approaches[0].free_flow_kmh = Some(50.0);
        let mut engine = Engine::new(s);
        let now = 1_795_453_200_000;
        let with_speed = |mean_kmh: f64, vehicles: u32| {
            let mut i = interval("c1", now, 1.0, 10, 2);
            let all = protocol::SpeedStats { vehicles, mean_kmh, p85_kmh: mean_kmh };
            i.interval.speeds.insert("main".into(), protocol::LineSpeeds { all, classes: Default::default() });
            i
        };
        // 12 vehicles in 5 minutes: by counts an empty road (A), by speed a jam.
        let jam = engine.on_interval(&with_speed(8.0, 12));
        assert_eq!((jam[0].current_level, jam[0].current_speed_kmh), (Some(CongestionLevel::F), Some(8.0)));
        let free = engine.on_interval(&with_speed(45.0, 12));
        assert_eq!(free[0].current_level, Some(CongestionLevel::A));
        // Two crossings are too few to judge; and an uncalibrated interval falls back to counts.
        let few = engine.on_interval(&with_speed(8.0, 2));
        assert_eq!((few[0].current_level, few[0].current_speed_kmh), (Some(CongestionLevel::A), None));
        let counts_only = engine.on_interval(&interval("c1", now, 1.0, 10, 2));
        assert_eq!(counts_only[0].current_level, Some(CongestionLevel::A));
    }

    #[test]
    fn a_density_zone_grades_the_level_too_and_the_worse_of_speed_and_density_wins() {
        let mut s = settings();
        s.approaches[0].free_flow_kmh = Some(50.0);
        s.approaches[0].density_zone = Some("midblock".into());
        let mut engine = Engine::new(s);
        let now = 1_795_453_200_000;
        let measured = |mean_kmh: f64, density: Option<f64>| {
            let mut i = interval("c1", now, 1.0, 10, 2);
            let all = protocol::SpeedStats { vehicles: 12, mean_kmh, p85_kmh: mean_kmh };
            i.interval.speeds.insert("main".into(), protocol::LineSpeeds { all, classes: Default::default() });
            let zone = protocol::ZoneStats { density_veh_km_lane: density, ..Default::default() };
            i.interval.zones.insert("midblock".into(), zone);
            i
        };
        // Free-flowing crossings, but the stretch behind them is packed: E by density.
        assert_eq!(engine.on_interval(&measured(45.0, Some(25.0)))[0].current_level, Some(CongestionLevel::E));
        // Light density and free speed: A; slow speed with light density: speed decides.
        assert_eq!(engine.on_interval(&measured(45.0, Some(4.0)))[0].current_level, Some(CongestionLevel::A));
        assert_eq!(engine.on_interval(&measured(12.0, Some(4.0)))[0].current_level, Some(CongestionLevel::F));
        // No density (an uncalibrated interval): speed alone, as before.
        assert_eq!(engine.on_interval(&measured(45.0, None))[0].current_level, Some(CongestionLevel::A));
    }

    #[test]
    fn forecasts_from_history_with_levels_alerts_and_explicit_gaps() {
        let mut engine = Engine::new(settings());
        let now = 1_795_453_200_000 + 7 * 3_600_000; // 07:00 local, a Tuesday
        engine.begin_retrain();
        for k in (1..=10 * 288).rev() {
            let start = now - k * 300_000;
            engine.record(&interval("c1", start, 1.0, daily_motorcycles(start), 20));
        }
        let trained = engine.finish_retrain(now);
        assert!(trained.model.is_some(), "ten days are enough to fit");
        let reports = engine.on_interval(&interval("c1", now, 1.0, daily_motorcycles(now), 20));
        let r = &reports[0];
        assert_eq!((r.area.as_str(), r.made_at_ms), ("d1", now + 300_000));
        assert_eq!(r.horizons.iter().map(|h| h.minutes).collect::<Vec<_>>(), [15, 30, 60]);
        assert!(
            r.horizons
                .iter()
                .all(|h| h.method == ForecastMethod::Model && h.low <= h.pcu_per_hour && h.pcu_per_hour <= h.high)
        );
        // Heading into the 08:00 peak (≈ 0.3 × 500 + 20 = 170 PCU per 5 min ≈ 2,000 PCU/h > capacity).
        let truth = |m: i64| (0.3 * daily_motorcycles(now + m * 60_000) as f64 + 20.0) * 12.0;
        for h in &r.horizons {
            let err = (h.pcu_per_hour - truth(h.minutes as i64 + 5)).abs() / truth(h.minutes as i64 + 5);
            assert!(err < 0.1, "{} min: {} vs {}", h.minutes, h.pcu_per_hour, truth(h.minutes as i64 + 5));
        }
        assert_eq!(r.horizons[2].level, Some(CongestionLevel::F));
        // Already F at 07:00: "congestion ahead" would tell nothing the level now does not.
        assert_eq!(r.current_level, Some(CongestionLevel::F));
        assert!(!r.alert, "nothing worse ahead than now");
        // Two hours earlier the road is at C and reaches E within 30 minutes: that is news.
        let early = now - 2 * 3_600_000;
        let mut before = Engine::new(settings());
        before.begin_retrain();
        for k in (1..=10 * 288).rev() {
            let start = early - k * 300_000;
            before.record(&interval("c1", start, 1.0, daily_motorcycles(start), 20));
        }
        before.finish_retrain(early);
        let rising = &before.on_interval(&interval("c1", early, 1.0, daily_motorcycles(early), 20))[0];
        assert!(rising.current_level < rising.horizons[1].level, "{rising:?}");
        assert!(rising.alert, "worse ahead than now, at or above the alert level: {rising:?}");
        // The camera goes down: the step is missing, not zero, and the forecast still stands.
        let down = engine.on_interval(&interval("c1", now + 300_000, 0.1, 0, 0));
        assert_eq!(down[0].current_pcu_per_hour, None);
        assert!(down[0].horizons.iter().all(|h| h.pcu_per_hour > 1000.0), "{:?}", down[0].horizons);
    }

    #[test]
    fn a_new_camera_gets_last_value_then_profile_without_a_model() {
        let mut engine = Engine::new(settings());
        let now = 1_795_453_200_000;
        let r = engine.on_interval(&interval("new", now, 1.0, 100, 0));
        assert!(
            r[0].horizons
                .iter()
                .all(|h| h.method == ForecastMethod::LastValue && (h.pcu_per_hour - 360.0).abs() < 1e-9)
        );
        // Already congested now, and "the same as now" ahead: no "congestion ahead" alert
        // (the level now says it; a warning must be about something worse to come).
        let jammed = engine.on_interval(&interval("c1", now, 1.0, 5_000, 0));
        assert_eq!(jammed[0].current_level, Some(CongestionLevel::F), "{:?}", jammed[0]);
        assert!(jammed[0].horizons.iter().all(|h| h.level == Some(CongestionLevel::F)));
        assert!(!jammed[0].alert, "F ahead of F now is not news");
        assert_eq!(r[0].horizons[0].level, None, "no capacity configured: no level");
        // One day of history: a profile, but nothing to fit the model on (each day's
        // features need a profile of the other days).
        engine.begin_retrain();
        for k in (1..=288).rev() {
            engine.record(&interval("new", now - k * 300_000, 1.0, 100, 0));
        }
        let trained = engine.finish_retrain(now);
        assert!(trained.model.is_none());
        let r = engine.on_interval(&interval("new", now, 1.0, 100, 0));
        assert!(!r[0].horizons.is_empty());
        assert!(r[0].horizons.iter().all(|h| h.method == ForecastMethod::Profile), "{:?}", r[0].horizons);
    }
}
