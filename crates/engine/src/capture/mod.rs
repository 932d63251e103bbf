//! Bytes in: the only module that does capture I/O.
//!
//! * Files: classic pcap (both byte orders, micro/nanosecond, the "modified" a1b2cd34
//!   format) and pcapng (several sections of either byte order, several interfaces with
//!   their own link types and timestamp resolutions, EPB/SPB/OPB, comments), plain or
//!   gzip-compressed, or standard input (`-`).
//! * [`open`] gives a sequential [`FrameSource`]: a streaming reader with a reused,
//!   growable buffer for plain files, stdin and `.gz` alike (no memory map, so a pass
//!   over the file does not leave the file's pages in the resident set).
//! * [`ReadAhead`] runs any source on its own thread and hands frames over in batches
//!   (same frames, same errors), so reading and analysis can use two cores.
//! * [`FrameStore`] gives random access by [`PacketId`] with about 4 bytes of index per
//!   packet (where its bytes start; the record header in front of them is re-read) and
//!   the bytes fetched on demand from a memory map (stdin and `.gz` are spooled to a
//!   temporary file first), so memory does not grow with the file's bytes.
//!
//! * [`PcapWriter`] / [`PcapngWriter`] write captures (export, `-w`).
//! * [`BpfFilter`] applies tcpdump filter expressions to frames from files (one compiled
//!   program per link type).
//! * [`LiveCapture`] captures from a device through libpcap: a non-blocking polling
//!   thread, [`FrameBatch`]es over a bounded channel, a spill file, kernel drop counters.
//!
//! Both file readers share one format walker (`walk.rs`, with `pcap.rs` and `pcapng.rs`),
//! so they accept the same inputs and report the same errors at the same byte offsets. A
//! damaged file yields every complete packet before the damage, then exactly one
//! [`CaptureError`] naming the offset. Oddities that do not stop reading (captured length
//! over the original length, a broken option list) are [`Anomaly`]s on the frame.
//!
//! Bounds: a pcapng block or pcap record over 64 MiB is an impossible length; a pcap
//! record's captured length may not exceed max(snaplen, 262144) (tshark stops at 262144
//! whatever the snaplen; honouring a larger declared snaplen loses nothing); at most
//! 65536 interfaces and sections. The streaming reader's buffer grows as bytes arrive, up
//! to one block.

mod bpf;
mod error;
mod export;
mod file;
mod live;
mod packet_index;
mod pcap;
mod pcapng;
mod readahead;
mod store;
#[cfg(test)]
mod testbytes;
#[cfg(test)]
mod tests;
mod walk;
mod write;

pub use bpf::BpfFilter;
pub use error::{CaptureError, ErrorKind};
pub use export::{check_not_input, same_file, write_selection, write_selection_to, ExportFormat};
pub use file::{open, open_reader, MemReader, StreamReader};
pub use live::{
    devices, Delivery, DeviceInfo, FrameBatch, LiveCapture, LiveOptions, LiveStats,
    DEFAULT_BUFFER_SIZE,
};
pub use readahead::ReadAhead;
pub use store::{FrameStore, IndexEntry, IndexProgress, StoreIndex};
pub use walk::{ByteOrder, DecryptionSecrets, FileFormat, InterfaceInfo, SectionInfo};
pub use write::{PcapWriter, PcapngWriter};

use crate::base::{Anomaly, LinkType, PacketId, Timestamp};

/// Everything known about a frame except its bytes. Small and `Copy`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FrameMeta {
    /// 0-based position among packets (EPB/SPB/OPB or pcap records) in file order.
    pub id: PacketId,
    /// Capture time (per-interface resolution and `if_tsoffset` applied).
    pub ts: Timestamp,
    /// Index into [`FrameSource::interfaces`] (global across pcapng sections; see
    /// [`InterfaceInfo::id_in_section`] for the number the file itself uses).
    pub iface: u32,
    pub link: LinkType,
    /// Bytes captured (the length of [`Frame::data`]).
    pub caplen: u32,
    /// Length of the packet on the wire.
    pub origlen: u32,
}

/// A frame: metadata plus the captured bytes, borrowed from the reader.
#[derive(Clone, Copy, Debug)]
pub struct Frame<'a> {
    pub meta: FrameMeta,
    pub data: &'a [u8],
    /// Decryption secrets (pcapng DSBs) read since the frame before this one: they serve
    /// this frame and those after it. Almost always empty.
    pub secrets: &'a [DecryptionSecrets],
}

/// A lending iterator over frames in file order.
///
/// After an error, `next_frame` returns `Ok(None)`: a damaged input yields its complete
/// packets, then one error, then the end.
pub trait FrameSource {
    /// The next frame, `Ok(None)` at the end, or the error that stopped reading.
    fn next_frame(&mut self) -> Result<Option<Frame<'_>>, CaptureError>;
    /// Interfaces seen so far (pcap: exactly one once the header is read).
    fn interfaces(&self) -> &[InterfaceInfo];
    /// pcapng sections seen so far (empty for pcap).
    fn sections(&self) -> &[SectionInfo];
    /// The file format, once the header has been read.
    fn format(&self) -> Option<FileFormat>;
    /// Comments (`opt_comment`) of the frame last returned; usually empty.
    fn comments(&self) -> &[String];
    /// Something odd but not fatal about the frame last returned (e.g.
    /// `caplen_exceeds_origlen`, `bad_packet_options`); usually `None`.
    fn anomaly(&self) -> Option<&Anomaly>;
    /// Packets returned so far.
    fn packets_read(&self) -> u64;
}
