//! What is known about the *causes* behind codes, as data.
//!
//! * [`SCENARIOS`]: for a code or a (disconnect, extended) pair, which step of the connection
//!   failed, the causes known to end that way (ranked), each with the `rdpdoctor check` finding or
//!   the server-side evidence that confirms or rules it out and the exact command to gather it,
//!   and the popular explanations that do not fit.
//! * [`FindingLinks`]: how codes and causes lead to `rdpdoctor check` findings. The finding
//!   catalog sits in a crate above this one and owns those links (each finding's client codes,
//!   the findings each cause's evidence produces); `explain` and the reference page are handed
//!   them, so this crate names no finding.
//!
//! Sources: the project's research notes on real reports (ranked causes, folklore vs fact), the
//! Windows event / registry notes, and the protocol reference. "Inference" marks conclusions drawn
//! from the protocol, not stated by Microsoft.

use crate::{code, CodeRef, Family};
use serde::Serialize;

/// How well a cause is established for the code it is listed under.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Confidence {
    High,
    Medium,
    Low,
}

/// What the link between the code and the cause rests on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Basis {
    /// A primary source (spec, Microsoft documentation) states it.
    Documented,
    /// Independent, authentic reports tie the cause to the code, with a fix that worked.
    Reported,
    /// Reasoned from the protocol; no source states it.
    Inference,
}

/// Where a piece of evidence comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum EvidenceKind {
    /// A finding of `rdpdoctor check` run from another machine.
    Check,
    /// A finding rdpdoctor derives from exported event logs or registry files.
    OfflineCheck,
    /// A Windows event to look for.
    Event,
    /// A registry value to read.
    Registry,
    /// A command to run on the server or client (file ACLs, certificate store, sessions).
    Command,
}

/// One piece of evidence that confirms or rules out a cause.
#[derive(Clone, Copy, Debug, Serialize)]
pub struct Evidence {
    pub kind: EvidenceKind,
    /// What to look for and what it means.
    pub what: &'static str,
    /// The exact command that gathers it.
    pub command: &'static str,
}

/// A cause known to end with the scenario's code(s).
#[derive(Clone, Copy, Debug, Serialize)]
pub struct Cause {
    pub id: &'static str,
    pub title: &'static str,
    pub confidence: Confidence,
    pub basis: Basis,
    /// Why this cause produces the code, and how sure that link is.
    pub why: &'static str,
    /// Evidence that confirms it (or, when absent, rules it out).
    pub evidence: &'static [Evidence],
    /// What rules it out.
    pub rule_out: &'static str,
    /// What fixed it for people who had it.
    pub fix: &'static str,
}

/// A popular explanation that does not fit the code, and why.
#[derive(Clone, Copy, Debug, Serialize)]
pub struct NotFit {
    pub claim: &'static str,
    pub why_not: &'static str,
}

/// Which step of the connection failed, separating documented facts from inference.
#[derive(Clone, Copy, Debug, Serialize)]
pub struct Step {
    pub summary: &'static str,
    pub facts: &'static [&'static str],
    pub inference: &'static str,
    pub caveats: &'static [&'static str],
}

/// Knowledge about one code or one combination of codes.
#[derive(Clone, Copy, Debug, Serialize)]
pub struct Scenario {
    pub id: &'static str,
    pub title: &'static str,
    /// Alternatives; a scenario applies when every code of one alternative was given.
    #[serde(skip)]
    pub when: &'static [&'static [CodeRef]],
    pub step: Step,
    /// How the causes are ranked.
    pub ranking: &'static str,
    pub causes: &'static [Cause],
    pub does_not_fit: &'static [NotFit],
}

/// The links from codes and causes to `rdpdoctor check` findings, owned by the finding catalog.
pub trait FindingLinks {
    /// The findings whose likely client codes include `code`, in connection order.
    fn findings_for_code(&self, code: CodeRef) -> Vec<&'static str>;
    /// The findings the evidence of kind `kind` of cause `cause` (a [`Cause::id`]) produces;
    /// empty for raw Windows evidence.
    fn evidence_findings(&self, cause: &str, kind: EvidenceKind) -> Vec<&'static str>;
    /// Every finding that has likely client codes: its id, the codes, and whether the link is
    /// inferred rather than documented.
    fn finding_codes(&self) -> Vec<(&'static str, &'static [CodeRef], bool)>;
}

// ---------------------------------------------------------------------------------------------
// Commands (exact; run elevated on the server unless noted).

