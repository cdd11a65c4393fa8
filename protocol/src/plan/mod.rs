//! Signal timing plans: what central sends a junction (`tac/v1/junctions/{id}/plan`),
//! the junction's rules they must respect, the safety validator both sides run, and the
//! ed25519 signatures that make a plan central's and no one else's.
//!
//! - `types`: plan, stage, junction rules, acks. All durations are integer milliseconds,
//!   so the canonical encoding (what is signed) is exact.
//! - `timeline`: expands a plan into each movement's green / yellow / red intervals over
//!   one cycle; the validator and the simulation harness judge that, not the plan's
//!   own arithmetic.
//! - `safety`: the validator (pure; every violation reported, each with a reason code).
//! - `transition`: moving from a running plan to a new one without cutting any interval
//!   below its minimum.
//! - `monitor`: judges the lamps a junction actually shows, sample by sample.
//! - `signing`: canonical encoding, signing, and the junction-side acceptance check
//!   (signature, key, validity window, replay, safety).

pub mod monitor;
pub mod safety;
pub mod signing;
pub mod timeline;
pub mod transition;
pub mod types;

pub use monitor::{Breach, Monitor};
pub use safety::{Violation, validate};
pub use signing::{PlanKeys, Rejection, accept, canonical_bytes, decode, sign};
pub use timeline::{Signal, Timeline};
pub use types::{
    CENTRAL_PLAN_ID, JunctionRules, JunctionStatus, OVERRIDE_PLAN_ID, PedestrianTiming, PlanAck, PlanOutcome,
    PlanSource, SignedPlan, Stage, TimingPlan,
};
