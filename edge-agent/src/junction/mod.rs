//! The junction role of the edge agent: receives central's timing plans, checks and
//! applies them to the signal controller through a driver chosen by the controller
//! profile, acknowledges each, reports what runs, and falls back to the local plan when
//! central goes silent.
//!
//! `controller` (pure state machine) → `driver` (lamps to hardware or simulator) ←
//! `run` (MQTT: plans in, acks and status out; the clock).

pub mod actuation;
pub mod controller;
pub mod driver;
pub mod guard;
pub mod ntcip;
pub mod presence;
pub mod run;
pub mod sumo;
pub mod traci;

pub use actuation::{Actuation, Presence};
pub use controller::{Controller, Lamps, Running, Source};

#[cfg(test)]
mod controller_tests;
#[cfg(test)]
mod guard_tests;
#[cfg(test)]
mod regression_tests;
