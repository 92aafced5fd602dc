//! Catalog entries for what only the server's (or client's) own event logs and registry show
//! (policy and registry settings, Schannel and RdpCoreTS errors), and the logon findings the
//! Security log proves.
//!
//! Order matters: among findings of the same severity and step, the verdict names the one listed
//! first, so server-wide causes come before per-connection symptoms.

use super::families::*;
use super::{
    ClientCodes, ClientDef, FindingDef, FixDef, Verdict, CERT_EVENTS, CERT_STORE, CONFIRM_1056,
    FIREWALL_ENABLE_SCOPED, FIREWALL_SHOW, KEY_FILE, KEY_FILE_BACKUP, KEY_FILE_GRANT,
    MACHINEKEYS_ACL, RESTART_SESSIONENV, RESTART_TERMSERVICE,
};
use crate::model::{Severity, Step};
use crate::FindingId;
use rdpdoctor_codes::code;

/// Saves the MachineKeys folder's own ACL (not its files') before it is changed.
const MACHINEKEYS_BACKUP: &str = r"New-Item -ItemType Directory -Force C:\rdpdiag | Out-Null; icacls C:\ProgramData\Microsoft\Crypto\RSA\MachineKeys /save C:\rdpdiag\machinekeys-acl.txt";

/// Restores the default entries of the MachineKeys folder itself (KB 278381 "Default permissions
/// for the MachineKeys folders": Administrators Full control and Everyone List folder / Read
/// data, Read attributes, Read extended attributes, Create files / Write data, Create folders /
/// Append data, Write attributes, Write extended attributes, Read permissions, both on "this
/// folder only"). No (OI)(CI): key files must not inherit these rights. Accounts by SID
/// (Everyone S-1-1-0, Administrators S-1-5-32-544) so it works on every language of Windows.
const MACHINEKEYS_DEFAULT: &str = r#"icacls C:\ProgramData\Microsoft\Crypto\RSA\MachineKeys /grant "*S-1-5-32-544:(F)" "*S-1-1-0:(RD,RA,REA,WD,AD,WA,WEA,RC)""#;

