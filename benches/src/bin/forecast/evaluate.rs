//! Walk-forward evaluation: the model is fitted on the training range only; then every
//! test target is forecast from an origin strictly before it, with profiles that hold
//! the training days plus the test days completed before the origin's day (what central
//! knows in production). All methods are scored on the same (origin, target) pairs:
//! origin observed, target observed and inside the test range.

use std::collections::BTreeMap;

use anyhow::{Context, Result};
use forecast::model::Method;
use forecast::{
    Grouping, HistoricalAverage, History, LagModel, LastValue, ModelSpec, Profile, ProfileConfig, ProfileStat,
    ProfileTable, SeriesInput,
};
use serde::Serialize;

use crate::datasets::Dataset;

/// The learned model's configuration for one dataset.
#[derive(Debug, Clone)]
pub struct Learned {
    pub spec: ModelSpec,
    pub stat: ProfileStat,
    pub smoothing: f64,
}

impl Learned {
    /// The learned model's profile: weekday / weekend, every day of the data kept.
    pub fn profile_config(&self) -> ProfileConfig {
        ProfileConfig {
            grouping: Grouping::DayType,
            stat: self.stat,
            smoothing: self.smoothing,
            max_days: 10_000,
            min_days: 2,
        }
    }
}

#[derive(Debug, Default, Clone, Copy, Serialize)]
pub struct Metrics {
    pub mae: f64,
    pub rmse: f64,
    pub mape: f64,
    #[serde(skip)]
    pub n: usize,
}

#[derive(Default)]
struct Sums {
    abs: f64,
    sq: f64,
    pct: f64,
    n: usize,
    n_pct: usize,
}

impl Sums {
    fn add(&mut self, predicted: f64, actual: f64) {
        let e = predicted - actual;
        self.abs += e.abs();
        self.sq += e * e;
        self.n += 1;
        if actual > 0.0 {
            self.pct += (e / actual).abs();
            self.n_pct += 1;
        }
    }

    fn metrics(&self) -> Metrics {
        let n = self.n.max(1) as f64;
        Metrics {
            mae: self.abs / n,
            rmse: (self.sq / n).sqrt(),
            mape: 100.0 * self.pct / self.n_pct.max(1) as f64,
            n: self.n,
        }
    }
}

pub const METHODS: [&str; 4] = ["last_value", "historical_average", "day_type_profile", "lag_regression"];

pub struct Outcome {
    /// method → horizon (minutes) → metrics.
    pub methods: BTreeMap<String, BTreeMap<u32, Metrics>>,
    /// Share of lag_regression forecasts that fell back to the profile.
    pub profile_fallbacks: f64,
    pub model: LagModel,
    pub training_samples: usize,
}

struct Profiles {
    learned: Vec<Profile>,
    average: Vec<Profile>,
}

impl Profiles {
    fn new(ds: &Dataset, learned: &Learned) -> Self {
        let n = ds.series.len();
        Profiles {
            learned: (0..n).map(|_| learned.profile_config().profile(ds.grid)).collect(),
            average: (0..n)
                .map(|_| Profile::new(ds.grid, Grouping::DayOfWeek, ProfileStat::Mean, 0.0, 10_000))
                .collect(),
        }
    }

    fn observe(&mut self, ds: &Dataset, range: std::ops::Range<i64>) {
        for (s, values) in ds.series.iter().enumerate() {
            for index in range.clone() {
                let v = values.get((index - ds.first_index) as usize).copied().flatten();
                self.learned[s].observe(index, v);
                self.average[s].observe(index, v);
            }
        }
    }
}

