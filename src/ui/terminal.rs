//! The real terminal: raw mode and the alternate screen on entry, restored on every way out —
//! normal return, error (`?`), panic (a hook that restores, then calls the previous hook) and
//! SIGTERM/SIGHUP/SIGINT (signal-hook turns them into a `UiEvent`). Three small threads feed
//! the merged channel: terminal input + clock ticks, trainer events, signals.

use std::io::{stdout, IsTerminal};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, Once, OnceLock};
use std::thread::{self, JoinHandle, ThreadId};
use std::time::{Duration, Instant};

use crossbeam_channel::{select, Receiver, Sender};
use crossterm::event::{self, DisableMouseCapture, EnableMouseCapture, Event};
use crossterm::execute;
use crossterm::terminal::{
    disable_raw_mode, enable_raw_mode, EnterAlternateScreen, LeaveAlternateScreen,
};
use ratatui::backend::CrosstermBackend;
use ratatui::Terminal;
use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
use signal_hook::iterator::Signals;

use crate::engine::events::{Command, TrainerEvent};
use crate::ui::app::App;
use crate::ui::event::{Outcome, UiEvent};
use crate::ui::runloop::run_loop;
use crate::ui::theme::ColorMode;

/// How the binary wants the dashboard.
#[derive(Clone, Debug, PartialEq)]
pub struct DashboardOptions {
    /// Capture the mouse (click focuses a panel, wheel zooms the heatmap). Off by default so
    /// the terminal's own text selection keeps working.
    pub mouse: bool,
    /// Shown and exported to until the trainer names its run directory.
    pub run_dir: PathBuf,
    /// Clock tick (elapsed time, stop wait); about 100 ms.
    pub tick: Duration,
}

/// Whether stdout is a terminal: the binary runs the dashboard only then (else headless).
pub fn stdout_is_tty() -> bool {
    stdout().is_terminal()
}

/// Runs the dashboard on the real terminal until the user quits; restores the terminal on every
/// exit path.
pub fn run_terminal(
    events: Receiver<TrainerEvent>,
    commands: Sender<Command>,
    opts: DashboardOptions,
) -> color_eyre::Result<Outcome> {
    let mut app = App::new(opts.run_dir.clone(), ColorMode::detect());
    let after_dashboard = shutdown_after_dashboard()?;
    after_dashboard.store(false, Ordering::SeqCst);
    let signals = Signals::new([SIGTERM, SIGHUP, SIGINT])?;
    install_panic_hook();

    let result = (|| {
        let _guard = TerminalGuard::enter(opts.mouse)?;
        let mut terminal = Terminal::new(CrosstermBackend::new(stdout()))?;
        terminal.hide_cursor()?;
        terminal.clear()?;

        let (tx, rx) = crossbeam_channel::unbounded();
        let stop = Arc::new(AtomicBool::new(false));
        let (quit_tx, quit_rx) = crossbeam_channel::bounded::<()>(0);
        let signal_handle = signals.handle();
        // The input thread is not joined: on a hung-up terminal crossterm's `poll` can spin
        // inside itself and never return, and the process must still wind down (it exits with
        // the process).
        let _input = spawn_input(tx.clone(), stop.clone(), opts.tick);
        let threads = [
            spawn_forwarder(events, tx.clone(), quit_rx),
            spawn_signals(signals, tx),
        ];
        let outcome = run_loop(&mut terminal, rx, commands, &mut app);
        stop.store(true, Ordering::Relaxed);
        drop(quit_tx);
        signal_handle.close();
        for t in threads {
            // A thread that panicked already reported through the panic hook.
            let _ = t.join();
        }
        outcome
    })();
    after_dashboard.store(true, Ordering::SeqCst);
    // Panics of other threads (the trainer catches its own and reports an Error event) were
    // held back so they would not scribble over the dashboard; print them now.
    if let Ok(mut held) = DEFERRED_PANICS.lock() {
        for p in held.drain(..) {
            eprintln!("{p}");
        }
    }
    result
}

/// After the dashboard, a signal must end the process again, but signal-hook cannot give back
/// the default action when its handler goes. So, once per process, a conditional shutdown
/// (exit 128 + signal) is registered, armed whenever no dashboard runs.
fn shutdown_after_dashboard() -> std::io::Result<Arc<AtomicBool>> {
    static FLAG: OnceLock<Arc<AtomicBool>> = OnceLock::new();
    if let Some(flag) = FLAG.get() {
        return Ok(flag.clone());
    }
    let flag = Arc::new(AtomicBool::new(true));
    for sig in [SIGTERM, SIGHUP, SIGINT] {
        signal_hook::flag::register_conditional_shutdown(sig, 128 + sig, flag.clone())?;
    }
    Ok(FLAG.get_or_init(|| flag).clone())
}

