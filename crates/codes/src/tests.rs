//! Checks the tables against the reference tables (written out by hand below from the project's
//! protocol reference, sections 3.1–3.3, 4.1–4.4, 5.3, 5.4 and the TLS alert list of 7.1; FreeRDP
//! exit codes from the peers notes A.4 / xfreerdp.h), and the generated docs against the tables.

use super::*;
use std::collections::HashSet;

/// The tables alone, without the finding catalog (a crate above this one, whose tests cover the
/// links to findings).
struct NoLinks;

impl FindingLinks for NoLinks {
    fn findings_for_code(&self, _: CodeRef) -> Vec<&'static str> {
        Vec::new()
    }
    fn evidence_findings(&self, _: &str, _: EvidenceKind) -> Vec<&'static str> {
        Vec::new()
    }
    fn finding_codes(&self) -> Vec<(&'static str, &'static [CodeRef], bool)> {
        Vec::new()
    }
}

fn explain(inputs: &[String], family: Option<Family>) -> Result<Explanation, ExplainError> {
    crate::explain(inputs, family, &NoLinks)
}

use Family::*;

/// (family, value, exact official name), by hand from the reference.
const EXPECTED: &[(Family, u32, &str)] = &[
    // 3.1 Set Error Info: protocol-independent
    (Errinfo, 0x0, "ERRINFO_NONE"),
    (Errinfo, 0x1, "ERRINFO_RPC_INITIATED_DISCONNECT"),
    (Errinfo, 0x2, "ERRINFO_RPC_INITIATED_LOGOFF"),
    (Errinfo, 0x3, "ERRINFO_IDLE_TIMEOUT"),
    (Errinfo, 0x4, "ERRINFO_LOGON_TIMEOUT"),
    (Errinfo, 0x5, "ERRINFO_DISCONNECTED_BY_OTHERCONNECTION"),
    (Errinfo, 0x6, "ERRINFO_OUT_OF_MEMORY"),
    (Errinfo, 0x7, "ERRINFO_SERVER_DENIED_CONNECTION"),
    (Errinfo, 0x9, "ERRINFO_SERVER_INSUFFICIENT_PRIVILEGES"),
    (Errinfo, 0xA, "ERRINFO_SERVER_FRESH_CREDENTIALS_REQUIRED"),
    (Errinfo, 0xB, "ERRINFO_RPC_INITIATED_DISCONNECT_BYUSER"),
    (Errinfo, 0xC, "ERRINFO_LOGOFF_BY_USER"),
    (Errinfo, 0xF, "ERRINFO_CLOSE_STACK_ON_DRIVER_NOT_READY"),
    (Errinfo, 0x10, "ERRINFO_SERVER_DWM_CRASH"),
    (Errinfo, 0x11, "ERRINFO_CLOSE_STACK_ON_DRIVER_FAILURE"),
    (Errinfo, 0x12, "ERRINFO_CLOSE_STACK_ON_DRIVER_IFACE_FAILURE"),
    (Errinfo, 0x17, "ERRINFO_SERVER_WINLOGON_CRASH"),
    (Errinfo, 0x18, "ERRINFO_SERVER_CSRSS_CRASH"),
    (Errinfo, 0x19, "ERRINFO_SERVER_SHUTDOWN"),
    (Errinfo, 0x1A, "ERRINFO_SERVER_REBOOT"),
    // 3.1 licensing
    (Errinfo, 0x100, "ERRINFO_LICENSE_INTERNAL"),
    (Errinfo, 0x101, "ERRINFO_LICENSE_NO_LICENSE_SERVER"),
    (Errinfo, 0x102, "ERRINFO_LICENSE_NO_LICENSE"),
    (Errinfo, 0x103, "ERRINFO_LICENSE_BAD_CLIENT_MSG"),
    (Errinfo, 0x104, "ERRINFO_LICENSE_HWID_DOESNT_MATCH_LICENSE"),
    (Errinfo, 0x105, "ERRINFO_LICENSE_BAD_CLIENT_LICENSE"),
    (Errinfo, 0x106, "ERRINFO_LICENSE_CANT_FINISH_PROTOCOL"),
    (Errinfo, 0x107, "ERRINFO_LICENSE_CLIENT_ENDED_PROTOCOL"),
    (Errinfo, 0x108, "ERRINFO_LICENSE_BAD_CLIENT_ENCRYPTION"),
    (Errinfo, 0x109, "ERRINFO_LICENSE_CANT_UPGRADE_LICENSE"),
    (Errinfo, 0x10A, "ERRINFO_LICENSE_NO_REMOTE_CONNECTIONS"),
    // 3.1 connection broker
    (Errinfo, 0x400, "ERRINFO_CB_DESTINATION_NOT_FOUND"),
    (Errinfo, 0x402, "ERRINFO_CB_LOADING_DESTINATION"),
    (Errinfo, 0x404, "ERRINFO_CB_REDIRECTING_TO_DESTINATION"),
    (Errinfo, 0x405, "ERRINFO_CB_SESSION_ONLINE_VM_WAKE"),
    (Errinfo, 0x406, "ERRINFO_CB_SESSION_ONLINE_VM_BOOT"),
    (Errinfo, 0x407, "ERRINFO_CB_SESSION_ONLINE_VM_NO_DNS"),
    (Errinfo, 0x408, "ERRINFO_CB_DESTINATION_POOL_NOT_FREE"),
    (Errinfo, 0x409, "ERRINFO_CB_CONNECTION_CANCELLED"),
    (
        Errinfo,
        0x410,
        "ERRINFO_CB_CONNECTION_ERROR_INVALID_SETTINGS",
    ),
    (Errinfo, 0x411, "ERRINFO_CB_SESSION_ONLINE_VM_BOOT_TIMEOUT"),
    (
        Errinfo,
        0x412,
        "ERRINFO_CB_SESSION_ONLINE_VM_SESSMON_FAILED",
    ),
    // 3.1 RDP protocol
    (Errinfo, 0x10C9, "ERRINFO_UNKNOWNPDUTYPE2"),
    (Errinfo, 0x10CA, "ERRINFO_UNKNOWNPDUTYPE"),
    (Errinfo, 0x10CB, "ERRINFO_DATAPDUSEQUENCE"),
    (Errinfo, 0x10CD, "ERRINFO_CONTROLPDUSEQUENCE"),
    (Errinfo, 0x10CE, "ERRINFO_INVALIDCONTROLPDUACTION"),
    (Errinfo, 0x10CF, "ERRINFO_INVALIDINPUTPDUTYPE"),
    (Errinfo, 0x10D0, "ERRINFO_INVALIDINPUTPDUMOUSE"),
    (Errinfo, 0x10D1, "ERRINFO_INVALIDREFRESHRECTPDU"),
    (Errinfo, 0x10D2, "ERRINFO_CREATEUSERDATAFAILED"),
    (Errinfo, 0x10D3, "ERRINFO_CONNECTFAILED"),
    (Errinfo, 0x10D4, "ERRINFO_CONFIRMACTIVEWRONGSHAREID"),
    (Errinfo, 0x10D5, "ERRINFO_CONFIRMACTIVEWRONGORIGINATOR"),
    (Errinfo, 0x10DA, "ERRINFO_PERSISTENTKEYPDUBADLENGTH"),
    (Errinfo, 0x10DB, "ERRINFO_PERSISTENTKEYPDUILLEGALFIRST"),
    (Errinfo, 0x10DC, "ERRINFO_PERSISTENTKEYPDUTOOMANYTOTALKEYS"),
    (Errinfo, 0x10DD, "ERRINFO_PERSISTENTKEYPDUTOOMANYCACHEKEYS"),
    (Errinfo, 0x10DE, "ERRINFO_INPUTPDUBADLENGTH"),
    (Errinfo, 0x10DF, "ERRINFO_BITMAPCACHEERRORPDUBADLENGTH"),
    (Errinfo, 0x10E0, "ERRINFO_SECURITYDATATOOSHORT"),
    (Errinfo, 0x10E1, "ERRINFO_VCHANNELDATATOOSHORT"),
    (Errinfo, 0x10E2, "ERRINFO_SHAREDATATOOSHORT"),
    (Errinfo, 0x10E3, "ERRINFO_BADSUPRESSOUTPUTPDU"),
    (Errinfo, 0x10E5, "ERRINFO_CONFIRMACTIVEPDUTOOSHORT"),
    (Errinfo, 0x10E7, "ERRINFO_CAPABILITYSETTOOSMALL"),
    (Errinfo, 0x10E8, "ERRINFO_CAPABILITYSETTOOLARGE"),
    (Errinfo, 0x10E9, "ERRINFO_NOCURSORCACHE"),
    (Errinfo, 0x10EA, "ERRINFO_BADCAPABILITIES"),
    (Errinfo, 0x10EC, "ERRINFO_VIRTUALCHANNELDECOMPRESSIONERR"),
    (Errinfo, 0x10ED, "ERRINFO_INVALIDVCCOMPRESSIONTYPE"),
    (Errinfo, 0x10EF, "ERRINFO_INVALIDCHANNELID"),
    (Errinfo, 0x10F0, "ERRINFO_VCHANNELSTOOMANY"),
    (Errinfo, 0x10F3, "ERRINFO_REMOTEAPPSNOTENABLED"),
    (Errinfo, 0x10F4, "ERRINFO_CACHECAPNOTSET"),
    (Errinfo, 0x10F5, "ERRINFO_BITMAPCACHEERRORPDUBADLENGTH2"),
    (Errinfo, 0x10F6, "ERRINFO_OFFSCRCACHEERRORPDUBADLENGTH"),
    (Errinfo, 0x10F7, "ERRINFO_DNGCACHEERRORPDUBADLENGTH"),
    (Errinfo, 0x10F8, "ERRINFO_GDIPLUSPDUBADLENGTH"),
    (Errinfo, 0x1111, "ERRINFO_SECURITYDATATOOSHORT2"),
    (Errinfo, 0x1112, "ERRINFO_SECURITYDATATOOSHORT3"),
    (Errinfo, 0x1113, "ERRINFO_SECURITYDATATOOSHORT4"),
    (Errinfo, 0x1114, "ERRINFO_SECURITYDATATOOSHORT5"),
    (Errinfo, 0x1115, "ERRINFO_SECURITYDATATOOSHORT6"),
    (Errinfo, 0x1116, "ERRINFO_SECURITYDATATOOSHORT7"),
    (Errinfo, 0x1117, "ERRINFO_SECURITYDATATOOSHORT8"),
    (Errinfo, 0x1118, "ERRINFO_SECURITYDATATOOSHORT9"),
    (Errinfo, 0x1119, "ERRINFO_SECURITYDATATOOSHORT10"),
    (Errinfo, 0x111A, "ERRINFO_SECURITYDATATOOSHORT11"),
    (Errinfo, 0x111B, "ERRINFO_SECURITYDATATOOSHORT12"),
    (Errinfo, 0x111C, "ERRINFO_SECURITYDATATOOSHORT13"),
    (Errinfo, 0x111D, "ERRINFO_SECURITYDATATOOSHORT14"),
    (Errinfo, 0x111E, "ERRINFO_SECURITYDATATOOSHORT15"),
    (Errinfo, 0x111F, "ERRINFO_SECURITYDATATOOSHORT16"),
    (Errinfo, 0x1120, "ERRINFO_SECURITYDATATOOSHORT17"),
    (Errinfo, 0x1121, "ERRINFO_SECURITYDATATOOSHORT18"),
    (Errinfo, 0x1122, "ERRINFO_SECURITYDATATOOSHORT19"),
    (Errinfo, 0x1123, "ERRINFO_SECURITYDATATOOSHORT20"),
    (Errinfo, 0x1124, "ERRINFO_SECURITYDATATOOSHORT21"),
    (Errinfo, 0x1125, "ERRINFO_SECURITYDATATOOSHORT22"),
    (Errinfo, 0x1126, "ERRINFO_SECURITYDATATOOSHORT23"),
    (Errinfo, 0x1129, "ERRINFO_BADMONITORDATA"),
    (Errinfo, 0x112A, "ERRINFO_VCDECOMPRESSEDREASSEMBLEFAILED"),
    (Errinfo, 0x112B, "ERRINFO_VCDATATOOLONG"),
    (Errinfo, 0x112C, "ERRINFO_BAD_FRAME_ACK_DATA"),
    (Errinfo, 0x112D, "ERRINFO_GRAPHICSMODENOTSUPPORTED"),
    (Errinfo, 0x112E, "ERRINFO_GRAPHICSSUBSYSTEMRESETFAILED"),
    (Errinfo, 0x112F, "ERRINFO_GRAPHICSSUBSYSTEMFAILED"),
    (Errinfo, 0x1130, "ERRINFO_TIMEZONEKEYNAMELENGTHTOOSHORT"),
    (Errinfo, 0x1131, "ERRINFO_TIMEZONEKEYNAMELENGTHTOOLONG"),
    (Errinfo, 0x1132, "ERRINFO_DYNAMICDSTDISABLEDFIELDMISSING"),
    (Errinfo, 0x1133, "ERRINFO_VCDECODINGERROR"),
    (Errinfo, 0x1134, "ERRINFO_VIRTUALDESKTOPTOOLARGE"),
    (Errinfo, 0x1135, "ERRINFO_MONITORGEOMETRYVALIDATIONFAILED"),
    (Errinfo, 0x1136, "ERRINFO_INVALIDMONITORCOUNT"),
    (Errinfo, 0x1191, "ERRINFO_UPDATESESSIONKEYFAILED"),
    (Errinfo, 0x1192, "ERRINFO_DECRYPTFAILED"),
    (Errinfo, 0x1193, "ERRINFO_ENCRYPTFAILED"),
    (Errinfo, 0x1194, "ERRINFO_ENCPKGMISMATCH"),
    (Errinfo, 0x1195, "ERRINFO_DECRYPTFAILED2"),
    (Errinfo, 0x1196, "ERRINFO_PEER_DISCONNECTED"),
    // 4.1 discReason
    (Disconnect, 0, "disconnectReasonNoInfo"),
    (Disconnect, 1, "disconnectReasonLocalNotError"),
    (Disconnect, 2, "disconnectReasonRemoteByUser"),
    (Disconnect, 3, "disconnectReasonByServer"),
    (Disconnect, 260, "disconnectReasonDNSLookupFailed"),
    (Disconnect, 262, "disconnectReasonOutOfMemory"),
    (Disconnect, 264, "disconnectReasonConnectionTimedOut"),
    (Disconnect, 516, "disconnectReasonSocketConnectFailed"),
    (Disconnect, 518, "disconnectReasonOutOfMemory2"),
    (Disconnect, 520, "disconnectReasonHostNotFound"),
    (Disconnect, 772, "disconnectReasonWinsockSendFailed"),
    (Disconnect, 774, "disconnectReasonOutOfMemory3"),
    (Disconnect, 776, "disconnectReasonInvalidIPAddr"),
    (Disconnect, 1028, "disconnectReasonSocketRecvFailed"),
    (Disconnect, 1030, "disconnectReasonInvalidSecurityData"),
    (Disconnect, 1032, "disconnectReasonInternalError"),
    (Disconnect, 1286, "disconnectReasonInvalidEncryption"),
    (Disconnect, 1288, "disconnectReasonDNSLookupFailed2"),
    (Disconnect, 1540, "disconnectReasonGetHostByNameFailed"),
    (
        Disconnect,
        1542,
        "disconnectReasonInvalidServerSecurityInfo",
    ),
    (Disconnect, 1544, "disconnectReasonTimerError"),
    (Disconnect, 1796, "disconnectReasonTimeoutOccurred"),
    (
        Disconnect,
        1798,
        "disconnectReasonServerCertificateUnpackErr",
    ),
    (Disconnect, 2052, "disconnectReasonInvalidIP"),
    (Disconnect, 2055, "SSL_ERR_LOGON_FAILURE"),
    (Disconnect, 2056, "disconnectReasonLicensingFailed"),
    (Disconnect, 2308, "disconnectReasonAtClientWinsockFDCLOSE"),
    (Disconnect, 2310, "disconnectReasonInternalSecurityError"),
    (Disconnect, 2312, "disconnectReasonLicensingTimeout"),
    (Disconnect, 2566, "disconnectReasonInternalSecurityError2"),
    (Disconnect, 2567, "SSL_ERR_NO_SUCH_USER"),
    (Disconnect, 2822, "disconnectReasonEncryptionError"),
    (Disconnect, 2823, "SSL_ERR_ACCOUNT_DISABLED"),
    (Disconnect, 3078, "disconnectReasonDecryptionError"),
    (Disconnect, 3079, "SSL_ERR_ACCOUNT_RESTRICTION"),
    (Disconnect, 3080, "disconnectReasonClientDecompressionError"),
    (Disconnect, 3335, "SSL_ERR_ACCOUNT_LOCKED_OUT"),
    (Disconnect, 3591, "SSL_ERR_ACCOUNT_EXPIRED"),
    (Disconnect, 3847, "SSL_ERR_PASSWORD_EXPIRED"),
    (Disconnect, 4615, "SSL_ERR_PASSWORD_MUST_CHANGE"),
    (Disconnect, 5639, "SSL_ERR_DELEGATION_POLICY"),
    (Disconnect, 5895, "SSL_ERR_POLICY_NTLM_ONLY"),
    (Disconnect, 6151, "SSL_ERR_NO_AUTHENTICATING_AUTHORITY"),
    (Disconnect, 6919, "SSL_ERR_CERT_EXPIRED"),
    (Disconnect, 7175, "SSL_ERR_SMARTCARD_WRONG_PIN"),
    (Disconnect, 8455, "SSL_ERR_FRESH_CRED_REQUIRED_BY_SERVER"),
    (Disconnect, 8711, "SSL_ERR_SMARTCARD_CARD_BLOCKED"),
    // 4.2 ExtendedDisconnectReason
    (Extended, 0, "exDiscReasonNoInfo"),
    (Extended, 1, "exDiscReasonAPIInitiatedDisconnect"),
    (Extended, 2, "exDiscReasonAPIInitiatedLogoff"),
    (Extended, 3, "exDiscReasonServerIdleTimeout"),
    (Extended, 4, "exDiscReasonServerLogonTimeout"),
    (Extended, 5, "exDiscReasonReplacedByOtherConnection"),
    (Extended, 6, "exDiscReasonOutOfMemory"),
    (Extended, 7, "exDiscReasonServerDeniedConnection"),
    (Extended, 8, "exDiscReasonServerDeniedConnectionFips"),
    (Extended, 9, "exDiscReasonServerInsufficientPrivileges"),
    (Extended, 10, "exDiscReasonServerFreshCredsRequired"),
    (Extended, 11, "exDiscReasonRpcInitiatedDisconnectByUser"),
    (Extended, 12, "exDiscReasonLogoffByUser"),
    (Extended, 25, "exDiscReasonShutdown"),
    (Extended, 26, "exDiscReasonReboot"),
    (Extended, 256, "exDiscReasonLicenseInternal"),
    (Extended, 257, "exDiscReasonLicenseNoLicenseServer"),
    (Extended, 258, "exDiscReasonLicenseNoLicense"),
    (Extended, 259, "exDiscReasonLicenseErrClientMsg"),
    (Extended, 260, "exDiscReasonLicenseHwidDoesntMatchLicense"),
    (Extended, 261, "exDiscReasonLicenseErrClientLicense"),
    (Extended, 262, "exDiscReasonLicenseCantFinishProtocol"),
    (Extended, 263, "exDiscReasonLicenseClientEndedProtocol"),
    (Extended, 264, "exDiscReasonLicenseErrClientEncryption"),
    (Extended, 265, "exDiscReasonLicenseCantUpgradeLicense"),
    (Extended, 266, "exDiscReasonLicenseNoRemoteConnections"),
    (
        Extended,
        267,
        "exDiscReasonLicenseCreatingLicStoreAccDenied",
    ),
    (Extended, 768, "exDiscReasonRdpEncInvalidCredentials"),
    (Extended, 4096, "exDiscReasonProtocolRangeStart"),
    (Extended, 32767, "exDiscReasonProtocolRangeEnd"),
    // 1.4 RDP_NEG_FAILURE: 1–6 only (MS-RDPBCGR 2.2.1.2.2 defines no 7; IronRDP's nego.rs neither)
    (NegFailure, 1, "SSL_REQUIRED_BY_SERVER"),
    (NegFailure, 2, "SSL_NOT_ALLOWED_BY_SERVER"),
    (NegFailure, 3, "SSL_CERT_NOT_ON_SERVER"),
    (NegFailure, 4, "INCONSISTENT_FLAGS"),
    (NegFailure, 5, "HYBRID_REQUIRED_BY_SERVER"),
    (NegFailure, 6, "SSL_WITH_USER_AUTH_REQUIRED_BY_SERVER"),
    // 5.3 NTSTATUS
    (Ntstatus, 0xC000006D, "STATUS_LOGON_FAILURE"),
    (Ntstatus, 0xC000006A, "STATUS_WRONG_PASSWORD"),
    (Ntstatus, 0xC0000064, "STATUS_NO_SUCH_USER"),
    (Ntstatus, 0xC000006E, "STATUS_ACCOUNT_RESTRICTION"),
    (Ntstatus, 0xC000006F, "STATUS_INVALID_LOGON_HOURS"),
    (Ntstatus, 0xC0000070, "STATUS_INVALID_WORKSTATION"),
    (Ntstatus, 0xC0000071, "STATUS_PASSWORD_EXPIRED"),
    (Ntstatus, 0xC0000072, "STATUS_ACCOUNT_DISABLED"),
    (Ntstatus, 0xC0000193, "STATUS_ACCOUNT_EXPIRED"),
    (Ntstatus, 0xC0000234, "STATUS_ACCOUNT_LOCKED_OUT"),
    (Ntstatus, 0xC0000224, "STATUS_PASSWORD_MUST_CHANGE"),
    (Ntstatus, 0xC000015B, "STATUS_LOGON_TYPE_NOT_GRANTED"),
    (Ntstatus, 0xC0000022, "STATUS_ACCESS_DENIED"),
    (Ntstatus, 0xC000005E, "STATUS_NO_LOGON_SERVERS"),
    (Ntstatus, 0xC000018D, "STATUS_TRUSTED_RELATIONSHIP_FAILURE"),
    (Ntstatus, 0xC0000133, "STATUS_TIME_DIFFERENCE_AT_DC"),
    (Ntstatus, 0xC0000388, "STATUS_DOWNGRADE_DETECTED"),
    (
        Ntstatus,
        0xC0000413,
        "STATUS_AUTHENTICATION_FIREWALL_FAILED",
    ),
    // 5.3 SSPI HRESULTs, 7.1 Schannel mapping, host notes
    (Hresult, 0x80090302, "SEC_E_UNSUPPORTED_FUNCTION"),
    (Hresult, 0x8009030C, "SEC_E_LOGON_DENIED"),
    (Hresult, 0x80090311, "SEC_E_NO_AUTHENTICATING_AUTHORITY"),
    (Hresult, 0x80090308, "SEC_E_INVALID_TOKEN"),
    (Hresult, 0x80090326, "SEC_E_ILLEGAL_MESSAGE"),
    (Hresult, 0x80090325, "SEC_E_UNTRUSTED_ROOT"),
    (Hresult, 0x80090328, "SEC_E_CERT_EXPIRED"),
    (Hresult, 0x80090331, "SEC_E_ALGORITHM_MISMATCH"),
    (Hresult, 0x8009030F, "SEC_E_MESSAGE_ALTERED"),
    (Hresult, 0x80090330, "SEC_E_DECRYPT_FAILURE"),
    (Hresult, 0x80090327, "SEC_E_CERT_UNKNOWN"),
    (Hresult, 0x80092010, "CRYPT_E_REVOKED"),
    (Hresult, 0x80090304, "SEC_E_INTERNAL_ERROR"),
    (Hresult, 0x80090333, "SEC_E_UNFINISHED_CONTEXT_DELETED"),
    (Hresult, 0x8009030D, "SEC_E_UNKNOWN_CREDENTIALS"),
    (Hresult, 0x80090016, "NTE_BAD_KEYSET"),
    // 7.1 TLS alerts
    (TlsAlert, 10, "unexpected_message"),
    (TlsAlert, 20, "bad_record_mac"),
    (TlsAlert, 21, "decryption_failed"),
    (TlsAlert, 22, "record_overflow"),
    (TlsAlert, 30, "decompression_failure"),
    (TlsAlert, 40, "handshake_failure"),
    (TlsAlert, 42, "bad_certificate"),
    (TlsAlert, 43, "unsupported_certificate"),
    (TlsAlert, 44, "certificate_revoked"),
    (TlsAlert, 45, "certificate_expired"),
    (TlsAlert, 46, "certificate_unknown"),
    (TlsAlert, 47, "illegal_parameter"),
    (TlsAlert, 48, "unknown_ca"),
    (TlsAlert, 49, "access_denied"),
    (TlsAlert, 50, "decode_error"),
    (TlsAlert, 51, "decrypt_error"),
    (TlsAlert, 60, "export_restriction"),
    (TlsAlert, 70, "protocol_version"),
    (TlsAlert, 71, "insufficient_security"),
    (TlsAlert, 80, "internal_error"),
    (TlsAlert, 90, "user_canceled"),
    (TlsAlert, 100, "no_renegotiation"),
    (TlsAlert, 110, "unsupported_extension"),
    // 4.4 FreeRDP connect error class 2
    (Freerdp, 0x00020001, "ERRCONNECT_PRE_CONNECT_FAILED"),
    (Freerdp, 0x00020002, "ERRCONNECT_CONNECT_UNDEFINED"),
    (Freerdp, 0x00020003, "ERRCONNECT_POST_CONNECT_FAILED"),
    (Freerdp, 0x00020004, "ERRCONNECT_DNS_ERROR"),
    (Freerdp, 0x00020005, "ERRCONNECT_DNS_NAME_NOT_FOUND"),
    (Freerdp, 0x00020006, "ERRCONNECT_CONNECT_FAILED"),
    (Freerdp, 0x00020007, "ERRCONNECT_MCS_CONNECT_INITIAL_ERROR"),
    (Freerdp, 0x00020008, "ERRCONNECT_TLS_CONNECT_FAILED"),
    (Freerdp, 0x00020009, "ERRCONNECT_AUTHENTICATION_FAILED"),
    (Freerdp, 0x0002000A, "ERRCONNECT_INSUFFICIENT_PRIVILEGES"),
    (Freerdp, 0x0002000B, "ERRCONNECT_CONNECT_CANCELLED"),
    (
        Freerdp,
        0x0002000C,
        "ERRCONNECT_SECURITY_NEGO_CONNECT_FAILED",
    ),
    (Freerdp, 0x0002000D, "ERRCONNECT_CONNECT_TRANSPORT_FAILED"),
    (Freerdp, 0x0002000E, "ERRCONNECT_PASSWORD_EXPIRED"),
    (Freerdp, 0x0002000F, "ERRCONNECT_PASSWORD_CERTAINLY_EXPIRED"),
    (Freerdp, 0x00020010, "ERRCONNECT_CLIENT_REVOKED"),
    (Freerdp, 0x00020011, "ERRCONNECT_KDC_UNREACHABLE"),
    (Freerdp, 0x00020012, "ERRCONNECT_ACCOUNT_DISABLED"),
    (Freerdp, 0x00020013, "ERRCONNECT_PASSWORD_MUST_CHANGE"),
    (Freerdp, 0x00020014, "ERRCONNECT_LOGON_FAILURE"),
    (Freerdp, 0x00020015, "ERRCONNECT_WRONG_PASSWORD"),
    (Freerdp, 0x00020016, "ERRCONNECT_ACCESS_DENIED"),
    (Freerdp, 0x00020017, "ERRCONNECT_ACCOUNT_RESTRICTION"),
    (Freerdp, 0x00020018, "ERRCONNECT_ACCOUNT_LOCKED_OUT"),
    (Freerdp, 0x00020019, "ERRCONNECT_ACCOUNT_EXPIRED"),
    (Freerdp, 0x0002001A, "ERRCONNECT_LOGON_TYPE_NOT_GRANTED"),
    (Freerdp, 0x0002001B, "ERRCONNECT_NO_OR_MISSING_CREDENTIALS"),
    (Freerdp, 0x0002001C, "ERRCONNECT_ACTIVATION_TIMEOUT"),
    (Freerdp, 0x0002001D, "ERRCONNECT_TARGET_BOOTING"),
    (Freerdp, 0x0002001E, "ERRCONNECT_HYBRID_REQUIRED_BY_SERVER"),
    // A.4 xfreerdp exit codes named in the peers notes
    (Freerdp, 1, "XF_EXIT_DISCONNECT"),
    (Freerdp, 7, "XF_EXIT_CONN_DENIED"),
    (Freerdp, 8, "XF_EXIT_CONN_DENIED_FIPS"),
    (Freerdp, 9, "XF_EXIT_USER_PRIVILEGES"),
    (Freerdp, 32, "XF_EXIT_RDP"),
    (Freerdp, 131, "XF_EXIT_CONN_FAILED"),
    (Freerdp, 132, "XF_EXIT_AUTH_FAILURE"),
    (Freerdp, 133, "XF_EXIT_NEGO_FAILURE"),
    (Freerdp, 134, "XF_EXIT_LOGON_FAILURE"),
    (Freerdp, 135, "XF_EXIT_ACCOUNT_LOCKED_OUT"),
    (Freerdp, 139, "XF_EXIT_DNS_ERROR"),
    (Freerdp, 140, "XF_EXIT_DNS_NAME_NOT_FOUND"),
    (Freerdp, 142, "XF_EXIT_MCS_CONNECT_INITIAL_ERROR"),
    (Freerdp, 143, "XF_EXIT_TLS_CONNECT_FAILED"),
    (Freerdp, 147, "XF_EXIT_CONNECT_TRANSPORT_FAILED"),
    (Freerdp, 148, "XF_EXIT_CONNECT_PASSWORD_EXPIRED"),
    (Freerdp, 150, "XF_EXIT_CONNECT_KDC_UNREACHABLE"),
    (Freerdp, 154, "XF_EXIT_CONNECT_WRONG_PASSWORD"),
    (Freerdp, 155, "XF_EXIT_CONNECT_ACCESS_DENIED"),
    (Freerdp, 158, "XF_EXIT_CONNECT_LOGON_TYPE_NOT_GRANTED"),
    (Freerdp, 161, "XF_EXIT_CONNECT_HYBRID_REQUIRED_BY_SERVER"),
    (Freerdp, 255, "XF_EXIT_UNKNOWN"),
];

