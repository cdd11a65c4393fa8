//! Annotation with the real detector and shared clips: `count --annotate` writes a video
//! with every input frame at the input's timing and the overlay burned in; the boxes drawn
//! are where the detector put them; `snapshot` writes a JPEG of the frame's size; bad
//! output paths fail before any work, naming the file.
mod common;

use std::path::Path;
use std::process::{Command, Output};

use edge_agent::annotate::overlay::{LINE_COLOUR, class_colour};
use edge_agent::app::{build_pipeline, default_config};
use edge_agent::count::LineDef;
use edge_agent::ingest::{IngestEvent, Reader, ReconnectPolicy, SourceSpec};
use protocol::ObjectClass;

fn edge_agent(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_edge-agent")).args(args).output().expect("run edge-agent")
}

fn config(name: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../configs").join(name).to_string_lossy().into_owned()
}

/// Every frame of a video file: (count, pts of the last, the first frame as RGB).
fn decode(path: &Path) -> (u64, u64, image::RgbImage) {
    let policy = ReconnectPolicy { reconnect: false, ..Default::default() };
    let opts = edge_agent::ingest::gst::OpenOptions::default();
    let mut reader = Reader::open(SourceSpec::File(path.to_path_buf()), opts, policy).unwrap();
    let (mut n, mut last, mut first) = (0, 0, image::RgbImage::new(0, 0));
    loop {
        match reader.next().unwrap() {
            IngestEvent::Frame(f) => {
                if n == 0 {
                    f.to_rgb_into(&mut first);
                }
                n += 1;
                last = f.pts_ns;
            }
            IngestEvent::End => return (n, last, first),
            _ => {}
        }
    }
}

fn near(a: [u8; 3], b: [u8; 3], tolerance: i32) -> bool {
    a.iter().zip(b).all(|(&x, y)| (x as i32 - y as i32).abs() <= tolerance)
}

#[test]
fn count_annotate_writes_every_frame_at_the_input_timing_with_the_overlay() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("annotated.mp4");
    let run = edge_agent(&[
        "count",
        "--config",
        &config("vn_intersection_1080p.toml"),
        "--json",
        "--annotate",
        out.to_str().unwrap(),
    ]);
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
    let report: serde_json::Value = serde_json::from_slice(&run.stdout).unwrap();
    let (frames_in, last_in, source) = decode(&common::asset("clips/vn_intersection_1080p.mp4"));
    let (frames_out, last_out, drawn) = decode(&out);
    assert_eq!(report["frames"], frames_in);
    assert_eq!(frames_out, frames_in, "one output frame per input frame");
    // Same timing: the last frame shows when it did in the input (within a millisecond).
    assert!(last_out.abs_diff(last_in) < 1_000_000, "last pts {last_out} vs {last_in}");
    assert_eq!(drawn.dimensions(), source.dimensions());
    // The config's line `main` runs across y = 540: drawn in red through the H.264 round
    // trip, where the source has road.
    let on_line: Vec<u32> = (100..1800).step_by(50).collect();
    let red = on_line.iter().filter(|&&x| near(drawn.get_pixel(x, 540).0, LINE_COLOUR, 60)).count();
    let was_red = on_line.iter().filter(|&&x| near(source.get_pixel(x, 540).0, LINE_COLOUR, 60)).count();
    assert!(red >= on_line.len() * 9 / 10, "{red} of {} points on the line are red", on_line.len());
    assert!(was_red <= on_line.len() / 10, "the source itself is red there ({was_red})");
}

#[test]
fn boxes_are_drawn_where_the_detector_found_them() {
    let frame = common::load_image("images/hpc203_bus.jpg");
    let (w, h) = (frame.width as f32, frame.height as f32);
    // A line away from the bus's edges, so nothing but its own box is drawn there.
    let line = LineDef::new("l", [w * 0.3, h * 0.95], [w * 0.7, h * 0.95]);
    let mut config = default_config(None, None);
    // The whole frame, as `detector.rs` looks at it (line tiles alone miss the bus's top).
    (config.views.full, config.views.line_tiles) = (Some(true), 0);
    let mut pipeline = build_pipeline(&config, Some(vec![line]), None).unwrap();
    pipeline.process(&frame).unwrap();
    let view = pipeline.view();
    let bus = view
        .detections
        .iter()
        .filter(|d| d.class == ObjectClass::Bus)
        .max_by(|a, b| a.score.total_cmp(&b.score))
        .unwrap_or_else(|| panic!("no bus among {:?}", view.detections));
    let mut source = image::RgbImage::new(0, 0);
    frame.to_rgb_into(&mut source);
    let mut drawn = source.clone();
    edge_agent::annotate::render(&mut drawn, &view);
    let b = bus.bbox.clamp(w - 1.0, h - 1.0);
    let (x1, y1, x2, y2) = (b.x1.round() as u32, b.y1.round() as u32, b.x2.round() as u32, b.y2.round() as u32);
    let edge: Vec<(u32, u32)> =
        (x1..=x2).flat_map(|x| [(x, y1), (x, y2)]).chain((y1..=y2).flat_map(|y| [(x1, y), (x2, y)])).collect();
    let colour = class_colour(ObjectClass::Bus);
    let coloured = edge.iter().filter(|&&(x, y)| drawn.get_pixel(x, y).0 == colour).count();
    let changed = edge.iter().filter(|&&(x, y)| drawn.get_pixel(x, y) != source.get_pixel(x, y)).count();
    assert!(coloured * 100 >= edge.len() * 95, "{coloured} of {} edge pixels in the bus colour", edge.len());
    assert!(changed * 100 >= edge.len() * 90, "only {changed} of {} edge pixels changed", edge.len());
    // Inside the box, away from its edges, the picture is left (other boxes' outlines aside).
    let (mx, my) = ((x2 - x1) / 10, (y2 - y1) / 10);
    let inside: Vec<(u32, u32)> = (x1 + mx..x2 - mx).flat_map(|x| (y1 + my..y2 - my).map(move |y| (x, y))).collect();
    let touched = inside.iter().filter(|&&(x, y)| drawn.get_pixel(x, y) != source.get_pixel(x, y)).count();
    assert!(touched * 20 < inside.len(), "{touched} of {} pixels inside the box drawn over", inside.len());
}

