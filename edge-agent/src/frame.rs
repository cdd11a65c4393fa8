//! A decoded video frame as handed from ingest to detection. Frames from GStreamer keep
//! the decoder's buffer mapped (no copy); frames from still images own their bytes.
//!
//! Invariant: every plane described by `planes` lies inside the storage, checked in
//! the constructors, so samplers can index without further bounds reasoning.

use std::time::SystemTime;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PixelFormat {
    /// Packed 8-bit R, G, B.
    Rgb,
    /// Packed 8-bit B, G, R.
    Bgr,
    /// Planar Y, then U and V at half resolution.
    I420,
    /// Y plane, then interleaved UV at half resolution (hardware decoders' usual output).
    Nv12,
}

/// Which YUV→RGB matrix the stream was encoded with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum YuvMatrix {
    Bt601,
    Bt709,
}

impl YuvMatrix {
    /// Limited-range 8-bit YUV → RGB factors `(kr, kgu, kgv, kb)`: R = 1.164(Y−16) + kr·V',
    /// G = 1.164(Y−16) − kgu·U' − kgv·V', B = 1.164(Y−16) + kb·U' (U', V' centred on 128).
    /// One table for the model's sampler and the full-frame conversion, so what is drawn
    /// has the colours the detector was given.
    pub fn coefficients(self) -> (f32, f32, f32, f32) {
        match self {
            YuvMatrix::Bt601 => (1.596, 0.392, 0.813, 2.017),
            YuvMatrix::Bt709 => (1.793, 0.213, 0.533, 2.112),
        }
    }
}

#[derive(Debug, Clone, Copy, Default)]
pub struct Plane {
    pub offset: usize,
    pub stride: usize,
}

enum Storage {
    Owned(Vec<u8>),
    Gst(gstreamer::buffer::MappedBuffer<gstreamer::buffer::Readable>),
}

pub struct Frame {
    pub width: u32,
    pub height: u32,
    pub format: PixelFormat,
    pub matrix: YuvMatrix,
    /// Position in the stream, nanoseconds from the stream's start.
    pub pts_ns: u64,
    /// Wall-clock time the frame was taken from the decoder.
    pub captured_at: SystemTime,
    /// 0-based index of the frame among those delivered by this source.
    pub index: u64,
    planes: [Plane; 3],
    storage: Storage,
}

#[derive(Debug, thiserror::Error)]
#[error("frame layout does not fit its buffer: {0}")]
pub struct LayoutError(String);

impl std::fmt::Debug for Frame {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Frame")
            .field("width", &self.width)
            .field("height", &self.height)
            .field("format", &self.format)
            .field("index", &self.index)
            .field("pts_ns", &self.pts_ns)
            .finish_non_exhaustive()
    }
}

impl Frame {
    /// A packed RGB frame owning its bytes (tightly packed rows).
    pub fn from_rgb(width: u32, height: u32, data: Vec<u8>) -> Result<Frame, LayoutError> {
        let planes = [Plane { offset: 0, stride: width as usize * 3 }, Plane::default(), Plane::default()];
        Frame::new(width, height, PixelFormat::Rgb, YuvMatrix::Bt601, planes, Storage::Owned(data))
    }

    /// A frame of any supported layout owning its bytes.
    pub fn from_planes(
        width: u32,
        height: u32,
        format: PixelFormat,
        matrix: YuvMatrix,
        planes: [Plane; 3],
        data: Vec<u8>,
    ) -> Result<Frame, LayoutError> {
        Frame::new(width, height, format, matrix, planes, Storage::Owned(data))
    }

    pub fn from_gst(
        width: u32,
        height: u32,
        format: PixelFormat,
        matrix: YuvMatrix,
        planes: [Plane; 3],
        buffer: gstreamer::Buffer,
    ) -> Result<Frame, LayoutError> {
        let mapped = buffer.into_mapped_buffer_readable().map_err(|_| LayoutError("buffer not readable".into()))?;
        Frame::new(width, height, format, matrix, planes, Storage::Gst(mapped))
    }

