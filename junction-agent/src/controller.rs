//! The junction's signal controller logic (pure; time is passed in).
//!
//! It runs one plan at a time, stage by stage: green for the stage's green time, then
//! the change (yellow for the movements that stop, all-red) into the next stage. A new
//! plan from central is checked first (signature, key, expiry, replay, safety: see
//! `protocol::plan::accept`) and then taken over at the earliest safe moment: the
//! running stage finishes at least its minimum green, its stopping movements get their
//! full yellow and the longer all-red of the two plans, and the new plan starts at its
//! entry stage. Nothing is ever cut short.
//!
//! With actuation on (`with_actuation`, `tick_with`), the junction's own camera shortens
//! greens that gapped out, skips stages nobody waits for and rests in green; the plan's
//! minimums, split or maximum and change intervals still bind (see `actuation`).
//!
//! A plan with the running plan's stage sequence (every retiming of the same template)
//! takes effect in the running stage: no stage change is forced when it arrives
//! (`transition::same_sequence`). Only a plan with another sequence is changed into at
//! the end of the running stage.
//!
//! Starvation guard (`guard`): whatever the plan and actuation decide, a movement that
//! has waited `max_wait` (by default the junction's maximum cycle: any valid plan serves
//! every stage within it) is served next: the running green ends at its split (or when
//! it gaps out, after its minimum), so a wait never exceeds `max_wait` plus one cycle.
//!
//! Coordination: a central plan run as timed keeps its cycle on the plan's offset (the
//! first stage's green starts when (time − offset) is a whole number of cycles), each
//! green moved by at most a fifth towards it (`offset_correction`).
//!
//! Fail-safe (NTCIP 1202 backup time): when no valid plan — a new one or central's
//! periodic re-issue — has arrived for `backup_time`, or the running central plan
//! expires, the controller takes over its local time-of-day plan the same safe way,
//! and goes back to central's plans when a valid one arrives.

use firmware_profiles::JunctionProfile;

use super::actuation::{Actuation, Presence, green_ends, next_called, stage_flowing as gap_flowing};
use super::guard::Guard;
use protocol::plan::transition::{plan_change, same_sequence};
use protocol::plan::{JunctionRules, PlanAck, PlanKeys, PlanOutcome, SignedPlan, TimingPlan, accept};

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    Central,
    Local,
}

#[derive(Debug, Clone, PartialEq)]
enum Interval {
    Green,
    /// Yellow then all-red, into `target_stage` of `into` (a new plan, carried here so a
    /// plan arriving meanwhile waits for the next change) or of the running plan.
    /// `red_since`: when the all-red was first shown (each part is timed from when it is
    /// shown, so a late tick never shortens it).
    Change {
        yellow_ms: u32,
        all_red_ms: u32,
        target_stage: usize,
        into: Option<Box<(TimingPlan, Source)>>,
        red_since: Option<i64>,
    },
}

/// What each movement shows: 'G', 'Y' or 'R', in the profile's movement order.
pub type Lamps = Vec<char>;

pub struct Controller {
    profile: JunctionProfile,
    rules: JunctionRules,
    keys: PlanKeys,
    backup_ms: i64,
    plan: TimingPlan,
    source: Source,
    stage: usize,
    interval: Interval,
    interval_start: i64,
    /// Green of the running stage when timed: its split, plus or minus what keeps the
    /// cycle on the plan's offset (coordination).
    timed_green_ms: i64,
    /// Plan to take over at the next safe moment, and its source.
    next: Option<(TimingPlan, Source)>,
    last_version: Option<u64>,
    last_central_ms: Option<i64>,
    /// The signed plan last accepted (a repeat of it is acknowledged again, not replayed).
    last_accepted: Option<SignedPlan>,
    actuation: Option<Actuation>,
    guard: Guard,
}

/// The running state, as reported on the junction's status topic.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Running {
    pub plan_id: String,
    pub version: u64,
    pub source: Source,
    pub stage: usize,
    pub cycle_ms: u32,
    pub greens_ms: Vec<u32>,
    pub offset_ms: u32,
}

