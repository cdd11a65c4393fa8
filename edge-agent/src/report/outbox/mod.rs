//! Durable outbox: interval reports wait here, on disk, until they are acknowledged: by
//! default central's ack message (sent after its store committed them), or the broker's
//! PUBACK with `mqtt.ack = "broker"`. Links drop at peak hours; nothing is lost while they do.
//!
//! # On-disk format
//! A directory of append-only segment files `seg-<first seq, 20 digits>.log`, one
//! `ack` file and a `lock` file. The lock file carries an exclusive advisory lock (flock)
//! for as long as an `Outbox` is open: a second process (or a second `open` in this one)
//! on the same directory is refused with `OutboxError::Locked` instead of interleaving
//! appends and acks into one sequence (as Vector's disk buffer ledger does). Each record is
//!
//! ```text
//! | len: u32 LE | crc: u32 LE | seq: u64 LE | payload: len bytes |
//! ```
//!
//! where `crc` is CRC-32 (IEEE) over the seq bytes and the payload. `ack` holds the
//! highest sequence number below which every record is acknowledged (u64 LE + CRC-32),
//! replaced atomically (write, fsync, rename, fsync directory).
//!
//! # Invariants
//! - A record counts as stored only after its bytes are fsynced; `append` returns then.
//! - Sequence numbers increase by one per record and survive restarts.
//! - Replay yields records in sequence order, never a record whose CRC fails. A torn
//!   tail (a crash mid-append) is truncated at the first bad record of the last
//!   segment; damage inside an older segment ends that segment (counted as lost).
//! - A record leaves the outbox only when acknowledged, or when the outbox is over its
//!   byte budget: then the oldest segment is dropped whole and `dropped` counts its
//!   unacknowledged records (the count is itself reported in the agent's status).

mod segment;

use std::collections::VecDeque;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use segment::{Segment, SegmentError};

pub const DEFAULT_MAX_BYTES: u64 = 256 * 1024 * 1024;
/// Segments roll at this size, or at a quarter of a smaller budget.
const SEGMENT_BYTES: u64 = 8 * 1024 * 1024;
/// Largest payload accepted (a count report is a few KB).
pub const MAX_RECORD: usize = 1024 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum OutboxError {
    #[error("outbox {path}: {source}")]
    Io { path: PathBuf, source: io::Error },
    #[error("outbox {path} is in use by another outbox (is a second agent configured with the same [outbox] dir?)")]
    Locked { path: PathBuf },
    #[error("outbox: record of {0} bytes is over the {MAX_RECORD}-byte limit")]
    TooLarge(usize),
}

fn io_err(path: &Path) -> impl FnOnce(io::Error) -> OutboxError + '_ {
    move |source| OutboxError::Io { path: path.to_path_buf(), source }
}

/// What `open` found on disk.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Recovery {
    /// Unacknowledged records ready to send.
    pub pending: u64,
    /// Bytes cut from the end of the last segment (a torn write).
    pub truncated_bytes: u64,
    /// Records lost to damage inside older segments.
    pub lost_records: u64,
}

pub struct Outbox {
    dir: PathBuf,
    max_bytes: u64,
    segments: VecDeque<Segment>,
    next_seq: u64,
    /// Every record with seq < acked_below is acknowledged.
    acked_below: u64,
    dropped: u64,
    /// Held (locked) until the outbox is dropped; the OS releases it if the process dies.
    _lock: fs::File,
}

impl Outbox {
    /// Opens (or creates) the outbox in `dir`, recovering from any crash.
    pub fn open(dir: &Path, max_bytes: u64) -> Result<(Outbox, Recovery), OutboxError> {
        fs::create_dir_all(dir).map_err(io_err(dir))?;
        let lock_path = dir.join("lock");
        let lock = fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .map_err(io_err(&lock_path))?;
        match lock.try_lock() {
            Ok(()) => {}
            Err(fs::TryLockError::WouldBlock) => return Err(OutboxError::Locked { path: dir.to_path_buf() }),
            Err(fs::TryLockError::Error(source)) => return Err(OutboxError::Io { path: lock_path, source }),
        }
        let mut names: Vec<(u64, PathBuf)> = fs::read_dir(dir)
            .map_err(io_err(dir))?
            .filter_map(|e| e.ok())
            .filter_map(|e| {
                let name = e.file_name().to_string_lossy().to_string();
                let first = name.strip_prefix("seg-")?.strip_suffix(".log")?.parse::<u64>().ok()?;
                Some((first, e.path()))
            })
            .collect();
        names.sort();
        let mut recovery = Recovery::default();
        let mut segments: VecDeque<Segment> = VecDeque::new();
        for (first, path) in names {
            let (seg, damage) = Segment::load(&path, first).map_err(|e| match e {
                SegmentError::Io(source) => OutboxError::Io { path: path.clone(), source },
            })?;
            recovery.truncated_bytes += damage.truncated_bytes;
            // Damage inside an older segment shows as a gap before the next one.
            if let Some(prev) = segments.back() {
                let expected = prev.last_seq().map_or(prev.first_seq(), |l| l + 1);
                recovery.lost_records += first.saturating_sub(expected);
            }
            segments.push_back(seg);
        }
        let acked_below = read_ack(dir)?;
        let next_seq =
            segments.iter().filter_map(|s| s.last_seq()).max().map_or(acked_below, |s| (s + 1).max(acked_below));
        let mut outbox =
            Outbox { dir: dir.to_path_buf(), max_bytes, segments, next_seq, acked_below, dropped: 0, _lock: lock };
        outbox.drop_acked_segments()?;
        recovery.pending = outbox.depth();
        Ok((outbox, recovery))
    }

