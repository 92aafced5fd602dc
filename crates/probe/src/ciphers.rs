//! Cipher-suite enumeration per TLS version, the way sslscan and SSL Labs do it, for
//! `check --clients`: offer every suite of interest, note the one the server picks, offer the rest
//! again, until the server refuses. The picks are the accepted suites, in the server's own order
//! when it imposes one (one more connection offers them reversed to find out). The same loop over
//! the supported_groups extension (RFC 8422 5.1.1, RFC 8446 4.2.7) finds the key-exchange groups.
//!
//! Every connection is a real RDP client start (X.224 Connection Request with the request that
//! selected TLS, MS-RDPBCGR 5.4.5.1, then the handshake), opened through the host's connection
//! budget (at most `max_connections` at a time) and bounded by a budget of its own
//! (`MAX_CONNECTIONS`), so a permissive server costs at most that many connections.

use crate::elapsed_ms;
use crate::host::Host;
use crate::open::{open, Accept, Opening, Ready, Stream, Upgrade};
use crate::tls::{Offer, Tls};
use openssl::nid::Nid;
use openssl::pkey::Id;
use openssl::ssl::{SslContext, SslMethod, SslVerifyMode};
use openssl::x509::X509;
use rdpdoctor_observations::{
    CipherScan, OpenFailure, RouteFailure, TlsObservation, TlsOutcome, TlsVersion, Transport,
    VersionScan,
};
use rdpdoctor_wire::bytes::be_u16_at;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Instant;

/// Extra connections one enumeration may open in all.
pub(crate) const MAX_CONNECTIONS: u32 = 40;

/// Suites offered to TLS 1.0-1.2: every suite some client profile uses (Windows Schannel from
/// Windows 7 on, OpenSSL 3 defaults, rustls, Apple), as (OpenSSL name, IANA name). DSS and
/// anonymous suites are left out: no RDP server has a DSA certificate, and no RDP client offers
/// anonymous key exchange. The order is that of a modern client (forward secrecy and AEAD first),
/// so a server that follows the client's order shows that order.
const SUITES_12: &[(&str, &str)] = &[
    (
        "ECDHE-ECDSA-AES256-GCM-SHA384",
        "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
    ),
    (
        "ECDHE-RSA-AES256-GCM-SHA384",
        "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
    ),
    (
        "ECDHE-ECDSA-AES128-GCM-SHA256",
        "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
    ),
    (
        "ECDHE-RSA-AES128-GCM-SHA256",
        "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
    ),
    (
        "ECDHE-ECDSA-CHACHA20-POLY1305",
        "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256",
    ),
    (
        "ECDHE-RSA-CHACHA20-POLY1305",
        "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
    ),
    (
        "DHE-RSA-AES256-GCM-SHA384",
        "TLS_DHE_RSA_WITH_AES_256_GCM_SHA384",
    ),
    (
        "DHE-RSA-AES128-GCM-SHA256",
        "TLS_DHE_RSA_WITH_AES_128_GCM_SHA256",
    ),
    (
        "DHE-RSA-CHACHA20-POLY1305",
        "TLS_DHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
    ),
    (
        "ECDHE-ECDSA-AES256-SHA384",
        "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA384",
    ),
    (
        "ECDHE-RSA-AES256-SHA384",
        "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384",
    ),
    (
        "ECDHE-ECDSA-AES128-SHA256",
        "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256",
    ),
    (
        "ECDHE-RSA-AES128-SHA256",
        "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256",
    ),
    (
        "ECDHE-ECDSA-AES256-SHA",
        "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA",
    ),
    ("ECDHE-RSA-AES256-SHA", "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA"),
    (
        "ECDHE-ECDSA-AES128-SHA",
        "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA",
    ),
    ("ECDHE-RSA-AES128-SHA", "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA"),
    (
        "DHE-RSA-AES256-SHA256",
        "TLS_DHE_RSA_WITH_AES_256_CBC_SHA256",
    ),
    (
        "DHE-RSA-AES128-SHA256",
        "TLS_DHE_RSA_WITH_AES_128_CBC_SHA256",
    ),
    ("DHE-RSA-AES256-SHA", "TLS_DHE_RSA_WITH_AES_256_CBC_SHA"),
    ("DHE-RSA-AES128-SHA", "TLS_DHE_RSA_WITH_AES_128_CBC_SHA"),
    ("AES256-GCM-SHA384", "TLS_RSA_WITH_AES_256_GCM_SHA384"),
    ("AES128-GCM-SHA256", "TLS_RSA_WITH_AES_128_GCM_SHA256"),
    ("AES256-SHA256", "TLS_RSA_WITH_AES_256_CBC_SHA256"),
    ("AES128-SHA256", "TLS_RSA_WITH_AES_128_CBC_SHA256"),
    ("AES256-SHA", "TLS_RSA_WITH_AES_256_CBC_SHA"),
    ("AES128-SHA", "TLS_RSA_WITH_AES_128_CBC_SHA"),
    ("DES-CBC3-SHA", "TLS_RSA_WITH_3DES_EDE_CBC_SHA"),
    // OpenSSL 3 has RC4 only in its legacy provider; when it is not loaded the name matches
    // nothing and the suite is simply not offered.
    ("RC4-SHA", "TLS_RSA_WITH_RC4_128_SHA"),
];

