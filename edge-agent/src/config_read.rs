//! Reading a camera config so that one pass reports every problem, not the first.
//!
//! `serde` stops at the first unknown field or wrong type. To go on, the TOML is read as a
//! table, and after each such error the offending key is set aside and the rest is read
//! again, so a config with three typos gets three lines, each with its field path. What
//! is left (defaults where keys were set aside) is returned too, so the semantic checks
//! can run over it; their problems on a key already reported are left out.

use serde_path_to_error::Segment;

use crate::config::{AgentConfig, ConfigIssue};

/// At most this many problems from one file (a file of garbage is not listed in full).
const MAX_PARSE_ISSUES: usize = 50;

/// The config (with keys that could not be read set aside, `None` when even that fails)
/// and every problem found reading it.
pub fn parse_all(text: &str) -> (Option<AgentConfig>, Vec<ConfigIssue>) {
    let mut value = match text.parse::<toml::Table>() {
        Ok(t) => toml::Value::Table(t),
        Err(e) => {
            let message = e.to_string().trim().replace('\n', " ");
            return (None, vec![ConfigIssue { path: "(syntax)".into(), message }]);
        }
    };
    let mut issues = Vec::new();
    loop {
        match serde_path_to_error::deserialize::<_, AgentConfig>(value.clone()) {
            Ok(config) => return (Some(config), issues),
            Err(e) => {
                let path = e.path().to_string();
                let message = e.inner().message().to_string();
                // A missing field's path names the table that lacks it, which must stay.
                let missing = message.starts_with("missing field");
                issues.push(ConfigIssue { path: if path == "." { "(root)".into() } else { path }, message });
                let segments: Vec<Segment> = e.path().iter().cloned().collect();
                if missing || issues.len() >= MAX_PARSE_ISSUES || !remove(&mut value, &segments) {
                    return (None, issues);
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

    #[test]
    fn every_unknown_field_and_wrong_type_is_reported_with_its_path() {
        let text = "[camera]\nid = \"c1\"\nsource = \"x.mp4\"\ninterval_s = \"ten\"\nfps = 5\n\
                    [[lines]]\nname = \"l\"\na = [0, 1]\nb = [10, 1]\nwidth = 3\n\
                    [[lines]]\nname = \"m\"\na = [0, 2]\nb = [10, 2]\n\
                    [tracker]\nhigh_scor = 0.5\n";
        let (config, issues) = parse_all(text);
        let mut paths: Vec<&str> = issues.iter().map(|i| i.path.as_str()).collect();
        paths.sort();
        assert_eq!(paths, ["camera.fps", "camera.interval_s", "lines[0].width", "tracker.high_scor"], "{issues:?}");
        let width = issues.iter().find(|i| i.path == "lines[0].width").unwrap();
        assert!(width.message.contains("unknown field `width`"), "{width}");
        // What could be read is returned: both lines, the default interval.
        let config = config.expect("the rest of the file reads");
        assert_eq!(config.lines.len(), 2);
        assert_eq!(
            config.camera.interval_s,
            AgentConfig::parse("[camera]\nid = \"c\"\nsource = \"x\"\n").unwrap().camera.interval_s
        );
    }

    #[test]
    fn a_clean_file_reads_as_before_and_a_missing_field_stops_the_reading() {
        let (config, issues) = parse_all("[camera]\nid = \"c1\"\nsource = \"x.mp4\"\n");
        assert!(issues.is_empty() && config.is_some());
        let (config, issues) = parse_all("[camera]\nsource = \"x.mp4\"\nbogus = 1\n");
        assert!(config.is_none());
        let paths: Vec<&str> = issues.iter().map(|i| i.path.as_str()).collect();
        assert_eq!(paths.last(), Some(&"camera"), "{issues:?}");
        let (config, issues) = parse_all("[camera\nid = 1\n");
        assert!(config.is_none());
        assert_eq!(issues[0].path, "(syntax)");
    }
}
