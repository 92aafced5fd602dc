//! Catalog entries for what the NLA probes show (NLA, logon and the server's own
//! error codes): the server's identity and clock from its NTLM CHALLENGE, the CredSSP version,
//! and the server's verdict on the credentials of `check --user`.
//!
//! The logon verdicts that event logs prove too (logon-failure, password-expired,
//! password-must-change, account-locked, account-disabled, account-restricted,
//! logon-right-missing) are defined once, in `offline.rs`; the NLA rules emit those same ids.

use super::families::*;
use super::{ClientCodes, ClientDef, FindingDef, FixDef, Verdict};
use crate::model::{Severity, Step};
use crate::FindingId;
use rdpdoctor_codes::code;

pub(super) const ENTRIES: &[FindingDef] = &[
    FindingDef {
        id: FindingId::CredsspOracleMismatch,
        step: Step::Nla,
        severity: Severity::Blocking,
        severity_rule: "Blocking: an up-to-date Windows client (Encryption Oracle Remediation = Mitigated, the default since May 2018) refuses a server whose CredSSP predates the CVE-2018-0886 update.",
        title: "The server's CredSSP lacks the CVE-2018-0886 update (encryption oracle remediation mismatch)",
        breaks_some_clients: false,
        verdict: Verdict::Ordinary,
        explains: &[],
        explanation: "The server's first TSRequest announces CredSSP version 2, 3 or 4 (MS-CSSP 2.2.1). Version 5 and later \
            carry the nonce binding of the March 2018 CredSSP update (CVE-2018-0886); a server without it is \"unpatched\". \
            Patched clients with Encryption Oracle Remediation at Mitigated (the default) or Force Updated Clients refuse \
            it after the user typed the credentials: \"An authentication error has occurred. The function requested is \
            not supported ... This could be due to CredSSP encryption oracle remediation.\" (SEC_E_UNSUPPORTED_FUNCTION \
            0x80090302). Only clients set to Vulnerable still connect.",
        fixes: &[
            FixDef {
                text: "Install the CredSSP update (May 2018 or any later cumulative update) on the server; check the version of TSpkg.dll",
                commands: &[r#"(Get-Item C:\Windows\System32\tspkg.dll).VersionInfo.FileVersion"#, "Get-HotFix | Sort-Object InstalledOn | Select-Object -Last 5"],
            },
            FixDef {
                text: "Only as a stop-gap until the server is patched, on the client: Computer Configuration > Administrative Templates > System > Credentials Delegation > Encryption Oracle Remediation = Vulnerable (2); set it back afterwards",
                commands: &[r#"reg add "HKLM\SOFTWARE\Microsoft\Windows\CurrentVersion\Policies\System\CredSSP\Parameters" /v AllowEncryptionOracle /t REG_DWORD /d 2 /f"#],
            },
        ],
        client_codes: ClientCodes {
            codes: &[code(H, 0x8009_0302)],
            inferred: false,
        },
        client: Some(ClientDef {
            text: "\"An authentication error has occurred. The function requested is not supported\" (mentions CredSSP encryption oracle remediation on current clients)",
            likely: false,
        }),
    },
    FindingDef {
        id: FindingId::HostIdentityMismatch,
        step: Step::Nla,
        severity: Severity::Warning,
        severity_rule: "Warning: the name leads to a machine that calls itself something else; clients that use Kerberos for that name fail or fall back to NTLM, and users may reach the wrong server.",
        title: "The name probed leads to a machine that calls itself something else",
        breaks_some_clients: true,
        verdict: Verdict::Ordinary,
        explains: &[],
        explanation: "The server's NTLM CHALLENGE (MsvAvNbComputerName / MsvAvDnsComputerName, MS-NLMP 2.2.2.1) names a \
            computer other than the one the probed name stands for. Typical causes: a stale DNS A record (DHCP gave the \
            address to another machine), a renamed server whose old record was not scavenged, a NAT or port forward that \
            leads elsewhere, or a deliberate alias (CNAME, load balancer). This is the \"works by IP, fails by name\" \
            class of faults: Kerberos asks for TERMSRV/<name>, which the other machine cannot decrypt, so the logon fails \
            or falls back to NTLM (and fails where NTLM is restricted).",
        fixes: &[
            FixDef {
                text: "Compare what the name resolves to with the server's own address, from the client and on the DNS server",
                commands: &["Resolve-DnsName {host}", "nslookup {host}", "ipconfig /all"],
            },
            FixDef {
                text: "If the record is stale, correct or delete it and enable scavenging; clients then need ipconfig /flushdns",
                commands: &["Get-DnsServerResourceRecord -ZoneName <zone> -Name <name>", "ipconfig /flushdns"],
            },
            FixDef {
                text: "If the alias is deliberate, register the SPN TERMSRV/<alias> on the real computer account (and its certificate should carry the alias)",
                commands: &["setspn -S TERMSRV/{host} <COMPUTER>"],
            },
        ],
        client_codes: ClientCodes::NONE,
        client: Some(ClientDef {
            text: "\"The user name or password is incorrect\" or a Kerberos error by name while the IP address works; or the wrong server's desktop",
            likely: true,
        }),
    },
    FindingDef {
        id: FindingId::ClockSkew,
        step: Step::Nla,
        severity: Severity::Warning,
        severity_rule: "Warning when the server clock (NTLM timestamp) differs from ours by more than 5 minutes, Kerberos's default tolerance.",
        title: "The server's clock is more than 5 minutes off",
        breaks_some_clients: true,
        verdict: Verdict::Ordinary,
        explains: &[],
        explanation: "The MsvAvTimestamp in the server's NTLM CHALLENGE is the server's clock. Kerberos refuses tickets when \
            client, server and domain controller differ by more than 5 minutes (Maximum tolerance for computer clock \
            synchronization), so domain logons fail (\"There is a time and/or date difference between the client and \
            server\", STATUS_TIME_DIFFERENCE_AT_DC 0xC0000133, SEC_E_TIME_SKEW 0x80090324), and certificate validity \
            checks go wrong. Our own clock may be the wrong one: compare with a reliable source first.",
        fixes: &[
            FixDef {
                text: "Check the time source and offset on the server",
                commands: &["w32tm /query /status", "w32tm /stripchart /computer:<DC or NTP server> /samples:3 /dataonly"],
            },
            FixDef {
                text: "Resynchronise (domain members follow the domain hierarchy; the PDC emulator follows an external source)",
                commands: &["w32tm /config /syncfromflags:domhier /update", "w32tm /resync /force"],
            },
        ],
        client_codes: ClientCodes {
            codes: &[code(NT, 0xC000_0133), code(H, 0x8009_0324)],
            inferred: true,
        },
        client: Some(ClientDef {
            text: "\"There is a time and/or date difference between the client and server\"",
            likely: true,
        }),
    },
    FindingDef {
        id: FindingId::AuthOk,
        step: Step::Logon,
        severity: Severity::Info,
        severity_rule: "Always info.",
        title: "The server accepted the credentials",
        breaks_some_clients: false,
        verdict: Verdict::Ordinary,
        explains: &[],
        explanation: "The server accepted the NTLM AUTHENTICATE of the account given with --user and proved that it holds \
            the TLS key (its pubKeyAuth verified). The check stopped there: no TSCredentials were delegated, so the \
            password itself never reached the server. What the server decides after delegation (the Remote Desktop \
            Users membership with HYBRID_EX, licensing, the session) needs --full.",
        fixes: &[],
        client_codes: ClientCodes::NONE,
        client: None,
    },
    FindingDef {
        id: FindingId::AccessDenied,
        step: Step::Logon,
        severity: Severity::Blocking,
        severity_rule: "Blocking for the account named in the evidence.",
        title: "The credentials are valid, but the account may not log on remotely",
        breaks_some_clients: false,
        verdict: Verdict::Ordinary,
        explains: &[],
        explanation: "The server sent an Early User Authorization Result of ACCESS_DENIED (MS-RDPBCGR 2.2.10.2, HYBRID_EX) \
            or STATUS_ACCESS_DENIED (0xC0000022): the password was right, but the account lacks the permission to log on \
            through Remote Desktop Services, usually because it is not in Remote Desktop Users (or Administrators), or \
            \"Deny log on through Remote Desktop Services\" applies to it. Across a forest trust with selective \
            authentication the status is STATUS_AUTHENTICATION_FIREWALL_FAILED (0xC0000413) instead: the account's domain \
            is trusted, but the account lacks \"Allowed to Authenticate\" on this server's computer object.",
        fixes: &[
            FixDef {
                text: "Add the account (or a group it is in) to Remote Desktop Users on the server",
                commands: &["net localgroup \"Remote Desktop Users\"", "Add-LocalGroupMember -Group \"Remote Desktop Users\" -Member DOMAIN\\user"],
            },
            FixDef {
                text: "Check Computer Configuration > Windows Settings > Security Settings > Local Policies > User Rights Assignment > Allow / Deny log on through Remote Desktop Services",
                commands: &["gpresult /h C:\\rdpdiag\\gp.html"],
            },
            FixDef {
                text: "With 0xC0000413 (selective authentication across a forest trust): in the server's domain, grant the account's group the \"Allowed to Authenticate\" right on the server's computer object (its Security tab in Active Directory Users and Computers)",
                commands: &["dsacls \"CN=SERVER,OU=Servers,DC=corp,DC=example\" /G \"TRUSTED\\RDP-Users:CA;Allowed to Authenticate\""],
            },
        ],
        client_codes: ClientCodes {
            codes: &[code(NT, 0xC000_0022), code(F, 0x0002_0016), code(F, 155)],
            inferred: false,
        },
        client: Some(ClientDef {
            text: "\"The connection was denied because the user account is not authorized for remote login\"",
            likely: true,
        }),
    },
];
