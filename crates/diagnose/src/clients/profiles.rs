//! The client profiles, as data: what each Remote Desktop client offers in its handshake and how
//! it treats a server it cannot authenticate. Every entry names its sources; what no source
//! states is listed in `unverified`. `check --clients` simulates every profile; `--client ID`
//! picks the one whose experience severities describe.
//!
//! Cipher suites are IANA names in the client's order of preference (Schannel's "_P256"/"_P384"
//! suffixes of Windows 7 and 8.1 name the curve, which `groups` holds here).

use super::{CertPolicy, ClientProfile, CodeList, Credssp, OraclePolicy, RdpSecuritySupport};
use rdpdoctor_codes::Family::{Disconnect as D, Freerdp as F, Hresult as H, TlsAlert as T};
use rdpdoctor_observations::protocol::{HYBRID, MSTSC_DEFAULT, SSL};
use rdpdoctor_observations::TlsVersion::{self, Tls10, Tls11, Tls12, Tls13};

/// Schannel on Windows 7 SP1 after the cipher-suite update of Security Advisory 3042058 (May
/// 2015), and on Windows 8.1 after update 2919355: the same default order (Microsoft Learn, "TLS
/// Cipher Suites in Windows 7" and "... in Windows 8.1"; ECDSA and DSS suites are kept, though
/// no RDP server presents such a certificate). Finite-field DHE with AES-CBC is enabled here, as
/// on Windows 10 1607 / Server 2016, and no longer from 1703 on.
const SCHANNEL_WIN7_81: &[&str] = &[
    "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384",
    "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256",
    "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA",
    "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA",
    "TLS_DHE_RSA_WITH_AES_256_GCM_SHA384",
    "TLS_DHE_RSA_WITH_AES_128_GCM_SHA256",
    "TLS_DHE_RSA_WITH_AES_256_CBC_SHA",
    "TLS_DHE_RSA_WITH_AES_128_CBC_SHA",
    "TLS_RSA_WITH_AES_256_GCM_SHA384",
    "TLS_RSA_WITH_AES_128_GCM_SHA256",
    "TLS_RSA_WITH_AES_256_CBC_SHA256",
    "TLS_RSA_WITH_AES_128_CBC_SHA256",
    "TLS_RSA_WITH_AES_256_CBC_SHA",
    "TLS_RSA_WITH_AES_128_CBC_SHA",
    "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
    "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
    "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA384",
    "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256",
    "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA",
    "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA",
    "TLS_DHE_DSS_WITH_AES_256_CBC_SHA256",
    "TLS_DHE_DSS_WITH_AES_128_CBC_SHA256",
    "TLS_DHE_DSS_WITH_AES_256_CBC_SHA",
    "TLS_DHE_DSS_WITH_AES_128_CBC_SHA",
    "TLS_RSA_WITH_3DES_EDE_CBC_SHA",
    "TLS_DHE_DSS_WITH_3DES_EDE_CBC_SHA",
    "TLS_RSA_WITH_RC4_128_SHA",
    "TLS_RSA_WITH_RC4_128_MD5",
];

/// Schannel's default lists from Windows 10 1607 on are made of the same runs of suites, in the
/// same order; each list below names its runs (a literal `[...]` run where a version differs).
/// A macro, not a function: the lists are consts inside the const `PROFILES`.
macro_rules! schannel {
    (@ [$($done:expr),*]) => { &[$($done),*] };
    (@ [$($done:expr),*] tls13 $($rest:tt)*) => {
        schannel!(@ [$($done,)* "TLS_AES_256_GCM_SHA384", "TLS_AES_128_GCM_SHA256"] $($rest)*)
    };
    (@ [$($done:expr),*] ecdhe_gcm $($rest:tt)*) => {
        schannel!(@ [$($done,)*
            "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
            "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
            "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
            "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"] $($rest)*)
    };
    (@ [$($done:expr),*] dhe_gcm $($rest:tt)*) => {
        schannel!(@ [$($done,)*
            "TLS_DHE_RSA_WITH_AES_256_GCM_SHA384",
            "TLS_DHE_RSA_WITH_AES_128_GCM_SHA256"] $($rest)*)
    };
    (@ [$($done:expr),*] ecdhe_cbc $($rest:tt)*) => {
        schannel!(@ [$($done,)*
            "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA384",
            "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256",
            "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384",
            "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256",
            "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA",
            "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA",
            "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA",
            "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA"] $($rest)*)
    };
    (@ [$($done:expr),*] rsa $($rest:tt)*) => {
        schannel!(@ [$($done,)*
            "TLS_RSA_WITH_AES_256_GCM_SHA384",
            "TLS_RSA_WITH_AES_128_GCM_SHA256",
            "TLS_RSA_WITH_AES_256_CBC_SHA256",
            "TLS_RSA_WITH_AES_128_CBC_SHA256",
            "TLS_RSA_WITH_AES_256_CBC_SHA",
            "TLS_RSA_WITH_AES_128_CBC_SHA"] $($rest)*)
    };
    (@ [$($done:expr),*] [$($suite:expr),*] $($rest:tt)*) => {
        schannel!(@ [$($done,)* $($suite),*] $($rest)*)
    };
    ($($runs:tt)*) => { schannel!(@ [] $($runs)*) };
}

