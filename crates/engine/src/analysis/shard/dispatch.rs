//! Cutting the frame sequence into per-worker windows.

use super::worker::{Step, Window, WindowEnd};
use super::{shard_key, shard_of, DRAIN_EVERY};
use crate::base::Timestamp;
use crate::capture::Frame;

/// Routes frames to shards and closes a window for every worker at each drain.
pub struct Dispatcher {
    shards: usize,
    n: u64,
    windows: Vec<Window>,
    now: Timestamp,
    /// Capture time between two `Pending` looks (the story's rhythm), if wanted.
    pending_every: Option<i64>,
    last_advance: i64,
}

impl Dispatcher {
    /// `pending_every`: the consumer asks for `Pending` at a drain when this much
    /// capture time passed since it last asked (the story's rule, mirrored here so the
    /// workers bring it exactly then).
    pub fn new(shards: usize, pending_every: Option<i64>) -> Self {
        let shards = shards.max(1);
        Dispatcher {
            shards,
            n: 0,
            windows: (0..shards).map(|_| Window::default()).collect(),
            now: Timestamp::default(),
            pending_every,
            last_advance: i64::MIN,
        }
    }

    pub fn shards(&self) -> usize {
        self.shards
    }

    /// Frames pushed so far.
    pub fn frames(&self) -> u64 {
        self.n
    }

    /// Adds one frame; at a drain, returns every worker's window.
    pub fn push(&mut self, frame: &Frame<'_>) -> Option<Vec<Window>> {
        if !frame.secrets.is_empty() {
            for w in &mut self.windows {
                w.steps.push(Step::Secrets(frame.secrets.to_vec()));
            }
        }
        let meta = frame.meta;
        self.now = self.now.max(meta.ts);
        let mine = shard_of(shard_key(meta.link, frame.data), self.shards);
        let n = self.n;
        for (i, w) in self.windows.iter_mut().enumerate() {
            if i == mine {
                let at = w.buf.len();
                w.buf.extend_from_slice(frame.data);
                let len = frame.data.len();
                w.steps.push(Step::Own { n, meta, at, len });
            } else {
                w.steps.push(Step::Tick { n, ts: meta.ts });
            }
        }
        self.n += 1;
        if !self.n.is_multiple_of(DRAIN_EVERY) {
            return None;
        }
        let want_pending = self.pending_every.is_some_and(|every| {
            let due = self.now.0.saturating_sub(self.last_advance) >= every;
            if due {
                self.last_advance = self.now.0;
            }
            due
        });
        Some(self.close(WindowEnd {
            at_end: false,
            want_pending,
        }))
    }

    /// The last windows: the input ended (or broke off); workers finish.
    pub fn end(&mut self) -> Vec<Window> {
        self.close(WindowEnd {
            at_end: true,
            want_pending: false,
        })
    }

    fn close(&mut self, end: WindowEnd) -> Vec<Window> {
        self.windows
            .iter_mut()
            .map(|w| {
                let cap = w.steps.len();
                let mut next = Window {
                    steps: Vec::with_capacity(cap),
                    buf: Vec::with_capacity(w.buf.capacity()),
                    end: WindowEnd::default(),
                };
                std::mem::swap(w, &mut next);
                next.end = end;
                next
            })
            .collect()
    }
}
