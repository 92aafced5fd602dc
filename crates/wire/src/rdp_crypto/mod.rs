//! Standard RDP Security (MS-RDPBCGR 5.3), the client side, without any I/O: the server's public
//! key and the Security Exchange PDU (5.3.3, 5.3.4, 2.2.1.10), session key generation (5.3.5),
//! encryption and MACs (5.3.6) with key updates (5.3.7), and the security headers that carry them
//! (2.2.8.1.1.2 for slow-path PDUs, 2.2.9.1.2 for fast-path output).
//!
//! Every cipher and hash comes from a maintained crate (RustCrypto's `rc4`, `des` with `cbc`,
//! `sha1`, `md-5`, `hmac`; `num-bigint` for the RSA of 5.3.4.1, which is a bare modular
//! exponentiation on little-endian numbers, not PKCS #1): this module only arranges their inputs
//! the way the specification says. OpenSSL is not used because its default provider in OpenSSL 3
//! has no RC4.
//!
//! Nothing here panics on server bytes: every length is checked, and a MAC that does not verify
//! is an error the caller reports, never a crash.
//!
//! A session is:
//! 1. [`ServerPublicKey::from_certificate`] on the Server Security Data's certificate, then
//!    [`exchange::security_exchange_pdu`] with a fresh 32-byte client random;
//! 2. [`SessionKeys::derive`] from the client and server randoms and the method the server chose;
//! 3. [`ClientSecurity`] to seal what the client sends ([`ClientSecurity::seal`]) and to open what
//!    the server sends ([`ClientSecurity::open_slow_path`], [`ClientSecurity::open_fast_path`]).

pub mod exchange;
mod fips;
pub mod header;
mod keys;
mod mac;
mod public_key;
mod rc4_stream;
pub mod rewrite;
mod security;

pub use keys::{FipsKeys, Method, Rc4Keys, SessionKeys};
pub use public_key::ServerPublicKey;
pub use security::{ClientSecurity, Opened};

/// Why a Standard RDP Security step failed.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CryptoError {
    /// The server's certificate does not hold a usable RSA key (5.3.3).
    #[error("the server certificate has no usable RSA public key: {0}")]
    PublicKey(String),
    /// The server chose an encryption method that is not one of the four (2.2.1.4.3).
    #[error("encryption method 0x{0:08X} is not 40-bit, 56-bit, 128-bit RC4 or FIPS")]
    UnknownMethod(u32),
    /// A random of the wrong size (both are 32 bytes, 2.2.1.4.3 and 5.3.4).
    #[error("the {which} random is {len} bytes, not 32")]
    RandomLength { which: &'static str, len: usize },
    /// A PDU too short for the header it announces.
    #[error("{0}")]
    Truncated(String),
    /// The MAC computed over the decrypted data differs from the dataSignature sent.
    #[error("the MAC of a server PDU does not verify (dataSignature {sent}, computed {computed}): wrong keys, a lost packet, or tampering")]
    BadMac { sent: String, computed: String },
    /// A FIPS PDU whose length or padding cannot be right (5.3.6.2).
    #[error("FIPS PDU: {0}")]
    Fips(String),
}

/// Lowercase hex of a short value, for error messages.
fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
