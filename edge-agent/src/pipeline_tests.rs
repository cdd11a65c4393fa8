//! Scenario tests of detect→track→count with a scripted detector: one test per failure
//! mode of the usual Python pipeline (supervision ByteTrack + LineZone), plus the
//! counting rules (stop-and-go, ID switches, direction, pedestrians).

use std::time::{Duration, UNIX_EPOCH};

use protocol::{ClassCounts, ObjectClass};

use super::*;
use crate::count::LineDef;
use crate::geometry::BBox;

/// Detections by frame index (a skipped repeat leaves its index unread).
struct Scripted {
    frames: Vec<Vec<Detection>>,
    next: usize,
}

impl Detector for Scripted {
    fn input_spec(&self) -> Option<&models::InputSpec> {
        None
    }

    fn detect_prepared(&mut self, input: &PreparedFrame, out: &mut Vec<Detection>) -> Result<(), DetectorError> {
        out.clear();
        if let Some(f) = self.frames.get(input.meta.index as usize) {
            out.extend_from_slice(f);
            crate::detect::nms::class_nms(out, 0.45);
            crate::detect::nms::merge_vehicle_classes(out, 0.55);
        }
        self.next += 1;
        Ok(())
    }
    fn model_id(&self) -> &str {
        "scripted"
    }
}

fn det(class: ObjectClass, score: f32, x: f32, bottom: f32, w: f32, h: f32) -> Detection {
    let mut class_scores = [0.0; 6];
    class_scores[class.index()] = score;
    Detection { bbox: BBox::new(x, bottom - h, x + w, bottom), score, class, class_scores }
}

/// Runs the script at 25 fps over one line y=200 from x=100 to x=500 (A left of B, so
/// forward = moving down the image). Returns (forward, backward) totals.
fn run(frames: Vec<Vec<Detection>>) -> (ClassCounts, ClassCounts) {
    let n = frames.len() as u64;
    let (fwd, bwd, _) = run_timed(frames, (0..n).map(|i| i * 40_000_000).collect(), |i| vec![i as u8; 48], 0.0);
    (fwd, bwd)
}

/// As `run`, with each frame's pts, its 4×4 RGB pixels (equal pixels make a repeat) and
/// the repeat threshold. Also returns the pipeline, finished.
fn run_timed(
    frames: Vec<Vec<Detection>>,
    pts: Vec<u64>,
    pixels: impl Fn(usize) -> Vec<u8>,
    repeat_max_diff: f32,
) -> (ClassCounts, ClassCounts, Pipeline<Scripted>) {
    let settings = PipelineSettings {
        lines: vec![LineDef::new("l", [100.0, 200.0], [500.0, 200.0])],
        interval: Duration::from_secs(10),
        repeat_max_diff,
        ..Default::default()
    };
    let mut p = Pipeline::new(Scripted { frames, next: 0 }, settings);
    let mut intervals = Vec::new();
    let base = UNIX_EPOCH + Duration::from_secs(1_000_000);
    for (i, &pts) in pts.iter().enumerate() {
        let frame =
            Frame::from_rgb(4, 4, pixels(i)).unwrap().with_timing(i as u64, pts, base + Duration::from_nanos(pts));
        p.process(&frame).unwrap();
        intervals.extend(p.poll(crate::ingest::health::unix_ms(base + Duration::from_nanos(pts))));
    }
    let end = pts.last().copied().unwrap_or(0) / 1_000_000 + 40;
    intervals.extend(p.finish(crate::ingest::health::unix_ms(base) + end as i64));
    let (mut fwd, mut bwd) = (ClassCounts::default(), ClassCounts::default());
    for i in &intervals {
        fwd.merge(&i.lines["l"].forward);
        bwd.merge(&i.lines["l"].backward);
    }
    (fwd, bwd, p)
}

/// A vehicle driving up the image (away from the camera) from `y0` to `y1`.
fn drive(class: ObjectClass, x: f32, y0: f32, y1: f32, speed: f32, w: f32, h: f32) -> Vec<Vec<Detection>> {
    let steps = ((y0 - y1).abs() / speed) as usize;
    let dir = if y1 < y0 { -1.0 } else { 1.0 };
    (0..=steps).map(|i| vec![det(class, 0.8, x, y0 + dir * speed * i as f32, w, h)]).collect()
}

