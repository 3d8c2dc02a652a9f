//! The one key table (gitui's `commands()`): the key handler, the help overlay and the status
//! bar hints all read [`KEYS`], so a key can never do one thing and be documented as another.

use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};

/// What a key asks the dashboard to do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Action {
    RatioPrev,
    RatioNext,
    /// Open the confirmation dialog of an offered ticket.
    ReviewTicket,
    Pause,
    Export,
    Help,
    FocusNext,
    ZoomIn,
    ZoomOut,
    AutoContrast,
    DistanceKind,
    /// Close the open overlay.
    Close,
    Quit,
    Yes,
    No,
    /// Ctrl-C: quit at once, whatever is open.
    Interrupt,
}

/// Where a binding is live.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Context {
    /// The dashboard with no dialog open (the help overlay counts as no dialog).
    Main,
    /// A yes/no dialog (ticket confirmation, stop training).
    Dialog,
    /// Everywhere.
    Always,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Key {
    Code(KeyCode),
    Ctrl(char),
}

/// One row of the key table.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Binding {
    pub keys: &'static [Key],
    /// How the help overlay and the hints spell the keys.
    pub label: &'static str,
    /// Hint for the status bar (keys, space, one word); `None`: only in the help overlay.
    pub hint: Option<&'static str>,
    pub help: &'static str,
    pub action: Action,
    pub context: Context,
}

use Key::{Code, Ctrl};
use KeyCode::Char;

pub(crate) const KEYS: &[Binding] = &[
    Binding {
        keys: &[Code(KeyCode::Left), Code(Char('h'))],
        label: "←/h",
        hint: Some("←→ ratio"),
        help: "previous prune ratio",
        action: Action::RatioPrev,
        context: Context::Main,
    },
    Binding {
        keys: &[Code(KeyCode::Right), Code(Char('l'))],
        label: "→/l",
        hint: None,
        help: "next prune ratio",
        action: Action::RatioNext,
        context: Context::Main,
    },
    Binding {
        keys: &[Code(KeyCode::Enter)],
        label: "Enter",
        hint: Some("Enter ticket"),
        help: "review the offered ticket",
        action: Action::ReviewTicket,
        context: Context::Main,
    },
    Binding {
        keys: &[Code(Char('p'))],
        label: "p",
        hint: Some("p pause"),
        help: "pause / resume training",
        action: Action::Pause,
        context: Context::Main,
    },
    Binding {
        keys: &[Code(Char('e'))],
        label: "e",
        hint: Some("e export"),
        help: "export CSV snapshot to the run dir",
        action: Action::Export,
        context: Context::Main,
    },
    Binding {
        keys: &[Code(Char('+')), Code(Char('='))],
        label: "+",
        hint: Some("+- zoom"),
        help: "heatmap: zoom into the last epochs",
        action: Action::ZoomIn,
        context: Context::Main,
    },
    Binding {
        keys: &[Code(Char('-'))],
        label: "-",
        hint: None,
        help: "heatmap: zoom out (more epochs)",
        action: Action::ZoomOut,
        context: Context::Main,
    },
    Binding {
        keys: &[Code(Char('a'))],
        label: "a",
        hint: Some("a contrast"),
        help: "heatmap: auto-contrast on/off (scale to the max distance, or fixed 0→1)",
        action: Action::AutoContrast,
        context: Context::Main,
    },
    Binding {
        keys: &[Code(Char('d'))],
        label: "d",
        hint: Some("d distance"),
        help: "heatmap: Hamming / pruned-normalised distance",
        action: Action::DistanceKind,
        context: Context::Main,
    },
    Binding {
        keys: &[Code(KeyCode::Tab)],
        label: "Tab",
        hint: Some("Tab focus"),
        help: "focus the next panel",
        action: Action::FocusNext,
        context: Context::Main,
    },
    Binding {
        keys: &[Code(Char('?'))],
        label: "?",
        hint: Some("? help"),
        help: "show / hide this help",
        action: Action::Help,
        context: Context::Main,
    },
    Binding {
        keys: &[Code(Char('q'))],
        label: "q",
        hint: Some("q quit"),
        help: "quit (asks to stop a running training)",
        action: Action::Quit,
        context: Context::Main,
    },
    Binding {
        keys: &[Code(Char('y'))],
        label: "y",
        hint: Some("y yes"),
        help: "dialog: yes",
        action: Action::Yes,
        context: Context::Dialog,
    },
    Binding {
        keys: &[Code(Char('n'))],
        label: "n",
        hint: Some("n no"),
        help: "dialog: no",
        action: Action::No,
        context: Context::Dialog,
    },
    Binding {
        keys: &[Code(KeyCode::Esc)],
        label: "Esc",
        hint: Some("Esc close"),
        help: "close the dialog or overlay",
        action: Action::Close,
        context: Context::Always,
    },
    Binding {
        keys: &[Ctrl('c')],
        label: "Ctrl-C",
        hint: Some("Ctrl-C quit now"),
        help: "quit at once (stops training)",
        action: Action::Interrupt,
        context: Context::Always,
    },
];

/// The action of `key` in a dialog (`dialog = true`) or on the dashboard; key releases and
/// repeats from terminals that report them are ignored.
pub(crate) fn lookup(key: &KeyEvent, dialog: bool) -> Option<Action> {
    if key.kind == KeyEventKind::Release {
        return None;
    }
    let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
    let alt = key.modifiers.contains(KeyModifiers::ALT);
    let wanted = if dialog {
        Context::Dialog
    } else {
        Context::Main
    };
    KEYS.iter()
        .filter(|b| b.context == wanted || b.context == Context::Always)
        .find(|b| {
            b.keys.iter().any(|k| match *k {
                Ctrl(c) => ctrl && key.code == Char(c),
                Code(c) => !ctrl && !alt && key.code == c,
            })
        })
        .map(|b| b.action)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(code: KeyCode) -> KeyEvent {
        KeyEvent::new(code, KeyModifiers::NONE)
    }

    #[test]
    fn table_lookup() {
        assert_eq!(lookup(&key(KeyCode::Left), false), Some(Action::RatioPrev));
        assert_eq!(lookup(&key(Char('l')), false), Some(Action::RatioNext));
        assert_eq!(lookup(&key(Char('=')), false), Some(Action::ZoomIn));
        assert_eq!(lookup(&key(Char('y')), false), None);
        assert_eq!(lookup(&key(Char('y')), true), Some(Action::Yes));
        assert_eq!(lookup(&key(Char('q')), true), None);
        assert_eq!(lookup(&key(KeyCode::Esc), true), Some(Action::Close));
        let ctrl_c = KeyEvent::new(Char('c'), KeyModifiers::CONTROL);
        assert_eq!(lookup(&ctrl_c, true), Some(Action::Interrupt));
        assert_eq!(lookup(&ctrl_c, false), Some(Action::Interrupt));
        // Ctrl-h is not h.
        let ctrl_h = KeyEvent::new(Char('h'), KeyModifiers::CONTROL);
        assert_eq!(lookup(&ctrl_h, false), None);
    }

    #[test]
    fn every_action_has_a_key_once_per_context() {
        for (i, a) in KEYS.iter().enumerate() {
            for b in &KEYS[i + 1..] {
                let shared = a.keys.iter().any(|k| b.keys.contains(k));
                let overlap = a.context == b.context
                    || a.context == Context::Always
                    || b.context == Context::Always;
                assert!(
                    !(shared && overlap),
                    "{} and {} share a key",
                    a.label,
                    b.label
                );
            }
        }
    }
}
