//! `scripts/fetch-assets.sh` run as a user runs it, against real parts: the real shared
//! assets (listed by their `SHA256SUMS`, from `$TRAFFIC_ASSETS` or `../shared/assets`)
//! copied into a temporary mirror that `python3 -m http.server` serves on 127.0.0.1, with
//! `ASSETS_MIRROR` pointing the script at it. No mocks: real bash, curl, sha256sum and HTTP.
//!
//! What is checked: a file whose download has the wrong sha256 is named with both sha256s
//! and never lands in the folder (nor does a temporary file), the others do, byte for
//! byte, and the exit status is non-zero; once the mirror is right a second run fetches
//! just that file; a third run fetches nothing (no request reaches the server). An
//! unreachable mirror names every file and its URL. The sources file lists exactly the
//! files and sha256s of `SHA256SUMS`.
//!
//! The server is started on port 0 and the test reads the port it announces (no window in
//! which another process can take a port picked beforehand), then waits until that port
//! answers HTTP before the first run. It lives in the models crate because the detector
//! weights are the assets the product cannot run without; the script needs no Rust.

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// The asset whose mirrored copy is corrupted in the first run.
const CORRUPTED: &str = "images/hpc203_bus.jpg";

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("the models crate sits in the workspace").to_path_buf()
}

fn assets_dir() -> PathBuf {
    std::env::var_os("TRAFFIC_ASSETS").map(PathBuf::from).unwrap_or_else(|| repo_root().join("../shared/assets"))
}

/// `(sha256, relative path)` for every line of the assets' `SHA256SUMS`, in its order.
fn sha256sums(assets: &Path) -> Vec<(String, String)> {
    let path = assets.join("SHA256SUMS");
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e} (run `make setup`, or set TRAFFIC_ASSETS)", path.display()));
    let rows: Vec<(String, String)> = text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let (sum, rel) = l.split_once("  ").unwrap_or_else(|| panic!("SHA256SUMS line {l:?}"));
            (sum.to_string(), rel.to_string())
        })
        .collect();
    assert!(rows.iter().any(|(_, rel)| rel == CORRUPTED), "{CORRUPTED} is not in {}", path.display());
    rows
}

/// Every file under `dir` (hidden ones included), as paths relative to it.
fn files_under(dir: &Path) -> BTreeSet<String> {
    fn walk(base: &Path, dir: &Path, out: &mut BTreeSet<String>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(base, &path, out);
            } else {
                out.insert(path.strip_prefix(base).unwrap().to_str().unwrap().to_string());
            }
        }
    }
    let mut out = BTreeSet::new();
    walk(dir, dir, &mut out);
    out
}

/// `python3 -m http.server` serving `dir` on 127.0.0.1; killed on drop. Its request log
/// (stderr) goes to a file, so a test can count the downloads a run made.
struct HttpServer {
    child: Child,
    port: u16,
    log: PathBuf,
}

impl HttpServer {
    fn start(dir: &Path, log: PathBuf) -> HttpServer {
        let mut child = Command::new("python3")
            .args(["-m", "http.server", "--bind", "127.0.0.1", "0", "--directory"])
            .arg(dir)
            .env("PYTHONUNBUFFERED", "1")
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .expect("spawn python3 -m http.server");
        // "Serving HTTP on 127.0.0.1 port 41234 (http://127.0.0.1:41234/) ..."
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
        let port = line.split_whitespace().skip_while(|w| *w != "port").nth(1).and_then(|p| p.parse().ok());
        let mut server = HttpServer { child, port: port.unwrap_or(0), log };
        assert!(server.port != 0, "http.server said {line:?}; log: {}", server.log_text());
        server.wait_until_it_answers();
        server
    }

