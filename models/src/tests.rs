use super::*;

#[test]
fn builtin_manifests_parse_and_map_coco_ids() {
    for (id, _) in BUILTIN {
        let m = Manifest::builtin(id).unwrap();
        assert_eq!(&m.id, id);
        let table = m.class_table();
        assert_eq!(table[0], Some(ObjectClass::Person));
        assert_eq!(table[3], Some(ObjectClass::Motorcycle));
        assert_eq!(table[4], None, "airplane is not a product class");
        assert_eq!(table[7], Some(ObjectClass::Truck));
    }
    assert!(matches!(Manifest::builtin("resnet"), Err(ManifestError::UnknownBuiltin(_))));
}

fn yolox_text() -> String {
    BUILTIN[0].1.to_string()
}

#[test]
fn unknown_field_is_reported_with_its_path() {
    let text = yolox_text().replace("pad_value = 114", "pad_value = 114\npad_colour = 1");
    let err = Manifest::from_toml("m.toml", &text).unwrap_err().to_string();
    assert!(err.contains("m.toml") && err.contains("input.letterbox") && err.contains("pad_colour"), "{err}");
}

#[test]
fn bad_values_name_the_field() {
    let cases = [
        ("sha256 = \"695e", "sha256 = \"X95e", "sha256"),
        ("width = 416", "width = 7", "input.width"),
        ("std = [1.0, 1.0, 1.0]", "std = [1.0, 0.0, 1.0]", "input.std[1]"),
        ("strides = [8, 16, 32]", "strides = [7]", "output.strides"),
        ("decoder = \"yolox\"", "decoder = \"nanodet\"", "output.tensors"),
        ("5 = \"bus\"", "bus = \"bus\"", "class_map.bus"),
        ("3 = \"motorcycle\"", "3 = \"scooter\"", "class_map.3"),
    ];
    for (from, to, field) in cases {
        let text = yolox_text().replace(from, to);
        assert_ne!(text, yolox_text(), "replacement {from} did not apply");
        let err = Manifest::from_toml("m.toml", &text).unwrap_err().to_string();
        assert!(err.contains(field), "expected {field} in {err}");
    }
}

proptest::proptest! {
    #[test]
    fn arbitrary_text_never_panics(s in ".{0,400}") {
        let _ = Manifest::from_toml("fuzz", &s);
    }

    #[test]
    fn truncated_manifest_errors_cleanly(cut in 0usize..900) {
        let text = yolox_text();
        let cut = cut.min(text.len());
        if let Ok(m) = Manifest::from_toml("cut", &text[..cut]) {
            // Only a cut inside the trailing class map can still parse: a prefix of it.
            let full = Manifest::builtin("yolox_nano_416").unwrap();
            proptest::prop_assert_eq!(&m.input, &full.input);
            proptest::prop_assert!(m.class_map.iter().all(|(k, v)| full.class_map.get(k) == Some(v)));
        }
    }
}
