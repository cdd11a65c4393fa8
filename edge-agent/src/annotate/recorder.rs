//! `run --annotate-dir`: the long-running agent's annotated video, on the box's own disk,
//! in segments of `segment_s` seconds of stream time, within a byte budget.
//!
//! A segment is written as `<camera>-<UTC start>.mp4.part` and renamed to `.mp4` once its
//! MP4 index is written, so a `.mp4` is always playable and a `.part` is what a crash
//! left (unplayable: it is deleted at start). After each segment is finished the oldest
//! `.mp4`s of this camera are deleted until the rest fit `keep_bytes`; the newest is
//! always kept. The disk holds at most `keep_bytes` of finished segments plus the one
//! being written (and one being finished).
//!
//! Finishing a segment waits for the encoder to drain (x264 holds a few dozen frames):
//! that happens on a thread of its own so the frame loop, which counts, never waits for
//! it. A failing segment (disk full, encoder error) is dropped with a warning and the
//! next one is tried a segment later: recording never stops counting.
//!
//! Nothing here leaves the box: the files are for the engineer standing beside it.

use std::path::{Path, PathBuf};
use std::thread::JoinHandle;
use std::time::SystemTime;

use image::RgbImage;

use super::{AnnotateError, VideoWriter};

#[derive(Debug, Clone, PartialEq)]
pub struct RecordSettings {
    pub dir: PathBuf,
    /// Stream seconds per file.
    pub segment_s: u64,
    /// Finished segments kept (bytes); the oldest go first.
    pub keep_bytes: u64,
}

pub struct SegmentRecorder {
    settings: RecordSettings,
    camera: String,
    current: Option<Segment>,
    /// The finisher of the last segment (drain, rename, prune).
    finishing: Option<JoinHandle<()>>,
    /// After a failure, no new segment before this stream time.
    pause_until_ns: Option<u64>,
}

struct Segment {
    writer: VideoWriter,
    part: PathBuf,
    done: PathBuf,
    start_ns: u64,
    last_ns: u64,
    size: (u32, u32),
}

impl SegmentRecorder {
    /// Creates the directory, deletes this camera's unfinished segments from an earlier
    /// run and keeps the finished ones within the budget.
    pub fn open(settings: RecordSettings, camera: &str) -> Result<SegmentRecorder, AnnotateError> {
        let dir = &settings.dir;
        std::fs::create_dir_all(dir).map_err(|e| AnnotateError::new(dir, format!("cannot create: {e}")))?;
        for stale in segments(dir, camera, ".mp4.part").map_err(|e| AnnotateError::new(dir, e.to_string()))? {
            tracing::info!(file = %stale.0.display(), "unfinished annotated segment from an earlier run deleted");
            let _ = std::fs::remove_file(&stale.0);
        }
        prune(dir, camera, settings.keep_bytes);
        Ok(SegmentRecorder {
            settings,
            camera: camera.to_string(),
            current: None,
            finishing: None,
            pause_until_ns: None,
        })
    }

    /// Appends one drawn frame (`pts_ns` stream time, `captured_at` wall time); starts a
    /// new file when the segment is full, the stream restarted (time went back) or the
    /// frame size changed.
    pub fn push(&mut self, picture: &RgbImage, pts_ns: u64, captured_at: SystemTime) {
        let size = picture.dimensions();
        if let Some(seg) = &self.current {
            let full = pts_ns.saturating_sub(seg.start_ns) >= self.settings.segment_s * 1_000_000_000;
            if full || pts_ns < seg.last_ns || size != seg.size {
                self.rotate();
            }
        }
        if self.current.is_none() {
            if self.pause_until_ns.is_some_and(|until| pts_ns < until) {
                return;
            }
            self.pause_until_ns = None;
            match self.start(pts_ns, captured_at, size) {
                Ok(seg) => self.current = Some(seg),
                Err(e) => return self.failed(e, pts_ns),
            }
        }
        let seg = self.current.as_mut().expect("started above");
        seg.last_ns = pts_ns;
        if let Err(e) = seg.writer.push(picture, pts_ns) {
            let seg = self.current.take().expect("present");
            drop(seg.writer);
            let _ = std::fs::remove_file(&seg.part);
            self.failed(e, pts_ns);
        }
    }

    /// Finishes the segment being written and waits for it (the agent is stopping).
    pub fn finish(&mut self) {
        self.rotate();
        if let Some(handle) = self.finishing.take() {
            let _ = handle.join();
        }
    }

    fn start(&self, pts_ns: u64, captured_at: SystemTime, size: (u32, u32)) -> Result<Segment, AnnotateError> {
        // 2026-12-08T01:28:56.123Z → 20261208T012856.123Z: sorts by time, no ':' in file
        // names, and a file processed faster than real time never repeats a name.
        let stamp: String = humantime::format_rfc3339_millis(captured_at).to_string().replace(['-', ':'], "");
        let name = format!("{}-{stamp}", self.camera);
        let done = self.settings.dir.join(format!("{name}.mp4"));
        let part = self.settings.dir.join(format!("{name}.mp4.part"));
        let writer = VideoWriter::create(&part)?;
        Ok(Segment { writer, part, done, start_ns: pts_ns, last_ns: pts_ns, size })
    }

