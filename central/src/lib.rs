//! Central: takes every agent's interval reports off MQTT, validates and de-duplicates
//! them, stores them (SQLite embedded, PostgreSQL in production), acknowledges each one
//! to its agent only once it is committed, and serves them over HTTP.
//!
//! Data flows one way: MQTT (`mqtt`) → validation (`validate`) → store writer thread
//! (`ingest`, `store`) → acks back over MQTT; the HTTP API (`api`) reads the store.

pub mod alerts;
pub mod api;
pub mod auth;
pub mod broker;
pub mod config;
pub mod dashboard;
pub mod detectors;
pub mod export;
pub mod forecast;
pub mod ingest;
pub mod live;
pub mod metrics;
pub mod mqtt;
pub mod openapi;
pub mod police;
pub mod public;
pub mod server;
pub mod signals;
pub mod store;
pub mod summary;
pub mod validate;

pub use summary::{CameraTotals, SummaryError, summarize};
