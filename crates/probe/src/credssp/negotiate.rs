//! Negotiate as a Windows client runs it inside CredSSP (MS-CSSP 3.1.5 step 2, "Microsoft
//! Negotiate", SPNEGO RFC 4178): Kerberos when it can get a ticket for TERMSRV/<name>, NTLM when
//! Kerberos is not possible for this target, and no logon when Kerberos fails in a way Negotiate
//! does not fall back from. The package used and why are recorded (`LogonObservation::choice`).
//!
//! Two stages, both before the first token reaches the server:
//! - [`plan`] (no secret leaves): an address target, no realm, no KDC, or a pre-authentication
//!   the delegation rule withholds mean NTLM at once; otherwise the Kerberos package with the
//!   KDC found the way the readiness checks find it (`--kdc-proxy`, `--kdc`, SRV records).
//! - [`Negotiated`], the package the CredSSP machine drives: its first step runs Kerberos (the
//!   AS and TGS exchanges through the logon's recorded KDC client, then the AP-REQ). It watches
//!   every KDC answer go by: the KRB-ERROR numbers decide the fall-back, because `sspi` folds
//!   them into a few error kinds (lab/kerberos/OBSERVED.md). On a fall-back it builds NTLM and
//!   takes NTLM's first step instead, on the same connection: the server has seen nothing yet.
//!
//! A clock skew is a fall-back here although `sspi` would retry with the KDC's time: a Windows
//! client whose clock is off by more than the tolerance gets KRB_AP_ERR_SKEW and uses NTLM
//! (issue 25), so the first KRB_AP_ERR_SKEW ends the Kerberos attempt.

use super::package::{self, Choice, Package, PackageStep, SspiPackage};
use crate::kdc::discover::{self, RealmChoice};
use crate::kdc::{Budget, SKEW_TOLERANCE_SECS};
use rdpdoctor_observations::{
    KdcTransport, NtlmInfo, Package as Used, PackageChoice, PackageReason,
};
use rdpdoctor_wire::kerberos::{code, decode_reply, KdcReply, KrbError};
use sspi::generator::{Generator, GeneratorState, YieldPoint};
use sspi::NetworkRequest;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};

/// What the negotiation starts from.
pub(crate) struct Start<'a> {
    pub(crate) choice: &'a Choice,
    /// The name typed (None: the target was an address).
    pub(crate) server_name: Option<&'a str>,
    pub(crate) address: IpAddr,
    pub(crate) user: &'a str,
    /// The server's NTLM CHALLENGE, read before the logon: it maps `DOMAIN\user` to a realm.
    pub(crate) challenge: Option<&'a NtlmInfo>,
    /// Signs of interception gathered before the logon.
    pub(crate) interception: &'a [String],
    /// The server's certificate verified for the typed name or matched a pin.
    pub(crate) server_proven: bool,
    pub(crate) budget: Budget,
}

/// What runs first.
pub(crate) enum Plan {
    /// NTLM, and why Kerberos is not tried.
    Ntlm(PackageChoice),
    /// Kerberos for `account@realm`, its KDC requests to `kdc_url`.
    Kerberos {
        realm: String,
        account: String,
        kdc_url: url::Url,
    },
}

fn chose(package: Used, reason: PackageReason, detail: String) -> PackageChoice {
    PackageChoice {
        package,
        reason,
        detail,
    }
}

fn ntlm(reason: PackageReason, detail: String) -> Plan {
    Plan::Ntlm(chose(Used::Ntlm, reason, detail))
}

/// Decides whether Kerberos is tried at all, as Negotiate does before its first token.
pub(crate) async fn plan(start: &Start<'_>) -> Plan {
    let Some(name) = start.server_name else {
        return ntlm(
            PackageReason::AddressTarget,
            format!(
                "address target: a client asks for no service ticket for TERMSRV/{}, so NTLM",
                start.address
            ),
        );
    };
    let found: RealmChoice = discover::realm(Some(start.user), start.challenge);
    let (Some(realm), Some(account)) = (found.realm.clone(), found.account.clone()) else {
        let detail = match &found.unmapped_domain {
            Some(d) => format!("no realm for the domain {d:?} of the user (not a DNS name, not the server's domain), so no ticket: NTLM (give --user user@REALM)"),
            None => "no realm: the user names none and the server's NTLM CHALLENGE names no domain, so no ticket: NTLM".to_string(),
        };
        return ntlm(PackageReason::NoRealm, detail);
    };
    let named_kdc = start.choice.kdc.is_some() || start.choice.kdc_proxy.is_some();
    let typed = Some(name);
    if let Err(why) = crate::kdc::preauth_allowed(
        start.interception,
        named_kdc,
        found.source,
        &realm,
        typed,
        start.server_proven,
    ) {
        return ntlm(
            PackageReason::Undetermined,
            format!("Kerberos not tried: {why}"),
        );
    }
    match kdc_url(start, &realm).await {
        Ok(kdc_url) => Plan::Kerberos {
            realm,
            account,
            kdc_url,
        },
        Err(detail) => ntlm(PackageReason::KdcNotFound, detail),
    }
}

