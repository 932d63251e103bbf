//! The one table from keys to actions. The footer and the `?` help screen are generated
//! from it, so they cannot drift from what the keys really do.

use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};

use super::action::{Action, Scope, Tab};

/// A key with its modifiers. Shift is not part of the match for characters (the
/// character itself carries it: `G`, `N`, `?`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Key {
    pub code: KeyCode,
    pub ctrl: bool,
}

const fn k(c: char) -> Key {
    Key {
        code: KeyCode::Char(c),
        ctrl: false,
    }
}
const fn ctrl(c: char) -> Key {
    Key {
        code: KeyCode::Char(c),
        ctrl: true,
    }
}
const fn code(code: KeyCode) -> Key {
    Key { code, ctrl: false }
}

/// One binding: the keys, where they apply, what they do, and the help text.
pub struct Binding {
    pub keys: &'static [Key],
    pub scope: Scope,
    pub action: Action,
    pub help: &'static str,
    /// Shown in the footer for its scope (the rest only in `?` help).
    pub footer: bool,
}

const fn b(
    keys: &'static [Key],
    scope: Scope,
    action: Action,
    help: &'static str,
    footer: bool,
) -> Binding {
    Binding {
        keys,
        scope,
        action,
        help,
        footer,
    }
}

use KeyCode as C;
use Scope as S;

/// Every key binding of the TUI, most specific scopes first within each key's lookup.
pub static KEYMAP: &[Binding] = &[
    b(
        &[code(C::Enter)],
        S::PacketList,
        Action::Enter,
        "open the packet's connection",
        true,
    ),
    b(
        &[k('t')],
        S::PacketList,
        Action::SwitchPane,
        "move to the field tree",
        true,
    ),
    b(
        &[k('f')],
        S::PacketList,
        Action::Follow,
        "follow the packet's stream",
        true,
    ),
    b(
        &[k('t'), code(C::Esc)],
        S::FieldTree,
        Action::SwitchPane,
        "back to the packet list",
        true,
    ),
    b(
        &[code(C::Right), k('l')],
        S::FieldTree,
        Action::Expand,
        "expand the field",
        true,
    ),
    b(
        &[code(C::Left), k('h')],
        S::FieldTree,
        Action::Collapse,
        "collapse the field",
        true,
    ),
    b(
        &[code(C::Enter), k(' ')],
        S::FieldTree,
        Action::ToggleExpand,
        "expand or collapse",
        false,
    ),
    b(
        &[code(C::Enter)],
        S::Conns,
        Action::Enter,
        "open the connection",
        true,
    ),
    b(
        &[k('s')],
        S::Conns,
        Action::SortNext,
        "sort by the next column",
        true,
    ),
    b(
        &[k('S')],
        S::Conns,
        Action::SortReverse,
        "reverse the sort",
        true,
    ),
    b(
        &[k('f')],
        S::Conns,
        Action::Follow,
        "follow the stream",
        true,
    ),
    b(
        &[code(C::Enter)],
        S::Conn,
        Action::JumpPackets,
        "show its packets",
        true,
    ),
    b(
        &[k('f')],
        S::Conn,
        Action::Follow,
        "follow the stream",
        true,
    ),
    b(&[k('x')], S::Follow, Action::ToggleHex, "text / hex", true),
    b(&[k('n')], S::Follow, Action::SearchNext, "next match", true),
    b(
        &[k('N')],
        S::Follow,
        Action::SearchPrev,
        "previous match",
        true,
    ),
    b(
        &[code(C::Right), k('l'), k(' ')],
        S::Story,
        Action::Expand,
        "expand",
        true,
    ),
    b(
        &[code(C::Left), k('h')],
        S::Story,
        Action::Collapse,
        "collapse",
        false,
    ),
    b(
        &[code(C::Enter)],
        S::Story,
        Action::Enter,
        "open the connection",
        true,
    ),
    b(
        &[code(C::Enter)],
        S::Transactions,
        Action::Enter,
        "open the connection",
        true,
    ),
    b(
        &[code(C::Down), k('j')],
        S::Global,
        Action::Down,
        "down",
        false,
    ),
    b(&[code(C::Up), k('k')], S::Global, Action::Up, "up", false),
    b(
        &[code(C::PageDown)],
        S::Global,
        Action::PageDown,
        "page down",
        false,
    ),
    b(
        &[code(C::PageUp)],
        S::Global,
        Action::PageUp,
        "page up",
        false,
    ),
    b(
        &[ctrl('d')],
        S::Global,
        Action::HalfPageDown,
        "half a page down",
        false,
    ),
    b(
        &[ctrl('u')],
        S::Global,
        Action::HalfPageUp,
        "half a page up",
        false,
    ),
    b(
        &[code(C::Home), k('g')],
        S::Global,
        Action::Top,
        "first row",
        false,
    ),
    b(
        &[code(C::End), k('G')],
        S::Global,
        Action::Bottom,
        "last row",
        false,
    ),
    b(
        &[code(C::Tab)],
        S::Global,
        Action::NextTab,
        "next view",
        false,
    ),
    b(
        &[code(C::BackTab)],
        S::Global,
        Action::PrevTab,
        "previous view",
        false,
    ),
    b(
        &[k('1')],
        S::Global,
        Action::ShowTab(Tab::Packets),
        "Packets view",
        false,
    ),
    b(
        &[k('2')],
        S::Global,
        Action::ShowTab(Tab::Conns),
        "Connections view",
        false,
    ),
    b(
        &[k('3')],
        S::Global,
        Action::ShowTab(Tab::Story),
        "Story view",
        false,
    ),
    b(
        &[k('4')],
        S::Global,
        Action::ShowTab(Tab::Dns),
        "DNS view",
        false,
    ),
    b(
        &[k('5')],
        S::Global,
        Action::ShowTab(Tab::Http),
        "HTTP view",
        false,
    ),
    b(
        &[code(C::Esc), code(C::Backspace)],
        S::Global,
        Action::Back,
        "back",
        false,
    ),
    b(
        &[k('c')],
        S::Global,
        Action::FocusConn,
        "limit views to this connection",
        true,
    ),
    b(
        &[k('C')],
        S::Global,
        Action::ClearFocus,
        "clear the connection limit",
        false,
    ),
    b(
        &[k('/')],
        S::Global,
        Action::OpenBar,
        "filter (search in Follow)",
        true,
    ),
    b(
        &[k('p')],
        S::Global,
        Action::TogglePause,
        "pause / resume live capture",
        false,
    ),
    b(
        &[k('w')],
        S::Global,
        Action::SaveView,
        "save the packets in view to a .pcapng file",
        false,
    ),
    b(&[k('?')], S::Global, Action::ToggleHelp, "help", true),
    b(&[k('q')], S::Global, Action::Quit, "quit", true),
    b(
        &[ctrl('c')],
        S::Global,
        Action::ForceQuit,
        "quit at once",
        false,
    ),
];

