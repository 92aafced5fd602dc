//! The finding of `check --clients`.

use super::{ClientCodes, FindingDef, FixDef, Verdict};
use crate::model::{Severity, Step};
use crate::FindingId;

pub(super) const ENTRIES: &[FindingDef] = &[FindingDef {
    id: FindingId::ClientsFail,
    step: Step::Tls,
    severity: Severity::Warning,
    severity_rule: "Warning: some client profiles cannot connect (each named in the evidence with the step and the reason); blocking when the profile chosen with --client is among them.",
    title: "Some clients cannot connect",
    breaks_some_clients: true,
    verdict: Verdict::Ordinary,
    explains: &[],
    explanation: "Each client profile's handshake was simulated against the TLS versions, cipher suites, key-exchange groups, certificate and CredSSP version the server showed: the profiles named in the evidence fail at the step given. Typical causes are a TLS policy narrower than old clients can meet (TLS 1.2 with ECDHE and AES-GCM only shuts out Windows 7 and 8.1, TLS 1.3 only shuts out Windows 10) or one older than new clients accept (TLS 1.0/1.1 only, RSA key exchange with CBC suites only, which rustls-based clients such as IronRDP do not implement).",
    fixes: &[
        FixDef {
            text: "Decide which clients must connect, then widen the server's TLS policy to include one suite and version each of them offers (the matrix shows what each lacks); on Windows the cipher-suite order is set by Group Policy: Computer Configuration > Administrative Templates > Network > SSL Configuration Settings > SSL Cipher Suite Order",
            commands: &["Get-TlsCipherSuite | Format-Table Name,Protocols"],
        },
        FixDef {
            text: "On xrdp, set ssl_protocols and tls_ciphers in xrdp.ini (for example ssl_protocols=TLSv1.2, TLSv1.3 and tls_ciphers=HIGH), then restart xrdp",
            commands: &[],
        },
        FixDef {
            text: "Or update the clients that fail: KB3080079 gives Windows 7 / Server 2008 R2 TLS 1.1 and 1.2 for Remote Desktop; Windows 10 and later have ECDHE with AES-GCM",
            commands: &[],
        },
    ],
    client_codes: ClientCodes::NONE,
    client: None,
}];
