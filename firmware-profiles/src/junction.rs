//! Junction profiles: the geometry of one signalised junction (approaches, movements,
//! the conflict matrix, pedestrian crossings, the cameras that measure each approach),
//! its timing limits, its controller, and the local time-of-day plans it falls back to.
//!
//! Invariants of a loaded profile: every reference resolves (movement → approach,
//! conflict and crossing → movements, plan → movements and crossings, controller →
//! built-in controller profile); limits are sane (yellow within 3–6 s); every local plan
//! passes the same safety validator central's plans must pass; the local plans cover
//! all 24 hours.

use protocol::plan::types::CrossingRule;
use protocol::plan::{JunctionRules, PedestrianTiming, Stage, TimingPlan, validate};
use serde::Deserialize;

use crate::controller::ControllerProfile;
use crate::{ProfileError, builtin_text, check_id, invalid, parse};

pub const BUILTIN: &[(&str, &str)] = &[("hcmc_sample_4arm", include_str!("../junctions/hcmc_sample_4arm.toml"))];

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct JunctionProfile {
    pub id: String,
    pub description: String,
    /// Bump on every change: plans name the revision they were made for.
    pub revision: u32,
    pub controller: String,
    /// Local time for the time-of-day plans.
    pub utc_offset_s: i32,
    pub limits: Limits,
    #[serde(rename = "approach")]
    pub approaches: Vec<Approach>,
    #[serde(rename = "movement")]
    pub movements: Vec<Movement>,
    pub conflicts: Vec<[String; 2]>,
    #[serde(default, rename = "crossing")]
    pub crossings: Vec<Crossing>,
    #[serde(rename = "local_plan")]
    pub local_plans: Vec<LocalPlan>,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Limits {
    pub min_green_s: f64,
    pub max_green_s: f64,
    pub min_yellow_s: f64,
    pub max_yellow_s: f64,
    pub min_all_red_s: f64,
    pub max_cycle_s: f64,
    /// No valid plan or heartbeat from central for this long → local plan (NTCIP 1202's backup time).
    #[serde(default = "default_backup")]
    pub backup_time_s: f64,
}

fn default_backup() -> f64 {
    300.0
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Approach {
    pub id: String,
    /// Camera counting lines that measure this approach's arrivals.
    #[serde(default)]
    pub cameras: Vec<CameraLine>,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct CameraLine {
    pub camera: String,
    pub line: String,
    /// The camera's zone over this approach's queue: its live occupancy drives the
    /// junction's local actuation (every approach needs one for actuation to run).
    #[serde(default)]
    pub zone: Option<String>,
}

#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Turn {
    Left,
    Through,
    Right,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Movement {
    pub id: String,
    pub approach: String,
    pub turn: Turn,
    pub lanes: u32,
    /// PCU per hour of green per lane.
    pub saturation_pcu_per_lane: f64,
    /// Share of the approach's flow that takes this movement (turning count). When an
    /// approach gives none, flow is split in proportion to lanes × saturation flow.
    #[serde(default)]
    pub turn_share: Option<f64>,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Crossing {
    pub id: String,
    pub min_walk_s: f64,
    pub min_clearance_s: f64,
    pub conflicting_movements: Vec<String>,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct LocalPlan {
    pub id: String,
    /// Local "HH:MM"; a plan may run past midnight (`to` < `from`).
    pub from: String,
    pub to: String,
    pub stages: Vec<LocalStage>,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct LocalStage {
    pub movements: Vec<String>,
    pub green_s: f64,
    pub yellow_s: f64,
    pub all_red_s: f64,
    #[serde(default)]
    pub walk: Vec<String>,
    #[serde(default)]
    pub walk_s: f64,
    #[serde(default)]
    pub ped_clearance_s: f64,
}

/// Seconds → ms, refusing what the controller cannot represent.
fn ms(origin: &str, field: &str, s: f64, resolution_ms: u32) -> Result<u32, ProfileError> {
    let v = (s * 1000.0).round();
    if !s.is_finite()
        || s < 0.0
        || v > 3_600_000.0
        || !(v as u32).is_multiple_of(resolution_ms)
        || (v - s * 1000.0).abs() > 1e-6
    {
        return Err(invalid(origin, field, format!("{s} s is not a non-negative multiple of {resolution_ms} ms")));
    }
    Ok(v as u32)
}

/// A profile's durations in ms (already checked by `validate` to be whole multiples).
fn whole_ms(s: f64) -> u32 {
    (s * 1000.0).round() as u32
}

/// Whether the local-time window `[from, to)` (minutes of day; past midnight when
/// `to` ≤ `from`, all day when equal) contains `minute`.
fn covers(from: u32, to: u32, minute: u32) -> bool {
    if from < to { (from..to).contains(&minute) } else { minute >= from || minute < to }
}

fn minutes(origin: &str, field: &str, hhmm: &str) -> Result<u32, ProfileError> {
    let parsed = hhmm.split_once(':').and_then(|(h, m)| Some((h.parse::<u32>().ok()?, m.parse::<u32>().ok()?)));
    match parsed {
        Some((h, m)) if h < 24 && m < 60 && hhmm.len() == 5 => Ok(h * 60 + m),
        _ => Err(invalid(origin, field, format!("{hhmm:?} is not HH:MM"))),
    }
}

impl JunctionProfile {
    pub fn from_toml(origin: &str, text: &str) -> Result<JunctionProfile, ProfileError> {
        let p: JunctionProfile = parse(origin, text)?;
        p.validate(origin)?;
        Ok(p)
    }

    pub fn builtin(id: &str) -> Result<JunctionProfile, ProfileError> {
        let text = builtin_text("junction", BUILTIN, id)?;
        JunctionProfile::from_toml(&format!("firmware-profiles/junctions/{id}.toml"), text)
    }

    pub fn controller_profile(&self) -> Result<ControllerProfile, ProfileError> {
        ControllerProfile::builtin(&self.controller)
    }

    /// The rules plans for this junction are validated against.
    pub fn rules(&self) -> JunctionRules {
        let l = &self.limits;
        let ms = whole_ms;
        JunctionRules {
            junction_id: self.id.clone(),
            rules_id: self.rules_id(),
            movements: self.movements.iter().map(|m| m.id.clone()).collect(),
            conflicts: self.conflicts.iter().map(|[a, b]| (a.clone(), b.clone())).collect(),
            min_green_ms: ms(l.min_green_s),
            max_green_ms: ms(l.max_green_s),
            min_yellow_ms: ms(l.min_yellow_s),
            max_yellow_ms: ms(l.max_yellow_s),
            min_all_red_ms: ms(l.min_all_red_s),
            max_cycle_ms: ms(l.max_cycle_s),
            crossings: self
                .crossings
                .iter()
                .map(|c| CrossingRule {
                    id: c.id.clone(),
                    min_walk_ms: ms(c.min_walk_s),
                    min_clearance_ms: ms(c.min_clearance_s),
                    conflicting_movements: c.conflicting_movements.clone(),
                })
                .collect(),
        }
    }

    /// Local plan `index` as a timing plan (version 0: never replaces one of central's).
    pub fn local_plan(&self, index: usize) -> TimingPlan {
        let lp = &self.local_plans[index];
        let l = &self.limits;
        let ms = whole_ms;
        let stages: Vec<Stage> = lp
            .stages
            .iter()
            .map(|s| Stage {
                movements: s.movements.clone(),
                green_ms: ms(s.green_s),
                min_green_ms: ms(l.min_green_s).min(ms(s.green_s)),
                max_green_ms: ms(l.max_green_s),
                yellow_ms: ms(s.yellow_s),
                all_red_ms: ms(s.all_red_s),
                pedestrian: (!s.walk.is_empty()).then(|| PedestrianTiming {
                    crossings: s.walk.clone(),
                    walk_ms: ms(s.walk_s),
                    clearance_ms: ms(s.ped_clearance_s),
                }),
            })
            .collect();
        let cycle_ms = stages.iter().map(|s| s.length_ms()).sum::<u64>() as u32;
        TimingPlan {
            junction_id: self.id.clone(),
            plan_id: format!("local:{}", lp.id),
            version: 0,
            valid_from_ms: i64::MIN,
            valid_until_ms: i64::MAX,
            cycle_ms,
            offset_ms: 0,
            stages,
            rules_id: self.rules_id(),
        }
    }

    /// Names this revision of the junction's rules; plans carry it.
    pub fn rules_id(&self) -> String {
        format!("{}@{}", self.id, self.revision)
    }

    /// The local plan for local minute of day `minute` (0..1440).
    pub fn local_plan_at(&self, minute: u32) -> usize {
        self.local_plans
            .iter()
            .position(|p| covers(minutes("", "", &p.from).unwrap_or(0), minutes("", "", &p.to).unwrap_or(0), minute))
            .unwrap_or(0)
    }

    pub fn validate(&self, origin: &str) -> Result<(), ProfileError> {
        check_id(origin, &self.id)?;
        let controller = self.controller_profile().map_err(|e| invalid(origin, "controller", e.to_string()))?;
        let r = controller.resolution_ms;
        let l = &self.limits;
        let yellow = (
            ms(origin, "limits.min_yellow_s", l.min_yellow_s, r)?,
            ms(origin, "limits.max_yellow_s", l.max_yellow_s, r)?,
        );
        if yellow.0 < 3000 || yellow.1 > 6000 || yellow.0 > yellow.1 {
            return Err(invalid(origin, "limits.min_yellow_s", "yellow must lie within 3–6 s, min ≤ max"));
        }
        let green =
            (ms(origin, "limits.min_green_s", l.min_green_s, r)?, ms(origin, "limits.max_green_s", l.max_green_s, r)?);
        if green.0 == 0 || green.0 > green.1 {
            return Err(invalid(origin, "limits.min_green_s", "must be positive and ≤ max_green_s"));
        }
        ms(origin, "limits.min_all_red_s", l.min_all_red_s, r)?;
        ms(origin, "limits.max_cycle_s", l.max_cycle_s, r)?;
        if !(l.backup_time_s.is_finite() && l.backup_time_s >= 10.0) {
            return Err(invalid(origin, "limits.backup_time_s", "must be at least 10 s"));
        }
        let approach_ids: Vec<&str> = self.approaches.iter().map(|a| a.id.as_str()).collect();
        let movement_ids: Vec<&str> = self.movements.iter().map(|m| m.id.as_str()).collect();
        let crossing_ids: Vec<&str> = self.crossings.iter().map(|c| c.id.as_str()).collect();
        for (list, name) in [(&approach_ids, "approach"), (&movement_ids, "movement"), (&crossing_ids, "crossing")] {
            for (i, id) in list.iter().enumerate() {
                if id.is_empty() || list[..i].contains(id) {
                    return Err(invalid(origin, &format!("{name}[{i}].id"), format!("{id:?} is empty or repeated")));
                }
            }
        }
        for (i, m) in self.movements.iter().enumerate() {
            if !approach_ids.contains(&m.approach.as_str()) {
                return Err(invalid(
                    origin,
                    &format!("movement[{i}].approach"),
                    format!("{:?} is not an approach", m.approach),
                ));
            }
            if m.lanes == 0 || !(m.saturation_pcu_per_lane > 0.0 && m.saturation_pcu_per_lane <= 3000.0) {
                return Err(invalid(
                    origin,
                    &format!("movement[{i}]"),
                    "needs lanes ≥ 1 and saturation_pcu_per_lane in (0, 3000]",
                ));
            }
        }
        for a in &self.approaches {
            let shares: Vec<Option<f64>> =
                self.movements.iter().filter(|m| m.approach == a.id).map(|m| m.turn_share).collect();
            if shares.iter().any(Option::is_some) {
                let all: Option<Vec<f64>> = shares.iter().copied().collect();
                let ok = all.is_some_and(|v| {
                    v.iter().all(|s| (0.0..=1.0).contains(s)) && (v.iter().sum::<f64>() - 1.0).abs() < 1e-6
                });
                if !ok {
                    return Err(invalid(
                        origin,
                        &format!("approach {:?} turn_share", a.id),
                        "give every movement of the approach a share in [0, 1], summing to 1",
                    ));
                }
            }
        }
        let known = |field: String, id: &str| {
            if movement_ids.contains(&id) {
                Ok(())
            } else {
                Err(invalid(origin, &field, format!("{id:?} is not a movement")))
            }
        };
        for (i, [a, b]) in self.conflicts.iter().enumerate() {
            known(format!("conflicts[{i}]"), a)?;
            known(format!("conflicts[{i}]"), b)?;
            if a == b {
                return Err(invalid(origin, &format!("conflicts[{i}]"), "a movement cannot conflict with itself"));
            }
        }
        for (i, c) in self.crossings.iter().enumerate() {
            for m in &c.conflicting_movements {
                known(format!("crossing[{i}].conflicting_movements"), m)?;
            }
            ms(origin, &format!("crossing[{i}].min_walk_s"), c.min_walk_s, r)?;
            ms(origin, &format!("crossing[{i}].min_clearance_s"), c.min_clearance_s, r)?;
        }
        if self.local_plans.is_empty() {
            return Err(invalid(origin, "local_plan", "at least one local plan is required (the fallback)"));
        }
        let rules = self.rules();
        let mut covered = [false; 1440];
        for (i, p) in self.local_plans.iter().enumerate() {
            let field = |f: &str| format!("local_plan[{i}].{f}");
            let (from, to) = (minutes(origin, &field("from"), &p.from)?, minutes(origin, &field("to"), &p.to)?);
            for minute in 0..1440 {
                covered[minute as usize] |= covers(from, to, minute);
            }
            if p.stages.len() > controller.max_stages {
                return Err(invalid(
                    origin,
                    &field("stages"),
                    format!("{} stages; controller {} takes {}", p.stages.len(), controller.id, controller.max_stages),
                ));
            }
            for (j, s) in p.stages.iter().enumerate() {
                for (name, v) in [
                    ("green_s", s.green_s),
                    ("yellow_s", s.yellow_s),
                    ("all_red_s", s.all_red_s),
                    ("walk_s", s.walk_s),
                    ("ped_clearance_s", s.ped_clearance_s),
                ] {
                    ms(origin, &format!("local_plan[{i}].stages[{j}].{name}"), v, r)?;
                }
            }
            if let Err(violations) = validate(&self.local_plan(i), &rules) {
                let text = violations.iter().map(|v| v.to_string()).collect::<Vec<_>>().join("; ");
                return Err(invalid(origin, &field("stages"), format!("unsafe: {text}")));
            }
        }
        if let Some(gap) = covered.iter().position(|c| !c) {
            return Err(invalid(origin, "local_plan", format!("no local plan covers {:02}:{:02}", gap / 60, gap % 60)));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_junctions_validate_and_pick_plans_by_time_of_day() {
        let j = JunctionProfile::builtin("hcmc_sample_4arm").unwrap();
        assert_eq!(j.local_plans[j.local_plan_at(8 * 60)].id, "day");
        assert_eq!(j.local_plans[j.local_plan_at(23 * 60)].id, "night");
        assert_eq!(j.local_plans[j.local_plan_at(3 * 60)].id, "night");
        assert_eq!(j.rules().rules_id, "hcmc_sample_4arm@1");
        assert_eq!(j.controller_profile().unwrap().id, "ntcip1202");
    }

    #[test]
    fn errors_name_the_field() {
        let base = BUILTIN[0].1;
        let cases = [
            ("max_yellow_s = 5", "max_yellow_s = 7", "limits.min_yellow_s"),
            ("approach = \"north\"\nturn = \"left\"", "approach = \"nort\"\nturn = \"left\"", "movement[1].approach"),
            ("[\"N_L\", \"S_T\"]", "[\"N_L\", \"S_X\"]", "conflicts[8]"),
            ("controller = \"ntcip1202\"", "controller = \"ntcip9999\"", "controller"),
            ("green_s = 12,", "green_s = 12.05,", "local_plan[0].stages[1].green_s"),
            // A plan that lets north left turns run with the southbound through.
            (
                "{ movements = [\"N_L\", \"S_L\"], green_s = 12",
                "{ movements = [\"N_L\", \"S_T\"], green_s = 12",
                "local_plan[0].stages",
            ),
            ("to = \"06:00\"", "to = \"05:00\"", "no local plan covers 05:00"),
            ("turn_share = 0.2", "turn_share = 0.3", "approach \"north\" turn_share"),
            ("turn_share = 0.8\n", "turn_share = 0.8\nspeed = 50\n", "speed"),
        ];
        for (from, to, field) in cases {
            let text = base.replacen(from, to, 1);
            assert_ne!(text, base, "{from}");
            let err = JunctionProfile::from_toml("j.toml", &text).unwrap_err().to_string();
            assert!(err.contains(field) && err.contains("j.toml"), "expected {field} in {err}");
        }
    }
}
