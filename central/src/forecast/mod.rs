//! Congestion forecasting in central: per approach (camera line), demand in PCU per hour
//! 15, 30 and 60 minutes ahead with an 80 % interval, level of service and alerts,
//! published on `tac/v1/forecasts/{area}` and served at `/api/v1/cameras/{id}/forecast`.
//!
//! `settings` (config) → `series` (intervals onto the grid) → `engine` (state, retraining,
//! forecasts; the maths is the `forecast` crate) → `worker` (thread: store reads,
//! schedule, persistence, publishing).

pub mod engine;
pub mod series;
pub mod settings;
pub mod worker;

pub use settings::ForecastSettings;
pub use worker::{Latest, Worker};
