//! The junction agent (its own crate and binary, so a camera box carries no SNMP or
//! TraCI code): receives central's timing plans, checks and applies them to the signal
//! controller through a driver chosen by the controller profile, acknowledges each,
//! reports what runs, and falls back to the local plan when central goes silent.
//!
//! `controller` (pure state machine) → `driver` (lamps to hardware or simulator) ←
//! `run` (MQTT: plans in, acks and status out; the clock). `guard` (starvation bound),
//! `actuation` and `presence` (gap-out from the cameras' live zone occupancy), `ntcip`
//! (NTCIP 1202 over SNMP), `traci` and `sumo` (the simulator driver).

pub mod actuation;
pub mod controller;
pub mod driver;
pub mod driver_choice;
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
