//! What is NTLM's own in CredSSP (MS-NLMP): reading the server's CHALLENGE before `sspi` answers
//! it, and the credential-less probe that sends a NEGOTIATE of its own and reads the computer,
//! domain, version and clock the CHALLENGE reveals, with no account at all.

use rdpdoctor_observations::{NlaOutcome, NtlmInfo, OsVersion};
use rdpdoctor_wire::ntlm;

/// The token the credential-less probe sends: a NEGOTIATE without credentials.
pub(crate) fn negotiate_token() -> Vec<u8> {
    ntlm::negotiate_message()
}

/// Why a CHALLENGE cannot be handed to `sspi` (it would compute an NTLM response against it):
/// MS-NLMP 2.2.1.2.
pub(crate) fn unreadable_challenge(token: &[u8]) -> Option<(String, Vec<u8>)> {
    let reason = match ntlm::parse_challenge(token) {
        Err(e) => format!("the NTLM CHALLENGE does not decode: {e}"),
        Ok(ntlm::Challenge {
            target_info_error: Some(why),
            ..
        }) => format!("the NTLM CHALLENGE's TargetInfo does not decode: {why}"),
        Ok(_) => return None,
    };
    Some((reason, token.to_vec()))
}

/// The computer names a CHALLENGE gives, for the interception signs.
pub(crate) fn names(token: &[u8]) -> Option<NtlmInfo> {
    ntlm::parse_challenge(token).ok().map(|c| NtlmInfo {
        netbios_computer: c.netbios_computer,
        dns_computer: c.dns_computer,
        ..NtlmInfo::default()
    })
}

/// What the credential-less probe records of the server's CHALLENGE.
pub(crate) fn challenge_outcome(token: &[u8], received_at: jiff::Timestamp) -> NlaOutcome {
    match ntlm::parse_challenge(token) {
        Ok(ntlm::Challenge {
            target_info_error: Some(why),
            ..
        }) => NlaOutcome::Malformed {
            reason: format!("the NTLM CHALLENGE's TargetInfo does not decode: {why}"),
            excerpt_hex: crate::excerpt_hex(token, 48),
        },
        Ok(c) => NlaOutcome::Challenge {
            info: NtlmInfo {
                target_name: c.target_name,
                netbios_computer: c.netbios_computer,
                netbios_domain: c.netbios_domain,
                dns_computer: c.dns_computer,
                dns_domain: c.dns_domain,
                dns_tree: c.dns_tree,
                os_version: c.version.map(|v| OsVersion {
                    major: v.major,
                    minor: v.minor,
                    build: v.build,
                }),
                server_time: c.timestamp.and_then(|ft| {
                    let (secs, nanos) = ntlm::filetime_to_unix(ft);
                    jiff::Timestamp::new(secs, nanos).ok()
                }),
                received_at,
                flags: c.flags,
            },
        },
        Err(e) => NlaOutcome::Malformed {
            reason: e.to_string(),
            excerpt_hex: crate::excerpt_hex(token, 48),
        },
    }
}
