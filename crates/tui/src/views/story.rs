//! Story: page loads as `wiretale story` tells them, expandable; Enter opens the
//! connection of the line.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::Span;

use super::super::app::App;
use super::super::flatten::story_lines;
use super::super::story::StoryLine;
use super::super::theme::Theme;
use super::super::widgets::tree;
use super::title;

pub fn render(body: Rect, buf: &mut Buffer, app: &App, t: &Theme) {
    let story = app.source.story();
    // The kinds are counted on the list's last line.
    let stories = story.count_stories();
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
    let lines = story_lines(story, &app.story_expanded);
    tree::render(
        buf,
        area,
        "",
        &lines,
        &|l: &StoryLine| story.line_text(l),
        &|_| Default::default(),
        app.story,
        true,
        t,
    );
}
