//! Model manifests: everything the agent needs to run a detector file correctly —
//! which file (and its sha256), the input tensor contract (size, layout, channel order,
//! normalisation, letterbox), the output decoder, and the map from the model's class
//! ids to product classes.
//!
//! Pure: this crate parses and validates text it is handed. Checking the file's sha256
//! against the manifest is done by whoever reads the file (the edge agent).
//! Invariant: a `Manifest` returned by [`Manifest::from_toml`] has passed [`Manifest::validate`].

use std::collections::BTreeMap;

use protocol::ObjectClass;
use serde::Deserialize;

/// Manifests of the models that ship with the product, by id.
pub const BUILTIN: &[(&str, &str)] = &[
    ("yolox_nano_416", include_str!("../manifests/yolox_nano_416.toml")),
    ("nanodet_m_416", include_str!("../manifests/nanodet_m_416.toml")),
    ("picodet_s_416", include_str!("../manifests/picodet_s_416.toml")),
];

/// The model the agent uses when none is named.
pub const DEFAULT_MODEL: &str = "yolox_nano_416";

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum ManifestError {
    #[error("manifest {origin}: {path}: {message}")]
    Parse { origin: String, path: String, message: String },
    #[error("manifest {origin}: {field}: {message}")]
    Invalid { origin: String, field: String, message: String },
    #[error("unknown built-in model {0:?} (built in: yolox_nano_416, nanodet_m_416, picodet_s_416)")]
    UnknownBuiltin(String),
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// Stable id reported with every count (e.g. `yolox_nano_416`).
    pub id: String,
    /// File name of the ONNX graph, looked up in the model directory.
    pub file: String,
    /// Lower-case hex sha256 of the file; the agent refuses a file that differs.
    pub sha256: String,
    /// Where the file was published.
    pub source_url: String,
    /// SPDX licence of the weights.
    pub licence: String,
    #[serde(default)]
    pub description: String,
    pub input: InputSpec,
    pub output: OutputSpec,
    /// Model class id (as a TOML key) → product class. Unlisted ids are ignored.
    pub class_map: BTreeMap<String, ObjectClass>,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct InputSpec {
    pub name: String,
    pub width: u32,
    pub height: u32,
    pub layout: Layout,
    pub channel_order: ChannelOrder,
    /// Per-channel mean subtracted from 0..255 pixel values, in `channel_order`.
    pub mean: [f32; 3],
    /// Per-channel divisor applied after the mean, in `channel_order`.
    pub std: [f32; 3],
    pub letterbox: Letterbox,
}

#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Layout {
    Nchw,
}

#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum ChannelOrder {
    Rgb,
    Bgr,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Letterbox {
    /// Where the aspect-preserving resized image sits in the input square.
    pub placement: Placement,
    /// Raw 0..255 value of the padding, before normalisation.
    pub pad_value: u8,
}

#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Placement {
    TopLeft,
    Centre,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct OutputSpec {
    pub decoder: DecoderKind,
    /// Output tensor names, in the order the decoder expects.
    pub tensors: Vec<String>,
    /// Feature-map strides, smallest first.
    pub strides: Vec<u32>,
    /// Distribution bins per box side (NanoDet only).
    #[serde(default)]
    pub reg_bins: Option<u32>,
}

#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum DecoderKind {
    Yolox,
    Nanodet,
}

impl Manifest {
    /// Parses and validates a manifest. `origin` names the file in error messages.
    pub fn from_toml(origin: &str, text: &str) -> Result<Manifest, ManifestError> {
        let de = toml::Deserializer::parse(text).map_err(|e| ManifestError::Parse {
            origin: origin.to_string(),
            path: "(syntax)".into(),
            message: e.message().to_string(),
        })?;
        let manifest: Manifest = serde_path_to_error::deserialize(de).map_err(|e| ManifestError::Parse {
            origin: origin.to_string(),
            path: e.path().to_string(),
            message: e.inner().message().to_string(),
        })?;
        manifest.validate(origin)?;
        Ok(manifest)
    }

