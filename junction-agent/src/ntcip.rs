//! The `ntcip1202` driver's transport: SNMP v2c SET of a plan's NTCIP 1202 objects
//! (`ntcip_objects`: phase timing, coordination pattern, splits) to the
//! controller, all in one PDU so the controller takes the whole plan or none of it.
//!
//! An NTCIP controller runs its own phase sequence (and its own detector actuation);
//! this driver downloads timing when the running plan changes — a new plan from
//! central, or the local plan on fallback — and shows no lamps itself. The community
//! string comes from the environment, never from a file in the repository.

use std::io;
use std::time::Duration;

use protocol::plan::TimingPlan;
use snmp2::{Oid, SyncSession, Value};

use super::controller::Lamps;
use super::driver::SignalDriver;

pub struct NtcipDriver {
    session: SyncSession,
    target: String,
}

fn oid(dotted: &str) -> io::Result<Oid<'static>> {
    let arcs: Vec<u64> = dotted
        .split('.')
        .map(|a| a.parse::<u64>())
        .collect::<Result<_, _>>()
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, format!("OID {dotted}: {e}")))?;
    Oid::from(&arcs).map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, format!("OID {dotted}: {e:?}")))
}

impl NtcipDriver {
    pub fn connect(target: &str, community: &[u8], timeout: Duration) -> io::Result<NtcipDriver> {
        let session = SyncSession::new_v2c(target, community, Some(timeout), 0)?;
        Ok(NtcipDriver { session, target: target.into() })
    }

    /// Sets every object of `plan` in one request; an error names what the controller
    /// refused.
    pub fn download(&mut self, plan: &TimingPlan) -> io::Result<()> {
        let objects = ntcip_objects(plan);
        let oids: Vec<Oid<'static>> = objects.iter().map(|(o, _)| oid(o)).collect::<io::Result<_>>()?;
        let values: Vec<(&Oid, Value)> =
            oids.iter().zip(&objects).map(|(o, (_, v))| (o, Value::Integer(*v as i64))).collect();
        let response =
            self.session.set(&values).map_err(|e| io::Error::other(format!("SNMP SET to {}: {e}", self.target)))?;
        if response.error_status != 0 {
            let at = (response.error_index as usize)
                .checked_sub(1)
                .and_then(|i| objects.get(i))
                .map_or("?", |(o, _)| o.as_str());
            return Err(io::Error::other(format!(
                "controller {} refused plan {} v{}: error-status {} at {at}",
                self.target, plan.plan_id, plan.version, response.error_status
            )));
        }
        tracing::info!(
            controller = %self.target,
            plan = %plan.plan_id,
            version = plan.version,
            objects = objects.len(),
            "plan downloaded (NTCIP 1202)"
        );
        Ok(())
    }
}

impl SignalDriver for NtcipDriver {
    fn apply(&mut self, _now_ms: i64, _movements: &[String], _lamps: &Lamps) -> io::Result<()> {
        Ok(())
    }

    fn plan_changed(&mut self, _now_ms: i64, plan: &TimingPlan) -> io::Result<()> {
        self.download(plan)
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
