//! Kerberos V5 messages between a client and a KDC (RFC 4120), without any I/O: the requests a
//! Windows client sends before it can put an AP-REQ in CredSSP (AS-REQ without and with
//! pre-authentication, TGS-REQ for `TERMSRV/<name>`), the answers it reads (AS-REP, TGS-REP,
//! KRB-ERROR with the KDC's clock and the encryption types it offers), and the two framings they
//! travel in (TCP record marking, RFC 4120 7.2.2; the KDC proxy message, MS-KKDCP 2.2.2).
//!
//! Structures and cryptography are `picky-krb` 0.12's, the library `sspi` 0.23 is built on, so
//! what this module sends is what rdpdoctor's later Kerberos logon (sspi) sends. It departs from
//! picky-krb where picky-krb would refuse an answer a KDC may send (see `reply.rs`: the
//! KRB-ERROR is read with laxer types), and it offers only the AES encryption types: picky-krb
//! implements no RC4-HMAC, like an AES-only Windows client (the direction Microsoft's RC4
//! deprecation takes), so an RC4-only account is what such a client meets.
//!
//! Every decoder here reads bytes from the network: a call into picky's DER decoder runs inside
//! [`crate::contain::call`], so a panic in it is an error value, never the end of the process.

mod der;
mod etype;
mod framing;
mod keys;
mod principal;
mod reply;
mod request;
mod time;

pub use etype::{etype_name, is_aes, AES_ETYPES};
pub use framing::{
    kkdcp_reply, kkdcp_request, kkdcp_unwrap, kkdcp_wrap, tcp_frame, tcp_frame_length, MAX_MESSAGE,
};
pub use keys::{string_to_key, Key, Tgt};
pub use principal::Principal;
pub use reply::{decode_reply, ticket_etype, EtypeInfo, KdcReply, KrbError, MessageKind};
pub use request::{as_req, nonce, summarize_request, tgs_req, AsRequest, RequestSummary};
pub use time::{from_unix, kerberos_time_to_unix};

/// Kerberos error numbers (RFC 4120 7.5.9) this crate's callers act on.
pub mod code {
    pub const KDC_ERR_C_PRINCIPAL_UNKNOWN: u32 = 6;
    pub const KDC_ERR_S_PRINCIPAL_UNKNOWN: u32 = 7;
    pub const KDC_ERR_ETYPE_NOSUPP: u32 = 14;
    pub const KDC_ERR_CLIENT_REVOKED: u32 = 18;
    pub const KDC_ERR_KEY_EXPIRED: u32 = 23;
    pub const KDC_ERR_PREAUTH_FAILED: u32 = 24;
    pub const KDC_ERR_PREAUTH_REQUIRED: u32 = 25;
    pub const KRB_AP_ERR_SKEW: u32 = 37;
    /// RFC 4120 7.2.1: a reply too big for UDP; the client retries over TCP.
    pub const KRB_ERR_RESPONSE_TOO_BIG: u32 = 52;
}

/// Why a Kerberos message could not be built or read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KerberosError {
    #[error("the message does not decode as {what}: {reason}")]
    Der { what: &'static str, reason: String },
    #[error("{0}")]
    Framing(String),
    #[error("{0:?} cannot be written as a Kerberos name")]
    Name(String),
    #[error("Kerberos cryptography failed: {0}")]
    Crypto(String),
    #[error("the answer does not belong to this request: {0}")]
    Mismatch(String),
    #[error("the Kerberos library crashed on the bytes (contained): {0}")]
    Panicked(String),
}

/// Runs one decode in picky's DER decoder with its panics contained.
pub(crate) fn contained<T>(
    what: &'static str,
    f: impl FnOnce() -> Result<T, picky_asn1_der::Asn1DerError>,
) -> Result<T, KerberosError> {
    match crate::contain::call("picky-asn1-der from_bytes", f) {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => Err(KerberosError::Der {
            what,
            reason: e.to_string(),
        }),
        Err(p) => Err(KerberosError::Panicked(p.to_string())),
    }
}

/// Encodes one value with picky's DER encoder (values built here; an error is this crate's own).
pub(crate) fn encode<T: serde::Serialize>(
    what: &'static str,
    value: &T,
) -> Result<Vec<u8>, KerberosError> {
    picky_asn1_der::to_vec(value).map_err(|e| KerberosError::Der {
        what,
        reason: e.to_string(),
    })
}
