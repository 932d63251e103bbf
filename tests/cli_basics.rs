//! Command-line basics through the real binary on the bundled and shared captures:
//! mistyped commands, `follow` of a missing or silent connection, body summaries and
//! JSON escaping, `export -w -` and its refusal to overwrite its input, `packets -c 0`,
//! `--help` headings, and one meaning of `#N` (the connection id) everywhere.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::{bin, shared_root};
use serde_json::Value;

fn lab(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("captures")
        .join(name)
}

fn wt(args: &[&str]) -> Output {
    Command::new(bin())
        .args(args)
        .output()
        .expect("run wiretale")
}

fn text(b: &[u8]) -> String {
    String::from_utf8(b.to_vec()).expect("UTF-8 output")
}

fn p(path: &Path) -> &str {
    path.to_str().unwrap()
}

fn json_lines(o: &Output) -> Vec<Value> {
    text(&o.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

/// `1,234,567` as the summaries write byte counts.
fn thousands(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

// ---- 1. mistyped subcommands -------------------------------------------------------

#[test]
fn a_mistyped_command_gets_the_command_it_meant() {
    let f = lab("lab-page.pcap");
    for (typed, meant) in [
        ("conn", "conns"),
        ("pakets", "packets"),
        ("stroy", "story"),
        ("folow", "follow"),
        ("exprot", "export"),
    ] {
        for args in [vec![typed, p(&f)], vec![typed]] {
            let o = wt(&args);
            let err = text(&o.stderr);
            assert_eq!(o.status.code(), Some(1), "{args:?}: {err}");
            assert!(o.stdout.is_empty(), "{args:?}");
            assert_eq!(err.lines().count(), 1, "{args:?}: {err}");
            assert!(
                err.contains(&format!("'{typed}'"))
                    && err.contains(&format!("did you mean 'wiretale {meant}'?")),
                "{args:?}: {err}"
            );
            assert!(!err.contains("cannot be used with"), "{err}");
        }
    }
}

#[test]
fn a_file_named_like_a_command_is_still_a_file() {
    // `conn` exists here, so `wiretale conn` is the TUI on that file (which, with no
    // terminal, says to use the batch commands), not a suggestion.
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(lab("lab-curl.pcap"), dir.path().join("conn")).unwrap();
    let o = Command::new(bin())
        .arg("conn")
        .current_dir(dir.path())
        .output()
        .unwrap();
    let err = text(&o.stderr);
    assert!(!err.contains("did you mean"), "{err}");
    assert!(err.contains("terminal UI needs a terminal"), "{err}");
    // A word close to nothing is left to the file opener.
    let o = wt(&["zzzzzz.pcap"]);
    assert!(!text(&o.stderr).contains("did you mean"));
}

// ---- 2. follow: missing connection vs connection without payload --------------------

#[test]
fn follow_of_a_missing_connection_is_one_line_and_status_1() {
    let f = lab("lab-page.pcap");
    let n = json_lines(&wt(&["conns", "--json", p(&f)])).len();
    assert!(n > 10);
    for extra in [&[][..], &["--json"], &["-Y", "tcp"], &["--hex"]] {
        let mut args = vec!["follow", p(&f), "--conn", "999"];
        args.extend_from_slice(extra);
        let o = wt(&args);
        let err = text(&o.stderr);
        assert_eq!(o.status.code(), Some(1), "{args:?}: {err}");
        assert!(o.stdout.is_empty(), "{args:?}");
        assert_eq!(err.lines().count(), 1, "{args:?}: {err}");
        assert!(err.contains("no connection 999"), "{err}");
        if extra.is_empty() {
            assert!(err.contains(&format!("0 to {}", n - 1)), "{err}");
        }
    }
}

#[test]
fn follow_of_a_connection_without_payload_says_so_and_exits_0() {
    let f = lab("lab-curl.pcap");
    let conns = json_lines(&wt(&["conns", "--json", p(&f)]));
    let silent: Vec<&Value> = conns
        .iter()
        .filter(|c| c["bytes"]["client"] == 0 && c["bytes"]["server"] == 0)
        .collect();
    assert!(!silent.is_empty(), "lab-curl has refused connections");
    for c in silent {
        let id = c["id"].to_string();
        for json in [false, true] {
            let mut args = vec!["follow", p(&f), "--conn", &id];
            if json {
                args.push("--json");
            }
            let o = wt(&args);
            let err = text(&o.stderr);
            assert_eq!(o.status.code(), Some(0), "{err}");
            assert!(o.stdout.is_empty());
            assert_eq!(err.lines().count(), 1, "{err}");
            assert!(err.contains("carried no payload"), "{err}");
            let server = format!(
                "{}:{}",
                c["server"]["ip"].as_str().unwrap(),
                c["server"]["port"]
            );
            assert!(err.contains(&server), "{err} names {server}");
        }
    }
}

// ---- 6. follow: body summaries and JSON escaped once ---------------------------------

/// The connection and body length of the exchange whose URI ends with `uri_end`.
fn exchange(f: &Path, uri_end: &str) -> (u64, u64, Value) {
    let h = json_lines(&wt(&["http", "--json", p(f)]))
        .into_iter()
        .find(|h| h["uri"].as_str().is_some_and(|u| u.ends_with(uri_end)))
        .unwrap_or_else(|| panic!("{uri_end} in {}", f.display()));
    (
        h["conn"].as_u64().unwrap(),
        h["response_body_len"].as_u64().unwrap(),
        h,
    )
}

#[test]
fn follow_summarises_binary_bodies_and_decodes_compressed_text() {
    let f = lab("lab-page.pcap");
    let (png_conn, png_len, _) = exchange(&f, "/photo.png");
    let out = text(&wt(&["follow", p(&f), "--conn", &png_conn.to_string()]).stdout);
    let line = format!("[PNG image, {} bytes]", thousands(png_len));
    assert!(out.lines().any(|l| l == line), "{line} in\n{out}");
    assert!(!out.contains("IHDR"), "the PNG's bytes are not printed");
    assert!(out.contains("Content-Type: image/png\\r\\n"), "heads stay");
    // --hex and --raw still show every byte.
    let hex = text(&wt(&["follow", p(&f), "--conn", &png_conn.to_string(), "--hex"]).stdout);
    assert!(hex.contains(".PNG....") && hex.contains("49 48 44") && !hex.contains("[PNG image"));
    let raw = wt(&[
        "follow",
        p(&f),
        "--conn",
        &png_conn.to_string(),
        "--raw",
        "--side",
        "server",
    ]);
    assert!(raw.stdout.windows(8).any(|w| w == b"\x89PNG\r\n\x1a\n"));

    let (html_conn, gz_len, h) = exchange(&f, "/index.html");
    assert_eq!(h["content_encoding"], "gzip");
    let out = text(&wt(&["follow", p(&f), "--conn", &html_conn.to_string()]).stdout);
    let summary = out
        .lines()
        .find(|l| l.starts_with("[text/html, ") && l.ends_with(" bytes of gzip:]"))
        .unwrap_or_else(|| panic!("decoded summary in\n{out}"));
    assert!(
        summary.contains(&format!("decoded from {} bytes", thousands(gz_len))),
        "{summary}"
    );
    assert!(out.contains("<h1>How networks connect</h1>"), "{out}");
}

#[test]
fn follow_summaries_on_shared_captures() {
    let root = shared_root();
    let pipelined = root.join("zeek/http-pipelined-requests.pcap");
    let out = text(&wt(&["follow", p(&pipelined), "--conn", "0"]).stdout);
    let bodies: Vec<&str> = out.lines().filter(|l| l.starts_with('[')).collect();
    assert_eq!(
        bodies,
        [
            "[text/css, 2,675 bytes decoded from 946 bytes of gzip:]",
            "[application/x-javascript, 21,421 bytes decoded from 6,716 bytes of gzip:]",
            "[GIF image, 94 bytes]",
            "[PNG image, 2,349 bytes]",
            "[PNG image, 27,579 bytes]",
        ],
        "{out}"
    );
    // The lengths agree with the `http` records' body lengths (before decoding).
    let lens: Vec<u64> = json_lines(&wt(&["http", "--json", p(&pipelined)]))
        .iter()
        .map(|h| h["response_body_len"].as_u64().unwrap())
        .collect();
    for n in [946, 6716, 94, 2349, 27579] {
        assert!(lens.contains(&n), "{n} in {lens:?}");
    }
    let gz = root.join("zeek/http-get-gzip.pcap");
    let out = text(&wt(&["follow", p(&gz), "--conn", "0"]).stdout);
    assert!(out.contains("[application/json, 197 bytes decoded from 165 bytes of gzip:]"));
    assert!(out.contains("\"gzipped\": true"), "{out}");
    let exe = root.join("suricata-verify/http-mime-truncated.pcap");
    let out = text(&wt(&["follow", p(&exe), "--conn", "0"]).stdout);
    assert!(out.contains("[Windows executable, 334,288 bytes]"), "{out}");
}

#[test]
fn follow_json_escapes_text_once() {
    let f = lab("lab-page.pcap");
    let (conn, _, _) = exchange(&f, "/index.html");
    let id = conn.to_string();
    let o = wt(&["follow", p(&f), "--conn", &id, "--json"]);
    assert_eq!(o.status.code(), Some(0));
    let line = text(&o.stdout);
    // JSON's own escape for CR LF, not an escaped backslash before an `r`.
    assert!(
        line.contains(r#"GET /index.html HTTP/1.1\r\nHost: "#),
        "{line}"
    );
    assert!(!line.contains(r"\\r\\n"), "{line}");
    // The client's text turns, decoded, are exactly the bytes it sent.
    let client: String = json_lines(&o)
        .iter()
        .filter(|t| t["dir"] == "client")
        .map(|t| t["text"].as_str().unwrap().to_string())
        .collect();
    let raw = wt(&["follow", p(&f), "--conn", &id, "--raw", "--side", "client"]);
    assert_eq!(client.as_bytes(), raw.stdout.as_slice());
}

// ---- 3. export -w - and never over its input ----------------------------------------

#[test]
fn export_to_stdout_writes_the_same_capture_as_to_a_file() {
    let f = lab("lab-page.pcap");
    let dir = tempfile::tempdir().unwrap();
    for (name, format) in [("out.pcap", None), ("out.pcapng", Some("pcapng"))] {
        let out = dir.path().join(name);
        let o = wt(&["export", p(&f), "-Y", "tcp.port == 80", "-w", p(&out)]);
        assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
        let mut args = vec!["export", p(&f), "-Y", "tcp.port == 80", "-w", "-"];
        if let Some(fmt) = format {
            args.extend(["--format", fmt]);
        }
        let o = wt(&args);
        assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
        assert!(text(&o.stderr).contains("to standard output"));
        assert_eq!(o.stdout, std::fs::read(&out).unwrap(), "{name}");
    }
    // And what went to stdout reads back as the same packets.
    let piped = dir.path().join("piped.pcap");
    let o = wt(&["export", p(&f), "-Y", "tcp.port == 80", "-w", "-"]);
    std::fs::write(&piped, &o.stdout).unwrap();
    let want = json_lines(&wt(&["packets", "--json", p(&f), "-Y", "tcp.port == 80"]));
    let got = json_lines(&wt(&["packets", "--json", p(&piped)]));
    assert_eq!(got.len(), want.len());
    for (g, w) in got.iter().zip(&want) {
        assert_eq!(
            (&g["ts"], &g["len"], &g["info"]),
            (&w["ts"], &w["len"], &w["info"])
        );
    }
    // `--format pcap` wins over a .pcapng name.
    let forced = dir.path().join("forced.pcapng");
    wt(&[
        "export",
        p(&f),
        "-Y",
        "dns",
        "-w",
        p(&forced),
        "--format",
        "pcap",
    ]);
    assert_eq!(&std::fs::read(&forced).unwrap()[..4], b"\x4d\x3c\xb2\xa1");
}

#[test]
fn export_refuses_to_overwrite_its_input_however_named() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("x.pcap");
    std::fs::copy(lab("lab-curl.pcap"), &input).unwrap();
    let before = std::fs::read(&input).unwrap();
    std::fs::hard_link(&input, dir.path().join("hard.pcap")).unwrap();
    std::os::unix::fs::symlink(&input, dir.path().join("sym.pcap")).unwrap();
    std::fs::create_dir(dir.path().join("sub")).unwrap();
    for out in [
        "x.pcap",
        "./x.pcap",
        "sub/../x.pcap",
        "hard.pcap",
        "sym.pcap",
        p(&input),
    ] {
        let o = Command::new(bin())
            .args(["export", "x.pcap", "-Y", "tcp", "-w", out])
            .current_dir(dir.path())
            .output()
            .unwrap();
        let err = text(&o.stderr);
        assert_eq!(o.status.code(), Some(1), "{out}: {err}");
        assert_eq!(err.lines().count(), 1, "{out}: {err}");
        assert!(err.contains("is the input file"), "{out}: {err}");
        assert_eq!(
            std::fs::read(&input).unwrap(),
            before,
            "{out}: input untouched"
        );
    }
    // A .part file that is the input (where the export writes first) is refused too.
    std::fs::rename(&input, dir.path().join("y.pcap.part")).unwrap();
    let o = Command::new(bin())
        .args(["export", "y.pcap.part", "-Y", "tcp", "-w", "y.pcap"])
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1), "{}", text(&o.stderr));
    assert_eq!(
        std::fs::read(dir.path().join("y.pcap.part")).unwrap(),
        before
    );
    // A different file is fine.
    let o = Command::new(bin())
        .args(["export", "y.pcap.part", "-Y", "tcp", "-w", "other.pcap"])
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
}

// ---- 4. packets -c 0 -----------------------------------------------------------------

#[test]
fn packets_count_zero_is_refused_and_counts_count_matches() {
    let f = lab("lab-page.pcap");
    let o = wt(&["packets", p(&f), "-c", "0"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(o.stdout.is_empty());
    assert!(
        text(&o.stderr).contains("leave -c out"),
        "{}",
        text(&o.stderr)
    );
    let o = wt(&["packets", p(&f), "-c", "3", "-Y", "http"]);
    let lines: Vec<String> = text(&o.stdout).lines().map(String::from).collect();
    assert_eq!(lines.len(), 3);
    assert!(lines.iter().all(|l| l.contains("HTTP")), "{lines:?}");
}

// ---- 5. --help headings ----------------------------------------------------------------

#[test]
fn every_command_help_lists_only_limit_flags_under_limits() {
    let top = text(&wt(&["--help"]).stdout);
    let commands: Vec<String> = top
        .lines()
        .skip_while(|l| !l.starts_with("Commands:"))
        .skip(1)
        .take_while(|l| l.starts_with("  "))
        .filter_map(|l| l.split_whitespace().next().map(String::from))
        .filter(|c| c != "help")
        .collect();
    assert!(commands.len() >= 9, "{commands:?}");
    let mut with_limits = 0;
    for (c, flag) in commands.iter().flat_map(|c| [(c, "-h"), (c, "--help")]) {
        let help = text(&wt(&[c, flag]).stdout);
        let Some((own, limits)) = help.split_once("Limits (see docs/limits.md):") else {
            continue;
        };
        with_limits += 1;
        for l in limits.lines().filter(|l| l.trim_start().starts_with('-')) {
            assert!(
                l.contains("--max-") || l.contains("--tcp-idle-timeout"),
                "{c}: {l}"
            );
        }
        assert!(own.contains("-h, --help"), "{c}");
    }
    assert!(
        with_limits >= 14,
        "7 commands with limits, short and long help"
    );
    let packets = text(&wt(&["packets", "--help"]).stdout);
    let (own, _) = packets.split_once("Limits").unwrap();
    assert!(own.contains("-c, --count <N>"), "{packets}");
    let follow = text(&wt(&["follow", "--help"]).stdout);
    let (own, _) = follow.split_once("Limits").unwrap();
    for o in ["--conn <ID>", "--raw", "--hex", "--side"] {
        assert!(own.contains(o), "{o}: {follow}");
    }
}

// ---- 7. #N is the connection id everywhere ----------------------------------------------

#[test]
fn hash_n_means_the_same_connection_in_story_conns_follow_and_packets() {
    let f = lab("lab-page.pcap");
    let conns = json_lines(&wt(&["conns", "--json", p(&f)]));
    let ep = |v: &Value| format!("{}:{}", v["ip"].as_str().unwrap(), v["port"]);
    let story = text(&wt(&["story", p(&f)]).stdout);
    let mut checked_endpoints = 0;
    let mut checked_requests = 0;
    for line in story.lines() {
        let words: Vec<&str> = line.split_whitespace().collect();
        for (i, w) in words.iter().enumerate() {
            let digits: String = w
                .trim_start_matches('(')
                .strip_prefix('#')
                .map(|r| r.chars().take_while(char::is_ascii_digit).collect())
                .unwrap_or_default();
            let Ok(id) = digits.parse::<usize>() else {
                continue;
            };
            let c = &conns[id];
            assert_eq!(c["id"], id, "conns are numbered in order");
            // `#N client → server` names the connection's own endpoints.
            if words.get(i + 2) == Some(&"→") {
                assert_eq!(words[i + 1], ep(&c["client"]), "{line}");
                assert_eq!(words[i + 3], ep(&c["server"]), "{line}");
                checked_endpoints += 1;
            }
            // `GET /uri (#N…)` was sent on connection N.
            if i >= 2 && words[0].starts_with('+') && words[1] == "GET" {
                let uri = words[2];
                let out = wt(&["follow", p(&f), "--conn", &id.to_string(), "--json"]);
                let sent = json_lines(&out).iter().any(|t| {
                    t["dir"] == "client"
                        && t["text"]
                            .as_str()
                            .is_some_and(|s| s.contains(&format!("GET {uri} ")))
                });
                assert!(sent, "{line}: follow --conn {id}");
                checked_requests += 1;
            }
        }
    }
    assert!(checked_endpoints >= 5 && checked_requests >= 5, "{story}");
    // `tcp.stream` is tshark's count of TCP conversations only: #28 is stream 1 here.
    let s1 = json_lines(&wt(&["packets", "--json", p(&f), "-Y", "tcp.stream == 1"]));
    assert!(!s1.is_empty() && s1.iter().all(|x| x["conn"] == 28));
    // `packets --json` `conn` and the filter field `conn.id` are that id too.
    let pk = json_lines(&wt(&["packets", "--json", p(&f), "-Y", "conn.id == 28"]));
    assert!(!pk.is_empty());
    let c = &conns[28];
    for x in &pk {
        assert_eq!(x["conn"], 28);
        let pair = [
            format!("{}:{}", x["src"].as_str().unwrap(), x["sport"]),
            format!("{}:{}", x["dst"].as_str().unwrap(), x["dport"]),
        ];
        assert!(pair.contains(&ep(&c["client"])) && pair.contains(&ep(&c["server"])));
    }
}

#[test]
fn export_to_stdout_refuses_a_terminal() {
    // `script` (util-linux) gives the command a pseudo-terminal as its stdout.
    let cmd = format!(
        "{} export {} -Y tcp -w -",
        bin().display(),
        lab("lab-curl.pcap").display()
    );
    let o = Command::new("script")
        .args(["-qec", &cmd, "/dev/null"])
        .output()
        .expect("`script` from util-linux is needed to give the export a terminal");
    let all = text(&o.stdout);
    assert_eq!(o.status.code(), Some(1), "{all}");
    assert!(all.contains("writes a binary capture"), "{all}");
    assert!(
        !all.contains("\u{fffd}") && all.len() < 300,
        "no capture bytes: {all:?}"
    );
}

/// The binary allocates with jemalloc (`src/main.rs`): asked through its run-time
/// settings to print its statistics at exit, it does, after the command's own output;
/// and the compiled-in settings (`.cargo/config.toml`) are the ones in force.
#[test]
fn the_binary_allocates_with_jemalloc() {
    let o = Command::new(bin())
        .args(["conns", p(&lab("lab-page.pcap"))])
        // Only the general part (the settings), not the per-arena tables.
        .env(
            "_RJEM_MALLOC_CONF",
            "stats_print:true,stats_print_opts:mdablxeh",
        )
        .output()
        .expect("run wiretale");
    assert!(o.status.success(), "{}", text(&o.stderr));
    assert!(text(&o.stdout).contains("198.18.1.80"), "the command ran");
    let stats =
        String::from_utf8_lossy(&o.stdout).into_owned() + &String::from_utf8_lossy(&o.stderr);
    assert!(
        stats.contains("Begin jemalloc statistics"),
        "no jemalloc statistics: the binary allocates with something else"
    );
    for setting in ["opt.dirty_decay_ms: 1000", "opt.muzzy_decay_ms: 0"] {
        assert!(stats.contains(setting), "{setting} not in force:\n{stats}");
    }
}