const CHECK: &str = "rdpdoctor check HOST";
/// A logon test up to the server's verdict; the password comes from RDPDOCTOR_PASSWORD or a prompt.
const CHECK_USER: &str = "rdpdoctor check HOST --user 'DOMAIN\\user'";
/// The whole connection sequence (delegates the credentials), to read the server's own codes.
const CHECK_FULL: &str = "rdpdoctor check HOST --user 'DOMAIN\\user' --full";
const EXPORT_SYSTEM_AND_READ: &str = "wevtutil epl System C:\\rdpdiag\\System-rdp.evtx \"/q:*[System[Provider[@Name='Schannel' or @Name='TermDD' or @Name='Microsoft-Windows-TerminalServices-RemoteConnectionManager' or @Name='Service Control Manager']]]\" /ow:true, then anywhere: rdpdoctor logs System-rdp.evtx";
// Every query with an event ID names the provider: IDs are per provider, and the System log holds
// Group Policy's 1055/1058/1065 too (Microsoft-Windows-GroupPolicy).
const Q_RCM_CERT: &str = "wevtutil qe System \"/q:*[System[Provider[@Name='Microsoft-Windows-TerminalServices-RemoteConnectionManager'] and (EventID=1055 or EventID=1057 or EventID=1058 or EventID=1065)]]\" /c:10 /rd:true /f:text";
const Q_SCHANNEL_KEY: &str = "wevtutil qe System \"/q:*[System[Provider[@Name='Schannel'] and (EventID=36870)]]\" /c:10 /rd:true /f:text";
const Q_SCHANNEL_TLS: &str = "wevtutil qe System \"/q:*[System[Provider[@Name='Schannel'] and (EventID=36871 or EventID=36874 or EventID=36888)]]\" /c:10 /rd:true /f:text";
const Q_RDPCORE_131: &str = "wevtutil qe Microsoft-Windows-RemoteDesktopServices-RdpCoreTS/Operational \"/q:*[System[Provider[@Name='Microsoft-Windows-RemoteDesktopServices-RdpCoreTS'] and (EventID=131)]]\" /c:20 /rd:true /f:text";
/// 1070: "A logon request was denied because the terminal server is currently in drain mode"
/// (Microsoft Docs "Event ID 1070 — Terminal Server Connections"), in the RemoteConnectionManager
/// Operational channel, not System. No primary source documents a 1071 for this, so it is left out.
const Q_RCM_DENY: &str = "wevtutil qe Microsoft-Windows-TerminalServices-RemoteConnectionManager/Operational \"/q:*[System[Provider[@Name='Microsoft-Windows-TerminalServices-RemoteConnectionManager'] and (EventID=1070)]]\" /c:10 /rd:true /f:text";
const Q_SECURITY_AUTH: &str = "wevtutil qe Security \"/q:*[System[Provider[@Name='Microsoft-Windows-Security-Auditing'] and (EventID=4625 or EventID=4825)]]\" /c:10 /rd:true /f:text";
const Q_TERMDD: &str = "wevtutil qe System \"/q:*[System[Provider[@Name='TermDD'] and (EventID=56 or EventID=50)]]\" /c:10 /rd:true /f:text";
const Q_LSM_40: &str = "wevtutil qe Microsoft-Windows-TerminalServices-LocalSessionManager/Operational \"/q:*[System[Provider[@Name='Microsoft-Windows-TerminalServices-LocalSessionManager'] and (EventID=40)]]\" /c:10 /rd:true /f:text";
const Q_RDPCORE_ERR: &str = "wevtutil qe Microsoft-Windows-RemoteDesktopServices-RdpCoreTS/Operational \"/q:*[System[Provider[@Name='Microsoft-Windows-RemoteDesktopServices-RdpCoreTS'] and (EventID=97 or EventID=102 or EventID=103 or EventID=139 or EventID=226)]]\" /c:20 /rd:true /f:text";
const REG_TS: &str = "reg query \"HKLM\\SYSTEM\\CurrentControlSet\\Control\\Terminal Server\"";
const REG_RDPTCP: &str =
    "reg query \"HKLM\\SYSTEM\\CurrentControlSet\\Control\\Terminal Server\\WinStations\\RDP-Tcp\"";
const REG_TS_POLICY: &str =
    "reg query \"HKLM\\SOFTWARE\\Policies\\Microsoft\\Windows NT\\Terminal Services\"";
const REG_SCHANNEL: &str = "reg query \"HKLM\\SYSTEM\\CurrentControlSet\\Control\\SecurityProviders\\SCHANNEL\\Protocols\" /s";
const REG_CREDSSP: &str = "reg query \"HKLM\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Policies\\System\\CredSSP\\Parameters\" /v AllowEncryptionOracle";
const CERT_STORE: &str = "certutil -store \"Remote Desktop\"";
const MACHINEKEYS: &str = "icacls C:\\ProgramData\\Microsoft\\Crypto\\RSA\\MachineKeys";
const QWINSTA: &str = "qwinsta /server:HOST";
const CHGLOGON: &str = "chglogon /query";
const HOTFIX: &str = "powershell -NoProfile -Command \"Get-HotFix | Sort-Object InstalledOn -Descending | Select-Object -First 5\"";
const TNC: &str = "powershell -NoProfile -Command \"Test-NetConnection HOST -Port 3389\"";
const RDP_USERS: &str = "net localgroup \"Remote Desktop Users\"";

// ---------------------------------------------------------------------------------------------
// Causes shared by several scenarios.

const CAUSE_CERT: Cause = Cause {
    id: "rdp-certificate-unusable",
    title: "The server's RDP certificate or its private key cannot be used (expired self-signed \
            certificate that was not renewed, MachineKeys permissions changed, broken key set)",
    confidence: Confidence::Medium,
    basis: Basis::Reported,
    why: "The cause most often named for 0x904 / 0x7, by Microsoft's Azure troubleshooting pages \
          and many secondary pages; no first-hand 0x904 thread with it was retrievable. The \
          mechanism is uncertain: a server that cannot use its certificate fails the TLS \
          handshake, which happens before any Set Error Info could be sent, so with this cause an \
          extended code of 0x0 would be the more natural result. Cheap to check, so check it \
          first.",
    evidence: &[
        Evidence { kind: EvidenceKind::Check, what: "The certificate the server presents has expired, or no TLS version completes, or negotiation answers SSL_CERT_NOT_ON_SERVER.", command: CHECK },
        Evidence { kind: EvidenceKind::OfflineCheck, what: "Findings from the server's exported System log.", command: EXPORT_SYSTEM_AND_READ },
        Evidence { kind: EvidenceKind::Event, what: "RemoteConnectionManager 1057 (could not create the self-signed certificate) or 1058 (could not replace the expired one, often \"Access is denied\"); 1065 for an expired template certificate that could not be replaced; 1055 for a custom certificate whose key is unreadable.", command: Q_RCM_CERT },
        Evidence { kind: EvidenceKind::Event, what: "Schannel 36870 with ErrorCode 0x8009030D (SEC_E_UNKNOWN_CREDENTIALS) or 0x80090016 (NTE_BAD_KEYSET): the private key cannot be opened.", command: Q_SCHANNEL_KEY },
        Evidence { kind: EvidenceKind::Command, what: "NotAfter of the certificate in the Remote Desktop store.", command: CERT_STORE },
        Evidence { kind: EvidenceKind::Command, what: "The folder itself keeps the Windows default (KB 278381: Administrators Full control and Everyone special rights, this folder only); the RDP key file in it needs NETWORK SERVICE Read and SYSTEM and Administrators Full control. Key files do not inherit from the folder.", command: MACHINEKEYS },
    ],
    rule_out: "`rdpdoctor check HOST` shows a valid certificate and completes TLS with the \
               versions the client uses, and the server logs no 1057/1058/36870.",
    // Microsoft's procedure ("An internal error occurs when you try to connect to an Azure VM
    // through Remote Desktop"): delete the certificate, restart SessionEnv; TermService only
    // after the MachineKeys repair.
    fix: "First read what blocked renewal (RemoteConnectionManager 1057/1058/1065, Schannel \
          36870, the key file's ACL) and fix that: deleting the certificate while the key store \
          is broken leaves the server with none. Then delete the certificate from the Remote \
          Desktop store and restart the Remote Desktop Configuration service (SessionEnv) so a \
          new one is made (event 1056); restart Remote Desktop Services (TermService), which \
          ends every session, only if no new certificate appears. Do not rename the whole \
          MachineKeys folder: that discards every machine private key.",
};

