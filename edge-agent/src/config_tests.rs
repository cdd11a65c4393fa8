use super::*;

const GOOD: &str = r#"
[camera]
id = "cam-1"
source = "rtsp://10.0.0.7/stream"

[[lines]]
name = "north"
a = [0, 540]
b = [1919, 540]

[[zones]]
name = "stop"
polygon = [[0, 600], [900, 600], [900, 1000], [0, 1000]]

[views]
tiles = [2, 2]
"#;

#[test]
fn a_good_config_validates() {
    let c = AgentConfig::parse(GOOD).unwrap();
    assert_eq!(c.validate(None), vec![]);
    assert_eq!(c.camera.interval_s, 60);
    assert_eq!(c.line_defs()[0].name, "north");
    assert_eq!(c.source(None).unwrap(), SourceSpec::Rtsp("rtsp://10.0.0.7/stream".into()));
}

#[test]
fn unknown_fields_are_named_with_their_path() {
    let e = AgentConfig::parse(&GOOD.replace("b = [1919, 540]", "b = [1919, 540]\ncolour = \"red\"")).unwrap_err();
    assert_eq!(e.path, "lines[0].colour");
    assert!(e.message.contains("colour"), "{e}");
    let e = AgentConfig::parse(&GOOD.replace("tiles = [2, 2]", "tiles = [2, 2]\nzoom = 2")).unwrap_err();
    assert!(e.path == "views.zoom" && e.message.contains("zoom"), "{e}");
}

#[test]
fn wrong_types_are_named_with_their_path() {
    let e = AgentConfig::parse(&GOOD.replace("a = [0, 540]", "a = [0, \"x\"]")).unwrap_err();
    assert!(e.path.starts_with("lines[0].a"), "{e}");
    let e = AgentConfig::parse("[camera]\nid = 5\n").unwrap_err();
    assert_eq!(e.path, "camera.id");
}

#[test]
fn every_semantic_problem_is_reported() {
    let text = GOOD
        .replace("id = \"cam-1\"", "id = \"cam 1\"\ninterval_s = 0\nbox_profile = \"toaster\"\nmodel = \"resnet.toml\"")
        .replace("b = [1919, 540]", "b = [0, 540]")
        .replace("tiles = [2, 2]", "tiles = [0, 2]")
        + "\n[[lines]]\nname = \"north\"\na = [0, 1]\nb = [10, 1]\n[tracker]\nbirth_hits = 0\n";
    let c = AgentConfig::parse(&text).unwrap();
    let paths: Vec<String> = c.validate(None).into_iter().map(|i| i.path).collect();
    assert_eq!(
        paths,
        vec![
            "camera.id",
            "camera.box_profile",
            "camera.model",
            "camera.interval_s",
            "lines[0].b",
            "lines[1].name",
            "views.tiles",
            "tracker.birth_hits"
        ]
    );
}

#[test]
fn a_camera_device_renders_its_profile_url() {
    let text = GOOD.replace(
        "source = \"rtsp://10.0.0.7/stream\"",
        "[camera.device]\nprofile = \"hikvision\"\nhost = \"10.0.0.9\"\nuser = \"admin\"\npassword = \"pw\"\n\
            stream = \"main\"",
    );
    let c = AgentConfig::parse(&text).unwrap();
    assert_eq!(c.source(None).unwrap(), SourceSpec::Rtsp("rtsp://admin:pw@10.0.0.9:554/Streaming/Channels/101".into()));
}

proptest::proptest! {
    #[test]
    fn arbitrary_text_never_panics(s in "\\PC{0,300}") {
        if let Ok(c) = AgentConfig::parse(&s) {
            let _ = c.validate(None);
        }
    }

    #[test]
    fn lines_with_random_points_validate_without_panicking(
        ax in -10f32..3000.0,
        ay in -10f32..3000.0,
        bx in -10f32..3000.0,
        by in -10f32..3000.0
    ) {
        let text = format!("[camera]\nid = \"c\"\nsource = \"x.mp4\"\n[[lines]]\nname = \"l\"\na = [{ax}, {ay}]\n\
            b = [{bx}, {by}]\n");
        let c = AgentConfig::parse(&text).unwrap();
        let issues = c.validate(None);
        let bad_point = ax < 0.0 || ay < 0.0 || bx < 0.0 || by < 0.0
            || ((ax - bx).powi(2) + (ay - by).powi(2)).sqrt() < 2.0;
        proptest::prop_assert_eq!(issues.is_empty(), !bad_point, "{:?}", issues);
    }
}

