//! USB/V4L2 cameras through `nokhwa`. A capture thread owns the camera and keeps only
//! the newest decoded frame in a one-slot mailbox (latest-frame semantics): a slow
//! detector sees fresh frames, never a backlog.

use std::sync::Arc;

use parking_lot::{Condvar, Mutex};
use std::time::Duration;

use super::FrameSource;
use super::IngestError;
use super::gst::Pulled;
use crate::frame::Frame;

/// One-slot mailbox: writers replace, the reader takes.
#[derive(Default)]
struct Slot {
    state: Mutex<SlotState>,
    ready: Condvar,
}

#[derive(Default)]
struct SlotState {
    frame: Option<Frame>,
    error: Option<String>,
    closed: bool,
    replaced: u64,
}

impl Slot {
    fn put(&self, frame: Frame) {
        let mut s = self.state.lock();
        if s.frame.replace(frame).is_some() {
            s.replaced += 1;
        }
        self.ready.notify_one();
    }

    fn fail(&self, error: String) {
        let mut s = self.state.lock();
        s.error = Some(error);
        self.ready.notify_one();
    }

    fn take(&self, timeout: Duration) -> Result<Option<Frame>, String> {
        let mut s = self.state.lock();
        self.ready.wait_while_for(&mut s, |s| s.frame.is_none() && s.error.is_none(), timeout);
        if let Some(f) = s.frame.take() {
            return Ok(Some(f));
        }
        match s.error.take() {
            Some(e) => Err(e),
            None => Ok(None),
        }
    }
}

pub struct UsbSource {
    name: String,
    slot: Arc<Slot>,
}

impl FrameSource for UsbSource {
    fn pull(&mut self, timeout: Duration) -> Result<Pulled, IngestError> {
        match self.slot.take(timeout) {
            Ok(Some(frame)) => Ok(Pulled::Frame(frame)),
            Ok(None) => Ok(Pulled::Timeout),
            Err(message) => Err(IngestError::Decode { source_name: self.name.clone(), message }),
        }
    }
}

impl Drop for UsbSource {
    fn drop(&mut self) {
        self.slot.state.lock().closed = true;
    }
}

#[cfg(feature = "usb")]
pub fn open(index: u32) -> Result<Box<dyn FrameSource>, IngestError> {
    use nokhwa::Camera;
    use nokhwa::pixel_format::RgbFormat;
    use nokhwa::utils::{CameraIndex, RequestedFormat, RequestedFormatType};

    let name = format!("usb:{index}");
    let device = format!("/dev/video{index}");
    if !std::path::Path::new(&device).exists() {
        return Err(IngestError::Open {
            source_name: name,
            message: format!("{device} does not exist (no USB camera attached?)"),
        });
    }
    let slot = Arc::new(Slot::default());
    let writer = slot.clone();
    let (opened_tx, opened_rx) = std::sync::mpsc::sync_channel::<Result<(), String>>(1);
    // The camera handle is not Send: it is created, used and dropped on its own thread.
    std::thread::Builder::new()
        .name(format!("usb{index}-capture"))
        .spawn(move || {
            let format = RequestedFormat::new::<RgbFormat>(RequestedFormatType::AbsoluteHighestFrameRate);
            let mut camera =
                match Camera::new(CameraIndex::Index(index), format).and_then(|mut c| c.open_stream().map(|_| c)) {
                    Ok(c) => {
                        let _ = opened_tx.send(Ok(()));
                        c
                    }
                    Err(e) => {
                        let _ = opened_tx.send(Err(e.to_string()));
                        return;
                    }
                };
            loop {
                if writer.state.lock().closed {
                    let _ = camera.stop_stream();
                    return;
                }
                let decoded = camera.frame().and_then(|buf| buf.decode_image::<RgbFormat>());
                match decoded {
                    Ok(img) => {
                        let (w, h) = img.dimensions();
                        match Frame::from_rgb(w, h, img.into_raw()) {
                            Ok(frame) => writer.put(frame),
                            Err(e) => return writer.fail(e.to_string()),
                        }
                    }
                    Err(e) => return writer.fail(e.to_string()),
                }
            }
        })
        .map_err(|e| IngestError::Gstreamer(e.to_string()))?;
    match opened_rx.recv() {
        Ok(Ok(())) => {}
        Ok(Err(message)) => return Err(IngestError::Open { source_name: name, message }),
        Err(_) => return Err(IngestError::Open { source_name: name, message: "capture thread ended".into() }),
    }
    Ok(Box::new(UsbSource { name: format!("usb:{index}"), slot }))
}

#[cfg(not(feature = "usb"))]
pub fn open(index: u32) -> Result<Box<dyn FrameSource>, IngestError> {
    Err(IngestError::Open {
        source_name: format!("usb:{index}"),
        message: "this build has no USB support (feature `usb`)".into(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(v: u8) -> Frame {
        Frame::from_rgb(2, 2, vec![v; 12]).unwrap()
    }

    #[test]
    fn slot_keeps_only_the_newest_frame() {
        let slot = Slot::default();
        slot.put(frame(1));
        slot.put(frame(2));
        let got = slot.take(Duration::from_millis(1)).unwrap().unwrap();
        assert_eq!(got.bytes()[0], 2);
        assert_eq!(slot.state.lock().replaced, 1);
        assert!(slot.take(Duration::from_millis(1)).unwrap().is_none());
        slot.fail("unplugged".into());
        assert_eq!(slot.take(Duration::from_millis(1)).unwrap_err(), "unplugged");
    }

    #[test]
    fn a_missing_device_is_a_clear_error() {
        let err = open(97).err().expect("no /dev/video97 here").to_string();
        assert!(err.contains("usb:97"), "{err}");
    }
}
