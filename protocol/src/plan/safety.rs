//! The safety validator. Central runs it before publishing a plan, the junction before
//! applying one; a plan with any violation is refused whole.
//!
//! Two layers: the plan's own numbers against the junction's rules (minimums, yellow
//! 3–6 s, all-red, pedestrian times, cycle arithmetic), and then the expanded
//! [`Timeline`], which is what the lamps would show: no conflicting pair green or yellow
//! at the same moment, no vehicle movement green or yellow across a crossing while it
//! walks or clears, every green run at least the minimum, every yellow within bounds,
//! and at least the all-red clearance between one movement's yellow and a conflicting
//! movement's green.

use std::collections::BTreeSet;

use super::timeline::{Signal, Timeline};
use super::types::{JunctionRules, TimingPlan};

/// Absolute yellow bounds, whatever a profile says.
pub const YELLOW_MIN_MS: u32 = 3_000;
pub const YELLOW_MAX_MS: u32 = 6_000;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Violation {
    #[error("plan is for junction {got:?}, this is {want:?}")]
    WrongJunction { want: String, got: String },
    #[error("plan was made for rules {got:?}, the junction has {want:?}")]
    WrongRules { want: String, got: String },
    #[error("valid_from must be before valid_until")]
    EmptyValidity,
    #[error("a plan needs at least one stage")]
    NoStages,
    #[error("stage {}: movement {movement:?} is not one of this junction's", .stage + 1)]
    UnknownMovement { stage: usize, movement: String },
    #[error("stage {}: crossing {crossing:?} is not one of this junction's", .stage + 1)]
    UnknownCrossing { stage: usize, crossing: String },
    #[error("stage {}: no movement gets green", .stage + 1)]
    EmptyStage { stage: usize },
    #[error(
        "stage {}: {} of {} is outside what this junction allows ({})",
        .stage + 1,
        timing_name(what),
        seconds(*value as u64),
        allowed(*min as u64, *max as u64)
    )]
    OutOfRange { stage: usize, what: &'static str, value: u32, min: u32, max: u32 },
    #[error(
        "stage {}: pedestrian walk and clearance ({}) do not fit in its {} green",
        .stage + 1,
        seconds(*need),
        seconds(*green as u64)
    )]
    PedestrianDoesNotFit { stage: usize, need: u64, green: u32 },
    #[error("the cycle is declared as {} but its stages add up to {}", seconds(*declared as u64), seconds(*actual))]
    CycleMismatch { declared: u32, actual: u64 },
    #[error("a {} cycle is longer than this junction's maximum of {}", seconds(*cycle), seconds(*max as u64))]
    CycleTooLong { cycle: u64, max: u32 },
    #[error("the offset of {} is not within the {} cycle", seconds(*offset as u64), seconds(*cycle as u64))]
    OffsetOutOfCycle { offset: u32, cycle: u32 },
    #[error("{a} and {b} conflict but would both move {} into the cycle", seconds(*at_ms))]
    ConflictingMovements { a: String, b: String, at_ms: u64 },
    #[error(
        "{movement} would move across crossing {crossing} while pedestrians are on it, {} into the cycle",
        seconds(*at_ms)
    )]
    PedestrianConflict { movement: String, crossing: String, at_ms: u64 },
    #[error("{head}: {signal} would last {}, allowed {}", seconds(*ms), allowed(*min, *max))]
    RunOutOfRange { head: String, signal: &'static str, ms: u64, min: u64, max: u64 },
    #[error(
        "{to} would turn green {} after {from}'s yellow ends; the all-red clearance is {}",
        seconds(*gap_ms),
        seconds(*min_ms as u64)
    )]
    ClearanceTooShort { from: String, to: String, gap_ms: u64, min_ms: u32 },
}

/// How a timing field is said to a person.
fn timing_name(field: &str) -> &str {
    match field {
        "min_green_ms" => "the minimum green",
        "max_green_ms" => "the maximum green",
        "green_ms" => "a green",
        "yellow_ms" => "a yellow",
        "all_red_ms" => "an all-red",
        "walk_ms" => "a pedestrian walk",
        "clearance_ms" => "a pedestrian clearance",
        other => other,
    }
}

/// Milliseconds as seconds, the unit signal engineers use ("7 s", "3.5 s").
fn seconds(ms: u64) -> String {
    if ms.is_multiple_of(1000) { format!("{} s", ms / 1000) } else { format!("{:.1} s", ms as f64 / 1000.0) }
}

