//! Ingest stage: a camera or file → decoded frames.
//!
//! Files deliver every frame (the decoder waits for us). Live sources (RTSP, USB) use
//! latest-frame semantics: the decoder keeps only the newest frame, so a slow detector
//! skips frames instead of queueing them. A live source that fails or stalls is torn
//! down and reopened with capped exponential backoff; `health` tells the world.

pub mod gst;
pub mod health;
pub mod reader;
pub mod rtsp_cause;
pub mod usb;

use std::path::PathBuf;

pub use health::{HealthSnapshot, StreamHealth};
pub use reader::{IngestEvent, Reader, ReconnectPolicy};

/// Where frames come from.
#[derive(Debug, Clone, PartialEq)]
pub enum SourceSpec {
    /// A video file (any container/codec GStreamer can demux and decode).
    File(PathBuf),
    /// An RTSP stream.
    Rtsp(String),
    /// A USB/V4L2 camera by index (`usb:0`) or device path (`/dev/video0`).
    Usb(u32),
}

impl SourceSpec {
    /// Parses `rtsp://…`, `rtsps://…`, `file://…`, `usb:N`, `/dev/videoN` or a path.
    pub fn parse(s: &str) -> Result<SourceSpec, IngestError> {
        let s = s.trim();
        if s.is_empty() {
            return Err(IngestError::BadSource { source_name: s.into(), message: "empty source".into() });
        }
        if s.starts_with("rtsp://") || s.starts_with("rtsps://") {
            return Ok(SourceSpec::Rtsp(s.to_string()));
        }
        if let Some(path) = s.strip_prefix("file://") {
            return Ok(SourceSpec::File(PathBuf::from(path)));
        }
        let usb_index = s.strip_prefix("usb:").or_else(|| s.strip_prefix("/dev/video"));
        if let Some(n) = usb_index {
            return n.parse().map(SourceSpec::Usb).map_err(|_| IngestError::BadSource {
                source_name: s.into(),
                message: "a USB camera is usb:N or /dev/videoN".into(),
            });
        }
        if let Some((scheme, _)) = s.split_once("://") {
            return Err(IngestError::BadSource {
                source_name: s.into(),
                message: format!("unsupported scheme {scheme:?} (use rtsp://, rtsps://, file://, usb:N or a path)"),
            });
        }
        Ok(SourceSpec::File(PathBuf::from(s)))
    }

    pub fn is_live(&self) -> bool {
        !matches!(self, SourceSpec::File(_))
    }

    /// Name safe to log and report: RTSP credentials are masked.
    pub fn display_name(&self) -> String {
        match self {
            SourceSpec::File(p) => p.display().to_string(),
            SourceSpec::Rtsp(url) => mask_credentials(url),
            SourceSpec::Usb(n) => format!("usb:{n}"),
        }
    }
}

fn mask_credentials(url: &str) -> String {
    match url.split_once("://") {
        Some((scheme, rest)) => {
            let host_start = rest.find('/').unwrap_or(rest.len());
            match rest[..host_start].rfind('@') {
                Some(at) => format!("{scheme}://***@{}", &rest[at + 1..]),
                None => url.to_string(),
            }
        }
        None => url.to_string(),
    }
}

#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    #[error("source {source_name:?}: {message}")]
    BadSource { source_name: String, message: String },
    #[error("source {source_name}: {message}")]
    Open { source_name: String, message: String },
    #[error("source {source_name}: decoding failed: {message}")]
    Decode { source_name: String, message: String },
    #[error("source {source_name}: no frame for {seconds:.1} s")]
    Stalled { source_name: String, seconds: f64 },
    #[error(
        "source {source_name}: the file ends at {played_s:.1} s but its container says {stated_s:.1} s \
         (truncated or damaged; copy it again)"
    )]
    EndedEarly { source_name: String, played_s: f64, stated_s: f64 },
    #[error("GStreamer: {0}")]
    Gstreamer(String),
}

/// Something that yields decoded frames (GStreamer or a USB camera); the reader owns one
/// and reopens it after a failure.
pub trait FrameSource: Send {
    fn pull(&mut self, timeout: std::time::Duration) -> Result<gst::Pulled, IngestError>;

    /// How long the container says the media lasts (files; `None`: unknown or live).
    fn stated_duration(&self) -> Option<std::time::Duration> {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sources_parse() {
        assert_eq!(SourceSpec::parse("clip.mp4").unwrap(), SourceSpec::File("clip.mp4".into()));
        assert_eq!(SourceSpec::parse("file:///a/b.mkv").unwrap(), SourceSpec::File("/a/b.mkv".into()));
        assert_eq!(SourceSpec::parse("usb:1").unwrap(), SourceSpec::Usb(1));
        assert_eq!(SourceSpec::parse("/dev/video2").unwrap(), SourceSpec::Usb(2));
        assert!(SourceSpec::parse("rtsp://h/s").unwrap().is_live());
        assert!(SourceSpec::parse("http://h/s").unwrap_err().to_string().contains("http"));
        assert!(SourceSpec::parse("usb:x").is_err());
    }

    #[test]
    fn credentials_never_reach_logs() {
        let s = SourceSpec::parse("rtsp://admin:secret@10.1.1.1:554/Streaming/Channels/102").unwrap();
        assert_eq!(s.display_name(), "rtsp://***@10.1.1.1:554/Streaming/Channels/102");
        assert_eq!(SourceSpec::parse("rtsp://h/x@y").unwrap().display_name(), "rtsp://h/x@y");
    }
}
