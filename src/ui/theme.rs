//! Colours of the dashboard: truecolor when the terminal says so (`COLORTERM`), the xterm
//! 256-colour palette otherwise, and no colour at all under `NO_COLOR` — then the heatmap falls
//! back to glyph shading, so the picture survives a monochrome terminal or a pasted screenshot.

use ratatui::style::{Color, Modifier, Style};

/// How many colours the terminal can show.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ColorMode {
    /// 24-bit colour (`COLORTERM=truecolor` or `24bit`).
    TrueColor,
    /// The xterm 256-colour palette; every RGB colour is mapped to its nearest palette entry.
    Ansi256,
    /// No colour (`NO_COLOR` set and non-empty): shading with glyphs, emphasis with modifiers.
    Mono,
}

impl ColorMode {
    /// Reads `NO_COLOR` and `COLORTERM` from the process environment.
    pub fn detect() -> Self {
        Self::from_env(
            std::env::var_os("NO_COLOR").as_deref(),
            std::env::var_os("COLORTERM").as_deref(),
        )
    }

    /// The rule behind [`ColorMode::detect`], with the variables passed in so it can be tested.
    /// no-color.org: `NO_COLOR` counts only when present and non-empty.
    pub fn from_env(
        no_color: Option<&std::ffi::OsStr>,
        colorterm: Option<&std::ffi::OsStr>,
    ) -> Self {
        if no_color.is_some_and(|v| !v.is_empty()) {
            return ColorMode::Mono;
        }
        match colorterm.and_then(|v| v.to_str()) {
            Some(v) if v.eq_ignore_ascii_case("truecolor") || v.eq_ignore_ascii_case("24bit") => {
                ColorMode::TrueColor
            }
            _ => ColorMode::Ansi256,
        }
    }
}

/// Colours of the curves, one per series; chosen to stay apart on dark and light backgrounds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Series {
    Dense,
    Baseline,
    Pruned,
    Random,
    Epsilon,
    Alternate,
}

impl Series {
    fn rgb(self) -> (u8, u8, u8) {
        match self {
            Series::Dense => (86, 156, 214),
            Series::Baseline => (78, 201, 176),
            Series::Pruned => (230, 159, 0),
            Series::Random => (204, 121, 167),
            Series::Epsilon => (213, 94, 0),
            Series::Alternate => (170, 170, 170),
        }
    }
}

/// Everything the render functions ask about colour goes through here.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Theme {
    pub mode: ColorMode,
}

impl Theme {
    pub(crate) fn new(mode: ColorMode) -> Self {
        Self { mode }
    }

    /// An RGB colour as this terminal can show it; `None` in monochrome.
    pub(crate) fn rgb(&self, (r, g, b): (u8, u8, u8)) -> Option<Color> {
        match self.mode {
            ColorMode::TrueColor => Some(Color::Rgb(r, g, b)),
            ColorMode::Ansi256 => Some(Color::Indexed(xterm256(r, g, b))),
            ColorMode::Mono => None,
        }
    }

    /// Foreground style for a curve.
    pub(crate) fn series(&self, s: Series) -> Style {
        match self.rgb(s.rgb()) {
            Some(c) => Style::new().fg(c),
            None => Style::new(),
        }
    }

    /// The heatmap colour of a distance already scaled to [0, 1].
    pub(crate) fn heat(&self, t: f64) -> Option<Color> {
        self.rgb(viridis(t))
    }

    /// Border of a panel; the focused one is bold (and yellow where colour exists). The border
    /// *shape* also changes (see `panels::block`), so focus shows without colour.
    pub(crate) fn border(&self, focused: bool) -> Style {
        match (focused, self.mode) {
            (false, _) => Style::new(),
            (true, ColorMode::Mono) => Style::new().add_modifier(Modifier::BOLD),
            (true, _) => Style::new().fg(Color::Yellow).add_modifier(Modifier::BOLD),
        }
    }

    pub(crate) fn warning(&self) -> Style {
        match self.mode {
            ColorMode::Mono => Style::new().add_modifier(Modifier::BOLD),
            _ => Style::new().fg(Color::Yellow),
        }
    }

    pub(crate) fn error(&self) -> Style {
        match self.mode {
            ColorMode::Mono => Style::new().add_modifier(Modifier::BOLD | Modifier::UNDERLINED),
            _ => Style::new()
                .fg(Color::LightRed)
                .add_modifier(Modifier::BOLD),
        }
    }

    /// Phase badge and other highlights that must read without colour too.
    pub(crate) fn badge(&self) -> Style {
        match self.mode {
            ColorMode::Mono => Style::new().add_modifier(Modifier::REVERSED | Modifier::BOLD),
            _ => Style::new()
                .fg(Color::Black)
                .bg(Color::Cyan)
                .add_modifier(Modifier::BOLD),
        }
    }

    pub(crate) fn dim(&self) -> Style {
        Style::new().add_modifier(Modifier::DIM)
    }

