//! Central's retiming: for every junction, a new plan from its approaches' demand —
//! Webster splits, moved at most `max_step_ms` per stage from the running plan so
//! transitions stay smooth, a common cycle and offsets along coordinated corridors,
//! validated, signed and versioned. A plan is only re-issued when it changes materially
//! or when the running one nears its expiry (which doubles as central's heartbeat). An
//! operator override replaces the computed plan until it expires.
//!
//! Never worse than the local plan: a computed plan (after smoothing and coordination)
//! whose predicted delay for the demand (`delay`, HCM) exceeds that of the junction's
//! local plan in force is replaced by the local plan's greens. The local plan is what
//! the junction would run without central; central only issues what it expects to beat
//! it. (Operator overrides are the operator's call and are not judged.)
//!
//! Invariant: nothing leaves `retime` unless it passed the safety validator.

use std::collections::BTreeMap;

use ed25519_dalek::SigningKey;
use firmware_profiles::JunctionProfile;
use protocol::plan::{CENTRAL_PLAN_ID, OVERRIDE_PLAN_ID, SignedPlan, TimingPlan, Violation, sign, validate};

use super::webster::{fit_within, min_green, splits, to_resolution};

#[derive(Debug, Clone)]
pub struct RetimeSettings {
    /// Largest change of one stage's green from the running plan, per plan.
    pub max_step_ms: u32,
    /// Smaller changes than this (every stage) are not worth a new plan.
    pub material_ms: u32,
    pub valid_for_ms: i64,
    /// Re-issue the running plan (new version, same timings) this often: central's
    /// heartbeat. Must stay well below the junctions' backup time (default 300 s).
    pub heartbeat_ms: i64,
}

impl Default for RetimeSettings {
    fn default() -> Self {
        RetimeSettings { max_step_ms: 6_000, material_ms: 2_000, valid_for_ms: 900_000, heartbeat_ms: 120_000 }
    }
}

/// Junctions timed together: a common cycle, and each one's offset = the previous one's
/// + the travel time between them, so a platoon meets green.
#[derive(Debug, Clone)]
pub struct Corridor {
    pub junctions: Vec<String>,
    /// `travel_ms[i]`: from `junctions[i]` to `junctions[i + 1]`.
    pub travel_ms: Vec<u32>,
}

struct Junction {
    profile: JunctionProfile,
    /// Stage structure retiming keeps (the profile's first local plan).
    template: TimingPlan,
    resolution_ms: u32,
    running: Option<TimingPlan>,
    override_until: Option<(TimingPlan, i64)>,
}

pub struct Retimer {
    pub settings: RetimeSettings,
    junctions: BTreeMap<String, Junction>,
    corridors: Vec<Corridor>,
    key_id: String,
    key: SigningKey,
}

#[derive(Debug, thiserror::Error)]
pub enum RetimeError {
    #[error("junction {0:?} is not configured")]
    UnknownJunction(String),
    #[error("junction {junction}: the plan is unsafe and was not issued: {}", words(violations))]
    Unsafe { junction: String, violations: Vec<Violation> },
}

impl Retimer {
    pub fn new(
        settings: RetimeSettings,
        profiles: Vec<JunctionProfile>,
        corridors: Vec<Corridor>,
        key_id: &str,
        key: SigningKey,
    ) -> Retimer {
        let junctions = profiles
            .into_iter()
            .map(|p| {
                let resolution_ms = p.controller_profile().map_or(1_000, |c| c.resolution_ms);
                (
                    p.id.clone(),
                    Junction {
                        template: p.local_plan(0),
                        profile: p,
                        resolution_ms,
                        running: None,
                        override_until: None,
                    },
                )
            })
            .collect();
        Retimer { settings, junctions, corridors, key_id: key_id.into(), key }
    }

    pub fn profile(&self, junction: &str) -> Option<&JunctionProfile> {
        self.junctions.get(junction).map(|j| &j.profile)
    }

