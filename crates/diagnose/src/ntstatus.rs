//! The one mapping from an NTSTATUS to the finding it proves. The value comes from a CredSSP
//! TSRequest errorCode (MS-CSSP 2.2.1) or from what a client shows; the NLA rule reads it to name
//! its finding and `explain` reads it to link a typed NTSTATUS to that finding, so they agree.

use crate::FindingId;

/// The finding NTSTATUS `code` stands for; `None` for a status no finding names.
pub fn finding(code: u32) -> Option<FindingId> {
    Some(match code {
        // STATUS_LOGON_FAILURE, STATUS_WRONG_PASSWORD, STATUS_NO_SUCH_USER.
        0xC000_006D | 0xC000_006A | 0xC000_0064 => FindingId::LogonFailure,
        0xC000_0071 => FindingId::PasswordExpired,
        0xC000_0224 => FindingId::PasswordMustChange,
        0xC000_0234 => FindingId::AccountLocked,
        // STATUS_ACCOUNT_DISABLED, STATUS_ACCOUNT_EXPIRED.
        0xC000_0072 | 0xC000_0193 => FindingId::AccountDisabled,
        // Restrictions on the user's own account: STATUS_ACCOUNT_RESTRICTION (blank password,
        // Protected Users), STATUS_INVALID_LOGON_HOURS, STATUS_INVALID_WORKSTATION.
        0xC000_006E..=0xC000_0070 => FindingId::AccountRestricted,
        0xC000_015B => FindingId::LogonRightMissing,
        // STATUS_ACCESS_DENIED, and STATUS_AUTHENTICATION_FIREWALL_FAILED: with selective
        // authentication across a forest trust, the account (from the trusted forest) lacks the
        // "Allowed to Authenticate" permission on this computer's object. That is a permission on
        // the target computer, not a restriction of the account (its hours, workstations or
        // password stay as they are), so it is access denied, fixed on the computer object.
        0xC000_0022 | 0xC000_0413 => FindingId::AccessDenied,
        // STATUS_TIME_DIFFERENCE_AT_DC.
        0xC000_0133 => FindingId::ClockSkew,
        // STATUS_NTLM_BLOCKED: a "Restrict NTLM" policy refused the NTLM logon. STATUS_NOT_SUPPORTED
        // is the NTSTATUS of SEC_E_UNSUPPORTED_FUNCTION, the error mstsc shows as "...could be due
        // to NTLM authentication being blocked" (an inference: lab/kerberos/OBSERVED.md).
        0xC000_0418 | 0xC000_00BB => FindingId::NtlmBlocked,
        // STATUS_KDC_UNKNOWN_ETYPE: no Kerberos encryption type both sides allow.
        0xC000_02FD => FindingId::KerberosEtypeUnsupported,
        _ => return None,
    })
}
