//! Open-data export of stored counts: `GET /api/v1/export/counts?camera=ID&from=&to=&format=csv|json`.
//!
//! One row per interval × line × direction × class (the long format spreadsheets and
//! pandas read directly), each carrying its interval's coverage, and one row per gap
//! (`kind = gap`, no count) for every span the camera should have covered and did not —
//! so a camera that was down reads as missing data, never as zero traffic. Nothing before
//! the camera's first interval and not the interval in progress is a gap
//! (`availability`); an unknown camera is a 404.

use axum::extract::{Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use protocol::VehicleClass;
use serde::{Deserialize, Serialize};

use super::ApiState;
use super::common::{known_camera, rfc3339, time_range, with_store};
use super::error::error;
use crate::availability::availability;
use crate::clock::now_ms;
use crate::store::StoredInterval;

/// Most intervals one export covers (a week of 1-minute intervals).
const MAX_INTERVALS: usize = 10_080;

#[derive(Deserialize, schemars::JsonSchema)]
pub struct ExportQuery {
    /// The camera whose counts to export.
    camera: String,
    /// RFC 3339 or Unix milliseconds; default: a day before `to`.
    from: Option<String>,
    /// RFC 3339 or Unix milliseconds (exclusive); default: now.
    to: Option<String>,
    /// `csv` (a download) or `json`.
    #[schemars(extend("enum" = ["csv", "json"], "default" = "csv"))]
    format: Option<String>,
}

#[derive(Debug, Serialize, PartialEq)]
pub struct Row {
    pub kind: &'static str,
    pub camera_id: String,
    pub start: String,
    pub end: String,
    pub coverage: Option<f64>,
    pub line: Option<String>,
    pub direction: Option<&'static str>,
    pub class: Option<&'static str>,
    pub count: Option<u32>,
}

/// The rows for `intervals` (sorted by start) and the camera's `gaps`, in time order.
pub fn rows(camera: &str, intervals: &[StoredInterval], gaps: &[(i64, i64)]) -> Vec<Row> {
    let mut out: Vec<(i64, Row)> = Vec::new();
    for s in intervals {
        let i = &s.interval;
        for (line, d) in &i.lines {
            for (direction, counts) in [("forward", &d.forward), ("backward", &d.backward)] {
                for class in VehicleClass::ALL {
                    out.push((
                        i.start_ms,
                        Row {
                            kind: "count",
                            camera_id: camera.into(),
                            start: rfc3339(i.start_ms),
                            end: rfc3339(i.end_ms),
                            coverage: Some(i.coverage),
                            line: Some(line.clone()),
                            direction: Some(direction),
                            class: Some(class.name()),
                            count: Some(counts.get(class)),
                        },
                    ));
                }
            }
        }
    }
    for &(start, end) in gaps {
        out.push((
            start,
            Row {
                kind: "gap",
                camera_id: camera.into(),
                start: rfc3339(start),
                end: rfc3339(end),
                coverage: Some(0.0),
                line: None,
                direction: None,
                class: None,
                count: None,
            },
        ));
    }
    out.sort_by_key(|(t, _)| *t);
    out.into_iter().map(|(_, r)| r).collect()
}

pub async fn counts(State(state): State<ApiState>, Query(q): Query<ExportQuery>) -> Response {
    if let Err(e) = protocol::topics::check_id(&q.camera) {
        return error(StatusCode::BAD_REQUEST, format!("camera: {e}"));
    }
    let csv = match q.format.as_deref() {
        None | Some("csv") => true,
        Some("json") => false,
        Some(other) => return error(StatusCode::BAD_REQUEST, format!("format: {other:?} is neither csv nor json")),
    };
    let (from, to) = match time_range(q.from.as_deref(), q.to.as_deref(), 86_400_000) {
        Ok(r) => r,
        Err(r) => return r.into_response(),
    };
    if let Err(e) = known_camera(&state, &q.camera).await {
        return e.into_response();
    }
    let camera = q.camera.clone();
    let read = with_store(&state, move |s| {
        Ok((s.counts(&camera, from, to, MAX_INTERVALS + 1)?, s.first_interval_ms(&camera)?))
    });
    let (intervals, since) = match read.await {
        Ok(r) => r,
        Err(r) => return r.into_response(),
    };
    if intervals.len() > MAX_INTERVALS {
        return error(
            StatusCode::UNPROCESSABLE_ENTITY,
            format!("more than {MAX_INTERVALS} intervals: ask for a shorter period"),
        );
    }
    // Gaps only where the camera should have reported: not before its first interval, not
    // the interval being counted now.
    let seen = availability(&intervals, from, to, since, now_ms(), state.silent_after_ms);
    let rows = rows(&q.camera, &intervals, &seen.gaps);
    let name = format!("counts_{}_{}_{}", q.camera, from, to);
    if !csv {
        return ([(header::CONTENT_DISPOSITION, format!("inline; filename=\"{name}.json\""))], axum::Json(rows))
            .into_response();
    }
    let mut w = csv::Writer::from_writer(Vec::new());
    for r in &rows {
        if let Err(e) = w.serialize(r) {
            return error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string());
        }
    }
    match w.into_inner() {
        Ok(body) => (
            [
                (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
                (header::CONTENT_DISPOSITION, format!("attachment; filename=\"{name}.csv\"")),
            ],
            body,
        )
            .into_response(),
        Err(e) => error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use protocol::{ClassCounts, DirectionCounts, IntervalCounts};

    fn interval(start_ms: i64, motorcycles: u32) -> StoredInterval {
        let mut forward = ClassCounts::default();
        forward.add(VehicleClass::Motorcycle, motorcycles);
        let lines = [("main".to_string(), DirectionCounts { forward, backward: ClassCounts::default() })].into();
        StoredInterval {
            agent_id: "c".into(),
            epoch: 1,
            seq: 1,
            camera_id: "c".into(),
            model_id: "m".into(),
            model_sha256: "ab".repeat(32),
            received_ms: start_ms,
            interval: IntervalCounts {
                start_ms,
                end_ms: start_ms + 60_000,
                coverage: 0.5,
                fps: 10.0,
                frames: 300,
                lines,
                ..Default::default()
            },
        }
    }

    #[test]
    fn every_class_and_direction_is_a_row_and_a_gap_is_no_count() {
        let r = rows("c", &[interval(0, 7), interval(120_000, 3)], &[(60_000, 120_000)]);
        assert_eq!(r.len(), 2 * 10 + 1);
        let gap = r.iter().find(|x| x.kind == "gap").unwrap();
        assert_eq!(
            (gap.start.as_str(), gap.end.as_str(), gap.count),
            ("1970-01-01T00:01:00.000Z", "1970-01-01T00:02:00.000Z", None)
        );
        let m: Vec<u32> = r
            .iter()
            .filter(|x| x.class == Some("motorcycle") && x.direction == Some("forward"))
            .filter_map(|x| x.count)
            .collect();
        assert_eq!(m, [7, 3]);
        let mut w = csv::Writer::from_writer(Vec::new());
        for row in &r {
            w.serialize(row).unwrap();
        }
        let text = String::from_utf8(w.into_inner().unwrap()).unwrap();
        assert!(text.starts_with("kind,camera_id,start,end,coverage,line,direction,class,count\n"), "{text}");
        assert!(text.contains("gap,c,1970-01-01T00:01:00.000Z,1970-01-01T00:02:00.000Z,0.0,,,,\n"), "{text}");
    }
}
