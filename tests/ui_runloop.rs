//! `run_loop` end to end on a TestBackend with scripted `UiEvent`s: confirming a ticket and
//! quitting, stopping a run and waiting for the trainer, frame coalescing, the input closing,
//! and an export through the loop.

use std::io;
use std::thread;
use std::time::Duration;

use crossbeam_channel::{unbounded, Sender};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ebt::engine::events::{Command, Phase, RunKind, TrainerEvent};
use ebt::ui::demo::DemoRun;
use ebt::ui::{run_loop, App, ColorMode, Outcome, UiEvent};
use ratatui::backend::{Backend, ClearType, TestBackend, WindowSize};
use ratatui::buffer::Cell;
use ratatui::layout::{Position, Size};
use ratatui::Terminal;

/// TestBackend that counts frames (one `flush` per `Terminal::draw`).
struct Counting {
    inner: TestBackend,
    frames: usize,
}

impl Backend for Counting {
    fn draw<'a, I: Iterator<Item = (u16, u16, &'a Cell)>>(&mut self, content: I) -> io::Result<()> {
        self.inner.draw(content)
    }
    fn hide_cursor(&mut self) -> io::Result<()> {
        self.inner.hide_cursor()
    }
    fn show_cursor(&mut self) -> io::Result<()> {
        self.inner.show_cursor()
    }
    fn get_cursor_position(&mut self) -> io::Result<Position> {
        self.inner.get_cursor_position()
    }
    fn set_cursor_position<P: Into<Position>>(&mut self, p: P) -> io::Result<()> {
        self.inner.set_cursor_position(p)
    }
    fn clear(&mut self) -> io::Result<()> {
        self.inner.clear()
    }
    fn clear_region(&mut self, t: ClearType) -> io::Result<()> {
        self.inner.clear_region(t)
    }
    fn size(&self) -> io::Result<Size> {
        self.inner.size()
    }
    fn window_size(&mut self) -> io::Result<WindowSize> {
        self.inner.window_size()
    }
    fn flush(&mut self) -> io::Result<()> {
        self.frames += 1;
        self.inner.flush()
    }
}

fn terminal() -> Terminal<Counting> {
    Terminal::new(Counting {
        inner: TestBackend::new(80, 24),
        frames: 0,
    })
    .unwrap()
}

fn key(c: KeyCode) -> UiEvent {
    UiEvent::Key(KeyEvent::new(c, KeyModifiers::NONE))
}

fn ctrl_c() -> UiEvent {
    UiEvent::Key(KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL))
}

fn screen(t: &Terminal<Counting>) -> String {
    let buf = t.backend().inner.buffer();
    (0..buf.area.height)
        .map(|y| {
            (0..buf.area.width)
                .map(|x| buf[(x, y)].symbol())
                .collect::<String>()
                + "\n"
        })
        .collect()
}

/// Sends `events` after `delay` from another thread (so the loop has drawn in between).
fn later(tx: &Sender<UiEvent>, delay: Duration, events: Vec<UiEvent>) -> thread::JoinHandle<()> {
    let tx = tx.clone();
    thread::spawn(move || {
        thread::sleep(delay);
        for e in events {
            let _ = tx.send(e);
        }
    })
}

#[test]
fn confirms_a_ticket_and_quits_after_the_pipeline() {
    let demo = DemoRun::standard();
    let (tx, rx) = unbounded();
    let (cmd_tx, cmd_rx) = unbounded();
    let mut script = demo.search_events(7);
    script.push(UiEvent::Trainer(TrainerEvent::TicketCandidate(
        demo.ticket_offer(7),
    )));
    script.push(UiEvent::Trainer(TrainerEvent::Phase(Phase::TicketOffered)));
    script.extend([key(KeyCode::Enter), key(KeyCode::Char('y'))]);
    // The rest of the pipeline, as the engine sends it after the confirmation.
    let full = demo.pipeline_events();
    script.extend(full.into_iter().skip(2 + 7 * 3 + 2));
    script.push(key(KeyCode::Char('q')));
    for e in script {
        tx.send(e).unwrap();
    }
    drop(tx);
    let mut app = App::new("runs/x".into(), ColorMode::Mono);
    let mut t = terminal();
    let outcome = run_loop(&mut t, rx, cmd_tx, &mut app).unwrap();
    assert_eq!(outcome, Outcome::Finished);
    let sent: Vec<Command> = cmd_rx.try_iter().collect();
    assert_eq!(sent, vec![Command::ConfirmTicket { ratio: 0.3 }]);
    assert!(!app.in_progress());
}

