//! Accuracy and loss per epoch of every run on the same axes — the dense search/baseline, the
//! retrained ticket and the random control — so "is the ticket as good as dense, and better than
//! chance?" is answered at a glance. Also the chart helper the distance panel shares.

use ratatui::layout::Rect;
use ratatui::symbols::Marker;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Axis, Chart, Dataset, GraphType, Paragraph, Wrap};
use ratatui::Frame;

use crate::engine::events::RunKind;
use crate::ui::app::App;
use crate::ui::panels::block;
use crate::ui::theme::{ColorMode, Series, Theme};

/// One line of a chart.
pub(crate) struct Curve {
    pub name: String,
    /// Latest value for the legend, dropped when the legend does not fit.
    pub value: Option<String>,
    pub series: Series,
    pub points: Vec<(f64, f64)>,
}

/// Below this height (borders included) a chart has no x-axis labels.
const TALL_CHART: u16 = 12;

/// How a series is drawn: colour tells them apart where there is colour; without it the marker
/// does, and the legend shows the marker's glyph.
fn marker(series: Series, theme: &Theme) -> (Marker, &'static str) {
    if theme.mode != ColorMode::Mono {
        return (Marker::Braille, "●");
    }
    match series {
        Series::Dense | Series::Baseline => (Marker::Braille, "⣿"),
        Series::Pruned | Series::Alternate => (Marker::Dot, "•"),
        Series::Random => (Marker::Bar, "▄"),
        // Half blocks are drawn with colours only; without colour the ε line is solid.
        Series::Epsilon => (Marker::Block, "█"),
    }
}

/// What a chart shows.
pub(crate) struct ChartSpec {
    pub title: Line<'static>,
    pub curves: Vec<Curve>,
    /// y bounds.
    pub y: [f64; 2],
    /// Formats a y tick.
    pub y_label: fn(f64) -> String,
}

/// A line chart with its legend on the bottom border (no room is taken from the plot).
pub(crate) fn render_chart(
    frame: &mut Frame,
    area: Rect,
    spec: &ChartSpec,
    focused: bool,
    theme: &Theme,
) {
    let ChartSpec {
        title,
        curves,
        y,
        y_label,
    } = spec;
    let (y, y_label) = (*y, *y_label);
    let legend = |values: bool| -> Line<'static> {
        let spans: Vec<Span> = curves
            .iter()
            .filter(|c| !c.points.is_empty())
            .map(|c| {
                let (_, glyph) = marker(c.series, theme);
                let value = match (&c.value, values) {
                    (Some(v), true) => format!(" {v}"),
                    _ => String::new(),
                };
                Span::styled(
                    format!("{glyph} {}{value} ", c.name),
                    theme.series(c.series),
                )
            })
            .collect();
        Line::from(spans)
    };
    let mut bottom = legend(true);
    if bottom.width() + 2 > area.width as usize {
        bottom = legend(false);
    }
    let mut b = block(title.clone(), focused, theme).title_bottom(bottom);
    let xs = curves.iter().flat_map(|c| c.points.iter().map(|p| p.0));
    let (x0, x1) = xs.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), x| {
        (lo.min(x), hi.max(x))
    });
    if !x0.is_finite() {
        frame.render_widget(
            Paragraph::new("waiting for the first epoch…")
                .wrap(Wrap { trim: true })
                .block(b),
            area,
        );
        return;
    }
    let x1 = if x1 > x0 { x1 } else { x0 + 1.0 };
    // Short panels give the x axis' two rows to the plot and name the range in the title.
    let x_labels = area.height >= TALL_CHART;
    if !x_labels {
        b = b.title(Line::from(format!(" ep {x0:.0}–{x1:.0} ")).right_aligned());
    }
    let datasets = curves
        .iter()
        .filter(|c| !c.points.is_empty())
        .map(|c| {
            Dataset::default()
                .marker(marker(c.series, theme).0)
                .graph_type(GraphType::Line)
                .style(theme.series(c.series))
                .data(&c.points)
        })
        .collect();
    let mid = (y[0] + y[1]) / 2.0;
    let chart = Chart::new(datasets)
        .block(b)
        .legend_position(None)
        .x_axis(if x_labels {
            Axis::default()
                .bounds([x0, x1])
                .style(theme.dim())
                .labels([format!("{x0:.0}"), format!("{x1:.0}")])
        } else {
            Axis::default().bounds([x0, x1])
        })
        .y_axis(Axis::default().bounds(y).style(theme.dim()).labels([
            y_label(y[0]),
            y_label(mid),
            y_label(y[1]),
        ]));
    frame.render_widget(chart, area);
}

