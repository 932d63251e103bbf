//! Keeps the import direction of ARCHITECTURE.md true.
//!
//! Between crates, cargo enforces it: the faces (`crates/cli`, `crates/tui`) depend on the
//! engine (`crates/engine`) and never on each other, and the engine has no terminal or
//! command-line crate. `crate_dependencies_point_one_way` keeps the manifests so.
//!
//! Inside the engine, this test reads every non-test line of `crates/engine/src/**` and
//! fails on any path that reaches a module it may not import.
//!
//! What counts as a path: `crate::m…` and `super::…` (resolved against the file's own
//! module, so `super::super::story` from `flow/conn.rs` is `story`), in `use`
//! statements with their `{…}` groups expanded, and inline in code. Test-only code —
//! the item after a `#[cfg(test)]` attribute, and files declared by `#[cfg(test)] mod x;`
//! — may reach further (fixtures), and is cut out exactly, not "everything after the
//! first `#[cfg(test)]`". Comments and string literals are removed first.
//!
//! `injected_violations_are_caught` proves the check can fail.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

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
    m
}

/// Crates that only the faces (cli, tui) may depend on: the engine has no terminal, no
/// command line, and no error type that captures backtraces on per-packet paths.
const FACE_ONLY: &[&str] = &["clap", "serde_json", "ratatui", "crossterm", "anyhow"];

/// The names in the `[dependencies]` table of a Cargo.toml (dev-dependencies are for
/// tests and may reach further).
fn dependencies(manifest: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut inside = false;
    for line in manifest.lines() {
        let line = line.trim();
        if line.starts_with('[') {
            inside = line == "[dependencies]";
        } else if inside && !line.is_empty() && !line.starts_with('#') {
            let name = line.split(['=', '.', ' ']).next().unwrap_or("");
            out.push(name.to_string());
        }
    }
    out
}

/// What is wrong with the three manifests (engine, cli, tui), one line each.
fn manifest_violations(engine: &str, cli: &str, tui: &str) -> Vec<String> {
    let mut v = Vec::new();
    for d in dependencies(engine) {
        if FACE_ONLY.contains(&d.as_str()) || d.starts_with("wiretale") {
            v.push(format!("crates/engine depends on {d}"));
        }
    }
    if dependencies(cli).iter().any(|d| d == "wiretale-tui") {
        v.push("crates/cli depends on wiretale-tui".into());
    }
    if dependencies(tui).iter().any(|d| d == "wiretale-cli") {
        v.push("crates/tui depends on wiretale-cli".into());
    }
    v
}

fn manifest(rel: &str) -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(rel)).unwrap()
}

#[test]
fn crate_dependencies_point_one_way() {
    let (engine, cli, tui) = (
        manifest("crates/engine/Cargo.toml"),
        manifest("crates/cli/Cargo.toml"),
        manifest("crates/tui/Cargo.toml"),
    );
    assert!(dependencies(&engine).contains(&"etherparse".to_string()));
    assert!(dependencies(&cli).contains(&"wiretale-engine".to_string()));
    assert_eq!(
        manifest_violations(&engine, &cli, &tui),
        Vec::<String>::new()
    );
    // And the check can fail.
    let bad_engine = engine.replace(
        "[dependencies]\n",
        "[dependencies]\nratatui.workspace = true\n",
    );
    let bad_cli = cli.replace(
        "[dependencies]\n",
        "[dependencies]\nwiretale-tui.workspace = true\n",
    );
    assert_eq!(
        manifest_violations(&bad_engine, &bad_cli, &tui),
        [
            "crates/engine depends on ratatui",
            "crates/cli depends on wiretale-tui"
        ]
    );
}