#[test]
fn q_yes_stops_and_waits_for_the_trainer() {
    let demo = DemoRun::standard();
    let (tx, rx) = unbounded();
    let (cmd_tx, cmd_rx) = unbounded();
    for e in demo.search_events(3) {
        tx.send(e).unwrap();
    }
    tx.send(key(KeyCode::Char('q'))).unwrap();
    tx.send(key(KeyCode::Char('y'))).unwrap();
    let done = TrainerEvent::Done {
        run_dir: "runs/x".into(),
    };
    let trainer = later(
        &tx,
        Duration::from_millis(200),
        vec![UiEvent::Trainer(done)],
    );
    let mut app = App::new("runs/x".into(), ColorMode::Mono);
    let mut t = terminal();
    let outcome = run_loop(&mut t, rx, cmd_tx, &mut app).unwrap();
    trainer.join().unwrap();
    assert_eq!(outcome, Outcome::Stopped { acknowledged: true });
    assert_eq!(cmd_rx.try_iter().collect::<Vec<_>>(), vec![Command::Stop]);
    // While waiting, the loop drew the "stopping…" state.
    let text = screen(&t);
    assert!(text.contains(" stopping… "), "{text}");
}

#[test]
fn a_burst_of_events_is_drawn_once() {
    let (tx, rx) = unbounded();
    let (cmd_tx, cmd_rx) = unbounded();
    for e in DemoRun::standard().search_events(2) {
        tx.send(e).unwrap();
    }
    for step in 0..5_000 {
        tx.send(UiEvent::Trainer(TrainerEvent::Progress {
            run: RunKind::Search,
            epoch: 3,
            step,
            steps: 5_000,
        }))
        .unwrap();
    }
    let quit = later(&tx, Duration::from_millis(300), vec![ctrl_c()]);
    let mut app = App::new("runs/x".into(), ColorMode::Mono);
    let mut t = terminal();
    let outcome = run_loop(&mut t, rx, cmd_tx, &mut app).unwrap();
    quit.join().unwrap();
    assert_eq!(outcome, Outcome::Interrupted);
    assert_eq!(cmd_rx.try_iter().collect::<Vec<_>>(), vec![Command::Stop]);
    // The empty first frame, then one for the whole burst.
    assert_eq!(t.backend().frames, 2);
    assert!(screen(&t).contains("search 3/12 100%"));
}

#[test]
fn input_closing_mid_run_stops_the_trainer() {
    let (tx, rx) = unbounded();
    let (cmd_tx, cmd_rx) = unbounded();
    for e in DemoRun::standard().search_events(2) {
        tx.send(e).unwrap();
    }
    drop(tx);
    let mut app = App::new("runs/x".into(), ColorMode::Mono);
    let outcome = run_loop(&mut terminal(), rx, cmd_tx, &mut app).unwrap();
    assert_eq!(outcome, Outcome::Interrupted);
    assert_eq!(cmd_rx.try_iter().collect::<Vec<_>>(), vec![Command::Stop]);
}

#[test]
fn export_key_writes_the_snapshot_and_shows_the_path() {
    let dir = tempfile::tempdir().unwrap();
    let run_dir = dir.path().join("run");
    let (tx, rx) = unbounded();
    let (cmd_tx, _cmd_rx) = unbounded();
    for e in DemoRun::standard().search_events(4) {
        let e = match e {
            UiEvent::Trainer(TrainerEvent::RunStarted(mut info)) => {
                info.run_dir = run_dir.clone();
                UiEvent::Trainer(TrainerEvent::RunStarted(info))
            }
            other => other,
        };
        tx.send(e).unwrap();
    }
    tx.send(key(KeyCode::Char('e'))).unwrap();
    let quit = later(&tx, Duration::from_millis(200), vec![ctrl_c()]);
    let mut app = App::new("unused".into(), ColorMode::Mono);
    let mut t = terminal();
    run_loop(&mut t, rx, cmd_tx, &mut app).unwrap();
    quit.join().unwrap();
    let folder = run_dir.join("snapshot-4");
    let csv = std::fs::read_to_string(folder.join("distances_p0.3.csv")).unwrap();
    assert_eq!(csv.lines().next(), Some("epoch,1,2,3,4"));
    assert_eq!(csv.lines().count(), 5);
    assert!(folder.join("sparsity.csv").is_file() && folder.join("metrics.csv").is_file());
    assert!(screen(&t).contains("exported → "), "{}", screen(&t));
}