#[test]
fn every_reference_code_decodes_with_its_official_name() {
    let mut missing = Vec::new();
    for &(family, value, name) in EXPECTED {
        match entries(family).iter().find(|e| e.value == value) {
            Some(e) if e.name == name => {}
            Some(e) => missing.push(format!(
                "{family} 0x{value:X}: table says {}, reference says {name}",
                e.name
            )),
            None => missing.push(format!("{family} 0x{value:X} {name}: not in the table")),
        }
    }
    assert!(
        missing.is_empty(),
        "tables disagree with the reference:\n{}",
        missing.join("\n")
    );
}

#[test]
fn undocumented_client_codes_are_present_but_unnamed() {
    for v in [0x907, 0xB09, 0xE06, 0x1D07, 0xA04, 0xB04, 0xB08, 0xC04] {
        let e = lookup(Disconnect, v).expect("listed as undocumented");
        assert!(
            !e.documented && !e.is_named(),
            "0x{v:X} must be undocumented"
        );
    }
    // RDP_NEG_FAILURE is 1–6 (MS-RDPBCGR 2.2.1.2.2); anything else is shown raw.
    for v in [0, 7, 8, 0xFF] {
        assert!(
            lookup(NegFailure, v).is_none(),
            "neg-failure {v} is undocumented"
        );
    }
}

