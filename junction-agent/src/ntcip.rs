//! The `ntcip1202` driver's transport: SNMP v2c SET of a plan's NTCIP 1202 objects
//! (`driver::ntcip_objects`: phase timing, coordination pattern, splits) to the
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
use super::driver::{SignalDriver, ntcip_objects};

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
