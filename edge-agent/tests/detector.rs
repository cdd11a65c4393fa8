//! The real detectors on a real image: both shipped models must find the bus in
//! `hpc203_bus.jpg` where it is, with a confident score.
mod common;

use edge_agent::detect::{Detection, Detector};
use edge_agent::geometry::BBox;
use protocol::ObjectClass;

/// The bus, measured once (YOLOX-nano box, corrected by eye on the image: front edge,
/// roof line, right image edge, tyre contact).
const BUS: BBox = BBox::new(16.0, 232.0, 805.0, 730.0);

fn best_bus(model: &str) -> Detection {
    let frame = common::load_image("images/hpc203_bus.jpg");
    let mut det = common::detector(model);
    let mut out = Vec::new();
    det.detect(&frame, &[BBox::new(0.0, 0.0, frame.width as f32, frame.height as f32)], &mut out).unwrap();
    out.into_iter()
        .filter(|d| d.class == ObjectClass::Bus)
        .max_by(|a, b| a.score.total_cmp(&b.score))
        .unwrap_or_else(|| panic!("{model}: no bus detected"))
}

#[test]
fn yolox_finds_the_bus() {
    let bus = best_bus("yolox_nano_416");
    assert!(bus.score >= 0.8, "score {}", bus.score);
    assert!(bus.bbox.iou(&BUS) >= 0.7, "iou {} of {:?}", bus.bbox.iou(&BUS), bus.bbox);
}

/// NanoDet-m scores this bus 0.755 here and 0.756–0.759 in a Python reference with
/// OpenCV's linear, area and cubic resizing: the model's own ceiling, so the bar is
/// set just under it rather than at 0.8.
#[test]
fn nanodet_finds_the_bus() {
    let bus = best_bus("nanodet_m_416");
    assert!(bus.score >= 0.74, "score {}", bus.score);
    assert!(bus.bbox.iou(&BUS) >= 0.7, "iou {} of {:?}", bus.bbox.iou(&BUS), bus.bbox);
}

#[test]
fn persons_beside_the_bus_are_separate_boxes() {
    let frame = common::load_image("images/hpc203_bus.jpg");
    let mut det = common::detector("yolox_nano_416");
    let mut out = Vec::new();
    det.detect(&frame, &[BBox::new(0.0, 0.0, frame.width as f32, frame.height as f32)], &mut out).unwrap();
    let persons = out.iter().filter(|d| d.class == ObjectClass::Person && d.score > 0.5).count();
    assert_eq!(persons, 3, "{out:?}");
}

#[test]
fn a_model_file_with_the_wrong_sha256_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let manifest = models::Manifest::builtin("yolox_nano_416").unwrap();
    let path = dir.path().join(&manifest.file);
    let mut bytes = std::fs::read(common::asset("models/yolox_nano_416.onnx")).unwrap();
    bytes[1000] ^= 0xff;
    std::fs::write(&path, bytes).unwrap();
    let profile = firmware_profiles::EdgeBoxProfile::builtin("generic_x86").unwrap();
    let err = edge_agent::detect::OnnxDetector::load(&manifest, &path, &profile, Default::default())
        .err()
        .expect("corrupted model must be refused")
        .to_string();
    assert!(err.contains("sha256") && err.contains("yolox_nano_416"), "{err}");
}