    /// Records what a junction reports it runs (after a restart of central, say).
    pub fn set_running(&mut self, plan: TimingPlan) {
        if let Some(j) = self.junctions.get_mut(&plan.junction_id) {
            j.running = Some(plan);
        }
    }

    /// After a restart central knows nothing it issued: take what a junction reports it
    /// runs (central's plan) as the starting point, so the next plan is a smooth step
    /// from it rather than a jump.
    pub fn adopt_running(
        &mut self,
        junction: &str,
        greens_ms: &[u32],
        offset_ms: u32,
        version: u64,
        valid_from_ms: i64,
    ) {
        let Some(j) = self.junctions.get_mut(junction) else { return };
        if j.running.is_some() || greens_ms.len() != j.template.stages.len() {
            return;
        }
        let mut plan =
            build(&j.template, greens_ms, offset_ms, valid_from_ms, valid_from_ms + self.settings.valid_for_ms, None);
        plan.version = version;
        j.running = Some(plan);
    }

    /// Operator override: `greens_ms` per stage of the template, until `until_ms`.
    pub fn set_override(
        &mut self,
        junction: &str,
        greens_ms: &[u32],
        until_ms: i64,
        now_ms: i64,
    ) -> Result<(), RetimeError> {
        let j = self.junctions.get_mut(junction).ok_or_else(|| RetimeError::UnknownJunction(junction.into()))?;
        let mut plan = build(&j.template, greens_ms, 0, now_ms, until_ms, j.running.as_ref());
        plan.plan_id = OVERRIDE_PLAN_ID.into();
        validate(&plan, &j.profile.rules())
            .map_err(|violations| RetimeError::Unsafe { junction: junction.into(), violations })?;
        j.override_until = Some((plan, until_ms));
        j.running = None; // forces the override out at the next round
        Ok(())
    }

    /// Ends an override now (the operator cancelled it, or it could not be audited);
    /// `false` when none was set.
    pub fn cancel_override(&mut self, junction: &str) -> Result<bool, RetimeError> {
        let j = self.junctions.get_mut(junction).ok_or_else(|| RetimeError::UnknownJunction(junction.into()))?;
        let had = j.override_until.take().is_some();
        if had {
            j.running = None; // the computed plan goes out at the next round
        }
        Ok(had)
    }

    /// One retiming round: `demand` maps junction id → PCU/h per movement (profile
    /// order). Returns the signed plans to publish (only junctions whose plan changed
    /// materially, nears expiry, or is overridden).
    pub fn retime_all(
        &mut self,
        demand: &BTreeMap<String, Vec<f64>>,
        now_ms: i64,
    ) -> Vec<Result<SignedPlan, RetimeError>> {
        let mut greens: BTreeMap<String, Vec<u32>> = BTreeMap::new();
        for (id, j) in &self.junctions {
            let Some(d) = demand.get(id) else { continue };
            let target = splits(&j.profile, &j.template, d);
            greens.insert(id.clone(), self.smooth(j, target));
        }
        // An override goes out even where no camera measures (cameras down is exactly
        // when operators take over); its own greens replace these in `issue`.
        for (id, j) in &self.junctions {
            if j.override_until.is_some() && !greens.contains_key(id) {
                greens.insert(id.clone(), j.template.stages.iter().map(|s| s.green_ms).collect());
            }
        }
        let mut offsets: BTreeMap<String, u32> = BTreeMap::new();
        for corridor in &self.corridors {
            coordinate(&self.junctions, corridor, &mut greens, &mut offsets);
        }
        for (id, g) in greens.iter_mut() {
            let (Some(j), Some(d)) = (self.junctions.get(id), demand.get(id)) else { continue };
            if let Some(local) = no_worse_than_local(j, g, d, now_ms) {
                tracing::info!(
                    junction = %id,
                    "computed plan predicted worse than the local plan; issuing the local plan's greens"
                );
                *g = local;
                offsets.remove(id);
            }
        }
        let mut out = Vec::new();
        for (id, g) in greens {
            if let Some(result) = self.issue(&id, &g, offsets.get(&id).copied().unwrap_or(0), now_ms) {
                out.push(result);
            }
        }
        out
    }

