//! Operators' snapshot requests on the box: one JPEG of the next frame, annotated (lines,
//! zones, boxes and track ids drawn) unless the request asks for a plain one, or a refusal
//! when the camera's config says `allow_snapshots = false`. The picture is taken from the
//! frame loop (the prepare stage carries the next frame's pixels only when asked), so a
//! request costs one RGB conversion and one JPEG, never a second decoder; several requests
//! waiting for the same frame share it. A request for another camera is answered with a
//! refusal.
//!
//! Size: the picture is scaled to at most `MAX_WIDTH` wide and its JPEG quality lowered
//! until it fits `MAX_SNAPSHOT_JPEG` (the message limit).

use std::sync::mpsc::Receiver;

use base64::Engine;
use image::RgbImage;
use protocol::snapshot::{MAX_SNAPSHOT_JPEG, Snapshot, SnapshotOutcome, SnapshotRequest};

use crate::config::AgentConfig;
use crate::detect::FrameMeta;
use crate::ingest::health::unix_ms;
use crate::pipeline::SceneView;

/// Widest picture sent: enough to draw lines on, small enough for a message.
pub const MAX_WIDTH: u32 = 1280;

pub struct SnapshotDesk {
    requests: Receiver<Vec<u8>>,
    camera: String,
    allowed: bool,
    /// Requests waiting for the next picture: id, and whether it is to be drawn on.
    waiting: Vec<(String, bool)>,
    /// The stage was asked for a picture and has not delivered it yet.
    asked: bool,
}

impl SnapshotDesk {
    pub fn new(requests: Receiver<Vec<u8>>, config: &AgentConfig) -> SnapshotDesk {
        SnapshotDesk {
            requests,
            camera: config.camera.id.clone(),
            allowed: config.camera.allow_snapshots,
            waiting: Vec::new(),
            asked: false,
        }
    }

    /// Takes new requests (refusing what must be refused through `answer`); true when
    /// the next frame's picture is wanted and not yet asked for.
    pub fn wants_picture(&mut self, mut answer: impl FnMut(Snapshot)) -> bool {
        while let Ok(payload) = self.requests.try_recv() {
            let request = match protocol::messages::decode::<SnapshotRequest>(&payload) {
                Ok(envelope) => envelope.body,
                Err(e) => {
                    tracing::warn!(error = %e, "unreadable snapshot request");
                    continue;
                }
            };
            let refuse = if request.camera_id != self.camera {
                Some(format!("the request is for camera {:?}, this is {:?}", request.camera_id, self.camera))
            } else if !self.allowed {
                Some("snapshots are disabled on this camera (allow_snapshots = false)".to_string())
            } else {
                None
            };
            match refuse {
                Some(reason) => {
                    tracing::info!(camera = %self.camera, request = %request.request_id, %reason, "snapshot refused");
                    answer(self.refusal(request.request_id, reason));
                }
                None => self.waiting.push((request.request_id, request.annotated)),
            }
        }
        let ask = !self.waiting.is_empty() && !self.asked;
        self.asked |= ask;
        ask
    }

    /// The frame's picture: drawn on, encoded and sent to every request waiting.
    pub fn take(
        &mut self,
        meta: &FrameMeta,
        picture: &mut RgbImage,
        scene: &SceneView<'_>,
        mut answer: impl FnMut(Snapshot),
    ) {
        self.asked = false;
        if self.waiting.is_empty() {
            return;
        }
        let frame = (picture.width(), picture.height());
        let waiting = std::mem::take(&mut self.waiting);
        // The plain picture first: drawing changes the pixels in place.
        for annotated in [false, true] {
            let ids: Vec<String> = waiting.iter().filter(|w| w.1 == annotated).map(|w| w.0.clone()).collect();
            if ids.is_empty() {
                continue;
            }
            if annotated {
                crate::annotate::render(picture, scene);
            }
            match encode(picture) {
                Ok((jpeg, width, height)) => {
                    let jpeg_base64 = base64::engine::general_purpose::STANDARD.encode(&jpeg);
                    for request_id in ids {
                        tracing::info!(camera = %self.camera, request = %request_id, bytes = jpeg.len(), annotated,
                            "snapshot sent");
                        answer(Snapshot {
                            camera_id: self.camera.clone(),
                            request_id,
                            outcome: SnapshotOutcome::Taken,
                            at_ms: Some(unix_ms(meta.captured_at)),
                            width,
                            height,
                            frame_width: frame.0,
                            frame_height: frame.1,
                            annotated,
                            jpeg_base64: Some(jpeg_base64.clone()),
                            reason: None,
                        });
                    }
                }
                Err(e) => {
                    tracing::warn!(error = %e, "snapshot could not be encoded");
                    for id in ids {
                        answer(self.refusal(id, format!("the picture could not be encoded: {e}")));
                    }
                }
            }
        }
    }

    fn refusal(&self, request_id: String, reason: String) -> Snapshot {
        Snapshot {
            camera_id: self.camera.clone(),
            request_id,
            outcome: SnapshotOutcome::Refused,
            at_ms: None,
            width: 0,
            height: 0,
            frame_width: 0,
            frame_height: 0,
            annotated: false,
            jpeg_base64: None,
            reason: Some(reason),
        }
    }
}

/// The picture as a JPEG of at most `MAX_SNAPSHOT_JPEG` bytes: scaled to `MAX_WIDTH`,
/// quality lowered in steps, then the width halved, until it fits.
pub fn encode(picture: &RgbImage) -> anyhow::Result<(Vec<u8>, u32, u32)> {
    let mut width = picture.width().min(MAX_WIDTH);
    while width >= 160 {
        let height = (picture.height() as u64 * width as u64 / picture.width().max(1) as u64).max(1) as u32;
        let scaled;
        let current = if width < picture.width() {
            scaled = image::imageops::resize(picture, width, height, image::imageops::FilterType::Triangle);
            &scaled
        } else {
            picture
        };
        for quality in [85u8, 70, 55, 40] {
            let mut jpeg = Vec::new();
            image::codecs::jpeg::JpegEncoder::new_with_quality(&mut jpeg, quality).encode_image(current)?;
            if jpeg.len() <= MAX_SNAPSHOT_JPEG {
                return Ok((jpeg, current.width(), current.height()));
            }
        }
        width /= 2;
    }
    anyhow::bail!("no JPEG of the picture fits {} bytes", MAX_SNAPSHOT_JPEG)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_hd_picture_is_scaled_and_fits_the_message() {
        // Noise is the worst case for JPEG.
        let mut seed = 7u32;
        let noisy = RgbImage::from_fn(1920, 1080, |_, _| {
            seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12_345);
            image::Rgb([(seed >> 16) as u8, (seed >> 8) as u8, seed as u8])
        });
        let (jpeg, w, h) = encode(&noisy).unwrap();
        assert_eq!(w * 9, h * 16, "aspect kept: {w}x{h}");
        assert!(w <= 1280);
        assert!(jpeg.len() <= MAX_SNAPSHOT_JPEG, "{}", jpeg.len());
        let back = image::load_from_memory(&jpeg).unwrap();
        assert_eq!((back.width(), back.height()), (w, h));
        let (_, w, h) = encode(&RgbImage::new(1920, 1080)).unwrap();
        assert_eq!((w, h), (1280, 720), "a plain picture keeps the full width");
    }
}
