//! `clip-rtsp-server`: serves an H.264 MP4 clip as an RTSP stream on 127.0.0.1, for
//! bench-testing an edge box without a camera, for the demo, and for the RTSP tests.
//!
//! Prints the stream URL on the first line of stdout once listening, then serves until
//! killed. `--port 0` picks a free port. Each client session plays the clip from the
//! start; with `--loop` the clip repeats forever as one continuous stream.

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
    if looped {
        // Each session's media reads from an appsrc fed by its own reader pipeline, which
        // starts the file again at its end while timestamps keep increasing: one unbroken
        // stream, as a camera gives.
        factory.set_launch(
            "( appsrc name=clipsrc format=time ! h264parse ! rtph264pay name=pay0 pt=96 config-interval=1 )",
        );
        let reader_launch = format!(
            "filesrc location=\"{location}\" ! qtdemux ! h264parse ! \
                video/x-h264,stream-format=byte-stream,alignment=au ! appsink name=sink sync=false max-buffers=8"
        );
        factory.connect_media_configure(move |_, media| {
            let Some(src) = media
                .element()
                .downcast::<gst::Bin>()
                .ok()
                .and_then(|b| b.by_name("clipsrc"))
                .and_then(|e| e.downcast::<gstreamer_app::AppSrc>().ok())
            else {
                eprintln!("clip-rtsp-server: error: no appsrc in the media");
                return;
            };
            src.set_property("block", true);
            src.set_property("max-bytes", 4u64 << 20);
            let launch = reader_launch.clone();
            std::thread::spawn(move || feed_forever(&launch, &src));
        });
    } else {
        factory.set_launch(&format!(
            "( filesrc location=\"{location}\" ! qtdemux ! h264parse ! rtph264pay name=pay0 pt=96 config-interval=1 )"
        ));
    }
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

/// Plays the file into `src` again and again, shifting timestamps by the time already
/// played; returns when the session's media stops taking buffers.
fn feed_forever(launch: &str, src: &gstreamer_app::AppSrc) {
    let mut offset = gst::ClockTime::ZERO;
    loop {
        let Some(reader) = gst::parse::launch(launch).ok().and_then(|p| p.downcast::<gst::Pipeline>().ok()) else {
            return;
        };
        let Some(sink) = reader.by_name("sink").and_then(|e| e.downcast::<gstreamer_app::AppSink>().ok()) else {
            return;
        };
        if reader.set_state(gst::State::Playing).is_err() {
            return;
        }
        let mut end = offset;
        while let Ok(sample) = sink.pull_sample() {
            if src.caps().is_none() {
                src.set_caps(sample.caps_owned().as_ref());
            }
            let Some(buffer) = sample.buffer() else { continue };
            let mut buffer = buffer.copy();
            {
                let b = buffer.make_mut();
                let duration = b.duration().unwrap_or(gst::ClockTime::from_mseconds(40));
                if let Some(pts) = b.pts() {
                    b.set_pts(pts + offset);
                    end = end.max(pts + offset + duration);
                }
                if let Some(dts) = b.dts() {
                    b.set_dts(dts + offset);
                }
            }
            if src.push_buffer(buffer).is_err() {
                let _ = reader.set_state(gst::State::Null);
                return;
            }
        }
        let _ = reader.set_state(gst::State::Null);
        if end == offset {
            return; // nothing could be read: do not spin
        }
        offset = end;
    }
}
