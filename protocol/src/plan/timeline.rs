//! A plan expanded into what each signal head shows over one cycle, starting at stage 0's
//! green (time 0). Vehicle movements: a movement in stage `i` turns yellow at the end of
//! `i`'s green unless it is also in the next stage, in which case it stays green through
//! the change; movements new in the next stage turn green only when that stage starts
//! (after the yellow and all-red). Crossings walk from the start of their stage's green,
//! then clear, then show don't-walk.

use super::types::TimingPlan;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signal {
    Green,
    Yellow,
    Red,
    Walk,
    PedClear,
    DontWalk,
}

impl Signal {
    /// Vehicles may be moving through the conflict area.
    pub fn vehicles_may_enter(self) -> bool {
        matches!(self, Signal::Green | Signal::Yellow)
    }

    pub fn pedestrians_on_crossing(self) -> bool {
        matches!(self, Signal::Walk | Signal::PedClear)
    }
}

/// `[start, end)` in ms from the cycle start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Span {
    pub start: u64,
    pub end: u64,
    pub signal: Signal,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Timeline {
    pub cycle_ms: u64,
    /// Per signal head (movement or crossing id): its spans, in order, covering the cycle.
    pub heads: Vec<(String, Vec<Span>)>,
}

impl Timeline {
    pub fn build(plan: &TimingPlan, movements: &[String], crossings: &[String]) -> Timeline {
        let n = plan.stages.len();
        let mut starts = Vec::with_capacity(n);
        let mut t = 0u64;
        for s in &plan.stages {
            starts.push(t);
            t += s.length_ms();
        }
        let cycle = t;
        let mut heads = Vec::new();
        for m in movements {
            let mut spans = Vec::new();
            for (i, stage) in plan.stages.iter().enumerate() {
                let next = &plan.stages[(i + 1) % n];
                let in_this = stage.movements.contains(m);
                let green_end = starts[i] + stage.green_ms as u64;
                let stage_end = starts[i] + stage.length_ms();
                if in_this {
                    push(&mut spans, starts[i], green_end, Signal::Green);
                    if next.movements.contains(m) {
                        push(&mut spans, green_end, stage_end, Signal::Green);
                    } else {
                        push(&mut spans, green_end, green_end + stage.yellow_ms as u64, Signal::Yellow);
                        push(&mut spans, green_end + stage.yellow_ms as u64, stage_end, Signal::Red);
                    }
                } else {
                    push(&mut spans, starts[i], stage_end, Signal::Red);
                }
            }
            heads.push((m.clone(), spans));
        }
        for c in crossings {
            let mut spans = Vec::new();
            for (i, stage) in plan.stages.iter().enumerate() {
                let stage_end = starts[i] + stage.length_ms();
                match stage.pedestrian.as_ref().filter(|p| p.crossings.contains(c)) {
                    Some(p) => {
                        let walk_end = (starts[i] + p.walk_ms as u64).min(stage_end);
                        let clear_end = (walk_end + p.clearance_ms as u64).min(stage_end);
                        push(&mut spans, starts[i], walk_end, Signal::Walk);
                        push(&mut spans, walk_end, clear_end, Signal::PedClear);
                        push(&mut spans, clear_end, stage_end, Signal::DontWalk);
                    }
                    None => push(&mut spans, starts[i], stage_end, Signal::DontWalk),
                }
            }
            heads.push((c.clone(), spans));
        }
        Timeline { cycle_ms: cycle, heads }
    }

    pub fn spans(&self, head: &str) -> &[Span] {
        self.heads.iter().find(|(h, _)| h == head).map_or(&[], |(_, s)| s)
    }

    /// What `head` shows at `t` ms into the cycle.
    pub fn at(&self, head: &str, t: u64) -> Option<Signal> {
        let t = if self.cycle_ms > 0 { t % self.cycle_ms } else { return None };
        self.spans(head).iter().find(|s| s.start <= t && t < s.end).map(|s| s.signal)
    }

    /// Maximal runs of one signal, merged across the cycle boundary (the cycle repeats).
    pub fn runs(&self, head: &str) -> Vec<Span> {
        let mut runs: Vec<Span> = Vec::new();
        for s in self.spans(head) {
            match runs.last_mut() {
                Some(last) if last.signal == s.signal && last.end == s.start => last.end = s.end,
                _ => runs.push(*s),
            }
        }
        if runs.len() > 1 && runs[0].signal == runs[runs.len() - 1].signal {
            let last = runs.pop().expect("len > 1");
            runs[0].start = last.start;
            runs[0].end += self.cycle_ms; // the merged run wraps: it ends in the next cycle
        }
        runs
    }
}

/// Adds a non-empty span, merging with the previous one when it shows the same signal.
fn push(spans: &mut Vec<Span>, start: u64, end: u64, signal: Signal) {
    if end <= start {
        return;
    }
    match spans.last_mut() {
        Some(last) if last.signal == signal && last.end == start => last.end = end,
        _ => spans.push(Span { start, end, signal }),
    }
}