const CAUSE_MIDDLEBOX: Cause = Cause {
    id: "middlebox-ended-stream",
    title: "A device that carries the TCP stream ended it: RDP tunnel, bastion / jump host, \
            proxy, gateway, VPN, IPS or load balancer",
    confidence: Confidence::Medium,
    basis: Basis::Reported,
    why: "The largest cluster of authentic reports that quote exactly 0x904 (several with \
          extended 0x7) came from intermediaries, e.g. an RDP tunnel that restarted when the \
          RDP logon switched the Windows session, or a bastion against Server 2016+. Direct RDP \
          worked in every one. 0x904 only says the stream ended under the client; it cannot \
          say who ended it.",
    evidence: &[
        Evidence { kind: EvidenceKind::Check, what: "Run the check twice: from a machine on the direct path and through the same proxy/tunnel/VPN the user has. Healthy direct and failing through the path points at the intermediary.", command: CHECK },
        Evidence { kind: EvidenceKind::Event, what: "RdpCoreTS 131 shows the source address of each accepted connection: the proxy's address instead of the client's means traffic goes through it; no 131 at all for the attempt means it never reached TermService.", command: Q_RDPCORE_131 },
    ],
    rule_out: "A direct connection from the same client (no tunnel, proxy or VPN) fails the same \
               way.",
    fix: "Update or reconfigure the intermediary (tunnel software version, bastion security \
          mode matching the target's NLA/TLS), or bypass it.",
};

const CAUSE_TLS: Cause = Cause {
    id: "tls-version-or-cipher-mismatch",
    title: "No TLS version or cipher suite in common (TLS 1.0 disabled on a server that cannot \
            do 1.2, hardened cipher lists, old server vs modern client)",
    confidence: Confidence::Medium,
    basis: Basis::Reported,
    why: "Many authentic reports, mostly from FreeRDP-based and other third-party clients. Like \
          the certificate cause, this fails during TLS, before a Set Error Info could be sent, \
          so it fits 0x904 better than the extended 0x7 (inference).",
    evidence: &[
        Evidence { kind: EvidenceKind::Check, what: "Which TLS versions the server completes, compared with what the client can do.", command: CHECK },
        Evidence { kind: EvidenceKind::OfflineCheck, what: "Findings from the server's SCHANNEL registry export and System log.", command: "reg export \"HKLM\\SYSTEM\\CurrentControlSet\\Control\\SecurityProviders\\SCHANNEL\" C:\\rdpdiag\\schannel.reg /y, then anywhere: rdpdoctor host schannel.reg" },
        Evidence { kind: EvidenceKind::Event, what: "Schannel 36871 (state 10013: no usable TLS version), 36874 (no cipher suite in common), 36888 with alert 40 handshake_failure or 70 protocol_version.", command: Q_SCHANNEL_TLS },
        Evidence { kind: EvidenceKind::Registry, what: "SCHANNEL\\Protocols\\TLS 1.x\\Server Enabled = 0 / DisabledByDefault = 1.", command: REG_SCHANNEL },
    ],
    rule_out: "The check completes TLS with a version and cipher the client supports, and the \
               server logs no 36871/36874/36888 at the time of the attempt.",
    fix: "Enable a TLS version both sides support (Server 2008 R2: install TLS 1.2 support \
          before disabling TLS 1.0); align cipher-suite policy.",
};

const CAUSE_REFUSES_LOGONS: Cause = Cause {
    id: "server-refuses-new-logons",
    title: "The server is set to refuse new connections: drain mode, logons disabled \
            (`chglogon /disable`, fLogonDisabled), TSUserEnabled = 1",
    confidence: Confidence::Low,
    basis: Basis::Inference,
    why: "The one cause that literally matches \"the server denied the connection\". An old \
          Microsoft header comment says this extended code marks an early refusal usually due \
          to RDP being disabled or policy limiting new connections. No Microsoft text confirms \
          which server settings send it. Event 1070 records a logon denied because of drain mode.",
    evidence: &[
        Evidence { kind: EvidenceKind::Check, what: "Needs the user's credentials (to get past NLA) and --full (which delegates them). The check then goes as far as the server's Set Error Info PDU and reports its code (0x7) and the phase.", command: CHECK_FULL },
        Evidence { kind: EvidenceKind::Command, what: "\"Session logins are currently DISABLED\" or drain mode.", command: CHGLOGON },
        Evidence { kind: EvidenceKind::Registry, what: "TSServerDrainMode = 1, TSUserEnabled = 1 or TSEnabled = 0 under Terminal Server; fLogonDisabled = 1 under RDP-Tcp.", command: REG_TS },
        Evidence { kind: EvidenceKind::Registry, what: "fLogonDisabled = 1 or fEnableWinStation = 0 on the listener.", command: REG_RDPTCP },
        Evidence { kind: EvidenceKind::Event, what: "RemoteConnectionManager 1070 (Operational log): a logon request denied because the server is in drain mode.", command: Q_RCM_DENY },
    ],
    rule_out: "`chglogon /query` says logons are enabled, drain mode is off and the listener \
               values are at their defaults.",
    fix: "`chglogon /enable` (or leave drain mode in RD Session Host settings) and reset the \
          listener values.",
};

