//! Signal retiming in central: demand → Webster splits (`webster`) → smoothed,
//! coordinated, validated, signed plans (`retimer`) → MQTT, and the junctions' acks and
//! status back (`worker`); `[signals]` config in `settings`.

pub mod retimer;
pub mod settings;
pub mod webster;
pub mod worker;

pub use retimer::{Corridor, RetimeError, RetimeSettings, Retimer};
pub use settings::SignalSettings;
pub use worker::{JunctionView, Junctions, SignalWorker};
