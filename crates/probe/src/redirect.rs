//! Following a Server Redirection PDU (MS-RDPBCGR 2.2.13.1) the way a client does, planned
//! without I/O: which names and addresses the second leg tries, in which order, and the routing
//! token its X.224 requests carry. `check::check` runs the plan, one leg per candidate until one
//! accepts the connection, and checks the server reached there like any other.
//!
//! The order is Windows' default (an `.rdp` file without `use redirection server name:i:1`):
//! the TargetNetAddress(es) first, then the FQDN and the NetBIOS name; with that setting the
//! names come first. With LB_NOREDIRECT, or a routing token without any target, the client goes
//! back to the server it first connected to, token in hand. The port is always the first leg's:
//! a redirection carries none (xfreerdp 2.11 does the same, lab/OBSERVED.md).
//!
//! Credentials: the second leg is judged on its own, under the same trust as the first (the
//! same pins, `--trust-any-cert` if given; never the certificate remembered for the first
//! target), so nothing goes to it on weaker proof than what the first leg needed.

use rdpdoctor_observations::{
    ConnectOutcome, DnsOutcome, GatewayOutcome, Observations, RedirectTryOutcome, RedirectionInfo,
    SessionOutcome, Target,
};
use rdpdoctor_wire::session::LB_NOREDIRECT;
use rdpdoctor_wire::x224::RequestCookie;

/// The prefix of a load balancer's routing token (MS-RDPBCGR 2.2.1.1 routingToken).
const MSTS_PREFIX: &str = "Cookie: msts=";

