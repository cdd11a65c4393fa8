//! Annotated frames → an H.264 MP4 file through GStreamer:
//! `appsrc (RGB) ! videoconvert ! I420 ! x264enc ! h264parse ! mp4mux ! filesink`.
//!
//! Timing: every frame keeps its input timestamp (relative to the first frame), so the
//! output has the input's frame count and timing, variable rate included. A timestamp
//! that does not move forward (the shared 1080p clip repeats one early on) is bumped
//! 1 ms past the last: encoder and muxer need strictly increasing times; the track's
//! timescale is 90 kHz so such steps survive muxing. The caps' nominal rate is the time
//! from the first frame to the first later one: frames are held until it is known (one,
//! normally; at most `MAX_HELD`). A nominal rate is needed, not "variable" (0/1): without
//! it x264enc leaves the last frame without a duration and the MP4's edit list drops it.
//!
//! Completion: `finish` sends EOS and waits for it to come out of the muxer on the bus;
//! only then is the MP4 index written and the file playable. Dropping a writer without
//! `finish` (the count failed) stops the pipeline and leaves a partial file.

use std::path::{Path, PathBuf};
use std::time::Duration;

use gstreamer as gst;
use gstreamer::prelude::*;
use gstreamer_app as gst_app;
use gstreamer_video as gst_video;
use image::RgbImage;

use super::AnnotateError;

/// How long `finish` waits for the encoder to drain (x264 holds a few dozen frames).
const DRAIN_TIMEOUT: Duration = Duration::from_secs(120);
/// Frame duration until two frames give the real one.
const DEFAULT_PERIOD_NS: u64 = 40_000_000;
/// How far a repeated or backward timestamp is moved past the last one.
const MIN_STEP_NS: u64 = 1_000_000;
/// Frames held at most while waiting for the first that moves on (then 25 fps is assumed).
const MAX_HELD: usize = 8;

pub struct VideoWriter {
    path: PathBuf,
    running: Option<Running>,
    /// Frames (pixels, size, output time) held until the nominal rate is known.
    held: Vec<(Vec<u8>, (u32, u32), u64)>,
    origin_ns: Option<u64>,
    last_ns: Option<u64>,
    period_ns: u64,
    frames: u64,
}

struct Running {
    pipeline: gst::Pipeline,
    src: gst_app::AppSrc,
    bus: gst::Bus,
    size: (u32, u32),
}

impl VideoWriter {
    /// A writer to `path`; the file is created now, so a bad path fails before any work.
    pub fn create(path: &Path) -> Result<VideoWriter, AnnotateError> {
        std::fs::File::create(path).map_err(|e| AnnotateError::new(path, format!("cannot create: {e}")))?;
        crate::ingest::gst::init().map_err(|e| AnnotateError::new(path, e.to_string()))?;
        Ok(VideoWriter {
            path: path.to_path_buf(),
            running: None,
            held: Vec::new(),
            origin_ns: None,
            last_ns: None,
            period_ns: DEFAULT_PERIOD_NS,
            frames: 0,
        })
    }

    /// Appends one frame shown at `pts_ns` (the input's timestamp).
    pub fn push(&mut self, img: &RgbImage, pts_ns: u64) -> Result<(), AnnotateError> {
        let origin = *self.origin_ns.get_or_insert(pts_ns);
        let rel = pts_ns.saturating_sub(origin);
        let at = match self.last_ns {
            Some(last) if rel <= last => last + MIN_STEP_NS,
            Some(last) => {
                self.period_ns = rel - last;
                rel
            }
            None => rel,
        };
        self.last_ns = Some(at);
        if self.running.is_some() {
            return self.send(img.as_raw().clone(), img.dimensions(), at);
        }
        self.held.push((img.as_raw().clone(), img.dimensions(), at));
        if rel > 0 || self.held.len() >= MAX_HELD {
            let period = if rel > 0 { rel } else { DEFAULT_PERIOD_NS };
            self.start_held(period)?;
        }
        Ok(())
    }

    /// Starts the encoder at the rate of `period_ns` and sends the held frames.
    fn start_held(&mut self, period_ns: u64) -> Result<(), AnnotateError> {
        let Some(&(_, (w, h), _)) = self.held.first() else {
            return Ok(());
        };
        self.start(w, h, period_ns)?;
        for (pixels, size, at) in std::mem::take(&mut self.held) {
            self.send(pixels, size, at)?;
        }
        Ok(())
    }

