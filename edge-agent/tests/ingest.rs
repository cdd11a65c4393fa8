//! GStreamer ingest on the real clips: every frame of a file, and clear errors.
mod common;

use edge_agent::ingest::gst::OpenOptions;
use edge_agent::ingest::{IngestEvent, Reader, ReconnectPolicy, SourceSpec};

fn read_all(path: &std::path::Path) -> Result<(u64, u32, u32), String> {
    let mut reader = Reader::open(SourceSpec::File(path.into()), OpenOptions::default(), ReconnectPolicy::default())
        .map_err(|e| e.to_string())?;
    let (mut n, mut w, mut h) = (0, 0, 0);
    loop {
        match reader.next().map_err(|e| e.to_string())? {
            IngestEvent::Frame(f) => {
                assert_eq!(f.index, n, "frames arrive in order, none skipped");
                n += 1;
                (w, h) = (f.width, f.height);
            }
            IngestEvent::End => return Ok((n, w, h)),
            IngestEvent::Idle | IngestEvent::Down { .. } => {}
        }
    }
}

#[test]
fn a_file_delivers_every_frame() {
    // The container holds 1190 frames, but its edit list ends the segment at 47.6 s,
    // the timestamp of the last one, so GStreamer clips it (FFmpeg shows it). Frame
    // indices still match the ground truth's 0-based OpenCV indices.
    assert_eq!(read_all(&common::asset("clips/multilane_road_360p.mp4")).unwrap(), (1189, 640, 360));
    assert_eq!(read_all(&common::asset("clips/vn_intersection_1080p.mp4")).unwrap(), (314, 1920, 1080));
}

#[test]
fn a_missing_file_names_the_file() {
    let err = read_all(std::path::Path::new("/nonexistent/clip.mp4")).unwrap_err();
    assert!(err.contains("/nonexistent/clip.mp4") && err.contains("No such file"), "{err}");
}

#[test]
fn a_corrupt_mp4_is_a_decoding_error_not_a_panic() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("corrupt.mp4");
    let mut bytes = std::fs::read(common::asset("clips/overhead_road_short.mp4")).unwrap();
    bytes.truncate(4096);
    for b in bytes.iter_mut().skip(64) {
        *b = b.wrapping_mul(31).wrapping_add(7);
    }
    std::fs::write(&path, bytes).unwrap();
    let err = read_all(&path).unwrap_err();
    assert!(err.contains("corrupt.mp4"), "{err}");
}