#[test]
fn car_and_truck_boxes_on_one_vehicle_count_once() {
    let frames: Vec<Vec<Detection>> = drive(ObjectClass::Car, 200.0, 300.0, 100.0, 5.0, 60.0, 50.0)
        .into_iter()
        .map(|mut f| {
            let mut truck = f[0];
            truck.class = ObjectClass::Truck;
            truck.score = 0.6;
            truck.class_scores = [0.0, 0.0, 0.0, 0.0, 0.0, 0.6];
            truck.bbox.x1 -= 2.0;
            f.push(truck);
            f
        })
        .collect();
    let (fwd, bwd) = run(frames);
    assert_eq!((fwd.total(), bwd.total(), bwd.car), (0, 1, 1));
}

#[test]
fn a_queue_straddling_the_line_counts_when_it_moves() {
    // First seen stopped with the line through its body (bottom 40 px below the line).
    let mut frames: Vec<Vec<Detection>> =
        (0..50).map(|_| vec![det(ObjectClass::Bus, 0.9, 150.0, 240.0, 120.0, 100.0)]).collect();
    frames.extend(drive(ObjectClass::Bus, 150.0, 240.0, 120.0, 4.0, 120.0, 100.0));
    let (_, bwd) = run(frames);
    assert_eq!(bwd.bus, 1);
}

#[test]
fn a_dropout_while_crossing_keeps_the_crossing() {
    let frames: Vec<Vec<Detection>> = drive(ObjectClass::Car, 200.0, 300.0, 100.0, 6.0, 60.0, 50.0)
        .into_iter()
        .enumerate()
        .map(|(i, f)| {
            // The detector misses the car for the 3 frames in which it crosses.
            let bottom = 300.0 - 6.0 * i as f32;
            if (186.0..=204.0).contains(&bottom) { vec![] } else { f }
        })
        .collect();
    let (_, bwd) = run(frames);
    assert_eq!(bwd.car, 1);
}

#[test]
fn a_box_whose_corners_overhang_the_line_end_still_counts() {
    // Bottom-centre at x=480 (inside the line), right corner at x=540 (past B=500).
    let (_, inside) = run(drive(ObjectClass::Truck, 420.0, 300.0, 100.0, 5.0, 120.0, 80.0));
    assert_eq!(inside.truck, 1);
    // Bottom-centre at x=560: the vehicle passes beside the line, not through it.
    let (_, beside) = run(drive(ObjectClass::Truck, 500.0, 300.0, 100.0, 5.0, 120.0, 80.0));
    assert_eq!(beside.total(), 0);
}

#[test]
fn a_rider_whose_bike_is_never_detected_counts_as_a_motorcycle() {
    // A rear-facing motorbike: only the rider is found, moving 6 px/frame with a 50 px
    // tall box = 3 box heights per second.
    let (_, bwd) = run(drive(ObjectClass::Person, 300.0, 280.0, 120.0, 6.0, 20.0, 50.0));
    assert_eq!((bwd.motorcycle, bwd.total()), (1, 1));
}

#[test]
fn a_pedestrian_crossing_the_line_is_not_a_vehicle() {
    // 0.8 px/frame with a 50 px box = 0.4 box heights per second: walking.
    let (fwd, bwd) = run(drive(ObjectClass::Person, 300.0, 180.0, 230.0, 0.8, 20.0, 50.0));
    assert_eq!(fwd.total() + bwd.total(), 0);
}

#[test]
fn rider_and_bike_boxes_make_one_motorcycle() {
    let frames: Vec<Vec<Detection>> = drive(ObjectClass::Motorcycle, 300.0, 300.0, 100.0, 5.0, 30.0, 35.0)
        .into_iter()
        .map(|mut f| {
            let bike = f[0].bbox;
            f.push(det(ObjectClass::Person, 0.85, bike.x1 + 3.0, bike.y1 + 15.0, 24.0, 45.0));
            f
        })
        .collect();
    let (_, bwd) = run(frames);
    assert_eq!((bwd.motorcycle, bwd.total()), (1, 1));
}

#[test]
fn stop_and_go_on_the_line_counts_once() {
    let mut frames = drive(ObjectClass::Car, 200.0, 300.0, 203.0, 5.0, 60.0, 50.0);
    for i in 0..60 {
        // Creeping and jittering across the line for over two seconds.
        let jitter = [3.0, -2.0, 4.0, -4.0, 1.0][i % 5];
        frames.push(vec![det(ObjectClass::Car, 0.8, 200.0, 200.0 + jitter, 60.0, 50.0)]);
    }
    frames.extend(drive(ObjectClass::Car, 200.0, 200.0, 100.0, 5.0, 60.0, 50.0));
    let (fwd, bwd) = run(frames);
    assert_eq!((fwd.total(), bwd.total()), (0, 1));
}

