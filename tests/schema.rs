//! The published JSON Schemas (`docs/schema/`) are the record types of
//! `wiretale::analysis::records`, and real `--json` output conforms to them:
//!
//! - the committed files equal what the types generate (`cargo run --example schemas`
//!   rewrites them);
//! - every line of `--json` output of every record-printing command on the bundled
//!   captures and a few shared ones (chosen for TLS, VLANs, refused connections, DNS over
//!   TCP and a conversation with missing bytes) validates against its schema: every key
//!   is a property of the schema (or of the story facts variant it matches), every value
//!   has a compatible JSON type, enumerated strings are in their list, required keys are
//!   there;
//! - every line's keys come in alphabetical order, as they always have (the record
//!   types declare their fields in that order).
//!
//! The validator is small and local (no validator crate): it understands what schemars
//! generates for these types (`$ref`, `type`, `enum`, `properties`, `required`,
//! `anyOf`, `items`, `additionalProperties`, `minimum`). `validator_rejects_*` prove it
//! can fail.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use common::{bin, shared_root};
use serde_json::Value;

fn schema_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("docs/schema")
}

fn schema_text(s: &schemars::Schema) -> String {
    serde_json::to_string_pretty(s).expect("schema as JSON") + "\n"
}

fn schemas() -> BTreeMap<&'static str, Value> {
    wiretale::analysis::records::schemas()
        .into_iter()
        .map(|(name, s)| (name, s.to_value()))
        .collect()
}

#[test]
fn committed_schemas_are_generated_from_the_types() {
    let mut names = BTreeSet::new();
    for (name, schema) in wiretale::analysis::records::schemas() {
        let path = schema_dir().join(format!("{name}.json"));
        let committed = std::fs::read_to_string(&path).unwrap_or_else(|e| {
            panic!(
                "{}: {e} (run `cargo run --example schemas`)",
                path.display()
            )
        });
        assert!(
            committed == schema_text(&schema),
            "{} differs from what the types generate: run `cargo run --example schemas`",
            path.display()
        );
        names.insert(format!("{name}.json"));
    }
    // No stale schema left behind for a record that no longer exists.
    let on_disk: BTreeSet<String> = std::fs::read_dir(schema_dir())
        .expect("docs/schema")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".json"))
        .collect();
    assert_eq!(on_disk, names);
}