    pub fn builtin(id: &str) -> Result<Manifest, ManifestError> {
        let (_, text) = BUILTIN
            .iter()
            .find(|(name, _)| *name == id)
            .ok_or_else(|| ManifestError::UnknownBuiltin(id.to_string()))?;
        Manifest::from_toml(&format!("models/manifests/{id}.toml"), text)
    }

    /// Model class id → product class, as a dense table indexed by class id.
    pub fn class_table(&self) -> Vec<Option<ObjectClass>> {
        let ids: Vec<(usize, ObjectClass)> =
            self.class_map.iter().filter_map(|(k, v)| k.parse::<usize>().ok().map(|k| (k, *v))).collect();
        let len = ids.iter().map(|(k, _)| k + 1).max().unwrap_or(0);
        let mut table = vec![None; len];
        for (k, v) in ids {
            table[k] = Some(v);
        }
        table
    }

    pub fn validate(&self, origin: &str) -> Result<(), ManifestError> {
        let bad = |field: &str, message: String| ManifestError::Invalid {
            origin: origin.to_string(),
            field: field.to_string(),
            message,
        };
        if self.id.is_empty() || !self.id.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-') {
            return Err(bad("id", format!("{:?} must be non-empty ASCII letters, digits, '_' or '-'", self.id)));
        }
        if self.file.is_empty() || self.file.contains('/') {
            return Err(bad("file", format!("{:?} must be a bare file name", self.file)));
        }
        if self.sha256.len() != 64 || !self.sha256.chars().all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase()) {
            return Err(bad("sha256", "must be 64 lower-case hex digits".into()));
        }
        let input = &self.input;
        for (field, v) in [("input.width", input.width), ("input.height", input.height)] {
            if !(32..=4096).contains(&v) {
                return Err(bad(field, format!("{v} is outside 32..=4096")));
            }
        }
        if let Some(i) = input.std.iter().position(|s| !s.is_finite() || *s <= 0.0) {
            return Err(bad(&format!("input.std[{i}]"), "must be a positive number".into()));
        }
        let out = &self.output;
        // YOLOX lays anchors on exact grids; GFL heads (NanoDet, PicoDet) round up.
        let fits = |s: u32| match out.decoder {
            DecoderKind::Yolox => input.width.is_multiple_of(s) && input.height.is_multiple_of(s),
            DecoderKind::Nanodet => s <= input.width.min(input.height),
        };
        if out.strides.is_empty() || out.strides.iter().any(|s| *s == 0 || !fits(*s)) {
            return Err(bad(
                "output.strides",
                "must be non-empty and divide the input size (YOLOX) or fit inside it (NanoDet)".into(),
            ));
        }
        let expected_tensors = match out.decoder {
            DecoderKind::Yolox => 1,
            DecoderKind::Nanodet => 2 * out.strides.len(),
        };
        if out.tensors.len() != expected_tensors {
            return Err(bad(
                "output.tensors",
                format!("{:?} decoder needs {expected_tensors} tensors, got {}", out.decoder, out.tensors.len()),
            ));
        }
        match (out.decoder, out.reg_bins) {
            (DecoderKind::Nanodet, None) => {
                return Err(bad("output.reg_bins", "required by the nanodet decoder".into()));
            }
            (DecoderKind::Nanodet, Some(b)) if !(2..=64).contains(&b) => {
                return Err(bad("output.reg_bins", format!("{b} is outside 2..=64")));
            }
            _ => {}
        }
        if self.class_map.is_empty() {
            return Err(bad("class_map", "must map at least one class".into()));
        }
        for key in self.class_map.keys() {
            match key.parse::<usize>() {
                Ok(k) if k < 1000 => {}
                _ => return Err(bad(&format!("class_map.{key}"), "key must be a class id 0..1000".into())),
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
