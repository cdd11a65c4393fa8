//! Repeated frames. Real cameras and re-encoded clips deliver frames that repeat the one
//! before (a stalled encoder, frame-rate conversion): the shared HCMC clip repeats every
//! third frame, the Saigon clip a third of its frames in runs of up to four. A repeat
//! carries no new information, and fed to a tracker it is harmful: vehicles stand still
//! for one frame and jump twice as far on the next, which breaks constant-velocity
//! prediction. So a repeat is recognised before inference and skipped (no inference,
//! no tracker step); the interval still counts it as covered time.
//!
//! Test: luma sampled on a 64×36 grid, compared block by block (16×9 blocks of 4×4
//! samples) with the last frame that was *not* a repeat. A frame is a repeat when no
//! block changed by `max_block_diff` grey levels on average. Measured on the shared
//! clips: repeats ≤ 2.1, the smallest real change 3.5 (a static multi-lane road) to 55.
//! Because the comparison is with the last kept frame, slow motion accumulates until it
//! shows; and a frame is kept at least every `max_hold_ns`, so tracks still age.
//!
//! Invariant: the first frame, a frame of a new size and a frame after a backwards pts
//! are never repeats.

use crate::frame::{Frame, PixelFormat};

const GRID_W: usize = 64;
const GRID_H: usize = 36;
const BLOCK: usize = 4;

#[derive(Debug, Clone)]
pub struct RepeatCheck {
    max_block_diff: f32,
    max_hold_ns: u64,
    kept: Vec<f32>,
    kept_pts: u64,
    kept_size: (u32, u32),
    sample: Vec<f32>,
}

impl RepeatCheck {
    pub fn new(max_block_diff: f32, max_hold_ns: u64) -> RepeatCheck {
        RepeatCheck {
            max_block_diff,
            max_hold_ns,
            kept: Vec::new(),
            kept_pts: 0,
            kept_size: (0, 0),
            sample: Vec::with_capacity(GRID_W * GRID_H),
        }
    }

    /// True when `frame` repeats the last kept frame; otherwise it becomes the kept one.
    pub fn is_repeat(&mut self, frame: &Frame) -> bool {
        sample_luma(frame, &mut self.sample);
        let comparable = self.kept.len() == self.sample.len()
            && self.kept_size == (frame.width, frame.height)
            && frame.pts_ns >= self.kept_pts
            && frame.pts_ns - self.kept_pts < self.max_hold_ns;
        if comparable && max_block_diff(&self.kept, &self.sample) < self.max_block_diff {
            return true;
        }
        std::mem::swap(&mut self.kept, &mut self.sample);
        self.kept_pts = frame.pts_ns;
        self.kept_size = (frame.width, frame.height);
        false
    }
}

fn max_block_diff(a: &[f32], b: &[f32]) -> f32 {
    let mut worst = 0.0f32;
    for by in 0..GRID_H / BLOCK {
        for bx in 0..GRID_W / BLOCK {
            let mut sum = 0.0;
            for y in by * BLOCK..(by + 1) * BLOCK {
                let row = y * GRID_W;
                for x in bx * BLOCK..(bx + 1) * BLOCK {
                    sum += (a[row + x] - b[row + x]).abs();
                }
            }
            worst = worst.max(sum / (BLOCK * BLOCK) as f32);
        }
    }
    worst
}

/// Luma at the centres of a `GRID_W`×`GRID_H` grid.
fn sample_luma(frame: &Frame, out: &mut Vec<f32>) {
    out.clear();
    let bytes = frame.bytes();
    let p0 = frame.plane(0);
    let (w, h) = (frame.width as usize, frame.height as usize);
    for gy in 0..GRID_H {
        let y = ((2 * gy + 1) * h / (2 * GRID_H)).min(h.saturating_sub(1));
        for gx in 0..GRID_W {
            let x = ((2 * gx + 1) * w / (2 * GRID_W)).min(w.saturating_sub(1));
            let v = match frame.format {
                PixelFormat::I420 | PixelFormat::Nv12 => {
                    bytes.get(p0.offset + y * p0.stride + x).copied().unwrap_or(0) as f32
                }
                PixelFormat::Rgb | PixelFormat::Bgr => {
                    let i = p0.offset + y * p0.stride + 3 * x;
                    bytes.get(i..i + 3).map_or(0.0, |px| (px[0] as f32 + 2.0 * px[1] as f32 + px[2] as f32) / 4.0)
                }
            };
            out.push(v);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::SystemTime;

    /// A 320×180 grey frame with a dark 30×40 "vehicle" at `x`, plus `noise` grey levels
    /// of pseudo-random noise.
    fn frame(x: usize, noise: u8, seed: u64, pts_ms: u64) -> Frame {
        let (w, h) = (320usize, 180usize);
        let mut rgb = vec![0u8; w * h * 3];
        let mut s = seed.wrapping_mul(6364136223846793005).wrapping_add(1);
        for y in 0..h {
            for xx in 0..w {
                s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                let n = if noise == 0 { 0 } else { ((s >> 33) % (noise as u64 + 1)) as u8 };
                let v = if (x..x + 30).contains(&xx) && (70..110).contains(&y) { 30 } else { 128 } + n;
                rgb[(y * w + xx) * 3..(y * w + xx) * 3 + 3].fill(v);
            }
        }
        Frame::from_rgb(w as u32, h as u32, rgb).unwrap().with_timing(0, pts_ms * 1_000_000, SystemTime::UNIX_EPOCH)
    }

    #[test]
    fn a_repeated_frame_is_recognised_and_a_moved_vehicle_is_not() {
        let mut c = RepeatCheck::new(3.0, 1_000_000_000);
        assert!(!c.is_repeat(&frame(100, 2, 1, 0)), "the first frame is never a repeat");
        assert!(c.is_repeat(&frame(100, 2, 2, 33)), "same picture, fresh encoder noise");
        assert!(!c.is_repeat(&frame(112, 2, 3, 67)), "the vehicle moved 12 px");
    }

    #[test]
    fn slow_motion_accumulates_against_the_last_kept_frame() {
        let mut c = RepeatCheck::new(3.0, 10_000_000_000);
        assert!(!c.is_repeat(&frame(100, 0, 1, 0)));
        // 1 px per frame is below the threshold frame to frame, not against the kept one.
        let kept: Vec<bool> = (1..20).map(|k| !c.is_repeat(&frame(100 + k, 0, 1, 33 * k as u64))).collect();
        assert!(kept.iter().any(|&k| k), "motion must show within 20 px");
        assert!(!kept[0], "one pixel alone is a repeat");
    }

    #[test]
    fn a_static_scene_is_still_kept_every_hold_period() {
        let mut c = RepeatCheck::new(3.0, 500_000_000);
        assert!(!c.is_repeat(&frame(100, 0, 1, 0)));
        assert!(c.is_repeat(&frame(100, 0, 1, 400)));
        assert!(!c.is_repeat(&frame(100, 0, 1, 600)));
        assert!(!c.is_repeat(&frame(100, 0, 1, 100)), "pts went backwards: a new stream");
    }
}
