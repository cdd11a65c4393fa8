//! Reading a TOML config so that one pass reports every problem, not the first.
//!
//! `serde` stops at the first unknown field or wrong type. To go on, the TOML is read as a
//! table, and after each such error the offending key is set aside and the rest is read
//! again, so a config with three typos gets three problems, each with its field path. What
//! is left (defaults where keys were set aside) is returned too, so a program's semantic
//! checks can run over it.
//!
//! Invariants: a clean file reads exactly as `serde` alone reads it; a missing required
//! field stops the reading (its path names the table that lacks it, which must stay);
//! at most [`MAX_PROBLEMS`] are listed (a file of garbage is not listed in full).

use serde::de::DeserializeOwned;
use serde_path_to_error::Segment;

/// At most this many problems from one file.
pub const MAX_PROBLEMS: usize = 50;

/// One problem: the field's path (`lines[0].width`, `(syntax)`, `(root)`) and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub path: String,
    pub message: String,
}

/// The config (with keys that could not be read set aside; `None` when even that fails)
/// and every problem found reading it.
pub fn parse_all<T: DeserializeOwned>(text: &str) -> (Option<T>, Vec<Problem>) {
    let mut value = match text.parse::<toml::Table>() {
        Ok(t) => toml::Value::Table(t),
        Err(e) => {
            let message = e.to_string().trim().replace('\n', " ");
            return (None, vec![Problem { path: "(syntax)".into(), message }]);
        }
    };
    let mut problems = Vec::new();
    loop {
        match serde_path_to_error::deserialize::<_, T>(value.clone()) {
            Ok(config) => return (Some(config), problems),
            Err(e) => {
                let path = e.path().to_string();
                let message = e.inner().message().to_string();
                let missing = message.starts_with("missing field");
                problems.push(Problem { path: if path == "." { "(root)".into() } else { path }, message });
                let segments: Vec<Segment> = e.path().iter().cloned().collect();
                if missing || problems.len() >= MAX_PROBLEMS || !remove(&mut value, &segments) {
                    return (None, problems);
                }
            }
        }
    }
}

/// Removes the key `path` names; false when it names no key (the root, an array element,
/// a missing field).
fn remove(value: &mut toml::Value, path: &[Segment]) -> bool {
    match path {
        [Segment::Map { key }] => value.as_table_mut().is_some_and(|t| t.remove(key).is_some()),
        [Segment::Map { key }, rest @ ..] => {
            value.as_table_mut().and_then(|t| t.get_mut(key)).is_some_and(|v| remove(v, rest))
        }
        [Segment::Seq { index }, rest @ ..] if !rest.is_empty() => {
            value.as_array_mut().and_then(|a| a.get_mut(*index)).is_some_and(|v| remove(v, rest))
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Config {
        server: Server,
        #[serde(default)]
        lines: Vec<Line>,
    }

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Server {
        name: String,
        #[serde(default = "ten")]
        every_s: u32,
    }

    fn ten() -> u32 {
        10
    }

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Line {
        #[allow(dead_code)]
        name: String,
    }

    #[test]
    fn every_unknown_field_and_wrong_type_is_reported_with_its_path() {
        let text = "[server]\nname = \"a\"\nevery_s = \"ten\"\nport = 5\n\
                    [[lines]]\nname = \"l\"\nwidth = 3\n[[lines]]\nname = \"m\"\n[extra]\nx = 1\n";
        let (config, problems) = parse_all::<Config>(text);
        let mut paths: Vec<&str> = problems.iter().map(|p| p.path.as_str()).collect();
        paths.sort();
        assert_eq!(paths, ["extra", "lines[0].width", "server.every_s", "server.port"], "{problems:?}");
        assert!(problems.iter().any(|p| p.message.contains("unknown field `width`")), "{problems:?}");
        // What could be read is returned: both lines, the default period.
        let config = config.expect("the rest of the file reads");
        assert_eq!((config.lines.len(), config.server.every_s, config.server.name.as_str()), (2, 10, "a"));
    }

    #[test]
    fn a_clean_file_reads_as_before_and_a_missing_field_or_bad_syntax_stops_the_reading() {
        let (config, problems) = parse_all::<Config>("[server]\nname = \"a\"\nevery_s = 3\n");
        assert!(problems.is_empty());
        assert_eq!(config.unwrap().server.every_s, 3);
        let (config, problems) = parse_all::<Config>("[server]\nbogus = 1\n");
        assert!(config.is_none());
        assert_eq!(problems.last().map(|p| p.path.as_str()), Some("server"), "{problems:?}");
        let (config, problems) = parse_all::<Config>("[server\nname = 1\n");
        assert!(config.is_none());
        assert_eq!(problems[0].path, "(syntax)");
    }
}