#[test]
fn no_duplicate_values_within_a_family() {
    for f in Family::ALL {
        let mut seen = HashSet::new();
        for e in entries(f) {
            assert_eq!(e.family, f, "{} sits in the {f} table", e.name);
            assert!(
                seen.insert(e.value),
                "{f}: value 0x{:X} appears twice",
                e.value
            );
        }
    }
}

#[test]
fn names_and_aliases_are_unique() {
    let mut seen: HashSet<String> = HashSet::new();
    for f in Family::ALL {
        for e in entries(f) {
            if e.is_named() {
                assert!(
                    seen.insert(e.name.to_ascii_lowercase()),
                    "name {} is used twice",
                    e.name
                );
            }
        }
    }
    // Aliases may repeat a name only where the ambiguity is real (ERRINFO_NONE).
    for f in Family::ALL {
        for e in entries(f) {
            for a in e.aliases {
                let lower = a.to_ascii_lowercase();
                if lower != "errinfo_none" {
                    assert!(
                        !seen.contains(&lower) || e.name.eq_ignore_ascii_case(a),
                        "alias {a} collides with a name"
                    );
                }
                assert!(
                    !a.eq_ignore_ascii_case(e.name),
                    "alias {a} repeats its own name"
                );
            }
        }
    }
    for f in Family::ALL {
        for e in entries(f) {
            assert!(
                !e.meaning.is_empty() && !e.source.is_empty(),
                "{f} 0x{:X} lacks meaning or source",
                e.value
            );
        }
    }
}