impl Controller {
    pub fn new(profile: JunctionProfile, keys: PlanKeys, backup_ms: i64, now_ms: i64, local_minute: u32) -> Controller {
        let rules = profile.rules();
        let plan = profile.local_plan(profile.local_plan_at(local_minute));
        let timed_green_ms = plan.stages[0].green_ms as i64;
        let guard = Guard::new(rules.movements.len(), rules.max_cycle_ms as i64);
        Controller {
            profile,
            rules,
            keys,
            backup_ms,
            plan,
            source: Source::Local,
            stage: 0,
            interval: Interval::Green,
            interval_start: now_ms,
            timed_green_ms,
            next: None,
            last_version: None,
            last_central_ms: None,
            last_accepted: None,
            actuation: None,
            guard,
        }
    }

    /// Sets the starvation guard's bound (default: the junction's maximum cycle); 0
    /// turns it off.
    pub fn with_max_wait(mut self, max_wait_ms: i64) -> Controller {
        self.guard.max_wait_ms = max_wait_ms;
        self
    }

    /// Enables local actuation from camera presence (`tick_with`).
    pub fn with_actuation(mut self, actuation: Actuation) -> Controller {
        self.actuation = Some(actuation);
        self
    }

    pub fn rules(&self) -> &JunctionRules {
        &self.rules
    }

    /// A plan message from central: returns the ack to publish.
    pub fn offer(&mut self, signed: &SignedPlan, now_ms: i64) -> PlanAck {
        let ack = |outcome, reason: Option<String>, detail: Option<String>| PlanAck {
            junction_id: self.rules.junction_id.clone(),
            plan_id: signed.plan.plan_id.clone(),
            version: signed.plan.version,
            outcome,
            reason,
            detail,
        };
        if self.last_accepted.as_ref() == Some(signed) {
            return ack(PlanOutcome::Accepted, None, Some("already running".into()));
        }
        match accept(signed, &self.keys, &self.rules, self.last_version, now_ms) {
            Ok(plan) => {
                self.last_version = Some(plan.version);
                self.last_central_ms = Some(now_ms);
                self.last_accepted = Some(signed.clone());
                // A re-issue of the running plan (same timings) is a heartbeat, not a change.
                let same = self.source == Source::Central && same_timing(&self.plan, plan) && self.next.is_none();
                if same {
                    self.plan = plan.clone();
                } else {
                    self.next = Some((plan.clone(), Source::Central));
                }
                ack(PlanOutcome::Accepted, None, None)
            }
            Err(e) => {
                tracing::warn!(
                    junction = %self.rules.junction_id,
                    plan = %signed.plan.plan_id,
                    version = signed.plan.version,
                    reason = %e.code(),
                    "plan rejected"
                );
                ack(PlanOutcome::Rejected, Some(e.code()), Some(e.to_string()))
            }
        }
    }

    /// Advances to `now_ms` and returns the lamps to show (fixed time within the plan).
    pub fn tick(&mut self, now_ms: i64, local_minute: u32) -> Lamps {
        self.tick_with(now_ms, local_minute, None)
    }

