//! The anomaly vocabulary: every name wiretale can put in an `anomalies` list, written
//! once here with a sentence saying what it means and why it matters. Emitters pass an
//! [`AnomalyKind`], never a string, so a name cannot be misspelt or invented on the spot,
//! and `docs/anomalies.md` is generated from this list (a test keeps the two equal).
//!
//! The names are a stable interface: they are printed in `--json` `anomalies` lists and
//! TCP `analysis` counts, in the TUI and in story events, so renaming one changes every
//! output.

/// Declares [`AnomalyKind`] with its name, sentence and group from one list, so each
/// name is written exactly once.
macro_rules! anomalies {
    ($( $group:literal {
        $( $variant:ident = $name:literal : $sentence:literal, )*
    } )*) => {
        /// One kind of anomaly; see the module documentation and `docs/anomalies.md`.
        #[derive(serde::Serialize, serde::Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum AnomalyKind {
            $( $( $variant, )* )*
        }

        impl AnomalyKind {
            /// Every kind, in documentation order.
            pub const ALL: &'static [AnomalyKind] = &[ $( $( AnomalyKind::$variant, )* )* ];

            /// The stable snake_case name printed in outputs.
            pub const fn name(self) -> &'static str {
                match self {
                    $( $( AnomalyKind::$variant => $name, )* )*
                }
            }

            /// One sentence: what happened and why it matters.
            pub const fn sentence(self) -> &'static str {
                match self {
                    $( $( AnomalyKind::$variant => $sentence, )* )*
                }
            }

            /// The documentation section the kind is listed under.
            pub const fn group(self) -> &'static str {
                match self {
                    $( $( AnomalyKind::$variant => $group, )* )*
                }
            }
        }
    };
}

