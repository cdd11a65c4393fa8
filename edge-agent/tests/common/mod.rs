//! Shared helpers for integration tests: asset paths and loaders.
#![allow(dead_code)]

use std::path::PathBuf;

use edge_agent::detect::{DetectSettings, OnnxDetector};
use edge_agent::frame::Frame;
use firmware_profiles::EdgeBoxProfile;
use models::Manifest;

pub fn asset(rel: &str) -> PathBuf {
    let p = edge_agent::assets::assets_dir().join(rel);
    assert!(p.is_file(), "missing asset {} (run `make setup`, or set TRAFFIC_ASSETS)", p.display());
    p
}

pub fn load_image(rel: &str) -> Frame {
    let img = image::open(asset(rel)).expect("decode image").to_rgb8();
    let (w, h) = img.dimensions();
    Frame::from_rgb(w, h, img.into_raw()).unwrap()
}

pub fn detector(model: &str) -> OnnxDetector {
    let manifest = Manifest::builtin(model).unwrap();
    let profile = EdgeBoxProfile::builtin("generic_x86").unwrap();
    OnnxDetector::load(&manifest, &edge_agent::assets::model_path(&manifest), &profile, DetectSettings::default())
        .expect("load detector")
}