    fn smooth(&self, j: &Junction, target: Vec<u32>) -> Vec<u32> {
        let rules = j.profile.rules();
        let running = j.running.as_ref().filter(|r| r.stages.len() == target.len());
        let floors: Vec<u32> = j.template.stages.iter().map(|s| min_green(s, rules.min_green_ms)).collect();
        let intergreens: u64 = j.template.stages.iter().map(|s| s.yellow_ms as u64 + s.all_red_ms as u64).sum();
        let stepped: Vec<u32> = target
            .iter()
            .enumerate()
            .map(|(i, &t)| {
                let stage = &j.template.stages[i];
                let floor = min_green(stage, rules.min_green_ms);
                let stepped = match running {
                    Some(r) => {
                        let was = r.stages[i].green_ms;
                        t.clamp(
                            was.saturating_sub(self.settings.max_step_ms),
                            was.saturating_add(self.settings.max_step_ms),
                        )
                    }
                    None => t,
                };
                stepped.max(floor)
            })
            .collect();
        // Limiting each stage's step can leave the sum above the cycle maximum.
        fit_within(stepped, &floors, (rules.max_cycle_ms as u64).saturating_sub(intergreens))
            .into_iter()
            .zip(&floors)
            .map(|(g, f)| to_resolution(g, j.resolution_ms, *f))
            .collect()
    }

    fn issue(
        &mut self,
        id: &str,
        greens: &[u32],
        offset_ms: u32,
        now_ms: i64,
    ) -> Option<Result<SignedPlan, RetimeError>> {
        let settings = self.settings.clone();
        let j = self.junctions.get_mut(id)?;
        if let Some((_, until)) = &j.override_until
            && *until <= now_ms
        {
            j.override_until = None;
        }
        let plan = match &j.override_until {
            Some((plan, _)) => {
                let fresh = j
                    .running
                    .as_ref()
                    .is_some_and(|r| r.plan_id == plan.plan_id && now_ms - r.valid_from_ms < settings.heartbeat_ms);
                if fresh {
                    return None;
                }
                let mut p = plan.clone();
                p.version = next_version(j.running.as_ref(), now_ms);
                p.valid_from_ms = now_ms;
                p
            }
            None => {
                if let Some(r) = &j.running {
                    let same_shape = r.stages.len() == greens.len() && r.offset_ms == offset_ms % r.cycle_ms.max(1);
                    let small = same_shape
                        && r.stages.iter().zip(greens).all(|(s, g)| s.green_ms.abs_diff(*g) < settings.material_ms);
                    if small && r.plan_id != OVERRIDE_PLAN_ID && now_ms - r.valid_from_ms < settings.heartbeat_ms {
                        return None;
                    }
                }
                build(&j.template, greens, offset_ms, now_ms, now_ms + settings.valid_for_ms, j.running.as_ref())
            }
        };
        if let Err(violations) = validate(&plan, &j.profile.rules()) {
            tracing::error!(
                junction = id,
                ?violations,
                "computed plan is unsafe; not issued (the junction keeps its plan)"
            );
            return Some(Err(RetimeError::Unsafe { junction: id.into(), violations }));
        }
        j.running = Some(plan.clone());
        Some(Ok(sign(plan, &self.key_id, &self.key)))
    }
}

/// `Some(local greens)` when the plan with `greens` is predicted to delay `demand` more
/// than the junction's local plan in force at `now_ms` (same stage sequence as the
/// template; a local plan with another sequence is compared but its greens cannot be
/// issued on the template, so the computed plan stands).
fn no_worse_than_local(j: &Junction, greens: &[u32], demand: &[f64], now_ms: i64) -> Option<Vec<u32>> {
    let minute = ((now_ms / 1000 + j.profile.utc_offset_s as i64).rem_euclid(86_400) / 60) as u32;
    let local = j.profile.local_plan(j.profile.local_plan_at(minute));
    let mut candidate = j.template.stages.clone();
    for (s, g) in candidate.iter_mut().zip(greens) {
        s.green_ms = *g;
    }
    let ours = super::delay::predicted_delay_s(&j.profile, &candidate, demand);
    let theirs = super::delay::predicted_delay_s(&j.profile, &local.stages, demand);
    let same_sequence = local.stages.len() == j.template.stages.len()
        && local.stages.iter().zip(&j.template.stages).all(|(a, b)| a.movements == b.movements);
    (ours > theirs && same_sequence).then(|| local.stages.iter().map(|s| s.green_ms).collect())
}

