//! Local actuation inside central's plan (SCATS / NTCIP actuated style), from what the
//! junction's own camera sees each second: a green ends early when its traffic has
//! gapped out and another stage is waiting, a stage nobody waits for is skipped, and a
//! green with no one else waiting rests. Central's plan stays the envelope: no green
//! ends before its minimum, none runs past central's split (or, with `extend`, the
//! stage's maximum) while another stage waits, and every change still goes through the
//! plan's full yellow and all-red.
//!
//! Pure: the controller asks; time and presence are passed in.

use protocol::plan::{Stage, TimingPlan};

/// What the camera sees now, per movement (profile order).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Presence {
    /// Vehicles standing in the movement's queue.
    pub queued: Vec<u32>,
    /// Time since traffic last moved in the movement's detection zone: a vehicle entered
    /// it or its standing queue shrank (a vehicle standing in the zone is no movement).
    pub gap_ms: Vec<u32>,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Actuation {
    /// A stage whose movements have all been free of arrivals this long has gapped out.
    pub gap_out_ms: u32,
    /// While another stage waits, hold a flowing green up to the stage's maximum (SCATS /
    /// NTCIP actuated) rather than ending it at central's split.
    pub extend: bool,
}

impl Default for Actuation {
    fn default() -> Self {
        Actuation { gap_out_ms: 3_000, extend: true }
    }
}

impl Presence {
    fn flowing(&self, m: usize, a: &Actuation) -> bool {
        self.gap_ms.get(m).is_some_and(|g| *g < a.gap_out_ms)
    }

    /// Vehicles stand in the movement's queue and none has arrived within the gap-out time.
    fn blocked(&self, m: usize, a: &Actuation) -> bool {
        self.queued.get(m).is_some_and(|q| *q > 0) && !self.flowing(m, a)
    }

    /// A vehicle stands in the movement's queue or arrived within the gap-out time.
    pub fn waiting(&self, m: usize, a: &Actuation) -> bool {
        self.queued.get(m).is_some_and(|q| *q > 0) || self.flowing(m, a)
    }
}

/// Movement indices (profile order) of a stage.
fn indices<'a>(stage: &'a Stage, movements: &'a [String]) -> impl Iterator<Item = usize> + 'a {
    stage.movements.iter().filter_map(|m| movements.iter().position(|x| x == m))
}

/// The next stage to serve after `current`, in the plan's order, skipping stages no one
/// waits for; `None` when no other stage is called (the green rests). A stage with a
/// pedestrian walk is always called: the camera cannot see a push button.
///
/// A movement green now calls a later stage that also serves it only while its vehicles
/// stand without arrivals (blocked under this green: a left turn waiting for a gap in
/// the oncoming flow calls its protected stage); one that flows is no reason to change.
pub fn next_called(
    plan: &TimingPlan,
    current: usize,
    movements: &[String],
    p: &Presence,
    a: &Actuation,
) -> Option<usize> {
    let n = plan.stages.len();
    let serving: Vec<usize> = indices(&plan.stages[current], movements).collect();
    (1..n).map(|k| (current + k) % n).find(|&k| {
        let stage = &plan.stages[k];
        stage.pedestrian.is_some()
            || indices(stage, movements).any(|m| if serving.contains(&m) { p.blocked(m, a) } else { p.waiting(m, a) })
    })
}

/// Whether any movement of stage `current` still flows (traffic moved within the gap-out).
pub fn stage_flowing(plan: &TimingPlan, current: usize, movements: &[String], p: &Presence, a: &Actuation) -> bool {
    indices(&plan.stages[current], movements).any(|m| p.flowing(m, a))
}

/// Whether the green of stage `current`, `elapsed_ms` old, should end now.
pub fn green_ends(
    plan: &TimingPlan,
    current: usize,
    elapsed_ms: i64,
    movements: &[String],
    p: &Presence,
    a: &Actuation,
) -> bool {
    let stage = &plan.stages[current];
    if elapsed_ms < stage.min_green_ms as i64 || next_called(plan, current, movements, p, a).is_none() {
        return false;
    }
    let limit = if a.extend { stage.max_green_ms.max(stage.green_ms) } else { stage.green_ms };
    !stage_flowing(plan, current, movements, p, a) || elapsed_ms >= limit as i64
}
