//! One render module per panel. Each is `render(frame, area, app, focused)`: a pure function of
//! the state that draws inside `area` and never panics, whatever its size.

pub(crate) mod comparison;
pub(crate) mod curves;
pub(crate) mod distance;
pub(crate) mod heatmap;
pub(crate) mod popup;
pub(crate) mod sparsity;
pub(crate) mod status;

use ratatui::text::Line;
use ratatui::widgets::{Block, BorderType};

use crate::ui::theme::Theme;

/// The frame of a panel. The focused one has a double border, visible without colour too.
pub(crate) fn block<'a>(title: impl Into<Line<'a>>, focused: bool, theme: &Theme) -> Block<'a> {
    Block::bordered()
        .border_type(if focused {
            BorderType::Double
        } else {
            BorderType::Plain
        })
        .border_style(theme.border(focused))
        .title(title)
}

/// Writes `text` at (`x`, `y`) clipped to the buffer; positions outside are ignored, so a
/// panel's arithmetic at tiny sizes can never index out of bounds.
pub(crate) fn put(
    buf: &mut ratatui::buffer::Buffer,
    x: u16,
    y: u16,
    text: &str,
    style: ratatui::style::Style,
) {
    if buf.area.contains(ratatui::layout::Position::new(x, y)) {
        let room = (buf.area.right() - x) as usize;
        buf.set_stringn(x, y, text, room, style);
    }
}
