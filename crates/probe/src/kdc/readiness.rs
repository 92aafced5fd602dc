//! The Kerberos readiness checks of one server, in the order a client meets them: realm, KDC
//! (SRV records, `--kdc`, `--kdc-proxy`), whether it answers on 88/UDP and 88/TCP, its clock and
//! the account's key types (an AS-REQ without pre-authentication: no secret), whether it knows
//! `TERMSRV/<name>`, and, with a password and where the delegation rule allows, the
//! ticket-granting ticket and the service ticket themselves.
//!
//! What leaves the machine: names (user, realm, service) in every request; the pre-authentication
//! (PA-ENC-TIMESTAMP, the time encrypted with a key derived from the password, which can be
//! attacked offline like an NTLMv2 response) only under [`preauth_rule`]; never the password.

use super::client::{KdcClient, Request};
use super::decide::decide;
use super::discover::{self, RealmChoice, MAX_KDCS};
use super::target::{KdcSpec, KdcTarget, ProxyUrl};
use super::Budget;
use crate::elapsed_ms;
use crate::options::Credentials;
use rdpdoctor_observations::{
    ClientKind, KdcExchange, KdcSource, KdcStep, KdcTransport, KerberosObservation, NtlmInfo,
    Package, PackageChoice, PackageReason, Preauth, RealmSource, Target,
};
use rdpdoctor_wire::kerberos::{
    as_req, code, nonce, string_to_key, tgs_req, AsRequest, KdcReply, Principal, Tgt, AES_ETYPES,
};
use std::time::Instant;

/// What the readiness checks start from: the check's target and its findings so far.
pub struct ReadinessInput<'a> {
    pub target: &'a Target,
    /// The server's NTLM CHALLENGE (its computer and domain names).
    pub challenge: Option<&'a NtlmInfo>,
    pub credentials: Option<&'a Credentials>,
    pub kdc: Option<&'a KdcSpec>,
    pub kdc_proxy: Option<&'a ProxyUrl>,
    /// Signs of interception the check gathered: the pre-authentication is withheld when any.
    pub interception: &'a [String],
    /// The server's certificate verified for the typed name or matched a pin, so its CHALLENGE
    /// (and the domain it names) is the server's own.
    pub server_proven: bool,
    /// The KDC round trips of the check's own logon (its Kerberos package): the ticket-granting
    /// ticket and the service ticket it got (or was refused) are not asked for a second time.
    pub logon_exchanges: &'a [KdcExchange],
    pub budget: Budget,
}

/// One run of the checks.
struct Run<'a> {
    input: &'a ReadinessInput<'a>,
    obs: KerberosObservation,
    client: KdcClient,
    realm: String,
    /// The client principal asked about (None: nobody to ask about).
    cname: Option<Principal>,
    /// TERMSRV/<name> (None: no name to ask for).
    spn: Option<Principal>,
    /// The KDC that answered the probe, and its name.
    route: Option<(String, KdcTarget)>,
    /// The probe's exchanges (sent in parallel, each with a client of its own).
    probes: Vec<rdpdoctor_observations::KdcExchange>,
    /// A local problem on the way (an AS-REP that could not be read), for the package's detail.
    note: Option<String>,
    /// Seconds to add to this machine's clock in requests after the KDC refused its time
    /// (KRB_AP_ERR_SKEW), as MIT and sspi keep it for the rest of the session.
    offset: i64,
    /// The logon's exchanges taken as this check's (`adopt_logon`).
    adopted: Vec<KdcExchange>,
}