/// Schannel on Windows 10 1607 and Server 2016 (Microsoft Learn, "TLS Cipher Suites in Windows 10
/// v1607"): DHE with AES-CBC, DSS, RC4 and 3DES still enabled.
const SCHANNEL_WIN10_1607: &[&str] = schannel!(
    ecdhe_gcm dhe_gcm ecdhe_cbc
    ["TLS_DHE_RSA_WITH_AES_256_CBC_SHA", "TLS_DHE_RSA_WITH_AES_128_CBC_SHA"]
    rsa
    [
        "TLS_RSA_WITH_3DES_EDE_CBC_SHA",
        "TLS_DHE_DSS_WITH_AES_256_CBC_SHA256",
        "TLS_DHE_DSS_WITH_AES_128_CBC_SHA256",
        "TLS_DHE_DSS_WITH_AES_256_CBC_SHA",
        "TLS_DHE_DSS_WITH_AES_128_CBC_SHA",
        "TLS_DHE_DSS_WITH_3DES_EDE_CBC_SHA",
        "TLS_RSA_WITH_RC4_128_SHA",
        "TLS_RSA_WITH_RC4_128_MD5"
    ]
);

/// Schannel on Windows 10 1809 to 21H2 and Server 2019 (Microsoft Learn, "TLS Cipher Suites in
/// Windows 10 v1809", "... v1903, v1909, and v2004", "... v20H2, v21H1, and v21H2": one list).
const SCHANNEL_WIN10_1809: &[&str] =
    schannel!(ecdhe_gcm dhe_gcm ecdhe_cbc rsa["TLS_RSA_WITH_3DES_EDE_CBC_SHA"]);

/// Schannel on Windows 10 22H2 (Microsoft Learn, "TLS Cipher Suites in Windows 10 v22H2"): the
/// 1809 list without finite-field DHE and without 3DES, which are supported but off by default.
const SCHANNEL_WIN10_22H2: &[&str] = schannel!(ecdhe_gcm ecdhe_cbc rsa);

/// Schannel on Server 2022 and Windows 11 21H2 (Microsoft Learn, "TLS Cipher Suites in Windows
/// Server 2022", "... in Windows 11"): the TLS 1.3 suites first, DHE-GCM and 3DES still on.
const SCHANNEL_SERVER_2022: &[&str] =
    schannel!(tls13 ecdhe_gcm dhe_gcm ecdhe_cbc rsa["TLS_RSA_WITH_3DES_EDE_CBC_SHA"]);

/// Schannel on Windows 11 22H2 and later (Microsoft Learn, "TLS Cipher Suites in Windows 11 v22H2
/// and later"): TLS 1.3 first, no finite-field DHE, no 3DES.
const SCHANNEL_WIN11: &[&str] = schannel!(tls13 ecdhe_gcm ecdhe_cbc rsa);

/// OpenSSL 3.0's DEFAULT cipher list (`openssl ciphers -V DEFAULT`), which FreeRDP uses when
/// /tls-ciphers is not given, plus OpenSSL 3's default TLS 1.3 suites.
const OPENSSL3_DEFAULT: &[&str] = &[
    "TLS_AES_256_GCM_SHA384",
    "TLS_CHACHA20_POLY1305_SHA256",
    "TLS_AES_128_GCM_SHA256",
    "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
    "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
    "TLS_DHE_RSA_WITH_AES_256_GCM_SHA384",
    "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256",
    "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
    "TLS_DHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
    "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
    "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
    "TLS_DHE_RSA_WITH_AES_128_GCM_SHA256",
    "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA384",
    "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384",
    "TLS_DHE_RSA_WITH_AES_256_CBC_SHA256",
    "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256",
    "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256",
    "TLS_DHE_RSA_WITH_AES_128_CBC_SHA256",
    "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA",
    "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA",
    "TLS_DHE_RSA_WITH_AES_256_CBC_SHA",
    "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA",
    "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA",
    "TLS_DHE_RSA_WITH_AES_128_CBC_SHA",
    "TLS_RSA_WITH_AES_256_GCM_SHA384",
    "TLS_RSA_WITH_AES_128_GCM_SHA256",
    "TLS_RSA_WITH_AES_256_CBC_SHA256",
    "TLS_RSA_WITH_AES_128_CBC_SHA256",
    "TLS_RSA_WITH_AES_256_CBC_SHA",
    "TLS_RSA_WITH_AES_128_CBC_SHA",
];

/// rustls' default cipher suites (`rustls::crypto::ring::DEFAULT_CIPHER_SUITES` /
/// aws-lc-rs): TLS 1.3 and ECDHE with AEAD only; rustls implements no CBC, no RSA key exchange
/// and no finite-field DHE.
const RUSTLS: &[&str] = &[
    "TLS_AES_256_GCM_SHA384",
    "TLS_AES_128_GCM_SHA256",
    "TLS_CHACHA20_POLY1305_SHA256",
    "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
    "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
    "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256",
    "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
    "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
    "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
];