    fn new(
        width: u32,
        height: u32,
        format: PixelFormat,
        matrix: YuvMatrix,
        planes: [Plane; 3],
        storage: Storage,
    ) -> Result<Frame, LayoutError> {
        let frame = Frame {
            width,
            height,
            format,
            matrix,
            pts_ns: 0,
            captured_at: SystemTime::now(),
            index: 0,
            planes,
            storage,
        };
        let len = frame.bytes().len();
        let (w, h) = (width as usize, height as usize);
        let (cw, ch) = (w.div_ceil(2), h.div_ceil(2));
        let needs: Vec<(usize, usize, usize)> = match format {
            PixelFormat::Rgb | PixelFormat::Bgr => vec![(0, w * 3, h)],
            PixelFormat::I420 => vec![(0, w, h), (1, cw, ch), (2, cw, ch)],
            PixelFormat::Nv12 => vec![(0, w, h), (1, cw * 2, ch)],
        };
        for (i, row_bytes, rows) in needs {
            let p = frame.planes[i];
            if w == 0 || h == 0 || p.stride < row_bytes || p.offset + p.stride * (rows - 1) + row_bytes > len {
                return Err(LayoutError(format!("{format:?} {width}x{height}, plane {i} {p:?}, buffer {len} bytes")));
            }
        }
        Ok(frame)
    }

    pub fn with_timing(mut self, index: u64, pts_ns: u64, captured_at: SystemTime) -> Frame {
        self.index = index;
        self.pts_ns = pts_ns;
        self.captured_at = captured_at;
        self
    }

    pub fn bytes(&self) -> &[u8] {
        match &self.storage {
            Storage::Owned(v) => v,
            Storage::Gst(m) => m.as_slice(),
        }
    }

    pub fn plane(&self, i: usize) -> Plane {
        self.planes[i]
    }

    /// The whole frame as packed RGB into `out`, reusing its buffer when the size matches
    /// (annotation converts every frame; the detector never needs this). Chroma is taken
    /// from the nearest sample: drawing needs no better.
    pub fn to_rgb_into(&self, out: &mut image::RgbImage) {
        if out.dimensions() != (self.width, self.height) {
            *out = image::RgbImage::new(self.width, self.height);
        }
        let (w, bytes) = (self.width as usize, self.bytes());
        let (kr, kgu, kgv, kb) = self.matrix.coefficients();
        let (p0, p1, p2) = (self.planes[0], self.planes[1], self.planes[2]);
        for (y, row) in out.chunks_exact_mut(w * 3).enumerate() {
            let src = &bytes[p0.offset + y * p0.stride..];
            match self.format {
                PixelFormat::Rgb => row.copy_from_slice(&src[..w * 3]),
                PixelFormat::Bgr => {
                    for (o, i) in row.chunks_exact_mut(3).zip(src.chunks_exact(3)) {
                        o.copy_from_slice(&[i[2], i[1], i[0]]);
                    }
                }
                PixelFormat::I420 | PixelFormat::Nv12 => {
                    let (cy, nv12) = (y / 2, self.format == PixelFormat::Nv12);
                    let u_row = &bytes[p1.offset + cy * p1.stride..];
                    let v_row = if nv12 { &u_row[1..] } else { &bytes[p2.offset + cy * p2.stride..] };
                    let step = if nv12 { 2 } else { 1 };
                    for (x, o) in row.chunks_exact_mut(3).enumerate() {
                        let l = 1.164 * (src[x] as f32 - 16.0);
                        let u = u_row[(x / 2) * step] as f32 - 128.0;
                        let v = v_row[(x / 2) * step] as f32 - 128.0;
                        o[0] = (l + kr * v).clamp(0.0, 255.0) as u8;
                        o[1] = (l - kgu * u - kgv * v).clamp(0.0, 255.0) as u8;
                        o[2] = (l + kb * u).clamp(0.0, 255.0) as u8;
                    }
                }
            }
        }
    }
}
