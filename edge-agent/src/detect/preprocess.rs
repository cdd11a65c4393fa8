//! Letterbox pre-processing: maps a rectangular view of a frame into the model's square
//! input, aspect preserved, converting pixel format, channel order and normalisation in
//! one pass straight into the NCHW f32 tensor. Only the pixels the model sees are
//! sampled, so a 1080p YUV frame is never converted to RGB at full size.
//!
//! Resampling is bilinear with OpenCV's half-pixel convention (what YOLOX and NanoDet
//! were trained with via `cv2.resize`). Index tables are cached per view geometry, so a
//! steady stream allocates nothing per frame.

use models::{ChannelOrder, InputSpec, Placement};

use crate::frame::{Frame, PixelFormat, YuvMatrix};
use crate::geometry::BBox;

/// How a view of the frame sits inside the model input.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LetterboxMap {
    /// View origin in frame pixels.
    pub view_x: f32,
    pub view_y: f32,
    /// Input pixels per frame pixel.
    pub scale: f32,
    /// Offset of the resized view inside the input.
    pub pad_x: u32,
    pub pad_y: u32,
    /// Size of the resized view inside the input.
    pub new_w: u32,
    pub new_h: u32,
}

impl LetterboxMap {
    pub fn new(view: &BBox, input_w: u32, input_h: u32, placement: Placement) -> LetterboxMap {
        let (vw, vh) = (view.width().max(1.0), view.height().max(1.0));
        let scale = (input_w as f32 / vw).min(input_h as f32 / vh);
        let new_w = ((vw * scale).round() as u32).clamp(1, input_w);
        let new_h = ((vh * scale).round() as u32).clamp(1, input_h);
        let (pad_x, pad_y) = match placement {
            Placement::TopLeft => (0, 0),
            Placement::Centre => ((input_w - new_w) / 2, (input_h - new_h) / 2),
        };
        LetterboxMap { view_x: view.x1, view_y: view.y1, scale, pad_x, pad_y, new_w, new_h }
    }

    /// Maps a box in model-input pixels back to frame pixels.
    pub fn to_frame(&self, b: &BBox) -> BBox {
        let inv = 1.0 / self.scale;
        BBox::new(
            (b.x1 - self.pad_x as f32) * inv + self.view_x,
            (b.y1 - self.pad_y as f32) * inv + self.view_y,
            (b.x2 - self.pad_x as f32) * inv + self.view_x,
            (b.y2 - self.pad_y as f32) * inv + self.view_y,
        )
    }
}

/// One bilinear tap pair along an axis.
#[derive(Debug, Clone, Copy)]
struct Tap {
    i0: u32,
    i1: u32,
    w1: f32,
}

fn taps(out_len: u32, scale: f32, origin: f32, src_len: u32, subsample: f32) -> Vec<Tap> {
    (0..out_len)
        .map(|o| {
            let full = origin + (o as f32 + 0.5) / scale - 0.5;
            let s = ((full + 0.5) / subsample - 0.5).clamp(0.0, (src_len - 1) as f32);
            let i0 = s.floor() as u32;
            Tap { i0, i1: (i0 + 1).min(src_len - 1), w1: s - i0 as f32 }
        })
        .collect()
}

#[derive(Default)]
struct Tables {
    key: Option<(u32, u32, PixelFormat, [u32; 8])>,
    luma_x: Vec<Tap>,
    luma_y: Vec<Tap>,
    chroma_x: Vec<Tap>,
    chroma_y: Vec<Tap>,
}

/// Fills model input tensors; keeps its index tables between calls.
pub struct Preprocessor {
    spec: InputSpec,
    /// Normalised value of each output channel for the padding.
    pad: [f32; 3],
    /// Per output channel: (mean, 1/std).
    norm: [(f32, f32); 3],
    /// Output channel c takes RGB component `rgb_index[c]`.
    rgb_index: [usize; 3],
    tables: Tables,
}

