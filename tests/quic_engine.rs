//! QUIC through the engine's library API: secrets that arrive after their packets (a
//! live capture whose browser writes its key log as it goes) still decrypt the parked
//! packets, and the HTTP/3 exchanges come out.

use std::path::PathBuf;

use wiretale::analysis::{Engine, EngineConfig};
use wiretale::capture;
use wiretale::proto::tls::KeyLog;

fn lab(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/quic/lab")
        .join(name)
}

fn requests(engine: &mut Engine) -> Vec<String> {
    let mut out: Vec<String> = engine
        .take_http()
        .iter()
        .map(|h| format!("{} {}", h.tx.stream.unwrap(), h.tx.uri.as_deref().unwrap()))
        .collect();
    out.sort();
    out
}

#[test]
fn keys_that_arrive_late_open_the_parked_packets() {
    for cap in ["aioquic-h3", "chromium-h3"] {
        let mut engine = Engine::new(EngineConfig::default());
        // A key log that is followed but still empty, as when the capture starts.
        engine.set_tls_keys(KeyLog::new());
        let mut src = capture::open(&lab(&format!("{cap}.pcapng"))).unwrap();
        while let Ok(Some(frame)) = src.next_frame() {
            engine.process(&frame);
        }
        assert!(
            requests(&mut engine).is_empty(),
            "{cap}: nothing decrypted yet"
        );
        // The browser wrote its secrets; the followed log is read again.
        engine.set_tls_keys(KeyLog::read(&lab(&format!("{cap}.keys"))).unwrap());
        engine.finish();
        let got = requests(&mut engine);
        let log = std::fs::read_to_string(lab(&format!("{cap}.h3.tsv"))).unwrap();
        let mut want: Vec<String> = log
            .lines()
            .map(|l| {
                let f: Vec<&str> = l.split('\t').collect();
                format!("{} {}", f[1], f[4])
            })
            .collect();
        want.sort();
        assert_eq!(got, want, "{cap}");
    }
}
