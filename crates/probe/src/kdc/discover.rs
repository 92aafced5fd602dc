//! The realm and its KDCs, found as a client finds them: the realm from the user name (or, for a
//! user without one, the DNS domain the server announced in its NTLM CHALLENGE), the KDCs from the
//! realm's DNS SRV records, or from `--kdc`.

use super::srv;
use super::target::KdcSpec;
use super::Budget;
use rdpdoctor_observations::{
    DnsOutcome, KdcEndpoint, KdcTransport, NtlmInfo, RealmSource, SrvLookup, SrvOutcome, Target,
};

/// At most this many KDCs are asked (a DC locator stops at the first that answers; the others
/// only say whether the fault is one DC's or all).
pub(crate) const MAX_KDCS: usize = 3;

/// The realm a client would ask, and the account name within it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct RealmChoice {
    pub(crate) realm: Option<String>,
    pub(crate) source: RealmSource,
    /// The account without its domain (`kuser` of `LAB\kuser`).
    pub(crate) account: Option<String>,
    /// `DOMAIN\user` whose DOMAIN is neither a DNS name nor the server's domain: a local account
    /// of the server (its computer name, or `.`), or a domain nothing here can map to a realm.
    pub(crate) unmapped_domain: Option<String>,
}

/// Whether `name` looks like a DNS domain a realm can be named after: at least two labels of
/// letters, digits, `-` and `_`, at most 253 characters. A server's NTLM names are only taken as
/// a realm when they pass: a workgroup or a hostile server's text never becomes a DNS query.
pub(crate) fn dns_domain_like(name: &str) -> bool {
    let name = name.trim_end_matches('.');
    name.len() <= 253
        && name.contains('.')
        && name.split('.').all(|l| {
            (1..=63).contains(&l.len())
                && l.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        })
}

/// The realm of a domain the server is joined to, from its CHALLENGE.
pub(crate) fn challenge_realm(info: &NtlmInfo) -> Option<String> {
    if info.is_workgroup() {
        return None;
    }
    info.dns_domain
        .as_deref()
        .filter(|d| dns_domain_like(d))
        .map(|d| d.trim_end_matches('.').to_ascii_uppercase())
}

/// The realm for `user` (`user@REALM`, `DOMAIN\user`, `user`, or none) against a server whose
/// CHALLENGE was `challenge`.
pub(crate) fn realm(user: Option<&str>, challenge: Option<&NtlmInfo>) -> RealmChoice {
    let from_server = challenge.and_then(challenge_realm);
    let none = |account: Option<String>, unmapped: Option<String>| RealmChoice {
        realm: None,
        source: RealmSource::None,
        account,
        unmapped_domain: unmapped,
    };
    let server = |account: Option<String>| match &from_server {
        Some(r) => RealmChoice {
            realm: Some(r.clone()),
            source: RealmSource::NtlmChallenge,
            account,
            unmapped_domain: None,
        },
        None => none(account, None),
    };
    let Some(user) = user.map(str::trim).filter(|u| !u.is_empty()) else {
        return server(None);
    };
    if let Some((account, domain)) = user.rsplit_once('@') {
        if dns_domain_like(domain) {
            return RealmChoice {
                realm: Some(domain.trim_end_matches('.').to_ascii_uppercase()),
                source: RealmSource::UserPrincipal,
                account: Some(account.to_string()),
                unmapped_domain: None,
            };
        }
    }
    let Some((domain, account)) = user.split_once('\\') else {
        return server(Some(user.to_string()));
    };
    let account = Some(account.to_string());
    if dns_domain_like(domain) {
        return RealmChoice {
            realm: Some(domain.trim_end_matches('.').to_ascii_uppercase()),
            source: RealmSource::UserDomain,
            account,
            unmapped_domain: None,
        };
    }
    let netbios = challenge.and_then(|c| c.netbios_domain.as_deref());
    match netbios {
        Some(nb) if nb.eq_ignore_ascii_case(domain) && from_server.is_some() => server(account),
        _ => none(account, Some(domain.to_string())),
    }
}

/// The KDCs of `realm`: the one `--kdc` names, else every target of the realm's SRV records
/// (`_kerberos._tcp` and `_kerberos._udp`), each resolved; and the SRV lookups made.
pub(crate) async fn kdcs(
    realm: &str,
    named: Option<&KdcSpec>,
    budget: &Budget,
) -> (Vec<SrvLookup>, Vec<KdcEndpoint>) {
    if let Some(spec) = named {
        let endpoint = resolve(
            spec.host.clone(),
            spec.port,
            vec![KdcTransport::Udp, KdcTransport::Tcp],
            budget,
        )
        .await;
        return (Vec::new(), vec![endpoint]);
    }
    let tcp_name = format!("_kerberos._tcp.{realm}");
    let udp_name = format!("_kerberos._udp.{realm}");
    let (tcp, udp) = tokio::join!(
        srv::lookup(&tcp_name, budget),
        srv::lookup(&udp_name, budget)
    );
    let mut wanted: Vec<(String, u16, Vec<KdcTransport>)> = Vec::new();
    for (lookups, transport) in [(&udp, KdcTransport::Udp), (&tcp, KdcTransport::Tcp)] {
        // The first resolver that has records speaks for the name, as a stub resolver's answer.
        let records = lookups.iter().find_map(|l| match &l.outcome {
            SrvOutcome::Records { records } => Some(records),
            _ => None,
        });
        for r in records.into_iter().flatten() {
            let target = r.target.trim_end_matches('.').to_string();
            match wanted
                .iter_mut()
                .find(|(t, p, _)| t.eq_ignore_ascii_case(&target) && *p == r.port)
            {
                Some((_, _, transports)) => transports.push(transport),
                None => wanted.push((target, r.port, vec![transport])),
            }
        }
    }
    wanted.truncate(MAX_KDCS);
    let resolved = futures_join(wanted, budget).await;
    let mut lookups = udp;
    lookups.extend(tcp);
    (lookups, resolved)
}