/// Why `v` does not conform to `s` (None when it does). `extra`: keys the enclosing
/// schema declares (an `anyOf` branch of flattened facts sees the event's own keys).
fn check(v: &Value, s: &Value, root: &Value, at: &str, extra: &BTreeSet<String>) -> Option<String> {
    let Some(obj) = s.as_object() else {
        return (s != &Value::Bool(true)).then(|| format!("{at}: schema {s}"));
    };
    if let Some(r) = obj.get("$ref").and_then(Value::as_str) {
        let name = r.strip_prefix("#/$defs/").expect("local $ref");
        return check(v, &root["$defs"][name], root, at, extra);
    }
    if let Some(t) = obj.get("type") {
        let types: Vec<&str> = match t {
            Value::String(t) => vec![t.as_str()],
            Value::Array(a) => a.iter().filter_map(Value::as_str).collect(),
            _ => panic!("type {t}"),
        };
        let fits = types.iter().any(|t| match *t {
            "null" => v.is_null(),
            "boolean" => v.is_boolean(),
            "integer" => v.is_i64() || v.is_u64(),
            "number" => v.is_number(),
            "string" => v.is_string(),
            "array" => v.is_array(),
            "object" => v.is_object(),
            other => panic!("type {other}"),
        });
        if !fits {
            return Some(format!("{at}: {v} is not {t}"));
        }
    }
    if let Some(e) = obj.get("enum").and_then(Value::as_array) {
        if !e.contains(v) {
            return Some(format!(
                "{at}: {v} is not one of {}",
                Value::Array(e.clone())
            ));
        }
    }
    if let (Some(min), Some(n)) = (obj.get("minimum").and_then(Value::as_f64), v.as_f64()) {
        if n < min {
            return Some(format!("{at}: {n} < {min}"));
        }
    }
    if let (Some(items), Some(a)) = (obj.get("items"), v.as_array()) {
        for (i, x) in a.iter().enumerate() {
            if let Some(e) = check(x, items, root, &format!("{at}[{i}]"), &BTreeSet::new()) {
                return Some(e);
            }
        }
    }
    let mut known: BTreeSet<String> = extra.clone();
    if let Some(props) = obj.get("properties").and_then(Value::as_object) {
        known.extend(props.keys().cloned());
    }
    if let Some(branches) = obj.get("anyOf").and_then(Value::as_array) {
        let matched = branches
            .iter()
            .find(|b| check(v, b, root, at, &known).is_none());
        let Some(b) = matched else {
            return Some(format!("{at}: {v} matches no branch of anyOf"));
        };
        if let Some(props) = resolve(b, root)
            .get("properties")
            .and_then(Value::as_object)
        {
            known.extend(props.keys().cloned());
        }
    }
    let o = v.as_object()?;
    for r in obj
        .get("required")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let r = r.as_str().expect("required name");
        if !o.contains_key(r) {
            return Some(format!("{at}: required key {r:?} is missing"));
        }
    }
    if let Some(props) = obj.get("properties").and_then(Value::as_object) {
        for (k, x) in o {
            if let Some(p) = props.get(k) {
                if let Some(e) = check(x, p, root, &format!("{at}.{k}"), &BTreeSet::new()) {
                    return Some(e);
                }
            }
        }
    }
    match obj.get("additionalProperties") {
        Some(Value::Bool(false)) | None => {
            // Strict: a key the schema does not declare is an error (only where this
            // schema describes the object's keys at all).
            if obj.contains_key("properties") || obj.contains_key("anyOf") {
                if let Some(k) = o.keys().find(|k| !known.contains(*k)) {
                    return Some(format!("{at}: key {k:?} is not in the schema"));
                }
            }
        }
        Some(add) => {
            for (k, x) in o {
                if !known.contains(k) {
                    if let Some(e) = check(x, add, root, &format!("{at}.{k}"), &BTreeSet::new()) {
                        return Some(e);
                    }
                }
            }
        }
    }
    None
}

/// `s` itself, or the definition it refers to.
fn resolve<'a>(s: &'a Value, root: &'a Value) -> &'a Value {
    match s.get("$ref").and_then(Value::as_str) {
        Some(r) => &root["$defs"][r.strip_prefix("#/$defs/").expect("local $ref")],
        None => s,
    }
}

fn validate(v: &Value, schema: &Value) -> Option<String> {
    check(v, schema, schema, "$", &BTreeSet::new())
}

/// The first key of a JSON text that does not come after the key before it in its
/// object (byte order, as a sorted map writes them), if any.
fn unsorted_key(json: &str) -> Option<String> {
    // One "last key" per open object or array; strings are keys when a ':' follows.
    let mut last: Vec<Option<String>> = Vec::new();
    let mut chars = json.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '{' | '[' => last.push(None),
            '}' | ']' => {
                last.pop();
            }
            '"' => {
                let mut s = String::new();
                while let Some(c) = chars.next() {
                    match c {
                        '\\' => {
                            s.push(c);
                            s.extend(chars.next());
                        }
                        '"' => break,
                        c => s.push(c),
                    }
                }
                if chars.peek() == Some(&':') {
                    let prev = last.last_mut().expect("a key inside an object");
                    if prev.as_ref().is_some_and(|p| *p >= s) {
                        return Some(s);
                    }
                    *prev = Some(s);
                }
            }
            _ => {}
        }
    }
    None
}