pub(super) const ENTRIES: &[FindingDef] = &[
    FindingDef {
        id: FindingId::RdpDisabled,
        step: Step::Host,
        severity: Severity::Blocking,
        severity_rule: "Always blocking: the server accepts no Remote Desktop connection.",
        title: "Remote Desktop is turned off (fDenyTSConnections = 1)",
        breaks_some_clients: false,
        verdict: Verdict::Ordinary,
        explains: &[FindingId::PortClosed],
        explanation: "The effective fDenyTSConnections value is 1, so Remote Desktop Services does not accept \
            connections. A group policy value (HKLM\\SOFTWARE\\Policies\\Microsoft\\Windows NT\\Terminal Services) \
            overrides the local one in the Terminal Server key; the evidence says which one applied. Clients \
            usually see a connect failure (nothing listens), not 0x904.",
        fixes: &[
            FixDef {
                text: "If the policy value applied, change the policy: Computer Configuration > Administrative Templates > Windows Components > Remote Desktop Services > Remote Desktop Session Host > Connections > Allow users to connect remotely by using Remote Desktop Services = Enabled, then refresh policy",
                commands: &["gpresult /h C:\\rdpdiag\\gp.html", "gpupdate /force"],
            },
            FixDef {
                text: "If the local value applied, allow remote connections (System Properties > Remote, or the registry) and enable the Remote Desktop firewall rules for the profiles you mean (Domain and Private below; enabling the whole group may open RDP on the Public profile too)",
                commands: &[
                    r#"Set-ItemProperty -Path 'HKLM:\SYSTEM\CurrentControlSet\Control\Terminal Server' -Name fDenyTSConnections -Value 0"#,
                    FIREWALL_SHOW,
                    FIREWALL_ENABLE_SCOPED,
                ],
            },
        ],
        client_codes: ClientCodes {
            codes: &[code(D, 0x204)],
            inferred: false,
        },
        client: Some(ClientDef {
            text: "\"Remote Desktop can't connect to the remote computer\" (nothing accepts the connection)",
            likely: true,
        }),
    },
    FindingDef {
        id: FindingId::CertPrivateKeyInaccessible,
        step: Step::Host,
        severity: Severity::Blocking,
        severity_rule: "Blocking: the server cannot complete any TLS handshake, so no client connects (NLA runs inside TLS).",
        title: "The RDP certificate's private key cannot be opened",
        breaks_some_clients: false,
        verdict: Verdict::Ordinary,
        explains: &[FindingId::TlsHandshakeFailed],
        explanation: "Schannel could not use the private key of the certificate Remote Desktop presents (event 36870, \
            usually with 0x8009030D SEC_E_UNKNOWN_CREDENTIALS and internal state 10001, or 0x80090016 NTE_BAD_KEYSET), \
            or Remote Desktop could not create or open its self-signed certificate's key (1057/1058 \"Keyset does not \
            exist\" / \"Access is denied\"). The key lives in one file under C:\\ProgramData\\Microsoft\\Crypto\\RSA\\MachineKeys; \
            it is missing, or its permissions no longer let NETWORK SERVICE (which runs Remote Desktop Services) read it. \
            The server then closes every connection right after the client's TLS ClientHello, which a Windows client \
            reports as 0x904. Turning NLA off does not help: NLA runs inside this TLS channel.",
        fixes: &[
            FixDef {
                text: "Confirm which certificate RDP uses and whether Windows can reach its private key (HasPrivateKey must be True), and read the certificate events",
                commands: &[CERT_STORE, CERT_EVENTS],
            },
            FixDef {
                text: "Repair the permissions of that one key file, after saving its ACL: SYSTEM and Administrators Full control, NETWORK SERVICE Read (run the three commands in one PowerShell window). Never rename or delete the whole MachineKeys folder: other services' keys live there",
                commands: &[KEY_FILE, KEY_FILE_BACKUP, KEY_FILE_GRANT],
            },
            FixDef {
                text: "If the key file is gone and the certificate is the self-signed one, delete the certificate and restart the Remote Desktop Configuration service (SessionEnv) so Windows creates a new certificate and key (event 1056 confirms; sessions stay up)",
                commands: &[
                    r#"Get-ChildItem "Cert:\LocalMachine\Remote Desktop" | Remove-Item"#,
                    RESTART_SESSIONENV,
                    CONFIRM_1056,
                ],
            },
            FixDef {
                text: "If a custom certificate is configured (SSLCertificateSHA1Hash), re-import it with its private key (PFX) into LocalMachine\\My, or remove the binding so Windows falls back to the self-signed certificate",
                commands: &[
                    r#"Import-PfxCertificate -FilePath C:\certs\rdp.pfx -CertStoreLocation Cert:\LocalMachine\My"#,
                    r#"Remove-ItemProperty -Path 'HKLM:\SYSTEM\CurrentControlSet\Control\Terminal Server\WinStations\RDP-Tcp' -Name SSLCertificateSHA1Hash"#,
                    RESTART_SESSIONENV,
                ],
            },
            FixDef {
                text: "Only if handshakes still fail after the repair: restart Remote Desktop Services, which reopens the key. This ends every session on the server, including your own",
                commands: &[RESTART_TERMSERVICE],
            },
        ],
        client_codes: ClientCodes {
            codes: &[code(D, 0x904), code(H, 0x8009_030D), code(H, 0x8009_0016), code(N, 3)],
            inferred: true,
        },
        client: Some(ClientDef {
            text: "\"This computer can't connect to the remote computer\" or \"An internal error has occurred\" right after the connection starts",
            likely: true,
        }),
    },
    FindingDef {
        id: FindingId::CertRenewalFailed,
        step: Step::Host,
        severity: Severity::Blocking,
        severity_rule: "Blocking while no later event 1056 shows a new self-signed certificate; info once one does (the failure was followed by a successful renewal).",
        title: "Remote Desktop could not create or renew its self-signed certificate",
        breaks_some_clients: false,
        verdict: Verdict::Ordinary,
        explains: &[FindingId::TlsHandshakeFailed, FindingId::CertExpired],
        explanation: "RemoteConnectionManager logged 1057 (failed to create a new self-signed certificate) or 1058 \
            (failed to replace the expired self-signed certificate). Without a usable certificate the server cannot \
            complete TLS, and clients see 0x904 or a certificate error. The status text says why: \"Keyset does not \
            exist\" (the key file in MachineKeys is missing), \"Access is denied\" (permissions on MachineKeys or on \
            the Remote Desktop certificate store), \"Object already exists\" (a stale key container).",
        fixes: &[
            FixDef {
                text: "Read the certificate events and the Remote Desktop store: the status text of 1057/1058 says what blocked renewal",
                commands: &[CERT_EVENTS, CERT_STORE],
            },
            FixDef {
                text: "\"Access is denied\" or \"Keyset does not exist\" on the existing certificate: repair the one key file it uses, after saving its ACL (SYSTEM and Administrators Full control, NETWORK SERVICE Read). Key files do not inherit from the MachineKeys folder, so a folder grant does not reach them",
                commands: &[KEY_FILE, KEY_FILE_BACKUP, KEY_FILE_GRANT],
            },
            FixDef {
                text: "If no key file can be created at all, compare the MachineKeys folder's own ACL with the Windows default (KB 278381: Administrators Full control and Everyone special rights, both on this folder only) and restore missing entries on the folder only, after saving its ACL. Never rename or delete the folder: it holds every machine private key",
                commands: &[MACHINEKEYS_ACL, MACHINEKEYS_BACKUP, MACHINEKEYS_DEFAULT],
            },
            FixDef {
                text: "Once the key store is sound, delete the expired or broken self-signed certificate and restart the Remote Desktop Configuration service (SessionEnv); Windows creates a new one (event 1056 confirms) and sessions stay up",
                commands: &[
                    r#"Get-ChildItem "Cert:\LocalMachine\Remote Desktop" | Remove-Item"#,
                    RESTART_SESSIONENV,
                    CONFIRM_1056,
                ],
            },
            FixDef {
                text: "Only if no new certificate appears: restart Remote Desktop Services. This ends every session on the server, including your own",
                commands: &[RESTART_TERMSERVICE],
            },
        ],
        client_codes: ClientCodes {
            codes: &[code(D, 0x904)],
            inferred: true,
        },
        client: Some(ClientDef {
            text: "\"This computer can't connect to the remote computer\" right after the connection starts",
            likely: true,
        }),
    },
    FindingDef {
        id: FindingId::TlsDisabledInSchannel,
        step: Step::Host,
        severity: Severity::Warning,
        severity_rule: "Blocking when no TLS version the client profile speaks is left enabled for the server side (registry), or Schannel 36871 with state 10013 shows the server could not build a credential; warning when only some clients are affected (TLS 1.2 off while older versions remain, or 36874 / alert 70 events).",
        title: "TLS versions a client needs are disabled in SCHANNEL",
        breaks_some_clients: true,
        verdict: Verdict::Ordinary,
        explains: &[FindingId::TlsHandshakeFailed, FindingId::TlsLegacyOnly],
        explanation: "SCHANNEL\\Protocols\\<version>\\Server has Enabled = 0 (or DisabledByDefault = 1, which Remote \
            Desktop probably honours as well) for the TLS versions clients use, or Schannel logged that it could not \
            create a server credential with the enabled protocols (36871, state 10013), that a client's protocol has \
            no usable cipher suite (36874), or that it answered with alert 70 protocol_version (36888). The server \
            then closes the connection right after the ClientHello: 0x904 on the client.",
        fixes: &[
            FixDef {
                text: "List the SCHANNEL protocol settings",
                commands: &[r#"reg query "HKLM\SYSTEM\CurrentControlSet\Control\SecurityProviders\SCHANNEL\Protocols" /s"#],
            },
            FixDef {
                text: "Enable TLS 1.2 for the server side and restart the server (Schannel reads these values at boot)",
                commands: &[
                    r#"reg add "HKLM\SYSTEM\CurrentControlSet\Control\SecurityProviders\SCHANNEL\Protocols\TLS 1.2\Server" /v Enabled /t REG_DWORD /d 1 /f"#,
                    r#"reg add "HKLM\SYSTEM\CurrentControlSet\Control\SecurityProviders\SCHANNEL\Protocols\TLS 1.2\Server" /v DisabledByDefault /t REG_DWORD /d 0 /f"#,
                    "Restart-Computer",
                ],
            },
            FixDef {
                text: "If a hardening tool or GPO set these values (IIS Crypto, a security baseline), change it there, or it comes back; also check the cipher-suite order policy (Computer Configuration > Administrative Templates > Network > SSL Configuration Settings > SSL Cipher Suite Order)",
                commands: &[r#"reg query "HKLM\SOFTWARE\Policies\Microsoft\Cryptography\Configuration\SSL\00010002" /v Functions"#],
            },
        ],
        client_codes: ClientCodes {
            codes: &[code(D, 0x904), code(T, 70), code(H, 0x8009_0302)],
            inferred: true,
        },
        client: Some(ClientDef {
            text: "\"This computer can't connect to the remote computer\" right after the connection starts",
            likely: true,
        }),
    },
    FindingDef {
        id: FindingId::TermserviceDisabled,
        step: Step::Host,
        severity: Severity::Blocking,
        severity_rule: "Blocking when the service start type is Disabled (Start = 4); warning when it only crashed (7031/7034) and was restarted.",
        title: "The Remote Desktop Services service is disabled or crashed",
        breaks_some_clients: false,
        verdict: Verdict::Ordinary,
        explains: &[FindingId::PortClosed],
        explanation: "Services\\TermService\\Start = 4 means Remote Desktop Services never starts, so nothing listens \
            on the RDP port. Service Control Manager 7031/7034 mean it terminated unexpectedly.",
        fixes: &[FixDef {
            text: "Set the service back to Manual (its default) and start it",
            commands: &[
                "Set-Service TermService -StartupType Manual",
                "Start-Service TermService",
                "Get-Service TermService,UmRdpService,SessionEnv",
            ],
        }],
        client_codes: ClientCodes::NONE,
        client: Some(ClientDef {
            text: "\"Remote Desktop can't connect to the remote computer\"",
            likely: true,
        }),
    },
    FindingDef {
        id: FindingId::LogonsDisabled,
        step: Step::Host,
        severity: Severity::Blocking,
        severity_rule: "Always blocking for new sessions.",
        title: "The listener is disabled or the server does not accept new logons",
        breaks_some_clients: false,
        verdict: Verdict::Ordinary,
        explains: &[],
        explanation: "fEnableWinStation = 0 disables the RDP-Tcp listener, fLogonDisabled = 1 or TSServerDrainMode = 1 \
            (`change logon /disable` or `/drain`) refuse new logons, and RemoteConnectionManager 1070 records a \
            logon refused because the server is in drain mode. Which code a client then shows is not documented: \
            reports and the name \"server denied the connection\" suggest 0x904 with extended 0x7, an inference \
            `rdpdoctor explain 0x904 0x7` rates as low confidence.",
        fixes: &[FixDef {
            text: "Check and re-enable logons, and the listener",
            commands: &[
                "change logon /query",
                "change logon /enable",
                r#"Set-ItemProperty -Path 'HKLM:\SYSTEM\CurrentControlSet\Control\Terminal Server\WinStations\RDP-Tcp' -Name fEnableWinStation -Value 1"#,
            ],
        }],
        client_codes: ClientCodes::NONE,
        client: Some(ClientDef {
            text: "\"This computer can't connect to the remote computer\" or \"The remote computer is not accepting new connections\"",
            likely: true,
        }),
    },
    FindingDef {
        id: FindingId::FirewallDrop,
        step: Step::Host,
        severity: Severity::Blocking,
        severity_rule: "Blocking when no connection to the RDP port is seen getting through after the last drop; warning when later connections did get through (the drops hit some sources or some times only).",
        title: "The Windows firewall dropped connections to the RDP port",
        breaks_some_clients: false,
        verdict: Verdict::Ordinary,
        explains: &[FindingId::PortFiltered],
        explanation: "Security events 5152 (packet dropped) or 5157 (connection blocked) from the Windows Filtering \
            Platform name the RDP port as destination. The host firewall, not the network, discarded the client's \
            packets, which a client sees as a timeout.",
        fixes: &[
            FixDef {
                text: "Check that the Remote Desktop rules are enabled for the active profile, and which profile is active; enable them for the profiles you mean (Domain and Private below; enabling the whole group may open RDP on the Public profile too)",
                commands: &[FIREWALL_SHOW, "Get-NetConnectionProfile", FIREWALL_ENABLE_SCOPED],
            },
            FixDef {
                text: "Find the filter that dropped the packet (FilterRTID in the event) and any block rule that wins over the allow rule",
                commands: &[
                    r"netsh wfp show filters file=C:\rdpdiag\filters.xml",
                    "Get-NetFirewallRule -Action Block -Enabled True -Direction Inbound | Format-Table Name,DisplayName,Profile",
                ],
            },
        ],
        client_codes: ClientCodes {
            codes: &[code(D, 0x204), code(D, 0x108)],
            inferred: false,
        },
        client: Some(ClientDef {
            text: "\"Remote Desktop can't connect to the remote computer\" after a long wait",
            likely: true,
        }),
    },
    FindingDef {
        id: FindingId::FirewallRuleDisabled,
        step: Step::Host,
        severity: Severity::Warning,
        severity_rule: "Blocking when every inbound Remote Desktop rule is inactive or blocks while the firewall is on; warning when only some are.",
        title: "The Remote Desktop firewall rules are disabled",
        breaks_some_clients: true,
        verdict: Verdict::Ordinary,
        explains: &[FindingId::PortFiltered],
        explanation: "The exported firewall policy has the built-in Remote Desktop inbound rules inactive (Active=FALSE) \
            or set to block, while the firewall is on. Connections to the RDP port are then dropped.",
        fixes: &[FixDef {
            text: "Enable the Remote Desktop rules for the profiles you mean (or the equivalent GPO rules under Computer Configuration > Windows Settings > Security Settings > Windows Defender Firewall with Advanced Security). The command below scopes them to Domain and Private: enabling the whole group as it is may open RDP on the Public profile too",
            commands: &[FIREWALL_SHOW, FIREWALL_ENABLE_SCOPED],
        }],
        client_codes: ClientCodes::NONE,
        client: Some(ClientDef {
            text: "\"Remote Desktop can't connect to the remote computer\" after a long wait",
            likely: true,
        }),
    },
    FindingDef {
        id: FindingId::SecurityLayerRdp,
        step: Step::Host,
        severity: Severity::Warning,
        severity_rule: "Warning: clients connect with Standard RDP Security (no server authentication, weak encryption); clients that require TLS or NLA fail.",
        title: "The security layer is set to Standard RDP Security (SecurityLayer = 0)",
        breaks_some_clients: true,
        verdict: Verdict::Ordinary,
        explains: &[FindingId::TlsNotAllowed, FindingId::SecurityDowngrade],
        explanation: "The effective SecurityLayer is 0 (RDP Security Layer), so the server uses the old RDP encryption \
            without TLS: the client cannot verify the server, and NLA is impossible. UserAuthentication = 1 together \
            with SecurityLayer = 0 is inconsistent and makes NLA clients fail.",
        fixes: &[
            FixDef {
                text: "First check that the server has a usable certificate (HasPrivateKey True, not expired, no 1057/1058/36870 events): a server set to SSL without one accepts no client at all",
                commands: &[CERT_STORE, CERT_EVENTS],
            },
            FixDef {
                text: "Then set the policy Computer Configuration > Administrative Templates > Windows Components > Remote Desktop Services > Remote Desktop Session Host > Security > Require use of specific security layer for remote (RDP) connections = SSL (or Negotiate)",
                commands: &["gpupdate /force"],
            },
            FixDef {
                text: "Without a policy, set the local value to 2 (TLS)",
                commands: &[r#"Set-ItemProperty -Path 'HKLM:\SYSTEM\CurrentControlSet\Control\Terminal Server\WinStations\RDP-Tcp' -Name SecurityLayer -Value 2"#],
            },
        ],
        client_codes: ClientCodes::NONE,
        client: Some(ClientDef {
            text: "up-to-date clients connect, with a warning that the server's identity cannot be verified; clients that require NLA fail",
            likely: true,
        }),
    },
    FindingDef {
        id: FindingId::NlaDisabled,
        step: Step::Host,
        severity: Severity::Warning,
        severity_rule: "Warning: clients connect, but the logon screen is exposed before authentication.",
        title: "NLA (Network Level Authentication) is not required (UserAuthentication = 0)",
        breaks_some_clients: false,
        verdict: Verdict::Ordinary,
        explains: &[FindingId::NlaNotEnforced],
        explanation: "The effective UserAuthentication is 0, so the server creates a session and shows the logon screen \
            before the user is authenticated. That exposes it to pre-authentication attacks (BlueKeep class) and \
            lets anyone consume sessions.",
        fixes: &[
            FixDef {
                text: "Require NLA by policy: Computer Configuration > Administrative Templates > Windows Components > Remote Desktop Services > Remote Desktop Session Host > Security > Require user authentication for remote connections by using Network Level Authentication = Enabled",
                commands: &["gpupdate /force"],
            },
            FixDef {
                text: "Without a policy, set the local value",
                commands: &[r#"Set-ItemProperty -Path 'HKLM:\SYSTEM\CurrentControlSet\Control\Terminal Server\WinStations\RDP-Tcp' -Name UserAuthentication -Value 1"#],
            },
        ],
        client_codes: ClientCodes::NONE,
        client: None,
    },
    FindingDef {
        id: FindingId::SessionLimit,
        step: Step::Host,
        severity: Severity::Warning,
        severity_rule: "Warning when the effective connection limit is 2 or less (the next user is refused or has to disconnect another); info for larger limits.",
        title: "A connection limit is set very low",
        breaks_some_clients: true,
        verdict: Verdict::Ordinary,
        explains: &[],
        explanation: "The effective MaxInstanceCount (policy \"Limit number of connections\" or the RDP-Tcp value) caps \
            how many connections the listener accepts. Once it is reached, further clients are refused or offered to \
            disconnect another user. Which code a refused client shows is not documented; reports tie it to 0x904, \
            an inference `rdpdoctor explain 0x904` rates as low confidence.",
        fixes: &[
            FixDef {
                text: "Raise or remove the limit: Computer Configuration > Administrative Templates > Windows Components > Remote Desktop Services > Remote Desktop Session Host > Connections > Limit number of connections (Not configured = unlimited)",
                commands: &["gpupdate /force"],
            },
            FixDef {
                text: "Without a policy, set the local value back to unlimited",
                commands: &[r#"Set-ItemProperty -Path 'HKLM:\SYSTEM\CurrentControlSet\Control\Terminal Server\WinStations\RDP-Tcp' -Name MaxInstanceCount -Value 0xffffffff"#],
            },
            // `rwinsta` resets a session without letting its programs save; `logoff` ends it the
            // way a user would (Microsoft Learn, windows-commands "logoff" and "reset session").
            FixDef {
                text: "See who holds the sessions, and log off a stale one (ID from the list) once its owner agrees; logoff lets programs close, while reset session (rwinsta) discards unsaved work",
                commands: &["query session /server:{host}", "logoff ID /server:{host}"],
            },
        ],
        client_codes: ClientCodes {
            codes: &[code(D, 0x904)],
            inferred: true,
        },
        client: Some(ClientDef {
            text: "\"The remote computer is not accepting new connections\" or \"This computer can't connect to the remote computer\"",
            likely: true,
        }),
    },
    FindingDef {
        id: FindingId::PortChanged,
        step: Step::Host,
        severity: Severity::Info,
        severity_rule: "Info; warning when the exported firewall rules still open only another port.",
        title: "RDP listens on a port other than 3389",
        breaks_some_clients: false,
        verdict: Verdict::Ordinary,
        explains: &[],
        explanation: "RDP-Tcp\\PortNumber is not 3389. Clients must connect to HOST:PORT, and the firewall rule must open \
            that port; the built-in Remote Desktop rules open 3389 only.",
        fixes: &[
            FixDef {
                text: "Connect with the port: mstsc /v:HOST:PORT, and probe it with rdpdoctor check HOST:PORT",
                commands: &[],
            },
            FixDef {
                text: "Open the new port in the firewall",
                commands: &[r#"New-NetFirewallRule -DisplayName "Remote Desktop (custom port)" -Direction Inbound -Protocol TCP -LocalPort PORT -Action Allow"#],
            },
        ],
        client_codes: ClientCodes::NONE,
        client: None,
    },
    FindingDef {
        id: FindingId::FipsPolicyEnabled,
        step: Step::Host,
        severity: Severity::Warning,
        severity_rule: "Warning: clients without FIPS-compliant methods fail.",
        title: "FIPS-compliant algorithms are enforced",
        breaks_some_clients: true,
        verdict: Verdict::Ordinary,
        explains: &[],
        explanation: "The policy \"System cryptography: Use FIPS compliant algorithms\" (Lsa\\FipsAlgorithmPolicy\\Enabled = 1) \
            or MinEncryptionLevel = 4 (FIPS) restricts Remote Desktop to FIPS methods. Clients that cannot do them are \
            refused (mstsc 1026 reason 3590 is reported for this in the wild).",
        fixes: &[FixDef {
            text: "Unless FIPS mode is a compliance requirement, disable it: Computer Configuration > Windows Settings > Security Settings > Local Policies > Security Options > System cryptography: Use FIPS compliant algorithms = Disabled; and set Set client connection encryption level to High Level",
            commands: &[r#"reg query "HKLM\SYSTEM\CurrentControlSet\Control\Lsa\FipsAlgorithmPolicy" /v Enabled"#],
        }],
        client_codes: ClientCodes::NONE,
        client: None,
    },
    FindingDef {
        id: FindingId::CredsspOracleVulnerable,
        step: Step::Host,
        severity: Severity::Warning,
        severity_rule: "Warning for AllowEncryptionOracle = 2 (Vulnerable); info for 0 (Force Updated Clients: unpatched clients are refused).",
        title: "CredSSP encryption oracle remediation is relaxed or strict",
        breaks_some_clients: false,
        verdict: Verdict::Ordinary,
        explains: &[],
        explanation: "AllowEncryptionOracle (policy Encryption Oracle Remediation, CVE-2018-0886) is 2 = Vulnerable: this \
            machine talks CredSSP with unpatched peers, exposing credentials. 0 = Force Updated Clients refuses \
            unpatched peers (\"CredSSP encryption oracle remediation\" error on their side).",
        fixes: &[FixDef {
            text: "Patch both sides, then set Computer Configuration > Administrative Templates > System > Credentials Delegation > Encryption Oracle Remediation = Mitigated (1)",
            commands: &[r#"reg query "HKLM\SOFTWARE\Microsoft\Windows\CurrentVersion\Policies\System\CredSSP\Parameters" /v AllowEncryptionOracle"#],
        }],
        client_codes: ClientCodes::NONE,
        client: None,
    },
    FindingDef {
        id: FindingId::CustomCertUnusable,
        step: Step::Host,
        severity: Severity::Warning,
        severity_rule: "Warning: the server falls back to its self-signed certificate, which clients do not trust.",
        title: "The configured RDP certificate cannot be used",
        breaks_some_clients: false,
        verdict: Verdict::Ordinary,
        explains: &[FindingId::CertSelfSigned],
        explanation: "RemoteConnectionManager reported that the certificate configured in SSLCertificateSHA1Hash (or \
            issued from the configured template) is missing, expired, lacks the Server Authentication usage, or its \
            private key is inaccessible (1051/1053/1054/1055), or that the certificate configuration was reset (1059). \
            Windows falls back to the self-signed certificate.",
        fixes: &[
            FixDef {
                text: "Check the configured thumbprint against LocalMachine\\My",
                commands: &[
                    r#"Get-CimInstance -Namespace root\cimv2\TerminalServices -ClassName Win32_TSGeneralSetting -Filter "TerminalName='RDP-Tcp'" | Select-Object SSLCertificateSHA1Hash"#,
                    r#"Get-ChildItem Cert:\LocalMachine\My | Format-List Subject,Thumbprint,NotAfter,HasPrivateKey,EnhancedKeyUsageList"#,
                ],
            },
            FixDef {
                text: "Bind a valid certificate, or delete the value to use the self-signed one and restart the Remote Desktop Configuration service (SessionEnv; sessions stay up)",
                commands: &[
                    r#"Remove-ItemProperty -Path 'HKLM:\SYSTEM\CurrentControlSet\Control\Terminal Server\WinStations\RDP-Tcp' -Name SSLCertificateSHA1Hash"#,
                    RESTART_SESSIONENV,
                ],
            },
        ],
        client_codes: ClientCodes::NONE,
        client: None,
    },
    FindingDef {
        id: FindingId::SecurityLayerError,
        step: Step::Host,
        severity: Severity::Warning,
        severity_rule: "Warning: the server disconnected clients for protocol errors in the security layer; often scanners, sometimes a security-layer or NLA mismatch.",
        title: "The server's security layer rejected client connections",
        breaks_some_clients: true,
        verdict: Verdict::Ordinary,
        explains: &[],
        explanation: "TermDD 56 (or RdpCoreTS 139) means the RDP security layer found an error in the protocol stream \
            and disconnected the client; TermDD 50 and RdpCoreTS 97 report X.224 or protocol-component errors. Coming \
            from many Internet addresses, these are scanners. Coming from your own clients, they point to a security \
            layer, TLS or NLA mismatch (client 1026 reason 2825 in the wild).",
        fixes: &[
            FixDef {
                text: "Compare SecurityLayer and UserAuthentication (policy and RDP-Tcp) with what the client requires",
                commands: &[
                    r#"reg query "HKLM\SYSTEM\CurrentControlSet\Control\Terminal Server\WinStations\RDP-Tcp" /v SecurityLayer"#,
                    r#"reg query "HKLM\SOFTWARE\Policies\Microsoft\Windows NT\Terminal Services""#,
                ],
            },
            FixDef {
                text: "If the addresses are not yours, do not expose RDP to the Internet: put it behind a VPN or Remote Desktop Gateway",
                commands: &[],
            },
        ],
        client_codes: ClientCodes::NONE,
        client: None,
    },
    FindingDef {
        id: FindingId::TlsAlertSent,
        step: Step::Host,
        severity: Severity::Warning,
        severity_rule: "Warning: some TLS handshakes failed on the server side; the alert says why.",
        title: "Schannel sent fatal TLS alerts",
        breaks_some_clients: true,
        verdict: Verdict::Ordinary,
        explains: &[],
        explanation: "Schannel 36888 records a fatal alert the server generated and sent. 40 handshake_failure: no common \
            cipher suite; 70 protocol_version: the client's TLS version is disabled on one side; 71 \
            insufficient_security; 80 internal_error: often the server could not use its credential (certificate \
            key). Scanners trigger these too.",
        fixes: &[FixDef {
            text: "Correlate the alert times with failed client attempts, and read the Schannel events around them",
            commands: &[CERT_EVENTS],
        }],
        client_codes: ClientCodes::NONE,
        client: None,
    },
    FindingDef {
        id: FindingId::TlsAlertReceived,
        step: Step::Host,
        severity: Severity::Info,
        severity_rule: "Info: a peer aborted a handshake; on a server this usually means a client did not trust the certificate.",
        title: "Schannel received fatal TLS alerts",
        breaks_some_clients: false,
        verdict: Verdict::Ordinary,
        explains: &[],
        explanation: "Schannel 36887 records a fatal alert received from the peer: 46 certificate_unknown or 48 unknown_ca \
            mean the client rejected the server's certificate; 70 protocol_version a version mismatch.",
        fixes: &[FixDef {
            text: "Check the certificate a client sees",
            commands: &["rdpdoctor check {host}:{port}"],
        }],
        client_codes: ClientCodes::NONE,
        client: None,
    },
    FindingDef {
        id: FindingId::ClientDisconnectCode,
        step: Step::Host,
        severity: Severity::Warning,
        severity_rule: "Warning for error reasons; info for a user-initiated or server-initiated logoff (reasons 1, 2, 3).",
        title: "The client log recorded a disconnect reason",
        breaks_some_clients: false,
        verdict: Verdict::Ordinary,
        explains: &[],
        explanation: "RDPClient/Operational 1026 gives the disconnect reason mstsc showed, in decimal (2308 = 0x904: the \
            server closed the connection). The evidence decodes it and names the server the attempt went to \
            (1024, joined by ActivityID). The reason says where the connection ended, the server's logs say why.",
        fixes: &[FixDef {
            text: "Decode the code, then read the server's logs for the same minute",
            commands: &["rdpdoctor explain 0x904", "rdpdoctor logs System.evtx RdpCoreTS.evtx"],
        }],
        client_codes: ClientCodes::NONE,
        client: None,
    },
    // Logon findings proven by the Security and RdpCoreTS logs.
    FindingDef {
        id: FindingId::LogonFailure,
        step: Step::Logon,
        severity: Severity::Warning,
        severity_rule: "Warning: the server works; these attempts used a wrong user name or password (many from many addresses: password guessing).",
        title: "Logons failed with a wrong user name or password",
        breaks_some_clients: false,
        verdict: Verdict::Ordinary,
        explains: &[],
        explanation: "Security 4625 with status 0xC000006D/0xC000006A (bad password) or 0xC0000064 (no such user), or \
            RdpCoreTS 140 (NLA credential check failed). With NLA the failure is logged as LogonType 3.",
        fixes: &[
            FixDef {
                text: "Retry with the right account in the form DOMAIN\\user or user@domain",
                commands: &[],
            },
            FixDef {
                text: "If the attempts come from unknown addresses, block RDP from the Internet and set an account lockout policy",
                commands: &["net accounts"],
            },
        ],
        client_codes: ClientCodes {
            codes: &[code(D, 0x807), code(NT, 0xC000_006D), code(NT, 0xC000_006A), code(F, 0x0002_0014), code(F, 0x0002_0015), code(F, 134), code(F, 154)],
            inferred: false,
        },
        client: Some(ClientDef {
            text: "\"Your credentials did not work\"",
            likely: true,
        }),
    },
    FindingDef {
        id: FindingId::AccountRestricted,
        step: Step::Logon,
        severity: Severity::Blocking,
        severity_rule: "Blocking for the account named in the evidence.",
        title: "An account restriction refused the logon",
        breaks_some_clients: false,
        verdict: Verdict::Ordinary,
        explains: &[],
        explanation: "Security 4625 with status 0xC000006E (STATUS_ACCOUNT_RESTRICTION): the password was right, but a \
            restriction refused the logon: usually a blank password (Accounts: Limit local account use of blank \
            passwords to console logon only), logon hours (0xC000006F), allowed workstations (0xC0000070), or \
            membership in Protected Users.",
        fixes: &[FixDef {
            text: "Give the account a password, or check its logon hours, workstations and group membership",
            commands: &[
                "net user USERNAME",
                "Get-ADUser USERNAME -Properties LogonWorkstations,logonHours,MemberOf",
            ],
        }],
        client_codes: ClientCodes {
            codes: &[code(D, 0xC07), code(NT, 0xC000_006E), code(F, 0x0002_0017), code(F, 156)],
            inferred: false,
        },
        client: Some(ClientDef {
            text: "\"A user account restriction (for example, a time-of-day restriction) is preventing you from logging on\"",
            likely: true,
        }),
    },
    FindingDef {
        id: FindingId::LogonRightMissing,
        step: Step::Logon,
        severity: Severity::Blocking,
        severity_rule: "Blocking for the account named in the evidence.",
        title: "The account may not log on through Remote Desktop Services",
        breaks_some_clients: false,
        verdict: Verdict::Ordinary,
        explains: &[],
        explanation: "Security 4825 (access to Remote Desktop denied) or 4625 with 0xC000015B (logon type not granted): the \
            credentials are valid, but the account is not in Remote Desktop Users (or Administrators) or lacks the \
            user right \"Allow log on through Remote Desktop Services\", or is listed in \"Deny log on through Remote \
            Desktop Services\". This is authorization, not authentication.",
        fixes: &[
            FixDef {
                text: "Add the user or a group to Remote Desktop Users",
                commands: &[r#"Add-LocalGroupMember -Group "Remote Desktop Users" -Member "DOMAIN\USERNAME""#],
            },
            FixDef {
                text: "Check the user rights: Computer Configuration > Windows Settings > Security Settings > Local Policies > User Rights Assignment > Allow log on through Remote Desktop Services (must include Remote Desktop Users) and Deny log on through Remote Desktop Services",
                commands: &[r"secedit /export /cfg C:\rdpdiag\rights.inf /areas USER_RIGHTS", "gpresult /h C:\\rdpdiag\\gp.html"],
            },
        ],
        client_codes: ClientCodes {
            codes: &[code(NT, 0xC000_015B), code(F, 0x0002_001A), code(F, 158)],
            inferred: false,
        },
        client: Some(ClientDef {
            text: "\"The connection was denied because the user account is not authorized for remote login\"",
            likely: true,
        }),
    },
    FindingDef {
        id: FindingId::AccountLocked,
        step: Step::Logon,
        severity: Severity::Blocking,
        severity_rule: "Blocking for the account named in the evidence until it is unlocked.",
        title: "The account is locked out",
        breaks_some_clients: false,
        verdict: Verdict::Ordinary,
        explains: &[],
        explanation: "Security 4625 with 0xC0000234: too many wrong passwords locked the account.",
        fixes: &[FixDef {
            text: "Unlock the account and find the source of the bad passwords (saved credentials, a service, an attacker)",
            commands: &["Unlock-ADAccount USERNAME", "net user USERNAME /active:yes"],
        }],
        client_codes: ClientCodes {
            codes: &[code(D, 0xD07), code(NT, 0xC000_0234), code(F, 0x0002_0018), code(F, 135)],
            inferred: false,
        },
        client: Some(ClientDef {
            text: "\"The referenced account is currently locked out and may not be logged on to\"",
            likely: true,
        }),
    },
    FindingDef {
        id: FindingId::AccountDisabled,
        step: Step::Logon,
        severity: Severity::Blocking,
        severity_rule: "Blocking for the account named in the evidence.",
        title: "The account is disabled or expired",
        breaks_some_clients: false,
        verdict: Verdict::Ordinary,
        explains: &[],
        explanation: "Security 4625 with 0xC0000072 (account disabled) or 0xC0000193 (account expired).",
        fixes: &[FixDef {
            text: "Enable the account or extend its expiry date",
            commands: &["Enable-ADAccount USERNAME", "net user USERNAME /active:yes /expires:never"],
        }],
        client_codes: ClientCodes {
            codes: &[code(D, 0xB07), code(NT, 0xC000_0072), code(F, 0x0002_0012), code(F, 151)],
            inferred: false,
        },
        client: Some(ClientDef {
            text: "\"Your account has been disabled\"",
            likely: true,
        }),
    },
    FindingDef {
        id: FindingId::PasswordExpired,
        step: Step::Logon,
        severity: Severity::Blocking,
        severity_rule: "Blocking for the account named in the evidence.",
        title: "The password has expired",
        breaks_some_clients: false,
        verdict: Verdict::Ordinary,
        explains: &[],
        explanation: "Security 4625 with 0xC0000071. With NLA the user cannot change an expired password during an RDP logon.",
        fixes: &[FixDef {
            text: "Change the password another way (Ctrl+Alt+Del on a domain PC, or an administrator resets it)",
            commands: &["Set-ADAccountPassword USERNAME -Reset"],
        }],
        client_codes: ClientCodes {
            codes: &[code(D, 0xF07), code(NT, 0xC000_0071), code(F, 0x0002_000E), code(F, 148)],
            inferred: false,
        },
        client: Some(ClientDef {
            text: "\"Your password has expired\"",
            likely: true,
        }),
    },
    FindingDef {
        id: FindingId::PasswordMustChange,
        step: Step::Logon,
        severity: Severity::Blocking,
        severity_rule: "Blocking for the account named in the evidence.",
        title: "The password must be changed before the first logon",
        breaks_some_clients: false,
        verdict: Verdict::Ordinary,
        explains: &[],
        explanation: "Security 4625 with 0xC0000224 (\"User must change password at next logon\"). With NLA the change cannot happen during the RDP logon.",
        fixes: &[FixDef {
            text: "Change the password another way, or clear the flag",
            commands: &["Set-ADUser USERNAME -ChangePasswordAtLogon $false"],
        }],
        client_codes: ClientCodes {
            codes: &[code(D, 0x1207), code(NT, 0xC000_0224), code(F, 0x0002_0013), code(F, 149)],
            inferred: false,
        },
        client: Some(ClientDef {
            text: "\"You must change your password before logging on the first time\"",
            likely: true,
        }),
    },
];
