//! Plan and junction-rule types. Field order is the canonical order (see `signing`).

use serde::{Deserialize, Serialize};

/// Pedestrian timing served within a stage.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PedestrianTiming {
    /// Crossings (from the junction's rules) that walk in this stage.
    pub crossings: Vec<String>,
    pub walk_ms: u32,
    /// Flashing "don't walk" after the walk.
    pub clearance_ms: u32,
}

/// One stage (phase) of a cycle: its movements are green together for `green_ms`, then
/// the movements that do not continue into the next stage show yellow, then every
/// movement that changes is red for `all_red_ms` before the next stage's green.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Stage {
    pub movements: Vec<String>,
    pub green_ms: u32,
    pub min_green_ms: u32,
    pub max_green_ms: u32,
    pub yellow_ms: u32,
    pub all_red_ms: u32,
    pub pedestrian: Option<PedestrianTiming>,
}

impl Stage {
    pub fn length_ms(&self) -> u64 {
        self.green_ms as u64 + self.yellow_ms as u64 + self.all_red_ms as u64
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TimingPlan {
    pub junction_id: String,
    pub plan_id: String,
    /// Strictly increasing per junction; a junction refuses a version it has already passed.
    pub version: u64,
    pub valid_from_ms: i64,
    pub valid_until_ms: i64,
    /// Must equal the sum of the stages' green + yellow + all-red.
    pub cycle_ms: u32,
    /// Start of stage 0 relative to the coordination reference (cycle start at Unix
    /// time 0 + offset), for green waves along a corridor.
    pub offset_ms: u32,
    pub stages: Vec<Stage>,
    /// Id of the junction rules (conflict matrix and limits) this plan was made for.
    pub rules_id: String,
}

/// What a plan must respect at one junction; from its firmware profile.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct JunctionRules {
    pub junction_id: String,
    /// Changes whenever the geometry or limits change (e.g. a hash of the profile).
    pub rules_id: String,
    pub movements: Vec<String>,
    /// Pairs of movements that must never be green or yellow together (symmetric).
    pub conflicts: Vec<(String, String)>,
    pub min_green_ms: u32,
    pub max_green_ms: u32,
    pub min_yellow_ms: u32,
    pub max_yellow_ms: u32,
    pub min_all_red_ms: u32,
    pub max_cycle_ms: u32,
    /// Pedestrian crossings with their minimum walk and clearance.
    pub crossings: Vec<CrossingRule>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CrossingRule {
    pub id: String,
    pub min_walk_ms: u32,
    /// Crossing length / walking speed.
    pub min_clearance_ms: u32,
    /// Vehicle movements that cross this crosswalk: never green while it walks or clears.
    pub conflicting_movements: Vec<String>,
}

impl JunctionRules {
    pub fn conflict(&self, a: &str, b: &str) -> bool {
        self.conflicts.iter().any(|(x, y)| (x == a && y == b) || (x == b && y == a))
    }
}

/// `tac/v1/junctions/{id}/plan`: a plan with central's signature over its canonical bytes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SignedPlan {
    pub plan: TimingPlan,
    /// Which of the junction's trusted keys signed it.
    pub key_id: String,
    /// Base64 (standard, padded) ed25519 signature.
    pub signature: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum PlanOutcome {
    Accepted,
    Rejected,
}

/// `tac/v1/junctions/{id}/plan/ack`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PlanAck {
    pub junction_id: String,
    pub plan_id: String,
    pub version: u64,
    pub outcome: PlanOutcome,
    /// Reason code (`bad_signature`, `expired`, `replayed`, `unsafe:<violation>`, …).
    pub reason: Option<String>,
    pub detail: Option<String>,
}

/// Where the plan a junction runs came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum PlanSource {
    /// A plan central signed (computed, or an operator override).
    Central,
    /// The junction's own time-of-day plan (central silent, or no plan yet).
    Local,
}

/// `plan_id` of a plan central computed.
pub const CENTRAL_PLAN_ID: &str = "central";
/// `plan_id` of an operator override (central signs it like any plan).
pub const OVERRIDE_PLAN_ID: &str = "operator-override";

/// `tac/v1/junctions/{id}/status` (retained): what the junction runs now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct JunctionStatus {
    pub junction_id: String,
    pub plan_id: String,
    pub version: u64,
    /// `central` or `local` (the fallback time-of-day plan).
    pub source: PlanSource,
    pub stage: usize,
    pub cycle_ms: u32,
    pub greens_ms: Vec<u32>,
    pub offset_ms: u32,
    /// Movement → `G`, `Y` or `R`.
    pub lamps: std::collections::BTreeMap<String, String>,
    /// When the last valid plan from central arrived (ms since the Unix epoch).
    pub last_central_ms: Option<i64>,
}