impl Preprocessor {
    pub fn new(spec: &InputSpec) -> Preprocessor {
        let rgb_index = match spec.channel_order {
            ChannelOrder::Rgb => [0, 1, 2],
            ChannelOrder::Bgr => [2, 1, 0],
        };
        let norm: [(f32, f32); 3] = std::array::from_fn(|c| (spec.mean[c], 1.0 / spec.std[c]));
        let pad = std::array::from_fn(|c| (spec.letterbox.pad_value as f32 - norm[c].0) * norm[c].1);
        Preprocessor { spec: spec.clone(), pad, norm, rgb_index, tables: Tables::default() }
    }

    pub fn input_size(&self) -> (u32, u32) {
        (self.spec.width, self.spec.height)
    }

    pub fn map_for(&self, view: &BBox) -> LetterboxMap {
        LetterboxMap::new(view, self.spec.width, self.spec.height, self.spec.letterbox.placement)
    }

    /// Writes one NCHW image (len 3·W·H) for `view` of `frame` into `out`.
    pub fn fill(&mut self, frame: &Frame, view: &BBox, out: &mut [f32]) -> LetterboxMap {
        let (iw, ih) = (self.spec.width as usize, self.spec.height as usize);
        assert_eq!(out.len(), 3 * iw * ih, "tensor buffer does not match the model input");
        let map = self.map_for(view);
        self.update_tables(frame, &map);
        let plane_len = iw * ih;
        for c in 0..3 {
            let ch = &mut out[c * plane_len..(c + 1) * plane_len];
            let pad = self.pad[c];
            for y in 0..ih {
                let row = &mut ch[y * iw..(y + 1) * iw];
                let inside_y = y >= map.pad_y as usize && y < (map.pad_y + map.new_h) as usize;
                if !inside_y {
                    row.fill(pad);
                } else {
                    row[..map.pad_x as usize].fill(pad);
                    row[(map.pad_x + map.new_w) as usize..].fill(pad);
                }
            }
        }
        match frame.format {
            PixelFormat::Rgb => self.sample_packed(frame, &map, [0, 1, 2], out),
            PixelFormat::Bgr => self.sample_packed(frame, &map, [2, 1, 0], out),
            PixelFormat::I420 | PixelFormat::Nv12 => self.sample_yuv(frame, &map, out),
        }
        map
    }

    fn update_tables(&mut self, frame: &Frame, map: &LetterboxMap) {
        let key = (
            frame.width,
            frame.height,
            frame.format,
            [
                map.view_x.to_bits(),
                map.view_y.to_bits(),
                map.scale.to_bits(),
                map.new_w,
                map.new_h,
                map.pad_x,
                map.pad_y,
                0,
            ],
        );
        if self.tables.key == Some(key) {
            return;
        }
        let t = &mut self.tables;
        t.luma_x = taps(map.new_w, map.scale, map.view_x, frame.width, 1.0);
        t.luma_y = taps(map.new_h, map.scale, map.view_y, frame.height, 1.0);
        t.chroma_x = taps(map.new_w, map.scale, map.view_x, frame.width.div_ceil(2), 2.0);
        t.chroma_y = taps(map.new_h, map.scale, map.view_y, frame.height.div_ceil(2), 2.0);
        t.key = Some(key);
    }

    fn sample_packed(&self, frame: &Frame, map: &LetterboxMap, src_rgb: [usize; 3], out: &mut [f32]) {
        let bytes = frame.bytes();
        let p = frame.plane(0);
        let (iw, plane_len) = (self.spec.width as usize, (self.spec.width * self.spec.height) as usize);
        // Source byte offset of the RGB component each output channel needs.
        let comp: [usize; 3] = std::array::from_fn(|c| src_rgb[self.rgb_index[c]]);
        for (oy, ty) in self.tables.luma_y.iter().enumerate() {
            let r0 = &bytes[p.offset + ty.i0 as usize * p.stride..];
            let r1 = &bytes[p.offset + ty.i1 as usize * p.stride..];
            let base = (oy + map.pad_y as usize) * iw + map.pad_x as usize;
            for (ox, tx) in self.tables.luma_x.iter().enumerate() {
                let (a, b) = (tx.i0 as usize * 3, tx.i1 as usize * 3);
                for c in 0..3 {
                    let k = comp[c];
                    let top = r0[a + k] as f32 + (r0[b + k] as f32 - r0[a + k] as f32) * tx.w1;
                    let bot = r1[a + k] as f32 + (r1[b + k] as f32 - r1[a + k] as f32) * tx.w1;
                    let v = top + (bot - top) * ty.w1;
                    let (mean, inv_std) = self.norm[c];
                    out[c * plane_len + base + ox] = (v - mean) * inv_std;
                }
            }
        }
    }

