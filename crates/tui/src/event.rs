//! The event loop: terminal setup and restore, the input thread, and the main loop that
//! turns events into actions, polls the source for update batches and redraws only when
//! something changed.

use std::io::{self, IsTerminal, Stdout, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::Arc;
use std::thread;
use std::time::Duration;

use crossterm::event::{
    self, DisableMouseCapture, EnableMouseCapture, Event, KeyCode, KeyModifiers, MouseButton,
    MouseEventKind,
};
use crossterm::execute;
use crossterm::terminal::{self, EnterAlternateScreen, LeaveAlternateScreen};
use ratatui::backend::CrosstermBackend;
use ratatui::Terminal;

use super::action::{Action, Scope};
use super::app::App;
use super::keymap;
use super::views;

/// How long the loop waits for input before polling the source again.
pub const TICK: Duration = Duration::from_millis(50);

/// Translates one terminal event into an action for the current mode of `app`.
pub fn to_action(app: &App, ev: &Event) -> Option<Action> {
    match ev {
        Event::Key(k) => {
            let key = keymap::key_of(k)?;
            if key.ctrl && key.code == KeyCode::Char('c') {
                return Some(Action::ForceQuit);
            }
            if app.confirm_quit {
                return match key.code {
                    KeyCode::Char('y' | 'Y') => Some(Action::ConfirmYes),
                    KeyCode::Char('n' | 'N') | KeyCode::Esc => Some(Action::ConfirmNo),
                    _ => None,
                };
            }
            if app.bar.is_some() {
                return match key.code {
                    KeyCode::Char(c) if !k.modifiers.contains(KeyModifiers::CONTROL) => {
                        Some(Action::BarChar(c))
                    }
                    KeyCode::Backspace => Some(Action::BarBackspace),
                    KeyCode::Left => Some(Action::BarLeft),
                    KeyCode::Right => Some(Action::BarRight),
                    KeyCode::Enter => Some(Action::BarSubmit),
                    KeyCode::Tab => Some(Action::BarComplete),
                    KeyCode::Up => Some(Action::BarHistoryPrev),
                    KeyCode::Down => Some(Action::BarHistoryNext),
                    KeyCode::Esc => Some(Action::Back),
                    _ => None,
                };
            }
            if app.help {
                return keymap::lookup(key, &[Scope::Global]);
            }
            keymap::lookup(key, &app.scopes())
        }
        Event::Mouse(m) => match m.kind {
            MouseEventKind::ScrollDown => Some(Action::ScrollDown),
            MouseEventKind::ScrollUp => Some(Action::ScrollUp),
            MouseEventKind::Down(MouseButton::Left) => Some(Action::Click(m.column, m.row)),
            _ => None,
        },
        Event::Resize(w, h) => Some(Action::Resize(*w, *h)),
        _ => None,
    }
}

/// Leaves raw mode, the alternate screen and mouse capture. Safe to call twice.
pub fn restore() {
    let _ = terminal::disable_raw_mode();
    let _ = execute!(
        io::stdout(),
        DisableMouseCapture,
        LeaveAlternateScreen,
        crossterm::cursor::Show
    );
}

/// Restores the terminal when dropped, so every exit path (error, `?`) restores it.
struct Guard;

impl Drop for Guard {
    fn drop(&mut self) {
        restore();
    }
}

fn setup() -> io::Result<Terminal<CrosstermBackend<Stdout>>> {
    terminal::enable_raw_mode()?;
    execute!(io::stdout(), EnterAlternateScreen, EnableMouseCapture)?;
    // A panic would otherwise leave the terminal raw and the mouse captured.
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        restore();
        previous(info);
    }));
    Terminal::new(CrosstermBackend::new(io::stdout()))
}

/// Set by SIGTERM, SIGHUP or SIGINT (a `kill`, the terminal window closed): the loop
/// ends as if the user quit, so the terminal is restored and a live capture's file is
/// closed whole. (In raw mode Ctrl-C is a key, not SIGINT.)
static TERMINATE: AtomicBool = AtomicBool::new(false);