fn next_version(running: Option<&TimingPlan>, now_ms: i64) -> u64 {
    (now_ms.max(0) as u64).max(running.map_or(0, |r| r.version + 1))
}

fn build(
    template: &TimingPlan,
    greens: &[u32],
    offset_ms: u32,
    now_ms: i64,
    until_ms: i64,
    running: Option<&TimingPlan>,
) -> TimingPlan {
    let mut plan = template.clone();
    for (s, g) in plan.stages.iter_mut().zip(greens) {
        s.green_ms = *g;
        s.min_green_ms = s.min_green_ms.min(*g);
    }
    plan.cycle_ms = plan.stages.iter().map(|s| s.length_ms()).sum::<u64>() as u32;
    plan.offset_ms = offset_ms % plan.cycle_ms.max(1);
    plan.plan_id = CENTRAL_PLAN_ID.into();
    plan.version = next_version(running, now_ms);
    plan.valid_from_ms = now_ms;
    plan.valid_until_ms = until_ms;
    plan
}

/// Common cycle (the longest member's) and cumulative offsets along a corridor; a
/// member that cannot stretch to the common cycle within its maximum greens keeps its
/// own cycle and is left uncoordinated (logged).
fn coordinate(
    junctions: &BTreeMap<String, Junction>,
    corridor: &Corridor,
    greens: &mut BTreeMap<String, Vec<u32>>,
    offsets: &mut BTreeMap<String, u32>,
) {
    let cycle = |id: &String, g: &[u32]| {
        junctions[id].template.stages.iter().map(|s| s.yellow_ms + s.all_red_ms).sum::<u32>() + g.iter().sum::<u32>()
    };
    let members: Vec<&String> =
        corridor.junctions.iter().filter(|id| greens.contains_key(*id) && junctions.contains_key(*id)).collect();
    let Some(common) = members.iter().map(|id| cycle(id, &greens[*id])).max() else { return };
    let mut offset = 0u32;
    for (i, id) in corridor.junctions.iter().enumerate() {
        if let Some(g) = greens.get_mut(id) {
            let j = &junctions[id];
            let rules_max = j.profile.rules().max_green_ms;
            let mut extra = common - cycle(id, g).min(common);
            // Spread the extra green over the stages that still have room, largest first.
            while extra > 0 {
                let room: Vec<usize> =
                    (0..g.len()).filter(|&k| g[k] < j.template.stages[k].max_green_ms.min(rules_max)).collect();
                if room.is_empty() {
                    tracing::warn!(junction = %id, "cannot stretch to the corridor's cycle; not coordinated");
                    break;
                }
                let share = (extra / room.len() as u32).max(1);
                for k in room {
                    let add = share.min(extra).min(j.template.stages[k].max_green_ms.min(rules_max) - g[k]);
                    g[k] += add;
                    extra -= add;
                }
            }
            offsets.insert(id.clone(), offset % common.max(1));
        }
        offset += corridor.travel_ms.get(i).copied().unwrap_or(0);
    }
}

/// Every violation in words, one after another (the API, the dashboard and the audit log
/// show these; the codes stay in the acks and the metrics).
fn words(violations: &[Violation]) -> String {
    violations.iter().map(|v| v.to_string()).collect::<Vec<_>>().join("; ")
}

#[cfg(test)]
mod tests {
    use base64::Engine as _;
    use protocol::plan::{PlanKeys, accept};

    use super::*;

