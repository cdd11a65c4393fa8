//! Real components for central's tests: Mosquitto and PostgreSQL started on free
//! loopback ports in temporary folders, the `central` binary, a tiny HTTP client.
#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

pub fn wait_for_port(port: u16, what: &str, limit: Duration) {
    let t = Instant::now();
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(t.elapsed() < limit, "{what} did not open port {port}");
        std::thread::sleep(Duration::from_millis(25));
    }
}

/// Waits until an MQTT broker on `port` answers a CONNECT with a CONNACK (any return code:
/// an ACL'd broker refusing an anonymous client is still up). An accepting port alone is not
/// readiness: the listener can open before the broker serves sessions.
pub fn wait_for_mqtt(port: u16, child: &mut Child, limit: Duration) {
    // MQTT 3.1.1 CONNECT: clean session, keep-alive 60 s, empty client id.
    const CONNECT: [u8; 14] = [0x10, 12, 0, 4, b'M', b'Q', b'T', b'T', 4, 0x02, 0, 60, 0, 0];
    let t = Instant::now();
    loop {
        assert!(child.try_wait().unwrap().is_none(), "mosquitto exited (port {port} taken?)");
        let answered = TcpStream::connect(("127.0.0.1", port)).ok().and_then(|mut s| {
            s.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
            s.write_all(&CONNECT).ok()?;
            let mut ack = [0u8; 4];
            s.read_exact(&mut ack).ok()?;
            (ack[0] == 0x20).then_some(())
        });
        if answered.is_some() {
            return;
        }
        assert!(t.elapsed() < limit, "mosquitto on port {port} never answered CONNECT");
        std::thread::sleep(Duration::from_millis(25));
    }
}

fn is_root() -> bool {
    std::fs::metadata("/proc/self").map(|m| std::os::unix::fs::MetadataExt::uid(&m) == 0).unwrap_or(false)
}

/// Mosquitto from apt. Run as root it drops to the `mosquitto` user, so its folder is
/// world-writable.
pub struct Mosquitto {
    pub port: u16,
    conf: PathBuf,
    child: Option<Child>,
}