    /// Appends a record and fsyncs it; returns its sequence number.
    pub fn append(&mut self, payload: &[u8]) -> Result<u64, OutboxError> {
        if payload.len() > MAX_RECORD {
            return Err(OutboxError::TooLarge(payload.len()));
        }
        let roll_at = SEGMENT_BYTES.min(self.max_bytes / 4).max(1);
        let needs_new = self.segments.back().is_none_or(|s| s.bytes() >= roll_at);
        if needs_new {
            let path = self.dir.join(format!("seg-{:020}.log", self.next_seq));
            let seg = Segment::create(&path, self.next_seq).map_err(io_err(&path))?;
            sync_dir(&self.dir)?;
            self.segments.push_back(seg);
        }
        let seq = self.next_seq;
        let seg = self.segments.back_mut().expect("a segment exists");
        seg.append(seq, payload).map_err(io_err(&self.dir))?;
        self.next_seq += 1;
        self.enforce_budget()?;
        Ok(seq)
    }

    /// Unacknowledged records with seq >= `from`, oldest first, at most `limit`.
    pub fn pending_from(&self, from: u64, limit: usize) -> Result<Vec<(u64, Vec<u8>)>, OutboxError> {
        let mut out = Vec::new();
        let from = from.max(self.acked_below);
        for seg in &self.segments {
            if out.len() >= limit {
                break;
            }
            if seg.last_seq().is_none_or(|l| l < from) {
                continue;
            }
            seg.read_from(from, limit - out.len(), &mut out).map_err(io_err(&self.dir))?;
        }
        Ok(out)
    }

    /// Acknowledges every record with seq <= `seq` (QoS 1 acknowledgements arrive in
    /// publish order on one connection).
    pub fn ack_through(&mut self, seq: u64) -> Result<(), OutboxError> {
        let below = (seq + 1).min(self.next_seq);
        if below <= self.acked_below {
            return Ok(());
        }
        self.acked_below = below;
        write_ack(&self.dir, below)?;
        self.drop_acked_segments()
    }

    /// Records stored and not yet acknowledged.
    pub fn depth(&self) -> u64 {
        self.segments.iter().map(|s| s.count_from(self.acked_below)).sum()
    }

    /// Unacknowledged records dropped to stay within the byte budget since `open`.
    pub fn dropped(&self) -> u64 {
        self.dropped
    }

    pub fn bytes(&self) -> u64 {
        self.segments.iter().map(|s| s.bytes()).sum()
    }

    pub fn next_seq(&self) -> u64 {
        self.next_seq
    }

    fn drop_acked_segments(&mut self) -> Result<(), OutboxError> {
        // Keep the last segment (it is being appended to).
        while self.segments.len() > 1 && self.segments[0].last_seq().is_none_or(|l| l < self.acked_below) {
            let seg = self.segments.pop_front().expect("len > 1");
            fs::remove_file(seg.path()).map_err(io_err(seg.path()))?;
        }
        Ok(())
    }

    fn enforce_budget(&mut self) -> Result<(), OutboxError> {
        while self.bytes() > self.max_bytes && self.segments.len() > 1 {
            let seg = self.segments.pop_front().expect("len > 1");
            let lost = seg.count_from(self.acked_below);
            if lost > 0 {
                self.dropped += lost;
                tracing::error!(
                    records = lost,
                    first_seq = seg.first_seq(),
                    "outbox over its byte budget: dropped the oldest unacknowledged records"
                );
            }
            if let Some(last) = seg.last_seq() {
                self.acked_below = self.acked_below.max(last + 1);
                write_ack(&self.dir, self.acked_below)?;
            }
            fs::remove_file(seg.path()).map_err(io_err(seg.path()))?;
        }
        Ok(())
    }
}

fn sync_dir(dir: &Path) -> Result<(), OutboxError> {
    fs::File::open(dir).and_then(|d| d.sync_all()).map_err(io_err(dir))
}

fn read_ack(dir: &Path) -> Result<u64, OutboxError> {
    let path = dir.join("ack");
    match fs::read(&path) {
        Ok(b) if b.len() == 12 => {
            let v = u64::from_le_bytes(b[..8].try_into().expect("8 bytes"));
            let crc = u32::from_le_bytes(b[8..].try_into().expect("4 bytes"));
            // A damaged cursor only means re-sending: central de-duplicates.
            Ok(if crc32fast::hash(&b[..8]) == crc { v } else { 0 })
        }
        Ok(_) => Ok(0),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(0),
        Err(e) => Err(OutboxError::Io { path, source: e }),
    }
}

fn write_ack(dir: &Path, below: u64) -> Result<(), OutboxError> {
    let tmp = dir.join("ack.tmp");
    let mut bytes = below.to_le_bytes().to_vec();
    bytes.extend_from_slice(&crc32fast::hash(&below.to_le_bytes()).to_le_bytes());
    {
        use std::io::Write;
        let mut f = fs::File::create(&tmp).map_err(io_err(&tmp))?;
        f.write_all(&bytes).and_then(|_| f.sync_all()).map_err(io_err(&tmp))?;
    }
    fs::rename(&tmp, dir.join("ack")).map_err(io_err(dir))?;
    sync_dir(dir)
}

#[cfg(test)]
mod tests;
