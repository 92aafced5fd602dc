//! NTLM messages the NLA probe sends and reads inside CredSSP (MS-NLMP): the NEGOTIATE_MESSAGE
//! (2.2.1.1) that asks for a challenge, and the CHALLENGE_MESSAGE (2.2.1.2) whose TargetInfo
//! AV_PAIRs (2.2.2.1) and VERSION (2.2.2.10) name the server.
//!
//! Own code, not `sspi`: `sspi` 0.23 keeps its NTLM message types private (`sspi::ntlm::messages`
//! is a private module) and exposes no CHALLENGE or AV_PAIR parser, and its NTLM client only
//! produces a NEGOTIATE after being given credentials. The host-info probe must never hold
//! credentials, so it sends this fixed NEGOTIATE and parses the CHALLENGE here.

use crate::bytes::{le_u16_at, le_u32_at, utf16le as utf16};

/// `NTLMSSP\0`, the signature of every NTLM message (MS-NLMP 2.2.1).
pub const SIGNATURE: &[u8; 8] = b"NTLMSSP\0";
/// MessageType of a CHALLENGE_MESSAGE.
const CHALLENGE: u32 = 2;
/// Fixed part of a CHALLENGE_MESSAGE up to and including Reserved (before TargetInfoFields).
const CHALLENGE_FIXED: usize = 40;
/// NTLMSSP_NEGOTIATE_VERSION: the Version field is present (MS-NLMP 2.2.2.5).
const NEGOTIATE_VERSION: u32 = 0x0200_0000;

/// The NEGOTIATE_MESSAGE (MS-NLMP 2.2.1.1) a Windows 10 1809 client sends: flags 0xE20882B7
/// (56/128-bit, key exchange, version, extended session security, always sign, NTLM, seal, sign,
/// request target, OEM, Unicode), no domain, no workstation, Version 10.0.17763 revision 15.
/// It names no user: nothing in it is a credential.
pub fn negotiate_message() -> Vec<u8> {
    let mut m = Vec::with_capacity(40);
    m.extend_from_slice(SIGNATURE);
    m.extend_from_slice(&1u32.to_le_bytes()); // MessageType NEGOTIATE
    m.extend_from_slice(&0xE208_82B7u32.to_le_bytes()); // NegotiateFlags
    m.extend_from_slice(&[0; 8]); // DomainNameFields (empty)
    m.extend_from_slice(&[0; 8]); // WorkstationFields (empty)
    m.extend_from_slice(&[10, 0]); // ProductMajorVersion, ProductMinorVersion
    m.extend_from_slice(&17763u16.to_le_bytes()); // ProductBuild
    m.extend_from_slice(&[0, 0, 0, 0x0F]); // Reserved, NTLMRevisionCurrent
    m
}

/// VERSION (MS-NLMP 2.2.2.10): the server's operating system version.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Version {
    pub major: u8,
    pub minor: u8,
    pub build: u16,
    pub ntlm_revision: u8,
}

/// What a CHALLENGE_MESSAGE says about the server.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Challenge {
    pub flags: u32,
    /// TargetName (the realm: the domain, or the computer name in a workgroup).
    pub target_name: Option<String>,
    /// MsvAvNbComputerName (1).
    pub netbios_computer: Option<String>,
    /// MsvAvNbDomainName (2).
    pub netbios_domain: Option<String>,
    /// MsvAvDnsComputerName (3).
    pub dns_computer: Option<String>,
    /// MsvAvDnsDomainName (4).
    pub dns_domain: Option<String>,
    /// MsvAvDnsTreeName (5): the forest.
    pub dns_tree: Option<String>,
    /// MsvAvTimestamp (7): FILETIME, 100 ns units since 1601-01-01 UTC.
    pub timestamp: Option<u64>,
    pub version: Option<Version>,
    /// What in TargetInfo does not decode, when something does not (the pairs before it are
    /// kept): a client's NTLM (Windows, `sspi`) rejects such a CHALLENGE.
    pub target_info_error: Option<String>,
}

