//! Output plumbing shared by every subcommand: a buffered, locked stdout where a closed
//! pipe (`wiretale packets big.pcap | head`) ends the run quietly with status 0.
//!
//! It is also where the line width is applied, once for every command (see
//! [`resolve_width`]): text lines are fitted to the terminal, or to
//! [`elide::PIPE_COLUMNS`] when stdout is not a terminal, as the last resort after the
//! commands have elided long values inside their lines (`base::elide`). `--wide` and
//! `--json` keep everything.

use std::io::{self, BufWriter, IsTerminal, Write};
use std::sync::OnceLock;

use wiretale_engine::base::elide::{self, Table};

/// The width text output is fitted to, chosen once per run by [`set_width`]; unset
/// (library use, unit tests) means no limit.
static COLUMNS: OnceLock<Option<usize>> = OnceLock::new();

/// Chooses the output width for this run from `--wide`, `--json`, `COLUMNS` and the
/// terminal (see [`resolve_width`]). Called once, before any output.
pub fn set_width(wide: bool, json: bool) {
    let env = std::env::var("COLUMNS").ok();
    let tty = io::stdout().is_terminal();
    let size = if tty {
        crossterm::terminal::size().ok().map(|(w, _)| w as usize)
    } else {
        None
    };
    let _ = COLUMNS.set(resolve_width(wide, json, env.as_deref(), tty, size));
}

/// The width lines are fitted to, or `None` to keep everything (`--wide`, `--json`).
pub fn columns() -> Option<usize> {
    COLUMNS.get().copied().flatten()
}

/// The width rule, in order: `--wide` or `--json` → no limit; `COLUMNS` set to a
/// number → that width, whether stdout is a terminal or not (the way to ask for a width
/// in a pipe: `COLUMNS=80 wiretale conns f.pcap | less`); a terminal → its width (80 if
/// it cannot be read); otherwise (a pipe or a file) [`elide::PIPE_COLUMNS`].
pub fn resolve_width(
    wide: bool,
    json: bool,
    columns_env: Option<&str>,
    tty: bool,
    term: Option<usize>,
) -> Option<usize> {
    if wide || json {
        return None;
    }
    if let Some(n) = columns_env
        .and_then(|v| v.trim().parse::<usize>().ok())
        .filter(|&n| n > 0)
    {
        // Narrower than this no line can say anything.
        return Some(n.max(20));
    }
    if tty {
        return Some(term.filter(|&n| n > 0).unwrap_or(80));
    }
    Some(elide::PIPE_COLUMNS)
}

/// Buffered stdout. Write errors are kept so the command can stop at the next check.
pub struct Out {
    w: BufWriter<io::StdoutLock<'static>>,
    err: Option<io::Error>,
    /// A table header written before the first line (or at the end when there is no
    /// line), so a command that fails before its first record prints nothing on stdout.
    header: Option<String>,
}

impl Default for Out {
    fn default() -> Self {
        Self::new()
    }
}

impl Out {
    pub fn new() -> Self {
        Out {
            w: BufWriter::with_capacity(1 << 16, io::stdout().lock()),
            err: None,
            header: None,
        }
    }

    /// Sets the header line (see the field's docs).
    pub fn header(&mut self, h: String) {
        self.header = Some(h);
    }

    /// Writes one line (a newline is appended), each of its physical lines fitted to the
    /// output width with `…` ([`elide::fit`]). After the first failure, writes are
    /// skipped; [`Out::failed`] tells the caller to stop.
    pub fn line(&mut self, s: &str) {
        match columns() {
            None => self.write_line(s),
            Some(c) if s.contains('\n') => {
                for part in s.split('\n') {
                    self.write_line(&elide::fit(part, c));
                }
            }
            Some(c) => self.write_line(&elide::fit(s, c)),
        }
    }

    /// Writes text where every character matters (a followed conversation): lines wider
    /// than the output width are wrapped, never cut.
    pub fn wrap(&mut self, s: &str) {
        match columns() {
            None => self.write_line(s),
            Some(c) => {
                for part in s.split('\n') {
                    for piece in elide::wrap(part, c) {
                        self.write_line(piece);
                    }
                }
            }
        }
    }

