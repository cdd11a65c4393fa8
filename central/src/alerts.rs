//! The operators' alert list: what needs a human's eye, raised by the ingest (camera
//! offline), the forecaster (congestion ahead) and the signal worker (plan rejected by a
//! junction).
//!
//! Invariants: at most one *active* alert per (kind, subject), so a flapping forecast or
//! a camera that keeps reporting offline does not flood the list; an alert is cleared by
//! the opposite event (camera back, forecast below the level, a later plan accepted) and
//! stays listed, cleared, until it ages out of the last `KEEP` alerts. Acknowledging
//! records who and when (the API also writes it to the audit log); it does not clear a
//! condition, but it closes an incident (an event has no opposite event).
//! The list lives in memory: after a restart, conditions still true are raised again by
//! the next status, forecast or ack.

use std::collections::VecDeque;

use serde::Serialize;

/// How many alerts (active or not) are kept.
pub const KEEP: usize = 500;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AlertKind {
    /// An approach's 15- or 30-minute forecast reaches the alert level.
    Congestion,
    /// The camera's agent said it is offline, or its last will fired.
    CameraOffline,
    /// A junction refused a plan from central (bad signature, unsafe, expired, …).
    PlanRejected,
    /// An agent saw a stopped vehicle or a wrong-way driver: an event, not a condition,
    /// so it stays active until acknowledged.
    Incident,
    /// A camera's view shifted or was lost: its lines need checking; active until
    /// acknowledged.
    CameraMoved,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Alert {
    pub id: u64,
    pub kind: AlertKind,
    /// The camera (`camera/line` for congestion) or junction it is about.
    pub subject: String,
    pub detail: String,
    pub raised_ms: i64,
    pub active: bool,
    pub cleared_ms: Option<i64>,
    pub acked_by: Option<String>,
    pub acked_ms: Option<i64>,
}

#[derive(Debug, Default)]
pub struct AlertBook {
    next_id: u64,
    /// Newest first.
    alerts: VecDeque<Alert>,
}

#[derive(Debug, PartialEq, Eq)]
pub enum AckError {
    Unknown,
    AlreadyAcked(String),
}

impl AlertBook {
    /// Raises an alert unless one of the same kind and subject is active; returns the new
    /// alert.
    pub fn raise(&mut self, kind: AlertKind, subject: &str, detail: String, now_ms: i64) -> Option<Alert> {
        if self.alerts.iter().any(|a| a.active && a.kind == kind && a.subject == subject) {
            return None;
        }
        self.next_id += 1;
        let alert = Alert {
            id: self.next_id,
            kind,
            subject: subject.into(),
            detail,
            raised_ms: now_ms,
            active: true,
            cleared_ms: None,
            acked_by: None,
            acked_ms: None,
        };
        self.alerts.push_front(alert.clone());
        self.alerts.truncate(KEEP);
        Some(alert)
    }

    /// Clears the active alert of this kind and subject; returns it.
    pub fn clear(&mut self, kind: AlertKind, subject: &str, now_ms: i64) -> Option<Alert> {
        let a = self.alerts.iter_mut().find(|a| a.active && a.kind == kind && a.subject == subject)?;
        a.active = false;
        a.cleared_ms = Some(now_ms);
        Some(a.clone())
    }

    pub fn ack(&mut self, id: u64, user: &str, now_ms: i64) -> Result<Alert, AckError> {
        let a = self.alerts.iter_mut().find(|a| a.id == id).ok_or(AckError::Unknown)?;
        if let Some(by) = &a.acked_by {
            return Err(AckError::AlreadyAcked(by.clone()));
        }
        a.acked_by = Some(user.into());
        a.acked_ms = Some(now_ms);
        if matches!(a.kind, AlertKind::Incident | AlertKind::CameraMoved) && a.active {
            a.active = false;
            a.cleared_ms = Some(now_ms);
        }
        Ok(a.clone())
    }

    /// Newest first; `active_only` leaves out cleared alerts.
    pub fn list(&self, active_only: bool) -> Vec<Alert> {
        self.alerts.iter().filter(|a| a.active || !active_only).cloned().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn one_active_alert_per_kind_and_subject_and_acks_are_kept() {
        let mut book = AlertBook::default();
        let a = book.raise(AlertKind::CameraOffline, "cam-1", "last will".into(), 10).unwrap();
        assert!(book.raise(AlertKind::CameraOffline, "cam-1", "again".into(), 20).is_none());
        assert!(book.raise(AlertKind::Congestion, "cam-1/main", "E".into(), 20).is_some());
        assert_eq!(book.ack(a.id, "lan", 30).unwrap().acked_by.as_deref(), Some("lan"));
        assert_eq!(book.ack(a.id, "mai", 31), Err(AckError::AlreadyAcked("lan".into())));
        assert_eq!(book.ack(999, "lan", 31), Err(AckError::Unknown));
        let cleared = book.clear(AlertKind::CameraOffline, "cam-1", 40).unwrap();
        assert_eq!((cleared.active, cleared.cleared_ms, cleared.acked_by.as_deref()), (false, Some(40), Some("lan")));
        assert_eq!(book.list(true).len(), 1);
        assert_eq!(book.list(false).len(), 2);
        // Raised again after clearing: a new alert.
        assert_eq!(book.raise(AlertKind::CameraOffline, "cam-1", "down".into(), 50).unwrap().id, 3);
    }

    proptest! {
        #[test]
        fn never_two_active_alerts_for_one_subject(events in proptest::collection::vec(
            (0..5u8, 0..4u8, any::<bool>()),
            0..200
        )) {
            let mut book = AlertBook::default();
            for (t, (kind, subject, raise)) in events.into_iter().enumerate() {
                let kind = [
                    AlertKind::Congestion,
                    AlertKind::CameraOffline,
                    AlertKind::PlanRejected,
                    AlertKind::Incident,
                    AlertKind::CameraMoved
                ][kind as usize];
                let subject = format!("s{subject}");
                if raise { book.raise(
                    kind,
                    &subject,
                    String::new(),
                    t as i64
                ); } else { book.clear(kind, &subject, t as i64); }
                let active = book.list(true);
                let mut keys: Vec<_> = active.iter().map(|a| (a.kind as u8, a.subject.clone())).collect();
                let n = keys.len();
                keys.sort();
                keys.dedup();
                prop_assert_eq!(keys.len(), n);
                prop_assert!(book.list(false).len() <= KEEP);
            }
        }
    }
}
