//! Edge-box profiles: which hardware decoders to prefer, which ONNX Runtime execution
//! providers to try (in order; CPU always last), and how many inference threads to use.

use serde::Deserialize;

use crate::{ProfileError, builtin_text, check_id, invalid, parse};

pub const BUILTIN: &[(&str, &str)] = &[
    ("generic_x86", include_str!("../boxes/generic_x86.toml")),
    ("raspberry_pi5", include_str!("../boxes/raspberry_pi5.toml")),
    ("jetson_orin_nano", include_str!("../boxes/jetson_orin_nano.toml")),
    ("rk3588", include_str!("../boxes/rk3588.toml")),
];

pub const DEFAULT_BOX: &str = "generic_x86";

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct EdgeBoxProfile {
    pub id: String,
    pub description: String,
    pub arch: Arch,
    /// GStreamer decoder elements to prefer over software decoding, most preferred
    /// first. Missing elements are skipped; software decoders remain the fallback.
    pub decoders: Vec<String>,
    /// ONNX Runtime execution providers, tried in order. Must end with `cpu`.
    pub execution_providers: Vec<ExecutionProvider>,
    /// Intra-op threads for inference (leave a core for decoding).
    pub intra_op_threads: u32,
}

#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Arch {
    X86_64,
    Aarch64,
}

#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum ExecutionProvider {
    Cpu,
    Xnnpack,
    Cuda,
    Tensorrt,
    Openvino,
    Acl,
}

impl ExecutionProvider {
    pub fn name(self) -> &'static str {
        match self {
            ExecutionProvider::Cpu => "cpu",
            ExecutionProvider::Xnnpack => "xnnpack",
            ExecutionProvider::Cuda => "cuda",
            ExecutionProvider::Tensorrt => "tensorrt",
            ExecutionProvider::Openvino => "openvino",
            ExecutionProvider::Acl => "acl",
        }
    }
}

impl EdgeBoxProfile {
    pub fn from_toml(origin: &str, text: &str) -> Result<EdgeBoxProfile, ProfileError> {
        let p: EdgeBoxProfile = parse(origin, text)?;
        p.validate(origin)?;
        Ok(p)
    }

    pub fn builtin(id: &str) -> Result<EdgeBoxProfile, ProfileError> {
        let text = builtin_text("edge-box", BUILTIN, id)?;
        EdgeBoxProfile::from_toml(&format!("firmware-profiles/boxes/{id}.toml"), text)
    }

    pub fn validate(&self, origin: &str) -> Result<(), ProfileError> {
        check_id(origin, &self.id)?;
        for (i, d) in self.decoders.iter().enumerate() {
            if d.is_empty() || !d.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-') {
                return Err(invalid(
                    origin,
                    &format!("decoders[{i}]"),
                    format!("{d:?} is not a GStreamer element name"),
                ));
            }
        }
        if self.execution_providers.last() != Some(&ExecutionProvider::Cpu) {
            return Err(invalid(
                origin,
                "execution_providers",
                "must end with \"cpu\", the fallback that always exists",
            ));
        }
        if !(1..=64).contains(&self.intra_op_threads) {
            return Err(invalid(origin, "intra_op_threads", format!("{} is outside 1..=64", self.intra_op_threads)));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_builtin_box_validates() {
        for (id, _) in BUILTIN {
            let p = EdgeBoxProfile::builtin(id).unwrap();
            assert_eq!(&p.id, id);
        }
        let err = EdgeBoxProfile::builtin("toaster").unwrap_err().to_string();
        assert!(err.contains("toaster") && err.contains("rk3588"), "{err}");
    }

    #[test]
    fn errors_name_the_field() {
        let base = BUILTIN[0].1;
        let cases = [
            ("execution_providers = [\"cpu\"]", "execution_providers = [\"cuda\"]", "execution_providers"),
            ("intra_op_threads = 1", "intra_op_threads = 0", "intra_op_threads"),
            ("intra_op_threads = 1", "intra_op_threads = 1\ngpu = true", "gpu"),
            ("\"vah264dec\"", "\"va h264\"", "decoders[0]"),
            ("execution_providers = [\"cpu\"]", "execution_providers = [\"npu\", \"cpu\"]", "execution_providers[0]"),
        ];
        for (from, to, field) in cases {
            let text = base.replace(from, to);
            assert_ne!(text, base);
            let err = EdgeBoxProfile::from_toml("b.toml", &text).unwrap_err().to_string();
            assert!(err.contains(field) && err.contains("b.toml"), "expected {field} in {err}");
        }
    }
}