/// Why a CHALLENGE_MESSAGE could not be read.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ChallengeError {
    #[error("not an NTLM message (no NTLMSSP signature)")]
    NotNtlm,
    #[error("NTLM message type {0} where a CHALLENGE_MESSAGE (2) was expected")]
    WrongType(u32),
    #[error("the CHALLENGE_MESSAGE is truncated ({0} bytes)")]
    Truncated(usize),
    #[error("{field} points outside the {len}-byte message")]
    OutOfBounds { field: &'static str, len: usize },
}

/// The payload a (Len u16, MaxLen u16, Offset u32) field descriptor at `at` points to.
fn fields<'a>(b: &'a [u8], at: usize, field: &'static str) -> Result<&'a [u8], ChallengeError> {
    let len = usize::from(le_u16_at(b, at).ok_or(ChallengeError::Truncated(b.len()))?);
    let offset = le_u32_at(b, at + 4).ok_or(ChallengeError::Truncated(b.len()))? as usize;
    if len == 0 {
        return Ok(&[]);
    }
    offset
        .checked_add(len)
        .and_then(|end| b.get(offset..end))
        .ok_or(ChallengeError::OutOfBounds {
            field,
            len: b.len(),
        })
}

fn non_empty(s: String) -> Option<String> {
    (!s.is_empty()).then_some(s)
}

/// Parses a CHALLENGE_MESSAGE (MS-NLMP 2.2.1.2). AV_PAIRs (2.2.2.1) after MsvAvEOL, and pairs
/// that overrun the TargetInfo block, are ignored: what was read before them is kept.
pub fn parse_challenge(b: &[u8]) -> Result<Challenge, ChallengeError> {
    if b.get(..8) != Some(SIGNATURE.as_slice()) {
        return Err(ChallengeError::NotNtlm);
    }
    let kind = le_u32_at(b, 8).ok_or(ChallengeError::Truncated(b.len()))?;
    if kind != CHALLENGE {
        return Err(ChallengeError::WrongType(kind));
    }
    if b.len() < CHALLENGE_FIXED {
        return Err(ChallengeError::Truncated(b.len()));
    }
    let flags = le_u32_at(b, 20).ok_or(ChallengeError::Truncated(b.len()))?;
    let mut c = Challenge {
        flags,
        target_name: non_empty(utf16(fields(b, 12, "TargetNameFields")?)),
        ..Challenge::default()
    };
    // TargetInfoFields and Version follow Reserved; servers that omit them send 32- or 40-byte
    // messages (MS-NLMP 2.2.1.2: "MUST be set to zero" when the flags say absent).
    if b.len() >= CHALLENGE_FIXED + 8 {
        let info = fields(b, 40, "TargetInfoFields")?;
        read_av_pairs(info, &mut c);
    }
    if flags & NEGOTIATE_VERSION != 0 {
        if let Some(&[major, minor, lo, hi, _, _, _, ntlm_revision]) = b.get(48..56) {
            c.version = Some(Version {
                major,
                minor,
                build: u16::from_le_bytes([lo, hi]),
                ntlm_revision,
            });
        }
    }
    Ok(c)
}

fn read_av_pairs(mut rest: &[u8], c: &mut Challenge) {
    while let (Some(id), Some(len)) = (le_u16_at(rest, 0), le_u16_at(rest, 2)) {
        let len = usize::from(len);
        let Some(value) = rest.get(4..4 + len) else {
            c.target_info_error = Some(format!(
                "AV_PAIR {id} announces {len} bytes where {} remain in TargetInfo (MS-NLMP 2.2.2.1)",
                rest.len().saturating_sub(4)
            ));
            return;
        };
        match id {
            0 => return,
            1 => c.netbios_computer = non_empty(utf16(value)),
            2 => c.netbios_domain = non_empty(utf16(value)),
            3 => c.dns_computer = non_empty(utf16(value)),
            4 => c.dns_domain = non_empty(utf16(value)),
            5 => c.dns_tree = non_empty(utf16(value)),
            7 => {
                if let Ok(ft) = <[u8; 8]>::try_from(value) {
                    c.timestamp = Some(u64::from_le_bytes(ft));
                }
            }
            _ => {}
        }
        rest = rest.get(4 + len..).unwrap_or(&[]);
    }
}

