//! Feature vectors for the learned model, built only from values at or before the
//! forecast origin `t` and from a profile table frozen before `t`'s day began.
//!
//! All quantities are divided by the series' scale (its usual level), so one model can be
//! pooled over cameras of very different volume. A missing value contributes a deviation
//! of 0 ("as usual") and raises the missing fraction; it is never read as zero traffic.

use serde::{Deserialize, Serialize};

use crate::profile::ProfileTable;

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FeatureSpec {
    /// Recent own deviations used (steps), `d(t) … d(t-lags+1)`.
    pub lags: usize,
    /// Recent neighbour deviations used (steps); 0 without a road graph.
    pub neighbour_lags: usize,
}

impl FeatureSpec {
    /// Number of features.
    pub fn width(&self) -> usize {
        self.lags + 1 + self.neighbour_lags + 2 + 3 + 1 + 1 + 1 + 1
    }
}

/// One series as the feature builder sees it.
#[derive(Debug, Clone, Copy)]
pub struct SeriesInput<'a> {
    /// `values[i]` is grid index `first_index + i`; `None` = not observed.
    pub values: &'a [Option<f64>],
    pub first_index: i64,
    pub profile: &'a ProfileTable,
    /// The series' usual level (> 0).
    pub scale: f64,
}

impl SeriesInput<'_> {
    /// Value at `index`, any index (training targets, the last-value baseline).
    pub fn value(&self, index: i64) -> Option<f64> {
        usize::try_from(index - self.first_index).ok().and_then(|i| self.values.get(i).copied().flatten())
    }

    /// Value at `index`, but only if `index <= origin`: the one place features read values.
    fn at(&self, index: i64, origin: i64) -> Option<f64> {
        if index > origin { None } else { self.value(index) }
    }

    fn deviation(&self, index: i64, origin: i64) -> Option<f64> {
        Some((self.at(index, origin)? - self.profile.expected(index)?) / self.scale)
    }
}

#[derive(Debug, Clone, Copy)]
pub struct FeatureBuilder {
    pub spec: FeatureSpec,
    pub slots_per_day: i64,
}

/// What [`FeatureBuilder::build`] learned about the inputs besides the vector.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Built {
    /// Profile value at the target, in the series' units.
    pub expected_at_target: f64,
    /// Own lags that were observed.
    pub observed_lags: usize,
}

