//! `ingest`: central's ingest through real Mosquitto with 1,000 simulated agents, beside
//! Mosquitto's own throughput on the same machine in the same run.
//!
//! 1. Broker alone: 1,000 agents publish QoS 1 count reports as fast as they can to a
//!    plain shared-subscription subscriber (no storage): messages/s delivered.
//! 2. Central at saturation: the same load to the `central` binary (SQLite store, one
//!    durable transaction per batch): reports/s acknowledged as stored.
//! 3. Latency at a fixed offered load (default 1,000 msg/s: every agent once a second):
//!    publish → central's stored-ack, p50/p99.
//!
//! Everything shares this machine's cores (broker, central, 1,000 clients), so the
//! figures are a floor for a dedicated central host.

use std::collections::HashMap;
use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use parking_lot::Mutex;
use std::time::{Duration, Instant};

use clap::Parser;
use protocol::messages::{CountAck, CountReport, Envelope, ModelRef};
use protocol::{DirectionCounts, IntervalCounts, VehicleClass, ZoneStats};
use rumqttc::{AsyncClient, Event, MqttOptions, Packet, QoS};

#[derive(Parser)]
#[command(about = "central ingest throughput and latency vs Mosquitto alone")]
struct Args {
    #[arg(long, default_value_t = 1000)]
    agents: usize,
    /// Reports per agent in each saturation phase.
    #[arg(long, default_value_t = 20)]
    per_agent: usize,
    /// Offered load of the latency phase, messages per second.
    #[arg(long, default_value_t = 1000)]
    rate: u64,
    #[arg(long, default_value_t = 20)]
    latency_seconds: u64,
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

fn wait_port(port: u16) {
    let t = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(t.elapsed() < Duration::from_secs(20), "port {port} never opened");
        std::thread::sleep(Duration::from_millis(50));
    }
}

struct Killed(Child);
impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn mosquitto(dir: &Path) -> (Killed, u16) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o777)).unwrap();
    let port = free_port();
    let conf = dir.join("mosquitto.conf");
    std::fs::write(
        &conf,
        format!(
            "listener {port} 127.0.0.1\nallow_anonymous true\nmax_inflight_messages 100\nmax_queued_messages 1000000\n"
        ),
    )
    .unwrap();
    let child = Command::new("mosquitto")
        .args(["-c", conf.to_str().unwrap()])
        .stderr(Stdio::null())
        .spawn()
        .expect("mosquitto");
    wait_port(port);
    (Killed(child), port)
}

fn central(dir: &Path, broker: u16) -> Killed {
    let exe = std::env::current_exe().unwrap().with_file_name("central");
    assert!(exe.exists(), "build central first: cargo build --release -p central");
    let http = free_port();
    let conf = dir.join("central.toml");
    std::fs::write(
        &conf,
        format!(
            "[broker]\nport = {broker}\nclient_id = \"central-bench\"\n[store]\nkind = \"sqlite\"\npath = \"{}\"\n\
                [http]\nlisten = \"127.0.0.1:{http}\"\n",
            dir.join("c.db").display()
        ),
    )
    .unwrap();
    let child =
        Command::new(exe).args(["run", "--config", conf.to_str().unwrap()]).env("RUST_LOG", "error").spawn().unwrap();
    wait_port(http);
    Killed(child)
}

/// CPU seconds (user + system) and peak RSS of a live process, from /proc.
fn process_usage(pid: u32) -> (f64, f64) {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the command name (which may hold spaces): utime and stime are 14 and 15.
    let rest = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    let cpu = (ticks(11) + ticks(12)) / 100.0;
    let rss = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse::<f64>().ok())
        })
        .unwrap_or(0.0)
        / 1024.0;
    (cpu, rss)
}

fn payload(camera: &str, seq: u64) -> Vec<u8> {
    let end_ms = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as i64;
    let mut interval = IntervalCounts {
        start_ms: end_ms - 60_000,
        end_ms,
        coverage: 1.0,
        fps: 12.0,
        frames: 720,
        ..Default::default()
    };
    for (name, n) in [("north_in", 41), ("south_in", 37)] {
        let mut d = DirectionCounts::default();
        d.forward.add(VehicleClass::Motorcycle, n);
        d.forward.add(VehicleClass::Car, n / 6);
        d.backward.add(VehicleClass::Motorcycle, n / 2);
        interval.lines.insert(name.into(), d);
    }
    interval.zones.insert(
        "stop_queue".into(),
        ZoneStats {
            occupancy_mean: 7.5,
            occupancy_max: 19,
            queue_max: 12,
            dwell_mean_s: 21.0,
            dwell_max_s: 64.0,
            ..Default::default()
        },
    );
    let body = CountReport {
        camera_id: camera.into(),
        model: ModelRef { id: "yolox_nano_416".into(), sha256: "ab".repeat(32) },
        interval,
    };
    serde_json::to_vec(&Envelope::new(camera, 1, seq, body)).unwrap()
}