    /// Returns once a HEAD request gets an HTTP answer.
    fn wait_until_it_answers(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let answer = TcpStream::connect(("127.0.0.1", self.port)).and_then(|mut s| {
                s.set_read_timeout(Some(Duration::from_secs(5)))?;
                s.write_all(b"HEAD / HTTP/1.0\r\n\r\n")?;
                let mut reply = String::new();
                s.read_to_string(&mut reply)?;
                Ok(reply)
            });
            match answer {
                Ok(reply) if reply.starts_with("HTTP/1.") => return,
                _ => {}
            }
            if let Some(status) = self.child.try_wait().unwrap() {
                panic!("http.server exited ({status}): {}", self.log_text());
            }
            assert!(Instant::now() < deadline, "http.server on port {} never answered: {}", self.port, self.log_text());
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// GET requests served so far (the log line of a request is written before its body).
    fn gets(&self) -> usize {
        self.log_text().lines().filter(|l| l.contains("\"GET ")).count()
    }
}

impl Drop for HttpServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs the script into `target` from `mirror`; returns its result and stdout + stderr.
fn fetch_assets(target: &Path, mirror: &str) -> (Output, String) {
    let root = repo_root();
    let out = Command::new("bash")
        .arg(root.join("scripts/fetch-assets.sh"))
        .current_dir(&root)
        .env("TRAFFIC_ASSETS", target)
        .env("ASSETS_MIRROR", mirror)
        .stdin(Stdio::null())
        .output()
        .expect("run bash scripts/fetch-assets.sh");
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    (out, text)
}

/// Every listed file except `missing` is in `target`, byte for byte the real asset.
fn assert_same_as_assets(target: &Path, assets: &Path, listed: &[(String, String)], missing: Option<&str>, text: &str) {
    for (_, rel) in listed.iter().filter(|(_, rel)| Some(rel.as_str()) != missing) {
        let got = std::fs::read(target.join(rel)).unwrap_or_else(|e| panic!("{rel} not fetched: {e}\n{text}"));
        assert!(got == std::fs::read(assets.join(rel)).unwrap(), "{rel} differs from the real asset\n{text}");
    }
}

#[test]
fn fetches_verifies_and_fetches_nothing_twice() {
    let assets = assets_dir();
    let listed = sha256sums(&assets);
    let tmp = tempfile::tempdir().unwrap();
    let www = tmp.path().join("www");
    let mirror_dir = www.join("assets-mirror");
    for (_, rel) in &listed {
        let dest = mirror_dir.join(rel);
        std::fs::create_dir_all(dest.parent().unwrap()).unwrap();
        // read + write rather than copy: the shared assets are read-only, the mirror's copies must not be.
        std::fs::write(&dest, std::fs::read(assets.join(rel)).unwrap()).unwrap();
    }
    let mut bytes = std::fs::read(mirror_dir.join(CORRUPTED)).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0xff;
    std::fs::write(mirror_dir.join(CORRUPTED), &bytes).unwrap();

    let server = HttpServer::start(&www, tmp.path().join("http.log"));
    let mirror = format!("http://127.0.0.1:{}/assets-mirror", server.port);
    let target = tmp.path().join("site/assets"); // does not exist yet: the script creates it
    let want_sum = &listed.iter().find(|(_, rel)| rel == CORRUPTED).unwrap().0;

    // 1. One download is corrupt: named with both sha256s, not installed, the rest are.
    let (out, text) = fetch_assets(&target, &mirror);
    assert_eq!(out.status.code(), Some(1), "{text}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.lines().any(|l| l.contains(CORRUPTED) && l.contains("sha256") && l.contains(want_sum.as_str())),
        "no line names {CORRUPTED}, sha256 and the expected {want_sum}:\n{text}"
    );
    // The mismatch itself, and the list of failed files at the end.
    assert!(stderr.lines().filter(|l| l.contains(CORRUPTED)).count() >= 2, "{text}");
    assert!(!target.join(CORRUPTED).exists(), "the corrupt download was installed\n{text}");
    let mut expected: BTreeSet<String> =
        listed.iter().map(|(_, rel)| rel.clone()).filter(|rel| rel != CORRUPTED).collect();
    expected.insert("SHA256SUMS".to_string());
    assert_eq!(files_under(&target), expected, "only the verified files (no temporary ones)\n{text}");
    assert_same_as_assets(&target, &assets, &listed, Some(CORRUPTED), &text);
    let sums = |dir: &Path| -> BTreeSet<String> {
        std::fs::read_to_string(dir.join("SHA256SUMS")).unwrap().lines().map(str::to_string).collect()
    };
    assert_eq!(sums(&target), sums(&assets), "the SHA256SUMS written from the sources file");
    assert!(text.lines().any(|l| l.contains("groundtruth") && l.contains("copy")), "no ground-truth note\n{text}");

    // 2. The mirror is right again: only the missing file is fetched.
    std::fs::write(mirror_dir.join(CORRUPTED), std::fs::read(assets.join(CORRUPTED)).unwrap()).unwrap();
    let before = server.gets();
    let (out, text) = fetch_assets(&target, &mirror);
    assert!(out.status.success(), "{text}");
    assert_eq!(server.gets() - before, 1, "one download expected\n{text}");
    assert_same_as_assets(&target, &assets, &listed, None, &text);
    expected.insert(CORRUPTED.to_string());
    assert_eq!(files_under(&target), expected, "{text}");
    // What setup.sh checks, with the SHA256SUMS the script wrote.
    let check = Command::new("sha256sum").args(["-c", "--quiet", "SHA256SUMS"]).current_dir(&target).output().unwrap();
    assert!(check.status.success(), "sha256sum -c: {}", String::from_utf8_lossy(&check.stdout));

    // 3. Complete: every file is ok and nothing reaches the server.
    let before = server.gets();
    let (out, text) = fetch_assets(&target, &mirror);
    assert!(out.status.success(), "{text}");
    assert_eq!(server.gets(), before, "the third run downloaded something\n{text}");
    for (_, rel) in &listed {
        let lines: Vec<&str> = text.lines().filter(|l| l.contains(rel.as_str())).collect();
        assert_eq!(lines, vec![format!("fetch-assets: ok {rel}")], "{text}");
    }
}

#[test]
fn an_unreachable_mirror_names_every_file_and_its_url() {
    let listed = sha256sums(&assets_dir());
    // A port that nothing listens on: bound to learn a free one, then closed.
    let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let mirror = format!("http://127.0.0.1:{port}/assets");
    let tmp = tempfile::tempdir().unwrap();
    let target = tmp.path().join("assets");
    let (out, text) = fetch_assets(&target, &mirror);
    assert_eq!(out.status.code(), Some(1), "{text}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    for (_, rel) in &listed {
        let url = format!("{mirror}/{rel}");
        assert!(stderr.lines().any(|l| l.contains(rel.as_str()) && l.contains(&url)), "{rel} / {url}:\n{text}");
    }
    assert_eq!(files_under(&target), BTreeSet::from(["SHA256SUMS".to_string()]), "{text}");
}

#[test]
fn the_sources_file_lists_exactly_sha256sums() {
    let listed = sha256sums(&assets_dir());
    let path = repo_root().join("scripts/assets-sources.tsv");
    let text = std::fs::read_to_string(&path).unwrap();
    let mut rows = text.lines().filter(|l| !l.is_empty() && !l.starts_with('#'));
    assert_eq!(rows.next(), Some("path\turl\tsha256\tlicence"), "header of {}", path.display());
    let rows: Vec<Vec<&str>> = rows.map(|l| l.split('\t').collect()).collect();
    for row in &rows {
        assert_eq!(row.len(), 4, "{row:?}");
        assert!(!row[3].trim().is_empty(), "no licence note: {row:?}");
        // https://raw.githubusercontent.com/OWNER/REPO/<full commit>/<percent-encoded path>
        let parts: Vec<&str> = row[1].splitn(7, '/').collect();
        assert!(row[1].starts_with("https://raw.githubusercontent.com/") && parts.len() == 7, "{row:?}");
        assert!(parts[5].len() == 40 && parts[5].bytes().all(|b| b.is_ascii_hexdigit()), "commit of {row:?}");
        assert!(parts[6].bytes().all(|b| b.is_ascii_graphic()), "URL path not percent-encoded: {row:?}");
    }
    let from_tsv: Vec<(String, String)> = rows.iter().map(|r| (r[2].to_string(), r[0].to_string())).collect();
    assert_eq!(from_tsv, listed, "scripts/assets-sources.tsv against SHA256SUMS (same files, sha256s and order)");
}
