//! Catalog entries for Standard RDP Security (MS-RDPBCGR 5.3): what the MCS Connect Response says
//! the server enforces when it speaks the legacy RC4/FIPS security layer.

use super::families::*;
use super::{ClientCodes, ClientDef, FindingDef, FixDef, Verdict, CERT_EVENTS, CERT_STORE};
use crate::model::{Severity, Step};
use crate::FindingId;
use rdpdoctor_codes::code;

const Q_SECURITY_LAYER_POLICY: &str =
    r#"reg query "HKLM\SOFTWARE\Policies\Microsoft\Windows NT\Terminal Services" /v SecurityLayer"#;
const Q_SECURITY_LAYER: &str = r#"reg query "HKLM\SYSTEM\CurrentControlSet\Control\Terminal Server\WinStations\RDP-Tcp" /v SecurityLayer"#;
const Q_LEVEL_POLICY: &str = r#"reg query "HKLM\SOFTWARE\Policies\Microsoft\Windows NT\Terminal Services" /v MinEncryptionLevel"#;
const Q_LEVEL: &str = r#"reg query "HKLM\SYSTEM\CurrentControlSet\Control\Terminal Server\WinStations\RDP-Tcp" /v MinEncryptionLevel"#;
const Q_FIPS: &str =
    r#"reg query "HKLM\SYSTEM\CurrentControlSet\Control\Lsa\FIPSAlgorithmPolicy" /v Enabled"#;
const SET_SECURITY_LAYER_SSL: &str = r#"reg add "HKLM\SYSTEM\CurrentControlSet\Control\Terminal Server\WinStations\RDP-Tcp" /v SecurityLayer /t REG_DWORD /d 2 /f"#;
const Q_WMI: &str = r"Get-CimInstance -Namespace root\cimv2\TerminalServices -ClassName Win32_TSGeneralSetting | Format-List TerminalName,SecurityLayer,MinEncryptionLevel,PolicySourceSecurityLayer,PolicySourceMinEncryptionLevel";

