//! Keeps the import direction of ARCHITECTURE.md true: reads `src/**` and fails on any
//! `crate::<module>` import that points upward.

use std::collections::BTreeMap;
use std::path::Path;

/// For each top-level module, the crate modules it may import.
fn allowed() -> BTreeMap<&'static str, &'static [&'static str]> {
    let mut m: BTreeMap<&'static str, &'static [&'static str]> = BTreeMap::new();
    m.insert("base", &[]);
    m.insert("capture", &["base"]);
    m.insert("decode", &["base"]);
    m.insert("flow", &["base", "decode"]);
    m.insert("proto", &["base"]);
    m.insert("story", &["base", "decode", "flow", "proto"]);
    m.insert(
        "filter",
        &["base", "capture", "decode", "flow", "proto", "story"],
    );
    m.insert(
        "analysis",
        &[
            "base", "capture", "decode", "flow", "proto", "story", "filter",
        ],
    );
    // `wiretale FILE` without a subcommand is dispatched by cli to the TUI (issue 6), so
    // cli may import tui; tui never imports cli.
    m.insert(
        "cli",
        &[
            "base", "capture", "decode", "flow", "proto", "story", "filter", "analysis", "tui",
        ],
    );
    m.insert(
        "tui",
        &[
            "base", "capture", "decode", "flow", "proto", "story", "filter", "analysis",
        ],
    );
    m
}

/// Crates that only the faces (cli, tui) may use.
const FACE_ONLY: &[&str] = &["clap", "serde_json", "ratatui", "crossterm", "anyhow"];

fn rs_files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            rs_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

#[test]
fn imports_point_one_way() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let allowed = allowed();
    let mut files = Vec::new();
    rs_files(&src, &mut files);
    let mut violations = Vec::new();
    for f in &files {
        let rel = f.strip_prefix(&src).unwrap();
        let top = rel
            .components()
            .next()
            .unwrap()
            .as_os_str()
            .to_string_lossy()
            .trim_end_matches(".rs")
            .to_string();
        let Some(ok) = allowed.get(top.as_str()) else {
            continue; // lib.rs, main.rs, testutil.rs
        };
        let text = std::fs::read_to_string(f).unwrap();
        // Test-only code (after `#[cfg(test)]`) may reach further, e.g. to build fixtures.
        let text = text.split("#[cfg(test)]").next().unwrap();
        for (n, line) in text.lines().enumerate() {
            let line = line.trim_start();
            if line.starts_with("//") {
                continue;
            }
            for (i, _) in line.match_indices("crate::") {
                let rest = &line[i + 7..];
                let module: String = rest
                    .chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_')
                    .collect();
                if module.is_empty() || module == top || !allowed.contains_key(module.as_str()) {
                    continue;
                }
                if !ok.contains(&module.as_str()) {
                    violations.push(format!(
                        "{}:{}: {top} imports {module}",
                        rel.display(),
                        n + 1
                    ));
                }
            }
            if !matches!(top.as_str(), "cli" | "tui") {
                for c in FACE_ONLY {
                    if line.contains(&format!("{c}::")) && !line.contains(&format!("_{c}::")) {
                        violations.push(format!("{}:{}: {top} uses {c}", rel.display(), n + 1));
                    }
                }
            }
        }
    }
    assert!(
        violations.is_empty(),
        "upward imports:\n{}",
        violations.join("\n")
    );
}
