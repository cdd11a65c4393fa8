//! Where a camera's results go. The one frame loop (`drive`) hands every closed interval,
//! every incident and the live zone occupancy to a `Sink`; what happens to them is the
//! sink's business:
//! - `agent::AgentSink` (the long-running agent): the durable outboxes and MQTT through
//!   `report::Reporter` when `[mqtt]` is configured, and the caller's callback (the CLI
//!   prints JSON lines);
//! - `app::ClipTotals` (`edge-agent count`, tests, benches): totals per line and the
//!   per-frame figures of a whole clip.
//!
//! When the stage carries pictures (annotation), each frame's picture is handed over too,
//! with the pipeline's state after that frame, to be drawn on and written out.
//!
//! The loop owns the clock: frame time for files and clip counting, the wall clock for a
//! live camera (so intervals keep closing, with falling coverage, while the stream is down).

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::SystemTime;

use image::RgbImage;
use protocol::IntervalCounts;
use protocol::messages::{Incident, ZoneNow};

use crate::detect::FrameMeta;
use crate::detect::OnnxDetector;
use crate::ingest::health::unix_ms;
use crate::pipeline::{Pipeline, SceneView};
use crate::stages::{PrepStage, Staged};

pub trait Sink {
    /// A frame went through the pipeline.
    fn frame(&mut self, _meta: &FrameMeta) {}
    /// The frame's picture (only when the stage was built to carry one), to draw `scene`
    /// on; it goes back to the stage for reuse afterwards.
    fn picture(&mut self, _meta: &FrameMeta, _picture: &mut RgbImage, _scene: &SceneView<'_>) -> anyhow::Result<()> {
        Ok(())
    }
    /// An interval closed.
    fn interval(&mut self, interval: &IntervalCounts);
    /// An incident was decided.
    fn incident(&mut self, incident: Incident);
    /// How often (ms of frame time) this sink wants live zone occupancy; `None`: never.
    fn presence_every_ms(&self) -> Option<i64> {
        None
    }
    fn presence(&mut self, _at_ms: i64, _zones: BTreeMap<String, ZoneNow>) {}
    /// Called once per turn of the loop (periodic status logs).
    fn tick(&mut self) {}
    /// New counting geometry to put in place at the next interval boundary (central's
    /// push, checked); asked once per turn of the loop.
    fn reconfigure(&mut self) -> Option<crate::pipeline::reconfigure::Geometry> {
        None
    }
    /// The geometry of `version` is in place: intervals from here on count with it.
    fn applied(&mut self, _version: u64) {}
    /// Whether the next frame's picture is wanted (a snapshot); asked once per turn.
    fn wants_picture(&mut self) -> bool {
        false
    }
    /// The source ended or the loop was stopped; every interval and incident is in.
    fn finish(&mut self) {}
}

/// What time the loop runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Clock {
    /// Frame time: intervals close as frames arrive (files, clip counting).
    Frames,
    /// Wall clock: intervals close on time even while no frame arrives (live cameras).
    Wall,
}

/// Runs `pipeline` over `stage` until the source ends or `stop` is set, handing everything
/// to `sink`; closes the last interval and flushes the last incidents before returning.
pub fn drive(
    pipeline: &mut Pipeline<OnnxDetector>,
    stage: &PrepStage,
    clock: Clock,
    stop: &AtomicBool,
    sink: &mut dyn Sink,
) -> anyhow::Result<()> {
    let mut last_ms = 0;
    let mut last_presence_ms = i64::MIN;
    while !stop.load(Ordering::Relaxed) {
        let now_ms = match stage.next() {
            Staged::Frame(mut input) => {
                pipeline.process_prepared(&input)?;
                last_ms = unix_ms(input.meta.captured_at);
                sink.frame(&input.meta);
                if let Some(picture) = input.picture.as_mut() {
                    sink.picture(&input.meta, picture, &pipeline.view())?;
                }
                for incident in pipeline.take_incidents() {
                    sink.incident(incident);
                }
                stage.recycle(input);
                if let Some(every) = sink.presence_every_ms()
                    && last_ms - last_presence_ms >= every
                    && let Some((at_ms, zones)) = pipeline.presence()
                {
                    sink.presence(at_ms, zones);
                    last_presence_ms = last_ms;
                }
                last_ms
            }
            Staged::End => break,
            Staged::Failed(e) => return Err(e.into()),
            Staged::Idle | Staged::Down(_) => match clock {
                Clock::Wall => unix_ms(SystemTime::now()),
                Clock::Frames => last_ms,
            },
        };
        if let Some(geometry) = sink.reconfigure() {
            pipeline.reconfigure(geometry);
        }
        if sink.wants_picture() {
            stage.request_picture();
        }
        for interval in pipeline.poll(now_ms) {
            sink.interval(&interval);
        }
        if let Some(version) = pipeline.take_applied() {
            stage.replace_preparer(pipeline.preparer());
            sink.applied(version);
        }
        sink.tick();
    }
    let end_ms = match clock {
        Clock::Wall => unix_ms(SystemTime::now()),
        Clock::Frames => last_ms + 1,
    };
    for interval in pipeline.finish(end_ms) {
        sink.interval(&interval);
    }
    // Crossings decided as the stream ended.
    for incident in pipeline.take_incidents() {
        sink.incident(incident);
    }
    sink.finish();
    Ok(())
}