    pub(crate) fn key(&self) -> Style {
        match self.mode {
            ColorMode::Mono => Style::new().add_modifier(Modifier::BOLD),
            _ => Style::new().fg(Color::Cyan).add_modifier(Modifier::BOLD),
        }
    }
}

/// Glyphs for monochrome shading, lightest first; the lowest level is a dot rather than a blank
/// so the extent of the matrix stays visible.
pub(crate) const SHADES: [char; 5] = ['·', '░', '▒', '▓', '█'];

/// Glyph for a distance scaled to [0, 1].
pub(crate) fn shade(t: f64) -> char {
    let t = if t.is_finite() {
        t.clamp(0.0, 1.0)
    } else {
        0.0
    };
    let i = ((t * SHADES.len() as f64) as usize).min(SHADES.len() - 1);
    SHADES[i]
}

/// Stops of matplotlib's viridis at 0, 1/8, …, 1; linear interpolation in between is close
/// enough for a terminal and keeps the map perceptually ordered (dark = similar masks).
const VIRIDIS: [(u8, u8, u8); 9] = [
    (68, 1, 84),
    (72, 40, 120),
    (62, 73, 137),
    (49, 104, 142),
    (38, 130, 142),
    (31, 158, 137),
    (53, 183, 121),
    (110, 206, 88),
    (253, 231, 37),
];

/// Viridis colour of `t` in [0, 1] (clamped; NaN → 0).
pub(crate) fn viridis(t: f64) -> (u8, u8, u8) {
    let t = if t.is_finite() {
        t.clamp(0.0, 1.0)
    } else {
        0.0
    };
    let x = t * (VIRIDIS.len() - 1) as f64;
    let i = (x.floor() as usize).min(VIRIDIS.len() - 2);
    let f = x - i as f64;
    let (a, b) = (VIRIDIS[i], VIRIDIS[i + 1]);
    let mix = |p: u8, q: u8| (p as f64 + (q as f64 - p as f64) * f).round() as u8;
    (mix(a.0, b.0), mix(a.1, b.1), mix(a.2, b.2))
}

/// Nearest entry of the xterm 256-colour palette: the 6×6×6 cube or the 24-step grey ramp.
pub(crate) fn xterm256(r: u8, g: u8, b: u8) -> u8 {
    const LEVELS: [u8; 6] = [0, 95, 135, 175, 215, 255];
    let nearest = |v: u8| {
        (0..6)
            .min_by_key(|&i| (LEVELS[i] as i32 - v as i32).abs())
            .unwrap_or(0) // 0..6 is never empty
    };
    let (ri, gi, bi) = (nearest(r), nearest(g), nearest(b));
    let cube = (LEVELS[ri], LEVELS[gi], LEVELS[bi]);
    let grey_i = (((r as u32 + g as u32 + b as u32) / 3).saturating_sub(3) / 10).min(23) as u8;
    let grey_v = 8 + 10 * grey_i;
    let dist = |(p, q, s): (u8, u8, u8)| {
        let d = |x: u8, y: u8| (x as i32 - y as i32).pow(2);
        d(p, r) + d(q, g) + d(s, b)
    };
    if dist((grey_v, grey_v, grey_v)) < dist(cube) {
        232 + grey_i
    } else {
        16 + 36 * ri as u8 + 6 * gi as u8 + bi as u8
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::OsStr;

    #[test]
    fn env_detection() {
        let s = |v: &'static str| Some(OsStr::new(v));
        assert_eq!(ColorMode::from_env(s("1"), s("truecolor")), ColorMode::Mono);
        assert_eq!(
            ColorMode::from_env(s(""), s("truecolor")),
            ColorMode::TrueColor
        );
        assert_eq!(ColorMode::from_env(None, s("24bit")), ColorMode::TrueColor);
        assert_eq!(ColorMode::from_env(None, s("yes")), ColorMode::Ansi256);
        assert_eq!(ColorMode::from_env(None, None), ColorMode::Ansi256);
    }

    #[test]
    fn viridis_ends_and_middle() {
        assert_eq!(viridis(0.0), (68, 1, 84));
        assert_eq!(viridis(1.0), (253, 231, 37));
        assert_eq!(viridis(0.5), (38, 130, 142));
        assert_eq!(viridis(f64::NAN), (68, 1, 84));
        assert_eq!(viridis(7.0), (253, 231, 37));
    }

    #[test]
    fn palette_mapping() {
        assert_eq!(xterm256(0, 0, 0), 16);
        assert_eq!(xterm256(255, 255, 255), 231);
        assert_eq!(xterm256(255, 0, 0), 196);
        assert_eq!(xterm256(128, 128, 128), 244);
        // Viridis' yellow end lands on a yellow cube entry.
        assert_eq!(xterm256(253, 231, 37), 220);
    }

    #[test]
    fn shading_levels() {
        assert_eq!(shade(0.0), '·');
        assert_eq!(shade(0.39), '░');
        assert_eq!(shade(0.5), '▒');
        assert_eq!(shade(1.0), '█');
        assert_eq!(shade(-1.0), '·');
    }
}