#[test]
fn an_id_switch_after_the_line_does_not_count_twice() {
    let mut frames = drive(ObjectClass::Car, 200.0, 300.0, 170.0, 5.0, 60.0, 50.0);
    // The box jumps sideways (tracker loses it; a new track starts past the line).
    frames.extend(drive(ObjectClass::Car, 320.0, 165.0, 60.0, 5.0, 60.0, 50.0));
    let (_, bwd) = run(frames);
    assert_eq!(bwd.car, 1);
}

#[test]
fn the_wrong_way_rider_counts_forward() {
    let (fwd, bwd) = run(drive(ObjectClass::Motorcycle, 450.0, 120.0, 300.0, 5.0, 25.0, 40.0));
    assert_eq!((fwd.motorcycle, bwd.total()), (1, 0));
}

#[test]
fn a_vehicle_first_detected_on_the_line_still_counts() {
    // The detector only finds the distant scooter when its anchor is 1 px past the line.
    let (_, bwd) = run(drive(ObjectClass::Motorcycle, 300.0, 199.0, 120.0, 3.0, 20.0, 30.0));
    assert_eq!(bwd.motorcycle, 1);
}

#[test]
fn a_new_id_born_on_the_line_right_after_a_crossing_is_the_same_vehicle() {
    // Crosses and reaches 4 px past the line as track 1 (counted); the detector then
    // loses it for a second and finds it back as a new track, still inside the band.
    let mut frames = drive(ObjectClass::Car, 200.0, 300.0, 194.0, 6.0, 60.0, 50.0);
    frames.extend((0..30).map(|_| vec![]));
    frames.extend(drive(ObjectClass::Car, 203.0, 197.0, 100.0, 5.0, 60.0, 50.0));
    let (fwd, bwd) = run(frames);
    assert_eq!((fwd.total(), bwd.car), (0, 1));
}

#[test]
fn a_box_growing_over_a_static_object_is_not_a_crossing() {
    // Top edge fixed at y=150; the bottom edge creeps from 190 to 260 (a detection
    // swallowing the road below a parked van), and back.
    let mut frames: Vec<Vec<Detection>> =
        (0..70).map(|i| vec![det(ObjectClass::Car, 0.8, 200.0, 190.0 + i as f32, 60.0, 40.0 + i as f32)]).collect();
    frames.extend(
        (0..70).rev().map(|i| vec![det(ObjectClass::Car, 0.8, 200.0, 190.0 + i as f32, 60.0, 40.0 + i as f32)]),
    );
    let (fwd, bwd) = run(frames);
    assert_eq!(fwd.total() + bwd.total(), 0);
}

#[test]
fn zones_report_queue_dwell_and_movements() {
    use crate::count::ZoneDef;
    use crate::geometry::{Point, Polygon};
    let square = |x1: f32, y1: f32, x2: f32, y2: f32| Polygon {
        points: vec![Point::new(x1, y1), Point::new(x2, y1), Point::new(x2, y2), Point::new(x1, y2)],
    };
    let settings = PipelineSettings {
        lines: vec![LineDef::new("l", [100.0, 200.0], [500.0, 200.0])],
        zones: vec![ZoneDef { name: "stop".into(), polygon: square(100.0, 220.0, 500.0, 360.0), lanes: 1 }],
        interval: Duration::from_secs(60),
        repeat_max_diff: 0.0,
        ..Default::default()
    };
    // A car waits 2 s in the stop zone, then drives up across the line.
    let mut frames: Vec<Vec<Detection>> =
        (0..50).map(|_| vec![det(ObjectClass::Car, 0.9, 200.0, 300.0, 60.0, 50.0)]).collect();
    frames.extend(drive(ObjectClass::Car, 200.0, 300.0, 100.0, 5.0, 60.0, 50.0));
    let n = frames.len();
    let mut p = Pipeline::new(Scripted { frames, next: 0 }, settings);
    let base = UNIX_EPOCH + Duration::from_secs(1_000_020);
    for i in 0..n as u64 {
        let pts = i * 40_000_000;
        p.process(&Frame::from_rgb(4, 4, vec![0; 48]).unwrap().with_timing(i, pts, base + Duration::from_nanos(pts)))
            .unwrap();
    }
    let out = p.finish(crate::ingest::health::unix_ms(base) + n as i64 * 40);
    let zone = &out[0].zones["stop"];
    assert_eq!(zone.entered.car, 1);
    assert_eq!(zone.queue_max, 1, "waiting car is a queue of one");
    assert_eq!(zone.occupancy_max, 1);
    assert!(zone.dwell_max_s > 2.0 && zone.dwell_max_s < 3.5, "{}", zone.dwell_max_s);
    assert_eq!(out[0].movements.len(), 1);
    assert_eq!((out[0].movements[0].from.as_str(), out[0].movements[0].to.as_str()), ("stop", "l"));
    assert_eq!(out[0].movements[0].counts.car, 1);
    assert_eq!(out[0].lines["l"].backward.car, 1);
}