#[test]
fn symbolic_lookup_is_case_insensitive_and_knows_aliases() {
    let e = lookup_name("errinfo_server_denied_connection");
    assert_eq!(e.len(), 1);
    assert_eq!((e[0].family, e[0].value), (Errinfo, 7));
    let e = lookup_name("STATUS_LOGON_FAILURE");
    assert_eq!((e[0].family, e[0].value), (Ntstatus, 0xC000_006D));
    // FreeRDP's spellings.
    assert_eq!(
        lookup_name("ERRINFO_UNKNOWN_DATA_PDU_TYPE")[0].value,
        0x10C9
    );
    assert_eq!(
        lookup_name("ERRINFO_ENCRYPTION_PACKAGE_MISMATCH")[0].value,
        0x1194
    );
    assert_eq!(
        lookup_name("ERRINFO_GRAPHICS_SUBSYSTEM_FAILED")[0].value,
        0x112F
    );
    assert_eq!(lookup_name("ERRINFO_SUCCESS")[0].value, 0);
    assert_eq!(
        lookup_name("FREERDP_ERROR_CONNECT_TRANSPORT_FAILED")[0].value,
        0x0002_000D
    );
    // ERRINFO_NONE is 0 in the spec and 0xFFFFFFFF in FreeRDP: both are returned.
    let none: Vec<(Family, u32)> = lookup_name("ERRINFO_NONE")
        .iter()
        .map(|e| (e.family, e.value))
        .collect();
    assert!(
        none.contains(&(Errinfo, 0)) && none.contains(&(Freerdp, 0xFFFF_FFFF)),
        "{none:?}"
    );
    assert!(lookup_name("banana").is_empty());
    assert!(lookup_name("").is_empty());
}

