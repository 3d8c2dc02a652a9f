//! Whole-screen snapshots of the dashboard at 80×24 and 160×48 from the deterministic demo run
//! (mid-run, ticket dialog, help, quit dialog, stopping, finished with the comparison, waiting,
//! too small), and a sweep proving no screen panics at any size from 0×0 to 200×60.

use std::time::Duration;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ebt::engine::events::{Phase, TrainerEvent};
use ebt::ui::demo::DemoRun;
use ebt::ui::{text_capture, App, ColorMode, UiEvent};

const SIZES: [(u16, u16); 2] = [(80, 24), (160, 48)];

fn key(c: KeyCode) -> UiEvent {
    UiEvent::Key(KeyEvent::new(c, KeyModifiers::NONE))
}

/// Nine search epochs (95 s on the injected clock), a warning, a ticket offered at epoch 9.
fn mid_run(color: ColorMode) -> App {
    let demo = DemoRun::standard();
    let mut app = App::new("runs/x".into(), color);
    app.update(UiEvent::Tick(Duration::from_secs(1)));
    for ev in demo.search_events(9) {
        app.update(ev);
    }
    app.update(UiEvent::Tick(Duration::from_secs(95)));
    for ev in [
        TrainerEvent::Progress {
            run: ebt::engine::events::RunKind::Search,
            epoch: 10,
            step: 15,
            steps: 45,
        },
        TrainerEvent::Warning("eval set has 360 examples; accuracy moves in 0.28% steps".into()),
        TrainerEvent::TicketCandidate(demo.ticket_offer(9)),
        TrainerEvent::Phase(Phase::TicketOffered),
    ] {
        app.update(UiEvent::Trainer(ev));
    }
    app
}

fn with_keys(mut app: App, keys: &[KeyCode]) -> App {
    for k in keys {
        app.update(key(*k));
    }
    app
}

fn finished() -> App {
    let mut app = App::new("runs/x".into(), ColorMode::Mono);
    app.update(UiEvent::Tick(Duration::from_secs(3)));
    for ev in DemoRun::standard().pipeline_events() {
        app.update(ev);
    }
    app.update(UiEvent::Tick(Duration::from_secs(143)));
    app
}

fn screens() -> Vec<(&'static str, App)> {
    vec![
        ("waiting", App::new("runs/new".into(), ColorMode::Mono)),
        ("mid_run", mid_run(ColorMode::Mono)),
        ("mid_run_truecolor", mid_run(ColorMode::TrueColor)),
        (
            "ticket_dialog",
            with_keys(mid_run(ColorMode::Mono), &[KeyCode::Enter]),
        ),
        (
            "help",
            with_keys(mid_run(ColorMode::Mono), &[KeyCode::Char('?')]),
        ),
        (
            "quit_dialog",
            with_keys(mid_run(ColorMode::Mono), &[KeyCode::Char('q')]),
        ),
        (
            "stopping",
            with_keys(
                mid_run(ColorMode::Mono),
                &[KeyCode::Char('q'), KeyCode::Char('y')],
            ),
        ),
        (
            "zoomed_focus_distance",
            with_keys(
                mid_run(ColorMode::Mono),
                &[KeyCode::Char('+'), KeyCode::Tab, KeyCode::Right],
            ),
        ),
        ("finished_comparison", finished()),
    ]
}

#[test]
fn full_screens() {
    for (name, app) in screens() {
        for (w, h) in SIZES {
            insta::assert_snapshot!(format!("{name}_{w}x{h}"), text_capture(w, h, &app));
        }
    }
}

/// The README's screenshot: mid-run, 100×30, glyph shading (survives copy and paste).
#[test]
fn readme_screenshot() {
    insta::assert_snapshot!(
        "readme_100x30",
        text_capture(100, 30, &mid_run(ColorMode::Mono))
    );
}

#[test]
fn too_small() {
    let app = mid_run(ColorMode::Mono);
    insta::assert_snapshot!("too_small_40x12", text_capture(40, 12, &app));
    let text = text_capture(47, 30, &app);
    assert!(text.contains("terminal too small: 47×30"), "{text}");
    assert!(!text_capture(48, 14, &app).contains("too small"));
}

/// Every screen at every size from 0×0 to 200×60 renders without panicking (sizes are swept
/// densely where layouts change, i.e. small, and in steps above).
#[test]
fn never_panics_at_any_size() {
    let widths: Vec<u16> = (0..=60).chain((61..=200).step_by(7)).chain([200]).collect();
    let heights: Vec<u16> = (0..=30).chain((31..=60).step_by(5)).chain([60]).collect();
    for (name, app) in screens() {
        for &w in &widths {
            for &h in &heights {
                let text = text_capture(w, h, &app);
                assert_eq!(text.lines().count(), h as usize, "{name} {w}x{h}");
            }
        }
    }
}

#[test]
fn no_color_is_monochrome_and_marks_focus_without_colour() {
    let app = mid_run(ColorMode::Mono);
    let text = text_capture(80, 24, &app);
    // The heatmap is focused by default: double border, and shaded glyphs instead of colour.
    assert!(text
        .lines()
        .next()
        .unwrap()
        .starts_with("╔ Mask distance p=0.3"));
    assert!(text.contains('░') && text.contains('·'));
}