/// The KDC of `realm` the Kerberos package asks: the proxy, the named KDC, or the first SRV
/// target that resolves (TCP preferred: the AS-REP with a PAC does not fit in a datagram).
async fn kdc_url(start: &Start<'_>, realm: &str) -> Result<url::Url, String> {
    if let Some(proxy) = &start.choice.kdc_proxy {
        return url::Url::parse(&proxy.url).map_err(|e| format!("the KDC proxy URL: {e}"));
    }
    let (srv, kdcs) = discover::kdcs(realm, start.choice.kdc.as_ref(), &start.budget).await;
    let found = kdcs.iter().find_map(|k| {
        let ip = k.addresses.first()?;
        let scheme = if k.transports.contains(&KdcTransport::Tcp) {
            "tcp"
        } else {
            "udp"
        };
        Some(match ip {
            IpAddr::V6(v6) => format!("{scheme}://[{v6}]:{}", k.port),
            IpAddr::V4(v4) => format!("{scheme}://{v4}:{}", k.port),
        })
    });
    match found {
        Some(text) => url::Url::parse(&text).map_err(|e| format!("the KDC URL {text}: {e}")),
        None if kdcs.iter().any(|k| k.resolve_error.is_some()) => Err(format!(
            "no KDC of {realm} resolves, so no ticket: NTLM"
        )),
        None if !srv.is_empty() || start.choice.kdc.is_none() => Err(format!(
            "no KDC for realm {realm}: no _kerberos._tcp or _kerberos._udp SRV records, so no ticket: NTLM"
        )),
        None => Err(format!("no KDC for realm {realm}, so no ticket: NTLM")),
    }
}

/// The package of a negotiated logon: Kerberos first, NTLM when Negotiate falls back.
pub(crate) struct Negotiated {
    active: SspiPackage,
    /// Until the first step: NTLM's identity and SPN, for the fall-back.
    fallback: Option<(sspi::AuthIdentity, String)>,
    /// The user as typed (`LAB\kuser`), for the TSCredentials: Kerberos runs as the user
    /// principal name, but a Windows client delegates the account as the user gave it.
    typed: sspi::AuthIdentity,
    spn: String,
    kdc: String,
    /// The package used and why, once the first step decided it.
    decided: Arc<Mutex<Option<PackageChoice>>>,
}

impl Negotiated {
    /// Kerberos for `kerberos_identity` to `spn` through `kdc_url`, falling back to NTLM for
    /// `ntlm_identity` (the user as typed).
    pub(crate) fn new(
        kerberos_identity: sspi::AuthIdentity,
        ntlm_identity: sspi::AuthIdentity,
        spn: String,
        kdc_url: url::Url,
        decided: Arc<Mutex<Option<PackageChoice>>>,
    ) -> Result<Negotiated, String> {
        let kdc = kdc_url.to_string();
        let active = package::kerberos(kerberos_identity, spn.clone(), kdc_url)?;
        Ok(Negotiated {
            active,
            typed: ntlm_identity.clone(),
            fallback: Some((ntlm_identity, spn.clone())),
            spn,
            kdc,
            decided,
        })
    }

    fn decide(&self, choice: PackageChoice) {
        if let Ok(mut d) = self.decided.lock() {
            *d = Some(choice);
        }
    }
}

type Yield = YieldPoint<NetworkRequest, sspi::Result<Vec<u8>>>;

