//! Distance between consecutive mask snapshots of the selected ratio, in both normalisations,
//! against the ε line of the early-bird criterion, plus the distance to the first mask. The
//! consecutive Hamming distance under ε is what makes the criterion fire; the pruned-normalised
//! one and the drift from the first mask show whether the pruned set really stopped moving
//! (at ratio p the Hamming distance can never exceed 2p, so with ε ≥ 2p the criterion cannot
//! fail — the title says so).

use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::Frame;

use crate::run_dir::format_ratio;
use crate::ui::app::App;
use crate::ui::panels::curves::{render_chart, ChartSpec, Curve};
use crate::ui::snapshots::{DistanceKind, SnapshotHistory};
use crate::ui::theme::Series;

pub(crate) fn render(frame: &mut Frame, area: Rect, app: &App, focused: bool) {
    let theme = &app.theme;
    let ratio = app.selected_ratio();
    let epsilon = app.info.as_ref().map(|i| i.epsilon);
    let records: Vec<_> = app.snapshots.records().collect();

    let consecutive = |kind| -> Vec<(f64, f64)> {
        let Some(r) = ratio else { return vec![] };
        records
            .windows(2)
            .filter_map(|w| {
                SnapshotHistory::distance(w[1], w[0], r, kind).map(|d| (w[1].epoch as f64, d))
            })
            .filter(|p| p.1.is_finite())
            .collect()
    };
    let to_first: Vec<(f64, f64)> = match ratio {
        Some(r) => records
            .iter()
            .filter_map(|s| s.ratio(r).map(|x| (s.epoch as f64, x.to_first)))
            .filter(|p| p.1.is_finite())
            .collect(),
        None => vec![],
    };
    let last = |points: &[(f64, f64)]| points.last().map(|p| format!("{:.3}", p.1));
    let (hamming, pruned) = (
        consecutive(DistanceKind::Hamming),
        consecutive(DistanceKind::Pruned),
    );
    let mut curves = vec![
        Curve {
            name: "Hamming".into(),
            value: last(&hamming),
            series: Series::Dense,
            points: hamming,
        },
        Curve {
            name: "pruned-norm".into(),
            value: last(&pruned),
            series: Series::Alternate,
            points: pruned,
        },
        Curve {
            name: "to first".into(),
            value: last(&to_first),
            series: Series::Random,
            points: to_first,
        },
    ];
    let xs = curves.iter().flat_map(|c| c.points.iter().map(|p| p.0));
    let (x0, x1) = xs.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), x| {
        (lo.min(x), hi.max(x))
    });
    if let (Some(eps), true) = (epsilon, x0.is_finite()) {
        curves.push(Curve {
            name: "ε".into(),
            value: None,
            series: Series::Epsilon,
            points: vec![(x0, eps), (x1.max(x0 + 1.0), eps)],
        });
    }
    let top = curves
        .iter()
        .flat_map(|c| c.points.iter().map(|p| p.1))
        .fold(0.0, f64::max);
    let top = if top > 0.0 { top * 1.15 } else { 1.0 };

    let mut title = vec![Span::raw(" Distance")];
    if let Some(r) = ratio {
        title.push(Span::raw(format!(" p={}", format_ratio(r))));
    }
    if let Some(eps) = epsilon {
        title.push(Span::raw(format!(" · ε={} ", format_ratio(eps))));
    } else {
        title.push(Span::raw(" "));
    }
    if let (Some(eps), Some(r)) = (epsilon, ratio) {
        if eps >= 2.0 * r {
            title.push(Span::styled(
                "⚠ ε≥2p: criterion cannot fail ",
                theme.warning(),
            ));
        }
    }
    let spec = ChartSpec {
        title: Line::from(title),
        curves,
        y: [0.0, top],
        y_label: |v| format!("{v:.2}"),
    };
    render_chart(frame, area, &spec, focused, theme);
}
