//! Edge agent library: everything between a camera and interval counts. The binary in
//! `main.rs` is a thin CLI over it; tests and benches use it directly.
//!
//! Data flows one way: ingest → detect → twowheel → track → count → report.
//!
//! # Layout
//! - `ingest` (GStreamer files and RTSP, USB, reconnects, health), `frame`, `stages` (the
//!   pre-processing thread), `scene` (camera-moved check).
//! - `detect` (ONNX Runtime, views and tiles, decoding, NMS, repeated frames), `twowheel`
//!   (rider + bike as one), `track` (ByteTrack-style tracker), `count` (lines, zones,
//!   movements, classes, sizes, incidents, intervals), `geometry`.
//! - `pipeline` (the per-frame chain) and `app` (clip counting, pipeline building).
//! - `sink` (the one frame loop and the `Sink` trait it feeds), `agent` (the long-running
//!   camera: its sink), `report` (the reporting wing: `Reporter` puts interval reports and
//!   incidents into the durable outboxes, `report::outbox` keeps them on disk,
//!   `report::link` delivers them over MQTT and handles the acks).
//! - `annotate` (what the detector sees, drawn on frames: `count --annotate` video,
//!   `snapshot` JPEG).
//! - `config` (the camera config and its validation, read with the `config-read` crate so
//!   every problem is reported), `fit` (lines and zones against the decoded frame size),
//!   `assets` (shared models and clips).
//!
//! The junction role is a separate crate and binary (`junction-agent`).

pub mod agent;
pub mod annotate;
pub mod app;
pub mod assets;
pub mod config;
pub mod count;
pub mod detect;
pub mod fit;
pub mod frame;
pub mod geometry;
pub mod ingest;
pub mod pipeline;
pub mod remote_config;
pub mod report;
pub mod scene;
pub mod sink;
pub mod snapshot_link;
pub mod stages;
pub mod track;
pub mod twowheel;
