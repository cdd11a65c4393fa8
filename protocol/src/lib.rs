//! The vocabulary both sides of the product share: object classes and the shape of
//! per-interval counts. Pure data: no I/O, no clocks, no sockets.
//!
//! The MQTT topic tree and versioned envelopes (schema_version, agent_id, epoch, seq)
//! are added here by the data-path work; everything in this crate is what an edge
//! agent and central must agree on byte for byte.

pub mod class;
pub mod counts;

pub use class::{ObjectClass, VehicleClass};
pub use counts::{ClassCounts, DirectionCounts, IntervalCounts, MovementCount, ZoneStats};
