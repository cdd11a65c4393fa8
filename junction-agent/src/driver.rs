//! Drivers put the controller's lamp states onto a signal controller.
//!
//! - `log`: writes every change as a JSON line (bench tests, dry runs beside a real
//!   controller).
//! - `ntcip1202`: maps a plan onto NTCIP 1202 objects (see `ntcip_objects`) and sets them
//!   on the controller over SNMP v2c whenever the running plan changes (`ntcip`).
//! - `sumo`: TraCI (`sumo::SumoDriver`); built by the closed-loop benchmark, which owns
//!   the simulation and the link mapping.

use std::io::Write;

use firmware_profiles::Driver;
use protocol::plan::TimingPlan;

use super::controller::Lamps;

pub trait SignalDriver: Send {
    /// Shows `lamps` (one of 'G', 'Y', 'R' per movement, profile order) from now on.
    fn apply(&mut self, now_ms: i64, movements: &[String], lamps: &Lamps) -> std::io::Result<()>;

    /// The running plan changed (a new plan from central, or the local plan): drivers of
    /// controllers that sequence themselves download its timing here.
    fn plan_changed(&mut self, _now_ms: i64, _plan: &TimingPlan) -> std::io::Result<()> {
        Ok(())
    }
}

pub struct LogDriver<W: Write + Send> {
    pub out: W,
}

impl<W: Write + Send> SignalDriver for LogDriver<W> {
    fn apply(&mut self, now_ms: i64, movements: &[String], lamps: &Lamps) -> std::io::Result<()> {
        let state: serde_json::Map<String, serde_json::Value> =
            movements.iter().zip(lamps).map(|(m, l)| (m.clone(), l.to_string().into())).collect();
        writeln!(self.out, "{}", serde_json::json!({ "t_ms": now_ms, "lamps": state }))?;
        self.out.flush()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum DriverError {
    #[error("driver {0} cannot run here: {1}")]
    Unsupported(&'static str, &'static str),
    #[error("driver ntcip1202: {0}")]
    Ntcip(String),
}

/// Where an NTCIP controller listens, and its SNMP write community.
#[derive(Debug, Clone)]
pub struct NtcipTarget {
    pub addr: String,
    pub community: String,
}

/// The driver for a controller profile (`log` overrides it for dry runs).
pub fn for_profile(
    driver: &Driver,
    dry_run: bool,
    ntcip: Option<&NtcipTarget>,
) -> Result<Box<dyn SignalDriver>, DriverError> {
    if dry_run {
        return Ok(Box::new(LogDriver { out: std::io::stdout() }));
    }
    match driver {
        Driver::Ntcip1202 { .. } => {
            let t = ntcip.ok_or_else(|| DriverError::Ntcip("needs --ntcip-target HOST:PORT (or --dry-run)".into()))?;
            let d =
                super::ntcip::NtcipDriver::connect(&t.addr, t.community.as_bytes(), std::time::Duration::from_secs(2))
                    .map_err(|e| DriverError::Ntcip(format!("{}: {e}", t.addr)))?;
            Ok(Box::new(d))
        }
        Driver::Sumo => Err(DriverError::Unsupported(
            "sumo",
            "the TraCI driver is built by the signals benchmark, which owns the simulation",
        )),
    }
}

/// NTCIP 1202 v03 phase timing objects (phaseTable, 1.3.6.1.4.1.1206.4.2.1.1.2.1.x) and
/// the coordination split for one plan: one phase per stage, times in the units the
/// standard uses (minimum green, maximum, walk, pedestrian clear in seconds; yellow
/// change and red clear in tenths of a second).
pub fn ntcip_objects(plan: &TimingPlan) -> Vec<(String, u32)> {
    const PHASE: &str = "1.3.6.1.4.1.1206.4.2.1.1.2.1";
    let mut out = Vec::new();
    for (i, s) in plan.stages.iter().enumerate() {
        let n = i + 1;
        let ped = s.pedestrian.as_ref();
        for (column, value) in [
            (2, ped.map_or(0, |p| p.walk_ms / 1000)),      // phaseWalk
            (3, ped.map_or(0, |p| p.clearance_ms / 1000)), // phasePedestrianClear
            (4, s.min_green_ms / 1000),                    // phaseMinimumGreen
            (6, s.max_green_ms / 1000),                    // phaseMaximum1
            (8, s.yellow_ms / 100),                        // phaseYellowChange
            (9, s.all_red_ms / 100),                       // phaseRedClear
        ] {
            out.push((format!("{PHASE}.{column}.{n}"), value));
        }
    }
    // patternTable: cycle and offset (seconds); splitTable: split time per phase.
    out.push(("1.3.6.1.4.1.1206.4.2.1.4.7.1.2.1".into(), plan.cycle_ms / 1000));
    out.push(("1.3.6.1.4.1.1206.4.2.1.4.7.1.3.1".into(), plan.offset_ms / 1000));
    for (i, s) in plan.stages.iter().enumerate() {
        out.push((format!("1.3.6.1.4.1.1206.4.2.1.4.9.1.3.1.{}", i + 1), (s.length_ms() / 1000) as u32));
    }
    out
}
