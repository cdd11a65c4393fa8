//! The harness's safety check, the same for every controller: each simulated second it
//! reads what every light shows (TraCI, not what a controller meant to show) and feeds
//! it to `protocol::plan::Monitor` with the junction's rules (conflicts, minimum green,
//! yellow 3–6 s, all-red). SUMO's 'G'/'g' are green, 'y'/'Y' yellow, anything else red.

use anyhow::Result;
use junction_agent::traci::Traci;
use protocol::plan::{Breach, Monitor};

use crate::sumo_junction::SumoJunction;

pub struct Monitors {
    lights: Vec<(String, Vec<Option<usize>>, Monitor)>,
    /// The first few breaches, for the report.
    pub examples: Vec<(String, Breach)>,
}

impl Monitors {
    pub fn new(junctions: &[SumoJunction]) -> Monitors {
        let lights = junctions
            .iter()
            .map(|j| (j.tls.clone(), j.movement_of_link.clone(), Monitor::new(j.profile.rules())))
            .collect();
        Monitors { lights, examples: Vec::new() }
    }

    pub fn observe(&mut self, t: f64, traci: &mut Traci) -> Result<()> {
        for (tls, links, monitor) in &mut self.lights {
            let state = traci.tl_state(tls)?;
            let mut lamps = vec!['R'; monitor.rules().movements.len()];
            for (c, m) in state.chars().zip(links.iter()) {
                if let Some(m) = m {
                    lamps[*m] = match c {
                        'G' | 'g' => 'G',
                        'y' | 'Y' => 'Y',
                        _ => 'R',
                    };
                }
            }
            for b in monitor.observe((t * 1000.0) as i64, &lamps) {
                if self.examples.len() < 5 {
                    self.examples.push((tls.clone(), b));
                }
            }
        }
        Ok(())
    }

    /// Breaches by code over every light.
    pub fn breaches(&self) -> std::collections::BTreeMap<&'static str, u64> {
        let mut all = std::collections::BTreeMap::new();
        for (code, n) in self.lights.iter().flat_map(|l| l.2.by_code.iter()) {
            *all.entry(*code).or_default() += n;
        }
        all
    }
}
