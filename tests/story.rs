//! The story on the bundled lab captures (made by `tests/lab/lab.sh` with wiretale's own
//! live capture; see `captures/SOURCES.md`): the tricky stories the issue lists, each
//! checked on real traffic.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

fn bundled(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("captures")
        .join(name)
}

fn json_lines(cmd: &str, file: &Path) -> Vec<Value> {
    let out = Command::new(common::bin())
        .args([cmd, "--json"])
        .arg(file)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{cmd}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn text(cmd: &str, file: &Path) -> String {
    text_with(&[cmd], file)
}

/// Text output with extra arguments (e.g. `--wide`, which keeps lines whole in a pipe).
fn text_with(args: &[&str], file: &Path) -> String {
    let out = Command::new(common::bin())
        .args(args)
        .arg(file)
        .output()
        .unwrap();
    assert!(out.status.success());
    String::from_utf8(out.stdout).unwrap()
}

struct Capture {
    conns: Vec<Value>,
    dns: Vec<Value>,
    http: Vec<Value>,
    story: Vec<Value>,
}

fn load(name: &str) -> Capture {
    let f = bundled(name);
    Capture {
        conns: json_lines("conns", &f),
        dns: json_lines("dns", &f),
        http: json_lines("http", &f),
        story: json_lines("story", &f),
    }
}

impl Capture {
    fn conn(&self, id: &Value) -> &Value {
        self.conns.iter().find(|c| &c["id"] == id).unwrap()
    }
    fn conn_of(&self, uri: &str) -> &Value {
        let h = self
            .http
            .iter()
            .find(|h| h["uri"] == uri)
            .unwrap_or_else(|| panic!("no request for {uri}"));
        self.conn(&h["conn"])
    }
    fn page_of_conn(&self, id: &Value) -> Value {
        self.story
            .iter()
            .find(|e| &e["conn"] == id)
            .map(|e| e["page"].clone())
            .unwrap()
    }
}

#[test]
fn a_browser_page_load_is_one_story_with_named_connections() {
    let c = load("lab-page.pcap");
    let index = c.conn_of("/index.html");
    let page = c.page_of_conn(&index["id"]);
    // Everything the page needed is in its story, on 4 connections to 2 addresses.
    for uri in [
        "/static/site.css",
        "/dir1/img/logo.png",
        "/static/app.js",
        "/dir1/img/photo.png",
        "/favicon.ico",
    ] {
        assert_eq!(
            c.page_of_conn(&c.conn_of(uri)["id"]),
            page,
            "{uri} belongs to the page"
        );
    }
    // The CNAME chain static → cdn → media names the script's connection, though the
    // same address was also answered for img.
    let js = c.conn_of("/static/app.js");
    assert_eq!(js["name"]["qname"], "static.lab.glasscom.com");
    assert_eq!(
        js["name"]["chain"],
        serde_json::json!(["cdn.lab.glasscom.com", "media.lab.glasscom.com"])
    );
    assert_eq!(
        js["name"]["also"],
        serde_json::json!(["img.lab.glasscom.com"])
    );
    assert!(js["name"]["mismatch"].is_null());
    let photo = c.conn_of("/dir1/img/photo.png");
    assert_eq!(photo["name"]["qname"], "img.lab.glasscom.com");
    assert_eq!(photo["server"], js["server"], "one address, several names");
    // The text reads like the book.
    let t = text("story", &bundled("lab-page.pcap"));
    assert!(
        t.contains("page load http://www.lab.glasscom.com/index.html"),
        "{t}"
    );
    assert!(t.contains("connect  #"), "{t}");
    assert!(t.contains("GET /index.html"), "{t}");
    assert!(t.contains("client FIN, then server FIN"), "{t}");
}

#[test]
fn the_tricky_stories_of_the_curl_lab() {
    let c = load("lab-curl.pcap");
    // CNAME chain, followed in the answer.
    assert!(c.story.iter().any(|e| e["kind"] == "dns_answer"
        && e["text"].as_str().unwrap().contains("static.lab.glasscom.com = CNAME cdn.lab.glasscom.com = CNAME media.lab.glasscom.com = 198.18.1.81")));
    // A name resolved twice: two connections to www, each named by its own lookup.
    let www: Vec<&Value> = c
        .conns
        .iter()
        .filter(|k| k["name"]["qname"] == "www.lab.glasscom.com")
        .collect();
    assert!(www.len() >= 2);
    assert_ne!(www[0]["name"]["gap"], www[1]["name"]["gap"]);
    // A connection by address: no lookup named it, and the story says so.
    let req = c
        .http
        .iter()
        .find(|h| {
            h["host"]
                .as_str()
                .unwrap()
                .parse::<std::net::IpAddr>()
                .is_ok()
        })
        .unwrap();
    let by_ip = c.conn(&req["conn"]);
    assert!(by_ip["name"].is_null(), "{by_ip}");
    assert!(c.story.iter().any(|e| e["conn"] == by_ip["id"]
        && e["kind"] == "connect"
        && e["text"].as_str().unwrap().contains("no lookup in capture")));
    // NXDOMAIN.
    assert!(c.story.iter().any(|e| e["kind"] == "dns_answer"
        && e["text"]
            .as_str()
            .unwrap()
            .contains("nope.lab.glasscom.com: NXDOMAIN")));
    // A TC answer retried over TCP.
    let tc = c
        .dns
        .iter()
        .find(|t| t["transport"] == "udp" && t["flags"]["tc"] == true && t["qtype"] == "A")
        .unwrap();
    assert!(c
        .dns
        .iter()
        .any(|t| t["transport"] == "tcp" && t["tc_retry_of"] == tc["seq"]));
    assert!(c
        .story
        .iter()
        .any(|e| e["kind"] == "dns_answer"
            && e["text"].as_str().unwrap().contains("retried over TCP")));
    // Connection refused (port 8080), and https:// refused then http:// in one story.
    let refused: Vec<&Value> = c.conns.iter().filter(|k| k["state"] == "REJ").collect();
    assert_eq!(refused.len(), 2, "8080 and 443");
    let https = refused.iter().find(|k| k["server"]["port"] == 443).unwrap();
    assert!(c
        .story
        .iter()
        .any(|e| e["kind"] == "refused" && e["conn"] == https["id"]));
    let then_http = c
        .http
        .iter()
        .find(|h| {
            let k = c.conn(&h["conn"]);
            k["first_ts"].as_f64() > https["first_ts"].as_f64()
                && k["server"]["ip"] == https["server"]["ip"]
        })
        .unwrap();
    assert_eq!(
        c.page_of_conn(&https["id"]),
        c.page_of_conn(&then_http["conn"]),
        "https then http: one story"
    );
    // An unused connection (like a preconnect).
    let unused = c
        .conns
        .iter()
        .find(|k| {
            k["proto"] == "tcp"
                && k["state"] == "SF"
                && k["bytes"]["client"] == 0
                && k["bytes"]["server"] == 0
        })
        .unwrap();
    assert!(c
        .story
        .iter()
        .any(|e| e["conn"] == unused["id"] && e["text"].as_str().unwrap().contains("never used")));
    // Parallel connections to one server, opened together.
    let photo = c.conn_of("/dir1/img/photo.png");
    let logo = c.conn_of("/dir1/img/logo.png");
    assert_ne!(photo["id"], logo["id"]);
    assert_eq!(photo["server"]["ip"], logo["server"]["ip"]);
    let started = (photo["first_ts"].as_f64().unwrap() - logo["first_ts"].as_f64().unwrap()).abs();
    assert!(started < 0.05, "opened together ({started} s apart)");
    // Two curl processes: two stories (a request from a non-browser client with no
    // document before it is its own story).
    assert_ne!(c.page_of_conn(&photo["id"]), c.page_of_conn(&logo["id"]));
    // Every event has the documented fields.
    for e in &c.story {
        for k in ["ts", "kind", "conn", "page", "text"] {
            assert!(e.get(k).is_some(), "{e}");
        }
    }
}

#[test]
fn the_story_of_a_third_party_capture() {
    // zeek/wikipedia.pcap: a real browser visit to wikipedia.org (2011).
    let f = common::shared_root().join("zeek/wikipedia.pcap");
    let story = json_lines("story", &f);
    let conns = json_lines("conns", &f);
    let upload: Vec<&Value> = conns
        .iter()
        .filter(|c| c["name"]["qname"] == "upload.wikimedia.org")
        .collect();
    assert!(
        upload.len() >= 5,
        "upload.wikimedia.org named by its lookups"
    );
    for c in &upload {
        assert_eq!(
            c["name"]["chain"],
            serde_json::json!(["upload.pmtpa.wikimedia.org"])
        );
    }
    // The first connection was open before the capture: named from its Host header.
    let first = conns
        .iter()
        .find(|c| c["name"]["source"] == "host")
        .expect("a connection named by Host");
    assert!(first["orientation_guessed"] == true || first["handshake"]["syn_ts"].is_null());
    assert!(story.iter().any(|e| e["kind"] == "http_request"));
}

/// The bundled browser page load as a learner first reads it (its first 25 lines): the
/// first page load, then the browser's own lookups apart and folded, then the page load
/// of index.html starting at its own lookup. No "0.0 ms", plurals right, answers name
/// their type.
#[test]
fn a_learner_reads_the_bundled_page_load() {
    let t = text("story", &bundled("lab-page.pcap"));
    let first: Vec<&str> = t.lines().take(25).collect();
    let headers: Vec<&&str> = first.iter().filter(|l| l.starts_with("── story")).collect();
    assert_eq!(headers.len(), 3, "{first:#?}");
    assert!(headers[0].contains("page load http://www.lab.glasscom.com/  ("));
    assert!(headers[0].contains("1 connection,"), "{}", headers[0]);
    assert!(headers[1].contains("background"), "{}", headers[1]);
    assert!(headers[2].contains("page load http://www.lab.glasscom.com/index.html"));
    // The background: one line per name, with how often it was asked, all refused.
    let bg: Vec<&&str> = first
        .iter()
        .skip_while(|l| !l.contains("background"))
        .skip(1)
        .take_while(|l| !l.is_empty())
        .collect();
    assert_eq!(bg.len(), 3, "{bg:#?}");
    for (line, name) in bg.iter().zip([
        "clients2.google.com",
        "update.googleapis.com",
        "accounts.google.com",
    ]) {
        assert!(line.contains("lookups  ") && line.contains(name), "{line}");
        assert!(line.contains(" ×") && line.contains(": REFUSED"), "{line}");
    }
    // The service names appear nowhere else in the story.
    let elsewhere = t
        .lines()
        .filter(|l| l.contains("googleapis") || l.contains("google.com"))
        .count();
    assert_eq!(elsewhere, 3);
    // The page load of index.html starts at its own first lookup.
    let start = first
        .iter()
        .position(|l| l.contains("story 3"))
        .map(|i| first[i + 1])
        .unwrap();
    assert!(
        start.starts_with("+0.000  lookup") && start.contains("www.lab.glasscom.com?"),
        "{start}"
    );
    // Words.
    assert!(t.contains("AAAA www.lab.glasscom.com = CNAME web.lab.glasscom.com; no AAAA records"));
    assert!(!t.contains(" 0.0 ms"), "{t}");
    assert!(!t.contains("ttfb"), "{t}");
    let phases: Vec<&str> = t.lines().filter(|l| l.contains("phases:")).collect();
    assert_eq!(phases.len(), 5);
    for p in phases {
        assert!(p.trim_start().starts_with("phases: dns "), "{p}");
        assert!(p.contains(" · connect ") && p.contains(" µs"), "{p}");
    }
    assert!(
        t.ends_with("── 3 stories: 2 page loads, 1 background\n"),
        "{t}"
    );
}

/// Every phase label of the text is defined in `story --help`.
#[test]
fn story_help_defines_every_phase() {
    let out = Command::new(common::bin())
        .args(["story", "--help"])
        .output()
        .unwrap();
    let help = String::from_utf8(out.stdout).unwrap();
    for (label, meaning) in wiretale::story::PhaseTimes::LEGEND {
        assert!(
            help.lines()
                .any(|l| l.trim_start().starts_with(label) && l.contains(meaning)),
            "{label}: {meaning} not in\n{help}"
        );
    }
}

/// `story --json` carries the facts of each line, and its `page` is the text's story
/// number: the text's lines of story N are the non-quiet JSON events of page N.
#[test]
fn story_json_events_carry_the_facts_and_the_text_numbering() {
    for name in ["lab-page.pcap", "lab-curl.pcap"] {
        let f = bundled(name);
        let events = json_lines("story", &f);
        // Whole lines: in a pipe text is cut at 200 columns, JSON never is.
        let t = text_with(&["story", "--wide"], &f);
        let mut page = 0u64;
        let mut from_text: Vec<(u64, String)> = Vec::new();
        for l in t.lines() {
            if let Some(rest) = l.strip_prefix("── story ") {
                page = rest.split(':').next().unwrap().parse().unwrap();
            } else if l.starts_with('+') {
                from_text.push((page, l.to_string()));
            }
        }
        let mut matched = 0;
        for (page, line) in &from_text {
            let ok = events.iter().any(|e| {
                e["page"].as_u64() == Some(*page) && line.ends_with(e["text"].as_str().unwrap())
            });
            assert!(ok, "{name}: story {page}: {line}");
            matched += 1;
        }
        assert!(matched > 20);
        for e in &events {
            let has = |k: &str| e.get(k).is_some_and(|v| !v.is_null());
            match e["kind"].as_str().unwrap() {
                "dns_query" => assert!(has("qname") && has("qtype") && has("server"), "{e}"),
                "dns_answer" => {
                    assert!(has("qname") && has("qtype") && has("rcode"), "{e}");
                    assert!(e["answers"].is_array(), "{e}");
                }
                "dns_lookups" => assert!(has("qname") && has("count") && has("qtypes"), "{e}"),
                "connect" => assert!(has("client") && has("server") && has("proto"), "{e}"),
                "http_request" => {
                    assert!(
                        has("method") && has("host") && has("uri") && has("status"),
                        "{e}"
                    )
                }
                "close" | "still_open" => assert!(has("phases") && has("how"), "{e}"),
                _ => {}
            }
        }
    }
    let c = load("lab-page.pcap");
    let get = |uri: &str| {
        c.story
            .iter()
            .find(|e| e["kind"] == "http_request" && e["uri"] == uri)
            .unwrap()
    };
    let index = get("/index.html");
    assert_eq!(index["host"], "www.lab.glasscom.com");
    assert_eq!(index["status"], 200);
    assert!(index["ttfb"].as_f64().unwrap() > 0.0);
    let connect = c
        .story
        .iter()
        .find(|e| e["kind"] == "connect" && e["conn"] == index["conn"])
        .unwrap();
    assert_eq!(connect["name"], "www.lab.glasscom.com");
    assert_eq!(connect["server"]["port"], 80);
    assert!(connect["handshake"].as_f64().unwrap() > 0.0);
    assert!(c.story.iter().any(|e| e["kind"] == "dns_lookups"
        && e["qname"] == "update.googleapis.com"
        && e["rcode"] == "REFUSED"
        && e["count"].as_u64().unwrap() > 1));
    let aaaa = c
        .story
        .iter()
        .find(|e| e["kind"] == "dns_answer" && e["qtype"] == "AAAA")
        .unwrap();
    assert_eq!(
        aaaa["answers"],
        serde_json::json!(["CNAME web.lab.glasscom.com"])
    );
}

/// DNS over TCP shows its socket: the connection to the resolver with its handshake and
/// its close, counted in the header; the TCP retry of a truncated answer says its cost.
#[test]
fn dns_over_tcp_shows_its_socket() {
    // tcpdump/dns_tcp.pcap: one lookup over TCP, the connection seen whole.
    let f = common::shared_root().join("tcpdump/dns_tcp.pcap");
    let t = text("story", &f);
    assert!(t.contains("1 TCP connection to the resolver"), "{t}");
    let connect = t
        .lines()
        .find(|l| l.contains("connect  #") && l.contains("(DNS over TCP to the resolver)"))
        .unwrap_or_else(|| panic!("{t}"));
    assert!(connect.contains("handshake "), "{connect}");
    assert!(t.contains("(tcp, id 0x4319) on #"), "{t}");
    assert!(
        t.lines()
            .any(|l| l.contains("close    #") && l.contains("FIN")),
        "{t}"
    );
    // lab-curl: truncated UDP answers retried over TCP.
    let c = load("lab-curl.pcap");
    let retry = c
        .story
        .iter()
        .find(|e| e["kind"] == "dns_answer" && e["retry_cost"].is_number())
        .expect("a TCP retry with its cost");
    assert!(retry["text"]
        .as_str()
        .unwrap()
        .contains("more than the truncated UDP answer"));
    let tcp_conns: Vec<&Value> = c
        .conns
        .iter()
        .filter(|k| k["app"] == "dns" && k["proto"] == "tcp")
        .collect();
    assert!(!tcp_conns.is_empty());
    for k in tcp_conns {
        assert!(
            c.story
                .iter()
                .any(|e| e["kind"] == "connect" && e["conn"] == k["id"]),
            "the resolver connection #{} is told",
            k["id"]
        );
        assert!(c
            .story
            .iter()
            .any(|e| e["kind"] == "close" && e["conn"] == k["id"] && e["by"].is_string()));
    }
}

/// mDNS, LLMNR and NetBIOS lookups are background, not stories of their own kind, and
/// mDNS announcements are no lookup of the group address (zeek/wikipedia.pcap): no story
/// is told for a multicast group as if it were a client.
#[test]
fn multicast_chatter_is_background() {
    let f = common::shared_root().join("zeek/wikipedia.pcap");
    let t = text("story", &f);
    let headers: Vec<&str> = t.lines().filter(|l| l.starts_with("── story")).collect();
    let group = headers
        .iter()
        .filter(|h| h.contains("client 224.0.0.251") || h.contains("client ff02::fb"))
        .count();
    assert_eq!(group, 0, "{headers:#?}");
    assert!(!t.contains("<Root>"), "{t}");
    for name in [
        "gemini._sftp-ssh._tcp.local",
        "BRWC0CB383D1F42<00>",
        "WORKGROUP<1d>",
    ] {
        let story = t
            .split("\n\n")
            .find(|s| s.contains(name))
            .unwrap_or_else(|| panic!("{name}: {t}"));
        assert!(
            story.contains("background (multicast and broadcast chatter)"),
            "{story}"
        );
    }
    assert!(t.contains("page load http://www.wikipedia.org/"));
    assert!(t.lines().last().unwrap().contains("1 page load"), "{t}");
}

/// A TLS connection shows its hello phase, not a "request" phase; a connection that
/// never closed is "open", not a close (zeek/tls-chrome-34-google.pcap).
#[test]
fn a_tls_connection_shows_its_hello_phase() {
    let f = common::shared_root().join("zeek/tls-chrome-34-google.pcap");
    let t = text("story", &f);
    let phases = t.lines().find(|l| l.contains("phases:")).unwrap();
    assert!(phases.contains(" · tls "), "{phases}");
    assert!(!phases.contains("request"), "{phases}");
    assert!(
        t.contains("open     #0 still open at the end of the capture"),
        "{t}"
    );
    assert!(!t.contains("close    #0 still open"), "{t}");
    let ev = json_lines("story", &f);
    let open = ev.iter().find(|e| e["kind"] == "still_open").unwrap();
    assert!(open["phases"]["tls"].as_f64().unwrap() > 0.0);
    assert!(open["phases"]["request"].is_null());
}

/// The TLS line: "TLS 1.3 handshake 1.5 ms, h2 · SNI …" when the Finished messages are
/// seen (TLS 1.2 always, 1.3 with keys), else only the time to the Server Hello; the
/// connection record's `hello` ≤ `handshake` agree with it.
#[test]
fn the_tls_line_times_the_handshake_to_its_last_finished() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/tls");
    let tls_lines = |name: &str, keys: bool| {
        let mut c = Command::new(common::bin());
        c.arg("story").arg(dir.join(format!("{name}.pcapng")));
        if keys {
            c.arg("--tls-keylog").arg(dir.join(format!("{name}.keys")));
        }
        let out = c.output().unwrap();
        assert!(out.status.success());
        String::from_utf8(out.stdout)
            .unwrap()
            .lines()
            .filter(|l| l.contains("  tls  "))
            .map(str::to_string)
            .collect::<Vec<_>>()
    };
    let with = tls_lines("tls13-h2-curl", true);
    assert_eq!(with.len(), 1, "{with:?}");
    assert!(with[0].contains("TLS 1.3 handshake "), "{with:?}");
    assert!(
        with[0].contains(", h2 · SNI secure.lab.glasscom.com"),
        "{with:?}"
    );
    let without = tls_lines("tls13-h2-curl", false);
    assert!(
        without[0].contains("TLS 1.3 Server Hello in "),
        "{without:?}"
    );
    assert!(
        without[0].contains("--tls-keylog FILE decrypts"),
        "{without:?}"
    );
    // TLS 1.2 shows its Finished messages in the clear, so no keys are needed to time it.
    let tls12 = tls_lines("tls12-resumed", false);
    assert!(
        tls12.iter().all(|l| l.contains("TLS 1.2 handshake ")),
        "{tls12:?}"
    );
    assert!(
        tls12.iter().any(|l| l.contains(", http/1.1, resumed")),
        "{tls12:?}"
    );

    let conns = |name: &str, keys: bool| {
        let mut c = Command::new(common::bin());
        c.args(["conns", "--json"])
            .arg(dir.join(format!("{name}.pcapng")));
        if keys {
            c.arg("--tls-keylog").arg(dir.join(format!("{name}.keys")));
        }
        let out = c.output().unwrap();
        String::from_utf8(out.stdout)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str::<Value>(l).unwrap())
            .filter(|c| !c["tls"].is_null())
            .map(|c| c["tls"].clone())
            .collect::<Vec<_>>()
    };
    for (name, keys) in [("tls13-h2-curl", true), ("tls12-gcm", false)] {
        for t in conns(name, keys) {
            let (hello, hs) = (
                t["hello"].as_f64().unwrap(),
                t["handshake"].as_f64().unwrap(),
            );
            assert!(0.0 < hello && hello < hs, "{name}: {t}");
        }
    }
    for t in conns("tls13-h2-curl", false) {
        assert!(t["hello"].as_f64().unwrap() > 0.0);
        assert!(
            t["handshake"].is_null(),
            "1.3 Finished unseen without keys: {t}"
        );
    }
}
