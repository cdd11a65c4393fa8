//! Annotation: seeing what the detector sees, on the box. Frames are drawn on with the
//! pipeline's state after each one (boxes, track ids, lines with their forward arrow,
//! zones, running counts) and written out as a video (`count --annotate`) or one JPEG
//! (`snapshot`).
//!
//! # Layout
//! - `draw` (raster primitives on an RGB picture) and `font` (a built-in 5×7 bitmap font:
//!   no font files on the box);
//! - `overlay` (what is drawn, from `pipeline::SceneView`);
//! - `encode` (the GStreamer MP4 writer);
//! - `snapshot` (the first N frames through the pipeline, the last one as a JPEG);
//! - `recorder` (`run --annotate-dir`: segmented files within a byte budget).
//!
//! Off the hot path: counting without annotation builds no picture and draws nothing
//! (`Preparer::with_pictures` is what makes the stage carry one).

pub mod draw;
pub mod encode;
pub mod font;
pub mod overlay;
pub mod recorder;
pub mod snapshot;

use std::path::{Path, PathBuf};

pub use encode::VideoWriter;
pub use overlay::render;
pub use recorder::{RecordSettings, SegmentRecorder};
pub use snapshot::{SnapshotInfo, snapshot};

/// Writing an annotated output failed; names the file.
#[derive(Debug, thiserror::Error)]
#[error("{}: {message}", path.display())]
pub struct AnnotateError {
    pub path: PathBuf,
    pub message: String,
}

impl AnnotateError {
    pub fn new(path: &Path, message: String) -> AnnotateError {
        AnnotateError { path: path.to_path_buf(), message }
    }
}