#[test]
fn extended_reasons_fall_back_to_errinfo() {
    let e = lookup(Extended, 0x112F).expect("fallback");
    assert_eq!(e.family, Errinfo);
    assert_eq!(lookup(Extended, 7).map(|e| e.family), Some(Extended));
    assert!(lookup(Extended, 0x1000 + 1).is_none());
}

#[test]
fn unknown_values() {
    assert!(lookup(Disconnect, 0x1234).is_none());
    assert!(lookup(Errinfo, 0x8).is_none(), "0x8 is not in MS-RDPBCGR");
    assert!(lookup_all(0xDEAD_BEEF).is_empty());
    let x = explain(&["0xDEADBEEF".into()], None).expect("a number");
    assert!(!x.all_decoded());
    let u = x.codes[0].unknown.as_ref().expect("unknown info");
    assert!(
        u.range
            .iter()
            .any(|l| l.contains("HRESULT") || l.contains("NTSTATUS")),
        "{u:?}"
    );
    let x = explain(&["904".into()], None).expect("a number");
    assert!(x.codes[0]
        .unknown
        .as_ref()
        .is_some_and(|u| u.hints.iter().any(|h| h.contains("0x904"))));
}

#[test]
fn family_parse_and_all() {
    for f in Family::ALL {
        assert_eq!(Family::parse(f.id()), Some(f));
    }
    assert_eq!(Family::parse("TLS_ALERT"), Some(TlsAlert));
    assert_eq!(Family::parse("neg_failure"), Some(NegFailure));
    assert_eq!(Family::parse("nope"), None);
}

