//! Signal-controller profiles: which driver applies plans to a controller and what the
//! controller can represent (stages, time resolution).

use serde::Deserialize;

use crate::{ProfileError, builtin_text, check_id, invalid, parse};

pub const BUILTIN: &[(&str, &str)] =
    &[("ntcip1202", include_str!("../controllers/ntcip1202.toml")), ("sumo", include_str!("../controllers/sumo.toml"))];

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ControllerProfile {
    pub id: String,
    pub description: String,
    /// Most stages a plan may have on this controller.
    pub max_stages: usize,
    /// Every duration must be a multiple of this (NTCIP: 0.1 s).
    pub resolution_ms: u32,
    pub driver: Driver,
}

#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(tag = "kind", rename_all = "lowercase", deny_unknown_fields)]
pub enum Driver {
    /// SUMO over TraCI.
    Sumo,
    /// NTCIP 1202 over SNMP: each stage becomes a phase (or a ring-barrier group of
    /// phases), plan timings become phase timing objects and one coordination pattern.
    Ntcip1202 { max_phases: u32, max_patterns: u32 },
}

impl ControllerProfile {
    pub fn from_toml(origin: &str, text: &str) -> Result<ControllerProfile, ProfileError> {
        let p: ControllerProfile = parse(origin, text)?;
        check_id(origin, &p.id)?;
        if !(1..=64).contains(&p.max_stages) {
            return Err(invalid(origin, "max_stages", format!("{} is outside 1..=64", p.max_stages)));
        }
        if !(1..=1000).contains(&p.resolution_ms) || 1000 % p.resolution_ms != 0 {
            return Err(invalid(origin, "resolution_ms", format!("{} must divide 1000", p.resolution_ms)));
        }
        if let Driver::Ntcip1202 { max_phases, .. } = p.driver
            && (max_phases as usize) < p.max_stages
        {
            return Err(invalid(
                origin,
                "driver.max_phases",
                format!("{max_phases} phases cannot carry {} stages", p.max_stages),
            ));
        }
        Ok(p)
    }

    pub fn builtin(id: &str) -> Result<ControllerProfile, ProfileError> {
        let text = builtin_text("signal-controller", BUILTIN, id)?;
        ControllerProfile::from_toml(&format!("firmware-profiles/controllers/{id}.toml"), text)
    }
}