pub(super) const ENTRIES: &[FindingDef] = &[
    FindingDef {
        id: FindingId::RdpSecurityOnly,
        step: Step::RdpSecurity,
        severity: Severity::Warning,
        severity_rule: "Warning: an up-to-date mstsc still connects with Standard RDP Security (after an identity warning), but clients that require TLS or NLA cannot, and nothing authenticates the server.",
        title: "The server speaks only Standard RDP Security (no TLS, no NLA)",
        breaks_some_clients: true,
        verdict: Verdict::Ordinary,
        explains: &[FindingId::SecurityDowngrade, FindingId::TlsNotAllowed],
        explanation: "No request for TLS or CredSSP was accepted, and the MCS probe shows the server negotiating the \
            legacy RC4/FIPS security layer instead (MS-RDPBCGR 5.3): its security layer is set to RDP (SecurityLayer = 0), \
            it has no usable certificate for TLS (xrdp then falls back silently), or it is too old for TLS. The server \
            proves its identity only with a certificate every client accepts, so a man in the middle goes unnoticed, \
            and the session keys are only as strong as the method in the evidence. Clients that break: any client set to \
            require TLS or NLA (mstsc with \"authentication level\" set to \"Do not connect\", the client policy \
            \"Configure server authentication for client\" = Do not connect if authentication fails, FreeRDP with /sec:tls or /sec:nla, IronRDP-based clients, which do not \
            implement RC4), and clients with FIPS policy when the server does not offer FIPS.",
        fixes: &[
            FixDef {
                text: "Check the security layer: the policy value wins over the listener value (0 RDP, 1 Negotiate, 2 SSL)",
                commands: &[Q_SECURITY_LAYER_POLICY, Q_SECURITY_LAYER, Q_WMI],
            },
            FixDef {
                text: "Make sure the server has a usable TLS certificate first (Remote Desktop store, or the self-signed one), otherwise Negotiate falls back to RDP again and SSL accepts no client at all",
                commands: &[CERT_STORE, CERT_EVENTS],
            },
            FixDef {
                text: "Set the Group Policy \"Require use of specific security layer for remote (RDP) connections\" (Computer Configuration > Administrative Templates > Windows Components > Remote Desktop Services > Remote Desktop Session Host > Security) to SSL, or at least Negotiate; or on the listener (SecurityLayer 2 = SSL, 1 = Negotiate), then reconnect (new connections pick it up)",
                commands: &[SET_SECURITY_LAYER_SSL],
            },
            FixDef {
                text: "Then require NLA (Require user authentication for remote connections by using Network Level Authentication, same folder; UserAuthentication = 1)",
                commands: &[r#"reg add "HKLM\SYSTEM\CurrentControlSet\Control\Terminal Server\WinStations\RDP-Tcp" /v UserAuthentication /t REG_DWORD /d 1 /f"#],
            },
            FixDef {
                text: "On xrdp: set security_layer=negotiate (or tls) in /etc/xrdp/xrdp.ini, and check that certificate= and key_file= point at readable files (xrdp logs \"Cannot accept TLS connections\" otherwise), then restart xrdp",
                commands: &["grep -E '^(security_layer|certificate|key_file|crypt_level)' /etc/xrdp/xrdp.ini", "sudo systemctl restart xrdp"],
            },
        ],
        client_codes: ClientCodes::NONE,
        client: Some(ClientDef {
            text: "mstsc connects after \"The remote computer could not be authenticated\"-style identity warnings; clients that require TLS or NLA refuse (FreeRDP: security negotiation failure)",
            likely: true,
        }),
    },
    FindingDef {
        id: FindingId::EncryptionLevelLow,
        step: Step::RdpSecurity,
        severity: Severity::Warning,
        severity_rule: "Warning: clients connect, but the traffic is weakly encrypted (40 or 56-bit RC4), encrypted one way only (Low), or not at all (None).",
        title: "Standard RDP Security with weak or no encryption",
        breaks_some_clients: false,
        verdict: Verdict::Ordinary,
        explains: &[],
        explanation: "The server's encryption level is None or Low, or it accepts a 40-bit or 56-bit RC4 method \
            (MS-RDPBCGR 5.3.1). Low encrypts only what the client sends (keystrokes and passwords), not the screen; None \
            encrypts nothing (FreeRDP's server does this for loopback peers); 40 and 56-bit RC4 keys are broken by brute \
            force. Nobody is locked out by this, which is why it goes unnoticed: it is a confidentiality problem. A client \
            with FIPS policy (System cryptography: Use FIPS compliant algorithms) may fail against a Low or None server \
            that does not offer FIPS.",
        fixes: &[
            FixDef {
                text: "Check the encryption level (policy value first; 1 Low, 2 Client Compatible, 3 High, 4 FIPS)",
                commands: &[Q_LEVEL_POLICY, Q_LEVEL, Q_WMI],
            },
            FixDef {
                text: "Set the Group Policy \"Set client connection encryption level\" (same Security folder) to High Level, or on the listener MinEncryptionLevel = 3 (clients that cannot do 128-bit then fail: none that are still supported)",
                commands: &[r#"reg add "HKLM\SYSTEM\CurrentControlSet\Control\Terminal Server\WinStations\RDP-Tcp" /v MinEncryptionLevel /t REG_DWORD /d 3 /f"#],
            },
            FixDef {
                text: "Better, leave Standard RDP Security behind once the server has a usable certificate (check it first: a server without one that is set to SSL accepts no client): \"Require use of specific security layer for remote (RDP) connections\" = SSL (SecurityLayer = 2), where the RC4 level no longer applies",
                commands: &[CERT_STORE, CERT_EVENTS],
            },
            FixDef {
                text: "On xrdp: set crypt_level=high in /etc/xrdp/xrdp.ini (and security_layer=negotiate), then restart xrdp",
                commands: &["sudo systemctl restart xrdp"],
            },
        ],
        client_codes: ClientCodes::NONE,
        client: None,
    },
    FindingDef {
        id: FindingId::EncryptionFipsRequired,
        step: Step::RdpSecurity,
        severity: Severity::Warning,
        severity_rule: "Warning: mstsc supports FIPS and connects; clients without FIPS (3DES) Standard RDP Security fail.",
        title: "The server insists on FIPS encryption",
        breaks_some_clients: true,
        verdict: Verdict::Ordinary,
        explains: &[FindingId::EncryptionMismatch],
        explanation: "The server's encryption level is FIPS (4), or it picks the FIPS method (3DES/SHA-1) whatever the \
            client offers. Windows does this when the policy \"System cryptography: Use FIPS compliant algorithms for \
            encryption, hashing, and signing\" is on (FIPSAlgorithmPolicy Enabled = 1), or MinEncryptionLevel = 4; xrdp \
            with crypt_level=fips. mstsc supports FIPS; clients that offer only RC4 (rdesktop, old thin clients, some \
            embedded clients) are refused, which Windows clients report as extended reason 8 \
            (exDiscReasonServerDeniedConnectionFips). FIPS policy on the client side has the opposite effect: such a \
            client offers only FIPS and fails against servers that do not pick it.",
        fixes: &[
            FixDef {
                text: "Check where FIPS comes from: the system-wide FIPS policy, or the RDP encryption level",
                commands: &[Q_FIPS, Q_LEVEL_POLICY, Q_LEVEL],
            },
            FixDef {
                text: "If FIPS is required by your compliance rules, keep it and move the connection to TLS. First check that the server has a usable certificate: set to SSL without one, it accepts no client at all",
                commands: &[CERT_STORE, CERT_EVENTS],
            },
            FixDef {
                text: "Then set \"Require use of specific security layer for remote (RDP) connections\" = SSL (SecurityLayer = 2), where TLS cipher suites, not this level, protect the session",
                commands: &[SET_SECURITY_LAYER_SSL],
            },
            FixDef {
                text: "If it is not required, set \"Set client connection encryption level\" to High Level (MinEncryptionLevel = 3); turning off the system-wide FIPS policy affects every program on the server, so decide that with its owner",
                commands: &[r#"reg add "HKLM\SYSTEM\CurrentControlSet\Control\Terminal Server\WinStations\RDP-Tcp" /v MinEncryptionLevel /t REG_DWORD /d 3 /f"#],
            },
            FixDef {
                text: "On xrdp: crypt_level=high instead of fips in /etc/xrdp/xrdp.ini, then restart xrdp",
                commands: &[],
            },
        ],
        client_codes: ClientCodes {
            codes: &[code(X, 8), code(F, 8)],
            inferred: true,
        },
        client: Some(ClientDef {
            text: "clients without FIPS Standard RDP Security are disconnected; mstsc would report that the server denied the connection for security reasons (FIPS)",
            likely: true,
        }),
    },
    FindingDef {
        id: FindingId::EncryptionMismatch,
        step: Step::RdpSecurity,
        severity: Severity::Warning,
        severity_rule: "Blocking when the offer of every method (what mstsc sends) is refused or answered with a method it did not offer; warning when only a narrower offer is.",
        title: "The server refuses or overrides encryption methods clients offer",
        breaks_some_clients: true,
        verdict: Verdict::Ordinary,
        explains: &[],
        explanation: "For at least one offer the server refused the MCS Connect Initial (an MCS result code, a Disconnect \
            Provider Ultimatum, or a closed connection) or answered with a method the client did not offer. MS-RDPBCGR \
            2.2.1.4.3 requires the server to pick one of the offered methods; when none fits its level it must refuse \
            (ERRINFO_ENCPKGMISMATCH, 0x1194). xrdp instead silently overrides the offer with its own method, which clients \
            that check (FreeRDP warns, strict clients disconnect) treat as an encryption error. Clients that break are the \
            ones whose offer is in the evidence: a client with FIPS policy offers only FIPS; old clients offer only 40 or \
            56-bit.",
        fixes: &[
            FixDef {
                text: "Compare the server's encryption level with what the failing clients offer (FIPS policy on the client restricts it to FIPS)",
                commands: &[Q_LEVEL_POLICY, Q_LEVEL, Q_FIPS],
            },
            FixDef {
                text: "Set \"Set client connection encryption level\" to Client Compatible (MinEncryptionLevel = 2) only if old clients must connect; High (3) is the safe choice for current clients",
                commands: &[],
            },
            FixDef {
                text: "Move the server to TLS once it has a usable certificate (check it first: set to SSL without one, it accepts no client): \"Require use of specific security layer for remote (RDP) connections\" = SSL (SecurityLayer = 2); the RC4/FIPS method is then not negotiated at all",
                commands: &[CERT_STORE, CERT_EVENTS],
            },
        ],
        client_codes: ClientCodes {
            codes: &[code(E, 0x1194), code(D, 0x506), code(D, 0xB06)],
            inferred: true,
        },
        client: Some(ClientDef {
            text: "the client disconnects with an encryption error (the server's ERRINFO_ENCPKGMISMATCH, or the client's own check of the chosen method)",
            likely: true,
        }),
    },
    FindingDef {
        id: FindingId::WeakServerKey,
        step: Step::RdpSecurity,
        severity: Severity::Warning,
        severity_rule: "Warning: clients connect, but the key that protects the session keys is factorable.",
        title: "The Standard RDP Security server key is under 1024 bits",
        breaks_some_clients: false,
        verdict: Verdict::Ordinary,
        explains: &[],
        explanation: "The server certificate in the MCS Connect Response (a proprietary certificate, or the last \
            certificate of an X.509 chain) carries an RSA key under 1024 bits. The client encrypts its client random \
            with this key (MS-RDPBCGR 5.3.4), so whoever factors it (512-bit RSA takes hours) can decrypt recorded \
            sessions. Proprietary certificates are in any case signed with the Terminal Services Signing Key, whose \
            private half is published in the specification, so they never prove the server's identity.",
        fixes: &[
            FixDef {
                text: "Before moving the server to TLS, check that it has a usable certificate: set to SSL without one, it accepts no client at all",
                commands: &[CERT_STORE, CERT_EVENTS],
            },
            FixDef {
                text: "Then move it to TLS: \"Require use of specific security layer for remote (RDP) connections\" = SSL (SecurityLayer = 2)",
                commands: &[SET_SECURITY_LAYER_SSL],
            },
            FixDef {
                text: "On xrdp: generate a new 2048-bit RSA key for Standard RDP Security (rsakeys.ini), then restart xrdp",
                commands: &["sudo xrdp-keygen xrdp auto 2048", "sudo systemctl restart xrdp"],
            },
        ],
        client_codes: ClientCodes::NONE,
        client: None,
    },
];