const CAUSE_NLA: Cause = Cause {
    id: "nla-credssp-mismatch",
    title: "NLA / CredSSP mismatch, or (on non-Windows servers with NLA off) wrong credentials",
    confidence: Confidence::Low,
    basis: Basis::Reported,
    why: "Security-layer and CredSSP mismatches are widely reported behind \"connection lost\" \
          errors, though mstsc usually names CredSSP problems explicitly. On servers built with \
          IronRDP, a wrong password in the Client Info PDU with NLA off is answered with errorInfo \
          0x7 - a documented sender of exactly this pair.",
    evidence: &[
        Evidence { kind: EvidenceKind::Check, what: "What the server requires in negotiation, and (given the user's credentials) whether CredSSP and the logon succeed.", command: CHECK_USER },
        Evidence { kind: EvidenceKind::OfflineCheck, what: "UserAuthentication = 0 or SecurityLayer = 0 in the exported Terminal Server keys (policy wins over local).", command: "reg export \"HKLM\\SYSTEM\\CurrentControlSet\\Control\\Terminal Server\" C:\\rdpdiag\\ts.reg /y, then anywhere: rdpdoctor host ts.reg" },
        Evidence { kind: EvidenceKind::Registry, what: "UserAuthentication and SecurityLayer as applied by policy.", command: REG_TS_POLICY },
        Evidence { kind: EvidenceKind::Registry, what: "On client and server: AllowEncryptionOracle: 0 Force Updated Clients, 1 Mitigated, 2 Vulnerable; patched/unpatched pairs are blocked.", command: REG_CREDSSP },
        Evidence { kind: EvidenceKind::Event, what: "TermDD 56 (security layer error), Security 4625 (Status / SubStatus names the credential problem).", command: Q_TERMDD },
    ],
    rule_out: "The check with credentials completes CredSSP and the logon (auth-ok).",
    fix: "Keep NLA on at the server and make the other side speak it: enable CredSSP on the \
          client (enablecredsspsupport:i:1 in the .rdp file, FreeRDP /sec:nla), the bastion or \
          the proxy; patch both sides for CredSSP rather than setting AllowEncryptionOracle = 2.",
};

const CAUSE_LIMITS: Cause = Cause {
    id: "connection-slots-exhausted",
    title: "Connection or session slots are exhausted: MaxInstanceCount, one session per user, \
            or too many half-open connections (often from internet scanners)",
    confidence: Confidence::Low,
    basis: Basis::Reported,
    why: "Reported behind resets and \"internal error\" that clear after a reboot and return days \
          later; the pattern is a server that accepts TCP and then closes.",
    evidence: &[
        Evidence { kind: EvidenceKind::Check, what: "TCP accepted, then closed without an X.224 answer, while the server is otherwise healthy.", command: CHECK },
        Evidence { kind: EvidenceKind::OfflineCheck, what: "A connection or session limit set very low in the exported Terminal Server keys or policy.", command: "reg export \"HKLM\\SOFTWARE\\Policies\\Microsoft\\Windows NT\\Terminal Services\" C:\\rdpdiag\\ts-policy.reg /y, then anywhere: rdpdoctor host ts-policy.reg" },
        Evidence { kind: EvidenceKind::Command, what: "Stale or disconnected sessions holding the slots.", command: QWINSTA },
        Evidence { kind: EvidenceKind::Registry, what: "MaxInstanceCount (0xFFFFFFFF = unlimited) on the listener.", command: REG_RDPTCP },
        Evidence { kind: EvidenceKind::Registry, what: "MaxInstanceCount and fSingleSessionPerUser set by policy.", command: REG_TS_POLICY },
    ],
    rule_out: "Free slots (`qwinsta`) and no limit configured; the failure does not come and go \
               with load.",
    // `logoff` ends a session the way its user would; `reset session` (rwinsta) deletes it
    // without letting programs save (Microsoft Learn, windows-commands "logoff", "reset session").
    fix: "List the sessions (`query session /server:HOST`), and once you know who owns a stale \
          one, log it off (`logoff ID /server:HOST`) rather than resetting it (`rwinsta` discards \
          unsaved work); raise or remove the limit, and stop exposing 3389 to the internet.",
};

const CAUSE_UPDATE: Cause = Cause {
    id: "update-regression",
    title: "A Windows update regression on the client or the server",
    confidence: Confidence::Low,
    basis: Basis::Reported,
    why: "Several update waves broke RDP for many hosts at once (CredSSP 2018, 2024 RD Gateway \
          drops, January 2026 credential prompts). The sign is \"nothing changed except Patch \
          Tuesday\" and many hosts failing together.",
    evidence: &[Evidence {
        kind: EvidenceKind::Command,
        what: "On client and server: updates installed just before the failures started, on both sides.",
        command: HOTFIX,
    }],
    rule_out: "No update on either side around the time the failures started.",
    fix: "Install the follow-up / out-of-band fix or Known Issue Rollback; meanwhile try another \
          client (mstsc, Windows App, web client).",
};

const CAUSE_TCP_BLOCKED: Cause = Cause {
    id: "tcp-blocked",
    title: "The RDP port is blocked or nothing listens: firewall (or a rule scoped to the wrong \
            network profile), RDP disabled, listener down, non-default port",
    confidence: Confidence::High,
    basis: Basis::Documented,
    why: "0x204 is documented as a failed TCP connect: the connection never reached RDP.",
    evidence: &[
        Evidence { kind: EvidenceKind::Check, what: "Filtered (dropped), refused (nothing listens) or a name that does not resolve.", command: CHECK },
        Evidence { kind: EvidenceKind::OfflineCheck, what: "fDenyTSConnections = 1, PortNumber other than 3389, firewall drops in the exports.", command: "reg export \"HKLM\\SYSTEM\\CurrentControlSet\\Control\\Terminal Server\" C:\\rdpdiag\\ts.reg /y, then anywhere: rdpdoctor host ts.reg" },
        Evidence { kind: EvidenceKind::Command, what: "Run on the client: TcpTestSucceeded False from the client's network.", command: TNC },
        Evidence { kind: EvidenceKind::Registry, what: "fDenyTSConnections = 1 (policy wins) and PortNumber.", command: REG_TS },
    ],
    rule_out: "The check reaches the X.224 answer from the same network as the client.",
    fix: "Allow the real RDP port in the firewall for the active profile, enable Remote Desktop, \
          start TermService, connect to the right port.",
};