/// Runs `step` to its end, passing its KDC requests up to the caller and keeping every
/// KRB-ERROR the answers carry in `seen`. A KRB_AP_ERR_SKEW ends the step (`Err(None)`).
async fn drive(
    mut step: PackageStep<'_>,
    up: &mut Yield,
    seen: &mut Seen,
) -> Result<package::Stepped, Option<sspi::Error>> {
    let mut state: GeneratorState<NetworkRequest, sspi::Result<package::Stepped>> = step.start();
    loop {
        match state {
            GeneratorState::Completed(result) => return result.map_err(Some),
            GeneratorState::Suspended(request) => {
                let reply = up.suspend(request).await;
                match &reply {
                    Ok(bytes) => {
                        seen.answers += 1;
                        if let Some(e) = krb_error(bytes) {
                            let skew = e.code == code::KRB_AP_ERR_SKEW;
                            seen.errors.push(e);
                            if skew {
                                return Err(None);
                            }
                        }
                    }
                    Err(e) => seen.failures.push(e.description.clone()),
                }
                state = step.resume(reply);
            }
        }
    }
}

/// What the KDC answers said on the way.
#[derive(Default)]
struct Seen {
    answers: usize,
    errors: Vec<KrbError>,
    failures: Vec<String>,
}

/// The KRB-ERROR in a KDC answer as `sspi` gets it (with the 4-byte TCP length, or bare from a
/// KDC proxy).
fn krb_error(bytes: &[u8]) -> Option<KrbError> {
    let decoded = decode_reply(bytes).or_else(|_| decode_reply(bytes.get(4..).unwrap_or_default()));
    match decoded {
        Ok(KdcReply::Error(e)) => Some(e),
        _ => None,
    }
}

/// What Negotiate does after Kerberos failed: the package it falls back to (or none) and why.
fn after_failure(seen: &Seen, error: Option<&sspi::Error>, spn: &str, kdc: &str) -> PackageChoice {
    use PackageReason as R;
    let last = seen
        .errors
        .iter()
        .rev()
        .find(|e| e.code != code::KDC_ERR_PREAUTH_REQUIRED);
    let Some(e) = last else {
        if seen.answers == 0 {
            let why = seen.failures.last().cloned().unwrap_or_else(|| {
                error.map_or_else(|| "no answer".to_string(), |e| e.description.clone())
            });
            return chose(
                Used::Ntlm,
                R::KdcUnreachable,
                format!("no ticket from the KDC {kdc} ({why}), so NTLM"),
            );
        }
        let why = error.map_or_else(String::new, |e| format!(": {e}"));
        return chose(
            Used::Ntlm,
            R::Undetermined,
            format!("Kerberos failed after the KDC answered{why}; Negotiate falls back to NTLM"),
        );
    };
    let text = e
        .e_text
        .as_deref()
        .map(|t| format!(", {t:?}"))
        .unwrap_or_default();
    match e.code {
        code::KRB_AP_ERR_SKEW => {
            let offset = e.stime as f64 + f64::from(e.susec) / 1e6
                - jiff::Timestamp::now().as_microsecond() as f64 / 1e6;
            chose(
                Used::Ntlm,
                R::ClockSkew,
                format!("the KDC refused this machine's time (KRB_AP_ERR_SKEW): its clock is {offset:+.0} s from this machine's, beyond Kerberos's {SKEW_TOLERANCE_SECS:.0} s, so no ticket: NTLM"),
            )
        }
        code::KDC_ERR_S_PRINCIPAL_UNKNOWN => chose(
            Used::Ntlm,
            R::SpnMissing,
            format!("no SPN {spn}: KDC_ERR_S_PRINCIPAL_UNKNOWN, so no ticket: NTLM"),
        ),
        code::KDC_ERR_C_PRINCIPAL_UNKNOWN => chose(
            Used::Ntlm,
            R::ClientUnknown,
            "the KDC does not know the account (KDC_ERR_C_PRINCIPAL_UNKNOWN), so no ticket: NTLM"
                .to_string(),
        ),
        code::KDC_ERR_PREAUTH_FAILED => chose(
            Used::None,
            R::PreauthFailed,
            format!("the KDC refused the pre-authentication: wrong password (KDC_ERR_PREAUTH_FAILED{text}); Negotiate does not fall back to NTLM from it"),
        ),
        code::KDC_ERR_ETYPE_NOSUPP => chose(
            Used::None,
            R::EtypeUnsupported,
            format!("no common encryption type: the KDC has no AES key for the account or for {spn} (KDC_ERR_ETYPE_NOSUPP{text}), and this client, like an AES-only Windows client, has no RC4"),
        ),
        code::KDC_ERR_CLIENT_REVOKED => chose(
            Used::None,
            R::ClientRevoked,
            format!("the KDC refuses the account: disabled, locked out or expired (KDC_ERR_CLIENT_REVOKED{text})"),
        ),
        other => chose(
            Used::Ntlm,
            R::KdcError,
            format!("the KDC answered error {other}{text}, so no ticket: NTLM"),
        ),
    }
}

