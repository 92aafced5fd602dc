//! Win32 error codes the logon packages return, the ones a Remote Desktop client or a log shows
//! when Kerberos or NTLM fails (winerror.h; the NTSTATUS each maps from is in `see_also`). mstsc
//! wraps them as HRESULT_FROM_WIN32 (0x8007xxxx) in some messages; `net helpmsg N` prints the
//! system's text for any of them.

use crate::{code, CodeEntry, CodeRef, Family};

const SRC: &str =
    "winerror.h (values); Microsoft \"System Error Codes (1700-3999)\" / \"(1300-1699)\"";

const fn w(
    value: u32,
    name: &'static str,
    meaning: &'static str,
    see_also: &'static [CodeRef],
) -> CodeEntry {
    CodeEntry::new(Family::Win32, value, name, meaning, SRC).with_see_also(see_also)
}

pub const TABLE: &[CodeEntry] = &[
    w(1265, "ERROR_DOWNGRADE_DETECTED", "The system detected a possible attempt to downgrade security (for example from Kerberos to NTLM) and refused.", &[code(Family::Ntstatus, 0xC000_0388), code(Family::Hresult, 0x8009_0350)]),
    w(1311, "ERROR_NO_LOGON_SERVERS", "No logon server (domain controller / KDC) is available to handle the logon.", &[code(Family::Ntstatus, 0xC000_005E)]),
    w(1326, "ERROR_LOGON_FAILURE", "The user name or password is incorrect.", &[code(Family::Ntstatus, 0xC000_006D)]),
    w(1396, "ERROR_WRONG_TARGET_NAME", "The target account name (SPN) is incorrect: the ticket was for another account than the one running the service.", &[code(Family::Hresult, 0x8009_0322)]),
    w(1398, "ERROR_TIME_SKEW", "The clocks of the client and the server (or domain controller) differ too much.", &[code(Family::Ntstatus, 0xC000_0133), code(Family::Hresult, 0x8009_0324), code(Family::Kerberos, 37)]),
    w(1935, "ERROR_AUTHENTICATION_FIREWALL_FAILED", "The computer is not allowed to authenticate to this account (selective authentication across a trust).", &[code(Family::Ntstatus, 0xC000_0413)]),
    CodeEntry {
        note: "Seen when a \"Restrict NTLM\" policy (RestrictSendingNTLMTraffic on the client, \
               RestrictReceivingNTLMTraffic on the server, RestrictNTLMInDomain on the domain \
               controller) refuses an NTLM logon, typically one that fell back from Kerberos \
               because the target was an address or an alias without SPN. The NTLM/Operational \
               log names the side that blocked it (4001 client, 4002 server, 4003 domain controller).",
        ..w(1937, "ERROR_NTLM_BLOCKED", "The authentication failed because NTLM authentication has been blocked by policy.", &[code(Family::Ntstatus, 0xC000_0418), code(Family::Hresult, 0x8007_0791)])
    },
];