/// Runs the checks; `None` when Kerberos does not apply (a server in a workgroup, a local
/// account, and no realm or KDC given).
pub async fn readiness(input: &ReadinessInput<'_>) -> Option<KerberosObservation> {
    let start = Instant::now();
    let choice = discover::realm(input.credentials.map(Credentials::user), input.challenge);
    let domain_server = input
        .challenge
        .and_then(discover::challenge_realm)
        .is_some();
    let named_kdc = input.kdc.is_some() || input.kdc_proxy.is_some();
    if choice.realm.is_none() && !named_kdc && !(domain_server && choice.unmapped_domain.is_some())
    {
        return None;
    }
    let mut obs = initial(input, &choice);
    let Some(realm) = choice.realm.clone() else {
        obs.package = no_realm(&choice);
        obs.elapsed_ms = elapsed_ms(start);
        return Some(obs);
    };
    let (cname, kind) = client_principal(input, &choice);
    obs.client = cname.as_ref().map(|c| format!("{c}@{realm}"));
    obs.client_kind = cname.as_ref().map(|_| kind);
    let spn = spn_host(input).map(|h| Principal::service("TERMSRV", &h));
    obs.spn = spn.as_ref().map(Principal::to_string);
    let mut run = Run {
        input,
        obs,
        client: KdcClient::new(input.budget),
        realm,
        cname,
        spn,
        route: None,
        probes: Vec::new(),
        note: None,
        offset: 0,
        adopted: Vec::new(),
    };
    run.sequence(&choice).await;
    let note = run.note.take();
    let mut obs = run.obs;
    obs.exchanges = run.probes;
    obs.exchanges.extend(run.client.into_exchanges());
    obs.exchanges.extend(run.adopted);
    obs.package = decide(&obs, input.target.ip().is_some(), note.as_deref());
    obs.elapsed_ms = elapsed_ms(start);
    Some(obs)
}

fn initial(input: &ReadinessInput<'_>, choice: &RealmChoice) -> KerberosObservation {
    KerberosObservation {
        realm: choice.realm.clone(),
        realm_source: choice.source,
        client: None,
        client_kind: None,
        spn: None,
        spn_is_typed_name: input.target.ip().is_none(),
        kdc_source: None,
        kdc_proxy: input.kdc_proxy.map(|p| p.url.clone()),
        srv: Vec::new(),
        kdcs: Vec::new(),
        exchanges: Vec::new(),
        preauth: if input.credentials.is_some() {
            Preauth::NotReached
        } else {
            Preauth::NoPassword
        },
        package: undetermined(),
        elapsed_ms: 0.0,
    }
}

fn undetermined() -> PackageChoice {
    PackageChoice {
        package: Package::Ntlm,
        reason: PackageReason::Undetermined,
        detail: String::new(),
    }
}

fn no_realm(choice: &RealmChoice) -> PackageChoice {
    let detail = match &choice.unmapped_domain {
        Some(d) => format!(
            "the domain {d:?} of the user is not the server's domain and not a DNS name, so no realm can be found for it (give --user user@REALM)"
        ),
        None => "no realm: the user names none and the server's NTLM CHALLENGE names no domain".to_string(),
    };
    PackageChoice {
        package: Package::Ntlm,
        reason: PackageReason::NoRealm,
        detail,
    }
}