/// TLS 1.3 suites (RFC 8446 B.4); OpenSSL uses the IANA names.
const SUITES_13: &[&str] = &[
    "TLS_AES_256_GCM_SHA384",
    "TLS_CHACHA20_POLY1305_SHA256",
    "TLS_AES_128_GCM_SHA256",
    "TLS_AES_128_CCM_SHA256",
];

/// Groups offered, as (OpenSSL name, IANA TLS Supported Groups name).
const GROUPS: &[(&str, &str)] = &[
    ("X25519", "x25519"),
    ("P-256", "secp256r1"),
    ("P-384", "secp384r1"),
    ("P-521", "secp521r1"),
    ("X448", "x448"),
];

/// The IANA name of a suite OpenSSL names `name`.
fn iana(name: &str) -> String {
    SUITES_12
        .iter()
        .find(|(o, _)| *o == name)
        .map_or_else(|| name.to_string(), |(_, i)| i.to_string())
}

fn openssl_name(iana_name: &str) -> Option<&'static str> {
    SUITES_12
        .iter()
        .find(|(_, i)| *i == iana_name)
        .map(|(o, _)| *o)
}

/// Connections left in the enumeration's budget.
struct Budget(AtomicU32);

impl Budget {
    fn take(&self) -> bool {
        self.0
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok()
    }
    fn used(&self) -> u32 {
        MAX_CONNECTIONS.saturating_sub(self.0.load(Ordering::SeqCst))
    }
}

/// What one offer got.
enum Pick {
    Chose(Chosen),
    /// The server ended the handshake (an alert or a close): nothing offered is acceptable.
    Refused,
    /// The offer's connection failed before a handshake the server could judge (the route, the
    /// X.224 answer, a handshake that broke): the list is incomplete.
    Unopened(OpenFailure, TlsVersion),
    /// A limit of the enumeration's own (its budget, the overall deadline) or an offer that
    /// cannot be built: the list is incomplete.
    Stopped(String),
}

impl Pick {
    /// Why the enumeration stops at this offer, in the words the scan records (`stopped`).
    fn why(self) -> String {
        let (failure, version) = match self {
            Pick::Stopped(why) => return why,
            Pick::Chose(_) | Pick::Refused => return String::new(),
            Pick::Unopened(failure, version) => (failure, version),
        };
        match failure {
            OpenFailure::Route(RouteFailure::ConnectFailed { outcome }) => {
                format!("connect failed: {outcome:?}")
            }
            OpenFailure::Route(other) => format!("the route failed: {other:?}"),
            OpenFailure::Negotiation(other) => {
                format!("the X.224 request that selected TLS before did not this time: {other:?}")
            }
            OpenFailure::Tls(TlsOutcome::Transport(Transport::TimedOut { .. })) => {
                format!("{} handshake timed out", version.label())
            }
            OpenFailure::Tls(other) => format!("{} handshake: {other:?}", version.label()),
        }
    }
}

