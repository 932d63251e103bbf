//! The Connections table's order: sort columns and re-sorting that keeps the
//! selected connection.

use super::App;
use crate::source::ConnRow;

/// Columns the connection table can be sorted by.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConnSort {
    Id,
    Client,
    Server,
    Name,
    State,
    Duration,
    BytesC2s,
    BytesS2c,
    Packets,
    Rtt,
    App,
}

impl ConnSort {
    pub const ALL: [ConnSort; 11] = [
        ConnSort::Id,
        ConnSort::Client,
        ConnSort::Server,
        ConnSort::Name,
        ConnSort::State,
        ConnSort::Duration,
        ConnSort::BytesC2s,
        ConnSort::BytesS2c,
        ConnSort::Packets,
        ConnSort::Rtt,
        ConnSort::App,
    ];

    pub(super) fn next(self) -> ConnSort {
        let i = ConnSort::ALL.iter().position(|s| *s == self).unwrap_or(0);
        ConnSort::ALL[(i + 1) % ConnSort::ALL.len()]
    }

    pub(super) fn cmp(self, a: &ConnRow, b: &ConnRow) -> std::cmp::Ordering {
        match self {
            ConnSort::Id => a.id.cmp(&b.id),
            ConnSort::Client => a.client.cmp(&b.client),
            ConnSort::Server => a.server.cmp(&b.server),
            ConnSort::Name => a.name.cmp(&b.name),
            ConnSort::State => a.state.cmp(&b.state),
            ConnSort::Duration => a.duration.total_cmp(&b.duration),
            ConnSort::BytesC2s => a.bytes_c2s.cmp(&b.bytes_c2s),
            ConnSort::BytesS2c => a.bytes_s2c.cmp(&b.bytes_s2c),
            ConnSort::Packets => a.packets.cmp(&b.packets),
            ConnSort::Rtt => a.rtt.unwrap_or(-1.0).total_cmp(&b.rtt.unwrap_or(-1.0)),
            ConnSort::App => a.app.cmp(&b.app),
        }
    }
}

impl App {
    pub(super) fn resort(&mut self) {
        let src = &self.source;
        let n = src.conn_count();
        let selected_id = self
            .conn_order
            .get(self.conns.selected)
            .and_then(|&i| src.conn_id(i));
        let mut order: Vec<usize> = (0..n).collect();
        let (sort, rev) = (self.sort, self.sort_reverse);
        // Sources list connections by id already (ids follow first packets), so the
        // default order needs no sort (nor any row built) on every update batch.
        let ids: Vec<u32> = (0..n).filter_map(|i| src.conn_id(i)).collect();
        let by_id = sort == ConnSort::Id && !rev && ids.windows(2).all(|w| w[0] < w[1]);
        if !by_id {
            // Every row is built once for the sort, and dropped after it.
            let rows: Vec<Option<ConnRow>> = (0..n).map(|i| src.conn_row(i)).collect();
            order.sort_by(|&a, &b| {
                let o = match (&rows[a], &rows[b]) {
                    (Some(x), Some(y)) => sort.cmp(x, y).then(x.id.cmp(&y.id)),
                    (x, y) => x.is_some().cmp(&y.is_some()),
                };
                if rev {
                    o.reverse()
                } else {
                    o
                }
            });
        }
        if let Some(id) = selected_id {
            if let Some(pos) = order.iter().position(|&i| src.conn_id(i) == Some(id)) {
                self.conns.selected = pos;
            }
        }
        self.conn_order = order;
    }

    /// The row of connection `id` in the current list, if it is there.
    pub fn conn_row_by_id(&self, id: u32) -> Option<ConnRow> {
        let src = &self.source;
        let i = (0..src.conn_count()).find(|&i| src.conn_id(i) == Some(id))?;
        src.conn_row(i)
    }
}
