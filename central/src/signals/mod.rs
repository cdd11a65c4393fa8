//! Signal retiming in central: demand → Webster splits (`webster`) → smoothed,
//! coordinated, validated, signed plans (`retimer`).

pub mod retimer;
pub mod webster;

pub use retimer::{Corridor, RetimeError, RetimeSettings, Retimer};
