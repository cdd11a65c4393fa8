//! Edge agent library: everything between a camera and interval counts. The binary in
//! `main.rs` is a thin CLI over it; tests and benches use it directly.
//!
//! Data flows one way: ingest → detect → twowheel → track → count → report.

pub mod agent;
pub mod app;
pub mod assets;
pub mod config;
pub mod count;
pub mod detect;
pub mod frame;
pub mod geometry;
pub mod ingest;
pub mod junction;
pub mod outbox;
pub mod pipeline;
pub mod publish;
pub mod report;
pub mod scene;
pub mod stages;
pub mod track;
pub mod twowheel;
