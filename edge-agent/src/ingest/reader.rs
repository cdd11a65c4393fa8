//! The reconnecting reader: what the pipeline pulls frames from.
//!
//! A file ends at its end; a decoding error is fatal. A live source that errors, ends
//! or stalls is closed, marked down in `StreamHealth`, and reopened after a backoff
//! that doubles from `initial` up to `max`. While it is down the reader still returns
//! regularly (`Down`/`Idle`), so interval clocks keep running and the gap shows as
//! reduced coverage instead of vanishing.

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use super::gst::{GstSource, OpenOptions, Pulled};
use super::{FrameSource, IngestError, SourceSpec, StreamHealth, usb};
use crate::frame::Frame;

pub enum IngestEvent {
    Frame(Frame),
    /// No frame yet, source still up (lets callers advance wall-clock intervals).
    Idle,
    /// The live source is down and a reconnect is pending.
    Down {
        error: String,
    },
    /// A finite source is finished.
    End,
}

#[derive(Debug, Clone)]
pub struct ReconnectPolicy {
    pub initial: Duration,
    pub max: Duration,
    /// A live source that delivers nothing for this long is treated as lost.
    pub stall_timeout: Duration,
    /// A file that delivers nothing for this long is broken (a demuxer can stall on
    /// corrupt data without posting an error): the read fails instead of hanging.
    pub file_stall_timeout: Duration,
    /// Reconnect live sources forever (agent mode); otherwise an end or error is final.
    pub reconnect: bool,
    /// A file that ends before its container's stated duration is an error (`count`: its
    /// totals would be a fraction of the clip); otherwise a warning, and the stream
    /// health says so (`run`: the intervals it did count stand, with their coverage).
    pub ended_early_fails: bool,
}

impl Default for ReconnectPolicy {
    fn default() -> Self {
        ReconnectPolicy {
            initial: Duration::from_millis(250),
            max: Duration::from_secs(2),
            stall_timeout: Duration::from_secs(3),
            file_stall_timeout: Duration::from_secs(10),
            reconnect: true,
            ended_early_fails: false,
        }
    }
}

fn open(spec: &SourceSpec, opts: &OpenOptions) -> Result<Box<dyn FrameSource>, IngestError> {
    match spec {
        SourceSpec::Usb(index) => usb::open(*index),
        _ => Ok(Box::new(GstSource::open(spec, opts)?)),
    }
}

pub struct Reader {
    spec: SourceSpec,
    opts: OpenOptions,
    policy: ReconnectPolicy,
    health: Arc<StreamHealth>,
    source: Option<Box<dyn FrameSource>>,
    /// Waits between reopen attempts: `policy.initial`, doubling, at most `policy.max`.
    delays: backon::ExponentialBackoff,
    next_attempt: Instant,
    last_frame: Instant,
    delivered: u64,
    fps: f64,
    started: SystemTime,
    pull_timeout: Duration,
    /// Reopened, and no frame yet: "connected" is said only when one arrives (an RTSP
    /// URL can open and then deliver nothing).
    awaiting_first_frame: bool,
    /// Presentation time of the last frame delivered (a file's position).
    last_pts_ns: u64,
}

impl Reader {
    /// Opens the source once; the first failure is returned to the caller either way,
    /// so a wrong URL or missing file is reported at start-up.
    pub fn open(spec: SourceSpec, opts: OpenOptions, policy: ReconnectPolicy) -> Result<Reader, IngestError> {
        let source = open(&spec, &opts)?;
        Ok(Reader::with_source(spec, opts, policy, Some(source)))
    }

    fn with_source(
        spec: SourceSpec,
        opts: OpenOptions,
        policy: ReconnectPolicy,
        source: Option<Box<dyn FrameSource>>,
    ) -> Reader {
        let now = Instant::now();
        let health = Arc::new(StreamHealth::default());
        if source.is_none() {
            health.down("not connected yet");
        }
        Reader {
            spec,
            opts,
            delays: delays(&policy),
            policy,
            health,
            source,
            next_attempt: now,
            last_frame: now,
            delivered: 0,
            fps: 0.0,
            started: SystemTime::now(),
            pull_timeout: Duration::from_millis(200),
            awaiting_first_frame: false,
            last_pts_ns: 0,
        }
    }

    /// A live reader that starts disconnected and connects on the first `next` (an
    /// agent must start, and report the gap, even when its camera is down).
    pub fn new_live(spec: SourceSpec, opts: OpenOptions, policy: ReconnectPolicy) -> Reader {
        Reader::with_source(spec, opts, policy, None)
    }

    pub fn health(&self) -> Arc<StreamHealth> {
        self.health.clone()
    }

    pub fn spec(&self) -> &SourceSpec {
        &self.spec
    }

    fn live_reconnects(&self) -> bool {
        self.spec.is_live() && self.policy.reconnect
    }