anomalies! {
    "Capture files" {
        CaplenExceedsOriglen = "caplen_exceeds_origlen":
            "A record claims more captured bytes than the packet's original length: the file was written by a broken or hostile tool, so its lengths cannot be trusted.",
        TimestampFractionOverflow = "timestamp_fraction_overflow":
            "A pcap record's fraction of a second is one second or more; the time is kept as written (as libpcap and tshark do), so packet times may jump.",
        BadPacketOptions = "bad_packet_options":
            "A pcapng packet block's options run past the end of the block, so its later options (comments) are ignored.",
    }
    "Link layer" {
        UnknownLinkType = "unknown_link_type":
            "The capture's link type is not one wiretale decodes, so its frames are kept as bytes only.",
        TruncatedEthernet = "truncated_ethernet":
            "The frame is shorter than an Ethernet header, so nothing above the link layer was decoded.",
        TruncatedLink = "truncated_link":
            "The link-layer header (Ethernet, Linux cooked or NULL/LOOP) is cut short, so nothing above it was decoded.",
        UnknownAddressFamily = "unknown_address_family":
            "A BSD NULL/LOOP header names an address family other than IPv4 or IPv6, so its payload was not decoded.",
        TruncatedVlan = "truncated_vlan":
            "An 802.1Q VLAN tag is cut short, so the frame's payload was not decoded.",
        VlanTooDeep = "vlan_too_deep":
            "More than two VLAN tags are stacked; only the outer two are kept, so connections on different inner VLANs may be merged.",
        BadMacsec = "bad_macsec":
            "A MACsec (802.1AE) header could not be parsed, so the frame's payload was not decoded.",
        TruncatedArp = "truncated_arp":
            "An ARP packet is cut short, so its addresses are missing.",
    }
    "IP" {
        BadIpVersion = "bad_ip_version":
            "An IP header carries a version other than 4 or 6 (or one its EtherType contradicts), so the packet was not decoded as IP.",
        BadIpHeaderLength = "bad_ip_header_length":
            "An IPv4 header length field is below the 20-byte minimum, so nothing above IP was decoded.",
        BadIpHeader = "bad_ip_header":
            "An IP header is malformed (not merely cut short), so nothing above IP was decoded.",
        TruncatedIp = "truncated_ip":
            "The IP header is cut short by the capture, so the addresses and everything above may be missing.",
        BadIpTotalLength = "bad_ip_total_length":
            "The IPv4 total length is shorter than its own header (typical of captures taken before segmentation offload fills it in), so the captured length is used instead.",
        TruncatedIpExt = "truncated_ip_ext":
            "An IPv6 extension header (or IPsec AH) is cut short, so the transport layer was not decoded.",
        BadIpExtHeader = "bad_ip_ext_header":
            "An IPv6 extension header (or IPsec AH) is malformed, so the transport layer was not decoded.",
        SnaplenCut = "snaplen_cut":
            "The IP header promises more payload than was captured (the snapshot length cut it), so higher layers see only a prefix and reassembly sees a gap.",
    }
    "Tunnels and encapsulations" {
        TruncatedTunnel = "truncated_tunnel":
            "A tunnel or encapsulation header (MPLS, PPPoE, GRE, VXLAN, Geneve, GTP-U, 802.11…) is cut short, so the packet is shown as the outer packet that carried it.",
        TunnelPayloadUnknown = "tunnel_payload_unknown":
            "A tunnel carries a protocol or header version wiretale does not decode, so the packet is shown as the outer packet that carried it.",
        TunnelTooDeep = "tunnel_too_deep":
            "More than eight encapsulations are nested; the deeper ones are not opened, so the packet is shown as the last one decoded.",
        Wlan80211Protected = "wlan_protected":
            "An 802.11 data frame is protected (encrypted, WEP/TKIP/CCMP), so its payload cannot be decoded without the keys.",
    }
    "IP fragments" {
        DefragBadFragment = "defrag_bad_fragment":
            "A fragment's headers are inconsistent (an IPv6 fragment without a fragment header, a length shorter than its headers), so it was left out of reassembly.",
        DefragTruncatedFragment = "defrag_truncated_fragment":
            "A fragment was cut by the capture's snapshot length, so its datagram cannot be reassembled.",
        DefragOversize = "defrag_oversize":
            "Fragments reach past the 65,535-byte IP datagram limit (the ping-of-death shape), so the datagram was dropped.",
        DefragOddFragment = "defrag_odd_fragment":
            "A non-final fragment's data is not a multiple of 8 bytes, which RFC 791 forbids: the sender is broken or crafting packets.",
        DefragConflict = "defrag_conflict":
            "Two fragments each claim to be the last with different datagram ends, so the reassembled length is ambiguous (an evasion trick).",
        DefragOverlap = "defrag_overlap":
            "A fragment overlaps bytes already received; the first copy is kept, and differing copies are a known way to make two analyzers see different data.",
        DefragMemoryLimit = "defrag_memory_limit":
            "The IP reassembly buffer limit (`--max-frag-bytes`) was reached, so a datagram was dropped.",
        DefragTooManyPieces = "defrag_too_many_pieces":
            "One datagram arrived in more separate pieces than reassembly allows, so it was dropped (bounded work against fragment floods).",
        DefragTimeout = "defrag_timeout":
            "Fragments of a datagram waited longer than the reassembly timeout without completing, so they were dropped.",
    }
    "Transport headers" {
        TruncatedTcp = "truncated_tcp":
            "The TCP header is cut short, so the segment was not analysed.",
        BadTcpHeader = "bad_tcp_header":
            "The TCP header is malformed, so the segment was not analysed.",
        BadTcpDataOffset = "bad_tcp_data_offset":
            "The TCP data offset is below the 20-byte minimum header, so the segment was not analysed.",
        BadTcpOptions = "bad_tcp_options":
            "A TCP option overruns the header, so later options (window scale, SACK, timestamps) are ignored.",
        TruncatedUdp = "truncated_udp":
            "The UDP header or the payload its length field promises is cut short, so the datagram is incomplete.",
        TruncatedIcmp = "truncated_icmp":
            "An ICMP message is cut short, so its type and quoted packet may be missing.",
        TruncatedIcmpv6 = "truncated_icmpv6":
            "An ICMPv6 message is cut short, so its type and quoted packet may be missing.",
        TruncatedIgmp = "truncated_igmp":
            "An IGMP message is cut short, so its fields are missing.",
    }
    "TCP analysis (Wireshark's tcp.analysis flags)" {
        Retransmission = "retransmission":
            "The segment repeats sequence space already sent: the network lost or delayed the first copy (tcp.analysis.retransmission).",
        FastRetransmission = "fast_retransmission":
            "A retransmission sent right after duplicate ACKs asked for it: the receiver saw a gap (tcp.analysis.fast_retransmission).",
        SpuriousRetransmission = "spurious_retransmission":
            "A retransmission of data the receiver had already acknowledged: the sender's timer fired too early (tcp.analysis.spurious_retransmission).",
        OutOfOrder = "out_of_order":
            "A segment arrived after later data shortly before it: the path reordered packets (tcp.analysis.out_of_order).",
        LostSegment = "lost_segment":
            "Sequence space before this segment was never seen: the capture or the network dropped it (tcp.analysis.lost_segment).",
        AckLostSegment = "ack_lost_segment":
            "The segment acknowledges data the capture never saw, so the capture missed packets (tcp.analysis.ack_lost_segment).",
        DuplicateAck = "duplicate_ack":
            "The same acknowledgement again with no data: the receiver is reporting a gap (tcp.analysis.duplicate_ack).",
        ZeroWindow = "zero_window":
            "The sender advertises a receive window of zero: its application is not reading, so the peer must stop sending (tcp.analysis.zero_window).",
        ZeroWindowProbe = "zero_window_probe":
            "A one-byte segment probing a zero window while the sender waits for it to open (tcp.analysis.zero_window_probe).",
        WindowFull = "window_full":
            "The segment fills the peer's advertised window, so throughput is limited by the receiver (tcp.analysis.window_full).",
        WindowUpdate = "window_update":
            "A pure ACK that only changes the window: the receiver made room (tcp.analysis.window_update).",
        KeepAlive = "keep_alive":
            "A keep-alive one byte before the next expected sequence number: the connection is idle but being checked (tcp.analysis.keep_alive).",
        PortReuse = "port_reuse":
            "A SYN reuses the addresses and ports of an earlier connection, so a new connection starts (tcp.analysis.reused_ports).",
        KeepAliveAck = "keep_alive_ack":
            "The acknowledgement answering a keep-alive (tcp.analysis.keep_alive_ack).",
        ZeroWindowProbeAck = "zero_window_probe_ack":
            "The acknowledgement answering a zero-window probe (tcp.analysis.zero_window_probe_ack).",
    }
    "Connections and TCP streams" {
        ConnEvicted = "conn_evicted":
            "The connection table was full (`--max-conns`), so this idle connection was finished early and later packets start a new record.",
        ReassemblyLimit = "reassembly_limit":
            "The out-of-order buffer limit was hit, so buffered data was delivered after a gap and the protocols above see missing bytes.",
        OverlapMismatch = "overlap_mismatch":
            "Retransmitted bytes differ from the first copy (the first is kept): a broken middlebox or an attempt to make two analyzers see different data.",
    }
    "DNS" {
        DnsTruncated = "dns_truncated":
            "The DNS message ends before its header, questions or records do (cut by the snapshot length or a wrong count), so the records after the cut are missing.",
        DnsBadLabelType = "dns_bad_label_type":
            "A DNS name uses a reserved label type (neither a plain label nor a compression pointer), so it could not be read.",
        DnsNameTooLong = "dns_name_too_long":
            "A DNS name is longer than 255 bytes (RFC 1035 §2.3.4), so it was not decoded.",
        DnsCompressionLoop = "dns_compression_loop":
            "A DNS compression pointer loops, points forward or chains too often, so the name was not decoded (a classic way to hang parsers).",
        DnsBadRdata = "dns_bad_rdata":
            "A record's data does not match its type's layout, so it is kept as raw bytes.",
        DnsMultipleOpt = "dns_multiple_opt":
            "The message carries more than one OPT record, which RFC 6891 §6.1.1 forbids; only the first is used.",
        DnsTrailingBytes = "dns_trailing_bytes":
            "Bytes follow the last record the header counts: padding, a broken encoder or data hidden from parsers.",
        DnsPendingLimit = "dns_pending_limit":
            "Too many queries waited for answers (`--max-dns-pending`), so the oldest was given up and its answer, if any, is not paired.",
        DnsTcpGap = "dns_tcp_gap":
            "Bytes are missing from a DNS-over-TCP stream, so the messages around the gap could not be read.",
    }
    "TLS" {
        TlsBadRecord = "tls_bad_record":
            "A TLS record header is invalid, so the rest of that direction is not read as TLS.",
        TlsHandshakeLimit = "tls_handshake_limit":
            "A handshake message is larger than the handshake buffer limit, so the handshake is not decoded further.",
        TlsGap = "tls_gap":
            "Bytes are missing inside the TLS handshake, so hello details (SNI, ALPN, version) may be absent.",
        TlsBadHello = "tls_bad_hello":
            "A ClientHello or ServerHello could not be parsed, so its SNI, ALPN and version are unknown.",
        TlsBadHandshake = "tls_bad_handshake":
            "A TLS handshake message or alert other than the hellos is malformed, so what it says (certificate, ALPN, ticket) is unknown.",
        TlsRecordLost = "tls_record_lost":
            "Bytes are missing inside a TLS record, so its content is lost; the records after it are still read (and decrypted where keys allow).",
        TlsDecryptFailed = "tls_decrypt_failed":
            "A TLS record did not authenticate with the logged keys (wrong keys, lost or corrupted bytes), so its content is not shown.",
    }
    "HTTP" {
        HttpGapInHead = "http_gap_in_head":
            "Bytes of an HTTP message head are missing, so that message is lost and pairing goes on with a placeholder.",
        HttpGapInBody = "http_gap_in_body":
            "Bytes of an HTTP body are missing, so the exchange is partial.",
        HttpGapInChunked = "http_gap_in_chunked":
            "Bytes are missing inside chunked framing, so the message ends there and parsing resynchronises on the next one.",
        HttpTruncated = "http_truncated":
            "The stream ended (FIN, RST or end of capture) inside an HTTP message, so the exchange is partial.",
        HttpHeaderLimit = "http_header_limit":
            "A message head exceeded the byte or line limit, so it was dropped (a guard against hostile headers).",
        HttpMalformedHead = "http_malformed_head":
            "Bytes where an HTTP message was expected do not parse as one: another protocol, noise or a broken peer.",
        HttpChunkFraming = "http_chunk_framing":
            "A chunked body's framing is malformed (bad chunk size, missing CRLF, oversized trailer), so the body ends there.",
        HttpResync = "http_resync":
            "An HTTP message was found by resynchronising after a gap, so the messages before it are lost.",
        HttpBadTransferEncoding = "http_bad_transfer_encoding":
            "A request's transfer coding is not chunked, so its length cannot be known (RFC 9112 §6.3); request smuggling looks like this.",
        HttpBadContentLength = "http_bad_content_length":
            "A Content-Length is not a number or disagrees with another one (RFC 9112 §6.3), so the body length is unknown; request smuggling looks like this.",
        HttpPendingLimit = "http_pending_limit":
            "Too many requests waited for responses (`--max-http-pending`), so the oldest was given up.",
        HttpResponseWithoutRequest = "http_response_without_request":
            "A response answers no request seen, usually because the capture started in the middle of the connection.",
        HttpObsFold = "http_obs_fold":
            "A header field uses obsolete line folding (RFC 9112 §5.2), which servers must reject or unfold: an old client or a smuggling attempt.",
        Http09Request = "http_09_request":
            "A request line has no version: an HTTP/0.9 Simple-Request (RFC 1945 §4.1), so the response is the server's bytes until it closes, with no status line or headers.",
        HttpHeaderlessResponse = "http_headerless_response":
            "A server answered without a status line or headers (an HTTP/0.9-style reply to an HTTP/1.x request), so its bytes until close are the body and there is no status.",
        HttpBadVersion = "http_bad_version":
            "A start line's version is not `HTTP/` digit `.` digit (e.g. `HTTP/1.`), so the message's version is unknown; it is read on as HTTP/1.x.",
        HttpLowercaseKeyword = "http_lowercase_keyword":
            "A start line spells the version `http/` in lower case, which RFC 9112 §2.3 forbids; servers and clients accept it, and so does wiretale.",
        HttpMissingUri = "http_missing_uri":
            "A request line has no target between the method and the version (`GET HTTP/1.1`), so the exchange's URI is empty.",
        HttpRequestLineExtra = "http_request_line_extra":
            "A request line has extra tokens or whitespace (`CONNECT host:port HTTP/1.1 extra`, a target with spaces, bytes after the version), which RFC 9112 §3 does not allow; they are kept in the URI or ignored, as Zeek does.",
        HttpOddStatusLine = "http_odd_status_line":
            "A status line's spacing is off (`200OK`, several spaces), which RFC 9112 §4 does not allow; the code and reason are read anyway.",
        HttpBadHeaderLine = "http_bad_header_line":
            "A header line has no colon (RFC 9112 §5), so it is skipped and the rest of the head is read.",
        HttpCutBy09Request = "http_cut_by_09_request":
            "A response that answered no request was cut short because an HTTP/0.9 request followed: the server's next bytes are that request's answer (as Zeek's `http_09_reply_before_request`).",
    }
    "HTTP/2" {
        H2BadPreface = "h2_bad_preface":
            "An HTTP/2 connection does not start with the client preface and a SETTINGS frame each way (RFC 9113 §3.4): the capture began mid-connection or a peer is broken, so header tables are unknown.",
        H2BadFrame = "h2_bad_frame":
            "An HTTP/2 frame breaks a rule of RFC 9113 §5–6 (wrong stream, wrong length, bad padding, a field block interrupted), which the receiver must treat as an error.",
        H2FrameTooLarge = "h2_frame_too_large":
            "An HTTP/2 frame is longer than the receiver's SETTINGS_MAX_FRAME_SIZE (a FRAME_SIZE_ERROR) or than wiretale buffers, in which case it is skipped.",
        H2HpackError = "h2_hpack_error":
            "An HTTP/2 header block could not be decoded or was lost (RFC 7541), so that direction's HPACK table is unknown and its later headers are unreliable.",
        H2HeadersUnreliable = "h2_headers_unreliable":
            "This exchange's HTTP/2 headers were decoded after the HPACK table was lost, so they may be wrong or missing.",
        H2HeaderLimit = "h2_header_limit":
            "An HTTP/2 header block or its decoded list exceeded wiretale's limits (a guard against hostile headers), so fields are missing.",
        H2MalformedHeaders = "h2_malformed_headers":
            "An HTTP/2 request lacks :method, :scheme or :path, or a response lacks a valid :status (RFC 9113 §8.3).",
        H2StreamReset = "h2_stream_reset":
            "An HTTP/2 stream was reset (RST_STREAM) before its exchange completed, so the exchange is partial.",
        H2GoawayError = "h2_goaway_error":
            "An HTTP/2 peer closed the connection with GOAWAY and an error code, naming what went wrong.",
        H2Truncated = "h2_truncated":
            "The connection or capture ended while an HTTP/2 stream was still open, so the exchange is partial.",
        H2NotProcessed = "h2_not_processed":
            "An HTTP/2 request on a stream above the last stream id of the server's GOAWAY: the server did not process it (RFC 9113 §6.8), and a client may retry it on a new connection.",
        H2StreamLimit = "h2_stream_limit":
            "Too many HTTP/2 streams were open at once, so the oldest was given up as partial.",
        H2Gap = "h2_gap":
            "Bytes are missing from an HTTP/2 stream: inside a frame the exchange is partial; across frames the rest of that direction cannot be read.",
    }
    "HTTP/3" {
        H3BadFrame = "h3_bad_frame":
            "An HTTP/3 frame is malformed or not allowed where it appears (RFC 9114 §7: a control stream not starting with SETTINGS, DATA before HEADERS, an HTTP/2 frame type), which the receiver must treat as an error.",
        H3BadStream = "h3_bad_stream":
            "An HTTP/3 stream breaks the rules of RFC 9114 §6: a second control or QPACK stream, a critical stream closed, a server-initiated request stream, a push stream from the client.",
        H3FrameTooLarge = "h3_frame_too_large":
            "An HTTP/3 HEADERS or control frame is larger than wiretale buffers (or than the receiver's SETTINGS_MAX_FIELD_SECTION_SIZE), so it was skipped and its fields are missing.",
        H3QpackError = "h3_qpack_error":
            "A QPACK field section or encoder stream could not be decoded (RFC 9204 §6), so those headers are missing; the table stays usable for sections that need no later insertions.",
        H3HeadersUnreliable = "h3_headers_unreliable":
            "This exchange's HTTP/3 headers were decoded with a guessed QPACK table capacity (the peer's SETTINGS were never seen), so they may be wrong.",
        H3MalformedHeaders = "h3_malformed_headers":
            "An HTTP/3 request lacks :method, :scheme or :path, or a response lacks a valid :status (RFC 9114 §4.3).",
        H3StreamReset = "h3_stream_reset":
            "An HTTP/3 request stream was reset or asked to stop (RESET_STREAM, STOP_SENDING) before its exchange completed, so the exchange is partial.",
        H3Truncated = "h3_truncated":
            "The connection or capture ended while an HTTP/3 request stream was still open, or a stream ended inside a frame, so the exchange is partial.",
        H3NotProcessed = "h3_not_processed":
            "An HTTP/3 request on a stream at or above the id in the server's GOAWAY: the server did not process it (RFC 9114 §5.2), and a client may retry it on a new connection.",
        H3StreamLimit = "h3_stream_limit":
            "Too many HTTP/3 request streams were open at once, so the oldest was given up as partial.",
        H3Gap = "h3_gap":
            "Bytes are missing from an HTTP/3 stream: inside a DATA frame the exchange is partial; elsewhere the rest of that stream cannot be read (on a QPACK encoder stream, later insertions are unknown).",
    }
    "HTTP bodies (when a body is shown)" {
        DecompressedSizeLimit = "decompressed_size_limit":
            "A compressed body would decode to more than the limit (a possible decompression bomb), so it is shown undecoded.",
        UnsupportedContentCoding = "unsupported_content_coding":
            "A body uses a content coding wiretale does not decode, so it is shown as received.",
        CorruptContentCoding = "corrupt_content_coding":
            "A compressed body's data is corrupt, so it could not be decoded and is shown as received.",
    }
}