#[test]
fn snapshot_writes_a_jpeg_of_the_frame_size() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("snap.jpg");
    let run = edge_agent(&[
        "snapshot",
        "--config",
        &config("vn_intersection_1080p.toml"),
        "--frames",
        "10",
        out.to_str().unwrap(),
    ]);
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
    let img = image::open(&out).expect("the snapshot decodes").to_rgb8();
    assert_eq!(img.dimensions(), (1920, 1080));
    assert!(near(img.get_pixel(960, 540).0, LINE_COLOUR, 60), "line drawn: {:?}", img.get_pixel(960, 540));
}

#[test]
fn unwritable_outputs_fail_naming_the_file() {
    let missing = "/nonexistent-dir/out";
    let clip = common::asset("clips/overhead_road_short.mp4");
    let source = clip.to_str().unwrap();
    for args in [
        vec!["count", "--source", source, "--line", "m:0,200,639,200", "--annotate", "/nonexistent-dir/out.mp4"],
        vec!["snapshot", "--source", source, "--line", "m:0,200,639,200", "--frames", "2", "/nonexistent-dir/out.jpg"],
    ] {
        let run = edge_agent(&args);
        let stderr = String::from_utf8_lossy(&run.stderr);
        assert!(!run.status.success(), "{args:?} should fail");
        assert!(!stderr.contains("panicked"), "{stderr}");
        assert!(stderr.contains("edge-agent: error:") && stderr.contains(missing), "{stderr}");
    }
}

/// `run --annotate-dir`: the agent writes its annotated video in segments of stream time;
/// every frame it counted is in a segment; only finished, playable files remain; the
/// oldest are deleted to keep the budget, the newest always stays.
#[test]
fn run_annotate_dir_writes_bounded_segments_of_every_frame() {
    let dir = tempfile::tempdir().unwrap();
    let clip = common::asset("clips/parking_lot_sparse.mp4"); // 377 frames, 30.2 s
    let config = dir.path().join("agent.toml");
    let toml = format!(
        "[camera]\nid = \"lot-1\"\nsource = \"{}\"\ninterval_s = 10\n\n\
         [[lines]]\nname = \"l\"\na = [100, 200]\nb = [600, 200]\n",
        clip.display()
    );
    std::fs::write(&config, toml).unwrap();
    let out_dir = dir.path().join("annotated");
    std::fs::create_dir(&out_dir).unwrap();
    std::fs::write(out_dir.join("lot-1-20261208T000000.000Z.mp4.part"), b"left by a crash").unwrap();
    let budget_mib = 1;
    let run = Command::new(env!("CARGO_BIN_EXE_edge-agent"))
        .args(["run", "--config", config.to_str().unwrap(), "--annotate-dir", out_dir.to_str().unwrap()])
        .args(["--annotate-segment-s", "5", "--annotate-keep-mib", &budget_mib.to_string()])
        .env("RUST_LOG", "info,ort=error")
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    let log = String::from_utf8_lossy(&run.stderr);
    assert!(run.status.success(), "{log}");
    // What was written, from the agent's own log: one line per finished segment.
    let written: Vec<u64> = log
        .lines()
        .filter(|l| l.contains("annotated segment written"))
        .map(|l| l.split("frames=").nth(1).unwrap().split_whitespace().next().unwrap().parse().unwrap())
        .collect();
    let (clip_frames, _, _) = decode(&clip);
    // 12.5 fps: a segment is full at its 63rd frame (5.04 s), so 377 frames make 6.
    assert_eq!(written.len(), 6, "30.2 s in 5 s segments: {written:?}");
    assert_eq!(written.iter().sum::<u64>(), clip_frames, "every frame is in a segment: {written:?}");
    let mut files: Vec<_> = std::fs::read_dir(&out_dir).unwrap().map(|e| e.unwrap().path()).collect();
    files.sort();
    let names: Vec<String> = files.iter().map(|p| p.file_name().unwrap().to_string_lossy().into_owned()).collect();
    assert!(names.iter().all(|n| n.starts_with("lot-1-") && n.ends_with(".mp4")), "only finished files: {names:?}");
    let sizes: Vec<u64> = files.iter().map(|p| std::fs::metadata(p).unwrap().len()).collect();
    let (older, newest) = sizes.split_at(sizes.len() - 1);
    assert!(older.iter().sum::<u64>() + newest[0] <= budget_mib << 20 || older.is_empty(), "{sizes:?}");
    assert!(files.len() < written.len(), "1 MiB holds fewer than all six: {sizes:?}");
    // Each file left decodes to the frames the log says it holds (the newest: the tail).
    let (frames, _, picture) = decode(files.last().unwrap());
    assert_eq!(frames, *written.last().unwrap());
    assert_eq!(picture.dimensions(), (768, 432));
}
