//! A read-only look at the pipeline after a frame: what annotation draws. Borrowed, not
//! copied, so taking it per frame costs nothing; it cannot change the pipeline's state.
//!
//! Counts are the line events emitted so far, i.e. decided ones: a crossing shows up
//! `decision_delay_s` after it happened (when its class is settled), as in the reports.

use super::Pipeline;
use crate::count::{LineDef, ZoneDef};
use crate::detect::{Detection, Detector};
use crate::track::Track;

#[derive(Debug, Clone, Copy)]
pub struct SceneView<'a> {
    /// The last frame's detections (after the rider merge), frame pixels.
    pub detections: &'a [Detection],
    /// Live tracks (tentative, confirmed and lost).
    pub tracks: &'a [Track],
    pub lines: &'a [LineDef],
    pub zones: &'a [ZoneDef],
    /// Line events so far, `[forward, backward]`, indexed like `lines`.
    pub line_totals: &'a [[u64; 2]],
    /// `(inside, stationary)` per zone, indexed like `zones`.
    pub occupancy: &'a [(u32, u32)],
}

impl<D: Detector> Pipeline<D> {
    /// What the pipeline sees and has counted at its last processed frame.
    pub fn view(&self) -> SceneView<'_> {
        SceneView {
            detections: &self.dets,
            tracks: self.tracker.tracks(),
            lines: &self.settings.lines,
            zones: &self.settings.zones,
            line_totals: &self.line_totals,
            occupancy: self.counter.occupancy(),
        }
    }
}
