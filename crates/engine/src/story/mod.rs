//! The browser-to-server story: which lookup named which connection, which requests
//! belong to one page load, and the narrative of it all.
//!
//! * [`naming`]: a connection from client C to address X at time t is named by the
//!   latest DNS answer *to C* before t that contained X (following CNAME chains), not by
//!   one global address→name table, which mislabels CDN addresses shared by many names.
//! * [`pages`]: groups connections, exchanges and lookups into page loads: an HTML
//!   document and what the same client fetched for it (by Referer, then by timing).
//! * [`narrate`]: the timeline, step by step as *How Networks Connect* tells it, in
//!   [`events`] (what each line is and says) with [`phases`] (per-connection durations).
//!
//! Everything is computed from capture timestamps only, so a live capture and the file
//! it saved tell the same story.

mod alt_transport;
mod digits;
pub mod events;
mod icmp;
pub mod naming;
pub mod narrate;
mod pack;
pub mod pages;
pub mod phases;
pub mod quic;
mod records;
pub mod stream;

pub use events::{Event, EventKind, Facts};
pub use naming::{name_connections, ConnName, NameIndex, NameSource};
pub use narrate::{narrate, narrate_each};
pub use pages::{group_pages, Page};
pub use phases::PhaseTimes;
pub use quic::{QuicEnd, QuicSummary};
pub use records::{AppKind, ConnRecord, HttpRecord, TlsSummary};
pub use stream::{count, story_page, Pending, StoryPage, StoryStream, Tally};

use crate::proto::dns::DnsTransaction;

/// Everything the story is told from.
pub struct StoryInput<'a> {
    pub conns: &'a [ConnRecord],
    pub dns: &'a [DnsTransaction],
    pub http: &'a [HttpRecord],
}

/// A whole story: names for connections, the page loads, and the narrated events.
pub struct Story {
    /// Indexed like `StoryInput::conns`.
    pub names: Vec<Option<ConnName>>,
    pub pages: Vec<Page>,
    pub events: Vec<Event>,
}

/// Joins and narrates; see the module docs.
pub fn tell(input: &StoryInput<'_>) -> Story {
    let names = name_connections(input);
    let pages = group_pages(input, &names);
    let events = narrate(input, &names, &pages);
    Story {
        names,
        pages,
        events,
    }
}
