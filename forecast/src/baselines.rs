//! The two reference forecasts every learned model must beat: "same as now" and "same as
//! usual at this hour on this day of the week".

use crate::features::SeriesInput;
use crate::profile::ProfileTable;

pub struct LastValue;

impl LastValue {
    /// The value at `origin`; `None` when it was not observed (no guessing).
    pub fn predict(own: &SeriesInput, origin: i64) -> Option<f64> {
        own.value(origin)
    }
}

/// Mean by slot and day of week (falling back to all days), from a table frozen before
/// the origin's day; build the table with `Grouping::DayOfWeek` and `ProfileStat::Mean`.
pub struct HistoricalAverage;

impl HistoricalAverage {
    pub fn predict(table: &ProfileTable, target: i64) -> Option<f64> {
        table.expected(target)
    }
}
