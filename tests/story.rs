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
    let out = Command::new(common::bin())
        .arg(cmd)
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
