//! Catalog entries for Kerberos inside CredSSP and for NTLM being refused. Domain clients log on
//! to Remote Desktop with Kerberos (SPNEGO in CredSSP, MS-CSSP) whenever they can get a service
//! ticket for TERMSRV/<name>, and fall back to NTLM otherwise; a "Restrict NTLM" policy then
//! refuses the fallback. The Kerberos probe raises these from the KDC's answers; `logs` raises
//! them from Security 4768 / 4769 / 4771 failure codes (Kerberos error numbers, RFC 4120 7.5.9)
//! and NTLM/Operational 4001-4003; `host` from the NTLM and Kerberos policy values.

use super::families::*;
use super::{ClientCodes, ClientDef, FindingDef, FixDef, Verdict};
use crate::model::{Severity, Step};
use crate::FindingId;
use rdpdoctor_codes::code;

/// The domain controller's Kerberos failures (run on a DC; 4769 is the service-ticket request).
const KRB_EVENTS: &str = "Get-WinEvent -FilterHashtable @{LogName='Security'; ProviderName='Microsoft-Windows-Security-Auditing'; Id=4768,4769,4771} -MaxEvents 50 -ErrorAction SilentlyContinue | Where-Object { $_.Message -notmatch '0x0\\s' } | Format-List TimeCreated,Id,Message";
/// The NTLM blocks and audits (on the client, the server or the DC: each logs its own side).
const NTLM_EVENTS: &str = "Get-WinEvent -FilterHashtable @{LogName='Microsoft-Windows-NTLM/Operational'; ProviderName='Microsoft-Windows-NTLM'; Id=4001,4002,4003,8001,8002,8003} -MaxEvents 30 -ErrorAction SilentlyContinue | Format-List TimeCreated,Id,Message";
const MSV1_0: &str = r#"Get-ItemProperty 'HKLM:\SYSTEM\CurrentControlSet\Control\Lsa\MSV1_0' | Select-Object RestrictSendingNTLMTraffic,RestrictReceivingNTLMTraffic,ClientAllowedNTLMServers,AuditReceivingNTLMTraffic"#;
const KRB_POLICY: &str = r#"Get-ItemProperty 'HKLM:\SOFTWARE\Microsoft\Windows\CurrentVersion\Policies\System\Kerberos\Parameters' -ErrorAction SilentlyContinue | Select-Object SupportedEncryptionTypes"#;

/// What a client shows when it finds or reaches no KDC (SEC_E_NO_AUTHENTICATING_AUTHORITY,
/// ERROR_NO_LOGON_SERVERS): nothing while it may fall back to NTLM.
const NO_KDC_CODES: ClientCodes = ClientCodes {
    codes: &[code(H, 0x8009_0311), code(W, 1311)],
    inferred: true,
};
const NO_KDC_CLIENT: ClientDef = ClientDef {
    text: "Nothing while NTLM works; where NTLM is blocked, \"An authentication error has occurred. No authority could be contacted for authentication\"",
    likely: true,
};

