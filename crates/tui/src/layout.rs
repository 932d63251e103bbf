//! Screen geometry as plain numbers, shared by the views (which draw into it) and the
//! model (which needs page sizes and maps mouse clicks to rows) without the model
//! importing ratatui.

/// A rectangle of terminal cells.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Area {
    pub x: u16,
    pub y: u16,
    pub w: u16,
    pub h: u16,
}

impl Area {
    pub fn contains(&self, col: u16, row: u16) -> bool {
        col >= self.x
            && col < self.x.saturating_add(self.w)
            && row >= self.y
            && row < self.y.saturating_add(self.h)
    }
}

/// Header (status), body and footer (keys, or the `/` bar and its error).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Screen {
    pub header: Area,
    pub tabs: Area,
    pub body: Area,
    pub footer: Area,
}

/// Splits the terminal. `footer_lines` is 1 normally and grows while the bar shows an
/// error.
pub fn screen(w: u16, h: u16, footer_lines: u16) -> Screen {
    let footer_lines = footer_lines.min(h.saturating_sub(2));
    let header = Area {
        x: 0,
        y: 0,
        w,
        h: h.min(1),
    };
    let tabs = Area {
        x: 0,
        y: 1,
        w,
        h: h.saturating_sub(1).min(1),
    };
    let body_y = 2.min(h);
    let body_h = h.saturating_sub(body_y).saturating_sub(footer_lines);
    Screen {
        header,
        tabs,
        body: Area {
            x: 0,
            y: body_y,
            w,
            h: body_h,
        },
        footer: Area {
            x: 0,
            y: body_y + body_h,
            w,
            h: h.saturating_sub(body_y + body_h),
        },
    }
}

/// The Packets view: list on top, field tree and hex pane below side by side when wide
/// enough, stacked otherwise. Each pane's first line is its title/header.
pub struct PacketsLayout {
    pub list: Area,
    pub tree: Area,
    pub hex: Area,
}

pub fn packets(body: Area) -> PacketsLayout {
    let list_h = (body.h / 2).max(3).min(body.h);
    let rest = body.h - list_h;
    let below_y = body.y + list_h;
    if body.w >= 140 {
        let tree_w = body.w - 76;
        PacketsLayout {
            list: Area { h: list_h, ..body },
            tree: Area {
                x: body.x,
                y: below_y,
                w: tree_w,
                h: rest,
            },
            hex: Area {
                x: body.x + tree_w,
                y: below_y,
                w: body.w - tree_w,
                h: rest,
            },
        }
    } else {
        let tree_h = rest / 2;
        PacketsLayout {
            list: Area { h: list_h, ..body },
            tree: Area {
                x: body.x,
                y: below_y,
                w: body.w,
                h: tree_h,
            },
            hex: Area {
                x: body.x,
                y: below_y + tree_h,
                w: body.w,
                h: rest - tree_h,
            },
        }
    }
}

/// Rows of data a list with a one-line header shows in `area`.
pub fn list_rows(area: Area) -> usize {
    area.h.saturating_sub(1) as usize
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn screen_parts_cover_the_terminal() {
        for (w, h) in [(80, 24), (120, 40), (1, 1), (0, 0), (10, 3)] {
            for f in [1, 3] {
                let s = screen(w, h, f);
                assert_eq!(
                    s.header.h + s.tabs.h + s.body.h + s.footer.h,
                    h,
                    "{w}x{h} f{f}"
                );
                let p = packets(s.body);
                if w >= 140 {
                    assert_eq!(p.list.h + p.tree.h, s.body.h);
                    assert_eq!(p.tree.h, p.hex.h);
                } else {
                    assert_eq!(p.list.h + p.tree.h + p.hex.h, s.body.h);
                }
            }
        }
    }
}
