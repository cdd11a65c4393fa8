//! Model inputs prepared for one frame: the views to look at, and one letterboxed NCHW
//! tensor per view. Preparing needs only the frame and the model's input contract, so
//! it runs on its own thread, overlapped with inference on the previous frame; the
//! decoded frame can be released as soon as its tensors are filled.
//!
//! Invariant: `tensors[i]` holds `views[i]` as mapped by `maps[i]`. Buffers are reused
//! from frame to frame (the consumer sends a `PreparedFrame` back to be refilled).
//!
//! With `with_pictures` (annotation only) every frame, repeats included, also carries
//! its pixels as RGB in `picture`, since the decoded frame itself is released here; off
//! by default, so counting pays nothing for it.

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
    /// A luma thumbnail for the camera-moved check, about every `check_every_s`.
    pub thumb: Option<crate::scene::Thumb>,
    /// The frame repeats the last one looked at: no tensors were filled (see `repeat`).
    pub repeat: bool,
    /// The whole frame as RGB, when the preparer was built `with_pictures`.
    pub picture: Option<image::RgbImage>,
}

/// Turns frames into `PreparedFrame`s. `Send`, so it can live on its own thread.
#[derive(Clone)]
pub struct Preparer {
    pre: Option<Preprocessor>,
    plan: ViewPlan,
    views_for: (u32, u32),
    views: Vec<BBox>,
    /// Thumbnail period (ns) and the pts of the last one taken.
    thumb_every_ns: Option<u64>,
    last_thumb_pts: Option<u64>,
    repeats: Option<super::repeat::RepeatCheck>,
    pictures: bool,
    /// The next frame only (a snapshot was asked for).
    picture_once: bool,
}

impl Preparer {
    /// `spec`: the model input contract, or `None` for a detector that takes no tensor.
    pub fn new(spec: Option<&InputSpec>, plan: ViewPlan) -> Preparer {
        Preparer {
            pre: spec.map(Preprocessor::new),
            plan,
            views_for: (0, 0),
            views: Vec::new(),
            thumb_every_ns: None,
            last_thumb_pts: None,
            repeats: None,
            pictures: false,
            picture_once: false,
        }
    }

    pub fn prepare(&mut self, frame: &Frame, out: &mut PreparedFrame) {
        let start = Instant::now();
        if self.views_for != (frame.width, frame.height) {
            self.views = self.plan.views(frame.width, frame.height);
            self.views_for = (frame.width, frame.height);
        }
        out.meta = FrameMeta {
            index: frame.index,
            pts_ns: frame.pts_ns,
            captured_at: frame.captured_at,
            width: frame.width,
            height: frame.height,
        };
        out.views.clone_from(&self.views);
        if self.pictures || std::mem::take(&mut self.picture_once) {
            frame.to_rgb_into(out.picture.get_or_insert_with(Default::default));
        } else {
            // A recycled buffer keeps the picture of the frame it last carried (drawn on,
            // perhaps): it must never reach a sink as this frame's.
            out.picture = None;
        }
        out.repeat = self.repeats.as_mut().is_some_and(|r| r.is_repeat(frame));
        out.thumb = None;
        if out.repeat {
            out.prep_time = start.elapsed();
            return;
        }
        // What each recycled tensor was last filled with: same letterbox, padding intact.
        let previous = std::mem::take(&mut out.maps);
        if let Some(pre) = self.pre.as_mut() {
            let (w, h) = pre.input_size();
            out.tensors.resize_with(self.views.len(), || Array4::zeros((1, 3, h as usize, w as usize)));
            for (i, (view, tensor)) in self.views.iter().zip(out.tensors.iter_mut()).enumerate() {
                let buf = tensor.as_slice_mut().expect("standard layout");
                out.maps.push(pre.fill_over(frame, view, buf, previous.get(i)));
            }
        }
        if let Some(every) = self.thumb_every_ns
            && self.last_thumb_pts.is_none_or(|last| frame.pts_ns < last || frame.pts_ns - last >= every)
        {
            self.last_thumb_pts = Some(frame.pts_ns);
            out.thumb = Some(thumbnail(frame));
        }
        out.prep_time = start.elapsed();
    }