impl Mosquitto {
    /// `extra` is appended to the generated config (persistence, ACL, …).
    pub fn start(dir: &Path, extra: &str) -> Mosquitto {
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o777)).unwrap();
        let port = free_port();
        let conf = dir.join("mosquitto.conf");
        std::fs::write(
            &conf,
            format!(
                "listener {port} 127.0.0.1\nallow_anonymous true\nmax_inflight_messages 100\n\
                max_queued_messages 100000\n{extra}"
            ),
        )
        .unwrap();
        let mut m = Mosquitto { port, conf, child: None };
        m.restart();
        m
    }

    pub fn restart(&mut self) {
        assert!(self.child.is_none(), "already running");
        let child = Command::new("mosquitto")
            .args(["-c", self.conf.to_str().unwrap()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("mosquitto (apt install mosquitto)");
        let child = self.child.insert(child);
        wait_for_mqtt(self.port, child, Duration::from_secs(10));
    }

    pub fn kill9(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl Drop for Mosquitto {
    fn drop(&mut self) {
        self.kill9();
    }
}

/// A throwaway PostgreSQL cluster (Debian's postgresql package), trust auth on loopback.
pub struct Postgres {
    pub url: String,
    bin: PathBuf,
    data: PathBuf,
    _dir: tempfile::TempDir,
}

impl Postgres {
    pub fn start() -> Postgres {
        let bin = std::fs::read_dir("/usr/lib/postgresql")
            .expect("PostgreSQL is not installed (apt install postgresql)")
            .filter_map(|e| e.ok().map(|e| e.path().join("bin")))
            .filter(|p| p.join("initdb").exists())
            .max()
            .expect("no initdb under /usr/lib/postgresql/*/bin");
        let dir = tempfile::Builder::new().prefix("tac-pg").tempdir().unwrap();
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o777)).unwrap();
        let data = dir.path().join("data");
        let port = free_port();
        let run = |args: &[&str]| {
            // PostgreSQL refuses to run as root.
            let mut cmd = if is_root() {
                let mut c = Command::new("runuser");
                c.args(["-u", "postgres", "--"]);
                c
            } else {
                Command::new(args[0])
            };
            let args = if is_root() { args } else { &args[1..] };
            let out = cmd.args(args).current_dir(dir.path()).output().unwrap();
            assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
        };
        let initdb = bin.join("initdb");
        run(&[
            initdb.to_str().unwrap(),
            "-D",
            data.to_str().unwrap(),
            "-U",
            "tac",
            "--auth=trust",
            "-E",
            "UTF8",
            "--no-sync",
        ]);
        let opts = format!("-p {port} -c listen_addresses=127.0.0.1 -k {}", dir.path().display());
        let log = dir.path().join("pg.log");
        let pg_ctl = bin.join("pg_ctl");
        run(&[
            pg_ctl.to_str().unwrap(),
            "-D",
            data.to_str().unwrap(),
            "-o",
            &opts,
            "-l",
            log.to_str().unwrap(),
            "-w",
            "start",
        ]);
        Postgres { url: format!("host=127.0.0.1 port={port} user=tac dbname=postgres"), bin, data, _dir: dir }
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        let pg_ctl = self.bin.join("pg_ctl");
        let mut cmd = if is_root() {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(&pg_ctl);
            c
        } else {
            Command::new(&pg_ctl)
        };
        let _ = cmd.args(["-D", self.data.to_str().unwrap(), "-m", "immediate", "stop"]).output();
    }
}

/// A child process killed when the test ends, pass or fail (a leaked child would keep
/// cargo waiting on its output).
pub struct Killed(pub Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `central keygen` into `<dir>/plan.key`; returns the public key (base64) to trust.
pub fn plan_key(dir: &Path) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_central"))
        .args(["keygen", "--out", dir.join("plan.key").to_str().unwrap()])
        .output()
        .unwrap();
    assert!(out.status.success(), "keygen: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

/// Publishes one message at QoS `qos` with `mosquitto_pub` (which returns once it is sent).
pub fn mqtt_publish(port: u16, qos: u8, topic: &str, message: &str) {
    let out = Command::new("mosquitto_pub")
        .args(["-h", "127.0.0.1", "-p", &port.to_string(), "-q", &qos.to_string(), "-t", topic, "-m", message])
        .output()
        .unwrap();
    assert!(out.status.success(), "mosquitto_pub {topic}: {}", String::from_utf8_lossy(&out.stderr));
}

/// The sample junction's agent (`hcmc_sample_4arm`, dry run, status every second),
/// trusting central's `public` key as `central-test`.
pub fn sample_junction(broker_port: u16, public: &str) -> Killed {
    Killed(
        Command::new(sibling_binary("junction-agent"))
            .args(["--profile", "hcmc_sample_4arm", "--port", &broker_port.to_string()])
            .args(["--trust", &format!("central-test={public}"), "--dry-run", "--status-interval-s", "1"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    )
}

/// `central run` as a child process.
pub struct Central {
    pub http_port: u16,
    child: Child,
    pub stdout: Option<std::process::ChildStdout>,
}

impl Central {
    pub fn start(dir: &Path, broker_port: u16, store: &str, extra: &str) -> Central {
        let http_port = free_port();
        let conf = dir.join("central.toml");
        std::fs::write(
            &conf,
            format!(
                "[broker]\nhost = \"127.0.0.1\"\nport = {broker_port}\nkeep_alive_s = 5\n[store]\n{store}\n\
                [http]\nlisten = \"127.0.0.1:{http_port}\"\n{extra}"
            ),
        )
        .unwrap();
        let mut child = Command::new(env!("CARGO_BIN_EXE_central"))
            .args(["run", "--config", conf.to_str().unwrap(), "--print-intervals"])
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take();
        wait_for_port(http_port, "central", Duration::from_secs(20));
        Central { http_port, child, stdout }
    }

    pub fn get(&self, path: &str) -> (u16, String) {
        http_get(self.http_port, path)
    }

    /// Waits until `/healthz` says the MQTT session and the store are up.
    pub fn wait_healthy(&self, limit: Duration) {
        let t = Instant::now();
        while self.get("/healthz").0 != 200 {
            assert!(t.elapsed() < limit, "central not healthy: {:?}", self.get("/healthz"));
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    pub fn is_running(&mut self) -> bool {
        self.child.try_wait().unwrap().is_none()
    }

    pub fn stop(&mut self) {
        let _ = Command::new("kill").args(["-TERM", &self.child.id().to_string()]).status();
        let _ = self.child.wait();
    }
}

impl Drop for Central {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn http_get(port: u16, path: &str) -> (u16, String) {
    let (status, _, body) = http_request(port, path, "");
    (status, body)
}

/// A GET with extra header lines (each ending in "\r\n"): (status, header block, body).
#[allow(dead_code)]
pub fn http_request(port: u16, path: &str, headers: &str) -> (u16, String, String) {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    write!(s, "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n{headers}Connection: close\r\n\r\n").unwrap();
    let mut buf = Vec::new();
    s.read_to_end(&mut buf).unwrap();
    let text = String::from_utf8_lossy(&buf).to_string();
    let status = text.split_whitespace().nth(1).and_then(|c| c.parse().ok()).unwrap_or(0);
    let (head, body) = text.split_once("\r\n\r\n").map(|(h, b)| (h.to_string(), b.to_string())).unwrap_or_default();
    (status, head, body)
}

/// A metric's value from Prometheus text (`name{labels}` exactly as printed).
pub fn metric(text: &str, series: &str) -> f64 {
    text.lines()
        .find_map(|l| {
            l.strip_prefix(series).and_then(|rest| rest.strip_prefix(' ')).and_then(|v| v.trim().parse().ok())
        })
        .unwrap_or(0.0)
}

pub fn assets_dir() -> PathBuf {
    std::env::var_os("TRAFFIC_ASSETS")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/assets"))
}

/// `[[auth.users]]` entries for `(name, role, password)` (argon2 hashes made here).
pub fn auth_users(users: &[(&str, &str, &str)]) -> String {
    users
        .iter()
        .map(|(name, role, pw)| {
            let hash = central::auth::hash_password(pw).unwrap();
            format!("[[auth.users]]\nname = \"{name}\"\nrole = \"{role}\"\npassword_argon2 = \"{hash}\"\n")
        })
        .collect()
}

/// A binary of the workspace's other deployable (built by `cargo test --workspace`).
pub fn sibling_binary(name: &str) -> PathBuf {
    let p = Path::new(env!("CARGO_BIN_EXE_central")).with_file_name(name);
    assert!(p.exists(), "{} missing: build it first (cargo build --release -p edge-agent)", p.display());
    p
}

/// `mosquitto_sub -d` read on a thread. `start` returns only once the broker has
/// acknowledged the subscription (its SUBACK), so nothing published afterwards is missed;
/// `output` waits for the client to exit (`-C`/`-W`) and returns what it printed, debug
/// lines left out.
pub struct Subscriber {
    child: Child,
    lines: std::sync::mpsc::Receiver<String>,
}

fn is_debug_line(line: &str) -> bool {
    line.starts_with("Client ") || line.starts_with("Subscribed (mid")
}

impl Subscriber {
    /// `args`: everything after `-h 127.0.0.1 -p <port>` (topics, QoS, `-C`, `-W`, user, …).
    pub fn start(port: u16, args: &[&str]) -> Subscriber {
        use std::io::BufRead;
        // Line-buffered (stdbuf): into a pipe, stdio would hold the SUBACK line back.
        let mut child = Command::new("stdbuf")
            .args(["-oL", "mosquitto_sub", "-d", "-h", "127.0.0.1", "-p", &port.to_string()])
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("mosquitto_sub");
        let stdout = child.stdout.take().unwrap();
        let (tx, lines) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in std::io::BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let sub = Subscriber { child, lines };
        let t = Instant::now();
        let mut early = Vec::new();
        loop {
            let left = Duration::from_secs(10).saturating_sub(t.elapsed());
            match sub.lines.recv_timeout(left) {
                Ok(line) if line.contains("received SUBACK") => break,
                Ok(line) => early.push(line),
                Err(_) => panic!("subscription {args:?} not acknowledged within 10 s: {early:?}"),
            }
        }
        sub
    }

    pub fn output(mut self) -> String {
        let _ = self.child.wait();
        let mut out = String::new();
        for line in self.lines.iter().filter(|l| !is_debug_line(l)) {
            out.push_str(&line);
            out.push('\n');
        }
        out
    }
}

/// Any method, with extra header lines (each ending in "\r\n") and a JSON body: (status, body).
pub fn http_call(port: u16, method: &str, path: &str, headers: &str, body: &str) -> (u16, String) {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n{headers}\
            Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut buf = Vec::new();
    s.read_to_end(&mut buf).unwrap();
    let text = String::from_utf8_lossy(&buf).to_string();
    let status = text.split_whitespace().nth(1).and_then(|c| c.parse().ok()).unwrap_or(0);
    (status, text.split_once("\r\n\r\n").map(|(_, b)| b.to_string()).unwrap_or_default())
}