struct Chosen {
    suite: String,
    group: Option<String>,
    signature: Option<String>,
    dh_bits: Option<u32>,
    chain: Vec<X509>,
}

/// Enumerates every version `tls` saw complete (an empty scan, without a connection, when none
/// did: the simulation then judges the clients on negotiation alone).
pub(crate) async fn scan(host: &Host, tls: Option<&TlsObservation>) -> CipherScan {
    let completed: Vec<(TlsVersion, u32)> = tls
        .map(|t| t.attempts.as_slice())
        .unwrap_or_default()
        .iter()
        .filter(|a| matches!(a.outcome, TlsOutcome::Completed { .. }))
        .map(|a| (a.version, a.requested))
        .collect();
    let Some(requested) = completed.first().map(|(_, r)| *r) else {
        return CipherScan::default();
    };
    let start = Instant::now();
    let budget = Budget(AtomicU32::new(MAX_CONNECTIONS));
    let has = |v: TlsVersion| completed.iter().any(|(c, _)| *c == v);
    let run = |v: TlsVersion| {
        let budget = &budget;
        async move {
            if has(v) {
                Some(enumerate(host, requested, v, budget).await)
            } else {
                None
            }
        }
    };
    // The versions modern clients use first, so a budget cut falls on TLS 1.0/1.1.
    let (v13, v12) = tokio::join!(run(TlsVersion::Tls13), run(TlsVersion::Tls12));
    let (v11, v10) = tokio::join!(run(TlsVersion::Tls11), run(TlsVersion::Tls10));
    let mut versions = Vec::new();
    let mut chain = Vec::new();
    for (scan, c) in [v10, v11, v12, v13].into_iter().flatten() {
        if !c.is_empty() {
            chain = c;
        }
        versions.push(scan);
    }
    let (verified, problem) = if chain.is_empty() {
        (None, None)
    } else {
        match crate::Trust::default().judge(&chain, host.server_name.as_deref(), host.address.ip())
        {
            rdpdoctor_observations::IdentityProof::TrustedCertificate => (Some(true), None),
            rdpdoctor_observations::IdentityProof::Unproven { reason } => {
                (Some(false), Some(reason))
            }
            _ => (Some(false), None),
        }
    };
    CipherScan {
        versions,
        connections: budget.used(),
        elapsed_ms: elapsed_ms(start),
        requested,
        certificate_verified: verified,
        certificate_problem: problem,
    }
}

/// The suites, server order and groups of one version; also the chain of its first handshake.
/// After the first pick, the rest of the suites and the groups are enumerated side by side (two
/// connections at a time per version), since a slow server makes every connection count.
async fn enumerate(
    host: &Host,
    requested: u32,
    version: TlsVersion,
    budget: &Budget,
) -> (VersionScan, Vec<X509>) {
    let mut scan = VersionScan {
        version,
        accepted: Vec::new(),
        server_order: None,
        groups: Vec::new(),
        groups_complete: false,
        signature: None,
        dh_bits: None,
        complete: false,
        stopped: None,
    };
    let all_groups: Vec<&str> = GROUPS.iter().map(|(o, _)| *o).collect();
    let mut offer = suites_of(version);
    let first = match next(host, requested, version, &offer, &all_groups, budget).await {
        Pick::Chose(c) => c,
        Pick::Refused => {
            scan.complete = true;
            return (scan, Vec::new());
        }
        stopped => {
            scan.stopped = Some(stopped.why());
            return (scan, Vec::new());
        }
    };
    let Some(at) = offer.iter().position(|s| *s == first.suite) else {
        scan.stopped = Some(format!(
            "the server chose {}, which was not offered",
            first.suite
        ));
        return (scan, first.chain);
    };
    offer.remove(at);
    scan.signature = first.signature;
    scan.dh_bits = first.dh_bits;
    scan.accepted.push(first.suite.clone());
    let needs_group = |s: &str| version == TlsVersion::Tls13 || s.contains("_ECDHE_");
    let groups_alongside = needs_group(&first.suite);
    let seen: Vec<String> = first.group.into_iter().collect();
    let (rest, groups) = if groups_alongside {
        tokio::join!(
            suites(host, requested, version, offer, budget),
            groups_of(
                host,
                requested,
                version,
                vec![first.suite.clone()],
                seen,
                budget
            ),
        )
    } else {
        (
            suites(host, requested, version, offer, budget).await,
            (Vec::new(), false),
        )
    };
    let (more, complete, stopped, dh_bits) = rest;
    scan.accepted.extend(more);
    scan.complete = complete;
    scan.stopped = stopped;
    if scan.dh_bits.is_none() {
        scan.dh_bits = dh_bits;
    }
    (scan.groups, scan.groups_complete) = groups;
    if !groups_alongside {
        let ecdhe: Vec<String> = scan
            .accepted
            .iter()
            .filter(|s| needs_group(s))
            .cloned()
            .collect();
        if !ecdhe.is_empty() {
            (scan.groups, scan.groups_complete) =
                groups_of(host, requested, version, ecdhe, Vec::new(), budget).await;
        }
    }
    if scan.accepted.len() >= 2 {
        scan.server_order = server_order(host, requested, version, &scan.accepted, budget).await;
    }
    (scan, first.chain)
}

