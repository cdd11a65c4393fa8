//! Where data the project does not commit lives: detector weights, sample clips, ground
//! truth. `TRAFFIC_ASSETS` overrides; otherwise the `shared/assets` folder beside the
//! checkout, as `make setup` expects.

use std::path::PathBuf;

use models::Manifest;

pub fn assets_dir() -> PathBuf {
    match std::env::var_os("TRAFFIC_ASSETS") {
        Some(p) => PathBuf::from(p),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/assets"),
    }
}

/// Folder holding model files: `TRAFFIC_MODEL_DIR`, else `<assets>/models`.
pub fn model_dir() -> PathBuf {
    match std::env::var_os("TRAFFIC_MODEL_DIR") {
        Some(p) => PathBuf::from(p),
        None => assets_dir().join("models"),
    }
}

pub fn model_path(manifest: &Manifest) -> PathBuf {
    model_dir().join(&manifest.file)
}