const CAUSE_SERVER_CLOSED: Cause = Cause {
    id: "server-ended-session",
    title: "The server ended the session on purpose without a reason code: an administrator or \
            tool, a session time limit, a service restart",
    confidence: Confidence::Medium,
    basis: Basis::Documented,
    why: "0x3 with extended 0x0 is documented as a server-side disconnect that is not an error \
          and carries no reason: only the server's logs can say why.",
    evidence: &[
        Evidence { kind: EvidenceKind::Event, what: "LocalSessionManager 40: session disconnected with a reason code (same numbering as the extended reasons).", command: Q_LSM_40 },
        Evidence { kind: EvidenceKind::Event, what: "RdpCoreTS 102/103 (server terminated the connection, reason), 97/139/226 (protocol or state-machine errors).", command: Q_RDPCORE_ERR },
        Evidence { kind: EvidenceKind::Registry, what: "MaxIdleTime, MaxConnectionTime, MaxDisconnectionTime session limits set by policy.", command: REG_TS_POLICY },
    ],
    rule_out: "Nothing at the time of the disconnect in the session logs.",
    fix: "Depends on what the server logs say.",
};

const CAUSE_DISPLAY_DRIVER: Cause = Cause {
    id: "session-display-driver-failed",
    title: "The display driver (or graphics stack) inside the remote session failed",
    confidence: Confidence::High,
    basis: Basis::Documented,
    why: "MS-RDPBCGR 2.2.5.1.1 defines errorInfo 0x11 as the display driver failing its startup \
          tasks.",
    evidence: &[
        Evidence {
            kind: EvidenceKind::Event,
            what: "RdpCoreTS errors and state transitions around the disconnect.",
            command: Q_RDPCORE_ERR,
        },
        Evidence {
            kind: EvidenceKind::Command,
            what: "Recently changed display / GPU drivers on the server.",
            command: "driverquery /v | findstr /i display",
        },
    ],
    rule_out: "The same session starts fine with one monitor at a lower resolution.",
    fix: "Update or roll back the server's display/GPU driver; reduce monitors or resolution.",
};

const CAUSE_GRAPHICS: Cause = Cause {
    id: "server-graphics-failed",
    title: "The server's graphics subsystem failed: memory pressure, many monitors or very \
            large resolutions",
    confidence: Confidence::Medium,
    basis: Basis::Reported,
    why: "Documented as a server graphics failure; reports tie it to low memory (server or \
          client) and multi-monitor or high-resolution sessions, disconnecting about a second \
          after the desktop appears.",
    evidence: &[
        Evidence { kind: EvidenceKind::Command, what: "Free memory on the server at the time.", command: "powershell -NoProfile -Command \"Get-CimInstance Win32_OperatingSystem | Select-Object FreePhysicalMemory,TotalVisibleMemorySize\"" },
        Evidence { kind: EvidenceKind::Event, what: "RdpCoreTS errors around the disconnect.", command: Q_RDPCORE_ERR },
    ],
    rule_out: "The failure persists with one monitor, low resolution and plenty of free memory.",
    fix: "Free memory or reboot; fewer monitors, lower resolution or colour depth.",
};

const CAUSE_ORACLE: Cause = Cause {
    id: "credssp-oracle-remediation",
    title: "CredSSP encryption-oracle remediation (CVE-2018-0886): one side patched, the other \
            not, and the policy blocks the pair",
    confidence: Confidence::High,
    basis: Basis::Documented,
    why: "Microsoft's support article documents the blocked combinations; mstsc's text names the \
          cause (\"This could be due to CredSSP encryption oracle remediation\"; older clients \
          show only \"The function requested is not supported\").",
    evidence: &[
        Evidence { kind: EvidenceKind::Check, what: "Given the user's credentials: CredSSP version / behaviour of the server compared with the client's policy.", command: CHECK_USER },
        Evidence { kind: EvidenceKind::Registry, what: "On client and server: AllowEncryptionOracle (0 Force Updated Clients, 1 Mitigated, 2 Vulnerable).", command: REG_CREDSSP },
        Evidence { kind: EvidenceKind::Command, what: "On client and server: patch level (tspkg.dll versions per the support article).", command: HOTFIX },
    ],
    rule_out: "Both sides have the May 2018 (or later) updates.",
    fix: "Patch the unpatched side. Setting AllowEncryptionOracle = 2 on the client only works \
          around it and weakens security.",
};

const CAUSE_TLS_VERSION_ALERT: Cause = Cause {
    id: "tls-protocol-version",
    title: "TLS version not supported by one side (Schannel maps alert 70 to this status)",
    confidence: Confidence::Medium,
    basis: Basis::Documented,
    why: "Schannel's alert table maps protocol_version (70) to SEC_E_UNSUPPORTED_FUNCTION, so \
          the same text appears when no TLS version is shared.",
    evidence: &[
        Evidence {
            kind: EvidenceKind::Check,
            what: "Which TLS versions the server completes.",
            command: CHECK,
        },
        Evidence {
            kind: EvidenceKind::Event,
            what: "Schannel 36888 / 36887 with alert 70.",
            command: Q_SCHANNEL_TLS,
        },
    ],
    rule_out: "TLS completes; the error appears only after the credentials are sent.",
    fix: "Enable a TLS version both sides support.",
};

const CAUSE_LOGON_RIGHT: Cause = Cause {
    id: "missing-rds-logon-right",
    title: "The account is not allowed to log on through Remote Desktop Services (not in Remote \
            Desktop Users / Administrators, or a Deny right applies)",
    confidence: Confidence::High,
    basis: Basis::Documented,
    why: "STATUS_LOGON_TYPE_NOT_GRANTED means the credentials were right but the logon type \
          (RemoteInteractive) is not granted to the account.",
    evidence: &[
        Evidence { kind: EvidenceKind::Check, what: "Given the user's credentials: the logon is refused for lack of the right.", command: CHECK_USER },
        Evidence { kind: EvidenceKind::Event, what: "Security 4625 with SubStatus 0xC000015B, or 4825 (user denied access to Remote Desktop).", command: Q_SECURITY_AUTH },
        Evidence { kind: EvidenceKind::Command, what: "Whether the user (or a group of theirs) is a member.", command: RDP_USERS },
        Evidence { kind: EvidenceKind::Command, what: "\"Allow log on through Remote Desktop Services\" / \"Deny log on through Remote Desktop Services\" in the applied policy.", command: "gpresult /h C:\\rdpdiag\\gpresult.html" },
    ],
    rule_out: "The user is in Remote Desktop Users (or Administrators) and no Deny right applies.",
    fix: "Add the user or group to Remote Desktop Users, or fix the user-rights policy.",
};