/// Removes comments, string and char literals (keeping line breaks, so line numbers
/// stay right). Lifetimes (`'a`) are kept apart from char literals.
fn strip(text: &str) -> String {
    let b: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        let next = b.get(i + 1).copied();
        if c == '/' && next == Some('/') {
            while i < b.len() && b[i] != '\n' {
                i += 1;
            }
        } else if c == '/' && next == Some('*') {
            let mut depth = 0;
            while i < b.len() {
                if b[i] == '/' && b.get(i + 1) == Some(&'*') {
                    depth += 1;
                    i += 2;
                } else if b[i] == '*' && b.get(i + 1) == Some(&'/') {
                    depth -= 1;
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    if b[i] == '\n' {
                        out.push('\n');
                    }
                    i += 1;
                }
            }
        } else if c == 'r' && (next == Some('"') || next == Some('#')) && !ident_before(&b, i) {
            // Raw string r"…" or r#"…"#.
            let mut j = i + 1;
            let mut hashes = 0;
            while b.get(j) == Some(&'#') {
                hashes += 1;
                j += 1;
            }
            if b.get(j) != Some(&'"') {
                out.push(c);
                i += 1;
                continue;
            }
            j += 1;
            'raw: while j < b.len() {
                if b[j] == '"' && (0..hashes).all(|k| b.get(j + 1 + k) == Some(&'#')) {
                    j += 1 + hashes;
                    break 'raw;
                }
                if b[j] == '\n' {
                    out.push('\n');
                }
                j += 1;
            }
            out.push_str("\"\"");
            i = j;
        } else if c == '"' {
            i += 1;
            while i < b.len() && b[i] != '"' {
                if b[i] == '\\' {
                    i += 1;
                }
                if b.get(i) == Some(&'\n') {
                    out.push('\n');
                }
                i += 1;
            }
            out.push_str("\"\"");
            i += 1;
        } else if c == '\'' {
            // A char literal is 'x', '\n', '\u{..}'; anything else is a lifetime.
            let close = if next == Some('\\') {
                (i + 2..b.len().min(i + 12)).find(|&k| b[k] == '\'')
            } else if b.get(i + 2) == Some(&'\'') {
                Some(i + 2)
            } else {
                None
            };
            match close {
                Some(k) => {
                    out.push_str("' '");
                    i = k + 1;
                }
                None => {
                    out.push(c);
                    i += 1;
                }
            }
        } else {
            out.push(c);
            i += 1;
        }
    }
    out
}

fn ident_before(b: &[char], i: usize) -> bool {
    i > 0 && (b[i - 1].is_alphanumeric() || b[i - 1] == '_')
}

/// Blanks out (keeping line breaks) every item that follows a `#[cfg(test)]` attribute,
/// and returns the names of modules declared test-only without a body (`mod tests;`).
fn cut_test_items(text: &str) -> (String, Vec<String>) {
    let mut s: Vec<char> = text.chars().collect();
    let mut test_mods = Vec::new();
    let pat: Vec<char> = "#[cfg(test)]".chars().collect();
    let mut i = 0;
    while i + pat.len() <= s.len() {
        if s[i..i + pat.len()] != pat[..] {
            i += 1;
            continue;
        }
        let start = i;
        let mut j = i + pat.len();
        // Skip further attributes and whitespace up to the item itself.
        loop {
            while j < s.len() && s[j].is_whitespace() {
                j += 1;
            }
            if s.get(j) == Some(&'#') {
                let mut depth = 0;
                while j < s.len() {
                    if s[j] == '[' {
                        depth += 1;
                    } else if s[j] == ']' {
                        depth -= 1;
                        if depth == 0 {
                            j += 1;
                            break;
                        }
                    }
                    j += 1;
                }
            } else {
                break;
            }
        }
        // The item ends at its first `;` at depth 0 or its first balanced `{…}`.
        let item_start = j;
        let mut depth = 0i32;
        let mut end = s.len();
        while j < s.len() {
            match s[j] {
                '{' => depth += 1,
                '}' => {
                    depth -= 1;
                    if depth == 0 {
                        end = j + 1;
                        break;
                    }
                }
                ';' if depth == 0 => {
                    end = j + 1;
                    let head: String = s[item_start..j].iter().collect();
                    let words: Vec<&str> = head.split_whitespace().collect();
                    if let Some(k) = words.iter().position(|w| *w == "mod") {
                        if let Some(name) = words.get(k + 1) {
                            test_mods.push(name.to_string());
                        }
                    }
                    break;
                }
                _ => {}
            }
            j += 1;
        }
        for c in &mut s[start..end] {
            if *c != '\n' {
                *c = ' ';
            }
        }
        i = end;
    }
    (s.into_iter().collect(), test_mods)
}

/// `use a::{b, c::{d, e}};` → `a::b`, `a::c::d`, `a::c::e` (paths without spaces).
fn expand_use(tree: &str) -> Vec<String> {
    let t: String = tree.chars().filter(|c| !c.is_whitespace()).collect();
    let mut out = Vec::new();
    expand_into("", &t, &mut out);
    out
}