async fn futures_join(
    wanted: Vec<(String, u16, Vec<KdcTransport>)>,
    budget: &Budget,
) -> Vec<KdcEndpoint> {
    let mut set = tokio::task::JoinSet::new();
    for (i, (name, port, transports)) in wanted.into_iter().enumerate() {
        let budget = *budget;
        set.spawn(async move { (i, resolve(name, port, transports, &budget).await) });
    }
    let mut out = Vec::new();
    while let Some(joined) = set.join_next().await {
        if let Ok(r) = joined {
            out.push(r);
        }
    }
    out.sort_by_key(|(i, _)| *i);
    out.into_iter().map(|(_, e)| e).collect()
}

async fn resolve(
    name: String,
    port: u16,
    transports: Vec<KdcTransport>,
    budget: &Budget,
) -> KdcEndpoint {
    let text = if name.contains(':') {
        format!("[{name}]")
    } else {
        name.clone()
    };
    let (addresses, resolve_error) = match Target::parse(&text, port) {
        Err(e) => (Vec::new(), Some(e.to_string())),
        Ok(target) => match crate::dns::resolve(&target, budget.phase()).await.outcome {
            DnsOutcome::Resolved { addresses } | DnsOutcome::Literal { addresses } => {
                (addresses, None)
            }
            DnsOutcome::TimedOut => (Vec::new(), Some("the lookup timed out".to_string())),
            DnsOutcome::Failed { error } => (Vec::new(), Some(error)),
        },
    };
    KdcEndpoint {
        name,
        port,
        addresses,
        resolve_error,
        transports,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn joined() -> NtlmInfo {
        NtlmInfo {
            netbios_computer: Some("RDP-K".to_string()),
            netbios_domain: Some("LAB".to_string()),
            dns_computer: Some("rdp-k.lab.test".to_string()),
            dns_domain: Some("lab.test".to_string()),
            received_at: jiff::Timestamp::UNIX_EPOCH,
            ..NtlmInfo::default()
        }
    }

    #[test]
    fn the_realm_comes_from_the_user_else_from_the_servers_domain() {
        let c = joined();
        let r = realm(Some("kuser@lab.test"), Some(&c));
        assert_eq!(
            (r.realm.as_deref(), r.source),
            (Some("LAB.TEST"), RealmSource::UserPrincipal)
        );
        assert_eq!(r.account.as_deref(), Some("kuser"));
        let r = realm(Some("LAB\\kuser"), Some(&c));
        assert_eq!(
            (r.realm.as_deref(), r.source),
            (Some("LAB.TEST"), RealmSource::NtlmChallenge)
        );
        let r = realm(Some("lab.test\\kuser"), None);
        assert_eq!(
            (r.realm.as_deref(), r.source),
            (Some("LAB.TEST"), RealmSource::UserDomain)
        );
        let r = realm(Some("kuser"), Some(&c));
        assert_eq!(r.source, RealmSource::NtlmChallenge);
        let r = realm(None, Some(&c));
        assert_eq!((r.realm.as_deref(), r.account), (Some("LAB.TEST"), None));
        // Another NetBIOS domain than the server's: no realm, and which domain is said.
        let r = realm(Some("OTHER\\kuser"), Some(&c));
        assert_eq!(
            (r.realm, r.unmapped_domain.as_deref()),
            (None, Some("OTHER"))
        );
    }

    #[test]
    fn workgroups_and_hostile_names_never_become_a_realm() {
        let mut c = joined();
        c.netbios_domain = Some("RDP-K".to_string());
        assert_eq!(realm(None, Some(&c)).realm, None);
        let mut c = joined();
        c.dns_domain = Some("LAB\u{1b}]0;pwned\u{7}.test".to_string());
        assert_eq!(realm(None, Some(&c)).realm, None);
        c.dns_domain = Some("WINNT".to_string());
        assert_eq!(realm(None, Some(&c)).realm, None);
        assert!(dns_domain_like("lab.test."));
        assert!(!dns_domain_like("lab..test"));
        assert!(!dns_domain_like(&format!("{}.test", "a".repeat(64))));
    }
}