#[test]
fn unsorted_keys_are_found() {
    assert_eq!(
        unsorted_key(r#"{"a":1,"b":{"d":[{"x":"q\":","y":2}],"e":3},"c":"}"}"#),
        None
    );
    assert_eq!(
        unsorted_key(r#"{"a":1,"b":{"d":1,"c":3}}"#),
        Some("c".into())
    );
    assert_eq!(unsorted_key(r#"{"syn_ts":1,"synack_ts":2}"#), None);
    assert_eq!(unsorted_key(r#"{"b":1,"a":2}"#), Some("a".into()));
}

/// Runs `wiretale ARGS FILE` and returns its stdout lines (status 0 required).
fn lines(args: &[&str], file: &Path) -> Vec<String> {
    let o = Command::new(bin())
        .args(args)
        .arg(file)
        .output()
        .expect("run wiretale");
    assert!(o.status.success(), "{args:?} {}: {:?}", file.display(), o);
    String::from_utf8(o.stdout)
        .expect("UTF-8 output")
        .lines()
        .map(str::to_string)
        .collect()
}

fn captures() -> Vec<PathBuf> {
    let lab = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("captures");
    let shared = shared_root();
    let mut v = vec![lab.join("lab-page.pcap"), lab.join("lab-curl.pcap")];
    for rel in [
        "zeek/tls-chrome-34-google.pcap",
        "zeek/web.pcap",
        "zeek/vlan-collisions.pcap",
        "zeek/tcp-retransmit-fast009.pcap",
        "suricata-verify/ethernet-eve.pcap",
        "suricata-verify/dns-tcp-multirequest-buffer.pcap",
    ] {
        v.push(shared.join(rel));
    }
    v
}

#[test]
fn real_output_conforms_to_the_schemas() {
    let schemas = schemas();
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    let mut story_kinds: BTreeSet<String> = BTreeSet::new();
    let mut turn_kinds: BTreeSet<&str> = BTreeSet::new();
    for file in captures() {
        let mut runs: Vec<(&str, Vec<String>)> = vec![
            ("packet", vec!["packets".into(), "--json".into()]),
            ("connection", vec!["conns".into(), "--json".into()]),
            ("dns", vec!["dns".into(), "--json".into()]),
            ("http", vec!["http".into(), "--json".into()]),
            ("story-event", vec!["story".into(), "--json".into()]),
        ];
        for conn in 0..3 {
            let args = ["follow", "--json", "--conn", &conn.to_string()].map(String::from);
            runs.push(("follow-turn", args.to_vec()));
        }
        for (record, args) in runs {
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            let o = Command::new(bin())
                .args(&args)
                .arg(&file)
                .output()
                .expect("run");
            // `follow` of a connection the file does not have is an error: skip it.
            if !o.status.success() && args[0] == "follow" {
                continue;
            }
            let out = lines(&args, &file);
            let schema = &schemas[record];
            for line in &out {
                let v: Value = serde_json::from_str(line)
                    .unwrap_or_else(|e| panic!("{}: {args:?}: {e}: {line}", file.display()));
                if let Some(k) = unsorted_key(line) {
                    panic!(
                        "key {k:?} out of alphabetical order: {args:?} {}\n{line}",
                        file.display()
                    );
                }
                if let Some(e) = validate(&v, schema) {
                    panic!("{} {args:?}: {e}\n{line}", file.display());
                }
                *counts.entry(record).or_default() += 1;
                if record == "story-event" {
                    story_kinds.insert(v["kind"].as_str().expect("kind").to_string());
                }
                if record == "follow-turn" {
                    turn_kinds.insert(if v.get("gap").is_some() {
                        "gap"
                    } else {
                        "data"
                    });
                }
            }
        }
    }
    // Not vacuous: every record kind was seen, with the story's facts variants and both
    // kinds of turn.
    for name in schemas.keys() {
        assert!(
            counts.get(name).is_some_and(|n| *n > 0),
            "no {name} records: {counts:?}"
        );
    }
    for kind in [
        "dns_query",
        "dns_answer",
        "dns_lookups",
        "connect",
        "refused",
        "tls_hello",
        "http_request",
        "close",
        "still_open",
    ] {
        assert!(
            story_kinds.contains(kind),
            "no {kind} event: {story_kinds:?}"
        );
    }
    assert_eq!(turn_kinds, BTreeSet::from(["data", "gap"]));
}

/// Each story event with facts matches the facts variant documented for its kind (the
/// variant's description names the kinds it is for).
#[test]
fn story_facts_match_their_kind() {
    let schema = &schemas()["story-event"];
    let branches = schema["anyOf"].as_array().expect("facts variants");
    let file = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("captures/lab-curl.pcap");
    let mut seen = 0;
    for line in lines(&["story", "--json"], &file) {
        let v: Value = serde_json::from_str(&line).expect("JSON");
        let kind = v["kind"].as_str().expect("kind");
        let own: BTreeSet<String> = schema["properties"]
            .as_object()
            .expect("properties")
            .keys()
            .cloned()
            .collect();
        let b = branches
            .iter()
            .find(|b| check(&v, b, schema, "$", &own).is_none())
            .expect("a branch");
        match b.get("description").and_then(Value::as_str) {
            Some(d) => {
                assert!(
                    d.contains(&format!("`{kind}`")),
                    "{kind} matched {d:?}: {line}"
                );
                seen += 1;
            }
            // The empty branch: an event without facts.
            None => assert!(
                ["established", "http_response", "anomaly"].contains(&kind),
                "{kind} has no facts: {line}"
            ),
        }
    }
    assert!(seen > 10, "only {seen} events with facts");
}

/// docs/story.md has a row for every `kind` of the schema, and each row names every fact
/// its kind carries (the facts variant whose description names that kind).
#[test]
fn story_doc_lists_every_kind_and_its_facts() {
    let schema = &schemas()["story-event"];
    let doc =
        std::fs::read_to_string(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("docs/story.md"))
            .expect("docs/story.md");
    let rows: BTreeMap<String, String> = doc
        .lines()
        .filter_map(|l| {
            let cells: Vec<&str> = l.split('|').map(str::trim).collect();
            let kind = cells.get(1)?.strip_prefix('`')?.strip_suffix('`')?;
            Some((kind.to_string(), cells.get(3)?.to_string()))
        })
        .collect();
    let kinds: Vec<&str> = schema["properties"]["kind"]["enum"]
        .as_array()
        .expect("kind enum")
        .iter()
        .map(|k| k.as_str().expect("kind"))
        .collect();
    assert_eq!(kinds.len(), 13);
    for kind in &kinds {
        assert!(
            rows.contains_key(*kind),
            "docs/story.md has no row for `{kind}`"
        );
    }
    let mut checked = 0;
    for branch in schema["anyOf"].as_array().expect("facts variants") {
        let Some(d) = branch.get("description").and_then(Value::as_str) else {
            continue;
        };
        for kind in kinds.iter().filter(|k| d.contains(&format!("`{k}`"))) {
            let row = &rows[*kind];
            for fact in branch["properties"].as_object().expect("facts").keys() {
                assert!(
                    row.contains(&format!("`{fact}`")),
                    "docs/story.md's `{kind}` row does not name `{fact}`: {row}"
                );
                checked += 1;
            }
        }
    }
    assert!(checked >= 40, "only {checked} facts checked");
}

fn first_record(args: &[&str]) -> Value {
    let file = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("captures/lab-curl.pcap");
    let line = lines(args, &file).into_iter().next().expect("a record");
    serde_json::from_str(&line).expect("JSON")
}

#[test]
fn validator_rejects_unknown_keys_wrong_types_and_missing_keys() {
    let schemas = schemas();
    let conn = first_record(&["conns", "--json"]);
    assert_eq!(validate(&conn, &schemas["connection"]), None);
    let mut bad = conn.clone();
    bad["surprise"] = Value::from(1);
    assert!(validate(&bad, &schemas["connection"])
        .unwrap()
        .contains("surprise"));
    let mut bad = conn.clone();
    bad["client"]["port"] = Value::from("80");
    assert!(validate(&bad, &schemas["connection"])
        .unwrap()
        .contains("client.port"));
    let mut bad = conn.clone();
    bad["proto"] = Value::from("sctp");
    assert!(validate(&bad, &schemas["connection"]).is_some());
    let mut bad = conn.clone();
    bad.as_object_mut().unwrap().remove("name");
    assert!(validate(&bad, &schemas["connection"])
        .unwrap()
        .contains("name"));
    let mut bad = conn;
    bad["analysis"]["dup_ack"] = Value::from("many");
    assert!(validate(&bad, &schemas["connection"]).is_some());

    let ev = first_record(&["story", "--json"]);
    assert_eq!(validate(&ev, &schemas["story-event"]), None);
    let mut bad = ev.clone();
    bad["qname"] = Value::from(3);
    assert!(validate(&bad, &schemas["story-event"]).is_some());
    let mut bad = ev;
    bad["how"] = Value::from("fin");
    bad["nonsense"] = Value::Null;
    assert!(validate(&bad, &schemas["story-event"]).is_some());
}
