//! New counting geometry on a running pipeline, without a restart or a dropped frame.
//!
//! A geometry handed to `reconfigure` waits for the next interval boundary: the interval
//! open when it arrived closes with the old lines and zones, the next one opens with the
//! new. At the boundary every crossing still pending under the old geometry is decided
//! (its class from the votes so far), the old interval is closed, and the new counter
//! adopts the tracks on the road from where they are (a vehicle is not counted twice
//! for a crossing it made before the switch). The tracker, the detector, the scene check
//! and the camera's size model carry on.
//!
//! A second geometry arriving before the boundary replaces the first; `applied` reports
//! only the version that was put in place.

use protocol::IntervalCounts;

use super::{Pipeline, aggregator_for, preparer_for};
use crate::count::{Counter, IncidentDetector, IncidentRules, LineDef, ZoneDef};
use crate::detect::Detector;
use protocol::calibration::Calibration;

/// Lines, zones, their incident rules and the calibration, with the version they came as.
#[derive(Debug, Clone)]
pub struct Geometry {
    pub version: u64,
    pub lines: Vec<LineDef>,
    pub zones: Vec<ZoneDef>,
    pub incidents: IncidentRules,
    pub calibration: Option<Calibration>,
}

impl<D: Detector> Pipeline<D> {
    /// Puts `geometry` in place at the next interval boundary (at once before the first
    /// frame). Replaces a geometry still waiting.
    pub fn reconfigure(&mut self, geometry: Geometry) {
        let boundary = self.last_frame_ms.map(|t| self.aggregator.next_boundary(t));
        self.next_geometry = Some((geometry, boundary));
        if boundary.is_none() {
            self.switch_geometry(None);
        }
    }

    /// The version put in place since the last call, if any (then `preparer()` has the
    /// new views: the prepare stage needs it).
    pub fn take_applied(&mut self) -> Option<u64> {
        self.applied_version.take()
    }

    /// Switches when `now_ms` has reached the waiting geometry's boundary; returns the
    /// intervals the old geometry closed.
    pub(super) fn switch_if_due(&mut self, now_ms: i64) -> Vec<IntervalCounts> {
        match &self.next_geometry {
            Some((_, Some(boundary))) if now_ms >= *boundary => {
                let boundary = *boundary;
                self.switch_geometry(Some(boundary))
            }
            _ => Vec::new(),
        }
    }

    fn switch_geometry(&mut self, boundary: Option<i64>) -> Vec<IntervalCounts> {
        let Some((next, _)) = self.next_geometry.take() else { return Vec::new() };
        let mut closed = Vec::new();
        if let Some(boundary) = boundary {
            // Everything pending under the old lines is decided now, inside the old interval.
            self.counter.finish(self.tracker.tracks(), boundary - 1);
            self.events.extend(self.counter.drain_events());
            self.emit_events();
        }
        self.settings.lines = next.lines;
        self.settings.zones = next.zones;
        self.settings.incidents = next.incidents;
        self.settings.calibration = next.calibration;
        let mut aggregator = aggregator_for(&self.settings);
        if let Some(boundary) = boundary {
            self.aggregator.hand_over(&mut aggregator, boundary);
            closed = self.aggregator.flush(boundary - 1);
        }
        self.aggregator = aggregator;
        let mut counter =
            Counter::new(self.settings.lines.clone(), self.settings.zones.clone(), self.settings.count.clone())
                .with_calibration(self.settings.calibration.clone());
        counter.adopt(self.tracker.tracks(), boundary.unwrap_or(0));
        self.counter = counter;
        self.incidents = IncidentDetector::new(self.settings.incidents.clone());
        self.preparer = preparer_for(&self.settings, &self.detector, &self.scene);
        self.line_totals = vec![[0; 2]; self.settings.lines.len()];
        self.applied_version = Some(next.version);
        tracing::info!(
            version = next.version,
            lines = self.settings.lines.len(),
            zones = self.settings.zones.len(),
            at_ms = boundary,
            "new counting geometry in place"
        );
        closed
    }
}