/// Connects one client and drives its event loop in a task.
async fn client(
    port: u16,
    id: &str,
    on_publish: Option<tokio::sync::mpsc::UnboundedSender<rumqttc::Publish>>,
) -> AsyncClient {
    let mut opts = MqttOptions::new(id, "127.0.0.1", port);
    opts.set_keep_alive(Duration::from_secs(60));
    opts.set_max_packet_size(1 << 20, 1 << 20);
    let (c, mut el) = AsyncClient::new(opts, 1024);
    let (ready_tx, ready_rx) = tokio::sync::oneshot::channel();
    tokio::spawn(async move {
        let mut ready = Some(ready_tx);
        loop {
            match el.poll().await {
                Ok(Event::Incoming(Packet::ConnAck(_))) => {
                    if let Some(r) = ready.take() {
                        let _ = r.send(());
                    }
                }
                Ok(Event::Incoming(Packet::Publish(p))) => {
                    if let Some(tx) = &on_publish {
                        let _ = tx.send(p);
                    }
                }
                Ok(_) => {}
                Err(_) => tokio::time::sleep(Duration::from_millis(200)).await,
            }
        }
    });
    let _ = tokio::time::timeout(Duration::from_secs(30), ready_rx).await;
    c
}

async fn agents(port: u16, n: usize, tag: &str) -> Vec<(String, AsyncClient)> {
    let mut out = Vec::with_capacity(n);
    for i in 0..n {
        let camera = format!("{tag}-cam-{i:04}");
        out.push((camera.clone(), client(port, &camera, None).await));
    }
    out
}

