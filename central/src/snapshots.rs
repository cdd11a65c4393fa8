//! Snapshots central asked for: sends an operator's request to a camera's agent, waits for
//! its answer, and keeps the latest picture per camera (in memory: a commissioning aid,
//! not a record; the audit log is the record of who asked, and no picture is written to
//! disk or the store).
//!
//! `tac/v1/cameras/{id}/snapshot/request` (QoS 1, not retained: a request for an offline
//! camera must not wait on the broker and fire hours later) carries a `SnapshotRequest`
//! with a fresh `request_id`; the agent answers on `tac/v1/cameras/{id}/snapshot`, which
//! every central instance receives (plain subscription) and hands to [`SnapshotDesk::deliver`].
//!
//! Invariants: an answer wakes only the request with its id, and only if it is for the
//! camera the request went to (topic, body and request agree); a picture is kept only if
//! it decodes as a JPEG of at most `MAX_SNAPSHOT_JPEG` bytes; a request that times out is
//! forgotten, so a late answer updates the latest picture and wakes nobody.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use base64::Engine;
use parking_lot::Mutex;
use protocol::messages::Envelope;
use protocol::snapshot::{MAX_SNAPSHOT_JPEG, Snapshot, SnapshotOutcome, SnapshotRequest};
use protocol::topics::Topic;
use rumqttc::{AsyncClient, QoS};
use serde::Serialize;
use tokio::sync::oneshot;

use crate::clock::now_ms;

#[derive(Debug, thiserror::Error)]
pub enum SnapshotError {
    #[error("camera id: {0}")]
    Topic(String),
    #[error("the MQTT session is closed: {0}")]
    Closed(#[from] rumqttc::ClientError),
    #[error("no answer within {0} s")]
    NoAnswer(u64),
}

/// The latest picture of a camera and what it shows.
#[derive(Debug, Clone, Serialize)]
pub struct Picture {
    pub camera_id: String,
    pub request_id: String,
    /// Frame time, ms since the Unix epoch.
    pub at_ms: Option<i64>,
    /// When central received it.
    pub received_ms: i64,
    pub width: u32,
    pub height: u32,
    /// The stream's frame size: the space line and zone coordinates are in.
    pub frame_width: u32,
    pub frame_height: u32,
    pub annotated: bool,
    pub bytes: usize,
    #[serde(skip)]
    pub jpeg: std::sync::Arc<[u8]>,
}

/// What a request came back with.
#[derive(Debug)]
pub enum Answer {
    Taken(Picture),
    Refused(String),
}

#[derive(Default)]
struct Desk {
    /// request id → (camera, who waits).
    waiting: HashMap<String, (String, oneshot::Sender<Answer>)>,
    latest: HashMap<String, Picture>,
}

pub struct SnapshotDesk {
    client: AsyncClient,
    central_id: String,
    epoch: u64,
    seq: AtomicU64,
    desk: Mutex<Desk>,
}

impl SnapshotDesk {
    pub fn new(client: AsyncClient, central_id: &str) -> SnapshotDesk {
        SnapshotDesk {
            client,
            central_id: central_id.into(),
            epoch: now_ms() as u64,
            seq: AtomicU64::new(0),
            desk: Mutex::default(),
        }
    }

