//! Catalog entries for signs that something other than the server terminates the connection: a
//! certificate other than the one remembered for the target, and the signs weighed together.

use super::{ClientCodes, ClientDef, FindingDef, FixDef};
use crate::model::{Severity, Step};
use crate::FindingId;

pub(super) const ENTRIES: &[FindingDef] = &[
    FindingDef {
        id: FindingId::CertChanged,
        step: Step::Certificate,
        severity: Severity::Warning,
        severity_rule: "Always a warning: a renewal is routine, another key is a sign that interception-suspected weighs.",
        title: "The certificate is not the one remembered for this target",
        breaks_some_clients: false,
        explains: &[],
        explanation: "An earlier check of the same target (host:port) saw another certificate and remembered it (--known-certs, \
            as mstsc and ssh remember what they were shown). Certificates change for two reasons: a renewal (the same \
            subject and issuer, newer validity dates, often a new key; Windows renews its self-signed Remote Desktop \
            certificate every six months, and a CA-issued one is replaced before it expires) or something else \
            answering in the server's place (an interceptor presents a certificate it made, cloned from the real one \
            with its own key). The evidence shows both certificates and whether the change looks like a renewal.",
        fixes: &[
            FixDef {
                text: "Compare the fingerprint shown here with the certificate the server itself uses (on the server): the SHA-1 thumbprint must match",
                commands: &[r#"Get-ChildItem "Cert:\LocalMachine\Remote Desktop" | Format-List Subject,Issuer,Thumbprint,NotBefore,NotAfter"#],
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
                text: "Do not log on through this path. Check the server from its own network, and compare the certificate's thumbprint with the one the server uses",
                commands: &[r#"Get-ChildItem "Cert:\LocalMachine\Remote Desktop" | Format-List Subject,Thumbprint,NotAfter"#],
            },
            FixDef {
                text: "If the path is yours and the certificate is the server's, pin it so later checks (and --user) trust exactly that one",
                commands: &["rdpdoctor check {host}:{port} --cert-sha256 FINGERPRINT --user 'DOMAIN\\user'"],
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
];
