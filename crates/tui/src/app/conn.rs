//! The Connection view's document: its sections and what each line is.

use crate::source::ConnDetail;

/// Sections of the Connection view's document, in order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConnSection {
    /// The encapsulations a tunnelled connection rode in.
    Tunnel,
    /// A QUIC connection's summary (versions, connection IDs, addresses).
    Quic,
    Timeline,
    Ladder,
    Http,
    Tls,
    Anomalies,
}

/// The non-empty sections of `d` with their item counts.
pub fn conn_sections(d: &ConnDetail) -> Vec<(ConnSection, usize)> {
    [
        (ConnSection::Tunnel, d.tunnel.len()),
        (ConnSection::Quic, d.quic.len()),
        (ConnSection::Timeline, d.phases.len()),
        (ConnSection::Ladder, d.arrows.len()),
        (ConnSection::Http, d.http.len()),
        (ConnSection::Tls, usize::from(d.tls.is_some())),
        (ConnSection::Anomalies, d.anomalies.len()),
    ]
    .into_iter()
    .filter(|(_, n)| *n > 0)
    .collect()
}

/// Lines of the Connection view's document: each non-empty section is a title line,
/// its items and a blank line. The model scrolls it; `views::conn` draws these lines.
pub fn conn_doc_len(d: &ConnDetail) -> usize {
    conn_sections(d).iter().map(|(_, n)| n + 2).sum()
}

/// What line `i` of the document shows: a section and `Some(item)`, or `None` for the
/// section's title; `None` overall for blank lines and past the end.
pub fn conn_doc_item(d: &ConnDetail, i: usize) -> Option<(ConnSection, Option<usize>)> {
    let mut base = 0;
    for (s, n) in conn_sections(d) {
        if i < base + n + 2 {
            let k = i - base;
            return match k {
                0 => Some((s, None)),
                k if k <= n => Some((s, Some(k - 1))),
                _ => None,
            };
        }
        base += n + 2;
    }
    None
}
