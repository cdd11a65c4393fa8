//! GStreamer decoding: `filesrc`/`rtspsrc` → `decodebin` → `videoconvert` → `appsink`.
//!
//! The appsink is the bounded queue between the decoder threads and the detector: for
//! files it holds a few frames and blocks the decoder (every frame is delivered); for
//! live streams it holds one and drops the older (latest-frame semantics). Frames stay
//! in the decoder's native YUV layout (I420 or NV12); pre-processing samples only the
//! pixels the model sees.
//!
//! Hardware decoders named by the edge-box profile are ranked above software decoders,
//! so `decodebin` picks them when the element exists and falls back otherwise.

use std::sync::Once;
use std::time::{Duration, SystemTime};

use gstreamer as gst;
use gstreamer::prelude::*;
use gstreamer_app as gst_app;
use gstreamer_video as gst_video;

use super::{IngestError, SourceSpec};
use crate::frame::{Frame, PixelFormat, Plane, YuvMatrix};

static INIT: Once = Once::new();

/// Initialises GStreamer once per process.
pub fn init() -> Result<(), IngestError> {
    let mut result = Ok(());
    INIT.call_once(|| result = gst::init().map_err(|e| IngestError::Gstreamer(e.to_string())));
    result
}

/// Raises the rank of the profile's decoders that exist here; returns those found.
pub fn prefer_decoders(names: &[String]) -> Vec<String> {
    if init().is_err() {
        return Vec::new();
    }
    let mut found = Vec::new();
    for (i, name) in names.iter().enumerate() {
        match gst::ElementFactory::find(name) {
            Some(factory) => {
                factory.set_rank(gst::Rank::PRIMARY + 100 - i as i32);
                found.push(name.clone());
            }
            // Expected on any box but the profile's own hardware: not worth an INFO line.
            None => {
                tracing::debug!(decoder = %name, "hardware decoder not present; software decoding stays the fallback")
            }
        }
    }
    found
}

/// Options for opening a source.
#[derive(Debug, Clone)]
pub struct OpenOptions {
    /// RTSP jitter-buffer latency.
    pub rtsp_latency_ms: u32,
    /// Force RTSP over TCP (otherwise UDP first, TCP after `rtsp_tcp_timeout`).
    pub rtsp_tcp_only: bool,
    pub rtsp_tcp_timeout: Duration,
    /// Frames the appsink holds for a file source.
    pub file_queue: u32,
}

impl Default for OpenOptions {
    fn default() -> Self {
        OpenOptions {
            rtsp_latency_ms: 200,
            rtsp_tcp_only: false,
            rtsp_tcp_timeout: Duration::from_secs(3),
            file_queue: 4,
        }
    }
}

// A frame is moved once per pull; boxing it would allocate per frame instead.
#[allow(clippy::large_enum_variant)]
pub enum Pulled {
    Frame(Frame),
    /// Nothing arrived within the timeout.
    Timeout,
    EndOfStream,
}

pub struct GstSource {
    name: String,
    pipeline: gst::Pipeline,
    sink: gst_app::AppSink,
    bus: gst::Bus,
    delivered: u64,
    /// The camera's URL when this is an RTSP source (its failures get a probed cause).
    rtsp_url: Option<String>,
}

fn quote(s: &str) -> String {
    format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
}

impl GstSource {
    pub fn open(spec: &SourceSpec, opts: &OpenOptions) -> Result<GstSource, IngestError> {
        init()?;
        let name = spec.display_name();
        let open_err = |message: String| IngestError::Open { source_name: name.clone(), message };
        let (src, live) = match spec {
            SourceSpec::File(path) => {
                let meta = std::fs::metadata(path).map_err(|e| open_err(e.to_string()))?;
                if !meta.is_file() {
                    return Err(open_err("not a regular file".into()));
                }
                (format!("filesrc location={}", quote(&path.to_string_lossy())), false)
            }
            SourceSpec::Rtsp(url) => {
                let protocols = if opts.rtsp_tcp_only { "tcp" } else { "udp+tcp" };
                (
                    format!(
                        "rtspsrc location={} latency={} protocols={} tcp-timeout={} drop-on-latency=true",
                        quote(url),
                        opts.rtsp_latency_ms,
                        protocols,
                        opts.rtsp_tcp_timeout.as_micros()
                    ),
                    true,
                )
            }
            SourceSpec::Usb(_) => return Err(open_err("USB cameras are read through nokhwa (ingest::usb)".into())),
        };
        let queue =
            if live { "max-buffers=1 drop=true" } else { &format!("max-buffers={} drop=false", opts.file_queue) };
        let description = format!(
            "{src} ! decodebin ! videoconvert ! video/x-raw,format={{I420,NV12}} ! appsink name=sink sync=false \
                emit-signals=false {queue}"
        );
        let pipeline = gst::parse::launch(&description)
            .map_err(|e| IngestError::Gstreamer(e.to_string()))?
            .downcast::<gst::Pipeline>()
            .map_err(|_| IngestError::Gstreamer("not a pipeline".into()))?;
        let sink = pipeline
            .by_name("sink")
            .and_then(|e| e.downcast::<gst_app::AppSink>().ok())
            .ok_or_else(|| IngestError::Gstreamer("appsink missing".into()))?;
        let bus = pipeline.bus().ok_or_else(|| IngestError::Gstreamer("pipeline without bus".into()))?;
        let rtsp_url = match spec {
            SourceSpec::Rtsp(url) => Some(url.clone()),
            _ => None,
        };
        if let Err(e) = pipeline.set_state(gst::State::Playing) {
            let detail = first_error(&bus).unwrap_or_else(|| e.to_string());
            let _ = pipeline.set_state(gst::State::Null);
            let detail = match &rtsp_url {
                Some(url) => super::rtsp_cause::explain(url, &detail),
                None => detail,
            };
            return Err(open_err(detail));
        }
        Ok(GstSource { name, pipeline, sink, bus, delivered: 0, rtsp_url })
    }

