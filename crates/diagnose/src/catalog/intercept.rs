//! Catalog entries for signs that something other than the server terminates the connection (a
//! certificate other than the one remembered for the target, the signs weighed together), and
//! for the healthy changes that are not such signs: a renewal, another node of a farm, the TLS
//! terminator the admin expects.

use super::{ClientCodes, ClientDef, FindingDef, FixDef, Verdict, LISTENER_CERT};
use crate::model::{Severity, Step};
use crate::FindingId;

pub(super) const ENTRIES: &[FindingDef] = &[
    FindingDef {
        id: FindingId::CertChanged,
        step: Step::Certificate,
        severity: Severity::Warning,
        severity_rule: "Always a warning: a change that is neither a renewal (cert-renewed) nor another node of a farm (farm-node-changed); another key is a sign that interception-suspected weighs.",
        title: "The certificate is not the one remembered for this target",
        breaks_some_clients: false,
        verdict: Verdict::Ordinary,
        explains: &[],
        explanation: "An earlier check of the same target (host:port) saw another certificate and remembered it (--known-certs, \
            as mstsc and ssh remember what they were shown). Certificates change for two reasons: a renewal (the same \
            subject and issuer, newer validity dates, often a new key; Windows renews its self-signed Remote Desktop \
            certificate every six months, and a CA-issued one is replaced before it expires) or something else \
            answering in the server's place (an interceptor presents a certificate it made, cloned from the real one \
            with its own key). The evidence shows both certificates and whether the change looks like a renewal.",
        fixes: &[
            FixDef {
                text: "Compare the SHA-1 thumbprint shown here with the certificate the RDP listener uses (on the server): its thumbprint is in Win32_TSGeneralSetting.SSLCertificateSHA1Hash, and the certificate is in LocalMachine\\My when a CA or template certificate is bound, in LocalMachine\\Remote Desktop when it is the self-signed one",
                commands: &[
                    LISTENER_CERT,
                    r#"Get-ChildItem Cert:\LocalMachine\My,"Cert:\LocalMachine\Remote Desktop" | Where-Object Thumbprint -eq '{sha1}' | Format-List PSParentPath,Subject,Issuer,Thumbprint,NotBefore,NotAfter"#,
                ],
            },
            FixDef {
                text: "If the server shows the same certificate (a renewal you expected), remember the new one",
                commands: &["rdpdoctor check {host}:{port} --accept-changed-cert"],
            },
            FixDef {
                text: "If the server shows another certificate, something in the path answers in its place: do not log on through it; check from the server's own network",
                commands: &[],
            },
        ],
        client_codes: ClientCodes::NONE,
        client: Some(ClientDef {
            text: "mstsc shows its certificate warning again (\"The identity of the remote computer cannot be verified\") for a server whose certificate it had been told to trust",
            likely: true,
        }),
    },
    FindingDef {
        id: FindingId::InterceptionSuspected,
        step: Step::Tls,
        severity: Severity::Warning,
        severity_rule: "Blocking with two or more signs, or with proof (a CredSSP pubKeyAuth that does not verify); a warning with one sign.",
        title: "Something other than the server may terminate the connection",
        breaks_some_clients: false,
        verdict: Verdict::Headline { rank: 1 },
        explains: &[],
        explanation: "An interceptor (pyrdp-mitm and its kind, an inspecting proxy, a compromised jump host) terminates the \
            client's connection and opens its own to the server. Each leaves marks: it answers the X.224 request with a \
            protocol it chose rather than one the client asked for, it presents a certificate with its own key (not the \
            one pinned or remembered), its own TLS stack often refuses a version the server completed with the \
            remembered certificate (TLS 1.3 gone), the names in the NTLM CHALLENGE belong to another machine than the certificate, \
            and it cannot produce the CredSSP pubKeyAuth for the key the client sees. One sign can have an innocent \
            cause (a renewal, a broken proxy); several together, or a pubKeyAuth that does not verify, mean the \
            connection is not end to end. rdpdoctor does not send an NTLM AUTHENTICATE (a crackable hash of the \
            password) through such a connection unless the certificate on it matches --cert-sha256.",
        fixes: &[
            FixDef {
                text: "Do not log on through this path. Check the server from its own network, and compare the SHA-1 thumbprint shown here ({sha1}) with the one the RDP listener uses (Win32_TSGeneralSetting.SSLCertificateSHA1Hash, on the server)",
                commands: &[LISTENER_CERT],
            },
            FixDef {
                text: "If the path is yours and the certificate is the server's, pin it so later checks (and --user) trust exactly that one (leaf:, or ca: for the issuing CA, spki: for the key; repeat the flag for several)",
                commands: &["rdpdoctor check {host}:{port} --cert-sha256 FINGERPRINT --user 'DOMAIN\\user'"],
            },
            FixDef {
                text: "If the terminator is a proxy or bastion you run on purpose (it re-terminates TLS), name it so it is checked rather than suspected",
                commands: &["rdpdoctor check {host}:{port} --expect-terminator TERMINATOR-SHA256"],
            },
            FixDef {
                text: "If an NTLM response already went through it (a credssp-pubkey-mismatch), treat that account's password as exposed and change it",
                commands: &[],
            },
        ],
        client_codes: ClientCodes::NONE,
        client: Some(ClientDef {
            text: "mstsc shows a certificate warning, or \"An authentication error has occurred\" when the pubKeyAuth does not verify; users who click through the warning hand their credentials to the interceptor",
            likely: true,
        }),
    },
    FindingDef {
        id: FindingId::CertRenewed,
        step: Step::Certificate,
        severity: Severity::Info,
        severity_rule: "Always info: a renewal is routine.",
        title: "The certificate was renewed since the last check",
        breaks_some_clients: false,
        verdict: Verdict::Ordinary,
        explains: &[],
        explanation: "The server presents another certificate than the one remembered for this target, and it is a \
            renewal: the same subject, names and issuer, valid from a later date, while the remembered one had expired \
            or was due within 30 days (or the new chain verifies for the name typed). Windows renews its self-signed \
            Remote Desktop certificate before it expires, and auto-enrolment renews a template certificate, often with \
            a new key. The remembered entry is updated; this is no sign of interception (a clone such as pyrdp-mitm's \
            keeps the original notBefore, so it is never taken for a renewal). Both fingerprints are in the evidence.",
        fixes: &[FixDef {
            text: "Nothing to do. To confirm, compare the new SHA-1 thumbprint with the one the RDP listener uses, on the server",
            commands: &[LISTENER_CERT],
        }],
        client_codes: ClientCodes::NONE,
        client: Some(ClientDef {
            text: "mstsc asks again about a self-signed certificate it had been told to trust (\"The identity of the remote computer cannot be verified\"); a CA-issued one goes through silently",
            likely: false,
        }),
    },
    FindingDef {
        id: FindingId::FarmNodeChanged,
        step: Step::Certificate,
        severity: Severity::Info,
        severity_rule: "Always info: another node of a farm is routine.",
        title: "Another node of a farm answered behind the same name",
        breaks_some_clients: false,
        verdict: Verdict::Ordinary,
        explains: &[],
        explanation: "The target (one name and port) leads to several session hosts, through a load balancer or DNS round \
            robin, and each presents its own certificate. This check reached a node not seen before: its NTLM CHALLENGE \
            names another computer than the remembered certificates came from, its certificate agrees with that name, \
            and it bears no mark of a clone (an interceptor copies the remembered certificate's subject and dates). It is \
            remembered beside the others (up to 8 nodes per target). An interceptor can also invent a name: the other \
            signs (a protocol selected outside the request, a clone, TLS 1.3 gone with a clone) still count.",
        fixes: &[
            FixDef {
                text: "Nothing to do if the computer named in the evidence is one of your session hosts. To pin the whole farm, pin the issuing CA or each node's certificate (the flag may be repeated)",
                commands: &["rdpdoctor check {host}:{port} --cert-sha256 ca:CA-SHA256"],
            },
            FixDef {
                text: "If that computer is not one of yours, something else answers for the name: check the load balancer's pool and the DNS records",
                commands: &["Resolve-DnsName {host}"],
            },
        ],
        client_codes: ClientCodes::NONE,
        client: Some(ClientDef {
            text: "mstsc asks about each node's self-signed certificate the first time it lands there (\"The identity of the remote computer cannot be verified\")",
            likely: false,
        }),
    },
    FindingDef {
        id: FindingId::ExpectedTerminator,
        step: Step::Tls,
        severity: Severity::Info,
        severity_rule: "Always info: the admin named this terminator.",
        title: "TLS ends at the terminator you named (--expect-terminator)",
        breaks_some_clients: false,
        verdict: Verdict::Ordinary,
        explains: &[],
        explanation: "A PAM proxy, bastion or gateway that re-terminates TLS on purpose presents its own certificate, \
            selects protocols and answers NTLM itself: from the client, that looks like interception. --expect-terminator \
            names its certificate (leaf:, ca: for its issuing CA, or spki:), and the certificate presented matches it, \
            so what it does is reported here as facts, not as signs, and --user may log on through it. A terminator \
            other than the one named is reported as a sign of interception instead.",
        fixes: &[FixDef {
            text: "Nothing to do. When the terminator's certificate is renewed, give the new fingerprint (or pin its issuing CA with ca:)",
            commands: &["rdpdoctor check {host}:{port} --expect-terminator ca:CA-SHA256"],
        }],
        client_codes: ClientCodes::NONE,
        client: None,
    },
];
