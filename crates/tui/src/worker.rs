//! The background worker that feeds a [`super::DataSource`]: a thread that runs a
//! producer (the analysis over a file, or a live capture) and sends **batches** over a
//! bounded channel, with pause/stop commands coming back on another channel.
//!
//! `analysis` has no clock and runs on its caller's thread (ARCHITECTURE.md); this is
//! where the TUI adds a thread of its own. A source implementation owns a `Worker`, and
//! its `DataSource::poll` drains [`Worker::drain`] without blocking, so input never waits for the file. The bounded
//! channel gives back-pressure: a producer faster than the screen blocks instead of
//! queuing unbounded memory.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, SyncSender, TryRecvError};
use std::sync::Arc;
use std::thread;
use std::time::Duration;

/// What the producer did in one call (named apart from the per-packet
/// [`wiretale_engine::analysis::PacketContext`] and the HTTP parser's private steps).
#[derive(Debug, PartialEq)]
pub enum Produced<B> {
    /// A batch to hand to the UI.
    Batch(B),
    /// Nothing available right now (idle interface, file still growing): sleep a bit.
    Idle,
    /// The producer is finished (end of file, capture stopped).
    Done,
}

/// Commands from the UI to the worker.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Command {
    Pause(bool),
    Stop,
}

/// How long an idle or paused producer sleeps before looking again.
pub const IDLE_SLEEP: Duration = Duration::from_millis(10);

/// Handle to the worker thread. Dropping it stops the producer at its next step.
pub struct Worker<B> {
    rx: Receiver<B>,
    cmd: SyncSender<Command>,
    stop: Arc<AtomicBool>,
    done: Arc<AtomicBool>,
}

impl<B: Send + 'static> Worker<B> {
    /// Starts `produce` on its own thread; at most `capacity` batches wait in the channel.
    pub fn spawn<P>(capacity: usize, mut produce: P) -> Worker<B>
    where
        P: FnMut() -> Produced<B> + Send + 'static,
    {
        let (tx, rx) = mpsc::sync_channel::<B>(capacity.max(1));
        let (cmd, crx) = mpsc::sync_channel::<Command>(16);
        let stop = Arc::new(AtomicBool::new(false));
        let done = Arc::new(AtomicBool::new(false));
        let (stop_w, done_w) = (stop.clone(), done.clone());
        thread::spawn(move || {
            let mut paused = false;
            'run: loop {
                loop {
                    match crx.try_recv() {
                        Ok(Command::Pause(p)) => paused = p,
                        Ok(Command::Stop) | Err(TryRecvError::Disconnected) => break 'run,
                        Err(TryRecvError::Empty) => break,
                    }
                }
                if stop_w.load(Ordering::Relaxed) {
                    break;
                }
                if paused {
                    thread::sleep(IDLE_SLEEP);
                    continue;
                }
                match produce() {
                    Produced::Batch(b) => {
                        if tx.send(b).is_err() {
                            break; // the UI is gone
                        }
                    }
                    Produced::Idle => thread::sleep(IDLE_SLEEP),
                    Produced::Done => break,
                }
            }
            done_w.store(true, Ordering::Relaxed);
        });
        Worker {
            rx,
            cmd,
            stop,
            done,
        }
    }

    /// The batches that arrived since the last call, at most `max` (so one poll cannot
    /// hold the UI for long); never blocks.
    pub fn drain(&self, max: usize) -> impl Iterator<Item = B> + '_ {
        self.rx.try_iter().take(max)
    }

    /// Sends a command; returns false when the worker has already ended.
    pub fn send(&self, c: Command) -> bool {
        self.cmd.try_send(c).is_ok()
    }

    /// True once the producer returned `Done`, was stopped, or lost the UI. Batches
    /// may still be waiting in the channel.
    pub fn finished(&self) -> bool {
        self.done.load(Ordering::Relaxed)
    }
}

impl<B> Drop for Worker<B> {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        let _ = self.cmd.try_send(Command::Stop);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;
    use std::time::Instant;

    fn wait_until(mut f: impl FnMut() -> bool) -> bool {
        let t = Instant::now();
        while t.elapsed() < Duration::from_secs(5) {
            if f() {
                return true;
            }
            thread::sleep(Duration::from_millis(2));
        }
        false
    }

    #[test]
    fn batches_arrive_in_order_then_done() {
        let mut n = 0u32;
        let w = Worker::spawn(4, move || {
            n += 1;
            if n <= 10 {
                Produced::Batch(n)
            } else {
                Produced::Done
            }
        });
        let mut got = Vec::new();
        assert!(wait_until(|| {
            got.extend(w.drain(3));
            got.len() == 10
        }));
        assert_eq!(got, (1..=10).collect::<Vec<_>>());
        assert!(wait_until(|| w.finished()));
    }

    #[test]
    fn bounded_channel_back_pressures_the_producer() {
        let made = Arc::new(AtomicUsize::new(0));
        let m = made.clone();
        let w = Worker::spawn(2, move || {
            m.fetch_add(1, Ordering::Relaxed);
            Produced::Batch(())
        });
        thread::sleep(Duration::from_millis(100));
        // 2 queued + 1 blocked in `send`.
        assert!(
            made.load(Ordering::Relaxed) <= 3,
            "{}",
            made.load(Ordering::Relaxed)
        );
        assert!(
            w.drain(100).count() >= 2,
            "the queued batches are delivered"
        );
        drop(w);
    }

    #[test]
    fn pause_stops_production_and_drop_stops_the_thread() {
        let made = Arc::new(AtomicUsize::new(0));
        let m = made.clone();
        let w = Worker::spawn(1000, move || {
            m.fetch_add(1, Ordering::Relaxed);
            thread::sleep(Duration::from_millis(1));
            Produced::Batch(())
        });
        assert!(w.send(Command::Pause(true)));
        thread::sleep(Duration::from_millis(50));
        let a = made.load(Ordering::Relaxed);
        thread::sleep(Duration::from_millis(50));
        assert!(
            made.load(Ordering::Relaxed) <= a + 1,
            "paused producer kept going"
        );
        assert!(w.send(Command::Pause(false)));
        assert!(wait_until(|| made.load(Ordering::Relaxed) > a + 5));
        let done = w.done.clone();
        drop(w);
        assert!(
            wait_until(|| done.load(Ordering::Relaxed)),
            "thread ended after drop"
        );
    }
}