    /// Waits up to `timeout` for the next frame. Pipeline errors are returned as errors.
    pub fn pull(&mut self, timeout: Duration) -> Result<Pulled, IngestError> {
        if let Some(err) = first_error(&self.bus) {
            return Err(self.classify(err));
        }
        match self.sink.try_pull_sample(gst::ClockTime::from_nseconds(timeout.as_nanos() as u64)) {
            Some(sample) => {
                let frame = self.to_frame(&sample)?;
                self.delivered += 1;
                Ok(Pulled::Frame(frame))
            }
            None => {
                if let Some(err) = first_error(&self.bus) {
                    return Err(self.classify(err));
                }
                if self.sink.is_eos() { Ok(Pulled::EndOfStream) } else { Ok(Pulled::Timeout) }
            }
        }
    }

    fn classify(&self, message: String) -> IngestError {
        if self.delivered == 0 && !message.contains("decod") {
            let message = match &self.rtsp_url {
                Some(url) => super::rtsp_cause::explain(url, &message),
                None => message,
            };
            IngestError::Open { source_name: self.name.clone(), message }
        } else {
            IngestError::Decode { source_name: self.name.clone(), message }
        }
    }

    fn to_frame(&self, sample: &gst::Sample) -> Result<Frame, IngestError> {
        let bad = |m: &str| IngestError::Decode { source_name: self.name.clone(), message: m.to_string() };
        let caps = sample.caps().ok_or_else(|| bad("sample without caps"))?;
        let info = gst_video::VideoInfo::from_caps(caps).map_err(|_| bad("unreadable video caps"))?;
        let buffer = sample.buffer_owned().ok_or_else(|| bad("sample without buffer"))?;
        let format = match info.format() {
            gst_video::VideoFormat::I420 => PixelFormat::I420,
            gst_video::VideoFormat::Nv12 => PixelFormat::Nv12,
            other => return Err(bad(&format!("unexpected pixel format {other:?}"))),
        };
        let matrix = match info.colorimetry().matrix() {
            gst_video::VideoColorMatrix::Bt709 => YuvMatrix::Bt709,
            _ => YuvMatrix::Bt601,
        };
        let (offsets, strides): (Vec<usize>, Vec<usize>) = match buffer.meta::<gst_video::VideoMeta>() {
            Some(meta) => (meta.offset().to_vec(), meta.stride().iter().map(|s| *s as usize).collect()),
            None => (info.offset().to_vec(), info.stride().iter().map(|s| *s as usize).collect()),
        };
        let mut planes = [Plane::default(); 3];
        for (i, p) in planes.iter_mut().enumerate().take(offsets.len().min(3)) {
            *p = Plane { offset: offsets[i], stride: strides[i] };
        }
        let pts = buffer.pts().map(|t| t.nseconds()).unwrap_or(0);
        Frame::from_gst(info.width(), info.height(), format, matrix, planes, buffer)
            .map(|f| f.with_timing(self.delivered, pts, SystemTime::now()))
            .map_err(|e| bad(&e.to_string()))
    }
}

impl Drop for GstSource {
    fn drop(&mut self) {
        let _ = self.pipeline.set_state(gst::State::Null);
    }
}

/// The first error or EOS-with-error message waiting on the bus, as text.
fn first_error(bus: &gst::Bus) -> Option<String> {
    while let Some(msg) = bus.pop_filtered(&[gst::MessageType::Error]) {
        if let gst::MessageView::Error(err) = msg.view() {
            let origin = err.src().map(|s| s.name().to_string()).unwrap_or_default();
            return Some(format!("{} ({origin})", err.error()));
        }
    }
    None
}

impl super::FrameSource for GstSource {
    fn pull(&mut self, timeout: Duration) -> Result<Pulled, IngestError> {
        GstSource::pull(self, timeout)
    }

    fn stated_duration(&self) -> Option<Duration> {
        self.pipeline.query_duration::<gst::ClockTime>().map(|t| Duration::from_nanos(t.nseconds()))
    }
}
