//! `[signals]` in central.toml: which junctions central retimes, how it signs plans, how
//! often it retimes, corridors, and who may override.

use std::path::{Path, PathBuf};

use serde::Deserialize;

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct SignalSettings {
    /// Junction profiles: built-in ids or TOML files (relative to the config file).
    pub junctions: Vec<String>,
    /// File holding the base64 ed25519 signing seed (`central keygen` writes one).
    pub signing_key_file: PathBuf,
    /// The id junctions know the key by (`junction-agent --trust ID=PUBLIC`).
    pub key_id: String,
    #[serde(default = "default_retime")]
    pub retime_every_s: u64,
    /// Re-issue period (central's heartbeat); must stay below the junctions' backup time.
    #[serde(default = "default_heartbeat")]
    pub heartbeat_s: u64,
    #[serde(default = "default_valid")]
    pub plan_valid_s: u64,
    #[serde(default = "default_step")]
    pub max_step_s: f64,
    /// Environment variable holding the bearer token for `POST …/override`; without it
    /// overrides are refused.
    #[serde(default)]
    pub override_token_env: Option<String>,
    #[serde(default, rename = "corridor")]
    pub corridors: Vec<CorridorSettings>,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct CorridorSettings {
    pub junctions: Vec<String>,
    /// Travel time between consecutive junctions (one fewer than junctions).
    pub travel_s: Vec<f64>,
}

fn default_retime() -> u64 {
    300
}
fn default_heartbeat() -> u64 {
    120
}
fn default_valid() -> u64 {
    900
}
fn default_step() -> f64 {
    6.0
}

impl SignalSettings {
    pub fn resolve(&self, base: Option<&Path>, p: &Path) -> PathBuf {
        match base {
            Some(b) if p.is_relative() => b.join(p),
            _ => p.to_path_buf(),
        }
    }

    pub fn validate(&self, bad: &mut Vec<(String, String)>) {
        let mut push = |f: String, m: &str| bad.push((format!("signals.{f}"), m.into()));
        if self.junctions.is_empty() {
            push("junctions".into(), "list at least one junction profile");
        }
        if protocol::topics::check_id(&self.key_id).is_err() {
            push("key_id".into(), "must be 1-64 letters, digits, '-' or '_'");
        }
        if self.retime_every_s < 10 {
            push("retime_every_s".into(), "must be at least 10");
        }
        if self.heartbeat_s == 0 || self.heartbeat_s >= self.plan_valid_s {
            push("heartbeat_s".into(), "must be positive and below plan_valid_s");
        }
        if !(self.max_step_s.is_finite() && self.max_step_s > 0.0) {
            push("max_step_s".into(), "must be positive");
        }
        for (i, c) in self.corridors.iter().enumerate() {
            if c.junctions.len() < 2 || c.travel_s.len() + 1 != c.junctions.len() {
                push(format!("corridor[{i}]"), "needs ≥ 2 junctions and one travel time fewer");
            }
            if c.travel_s.iter().any(|t| !(t.is_finite() && *t >= 0.0)) {
                push(format!("corridor[{i}].travel_s"), "must be non-negative seconds");
            }
        }
    }
}

/// Loads the junction profiles named in `junctions` (built-in ids or files relative to
/// `base`); errors name the list entry.
pub fn load_profiles(
    settings: &SignalSettings,
    base: Option<&Path>,
) -> Result<Vec<firmware_profiles::JunctionProfile>, (String, String)> {
    use firmware_profiles::JunctionProfile;
    let mut profiles = Vec::new();
    for (i, j) in settings.junctions.iter().enumerate() {
        let field = format!("signals.junctions[{i}]");
        let path = settings.resolve(base, Path::new(j));
        let loaded = if path.exists() {
            std::fs::read_to_string(&path).map_err(|e| e.to_string()).and_then(|text| {
                JunctionProfile::from_toml(&path.display().to_string(), &text).map_err(|e| e.to_string())
            })
        } else {
            JunctionProfile::builtin(j).map_err(|e| format!("not a file, and {e}"))
        };
        match loaded {
            Ok(p) if profiles.iter().any(|q: &JunctionProfile| q.id == p.id) => {
                return Err((field, format!("junction {:?} is listed twice", p.id)));
            }
            Ok(p) => profiles.push(p),
            Err(e) => return Err((field, e)),
        }
    }
    Ok(profiles)
}

/// File-level checks `validate` cannot make without the config's folder.
pub fn check_files(settings: &SignalSettings, base: Option<&Path>) -> Vec<(String, String)> {
    let mut bad = Vec::new();
    if let Err(e) = load_profiles(settings, base) {
        bad.push(e);
    }
    if let Err(e) = read_signing_key(&settings.resolve(base, &settings.signing_key_file)) {
        let text = e.to_string();
        bad.push((
            "signals.signing_key_file".into(),
            text.strip_prefix("signals.signing_key_file ").unwrap_or(&text).to_string(),
        ));
    }
    bad
}

/// Reads a base64 ed25519 seed file.
pub fn read_signing_key(path: &Path) -> anyhow::Result<ed25519_dalek::SigningKey> {
    use base64::Engine as _;
    let text = std::fs::read_to_string(path)
        .map_err(|e| anyhow::anyhow!("signals.signing_key_file {}: {e}", path.display()))?;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(text.trim())
        .map_err(|e| anyhow::anyhow!("signals.signing_key_file {}: not base64: {e}", path.display()))?;
    let seed: [u8; 32] = bytes
        .try_into()
        .map_err(|_| anyhow::anyhow!("signals.signing_key_file {}: an ed25519 seed is 32 bytes", path.display()))?;
    Ok(ed25519_dalek::SigningKey::from_bytes(&seed))
}
