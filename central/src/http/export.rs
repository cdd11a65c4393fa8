//! Open-data export of stored counts, usable by another agency without asking:
//! `GET /api/v1/export/counts?camera=ID&from=&to=&format=csv|json` and its Frictionless
//! Data Package descriptor, `GET /api/v1/export/datapackage.json?camera=ID&from=&to=`.
//!
//! # Rows
//! One row per interval × line × direction × class (the long format spreadsheets and
//! pandas read directly), each carrying its interval's coverage, and one row per gap
//! (`kind = gap`, no count) for every span the camera should have covered and did not —
//! so a camera that was down reads as missing data, never as zero traffic. Nothing before
//! the camera's first interval and not the interval in progress is a gap
//! (`availability`); an unknown camera is a 404 (both routes).
//!
//! Every row says what it is about without a second lookup: the camera's name, position
//! (WGS 84) and road from `[map]`, the interval's length in seconds, the count's unit
//! (`vehicles`), and next to `direction` (the machine value, `forward`/`backward`: the
//! sides of the line as drawn on the camera's picture) its `direction_label` from
//! `[map.camera.lines.<line>]` ("northbound"). What is not configured is empty (JSON:
//! null). The columns, their order, types and descriptions are `COLUMNS`, the one list
//! the CSV header (the field order of `Row`, checked by a test) and the data package's
//! Table Schema are both read from. Times are UTC (RFC 3339); `[map] timezone` says
//! which zone to read them in locally.
//!
//! # Who gets counts per class
//! Both routes are public (`Auth::None`). The public congestion feed deliberately leaves
//! vehicle classes out, and so does this export for a caller without a session: unless
//! `[export] public_classes = true`, such a caller gets one row per interval × line ×
//! direction with `class = all` and the count summed over the classes. A request with a
//! live session (the dashboard's cookie or its token as a bearer; only possible with
//! `[auth]`) or the signals override token gets a row per class, as does everyone when
//! `public_classes = true`. Without `[auth]` nobody has a session, so `public_classes`
//! alone decides what the export publishes. Answers vary with the caller
//! (`Vary: Cookie, Authorization`).
//!
//! # Data package
//! A Frictionless tabular data package (v1 descriptor, `profile: tabular-data-package`)
//! with the `[export]` licence and publisher, and one resource `counts` whose `path` is
//! the CSV export relative to the descriptor's URL (`counts?camera=…&from=…&to=…&format=csv`,
//! with `from`/`to` resolved to the Unix milliseconds the descriptor was made for, so the
//! pair stays consistent when fetched later), and the Table Schema of `COLUMNS` with
//! `missingValues: [""]`.

use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use protocol::VehicleClass;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::ApiState;
use super::access::principal;
use super::common::{known_camera, rfc3339, time_range, with_store};
use super::error::error;
use crate::auth::Role;
use crate::availability::availability;
use crate::clock::now_ms;
use crate::config::{ExportSettings, Place};
use crate::store::StoredInterval;

/// Most intervals one export covers (a week of 1-minute intervals).
const MAX_INTERVALS: usize = 10_080;

/// The period an export covers when the request gives no `from`: a day.
const DEFAULT_SPAN_MS: i64 = 86_400_000;

/// The `class` of a row summed over every vehicle class.
pub const ALL_CLASSES: &str = "all";

/// The unit of `count`.
pub const UNIT: &str = "vehicles";

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

#[derive(Deserialize, schemars::JsonSchema)]
pub struct PackageQuery {
    /// The camera whose counts the package describes.
    camera: String,
    /// RFC 3339 or Unix milliseconds; default: a day before `to`.
    from: Option<String>,
    /// RFC 3339 or Unix milliseconds (exclusive); default: now.
    to: Option<String>,
}

/// One column of the export: its name (CSV header, JSON key), its Table Schema type and
/// what it means, units included.
pub struct Column {
    pub name: &'static str,
    pub kind: &'static str,
    pub description: &'static str,
}

const fn col(name: &'static str, kind: &'static str, description: &'static str) -> Column {
    Column { name, kind, description }
}