fn expand_into(prefix: &str, t: &str, out: &mut Vec<String>) {
    let Some(open) = t.find('{') else {
        out.push(format!("{prefix}{t}"));
        return;
    };
    let head = &t[..open];
    let body = &t[open + 1..t.rfind('}').unwrap_or(t.len())];
    let mut depth = 0;
    let mut last = 0;
    let mut parts = Vec::new();
    for (k, c) in body.char_indices() {
        match c {
            '{' => depth += 1,
            '}' => depth -= 1,
            ',' if depth == 0 => {
                parts.push(&body[last..k]);
                last = k + 1;
            }
            _ => {}
        }
    }
    parts.push(&body[last..]);
    for p in parts.into_iter().filter(|p| !p.is_empty()) {
        expand_into(&format!("{prefix}{head}"), p, out);
    }
}

/// The module path of a source file: `flow/conn.rs` → `[flow, conn]`,
/// `flow/table/mod.rs` → `[flow, table]`.
fn module_path(rel: &Path) -> Vec<String> {
    let mut parts: Vec<String> = rel
        .components()
        .map(|c| c.as_os_str().to_string_lossy().to_string())
        .collect();
    let last = parts.pop().unwrap_or_default();
    let stem = last.trim_end_matches(".rs");
    if stem != "mod" && stem != "lib" && stem != "main" {
        parts.push(stem.to_string());
    }
    parts
}

/// The top-level crate module a path reaches, resolving `crate::` and `super::`.
fn target_of(path: &str, here: &[String]) -> Option<String> {
    let segs: Vec<&str> = path.split("::").collect();
    if segs.first() == Some(&"crate") {
        return segs.get(1).map(|s| s.to_string());
    }
    let mut base: Vec<String> = here.to_vec();
    let mut k = 0;
    while segs.get(k) == Some(&"super") {
        base.pop();
        k += 1;
    }
    if k == 0 {
        return None;
    }
    match base.first() {
        Some(top) => Some(top.clone()),
        None => segs.get(k).map(|s| s.to_string()),
    }
}

/// Every path-like run `a::b::c` in `code` (identifiers and `::` only), with the line
/// where it starts.
fn inline_paths(code: &str) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    for (n, line) in code.lines().enumerate() {
        let mut cur = String::new();
        let chars: Vec<char> = line.chars().collect();
        let mut i = 0;
        while i <= chars.len() {
            let c = chars.get(i).copied();
            let is_ident = c.is_some_and(|c| c.is_alphanumeric() || c == '_');
            if is_ident {
                cur.push(c.unwrap_or(' '));
                i += 1;
            } else if c == Some(':') && chars.get(i + 1) == Some(&':') && !cur.is_empty() {
                cur.push_str("::");
                i += 2;
            } else {
                if cur.contains("::") && (cur.starts_with("crate::") || cur.starts_with("super::"))
                {
                    out.push((n + 1, cur.clone()));
                }
                cur.clear();
                i += 1;
            }
        }
    }
    out
}

/// The layering violations of one file (`rel` is its path under `crates/engine/src/`).
fn file_violations(rel: &Path, text: &str, allowed: &BTreeMap<&str, &[&str]>) -> Vec<String> {
    let here = module_path(rel);
    let Some(top) = here.first().cloned() else {
        return Vec::new(); // lib.rs, main.rs
    };
    let Some(ok) = allowed.get(top.as_str()) else {
        return Vec::new(); // testutil.rs
    };
    let (code, _) = cut_test_items(&strip(text));
    let mut found: BTreeSet<(usize, String)> = BTreeSet::new();
    let mut check = |line: usize, path: &str| {
        if let Some(module) = target_of(path, &here) {
            if module != top
                && allowed.contains_key(module.as_str())
                && !ok.contains(&module.as_str())
            {
                found.insert((line, format!("{top} imports {module} ({path})")));
            }
        }
    };
    // `use` statements, groups expanded (they may span lines).
    for (k, _) in code.match_indices("use ") {
        if k > 0 && code[..k].ends_with(|c: char| c.is_alphanumeric() || c == '_') {
            continue;
        }
        let Some(end) = code[k..].find(';') else {
            continue;
        };
        let line = code[..k].matches('\n').count() + 1;
        for p in expand_use(&code[k + 4..k + end]) {
            let p = p.trim_start_matches("::").to_string();
            check(line, &p);
        }
    }
    for (line, p) in inline_paths(&code) {
        check(line, &p);
    }
    found
        .into_iter()
        .map(|(line, what)| format!("{}:{line}: {what}", rel.display()))
        .collect()
}

