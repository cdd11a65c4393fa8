//! The vocabulary both sides of the product share: object classes and the shape of
//! per-interval counts. Pure data: no I/O, no clocks, no sockets.
//!
//! Also the MQTT topic tree (`topics`) and the versioned messages (`messages`): every
//! message carries schema_version, agent_id, epoch and seq. Everything in this crate is
//! what an edge agent and central must agree on byte for byte.
//!
//! `calibration` is the one fit of a camera's surveyed points to the road plane: the
//! agent measures speeds with it, and central refuses a calibration that does not fit
//! before it is ever pushed (the same rule, the same words).

pub mod calibration;
pub mod camera_config;
pub mod class;
mod compat;
pub mod counts;
pub mod forecast;
pub mod messages;
pub mod plan;
pub mod snapshot;
pub mod topics;

pub use class::{ObjectClass, VehicleClass};
pub use counts::{ClassCounts, DirectionCounts, IntervalCounts, LineSpeeds, MovementCount, SpeedStats, ZoneStats};