    /// Hands the current segment to a finisher thread (after the previous one is done,
    /// so at most one segment drains at a time).
    fn rotate(&mut self) {
        let Some(seg) = self.current.take() else { return };
        if let Some(handle) = self.finishing.take() {
            let _ = handle.join();
        }
        let (dir, camera, keep) = (self.settings.dir.clone(), self.camera.clone(), self.settings.keep_bytes);
        let spawned = std::thread::Builder::new().name("annotate-finish".into()).spawn(move || {
            match seg.writer.finish() {
                Ok(frames) => match std::fs::rename(&seg.part, &seg.done) {
                    Ok(()) => tracing::info!(file = %seg.done.display(), frames, "annotated segment written"),
                    Err(e) => tracing::warn!(file = %seg.part.display(), error = %e, "annotated segment not renamed"),
                },
                Err(e) => {
                    tracing::warn!(error = %e, "annotated segment dropped");
                    let _ = std::fs::remove_file(&seg.part);
                }
            }
            prune(&dir, &camera, keep);
        });
        match spawned {
            Ok(handle) => self.finishing = Some(handle),
            Err(e) => tracing::warn!(error = %e, "no thread to finish the annotated segment; it is dropped"),
        }
    }

    fn failed(&mut self, e: AnnotateError, pts_ns: u64) {
        let retry_in_s = self.settings.segment_s;
        tracing::warn!(error = %e, retry_in_s, "annotated recording paused; counting goes on");
        self.pause_until_ns = Some(pts_ns + self.settings.segment_s * 1_000_000_000);
    }
}

impl Drop for SegmentRecorder {
    fn drop(&mut self) {
        self.finish();
    }
}

/// This camera's files in `dir` ending in `suffix`, oldest first, with their sizes.
fn segments(dir: &Path, camera: &str, suffix: &str) -> std::io::Result<Vec<(PathBuf, u64)>> {
    let prefix = format!("{camera}-");
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(stamp) = name.strip_prefix(&prefix).and_then(|rest| rest.strip_suffix(suffix)) else { continue };
        // `<camera>-<stamp>.mp4` only: another camera whose id starts with this one's
        // (`cam-1` and `cam-1-b`) has a stamp that is not all digits, 'T', '.' and 'Z'.
        if stamp.len() == 20 && stamp.chars().all(|c| c.is_ascii_digit() || "T.Z".contains(c)) {
            out.push((entry.path(), entry.metadata()?.len()));
        }
    }
    out.sort();
    Ok(out)
}

/// Deletes the oldest finished segments until the rest fit `keep_bytes`; keeps the newest.
fn prune(dir: &Path, camera: &str, keep_bytes: u64) {
    let files = match segments(dir, camera, ".mp4") {
        Ok(files) => files,
        Err(e) => return tracing::warn!(dir = %dir.display(), error = %e, "annotated segments not pruned"),
    };
    let mut total: u64 = files.iter().map(|f| f.1).sum();
    for (path, bytes) in &files[..files.len().saturating_sub(1)] {
        if total <= keep_bytes {
            break;
        }
        match std::fs::remove_file(path) {
            Ok(()) => total -= bytes,
            Err(e) => tracing::warn!(file = %path.display(), error = %e, "old annotated segment not deleted"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn touch(dir: &Path, name: &str, bytes: usize) {
        std::fs::write(dir.join(name), vec![0u8; bytes]).unwrap();
    }

    #[test]
    fn the_oldest_segments_go_first_and_the_newest_always_stays() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        touch(d, "cam-1-20261208T010000.000Z.mp4", 400);
        touch(d, "cam-1-20261208T010100.000Z.mp4", 400);
        touch(d, "cam-1-20261208T010200.000Z.mp4", 400);
        touch(d, "cam-1-b-20261208T010000.000Z.mp4", 400); // another camera
        touch(d, "cam-1-20261208T010300.000Z.mp4.part", 50); // being written
        prune(d, "cam-1", 800);
        let left = |camera| segments(d, camera, ".mp4").unwrap().into_iter().map(|f| f.0).collect::<Vec<_>>();
        assert_eq!(left("cam-1"), [d.join("cam-1-20261208T010100.000Z.mp4"), d.join("cam-1-20261208T010200.000Z.mp4")]);
        assert_eq!(left("cam-1-b").len(), 1, "another camera's files are not this camera's budget");
        assert!(d.join("cam-1-20261208T010300.000Z.mp4.part").exists());
        prune(d, "cam-1", 10);
        assert_eq!(left("cam-1"), [d.join("cam-1-20261208T010200.000Z.mp4")], "the newest is kept over budget");
    }

    #[test]
    fn a_crash_leaves_a_part_file_that_the_next_start_deletes() {
        let dir = tempfile::tempdir().unwrap();
        touch(dir.path(), "cam-1-20261208T010300.000Z.mp4.part", 50);
        touch(dir.path(), "cam-1-20261208T010200.000Z.mp4", 50);
        let settings = RecordSettings { dir: dir.path().into(), segment_s: 60, keep_bytes: 1 << 20 };
        drop(SegmentRecorder::open(settings, "cam-1").unwrap());
        assert!(!dir.path().join("cam-1-20261208T010300.000Z.mp4.part").exists());
        assert!(dir.path().join("cam-1-20261208T010200.000Z.mp4").exists());
    }
}
