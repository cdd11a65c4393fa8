//! Central: takes every agent's interval reports off MQTT, validates and de-duplicates
//! them, stores them (SQLite embedded, PostgreSQL in production), acknowledges each one
//! to its agent only once it is committed, and serves them over HTTP.
//!
//! Data flows one way: MQTT (`mqtt`) → validation (`validate`) → store writer thread
//! (`store_writer`, `store`) → acks back over MQTT, and each stored interval once onto the
//! stored-interval bus (`bus`), to which the event hub (`hub`: live events, alerts, the
//! police feed) and forecasting (`forecast`) subscribe; forecast levels feed retiming
//! (`signals`), whose plans leave on the same MQTT session. The HTTP wing (`http`) reads the store and the owners'
//! snapshots; it is the only module that speaks HTTP.
//!
//! # Layout
//! - `server`: starts every part in order and stops them in reverse.
//! - `mqtt`, `validate`, `store_writer`, `store`, `bus`: the count path in.
//! - `hub`, `alerts`, `police`, `public`: events and the feeds' content.
//! - `config_push`: saved camera geometry versions out to their agents (retained).
//! - `forecast`, `signals`: the forecasting and retiming workers with their pure cores.
//! - `http`: router, route table, access, one file per resource.
//! - `auth`: users, roles, password hashing, sessions (no HTTP).
//! - `availability` (gaps and the interval in progress, truthfully).
//! - `config`, `clock`, `metrics`, `broker` (embedded MQTT), `summary` (demo totals).

pub mod alerts;
pub mod auth;
pub mod availability;
pub mod broker;
pub mod bus;
pub mod clock;
pub mod config;
pub mod config_push;
pub mod forecast;
pub mod http;
pub mod hub;
pub mod metrics;
pub mod mqtt;
pub mod police;
pub mod public;
pub mod server;
pub mod signals;
pub mod snapshots;
pub mod store;
pub mod store_writer;
pub mod summary;
pub mod validate;

pub use summary::{CameraTotals, SummaryError, summarize};