impl Package for Negotiated {
    fn name(&self) -> &'static str {
        self.active.name()
    }

    fn step(&mut self, server_token: Vec<u8>) -> PackageStep<'_> {
        Generator::new(move |mut up| async move {
            let Some((identity, spn)) = self.fallback.take() else {
                return drive(
                    self.active.step(server_token),
                    &mut up,
                    &mut Seen::default(),
                )
                .await
                .map_err(|e| e.unwrap_or_else(skewed));
            };
            let mut seen = Seen::default();
            let error = match drive(self.active.step(Vec::new()), &mut up, &mut seen).await {
                Ok(stepped) => {
                    self.decide(chose(
                        Used::Kerberos,
                        PackageReason::TicketIssued,
                        format!("the KDC issued a ticket for {}", self.spn),
                    ));
                    return Ok(stepped);
                }
                Err(e) => e,
            };
            let choice = after_failure(&seen, error.as_ref(), &self.spn, &self.kdc);
            let used = choice.package;
            let detail = choice.detail.clone();
            self.decide(choice);
            if used != Used::Ntlm {
                return Err(sspi::Error::new(sspi::ErrorKind::LogonDenied, detail));
            }
            self.active = package::ntlm(identity, spn)
                .map_err(|e| sspi::Error::new(sspi::ErrorKind::InternalError, e))?;
            drive(self.active.step(Vec::new()), &mut up, &mut Seen::default())
                .await
                .map_err(|e| e.unwrap_or_else(skewed))
        })
    }

    fn seal(&mut self, data: &[u8]) -> Result<Vec<u8>, String> {
        self.active.seal(data)
    }

    fn unseal(&mut self, sealed: &[u8]) -> Result<Vec<u8>, String> {
        self.active.unseal(sealed)
    }

    fn trailer_len(&mut self) -> usize {
        self.active.trailer_len()
    }

    fn ts_credentials(&self, delegating: bool) -> Result<Vec<u8>, String> {
        let typed = sspi::CredentialsBuffers::AuthIdentity(self.typed.clone().into());
        package::write_ts_credentials(&typed, delegating)
    }

    fn unreadable(&self, server_token: &[u8]) -> Option<(String, Vec<u8>)> {
        self.active.unreadable(server_token)
    }

    fn server_names(&self, server_token: &[u8]) -> Option<NtlmInfo> {
        self.active.server_names(server_token)
    }

    fn answer_is_crackable(&self) -> bool {
        self.active.answer_is_crackable()
    }
}

fn skewed() -> sspi::Error {
    sspi::Error::new(
        sspi::ErrorKind::TimeSkew,
        "the KDC refused this machine's time (KRB_AP_ERR_SKEW)",
    )
}