/// An allowed range; an upper bound of `u32::MAX` or more means none.
fn allowed(min: u64, max: u64) -> String {
    if max >= u32::MAX as u64 {
        format!("at least {}", seconds(min))
    } else {
        format!("{} to {}", seconds(min), seconds(max))
    }
}

impl Violation {
    /// Short reason code for acks and metrics.
    pub fn code(&self) -> &'static str {
        match self {
            Violation::WrongJunction { .. } => "wrong_junction",
            Violation::WrongRules { .. } => "wrong_rules",
            Violation::EmptyValidity => "empty_validity",
            Violation::NoStages => "no_stages",
            Violation::UnknownMovement { .. } => "unknown_movement",
            Violation::UnknownCrossing { .. } => "unknown_crossing",
            Violation::EmptyStage { .. } => "empty_stage",
            Violation::OutOfRange { .. } => "out_of_range",
            Violation::PedestrianDoesNotFit { .. } => "pedestrian_does_not_fit",
            Violation::CycleMismatch { .. } => "cycle_mismatch",
            Violation::CycleTooLong { .. } => "cycle_too_long",
            Violation::OffsetOutOfCycle { .. } => "offset_out_of_cycle",
            Violation::ConflictingMovements { .. } => "conflicting_movements",
            Violation::PedestrianConflict { .. } => "pedestrian_conflict",
            Violation::RunOutOfRange { .. } => "run_out_of_range",
            Violation::ClearanceTooShort { .. } => "clearance_too_short",
        }
    }
}

/// Every violation of `plan` against `rules`; empty means safe to run.
pub fn validate(plan: &TimingPlan, rules: &JunctionRules) -> Result<(), Vec<Violation>> {
    let mut bad = Vec::new();
    check_numbers(plan, rules, &mut bad);
    // The timeline is only meaningful for a plan whose parts are known and whose stages
    // have their minimum lengths; otherwise the number checks already refused it.
    if bad.is_empty() {
        check_timeline(plan, rules, &mut bad);
    }
    if bad.is_empty() { Ok(()) } else { Err(bad) }
}

fn check_numbers(plan: &TimingPlan, rules: &JunctionRules, bad: &mut Vec<Violation>) {
    if plan.junction_id != rules.junction_id {
        bad.push(Violation::WrongJunction { want: rules.junction_id.clone(), got: plan.junction_id.clone() });
    }
    if plan.rules_id != rules.rules_id {
        bad.push(Violation::WrongRules { want: rules.rules_id.clone(), got: plan.rules_id.clone() });
    }
    if plan.valid_from_ms >= plan.valid_until_ms {
        bad.push(Violation::EmptyValidity);
    }
    if plan.stages.is_empty() {
        bad.push(Violation::NoStages);
    }
    let yellow_min = rules.min_yellow_ms.max(YELLOW_MIN_MS);
    let yellow_max = rules.max_yellow_ms.min(YELLOW_MAX_MS);
    for (i, s) in plan.stages.iter().enumerate() {
        let mut seen = BTreeSet::new();
        if s.movements.is_empty() {
            bad.push(Violation::EmptyStage { stage: i });
        }
        for m in &s.movements {
            if !rules.movements.contains(m) || !seen.insert(m) {
                bad.push(Violation::UnknownMovement { stage: i, movement: m.clone() });
            }
        }
        range(bad, i, "min_green_ms", s.min_green_ms, rules.min_green_ms, rules.max_green_ms);
        range(bad, i, "max_green_ms", s.max_green_ms, s.min_green_ms.max(rules.min_green_ms), rules.max_green_ms);
        range(
            bad,
            i,
            "green_ms",
            s.green_ms,
            s.min_green_ms.max(rules.min_green_ms),
            s.max_green_ms.min(rules.max_green_ms),
        );
        range(bad, i, "yellow_ms", s.yellow_ms, yellow_min, yellow_max);
        range(bad, i, "all_red_ms", s.all_red_ms, rules.min_all_red_ms, u32::MAX);
        if let Some(p) = &s.pedestrian {
            for c in &p.crossings {
                match rules.crossings.iter().find(|r| &r.id == c) {
                    None => bad.push(Violation::UnknownCrossing { stage: i, crossing: c.clone() }),
                    Some(r) => {
                        range(bad, i, "walk_ms", p.walk_ms, r.min_walk_ms, u32::MAX);
                        range(bad, i, "clearance_ms", p.clearance_ms, r.min_clearance_ms, u32::MAX);
                    }
                }
            }
            let need = p.walk_ms as u64 + p.clearance_ms as u64;
            if need > s.green_ms as u64 {
                bad.push(Violation::PedestrianDoesNotFit { stage: i, need, green: s.green_ms });
            }
        }
    }
    let actual: u64 = plan.stages.iter().map(|s| s.length_ms()).sum();
    if actual != plan.cycle_ms as u64 {
        bad.push(Violation::CycleMismatch { declared: plan.cycle_ms, actual });
    }
    if actual > rules.max_cycle_ms as u64 {
        bad.push(Violation::CycleTooLong { cycle: actual, max: rules.max_cycle_ms });
    }
    if plan.offset_ms >= plan.cycle_ms.max(1) {
        bad.push(Violation::OffsetOutOfCycle { offset: plan.offset_ms, cycle: plan.cycle_ms });
    }
}

