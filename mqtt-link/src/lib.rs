//! How an edge device reaches the broker: host and port, client id, user name and a
//! password taken from the environment (never from a file in the clear), TLS with an
//! optional client certificate. The camera agent (`[mqtt]`) and the junction agent
//! (`--host`, `--username`, `--tls-ca-file`, …) both build their `rumqttc` options here,
//! so a device of either role joins the production broker of `deploy/mosquitto/` the
//! same way (TLS listener, password file, per-device ACL where the user is the device id).
//!
//! Central reconnects on the same schedule ([`reconnect_delays`]), so a broker restart
//! is met by every client alike.
//!
//! Errors name the setting (`mqtt.tls.ca_file`, `mqtt.password_env`) so a field engineer
//! can fix the config without reading code.

use std::path::{Path, PathBuf};
use std::time::Duration;

use rumqttc::{MqttOptions, Transport};
use serde::Deserialize;

/// `[mqtt.tls]`: PEM files. A client certificate and key authenticate the device when the
/// broker requires certificates (`use_identity_as_username`).
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct TlsSettings {
    pub ca_file: PathBuf,
    #[serde(default)]
    pub client_cert_file: Option<PathBuf>,
    #[serde(default)]
    pub client_key_file: Option<PathBuf>,
}

#[derive(Debug, thiserror::Error)]
pub enum LinkError {
    #[error("{field}: {path}: {source}")]
    Unreadable { field: String, path: PathBuf, source: std::io::Error },
    #[error("{prefix}.tls: client_cert_file and client_key_file go together")]
    HalfClientIdentity { prefix: String },
    #[error("{prefix}.password_env: {var} is not set")]
    PasswordUnset { prefix: String, var: String },
}

/// What every device needs to reach the broker.
#[derive(Debug, Clone, PartialEq)]
pub struct Link<'a> {
    /// Where errors point: `mqtt` for the camera config, `--` flags for the junction CLI.
    pub prefix: &'a str,
    pub host: &'a str,
    pub port: u16,
    pub client_id: &'a str,
    pub username: Option<&'a str>,
    /// Name of the environment variable holding the password.
    pub password_env: Option<&'a str>,
    pub keep_alive: Duration,
    pub tls: Option<&'a TlsSettings>,
}

impl TlsSettings {
    /// Reads the PEM files into a rustls transport.
    pub fn transport(&self, prefix: &str) -> Result<Transport, LinkError> {
        let read = |p: &Path, field: &str| {
            std::fs::read(p).map_err(|source| LinkError::Unreadable {
                field: format!("{prefix}.tls.{field}"),
                path: p.to_path_buf(),
                source,
            })
        };
        let ca = read(&self.ca_file, "ca_file")?;
        let client_auth = match (&self.client_cert_file, &self.client_key_file) {
            (Some(c), Some(k)) => Some((read(c, "client_cert_file")?, read(k, "client_key_file")?)),
            (None, None) => None,
            _ => return Err(LinkError::HalfClientIdentity { prefix: prefix.to_string() }),
        };
        Ok(Transport::tls(ca, client_auth, None))
    }
}

impl Link<'_> {
    /// `rumqttc` options: client id, keep-alive, packet limits (256 KiB, the broker's
    /// `message_size_limit`), credentials and TLS. The caller adds its last will.
    pub fn options(&self) -> Result<MqttOptions, LinkError> {
        let mut opts = MqttOptions::new(self.client_id, self.host, self.port);
        opts.set_keep_alive(self.keep_alive);
        opts.set_max_packet_size(256 * 1024, 256 * 1024);
        if let Some(user) = self.username {
            let password = match self.password_env {
                Some(var) => std::env::var(var)
                    .map_err(|_| LinkError::PasswordUnset { prefix: self.prefix.to_string(), var: var.to_string() })?,
                None => String::new(),
            };
            opts.set_credentials(user, password);
        }
        if let Some(tls) = self.tls {
            opts.set_transport(tls.transport(self.prefix)?);
        }
        Ok(opts)
    }
}

/// The longest wait between two reconnect attempts.
pub const MAX_RECONNECT_DELAY: Duration = Duration::from_secs(2);

/// Reconnect delays: 250 ms, doubling, at most [`MAX_RECONNECT_DELAY`], never giving up
/// (`backon`). Start a new sequence on every successful connect.
pub fn reconnect_delays() -> backon::ExponentialBackoff {
    use backon::BackoffBuilder;
    backon::ExponentialBuilder::new()
        .with_min_delay(Duration::from_millis(250))
        .with_max_delay(MAX_RECONNECT_DELAY)
        .with_factor(2.0)
        .without_max_times()
        .build()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn link<'a>(tls: Option<&'a TlsSettings>, password_env: Option<&'a str>) -> Link<'a> {
        Link {
            prefix: "mqtt",
            host: "broker",
            port: 8883,
            client_id: "cam-1",
            username: Some("cam-1"),
            password_env,
            keep_alive: Duration::from_secs(5),
            tls,
        }
    }

    #[test]
    fn errors_name_the_setting_to_fix() {
        let missing =
            TlsSettings { ca_file: "/nonexistent/ca.crt".into(), client_cert_file: None, client_key_file: None };
        let e = link(Some(&missing), None).options().unwrap_err().to_string();
        assert!(e.starts_with("mqtt.tls.ca_file: /nonexistent/ca.crt"), "{e}");
        let half = TlsSettings {
            ca_file: "/dev/null".into(),
            client_cert_file: Some("/dev/null".into()),
            client_key_file: None,
        };
        let e = link(Some(&half), None).options().unwrap_err().to_string();
        assert_eq!(e, "mqtt.tls: client_cert_file and client_key_file go together");
        let e = link(None, Some("TAC_MQTT_LINK_TEST_UNSET_VAR")).options().unwrap_err().to_string();
        assert_eq!(e, "mqtt.password_env: TAC_MQTT_LINK_TEST_UNSET_VAR is not set");
    }

    #[test]
    fn reconnects_back_off_from_a_quarter_second_to_two_seconds_and_keep_trying() {
        let delays: Vec<Duration> = reconnect_delays().take(8).collect();
        let ms: Vec<u128> = delays.iter().map(|d| d.as_millis()).collect();
        assert_eq!(ms, [250, 500, 1000, 2000, 2000, 2000, 2000, 2000]);
        assert_eq!(reconnect_delays().take(10_000).count(), 10_000);
    }

    #[test]
    fn plain_links_need_no_files() {
        let opts = link(None, None).options().unwrap();
        assert_eq!(opts.client_id(), "cam-1");
        assert_eq!(opts.broker_address(), ("broker".to_string(), 8883));
        assert_eq!(opts.keep_alive(), Duration::from_secs(5));
    }
}
