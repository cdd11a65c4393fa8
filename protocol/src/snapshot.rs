//! One picture from a camera, on request (since 1.1). No video leaves a box otherwise.
//!
//! `tac/v1/cameras/{id}/snapshot/request` (central → agent, QoS 1, not retained): a
//! `SnapshotRequest`, sent when an authorised operator asks (central audits it).
//! `tac/v1/cameras/{id}/snapshot` (agent → central, QoS 1, not retained): the answer, one
//! JPEG of the next frame (annotated unless the request asks for a plain one: lines, zones,
//! boxes drawn; a plain one is what an editor draws new geometry on), at most
//! `MAX_SNAPSHOT_JPEG` bytes so the message stays under the receivers' payload limit; or a
//! refusal when the camera's config says `allow_snapshots = false`.

use serde::{Deserialize, Serialize};

/// Largest JPEG a snapshot carries (base64 makes it 4/3 larger on the wire, still under
/// `messages::MAX_PAYLOAD`).
pub const MAX_SNAPSHOT_JPEG: usize = 180 * 1024;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SnapshotRequest {
    pub camera_id: String,
    /// Echoed in the answer: 1-64 letters, digits, '-', '_'.
    pub request_id: String,
    /// Draw the running geometry, boxes and track ids on it (default); false for the
    /// camera's picture alone.
    #[serde(default = "annotated_by_default")]
    pub annotated: bool,
}

fn annotated_by_default() -> bool {
    true
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Snapshot {
    pub camera_id: String,
    pub request_id: String,
    pub outcome: SnapshotOutcome,
    /// Frame time of the picture, ms since the Unix epoch (UTC); absent when refused.
    #[serde(default)]
    pub at_ms: Option<i64>,
    /// The picture's size (the stream's frame, scaled down to at most 1280 wide).
    #[serde(default)]
    pub width: u32,
    #[serde(default)]
    pub height: u32,
    /// The stream's frame size, the space line and zone coordinates are in (the picture
    /// is this scaled by `width / frame_width`); 0 when refused.
    #[serde(default)]
    pub frame_width: u32,
    #[serde(default)]
    pub frame_height: u32,
    /// Whether the running geometry and detections are drawn on it.
    #[serde(default)]
    pub annotated: bool,
    /// The JPEG, base64 (standard alphabet, padded); absent when refused.
    #[serde(default)]
    pub jpeg_base64: Option<String>,
    /// Why it was refused, in words.
    #[serde(default)]
    pub reason: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum SnapshotOutcome {
    Taken,
    Refused,
}