impl FeatureBuilder {
    /// Writes the features for a forecast made at `origin` for `origin + horizon` into
    /// `out` (cleared first). `None` when the profile knows nothing about the target slot.
    pub fn build(
        &self,
        own: &SeriesInput,
        neighbours: &[(SeriesInput, f64)],
        origin: i64,
        horizon: usize,
        out: &mut Vec<f64>,
    ) -> Option<Built> {
        out.clear();
        let target = origin + horizon as i64;
        let expected_target = own.profile.expected(target)?;
        let expected_now = own.profile.expected(origin).unwrap_or(expected_target);
        let mut observed = 0;
        for k in 0..self.spec.lags as i64 {
            let d = own.deviation(origin - k, origin);
            observed += usize::from(d.is_some());
            out.push(d.unwrap_or(0.0));
        }
        out.push(1.0 - observed as f64 / self.spec.lags.max(1) as f64);
        // The older background: mean deviation over the three hours before the lags.
        let long = self.spec.lags as i64 * 4;
        let (sum, n) = (self.spec.lags as i64..long)
            .filter_map(|k| own.deviation(origin - k, origin))
            .fold((0.0, 0usize), |a, d| (a.0 + d, a.1 + 1));
        out.push(if n > 0 { sum / n as f64 } else { 0.0 });
        for k in 0..self.spec.neighbour_lags as i64 {
            let (sum, weight) = neighbours
                .iter()
                .filter_map(|(n, w)| n.deviation(origin - k, origin).map(|d| (d * w, *w)))
                .fold((0.0, 0.0), |a, b| (a.0 + b.0, a.1 + b.1));
            out.push(if weight > 0.0 { sum / weight } else { 0.0 });
        }
        let p_target = expected_target / own.scale;
        out.push(p_target);
        out.push(expected_now / own.scale);
        let now = own.deviation(origin, origin);
        let d0 = now.unwrap_or(0.0);
        out.push(d0.abs());
        out.push(d0.min(0.0));
        out.push(own.at(origin, origin).map_or(expected_now, |v| v) / own.scale);
        out.push(d0.min(0.0) * p_target);
        // The same slot one day earlier, when that is already in the past.
        let day_before = target - self.slots_per_day;
        out.push(if day_before <= origin { own.deviation(day_before, origin).unwrap_or(0.0) } else { 0.0 });
        out.push(1.0);
        debug_assert_eq!(out.len(), self.spec.width());
        Some(Built { expected_at_target: expected_target, observed_lags: observed })
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::{Grid, Grouping, Profile, ProfileStat};

    fn table(grid: Grid) -> ProfileTable {
        let mut p = Profile::new(grid, Grouping::DayType, ProfileStat::Mean, 0.25, 28);
        for i in 0..grid.slots_per_day() as i64 * 7 {
            p.observe(i, Some(50.0 + (i % 13) as f64));
        }
        p.table()
    }

    proptest! {
        /// No leakage: changing or deleting any value after the origin, in the series
        /// itself or in a neighbour, leaves every feature of that forecast unchanged.
        #[test]
        fn features_read_nothing_after_the_origin(
            values in proptest::collection::vec(proptest::option::weighted(0.9, 0.0..200.0f64), 700),
            origin_offset in 0usize..600,
            horizon in 1usize..=12,
            noise in proptest::collection::vec(proptest::option::of(0.0..500.0f64), 700),
        ) {
            let grid = Grid::new(300, 0);
            let profile = table(grid);
            let builder = FeatureBuilder { spec: FeatureSpec { lags: 12, neighbour_lags: 3 }, slots_per_day: 288 };
            let first = 10 * 288;
            let origin = first + 60 + origin_offset as i64;
            let cut = (origin - first) as usize + 1;
            let future_changed: Vec<Option<f64>> =
                values[..cut].iter().copied().chain(noise[cut..].iter().copied()).collect();
            let build = |own: &[Option<f64>], neighbour: &[Option<f64>]| {
                let own = SeriesInput { values: own, first_index: first, profile: &profile, scale: 55.0 };
                let n = SeriesInput { values: neighbour, first_index: first, profile: &profile, scale: 40.0 };
                let mut out = Vec::new();
                let built = builder.build(&own, &[(n, 1.0)], origin, horizon, &mut out);
                (built, out)
            };
            let reference = build(&values, &values);
            prop_assert_eq!(reference.clone(), build(&future_changed, &future_changed));
            prop_assert_eq!(reference, build(&values[..cut], &values[..cut]));
        }
    }

    #[test]
    fn missing_lags_read_as_usual_not_zero() {
        let grid = Grid::new(300, 0);
        let profile = table(grid);
        let builder = FeatureBuilder { spec: FeatureSpec { lags: 4, neighbour_lags: 0 }, slots_per_day: 288 };
        let values = vec![None; 20];
        let own = SeriesInput { values: &values, first_index: 2880, profile: &profile, scale: 50.0 };
        let mut out = Vec::new();
        let built = builder.build(&own, &[], 2880 + 19, 3, &mut out).unwrap();
        assert_eq!(built.observed_lags, 0);
        assert_eq!(&out[..5], &[0.0, 0.0, 0.0, 0.0, 1.0]);
        // lags, missing fraction, background, two profile values, |d|, min(d, 0)
        let level_now = out[4 + 1 + 1 + 2 + 2];
        assert!(level_now > 0.9, "a missing value is the usual level, not zero: {level_now}");
    }
}
