//! Camera-make profiles: RTSP URL templates for the main and sub streams of each make,
//! so an installer only enters host, credentials and channel.
//!
//! Templates may use `{user}`, `{password}`, `{host}`, `{port}`, `{channel}` and
//! `{path}`; rendering fails, naming the placeholder, if a needed value is missing.

use serde::Deserialize;

use crate::{ProfileError, builtin_text, check_id, invalid, parse};

pub const BUILTIN: &[(&str, &str)] = &[
    ("hikvision", include_str!("../cameras/hikvision.toml")),
    ("dahua", include_str!("../cameras/dahua.toml")),
    ("axis", include_str!("../cameras/axis.toml")),
    ("onvif_generic", include_str!("../cameras/onvif_generic.toml")),
];

const PLACEHOLDERS: [&str; 6] = ["user", "password", "host", "port", "channel", "path"];

#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum StreamChoice {
    Main,
    Sub,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct CameraProfile {
    pub id: String,
    pub description: String,
    pub default_port: u16,
    /// The stream used when a camera config does not choose: the sub stream is usually
    /// enough for a 416-pixel detector and costs a fraction of the decoding.
    pub default_stream: StreamChoice,
    pub main: String,
    pub sub: String,
}

/// What an installer fills in for one camera.
#[derive(Debug, Clone, Default)]
pub struct CameraAddress<'a> {
    pub host: &'a str,
    pub port: Option<u16>,
    pub user: &'a str,
    pub password: &'a str,
    pub channel: u32,
    pub path: Option<&'a str>,
}

impl CameraProfile {
    pub fn from_toml(origin: &str, text: &str) -> Result<CameraProfile, ProfileError> {
        let p: CameraProfile = parse(origin, text)?;
        p.validate(origin)?;
        Ok(p)
    }

    pub fn builtin(id: &str) -> Result<CameraProfile, ProfileError> {
        let text = builtin_text("camera", BUILTIN, id)?;
        CameraProfile::from_toml(&format!("firmware-profiles/cameras/{id}.toml"), text)
    }

    pub fn validate(&self, origin: &str) -> Result<(), ProfileError> {
        check_id(origin, &self.id)?;
        for (field, template) in [("main", &self.main), ("sub", &self.sub)] {
            if !template.starts_with("rtsp://") && !template.starts_with("rtsps://") {
                return Err(invalid(origin, field, "must start with rtsp:// or rtsps://"));
            }
            for name in placeholders(template) {
                if !PLACEHOLDERS.contains(&name) {
                    return Err(invalid(origin, field, format!("unknown placeholder {{{name}}}")));
                }
            }
        }
        Ok(())
    }

    /// The RTSP URL of the chosen stream (or the profile's default) for one camera.
    pub fn url(&self, addr: &CameraAddress<'_>, stream: Option<StreamChoice>) -> Result<String, ProfileError> {
        let template = match stream.unwrap_or(self.default_stream) {
            StreamChoice::Main => &self.main,
            StreamChoice::Sub => &self.sub,
        };
        let err = |message: String| ProfileError::Url { profile: self.id.clone(), message };
        if addr.host.is_empty() {
            return Err(err("host is empty".into()));
        }
        let port = addr.port.unwrap_or(self.default_port).to_string();
        let channel = addr.channel.to_string();
        let mut url = template.clone();
        for name in placeholders(template) {
            let value = match name {
                "user" => encode(addr.user),
                "password" => encode(addr.password),
                "host" => addr.host.to_string(),
                "port" => port.clone(),
                "channel" => channel.clone(),
                "path" => addr
                    .path
                    .map(|p| p.trim_start_matches('/').to_string())
                    .ok_or_else(|| err("this make needs the stream path (from ONVIF GetStreamUri)".into()))?,
                _ => unreachable!("validated"),
            };
            url = url.replace(&format!("{{{name}}}"), &value);
        }
        Ok(url)
    }
}

fn placeholders(template: &str) -> Vec<&str> {
    template.split('{').skip(1).filter_map(|s| s.split_once('}').map(|(name, _)| name)).collect()
}

/// Percent-encodes the characters that would break the userinfo part of a URL.
fn encode(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            ':' | '@' | '/' | '?' | '#' | '%' | ' ' | '&' => format!("%{:02X}", c as u32),
            c => c.to_string(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr() -> CameraAddress<'static> {
        CameraAddress { host: "10.0.0.7", user: "admin", password: "p@ss:1", channel: 1, ..Default::default() }
    }

    #[test]
    fn hikvision_and_dahua_urls() {
        let hik = CameraProfile::builtin("hikvision").unwrap();
        assert_eq!(
            hik.url(&addr(), Some(StreamChoice::Main)).unwrap(),
            "rtsp://admin:p%40ss%3A1@10.0.0.7:554/Streaming/Channels/101"
        );
        assert!(hik.url(&addr(), None).unwrap().ends_with("/Streaming/Channels/102"));
        let dahua = CameraProfile::builtin("dahua").unwrap();
        assert!(dahua.url(&addr(), None).unwrap().ends_with("channel=1&subtype=1"));
    }

    #[test]
    fn onvif_needs_a_path() {
        let onvif = CameraProfile::builtin("onvif_generic").unwrap();
        let err = onvif.url(&addr(), None).unwrap_err().to_string();
        assert!(err.contains("path"), "{err}");
        let a = CameraAddress { path: Some("/stream1"), ..addr() };
        assert!(onvif.url(&a, None).unwrap().ends_with(":554/stream1"));
    }

    #[test]
    fn every_builtin_camera_validates_and_bad_templates_are_named() {
        for (id, _) in BUILTIN {
            CameraProfile::builtin(id).unwrap();
        }
        let bad = BUILTIN[0].1.replace("{channel}02", "{chan}02");
        let err = CameraProfile::from_toml("c.toml", &bad).unwrap_err().to_string();
        assert!(err.contains("sub") && err.contains("{chan}"), "{err}");
    }
}