pub fn evaluate(ds: &Dataset, learned: &Learned) -> Result<Outcome> {
    let step_min = ds.grid.step_s / 60;
    let horizons: Vec<usize> = ds.horizons_min.iter().map(|m| (m / step_min) as usize).collect();
    let spec = ModelSpec { horizons: horizons.clone(), ..learned.spec.clone() };
    let slots = ds.grid.slots_per_day();
    let mut profiles = Profiles::new(ds, learned);
    profiles.observe(ds, ds.train.clone());
    // Fit on the training range only (leave-one-day-out profiles inside).
    let histories: Vec<History> =
        ds.series.iter().map(|v| History { values: v, first_index: ds.first_index }).collect();
    let config = learned.profile_config();
    let fitted = forecast::train::fit(ds.grid, &spec, &config, &histories, &ds.neighbours, ds.train.clone())
        .context("fitting the lag regression")?;
    let (model, training_samples) = (fitted.model, fitted.samples_per_horizon);
    let scales: Vec<f64> = fitted.scales.iter().map(|s| s.unwrap_or(1.0)).collect();

    let mut sums: Vec<Vec<Sums>> =
        (0..METHODS.len()).map(|_| horizons.iter().map(|_| Sums::default()).collect()).collect();
    let (mut fallbacks, mut forecasts) = (0usize, 0usize);
    let max_h = *horizons.iter().max().unwrap() as i64;
    let first_origin = ds.test.start - max_h;
    let mut day = ds.grid.day(first_origin);
    let mut scratch = Vec::new();
    while day <= ds.grid.day(ds.test.end - 1) {
        let day_start = day * slots as i64;
        let tables: Vec<ProfileTable> = profiles.learned.iter().map(Profile::table).collect();
        let averages: Vec<ProfileTable> = profiles.average.iter().map(Profile::table).collect();
        let full = inputs(ds, &tables, &scales, usize::MAX);
        let mut neighbours = Vec::new();
        for origin in day_start.max(first_origin)..(day_start + slots as i64).min(ds.test.end) {
            for (s, own) in full.iter().enumerate() {
                let Some(now) = LastValue::predict(own, origin) else { continue };
                neighbours.clear();
                neighbours.extend(ds.neighbours[s].iter().map(|&(n, w)| (full[n], w)));
                let predictions = model.predict(own, &neighbours, origin, &mut scratch);
                for (h, &horizon) in horizons.iter().enumerate() {
                    let target = origin + horizon as i64;
                    if !ds.test.contains(&target) {
                        continue;
                    }
                    let Some(actual) = ds.series[s].get((target - ds.first_index) as usize).copied().flatten() else {
                        continue;
                    };
                    let (Some(average), Some(usual), Some(p)) = (
                        HistoricalAverage::predict(&averages[s], target),
                        tables[s].expected(target),
                        predictions.iter().find(|p| p.horizon_steps == horizon),
                    ) else {
                        continue;
                    };
                    for (m, value) in [now, average, usual, p.value].into_iter().enumerate() {
                        sums[m][h].add(value, actual);
                    }
                    forecasts += 1;
                    fallbacks += usize::from(p.method == Method::Profile);
                }
            }
        }
        // The day is over: from tomorrow, the profiles know it (test days only; the
        // training days are in already).
        let day_range = day_start.max(ds.train.end)..(day_start + slots as i64).min(ds.test.end);
        if !day_range.is_empty() {
            profiles.observe(ds, day_range);
        }
        day += 1;
    }
    let methods = METHODS
        .iter()
        .zip(&sums)
        .map(|(name, per_h)| {
            (name.to_string(), ds.horizons_min.iter().zip(per_h).map(|(m, s)| (*m, s.metrics())).collect())
        })
        .collect();
    Ok(Outcome { methods, profile_fallbacks: fallbacks as f64 / forecasts.max(1) as f64, model, training_samples })
}

/// Every series as the model sees it, cut after `cut` values.
fn inputs<'a>(ds: &'a Dataset, tables: &'a [ProfileTable], scales: &[f64], cut: usize) -> Vec<SeriesInput<'a>> {
    ds.series
        .iter()
        .zip(tables)
        .zip(scales)
        .map(|((v, t), &scale)| SeriesInput {
            values: &v[..cut.min(v.len())],
            first_index: ds.first_index,
            profile: t,
            scale,
        })
        .collect()
}
