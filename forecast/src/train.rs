//! Fitting the lag model on history, as central's retraining and the benchmark both do.
//!
//! Each training day's features are built against a profile of the *other* training
//! days (leave-one-day-out). With the day itself in its own profile, its deviations would
//! look smaller than they will be live — badly so with a week of history, where each
//! day is a fifth of its weekday profile — and the model would learn the wrong dynamics.
//! For the same reason a day whose group has fewer than `min_days` other days (a lone
//! weekend in a week of data) does not train the model.

use std::ops::Range;

use serde::{Deserialize, Serialize};

use crate::features::SeriesInput;
use crate::grid::Grid;
use crate::model::{FitError, LagModel, ModelSpec, TrainingSet};
use crate::profile::{Grouping, Profile, ProfileStat};

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProfileConfig {
    pub grouping: Grouping,
    pub stat: ProfileStat,
    pub smoothing: f64,
    /// Days kept per group.
    pub max_days: usize,
    /// A training day is used only when its own day group has at least this many other
    /// days of history.
    pub min_days: usize,
}

impl ProfileConfig {
    pub fn profile(&self, grid: Grid) -> Profile {
        Profile::new(grid, self.grouping, self.stat, self.smoothing, self.max_days)
    }
}

/// One series of history; `values[i]` is grid index `first_index + i`.
#[derive(Debug, Clone, Copy)]
pub struct History<'a> {
    pub values: &'a [Option<f64>],
    pub first_index: i64,
}

impl History<'_> {
    fn get(&self, index: i64) -> Option<f64> {
        usize::try_from(index - self.first_index).ok().and_then(|i| self.values.get(i).copied().flatten())
    }

    /// Profile of the values in `range`, days in `skip_day` left out.
    pub fn profile(&self, grid: Grid, config: &ProfileConfig, range: Range<i64>, skip_day: Option<i64>) -> Profile {
        let mut p = config.profile(grid);
        for index in range.filter(|i| Some(grid.day(*i)) != skip_day) {
            p.observe(index, self.get(index));
        }
        p
    }
}

pub struct Fitted {
    pub model: LagModel,
    /// Per series: its level (the scale its features were divided by); `None` for a
    /// series with no history in the range.
    pub scales: Vec<Option<f64>>,
    pub samples_per_horizon: usize,
}

/// Fits one model pooled over all `series` on origins and targets inside `range`.
pub fn fit(
    grid: Grid,
    spec: &ModelSpec,
    config: &ProfileConfig,
    series: &[History],
    neighbours: &[Vec<(usize, f64)>],
    range: Range<i64>,
) -> Result<Fitted, FitError> {
    let scales: Vec<Option<f64>> = series
        .iter()
        .map(|h| h.profile(grid, config, range.clone(), None).table().level().filter(|l| *l > 0.0))
        .collect();
    let cut: Vec<History> = series
        .iter()
        .map(|h| {
            let end = usize::try_from(range.end - h.first_index).unwrap_or(0).min(h.values.len());
            History { values: &h.values[..end], first_index: h.first_index }
        })
        .collect();
    let mut set = TrainingSet::new(spec, grid.slots_per_day());
    let candidates = series.len() as u64 * (range.end - range.start).max(0) as u64;
    let stride = candidates.div_ceil(spec.max_samples.max(1) as u64).max(1) as i64;
    for day in grid.day(range.start)..=grid.day(range.end - 1) {
        let day_range = (day * grid.slots_per_day() as i64).max(range.start)
            ..((day + 1) * grid.slots_per_day() as i64).min(range.end);
        if !cut.iter().any(|h| day_range.clone().any(|i| h.get(i).is_some())) {
            continue;
        }
        let profiles: Vec<_> = cut.iter().map(|h| h.profile(grid, config, range.clone(), Some(day))).collect();
        // A "profile" of one other day is that day, not what is usual: deviations from
        // it are not what the model will see live, so such days do not train it.
        if profiles.iter().map(|p| p.group_depth(day_range.start)).max().unwrap_or(0) < config.min_days {
            continue;
        }
        let tables: Vec<_> = profiles.iter().map(|p| p.table()).collect();
        let inputs: Vec<Option<SeriesInput>> = cut
            .iter()
            .zip(&tables)
            .zip(&scales)
            .map(|((h, t), s)| {
                s.map(|scale| SeriesInput { values: h.values, first_index: h.first_index, profile: t, scale })
            })
            .collect();
        let mut inputs_n = Vec::new();
        for (s, own) in inputs.iter().enumerate() {
            let Some(own) = own else { continue };
            inputs_n.clear();
            inputs_n.extend(
                neighbours
                    .get(s)
                    .into_iter()
                    .flatten()
                    .filter_map(|&(n, w)| inputs.get(n).copied().flatten().map(|i| (i, w))),
            );
            for origin in day_range.clone().filter(|o| (o + s as i64).rem_euclid(stride) == 0) {
                set.add(own, &inputs_n, origin, spec.min_observed_lags);
            }
        }
    }
    let samples_per_horizon = set.samples(0);
    let model = LagModel::fit(spec, grid.slots_per_day(), &set)?;
    Ok(Fitted { model, scales, samples_per_horizon })
}