/// Every column, in the order of the CSV header (the field order of `Row`).
pub const COLUMNS: &[Column] = &[
    col(
        "kind",
        "string",
        "count: vehicles counted in an interval; gap: a span the camera should have counted and did not \
         (missing data, not zero traffic)",
    ),
    col("camera_id", "string", "The camera's identifier"),
    col("camera_name", "string", "What the traffic agency calls the camera's location (empty: not configured)"),
    col("lat", "number", "The camera's latitude, WGS 84 decimal degrees (empty: not configured)"),
    col("lon", "number", "The camera's longitude, WGS 84 decimal degrees (empty: not configured)"),
    col("road", "string", "The road the camera watches (empty: not configured)"),
    col("start", "datetime", "Start of the interval or gap, UTC (RFC 3339)"),
    col("end", "datetime", "End of the interval or gap (exclusive), UTC (RFC 3339)"),
    col("interval_s", "number", "Length from start to end, in seconds"),
    col(
        "coverage",
        "number",
        "Share of the interval the camera was counting, 0 to 1 (0 for a gap); a count with coverage \
         below 1 is a lower bound",
    ),
    col("line", "string", "The counting line's name in the camera's geometry (empty for a gap)"),
    col(
        "direction",
        "string",
        "Which way vehicles crossed the line: forward or backward, the sides of the line as drawn on the \
         camera's picture (empty for a gap)",
    ),
    col("direction_label", "string", "What the direction means on the ground, e.g. northbound (empty: not configured)"),
    col(
        "class",
        "string",
        "Vehicle class (car, motorcycle, bus, truck, bicycle), or all: the sum over every class (empty \
         for a gap)",
    ),
    col(
        "count",
        "integer",
        "Vehicles of the class that crossed the line in the direction during the interval, in vehicles \
         (empty for a gap)",
    ),
    col("unit", "string", "Unit of count: vehicles (empty for a gap)"),
];

/// One row; its fields are `COLUMNS` in order.
#[derive(Debug, Serialize, PartialEq)]
pub struct Row {
    pub kind: &'static str,
    pub camera_id: String,
    pub camera_name: Option<String>,
    pub lat: Option<f64>,
    pub lon: Option<f64>,
    pub road: Option<String>,
    pub start: String,
    pub end: String,
    pub interval_s: f64,
    pub coverage: Option<f64>,
    pub line: Option<String>,
    pub direction: Option<&'static str>,
    pub direction_label: Option<String>,
    pub class: Option<&'static str>,
    pub count: Option<u32>,
    pub unit: Option<&'static str>,
}

/// The camera the rows are about: its id and, when it is on the map, its place.
#[derive(Debug, Clone, Copy)]
pub struct Camera<'a> {
    pub id: &'a str,
    pub place: Option<&'a Place>,
}

impl<'a> Camera<'a> {
    pub fn of(state: &'a ApiState, id: &'a str) -> Camera<'a> {
        Camera { id, place: state.map.cameras.iter().find(|p| p.id == id) }
    }

    fn name(&self) -> Option<String> {
        self.place.map(|p| p.name.clone()).filter(|n| !n.is_empty())
    }
}

/// Whether rows are per vehicle class or summed over them (`class = all`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Classes {
    PerClass,
    Summed,
}

impl Classes {
    /// What this request may see (the module header's policy).
    pub fn for_request(state: &ApiState, headers: &HeaderMap) -> Classes {
        // Without `[auth]`, `principal` is an anonymous viewer unless the override token
        // is presented; with it, `Ok` is a live session or the override token.
        let identified = principal(state, headers).is_ok_and(|p| state.auth.is_some() || p.role >= Role::Operator);
        if identified || state.export.public_classes { Classes::PerClass } else { Classes::Summed }
    }
}

