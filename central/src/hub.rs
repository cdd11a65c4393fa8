//! The event hub: one place where what central learns (an interval stored, a camera's
//! status, a forecast, a junction's ack) fans out to the dashboard's live stream, the
//! alert list and the police feed.
//!
//! Fed by the stored-interval bus (`follow_stored`) and called by the store writer (status,
//! incidents), forecasting and the signals worker; every call is a short lock
//! and a non-blocking broadcast, so a slow browser never slows ingest (a lagging live
//! subscriber misses events and re-reads the API). `GET /api/v1/live` (`http::feeds`) streams it.

use std::sync::Arc;

use parking_lot::Mutex;

use protocol::ClassCounts;
use protocol::forecast::ForecastReport;
use protocol::plan::{PlanAck, PlanOutcome};
use serde::Serialize;
use tokio::sync::broadcast;

use crate::alerts::{Alert, AlertBook, AlertKind};
use crate::clock::now_ms;
use crate::police::PoliceFeed;
use crate::store::StoredInterval;

#[derive(Debug, Clone, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum HubEvent {
    /// An interval was stored: its totals per class over all the camera's lines.
    Interval {
        camera_id: String,
        start_ms: i64,
        end_ms: i64,
        coverage: f64,
        fps: f64,
        totals: ClassCounts,
        received_ms: i64,
        /// Per line, the speeds measured by a calibrated camera (absent: not measured).
        #[serde(skip_serializing_if = "std::collections::BTreeMap::is_empty")]
        speeds: std::collections::BTreeMap<String, protocol::LineSpeeds>,
    },
    /// An agent's status changed between up and offline.
    Status { camera_id: String, up: bool, at_ms: i64 },
    /// An alert was raised, cleared or acknowledged.
    Alert { alert: Alert },
    /// A junction's plan, ack or override changed; re-read `/api/v1/junctions/{id}`.
    Junction { junction_id: String },
    /// A forecast was made for one of the camera's approaches; re-read
    /// `/api/v1/cameras/{id}/forecast` (it comes a moment after the interval event).
    Forecast { camera_id: String, line: String, made_at_ms: i64 },
}

pub struct Hub {
    police: Option<Arc<PoliceFeed>>,
    alerts: Mutex<AlertBook>,
    /// Incident ids already announced (an agent's QoS 1 resend arrives twice).
    seen_incidents: Mutex<std::collections::VecDeque<String>>,
    tx: broadcast::Sender<HubEvent>,
}

impl Hub {
    pub fn new(police: Option<Arc<PoliceFeed>>) -> Arc<Hub> {
        Arc::new(Hub {
            police,
            alerts: Mutex::default(),
            seen_incidents: Mutex::default(),
            tx: broadcast::channel(4096).0,
        })
    }

    pub fn subscribe(&self) -> broadcast::Receiver<HubEvent> {
        self.tx.subscribe()
    }

    fn send(&self, event: HubEvent) {
        let _ = self.tx.send(event); // no subscriber: nobody is watching
    }

    fn alert_changed(&self, alert: Option<Alert>) {
        if let Some(alert) = alert {
            self.send(HubEvent::Alert { alert });
        }
    }