    /// Asks `camera` for its next frame and waits at most `timeout` for the answer.
    pub async fn ask(&self, camera: &str, annotated: bool, timeout: Duration) -> Result<Answer, SnapshotError> {
        let topic = Topic::CameraSnapshotRequest { camera: camera.into() }
            .to_topic()
            .map_err(|e| SnapshotError::Topic(e.to_string()))?;
        let seq = self.seq.fetch_add(1, Ordering::SeqCst) + 1;
        // Unique across central instances and restarts: the client id is, and so is
        // (epoch, seq) within it. Only letters, digits, '-' and '_' (the protocol's rule).
        let request_id: String = format!("{}-{}-{seq}", self.central_id, self.epoch)
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() || c == '-' || c == '_' { c } else { '_' })
            .collect();
        let request_id = request_id[request_id.len().saturating_sub(64)..].to_string();
        let (tx, rx) = oneshot::channel();
        self.desk.lock().waiting.insert(request_id.clone(), (camera.to_string(), tx));
        let body = SnapshotRequest { camera_id: camera.into(), request_id: request_id.clone(), annotated };
        let payload =
            serde_json::to_vec(&Envelope::new(&self.central_id, self.epoch, seq, body)).expect("serialisable");
        if let Err(e) = self.client.publish(topic, QoS::AtLeastOnce, false, payload).await {
            self.desk.lock().waiting.remove(&request_id);
            return Err(e.into());
        }
        tracing::info!(camera, request = %request_id, annotated, "snapshot requested");
        let answer = tokio::time::timeout(timeout, rx).await;
        self.desk.lock().waiting.remove(&request_id);
        match answer {
            Ok(Ok(answer)) => Ok(answer),
            // Timed out, or (the sender dropped) never answered: the same to the asker.
            _ => Err(SnapshotError::NoAnswer(timeout.as_secs())),
        }
    }

    /// An answer from `topic_camera`'s topic: kept as its latest picture when taken, and
    /// handed to the request that waits for it.
    pub fn deliver(&self, topic_camera: &str, payload: &[u8]) {
        let snapshot = match protocol::messages::decode::<Snapshot>(payload) {
            Ok(envelope) => envelope.body,
            Err(e) => {
                tracing::warn!(camera = topic_camera, error = %e, "unreadable snapshot answer dropped");
                return;
            }
        };
        if snapshot.camera_id != topic_camera {
            tracing::warn!(topic = topic_camera, body = %snapshot.camera_id, "snapshot for another camera dropped");
            return;
        }
        let request_id = snapshot.request_id.clone();
        let answer = picture(snapshot).unwrap_or_else(|why| {
            tracing::warn!(camera = topic_camera, request = %request_id, why, "snapshot picture dropped");
            Answer::Refused(format!("the camera's picture was unusable: {why}"))
        });
        let mut desk = self.desk.lock();
        if let Answer::Taken(p) = &answer {
            desk.latest.insert(p.camera_id.clone(), p.clone());
        }
        if desk.waiting.get(&request_id).is_some_and(|(camera, _)| camera == topic_camera)
            && let Some((_, tx)) = desk.waiting.remove(&request_id)
        {
            let _ = tx.send(answer);
        }
    }

    /// The latest picture of `camera` (metadata and JPEG).
    pub fn latest(&self, camera: &str) -> Option<Picture> {
        self.desk.lock().latest.get(camera).cloned()
    }

    /// When each camera's latest picture arrived.
    pub fn received_times(&self) -> HashMap<String, i64> {
        self.desk.lock().latest.iter().map(|(k, p)| (k.clone(), p.received_ms)).collect()
    }
}