/// The rows for `intervals` (sorted by start) and the camera's `gaps`, in time order.
pub fn rows(camera: Camera, intervals: &[StoredInterval], gaps: &[(i64, i64)], classes: Classes) -> Vec<Row> {
    let base = |kind: &'static str, start: i64, end: i64| Row {
        kind,
        camera_id: camera.id.into(),
        camera_name: camera.name(),
        lat: camera.place.map(|p| p.lat),
        lon: camera.place.map(|p| p.lon),
        road: camera.place.and_then(|p| p.road.clone()),
        start: rfc3339(start),
        end: rfc3339(end),
        interval_s: (end - start) as f64 / 1000.0,
        coverage: None,
        line: None,
        direction: None,
        direction_label: None,
        class: None,
        count: None,
        unit: None,
    };
    let mut out: Vec<(i64, Row)> = Vec::new();
    for s in intervals {
        let i = &s.interval;
        for (line, d) in &i.lines {
            for (direction, counts) in [("forward", &d.forward), ("backward", &d.backward)] {
                let per_class: Vec<(&'static str, u32)> = match classes {
                    Classes::PerClass => VehicleClass::ALL.iter().map(|c| (c.name(), counts.get(*c))).collect(),
                    Classes::Summed => vec![(ALL_CLASSES, counts.total())],
                };
                for (class, count) in per_class {
                    out.push((
                        i.start_ms,
                        Row {
                            coverage: Some(i.coverage),
                            line: Some(line.clone()),
                            direction: Some(direction),
                            direction_label: camera
                                .place
                                .and_then(|p| p.direction_label(line, direction))
                                .map(str::to_string),
                            class: Some(class),
                            count: Some(count),
                            unit: Some(UNIT),
                            ..base("count", i.start_ms, i.end_ms)
                        },
                    ));
                }
            }
        }
    }
    for &(start, end) in gaps {
        out.push((start, Row { coverage: Some(0.0), ..base("gap", start, end) }));
    }
    out.sort_by_key(|(t, _)| *t);
    out.into_iter().map(|(_, r)| r).collect()
}

/// `rows` as CSV: the header (`COLUMNS`), then one line per row.
pub fn to_csv(rows: &[Row]) -> Result<Vec<u8>, String> {
    let mut w = csv::WriterBuilder::new().has_headers(false).from_writer(Vec::new());
    w.write_record(COLUMNS.iter().map(|c| c.name)).map_err(|e| e.to_string())?;
    for r in rows {
        w.serialize(r).map_err(|e| e.to_string())?;
    }
    w.into_inner().map_err(|e| e.to_string())
}

/// The Table Schema of the export (Frictionless).
pub fn table_schema() -> Value {
    let classes: Vec<&str> = VehicleClass::ALL.iter().map(|c| c.name()).chain([ALL_CLASSES]).collect();
    let fields: Vec<Value> = COLUMNS
        .iter()
        .map(|c| {
            let mut f = json!({"name": c.name, "type": c.kind, "description": c.description});
            let constraints = match c.name {
                "kind" => json!({"required": true, "enum": ["count", "gap"]}),
                "camera_id" | "start" | "end" => json!({"required": true}),
                "interval_s" => json!({"required": true, "minimum": 0}),
                "coverage" => json!({"minimum": 0, "maximum": 1}),
                "lat" => json!({"minimum": -90, "maximum": 90}),
                "lon" => json!({"minimum": -180, "maximum": 180}),
                "direction" => json!({"enum": ["forward", "backward"]}),
                "class" => json!({"enum": classes}),
                "count" => json!({"minimum": 0}),
                "unit" => json!({"enum": [UNIT]}),
                _ => Value::Null,
            };
            if !constraints.is_null() {
                f["constraints"] = constraints;
            }
            f
        })
        .collect();
    json!({"fields": fields, "missingValues": [""]})
}

/// The data package descriptor for `camera`'s counts over `[from, to)`.
pub fn descriptor(camera: Camera, timezone: &str, export: &ExportSettings, from: i64, to: i64) -> Value {
    let place = match (camera.name(), camera.place.and_then(|p| p.road.as_deref())) {
        (Some(name), Some(road)) => format!("{name} ({road})"),
        (Some(name), None) => name,
        (None, Some(road)) => format!("camera {} ({road})", camera.id),
        (None, None) => format!("camera {}", camera.id),
    };
    let classes = if export.public_classes {
        "Counts are per vehicle class."
    } else {
        "Without a session counts are totals over every vehicle class (class = all); a logged-in download has a \
         row per class."
    };
    let mut package = json!({
        "profile": "tabular-data-package",
        "name": format!("traffic-counts-{}-{from}-{to}", camera.id.to_lowercase()),
        "title": format!("Vehicle counts at {place}, {} to {}", rfc3339(from), rfc3339(to)),
        "description": format!(
            "Vehicles counted crossing each counting line of camera {} per interval, by direction, from {} to {} \
             (times UTC; the cameras are in the {timezone} time zone). A gap row marks a span the camera should \
             have counted and did not: missing data, not zero traffic. {classes}",
            camera.id,
            rfc3339(from),
            rfc3339(to),
        ),
        "created": rfc3339(now_ms()),
        "licenses": [{"name": export.licence}],
        "resources": [{
            "name": "counts",
            "profile": "tabular-data-resource",
            "path": format!("counts?camera={}&from={from}&to={to}&format=csv", camera.id),
            "format": "csv",
            "mediatype": "text/csv",
            "encoding": "utf-8",
            "schema": table_schema(),
        }],
    });
    if !export.publisher.is_empty() {
        package["contributors"] = json!([{"title": export.publisher, "role": "publisher"}]);
    }
    package
}

