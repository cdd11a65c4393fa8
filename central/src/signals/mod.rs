//! Signal retiming in central: demand → Webster splits (`webster`) → smoothed,
//! coordinated plans, each kept only if its predicted delay (`delay`) is no worse than
//! the junction's local plan's, validated and signed (`retimer`) → MQTT, and the junctions' acks and
//! status back (`worker`); `[signals]` config in `settings`.

pub mod delay;
pub mod retimer;
pub mod settings;
pub mod webster;
pub mod worker;

pub use retimer::{Corridor, RetimeError, RetimeSettings, Retimer};
pub use settings::SignalSettings;
pub use worker::{JunctionView, Junctions, SignalWorker, SignalsCommand};
