//! RESCO's delay, made strict: mean over every vehicle scheduled to depart inside the
//! window of (timeLoss + departDelay) from SUMO's tripinfo (written for unfinished
//! vehicles too); a scheduled vehicle absent from the tripinfo never entered the network
//! and counts as (window end − scheduled departure). Also mean waiting time and trip
//! duration over the vehicles in the tripinfo.

use std::collections::HashMap;

use anyhow::{Context, Result};

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RunMetrics {
    pub delay: f64,
    pub wait: f64,
    pub duration: f64,
    pub vehicles: usize,
    pub never_entered: usize,
}

pub fn from_tripinfo(xml: &str, scheduled: &[(String, f64)], end: f64) -> Result<RunMetrics> {
    let doc = roxmltree::Document::parse(xml).context("tripinfo")?;
    let mut seen: HashMap<&str, (f64, f64, f64)> = HashMap::new();
    for n in doc.root_element().children().filter(|n| n.has_tag_name("tripinfo")) {
        let num = |a: &str| n.attribute(a).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
        let Some(id) = n.attribute("id") else { continue };
        seen.insert(id, (num("timeLoss") + num("departDelay"), num("waitingTime"), num("duration")));
    }
    let mut delay = 0.0;
    let mut never = 0;
    for (id, depart) in scheduled {
        match seen.get(id.as_str()) {
            Some((d, _, _)) => delay += d,
            None => {
                delay += (end - depart).max(0.0);
                never += 1;
            }
        }
    }
    let n = seen.len().max(1) as f64;
    Ok(RunMetrics {
        delay: delay / scheduled.len().max(1) as f64,
        wait: seen.values().map(|v| v.1).sum::<f64>() / n,
        duration: seen.values().map(|v| v.2).sum::<f64>() / n,
        vehicles: scheduled.len(),
        never_entered: never,
    })
}

/// Time lost on a junction's incoming edges and the vehicles that used them.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Loss {
    pub seconds: f64,
    pub vehicles: f64,
}

impl Loss {
    pub fn add(&mut self, o: &Loss) {
        self.seconds += o.seconds;
        self.vehicles += o.vehicles;
    }

    /// Mean delay per vehicle at the junction (s).
    pub fn per_vehicle(&self) -> f64 {
        if self.vehicles > 0.0 { self.seconds / self.vehicles } else { 0.0 }
    }
}

/// Per light: SUMO's edgeData `timeLoss` summed over the edges its links leave from,
/// and the vehicles that entered or departed on them.
pub fn per_light(
    edge_data: &str,
    lights: &[crate::scenario::Light],
) -> Result<std::collections::BTreeMap<String, Loss>> {
    let doc = roxmltree::Document::parse(edge_data).context("edgeData")?;
    let mut edges: HashMap<&str, Loss> = HashMap::new();
    for e in doc.descendants().filter(|n| n.has_tag_name("edge")) {
        let num = |a: &str| e.attribute(a).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
        let Some(id) = e.attribute("id") else { continue };
        edges
            .entry(id)
            .or_default()
            .add(&Loss { seconds: num("timeLoss"), vehicles: num("entered") + num("departed") });
    }
    Ok(lights
        .iter()
        .map(|l| {
            let mut incoming: Vec<&str> = l
                .links
                .iter()
                .flat_map(|k| k.lanes.iter())
                .filter_map(|(from, _)| from.rsplit_once('_').map(|(e, _)| e))
                .collect();
            incoming.sort();
            incoming.dedup();
            let mut loss = Loss::default();
            for e in incoming {
                loss.add(edges.get(e).unwrap_or(&Loss::default()));
            }
            (l.id.clone(), loss)
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vehicles_that_never_entered_count_until_the_window_ends() {
        let xml = r#"<tripinfos>
            <tripinfo id="a" depart="10" duration="100" timeLoss="30" departDelay="2" waitingTime="12"/>
            <tripinfo id="b" depart="20" duration="50" timeLoss="10" departDelay="0" waitingTime="4"/>
        </tripinfos>"#;
        let scheduled = vec![("a".to_string(), 8.0), ("b".to_string(), 20.0), ("c".to_string(), 3500.0)];
        let m = from_tripinfo(xml, &scheduled, 3600.0).unwrap();
        assert_eq!(m.never_entered, 1);
        assert!((m.delay - (32.0 + 10.0 + 100.0) / 3.0).abs() < 1e-9);
        assert!((m.wait - 8.0).abs() < 1e-9 && (m.duration - 75.0).abs() < 1e-9);
    }
}