/// A second box on one motorbike (its cast shadow, or a pillion boxed apart from the
/// rider): a wider, lower box whose centre is a tenth of a width off, crossing with it.
#[test]
fn a_shadow_or_pillion_box_beside_a_motorbike_counts_once() {
    let frames: Vec<Vec<Detection>> = drive(ObjectClass::Motorcycle, 300.0, 300.0, 100.0, 5.0, 30.0, 60.0)
        .into_iter()
        .map(|mut f| {
            let b = f[0].bbox;
            f.push(det(ObjectClass::Motorcycle, 0.6, b.x1 - 18.0, b.y2 + 2.0, 54.0, 36.0));
            f
        })
        .collect();
    let (_, bwd) = run(frames);
    assert_eq!((bwd.motorcycle, bwd.total()), (1, 1));
}

#[test]
fn two_motorbikes_side_by_side_count_twice() {
    let a = drive(ObjectClass::Motorcycle, 300.0, 300.0, 100.0, 5.0, 30.0, 60.0);
    let b = drive(ObjectClass::Motorcycle, 340.0, 302.0, 102.0, 5.0, 30.0, 60.0);
    let frames = a.into_iter().zip(b).map(|(mut x, y)| {
        x.extend(y);
        x
    });
    let (_, bwd) = run(frames.collect());
    assert_eq!(bwd.motorcycle, 2);
}

/// Rear-facing motorbikes come as `car` boxes. Once the camera has seen a few clear
/// two-wheelers, a `car` no wider than they are at its rows is a motorbike; a real car,
/// about 2.5 motorbike widths, stays a car.
#[test]
fn a_motorbike_sized_car_box_is_a_motorcycle_once_the_camera_knows_motorbikes() {
    let mut frames: Vec<Vec<Detection>> = vec![Vec::new(); 41];
    for k in 0..6 {
        for (i, f) in drive(ObjectClass::Motorcycle, 110.0 + 60.0 * k as f32, 300.0, 100.0, 5.0, 30.0, 60.0)
            .into_iter()
            .enumerate()
        {
            frames[i].extend(f);
        }
    }
    frames.extend((0..40).map(|_| vec![]));
    let start = frames.len();
    frames.extend(vec![Vec::new(); 41]);
    for (i, f) in drive(ObjectClass::Car, 150.0, 300.0, 100.0, 5.0, 33.0, 60.0).into_iter().enumerate() {
        frames[start + i].extend(f);
    }
    for (i, f) in drive(ObjectClass::Car, 330.0, 300.0, 100.0, 5.0, 78.0, 60.0).into_iter().enumerate() {
        frames[start + i].extend(f);
    }
    let (_, bwd) = run(frames);
    assert_eq!((bwd.motorcycle, bwd.car), (7, 1));
}

#[test]
fn a_motorbike_sized_car_box_stays_a_car_before_the_camera_has_seen_motorbikes() {
    let (_, bwd) = run(drive(ObjectClass::Car, 150.0, 300.0, 100.0, 5.0, 33.0, 60.0));
    assert_eq!(bwd.car, 1);
}

/// A queue at the line creeps over it: a metre, a stop, another metre, with the
/// detector's box bottom jittering by a few pixels while it stands.
#[test]
fn a_queue_creeping_over_the_line_counts_once() {
    let mut frames = Vec::new();
    let mut bottom = 215.0f32;
    for step in 0..12 {
        for i in 0..15 {
            let jitter = [0.0, 2.0, -1.5, 1.0, -2.0][i % 5];
            frames.push(vec![det(ObjectClass::Motorcycle, 0.7, 300.0, bottom + jitter, 30.0, 60.0)]);
        }
        // Moves 3 px in one frame, then waits again (every third wait the detector misses it).
        bottom -= 3.0;
        if step % 3 == 0 {
            frames.extend((0..3).map(|_| vec![]));
        }
    }
    frames.extend(drive(ObjectClass::Motorcycle, 300.0, bottom, 100.0, 5.0, 30.0, 60.0));
    let (fwd, bwd) = run(frames);
    assert_eq!((fwd.total(), bwd.motorcycle), (0, 1));
}