    pub fn alerts(&self) -> parking_lot::MutexGuard<'_, AlertBook> {
        self.alerts.lock()
    }

    /// Publishes an acknowledgement made through the API.
    pub fn acked(&self, alert: Alert) {
        self.send(HubEvent::Alert { alert });
    }

    /// Streams the stored-interval bus into live events until the store writer stops.
    pub async fn follow_stored(self: Arc<Self>, mut stored: crate::bus::Subscription) {
        use tokio::sync::broadcast::error::RecvError;
        loop {
            match stored.recv().await {
                Ok(s) => self.stored(&s),
                // A live view that missed intervals re-reads the API; nothing is lost.
                Err(RecvError::Lagged(n)) => tracing::warn!(missed = n, "live stream fell behind the store writer"),
                Err(RecvError::Closed) => return,
            }
        }
    }

    pub fn stored(&self, s: &StoredInterval) {
        let mut totals = ClassCounts::default();
        for line in s.interval.lines.values() {
            totals.merge(&line.forward);
            totals.merge(&line.backward);
        }
        let i = &s.interval;
        self.send(HubEvent::Interval {
            camera_id: s.camera_id.clone(),
            start_ms: i.start_ms,
            end_ms: i.end_ms,
            coverage: i.coverage,
            fps: i.fps,
            totals,
            received_ms: s.received_ms,
            speeds: i.speeds.clone(),
        });
    }

    /// An agent's status arrived: `up` false for offline (its last will included).
    pub fn camera_state(&self, camera: &str, up: bool, at_ms: i64) {
        if let Some(p) = &self.police {
            p.camera_state(camera, up, at_ms);
        }
        let changed = {
            let mut book = self.alerts();
            if up {
                book.clear(AlertKind::CameraOffline, camera, at_ms)
            } else {
                book.raise(
                    AlertKind::CameraOffline,
                    camera,
                    "the agent reported offline (or its connection dropped)".into(),
                    at_ms,
                )
            }
        };
        if changed.is_some() {
            self.send(HubEvent::Status { camera_id: camera.into(), up, at_ms });
        }
        self.alert_changed(changed);
    }

    pub fn forecast(&self, r: &ForecastReport) {
        if let Some(p) = &self.police {
            p.forecast(r);
        }
        let subject = format!("{}/{}", r.camera_id, r.line);
        let now = now_ms();
        let changed = if r.alert {
            let level = r.horizons.iter().filter(|h| h.minutes <= 30).filter_map(|h| h.level).max();
            let detail = format!(
                "forecast level {} within 30 minutes{}",
                level.map_or("?".into(), |l| format!("{l:?}")),
                if r.area.is_empty() { String::new() } else { format!(" ({})", r.area) }
            );
            self.alerts().raise(AlertKind::Congestion, &subject, detail, now)
        } else {
            self.alerts().clear(AlertKind::Congestion, &subject, now)
        };
        self.alert_changed(changed);
        self.send(HubEvent::Forecast {
            camera_id: r.camera_id.clone(),
            line: r.line.clone(),
            made_at_ms: r.made_at_ms,
        });
    }

    /// An incident an agent reported: an alert for the operators and an event for the
    /// police, once per incident id.
    pub fn incident(&self, i: &protocol::messages::Incident, received_ms: i64) {
        {
            let mut seen = self.seen_incidents.lock();
            if seen.contains(&i.incident_id) {
                return;
            }
            seen.push_back(i.incident_id.clone());
            if seen.len() > 4096 {
                seen.pop_front();
            }
        }
        if let Some(p) = &self.police {
            p.incident(i);
        }
        let what = match i.kind {
            protocol::messages::IncidentKind::WrongWay => {
                format!("wrong-way {} over line {}", class_name(i.class), i.line.as_deref().unwrap_or("?"))
            }
            protocol::messages::IncidentKind::CameraMoved => {
                format!("camera moved: {}", i.detail.as_deref().unwrap_or("view changed"))
            }
            protocol::messages::IncidentKind::StoppedVehicle => {
                format!(
                    "{} stopped {:.0} s in no-stopping zone {}",
                    class_name(i.class),
                    i.stopped_s.unwrap_or(0.0),
                    i.zone.as_deref().unwrap_or("?")
                )
            }
        };
        let raised = match i.kind {
            // One active per camera: a view moved twice before anyone looked is one job.
            protocol::messages::IncidentKind::CameraMoved => {
                self.alerts().raise(AlertKind::CameraMoved, &i.camera_id, what, received_ms)
            }
            _ => self.alerts().raise(
                AlertKind::Incident,
                &format!("{}/{}", i.camera_id, i.incident_id),
                what,
                received_ms,
            ),
        };
        self.alert_changed(raised);
    }

    /// A junction acknowledged (or refused) a plan.
    pub fn plan_ack(&self, ack: &PlanAck) {
        let now = now_ms();
        let changed = match ack.outcome {
            PlanOutcome::Rejected => {
                let detail = format!(
                    "plan {} v{}: {}{}",
                    ack.plan_id,
                    ack.version,
                    ack.reason.as_deref().unwrap_or("rejected"),
                    ack.detail.as_ref().map_or(String::new(), |d| format!(" ({d})"))
                );
                self.alerts().raise(AlertKind::PlanRejected, &ack.junction_id, detail, now)
            }
            PlanOutcome::Accepted => self.alerts().clear(AlertKind::PlanRejected, &ack.junction_id, now),
        };
        self.alert_changed(changed);
        self.junction_changed(&ack.junction_id);
    }

    pub fn junction_changed(&self, junction: &str) {
        self.send(HubEvent::Junction { junction_id: junction.into() });
    }
}

fn class_name(c: Option<protocol::VehicleClass>) -> String {
    c.map_or("vehicle".into(), |c| format!("{c:?}").to_lowercase())
}

#[cfg(test)]
mod tests {
    use super::*;
    use protocol::plan::PlanOutcome;

    #[test]
    fn a_rejected_plan_raises_an_alert_that_a_later_acceptance_clears() {
        let hub = Hub::new(None);
        let mut rx = hub.subscribe();
        let ack = |outcome, reason: Option<&str>| PlanAck {
            junction_id: "j1".into(),
            plan_id: "central".into(),
            version: 7,
            outcome,
            reason: reason.map(String::from),
            detail: None,
        };
        hub.plan_ack(&ack(PlanOutcome::Rejected, Some("unsafe:short_green")));
        let HubEvent::Alert { alert } = rx.try_recv().unwrap() else { panic!("alert first") };
        assert_eq!((alert.kind, alert.subject.as_str(), alert.active), (AlertKind::PlanRejected, "j1", true));
        assert!(alert.detail.contains("unsafe:short_green"));
        assert!(matches!(rx.try_recv().unwrap(), HubEvent::Junction { .. }));
        hub.plan_ack(&ack(PlanOutcome::Accepted, None));
        let HubEvent::Alert { alert } = rx.try_recv().unwrap() else { panic!() };
        assert!(!alert.active);
    }

    #[test]
    fn an_incident_is_announced_once_and_closed_by_its_acknowledgement() {
        let hub = Hub::new(None);
        let incident = protocol::messages::Incident {
            camera_id: "cam-1".into(),
            incident_id: "17-4-wrong_way-main".into(),
            kind: protocol::messages::IncidentKind::WrongWay,
            at_ms: 5,
            line: Some("main".into()),
            zone: None,
            class: Some(protocol::VehicleClass::Motorcycle),
            stopped_s: None,
            detail: None,
        };
        hub.incident(&incident, 6);
        hub.incident(&incident, 7);
        let active = hub.alerts().list(true);
        assert_eq!(active.len(), 1);
        assert_eq!(active[0].detail, "wrong-way motorcycle over line main");
        hub.alerts().ack(active[0].id, "lan", 8).unwrap();
        assert!(hub.alerts().list(true).is_empty(), "an incident closes when acknowledged");
    }

    #[test]
    fn camera_offline_then_online() {
        let hub = Hub::new(None);
        hub.camera_state("cam-1", false, 5);
        hub.camera_state("cam-1", false, 6);
        assert_eq!(hub.alerts().list(true).len(), 1);
        hub.camera_state("cam-1", true, 7);
        assert!(hub.alerts().list(true).is_empty());
    }
}