/// Every suite the enumeration offers with `version`.
fn suites_of(version: TlsVersion) -> Vec<String> {
    if version == TlsVersion::Tls13 {
        SUITES_13.iter().map(|s| s.to_string()).collect()
    } else {
        SUITES_12
            .iter()
            .filter(|(o, _)| version == TlsVersion::Tls12 || !tls12_only(o))
            .map(|(_, i)| i.to_string())
            .collect()
    }
}

/// Whether the server picks by its own order: offered the `accepted` suites in reverse, it
/// still picks the first one it picked (`Some(true)`), or now the last (`Some(false)`).
async fn server_order(
    host: &Host,
    requested: u32,
    version: TlsVersion,
    accepted: &[String],
    budget: &Budget,
) -> Option<bool> {
    let all_groups: Vec<&str> = GROUPS.iter().map(|(o, _)| *o).collect();
    let reversed: Vec<String> = accepted.iter().rev().cloned().collect();
    match next(host, requested, version, &reversed, &all_groups, budget).await {
        Pick::Chose(c) if Some(&c.suite) == accepted.first() => Some(true),
        Pick::Chose(c) if Some(&c.suite) == accepted.last() => Some(false),
        _ => None,
    }
}

/// The suites of `offer` the server still accepts, in the order it picks them; whether the list
/// is complete, why not, and the DH size of the first DHE suite.
async fn suites(
    host: &Host,
    requested: u32,
    version: TlsVersion,
    mut offer: Vec<String>,
    budget: &Budget,
) -> (Vec<String>, bool, Option<String>, Option<u32>) {
    let all_groups: Vec<&str> = GROUPS.iter().map(|(o, _)| *o).collect();
    let mut accepted = Vec::new();
    let mut dh_bits = None;
    loop {
        if offer.is_empty() {
            return (accepted, true, None, dh_bits);
        }
        match next(host, requested, version, &offer, &all_groups, budget).await {
            Pick::Chose(c) => {
                let Some(at) = offer.iter().position(|s| *s == c.suite) else {
                    let why = format!("the server chose {}, which was not offered", c.suite);
                    return (accepted, false, Some(why), dh_bits);
                };
                offer.remove(at);
                if dh_bits.is_none() {
                    dh_bits = c.dh_bits;
                }
                accepted.push(c.suite);
            }
            Pick::Refused => return (accepted, true, None, dh_bits),
            stopped => return (accepted, false, Some(stopped.why()), dh_bits),
        }
    }
}

/// The groups the server accepts with `suites` (each needs a group), `seen` first; and whether
/// every group the probe offers was tried.
async fn groups_of(
    host: &Host,
    requested: u32,
    version: TlsVersion,
    suites: Vec<String>,
    mut seen: Vec<String>,
    budget: &Budget,
) -> (Vec<String>, bool) {
    let mut left: Vec<&str> = GROUPS
        .iter()
        .filter(|(_, i)| !seen.iter().any(|s| s == i))
        .map(|(o, _)| *o)
        .collect();
    loop {
        if left.is_empty() {
            return (seen, true);
        }
        match next(host, requested, version, &suites, &left, budget).await {
            Pick::Chose(Chosen { group: Some(g), .. }) => {
                let Some(at) = GROUPS
                    .iter()
                    .find(|(_, i)| *i == g)
                    .and_then(|(o, _)| left.iter().position(|l| l == o))
                else {
                    return (seen, false);
                };
                left.remove(at);
                seen.push(g);
            }
            Pick::Refused => return (seen, true),
            _ => return (seen, false),
        }
    }
}

