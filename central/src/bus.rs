//! The stored-interval bus: the store writer publishes each newly stored interval once,
//! and everything that reacts to a count subscribes — the hub's live stream, forecasting,
//! and the printer `central run --print-intervals` uses.
//!
//! Invariants: only the writer holds the publishing end ([`StoredBus`] is moved into it),
//! so subscribers are made before the writer starts and all see the bus close when the
//! writer stops — that is how they know to finish. A subscriber more than [`CAPACITY`]
//! intervals behind misses the oldest ones and is told how many; the count itself is
//! already stored, so what it misses is a live update, never data.

use std::sync::Arc;

use tokio::sync::broadcast;

use crate::store::StoredInterval;

/// How many intervals a slow subscriber may fall behind before it misses some.
pub const CAPACITY: usize = 4096;

/// The publishing end; the store writer owns it.
pub struct StoredBus {
    tx: broadcast::Sender<Arc<StoredInterval>>,
}

/// One subscriber's end: stored intervals in commit order.
pub type Subscription = broadcast::Receiver<Arc<StoredInterval>>;

impl Default for StoredBus {
    fn default() -> Self {
        StoredBus { tx: broadcast::channel(CAPACITY).0 }
    }
}

impl StoredBus {
    /// A new subscriber; it receives what is published from now on.
    pub fn subscribe(&self) -> Subscription {
        self.tx.subscribe()
    }

    /// Hands a newly stored interval to every subscriber (none: nobody is listening).
    pub fn publish(&self, stored: StoredInterval) {
        let _ = self.tx.send(Arc::new(stored));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::sync::broadcast::error::TryRecvError;

    fn interval(camera: &str) -> StoredInterval {
        StoredInterval {
            agent_id: "a".into(),
            epoch: 1,
            seq: 1,
            camera_id: camera.into(),
            model_id: "m".into(),
            model_sha256: String::new(),
            received_ms: 0,
            interval: Default::default(),
        }
    }

    #[test]
    fn every_subscriber_gets_each_interval_once_and_sees_the_writer_stop() {
        let bus = StoredBus::default();
        let (mut a, mut b) = (bus.subscribe(), bus.subscribe());
        bus.publish(interval("cam-1"));
        bus.publish(interval("cam-2"));
        drop(bus);
        for rx in [&mut a, &mut b] {
            assert_eq!(rx.try_recv().unwrap().camera_id, "cam-1");
            assert_eq!(rx.try_recv().unwrap().camera_id, "cam-2");
            assert_eq!(rx.try_recv().unwrap_err(), TryRecvError::Closed);
        }
    }

    #[test]
    fn a_subscriber_that_falls_behind_is_told_how_many_it_missed() {
        let bus = StoredBus::default();
        let mut slow = bus.subscribe();
        for i in 0..CAPACITY + 3 {
            bus.publish(interval(&format!("cam-{i}")));
        }
        assert_eq!(slow.try_recv().unwrap_err(), TryRecvError::Lagged(3));
        assert_eq!(slow.try_recv().unwrap().camera_id, "cam-3");
    }
}
