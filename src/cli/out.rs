//! Output plumbing shared by every subcommand: a buffered, locked stdout where a closed
//! pipe (`wiretale packets big.pcap | head`) ends the run quietly with status 0.

use std::io::{self, BufWriter, Write};

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

    /// Writes one line (a newline is appended). After the first failure, writes are
    /// skipped; [`Out::failed`] tells the caller to stop.
    pub fn line(&mut self, s: &str) {
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