#[test]
fn mqtt_settings_are_checked_with_their_paths() {
    let text = format!(
        "{GOOD}\n[mqtt]\nhost = \"broker\"\nack = \"central\"\nack_timeout_s = 0\npresence_interval_ms = 5\n\
            client_id = \"a/b\"\n[mqtt.tls]\nca_file = \"missing-ca.crt\"\nclient_cert_file = \"c.crt\"\n"
    );
    let c = AgentConfig::parse(&text).unwrap();
    let paths: Vec<String> = c.validate(Some(Path::new("/nonexistent"))).into_iter().map(|i| i.path).collect();
    assert_eq!(
        paths,
        [
            "mqtt.presence_interval_ms",
            "mqtt.ack_timeout_s",
            "mqtt.client_id",
            "mqtt.tls.ca_file",
            "mqtt.tls.client_cert_file",
            "mqtt.tls"
        ]
    );
    let e = AgentConfig::parse(&format!("{GOOD}\n[mqtt]\nhost = \"b\"\nack = \"maybe\"\n")).unwrap_err();
    assert_eq!(e.path, "mqtt.ack");
    let resolved = c.mqtt_resolved(Some(Path::new("/etc/tac"))).unwrap();
    assert_eq!(resolved.tls.unwrap().ca_file, Path::new("/etc/tac/missing-ca.crt"));
}

#[test]
fn dense_traffic_settings_are_checked_with_their_path() {
    let text = GOOD.replace("tiles = [2, 2]", "tiles = [2, 2]\nline_tiles = 40")
        + "\n[detect]\nrepeat_max_diff = -1\n[count]\ntwin_distance = 9\nsize_min_tracks = 0\n[tracker]\n\
            tentative_buffer = 3\n";
    let c = AgentConfig::parse(&text).unwrap();
    let paths: Vec<String> = c.validate(None).into_iter().map(|i| i.path).collect();
    for p in [
        "views.line_tiles",
        "detect.repeat_max_diff",
        "count.twin_distance",
        "count.size_min_tracks",
        "tracker.tentative_buffer",
    ] {
        assert!(paths.iter().any(|q| q == p), "{p} missing from {paths:?}");
    }
}

#[test]
fn a_camera_id_is_held_to_the_topic_id_rule_including_its_length() {
    let with_id = |id: &str| AgentConfig::parse(&GOOD.replace("id = \"cam-1\"", &format!("id = \"{id}\""))).unwrap();
    let issues = with_id(&"c".repeat(65)).validate(None);
    assert!(issues.iter().any(|i| i.path == "camera.id" && i.message.contains("1-64")), "{issues:?}");
    assert!(!with_id(&"c".repeat(64)).validate(None).iter().any(|i| i.path == "camera.id"));
}

#[test]
fn a_calibration_is_fitted_on_validate_and_refused_with_the_reason() {
    let with = |points: &str| AgentConfig::parse(&format!("{GOOD}\n[calibration]\npoints = [{points}]\n")).unwrap();
    let good = with(
        "{ image = [100, 900], ground = [0, 0] }, { image = [1800, 900], ground = [7, 0] },
         { image = [1200, 300], ground = [7, 40] }, { image = [700, 300], ground = [0, 40] }",
    );
    assert_eq!(good.validate(None), vec![]);
    assert!(good.calibration().unwrap().unwrap().rms_error_m < 1e-6);
    let collinear = with(
        "{ image = [100, 900], ground = [0, 0] }, { image = [200, 800], ground = [0, 5] },
         { image = [300, 700], ground = [0, 10] }, { image = [400, 600], ground = [0, 15] }",
    );
    let issues = collinear.validate(None);
    assert_eq!(issues.len(), 1, "{issues:?}");
    assert_eq!(issues[0].path, "calibration.points");
    assert!(issues[0].message.contains("collinear"), "{}", issues[0]);
    let three = with("{ image = [1, 1], ground = [0, 0] }");
    assert!(three.validate(None)[0].message.contains("at least 4"));
    let lanes =
        AgentConfig::parse(&GOOD.replace("[[zones]]\nname = \"stop\"", "[[zones]]\nname = \"stop\"\nlanes = 0"))
            .unwrap();
    assert_eq!(lanes.validate(None)[0].path, "zones[0].lanes");
}