    /// Ends the stream and waits until the file is complete; returns the frames written.
    pub fn finish(mut self) -> Result<u64, AnnotateError> {
        self.start_held(DEFAULT_PERIOD_NS)?;
        let Some(run) = &self.running else {
            return Err(AnnotateError::new(&self.path, "no frames to write".into()));
        };
        run.src.end_of_stream().map_err(|e| AnnotateError::new(&self.path, format!("end of stream: {e:?}")))?;
        let timeout = gst::ClockTime::from_nseconds(DRAIN_TIMEOUT.as_nanos() as u64);
        let msg = run.bus.timed_pop_filtered(timeout, &[gst::MessageType::Eos, gst::MessageType::Error]);
        let result = match msg.as_ref().map(|m| m.view()) {
            Some(gst::MessageView::Eos(_)) => Ok(self.frames),
            Some(gst::MessageView::Error(err)) => Err(format!("encoding failed: {}", err.error())),
            _ => Err(format!("encoder did not finish within {} s", DRAIN_TIMEOUT.as_secs())),
        };
        result.map_err(|m| AnnotateError::new(&self.path, m))
    }

    fn start(&mut self, width: u32, height: u32, period_ns: u64) -> Result<(), AnnotateError> {
        let err = |m: String| AnnotateError::new(&self.path, m);
        // I420 forced before the encoder: from RGB, x264enc would otherwise negotiate
        // 4:4:4 (High 4:4:4 profile), which most players and browsers cannot decode.
        // Constant quality (CRF 23) capped at 20 Mbit/s (in this mode x264enc's `bitrate` is
        // the VBV cap), not its default 2 Mbit/s CBR: at 1080p that smears thin lines and
        // small text into blocks, and they are the point here. No B-frames: with input
        // timestamps as irregular as cameras give, x264's derived decode times collide and
        // players drop frames; `superfast` keeps encoding beside inference on a small box.
        let description = "appsrc name=src ! videoconvert ! video/x-raw,format=I420 \
            ! x264enc speed-preset=superfast bframes=0 pass=qual quantizer=23 bitrate=20000 ! h264parse \
            ! mp4mux trak-timescale=90000 ! filesink name=out";
        let pipeline = gst::parse::launch(description)
            .map_err(|e| err(format!("{e} (x264enc is in gstreamer1.0-plugins-ugly)")))?
            .downcast::<gst::Pipeline>()
            .map_err(|_| err("not a pipeline".into()))?;
        let src = pipeline
            .by_name("src")
            .and_then(|e| e.downcast::<gst_app::AppSrc>().ok())
            .ok_or_else(|| err("appsrc missing".into()))?;
        let out = pipeline.by_name("out").ok_or_else(|| err("filesink missing".into()))?;
        // Set as a property, not in the launch line: any path, quotes and spaces included.
        out.set_property("location", self.path.to_string_lossy().as_ref());
        let fps = gst::Fraction::approximate_f64(1e9 / period_ns.max(1) as f64).unwrap_or(gst::Fraction::new(25, 1));
        let caps = gst_video::VideoInfo::builder(gst_video::VideoFormat::Rgb, width, height)
            .fps(fps)
            .build()
            .map_err(|e| err(format!("video caps {width}x{height}: {e}")))?
            .to_caps()
            .map_err(|e| err(format!("video caps: {e}")))?;
        src.set_caps(Some(&caps));
        src.set_format(gst::Format::Time);
        // Block the caller rather than queue without bound when the encoder falls behind.
        src.set_block(true);
        src.set_max_bytes(4 * width as u64 * height as u64 * 3);
        let bus = pipeline.bus().ok_or_else(|| err("pipeline without bus".into()))?;
        pipeline.set_state(gst::State::Playing).map_err(|e| err(format!("cannot start encoder: {e}")))?;
        self.running = Some(Running { pipeline, src, bus, size: (width, height) });
        Ok(())
    }

    fn send(&mut self, pixels: Vec<u8>, size: (u32, u32), at_ns: u64) -> Result<(), AnnotateError> {
        let run = self.running.as_ref().expect("started before sending");
        if size != run.size {
            let m = format!("frame size changed from {}x{} to {}x{} mid-video", run.size.0, run.size.1, size.0, size.1);
            return Err(AnnotateError::new(&self.path, m));
        }
        let mut buffer = gst::Buffer::from_mut_slice(pixels);
        let b = buffer.get_mut().expect("a new buffer is writable");
        b.set_pts(gst::ClockTime::from_nseconds(at_ns));
        b.set_duration(gst::ClockTime::from_nseconds(self.period_ns));
        if let Err(flow) = run.src.push_buffer(buffer) {
            let detail = run
                .bus
                .pop_filtered(&[gst::MessageType::Error])
                .and_then(|m| match m.view() {
                    gst::MessageView::Error(e) => Some(e.error().to_string()),
                    _ => None,
                })
                .unwrap_or_else(|| format!("{flow:?}"));
            return Err(AnnotateError::new(&self.path, format!("encoding failed: {detail}")));
        }
        self.frames += 1;
        Ok(())
    }
}

impl Drop for VideoWriter {
    fn drop(&mut self) {
        if let Some(run) = &self.running {
            let _ = run.pipeline.set_state(gst::State::Null);
        }
    }
}
