//! Changing from the running plan to a new one. The change happens only at the end of a
//! stage of the running plan: its green runs at least to its minimum, then the movements
//! that do not continue into the new plan's entry stage show their full yellow and the
//! all-red (the longer of the two plans' clearance for that change), and only then does
//! the new plan's entry stage start, with its full green. Nothing is cut short.
//!
//! A new plan with the running plan's stage sequence (the same movements, yellows,
//! all-reds and pedestrian crossings in the same order: every retiming central makes
//! of a junction's template) needs no change at all: its timings take effect in the
//! running stage (`same_sequence`). Forcing a stage change at every retiming would
//! re-serve whatever the entry rule picks each time plans arrive, however often that is.

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

/// Whether `b` runs the same stage sequence as `a` (only greens, their limits, the
/// cycle and the offset differ), so it can take over in the running stage.
pub fn same_sequence(a: &TimingPlan, b: &TimingPlan) -> bool {
    a.junction_id == b.junction_id
        && a.rules_id == b.rules_id
        && a.stages.len() == b.stages.len()
        && a.stages.iter().zip(&b.stages).all(|(x, y)| {
            x.movements == y.movements
                && x.yellow_ms == y.yellow_ms
                && x.all_red_ms == y.all_red_ms
                && x.pedestrian.as_ref().map(|p| &p.crossings) == y.pedestrian.as_ref().map(|p| &p.crossings)
        })
}

/// The change from `running.stages[stage]`, whose green has run for `green_elapsed_ms`
/// (`None` once its green is over and it is in yellow or all-red: then the stage just
/// finishes), into `next`.
///
/// The entry stage moves the sequence on: it is the new plan's stage that best serves
/// the movements the running plan would release next — the first later stage of the
/// running plan that releases any movement not green now, matched by those movements
/// (then by all its movements; ties to the lowest index). A stage that only holds
/// movements already green now (a protected turn inside a wider stage) is passed over,
/// so a plan change never re-serves the running stage's movements at the expense of
/// the others, however often plans change.
pub fn plan_change(running: &TimingPlan, stage: usize, green_elapsed_ms: Option<u32>, next: &TimingPlan) -> Change {
    let current: &Stage = &running.stages[stage];
    let n = running.stages.len();
    let following = (1..=n)
        .map(|k| &running.stages[(stage + k) % n])
        .find(|s| s.movements.iter().any(|m| !current.movements.contains(m)))
        .unwrap_or(&running.stages[(stage + 1) % n]);
    let released = |j: usize| {
        next.stages[j]
            .movements
            .iter()
            .filter(|m| following.movements.contains(m) && !current.movements.contains(m))
            .count()
    };
    let overlap = |j: usize| next.stages[j].movements.iter().filter(|m| following.movements.contains(m)).count();
    let entry_stage = (0..next.stages.len()).max_by_key(|&j| (released(j), overlap(j), usize::MAX - j)).unwrap_or(0);
    let entry = &next.stages[entry_stage];
    let hold_green_ms = green_elapsed_ms.map_or(0, |e| current.min_green_ms.saturating_sub(e));
    Change {
        hold_green_ms,
        yellow_ms: current.yellow_ms,
        all_red_ms: current.all_red_ms.max(entry.all_red_ms),
        entry_stage,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(stages: &[&[&str]]) -> TimingPlan {
        TimingPlan {
            junction_id: "j".into(),
            plan_id: "p".into(),
            version: 1,
            valid_from_ms: 0,
            valid_until_ms: i64::MAX,
            cycle_ms: 0,
            offset_ms: 0,
            stages: stages
                .iter()
                .map(|m| Stage {
                    movements: m.iter().map(|s| s.to_string()).collect(),
                    green_ms: 20_000,
                    min_green_ms: 5_000,
                    max_green_ms: 60_000,
                    yellow_ms: 3_000,
                    all_red_ms: 2_000,
                    pedestrian: None,
                })
                .collect(),
            rules_id: "j@1".into(),
        }
    }

    /// Regression (ingolstadt1): stage 1 only holds a protected turn already green in
    /// stage 0. The old rule matched the new plan's stage to the running plan's next
    /// stage by overlap, picked stage 0 again (a superset, lowest index), and with plans
    /// arriving every minute stage 2 was never served.
    #[test]
    fn a_plan_change_moves_on_past_a_stage_already_green() {
        let a = plan(&[&["t", "l"], &["l"], &["x"]]);
        let mut b = a.clone();
        b.stages[0].green_ms = 30_000;
        assert_eq!(plan_change(&a, 0, Some(10_000), &b).entry_stage, 2);
        assert_eq!(plan_change(&a, 2, Some(10_000), &b).entry_stage, 0);
        assert!(same_sequence(&a, &b), "greens alone differ: taken over in place");
        let mut c = a.clone();
        c.stages[1].yellow_ms = 4_000;
        assert!(!same_sequence(&a, &c));
    }
}