/// A taken answer as a picture (its JPEG checked), or the refusal; `Err` says what is
/// wrong with the picture.
fn picture(s: Snapshot) -> Result<Answer, String> {
    if s.outcome == SnapshotOutcome::Refused {
        return Ok(Answer::Refused(s.reason.unwrap_or_else(|| "no reason given".into())));
    }
    let Some(b64) = &s.jpeg_base64 else { return Err("taken, but no picture".into()) };
    let jpeg = base64::engine::general_purpose::STANDARD.decode(b64).map_err(|e| format!("base64: {e}"))?;
    if jpeg.len() > MAX_SNAPSHOT_JPEG {
        return Err(format!("{} bytes, over the {MAX_SNAPSHOT_JPEG} limit", jpeg.len()));
    }
    if !jpeg.starts_with(&[0xFF, 0xD8, 0xFF]) {
        return Err("not a JPEG".into());
    }
    Ok(Answer::Taken(Picture {
        camera_id: s.camera_id,
        request_id: s.request_id,
        at_ms: s.at_ms,
        received_ms: now_ms(),
        width: s.width,
        height: s.height,
        frame_width: if s.frame_width == 0 { s.width } else { s.frame_width },
        frame_height: if s.frame_height == 0 { s.height } else { s.frame_height },
        annotated: s.annotated,
        bytes: jpeg.len(),
        jpeg: jpeg.into(),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A desk whose requests queue on a session never connected (the event loop is kept,
    /// unpolled, so publishing succeeds).
    fn desk() -> (SnapshotDesk, rumqttc::EventLoop) {
        let (client, eventloop) = AsyncClient::new(rumqttc::MqttOptions::new("central-test", "127.0.0.1", 1), 16);
        (SnapshotDesk::new(client, "central-test"), eventloop)
    }

    fn answer(camera: &str, request_id: &str, jpeg: Option<&[u8]>) -> Vec<u8> {
        let body = Snapshot {
            camera_id: camera.into(),
            request_id: request_id.into(),
            outcome: if jpeg.is_some() { SnapshotOutcome::Taken } else { SnapshotOutcome::Refused },
            at_ms: Some(1),
            width: 640,
            height: 360,
            frame_width: 1280,
            frame_height: 720,
            annotated: false,
            jpeg_base64: jpeg.map(|j| base64::engine::general_purpose::STANDARD.encode(j)),
            reason: jpeg.is_none().then(|| "allow_snapshots = false".to_string()),
        };
        serde_json::to_vec(&Envelope::new("cam-1", 1, 1, body)).unwrap()
    }

    /// The request id `ask` is waiting with (the only one); panics if it never waits.
    async fn waiting_id(desk: &SnapshotDesk) -> String {
        for _ in 0..10_000 {
            if let Some(id) = desk.desk.lock().waiting.keys().next().cloned() {
                return id;
            }
            tokio::task::yield_now().await;
        }
        panic!("no request is waiting")
    }

    const JPEG: &[u8] = &[0xFF, 0xD8, 0xFF, 0xE0, 0, 0];

    #[tokio::test]
    async fn an_answer_wakes_its_request_and_becomes_the_latest_picture() {
        let (desk, _session) = desk();
        let (asked, id) = tokio::join!(desk.ask("cam-1", false, Duration::from_secs(5)), async {
            let id = waiting_id(&desk).await;
            // Another camera's answer with this id, and another id, wake nobody.
            desk.deliver("cam-2", &answer("cam-2", &id, Some(JPEG)));
            desk.deliver("cam-1", &answer("cam-1", "someone-else", Some(JPEG)));
            desk.deliver("cam-1", &answer("cam-1", &id, Some(JPEG)));
            id
        });
        let Answer::Taken(p) = asked.unwrap() else { panic!("taken") };
        assert_eq!((p.request_id.as_str(), p.frame_width, &p.jpeg[..]), (id.as_str(), 1280, JPEG));
        assert_eq!(desk.latest("cam-1").unwrap().request_id, id);
        assert_eq!(desk.latest("cam-2").unwrap().camera_id, "cam-2");
        assert!(desk.desk.lock().waiting.is_empty());
    }

    #[tokio::test]
    async fn a_refusal_or_a_bad_picture_is_an_answer_and_keeps_the_old_picture() {
        let (desk, _session) = desk();
        desk.deliver("cam-1", &answer("cam-1", "old", Some(JPEG)));
        let (asked, _) = tokio::join!(desk.ask("cam-1", true, Duration::from_secs(5)), async {
            let id = waiting_id(&desk).await;
            desk.deliver("cam-1", &answer("cam-1", &id, None));
        });
        assert!(matches!(asked.unwrap(), Answer::Refused(r) if r.contains("allow_snapshots")));
        let (asked, _) = tokio::join!(desk.ask("cam-1", true, Duration::from_secs(5)), async {
            let id = waiting_id(&desk).await;
            desk.deliver("cam-1", &answer("cam-1", &id, Some(b"GIF89a")));
        });
        assert!(matches!(asked.unwrap(), Answer::Refused(r) if r.contains("not a JPEG")));
        assert_eq!(desk.latest("cam-1").unwrap().request_id, "old");
    }

    #[tokio::test]
    async fn no_answer_is_a_timeout_and_the_request_is_forgotten() {
        let (desk, _session) = desk();
        let asked = desk.ask("cam-1", true, Duration::from_millis(50)).await;
        assert!(matches!(asked, Err(SnapshotError::NoAnswer(_))));
        assert!(desk.desk.lock().waiting.is_empty());
    }
}