    /// Skip frames that repeat the last one looked at (`max_diff` grey levels; 0: never),
    /// but look at least once a second.
    pub fn with_repeat_check(mut self, max_diff: f32) -> Preparer {
        self.repeats = (max_diff > 0.0).then(|| super::repeat::RepeatCheck::new(max_diff, 1_000_000_000));
        self
    }

    /// Carry the next frame's pixels as RGB (a snapshot).
    pub fn picture_next(&mut self) {
        self.picture_once = true;
    }

    /// Also carry every frame's pixels as RGB (`PreparedFrame::picture`), for annotation.
    pub fn with_pictures(mut self) -> Preparer {
        self.pictures = true;
        self
    }

    /// Whether every frame carries its picture (`with_pictures`).
    pub fn carries_pictures(&self) -> bool {
        self.pictures
    }

    /// Also take a thumbnail every `every_ms` of stream time (the camera-moved check).
    pub fn with_thumbnails(mut self, every_ms: u64) -> Preparer {
        self.thumb_every_ns = Some(every_ms * 1_000_000);
        self
    }
}

/// The frame's luma on the `scene` thumbnail grid: each cell the mean of 4 samples.
fn thumbnail(frame: &Frame) -> crate::scene::Thumb {
    use crate::frame::PixelFormat;
    use crate::scene::{THUMB_H, THUMB_W};
    let bytes = frame.bytes();
    let p0 = frame.plane(0);
    let (w, h) = (frame.width as usize, frame.height as usize);
    let luma_at = |x: usize, y: usize| -> f32 {
        let x = x.min(w.saturating_sub(1));
        let y = y.min(h.saturating_sub(1));
        match frame.format {
            PixelFormat::I420 | PixelFormat::Nv12 => {
                bytes.get(p0.offset + y * p0.stride + x).copied().unwrap_or(0) as f32
            }
            PixelFormat::Rgb | PixelFormat::Bgr => {
                let i = p0.offset + y * p0.stride + 3 * x;
                match bytes.get(i..i + 3) {
                    Some(px) => (px[0] as f32 + 2.0 * px[1] as f32 + px[2] as f32) / 4.0,
                    None => 0.0,
                }
            }
        }
    };
    let mut luma = Vec::with_capacity(THUMB_W * THUMB_H);
    for cy in 0..THUMB_H {
        for cx in 0..THUMB_W {
            let (x0, y0) = (cx * w / THUMB_W, cy * h / THUMB_H);
            let (dx, dy) = ((w / THUMB_W / 4).max(1), (h / THUMB_H / 4).max(1));
            let sum = luma_at(x0 + dx, y0 + dy)
                + luma_at(x0 + 3 * dx, y0 + dy)
                + luma_at(x0 + dx, y0 + 3 * dy)
                + luma_at(x0 + 3 * dx, y0 + 3 * dy);
            luma.push(sum / 4.0);
        }
    }
    crate::scene::Thumb { at_ms: crate::ingest::health::unix_ms(frame.captured_at), luma }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_recycled_buffer_never_carries_an_earlier_frames_picture() {
        let mut preparer = Preparer::new(None, ViewPlan::default());
        let frame = Frame::from_rgb(16, 8, vec![200; 16 * 8 * 3]).unwrap();
        let mut buf = PreparedFrame::default();
        preparer.picture_next();
        preparer.prepare(&frame, &mut buf);
        assert!(buf.picture.is_some(), "the snapshot's frame carries its picture");
        // The same buffer back from the loop (drawn on by a sink), for the next frame.
        preparer.prepare(&frame, &mut buf);
        assert!(buf.picture.is_none(), "no stale picture on a frame nobody asked a picture of");
        let mut always = Preparer::new(None, ViewPlan::default()).with_pictures();
        always.prepare(&frame, &mut buf);
        always.prepare(&frame, &mut buf);
        assert!(buf.picture.is_some());
    }
}
