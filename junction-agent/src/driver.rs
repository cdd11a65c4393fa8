//! Drivers put the controller's lamp states onto a signal controller: the
//! `SignalDriver` trait and the `log` driver, which writes every change as a JSON line
//! (bench tests, dry runs beside a real controller). The others implement the trait in
//! their own files: `ntcip` (NTCIP 1202 over SNMP v2c) and `sumo` (TraCI, built by the
//! closed-loop benchmark, which owns the simulation). Which one a junction gets is
//! `driver_choice`.

use std::io::Write;

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
