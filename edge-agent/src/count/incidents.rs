//! Incidents seen by the camera: a vehicle standing in a no-stopping zone for longer than
//! the zone allows (`stopped_vehicle`), and a vehicle crossing a one-way line against
//! its direction (`wrong_way`). Fed by the counter: its decided line crossings, and each
//! frame's standing tracks.
//!
//! Invariants: each (track, kind, line or zone) is reported at most once; a vehicle that
//! moves again (or leaves the zone) starts its standing time from zero; what the
//! counter takes for a pedestrian (class `None`) never makes a stopped-vehicle incident.

use std::collections::{HashMap, HashSet};

use protocol::messages::{Incident, IncidentKind};

use super::{CountEvent, Direction, EventKind};

/// Per line: the permitted direction (`None`: two-way). Per zone: how long a vehicle may
/// stand in it (`None`: any time, e.g. a stop line's queue).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct IncidentRules {
    pub one_way: Vec<Option<Direction>>,
    pub no_stopping_ms: Vec<Option<i64>>,
    pub line_names: Vec<String>,
    pub zone_names: Vec<String>,
}

impl IncidentRules {
    pub fn any(&self) -> bool {
        self.one_way.iter().any(Option::is_some) || self.no_stopping_ms.iter().any(Option::is_some)
    }
}

pub struct IncidentDetector {
    rules: IncidentRules,
    /// (track, zone) → when it was first seen standing there, in this standing spell.
    standing_since: HashMap<(u64, usize), i64>,
    reported: HashSet<(u64, IncidentKind, usize)>,
    out: Vec<Incident>,
}

impl IncidentDetector {
    /// Incidents come out with an empty `camera_id` and an `incident_id` unique within
    /// this detector (`{track}-{kind}-{place}`); the agent adds its camera and epoch.
    pub fn new(rules: IncidentRules) -> IncidentDetector {
        IncidentDetector { rules, standing_since: HashMap::new(), reported: HashSet::new(), out: Vec::new() }
    }

    fn report(&mut self, track: u64, kind: IncidentKind, index: usize, mut incident: Incident) {
        if self.reported.insert((track, kind, index)) {
            let place = incident.line.as_deref().or(incident.zone.as_deref()).unwrap_or("");
            incident.incident_id = format!("{track}-{}-{place}", kind.as_str());
            self.out.push(incident);
        }
    }

    /// A decided count event: a crossing of a one-way line against its direction.
    pub fn on_event(&mut self, ev: &CountEvent) {
        let EventKind::Line { line, direction } = ev.kind else { return };
        if self.rules.one_way.get(line).copied().flatten().is_some_and(|allowed| allowed != direction) {
            let incident = Incident {
                camera_id: String::new(),
                incident_id: String::new(),
                kind: IncidentKind::WrongWay,
                at_ms: ev.at_ms,
                line: self.rules.line_names.get(line).cloned(),
                zone: None,
                class: Some(ev.class),
                stopped_s: None,
                detail: None,
            };
            self.report(ev.track, IncidentKind::WrongWay, line, incident);
        }
    }

    /// One frame's standing tracks: (track, zone, class so far).
    pub fn on_frame(&mut self, standing: &[(u64, usize, Option<protocol::VehicleClass>)], at_ms: i64) {
        self.standing_since.retain(|key, _| standing.iter().any(|&(t, z, _)| (t, z) == *key));
        for &(track, zone, class) in standing {
            let Some(limit) = self.rules.no_stopping_ms.get(zone).copied().flatten() else { continue };
            let Some(class) = class else { continue };
            let since = *self.standing_since.entry((track, zone)).or_insert(at_ms);
            if at_ms - since >= limit {
                let incident = Incident {
                    camera_id: String::new(),
                    incident_id: String::new(),
                    kind: IncidentKind::StoppedVehicle,
                    at_ms,
                    line: None,
                    zone: self.rules.zone_names.get(zone).cloned(),
                    class: Some(class),
                    stopped_s: Some((at_ms - since) as f64 / 1000.0),
                    detail: None,
                };
                self.report(track, IncidentKind::StoppedVehicle, zone, incident);
            }
        }
        // Ended tracks cannot be reported again; keep the memory bounded.
        if self.reported.len() > 10_000 {
            self.reported.clear();
        }
    }

    pub fn drain(&mut self) -> Vec<Incident> {
        std::mem::take(&mut self.out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use protocol::VehicleClass;

    fn detector() -> IncidentDetector {
        let rules = IncidentRules {
            one_way: vec![Some(Direction::Forward), None],
            no_stopping_ms: vec![Some(30_000), None],
            line_names: vec!["one_way".into(), "two_way".into()],
            zone_names: vec!["hard_shoulder".into(), "stop_line_queue".into()],
        };
        IncidentDetector::new(rules)
    }

    fn crossing(line: usize, direction: Direction, track: u64) -> CountEvent {
        let kind = EventKind::Line { line, direction };
        CountEvent { kind, class: VehicleClass::Motorcycle, at_ms: 1_000, track, speed_kmh: None }
    }

    #[test]
    fn wrong_way_only_against_a_one_way_line_and_once_per_track() {
        let mut d = detector();
        d.on_event(&crossing(0, Direction::Forward, 1));
        d.on_event(&crossing(1, Direction::Backward, 2));
        assert!(d.drain().is_empty());
        d.on_event(&crossing(0, Direction::Backward, 3));
        d.on_event(&crossing(0, Direction::Backward, 3));
        let out = d.drain();
        assert_eq!(out.len(), 1);
        assert_eq!(
            (out[0].kind, out[0].line.as_deref(), out[0].class),
            (IncidentKind::WrongWay, Some("one_way"), Some(VehicleClass::Motorcycle))
        );
        assert_eq!(out[0].incident_id, "3-wrong_way-one_way");
    }

    #[test]
    fn stopped_vehicle_after_the_zone_limit_reset_by_moving_never_for_pedestrians() {
        let mut d = detector();
        let car = Some(VehicleClass::Car);
        for t in (0..=29_000).step_by(1_000) {
            d.on_frame(&[(1, 0, car), (2, 1, car), (3, 0, None)], t);
        }
        assert!(d.drain().is_empty(), "29 s is under the limit; zone 1 has none; a pedestrian never");
        // Track 1 moves for a frame: its standing time starts again.
        d.on_frame(&[(2, 1, car), (3, 0, None)], 30_000);
        for t in (31_000..=61_000).step_by(1_000) {
            d.on_frame(&[(1, 0, car), (3, 0, None)], t);
        }
        let out = d.drain();
        assert_eq!(out.len(), 1, "{out:?}");
        assert_eq!(
            (out[0].kind, out[0].zone.as_deref(), out[0].class),
            (IncidentKind::StoppedVehicle, Some("hard_shoulder"), car)
        );
        assert_eq!((out[0].at_ms, out[0].stopped_s), (61_000, Some(30.0)));
        d.on_frame(&[(1, 0, car)], 90_000);
        assert!(d.drain().is_empty(), "reported once");
    }
}
