//! The NetBIOS name service's code tables (RFC 1002 §4.2.1): record types, opcodes and
//! response codes. They live beside DNS's because NBNS messages decode into DNS's
//! [`super::Message`] with `Service::Nbns`, and `text` names them by service;
//! `proto::netbios` (the parser) uses them from here, so imports point one way.

/// RR types (RFC 1002 §4.2.1.3).
pub const TYPE_NB: u16 = 0x0020;
pub const TYPE_NBSTAT: u16 = 0x0021;

/// RR type mnemonic (RFC 1002 §4.2.1.3).
pub fn type_mnemonic(t: u16) -> Option<&'static str> {
    Some(match t {
        0x0001 => "A",
        0x0002 => "NS",
        0x000a => "NULL",
        TYPE_NB => "NB",
        TYPE_NBSTAT => "NBSTAT",
        _ => return None,
    })
}

/// OPCODE name (RFC 1002 §4.2.1.1; 9 is the refresh code implementations use beside
/// 8, 15 the multi-homed registration of later Windows versions, as tshark names them).
pub fn opcode_name(op: u8) -> String {
    match op {
        0 => "query".into(),
        5 => "registration".into(),
        6 => "release".into(),
        7 => "wack".into(),
        8 | 9 => "refresh".into(),
        15 => "multihomed registration".into(),
        n => n.to_string(),
    }
}

/// RCODE names (RFC 1002 §4.2.6 and the other negative responses).
pub fn rcode_name(r: u16) -> &'static str {
    match r {
        0 => "NOERROR",
        1 => "FMT_ERR",
        2 => "SRV_ERR",
        3 => "NAM_ERR",
        4 => "IMP_ERR",
        5 => "RFS_ERR",
        6 => "ACT_ERR",
        7 => "CFT_ERR",
        _ => "unknown",
    }
}
