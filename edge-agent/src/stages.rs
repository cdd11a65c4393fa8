//! Runs ingest + pre-processing on a thread of their own, handing prepared frames to
//! the inference thread over a bounded channel. On a box with a spare core the model's
//! input for frame N+1 is being built while frame N is inferred, so the pipeline runs
//! at the speed of inference alone.
//!
//! The channel holds `depth` prepared frames: for files the producer then waits (every
//! frame is processed); for live sources the decoder upstream already keeps only the
//! newest frame, so the queue adds at most `depth` frames of latency. Prepared buffers
//! are sent back for reuse: no allocation per frame in steady state.

use std::sync::mpsc::{Receiver, SyncSender, TrySendError, sync_channel};
use std::thread::JoinHandle;

use crate::detect::{PreparedFrame, Preparer};
use crate::ingest::{IngestError, IngestEvent, Reader};

pub enum Staged {
    Frame(PreparedFrame),
    Idle,
    Down(String),
    End,
    Failed(IngestError),
}

pub struct PrepStage {
    rx: Receiver<Staged>,
    recycle: SyncSender<PreparedFrame>,
    handle: Option<JoinHandle<()>>,
    /// A preparer replacing the running one from the next frame (new counting geometry).
    next_preparer: std::sync::Arc<parking_lot::Mutex<Option<Preparer>>>,
    /// The next frame should carry its picture (a snapshot).
    want_picture: std::sync::Arc<std::sync::atomic::AtomicBool>,
    /// Every frame carries its picture (annotation).
    pictures: bool,
}

impl PrepStage {
    pub fn spawn(mut reader: Reader, mut preparer: Preparer, depth: usize) -> PrepStage {
        let pictures = preparer.carries_pictures();
        let (tx, rx) = sync_channel::<Staged>(depth.max(1));
        let (recycle, free) = sync_channel::<PreparedFrame>(depth + 2);
        let next_preparer = std::sync::Arc::new(parking_lot::Mutex::new(None::<Preparer>));
        let replacement = next_preparer.clone();
        let want_picture = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let picture_wanted = want_picture.clone();
        let handle = std::thread::Builder::new()
            .name("ingest-prepare".into())
            .spawn(move || {
                loop {
                    let msg = match reader.next() {
                        Ok(IngestEvent::Frame(frame)) => {
                            if let Some(next) = replacement.lock().take() {
                                preparer = next;
                            }
                            if picture_wanted.swap(false, std::sync::atomic::Ordering::Relaxed) {
                                preparer.picture_next();
                            }
                            let mut buf = free.try_recv().unwrap_or_default();
                            preparer.prepare(&frame, &mut buf);
                            Staged::Frame(buf)
                        }
                        Ok(IngestEvent::Idle) => Staged::Idle,
                        Ok(IngestEvent::Down { error }) => Staged::Down(error),
                        Ok(IngestEvent::End) => Staged::End,
                        Err(e) => Staged::Failed(e),
                    };
                    let last = matches!(msg, Staged::End | Staged::Failed(_));
                    if tx.send(msg).is_err() || last {
                        return;
                    }
                }
            })
            .expect("spawn ingest thread");
        PrepStage { rx, recycle, handle: Some(handle), next_preparer, want_picture, pictures }
    }

    /// The next frame prepared carries its picture (a snapshot).
    pub fn request_picture(&self) {
        self.want_picture.store(true, std::sync::atomic::Ordering::Relaxed);
    }

    /// Prepares frames with `preparer` from the next one on (the lines' tiles moved).
    /// A stage built to carry every picture (annotation) keeps doing so.
    pub fn replace_preparer(&self, preparer: Preparer) {
        let preparer = if self.pictures { preparer.with_pictures() } else { preparer };
        *self.next_preparer.lock() = Some(preparer);
    }

    /// The next item; `End` once the producer is gone.
    pub fn next(&self) -> Staged {
        self.rx.recv().unwrap_or(Staged::End)
    }

    /// Hands a processed buffer back for reuse.
    pub fn recycle(&self, buf: PreparedFrame) {
        match self.recycle.try_send(buf) {
            Ok(()) | Err(TrySendError::Full(_)) | Err(TrySendError::Disconnected(_)) => {}
        }
    }
}

impl Drop for PrepStage {
    fn drop(&mut self) {
        // Unblock a producer waiting on a full channel, then wait for it.
        while self.rx.try_recv().is_ok() {}
        let (_, dead) = sync_channel::<Staged>(0);
        self.rx = dead;
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}
