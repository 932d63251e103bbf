//! The story sample at the top of README.md is what `wiretale story` prints for the
//! bundled browser page load (made by `scripts/readme-sample.sh`): a line "…" stands for
//! the lines left out, everything before it is the output's first lines and everything
//! after it its last lines.

mod common;

use std::path::Path;
use std::process::Command;

#[test]
fn the_readme_story_sample_is_the_real_output() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    let begin = readme
        .find("<!-- story-sample: begin")
        .expect("README has a story-sample block");
    let end = readme[begin..]
        .find("<!-- story-sample: end")
        .map(|e| begin + e)
        .expect("the block ends");
    let block: Vec<&str> = readme[begin..end]
        .lines()
        .skip(1)
        .filter(|l| !l.starts_with("```"))
        .collect();
    assert!(block.len() > 10, "the sample is empty: {block:?}");
    let out = Command::new(common::bin())
        .arg("story")
        .arg(root.join("captures/lab-page.pcap"))
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    let real: Vec<&str> = text.lines().collect();
    let (head, tail) = match block.iter().position(|l| *l == "…") {
        Some(i) => (&block[..i], &block[i + 1..]),
        None => (&block[..], &[][..]),
    };
    let hint = "run scripts/readme-sample.sh";
    assert_eq!(head, &real[..head.len().min(real.len())], "{hint}");
    if block.contains(&"…") {
        assert!(head.len() + tail.len() <= real.len(), "{hint}");
        assert_eq!(tail, &real[real.len() - tail.len()..], "{hint}");
    } else {
        assert_eq!(head.len(), real.len(), "{hint}");
    }
}

/// A README block between `<!-- NAME: begin` and `<!-- NAME: end` is a run of
/// consecutive lines of `wiretale story CAPTURE`.
fn excerpt_is_real(name: &str, capture: &str) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    let begin = readme
        .find(&format!("<!-- {name}: begin"))
        .unwrap_or_else(|| panic!("README has a {name} block"));
    let end = begin
        + readme[begin..]
            .find(&format!("<!-- {name}: end"))
            .expect("the block ends");
    let block: Vec<&str> = readme[begin..end]
        .lines()
        .skip(1)
        .filter(|l| !l.starts_with("```"))
        .collect();
    assert!(block.len() >= 3, "{block:?}");
    let out = Command::new(common::bin())
        .arg("story")
        .arg(root.join(capture))
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    let real: Vec<&str> = text.lines().collect();
    assert!(
        real.windows(block.len()).any(|w| w == block.as_slice()),
        "README's {name} excerpt is not in the output:\n{text}"
    );
}

/// The HTTPS excerpt in README.md's HTTPS section is a run of consecutive lines of what
/// `wiretale story` prints for the bundled HTTPS page load (keys from its DSB).
#[test]
fn the_readme_https_excerpt_is_the_real_output() {
    excerpt_is_real("https-sample", "captures/lab-https-page.pcapng");
}

/// The HTTP/3 excerpt of the QUIC section: the bundled h2-then-HTTP/3 page load.
#[test]
fn the_readme_h3_excerpt_is_the_real_output() {
    excerpt_is_real("h3-sample", "captures/lab-h3-page.pcapng");
}