pub(super) const ENTRIES: &[FindingDef] = &[
    FindingDef {
        id: FindingId::KerberosKdcNotFound,
        step: Step::Nla,
        severity: Severity::Warning,
        severity_rule: "Warning: without a KDC the client falls back to NTLM, which works until NTLM is restricted; blocking where NTLM is refused.",
        title: "No Kerberos KDC was found for the realm",
        breaks_some_clients: true,
        verdict: Verdict::Ordinary,
        explains: &[],
        explanation: "The realm (from the user name, or the DNS domain the server announced in its NTLM CHALLENGE) has no \
            _kerberos._tcp SRV record this machine can resolve, and no KDC was named. A client outside the domain's DNS \
            (home network, VPN with split DNS, a jump host in another forest) cannot get a ticket, so CredSSP falls back \
            to NTLM.",
        fixes: &[
            FixDef {
                text: "Look the KDC up the way a client does",
                commands: &["nslookup -type=SRV _kerberos._tcp.<realm>", "nltest /dsgetdc:<domain> /kdc"],
            },
            FixDef {
                text: "Point the client at the domain's DNS (the VPN profile's DNS servers and suffix), or, where clients reach the network only through the RD Gateway, publish a KDC proxy and tell rdpdoctor the KDC (--kdc HOST or --kdc-proxy URL)",
                commands: &["Get-DnsClientServerAddress", "rdpdoctor check <host-fqdn> --user '<DOMAIN>\\<user>' --kdc <dc-fqdn>"],
            },
        ],
        client_codes: NO_KDC_CODES,
        client: Some(NO_KDC_CLIENT),
    },
    FindingDef {
        id: FindingId::KerberosKdcUnreachable,
        step: Step::Nla,
        severity: Severity::Warning,
        severity_rule: "Warning: the client falls back to NTLM; blocking where NTLM is refused.",
        title: "The KDC does not answer on port 88",
        breaks_some_clients: true,
        verdict: Verdict::Ordinary,
        explains: &[],
        explanation: "The KDC's name resolves, but neither TCP nor UDP port 88 answers from here (a VPN that routes only the \
            session hosts, a firewall between client and domain controllers). The client cannot get a ticket and falls \
            back to NTLM, or fails where NTLM is refused.",
        fixes: &[
            FixDef {
                text: "Test Kerberos reachability from the client's network",
                commands: &["Test-NetConnection <dc-fqdn> -Port 88", "klist purge", "klist get TERMSRV/<host-fqdn>"],
            },
            FixDef {
                text: "Allow TCP and UDP 88 from the client networks to the domain controllers, or publish a KDC proxy (KDC proxy service, as RD Gateway deployments do) for clients outside",
                commands: &[],
            },
        ],
        client_codes: NO_KDC_CODES,
        client: Some(NO_KDC_CLIENT),
    },
    FindingDef {
        id: FindingId::KerberosSpnMissing,
        step: Step::Nla,
        severity: Severity::Warning,
        severity_rule: "Warning: clients fall back to NTLM for this name; blocking where NTLM is refused.",
        title: "No account holds the TERMSRV service principal name for this name",
        breaks_some_clients: true,
        verdict: Verdict::Ordinary,
        explains: &[],
        explanation: "The KDC answered KDC_ERR_S_PRINCIPAL_UNKNOWN (0x7) for TERMSRV/<name>: no computer account has that SPN. \
            Windows registers TERMSRV/<hostname> and TERMSRV/<fqdn> on the computer account itself, so this happens when \
            users connect by IP address, by a DNS alias or load-balancer name, or by a name from another DNS suffix. The \
            client then falls back to NTLM; where NTLM is restricted the logon fails.",
        fixes: &[
            FixDef {
                text: "See who holds the SPN, and connect by the name the computer account carries (its FQDN) rather than an address",
                commands: &["setspn -Q TERMSRV/<name>", "setspn -L <computer>"],
            },
            FixDef {
                text: "For an alias users must keep using, register it on the computer account (-S checks for duplicates first)",
                commands: &["setspn -S TERMSRV/<alias-fqdn> <computer>", "klist purge", "klist get TERMSRV/<alias-fqdn>"],
            },
        ],
        client_codes: ClientCodes {
            codes: &[code(K, 7), code(H, 0x8009_0303)],
            inferred: true,
        },
        client: Some(ClientDef {
            text: "Nothing while NTLM is allowed (the logon silently uses NTLM); where NTLM is blocked, mstsc's NTLM-blocked error",
            likely: true,
        }),
    },
    FindingDef {
        id: FindingId::KerberosClockSkew,
        step: Step::Nla,
        severity: Severity::Blocking,
        severity_rule: "Blocking for Kerberos: the KDC refuses requests from a clock more than 5 minutes off (the default tolerance).",
        title: "The clocks of the client and the KDC differ by more than Kerberos allows",
        breaks_some_clients: true,
        verdict: Verdict::Ordinary,
        explains: &[],
        explanation: "The KDC answered KRB_AP_ERR_SKEW (0x25): the request's timestamp is outside the tolerance (5 minutes by \
            default; RFC 4120 5.9.1, Windows policy \"Maximum tolerance for computer clock synchronization\"). When \
            rdpdoctor asks the KDC itself, the error carries the KDC's time and the evidence gives the offset. Kerberos then fails for every service from that \
            machine; NTLM may still work, which hides the cause.",
        fixes: &[
            FixDef {
                text: "Find which clock is wrong (the client's, the server's or the domain controller's)",
                commands: &["w32tm /query /status", "w32tm /stripchart /computer:<dc-fqdn> /samples:3 /dataonly"],
            },
            FixDef {
                text: "Resynchronise from the domain hierarchy (the PDC emulator follows a reliable external source); do not widen the tolerance",
                commands: &["w32tm /config /syncfromflags:domhier /update", "w32tm /resync /force"],
            },
        ],
        client_codes: ClientCodes {
            codes: &[code(K, 37), code(H, 0x8009_0324), code(W, 1398)],
            inferred: false,
        },
        client: Some(ClientDef {
            text: "\"There is a time and/or date difference between the client and server\"",
            likely: false,
        }),
    },
    FindingDef {
        id: FindingId::KerberosPreauthFailed,
        step: Step::Nla,
        severity: Severity::Warning,
        severity_rule: "Warning: the password was wrong for this attempt; repeated failures lock the account.",
        title: "Kerberos pre-authentication failed (wrong password)",
        breaks_some_clients: false,
        verdict: Verdict::Ordinary,
        explains: &[],
        explanation: "The KDC answered KDC_ERR_PREAUTH_FAILED (0x18): the encrypted timestamp did not decrypt with the account's \
            key, which means the password is wrong (Security 4771 / 4768 with 0x18 on the domain controller). Bursts from \
            one address often come from a stale password saved on a device, a mapped drive or a service.",
        fixes: &[
            FixDef {
                text: "Read where the failures come from (Client Address in 4771) and the account's state",
                commands: &[KRB_EVENTS, "Get-ADUser <user> -Properties badPwdCount,LastBadPasswordAttempt,LockedOut"],
            },
            FixDef {
                text: "Remove stale saved credentials on the client, then retry with the current password",
                commands: &["cmdkey /list", "cmdkey /delete:TERMSRV/<host>"],
            },
        ],
        client_codes: ClientCodes {
            codes: &[code(K, 24)],
            inferred: true,
        },
        client: Some(ClientDef {
            text: "\"The logon attempt failed\" / \"The user name or password is incorrect\"",
            likely: true,
        }),
    },
    FindingDef {
        id: FindingId::KerberosEtypeUnsupported,
        step: Step::Nla,
        severity: Severity::Blocking,
        severity_rule: "Blocking when the KDC refused a request with KDC_ERR_ETYPE_NOSUPP (0xE); warning when only the policy value leaves no AES type.",
        title: "No Kerberos encryption type is allowed by both sides",
        breaks_some_clients: true,
        verdict: Verdict::Ordinary,
        explains: &[],
        explanation: "The KDC answered KDC_ERR_ETYPE_NOSUPP (0xE): the account (or the service) has no key of an encryption type \
            the request allows. Typical after AES enforcement: an account whose password was last set before the domain had \
            AES keys holds only RC4 keys, or SupportedEncryptionTypes / msDS-SupportedEncryptionTypes exclude AES on one side. \
            Re-enabling RC4 or DES is not the fix: give the account AES keys.",
        fixes: &[
            FixDef {
                text: "Read which encryption types each side allows and when the password was last set",
                commands: &[KRB_POLICY, "Get-ADUser <user> -Properties msDS-SupportedEncryptionTypes,PasswordLastSet", "Get-ADComputer <computer> -Properties msDS-SupportedEncryptionTypes"],
            },
            FixDef {
                text: "Reset the account's password (twice for krbtgt, with replication between) so it gets AES keys, and allow AES128 and AES256 (0x18) on accounts and in the policy",
                commands: &["Set-ADAccountPassword <user> -Reset", "Set-ADUser <user> -Replace @{'msDS-SupportedEncryptionTypes'=24}"],
            },
        ],
        client_codes: ClientCodes {
            codes: &[code(K, 14), code(H, 0x8009_0342), code(NT, 0xC000_02FD)],
            inferred: false,
        },
        client: Some(ClientDef {
            text: "\"An authentication error has occurred. The encryption type requested is not supported by the KDC\"",
            likely: true,
        }),
    },
    FindingDef {
        id: FindingId::NtlmBlocked,
        step: Step::Nla,
        severity: Severity::Blocking,
        severity_rule: "Blocking when an NTLM logon was refused (NTLM/Operational 4001-4003, or STATUS_NTLM_BLOCKED from the server); warning when only the policy values show the restriction (clients that use Kerberos by the server's name still log on).",
        title: "NTLM is restricted and the logon fell back to NTLM",
        breaks_some_clients: true,
        verdict: Verdict::Ordinary,
        explains: &[],
        explanation: "A \"Network security: Restrict NTLM\" policy refuses NTLM (on the client: RestrictSendingNTLMTraffic = 2; on \
            the server: RestrictReceivingNTLMTraffic = 1 or 2; on the domain controller: RestrictNTLMInDomain), and this \
            logon used NTLM because Kerberos was not possible: the client connected by IP address or by a name without a \
            TERMSRV SPN, or could not reach a KDC. The refusal is STATUS_NTLM_BLOCKED (0xC0000418) / ERROR_NTLM_BLOCKED \
            (1937), and the blocking machine logs NTLM/Operational 4001 (client), 4002 (server) or 4003 (domain controller). \
            The fix is to make Kerberos work, not to allow NTLM again.",
        fixes: &[
            FixDef {
                text: "Find which machine blocked it and for which target",
                commands: &[NTLM_EVENTS, MSV1_0],
            },
            FixDef {
                text: "Connect by the server's FQDN (which carries TERMSRV/<fqdn>) so the client uses Kerberos; check that it gets the ticket",
                commands: &["klist get TERMSRV/<host-fqdn>", "mstsc /v:<host-fqdn>"],
            },
            FixDef {
                text: "Only where a name without Kerberos must stay: add that one server as an exception (\"Restrict NTLM: Add remote server exceptions for NTLM authentication\" on clients, or \"Add server exceptions in this domain\" on domain controllers) instead of allowing NTLM everywhere",
                commands: &[r#"Get-ItemProperty 'HKLM:\SYSTEM\CurrentControlSet\Control\Lsa\MSV1_0' -Name ClientAllowedNTLMServers -ErrorAction SilentlyContinue"#],
            },
        ],
        client_codes: ClientCodes {
            codes: &[code(NT, 0xC000_0418), code(W, 1937), code(H, 0x8007_0791)],
            inferred: false,
        },
        client: Some(ClientDef {
            text: "\"An authentication error has occurred ... This could be due to NTLM authentication being blocked\"",
            likely: false,
        }),
    },
    FindingDef {
        id: FindingId::KerberosNotUsed,
        step: Step::Nla,
        severity: Severity::Info,
        severity_rule: "Info: the logon works with NTLM; it says why Kerberos was not used, which matters once NTLM is restricted.",
        title: "The logon used NTLM, not Kerberos (the reason is in the evidence)",
        breaks_some_clients: false,
        verdict: Verdict::Ordinary,
        explains: &[],
        explanation: "CredSSP negotiated NTLM because Kerberos was not possible for this target: an address instead of a name, \
            no TERMSRV SPN for the name, no KDC found or reachable, or a local account. Windows clients do the same and \
            succeed today; once NTLM is restricted (Microsoft is disabling it by default), they fail.",
        fixes: &[],
        client_codes: ClientCodes::NONE,
        client: None,
    },
];
