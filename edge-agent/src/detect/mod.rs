//! Detection stage: frame (+ the views to look at) → boxes with product classes.
//!
//! Both shipped detectors (YOLOX and NanoDet) run behind [`Detector`]; what differs
//! between them is data in their manifests (tensor contract, decoder kind, class map).
//! Several views of one frame (full frame, region of interest, tiles) are detected
//! separately and merged, so small distant motorbikes get more pixels where needed.

pub mod band;
pub mod decode;
pub mod nms;
pub mod onnx;
pub mod prepare;
pub mod preprocess;
pub mod repeat;
pub mod views;

use protocol::ObjectClass;
use serde::Deserialize;

use crate::frame::Frame;
use crate::geometry::BBox;

pub use onnx::{DetectorError, OnnxDetector, ort_library_path};
pub use prepare::{FrameMeta, PreparedFrame, Preparer};
pub use views::ViewPlan;

/// One detected object in frame pixels.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Detection {
    pub bbox: BBox,
    /// Score of `class` (for YOLOX: objectness × class probability).
    pub score: f32,
    pub class: ObjectClass,
    /// Score of every product class, indexed by `ObjectClass::index`.
    pub class_scores: [f32; 6],
}

/// A detection whose only class evidence is `class` at `score` (for unit tests).
#[cfg(test)]
pub(crate) fn test_detection(class: ObjectClass, score: f32, b: [f32; 4]) -> Detection {
    let mut class_scores = [0.0; 6];
    class_scores[class.index()] = score;
    Detection { bbox: BBox::new(b[0], b[1], b[2], b[3]), score, class, class_scores }
}

/// Detection thresholds; defaults suit ByteTrack, which uses low-score boxes too.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct DetectSettings {
    /// Candidates below this score are dropped before NMS.
    pub min_score: f32,
    /// IoU above which a same-class box is suppressed.
    pub nms_iou: f32,
    /// Intersection-over-smaller above which boxes of one class from different views merge.
    pub view_merge_ios: f32,
    /// IoU above which boxes of two vehicle classes are one vehicle.
    pub cross_class_iou: f32,
    /// A frame whose luma changed by less than this (grey levels, worst block) since the
    /// last frame looked at repeats it and is skipped (see `repeat`); 0 looks at every frame.
    pub repeat_max_diff: f32,
}

impl Default for DetectSettings {
    fn default() -> Self {
        DetectSettings {
            min_score: 0.1,
            nms_iou: 0.45,
            view_merge_ios: 0.6,
            cross_class_iou: 0.55,
            repeat_max_diff: 3.0,
        }
    }
}

/// Cumulative time inside a detector, split by step.
#[derive(Debug, Clone, Copy, Default)]
pub struct DetectTimes {
    pub inferences: u64,
    pub preprocess: std::time::Duration,
    pub inference: std::time::Duration,
    pub postprocess: std::time::Duration,
}

/// A detector over prepared frames (see `prepare`): pre-processing is split off so it
/// can run on another thread than inference.
pub trait Detector {
    /// The input contract a `Preparer` must fill (`None`: no tensor needed).
    fn input_spec(&self) -> Option<&models::InputSpec>;
    /// Detects objects in the views of one prepared frame, in frame pixels.
    fn detect_prepared(&mut self, input: &PreparedFrame, out: &mut Vec<Detection>) -> Result<(), DetectorError>;
    /// Prepares and detects in one call, on this thread.
    fn detect(&mut self, frame: &Frame, views: &[BBox], out: &mut Vec<Detection>) -> Result<(), DetectorError> {
        let plan = ViewPlan {
            full: Some(false),
            line_tiles: 0,
            crops: views.iter().map(|v| [v.x1, v.y1, v.x2, v.y2]).collect(),
            ..Default::default()
        };
        let mut prepared = PreparedFrame::default();
        Preparer::new(self.input_spec(), plan).prepare(frame, &mut prepared);
        self.detect_prepared(&prepared, out)
    }
    /// Model id reported with counts.
    fn model_id(&self) -> &str;
    /// Time spent so far, by step (for benchmarks and status).
    fn times(&self) -> DetectTimes {
        DetectTimes::default()
    }
}
