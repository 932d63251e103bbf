//! Story: page loads as `wiretale story` tells them, expandable; Enter opens the
//! connection of the line.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::Span;

use super::super::app::App;
use super::super::flatten::tree_lines;
use super::super::source::StoryItem;
use super::super::theme::Theme;
use super::super::widgets::tree;
use super::title;

pub fn render(body: Rect, buf: &mut Buffer, app: &App, t: &Theme) {
    let items = app.source.story();
    // The kinds are counted on the list's last line.
    let stories = StoryItem::count_stories(items);
    let area = title(
        body,
        buf,
        vec![
            Span::styled("Story ", t.title()),
            Span::styled(
                format!(
                    "{stories} {}",
                    if stories == 1 { "story" } else { "stories" }
                ),
                t.dim(),
            ),
        ],
    );
    let lines = tree_lines(items, &app.story_expanded);
    tree::render(
        buf,
        area,
        "",
        &lines,
        &|s: &StoryItem| s.text.clone(),
        &|_| Default::default(),
        app.story,
        true,
        t,
    );
}