/// Whether an OpenSSL suite name exists only from TLS 1.2 on (AEAD or SHA-2 MAC, RFC 5246).
fn tls12_only(openssl: &str) -> bool {
    openssl.contains("GCM")
        || openssl.contains("CHACHA")
        || openssl.ends_with("SHA256")
        || openssl.ends_with("SHA384")
}

/// One connection offering `suites` (IANA names) and `groups` (OpenSSL names).
async fn next(
    host: &Host,
    requested: u32,
    version: TlsVersion,
    suites: &[String],
    groups: &[&str],
    budget: &Budget,
) -> Pick {
    if host.past_deadline() {
        return Pick::Stopped("the check's overall deadline passed".to_string());
    }
    if !budget.take() {
        return Pick::Stopped(format!(
            "the enumeration's budget of {MAX_CONNECTIONS} connections is spent"
        ));
    }
    let ctx = match context(version, suites, groups) {
        Ok(c) => c,
        Err(e) => return Pick::Stopped(format!("OpenSSL cannot build this offer: {e}")),
    };
    let mut upgrade = Upgrade::offering(Offer::Context(ctx));
    upgrade.capture = CAPTURE;
    let opening = Opening::new(requested)
        .accepting(Accept::TlsBased)
        .with_tls(upgrade);
    let opened = open(host, opening).await;
    let mut tls = match opened.ready() {
        Ok(Ready {
            stream: Stream::Tls(tls),
            ..
        }) => tls,
        Ok(_) => return Pick::Stopped("no TLS channel after the X.224 exchange".to_string()),
        Err(failure) => return unopened(failure, version),
    };
    let chosen = chosen(&tls, version);
    crate::tls::close(&mut tls).await;
    chosen
}

/// What an offer whose connection got no completed handshake says: refused, when the server
/// ended the handshake; else why it did not get that far.
fn unopened(failure: OpenFailure, version: TlsVersion) -> Pick {
    match failure {
        OpenFailure::Tls(
            TlsOutcome::AlertReceived { .. } | TlsOutcome::Transport(Transport::Closed { .. }),
        ) => Pick::Refused,
        other => Pick::Unopened(other, version),
    }
}

/// What the server chose in a completed handshake.
fn chosen(tls: &Tls, version: TlsVersion) -> Pick {
    let ssl = tls.ssl();
    let Some(cipher) = ssl.current_cipher() else {
        return Pick::Stopped("no cipher after the handshake".to_string());
    };
    let suite = match cipher.standard_name() {
        Some(n) => n.to_string(),
        None => iana(cipher.name()),
    };
    let group = ssl.peer_tmp_key().ok().and_then(|k| match k.id() {
        Id::X25519 => Some("x25519".to_string()),
        Id::X448 => Some("x448".to_string()),
        Id::EC => k
            .ec_key()
            .ok()
            .and_then(|ec| ec.group().curve_name())
            .map(curve_name),
        _ => None,
    });
    let ske = server_key_exchange(&tls.get_ref().head, version, &suite);
    Pick::Chose(Chosen {
        suite,
        group,
        signature: ske.as_ref().and_then(|s| s.signature.clone()),
        dh_bits: ske.and_then(|s| s.dh_bits),
        chain: crate::tls::peer_chain(tls),
    })
}

fn curve_name(nid: Nid) -> String {
    match nid {
        Nid::X9_62_PRIME256V1 => "secp256r1".to_string(),
        Nid::SECP384R1 => "secp384r1".to_string(),
        Nid::SECP521R1 => "secp521r1".to_string(),
        other => other
            .short_name()
            .map_or_else(|_| format!("nid {}", other.as_raw()), str::to_string),
    }
}