/// The account the KDC is asked about: the user's, or without one the server's own computer
/// account (from its CHALLENGE), which exists in its domain.
fn client_principal(
    input: &ReadinessInput<'_>,
    choice: &RealmChoice,
) -> (Option<Principal>, ClientKind) {
    if let Some(account) = choice.account.as_deref().filter(|a| !a.is_empty()) {
        return (Some(Principal::user(account)), ClientKind::User);
    }
    let computer = input
        .challenge
        .filter(|_| choice.source == RealmSource::NtlmChallenge)
        .and_then(|c| c.netbios_computer.as_deref())
        .filter(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'))
        .map(|n| Principal::user(&format!("{}$", n.to_ascii_uppercase())));
    (computer, ClientKind::ComputerAccount)
}

/// The name in TERMSRV/<name>: the typed name (as typed, as Windows asks for it); for an
/// address, the computer's DNS name from its CHALLENGE (what connecting by name would use).
fn spn_host(input: &ReadinessInput<'_>) -> Option<String> {
    if input.target.ip().is_none() {
        return Some(input.target.host.trim_end_matches('.').to_string());
    }
    input
        .challenge
        .and_then(|c| c.dns_computer.as_deref())
        .filter(|n| discover::dns_domain_like(n))
        .map(|n| n.trim_end_matches('.').to_ascii_lowercase())
}

/// Where the pre-authentication may go (README, "Credentials: the delegation rule"): never
/// when the check saw signs of interception; to a KDC the user named (`--kdc`, `--kdc-proxy`)
/// or found for a realm the user named (`user@REALM`, `REALM\user`); for a realm only the
/// server's CHALLENGE names, only when the typed name lies in that domain or the server's
/// certificate proved who sent the CHALLENGE. A server that lies about its domain must not be
/// able to pick the KDC that receives a crackable function of the password.
pub(crate) fn preauth_rule(
    input: &ReadinessInput<'_>,
    source: RealmSource,
    realm: &str,
) -> Result<(), String> {
    let typed = input
        .target
        .ip()
        .is_none()
        .then_some(input.target.host.as_str());
    preauth_allowed(
        input.interception,
        input.kdc.is_some() || input.kdc_proxy.is_some(),
        source,
        realm,
        typed,
        input.server_proven,
    )
}

/// [`preauth_rule`] on its facts, for the logon's Kerberos package as for the checks:
/// `typed` is the name typed (None for an address), `named_kdc` whether `--kdc` or
/// `--kdc-proxy` named the KDC.
pub(crate) fn preauth_allowed(
    interception: &[String],
    named_kdc: bool,
    source: RealmSource,
    realm: &str,
    typed: Option<&str>,
    server_proven: bool,
) -> Result<(), String> {
    if !interception.is_empty() {
        return Err(format!(
            "signs of interception ({}): the pre-authentication, a function of the password that can be attacked offline, is not sent while anything may stand in the path",
            interception.join("; ")
        ));
    }
    if named_kdc {
        return Ok(());
    }
    match source {
        RealmSource::UserPrincipal | RealmSource::UserDomain => Ok(()),
        RealmSource::NtlmChallenge => {
            let suffix = format!(".{}", realm.to_ascii_lowercase());
            let typed_in_domain = typed.is_some_and(|t| {
                t.to_ascii_lowercase()
                    .trim_end_matches('.')
                    .ends_with(&suffix)
            });
            if typed_in_domain || server_proven {
                Ok(())
            } else {
                Err(format!(
                    "the realm {realm} comes only from the server's NTLM CHALLENGE, and nothing proves the server (the name typed is not in that domain and its certificate neither verifies nor matches a pin): a server that lies about its domain would choose the KDC that gets the pre-authentication. Give --user user@{realm} (or --kdc) to send it"
                ))
            }
        }
        RealmSource::None => Err("no realm".to_string()),
    }
}

impl Run<'_> {
    async fn sequence(&mut self, choice: &RealmChoice) {
        let candidates = self.kdc_candidates().await;
        if candidates.is_empty() {
            return;
        }
        let Some(cname) = self.cname.clone() else {
            return;
        };
        let Some(probe) = self.probe(&cname, &candidates).await else {
            return;
        };
        let KdcReply::Error(probe) = probe else {
            // An AS-REP without pre-authentication (the account does not require it): the KDC
            // answers; the service ticket is asked for without a password.
            self.service_probe(&cname).await;
            return;
        };
        if probe.code != code::KDC_ERR_PREAUTH_REQUIRED {
            return;
        }
        let password = self
            .input
            .credentials
            .filter(|_| self.obs.client_kind == Some(ClientKind::User));
        match (
            password,
            preauth_rule(self.input, choice.source, &self.realm),
        ) {
            (Some(_), Ok(())) if self.adopt_logon(&cname) => {}
            (Some(creds), Ok(())) => {
                if let Some(tgt) = self.tgt(&cname, creds, &probe).await {
                    self.service_ticket(&tgt).await;
                }
            }
            (Some(_), Err(reason)) => {
                self.obs.preauth = Preauth::Withheld { reason };
                self.service_probe(&cname).await;
            }
            (None, _) => self.service_probe(&cname).await,
        }
    }

    /// Takes the logon's pre-authenticated AS exchange and its TGS exchange as this check's
    /// ticket-granting and service tickets, when the logon asked for `cname` and the KDC judged
    /// its pre-authentication (a second AS-REQ would count twice towards a lockout for a wrong
    /// password). Not after KRB_AP_ERR_SKEW, where the logon stopped before any ticket: the checks
    /// retry with the KDC's time themselves, so the service ticket is still asked for.
    fn adopt_logon(&mut self, cname: &Principal) -> bool {
        let who = format!("{cname}@{}", self.realm);
        let ours = |e: &&KdcExchange| e.client.eq_ignore_ascii_case(&who) || e.request == "TGS-REQ";
        let logon: Vec<&KdcExchange> = self.input.logon_exchanges.iter().filter(ours).collect();
        let judged = logon
            .iter()
            .rev()
            .find(|e| e.request == "AS-REQ" && e.preauth && e.outcome.answered());
        let skewed = judged
            .and_then(|e| e.outcome.error())
            .is_some_and(|e| e.code == code::KRB_AP_ERR_SKEW);
        if judged.is_none() || skewed {
            return false;
        }
        let mut tgts = 0;
        for e in logon {
            let mut e = e.clone();
            e.step = match (e.request.as_str(), e.preauth) {
                ("AS-REQ", true) => {
                    tgts += 1;
                    if tgts == 1 {
                        KdcStep::Tgt
                    } else {
                        KdcStep::TgtRetry
                    }
                }
                ("TGS-REQ", _) => KdcStep::ServiceTicket,
                _ => KdcStep::Logon,
            };
            self.adopted.push(e);
        }
        self.obs.preauth = Preauth::Sent;
        true
    }

    /// The KDCs to ask, each as UDP and TCP targets (or the proxy), named.
    async fn kdc_candidates(&mut self) -> Vec<(String, KdcTarget)> {
        let input = self.input;
        if let Some(proxy) = input.kdc_proxy {
            self.obs.kdc_source = Some(KdcSource::Proxy);
            return vec![(proxy.url.clone(), KdcTarget::Proxy(proxy.clone()))];
        }
        self.obs.kdc_source = Some(if input.kdc.is_some() {
            KdcSource::Named
        } else {
            KdcSource::Srv
        });
        let (srv, kdcs) = discover::kdcs(&self.realm, input.kdc, &input.budget).await;
        self.obs.srv = srv;
        let mut out = Vec::new();
        for kdc in &kdcs {
            for ip in kdc.addresses.iter().take(MAX_KDCS) {
                let address = std::net::SocketAddr::new(*ip, kdc.port);
                for t in &kdc.transports {
                    let target = match t {
                        KdcTransport::Udp => KdcTarget::Udp(address),
                        _ => KdcTarget::Tcp(address),
                    };
                    out.push((kdc.name.clone(), target));
                }
            }
        }
        out.truncate(MAX_KDCS * 2);
        self.obs.kdcs = kdcs;
        out
    }

    fn request(
        &self,
        step: KdcStep,
        kind: &'static str,
        client: &Principal,
        service: &Principal,
        preauth: bool,
        kdc: &str,
    ) -> Request {
        Request {
            step,
            kind,
            client: format!("{client}@{}", self.realm),
            service: service.to_string(),
            realm: self.realm.clone(),
            preauth,
            kdc: kdc.to_string(),
        }
    }

    /// The AS-REQ without pre-authentication to every candidate at once: which answer (88/UDP,
    /// 88/TCP), with which clock, knowing which keys of the account. Returns the answer of the
    /// route kept for what follows (TCP preferred: the bigger requests after it fit).
    async fn probe(
        &mut self,
        cname: &Principal,
        candidates: &[(String, KdcTarget)],
    ) -> Option<KdcReply> {
        let krbtgt = Principal::service("krbtgt", &self.realm);
        let req = AsRequest {
            client: cname.clone(),
            realm: self.realm.clone(),
            service: krbtgt.clone(),
            nonce: nonce(),
            etypes: AES_ETYPES.to_vec(),
        };
        let message = as_req(&req, None).ok()?;
        let mut set = tokio::task::JoinSet::new();
        for (i, (name, target)) in candidates.iter().enumerate() {
            let meta = self.request(KdcStep::Probe, "AS-REQ", cname, &krbtgt, false, name);
            let (name, target) = (name.clone(), target.clone());
            let (message, budget) = (message.clone(), *self.client.budget());
            set.spawn(async move {
                let mut c = KdcClient::new(budget);
                let reply = c.send(&meta, &target, &message).await.map(|(r, _)| r);
                (i, name, target, reply, c.into_exchanges())
            });
        }
        let mut results = Vec::new();
        while let Some(joined) = set.join_next().await {
            if let Ok(r) = joined {
                results.push(r);
            }
        }
        results.sort_by_key(|r| r.0);
        let mut chosen: Option<(String, KdcTarget, KdcReply)> = None;
        for (_, name, target, reply, exchanges) in results {
            self.probes.extend(exchanges);
            let Some(reply) = reply else { continue };
            let better = chosen.as_ref().is_none_or(|(_, t, _)| {
                matches!(t, KdcTarget::Udp(_)) && !matches!(target, KdcTarget::Udp(_))
            });
            if better {
                chosen = Some((name, target, reply));
            }
        }
        let (name, target, reply) = chosen?;
        self.route = Some((name, target));
        Some(reply)
    }

    /// Sends `message` on the route the probe kept; over UDP, with the TCP fallback.
    async fn on_route(&mut self, meta: &Request, message: &[u8]) -> Option<KdcReply> {
        let (_, target) = self.route.clone()?;
        let reply = match target {
            KdcTarget::Udp(a) => self.client.send_udp_then_tcp(meta, a, message).await,
            other => self.client.send(meta, &other, message).await,
        };
        reply.map(|(r, _)| r)
    }

    /// AS-REQ for TERMSRV/<name> itself, without pre-authentication: a KDC that does not know
    /// the principal says so (KDC_ERR_S_PRINCIPAL_UNKNOWN) before it asks for pre-authentication.
    async fn service_probe(&mut self, cname: &Principal) {
        let (Some(spn), Some((kdc, _))) = (self.spn.clone(), self.route.clone()) else {
            return;
        };
        let req = AsRequest {
            client: cname.clone(),
            realm: self.realm.clone(),
            service: spn.clone(),
            nonce: nonce(),
            etypes: AES_ETYPES.to_vec(),
        };
        let Ok(message) = as_req(&req, None) else {
            return;
        };
        let meta = self.request(KdcStep::ServiceProbe, "AS-REQ", cname, &spn, false, &kdc);
        self.on_route(&meta, &message).await;
    }

    /// The ticket-granting ticket: AS-REQ with PA-ENC-TIMESTAMP in the account's best AES key.
    /// After KRB_AP_ERR_SKEW, once more with the KDC's time (as MIT and sspi do), so the
    /// service ticket can still be asked for; the skew stays in the record.
    async fn tgt(
        &mut self,
        cname: &Principal,
        creds: &Credentials,
        probe: &rdpdoctor_wire::kerberos::KrbError,
    ) -> Option<Tgt> {
        let kdc = self.route.clone()?.0;
        // The account's best AES key as ETYPE-INFO2 describes it; without one, AES256 with the
        // default salt (RFC 4120 4: realm and name), so that the KDC itself says whether the
        // account has an AES key (KDC_ERR_ETYPE_NOSUPP when not), as sspi's logon would hear it.
        let best = probe
            .etype_info
            .iter()
            .find(|i| AES_ETYPES.contains(&i.etype));
        let (etype, salt, s2kparams) = match best {
            Some(i) => (i.etype, i.salt.clone(), i.s2kparams.clone()),
            None => (AES_ETYPES[0], None, None),
        };
        let salt = salt.unwrap_or_else(|| format!("{}{}", self.realm, cname).into_bytes());
        let key = match string_to_key(etype, creds.password(), &salt, s2kparams.as_deref()) {
            Ok(k) => k,
            Err(e) => {
                self.obs.preauth = Preauth::Withheld {
                    reason: e.to_string(),
                };
                return None;
            }
        };
        let krbtgt = Principal::service("krbtgt", &self.realm);
        let meta = self.request(KdcStep::Tgt, "AS-REQ", cname, &krbtgt, true, &kdc);
        for step in [KdcStep::Tgt, KdcStep::TgtRetry] {
            let req = AsRequest {
                client: cname.clone(),
                realm: self.realm.clone(),
                service: krbtgt.clone(),
                nonce: nonce(),
                etypes: vec![etype],
            };
            let (now, usec) = unix_now();
            let message = as_req(&req, Some((&key, now + self.offset, usec))).ok()?;
            self.obs.preauth = Preauth::Sent;
            let meta = Request {
                step,
                ..meta.clone()
            };
            match self.on_route(&meta, &message).await? {
                KdcReply::AsRep(rep) => {
                    return match Tgt::from_as_rep(&rep, &key, req.nonce) {
                        Ok(t) => Some(t),
                        Err(e) => {
                            self.note = Some(format!("the AS-REP could not be read: {e}"));
                            None
                        }
                    };
                }
                KdcReply::Error(e) if e.code == code::KRB_AP_ERR_SKEW && step == KdcStep::Tgt => {
                    self.offset = e.stime - unix_now().0;
                }
                _ => return None,
            }
        }
        None
    }

    /// TGS-REQ for TERMSRV/<name> with the TGT: the service ticket a CredSSP logon needs.
    async fn service_ticket(&mut self, tgt: &Tgt) {
        let (Some(spn), Some((kdc, _))) = (self.spn.clone(), self.route.clone()) else {
            return;
        };
        let (now, usec) = unix_now();
        let Ok(message) = tgs_req(tgt, &spn, nonce(), &AES_ETYPES, (now + self.offset, usec))
        else {
            return;
        };
        let meta = self.request(
            KdcStep::ServiceTicket,
            "TGS-REQ",
            &tgt.client,
            &spn,
            false,
            &kdc,
        );
        self.on_route(&meta, &message).await;
    }
}

