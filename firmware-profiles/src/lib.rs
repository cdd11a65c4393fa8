//! The hardware zoo as data. Every edge box, camera make, signal controller and junction the product supports is a
//! TOML profile compiled into the binary, validated when loaded, so one build serves
//! all of them and a site config only names a profile id.
//!
//! Pure: profiles are parsed from text handed in (the built-in ones are embedded with
//! `include_str!`). Invariant: every profile returned by this crate has been validated.

pub mod camera;
pub mod controller;
pub mod edge_box;
pub mod junction;

pub use camera::{CameraProfile, StreamChoice};
pub use controller::{ControllerProfile, Driver};
pub use edge_box::{Arch, EdgeBoxProfile, ExecutionProvider};
pub use junction::JunctionProfile;

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum ProfileError {
    #[error("profile {origin}: {path}: {message}")]
    Parse { origin: String, path: String, message: String },
    #[error("profile {origin}: {field}: {message}")]
    Invalid { origin: String, field: String, message: String },
    #[error("unknown {kind} profile {id:?} (known: {known})")]
    Unknown { kind: &'static str, id: String, known: String },
    #[error("camera profile {profile}: {message}")]
    Url { profile: String, message: String },
}

/// Parses TOML into `T`, reporting the failing field path.
pub(crate) fn parse<T: serde::de::DeserializeOwned>(origin: &str, text: &str) -> Result<T, ProfileError> {
    let de = toml::Deserializer::parse(text).map_err(|e| ProfileError::Parse {
        origin: origin.to_string(),
        path: "(syntax)".into(),
        message: e.message().to_string(),
    })?;
    serde_path_to_error::deserialize(de).map_err(|e| ProfileError::Parse {
        origin: origin.to_string(),
        path: e.path().to_string(),
        message: e.inner().message().to_string(),
    })
}

/// The text of built-in profile `id` from `table`, or an error listing the known ids.
pub(crate) fn builtin_text(
    kind: &'static str,
    table: &[(&str, &'static str)],
    id: &str,
) -> Result<&'static str, ProfileError> {
    table.iter().find(|(n, _)| *n == id).map(|(_, text)| *text).ok_or_else(|| ProfileError::Unknown {
        kind,
        id: id.to_string(),
        known: table.iter().map(|(n, _)| *n).collect::<Vec<_>>().join(", "),
    })
}

pub(crate) fn invalid(origin: &str, field: &str, message: impl Into<String>) -> ProfileError {
    ProfileError::Invalid { origin: origin.to_string(), field: field.to_string(), message: message.into() }
}

pub(crate) fn check_id(origin: &str, id: &str) -> Result<(), ProfileError> {
    if id.is_empty() || !id.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_') {
        return Err(invalid(origin, "id", format!("{id:?} must be lower-case letters, digits or '_'")));
    }
    Ok(())
}