/// Terminal input and clock ticks on one thread: `poll` waits at most until the next tick.
fn spawn_input(tx: Sender<UiEvent>, stop: Arc<AtomicBool>, tick: Duration) -> JoinHandle<()> {
    thread::spawn(move || {
        let start = Instant::now();
        let mut next_tick = start;
        while !stop.load(Ordering::Relaxed) {
            let now = Instant::now();
            if now >= next_tick {
                // A hung-up pty can keep polling "readable" with nothing to read; its size query
                // fails, which is how the dashboard notices that the terminal is gone.
                if crossterm::terminal::size().is_err() {
                    let _ = tx.send(UiEvent::Signal("terminal closed"));
                    return;
                }
                if tx.send(UiEvent::Tick(now - start)).is_err() {
                    return;
                }
                next_tick = now + tick;
            }
            // A read error means the terminal went away (a hung-up pty polls readable forever):
            // end the dashboard like a hangup instead of spinning on it.
            let ev = match event::poll(next_tick.saturating_duration_since(Instant::now())) {
                Ok(true) => match event::read() {
                    Ok(ev) => Some(ev),
                    Err(_) => {
                        let _ = tx.send(UiEvent::Signal("terminal closed"));
                        return;
                    }
                },
                Ok(false) => None,
                Err(_) => {
                    let _ = tx.send(UiEvent::Signal("terminal closed"));
                    return;
                }
            };
            let ui = match ev {
                Some(Event::Key(k)) => UiEvent::Key(k),
                Some(Event::Mouse(m)) => UiEvent::Mouse(m),
                Some(Event::Resize(w, h)) => UiEvent::Resize(w, h),
                _ => continue,
            };
            if tx.send(ui).is_err() {
                return;
            }
        }
    })
}

/// Trainer events into the merged channel; `TrainerClosed` when the trainer drops its sender.
/// Ends when the dashboard drops `quit`.
fn spawn_forwarder(
    events: Receiver<TrainerEvent>,
    tx: Sender<UiEvent>,
    quit: Receiver<()>,
) -> JoinHandle<()> {
    thread::spawn(move || loop {
        select! {
            recv(events) -> ev => {
                let ui = match ev {
                    Ok(ev) => UiEvent::Trainer(ev),
                    Err(_) => UiEvent::TrainerClosed,
                };
                let closed = ui == UiEvent::TrainerClosed;
                if tx.send(ui).is_err() || closed {
                    return;
                }
            }
            recv(quit) -> _ => return,
        }
    })
}

fn spawn_signals(mut signals: Signals, tx: Sender<UiEvent>) -> JoinHandle<()> {
    thread::spawn(move || {
        for sig in signals.forever() {
            let name = match sig {
                SIGTERM => "SIGTERM",
                SIGHUP => "SIGHUP",
                _ => "SIGINT",
            };
            if tx.send(UiEvent::Signal(name)).is_err() {
                return;
            }
        }
    })
}

/// Whether the terminal is in dashboard mode, and with the mouse captured; read by the panic
/// hook, which cannot reach the guard.
static ACTIVE: AtomicBool = AtomicBool::new(false);
static MOUSE: AtomicBool = AtomicBool::new(false);
/// The thread that owns the terminal: only its panics restore the terminal (a panicking
/// trainer thread must not pull the screen from under the running dashboard).
static UI_THREAD: Mutex<Option<ThreadId>> = Mutex::new(None);

/// Leaves dashboard mode; does nothing if not in it, so it can run from Drop and the panic hook.
fn restore_terminal() {
    if !ACTIVE.swap(false, Ordering::SeqCst) {
        return;
    }
    let _ = disable_raw_mode();
    let mut out = stdout();
    if MOUSE.load(Ordering::SeqCst) {
        let _ = execute!(out, DisableMouseCapture);
    }
    let _ = execute!(out, LeaveAlternateScreen, crossterm::cursor::Show);
}

/// Raw mode + alternate screen (+ mouse) for its lifetime.
struct TerminalGuard;

impl TerminalGuard {
    fn enter(mouse: bool) -> std::io::Result<Self> {
        if let Ok(mut owner) = UI_THREAD.lock() {
            *owner = Some(thread::current().id());
        }
        enable_raw_mode()?;
        ACTIVE.store(true, Ordering::SeqCst);
        MOUSE.store(mouse, Ordering::SeqCst);
        // From here the guard exists, so a failure below still restores.
        let guard = TerminalGuard;
        let mut out = stdout();
        execute!(out, EnterAlternateScreen)?;
        if mouse {
            execute!(out, EnableMouseCapture)?;
        }
        Ok(guard)
    }
}

impl Drop for TerminalGuard {
    fn drop(&mut self) {
        restore_terminal();
    }
}

/// Panic reports of other threads while the dashboard owns the screen, printed after it.
static DEFERRED_PANICS: Mutex<Vec<String>> = Mutex::new(Vec::new());

/// Once per process: a panic on the dashboard thread restores the terminal, then the previous
/// hook (color-eyre's) prints. A panic on another thread while the dashboard runs is held back
/// (one line: thread, place, message) and printed once the terminal is restored.
fn install_panic_hook() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let owner = UI_THREAD.lock().ok().and_then(|o| *o);
            let on_ui = owner == Some(thread::current().id());
            if ACTIVE.load(Ordering::SeqCst) && !on_ui {
                let payload = info
                    .payload()
                    .downcast_ref::<&str>()
                    .map(|s| s.to_string())
                    .or_else(|| info.payload().downcast_ref::<String>().cloned())
                    .unwrap_or_else(|| "(no message)".into());
                let place = info
                    .location()
                    .map_or(String::new(), |l| format!(" at {}:{}", l.file(), l.line()));
                let name = thread::current().name().unwrap_or("unnamed").to_string();
                if let Ok(mut held) = DEFERRED_PANICS.lock() {
                    held.push(format!("thread '{name}' panicked{place}: {payload}"));
                }
                return;
            }
            if on_ui {
                restore_terminal();
            }
            previous(info);
        }));
    });
}