/// The action bound to `key` in the first of `scopes` that binds it.
pub fn lookup(key: Key, scopes: &[Scope]) -> Option<Action> {
    scopes.iter().find_map(|s| {
        KEYMAP
            .iter()
            .find(|b| b.scope == *s && b.keys.contains(&key))
            .map(|b| b.action.clone())
    })
}

/// Converts a crossterm key event (ignoring releases and repeats of non-navigation
/// keys is left to the terminal; only presses count).
pub fn key_of(ev: &KeyEvent) -> Option<Key> {
    if ev.kind == KeyEventKind::Release {
        return None;
    }
    Some(Key {
        code: ev.code,
        ctrl: ev.modifiers.contains(KeyModifiers::CONTROL),
    })
}

/// How a key is written in the footer and the help.
pub fn key_name(key: Key) -> String {
    let base = match key.code {
        C::Char(' ') => "Space".to_string(),
        C::Char(c) => c.to_string(),
        C::Enter => "Enter".into(),
        C::Esc => "Esc".into(),
        C::Backspace => "Bksp".into(),
        C::Tab => "Tab".into(),
        C::BackTab => "S-Tab".into(),
        C::Up => "↑".into(),
        C::Down => "↓".into(),
        C::Left => "←".into(),
        C::Right => "→".into(),
        C::PageUp => "PgUp".into(),
        C::PageDown => "PgDn".into(),
        C::Home => "Home".into(),
        C::End => "End".into(),
        other => format!("{other:?}"),
    };
    if key.ctrl {
        format!("Ctrl-{base}")
    } else {
        base
    }
}

/// The keys of a binding joined for display: "↓/j".
pub fn keys_text(b: &Binding) -> String {
    b.keys
        .iter()
        .map(|k| key_name(*k))
        .collect::<Vec<_>>()
        .join("/")
}