/// A client context pinned to `version`, offering exactly `suites` and `groups`, at security
/// level 0 so OpenSSL itself refuses nothing the server might accept.
fn context(
    version: TlsVersion,
    suites: &[String],
    groups: &[&str],
) -> Result<SslContext, openssl::error::ErrorStack> {
    let v = crate::tls::ssl_version(version);
    let mut b = SslContext::builder(SslMethod::tls_client())?;
    b.set_verify(SslVerifyMode::NONE);
    b.set_security_level(0);
    b.set_min_proto_version(Some(v))?;
    b.set_max_proto_version(Some(v))?;
    if version == TlsVersion::Tls13 {
        b.set_ciphersuites(&suites.join(":"))?;
    } else {
        let names: Vec<&str> = suites.iter().filter_map(|s| openssl_name(s)).collect();
        b.set_cipher_list(&format!("{}:@SECLEVEL=0", names.join(":")))?;
        b.set_ciphersuites("")?;
    }
    b.set_groups_list(&groups.join(":"))?;
    Ok(b.build())
}

/// The parts of a ServerKeyExchange (RFC 5246 7.4.3, RFC 8422 5.4) the report uses.
struct KeyExchange {
    signature: Option<String>,
    dh_bits: Option<u32>,
}

/// Finds the ServerKeyExchange among the cleartext handshake records the server sent. TLS 1.3
/// encrypts everything after the ServerHello, so there is nothing to read there.
fn server_key_exchange(bytes: &[u8], version: TlsVersion, suite: &str) -> Option<KeyExchange> {
    if version == TlsVersion::Tls13 {
        return None;
    }
    let ecdhe = suite.contains("_ECDHE_");
    let dhe = suite.contains("_DHE_");
    if !ecdhe && !dhe {
        return None;
    }
    // Handshake bytes from every handshake record (content type 22, RFC 5246 6.2.1) up to the
    // first ChangeCipherSpec.
    let mut hs = Vec::new();
    let mut rest = bytes;
    while rest.len() >= 5 {
        let kind = rest[0];
        let len = usize::from(u16::from_be_bytes([rest[3], rest[4]]));
        let body = rest.get(5..5 + len)?;
        match kind {
            22 => hs.extend_from_slice(body),
            20 => break,
            _ => {}
        }
        rest = &rest[5 + len..];
    }
    let mut msgs = hs.as_slice();
    while msgs.len() >= 4 {
        let kind = msgs[0];
        let len = usize::from(msgs[1]) << 16 | usize::from(msgs[2]) << 8 | usize::from(msgs[3]);
        let body = msgs.get(4..4 + len)?;
        if kind == 12 {
            return parse_ske(body, version, dhe);
        }
        msgs = &msgs[4 + len..];
    }
    None
}

fn parse_ske(body: &[u8], version: TlsVersion, dhe: bool) -> Option<KeyExchange> {
    let mut at = 0usize;
    let mut dh_bits = None;
    if dhe {
        // dh_p, dh_g, dh_Ys: each a 16-bit length and bytes.
        for i in 0..3 {
            let len = usize::from(be_u16_at(body, at)?);
            if i == 0 {
                let p = body.get(at + 2..at + 2 + len)?;
                let leading = p.iter().take_while(|b| **b == 0).count();
                dh_bits = u32::try_from((p.len() - leading) * 8).ok();
            }
            at += 2 + len;
        }
    } else {
        // curve_type named_curve (3) + 16-bit group + 8-bit point length + point.
        let len = usize::from(*body.get(at + 3)?);
        at += 4 + len;
    }
    let signature = if version == TlsVersion::Tls12 {
        let scheme = be_u16_at(body, at)?;
        Some(signature_scheme(scheme))
    } else {
        // TLS 1.0/1.1 sign with MD5+SHA-1 (RSA) or SHA-1 (ECDSA) implicitly (RFC 4346 7.4.3).
        Some("rsa_md5_sha1 (implicit before TLS 1.2)".to_string())
    };
    Some(KeyExchange { signature, dh_bits })
}