/// Seconds between 1601-01-01 and 1970-01-01 (FILETIME epoch to Unix epoch).
const FILETIME_UNIX_OFFSET_SECS: i64 = 11_644_473_600;

/// A FILETIME as Unix seconds and nanoseconds.
pub fn filetime_to_unix(ft: u64) -> (i64, i32) {
    let secs = (ft / 10_000_000) as i64 - FILETIME_UNIX_OFFSET_SECS;
    let nanos = ((ft % 10_000_000) * 100) as i32;
    (secs, nanos)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The negoToken of the TSRequest freerdp-shadow-cli 2.11 (lab server freerdp-nla) sent in
    /// answer to [`negotiate_message`], recorded from the lab.
    pub(crate) const FREERDP_CHALLENGE: &str = "4e544c4d53535000020000000400040038000000b78288e248a3f83a2fb4ec080000000000000000300030003c0000000601b11d0000000f56004d000200040056004d000100040056004d000400040076006d000300040076006d000700080000eb6ae5d479dd0100000000";

    #[test]
    fn negotiate_matches_the_windows_10_message() {
        assert_eq!(
            hex::encode(negotiate_message()),
            "4e544c4d5353500001000000b78208e2000000000000000000000000000000000a0063450000000f"
        );
    }

    #[test]
    fn parses_the_recorded_freerdp_challenge() {
        let bytes = hex::decode(FREERDP_CHALLENGE).unwrap_or_default();
        let c = parse_challenge(&bytes).unwrap_or_default();
        assert_eq!(c.target_name.as_deref(), Some("VM"));
        assert_eq!(c.netbios_computer.as_deref(), Some("VM"));
        assert_eq!(c.netbios_domain.as_deref(), Some("VM"));
        assert_eq!(c.dns_computer.as_deref(), Some("vm"));
        assert_eq!(c.dns_domain.as_deref(), Some("vm"));
        assert_eq!(c.dns_tree, None);
        assert_eq!(
            c.version,
            Some(Version {
                major: 6,
                minor: 1,
                build: 7601,
                ntlm_revision: 15
            })
        );
        let (secs, _) = filetime_to_unix(c.timestamp.unwrap_or_default());
        // Recorded in 2026.
        assert!((1_767_225_600..1_798_761_600).contains(&secs), "{secs}");
    }

    #[test]
    fn rejects_and_bounds_bad_messages() {
        assert_eq!(parse_challenge(b"HTTP/1.1"), Err(ChallengeError::NotNtlm));
        assert_eq!(
            parse_challenge(&negotiate_message()),
            Err(ChallengeError::WrongType(1))
        );
        let mut bytes = hex::decode(FREERDP_CHALLENGE).unwrap_or_default();
        assert_eq!(
            parse_challenge(&bytes[..30]),
            Err(ChallengeError::Truncated(30))
        );
        // TargetInfo offset pointing past the end.
        bytes[44] = 0xff;
        assert!(matches!(
            parse_challenge(&bytes),
            Err(ChallengeError::OutOfBounds { .. })
        ));
        // An AV_PAIR that overruns its block is dropped, not a panic, and named.
        let mut bytes = hex::decode(FREERDP_CHALLENGE).unwrap_or_default();
        let n = bytes.len();
        bytes[n - 2] = 0x40;
        let c = parse_challenge(&bytes).unwrap_or_default();
        assert_eq!(c.netbios_computer.as_deref(), Some("VM"));
        assert_eq!(
            c.target_info_error.as_deref(),
            Some("AV_PAIR 0 announces 64 bytes where 0 remain in TargetInfo (MS-NLMP 2.2.2.1)")
        );
        let whole = parse_challenge(&hex::decode(FREERDP_CHALLENGE).unwrap_or_default());
        assert_eq!(whole.map(|c| c.target_info_error), Ok(None));
    }
}