fn unix_now() -> (i64, u32) {
    let d = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    (i64::try_from(d.as_secs()).unwrap_or(0), d.subsec_micros())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn input<'a>(
        target: &'a Target,
        signs: &'a [String],
        proven: bool,
        kdc: Option<&'a KdcSpec>,
    ) -> ReadinessInput<'a> {
        ReadinessInput {
            target,
            challenge: None,
            credentials: None,
            kdc,
            kdc_proxy: None,
            interception: signs,
            server_proven: proven,
            logon_exchanges: &[],
            budget: Budget::new(Duration::from_secs(1), None),
        }
    }

    /// README, "Credentials: the delegation rule": where the pre-authentication may go.
    #[test]
    fn the_preauth_goes_only_to_a_kdc_the_user_chose_or_the_typed_name_implies() {
        let by_name = Target::parse("rdp-k.lab.test", 3389).unwrap();
        let alias = Target::parse("rdp.other.example", 3389).unwrap();
        let by_address = Target::parse("198.18.65.20", 3389).unwrap();
        let none: Vec<String> = Vec::new();
        let signs = vec!["the certificate changed".to_string()];
        let kdc = KdcSpec::parse("dc1.lab.test").unwrap();
        let ok = |i: &ReadinessInput<'_>, s| preauth_rule(i, s, "LAB.TEST").is_ok();
        // A realm the user named: always (but never with signs of interception).
        assert!(ok(
            &input(&by_address, &none, false, None),
            RealmSource::UserPrincipal
        ));
        assert!(ok(
            &input(&alias, &none, false, None),
            RealmSource::UserDomain
        ));
        assert!(!ok(
            &input(&by_name, &signs, true, None),
            RealmSource::UserPrincipal
        ));
        assert!(!ok(
            &input(&by_name, &signs, true, Some(&kdc)),
            RealmSource::UserPrincipal
        ));
        // A realm only the server named: the typed name must lie in it, or the server be proven.
        assert!(ok(
            &input(&by_name, &none, false, None),
            RealmSource::NtlmChallenge
        ));
        assert!(!ok(
            &input(&alias, &none, false, None),
            RealmSource::NtlmChallenge
        ));
        assert!(!ok(
            &input(&by_address, &none, false, None),
            RealmSource::NtlmChallenge
        ));
        assert!(ok(
            &input(&by_address, &none, true, None),
            RealmSource::NtlmChallenge
        ));
        // A KDC the user named: yes.
        assert!(ok(
            &input(&alias, &none, false, Some(&kdc)),
            RealmSource::NtlmChallenge
        ));
        // "lab.test.evil.example" is not in LAB.TEST.
        let lookalike = Target::parse("rdp-k.lab.test.evil.example", 3389).unwrap();
        assert!(!ok(
            &input(&lookalike, &none, false, None),
            RealmSource::NtlmChallenge
        ));
    }
}
