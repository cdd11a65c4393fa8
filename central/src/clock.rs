//! The wall clock, in one place: Unix milliseconds as every stored and wire time is kept.
//! Pure code (the retimer, forecasting, alert book) takes the time as an argument; only the
//! edges (HTTP handlers, the store writer, workers) read it here.

/// Now, Unix milliseconds (0 if the clock reads before 1970).
pub fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0)
}
