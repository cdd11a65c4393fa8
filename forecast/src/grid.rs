//! The regular time grid forecasts live on: `step_s`-second slots, days in local time
//! (`utc_offset_s`, e.g. +7 h for Ho Chi Minh City), so "08:00 on a Monday" means the
//! local morning peak. Grid index `i` covers `[i·step, (i+1)·step)` seconds of local time
//! since 1970-01-01 00:00 (a Thursday).

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Grid {
    pub step_s: u32,
    pub utc_offset_s: i32,
}

impl Grid {
    /// `step_s` must divide a day; checked by callers' config validation.
    pub fn new(step_s: u32, utc_offset_s: i32) -> Self {
        assert!(step_s > 0 && 86_400 % step_s == 0, "grid step must divide a day");
        Grid { step_s, utc_offset_s }
    }

    pub fn slots_per_day(&self) -> usize {
        (86_400 / self.step_s) as usize
    }

    /// Grid index of the slot containing UTC time `unix_s`.
    pub fn index_of(&self, unix_s: i64) -> i64 {
        (unix_s + self.utc_offset_s as i64).div_euclid(self.step_s as i64)
    }

    /// UTC start of slot `index`.
    pub fn start_of(&self, index: i64) -> i64 {
        index * self.step_s as i64 - self.utc_offset_s as i64
    }

    pub fn day(&self, index: i64) -> i64 {
        index.div_euclid(self.slots_per_day() as i64)
    }

    pub fn slot(&self, index: i64) -> usize {
        index.rem_euclid(self.slots_per_day() as i64) as usize
    }

    /// Monday = 0 … Sunday = 6.
    pub fn weekday(&self, index: i64) -> usize {
        (self.day(index) + 3).rem_euclid(7) as usize
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_days_and_weekdays() {
        let g = Grid::new(300, 7 * 3600);
        // 2026-11-23 17:00 UTC = 2026-11-24 00:00 in HCMC, a Tuesday.
        let i = g.index_of(1_795_453_200);
        assert_eq!(g.slot(i), 0);
        assert_eq!(g.weekday(i), 1);
        assert_eq!(g.start_of(i), 1_795_453_200);
        assert_eq!(g.slot(i - 1), 287);
        assert_eq!(g.weekday(i - 1), 0);
    }
}