fn rs_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            rs_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// The source tree as (path under `crates/engine/src/`, text), without the files that a
/// `#[cfg(test)] mod x;` declares (test-only files).
fn source_tree() -> Vec<(PathBuf, String)> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("crates/engine/src");
    let mut files = Vec::new();
    rs_files(&src, &mut files);
    let mut texts: Vec<(PathBuf, String)> = files
        .iter()
        .map(|f| {
            (
                f.strip_prefix(&src).unwrap().to_path_buf(),
                std::fs::read_to_string(f).unwrap(),
            )
        })
        .collect();
    let mut test_only: BTreeSet<PathBuf> = BTreeSet::new();
    for (rel, text) in &texts {
        let (_, mods) = cut_test_items(&strip(text));
        let dir = match rel.file_name().and_then(|n| n.to_str()) {
            Some("mod.rs") | Some("lib.rs") | Some("main.rs") => {
                rel.parent().unwrap_or(Path::new("")).to_path_buf()
            }
            _ => rel.with_extension(""),
        };
        for m in mods {
            test_only.insert(dir.join(format!("{m}.rs")));
            test_only.insert(dir.join(&m).join("mod.rs"));
        }
    }
    texts.retain(|(rel, _)| !test_only.contains(rel));
    texts
}

fn violations(tree: &[(PathBuf, String)]) -> Vec<String> {
    let allowed = allowed();
    tree.iter()
        .flat_map(|(rel, text)| file_violations(rel, text, &allowed))
        .collect()
}

#[test]
fn imports_point_one_way() {
    let tree = source_tree();
    assert!(tree.len() > 80, "read {} files", tree.len());
    let v = violations(&tree);
    assert!(v.is_empty(), "upward imports:\n{}", v.join("\n"));
}

/// The check fails on each kind of upward import, wherever it hides in a real file.
#[test]
fn injected_violations_are_caught() {
    let tree = source_tree();
    let flow_mod = PathBuf::from("flow/mod.rs");
    let original = &tree
        .iter()
        .find(|(p, _)| *p == flow_mod)
        .expect("flow/mod.rs")
        .1;
    assert!(original.contains("#[cfg(test)]"), "flow/mod.rs has tests");
    let injections = [
        // After the file's test module: the old check read nothing past it.
        (
            format!("{original}\nuse crate::story::Story;\n"),
            "flow imports story",
        ),
        // A group import.
        (
            format!("use crate::{{base::Timestamp, story::Story}};\n{original}"),
            "flow imports story",
        ),
        // Inline, in code.
        (
            format!("{original}\nfn f() {{ let _ = crate::analysis::Engine::new; }}\n"),
            "flow imports analysis",
        ),
    ];
    for (text, want) in injections {
        let mut t = tree.clone();
        t.iter_mut().find(|(p, _)| *p == flow_mod).unwrap().1 = text;
        let v = violations(&t);
        assert!(
            v.iter()
                .any(|l| l.starts_with("flow/mod.rs:") && l.contains(want)),
            "not caught ({want}): {v:?}"
        );
    }
    // `super::super::` from a file one level down resolves to the crate root.
    let table = PathBuf::from("flow/conn.rs");
    let mut t = tree.clone();
    t.iter_mut()
        .find(|(p, _)| *p == table)
        .expect("flow/conn.rs")
        .1 += "\nuse super::super::story::Story;\n";
    let v = violations(&t);
    assert!(
        v.iter()
            .any(|l| l.starts_with("flow/conn.rs:") && l.contains("flow imports story")),
        "super::super not resolved: {v:?}"
    );
    // Test-only items, comments and strings may mention anything.
    let mut t = tree.clone();
    t.iter_mut().find(|(p, _)| *p == flow_mod).unwrap().1 = format!(
        "{original}\n#[cfg(test)]\nmod more {{ use crate::story::Story; }}\n// crate::tui::x\nconst S: &str = \"crate::cli::y\";\n"
    );
    assert_eq!(violations(&t), Vec::<String>::new());
}

#[test]
fn use_trees_expand() {
    assert_eq!(
        expand_use("crate::{a::{b, c}, d}"),
        vec!["crate::a::b", "crate::a::c", "crate::d"]
    );
    assert_eq!(
        target_of("super::super::story::X", &["flow".into(), "table".into()]),
        Some("story".into())
    );
    assert_eq!(
        target_of("super::conn::X", &["flow".into(), "table".into()]),
        Some("flow".into())
    );
}
