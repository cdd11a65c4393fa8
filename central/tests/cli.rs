//! `central validate` and `central run` on bad configs: a clear message naming the file
//! and the field, a non-zero exit, nothing started.

use std::process::Command;

fn central(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_central")).args(args).output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into(),
        String::from_utf8_lossy(&out.stderr).into(),
    )
}

#[test]
fn bad_configs_are_refused_with_the_field_named() {
    let dir = tempfile::tempdir().unwrap();
    let conf = dir.path().join("c.toml");
    let path = conf.to_str().unwrap();

    std::fs::write(&conf, "[broker]\nembedded = true\n[store]\nkind = \"sqlite\"\npath = \"c.db\"\n").unwrap();
    let (code, out, _) = central(&["validate", "--config", path]);
    assert_eq!(code, 0);
    assert!(out.contains(": ok"), "{out}");

    std::fs::write(&conf, "[broker]\nembedded = true\nlisten_port = 1\n[store]\nkind = \"sqlite\"\n").unwrap();
    let (code, _, err) = central(&["validate", "--config", path]);
    assert_ne!(code, 0);
    assert!(err.contains("c.toml") && err.contains("listen_port"), "{err}");

    std::fs::write(&conf, "[broker]\nclient_id = \"x y\"\n[store]\nkind = \"postgres\"\n[ingest]\nmax_batch = 0\n")
        .unwrap();
    for cmd in ["validate", "run"] {
        let (code, _, err) = central(&[cmd, "--config", path]);
        assert_eq!(code, 2, "{cmd}: {err}");
        for field in ["broker.client_id", "store.url", "ingest.max_batch"] {
            assert!(err.contains(field), "{cmd}: {field} not named in: {err}");
        }
    }

    // Every unknown field in one pass, then the semantic problems of what could be read.
    std::fs::write(
        &conf,
        "[broker]\nembedded = true\nlisten_port = 1\n[store]\nkind = \"sqlite\"\npath = \"c.db\"\n\
         [http]\npublic_per_minut = 5\n[ingest]\nmax_batch = 0\nsilent_after = 3\n",
    )
    .unwrap();
    let (code, _, err) = central(&["validate", "--config", path]);
    assert_eq!(code, 2, "{err}");
    for field in ["broker.listen_port", "http.public_per_minut", "ingest.silent_after", "ingest.max_batch"] {
        assert!(err.contains(field), "{field} not named in: {err}");
    }

    let (code, _, err) = central(&["validate", "--config", "/nonexistent/central.toml"]);
    assert_ne!(code, 0);
    assert!(err.contains("/nonexistent/central.toml"), "{err}");

    // A store that cannot be opened stops `run` before it listens anywhere.
    std::fs::write(
        &conf,
        "[broker]\nport = 1\n[store]\nkind = \"sqlite\"\npath = \"/nonexistent/dir/c.db\"\n[http]\n\
            listen = \"127.0.0.1:0\"\n",
    )
    .unwrap();
    let (code, _, err) = central(&["run", "--config", path]);
    assert_ne!(code, 0);
    assert!(err.contains("store") && err.contains("/nonexistent/dir/c.db"), "{err}");
}
