//! Stream health, shared between the ingest thread and whoever reports status.
//! Lock-free counters plus one mutex for the last error text.

use parking_lot::Mutex;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use serde::Serialize;

#[derive(Debug, Default)]
pub struct StreamHealth {
    up: AtomicBool,
    last_frame_ms: AtomicI64,
    fps_milli: AtomicU64,
    frames: AtomicU64,
    reconnects: AtomicU64,
    last_error: Mutex<Option<String>>,
}

/// A consistent-enough copy for reporting.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct HealthSnapshot {
    pub up: bool,
    /// Wall-clock time of the last decoded frame (ms since the Unix epoch), 0 if none.
    pub last_frame_ms: i64,
    /// Frames per second measured over the last second or so.
    pub fps: f64,
    pub frames: u64,
    pub reconnects: u64,
    pub last_error: Option<String>,
}

pub fn unix_ms(t: SystemTime) -> i64 {
    t.duration_since(UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0)
}

impl StreamHealth {
    pub fn frame(&self, at: SystemTime, fps: f64) {
        self.up.store(true, Ordering::Relaxed);
        self.last_frame_ms.store(unix_ms(at), Ordering::Relaxed);
        self.fps_milli.store((fps * 1000.0) as u64, Ordering::Relaxed);
        self.frames.fetch_add(1, Ordering::Relaxed);
    }

    pub fn down(&self, error: impl Into<String>) {
        self.up.store(false, Ordering::Relaxed);
        self.fps_milli.store(0, Ordering::Relaxed);
        *self.last_error.lock() = Some(error.into());
    }

    pub fn reconnected(&self) {
        self.reconnects.fetch_add(1, Ordering::Relaxed);
    }

    pub fn snapshot(&self) -> HealthSnapshot {
        HealthSnapshot {
            up: self.up.load(Ordering::Relaxed),
            last_frame_ms: self.last_frame_ms.load(Ordering::Relaxed),
            fps: self.fps_milli.load(Ordering::Relaxed) as f64 / 1000.0,
            frames: self.frames.load(Ordering::Relaxed),
            reconnects: self.reconnects.load(Ordering::Relaxed),
            last_error: self.last_error.lock().clone(),
        }
    }
}