    fn write_line(&mut self, s: &str) {
        if self.err.is_some() {
            return;
        }
        if let Some(h) = self.header.take() {
            self.line(&h);
        }
        if let Err(e) = self
            .w
            .write_all(s.as_bytes())
            .and_then(|_| self.w.write_all(b"\n"))
        {
            self.err = Some(e);
        }
    }

    /// Writes raw bytes (for `follow --raw`).
    pub fn bytes(&mut self, b: &[u8]) {
        if self.err.is_some() {
            return;
        }
        if let Err(e) = self.w.write_all(b) {
            self.err = Some(e);
        }
    }

    /// Hands what is buffered to stdout now (live output: each batch is flushed as soon
    /// as it is written, whether stdout is a terminal or a pipe). Errors are kept as
    /// [`Out::line`] keeps them.
    pub fn flush(&mut self) {
        if self.err.is_some() {
            return;
        }
        if let Err(e) = self.w.flush() {
            self.err = Some(e);
        }
    }

    /// True once a write failed (e.g. the reader of the pipe went away).
    pub fn failed(&self) -> bool {
        self.err.is_some()
    }

    /// Flushes; returns the first error unless it was a closed pipe, which is a normal
    /// way for a reader like `head` to say it has seen enough.
    pub fn finish(mut self) -> io::Result<()> {
        if let Some(h) = self.header.take() {
            self.line(&h);
        }
        if self.err.is_none() {
            if let Err(e) = self.w.flush() {
                self.err = Some(e);
            }
        }
        match self.err.take() {
            Some(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(()),
            Some(e) => Err(e),
            None => Ok(()),
        }
    }

    /// True when the failure was a closed pipe (stop quietly, status 0).
    pub fn pipe_closed(&self) -> bool {
        matches!(&self.err, Some(e) if e.kind() == io::ErrorKind::BrokenPipe)
    }
}

/// How a table-printing command writes its text rows: today's fixed columns under
/// `--wide` (header written before the first row), else an [`elide::Table`] whose
/// widths follow the content and the output width.
pub enum Rows {
    Wide,
    Table(Table),
}

impl Rows {
    /// `wide_header` is the `--wide` header; `table` builds the table for a width.
    pub fn new(out: &mut Out, wide_header: String, table: impl FnOnce(usize) -> Table) -> Rows {
        match columns() {
            None => {
                out.header(wide_header);
                Rows::Wide
            }
            Some(w) => Rows::Table(table(w)),
        }
    }

    /// Prints one record: `wide()` is its `--wide` line, `cells()` its table cells.
    pub fn print(
        &mut self,
        out: &mut Out,
        wide: impl FnOnce() -> String,
        cells: impl FnOnce() -> Vec<String>,
    ) {
        match self {
            Rows::Wide => out.line(&wide()),
            Rows::Table(t) => {
                for l in t.row(cells()) {
                    out.line(&l);
                }
            }
        }
    }

    /// Writes what the table still holds (at least its header).
    pub fn finish(&mut self, out: &mut Out) {
        if let Rows::Table(t) = self {
            for l in t.finish() {
                out.line(&l);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_width_rule_in_order() {
        // --wide and --json keep everything, whatever the terminal says.
        assert_eq!(
            resolve_width(true, false, Some("80"), true, Some(100)),
            None
        );
        assert_eq!(
            resolve_width(false, true, Some("80"), true, Some(100)),
            None
        );
        // COLUMNS wins over the terminal and applies to pipes too.
        assert_eq!(
            resolve_width(false, false, Some("80"), false, None),
            Some(80)
        );
        assert_eq!(
            resolve_width(false, false, Some(" 132 "), true, Some(100)),
            Some(132)
        );
        // Not a number: ignored.
        assert_eq!(
            resolve_width(false, false, Some("wide"), true, Some(100)),
            Some(100)
        );
        assert_eq!(
            resolve_width(false, false, Some("0"), false, None),
            Some(200)
        );
        assert_eq!(
            resolve_width(false, false, Some("3"), false, None),
            Some(20)
        );
        assert_eq!(resolve_width(false, false, None, true, None), Some(80));
        assert_eq!(
            resolve_width(false, false, None, false, None),
            Some(elide::PIPE_COLUMNS)
        );
    }
}