    fn profile(id: &str) -> JunctionProfile {
        let text = firmware_profiles::junction::BUILTIN[0].1.replacen(
            "id = \"hcmc_sample_4arm\"",
            &format!("id = \"{id}\""),
            1,
        );
        JunctionProfile::from_toml("test", &text).unwrap()
    }

    fn demand(scale: f64) -> Vec<f64> {
        // N_T, N_L, S_T, S_L, E_T, W_T
        [1_400.0, 200.0, 1_200.0, 150.0, 500.0, 450.0].iter().map(|d| d * scale).collect()
    }

    fn retimer(corridors: Vec<Corridor>) -> (Retimer, PlanKeys) {
        let key = SigningKey::from_bytes(&[3; 32]);
        let public = base64::engine::general_purpose::STANDARD.encode(key.verifying_key().to_bytes());
        let keys = PlanKeys::from_base64(&[("central".into(), public)]).unwrap();
        (Retimer::new(RetimeSettings::default(), vec![profile("j1"), profile("j2")], corridors, "central", key), keys)
    }

    #[test]
    fn plans_are_safe_signed_smooth_and_only_reissued_when_worth_it() {
        let (mut r, keys) = retimer(vec![]);
        let now = 1_000_000;
        let first = r.retime_all(&[("j1".to_string(), demand(0.5))].into(), now);
        assert_eq!(first.len(), 1);
        let plan = first[0].as_ref().unwrap();
        let rules = r.profile("j1").unwrap().rules();
        assert!(accept(plan, &keys, &rules, None, now).is_ok(), "a junction accepts central's plan");
        // Same demand: nothing new.
        assert!(r.retime_all(&[("j1".to_string(), demand(0.51))].into(), now + 60_000).is_empty());
        // Demand grows: greens move, at most max_step per stage. (Past about 0.7 of this
        // demand Webster's cycle is longer than the HCM delay favours, and the local plan
        // is predicted better: see `a_plan_predicted_worse_than_the_local_plan_is_not_issued`.)
        let second = r.retime_all(&[("j1".to_string(), demand(0.65))].into(), now + 120_000);
        let next = &second[0].as_ref().unwrap().plan;
        assert!(next.version > plan.plan.version);
        for (a, b) in plan.plan.stages.iter().zip(&next.stages) {
            assert!(a.green_ms.abs_diff(b.green_ms) <= 6_000, "{} → {}", a.green_ms, b.green_ms);
        }
        assert!(next.cycle_ms > plan.plan.cycle_ms);
        // After the heartbeat period the plan is re-issued, newer version, so junctions
        // know central is alive.
        let refresh = r.retime_all(&[("j1".to_string(), demand(0.65))].into(), next.valid_from_ms + 120_000);
        assert_eq!(refresh.len(), 1);
        assert!(refresh[0].as_ref().unwrap().plan.version > next.version);
    }

    #[test]
    fn after_a_restart_the_first_plan_steps_from_what_the_junction_runs() {
        let (mut r, _) = retimer(vec![]);
        r.adopt_running("j1", &[20_000, 10_000, 19_000], 0, 500, 1_000);
        let out = r.retime_all(&[("j1".to_string(), demand(0.6))].into(), 2_000);
        let p = &out[0].as_ref().unwrap().plan;
        assert!(p.version > 500);
        assert!(p.stages[0].green_ms <= 26_000, "a step of at most 6 s from 20 s: {}", p.stages[0].green_ms);
    }

    #[test]
    fn overrides_are_validated_and_expire() {
        let (mut r, _) = retimer(vec![]);
        let now = 5_000_000;
        let err = r.set_override("j1", &[3_000, 12_000, 25_000], now + 600_000, now).unwrap_err();
        assert!(err.to_string().contains("unsafe"), "{err}");
        r.set_override("j1", &[50_000, 10_000, 20_000], now + 600_000, now).unwrap();
        let out = r.retime_all(&[("j1".to_string(), demand(1.0))].into(), now + 1_000);
        let p = &out[0].as_ref().unwrap().plan;
        assert_eq!((p.plan_id.as_str(), p.stages[0].green_ms), ("operator-override", 50_000));
        assert!(r.retime_all(&[("j1".to_string(), demand(1.0))].into(), now + 60_000).is_empty(), "override holds");
        let after = r.retime_all(&[("j1".to_string(), demand(1.0))].into(), now + 600_001);
        assert_eq!(after[0].as_ref().unwrap().plan.plan_id, "central", "expired override gives way");
    }