/// TLS SignatureScheme names (RFC 8446 4.2.3; RFC 5246 7.4.1.4.1 hash/signature pairs).
fn signature_scheme(code: u16) -> String {
    match code {
        0x0201 => "rsa_pkcs1_sha1",
        0x0203 => "ecdsa_sha1",
        0x0101 => "rsa_pkcs1_md5",
        0x0301 => "rsa_pkcs1_sha224",
        0x0401 => "rsa_pkcs1_sha256",
        0x0501 => "rsa_pkcs1_sha384",
        0x0601 => "rsa_pkcs1_sha512",
        0x0403 => "ecdsa_secp256r1_sha256",
        0x0503 => "ecdsa_secp384r1_sha384",
        0x0603 => "ecdsa_secp521r1_sha512",
        0x0804 => "rsa_pss_rsae_sha256",
        0x0805 => "rsa_pss_rsae_sha384",
        0x0806 => "rsa_pss_rsae_sha512",
        0x0807 => "ed25519",
        0x0808 => "ed448",
        0x0809 => "rsa_pss_pss_sha256",
        0x080a => "rsa_pss_pss_sha384",
        0x080b => "rsa_pss_pss_sha512",
        other => return format!("0x{other:04x}"),
    }
    .to_string()
}

/// How much of what the server sends is kept: enough for ServerHello, Certificate and
/// ServerKeyExchange of any sane server; a longer flight is cut, never buffered without bound.
const CAPTURE: usize = 32 * 1024;

#[cfg(test)]
mod tests {
    use super::*;

    /// A TLS 1.2 ServerKeyExchange for ECDHE (x25519) signed with rsa_pss_rsae_sha256, inside a
    /// handshake record, built by hand from RFC 8422 5.4.
    #[test]
    fn reads_the_signature_scheme_of_an_ecdhe_key_exchange() {
        let mut ske = vec![3, 0x00, 0x1d, 32];
        ske.extend_from_slice(&[7u8; 32]);
        ske.extend_from_slice(&[0x08, 0x04, 0x00, 0x02, 0xAA, 0xBB]);
        let mut hs = vec![12, 0, 0, ske.len() as u8];
        hs.extend_from_slice(&ske);
        let mut rec = vec![22, 3, 3, 0, hs.len() as u8];
        rec.extend_from_slice(&hs);
        let k = server_key_exchange(
            &rec,
            TlsVersion::Tls12,
            "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
        )
        .expect("parsed");
        assert_eq!(k.signature.as_deref(), Some("rsa_pss_rsae_sha256"));
        assert_eq!(k.dh_bits, None);
    }

    #[test]
    fn reads_the_prime_size_of_a_dhe_key_exchange() {
        let mut ske = vec![0x01, 0x00];
        ske.extend_from_slice(&[0xFFu8; 256]);
        ske.extend_from_slice(&[0x00, 0x01, 0x02, 0x00, 0x01, 0x05, 0x04, 0x01, 0x00, 0x00]);
        let mut hs = vec![12, 0, 1, (ske.len() - 256) as u8];
        hs.extend_from_slice(&ske);
        let mut rec = vec![22, 3, 3, (hs.len() >> 8) as u8, hs.len() as u8];
        rec.extend_from_slice(&hs);
        let k = server_key_exchange(
            &rec,
            TlsVersion::Tls12,
            "TLS_DHE_RSA_WITH_AES_128_GCM_SHA256",
        )
        .expect("parsed");
        assert_eq!(k.dh_bits, Some(2048));
        assert_eq!(k.signature.as_deref(), Some("rsa_pkcs1_sha256"));
    }

    #[test]
    fn truncated_records_are_not_a_panic() {
        for n in 0..12 {
            let rec = [22u8, 3, 3, 0, 40, 12, 0, 0, 30, 3, 0, 0x1d];
            let _ = server_key_exchange(&rec[..n], TlsVersion::Tls12, "TLS_ECDHE_RSA_X");
        }
    }

    #[test]
    fn tls_1_0_offers_leave_out_tls_1_2_suites() {
        assert!(tls12_only("ECDHE-RSA-AES128-GCM-SHA256"));
        assert!(tls12_only("AES256-SHA256"));
        assert!(!tls12_only("AES256-SHA"));
        assert!(!tls12_only("ECDHE-RSA-AES128-SHA"));
    }
}
