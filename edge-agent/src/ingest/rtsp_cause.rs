//! Why an RTSP camera could not be opened, in words an installer can act on.
//!
//! GStreamer says "Could not open resource for reading and writing" both for a port where
//! nothing listens and for a host that does not exist, and "Could not read from resource"
//! when nothing answers. When an RTSP source fails before its first frame, the camera's
//! address is probed once with a plain TCP connect (bounded by [`PROBE_TIMEOUT`]) and
//! the cause is named: the host name does not resolve, the connection is refused, nothing
//! answers in time, the port accepts but no RTSP answer comes; or what the camera's RTSP
//! server said (not found: a wrong stream path; unauthorised: wrong user name or password).
//!
//! Invariant: only the failure path probes; the message always keeps GStreamer's own text.

use std::net::{TcpStream, ToSocketAddrs};
use std::time::Duration;

/// Longest a probe waits for the camera's port to accept.
pub const PROBE_TIMEOUT: Duration = Duration::from_secs(3);

/// The host and port an `rtsp://` / `rtsps://` URL connects to (user info left out;
/// IPv6 literals in brackets); `None` for anything else.
pub fn host_port(url: &str) -> Option<(String, u16)> {
    let (default_port, rest) = if let Some(r) = url.strip_prefix("rtsp://") {
        (554, r)
    } else if let Some(r) = url.strip_prefix("rtsps://") {
        (322, r)
    } else {
        return None;
    };
    let authority = rest.split(['/', '?', '#']).next()?;
    let hostport = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let (host, port) = if let Some(v6) = hostport.strip_prefix('[') {
        let (host, after) = v6.split_once(']')?;
        (host, after.strip_prefix(':'))
    } else {
        match hostport.rsplit_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (hostport, None),
        }
    };
    let port = match port {
        Some(p) => p.parse().ok()?,
        None => default_port,
    };
    (!host.is_empty()).then(|| (host.to_string(), port))
}

/// GStreamer's `message` for a failed RTSP open of `url`, with the cause in front.
pub fn explain(url: &str, message: &str) -> String {
    let Some((host, port)) = host_port(url) else { return message.to_string() };
    let lower = message.to_lowercase();
    if lower.contains("not found") {
        return format!("the camera has no stream at this path (check the make's URL template): {message}");
    }
    if lower.contains("authori") {
        return format!("the camera refused the user name or password (unauthorised): {message}");
    }
    let addrs: Vec<_> = match (host.as_str(), port).to_socket_addrs() {
        Ok(a) => a.collect(),
        Err(e) => return format!("the host name {host:?} does not resolve ({e}): {message}"),
    };
    let mut refused = false;
    for addr in &addrs {
        match TcpStream::connect_timeout(addr, PROBE_TIMEOUT) {
            // It accepts: the cause is in what its RTSP server answered.
            Ok(_) if lower.contains("could not read") => {
                return format!(
                    "{host}:{port} accepts connections but gave no RTSP answer (another service on this \
                     port, or an overloaded camera): {message}"
                );
            }
            Ok(_) => return message.to_string(),
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionRefused => refused = true,
            Err(_) => {}
        }
    }
    if refused {
        format!(
            "connection refused at {host}:{port}: nothing listens there (wrong port, or the camera's RTSP \
             service is off): {message}"
        )
    } else {
        format!(
            "no answer from {host}:{port} within {} s (camera off, wrong address, or a firewall): {message}",
            PROBE_TIMEOUT.as_secs()
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_are_read_from_rtsp_urls() {
        assert_eq!(host_port("rtsp://10.0.0.7/Streaming/101"), Some(("10.0.0.7".into(), 554)));
        assert_eq!(host_port("rtsp://admin:p%40ss@cam.local:8554/live?x=1"), Some(("cam.local".into(), 8554)));
        assert_eq!(host_port("rtsps://[fe80::1]:9000/s"), Some(("fe80::1".into(), 9000)));
        assert_eq!(host_port("rtsps://[fe80::1]/s"), Some(("fe80::1".into(), 322)));
        assert_eq!(host_port("rtsp://:554/s"), None);
        assert_eq!(host_port("/clip.mp4"), None);
    }

    #[test]
    fn a_closed_port_is_refused_and_an_open_one_keeps_the_servers_answer() {
        let open = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let open_port = open.local_addr().unwrap().port();
        let closed_port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let generic = "Could not open resource for reading and writing. (rtspsrc0)";
        let closed = explain(&format!("rtsp://127.0.0.1:{closed_port}/s"), generic);
        assert!(closed.starts_with(&format!("connection refused at 127.0.0.1:{closed_port}")), "{closed}");
        assert!(closed.ends_with(generic));
        assert_eq!(explain(&format!("rtsp://127.0.0.1:{open_port}/s"), generic), generic);
        let silent = explain(&format!("rtsp://127.0.0.1:{open_port}/s"), "Could not read from resource.");
        assert!(silent.contains("accepts connections but gave no RTSP answer"), "{silent}");
        let path = explain(&format!("rtsp://127.0.0.1:{open_port}/s"), "Not found (rtspsrc0)");
        assert!(path.contains("no stream at this path"), "{path}");
        let auth = explain("rtsp://127.0.0.1/s", "Unauthorized (rtspsrc0)");
        assert!(auth.contains("user name or password"), "{auth}");
        let dns = explain("rtsp://no-such-camera.invalid/s", generic);
        assert!(dns.contains("does not resolve"), "{dns}");
    }
}
