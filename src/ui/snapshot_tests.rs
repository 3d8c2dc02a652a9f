//! Snapshot tests of every panel on its own, at the size the layout gives it on 80×24 and
//! 160×48 terminals, from the deterministic demo run. Whole screens are in tests/ui_*.rs.

use ratatui::backend::TestBackend;
use ratatui::layout::Rect;
use ratatui::{Frame, Terminal};

use crate::engine::events::TrainerEvent;
use crate::ui::app::App;
use crate::ui::demo::DemoRun;
use crate::ui::panels::{comparison, curves, distance, heatmap, sparsity, status};
use crate::ui::theme::ColorMode;
use crate::ui::UiEvent;

const SIZES: [(u16, u16); 2] = [(80, 24), (160, 48)];

/// Nine search epochs, a ticket offered at epoch 9, one warning.
fn mid_run(color: ColorMode) -> App {
    let demo = DemoRun::standard();
    let mut app = App::new("runs/x".into(), color);
    app.update(UiEvent::Tick(std::time::Duration::from_secs(1)));
    for ev in demo.search_events(9) {
        app.update(ev);
    }
    app.update(UiEvent::Tick(std::time::Duration::from_secs(95)));
    let mut offer = demo.ticket_offer(9);
    offer.awaiting_answer = true;
    for ev in [
        TrainerEvent::Warning("eval set has 360 examples; accuracy steps are 0.28%".into()),
        TrainerEvent::TicketCandidate(offer),
        TrainerEvent::Phase(crate::engine::events::Phase::TicketOffered),
    ] {
        app.update(UiEvent::Trainer(ev));
    }
    app
}

/// The whole demo pipeline, comparison included.
fn finished(color: ColorMode) -> App {
    let mut app = App::new("runs/x".into(), color);
    for ev in DemoRun::standard().pipeline_events() {
        app.update(ev);
    }
    app
}

/// Renders one panel into a buffer of exactly its layout size on a `w`×`h` terminal.
fn capture(
    app: &App,
    (w, h): (u16, u16),
    pick: fn(&crate::ui::layout::Panels) -> Rect,
    draw: fn(&mut Frame, Rect, &App),
) -> String {
    let panels = app.panels(Rect::new(0, 0, w, h)).unwrap();
    let r = pick(&panels);
    let mut t = Terminal::new(TestBackend::new(r.width, r.height)).unwrap();
    t.draw(|f| draw(f, f.area(), app)).unwrap();
    let buf = t.backend().buffer().clone();
    let mut out = String::new();
    for y in 0..buf.area.height {
        let line: String = (0..buf.area.width).map(|x| buf[(x, y)].symbol()).collect();
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

macro_rules! panel_snapshots {
    ($name:ident, $app:expr, $pick:expr, $draw:expr) => {
        #[test]
        fn $name() {
            let app = $app;
            for size in SIZES {
                let text = capture(&app, size, $pick, $draw);
                insta::assert_snapshot!(
                    format!("{}_{}x{}", stringify!($name), size.0, size.1),
                    text
                );
            }
        }
    };
}

panel_snapshots!(
    heatmap_mono,
    mid_run(ColorMode::Mono),
    |p| p.heatmap,
    |f, a, app| heatmap::render(f, a, app, true)
);
panel_snapshots!(
    heatmap_truecolor,
    mid_run(ColorMode::TrueColor),
    |p| p.heatmap,
    |f, a, app| heatmap::render(f, a, app, false)
);
panel_snapshots!(
    distance_curve,
    mid_run(ColorMode::Mono),
    |p| p.distance,
    |f, a, app| distance::render(f, a, app, false)
);
panel_snapshots!(
    sparsity_mid_run,
    mid_run(ColorMode::Mono),
    |p| p.sparsity,
    |f, a, app| sparsity::render(f, a, app, false)
);
panel_snapshots!(
    sparsity_pruned,
    finished(ColorMode::Mono),
    |p| p.sparsity,
    |f, a, app| sparsity::render(f, a, app, false)
);
panel_snapshots!(
    accuracy_finished,
    finished(ColorMode::Mono),
    |p| p.accuracy,
    |f, a, app| curves::render_accuracy(f, a, app, false)
);
panel_snapshots!(
    loss_finished,
    finished(ColorMode::Mono),
    |p| p.loss,
    |f, a, app| curves::render_loss(f, a, app, false)
);
panel_snapshots!(
    comparison_finished,
    finished(ColorMode::Mono),
    |p| p.comparison.unwrap_or_default(),
    |f, a, app| comparison::render(f, a, app, false)
);
panel_snapshots!(
    status_mid_run,
    mid_run(ColorMode::Mono),
    |p| p.status,
    status::render
);
panel_snapshots!(
    status_finished,
    finished(ColorMode::Mono),
    |p| p.status,
    status::render
);

#[test]
fn heatmap_colours_follow_viridis_and_the_256_palette() {
    for (mode, dark) in [
        (ColorMode::TrueColor, ratatui::style::Color::Rgb(68, 1, 84)),
        (ColorMode::Ansi256, ratatui::style::Color::Indexed(53)),
    ] {
        let app = mid_run(mode);
        let mut t = Terminal::new(TestBackend::new(30, 12)).unwrap();
        t.draw(|f| heatmap::render(f, f.area(), &app, false))
            .unwrap();
        let buf = t.backend().buffer();
        // Inner (1, 1); labels 1 wide + marker column: the matrix starts at x = 3. Its first
        // cell is the diagonal (distance 0): the darkest colour, on top and bottom halves.
        let cell = &buf[(3, 1)];
        assert_eq!(cell.symbol(), "▀");
        assert_eq!(cell.fg, dark, "{mode:?}");
        // The far corner (epoch 9 vs 1) is brighter: not the darkest colour.
        let corner = &buf[(3 + 8, 1)];
        assert_ne!(corner.fg, dark, "{mode:?}");
    }
}

#[test]
fn fixed_scale_and_pruned_distance_change_the_legend() {
    let mut app = mid_run(ColorMode::Mono);
    let key = |c| {
        UiEvent::Key(crossterm::event::KeyEvent::new(
            crossterm::event::KeyCode::Char(c),
            crossterm::event::KeyModifiers::NONE,
        ))
    };
    app.update(key('a'));
    app.update(key('d'));
    let text = capture(
        &app,
        (80, 24),
        |p| p.heatmap,
        |f, a, app| heatmap::render(f, a, app, false),
    );
    insta::assert_snapshot!("heatmap_fixed_scale_pruned_80x24", text);
}
