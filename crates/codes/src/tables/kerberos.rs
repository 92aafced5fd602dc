//! Kerberos protocol error numbers, the `error-code` of a KRB-ERROR (RFC 4120 7.5.9), with the
//! PKINIT numbers of RFC 4556 3.1.3 and the FAST numbers of RFC 6113 5.4.5. Windows shows them as
//! the Failure Code / Result Code of Security events 4768 (TGT request), 4769 (service ticket
//! request) and 4771 (pre-authentication failed), in hex ("0x18"), and `klist` / the KDC's
//! System events by name. A Windows KDC may add a KERB-EXT-ERROR with an NTSTATUS to the error's
//! e-data (MS-KILE 2.2.1), which says more than the number (e.g. a KDC_ERR_POLICY for a logon-hour
//! restriction). MIT's spelling (`KRB5KDC_ERR_*`, as `kinit` prints) is accepted as an alias.
//! Numbers cross-checked against MIT krb5 `krb5_err.et` and Heimdal.

use crate::{code, CodeEntry, CodeRef, Family};

const SRC: &str = "RFC 4120 7.5.9";
const SRC_PKINIT: &str = "RFC 4556 3.1.3 (PKINIT)";
const SRC_FAST: &str = "RFC 6113 5.4.5 (FAST)";

const fn k(
    value: u32,
    name: &'static str,
    aliases: &'static [&'static str],
    meaning: &'static str,
) -> CodeEntry {
    CodeEntry {
        aliases,
        ..CodeEntry::new(Family::Kerberos, value, name, meaning, SRC)
    }
}

const fn pk(value: u32, name: &'static str, meaning: &'static str) -> CodeEntry {
    CodeEntry::new(Family::Kerberos, value, name, meaning, SRC_PKINIT)
}

const fn fast(value: u32, name: &'static str, meaning: &'static str) -> CodeEntry {
    CodeEntry::new(Family::Kerberos, value, name, meaning, SRC_FAST)
}

const fn with(e: CodeEntry, note: &'static str, see_also: &'static [CodeRef]) -> CodeEntry {
    CodeEntry {
        note,
        see_also,
        ..e
    }
}