fn check_timeline(plan: &TimingPlan, rules: &JunctionRules, bad: &mut Vec<Violation>) {
    let crossings: Vec<String> = rules.crossings.iter().map(|c| c.id.clone()).collect();
    let t = Timeline::build(plan, &rules.movements, &crossings);
    let moving =
        |head: &str| t.spans(head).iter().filter(|s| s.signal.vehicles_may_enter()).copied().collect::<Vec<_>>();
    for (a, b) in &rules.conflicts {
        if let Some(at_ms) = first_overlap(&moving(a), &moving(b)) {
            bad.push(Violation::ConflictingMovements { a: a.clone(), b: b.clone(), at_ms });
        }
    }
    for c in &rules.crossings {
        let on_crossing: Vec<_> =
            t.spans(&c.id).iter().filter(|s| s.signal.pedestrians_on_crossing()).copied().collect();
        for m in &c.conflicting_movements {
            if let Some(at_ms) = first_overlap(&moving(m), &on_crossing) {
                bad.push(Violation::PedestrianConflict { movement: m.clone(), crossing: c.id.clone(), at_ms });
            }
        }
    }
    let yellow_min = rules.min_yellow_ms.max(YELLOW_MIN_MS) as u64;
    let yellow_max = rules.max_yellow_ms.min(YELLOW_MAX_MS) as u64;
    for m in &rules.movements {
        for run in t.runs(m) {
            let ms = run.end - run.start;
            let (signal, min, max) = match run.signal {
                Signal::Green => ("green", rules.min_green_ms as u64, u64::MAX),
                Signal::Yellow => ("yellow", yellow_min, yellow_max),
                _ => continue,
            };
            if ms < min || ms > max {
                bad.push(Violation::RunOutOfRange { head: m.clone(), signal, ms, min, max });
            }
        }
    }
    // All-red clearance: from the end of a movement's yellow to the next green of any
    // movement that conflicts with it.
    for (a, b) in rules.conflicts.iter().flat_map(|(a, b)| [(a, b), (b, a)]) {
        let greens: Vec<u64> =
            t.runs(b).iter().filter(|r| r.signal == Signal::Green).map(|r| r.start % t.cycle_ms).collect();
        for y in t.runs(a).iter().filter(|r| r.signal == Signal::Yellow) {
            let end = y.end % t.cycle_ms;
            if let Some(gap_ms) = greens.iter().map(|g| (g + t.cycle_ms - end) % t.cycle_ms).min()
                && gap_ms < rules.min_all_red_ms as u64
            {
                bad.push(Violation::ClearanceTooShort {
                    from: a.clone(),
                    to: b.clone(),
                    gap_ms,
                    min_ms: rules.min_all_red_ms,
                });
            }
        }
    }
}

fn range(bad: &mut Vec<Violation>, stage: usize, what: &'static str, value: u32, min: u32, max: u32) {
    if value < min || value > max {
        bad.push(Violation::OutOfRange { stage, what, value, min, max });
    }
}

/// First moment two sets of spans (within one cycle) overlap.
fn first_overlap(a: &[super::timeline::Span], b: &[super::timeline::Span]) -> Option<u64> {
    a.iter()
        .flat_map(|x| b.iter().map(move |y| (x, y)))
        .filter(|(x, y)| x.start < y.end && y.start < x.end)
        .map(|(x, y)| x.start.max(y.start))
        .min()
}