const CAUSE_BAD_CREDS: Cause = Cause {
    id: "wrong-credentials",
    title: "Wrong user name or password (or the wrong domain / user-name format)",
    confidence: Confidence::High,
    basis: Basis::Documented,
    why: "The status itself says the logon failed for unknown user or bad password.",
    evidence: &[
        Evidence { kind: EvidenceKind::Check, what: "Given the same credentials, the check reports a logon failure.", command: CHECK_USER },
        Evidence { kind: EvidenceKind::Event, what: "Security 4625: Status / SubStatus 0xC000006A (bad password) or 0xC0000064 (no such user); with NLA the LogonType is 3, not 10.", command: Q_SECURITY_AUTH },
    ],
    rule_out: "The same credentials work for another logon to that server.",
    fix: "Use the right account and format (DOMAIN\\user or user@domain; .\\user for local).",
};

// ---------------------------------------------------------------------------------------------
// Popular explanations that do not fit.

const NF_WIN32_7: NotFit = NotFit {
    claim: "\"0x7 is ERROR_ARENA_TRASHED / out of memory\" (Win32 error 7)",
    why_not: "The extended code has its own numbering: 7 is exDiscReasonServerDeniedConnection. \
              Out of memory is extended 6.",
};
const NF_LICENSE_CACHE: NotFit = NotFit {
    claim: "\"Delete the client's MSLicensing cache, it fixes most cases\"",
    why_not: "No authentic report supports it for 0x904 / 0x7. Licensing failures have their own \
              codes (disconnect 0x808 / 0x908, extended 256–267, errorInfo 0x100–0x10A). The \
              licensing message code 0x7 (STATUS_VALID_CLIENT) means success.",
};
const NF_904_MEANINGS: NotFit = NotFit {
    claim: "\"0x904 means licensing failure / session lock failure / SSL_ERR_PROTOCOL_VERSION / \
            SSL_ERR_NO_AUTH_CERT / a TLS time-out after 23 seconds\"",
    why_not: "0x904 is documented only as \"socket closed\". The SSL_ERR_* codes have numbers of \
              their own (0x807, 0xA07, …).",
};
const NF_PLAIN_FIREWALL: NotFit = NotFit {
    claim: "\"A firewall is blocking port 3389\" (or the network profile flipped to Public)",
    why_not: "A blocked port gives a connect failure (0x204) or a time-out (0x108), not a socket \
              closed after connecting. A firewall, IPS or AV that resets an *established* \
              connection can give 0x904; that is the intermediary cause above.",
};
const NF_RENAME_MACHINEKEYS: NotFit = NotFit {
    claim: "\"Rename the whole MachineKeys folder\" as the fix",
    why_not: "It throws away every machine private key on the server (IIS, WinRM over HTTPS, …). \
              Fix the folder's permissions and regenerate only the RDP certificate.",
};
const NF_CREDENTIALS: NotFit = NotFit {
    claim: "\"The server rejected your password\"",
    why_not: "With NLA on a Windows server, bad credentials end as SSL_ERR_LOGON_FAILURE (0x807) \
              or a new prompt, not 0x904 / 0x7. Exception: some non-Windows servers (IronRDP) \
              with NLA off answer a wrong password with errorInfo 0x7.",
};
const NF_DNS: NotFit = NotFit {
    claim: "\"It's DNS, connect by IP\"",
    why_not: "DNS failures have their own codes (0x104, 0x208, 0x508, 0x604). It fits only when \
              the name points at a different machine; `rdpdoctor check HOST` shows that as \
              host-identity-mismatch.",
};
const NF_CODE_IS_DIAGNOSIS: NotFit = NotFit {
    claim: "Any specific cause read from 0x3 / 0x0 alone",
    why_not: "The code says the server disconnected and gave no reason. Everything else must come \
              from the server's logs.",
};
const NF_UDP_11: NotFit = NotFit {
    claim:
        "\"0x3 / 0x11 is the officially documented UDP/NAT time-out: set fClientDisableUDP = 1\"",
    why_not:
        "No such documentation exists. errorInfo 0x11 is ERRINFO_CLOSE_STACK_ON_DRIVER_FAILURE: \
              the display driver in the session failed.",
};
const NF_ORACLE_PERMANENT: NotFit = NotFit {
    claim: "\"Set AllowEncryptionOracle = 2 and you are done\"",
    why_not: "It re-opens CVE-2018-0886 and is meant as a temporary workaround; patching the \
              unpatched side is the fix.",
};
const NF_DISABLE_NLA: NotFit = NotFit {
    claim: "\"Disable NLA first\" (UserAuthentication = 0) as the fix",
    why_not: "NLA runs inside TLS, so it cannot cure a certificate or TLS failure: the handshake \
              still fails with NLA off. It removes the check that keeps unauthenticated users \
              from a logon screen and a session (BlueKeep-class attack surface). Keep NLA on and \
              fix the certificate, or enable CredSSP on the client, bastion or proxy.",
};
const NF_SECURITY_LAYER_RDP: NotFit = NotFit {
    claim: "\"Set the security layer to RDP\" (SecurityLayer = 0)",
    why_not: "It trades TLS for legacy RC4 Standard RDP Security: the server can no longer prove \
              its identity, NLA becomes impossible, and clients that require TLS or NLA stop \
              connecting. It hides a broken certificate instead of repairing it.",
};
const NF_NLA_LATENCY: NotFit = NotFit {
    claim: "\"NLA fails because of latency: switch to the older authentication\"",
    why_not: "Latency slows CredSSP down but does not turn it into a socket close with a server \
              denial; NLA failures have codes of their own (0x807 logon failure, \"The function \
              requested is not supported\" for the CredSSP oracle). The older authentication is \
              the pre-NLA logon screen, with the same exposure as disabling NLA.",
};
const NF_CREDS_NOT_TCP: NotFit = NotFit {
    claim: "\"It's a credential or certificate problem\"",
    why_not: "With 0x204 the TCP connection never opened, so neither credentials nor \
              certificates were exchanged.",
};

