//! Model inputs prepared for one frame: the views to look at, and one letterboxed NCHW
//! tensor per view. Preparing needs only the frame and the model's input contract, so
//! it runs on its own thread, overlapped with inference on the previous frame; the
//! decoded frame can be released as soon as its tensors are filled.
//!
//! Invariant: `tensors[i]` holds `views[i]` as mapped by `maps[i]`. Buffers are reused
//! from frame to frame (the consumer sends a `PreparedFrame` back to be refilled).

use std::time::{Duration, Instant, SystemTime};

use models::InputSpec;
use ndarray::Array4;

use super::ViewPlan;
use super::preprocess::{LetterboxMap, Preprocessor};
use crate::frame::Frame;
use crate::geometry::BBox;

/// Timing and size of the frame the inputs came from.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FrameMeta {
    pub index: u64,
    pub pts_ns: u64,
    pub captured_at: SystemTime,
    pub width: u32,
    pub height: u32,
}

impl Default for FrameMeta {
    fn default() -> Self {
        FrameMeta { index: 0, pts_ns: 0, captured_at: SystemTime::UNIX_EPOCH, width: 0, height: 0 }
    }
}

#[derive(Debug, Default)]
pub struct PreparedFrame {
    pub meta: FrameMeta,
    pub views: Vec<BBox>,
    pub maps: Vec<LetterboxMap>,
    pub tensors: Vec<Array4<f32>>,
    /// Time spent preparing this frame.
    pub prep_time: Duration,
}

/// Turns frames into `PreparedFrame`s. `Send`, so it can live on its own thread.
#[derive(Clone)]
pub struct Preparer {
    pre: Option<Preprocessor>,
    plan: ViewPlan,
    views_for: (u32, u32),
    views: Vec<BBox>,
}

impl Preparer {
    /// `spec`: the model input contract, or `None` for a detector that takes no tensor.
    pub fn new(spec: Option<&InputSpec>, plan: ViewPlan) -> Preparer {
        Preparer { pre: spec.map(Preprocessor::new), plan, views_for: (0, 0), views: Vec::new() }
    }

    pub fn prepare(&mut self, frame: &Frame, out: &mut PreparedFrame) {
        let start = Instant::now();
        if self.views_for != (frame.width, frame.height) {
            self.views = self.plan.views(frame.width, frame.height);
            self.views_for = (frame.width, frame.height);
        }
        out.meta = FrameMeta { index: frame.index, pts_ns: frame.pts_ns, captured_at: frame.captured_at, width: frame.width, height: frame.height };
        out.views.clone_from(&self.views);
        out.maps.clear();
        if let Some(pre) = self.pre.as_mut() {
            let (w, h) = pre.input_size();
            out.tensors.resize_with(self.views.len(), || Array4::zeros((1, 3, h as usize, w as usize)));
            for (view, tensor) in self.views.iter().zip(out.tensors.iter_mut()) {
                let buf = tensor.as_slice_mut().expect("standard layout");
                out.maps.push(pre.fill(frame, view, buf));
            }
        }
        out.prep_time = start.elapsed();
    }
}
