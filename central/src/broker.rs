//! The embedded broker for single-box deployments and the demo: rumqttd in-process,
//! MQTT 3.1.1 on one (loopback) listener, no authentication. Production runs Mosquitto
//! or a cluster with `deploy/mosquitto/` (ACL per device, TLS).

use std::net::SocketAddr;

/// Starts rumqttd on its own threads; it lives as long as the process.
pub fn start(listen: SocketAddr) -> anyhow::Result<()> {
    let text = format!(
        r#"
id = 0
[router]
max_connections = 10010
max_outgoing_packet_count = 200
max_segment_size = 104857600
max_segment_count = 10
[v4.1]
name = "central-embedded"
listen = "{listen}"
next_connection_delay_ms = 1
[v4.1.connections]
connection_timeout_ms = 60000
max_payload_size = {max_payload}
max_inflight_count = 100
dynamic_filters = true
"#,
        max_payload = protocol::messages::MAX_PAYLOAD
    );
    let config: rumqttd::Config = toml::from_str(&text)?;
    // Fail now, with the address in the message, rather than inside rumqttd's thread.
    drop(std::net::TcpListener::bind(listen).map_err(|e| anyhow::anyhow!("broker.listen {listen}: {e}"))?);
    let mut broker = rumqttd::Broker::new(config);
    std::thread::Builder::new().name("rumqttd".into()).spawn(move || {
        if let Err(e) = broker.start() {
            tracing::error!(error = %e, "embedded broker stopped");
        }
    })?;
    // Central's MQTT client retries until the listener is up.
    tracing::info!(%listen, "embedded MQTT broker (rumqttd) listening");
    Ok(())
}
