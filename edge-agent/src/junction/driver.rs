//! Drivers put the controller's lamp states onto a signal controller.
//!
//! - `log`: writes every change as a JSON line (bench tests, dry runs beside a real
//!   controller).
//! - `ntcip1202`: maps a plan onto NTCIP 1202 objects (see `ntcip_objects`); the SNMP
//!   transport is not implemented — there is no controller to test it against here — so
//!   selecting it is a clear start-up error, not a silent no-op.
//! - `sumo`: TraCI (`sumo::SumoDriver`); built by the closed-loop benchmark, which owns
//!   the simulation and the link mapping.

use std::io::Write;

use firmware_profiles::Driver;
use protocol::plan::TimingPlan;

use super::controller::Lamps;

pub trait SignalDriver: Send {
    /// Shows `lamps` (one of 'G', 'Y', 'R' per movement, profile order) from now on.
    fn apply(&mut self, now_ms: i64, movements: &[String], lamps: &Lamps) -> std::io::Result<()>;
}

pub struct LogDriver<W: Write + Send> {
    pub out: W,
}

impl<W: Write + Send> SignalDriver for LogDriver<W> {
    fn apply(&mut self, now_ms: i64, movements: &[String], lamps: &Lamps) -> std::io::Result<()> {
        let state: serde_json::Map<String, serde_json::Value> = movements.iter().zip(lamps).map(|(m, l)| (m.clone(), l.to_string().into())).collect();
        writeln!(self.out, "{}", serde_json::json!({ "t_ms": now_ms, "lamps": state }))?;
        self.out.flush()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum DriverError {
    #[error("driver {0} cannot run on this build: {1}")]
    Unsupported(&'static str, &'static str),
}

/// The driver for a controller profile (`log` overrides it for dry runs).
pub fn for_profile(driver: &Driver, dry_run: bool) -> Result<Box<dyn SignalDriver>, DriverError> {
    if dry_run {
        return Ok(Box::new(LogDriver { out: std::io::stdout() }));
    }
    match driver {
        Driver::Ntcip1202 { .. } => Err(DriverError::Unsupported("ntcip1202", "SNMP transport not implemented; run with --dry-run to log lamp states")),
        Driver::Sumo => Err(DriverError::Unsupported("sumo", "the TraCI driver runs inside the signals benchmark")),
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