#[test]
fn input_parsing() {
    let one = |s: &str| explain(&[s.to_string()], None);
    assert!(matches!(one(""), Err(ExplainError::EmptyInput)));
    assert!(matches!(one("0x"), Err(ExplainError::BadNumber { .. })));
    assert!(matches!(one("0xZZ"), Err(ExplainError::BadNumber { .. })));
    assert!(matches!(one("banana"), Err(ExplainError::NotACode { .. })));
    assert!(matches!(
        one("99999999999999999999"),
        Err(ExplainError::OutOfRange { .. })
    ));
    assert!(matches!(
        one("0x1FFFFFFFF"),
        Err(ExplainError::OutOfRange { .. })
    ));
    assert!(matches!(explain(&[], None), Err(ExplainError::NoInput)));
    // Signed decimal as logs print NTSTATUS, and hex without prefix.
    assert_eq!(
        one("-1073741715").map(|x| x.codes[0].value).ok(),
        Some(0xC000_006D)
    );
    assert_eq!(
        one("C000015B").map(|x| x.codes[0].name).ok(),
        Some(Some("STATUS_LOGON_TYPE_NOT_GRANTED"))
    );
    assert_eq!(
        one("2308").map(|x| x.codes[0].name).ok(),
        Some(Some("disconnectReasonAtClientWinsockFDCLOSE"))
    );
}

#[test]
fn the_0x904_0x7_pair() {
    let x = explain(&["0x904".into(), "0x7".into()], None).expect("decodes");
    assert!(x.all_decoded());
    assert_eq!(
        x.codes[0].name,
        Some("disconnectReasonAtClientWinsockFDCLOSE")
    );
    assert_eq!(x.codes[1].name, Some("exDiscReasonServerDeniedConnection"));
    assert_eq!(x.interpretations.len(), 1);
    let it = &x.interpretations[0];
    assert_eq!(it.id, "socket-closed-server-denied");
    assert!(!it.does_not_fit.is_empty());
    // Reversed order is recognised.
    let r = explain(&["0x7".into(), "0x904".into()], None).expect("decodes");
    assert_eq!(
        r.codes[0].name,
        Some("disconnectReasonAtClientWinsockFDCLOSE")
    );
}

#[test]
fn knowledge_cites_only_existing_codes() {
    for s in SCENARIOS {
        for alt in s.when {
            for c in *alt {
                assert!(
                    lookup(c.family, c.value).is_some(),
                    "scenario {} cites unknown {:?}",
                    s.id,
                    c
                );
            }
        }
        for cause in s.causes {
            assert!(!cause.evidence.is_empty(), "{} has no evidence", cause.id);
            for ev in cause.evidence {
                assert!(!ev.command.is_empty());
            }
        }
    }
    for f in Family::ALL {
        for e in entries(f) {
            for r in e.see_also {
                assert!(
                    lookup(r.family, r.value).is_some(),
                    "{} links to unknown {:?}",
                    e.name,
                    r
                );
            }
        }
    }
}

/// The documented text of every code a "Documented:" line of `explain` may name, verbatim from
/// its primary source: IMsTscAxEvents::OnDisconnected, ExtendedDisconnectReasonCode (win32
/// docs), MS-RDPBCGR 2.2.5.1.1, winerror.h, MS-ERREF 2.3.1.
const VERBATIM: &[(&str, &[&str])] = &[
    ("disconnectReasonAtClientWinsockFDCLOSE", &["\"Socket closed.\""]),
    ("disconnectReasonSocketConnectFailed", &["\"Windows Sockets connect failed.\""]),
    ("disconnectReasonConnectionTimedOut", &["\"Connection timed out.\""]),
    ("disconnectReasonByServer", &["\"Remote disconnection by server. This is not an error code.\""]),
    ("exDiscReasonServerDeniedConnection", &["\"The server denied the connection.\""]),
    ("exDiscReasonNoInfo", &["\"No additional information is available.\""]),
    ("ERRINFO_SERVER_DENIED_CONNECTION", &["\"The server denied the connection.\""]),
    ("ERRINFO_CLOSE_STACK_ON_DRIVER_FAILURE", &["\"The display driver in the remote session was unable to complete all the tasks required for startup.\""]),
    ("ERRINFO_GRAPHICSSUBSYSTEMFAILED", &["\"The server-side graphics subsystem is in an error state and unable to continue graphics encoding.\""]),
    ("SEC_E_UNSUPPORTED_FUNCTION", &["\"The function requested is not supported\"", "\"SEC_E_UNSUPPORTED_FUNCTION\" (Schannel"]),
    ("STATUS_LOGON_TYPE_NOT_GRANTED", &["\"A user has requested a type of logon (for example, interactive or network) that has not been granted.\""]),
    ("STATUS_LOGON_FAILURE", &["\"The attempted logon is invalid. This is either due to a bad username or authentication information.\""]),
    ("STATUS_WRONG_PASSWORD", &["\"When trying to update a password, this return status indicates that the value provided as the current password is not correct.\""]),
    // The Schannel alert table maps the alert to the status name.
    ("protocol_version", &["\"SEC_E_UNSUPPORTED_FUNCTION\" (Schannel"]),
];

/// Sources a documented line may cite.
const SOURCES: &[&str] = &[
    "(IMsTscAxEvents::OnDisconnected)",
    "(ExtendedDisconnectReasonCode)",
    "(MS-RDPBCGR ",
    "(winerror.h)",
    "(MS-ERREF ",
    "(Schannel error codes for TLS and SSL alerts)",
];

#[test]
fn every_documented_line_quotes_its_source() {
    for s in SCENARIOS {
        for fact in s.step.facts {
            assert!(
                fact.contains('"'),
                "{}: documented line without a quote: {fact}",
                s.id
            );
            assert!(
                SOURCES.iter().any(|src| fact.contains(src)) && fact.ends_with(')'),
                "{}: documented line without its source at the end: {fact}",
                s.id
            );
            // Inference belongs in `inference` or `caveats`.
            for word in [
                "other side",
                "far side",
                "probably",
                "likely",
                "inference",
                "seen in",
            ] {
                assert!(
                    !fact.to_lowercase().contains(word),
                    "{}: documented line carries inference ({word}): {fact}",
                    s.id
                );
            }
            // Every code name the line mentions is quoted verbatim from its source.
            for token in fact.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_')) {
                if token.len() < 6 || lookup_name(token).is_empty() {
                    continue;
                }
                let Some((_, quotes)) = VERBATIM.iter().find(|(n, _)| *n == token) else {
                    panic!("{}: {token} has no verbatim text in VERBATIM: {fact}", s.id)
                };
                assert!(
                    quotes.iter().any(|q| fact.contains(q)),
                    "{}: {token} must be quoted as one of {quotes:?}: {fact}",
                    s.id
                );
            }
        }
    }
}