/// Why the loop stops without the user quitting: a signal asked, or the terminal is
/// gone (hung up: its window closed, its tmux session killed, its ssh link dropped).
///
/// A process the hangup's SIGHUP does not reach (started under `nohup`, or not in the
/// terminal's foreground group) would otherwise run on for ever: crossterm 0.29's
/// reader retries a read that returns end-of-file without end, one core busy
/// (`mio.rs`, `try_read`). A hung-up terminal fails `tcgetattr`, which `is_terminal`
/// asks: one cheap system call per tick.
fn stop_requested() -> bool {
    TERMINATE.load(Ordering::Relaxed) || !io::stdout().is_terminal()
}

/// How long the loop's end waits for the input thread: it polls with a 100 ms timeout
/// and then sees the stop flag, so a healthy one ends well within this.
const INPUT_JOIN: Duration = Duration::from_secs(1);

/// Waits for the input thread to end, but not past [`INPUT_JOIN`] and not once the
/// terminal has hung up. A terminal that goes away while the loop ends (a `kill`
/// followed by the window closing, as a script's cleanup does) leaves the thread
/// spinning inside crossterm (see [`stop_requested`]): joining it would hang the
/// process for ever, one core busy. The process ends without it.
fn join_input(input: thread::JoinHandle<()>) {
    let start = std::time::Instant::now();
    while !input.is_finished() {
        if start.elapsed() > INPUT_JOIN || !io::stdout().is_terminal() {
            return;
        }
        thread::sleep(Duration::from_millis(5));
    }
    let _ = input.join();
}

