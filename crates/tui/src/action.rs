//! Everything the user can ask for, independent of which key asked. The keymap turns
//! key events into these; `App::update` is the only place that acts on them, so the
//! model can be tested without a terminal.

/// The top-level views reachable with Tab and the number keys.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Tab {
    Packets,
    Conns,
    Story,
    Dns,
    Http,
}

impl Tab {
    pub const ALL: [Tab; 5] = [Tab::Packets, Tab::Conns, Tab::Story, Tab::Dns, Tab::Http];

    pub fn title(self) -> &'static str {
        match self {
            Tab::Packets => "Packets",
            Tab::Conns => "Connections",
            Tab::Story => "Story",
            Tab::Dns => "DNS",
            Tab::Http => "HTTP",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    Up,
    Down,
    PageUp,
    PageDown,
    HalfPageUp,
    HalfPageDown,
    Top,
    Bottom,
    /// Open what the selection points at (connection, field, story line).
    Enter,
    /// Go back one view, or close the pane/bar/help that is open.
    Back,
    NextTab,
    PrevTab,
    ShowTab(Tab),
    ToggleHelp,
    /// `q`: quits, or asks first when a live capture is running.
    Quit,
    /// Ctrl-C: quits at once.
    ForceQuit,
    /// Limit every view to the connection of the selected row.
    FocusConn,
    ClearFocus,
    /// Open the `/` bar: the display filter, or the search in Follow.
    OpenBar,
    SortNext,
    SortReverse,
    /// Follow the selected/current connection's stream.
    Follow,
    /// Jump to the packets of the current connection.
    JumpPackets,
    ToggleHex,
    SearchNext,
    SearchPrev,
    TogglePause,
    /// Save the packets of the current view to a capture file.
    SaveView,
    /// Move keyboard focus between the packet list and the field tree.
    SwitchPane,
    Expand,
    Collapse,
    ToggleExpand,
    /// Typed into the open bar.
    BarChar(char),
    BarBackspace,
    BarLeft,
    BarRight,
    BarSubmit,
    /// Complete the field name before the cursor (Tab).
    BarComplete,
    /// Earlier / later filter from the history (Up / Down).
    BarHistoryPrev,
    BarHistoryNext,
    /// Answer to the quit confirmation.
    ConfirmYes,
    ConfirmNo,
    Resize(u16, u16),
    ScrollUp,
    ScrollDown,
    /// Left click at terminal cell (column, row).
    Click(u16, u16),
}

/// Where a key binding applies. The model reports which scopes are active (most
/// specific first); the keymap looks a key up in that order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Scope {
    Global,
    PacketList,
    FieldTree,
    Conns,
    Conn,
    Follow,
    Story,
    Transactions,
}

impl Scope {
    pub fn title(self) -> &'static str {
        match self {
            Scope::Global => "Everywhere",
            Scope::PacketList => "Packets: list",
            Scope::FieldTree => "Packets: field tree",
            Scope::Conns => "Connections",
            Scope::Conn => "Connection",
            Scope::Follow => "Follow stream",
            Scope::Story => "Story",
            Scope::Transactions => "DNS and HTTP",
        }
    }
}
