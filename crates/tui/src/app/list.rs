//! A virtual list's selection and scroll offset.

/// Selection and scroll offset of a virtual list.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ListState {
    pub selected: usize,
    pub offset: usize,
}

impl ListState {
    /// Keeps the selection inside `count` rows and visible in a window of `rows`.
    pub fn clamp(&mut self, count: usize, rows: usize) {
        let rows = rows.max(1);
        if count == 0 {
            *self = ListState::default();
            return;
        }
        self.selected = self.selected.min(count - 1);
        if self.selected < self.offset {
            self.offset = self.selected;
        }
        if self.selected >= self.offset + rows {
            self.offset = self.selected + 1 - rows;
        }
        self.offset = self.offset.min(count.saturating_sub(rows));
    }

    pub fn move_by(&mut self, delta: isize, count: usize, rows: usize) {
        self.selected = self.selected.saturating_add_signed(delta);
        self.clamp(count, rows);
    }

    pub fn select(&mut self, index: usize, count: usize, rows: usize) {
        self.selected = index;
        self.clamp(count, rows);
    }
}