    fn lose(&mut self, error: String) -> IngestEvent {
        let wait = self.delays.next().unwrap_or(self.policy.max);
        // A stream that delivered since it was opened was lost; one that never did is
        // not reachable (refused, wrong path, no frames), which is a different fault.
        let delivering = self.source.is_some() && !self.awaiting_first_frame;
        let what = if delivering { "stream lost; reconnecting" } else { "stream not reachable; retrying" };
        tracing::warn!(
            source = %self.spec.display_name(),
            error = %error,
            backoff_ms = wait.as_millis() as u64,
            "{what}"
        );
        self.source = None;
        self.awaiting_first_frame = false;
        self.health.down(error.clone());
        self.next_attempt = Instant::now() + wait;
        IngestEvent::Down { error }
    }

    #[allow(clippy::should_implement_trait)]
    pub fn next(&mut self) -> Result<IngestEvent, IngestError> {
        if self.source.is_none() && !self.live_reconnects() {
            return Ok(IngestEvent::End);
        }
        let Some(source) = self.source.as_mut() else {
            let wait = self.next_attempt.saturating_duration_since(Instant::now());
            if !wait.is_zero() {
                std::thread::sleep(wait.min(self.pull_timeout));
                return Ok(IngestEvent::Down { error: "reconnect pending".into() });
            }
            return Ok(match open(&self.spec, &self.opts) {
                Ok(source) => {
                    tracing::debug!(source = %self.spec.display_name(), "stream opened; waiting for its first frame");
                    self.awaiting_first_frame = true;
                    self.source = Some(source);
                    self.health.reconnected();
                    self.last_frame = Instant::now();
                    IngestEvent::Idle
                }
                Err(e) => self.lose(e.to_string()),
            });
        };
        match source.pull(self.pull_timeout) {
            Ok(Pulled::Frame(frame)) => {
                if std::mem::take(&mut self.awaiting_first_frame) {
                    tracing::info!(source = %self.spec.display_name(), "stream connected: frames arriving");
                }
                let now = Instant::now();
                let dt = now.duration_since(self.last_frame).as_secs_f64();
                self.last_frame = now;
                self.delays = delays(&self.policy);
                if dt > 0.0 {
                    let inst = 1.0 / dt;
                    self.fps = if self.fps == 0.0 { inst } else { 0.9 * self.fps + 0.1 * inst };
                }
                // Files are timed by their own clock, live sources by the wall clock.
                let captured_at = if self.spec.is_live() {
                    frame.captured_at
                } else {
                    self.started + Duration::from_nanos(frame.pts_ns)
                };
                let pts = frame.pts_ns;
                self.last_pts_ns = pts;
                let frame = frame.with_timing(self.delivered, pts, captured_at);
                self.delivered += 1;
                self.health.frame(SystemTime::now(), self.fps);
                Ok(IngestEvent::Frame(frame))
            }
            Ok(Pulled::Timeout) => {
                let silent = self.last_frame.elapsed();
                let limit =
                    if self.spec.is_live() { self.policy.stall_timeout } else { self.policy.file_stall_timeout };
                if silent > limit {
                    let err =
                        IngestError::Stalled { source_name: self.spec.display_name(), seconds: silent.as_secs_f64() };
                    if self.live_reconnects() {
                        return Ok(self.lose(err.to_string()));
                    }
                    return Err(err);
                }
                Ok(IngestEvent::Idle)
            }
            Ok(Pulled::EndOfStream) => {
                let stated = source.stated_duration();
                if self.live_reconnects() {
                    Ok(self.lose("end of stream".into()))
                } else {
                    if let Some(err) = self.ended_early(stated) {
                        self.source = None;
                        self.health.down(err.to_string());
                        if self.policy.ended_early_fails {
                            return Err(err);
                        }
                        tracing::warn!(error = %err, "file ended early; what was read is counted");
                        return Ok(IngestEvent::End);
                    }
                    self.source = None;
                    self.health.down("end of stream");
                    Ok(IngestEvent::End)
                }
            }
            Err(e) => {
                if self.live_reconnects() {
                    Ok(self.lose(e.to_string()))
                } else {
                    self.health.down(e.to_string());
                    Err(e)
                }
            }
        }
    }
}

impl Reader {
    /// A file that ended more than a second (and two frames) before the duration its
    /// container states: cut short in copying, or damaged. The tolerance covers the last
    /// frame's own duration and containers that round.
    fn ended_early(&self, stated: Option<Duration>) -> Option<IngestError> {
        let stated = stated?;
        let played = Duration::from_nanos(self.last_pts_ns);
        let frame = if self.fps > 0.0 { Duration::from_secs_f64(2.0 / self.fps) } else { Duration::ZERO };
        (played + frame.max(Duration::from_secs(1)) < stated).then(|| IngestError::EndedEarly {
            source_name: self.spec.display_name(),
            played_s: played.as_secs_f64(),
            stated_s: stated.as_secs_f64(),
        })
    }
}

fn delays(policy: &ReconnectPolicy) -> backon::ExponentialBackoff {
    use backon::BackoffBuilder;
    backon::ExponentialBuilder::new()
        .with_min_delay(policy.initial)
        .with_max_delay(policy.max)
        .with_factor(2.0)
        .without_max_times()
        .build()
}