/// What the second leg does.
#[derive(Debug, PartialEq)]
pub(crate) struct Plan {
    /// Name or address, and the field of the redirection it came from, in order.
    pub(crate) candidates: Vec<(String, &'static str)>,
    /// The cookie of the second leg's X.224 requests (`None`: the tool's name).
    pub(crate) cookie: Option<RequestCookie>,
    /// The token as text, for the record.
    pub(crate) token: Option<String>,
    /// Why this order.
    pub(crate) order: String,
}

/// The redirection of a first leg that ended with one.
pub(crate) fn redirection(obs: &Observations) -> Option<&RedirectionInfo> {
    match &obs.session.as_ref()?.outcome {
        SessionOutcome::Redirected { redirection } => Some(redirection),
        _ => None,
    }
}

/// Plans the second leg after `r`, which the server `first` sent; `Err` says why it cannot be
/// followed.
pub(crate) fn plan(
    r: &RedirectionInfo,
    first: &Target,
    use_server_name: bool,
) -> Result<Plan, String> {
    let token = r
        .routing_token
        .as_deref()
        .map(|t| t.trim_end_matches(['\r', '\n', '\0']));
    let cookie = match token {
        None => None,
        Some(t) => match t.strip_prefix(MSTS_PREFIX) {
            Some(value) if !value.is_empty() && value.is_ascii() => {
                Some(RequestCookie::RoutingToken(value.to_string()))
            }
            _ => {
                return Err(format!(
                    "its load-balancing info is not a `{MSTS_PREFIX}` routing token (it starts {:?}); the probe sends only that form",
                    t.chars().take(24).collect::<String>()
                ))
            }
        },
    };
    let addresses = r.addresses.iter().map(|a| (a.clone(), "TargetNetAddress"));
    let names = r
        .fqdn
        .iter()
        .map(|n| (n.clone(), "TargetFQDN"))
        .chain(r.netbios.iter().map(|n| (n.clone(), "TargetNetBiosName")));
    let (mut candidates, order): (Vec<_>, &str) = if r.flags & LB_NOREDIRECT != 0 {
        (
            Vec::new(),
            "LB_NOREDIRECT: back to the first server with the token",
        )
    } else if use_server_name {
        (
            names.chain(addresses).collect(),
            "use redirection server name: the names first, then the addresses",
        )
    } else {
        (
            addresses.chain(names).collect(),
            "the addresses first, then the FQDN and the NetBIOS name, as mstsc without `use redirection server name:i:1`",
        )
    };
    let mut order = order.to_string();
    if candidates.is_empty() {
        if cookie.is_none() {
            return Err("it names no target and carries no routing token".to_string());
        }
        if r.flags & LB_NOREDIRECT == 0 {
            order = "a routing token without a target: back to the first server with it".into();
        }
        candidates.push((first.host.clone(), "the first leg's server"));
    }
    candidates.dedup();
    Ok(Plan {
        candidates,
        cookie,
        token: token.map(str::to_string),
        order,
    })
}

/// How a leg to one candidate went, from its observations: reached (a TCP connection was
/// accepted), the name not resolved, or the connect's last failure.
pub(crate) fn outcome(obs: &Observations) -> RedirectTryOutcome {
    if let Some(gw) = &obs.gateway {
        // Through a gateway the second leg is a channel: no TCP connection of its own.
        return match gw.outcome {
            GatewayOutcome::Open => RedirectTryOutcome::Reached,
            _ => RedirectTryOutcome::GatewayRefused {
                reason: crate::gateway::describe(gw),
            },
        };
    }
    if obs.tcp.as_ref().is_some_and(|t| t.address.is_some()) {
        return RedirectTryOutcome::Reached;
    }
    let last = obs
        .tcp
        .as_ref()
        .and_then(|t| t.attempts.last())
        .map(|a| a.outcome.clone());
    match (last, obs.dns.as_ref().map(|d| &d.outcome)) {
        (Some(outcome), _) => RedirectTryOutcome::ConnectFailed { outcome },
        (None, Some(DnsOutcome::Failed { error })) => RedirectTryOutcome::NotResolved {
            reason: error.clone(),
        },
        (None, Some(DnsOutcome::TimedOut)) => RedirectTryOutcome::NotResolved {
            reason: "the name lookup timed out".to_string(),
        },
        (None, _) => RedirectTryOutcome::ConnectFailed {
            outcome: ConnectOutcome::Error {
                error: "no address to connect to".to_string(),
            },
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(flags: u32) -> RedirectionInfo {
        RedirectionInfo {
            session_id: 0,
            flags,
            target: None,
            load_balance_info: false,
            username: None,
            domain: None,
            routing_token: None,
            addresses: vec!["198.18.99.10".into()],
            fqdn: Some("rdsh-internal.lab.invalid".into()),
            netbios: Some("RDSH-INTERNAL".into()),
        }
    }

    fn broker() -> Target {
        Target::parse("127.0.0.1:26481", 3389).unwrap()
    }

    #[test]
    fn addresses_first_unless_the_server_name_is_asked_for() {
        let p = plan(&info(0x301), &broker(), false).unwrap();
        let order: Vec<_> = p.candidates.iter().map(|c| c.0.as_str()).collect();
        assert_eq!(
            order,
            ["198.18.99.10", "rdsh-internal.lab.invalid", "RDSH-INTERNAL"]
        );
        assert!(p.cookie.is_none());
        let p = plan(&info(0x301), &broker(), true).unwrap();
        assert_eq!(p.candidates[0].0, "rdsh-internal.lab.invalid");
        assert_eq!(p.candidates[2].1, "TargetNetAddress");
    }

    #[test]
    fn a_routing_token_goes_in_the_cookie() {
        let mut r = info(0x3);
        r.routing_token = Some("Cookie: msts=16777343.7015.0000\r\n".into());
        r.addresses = vec!["127.0.0.1".into()];
        r.fqdn = None;
        r.netbios = None;
        let p = plan(&r, &broker(), false).unwrap();
        assert_eq!(
            p.cookie,
            Some(RequestCookie::RoutingToken("16777343.7015.0000".into()))
        );
        assert_eq!(
            p.candidates,
            vec![("127.0.0.1".to_string(), "TargetNetAddress")]
        );
        // LB_NOREDIRECT: back to the broker itself.
        r.flags |= LB_NOREDIRECT;
        let p = plan(&r, &broker(), false).unwrap();
        assert_eq!(
            p.candidates,
            vec![("127.0.0.1".to_string(), "the first leg's server")]
        );
    }

    #[test]
    fn refuses_what_it_cannot_follow() {
        let mut r = info(0x2);
        r.addresses.clear();
        r.fqdn = None;
        r.netbios = None;
        assert!(plan(&r, &broker(), false).is_err());
        r.routing_token = Some("tsv://MS Terminal Services Plugin.1.Sessions\r\n".into());
        assert!(plan(&r, &broker(), false)
            .unwrap_err()
            .contains("not a `Cookie: msts=` routing token"));
    }
}
