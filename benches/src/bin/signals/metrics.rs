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
