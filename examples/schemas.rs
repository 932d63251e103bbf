//! Writes the JSON Schema of every `--json` record type to `docs/schema/<record>.json`
//! (generated from the types in `wiretale::analysis::records`), and the Parquet column
//! reference of `wiretale extract` to `docs/schema/parquet.md`:
//!
//! ```text
//! cargo run --example schemas
//! ```
//!
//! tests/schema.rs fails when a committed file differs from what the types generate.

use std::path::Path;

fn main() -> std::io::Result<()> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/schema");
    std::fs::create_dir_all(&dir)?;
    for (name, schema) in wiretale::analysis::records::schemas() {
        let path = dir.join(format!("{name}.json"));
        let text = serde_json::to_string_pretty(&schema).map_err(std::io::Error::other)? + "\n";
        std::fs::write(&path, text)?;
        println!("{}", path.display());
    }
    // The Parquet tables of `wiretale extract`, from the same types.
    let path = dir.join("parquet.md");
    std::fs::write(&path, wiretale::cli::parquet_doc())?;
    println!("{}", path.display());
    Ok(())
}