/// GnuTLS 3.7.9 (Debian 12) with the priority string rdesktop 1.9 sets, "NORMAL:%COMPAT"
/// (`gnutls-cli --priority NORMAL:%COMPAT -l`, in GnuTLS' order; GnuTLS' own names mapped to
/// IANA's). NORMAL has no HMAC-SHA256/384 CBC suites, no 3DES and no RC4.
const GNUTLS_NORMAL: &[&str] = &[
    "TLS_AES_256_GCM_SHA384",
    "TLS_CHACHA20_POLY1305_SHA256",
    "TLS_AES_128_GCM_SHA256",
    "TLS_AES_128_CCM_SHA256",
    "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
    "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256",
    "TLS_ECDHE_ECDSA_WITH_AES_256_CCM",
    "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA",
    "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
    "TLS_ECDHE_ECDSA_WITH_AES_128_CCM",
    "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA",
    "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
    "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
    "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA",
    "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
    "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA",
    "TLS_RSA_WITH_AES_256_GCM_SHA384",
    "TLS_RSA_WITH_AES_256_CCM",
    "TLS_RSA_WITH_AES_256_CBC_SHA",
    "TLS_RSA_WITH_AES_128_GCM_SHA256",
    "TLS_RSA_WITH_AES_128_CCM",
    "TLS_RSA_WITH_AES_128_CBC_SHA",
    "TLS_DHE_RSA_WITH_AES_256_GCM_SHA384",
    "TLS_DHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
    "TLS_DHE_RSA_WITH_AES_256_CCM",
    "TLS_DHE_RSA_WITH_AES_256_CBC_SHA",
    "TLS_DHE_RSA_WITH_AES_128_GCM_SHA256",
    "TLS_DHE_RSA_WITH_AES_128_CCM",
    "TLS_DHE_RSA_WITH_AES_128_CBC_SHA",
];

const SIGALGS_WINDOWS: &[&str] = &[
    "rsa_pss_rsae_sha256",
    "rsa_pss_rsae_sha384",
    "rsa_pss_rsae_sha512",
    "rsa_pkcs1_sha256",
    "rsa_pkcs1_sha384",
    "rsa_pkcs1_sha512",
    "ecdsa_secp256r1_sha256",
    "ecdsa_secp384r1_sha384",
    "rsa_pkcs1_sha1",
    "ecdsa_sha1",
];
const SIGALGS_WIN7: &[&str] = &[
    "rsa_pkcs1_sha256",
    "rsa_pkcs1_sha384",
    "rsa_pkcs1_sha1",
    "ecdsa_secp256r1_sha256",
    "ecdsa_secp384r1_sha384",
    "ecdsa_sha1",
];
const SIGALGS_OPENSSL3_SECLEVEL1: &[&str] = &[
    "ecdsa_secp256r1_sha256",
    "ecdsa_secp384r1_sha384",
    "ecdsa_secp521r1_sha512",
    "ed25519",
    "ed448",
    "rsa_pss_rsae_sha256",
    "rsa_pss_rsae_sha384",
    "rsa_pss_rsae_sha512",
    "rsa_pkcs1_sha256",
    "rsa_pkcs1_sha384",
    "rsa_pkcs1_sha512",
];
const SIGALGS_RUSTLS: &[&str] = &[
    "ecdsa_secp384r1_sha384",
    "ecdsa_secp256r1_sha256",
    "ed25519",
    "rsa_pss_rsae_sha512",
    "rsa_pss_rsae_sha384",
    "rsa_pss_rsae_sha256",
    "rsa_pkcs1_sha512",
    "rsa_pkcs1_sha384",
    "rsa_pkcs1_sha256",
];

/// GnuTLS NORMAL's signature algorithms (`gnutls-cli --priority NORMAL:%COMPAT -l`, PK-signatures),
/// SHA-1 included.
const SIGALGS_GNUTLS_NORMAL: &[&str] = &[
    "rsa_pkcs1_sha256",
    "rsa_pss_pss_sha256",
    "rsa_pss_rsae_sha256",
    "ecdsa_secp256r1_sha256",
    "ed25519",
    "rsa_pkcs1_sha384",
    "rsa_pss_pss_sha384",
    "rsa_pss_rsae_sha384",
    "ecdsa_secp384r1_sha384",
    "ed448",
    "rsa_pkcs1_sha512",
    "rsa_pss_pss_sha512",
    "rsa_pss_rsae_sha512",
    "ecdsa_secp521r1_sha512",
    "rsa_pkcs1_sha1",
    "ecdsa_sha1",
];

const RDP_ALL_METHODS: RdpSecuritySupport = RdpSecuritySupport {
    offered: 0x1B,
    methods: &[
        "40-bit RC4",
        "56-bit RC4",
        "128-bit RC4",
        "FIPS 140-1 (3DES/SHA-1)",
    ],
    salted_mac: false,
};

/// FreeRDP: every method, and RC4 PDUs signed with the salted MAC (its SaltedChecksum setting,
/// on by default): what gets xfreerdp 2.11 logged off by xrdp (crates/wire/tests/lab_rdp_security.rs).
const RDP_ALL_METHODS_SALTED: RdpSecuritySupport = RdpSecuritySupport {
    salted_mac: true,
    ..RDP_ALL_METHODS
};

/// rdesktop's Client Security Data (secure.c): 40-bit and 128-bit RC4 only.
const RDP_RC4_40_128: RdpSecuritySupport = RdpSecuritySupport {
    offered: 0x03,
    methods: &["40-bit RC4", "128-bit RC4"],
    salted_mac: false,
};

/// Clients whose CredSSP speaks Kerberos only (through GSSAPI): without a ticket for the
/// server's TERMSRV principal they fail every NLA server, whatever the password.
pub const KERBEROS_ONLY_CREDSSP: &[&str] = &["rdesktop"];