/// Runs the interactive loop on the real terminal until the user quits, a signal asks
/// to stop, or the terminal goes away.
pub fn run_terminal(app: &mut App) -> anyhow::Result<()> {
    let mut terminal = setup()?;
    let _guard = Guard;
    // Only one handler per process can be set; a second `run_terminal` keeps the first,
    // which sets the same flag.
    let _ = ctrlc::set_handler(|| TERMINATE.store(true, Ordering::Relaxed));
    let size = terminal.size()?;
    app.update(Action::Resize(size.width, size.height));

    // Input thread: blocking reads would outlive the loop, so it polls with a timeout
    // and checks a stop flag. The channel is bounded: a flood of events back-pressures.
    let stop = Arc::new(AtomicBool::new(false));
    let (tx, rx) = mpsc::sync_channel::<Event>(256);
    let stop_in = stop.clone();
    let input = thread::spawn(move || {
        while !stop_in.load(Ordering::Relaxed) {
            match event::poll(Duration::from_millis(100)) {
                Ok(true) => match event::read() {
                    Ok(ev) => {
                        if tx.send(ev).is_err() {
                            return;
                        }
                    }
                    Err(_) => return,
                },
                Ok(false) => {}
                Err(_) => return,
            }
        }
    });

    let mut dirty = true;
    let mut trace = crate::timings::Trace::from_env();
    let result = loop {
        if dirty {
            if let Err(e) = terminal.draw(|f| views::draw(f, app)) {
                break Err(e.into());
            }
            dirty = false;
            trace.drawn(app.status.done);
        }
        match rx.recv_timeout(TICK) {
            Ok(ev) => {
                // Handle everything already queued before the next draw (key repeat,
                // wheel bursts) so input never lags behind rendering.
                for ev in std::iter::once(ev).chain(rx.try_iter()) {
                    if let Some(a) = to_action(app, &ev) {
                        trace.key(&ev);
                        app.update(a);
                        dirty = true;
                    }
                    if app.quit {
                        break;
                    }
                }
            }
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => break Ok(()),
        }
        if app.quit || stop_requested() {
            break Ok(());
        }
        if app.apply_updates() {
            dirty = true;
        }
    };
    stop.store(true, Ordering::Relaxed);
    drop(rx);
    join_input(input);
    if !io::stdout().is_terminal() {
        // The terminal hung up. ratatui's `Drop` would report its failure to show the
        // cursor with `eprintln!`, which panics when stderr is that same dead terminal.
        std::mem::forget(terminal);
    }
    // Leave the alternate screen first so the note stays visible in the shell.
    restore();
    if let Some(f) = &app.status.capture_file {
        if app.status.live {
            // Not `eprintln!`: it panics when the terminal is gone.
            let _ = writeln!(io::stderr(), "wiretale: capture kept in {}", f.display());
        }
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::action::Tab;
    use crate::app::View;
    use crate::fake::FakeSource;
    use crossterm::event::{KeyEvent, KeyEventKind, MouseEvent};

    fn key(code: KeyCode) -> Event {
        Event::Key(KeyEvent::new(code, KeyModifiers::NONE))
    }

    fn ctrl(c: char) -> Event {
        Event::Key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::CONTROL))
    }

    fn app() -> App {
        let mut a = App::new(Box::new(FakeSource::live_manual()));
        a.update(Action::Resize(80, 24));
        a
    }

    #[test]
    fn keys_map_by_mode() {
        let mut a = app();
        assert_eq!(to_action(&a, &key(KeyCode::Char('j'))), Some(Action::Down));
        assert_eq!(
            to_action(&a, &key(KeyCode::Char('G'))),
            Some(Action::Bottom)
        );
        assert_eq!(to_action(&a, &ctrl('d')), Some(Action::HalfPageDown));
        assert_eq!(to_action(&a, &ctrl('c')), Some(Action::ForceQuit));
        assert_eq!(
            to_action(&a, &key(KeyCode::Char('3'))),
            Some(Action::ShowTab(Tab::Story))
        );
        assert_eq!(to_action(&a, &key(KeyCode::Char('z'))), None);
        let release = Event::Key(KeyEvent {
            kind: KeyEventKind::Release,
            ..KeyEvent::new(KeyCode::Char('j'), KeyModifiers::NONE)
        });
        assert_eq!(to_action(&a, &release), None, "releases are not presses");
        // In the bar, letters are text, not commands.
        a.update(Action::OpenBar);
        assert_eq!(
            to_action(&a, &key(KeyCode::Char('q'))),
            Some(Action::BarChar('q'))
        );
        assert_eq!(to_action(&a, &key(KeyCode::Enter)), Some(Action::BarSubmit));
        assert_eq!(to_action(&a, &key(KeyCode::Esc)), Some(Action::Back));
        assert_eq!(to_action(&a, &ctrl('c')), Some(Action::ForceQuit));
        a.update(Action::Back);
        // Quit confirmation takes only y/n (and Esc).
        a.update(Action::Quit);
        assert!(a.confirm_quit);
        assert_eq!(
            to_action(&a, &key(KeyCode::Char('y'))),
            Some(Action::ConfirmYes)
        );
        assert_eq!(to_action(&a, &key(KeyCode::Esc)), Some(Action::ConfirmNo));
        assert_eq!(to_action(&a, &key(KeyCode::Char('j'))), None);
        a.update(Action::ConfirmNo);
        // Help: global keys only (Enter does nothing there).
        a.update(Action::ToggleHelp);
        assert_eq!(to_action(&a, &key(KeyCode::Enter)), None);
        assert_eq!(
            to_action(&a, &key(KeyCode::Char('?'))),
            Some(Action::ToggleHelp)
        );
        a.update(Action::ToggleHelp);
        // View-specific keys.
        a.update(Action::ShowTab(Tab::Conns));
        assert_eq!(
            to_action(&a, &key(KeyCode::Char('s'))),
            Some(Action::SortNext)
        );
        assert_eq!(a.view(), View::Tab(Tab::Conns));
    }

    #[test]
    fn mouse_and_resize() {
        let a = app();
        let m = |kind| {
            Event::Mouse(MouseEvent {
                kind,
                column: 7,
                row: 9,
                modifiers: KeyModifiers::NONE,
            })
        };
        assert_eq!(
            to_action(&a, &m(MouseEventKind::ScrollDown)),
            Some(Action::ScrollDown)
        );
        assert_eq!(
            to_action(&a, &m(MouseEventKind::ScrollUp)),
            Some(Action::ScrollUp)
        );
        assert_eq!(
            to_action(&a, &m(MouseEventKind::Down(MouseButton::Left))),
            Some(Action::Click(7, 9))
        );
        assert_eq!(to_action(&a, &m(MouseEventKind::Moved)), None);
        assert_eq!(
            to_action(&a, &Event::Resize(100, 30)),
            Some(Action::Resize(100, 30))
        );
    }
}
