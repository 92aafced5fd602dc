//! The second leg of a connection a Connection Broker redirected (`check --full`): where the
//! probe went after the Server Redirection PDU (MS-RDPBCGR 2.2.13.1), as a client does, and the
//! check of the server it reached there.

use crate::{ConnectOutcome, Observations};
use serde::{Deserialize, Serialize};

/// How the probe followed a Server Redirection PDU.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct RedirectLeg {
    /// The routing token the second leg's X.224 requests carried (`Cookie: msts=TOKEN`, from the
    /// PDU's LoadBalanceInfo), as text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub routing_token: Option<String>,
    /// The port of the second leg: the first leg's (a redirection carries no port).
    pub port: u16,
    /// Why the candidates were tried in this order (the redirection's flags, "use redirection
    /// server name").
    pub order: String,
    /// Each name or address tried, in order, until one accepted the connection.
    pub tried: Vec<RedirectTry>,
    /// The check of the server the second leg reached: its own negotiation, TLS, NLA and full
    /// connection (absent when no candidate answered).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<Box<Observations>>,
    /// Why the second leg went without the credentials given with --user (absent when they
    /// went with it, or none were given): the server that redirected proved nothing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credentials_withheld: Option<String>,
    /// Why the redirection was not followed at all (absent when it was).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not_followed: Option<String>,
}

/// One name or address the second leg tried.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RedirectTry {
    /// The name or address as the redirection gave it.
    pub target: String,
    /// Which field of the redirection it came from: `TargetNetAddress`, `TargetFQDN`,
    /// `TargetNetBiosName`, or `the first leg's server` (LB_NOREDIRECT, or a token only).
    pub field: String,
    pub outcome: RedirectTryOutcome,
}

/// How one candidate of the second leg ended.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum RedirectTryOutcome {
    /// A TCP connection was accepted: the second leg is checked there.
    Reached,
    /// The name resolves to no address here.
    NotResolved { reason: String },
    /// Every address refused, timed out or had no route.
    ConnectFailed { outcome: ConnectOutcome },
    /// Through an RD Gateway (`check --gateway`): the gateway opened no channel to it.
    GatewayRefused { reason: String },
}