/// One help line: scope title, keys, description.
pub fn help_lines(scopes: &[Scope]) -> Vec<(&'static str, String, &'static str)> {
    let mut out = Vec::new();
    for s in scopes {
        for b in KEYMAP.iter().filter(|b| b.scope == *s) {
            out.push((s.title(), keys_text(b), b.help));
        }
    }
    out
}

/// Every scope, in the order the help screen lists them.
pub const ALL_SCOPES: [Scope; 8] = [
    Scope::Global,
    Scope::PacketList,
    Scope::FieldTree,
    Scope::Conns,
    Scope::Conn,
    Scope::Follow,
    Scope::Story,
    Scope::Transactions,
];

/// Footer entries for the active scopes: "Enter open", most specific first, each key
/// listed once (a key shadowed by a more specific scope is not repeated).
pub fn footer_entries(scopes: &[Scope]) -> Vec<(String, &'static str)> {
    let mut out: Vec<(String, &'static str)> = Vec::new();
    let mut seen: Vec<Key> = Vec::new();
    for s in scopes {
        for b in KEYMAP.iter().filter(|b| b.scope == *s) {
            let fresh = b.keys.iter().any(|k| !seen.contains(k));
            seen.extend(b.keys.iter().copied());
            if b.footer && fresh {
                out.push((keys_text(b), b.help));
            }
        }
    }
    out
}

/// The README's key table (between its `keys:begin` and `keys:end` markers), made from
/// [`KEYMAP`]; a test keeps the README equal to it, so the documented keys are the real
/// ones.
pub fn readme_table() -> String {
    let mut out = String::from("| Where | Keys | What |\n|---|---|---|\n");
    for s in ALL_SCOPES {
        for b in KEYMAP.iter().filter(|b| b.scope == s) {
            let keys: Vec<String> = b
                .keys
                .iter()
                .map(|k| format!("`{}`", key_name(*k)))
                .collect();
            out.push_str(&format!(
                "| {} | {} | {} |\n",
                s.title(),
                keys.join(" "),
                b.help
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_readme_lists_the_real_keys() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../README.md");
        let readme = std::fs::read_to_string(path).expect("README.md");
        let (begin, end) = ("<!-- keys:begin -->\n", "<!-- keys:end -->");
        let start = readme.find(begin).expect("README has a keys:begin marker") + begin.len();
        let stop = readme[start..].find(end).expect("keys:end marker") + start;
        let table = readme_table();
        assert!(
            readme[start..stop] == table,
            "README.md's key table is not the keymap's; paste this between the markers:\n{table}"
        );
        // And every binding's key is there (the table is the keymap).
        for b in KEYMAP {
            for k in b.keys {
                assert!(readme[start..stop].contains(&format!("`{}`", key_name(*k))));
            }
        }
    }

    #[test]
    fn specific_scope_wins_and_global_falls_through() {
        let scopes = [Scope::Conns, Scope::Global];
        assert_eq!(lookup(k('s'), &scopes), Some(Action::SortNext));
        assert_eq!(lookup(k('j'), &scopes), Some(Action::Down));
        assert_eq!(lookup(code(C::Enter), &scopes), Some(Action::Enter));
        assert_eq!(lookup(ctrl('d'), &scopes), Some(Action::HalfPageDown));
        assert_eq!(lookup(k('d'), &scopes), None);
        let tree = [Scope::FieldTree, Scope::PacketList, Scope::Global];
        assert_eq!(lookup(code(C::Esc), &tree), Some(Action::SwitchPane));
        assert_eq!(lookup(code(C::Enter), &tree), Some(Action::ToggleExpand));
    }

    #[test]
    fn no_key_is_bound_twice_in_one_scope() {
        for s in ALL_SCOPES {
            let mut keys = Vec::new();
            for b in KEYMAP.iter().filter(|b| b.scope == s) {
                for key in b.keys {
                    assert!(!keys.contains(key), "{key:?} bound twice in {s:?}");
                    keys.push(*key);
                }
            }
        }
    }

    #[test]
    fn help_lists_every_binding() {
        let lines = help_lines(&ALL_SCOPES);
        assert_eq!(lines.len(), KEYMAP.len());
        assert!(lines
            .iter()
            .any(|(_, keys, help)| keys == "Ctrl-d" && *help == "half a page down"));
    }
}