/// (epoch, value) of one run.
fn points(
    app: &App,
    run: RunKind,
    value: fn(&crate::engine::events::EpochMetrics) -> f64,
) -> Vec<(f64, f64)> {
    // Retrained runs that continue from the ticket are drawn from its epoch on, so they line up
    // with the dense run at the same total training.
    let offset = match run {
        RunKind::Pruned | RunKind::Random => app.retrain_offset(),
        _ => 0,
    } as f64;
    app.metrics
        .iter()
        .filter(|m| m.run == run)
        .map(|m| (offset + m.epoch as f64, value(m)))
        .filter(|p| p.1.is_finite())
        .collect()
}

/// One curve per run that reported epochs, named with its latest value.
fn run_curves(
    app: &App,
    value: fn(&crate::engine::events::EpochMetrics) -> f64,
    show: fn(f64) -> String,
) -> Vec<Curve> {
    [
        (RunKind::Search, Series::Dense, "search"),
        (RunKind::Baseline, Series::Baseline, "dense"),
        (RunKind::Pruned, Series::Pruned, "pruned"),
        (RunKind::Random, Series::Random, "random"),
    ]
    .into_iter()
    .map(|(run, series, label)| {
        let points = points(app, run, value);
        Curve {
            name: label.to_string(),
            value: points.last().map(|p| show(p.1)),
            series,
            points,
        }
    })
    .collect()
}

fn bounds(curves: &[Curve]) -> (f64, f64) {
    curves
        .iter()
        .flat_map(|c| c.points.iter().map(|p| p.1))
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
            (lo.min(v), hi.max(v))
        })
}

fn pct(x: f64) -> String {
    format!("{:.0}%", 100.0 * x)
}

fn pct1(x: f64) -> String {
    format!("{:.1}%", 100.0 * x)
}

fn two(x: f64) -> String {
    format!("{x:.2}")
}

/// Eval accuracy of every run; the y range hugs the data (5-point steps) so close runs stay
/// apart.
pub(crate) fn render_accuracy(frame: &mut Frame, area: Rect, app: &App, focused: bool) {
    let curves = run_curves(app, |m| m.eval_acc, pct1);
    let (lo, hi) = bounds(&curves);
    let y = if lo.is_finite() {
        let lo = ((lo - 0.02) * 20.0).floor() / 20.0;
        let hi = ((hi + 0.02) * 20.0).ceil() / 20.0;
        [lo.max(0.0), hi.min(1.0).max(lo.max(0.0) + 0.05)]
    } else {
        [0.0, 1.0]
    };
    let spec = ChartSpec {
        title: Line::from(" Accuracy (eval) "),
        curves,
        y,
        y_label: pct,
    };
    render_chart(frame, area, &spec, focused, &app.theme);
}

/// Eval loss of every run, from 0.
pub(crate) fn render_loss(frame: &mut Frame, area: Rect, app: &App, focused: bool) {
    let curves = run_curves(app, |m| m.eval_loss, two);
    let (_, hi) = bounds(&curves);
    let top = if hi.is_finite() && hi > 0.0 {
        hi * 1.1
    } else {
        1.0
    };
    let spec = ChartSpec {
        title: Line::from(" Loss (eval) "),
        curves,
        y: [0.0, top],
        y_label: two,
    };
    render_chart(frame, area, &spec, focused, &app.theme);
}
