//! One Parquet file being written: rows gathered in column buffers and handed to the
//! Parquet writer every [`ROW_GROUP`] rows (one row group each), so memory holds one
//! row group per table, never a whole table. The file is written under a temporary
//! name and renamed when closed.

use std::fs::File;
use std::path::{Path, PathBuf};

use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::properties::WriterProperties;
use serde::Serialize;

use super::columns::{Rows, Shape};
use super::layout;

/// Rows per row group (and per batch handed to the writer).
pub const ROW_GROUP: usize = 65_536;

pub struct TableWriter {
    rows: Rows,
    writer: Option<ArrowWriter<File>>,
    temp: PathBuf,
    dest: PathBuf,
    capture: String,
    version: i32,
    written: u64,
}

/// A write that failed, as one line (`cannot write PATH: why`).
pub fn write_error(path: &Path, e: impl std::fmt::Display) -> String {
    format!("cannot write {}: {e}", path.display())
}

impl TableWriter {
    /// Creates the temporary file for `dest` (its directory too).
    pub fn create(
        shapes: Vec<(String, String, Shape)>,
        dest: PathBuf,
        temp: PathBuf,
        capture: &str,
        version: i32,
    ) -> Result<TableWriter, String> {
        if let Some(dir) = dest.parent() {
            std::fs::create_dir_all(dir).map_err(|e| write_error(dir, io_text(&e)))?;
        }
        let file = File::create(&temp).map_err(|e| write_error(&temp, io_text(&e)))?;
        layout::register_temp(&temp);
        let rows = Rows::new(shapes);
        let props = WriterProperties::builder()
            .set_compression(Compression::ZSTD(ZstdLevel::default()))
            .set_max_row_group_row_count(Some(ROW_GROUP))
            .set_created_by(format!("wiretale {}", env!("CARGO_PKG_VERSION")))
            .build();
        let writer = match ArrowWriter::try_new(file, rows.schema(), Some(props)) {
            Ok(w) => w,
            Err(e) => {
                layout::discard(&temp);
                return Err(write_error(&temp, e));
            }
        };
        Ok(TableWriter {
            rows,
            writer: Some(writer),
            temp,
            dest,
            capture: capture.to_string(),
            version,
            written: 0,
        })
    }

    pub fn push<T: Serialize>(&mut self, rec: &T) -> Result<(), String> {
        self.rows
            .push(&self.capture, self.version, rec)
            .map_err(|e| format!("{}: {e}", self.dest.display()))?;
        if self.rows.len() >= ROW_GROUP {
            self.flush()?;
        }
        Ok(())
    }

    fn flush(&mut self) -> Result<(), String> {
        if self.rows.len() == 0 {
            return Ok(());
        }
        let n = self.rows.len() as u64;
        let batch = self.rows.take_batch()?;
        if let Some(w) = &mut self.writer {
            w.write(&batch).map_err(|e| write_error(&self.temp, e))?;
            // One row group per batch: what the writer holds is bounded by it.
            w.flush().map_err(|e| write_error(&self.temp, e))?;
        }
        self.written += n;
        Ok(())
    }

    /// Writes what is left, closes the file and gives it its final name. Returns the
    /// rows written.
    pub fn close(mut self) -> Result<u64, String> {
        let r = self.flush().and_then(|_| match self.writer.take() {
            Some(w) => w
                .close()
                .map(|_| ())
                .map_err(|e| write_error(&self.temp, e)),
            None => Ok(()),
        });
        if let Err(e) = r {
            layout::discard(&self.temp);
            return Err(e);
        }
        layout::publish(&self.temp, &self.dest).map_err(|e| {
            layout::discard(&self.temp);
            write_error(&self.dest, io_text(&e))
        })?;
        Ok(self.written)
    }

    /// Abandons the file (an error elsewhere): the temporary is removed.
    pub fn abandon(mut self) {
        self.writer.take();
        layout::discard(&self.temp);
    }
}

/// An I/O error as people read it (`Permission denied`, without the `(os error 13)`).
pub fn io_text(e: &std::io::Error) -> String {
    let s = e.to_string();
    match s.find(" (os error") {
        Some(i) => s[..i].to_string(),
        None => s,
    }
}
