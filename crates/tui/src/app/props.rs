//! Property test: any sequence of actions keeps the model consistent and drawable.

use super::*;
use crate::fake::FakeSource;
use proptest::prelude::*;
use ratatui::backend::TestBackend;
use ratatui::Terminal;

fn action() -> impl Strategy<Value = Action> {
    prop_oneof![
        Just(Action::Up),
        Just(Action::Down),
        Just(Action::PageUp),
        Just(Action::PageDown),
        Just(Action::HalfPageDown),
        Just(Action::Top),
        Just(Action::Bottom),
        Just(Action::Enter),
        Just(Action::Back),
        Just(Action::NextTab),
        Just(Action::PrevTab),
        Just(Action::ToggleHelp),
        Just(Action::FocusConn),
        Just(Action::ClearFocus),
        Just(Action::OpenBar),
        Just(Action::SortNext),
        Just(Action::SortReverse),
        Just(Action::Follow),
        Just(Action::JumpPackets),
        Just(Action::ToggleHex),
        Just(Action::SearchNext),
        Just(Action::SearchPrev),
        Just(Action::SwitchPane),
        Just(Action::Expand),
        Just(Action::Collapse),
        Just(Action::ToggleExpand),
        any::<char>().prop_map(Action::BarChar),
        Just(Action::BarBackspace),
        Just(Action::BarLeft),
        Just(Action::BarRight),
        Just(Action::BarSubmit),
        Just(Action::ConfirmNo),
        Just(Action::ScrollDown),
        (0u16..130, 0u16..45).prop_map(|(x, y)| Action::Click(x, y)),
        (0u16..200, 0u16..60).prop_map(|(w, h)| Action::Resize(w, h)),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]
    /// Any sequence of actions keeps the model consistent and every screen drawable.
    #[test]
    fn any_actions_never_panic(actions in proptest::collection::vec(action(), 1..40)) {
        let mut a = App::new(Box::new(FakeSource::new()));
        a.update(Action::Resize(80, 24));
        for x in actions {
            a.update(x);
            prop_assert!(!a.stack.is_empty() && a.stack.len() <= 16);
            let n = a.source.packet_count();
            prop_assert!(n == 0 || a.packets.selected < n);
        }
        let (w, h) = a.size;
        let mut t = Terminal::new(TestBackend::new(w, h)).expect("terminal");
        t.draw(|f| crate::views::draw(f, &a)).expect("draw");
    }
}