// ---------------------------------------------------------------------------------------------
// Scenarios.

const D: Family = Family::Disconnect;
const X: Family = Family::Extended;
const E: Family = Family::Errinfo;

pub const SCENARIOS: &[Scenario] = &[
    Scenario {
        id: "socket-closed-server-denied",
        title: "0x904 with extended 0x7: socket closed after the server denied the connection",
        when: &[
            &[code(D, 0x904), code(X, 7)],
            &[code(D, 0x904), code(E, 7)],
            &[code(X, 7)],
            &[code(E, 7)],
            &[code(Family::Freerdp, 7)],
        ],
        step: Step {
            summary: "The TCP connection was open and was then closed (by the server or something \
                      in between), and \
                      the client recorded that the server denied the connection. Most likely \
                      the connection got past TCP and the security handshake and the server \
                      then refused it on purpose, without saying why.",
            facts: &[
                "0x904 (2308) disconnectReasonAtClientWinsockFDCLOSE = \"Socket closed.\" (IMsTscAxEvents::OnDisconnected)",
                "Extended 0x7 exDiscReasonServerDeniedConnection = \"The server denied the connection.\" (ExtendedDisconnectReasonCode)",
                "errorInfo 0x00000007 ERRINFO_SERVER_DENIED_CONNECTION = \"The server denied the connection.\" (MS-RDPBCGR 2.2.5.1.1)",
                "Set Error Info: \"This PDU MUST NOT be sent to a client which has not indicated support for it\"; \"After the PDU has been sent the server MUST disconnect the client\" (MS-RDPBCGR 3.3.5.7.1)",
            ],
            inference: "If the 7 came from a Set Error Info PDU, the connection got past TCP, the \
                        X.224 negotiation, TLS / CredSSP and the MCS connect before the server \
                        refused it. That would make it a deliberate refusal after the \
                        handshake, not a TCP, TLS or certificate failure.",
            caveats: &[
                "The close may come from the server or from anything in between: \"Socket closed\" does not say which side closed it.",
                "Microsoft does not state that mstsc sets extended 0x7 only from that PDU; the mapping rests on the identical numbering.",
                "0x904 only says who noticed: a firewall, IPS, tunnel or gateway that ends the stream raises it too.",
                "The same root cause has been reported as 0x904 / 0x0 and 0x904 / 0x7 (one tunnel bug, two reports), so the pair narrows the step less than it seems.",
            ],
        },
        ranking: "Ranked by how often authentic reports tie the cause to this pair, then by how \
                  cheap it is to check. None is documented by Microsoft as a trigger of \
                  errorInfo 0x7.",
        causes: &[CAUSE_CERT, CAUSE_MIDDLEBOX, CAUSE_TLS, CAUSE_REFUSES_LOGONS, CAUSE_NLA, CAUSE_LIMITS, CAUSE_UPDATE],
        does_not_fit: &[NF_WIN32_7, NF_LICENSE_CACHE, NF_904_MEANINGS, NF_PLAIN_FIREWALL, NF_CREDENTIALS, NF_RENAME_MACHINEKEYS, NF_DNS, NF_DISABLE_NLA, NF_SECURITY_LAYER_RDP, NF_NLA_LATENCY],
    },
    Scenario {
        id: "socket-closed",
        title: "0x904: socket closed",
        when: &[&[code(D, 0x904), code(X, 0)], &[code(D, 0x904)]],
        step: Step {
            summary: "TCP connected, then the stream ended under the client. The code says \
                      nothing about who ended it or why.",
            facts: &[
                "0x904 (2308) disconnectReasonAtClientWinsockFDCLOSE = \"Socket closed.\" (IMsTscAxEvents::OnDisconnected)",
            ],
            inference: "With extended 0x0 the server sent no Set Error Info, so the close \
                        probably happened before the connection sequence finished (TLS, \
                        CredSSP) or was done by something in between.",
            caveats: &[
                "Read the extended code if the client showed one: a non-zero value says more than 0x904.",
                "RDPClient event 1026 records it as Reason 2308, without the extended code (seen in captures).",
            ],
        },
        ranking: "Ranked by how often authentic reports tie the cause to a bare socket close, \
                  then by how cheap it is to check.",
        causes: &[CAUSE_MIDDLEBOX, CAUSE_CERT, CAUSE_TLS, CAUSE_LIMITS, CAUSE_NLA, CAUSE_UPDATE],
        does_not_fit: &[NF_904_MEANINGS, NF_PLAIN_FIREWALL, NF_LICENSE_CACHE, NF_RENAME_MACHINEKEYS, NF_DISABLE_NLA, NF_SECURITY_LAYER_RDP, NF_NLA_LATENCY],
    },
    Scenario {
        id: "socket-connect-failed",
        title: "0x204: the TCP connection could not be opened",
        when: &[&[code(D, 0x204)], &[code(D, 0x108)]],
        step: Step {
            summary: "The client never got a TCP connection (0x204), or gave up waiting for one \
                      (0x108). Nothing of RDP happened yet.",
            facts: &[
                "0x204 (516) disconnectReasonSocketConnectFailed = \"Windows Sockets connect failed.\" (IMsTscAxEvents::OnDisconnected)",
                "0x108 (264) disconnectReasonConnectionTimedOut = \"Connection timed out.\" (IMsTscAxEvents::OnDisconnected)",
            ],
            inference: "A refused connection means nothing listens on that port; a time-out \
                        means packets are dropped (firewall) or the host is unreachable.",
            caveats: &[],
        },
        ranking: "Ranked by how directly the code names the cause.",
        causes: &[CAUSE_TCP_BLOCKED],
        does_not_fit: &[NF_CREDS_NOT_TCP],
    },
    Scenario {
        id: "server-disconnect-no-reason",
        title: "0x3 with extended 0x0: the server disconnected and gave no reason",
        when: &[&[code(D, 0x3), code(X, 0)], &[code(D, 0x3)]],
        step: Step {
            summary: "The server closed the connection on purpose and sent no reason code.",
            facts: &[
                "0x3 disconnectReasonByServer = \"Remote disconnection by server. This is not an error code.\" (IMsTscAxEvents::OnDisconnected)",
                "Extended 0x0 exDiscReasonNoInfo = \"No additional information is available.\" (ExtendedDisconnectReasonCode)",
            ],
            inference: "",
            caveats: &["The code carries no diagnosis: read the server's logs for the time of the disconnect."],
        },
        ranking: "Only one cause can be named from the code; the logs decide.",
        causes: &[CAUSE_SERVER_CLOSED, CAUSE_LIMITS],
        does_not_fit: &[NF_CODE_IS_DIAGNOSIS],
    },
    Scenario {
        id: "display-driver-failure",
        title: "Extended / errorInfo 0x11: the display driver in the session failed",
        when: &[&[code(D, 0x3), code(E, 0x11)], &[code(E, 0x11)]],
        step: Step {
            summary: "The connection and logon worked; the session's display driver failed, \
                      so the server closed the session.",
            facts: &["errorInfo 0x11 ERRINFO_CLOSE_STACK_ON_DRIVER_FAILURE = \"The display driver in the remote session was unable to complete all the tasks required for startup.\" (MS-RDPBCGR 2.2.5.1.1)"],
            inference: "",
            caveats: &[],
        },
        ranking: "Documented meaning first.",
        causes: &[CAUSE_DISPLAY_DRIVER, CAUSE_GRAPHICS],
        does_not_fit: &[NF_UDP_11],
    },
    Scenario {
        id: "graphics-subsystem-failed",
        title: "0x112F: the server's graphics subsystem failed",
        when: &[&[code(E, 0x112F)]],
        step: Step {
            summary: "The session was up; the server's graphics subsystem went into an error \
                      state and the server closed the connection.",
            facts: &["errorInfo 0x112F ERRINFO_GRAPHICSSUBSYSTEMFAILED = \"The server-side graphics subsystem is in an error state and unable to continue graphics encoding.\" (MS-RDPBCGR 2.2.5.1.1)"],
            inference: "",
            caveats: &[],
        },
        ranking: "Ranked by authentic reports.",
        causes: &[CAUSE_GRAPHICS, CAUSE_DISPLAY_DRIVER],
        does_not_fit: &[],
    },
    Scenario {
        id: "credssp-unsupported-function",
        title: "SEC_E_UNSUPPORTED_FUNCTION: \"The function requested is not supported\"",
        when: &[&[code(Family::Hresult, 0x8009_0302)]],
        step: Step {
            summary: "Authentication (CredSSP) or the TLS handshake under it failed after the \
                      credentials were entered.",
            facts: &[
                "0x80090302 SEC_E_UNSUPPORTED_FUNCTION = \"The function requested is not supported\" (winerror.h)",
                "TLS alert 70 protocol_version = \"SEC_E_UNSUPPORTED_FUNCTION\" (Schannel error codes for TLS and SSL alerts)",
            ],
            inference: "When mstsc adds \"This could be due to CredSSP encryption oracle \
                        remediation\", the CredSSP cause is nearly certain.",
            caveats: &[],
        },
        ranking: "Documented causes, most common first.",
        causes: &[CAUSE_ORACLE, CAUSE_TLS_VERSION_ALERT],
        does_not_fit: &[NF_ORACLE_PERMANENT],
    },
    Scenario {
        id: "logon-type-not-granted",
        title: "STATUS_LOGON_TYPE_NOT_GRANTED: the account may not log on through Remote Desktop",
        when: &[&[code(Family::Ntstatus, 0xC000_015B)], &[code(Family::Freerdp, 0x0002_001A)], &[code(Family::Freerdp, 158)]],
        step: Step {
            summary: "Authentication worked (the password was right); authorization for a \
                      Remote Desktop logon was refused.",
            facts: &["0xC000015B STATUS_LOGON_TYPE_NOT_GRANTED = \"A user has requested a type of logon (for example, interactive or network) that has not been granted.\" (MS-ERREF 2.3.1)"],
            inference: "",
            caveats: &[],
        },
        ranking: "Documented meaning.",
        causes: &[CAUSE_LOGON_RIGHT],
        does_not_fit: &[NotFit {
            claim: "\"The password is wrong\"",
            why_not: "A wrong password gives STATUS_LOGON_FAILURE / STATUS_WRONG_PASSWORD; this \
                      status comes after the credentials were accepted.",
        }],
    },
    Scenario {
        id: "logon-failure",
        title: "Logon failure: wrong user name or password",
        when: &[
            &[code(Family::Ntstatus, 0xC000_006D)],
            &[code(Family::Ntstatus, 0xC000_006A)],
            &[code(D, 0x807)],
            &[code(Family::Freerdp, 0x0002_0014)],
            &[code(Family::Freerdp, 0x0002_0015)],
        ],
        step: Step {
            summary: "NLA (CredSSP) got as far as checking the credentials, and they were \
                      rejected.",
            facts: &[
                "0xC000006D STATUS_LOGON_FAILURE = \"The attempted logon is invalid. This is either due to a bad username or authentication information.\" (MS-ERREF 2.3.1)",
                "0xC000006A STATUS_WRONG_PASSWORD = \"When trying to update a password, this return status indicates that the value provided as the current password is not correct.\" (MS-ERREF 2.3.1)",
            ],
            inference: "mstsc most likely shows this as 0x807 SSL_ERR_LOGON_FAILURE; the link \
                        between the NTSTATUS and mstsc's 0x807 is an inference from the names.",
            caveats: &[],
        },
        ranking: "Documented meaning.",
        causes: &[CAUSE_BAD_CREDS],
        does_not_fit: &[],
    },
];