    fn sample_yuv(&self, frame: &Frame, map: &LetterboxMap, out: &mut [f32]) {
        let bytes = frame.bytes();
        let (py, pu, pv) = (frame.plane(0), frame.plane(1), frame.plane(2));
        let nv12 = frame.format == PixelFormat::Nv12;
        let (iw, plane_len) = (self.spec.width as usize, (self.spec.width * self.spec.height) as usize);
        let (kr, kgu, kgv, kb) = match frame.matrix {
            YuvMatrix::Bt601 => (1.596, 0.392, 0.813, 2.017),
            YuvMatrix::Bt709 => (1.793, 0.213, 0.533, 2.112),
        };
        let t = &self.tables;
        for (oy, (ty, cy)) in t.luma_y.iter().zip(&t.chroma_y).enumerate() {
            let y0 = &bytes[py.offset + ty.i0 as usize * py.stride..];
            let y1 = &bytes[py.offset + ty.i1 as usize * py.stride..];
            let (u0, u1, v0, v1) = if nv12 {
                let r0 = &bytes[pu.offset + cy.i0 as usize * pu.stride..];
                let r1 = &bytes[pu.offset + cy.i1 as usize * pu.stride..];
                (r0, r1, &r0[1..], &r1[1..])
            } else {
                (
                    &bytes[pu.offset + cy.i0 as usize * pu.stride..],
                    &bytes[pu.offset + cy.i1 as usize * pu.stride..],
                    &bytes[pv.offset + cy.i0 as usize * pv.stride..],
                    &bytes[pv.offset + cy.i1 as usize * pv.stride..],
                )
            };
            let cstep = if nv12 { 2 } else { 1 };
            let base = (oy + map.pad_y as usize) * iw + map.pad_x as usize;
            for (ox, (tx, cx)) in t.luma_x.iter().zip(&t.chroma_x).enumerate() {
                let bil = |r0: &[u8], r1: &[u8], a: usize, b: usize, wx: f32, wy: f32| {
                    let top = r0[a] as f32 + (r0[b] as f32 - r0[a] as f32) * wx;
                    let bot = r1[a] as f32 + (r1[b] as f32 - r1[a] as f32) * wx;
                    top + (bot - top) * wy
                };
                let luma = bil(y0, y1, tx.i0 as usize, tx.i1 as usize, tx.w1, ty.w1);
                let (ca, cb) = (cx.i0 as usize * cstep, cx.i1 as usize * cstep);
                let u = bil(u0, u1, ca, cb, cx.w1, cy.w1) - 128.0;
                let v = bil(v0, v1, ca, cb, cx.w1, cy.w1) - 128.0;
                let yy = 1.164 * (luma - 16.0);
                let rgb = [
                    (yy + kr * v).clamp(0.0, 255.0),
                    (yy - kgu * u - kgv * v).clamp(0.0, 255.0),
                    (yy + kb * u).clamp(0.0, 255.0),
                ];
                for c in 0..3 {
                    let (mean, inv_std) = self.norm[c];
                    out[c * plane_len + base + ox] = (rgb[self.rgb_index[c]] - mean) * inv_std;
                }
            }
        }
    }
}

#[cfg(test)]
#[path = "preprocess_tests.rs"]
mod tests;
