//! Which driver a junction gets: its controller profile's (`ntcip1202` needs a target),
//! or `log` for a dry run. A leaf over the drivers, so none of them depends on another.

use firmware_profiles::Driver;

use super::driver::{LogDriver, SignalDriver};
use super::ntcip::NtcipDriver;

#[derive(Debug, thiserror::Error)]
pub enum DriverError {
    #[error("driver {0} cannot run here: {1}")]
    Unsupported(&'static str, &'static str),
    #[error("driver ntcip1202: {0}")]
    Ntcip(String),
}

/// Where an NTCIP controller listens, and its SNMP write community.
/// Where an NTCIP controller listens, and its SNMP write community.
#[derive(Debug, Clone)]
pub struct NtcipTarget {
    pub addr: String,
    pub community: String,
}

/// The driver for a controller profile (`log` overrides it for dry runs).
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
            let d = NtcipDriver::connect(&t.addr, t.community.as_bytes(), std::time::Duration::from_secs(2))
                .map_err(|e| DriverError::Ntcip(format!("{}: {e}", t.addr)))?;
            Ok(Box::new(d))
        }
        Driver::Sumo => Err(DriverError::Unsupported(
            "sumo",
            "the TraCI driver is built by the signals benchmark, which owns the simulation",
        )),
    }
}