/// A camera whose container says 30 fps delivers 20: pts alternate 33 and 67 ms (the
/// shared Saigon clip). Rate and motion follow the timestamps.
#[test]
fn the_frame_rate_comes_from_timestamps_not_the_container() {
    let mut pts = Vec::new();
    let mut t = 0u64;
    for k in 0..80u64 {
        pts.push(t);
        t += if k % 2 == 0 { 33_333_333 } else { 66_666_667 };
    }
    // 300 px/s up the image: the position follows time, not the frame index.
    let frames = pts
        .iter()
        .map(|&p| vec![det(ObjectClass::Car, 0.8, 200.0, 300.0 - 50.0 * p as f32 / 1e9 * 6.0, 60.0, 50.0)])
        .collect();
    let (_, bwd, p) = run_timed(frames, pts, |i| vec![i as u8; 48], 0.0);
    assert_eq!(bwd.car, 1);
    assert!((p.fps() - 20.0).abs() < 1.5, "fps {}", p.fps());
}

/// Every third frame repeats the one before (the shared HCMC clip): repeats cost no
/// inference, keep the crossing, and the rate stays the delivered one.
#[test]
fn repeated_frames_cost_no_inference_and_keep_the_count() {
    let frames = drive(ObjectClass::Motorcycle, 300.0, 300.0, 100.0, 5.0, 30.0, 60.0);
    let n = frames.len();
    // The picture (and so the detections) of a repeat is the frame before's.
    let source = |i: usize| if i % 3 == 2 { i - 1 } else { i };
    let frames = (0..n).map(|i| frames[source(i)].clone()).collect();
    let pts = (0..n as u64).map(|i| i * 100_000_000).collect();
    let (_, bwd, p) = run_timed(frames, pts, |i| vec![(source(i) * 10 % 250) as u8; 48], 3.0);
    assert_eq!(bwd.motorcycle, 1);
    assert_eq!(p.repeats(), (n / 3) as u64);
    assert_eq!(p.detector().next, n - n / 3, "one inference per new picture");
    assert!((p.fps() - 10.0).abs() < 0.5, "fps {}", p.fps());
}

/// Dropped frames: two of every five never arrive; the vehicle moves on meanwhile.
#[test]
fn dropped_frames_keep_one_track_and_one_count() {
    let frames = drive(ObjectClass::Motorcycle, 300.0, 300.0, 100.0, 8.0, 30.0, 40.0);
    let keep: Vec<usize> = (0..frames.len()).filter(|i| i % 5 < 3).collect();
    let pts = keep.iter().map(|&i| i as u64 * 40_000_000).collect();
    let kept = keep.iter().map(|&i| frames[i].clone()).collect();
    let (_, bwd) = {
        let (f, b, _) = run_timed(kept, pts, |i| vec![i as u8; 48], 0.0);
        (f, b)
    };
    assert_eq!(bwd.motorcycle, 1);
}

