use super::*;

fn payload(i: u64) -> Vec<u8> {
    format!("{{\"seq\":{i},\"pad\":\"{}\"}}", "x".repeat((i % 37) as usize)).into_bytes()
}

#[test]
fn records_survive_a_restart_in_order_until_acknowledged() {
    let dir = tempfile::tempdir().unwrap();
    {
        let (mut ob, rec) = Outbox::open(dir.path(), DEFAULT_MAX_BYTES).unwrap();
        assert_eq!(rec, Recovery::default());
        for i in 0..10 {
            assert_eq!(ob.append(&payload(i)).unwrap(), i);
        }
        ob.ack_through(3).unwrap();
        assert_eq!(ob.depth(), 6);
    }
    let (mut ob, rec) = Outbox::open(dir.path(), DEFAULT_MAX_BYTES).unwrap();
    assert_eq!(rec.pending, 6);
    let pending = ob.pending_from(0, 100).unwrap();
    assert_eq!(pending.iter().map(|(s, _)| *s).collect::<Vec<_>>(), (4..10).collect::<Vec<_>>());
    assert_eq!(pending[0].1, payload(4));
    assert_eq!(ob.append(b"after restart").unwrap(), 10, "sequence continues");
    ob.ack_through(10).unwrap();
    assert_eq!(ob.depth(), 0);
    assert!(ob.pending_from(0, 10).unwrap().is_empty());
}

#[test]
fn a_directory_already_open_is_refused_until_its_outbox_closes() {
    let dir = tempfile::tempdir().unwrap();
    let (mut first, _) = Outbox::open(dir.path(), DEFAULT_MAX_BYTES).unwrap();
    first.append(b"kept").unwrap();
    let second = Outbox::open(dir.path(), DEFAULT_MAX_BYTES);
    let err = second.err().expect("a second open of one directory must fail");
    assert!(matches!(err, OutboxError::Locked { .. }), "{err}");
    let text = err.to_string();
    assert!(text.contains(&dir.path().display().to_string()) && text.contains("[outbox] dir"), "{text}");
    drop(first);
    let (reopened, rec) = Outbox::open(dir.path(), DEFAULT_MAX_BYTES).unwrap();
    assert_eq!(rec.pending, 1, "the refused open touched nothing");
    assert_eq!(reopened.depth(), 1);
}

#[test]
fn acknowledged_segments_are_deleted_and_the_budget_drops_oldest_first() {
    let dir = tempfile::tempdir().unwrap();
    // 4 KB budget: segments roll at 1 KB.
    let (mut ob, _) = Outbox::open(dir.path(), 4096).unwrap();
    for i in 0..120 {
        ob.append(&payload(i)).unwrap();
    }
    assert!(ob.bytes() <= 4096 + 1024, "{}", ob.bytes());
    assert!(ob.dropped() > 0, "over budget: oldest records dropped");
    let pending = ob.pending_from(0, 1000).unwrap();
    assert_eq!(pending.last().unwrap().0, 119, "the newest records are kept");
    assert_eq!(pending.len() as u64 + ob.dropped(), 120, "every record is either pending or counted as dropped");
    let segs_before = std::fs::read_dir(dir.path()).unwrap().count();
    ob.ack_through(115).unwrap();
    let segs_after = std::fs::read_dir(dir.path()).unwrap().count();
    assert!(segs_after < segs_before, "acknowledged segments removed ({segs_before} -> {segs_after})");
    assert_eq!(ob.pending_from(0, 100).unwrap().iter().map(|(s, _)| *s).collect::<Vec<_>>(), vec![116, 117, 118, 119]);
}

#[test]
fn oversized_records_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let (mut ob, _) = Outbox::open(dir.path(), DEFAULT_MAX_BYTES).unwrap();
    assert!(matches!(ob.append(&vec![0u8; MAX_RECORD + 1]), Err(OutboxError::TooLarge(_))));
    assert_eq!(ob.depth(), 0);
}

/// A segment of 24 fsynced records, written once, that the property test damages.
fn base_segment() -> &'static (Vec<u8>, Vec<u64>) {
    static BASE: std::sync::OnceLock<(Vec<u8>, Vec<u64>)> = std::sync::OnceLock::new();
    BASE.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let (mut ob, _) = Outbox::open(dir.path(), DEFAULT_MAX_BYTES).unwrap();
        for i in 0..24 {
            ob.append(&payload(i)).unwrap();
        }
        let bytes = std::fs::read(dir.path().join(format!("seg-{:020}.log", 0))).unwrap();
        // End offset of each record.
        let mut ends = Vec::new();
        let mut pos = 0u64;
        for i in 0..24 {
            pos += 16 + payload(i).len() as u64;
            ends.push(pos);
        }
        assert_eq!(pos as usize, bytes.len());
        (bytes, ends)
    })
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig { cases: 1200, ..Default::default() })]

    /// A crash tears the tail: the file is cut at `cut`, and optionally the bytes from
    /// `garbage_at` to the cut are overwritten. Replay must return exactly the records
    /// that lie wholly before the damage, intact, in order, and nothing else.
    #[test]
    fn a_torn_tail_never_yields_a_corrupt_record_nor_loses_an_intact_one(
        cut_frac in 0.0f64..=1.0,
        garbage in proptest::option::of((0.0f64..=1.0, proptest::num::u8::ANY)),
    ) {
        let (base, ends) = base_segment();
        let cut = (cut_frac * base.len() as f64) as usize;
        let mut bytes = base[..cut].to_vec();
        let mut damage_at = cut as u64;
        if let Some((frac, value)) = garbage {
            let at = (frac * cut as f64) as usize;
            if at < bytes.len() && bytes[at] != value {
                bytes[at] = value;
                damage_at = at as u64;
            }
        }
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(format!("seg-{:020}.log", 0)), &bytes).unwrap();
        let (ob, rec) = Outbox::open(dir.path(), DEFAULT_MAX_BYTES).unwrap();
        let intact = ends.iter().filter(|e| **e <= damage_at).count() as u64;
        let got = ob.pending_from(0, 100).unwrap();
        proptest::prop_assert_eq!(got.len() as u64, intact);
        for (i, (seq, data)) in got.iter().enumerate() {
            proptest::prop_assert_eq!(*seq, i as u64);
            proptest::prop_assert_eq!(data, &payload(i as u64));
        }
        proptest::prop_assert_eq!(rec.pending, intact);
        proptest::prop_assert_eq!(ob.next_seq(), intact, "new records continue right after the last intact one");
    }
}
