//! Forecasting of traffic series on a regular time grid, shared by central (live
//! forecasts) and the benchmarks (replaying public datasets through the same code).
//!
//! Pure: no I/O, no clocks. Callers give values on a grid ([`Grid`]) with `None` for
//! intervals that were not observed, so a camera that was down is never read as zero
//! traffic.
//!
//! Methods:
//! - [`baselines`]: last value; historical average by time of day and day of week.
//! - [`model::LagModel`]: robust (L1) ridge regression on recent deviations from a
//!   time-of-day profile, the profile itself, the previous day's deviation and the
//!   neighbours' deviations from the road graph; pooled over series after scaling each
//!   series by its own level, so a camera with little history borrows from the others.
//!
//! Invariant: a forecast made at grid index `t` reads no value after `t`
//! ([`features::FeatureBuilder`] only indexes `..=t`; tested in `features`).

pub mod baselines;
pub mod features;
pub mod grid;
pub mod level;
pub mod linalg;
pub mod model;
pub mod profile;
pub mod train;

pub use baselines::{HistoricalAverage, LastValue};
pub use features::{FeatureBuilder, FeatureSpec, SeriesInput};
pub use grid::Grid;
pub use level::{CongestionLevel, LevelThresholds, density_level, speed_level};
pub use model::{FitError, LagModel, ModelSpec, Prediction};
pub use profile::{Grouping, Profile, ProfileStat, ProfileTable};
pub use train::{Fitted, History, ProfileConfig};
