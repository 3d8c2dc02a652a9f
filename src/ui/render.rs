//! The whole screen as a pure function of the state: layout, every panel, then the overlay.

use ratatui::Frame;

use crate::ui::app::App;
use crate::ui::layout::Panel;
use crate::ui::panels::{comparison, curves, distance, heatmap, popup, sparsity, status};

/// Draws `app` into `frame`; never mutates the state and never panics at any size.
pub fn render(frame: &mut Frame, app: &App) {
    let Some(p) = app.panels(frame.area()) else {
        popup::render_too_small(frame);
        return;
    };
    let focused = |panel| app.focus == panel;
    heatmap::render(frame, p.heatmap, app, focused(Panel::Heatmap));
    distance::render(frame, p.distance, app, focused(Panel::Distance));
    sparsity::render(frame, p.sparsity, app, focused(Panel::Sparsity));
    curves::render_accuracy(frame, p.accuracy, app, focused(Panel::Accuracy));
    curves::render_loss(frame, p.loss, app, focused(Panel::Loss));
    if let Some(area) = p.comparison {
        comparison::render(frame, area, app, focused(Panel::Comparison));
    }
    status::render(frame, p.status, app);
    popup::render(frame, app);
}