    /// As `tick`, with what the junction's camera sees now: with actuation enabled,
    /// greens gap out, uncalled stages are skipped and greens rest (see `actuation`).
    pub fn tick_with(&mut self, now_ms: i64, local_minute: u32, presence: Option<&Presence>) -> Lamps {
        self.check_fallback(now_ms, local_minute);
        self.adopt_same_sequence();
        // At most one interval ends per tick (the next one starts when it is shown).
        for _ in 0..64 {
            let elapsed = now_ms - self.interval_start;
            let stage = &self.plan.stages[self.stage];
            match &self.interval {
                Interval::Green => {
                    let movements = &self.rules.movements;
                    let starving =
                        self.guard.starving_stage(&self.plan, movements, now_ms).filter(|&s| s != self.stage);
                    // The stage to change into, once the green is due.
                    let due = match (&self.next, starving, presence.zip(self.actuation.as_ref())) {
                        (Some(_), _, _) => (elapsed >= stage.min_green_ms as i64).then_some(0),
                        // A starving movement ends the running green at its split (no extension
                        // past it), or earlier once its traffic has gapped out — never cut to the
                        // minimum while it still discharges: under saturation that would shed
                        // capacity every cycle and feed the very queues the guard is for.
                        (None, Some(starving), seen) => {
                            let gapped =
                                seen.is_some_and(|(p, a)| !gap_flowing(&self.plan, self.stage, movements, p, a));
                            (elapsed >= stage.min_green_ms as i64 && (gapped || elapsed >= stage.green_ms as i64))
                                .then_some(starving)
                        }
                        (None, None, Some((p, a))) => green_ends(&self.plan, self.stage, elapsed, movements, p, a)
                            .then(|| next_called(&self.plan, self.stage, movements, p, a).unwrap_or(self.stage)),
                        (None, None, None) => {
                            (elapsed >= self.timed_green_ms).then_some((self.stage + 1) % self.plan.stages.len())
                        }
                    };
                    let Some(target_stage) = due else { break };
                    // The change starts when it is first shown: a late tick lengthens the
                    // green, it never shortens what follows.
                    self.interval_start = now_ms;
                    self.interval = match self.next.take() {
                        Some((next, source)) => {
                            let c = plan_change(&self.plan, self.stage, None, &next);
                            Interval::Change {
                                yellow_ms: c.yellow_ms,
                                all_red_ms: c.all_red_ms,
                                target_stage: c.entry_stage,
                                into: Some(Box::new((next, source))),
                                red_since: None,
                            }
                        }
                        None => Interval::Change {
                            yellow_ms: stage.yellow_ms,
                            all_red_ms: stage.all_red_ms,
                            target_stage,
                            into: None,
                            red_since: None,
                        },
                    };
                }
                Interval::Change { yellow_ms, all_red_ms, target_stage, red_since, .. } => {
                    let (yellow_ms, all_red_ms, target_stage, red_since) =
                        (*yellow_ms, *all_red_ms, *target_stage, *red_since);
                    let red_from = match red_since {
                        Some(t) => t,
                        None if elapsed >= yellow_ms as i64 => {
                            if let Interval::Change { red_since, .. } = &mut self.interval {
                                *red_since = Some(now_ms);
                            }
                            now_ms
                        }
                        None => break,
                    };
                    if now_ms - red_from < all_red_ms as i64 {
                        break;
                    }
                    self.interval_start = now_ms;
                    if let Interval::Change { into: Some(into), .. } =
                        std::mem::replace(&mut self.interval, Interval::Green)
                    {
                        let (plan, source) = *into;
                        tracing::info!(
                            junction = %self.rules.junction_id,
                            plan = %plan.plan_id,
                            version = plan.version,
                            ?source,
                            "plan running"
                        );
                        self.plan = plan;
                        self.source = source;
                    }
                    self.stage = target_stage;
                    self.timed_green_ms = self.plan.stages[target_stage].green_ms as i64
                        + offset_correction(&self.plan, target_stage, now_ms);
                }
            }
        }
        let lamps = self.lamps();
        let seen = presence.zip(self.actuation.as_ref());
        self.guard.observe(now_ms, &lamps, |m| seen.map(|(p, a)| p.waiting(m, a)));
        lamps
    }

    /// A pending plan with the running plan's stage sequence takes effect now, in the
    /// running stage (not while changing into another plan: that one comes first).
    fn adopt_same_sequence(&mut self) {
        let changing_into_plan = matches!(&self.interval, Interval::Change { into: Some(_), .. });
        let Some((next, _)) = &self.next else { return };
        if changing_into_plan || !same_sequence(&self.plan, next) {
            return;
        }
        let (plan, source) = self.next.take().expect("checked");
        if plan.plan_id != self.plan.plan_id || source != self.source {
            tracing::info!(
                junction = %self.rules.junction_id,
                plan = %plan.plan_id,
                version = plan.version,
                ?source,
                "plan running (same stage sequence, taken over in the running stage)"
            );
        }
        self.plan = plan;
        self.source = source;
        if self.interval == Interval::Green {
            self.timed_green_ms = self.plan.stages[self.stage].green_ms as i64
                + offset_correction(&self.plan, self.stage, self.interval_start);
        }
    }