pub const TABLE: &[CodeEntry] = &[
    k(0, "KDC_ERR_NONE", &["KRB5KDC_ERR_NONE"], "No error (a 4768 / 4769 success carries 0x0)."),
    k(1, "KDC_ERR_NAME_EXP", &["KRB5KDC_ERR_NAME_EXP"], "The client's entry in the KDC database has expired."),
    k(2, "KDC_ERR_SERVICE_EXP", &["KRB5KDC_ERR_SERVICE_EXP"], "The service's entry in the KDC database has expired."),
    k(3, "KDC_ERR_BAD_PVNO", &["KRB5KDC_ERR_BAD_PVNO"], "The requested Kerberos protocol version is not supported."),
    k(4, "KDC_ERR_C_OLD_MAST_KVNO", &["KRB5KDC_ERR_C_OLD_MAST_KVNO"], "The client's key is encrypted in an old master key."),
    k(5, "KDC_ERR_S_OLD_MAST_KVNO", &["KRB5KDC_ERR_S_OLD_MAST_KVNO"], "The service's key is encrypted in an old master key."),
    with(
        k(6, "KDC_ERR_C_PRINCIPAL_UNKNOWN", &["KRB5KDC_ERR_C_PRINCIPAL_UNKNOWN"], "The client (user) is not in the KDC database."),
        "The user name or realm is wrong, or the account was asked of a KDC of another domain.",
        &[],
    ),
    with(
        k(7, "KDC_ERR_S_PRINCIPAL_UNKNOWN", &["KRB5KDC_ERR_S_PRINCIPAL_UNKNOWN"], "The service principal (SPN) is not in the KDC database."),
        "For Remote Desktop: no account holds the SPN TERMSRV/<name the client used> (Security \
         4769 with failure code 0x7). Connecting by IP address or by an alias without that SPN \
         ends here, and the client falls back to NTLM if it may. `setspn -Q TERMSRV/<name>` \
         shows who holds it.",
        &[code(Family::Hresult, 0x8009_0303)],
    ),
    k(8, "KDC_ERR_PRINCIPAL_NOT_UNIQUE", &["KRB5KDC_ERR_PRINCIPAL_NOT_UNIQUE"], "Several principals in the KDC database have this name (a duplicate SPN)."),
    k(9, "KDC_ERR_NULL_KEY", &["KRB5KDC_ERR_NULL_KEY"], "The client or service has a null key."),
    k(10, "KDC_ERR_CANNOT_POSTDATE", &["KRB5KDC_ERR_CANNOT_POSTDATE"], "The ticket is not eligible for postdating."),
    k(11, "KDC_ERR_NEVER_VALID", &["KRB5KDC_ERR_NEVER_VALID"], "The requested start time is later than the end time."),
    with(
        k(12, "KDC_ERR_POLICY", &["KRB5KDC_ERR_POLICY"], "The KDC's policy rejects the request."),
        "On Windows often a logon restriction (logon hours, workstations, Protected Users, an \
         authentication policy silo); the NTSTATUS in the KERB-EXT-ERROR (MS-KILE 2.2.1) says which.",
        &[],
    ),
    k(13, "KDC_ERR_BADOPTION", &["KRB5KDC_ERR_BADOPTION"], "The KDC cannot accommodate a requested option (often delegation not allowed)."),
    with(
        k(14, "KDC_ERR_ETYPE_NOSUPP", &["KRB5KDC_ERR_ETYPE_NOSUPP", "KDC_ERR_ETYPE_NOTSUPP"], "The KDC has no key of an encryption type both sides allow."),
        "Typical after AES enforcement: an account whose password predates AES keys (only RC4 \
         keys), a client or KDC with RC4 or AES turned off (SupportedEncryptionTypes), or a \
         service account whose msDS-SupportedEncryptionTypes excludes what the client offers.",
        &[code(Family::Hresult, 0x8009_0342), code(Family::Ntstatus, 0xC000_02FD)],
    ),
    k(15, "KDC_ERR_SUMTYPE_NOSUPP", &["KRB5KDC_ERR_SUMTYPE_NOSUPP"], "The KDC does not support the checksum type."),
    k(16, "KDC_ERR_PADATA_TYPE_NOSUPP", &["KRB5KDC_ERR_PADATA_TYPE_NOSUPP"], "The KDC does not support the pre-authentication data type (smart card logon against a KDC without a KDC certificate)."),
    k(17, "KDC_ERR_TRTYPE_NOSUPP", &["KRB5KDC_ERR_TRTYPE_NOSUPP"], "The KDC does not support the transited type."),
    k(18, "KDC_ERR_CLIENT_REVOKED", &["KRB5KDC_ERR_CLIENT_REVOKED"], "The client's credentials have been revoked (account disabled, expired or locked out)."),
    k(19, "KDC_ERR_SERVICE_REVOKED", &["KRB5KDC_ERR_SERVICE_REVOKED"], "The service's credentials have been revoked."),
    k(20, "KDC_ERR_TGT_REVOKED", &["KRB5KDC_ERR_TGT_REVOKED"], "The TGT has been revoked."),
    k(21, "KDC_ERR_CLIENT_NOTYET", &["KRB5KDC_ERR_CLIENT_NOTYET"], "The client is not yet valid; try again later."),
    k(22, "KDC_ERR_SERVICE_NOTYET", &["KRB5KDC_ERR_SERVICE_NOTYET"], "The service is not yet valid; try again later."),
    k(23, "KDC_ERR_KEY_EXPIRED", &["KRB5KDC_ERR_KEY_EXP"], "The password has expired; change it to reset."),
    with(
        k(24, "KDC_ERR_PREAUTH_FAILED", &["KRB5KDC_ERR_PREAUTH_FAILED"], "Pre-authentication failed: the encrypted timestamp did not decrypt with the account's key."),
        "Almost always a wrong password (Security 4771 / 4768 with 0x18); repeated ones lock the \
         account. Also a stale password cached on another device or service.",
        &[code(Family::Ntstatus, 0xC000_006A)],
    ),
    k(25, "KDC_ERR_PREAUTH_REQUIRED", &["KRB5KDC_ERR_PREAUTH_REQUIRED"], "Additional pre-authentication is required (the normal first answer to an AS-REQ without it; not a failure)."),
    k(26, "KDC_ERR_SERVER_NOMATCH", &["KRB5KDC_ERR_SERVER_NOMATCH"], "The requested service and the ticket do not match."),
    k(27, "KDC_ERR_MUST_USE_USER2USER", &["KRB5KDC_ERR_MUST_USE_USER2USER"], "The service principal is valid for user-to-user only."),
    k(28, "KDC_ERR_PATH_NOT_ACCEPTED", &["KRB5KDC_ERR_PATH_NOT_ACCEPTED"], "The KDC's policy rejects the transited path (cross-realm)."),
    k(29, "KDC_ERR_SVC_UNAVAILABLE", &["KRB5KDC_ERR_SVC_UNAVAILABLE"], "A service is not available (the KDC cannot answer now)."),
    k(31, "KRB_AP_ERR_BAD_INTEGRITY", &["KRB5KRB_AP_ERR_BAD_INTEGRITY"], "The integrity check on a decrypted field failed (wrong key: often a password changed while a ticket was cached, or a duplicate SPN)."),
    k(32, "KRB_AP_ERR_TKT_EXPIRED", &["KRB5KRB_AP_ERR_TKT_EXPIRED"], "The ticket has expired."),
    k(33, "KRB_AP_ERR_TKT_NYV", &["KRB5KRB_AP_ERR_TKT_NYV"], "The ticket is not yet valid (often clock skew)."),
    k(34, "KRB_AP_ERR_REPEAT", &["KRB5KRB_AP_ERR_REPEAT"], "The request is a replay."),
    k(35, "KRB_AP_ERR_NOT_US", &["KRB5KRB_AP_ERR_NOT_US"], "The ticket is for another service."),
    k(36, "KRB_AP_ERR_BADMATCH", &["KRB5KRB_AP_ERR_BADMATCH"], "The ticket and authenticator do not match."),
    with(
        k(37, "KRB_AP_ERR_SKEW", &["KRB5KRB_AP_ERR_SKEW"], "The clocks of the client and the KDC (or service) differ by more than the allowed skew."),
        "The default tolerance is 5 minutes (RFC 4120 5.9.1; Windows policy \"Maximum tolerance \
         for computer clock synchronization\"). Security 4771 / 4768 with 0x25. Fix the time \
         source (w32tm), not the tolerance.",
        &[code(Family::Hresult, 0x8009_0324), code(Family::Ntstatus, 0xC000_0133), code(Family::Win32, 1398)],
    ),
    k(38, "KRB_AP_ERR_BADADDR", &["KRB5KRB_AP_ERR_BADADDR"], "The network address in the ticket is wrong (a NAT between client and service with address-bound tickets)."),
    k(39, "KRB_AP_ERR_BADVERSION", &["KRB5KRB_AP_ERR_BADVERSION"], "The protocol version does not match."),
    k(40, "KRB_AP_ERR_MSG_TYPE", &["KRB5KRB_AP_ERR_MSG_TYPE"], "The message type is invalid."),
    k(41, "KRB_AP_ERR_MODIFIED", &["KRB5KRB_AP_ERR_MODIFIED"], "The message stream was modified or the ticket does not decrypt with the service's key (the SPN is registered on a different account than the one running the service)."),
    k(42, "KRB_AP_ERR_BADORDER", &["KRB5KRB_AP_ERR_BADORDER"], "The message is out of order."),
    k(44, "KRB_AP_ERR_BADKEYVER", &["KRB5KRB_AP_ERR_BADKEYVER"], "The service's key version is not available (its keytab is stale)."),
    k(45, "KRB_AP_ERR_NOKEY", &["KRB5KRB_AP_ERR_NOKEY"], "The service's key is not available."),
    k(46, "KRB_AP_ERR_MUT_FAIL", &["KRB5KRB_AP_ERR_MUT_FAIL"], "Mutual authentication failed."),
    k(47, "KRB_AP_ERR_BADDIRECTION", &["KRB5KRB_AP_ERR_BADDIRECTION"], "The message direction is wrong."),
    k(48, "KRB_AP_ERR_METHOD", &["KRB5KRB_AP_ERR_METHOD"], "An alternative authentication method is required."),
    k(49, "KRB_AP_ERR_BADSEQ", &["KRB5KRB_AP_ERR_BADSEQ"], "The sequence number in the message is wrong."),
    k(50, "KRB_AP_ERR_INAPP_CKSUM", &["KRB5KRB_AP_ERR_INAPP_CKSUM"], "The checksum type in the message is inappropriate."),
    k(51, "KRB_AP_PATH_NOT_ACCEPTED", &["KRB5KRB_AP_PATH_NOT_ACCEPTED"], "The service's policy rejects the transited path."),
    k(52, "KRB_ERR_RESPONSE_TOO_BIG", &["KRB5KRB_ERR_RESPONSE_TOO_BIG"], "The response is too big for UDP; retry with TCP (large tokens: many group memberships)."),
    k(60, "KRB_ERR_GENERIC", &["KRB5KRB_ERR_GENERIC"], "A generic error; the e-text (and on Windows the KERB-EXT-ERROR NTSTATUS) says more."),
    k(61, "KRB_ERR_FIELD_TOOLONG", &["KRB5KRB_ERR_FIELD_TOOLONG"], "A field is too long for this implementation."),
    pk(62, "KDC_ERR_CLIENT_NOT_TRUSTED", "The KDC does not trust the client's certificate (smart card logon)."),
    pk(63, "KDC_ERR_KDC_NOT_TRUSTED", "The client does not trust the KDC's certificate."),
    pk(64, "KDC_ERR_INVALID_SIG", "The signature on the client's PKINIT request is invalid."),
    CodeEntry {
        aliases: &["KDC_ERR_KEY_TOO_WEAK"],
        ..pk(65, "KDC_ERR_DH_KEY_PARAMETERS_NOT_ACCEPTED", "The KDC does not accept the client's Diffie-Hellman key parameters (RFC 4120 named the number KDC_ERR_KEY_TOO_WEAK).")
    },
    pk(66, "KDC_ERR_CERTIFICATE_MISMATCH", "The certificate does not match the client."),
    k(67, "KRB_AP_ERR_NO_TGT", &["KRB5KRB_AP_ERR_NO_TGT"], "No TGT is available to validate a user-to-user request."),
    k(68, "KDC_ERR_WRONG_REALM", &["KRB5KDC_ERR_WRONG_REALM"], "The request went to a KDC of the wrong realm (a referral answer)."),
    k(69, "KRB_AP_ERR_USER_TO_USER_REQUIRED", &["KRB5KRB_AP_ERR_USER_TO_USER_REQUIRED"], "The ticket must be for user-to-user authentication."),
    pk(70, "KDC_ERR_CANT_VERIFY_CERTIFICATE", "The KDC cannot verify the client's certificate."),
    pk(71, "KDC_ERR_INVALID_CERTIFICATE", "The client's certificate is invalid."),
    pk(72, "KDC_ERR_REVOKED_CERTIFICATE", "The client's certificate has been revoked."),
    pk(73, "KDC_ERR_REVOCATION_STATUS_UNKNOWN", "The revocation status of the client's certificate is unknown."),
    pk(74, "KDC_ERR_REVOCATION_STATUS_UNAVAILABLE", "The revocation status of the client's certificate cannot be obtained."),
    pk(75, "KDC_ERR_CLIENT_NAME_MISMATCH", "The client's certificate names another principal."),
    pk(76, "KDC_ERR_KDC_NAME_MISMATCH", "The KDC's certificate names another KDC."),
    pk(77, "KDC_ERR_INCONSISTENT_KEY_PURPOSE", "The certificate's key purpose is inconsistent with PKINIT."),
    pk(78, "KDC_ERR_DIGEST_IN_CERT_NOT_ACCEPTED", "The digest algorithm in the certificate is not accepted."),
    pk(79, "KDC_ERR_PA_CHECKSUM_MUST_BE_INCLUDED", "The PKINIT request must include the paChecksum."),
    pk(80, "KDC_ERR_DIGEST_IN_SIGNED_DATA_NOT_ACCEPTED", "The digest algorithm in the signed data is not accepted."),
    pk(81, "KDC_ERR_PUBLIC_KEY_ENCRYPTION_NOT_SUPPORTED", "Public-key encryption delivery is not supported."),
    fast(90, "KDC_ERR_PREAUTH_EXPIRED", "The pre-authentication data has expired."),
    fast(91, "KDC_ERR_MORE_PREAUTH_DATA_REQUIRED", "More pre-authentication data is required."),
    fast(92, "KDC_ERR_PREAUTH_BAD_AUTHENTICATION_SET", "The pre-authentication set is not acceptable."),
    fast(93, "KDC_ERR_UNKNOWN_CRITICAL_FAST_OPTIONS", "The KDC does not understand a critical FAST option (Kerberos armoring)."),
];