/// The package of a logon with `identity` to `spn`: NTLM when so configured; otherwise what
/// [`plan`] decides, its choice recorded in `decided` (at once for NTLM, after the first step for
/// Kerberos).
pub(crate) async fn package(
    start: &Start<'_>,
    identity: sspi::AuthIdentity,
    spn: String,
    decided: &Arc<Mutex<Option<PackageChoice>>>,
) -> Result<Box<dyn Package>, String> {
    if start.choice.kind == package::PackageKind::Ntlm {
        return Ok(Box::new(package::ntlm(identity, spn)?));
    }
    match plan(start).await {
        Plan::Ntlm(choice) => {
            if let Ok(mut d) = decided.lock() {
                *d = Some(choice);
            }
            Ok(Box::new(package::ntlm(identity, spn)?))
        }
        Plan::Kerberos {
            realm,
            account,
            kdc_url,
        } => {
            // sspi takes the realm from a user principal name; NTLM keeps the user as typed.
            let username = sspi::Username::new_upn(&account, &realm)
                .map_err(|e| format!("user name not usable for Kerberos: {e}"))?;
            let kerberos = sspi::AuthIdentity {
                username,
                password: identity.password.clone(),
            };
            Ok(Box::new(Negotiated::new(
                kerberos,
                identity,
                spn,
                kdc_url,
                decided.clone(),
            )?))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error(code: u32) -> KrbError {
        KrbError {
            code,
            stime: jiff::Timestamp::now().as_second() - 1200,
            susec: 0,
            e_text: None,
            realm: "LAB.TEST".to_string(),
            sname: "krbtgt/LAB.TEST".to_string(),
            pa_types: Vec::new(),
            etype_info: Vec::new(),
            nt_status: None,
        }
    }

    fn after(codes: &[u32], answers: usize) -> (Used, PackageReason, String) {
        let seen = Seen {
            answers,
            errors: codes.iter().map(|c| error(*c)).collect(),
            failures: vec!["the KDC did not answer: connect timed out".to_string()],
        };
        let c = after_failure(
            &seen,
            None,
            "TERMSRV/rdp-alias.lab.test",
            "tcp://198.18.65.10:88",
        );
        (c.package, c.reason, c.detail)
    }

    /// Negotiate's fall-backs (issue 25): NTLM where Kerberos is not possible, none where it
    /// failed for a reason NTLM would not fix; the KRB-ERROR after PREAUTH_REQUIRED decides.
    #[test]
    fn the_kdc_answers_decide_the_fallback() {
        let (p, r, d) = after(&[25, 7], 2);
        assert_eq!((p, r), (Used::Ntlm, PackageReason::SpnMissing));
        assert!(d.contains("no SPN TERMSRV/rdp-alias.lab.test"), "{d}");
        assert_eq!(after(&[25, 24], 2).0, Used::None);
        assert_eq!(after(&[25, 24], 2).1, PackageReason::PreauthFailed);
        assert_eq!(after(&[25, 14], 2).1, PackageReason::EtypeUnsupported);
        assert_eq!(after(&[6], 1).0, Used::Ntlm);
        let (p, r, d) = after(&[25, 37], 2);
        assert_eq!((p, r), (Used::Ntlm, PackageReason::ClockSkew));
        assert!(d.contains("its clock is -120"), "{d}");
        let (p, r, d) = after(&[], 0);
        assert_eq!((p, r), (Used::Ntlm, PackageReason::KdcUnreachable));
        assert!(d.contains("connect timed out"), "{d}");
    }

    fn start<'a>(
        choice: &'a Choice,
        name: Option<&'a str>,
        user: &'a str,
        interception: &'a [String],
    ) -> Start<'a> {
        Start {
            choice,
            server_name: name,
            address: IpAddr::from([198, 18, 65, 20]),
            user,
            challenge: None,
            interception,
            server_proven: false,
            budget: Budget::new(std::time::Duration::from_millis(200), None),
        }
    }

    fn ntlm_because(plan: Plan) -> (PackageReason, String) {
        match plan {
            Plan::Ntlm(c) => (c.reason, c.detail),
            Plan::Kerberos { kdc_url, .. } => panic!("Kerberos to {kdc_url}"),
        }
    }

    /// Before any I/O: an address, no realm, or signs of interception mean NTLM at once (with the
    /// reason), and no pre-authentication is ever computed.
    #[tokio::test]
    async fn no_kerberos_for_an_address_without_a_realm_or_under_suspicion() {
        let choice = Choice::negotiate(None, None);
        let none: Vec<String> = Vec::new();
        let (r, d) = ntlm_because(plan(&start(&choice, None, "kuser@LAB.TEST", &none)).await);
        assert_eq!(r, PackageReason::AddressTarget);
        assert!(d.contains("TERMSRV/198.18.65.20, so NTLM"), "{d}");
        // A NetBIOS domain nothing maps to a realm (no CHALLENGE here).
        let (r, d) =
            ntlm_because(plan(&start(&choice, Some("rdp-k.lab.test"), "LAB\\kuser", &none)).await);
        assert_eq!(r, PackageReason::NoRealm);
        assert!(d.contains("\"LAB\""), "{d}");
        let signs = vec!["the certificate changed".to_string()];
        let (r, d) = ntlm_because(
            plan(&start(
                &choice,
                Some("rdp-k.lab.test"),
                "kuser@LAB.TEST",
                &signs,
            ))
            .await,
        );
        assert_eq!(r, PackageReason::Undetermined);
        assert!(
            d.contains("signs of interception (the certificate changed)"),
            "{d}"
        );
    }

    /// Only a KRB-ERROR is taken as one, framed or bare, and garbage is none.
    #[test]
    fn krb_errors_are_read_framed_or_bare() {
        assert!(krb_error(&[]).is_none());
        assert!(krb_error(&[0x7e, 0x00, 0x01]).is_none());
        assert!(krb_error(&[0, 0, 0, 3, 0x30, 0x01, 0x00]).is_none());
    }
}