/// Every "lies in ... (A–B)" sentence holds for its value, and "outside every block" is true.
#[test]
fn every_range_sentence_holds_for_its_value() {
    fn parse(n: &str) -> Option<u32> {
        let n = n.trim();
        match n.strip_prefix("0x") {
            Some(h) => u32::from_str_radix(h, 16).ok(),
            None => n.parse().ok(),
        }
    }
    /// Every "(A–B)" in `line`.
    fn ranges(line: &str) -> Vec<(u32, u32)> {
        let mut out = Vec::new();
        for part in line.split(['(', ',']).skip(1) {
            let inner = part.split(')').next().unwrap_or("");
            if let Some((a, b)) = inner.split_once('–') {
                if let (Some(a), Some(b)) = (parse(a), parse(b)) {
                    out.push((a, b));
                }
            }
        }
        out
    }
    let mut values: Vec<u32> = (0..0x1300).collect();
    values.extend([
        0x2407,
        0x5000,
        0x7FFF,
        0x8000,
        0xFFFF,
        0x1_0000,
        0x2_0099,
        0xDEAD_BEEF,
    ]);
    let mut checked = 0;
    for family in [Errinfo, Extended, NegFailure, Freerdp, Disconnect, TlsAlert] {
        for &v in &values {
            let Ok(e) = explain(&[format!("0x{v:X}")], Some(family)) else {
                continue;
            };
            for c in &e.codes {
                let Some(u) = &c.unknown else { continue };
                for line in &u.range {
                    let rs = ranges(line);
                    if line.contains("lies in") {
                        let (a, b) = rs[0];
                        assert!((a..=b).contains(&v), "{family} 0x{v:X}: {line}");
                        checked += 1;
                    }
                    if line.contains("outside every block") {
                        assert!(!rs.is_empty(), "{line}");
                        for (a, b) in rs {
                            assert!(!(a..=b).contains(&v), "{family} 0x{v:X}: {line}");
                        }
                        checked += 1;
                    }
                }
            }
        }
    }
    assert!(checked > 1000, "only {checked} range sentences checked");
    // The values of the review: outside the RDP-specific block, so never "in" it.
    for v in ["0x2407", "0x1200", "0x5000"] {
        let e = explain(&[v.to_string()], None).expect("decodes");
        let text = serde_json::to_string(&e).expect("json");
        assert!(!text.contains("lies in the RDP"), "{v}: {text}");
    }
}

#[test]
fn neg_failure_codes_beyond_six_are_raw_and_undocumented() {
    for v in ["7", "8", "0x10"] {
        let e = explain(&[v.to_string()], Some(NegFailure)).expect("a number");
        let c = &e.codes[0];
        assert!(!c.known && c.name.is_none() && !c.documented, "{v}");
        let text = serde_json::to_string(&e).expect("json");
        assert!(text.contains("1–6"), "{v}: {text}");
        assert!(
            !text.contains("ENTRA") && !text.contains("IronRDP"),
            "{v}: {text}"
        );
    }
}

#[test]
fn the_schannel_alert_table_is_cited_only_for_codes_it_lists() {
    for e in entries(Hresult) {
        let alert = e.see_also.iter().any(|r| r.family == TlsAlert);
        assert_eq!(
            e.source.contains("Schannel"),
            alert,
            "0x{:08X} {}: source {:?}",
            e.value,
            e.name,
            e.source
        );
    }
    let e = explain(&["0x80080005".to_string()], None).expect("decodes");
    assert!(!e.codes[0].source.unwrap_or("").contains("Schannel"));
}

#[test]
fn extended_8_and_9_keep_their_shared_documented_text() {
    let e8 = lookup(Extended, 8).expect("8");
    let e9 = lookup(Extended, 9).expect("9");
    // ExtendedDisconnectReasonCode gives both "The server denied the connection for security
    // reasons."; FIPS and privileges are read from the names, so they belong in notes.
    assert_eq!(e8.meaning, e9.meaning);
    assert!(!e8.meaning.contains("FIPS") && !e9.meaning.contains("privilege"));
}

#[test]
fn event_queries_name_their_provider_and_channel() {
    for s in SCENARIOS {
        for c in s.causes {
            for ev in c.evidence {
                let cmd = ev.command;
                if cmd.contains("EventID=") {
                    assert!(cmd.contains("Provider[@Name="), "{}: {cmd}", c.id);
                }
                if cmd.contains("Get-WinEvent") && cmd.contains("Id=") {
                    assert!(cmd.contains("ProviderName="), "{}: {cmd}", c.id);
                }
                // 1070 is logged in the RemoteConnectionManager Operational channel.
                if cmd.contains("EventID=1070") {
                    assert!(
                        cmd.contains("RemoteConnectionManager/Operational"),
                        "{}: {cmd}",
                        c.id
                    );
                }
                assert!(!cmd.contains("1071"), "{}: 1071 is unverified: {cmd}", c.id);
            }
        }
    }
}

#[test]
fn causes_keep_nla_on_and_log_sessions_off() {
    for s in SCENARIOS {
        for c in s.causes {
            let fix = c.fix.to_lowercase();
            if fix.contains("nla") {
                assert!(
                    fix.contains("keep nla on") || !fix.contains("match nla"),
                    "{}: {}",
                    c.id,
                    c.fix
                );
            }
            if fix.contains("rwinsta") {
                assert!(fix.contains("logoff"), "{}: prefer logoff: {}", c.id, c.fix);
            }
            // The certificate recipe: what blocked renewal first, SessionEnv before TermService.
            if fix.contains("delete the certificate") || fix.contains("delete the expired") {
                let read = fix.find("1058").unwrap_or(usize::MAX);
                let delete = fix.find("delete").unwrap_or(0);
                assert!(
                    read < delete,
                    "{}: diagnose before deleting: {}",
                    c.id,
                    c.fix
                );
                let session_env = fix.find("sessionenv").unwrap_or(usize::MAX);
                let term = fix.find("termservice").unwrap_or(usize::MAX);
                assert!(session_env < term, "{}: SessionEnv first: {}", c.id, c.fix);
            }
        }
    }
}

#[test]
fn the_seed_pages_myths_about_nla_and_the_security_layer_are_answered() {
    let s = SCENARIOS
        .iter()
        .find(|s| s.id == "socket-closed-server-denied")
        .expect("scenario");
    for needle in ["Disable NLA first", "security layer to RDP", "latency"] {
        assert!(
            s.does_not_fit.iter().any(|n| n.claim.contains(needle)),
            "no does-not-fit entry for {needle}"
        );
    }
}

