//! Turns stored interval reports into demand series on the forecasting grid: PCU per
//! hour per approach and grid step.
//!
//! An interval's counts are spread over the steps it overlaps in proportion to the
//! overlap; each step also accumulates the seconds that were actually watched
//! (overlap × coverage). A step's demand is PCU / watched seconds, so a half-watched
//! step is scaled up, and a step watched less than `min_coverage` of its length is
//! missing (`None`): a camera that is down is not zero traffic.

use std::collections::BTreeMap;

use forecast::Grid;
use protocol::{DirectionCounts, VehicleClass};

use super::settings::{Direction, PcuFactors};

#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Cell {
    pub pcu: f64,
    pub watched_s: f64,
}

/// One approach's steps, keyed by grid index.
#[derive(Debug, Clone, Default)]
pub struct Cells(pub BTreeMap<i64, Cell>);

pub fn line_pcu(counts: &DirectionCounts, direction: Direction, pcu: &PcuFactors) -> f64 {
    let sum = |c: &protocol::ClassCounts| VehicleClass::ALL.iter().map(|k| c.get(*k) as f64 * pcu.of(*k)).sum::<f64>();
    match direction {
        Direction::Both => sum(&counts.forward) + sum(&counts.backward),
        Direction::Forward => sum(&counts.forward),
        Direction::Backward => sum(&counts.backward),
    }
}

impl Cells {
    /// Adds `pcu` counted over `[start_ms, end_ms)` with the given coverage.
    pub fn add(&mut self, grid: &Grid, start_ms: i64, end_ms: i64, coverage: f64, pcu: f64) {
        if end_ms <= start_ms {
            return;
        }
        let length = (end_ms - start_ms) as f64;
        let step_ms = grid.step_s as i64 * 1000;
        let mut index = grid.index_of(start_ms.div_euclid(1000));
        loop {
            let slot_start = grid.start_of(index) * 1000;
            let overlap = (end_ms.min(slot_start + step_ms) - start_ms.max(slot_start)).max(0) as f64;
            if slot_start >= end_ms {
                break;
            }
            let cell = self.0.entry(index).or_default();
            cell.pcu += pcu * overlap / length;
            cell.watched_s += overlap / 1000.0 * coverage.clamp(0.0, 1.0);
            index += 1;
        }
    }

    /// Demand (PCU/h) of each step in `range`; `None` where too little was watched.
    pub fn values(&self, grid: &Grid, range: std::ops::Range<i64>, min_coverage: f64) -> Vec<Option<f64>> {
        let needed = grid.step_s as f64 * min_coverage;
        range
            .map(|i| {
                self.0
                    .get(&i)
                    .filter(|c| c.watched_s >= needed && c.watched_s > 0.0)
                    .map(|c| c.pcu / c.watched_s * 3600.0)
            })
            .collect()
    }

    /// Forgets steps before `index`.
    pub fn prune_before(&mut self, index: i64) {
        self.0 = self.0.split_off(&index);
    }

    pub fn first_index(&self) -> Option<i64> {
        self.0.keys().next().copied()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn intervals_spread_over_steps_and_partial_coverage_scales_up() {
        let grid = Grid::new(300, 0);
        let mut cells = Cells::default();
        // 60 PCU over 10 minutes straddling two steps, fully watched: 360 PCU/h in both.
        cells.add(&grid, 150_000, 750_000, 1.0, 60.0);
        let v = cells.values(&grid, 0..3, 0.5);
        assert!(v.iter().all(|x| (x.unwrap() - 360.0).abs() < 1e-9), "{v:?}");
        // Step 0 was watched for 150 s only: missing once half is not enough.
        assert_eq!(cells.values(&grid, 0..1, 0.6), vec![None]);
    }

    #[test]
    fn a_camera_that_is_down_is_missing_not_zero() {
        let grid = Grid::new(300, 0);
        let mut cells = Cells::default();
        cells.add(&grid, 0, 300_000, 0.4, 0.0); // down for 60 % of the step, nothing counted
        cells.add(&grid, 300_000, 600_000, 0.6, 12.0);
        let v = cells.values(&grid, 0..2, 0.5);
        assert_eq!(v[0], None);
        assert!((v[1].unwrap() - 12.0 / 180.0 * 3600.0).abs() < 1e-9);
    }
}