    #[test]
    fn a_cancelled_override_gives_way_at_the_next_round() {
        let (mut r, _) = retimer(vec![]);
        let now = 5_000_000;
        assert!(!r.cancel_override("j1").unwrap());
        r.set_override("j1", &[50_000, 10_000, 20_000], now + 600_000, now).unwrap();
        assert_eq!(
            r.retime_all(&[("j1".to_string(), demand(1.0))].into(), now + 1_000)[0].as_ref().unwrap().plan.plan_id,
            "operator-override"
        );
        assert!(r.cancel_override("j1").unwrap());
        let after = r.retime_all(&[("j1".to_string(), demand(1.0))].into(), now + 2_000);
        assert_eq!(after[0].as_ref().unwrap().plan.plan_id, "central");
        assert!(r.cancel_override("nope").is_err());
    }

    #[test]
    fn an_override_is_issued_where_no_camera_measures() {
        let (mut r, _) = retimer(vec![]);
        let now = 5_000_000;
        assert!(r.retime_all(&BTreeMap::new(), now).is_empty(), "no data, no plan");
        r.set_override("j1", &[50_000, 10_000, 20_000], now + 600_000, now).unwrap();
        let out = r.retime_all(&BTreeMap::new(), now + 1_000);
        assert_eq!(out[0].as_ref().unwrap().plan.plan_id, "operator-override");
    }

    #[test]
    fn corridors_share_a_cycle_with_travel_time_offsets() {
        let (mut r, _) = retimer(vec![Corridor { junctions: vec!["j1".into(), "j2".into()], travel_ms: vec![35_000] }]);
        let out = r.retime_all(&[("j1".to_string(), demand(0.6)), ("j2".to_string(), demand(0.5))].into(), 0);
        let plans: Vec<&TimingPlan> = out.iter().map(|p| &p.as_ref().unwrap().plan).collect();
        assert_eq!(plans[0].cycle_ms, plans[1].cycle_ms);
        assert_eq!(plans[1].offset_ms - plans[0].offset_ms, 35_000);
    }

    /// A plan smoothing leaves far from demand (here: stepping from a running plan that
    /// starves east-west) is predicted worse than the junction's own local plan, so
    /// central issues the local plan's greens rather than make the junction worse.
    #[test]
    fn a_plan_predicted_worse_than_the_local_plan_is_not_issued() {
        let (mut r, _) = retimer(vec![]);
        // 08:00 in Ho Chi Minh City: the day plan (40 / 12 / 25 s) is in force.
        let now = 1_800_000_000_000i64 - 1_800_000_000_000i64.rem_euclid(86_400_000) + 3_600_000;
        r.adopt_running("j1", &[90_000, 7_000, 19_000], 0, 500, now - 1_000);
        let balanced = vec![700.0, 200.0, 700.0, 200.0, 900.0, 900.0];
        let out = r.retime_all(&[("j1".to_string(), balanced)].into(), now);
        let p = &out[0].as_ref().unwrap().plan;
        assert_eq!(
            p.stages.iter().map(|s| s.green_ms).collect::<Vec<_>>(),
            [40_000, 12_000, 25_000],
            "the local plan's greens"
        );
        // Light demand: the smoothed step from the local plan is predicted better; it stands.
        let (mut r, _) = retimer(vec![]);
        r.adopt_running("j1", &[40_000, 12_000, 25_000], 0, 500, now - 1_000);
        let out = r.retime_all(&[("j1".to_string(), demand(0.5))].into(), now);
        let p = &out[0].as_ref().unwrap().plan;
        assert_eq!(p.stages[0].green_ms, 34_000, "a step of 6 s towards the lighter demand's shorter cycle");
    }
}
