//! One append-only segment file of the outbox (format in the parent module).

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use super::MAX_RECORD;

const HEADER: usize = 16;

#[derive(Debug)]
pub enum SegmentError {
    Io(io::Error),
}

/// What loading found wrong.
#[derive(Debug, Default)]
pub struct Damage {
    pub truncated_bytes: u64,
}

#[derive(Debug, Clone, Copy)]
struct Entry {
    seq: u64,
    offset: u64,
    len: u32,
}

pub struct Segment {
    path: PathBuf,
    first_seq: u64,
    file: File,
    index: Vec<Entry>,
    bytes: u64,
}

fn crc(seq: u64, payload: &[u8]) -> u32 {
    let mut h = crc32fast::Hasher::new();
    h.update(&seq.to_le_bytes());
    h.update(payload);
    h.finalize()
}

impl Segment {
    pub fn create(path: &Path, first_seq: u64) -> io::Result<Segment> {
        let file = OpenOptions::new().read(true).append(true).create_new(true).open(path)?;
        file.sync_all()?;
        Ok(Segment { path: path.to_path_buf(), first_seq, file, index: Vec::new(), bytes: 0 })
    }

    /// Reads and checks every record; cuts the file at the first bad one.
    pub fn load(path: &Path, first_seq: u64) -> Result<(Segment, Damage), SegmentError> {
        let data = std::fs::read(path).map_err(SegmentError::Io)?;
        let mut index = Vec::new();
        let mut pos = 0usize;
        let mut expect = first_seq;
        while pos + HEADER <= data.len() {
            let len = u32::from_le_bytes(data[pos..pos + 4].try_into().expect("4 bytes")) as usize;
            let sum = u32::from_le_bytes(data[pos + 4..pos + 8].try_into().expect("4 bytes"));
            let seq = u64::from_le_bytes(data[pos + 8..pos + 16].try_into().expect("8 bytes"));
            let end = pos + HEADER + len;
            if len > MAX_RECORD || end > data.len() || seq != expect || crc(seq, &data[pos + HEADER..end]) != sum {
                break;
            }
            index.push(Entry { seq, offset: pos as u64, len: len as u32 });
            expect += 1;
            pos = end;
        }
        let mut damage = Damage::default();
        if pos < data.len() {
            damage.truncated_bytes = (data.len() - pos) as u64;
            tracing::warn!(
                segment = %path.display(),
                kept = index.len(),
                cut_bytes = damage.truncated_bytes,
                "outbox segment damaged (torn write?); cut after the last good record"
            );
            let f = OpenOptions::new().write(true).open(path).map_err(SegmentError::Io)?;
            f.set_len(pos as u64).and_then(|_| f.sync_all()).map_err(SegmentError::Io)?;
        }
        let file = OpenOptions::new().read(true).append(true).open(path).map_err(SegmentError::Io)?;
        Ok((Segment { path: path.to_path_buf(), first_seq, file, index, bytes: pos as u64 }, damage))
    }

    /// Writes one record and fsyncs it.
    pub fn append(&mut self, seq: u64, payload: &[u8]) -> io::Result<()> {
        let mut buf = Vec::with_capacity(HEADER + payload.len());
        buf.extend_from_slice(&(payload.len() as u32).to_le_bytes());
        buf.extend_from_slice(&crc(seq, payload).to_le_bytes());
        buf.extend_from_slice(&seq.to_le_bytes());
        buf.extend_from_slice(payload);
        self.file.write_all(&buf)?;
        self.file.sync_data()?;
        self.index.push(Entry { seq, offset: self.bytes, len: payload.len() as u32 });
        self.bytes += buf.len() as u64;
        Ok(())
    }

    pub fn read_from(&self, from: u64, limit: usize, out: &mut Vec<(u64, Vec<u8>)>) -> io::Result<()> {
        for e in self.index.iter().filter(|e| e.seq >= from).take(limit) {
            let mut payload = vec![0u8; e.len as usize];
            self.file.read_exact_at(&mut payload, e.offset + HEADER as u64)?;
            out.push((e.seq, payload));
        }
        Ok(())
    }

    pub fn count_from(&self, below: u64) -> u64 {
        self.index.iter().filter(|e| e.seq >= below).count() as u64
    }

    pub fn first_seq(&self) -> u64 {
        self.first_seq
    }

    pub fn last_seq(&self) -> Option<u64> {
        self.index.last().map(|e| e.seq)
    }

    pub fn bytes(&self) -> u64 {
        self.bytes
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}