/// Every agent publishes `per_agent` reports as fast as it can; returns messages/s
/// counted by `received` between the first and the last arrival.
async fn saturate(
    agents: &[(String, AsyncClient)],
    per_agent: usize,
    received: Arc<AtomicU64>,
    first_last: Arc<Mutex<(Option<Instant>, Option<Instant>)>>,
) -> f64 {
    let total = (agents.len() * per_agent) as u64;
    let payloads: Vec<Vec<Vec<u8>>> =
        agents.iter().map(|(cam, _)| (0..per_agent as u64).map(|s| payload(cam, 100_000 + s)).collect()).collect();
    for (seq, _) in (0..per_agent).enumerate() {
        for ((cam, c), p) in agents.iter().zip(&payloads) {
            c.publish(format!("tac/v1/cameras/{cam}/counts"), QoS::AtLeastOnce, false, p[seq].clone()).await.unwrap();
        }
    }
    let t = Instant::now();
    while received.load(Ordering::Relaxed) < total && t.elapsed() < Duration::from_secs(300) {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let (a, b) = *first_last.lock();
    let n = received.load(Ordering::Relaxed);
    match (a, b) {
        (Some(a), Some(b)) if b > a => n as f64 / (b - a).as_secs_f64(),
        _ => 0.0,
    }
}

/// First and last arrival of the measured messages.
type Window = Arc<Mutex<(Option<Instant>, Option<Instant>)>>;

fn counter() -> (Arc<AtomicU64>, Window, tokio::sync::mpsc::UnboundedSender<rumqttc::Publish>) {
    let received = Arc::new(AtomicU64::new(0));
    let fl = Arc::new(Mutex::new((None, None)));
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<rumqttc::Publish>();
    let (r, f) = (received.clone(), fl.clone());
    tokio::spawn(async move {
        while rx.recv().await.is_some() {
            let now = Instant::now();
            let mut g = f.lock();
            g.0.get_or_insert(now);
            g.1 = Some(now);
            r.fetch_add(1, Ordering::Relaxed);
        }
    });
    (received, fl, tx)
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let dir = tempfile::tempdir()?;
    let total = args.agents * args.per_agent;
    println!(
        "ingest benchmark: {} agents, {} reports per saturation phase, {} msg/s for {} s latency phase",
        args.agents, total, args.rate, args.latency_seconds
    );

    // 1. Mosquitto alone.
    let bdir = dir.path().join("broker-only");
    std::fs::create_dir_all(&bdir)?;
    let (broker, port) = mosquitto(&bdir);
    let (received, fl, tx) = counter();
    let sub = client(port, "bench-subscriber", Some(tx)).await;
    sub.subscribe("$share/bench/tac/v1/cameras/+/counts", QoS::AtLeastOnce).await?;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let fleet = agents(port, args.agents, "b").await;
    let broker_rate = saturate(&fleet, args.per_agent, received, fl).await;
    for (_, c) in &fleet {
        let _ = c.disconnect().await;
    }
    drop(broker);

    // 2. Central at saturation, acks observed by one subscriber.
    let cdir = dir.path().join("central");
    std::fs::create_dir_all(&cdir)?;
    let (_broker, port) = mosquitto(&cdir);
    let _central = central(&cdir, port);
    tokio::time::sleep(Duration::from_millis(500)).await;
    let (acked, fl, tx) = counter();
    let (ack_tx, mut ack_rx) = tokio::sync::mpsc::unbounded_channel::<rumqttc::Publish>();
    let observer = client(port, "bench-ack-observer", Some(ack_tx)).await;
    observer.subscribe("tac/v1/cameras/+/counts/ack", QoS::AtMostOnce).await?;
    let sent_at: Arc<Mutex<HashMap<(String, u64), Instant>>> = Arc::new(Mutex::new(HashMap::new()));
    let latencies: Arc<Mutex<Vec<f64>>> = Arc::new(Mutex::new(Vec::new()));
    {
        let (sent_at, latencies) = (sent_at.clone(), latencies.clone());
        tokio::spawn(async move {
            while let Some(p) = ack_rx.recv().await {
                let _ = tx.send(p.clone());
                if let Ok(ack) = protocol::messages::decode::<CountAck>(&p.payload)
                    && let Some(t) = sent_at.lock().remove(&(ack.body.report_agent_id, ack.body.report_seq))
                {
                    latencies.lock().push(t.elapsed().as_secs_f64() * 1000.0);
                }
            }
        });
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let fleet = agents(port, args.agents, "c").await;
    let central_rate = saturate(&fleet, args.per_agent, acked.clone(), fl).await;

    // 3. Latency at the offered rate: agents take turns, one report every 1/rate s.
    let interval = Duration::from_secs_f64(1.0 / args.rate as f64);
    let n = (args.rate * args.latency_seconds) as usize;
    let mut tick = tokio::time::interval(interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    let started = Instant::now();
    for i in 0..n {
        tick.tick().await;
        let (cam, c) = &fleet[i % fleet.len()];
        let seq = 1_000_000 + i as u64;
        let p = payload(cam, seq);
        sent_at.lock().insert((cam.clone(), seq), Instant::now());
        c.publish(format!("tac/v1/cameras/{cam}/counts"), QoS::AtLeastOnce, false, p).await?;
    }
    let offered = n as f64 / started.elapsed().as_secs_f64();
    let t = Instant::now();
    while latencies.lock().len() < n && t.elapsed() < Duration::from_secs(60) {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let mut lat = latencies.lock().clone();
    lat.sort_by(|a, b| a.total_cmp(b));
    let (cpu_s, rss_mb) = process_usage(_central.0.id());

    println!();
    println!("| measurement | figure |");
    println!("|---|---|");
    println!("| Mosquitto alone, QoS 1 delivered to one subscriber (msg/s) | {broker_rate:.0} |");
    println!("| central, reports stored and acknowledged at saturation (msg/s) | {central_rate:.0} |");
    println!("| central / Mosquitto alone | {:.2} |", central_rate / broker_rate.max(1e-9));
    println!("| latency phase: offered load (msg/s) | {offered:.0} |");
    println!("| publish → stored-ack p50 (ms) | {:.1} |", percentile(&lat, 0.50));
    println!("| publish → stored-ack p99 (ms) | {:.1} |", percentile(&lat, 0.99));
    println!("| latency phase: acked / sent | {} / {n} |", lat.len());
    println!("| central CPU time, whole run (s) / peak RSS (MB) | {cpu_s:.1} / {rss_mb:.0} |");
    Ok(())
}
