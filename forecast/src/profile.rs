//! Time-of-day profiles: "what is usual in this slot on this kind of day".
//!
//! A [`Profile`] keeps, per day group and slot, the values of the last `max_days` days it
//! was shown (older ones fall out, so the profile follows seasonal drift). It is frozen
//! into a [`ProfileTable`] for forecasting; a table only ever holds days that were
//! complete when it was taken, which is what keeps forecasts free of look-ahead.
//! Missing values are skipped, never counted as zero. A slot whose own group has no
//! history falls back to all groups together.

use std::collections::VecDeque;

use serde::{Deserialize, Serialize};

use crate::grid::Grid;

/// How days are grouped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Grouping {
    /// Seven groups, Monday … Sunday.
    DayOfWeek,
    /// Weekday (Mon–Fri) and weekend.
    DayType,
}

impl Grouping {
    pub fn groups(self) -> usize {
        match self {
            Grouping::DayOfWeek => 7,
            Grouping::DayType => 2,
        }
    }

    pub fn group_of(self, grid: &Grid, index: i64) -> usize {
        let weekday = grid.weekday(index);
        match self {
            Grouping::DayOfWeek => weekday,
            Grouping::DayType => usize::from(weekday >= 5),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProfileStat {
    Mean,
    /// Robust to the odd incident day; better for speeds.
    Median,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Profile {
    pub grid: Grid,
    pub grouping: Grouping,
    pub stat: ProfileStat,
    /// Weight of each neighbouring slot in [0, 0.5): 0 = no smoothing; 0.25 = a
    /// (¼, ½, ¼) kernel over adjacent slots, which damps the noise of few days.
    pub smoothing: f64,
    pub max_days: usize,
    /// `history[group][slot]`: values, oldest first.
    history: Vec<Vec<VecDeque<f64>>>,
}

impl Profile {
    pub fn new(grid: Grid, grouping: Grouping, stat: ProfileStat, smoothing: f64, max_days: usize) -> Self {
        let history = vec![vec![VecDeque::new(); grid.slots_per_day()]; grouping.groups()];
        Profile { grid, grouping, stat, smoothing, max_days: max_days.max(1), history }
    }

    /// Adds the value seen at grid index `index` (call once per index, for completed days).
    pub fn observe(&mut self, index: i64, value: Option<f64>) {
        let Some(value) = value.filter(|v| v.is_finite()) else { return };
        let cell = &mut self.history[self.grouping.group_of(&self.grid, index)][self.grid.slot(index)];
        if cell.len() == self.max_days {
            cell.pop_front();
        }
        cell.push_back(value);
    }

    /// Adds a whole day (`values[slot]`) starting at grid index `day_start`.
    pub fn observe_day(&mut self, day_start: i64, values: &[Option<f64>]) {
        for (slot, value) in values.iter().enumerate() {
            self.observe(day_start + slot as i64, *value);
        }
    }

    /// Number of days of history behind the best-covered slot.
    pub fn depth(&self) -> usize {
        (0..self.grid.slots_per_day())
            .map(|s| self.history.iter().map(|g| g[s].len()).sum::<usize>())
            .max()
            .unwrap_or(0)
    }

    /// Days of history behind the best-covered slot of `index`'s own day group.
    pub fn group_depth(&self, index: i64) -> usize {
        self.history[self.grouping.group_of(&self.grid, index)].iter().map(VecDeque::len).max().unwrap_or(0)
    }

    pub fn table(&self) -> ProfileTable {
        let slots = self.grid.slots_per_day();
        let raw = |cells: &[&VecDeque<f64>]| -> Option<f64> {
            let mut values: Vec<f64> = cells.iter().flat_map(|c| c.iter().copied()).collect();
            if values.is_empty() {
                return None;
            }
            Some(match self.stat {
                ProfileStat::Mean => values.iter().sum::<f64>() / values.len() as f64,
                ProfileStat::Median => median(&mut values),
            })
        };
        let by_group: Vec<Vec<Option<f64>>> =
            self.history.iter().map(|g| (0..slots).map(|s| raw(&[&g[s]])).collect()).collect();
        let all: Vec<Option<f64>> =
            (0..slots).map(|s| raw(&self.history.iter().map(|g| &g[s]).collect::<Vec<_>>())).collect();
        let smooth = |row: Vec<Option<f64>>| smooth_ring(&row, self.smoothing);
        ProfileTable {
            grid: self.grid,
            grouping: self.grouping,
            by_group: by_group.into_iter().map(smooth).collect(),
            all: smooth(all),
        }
    }
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    let n = values.len();
    if n % 2 == 1 { values[n / 2] } else { (values[n / 2 - 1] + values[n / 2]) / 2.0 }
}

/// (w, 1-2w, w) kernel around the day (slot 0 follows the last slot); a missing
/// neighbour's weight is given back to the others.
fn smooth_ring(row: &[Option<f64>], w: f64) -> Vec<Option<f64>> {
    if w <= 0.0 {
        return row.to_vec();
    }
    let n = row.len();
    (0..n)
        .map(|s| {
            row[s]?;
            let parts = [(row[(s + n - 1) % n], w), (row[s], 1.0 - 2.0 * w), (row[(s + 1) % n], w)];
            let (sum, weight) = parts
                .iter()
                .filter_map(|(v, w)| v.map(|v| (v * w, *w)))
                .fold((0.0, 0.0), |a, b| (a.0 + b.0, a.1 + b.1));
            Some(sum / weight)
        })
        .collect()
}

/// A frozen profile: what was usual, as known when it was taken.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ProfileTable {
    pub grid: Grid,
    pub grouping: Grouping,
    by_group: Vec<Vec<Option<f64>>>,
    all: Vec<Option<f64>>,
}

impl ProfileTable {
    /// Usual value at grid index `index` (its own day group first, then all days).
    pub fn expected(&self, index: i64) -> Option<f64> {
        let slot = self.grid.slot(index);
        self.by_group[self.grouping.group_of(&self.grid, index)][slot].or(self.all[slot])
    }

    /// Mean over the slots that have a value; `None` for an empty profile.
    pub fn level(&self) -> Option<f64> {
        let values: Vec<f64> = self.all.iter().flatten().copied().collect();
        (!values.is_empty()).then(|| values.iter().sum::<f64>() / values.len() as f64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grid() -> Grid {
        Grid::new(21_600, 0) // four slots a day keeps the tests readable
    }

    #[test]
    fn missing_is_skipped_not_zero_and_groups_fall_back() {
        let mut p = Profile::new(grid(), Grouping::DayType, ProfileStat::Mean, 0.0, 10);
        // Day 4 (1970-01-05) is a Monday.
        p.observe_day(4 * 4, &[Some(10.0), None, Some(30.0), Some(40.0)]);
        p.observe_day(5 * 4, &[Some(20.0), None, Some(50.0), Some(40.0)]);
        let t = p.table();
        assert_eq!(t.expected(6 * 4), Some(15.0));
        assert_eq!(t.expected(6 * 4 + 1), None);
        assert_eq!(t.expected(6 * 4 + 2), Some(40.0));
        // Saturday (day 9) has no weekend history: falls back to all days.
        assert_eq!(t.expected(9 * 4 + 3), Some(40.0));
        assert_eq!(p.depth(), 2);
    }

    #[test]
    fn old_days_fall_out_and_median_ignores_one_bad_day() {
        let mut p = Profile::new(grid(), Grouping::DayOfWeek, ProfileStat::Median, 0.0, 3);
        for (week, v) in [100.0, 1.0, 2.0, 90.0].into_iter().enumerate() {
            p.observe(4 * (4 + 7 * week as i64), Some(v));
        }
        assert_eq!(p.table().expected(4 * 4), Some(2.0)); // 100 fell out; median of 1, 2, 90
    }

    #[test]
    fn smoothing_wraps_around_midnight() {
        let row = [Some(4.0), Some(0.0), Some(0.0), Some(8.0)];
        let s = smooth_ring(&row, 0.25);
        assert_eq!(s[0], Some(0.25 * 8.0 + 0.5 * 4.0));
    }
}