const MSTSC_TLS_ERRORS: CodeList = CodeList {
    codes: &[(T, 70), (H, 0x8009_0302), (D, 0x904)],
    text: "\"This computer can't connect to the remote computer\" (the TLS handshake fails; Schannel logs 36871/36874 on the client)",
};
const MSTSC_CIPHER_ERRORS: CodeList = CodeList {
    codes: &[(H, 0x8009_0331), (T, 40), (D, 0x904)],
    text: "\"This computer can't connect to the remote computer\" (Schannel: no cipher suite in common, SEC_E_ALGORITHM_MISMATCH)",
};
const MSTSC_CERT_ERRORS: CodeList = CodeList {
    codes: &[(H, 0x8009_0325)],
    text: "\"The identity of the remote computer cannot be verified\" without a Connect button: the policy requires server authentication",
};
/// A patched mstsc refusing a server without the CVE-2018-0886 fix: after the credentials were
/// typed, not the identity dialog (KB4093492).
const MSTSC_ORACLE_ERRORS: CodeList = CodeList {
    codes: &[(H, 0x8009_0302)],
    text: "\"An authentication error has occurred. The function requested is not supported ... This could be due to CredSSP encryption oracle remediation\" after the credentials were typed",
};
const FREERDP_TLS_ERRORS: CodeList = CodeList {
    codes: &[(F, 0x0002_0008), (F, 143)],
    text: "ERRCONNECT_TLS_CONNECT_FAILED [0x00020008], exit status 143",
};
const FREERDP_NEGO_ERRORS: CodeList = CodeList {
    codes: &[(F, 0x0002_000C), (F, 131)],
    text: "ERRCONNECT_SECURITY_NEGO_CONNECT_FAILED [0x0002000C]",
};
const RUSTLS_TLS_ERRORS: CodeList = CodeList {
    codes: &[(T, 40)],
    text: "a connector error carrying rustls' \"peer is incompatible\" / handshake_failure alert",
};
/// rdesktop 1.9 has no error-code table: it prints a line and exits with a sysexits(3) status.
const RDESKTOP_TLS_ERRORS: CodeList = CodeList {
    codes: &[],
    text:
        "rdesktop prints \"tcp_tls_connect(), TLS handshake failed\" with GnuTLS' reason and exits",
};
const RDESKTOP_NLA_ERRORS: CodeList = CodeList {
    codes: &[],
    text: "rdesktop prints \"Failed to initialize NLA, do you have correct Kerberos TGT initialized ?\" then \"Failed to connect, CredSSP required by server\" and exits with status 76 (EX_PROTOCOL)",
};
const RDESKTOP_RDP_ERRORS: CodeList = CodeList {
    codes: &[],
    text: "rdesktop prints \"Connection established using plain RDP.\", the server drops the connection, and rdesktop exits with status 76 (EX_PROTOCOL)",
};
const NO_CODES: CodeList = CodeList {
    codes: &[],
    text: "",
};

/// mstsc on Windows 10 22H2; the Windows Server profiles (admins' jump hosts) differ from it only
/// in their Schannel defaults.
const MSTSC_WIN10: ClientProfile = ClientProfile {
    id: "mstsc-win10",
    name: "mstsc, Windows 10 22H2",
    aliases: &["windows10"],
    description: "mstsc on Windows 10 22H2 (TLS 1.0 to 1.2, no TLS 1.3; no finite-field DHE or 3DES suites by default)",
    stack: "Schannel on Windows 10",
    requested: MSTSC_DEFAULT,
    tls_versions: &[Tls10, Tls11, Tls12],
    cipher_suites: SCHANNEL_WIN10_22H2,
    groups: &["x25519", "secp256r1", "secp384r1"],
    signature_algorithms: SIGALGS_WINDOWS,
    min_rsa_bits: 1024,
    min_dh_bits: 1024,
    sha1_signatures: true,
    standard_rdp_security: Some(RDP_ALL_METHODS),
    credssp: Credssp { version: 6, oracle: OraclePolicy::Mitigated },
    unverified_certificate: CertPolicy::Prompt,
    tls_errors: MSTSC_TLS_ERRORS,
    cipher_errors: MSTSC_CIPHER_ERRORS,
    cert_errors: MSTSC_CERT_ERRORS,
    nego_errors: NO_CODES,
    oracle_errors: MSTSC_ORACLE_ERRORS,
    sources: &[
        "Microsoft Learn: TLS Cipher Suites in Windows 10 v22H2 (TLS_DHE_RSA_* and 3DES supported but not enabled by default)",
        "Microsoft Learn: TLS (Schannel SSP) changes in Windows 10 and Windows Server 2016 (ECDHE_RSA with AES-GCM added in 1507; curve order configurable)",
        "Microsoft Support KB4093492: CredSSP updates for CVE-2018-0886",
    ],
    unverified: "the exact minimum RSA key size Schannel accepts from a server",
};

/// mstsc on a Windows Server: the same client, the server's Schannel defaults.
const fn mstsc_server(
    id: &'static str,
    name: &'static str,
    description: &'static str,
    tls_versions: &'static [TlsVersion],
    cipher_suites: &'static [&'static str],
    sources: &'static [&'static str],
) -> ClientProfile {
    ClientProfile {
        id,
        name,
        aliases: &[],
        description,
        stack: "Schannel on Windows Server",
        tls_versions,
        cipher_suites,
        sources,
        unverified: "the exact minimum RSA key size Schannel accepts from a server; TLS 1.0/1.1 assumed still enabled for the Schannel client, as Microsoft's Protocols in TLS/SSL page lists for these versions",
        ..MSTSC_WIN10
    }
}

