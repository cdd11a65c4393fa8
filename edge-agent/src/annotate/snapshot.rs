//! `edge-agent snapshot`: the first `frames` frames of a source through the pipeline (so
//! the tracker has warmed up and boxes carry track ids), the last one annotated and saved
//! as a JPEG. For commissioning: where the lines and zones fall, what is detected.
//!
//! Unlike `count`, lines or zones outside the frame are not refused but warned about:
//! the picture is how one sees where they went wrong.

use std::path::Path;

use anyhow::Context;
use image::RgbImage;

use super::AnnotateError;
use crate::app::{CountJob, build_pipeline};
use crate::fit::FrameFit;
use crate::ingest::{IngestEvent, Reader, ReconnectPolicy};

/// What the snapshot was taken of.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SnapshotInfo {
    /// Frames run through the pipeline (fewer than asked when the source ended first).
    pub frames: u64,
    pub width: u32,
    pub height: u32,
}

/// Runs `job` over at most `frames` frames (at least one) and writes the last, annotated,
/// to `out` as a JPEG.
pub fn snapshot(job: &CountJob, frames: u64, out: &Path) -> anyhow::Result<SnapshotInfo> {
    let mut pipeline = build_pipeline(&job.config, job.lines.clone(), job.config_dir.as_deref())?;
    let policy = ReconnectPolicy { reconnect: false, ..Default::default() };
    let mut reader = Reader::open(job.source.clone(), job.config.open_options(), policy)?;
    let mut picture = RgbImage::new(0, 0);
    let mut seen = 0;
    while seen < frames.max(1) {
        match reader.next()? {
            IngestEvent::Frame(frame) => {
                pipeline.process(&frame).with_context(|| format!("source {}", job.source.display_name()))?;
                frame.to_rgb_into(&mut picture);
                seen += 1;
            }
            IngestEvent::Idle | IngestEvent::Down { .. } => {}
            IngestEvent::End => break,
        }
    }
    if seen == 0 {
        anyhow::bail!("source {}: no video frames decoded", job.source.display_name());
    }
    for issue in FrameFit::new(&job.config, job.lines.as_deref()).check(picture.width(), picture.height()) {
        tracing::warn!(%issue, "outside the {}x{} frame; drawn where it lies", picture.width(), picture.height());
    }
    super::render(&mut picture, &pipeline.view());
    picture
        .save_with_format(out, image::ImageFormat::Jpeg)
        .map_err(|e| AnnotateError::new(out, format!("cannot write JPEG: {e}")))?;
    Ok(SnapshotInfo { frames: seen, width: picture.width(), height: picture.height() })
}