    fn check_fallback(&mut self, now_ms: i64, local_minute: u32) {
        let changing_into = match &self.interval {
            Interval::Change { into: Some(into), .. } => Some(into.1),
            _ => None,
        };
        let pending_source = self.next.as_ref().map(|(_, s)| *s).or(changing_into);
        let on_central = self.source == Source::Central || pending_source == Some(Source::Central);
        let silent = self.last_central_ms.is_none_or(|t| now_ms - t >= self.backup_ms);
        let expired = self.source == Source::Central && now_ms >= self.plan.valid_until_ms;
        if (on_central && silent) || expired {
            if pending_source != Some(Source::Local) {
                tracing::warn!(
                    junction = %self.rules.junction_id,
                    silent_ms = self.last_central_ms.map(|t| now_ms - t),
                    "central silent or plan expired: reverting to the local plan"
                );
                let local = self.profile.local_plan(self.profile.local_plan_at(local_minute));
                self.next = Some((local, Source::Local));
            }
        } else if self.source == Source::Local && pending_source.is_none() {
            // Time-of-day change of the local plan (checked every tick: compare ids, build
            // the plan only when it changes).
            let want = self.profile.local_plan_at(local_minute);
            if self.plan.plan_id.strip_prefix("local:") != Some(self.profile.local_plans[want].id.as_str()) {
                self.next = Some((self.profile.local_plan(want), Source::Local));
            }
        }
    }

    fn lamps(&self) -> Lamps {
        let stage = &self.plan.stages[self.stage];
        self.rules
            .movements
            .iter()
            .map(|m| {
                let here = stage.movements.contains(m);
                match &self.interval {
                    _ if !here => 'R',
                    Interval::Green => 'G',
                    Interval::Change { target_stage, into, red_since, .. } => {
                        let target = match into {
                            Some(into) => &into.0.stages[*target_stage],
                            None => &self.plan.stages[*target_stage],
                        };
                        if target.movements.contains(m) {
                            'G'
                        } else if red_since.is_none() {
                            'Y'
                        } else {
                            'R'
                        }
                    }
                }
            })
            .collect()
    }

    /// The plan running now.
    pub fn plan(&self) -> &TimingPlan {
        &self.plan
    }

    pub fn last_central_ms(&self) -> Option<i64> {
        self.last_central_ms
    }

    pub fn running(&self) -> Running {
        Running {
            plan_id: self.plan.plan_id.clone(),
            version: self.plan.version,
            source: self.source,
            stage: self.stage,
            cycle_ms: self.plan.cycle_ms,
            greens_ms: self.plan.stages.iter().map(|s| s.green_ms).collect(),
            offset_ms: self.plan.offset_ms,
        }
    }
}

/// How much to lengthen (+) or shorten (−) the green of `stage`, starting now, so the
/// plan's cycle moves towards its offset: the first stage's green should start when
/// (time − offset) is a whole number of cycles. At most a fifth of the green per stage
/// (a smooth transition, as coordinated controllers do) and never past the stage's
/// minimum or maximum; repeated at every stage, the error is gone within a few cycles.
/// Local plans (offset 0 by construction) are not coordinated.
pub fn offset_correction(plan: &TimingPlan, stage: usize, now_ms: i64) -> i64 {
    let cycle = plan.stages.iter().map(|s| s.length_ms() as i64).sum::<i64>();
    if plan.plan_id.starts_with("local:") || cycle <= 0 {
        return 0;
    }
    let n = plan.stages.len();
    // Nominal time from now to the next start of the first stage's green.
    let to_reference: i64 = (stage..n).map(|k| plan.stages[k].length_ms() as i64).sum();
    let mut late = (now_ms + to_reference - plan.offset_ms as i64).rem_euclid(cycle);
    if late > cycle / 2 {
        late -= cycle;
    }
    let s = &plan.stages[stage];
    let step = s.green_ms as i64 / 5;
    (-late)
        .clamp(-step, step)
        .clamp(s.min_green_ms as i64 - s.green_ms as i64, (s.max_green_ms as i64 - s.green_ms as i64).max(0))
}

fn same_timing(a: &TimingPlan, b: &TimingPlan) -> bool {
    a.stages == b.stages && a.offset_ms == b.offset_ms && a.cycle_ms == b.cycle_ms
}