/// A calibrated camera: 10 px to the metre on the road (a top-down view, so the scripted
/// boxes' steady pixel speed is a steady ground speed).
#[test]
fn a_calibrated_camera_reports_each_crossing_speed_per_line_and_class() {
    use protocol::calibration::{Calibration, Correspondence};
    let survey = [[0.0, 0.0], [400.0, 0.0], [400.0, 400.0], [0.0, 400.0]]
        .map(|p| Correspondence { image: p, ground: [p[0] / 10.0, p[1] / 10.0] });
    let run_with = |calibration: Option<Calibration>| {
        let settings = PipelineSettings {
            lines: vec![LineDef::new("l", [100.0, 200.0], [500.0, 200.0])],
            interval: Duration::from_secs(60),
            repeat_max_diff: 0.0,
            calibration,
            ..Default::default()
        };
        // 5 px a frame at 25 fps: 125 px/s, 12.5 m/s, 45 km/h; the second car at 3 px: 27 km/h.
        let mut frames = drive(ObjectClass::Car, 150.0, 300.0, 100.0, 5.0, 60.0, 50.0);
        frames.extend(drive(ObjectClass::Car, 350.0, 300.0, 100.0, 3.0, 60.0, 50.0));
        let n = frames.len();
        let mut p = Pipeline::new(Scripted { frames, next: 0 }, settings);
        let base = UNIX_EPOCH + Duration::from_secs(1_000_020);
        for i in 0..n as u64 {
            let pts = i * 40_000_000;
            let frame =
                Frame::from_rgb(4, 4, vec![0; 48]).unwrap().with_timing(i, pts, base + Duration::from_nanos(pts));
            p.process(&frame).unwrap();
        }
        p.finish(crate::ingest::health::unix_ms(base) + n as i64 * 40)
    };
    let out = run_with(Some(Calibration::fit(&survey, 0.1).unwrap()));
    assert_eq!(out[0].lines["l"].backward.car, 2);
    let speeds = &out[0].speeds["l"];
    assert_eq!(speeds.all.vehicles, 2);
    let car = &speeds.classes[&protocol::VehicleClass::Car];
    assert!((car.mean_kmh - 36.0).abs() <= 36.0 * 0.03, "mean of 45 and 27 km/h: {}", car.mean_kmh);
    assert!((car.p85_kmh - 45.0).abs() <= 45.0 * 0.03, "{}", car.p85_kmh);
    let uncalibrated = run_with(None);
    assert_eq!(uncalibrated[0].lines["l"].backward.car, 2);
    assert!(uncalibrated[0].speeds.is_empty(), "no calibration, no speeds (not zero)");
}

/// Central pushes new lines while the pipeline runs: the open interval closes with the
/// old line, the next counts with the new one, nothing restarts.
#[test]
fn new_geometry_takes_over_at_the_next_interval_boundary() {
    let settings = PipelineSettings {
        lines: vec![LineDef::new("old", [100.0, 200.0], [500.0, 200.0])],
        interval: Duration::from_secs(10),
        repeat_max_diff: 0.0,
        ..Default::default()
    };
    // Car A crosses y=200 in the first second; car B drives the same path from 10.4 s.
    let mut frames: Vec<Vec<Detection>> = drive(ObjectClass::Car, 200.0, 300.0, 100.0, 5.0, 60.0, 50.0);
    frames.resize(260, vec![]);
    frames.extend(drive(ObjectClass::Car, 200.0, 300.0, 100.0, 5.0, 60.0, 50.0));
    frames.resize(400, vec![]);
    let n = frames.len();
    let mut p = Pipeline::new(Scripted { frames, next: 0 }, settings);
    let base = UNIX_EPOCH + Duration::from_secs(1_000_000); // on a 10 s boundary
    let mut out = Vec::new();
    let mut applied_at = None;
    for i in 0..n as u64 {
        let pts = i * 40_000_000;
        let at = base + Duration::from_nanos(pts);
        p.process(&Frame::from_rgb(4, 4, vec![0; 48]).unwrap().with_timing(i, pts, at)).unwrap();
        if i == 100 {
            p.reconfigure(reconfigure::Geometry {
                version: 7,
                lines: vec![LineDef::new("new", [100.0, 150.0], [500.0, 150.0])],
                zones: vec![],
                incidents: Default::default(),
                calibration: None,
            });
        }
        out.extend(p.poll(crate::ingest::health::unix_ms(at)));
        if let Some(v) = p.take_applied() {
            applied_at = Some((v, i));
        }
    }
    out.extend(p.finish(crate::ingest::health::unix_ms(base) + n as i64 * 40));
    assert_eq!(applied_at, Some((7, 250)), "applied at the first frame of the next interval (10 s)");
    assert_eq!(out.len(), 2, "{out:#?}");
    assert_eq!(out[0].lines.keys().collect::<Vec<_>>(), ["old"]);
    assert_eq!(out[0].lines["old"].backward.car, 1);
    assert_eq!(out[1].lines.keys().collect::<Vec<_>>(), ["new"]);
    assert_eq!(out[1].lines["new"].backward.car, 1);
    // Frames from 10.0 s to 15.96 s: the same coverage a pipeline without a switch reports.
    assert!((out[1].coverage - 0.596).abs() < 1e-9, "no frame dropped at the switch: {}", out[1].coverage);
    assert!((out[0].coverage - 1.0).abs() < 1e-9, "{}", out[0].coverage);
}
