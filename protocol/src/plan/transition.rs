//! Changing from the running plan to a new one. The change happens only at the end of a
//! stage of the running plan: its green runs at least to its minimum, then the movements
//! that do not continue into the new plan's entry stage show their full yellow and the
//! all-red (the longer of the two plans' clearance for that change), and only then does
//! the new plan's entry stage start, with its full green. Nothing is cut short.

use super::types::{Stage, TimingPlan};

/// How the running stage ends before the new plan starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Change {
    /// Further green of the running stage from now (0 if it has had its minimum).
    pub hold_green_ms: u32,
    pub yellow_ms: u32,
    pub all_red_ms: u32,
    /// Stage of the new plan that starts after the all-red.
    pub entry_stage: usize,
}

/// The change from `running.stages[stage]`, whose green has run for `green_elapsed_ms`
/// (`None` once its green is over and it is in yellow or all-red: then the stage just
/// finishes), into `next`. The entry stage is the new plan's stage that best matches
/// the stage the running plan would have served next (ties to the lowest index), so the
/// sequence moves on: a plan change never re-serves the running stage's movements at
/// the expense of the others, however often plans change.
pub fn plan_change(running: &TimingPlan, stage: usize, green_elapsed_ms: Option<u32>, next: &TimingPlan) -> Change {
    let current: &Stage = &running.stages[stage];
    let following = &running.stages[(stage + 1) % running.stages.len()];
    let overlap = |j: usize| next.stages[j].movements.iter().filter(|m| following.movements.contains(m)).count();
    let entry_stage = (0..next.stages.len()).max_by_key(|&j| (overlap(j), usize::MAX - j)).unwrap_or(0);
    let entry = &next.stages[entry_stage];
    let hold_green_ms = green_elapsed_ms.map_or(0, |e| current.min_green_ms.saturating_sub(e));
    Change { hold_green_ms, yellow_ms: current.yellow_ms, all_red_ms: current.all_red_ms.max(entry.all_red_ms), entry_stage }
}