/// (family, value, exact name) for the gateway, Kerberos and NTLM tables, by hand from MS-TSGU
/// 2.2.6 / 3.1.4, RFC 4120 7.5.9, mstsc's message table and winerror.h / ntstatus.h.
const EXPECTED_GATEWAY_KERBEROS: &[(Family, u32, &str)] = &[
    (Gateway, 0x0300_0008, "RDG_REMOTE_ERROR"),
    (Gateway, 0x0300_000D, "RDG_TEMPORARILY_UNAVAILABLE"),
    (Gateway, 0x0300_001B, "RDG_RESOURCE_NOT_AUTHORIZED"),
    (Gateway, 0x0300_001C, "RDG_CONNECTION_NOT_AUTHORIZED"),
    (Gateway, 0x0300_0022, "RDG_MAX_CONNECTIONS"),
    (Tsgu, 0x8007_59D8, "E_PROXY_INTERNALERROR"),
    (Tsgu, 0x8007_59DA, "E_PROXY_RAP_ACCESSDENIED"),
    (Tsgu, 0x8007_59DB, "E_PROXY_NAP_ACCESSDENIED"),
    (Tsgu, 0x8007_59DD, "E_PROXY_TS_CONNECTFAILED"),
    (Tsgu, 0x8007_59DF, "E_PROXY_ALREADYDISCONNECTED"),
    (Tsgu, 0x8007_59E9, "E_PROXY_CAPABILITYMISMATCH"),
    (Tsgu, 0x8007_59ED, "E_PROXY_QUARANTINE_ACCESSDENIED"),
    (Tsgu, 0x8007_59EE, "E_PROXY_NOCERTAVAILABLE"),
    (Tsgu, 0x8007_59F7, "E_PROXY_COOKIE_BADPACKET"),
    (
        Tsgu,
        0x8007_59F8,
        "E_PROXY_COOKIE_AUTHENTICATION_ACCESS_DENIED",
    ),
    (
        Tsgu,
        0x8007_59F9,
        "E_PROXY_UNSUPPORTED_AUTHENTICATION_METHOD",
    ),
    (Tsgu, 0x59E6, "E_PROXY_MAXCONNECTIONSREACHED"),
    (Tsgu, 0x59E8, "E_PROXY_NOTSUPPORTED"),
    (Tsgu, 0x59F6, "E_PROXY_SESSIONTIMEOUT"),
    (Tsgu, 0x59FA, "E_PROXY_REAUTH_AUTHN_FAILED"),
    (Tsgu, 0x59FB, "E_PROXY_REAUTH_CAP_FAILED"),
    (Tsgu, 0x59FC, "E_PROXY_REAUTH_RAP_FAILED"),
    (Tsgu, 0x59FD, "E_PROXY_SDR_NOT_SUPPORTED_BY_TS"),
    (Tsgu, 0x5A00, "E_PROXY_REAUTH_NAP_FAILED"),
    (Tsgu, 0x4D4, "E_PROXY_CONNECTIONABORTED"),
    (Kerberos, 6, "KDC_ERR_C_PRINCIPAL_UNKNOWN"),
    (Kerberos, 7, "KDC_ERR_S_PRINCIPAL_UNKNOWN"),
    (Kerberos, 12, "KDC_ERR_POLICY"),
    (Kerberos, 14, "KDC_ERR_ETYPE_NOSUPP"),
    (Kerberos, 18, "KDC_ERR_CLIENT_REVOKED"),
    (Kerberos, 23, "KDC_ERR_KEY_EXPIRED"),
    (Kerberos, 24, "KDC_ERR_PREAUTH_FAILED"),
    (Kerberos, 25, "KDC_ERR_PREAUTH_REQUIRED"),
    (Kerberos, 31, "KRB_AP_ERR_BAD_INTEGRITY"),
    (Kerberos, 37, "KRB_AP_ERR_SKEW"),
    (Kerberos, 41, "KRB_AP_ERR_MODIFIED"),
    (Kerberos, 52, "KRB_ERR_RESPONSE_TOO_BIG"),
    (Kerberos, 60, "KRB_ERR_GENERIC"),
    (Kerberos, 68, "KDC_ERR_WRONG_REALM"),
    (Ntstatus, 0xC000_0418, "STATUS_NTLM_BLOCKED"),
    (Ntstatus, 0xC000_02FD, "STATUS_KDC_UNKNOWN_ETYPE"),
    (Win32, 1937, "ERROR_NTLM_BLOCKED"),
    (Win32, 1398, "ERROR_TIME_SKEW"),
    (
        Hresult,
        0x8007_0791,
        "HRESULT_FROM_WIN32(ERROR_NTLM_BLOCKED)",
    ),
    (Hresult, 0x8009_0342, "SEC_E_KDC_UNKNOWN_ETYPE"),
];

#[test]
fn gateway_kerberos_and_ntlm_codes_decode_with_their_names() {
    for (f, v, name) in EXPECTED_GATEWAY_KERBEROS {
        let e = lookup(*f, *v).unwrap_or_else(|| panic!("{f} 0x{v:X} missing"));
        assert_eq!(e.name, *name, "{f} 0x{v:X}");
        assert_eq!(e.value, *v);
    }
    // The codes the issues name, typed as a user would.
    for (input, family, name) in [
        ("0x3000008", Gateway, "RDG_REMOTE_ERROR"),
        ("0x300000D", Gateway, "RDG_TEMPORARILY_UNAVAILABLE"),
        ("50331675", Gateway, "RDG_RESOURCE_NOT_AUTHORIZED"),
        ("0x800759DA", Tsgu, "E_PROXY_RAP_ACCESSDENIED"),
        ("KRB_AP_ERR_SKEW", Kerberos, "KRB_AP_ERR_SKEW"),
        (
            "KDC_ERR_S_PRINCIPAL_UNKNOWN",
            Kerberos,
            "KDC_ERR_S_PRINCIPAL_UNKNOWN",
        ),
        (
            "krb5kdc_err_preauth_failed",
            Kerberos,
            "KDC_ERR_PREAUTH_FAILED",
        ),
        ("0xC0000418", Ntstatus, "STATUS_NTLM_BLOCKED"),
        ("1937", Win32, "ERROR_NTLM_BLOCKED"),
        (
            "E_PROXY_MAXCONNECTIONSREACHED",
            Tsgu,
            "E_PROXY_MAXCONNECTIONSREACHED",
        ),
    ] {
        let x = explain(&[input.to_string()], None).expect(input);
        let first = &x.codes[0];
        assert_eq!(first.family, Some(family), "{input}");
        assert_eq!(first.name, Some(name), "{input}");
        assert!(first.known, "{input}");
    }
    let skew = explain(&["0x25".into()], Some(Kerberos)).expect("0x25");
    assert_eq!(skew.codes[0].name, Some("KRB_AP_ERR_SKEW"));
    assert_eq!(skew.codes.len(), 1);
}

#[test]
fn gateway_results_decode_in_either_form() {
    // MS-TSGU writes MAXCONNECTIONSREACHED as 0x59E6 and TS_CONNECTFAILED as 0x800759DD; either
    // spelling of each decodes to the one entry.
    for (input, name) in [
        ("0x800759E6", "E_PROXY_MAXCONNECTIONSREACHED"),
        ("0x59E6", "E_PROXY_MAXCONNECTIONSREACHED"),
        ("0x59DD", "E_PROXY_TS_CONNECTFAILED"),
        ("0x800759DD", "E_PROXY_TS_CONNECTFAILED"),
    ] {
        let x = explain(&[input.to_string()], None).expect(input);
        assert_eq!(x.codes[0].family, Some(Tsgu), "{input}");
        assert_eq!(x.codes[0].name, Some(name), "{input}");
        let y = explain(&[input.to_string()], Some(Tsgu)).expect(input);
        assert_eq!(y.codes[0].name, Some(name), "{input} --as tsgu");
    }
    // Nothing else in the HRESULT space is claimed.
    assert!(lookup(Tsgu, 0x8007_0005).is_none());
    assert!(lookup(Tsgu, 0x25).is_none());
}

#[test]
fn new_families_parse_and_unknown_values_say_why() {
    for (s, f) in [
        ("gateway", Gateway),
        ("rdg", Gateway),
        ("tsgu", Tsgu),
        ("E_PROXY", Tsgu),
        ("kerberos", Kerberos),
        ("krb5", Kerberos),
        ("win32", Win32),
    ] {
        assert_eq!(Family::parse(s), Some(f), "{s}");
    }
    let x = explain(&["0x3000099".into()], None).expect("decodes as unknown");
    assert!(!x.codes[0].known);
    let range = &x.codes[0].unknown.as_ref().expect("unknown info").range;
    assert!(
        range.iter().any(|l| l.contains("RD Gateway block")),
        "{range:?}"
    );
    let k = explain(&["200".into()], Some(Kerberos)).expect("unknown kerberos");
    assert!(k.codes[0].unknown.as_ref().expect("info").range[0].contains("cannot be one"));
    // Gateway client codes and wire codes point at each other.
    let rap = lookup(Gateway, 0x0300_001B).expect("0x300001B");
    assert!(rap.see_also.contains(&code(Tsgu, 0x8007_59DA)));
    let back = lookup(Tsgu, 0x8007_59DA).expect("RAP");
    assert!(back.see_also.contains(&code(Gateway, 0x0300_001B)));
}
