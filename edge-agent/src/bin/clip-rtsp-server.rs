//! `clip-rtsp-server`: serves an H.264 MP4 clip as an RTSP stream on 127.0.0.1, for
//! bench-testing an edge box without a camera, for the demo, and for the RTSP tests.
//!
//! Prints the stream URL on the first line of stdout once listening, then serves until
//! killed. `--port 0` picks a free port. Each client session plays the clip from the
//! start; with `--loop` the clip repeats forever.

use std::process::ExitCode;

use gstreamer as gst;
use gstreamer::glib;
use gstreamer_rtsp_server as rtsp;
use gstreamer_rtsp_server::prelude::*;

fn usage() -> ExitCode {
    eprintln!("usage: clip-rtsp-server --clip FILE.mp4 [--port N] [--path /clip] [--loop]");
    ExitCode::from(2)
}

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let (mut clip, mut port, mut path, mut looped) = (None, 0u16, "/clip".to_string(), false);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--clip" => clip = args.next(),
            "--port" => match args.next().and_then(|p| p.parse().ok()) {
                Some(p) => port = p,
                None => return usage(),
            },
            "--path" => path = args.next().unwrap_or(path),
            "--loop" => looped = true,
            _ => return usage(),
        }
    }
    let Some(clip) = clip else { return usage() };
    if !std::path::Path::new(&clip).is_file() {
        eprintln!("clip-rtsp-server: error: {clip}: no such file");
        return ExitCode::FAILURE;
    }
    if let Err(e) = gst::init() {
        eprintln!("clip-rtsp-server: error: GStreamer: {e}");
        return ExitCode::FAILURE;
    }
    let server = rtsp::RTSPServer::new();
    server.set_address("127.0.0.1");
    server.set_service(&port.to_string());
    let factory = rtsp::RTSPMediaFactory::new();
    let location = clip.replace('\\', "\\\\").replace('"', "\\\"");
    // Looping re-reads the file through a demuxer that is flushed at each end of file.
    let source = if looped {
        format!("multifilesrc location=\"{location}\" loop=true ! qtdemux ! h264parse")
    } else {
        format!("filesrc location=\"{location}\" ! qtdemux ! h264parse")
    };
    factory.set_launch(&format!("( {source} ! rtph264pay name=pay0 pt=96 config-interval=1 )"));
    factory.set_shared(false);
    let Some(mounts) = server.mount_points() else {
        eprintln!("clip-rtsp-server: error: no mount points");
        return ExitCode::FAILURE;
    };
    mounts.add_factory(&path, factory);
    let main_loop = glib::MainLoop::new(None, false);
    if let Err(e) = server.attach(None) {
        eprintln!("clip-rtsp-server: error: cannot listen on 127.0.0.1:{port}: {e}");
        return ExitCode::FAILURE;
    }
    println!("rtsp://127.0.0.1:{}{path}", server.bound_port());
    main_loop.run();
    ExitCode::SUCCESS
}