/// Every profile `--client` accepts and `--clients` simulates. The first is the default.
pub const PROFILES: &[ClientProfile] = &[
    ClientProfile {
        id: "mstsc-win11",
        name: "mstsc, Windows 11",
        aliases: &["windows"],
        description: "up-to-date mstsc on Windows 11 with default Schannel settings (TLS 1.0 to 1.3)",
        stack: "Schannel on Windows 11",
        requested: MSTSC_DEFAULT,
        tls_versions: &[Tls10, Tls11, Tls12, Tls13],
        cipher_suites: SCHANNEL_WIN11,
        groups: &["x25519", "secp256r1", "secp384r1"],
        signature_algorithms: SIGALGS_WINDOWS,
        min_rsa_bits: 1024,
        min_dh_bits: 2048,
        sha1_signatures: true,
        standard_rdp_security: Some(RDP_ALL_METHODS),
        credssp: Credssp { version: 6, oracle: OraclePolicy::Mitigated },
        unverified_certificate: CertPolicy::Prompt,
        tls_errors: MSTSC_TLS_ERRORS,
        cipher_errors: MSTSC_CIPHER_ERRORS,
        cert_errors: MSTSC_CERT_ERRORS,
        nego_errors: NO_CODES,
        oracle_errors: MSTSC_ORACLE_ERRORS,
        sources: &[
            "Microsoft Learn: TLS Cipher Suites in Windows 11 v22H2 and later (learn.microsoft.com/windows/win32/secauthn/tls-cipher-suites-in-windows-11-v22h2)",
            "Microsoft Learn: Protocols in TLS/SSL (Schannel SSP) (TLS 1.3 enabled by default from Windows 11 / Server 2022)",
            "Microsoft Learn: TLS (Schannel SSP) changes in Windows 10 and Windows Server 2016 (client RSA and DH key size registry minimums)",
            "Microsoft Support KB4093492: CredSSP updates for CVE-2018-0886 (Encryption Oracle Remediation default Mitigated)",
        ],
        unverified: "whether newer Windows 11 builds still enable TLS 1.0/1.1 for clients by default; the exact minimum RSA key size Schannel accepts from a server",
    },
    MSTSC_WIN10,
    ClientProfile {
        id: "mstsc-hardened",
        name: "mstsc, hardened",
        aliases: &["hardened"],
        description: "mstsc on Windows 11 with TLS 1.0/1.1 disabled that refuses servers it cannot authenticate (Configure server authentication for client = Do not connect); FreeRDP 3 and the macOS Windows App also lack TLS 1.0/1.1 by default, but they ask the user about such a server (their own profiles)",
        stack: "Schannel on Windows 11 with TLS 1.0/1.1 disabled",
        requested: MSTSC_DEFAULT,
        tls_versions: &[Tls12, Tls13],
        cipher_suites: SCHANNEL_WIN11,
        groups: &["x25519", "secp256r1", "secp384r1"],
        signature_algorithms: SIGALGS_WINDOWS,
        min_rsa_bits: 2048,
        min_dh_bits: 2048,
        sha1_signatures: false,
        standard_rdp_security: Some(RDP_ALL_METHODS),
        credssp: Credssp { version: 6, oracle: OraclePolicy::ForceUpdated },
        unverified_certificate: CertPolicy::Refuse,
        tls_errors: MSTSC_TLS_ERRORS,
        cipher_errors: MSTSC_CIPHER_ERRORS,
        cert_errors: MSTSC_CERT_ERRORS,
        nego_errors: NO_CODES,
        oracle_errors: MSTSC_ORACLE_ERRORS,
        sources: &[
            "Group Policy: Remote Desktop Connection Client > Configure server authentication for client = Do not connect if authentication fails (AuthenticationLevel 1)",
            "Microsoft Learn: TLS Cipher Suites in Windows 11 v22H2 and later",
            "Microsoft Support KB4093492: CredSSP Encryption Oracle Remediation = Force Updated Clients",
        ],
        unverified: "a configuration, not a product default: the values are what the named policies set",
    },
    ClientProfile {
        id: "mstsc-win81",
        name: "mstsc, Windows 8.1 / Server 2012 R2",
        aliases: &[],
        description: "mstsc on Windows 8.1 or Server 2012 R2 with update 2919355 (TLS 1.0 to 1.2, no ECDHE_RSA with AES-GCM)",
        stack: "Schannel on Windows 8.1",
        requested: MSTSC_DEFAULT,
        tls_versions: &[Tls10, Tls11, Tls12],
        cipher_suites: SCHANNEL_WIN7_81,
        groups: &["secp256r1", "secp384r1"],
        signature_algorithms: SIGALGS_WIN7,
        min_rsa_bits: 1024,
        min_dh_bits: 1024,
        sha1_signatures: true,
        standard_rdp_security: Some(RDP_ALL_METHODS),
        credssp: Credssp { version: 6, oracle: OraclePolicy::Mitigated },
        unverified_certificate: CertPolicy::Prompt,
        tls_errors: MSTSC_TLS_ERRORS,
        cipher_errors: MSTSC_CIPHER_ERRORS,
        cert_errors: MSTSC_CERT_ERRORS,
        nego_errors: NO_CODES,
        oracle_errors: MSTSC_ORACLE_ERRORS,
        sources: &[
            "Microsoft Learn: TLS Cipher Suites in Windows 8.1 (order after update 2919355)",
            "Microsoft Learn: TLS (Schannel SSP) changes in Windows 10 and Windows Server 2016 (TLS_ECDHE_RSA_WITH_AES_*_GCM first added in Windows 10 1507)",
            "Microsoft Support KB4093492: CredSSP updates for CVE-2018-0886",
        ],
        unverified: "later cumulative updates that may have added suites to the default list; minimum DH size (KB3061518 raised it to 1024 on older systems)",
    },
    ClientProfile {
        id: "mstsc-win7-kb3080079",
        name: "mstsc, Windows 7 + KB3080079",
        aliases: &[],
        description: "mstsc on Windows 7 SP1 / Server 2008 R2 with KB3080079 (TLS 1.1 and 1.2 for Remote Desktop) and the 3042058 cipher-suite update",
        stack: "Schannel on Windows 7",
        requested: SSL | HYBRID,
        tls_versions: &[Tls10, Tls11, Tls12],
        cipher_suites: SCHANNEL_WIN7_81,
        groups: &["secp256r1", "secp384r1"],
        signature_algorithms: SIGALGS_WIN7,
        min_rsa_bits: 1024,
        min_dh_bits: 1024,
        sha1_signatures: true,
        standard_rdp_security: Some(RDP_ALL_METHODS),
        credssp: Credssp { version: 6, oracle: OraclePolicy::Mitigated },
        unverified_certificate: CertPolicy::Prompt,
        tls_errors: MSTSC_TLS_ERRORS,
        cipher_errors: MSTSC_CIPHER_ERRORS,
        cert_errors: MSTSC_CERT_ERRORS,
        nego_errors: NO_CODES,
        oracle_errors: MSTSC_ORACLE_ERRORS,
        sources: &[
            "Microsoft Support KB3080079: Update to add RDS support for TLS 1.1 and TLS 1.2 in Windows 7 or Windows Server 2008 R2",
            "Microsoft Learn: TLS Cipher Suites in Windows 7 (order after Security Advisory 3042058)",
            "Microsoft Support KB3140245 (TLS 1.1/1.2 are not enabled by default for Schannel clients on Windows 7: SCHANNEL\\Protocols\\TLS 1.2\\Client DisabledByDefault = 0 is needed)",
            "Microsoft Support KB4093492: CredSSP updates for CVE-2018-0886",
        ],
        unverified: "assumes TLS 1.1/1.2 were also enabled for the Schannel client side in the registry, as KB3140245 describes; without that it behaves like mstsc-win7",
    },
    ClientProfile {
        id: "mstsc-win7",
        name: "mstsc, Windows 7",
        aliases: &[],
        description: "mstsc on Windows 7 SP1 / Server 2008 R2 without KB3080079 (Remote Desktop speaks TLS 1.0 only)",
        stack: "Schannel on Windows 7",
        requested: SSL | HYBRID,
        tls_versions: &[Tls10],
        cipher_suites: SCHANNEL_WIN7_81,
        groups: &["secp256r1", "secp384r1"],
        signature_algorithms: SIGALGS_WIN7,
        min_rsa_bits: 1024,
        min_dh_bits: 1024,
        sha1_signatures: true,
        standard_rdp_security: Some(RDP_ALL_METHODS),
        credssp: Credssp { version: 6, oracle: OraclePolicy::Mitigated },
        unverified_certificate: CertPolicy::Prompt,
        tls_errors: MSTSC_TLS_ERRORS,
        cipher_errors: MSTSC_CIPHER_ERRORS,
        cert_errors: MSTSC_CERT_ERRORS,
        nego_errors: NO_CODES,
        oracle_errors: MSTSC_ORACLE_ERRORS,
        sources: &[
            "Microsoft Support KB3080079 (without it Remote Desktop on Windows 7 / 2008 R2 uses TLS 1.0 only)",
            "Microsoft Learn: TLS Cipher Suites in Windows 7",
            "Microsoft Support KB4093492: CredSSP updates for CVE-2018-0886",
        ],
        unverified: "Windows 7 without the 2018 CredSSP update speaks CredSSP version 2-4 and has no oracle policy; this profile assumes the update",
    },
    mstsc_server(
        "mstsc-server2022",
        "mstsc, Windows Server 2022",
        "mstsc on Windows Server 2022 (TLS 1.0 to 1.3; TLS 1.3 suites first, DHE-GCM and 3DES still enabled)",
        &[Tls10, Tls11, Tls12, Tls13],
        SCHANNEL_SERVER_2022,
        &[
            "Microsoft Learn: TLS Cipher Suites in Windows Server 2022",
            "Microsoft Learn: Protocols in TLS/SSL (Schannel SSP) (TLS 1.3 enabled by default from Windows Server 2022)",
            "Microsoft Support KB4093492: CredSSP updates for CVE-2018-0886",
        ],
    ),
    mstsc_server(
        "mstsc-server2019",
        "mstsc, Windows Server 2019",
        "mstsc on Windows Server 2019 (Windows 10 1809 Schannel: TLS 1.0 to 1.2, DHE-GCM and 3DES enabled)",
        &[Tls10, Tls11, Tls12],
        SCHANNEL_WIN10_1809,
        &[
            "Microsoft Learn: TLS Cipher Suites in Windows 10 v1809 (Windows Server 2019)",
            "Microsoft Support KB4093492: CredSSP updates for CVE-2018-0886",
        ],
    ),
    mstsc_server(
        "mstsc-server2016",
        "mstsc, Windows Server 2016",
        "mstsc on Windows Server 2016 (Windows 10 1607 Schannel: TLS 1.0 to 1.2, DHE-CBC, DSS, 3DES and RC4 enabled)",
        &[Tls10, Tls11, Tls12],
        SCHANNEL_WIN10_1607,
        &[
            "Microsoft Learn: TLS Cipher Suites in Windows 10 v1607 (Windows Server 2016)",
            "Microsoft Learn: TLS (Schannel SSP) changes in Windows 10 and Windows Server 2016",
            "Microsoft Support KB4093492: CredSSP updates for CVE-2018-0886",
        ],
    ),
    ClientProfile {
        id: "windows-app-macos",
        name: "Windows App, macOS",
        aliases: &[],
        description: "Microsoft's Windows App (formerly Microsoft Remote Desktop) on macOS",
        stack: "Windows App's TLS stack on macOS",
        requested: MSTSC_DEFAULT,
        tls_versions: &[Tls12, Tls13],
        cipher_suites: OPENSSL3_DEFAULT,
        groups: &["x25519", "secp256r1", "secp384r1"],
        signature_algorithms: SIGALGS_OPENSSL3_SECLEVEL1,
        min_rsa_bits: 2048,
        min_dh_bits: 2048,
        sha1_signatures: false,
        standard_rdp_security: Some(RDP_ALL_METHODS),
        credssp: Credssp { version: 6, oracle: OraclePolicy::Mitigated },
        unverified_certificate: CertPolicy::Prompt,
        tls_errors: NO_CODES,
        cipher_errors: NO_CODES,
        cert_errors: NO_CODES,
        nego_errors: NO_CODES,
        oracle_errors: NO_CODES,
        sources: &["unverified"],
        unverified: "no public source lists the Windows App's TLS versions, cipher suites or key-size limits: TLS 1.2+ and an OpenSSL-like default list are assumed from user reports of it failing where mstsc connects; its error codes are not documented",
    },
    ClientProfile {
        id: "freerdp2-openssl3",
        name: "FreeRDP 2.11 (xfreerdp), OpenSSL 3",
        aliases: &["freerdp2"],
        description: "xfreerdp 2.11 as Debian 12 ships it, linked with OpenSSL 3.0, default settings (/tls-seclevel:1, no /tls-ciphers)",
        stack: "OpenSSL 3.0 at security level 1",
        requested: SSL | HYBRID,
        tls_versions: &[Tls12, Tls13],
        cipher_suites: OPENSSL3_DEFAULT,
        groups: &["x25519", "secp256r1", "x448", "secp521r1", "secp384r1"],
        signature_algorithms: SIGALGS_OPENSSL3_SECLEVEL1,
        min_rsa_bits: 1024,
        min_dh_bits: 1024,
        sha1_signatures: false,
        standard_rdp_security: Some(RDP_ALL_METHODS_SALTED),
        credssp: Credssp { version: 6, oracle: OraclePolicy::NotEnforced },
        unverified_certificate: CertPolicy::Prompt,
        tls_errors: FREERDP_TLS_ERRORS,
        cipher_errors: FREERDP_TLS_ERRORS,
        cert_errors: FREERDP_TLS_ERRORS,
        nego_errors: FREERDP_NEGO_ERRORS,
        oracle_errors: NO_CODES,
        sources: &[
            "xfreerdp 2.11 --help: \"/tls-seclevel:<level> TLS security level - defaults to 1\"",
            "OpenSSL 3.0 SSL_CTX_set_security_level(3): level 1 = 80 bits (RSA/DH >= 1024), no SHA-1 signatures, SSLv3/TLS 1.0/TLS 1.1 disabled",
            "OpenSSL 3.0 ciphers(1): DEFAULT list and default TLS 1.3 suites and groups",
            "checked against the real xfreerdp 2.11 on every lab server (crates/cli/tests/clients.rs)",
        ],
        unverified: "CredSSP oracle policy (FreeRDP has no such setting); the certificate prompt is on the terminal (Y/T/N), /cert:ignore skips it",
    },
    ClientProfile {
        id: "freerdp3-openssl3",
        name: "FreeRDP 3 (xfreerdp3/Remmina), OpenSSL 3",
        aliases: &["freerdp3", "remmina"],
        description: "FreeRDP 3.x (xfreerdp3, sdl-freerdp3, Remmina 1.4.30+) with OpenSSL 3 and default settings",
        stack: "OpenSSL 3 at security level 1",
        requested: SSL | HYBRID,
        tls_versions: &[Tls12, Tls13],
        cipher_suites: OPENSSL3_DEFAULT,
        groups: &["x25519", "secp256r1", "x448", "secp521r1", "secp384r1"],
        signature_algorithms: SIGALGS_OPENSSL3_SECLEVEL1,
        min_rsa_bits: 1024,
        min_dh_bits: 1024,
        sha1_signatures: false,
        standard_rdp_security: Some(RDP_ALL_METHODS_SALTED),
        credssp: Credssp { version: 6, oracle: OraclePolicy::NotEnforced },
        unverified_certificate: CertPolicy::Prompt,
        tls_errors: FREERDP_TLS_ERRORS,
        cipher_errors: FREERDP_TLS_ERRORS,
        cert_errors: FREERDP_TLS_ERRORS,
        nego_errors: FREERDP_NEGO_ERRORS,
        oracle_errors: NO_CODES,
        sources: &[
            "FreeRDP 3 wiki/manual: /tls:seclevel:<level> defaults to 1; /tls:ciphers unset uses OpenSSL's default list",
            "OpenSSL 3.0 SSL_CTX_set_security_level(3): level 1 disables TLS 1.0/1.1 and SHA-1 signatures",
        ],
        unverified: "not run here (Debian 12 ships FreeRDP 2.11): assumed to behave like freerdp2-openssl3 in the handshake",
    },
    ClientProfile {
        id: "rdesktop",
        name: "rdesktop 1.9 (GnuTLS)",
        aliases: &["rdesktop19"],
        description: "rdesktop 1.9.0 as Debian 12 ships it: GnuTLS 3.7 with \"NORMAL:%COMPAT\", CredSSP through GSSAPI (Kerberos only), Standard RDP Security with 40- and 128-bit RC4",
        stack: "GnuTLS 3.7 (NORMAL:%COMPAT)",
        requested: SSL | HYBRID,
        tls_versions: &[Tls10, Tls11, Tls12, Tls13],
        cipher_suites: GNUTLS_NORMAL,
        groups: &[
            "secp256r1",
            "secp384r1",
            "secp521r1",
            "x25519",
            "x448",
            "ffdhe2048",
            "ffdhe3072",
            "ffdhe4096",
            "ffdhe6144",
            "ffdhe8192",
        ],
        signature_algorithms: SIGALGS_GNUTLS_NORMAL,
        min_rsa_bits: 0,
        min_dh_bits: 0,
        sha1_signatures: true,
        standard_rdp_security: Some(RDP_RC4_40_128),
        credssp: Credssp { version: 2, oracle: OraclePolicy::NotEnforced },
        unverified_certificate: CertPolicy::Prompt,
        tls_errors: RDESKTOP_TLS_ERRORS,
        cipher_errors: RDESKTOP_TLS_ERRORS,
        cert_errors: RDESKTOP_NLA_ERRORS,
        nego_errors: RDESKTOP_RDP_ERRORS,
        oracle_errors: NO_CODES,
        sources: &[
            "rdesktop 1.9 tcp.c: GNUTLS_PRIORITY \"NORMAL:%COMPAT\" (-V 1.0/1.1/1.2 restricts the version); an untrusted certificate is shown and \"Do you trust this certificate (yes/no)?\" is asked on the terminal, a yes is remembered under ~/.local/share/rdesktop/certs",
            "GnuTLS 3.7.9 (Debian 12): gnutls-cli --priority NORMAL:%COMPAT -l (TLS 1.0 to 1.3, suites, groups, signature algorithms)",
            "rdesktop 1.9 iso.c: requests PROTOCOL_SSL | PROTOCOL_HYBRID when built with CredSSP (Debian links libgssapi_krb5), retries with plain RDP after SSL_NOT_ALLOWED_BY_SERVER",
            "rdesktop 1.9 cssp.c: CredSSP through GSSAPI with the Kerberos mechanism only (no NTLM): it needs a ticket for TERMSRV/host (kinit)",
            "rdesktop 1.9 secure.c: Client Security Data offers 40-bit and 128-bit RC4 (0x3), no 56-bit, no FIPS; plain (unsalted) MACs",
            "checked against the real rdesktop 1.9 on every lab server (crates/cli/tests/rdesktop.rs)",
        ],
        unverified: "CredSSP version (2 assumed from its cssp.c); key-size minimums (GnuTLS' verification flags a weak key, rdesktop asks the same question); on Standard RDP Security rdesktop asks nothing, reported as prompts like the other clients",
    },
    ClientProfile {
        id: "ironrdp",
        name: "IronRDP (rustls)",
        aliases: &[],
        description: "Devolutions IronRDP client with its rustls TLS backend",
        stack: "rustls",
        requested: MSTSC_DEFAULT,
        tls_versions: &[Tls12, Tls13],
        cipher_suites: RUSTLS,
        groups: &["x25519", "secp256r1", "secp384r1"],
        signature_algorithms: SIGALGS_RUSTLS,
        min_rsa_bits: 0,
        min_dh_bits: 0,
        sha1_signatures: false,
        standard_rdp_security: None,
        credssp: Credssp { version: 6, oracle: OraclePolicy::NotEnforced },
        unverified_certificate: CertPolicy::Accept,
        tls_errors: RUSTLS_TLS_ERRORS,
        cipher_errors: RUSTLS_TLS_ERRORS,
        cert_errors: NO_CODES,
        nego_errors: NO_CODES,
        oracle_errors: NO_CODES,
        sources: &[
            "docs.rs rustls: crypto::ring / aws_lc_rs DEFAULT_CIPHER_SUITES and ALL_KX_GROUPS (TLS 1.2 ECDHE+AEAD and TLS 1.3 only; no CBC, RSA key exchange, DHE, TLS 1.0/1.1)",
            "github.com/Devolutions/IronRDP crates/ironrdp-tls: the rustls backend installs a verifier that accepts any server certificate (identity rests on CredSSP's public-key binding)",
            "IronRDP connector: no Standard RDP Security (it always requests TLS or CredSSP)",
        ],
        unverified: "CredSSP version IronRDP sends (6 assumed)",
    },
];