pub async fn counts(State(state): State<ApiState>, headers: HeaderMap, Query(q): Query<ExportQuery>) -> Response {
    if let Err(e) = protocol::topics::check_id(&q.camera) {
        return error(StatusCode::BAD_REQUEST, format!("camera: {e}"));
    }
    let csv = match q.format.as_deref() {
        None | Some("csv") => true,
        Some("json") => false,
        Some(other) => return error(StatusCode::BAD_REQUEST, format!("format: {other:?} is neither csv nor json")),
    };
    let (from, to) = match time_range(q.from.as_deref(), q.to.as_deref(), DEFAULT_SPAN_MS) {
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
    let classes = Classes::for_request(&state, &headers);
    let rows = rows(Camera::of(&state, &q.camera), &intervals, &seen.gaps, classes);
    let name = format!("counts_{}_{}_{}", q.camera, from, to);
    let vary = (header::VARY, "Cookie, Authorization".to_string());
    if !csv {
        let disposition = (header::CONTENT_DISPOSITION, format!("inline; filename=\"{name}.json\""));
        return ([disposition, vary], axum::Json(rows)).into_response();
    }
    match to_csv(&rows) {
        Ok(body) => (
            [
                (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
                (header::CONTENT_DISPOSITION, format!("attachment; filename=\"{name}.csv\"")),
                vary,
            ],
            body,
        )
            .into_response(),
        Err(e) => error(StatusCode::INTERNAL_SERVER_ERROR, e),
    }
}

/// `GET /api/v1/export/datapackage.json`.
pub async fn datapackage(State(state): State<ApiState>, Query(q): Query<PackageQuery>) -> Response {
    let (from, to) = match time_range(q.from.as_deref(), q.to.as_deref(), DEFAULT_SPAN_MS) {
        Ok(r) => r,
        Err(r) => return r.into_response(),
    };
    if let Err(e) = known_camera(&state, &q.camera).await {
        return e.into_response();
    }
    let package = descriptor(Camera::of(&state, &q.camera), &state.map.timezone, &state.export, from, to);
    axum::Json(package).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::LineLabels;
    use protocol::{ClassCounts, DirectionCounts, IntervalCounts};

    fn interval(start_ms: i64, motorcycles: u32) -> StoredInterval {
        let mut forward = ClassCounts::default();
        forward.add(VehicleClass::Motorcycle, motorcycles);
        forward.add(VehicleClass::Car, 2);
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

    fn place() -> Place {
        Place {
            id: "c".into(),
            name: "Cầu Sài Gòn".into(),
            lat: 10.77,
            lon: 106.7,
            road: Some("Điện Biên Phủ".into()),
            lines: [("main".into(), LineLabels { forward_label: Some("northbound".into()), backward_label: None })]
                .into(),
        }
    }

    fn csv_text(rows: &[Row]) -> String {
        String::from_utf8(to_csv(rows).unwrap()).unwrap()
    }

    #[test]
    fn every_class_and_direction_is_a_row_and_a_gap_is_no_count() {
        let camera = Camera { id: "c", place: None };
        let r = rows(camera, &[interval(0, 7), interval(120_000, 3)], &[(60_000, 120_000)], Classes::PerClass);
        assert_eq!(r.len(), 2 * 10 + 1);
        let gap = r.iter().find(|x| x.kind == "gap").unwrap();
        assert_eq!(
            (gap.start.as_str(), gap.end.as_str(), gap.count, gap.unit),
            ("1970-01-01T00:01:00.000Z", "1970-01-01T00:02:00.000Z", None, None)
        );
        let m: Vec<u32> = r
            .iter()
            .filter(|x| x.class == Some("motorcycle") && x.direction == Some("forward"))
            .filter_map(|x| x.count)
            .collect();
        assert_eq!(m, [7, 3]);
        let text = csv_text(&r);
        assert!(
            text.starts_with(
                "kind,camera_id,camera_name,lat,lon,road,start,end,interval_s,coverage,line,direction,\
                 direction_label,class,count,unit\n"
            ),
            "{text}"
        );
        assert!(
            text.contains("gap,c,,,,,1970-01-01T00:01:00.000Z,1970-01-01T00:02:00.000Z,60.0,0.0,,,,,,\n"),
            "{text}"
        );
        assert!(
            text.contains(
                "count,c,,,,,1970-01-01T00:00:00.000Z,1970-01-01T00:01:00.000Z,60.0,0.5,main,forward,,motorcycle,7,\
                 vehicles\n"
            ),
            "{text}"
        );
    }

    #[test]
    fn summed_rows_carry_the_total_and_the_camera_s_place_and_labels() {
        let p = place();
        let camera = Camera { id: "c", place: Some(&p) };
        let r = rows(camera, &[interval(0, 7)], &[], Classes::Summed);
        assert_eq!(r.len(), 2, "one row per direction: {r:?}");
        assert!(r.iter().all(|x| x.class == Some(ALL_CLASSES)));
        let forward = &r[0];
        assert_eq!((forward.direction, forward.count), (Some("forward"), Some(9)));
        assert_eq!(forward.direction_label.as_deref(), Some("northbound"));
        assert_eq!((r[1].direction, r[1].count, r[1].direction_label.as_deref()), (Some("backward"), Some(0), None));
        let text = csv_text(&r);
        assert!(
            text.contains(
                "count,c,Cầu Sài Gòn,10.77,106.7,Điện Biên Phủ,1970-01-01T00:00:00.000Z,1970-01-01T00:01:00.000Z,\
                 60.0,0.5,main,forward,northbound,all,9,vehicles\n"
            ),
            "{text}"
        );
    }

    #[test]
    fn the_csv_header_is_the_table_schema_s_field_order() {
        // The header `to_csv` writes, and the order serde writes a row's values in.
        let mut w = csv::Writer::from_writer(Vec::new());
        w.serialize(&rows(Camera { id: "c", place: None }, &[], &[(0, 1000)], Classes::Summed)[0]).unwrap();
        let serde_header = String::from_utf8(w.into_inner().unwrap()).unwrap().lines().next().unwrap().to_string();
        let header = csv_text(&[]).trim_end().to_string();
        assert_eq!(header, serde_header);
        let schema = table_schema();
        let fields: Vec<&str> =
            schema["fields"].as_array().unwrap().iter().map(|f| f["name"].as_str().unwrap()).collect();
        assert_eq!(fields.join(","), header);
        for f in schema["fields"].as_array().unwrap() {
            assert!(["string", "datetime", "number", "integer"].contains(&f["type"].as_str().unwrap()), "{f}");
            assert!(!f["description"].as_str().unwrap().is_empty(), "{f}");
        }
        assert_eq!(schema["missingValues"], json!([""]));
    }

    #[test]
    fn the_descriptor_names_the_licence_the_publisher_and_the_csv() {
        let p = place();
        let export =
            ExportSettings { licence: "CC-BY-4.0".into(), publisher: "HCMC DOT".into(), public_classes: false };
        let d = descriptor(Camera { id: "Cam_1", place: Some(&p) }, "Asia/Ho_Chi_Minh", &export, 0, 60_000);
        assert_eq!(d["profile"], "tabular-data-package");
        assert_eq!(d["name"], "traffic-counts-cam_1-0-60000");
        assert_eq!(d["licenses"], json!([{"name": "CC-BY-4.0"}]));
        assert_eq!(d["contributors"][0], json!({"title": "HCMC DOT", "role": "publisher"}));
        assert!(d["title"].as_str().unwrap().contains("Cầu Sài Gòn (Điện Biên Phủ)"), "{d}");
        let r = &d["resources"][0];
        assert_eq!(r["name"], "counts");
        assert_eq!(r["path"], "counts?camera=Cam_1&from=0&to=60000&format=csv");
        assert_eq!(
            (&r["format"], &r["mediatype"], &r["encoding"]),
            (&json!("csv"), &json!("text/csv"), &json!("utf-8"))
        );
        assert_eq!(r["schema"], table_schema());
    }
}
