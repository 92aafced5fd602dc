//! Security header flags (MS-RDPBCGR 2.2.8.1.1.2.1) and the fast-path output flags that say a
//! fast-path PDU is encrypted (2.2.9.1.2).

pub const SEC_EXCHANGE_PKT: u16 = 0x0001;
/// An Initiate Multitransport Request (server to client, message channel only, 2.2.15.1).
pub const SEC_TRANSPORT_REQ: u16 = 0x0002;
/// An Initiate Multitransport Response (client to server, 2.2.15.2).
pub const SEC_TRANSPORT_RSP: u16 = 0x0004;
pub const SEC_ENCRYPT: u16 = 0x0008;
pub const SEC_INFO_PKT: u16 = 0x0040;
pub const SEC_LICENSE_PKT: u16 = 0x0080;
/// In a server PDU: the server encrypts licensing PDUs when the client said it can decrypt them;
/// in the Security Exchange PDU: the client can (SEC_LICENSE_ENCRYPT_SC, same value).
pub const SEC_LICENSE_ENCRYPT: u16 = 0x0200;
pub const SEC_REDIRECTION_PKT: u16 = 0x0400;
/// The MAC is salted with the encryption count (5.3.6.1.1).
pub const SEC_SECURE_CHECKSUM: u16 = 0x0800;
/// Auto-detect request and response PDUs (2.2.14), message channel only.
pub const SEC_AUTODETECT_REQ: u16 = 0x1000;
pub const SEC_AUTODETECT_RSP: u16 = 0x2000;
/// A Heartbeat PDU (2.2.16.1), message channel only.
pub const SEC_HEARTBEAT: u16 = 0x4000;

/// fpOutputHeader flags, in its top two bits (2.2.9.1.2): FASTPATH_OUTPUT_SECURE_CHECKSUM and
/// FASTPATH_OUTPUT_ENCRYPTED.
pub const FASTPATH_OUTPUT_SECURE_CHECKSUM: u8 = 0x1;
pub const FASTPATH_OUTPUT_ENCRYPTED: u8 = 0x2;

/// Length of the non-FIPS security header (TS_SECURITY_HEADER1, 2.2.8.1.1.2.2): flags,
/// flagsHi, dataSignature.
pub const NON_FIPS_HEADER_LEN: usize = 12;
/// Length of the FIPS security header (TS_SECURITY_HEADER2, 2.2.8.1.1.2.3): flags, flagsHi,
/// length (0x10), version (1), padlen, dataSignature.
pub const FIPS_HEADER_LEN: usize = 16;
/// TSFIPS_VERSION1.
pub const TSFIPS_VERSION1: u8 = 0x01;
