//! The camera-moved check on real video: the shared vn_intersection_1080p clip as shot,
//! and the same clip with the view shifted by 5 % of its width and height from the
//! fifth second on (made here with ffmpeg: a moving crop scaled back to 1080p, what a
//! knocked camera looks like). The check learns the view for 2 s and confirms over three
//! half-second checks.
mod common;

use edge_agent::app::{CountJob, count_clip};
use edge_agent::config::AgentConfig;
use edge_agent::ingest::SourceSpec;
use protocol::messages::IncidentKind;

fn moved_reports(clip: &std::path::Path) -> Vec<protocol::messages::Incident> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../configs/vn_intersection_1080p.toml");
    let mut cfg = AgentConfig::read(&path).unwrap();
    cfg.scene = edge_agent::scene::SceneSettings {
        moved_alert: true,
        check_every_s: 0.5,
        learn_s: 2.0,
        confirm: 3,
        min_shift: 2,
    };
    let lines = cfg.line_defs();
    let job =
        CountJob { source: SourceSpec::File(clip.to_path_buf()), lines: Some(lines), config: cfg, config_dir: None };
    let r = count_clip(&job, |_| {}).unwrap();
    r.incidents.into_iter().filter(|i| i.kind == IncidentKind::CameraMoved).collect()
}

#[test]
fn a_shifted_view_is_reported_once_and_the_steady_one_never() {
    let original = common::asset("clips/vn_intersection_1080p.mp4");
    let steady = moved_reports(&original);

    let dir = tempfile::tempdir().unwrap();
    let shifted = dir.path().join("shifted.mp4");
    let ok = std::process::Command::new("ffmpeg")
        .args(["-loglevel", "error", "-y", "-i", original.to_str().unwrap()])
        .args(["-vf", "crop=w=iw-96:h=ih-54:x='if(gte(t,5),96,0)':y='if(gte(t,5),54,0)',scale=1920:1080"])
        .args(["-c:v", "libx264", "-preset", "ultrafast", "-crf", "23", shifted.to_str().unwrap()])
        .status()
        .unwrap();
    assert!(ok.success(), "ffmpeg could not make the shifted clip");
    let reports = moved_reports(&shifted);
    assert!(steady.is_empty(), "traffic through a steady view is not a move");
    eprintln!("{reports:#?}");
    assert_eq!(reports.len(), 1, "one report for one move: {reports:#?}");
    assert!(reports[0].detail.as_deref().is_some_and(|d| d.contains("shifted")), "{:?}", reports[0].detail);
}