impl AnomalyKind {
    /// The kind with this stable name, if any.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|k| k.name() == name)
    }

    /// `docs/anomalies.md`: every kind with its sentence, by group. Regenerate the file
    /// with `cargo run --example anomalies > docs/anomalies.md`.
    pub fn markdown() -> String {
        let mut s = String::from(
            "# Anomalies\n\n\
             <!-- Generated from crates/engine/src/base/anomalies.rs by \
             `cargo run --example anomalies > docs/anomalies.md`; do not edit by hand \
             (a test checks that this file matches). -->\n\n\
             Malformed or surprising input is recorded as a named anomaly on the packet or \
             the connection, never a stop. These names appear in the `anomalies` lists of \
             `--json` output (TCP analysis flags also in `analysis` counts), in the TUI's \
             packet and connection details, and in story events. They are stable: a name is \
             never reused for another meaning.\n",
        );
        let mut group = "";
        for k in Self::ALL {
            if k.group() != group {
                group = k.group();
                s.push_str(&format!("\n## {group}\n\n| name | meaning |\n|---|---|\n"));
            }
            s.push_str(&format!("| `{}` | {} |\n", k.name(), k.sentence()));
        }
        s
    }
}

impl std::fmt::Display for AnomalyKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::AnomalyKind;
    use std::collections::HashSet;

    #[test]
    fn names_are_unique_snake_case() {
        let mut seen = HashSet::new();
        for k in AnomalyKind::ALL {
            let n = k.name();
            assert!(seen.insert(n), "{n} is listed twice");
            assert!(
                !n.is_empty()
                    && n.starts_with(|c: char| c.is_ascii_lowercase())
                    && !n.ends_with('_')
                    && !n.contains("__")
                    && n.chars()
                        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_'),
                "{n} is not snake_case"
            );
            assert_eq!(AnomalyKind::from_name(n), Some(*k));
        }
        assert_eq!(AnomalyKind::from_name("no_such_anomaly"), None);
    }

    #[test]
    fn sentences_are_one_table_cell_sentence() {
        for k in AnomalyKind::ALL {
            let s = k.sentence();
            assert!(
                s.ends_with('.') && s.starts_with(|c: char| c.is_ascii_uppercase()),
                "{}: {s:?} is not a sentence",
                k.name()
            );
            assert!(
                !s.contains('|') && !s.contains('\n'),
                "{}: would break the docs table",
                k.name()
            );
        }
    }

    /// The part of a source file that is built outside tests: `#[cfg(test)]` items are
    /// cut (a `mod x { … }` block up to its closing brace at the same indentation, or a
    /// one-line item). Also returns the modules declared `#[cfg(test)] mod x;`, whose
    /// files are test code entirely.
    fn product_part(src: &str) -> (String, Vec<String>) {
        let mut out = String::new();
        let mut test_mods = Vec::new();
        let mut lines = src.lines();
        while let Some(line) = lines.next() {
            if line.trim() != "#[cfg(test)]" {
                out.push_str(line);
                out.push('\n');
                continue;
            }
            let indent = &line[..line.len() - line.trim_start().len()];
            let mut item = lines.next().unwrap_or_default();
            while item.trim_start().starts_with("#[") {
                item = lines.next().unwrap_or_default();
            }
            let t = item.trim();
            if t.ends_with('{') {
                let close = format!("{indent}}}");
                for l in lines.by_ref() {
                    if l == close {
                        break;
                    }
                }
            } else if let Some(name) = t
                .strip_suffix(';')
                .and_then(|t| t.rsplit_once("mod "))
                .map(|(_, n)| n.trim())
            {
                test_mods.push(name.to_string());
            }
        }
        (out, test_mods)
    }

    /// Anomaly names written as string literals (or `Anomaly::new("…`) in `src`.
    fn literal_names(src: &str) -> Vec<String> {
        let mut found: Vec<String> = AnomalyKind::ALL
            .iter()
            .filter(|k| src.contains(&format!("\"{}\"", k.name())))
            .map(|k| k.name().to_string())
            .collect();
        if src.contains("Anomaly::new(\"") {
            found.push("Anomaly::new(\"".into());
        }
        found
    }

    #[test]
    fn the_source_scan_sees_product_code_and_skips_tests() {
        let src = "fn a() {\n    x(\"dns_truncated\");\n}\n\
                   #[cfg(test)]\nmod helpers;\n\
                   #[cfg(test)]\nmod tests {\n    fn b() { y(\"tls_gap\"); }\n}\n\
                   fn c() { Anomaly::new(\"made_up\", \"\") }\n";
        let (prod, mods) = product_part(src);
        assert_eq!(mods, ["helpers"]);
        assert_eq!(literal_names(&prod), ["dns_truncated", "Anomaly::new(\""]);
    }

    /// Every emitted name comes from the registry: outside tests no source file names an
    /// anomaly with a string literal (`Anomaly::new("…")`, `p.anomaly("…")`, a name table).
    #[test]
    fn no_anomaly_name_literal_outside_the_registry() {
        use std::path::{Path, PathBuf};
        // Every crate of the workspace: the faces must not invent names either.
        let src = Path::new(crate::testutil::ROOT);
        let mut test_paths: Vec<PathBuf> = Vec::new();
        let mut files = Vec::new();
        let mut stack = vec![src.join("src"), src.join("crates")];
        while let Some(dir) = stack.pop() {
            for e in std::fs::read_dir(&dir).unwrap().flatten() {
                let p = e.path();
                if p.is_dir() {
                    stack.push(p);
                } else if p.extension().is_some_and(|x| x == "rs") {
                    files.push(p);
                }
            }
        }
        let mut parts = Vec::new();
        for p in &files {
            let (prod, mods) = product_part(&std::fs::read_to_string(p).unwrap());
            // `#[cfg(test)] mod x;` in a/mod.rs or a.rs means a/x.rs or a/x/.
            let stem = p.file_stem().unwrap();
            let dir = if stem == "mod" || stem == "lib" || stem == "main" {
                p.parent().unwrap().to_path_buf()
            } else {
                p.with_extension("")
            };
            for m in mods {
                test_paths.push(dir.join(format!("{m}.rs")));
                test_paths.push(dir.join(&m));
            }
            parts.push((p.clone(), prod));
        }
        assert!(
            parts.len() > 50,
            "the scan found only {} files",
            parts.len()
        );
        let mut bad = Vec::new();
        for (p, prod) in parts {
            if p.ends_with("base/anomalies.rs") || test_paths.iter().any(|t| p.starts_with(t)) {
                continue;
            }
            for n in literal_names(&prod) {
                bad.push(format!("{}: {n}", p.strip_prefix(src).unwrap().display()));
            }
        }
        assert!(
            bad.is_empty(),
            "anomaly names outside the registry: {bad:#?}"
        );
    }

    #[test]
    fn docs_list_matches_the_registry() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/anomalies.md");
        let on_disk = std::fs::read_to_string(path).unwrap_or_default();
        assert!(
            on_disk == AnomalyKind::markdown(),
            "docs/anomalies.md is out of date with crates/engine/crates/engine/src/base/anomalies.rs: regenerate it with \
             `cargo run --example anomalies > docs/anomalies.md`"
        );
        for k in AnomalyKind::ALL {
            assert!(on_disk.contains(&format!("| `{}` |", k.name())));
        }
    }
}
