//! How a probe connection fell short of the exchange its probe wanted, and what carried it.
//!
//! Every probe opens its connections the same way (the route dials, the X.224 exchange selects a
//! protocol, TLS goes over it), so the ways that opening fails are one type, [`OpenFailure`],
//! that every probe outcome embeds ([`crate::NlaOutcome`], [`crate::SessionOutcome`],
//! [`crate::RdpSecurityOutcome`]); the X.224 answer itself embeds the route's part,
//! [`RouteFailure`] ([`crate::NegotiationOutcome`]). A new route adds its failures to
//! [`RouteFailure`] once, and every outcome records them.
//!
//! The JSON is the one each outcome had before the type was shared: `{"kind":"connect-failed",
//! "outcome":...}` everywhere, and the X.224 step under the name each outcome gave it
//! (`not-selected` in NLA outcomes, `negotiation-failed` in session outcomes, `negotiation` in
//! Standard RDP Security outcomes). The embedding outcome picks that name with one of the
//! [`dialect`] modules (`#[serde(untagged, with = "...")]`).

use crate::{ConnectOutcome, NegotiationOutcome, TlsOutcome};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::net::SocketAddr;

/// How the route failed to carry a byte stream to the server.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum RouteFailure {
    /// The TCP connect failed: to the server itself on a direct route, to the first hop on
    /// others.
    ConnectFailed { outcome: ConnectOutcome },
    /// The route answered, but would not (or could not) carry the connection to the server: an
    /// RD Gateway refusing the channel, a tunnel closed by its far end.
    RouteFailed {
        /// Which route: `gateway gw.example.com:443`.
        route: String,
        /// The route's step that failed: `channel create`.
        step: String,
        /// What the route said, in words.
        reason: String,
        /// The route's own code, raw (an HRESULT such as E_PROXY_RAP_ACCESSDENIED 0x800759DA).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        code: Option<u32>,
    },
}

/// How opening a probe connection failed before the probe's own exchange.
#[derive(Clone, PartialEq)]
pub enum OpenFailure {
    /// No byte stream to the server.
    Route(RouteFailure),
    /// The X.224 exchange did not select a protocol the probe can go on with.
    Negotiation(NegotiationOutcome),
    /// The TLS upgrade after the X.224 exchange failed.
    Tls(TlsOutcome),
}

impl OpenFailure {
    /// A failed TCP connect.
    pub fn connect(outcome: ConnectOutcome) -> OpenFailure {
        OpenFailure::Route(RouteFailure::ConnectFailed { outcome })
    }

    /// `Debug` as the embedding outcome wrote it before the type was shared, with `negotiation`
    /// its name for the X.224 step (`NotSelected`).
    fn debug_as(&self, negotiation: &str, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            OpenFailure::Route(r) => fmt::Debug::fmt(r, f),
            OpenFailure::Negotiation(outcome) => f
                .debug_struct(negotiation)
                .field("outcome", outcome)
                .finish(),
            OpenFailure::Tls(outcome) => f
                .debug_struct("TlsFailed")
                .field("outcome", outcome)
                .finish(),
        }
    }
}

/// Plain `Debug` (the X.224 step as `NegotiationFailed`); outcomes use their own names.
impl fmt::Debug for OpenFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.debug_as("NegotiationFailed", f)
    }
}

/// An [`OpenFailure`] with the names one outcome gives its steps, for `Debug`.
pub(crate) struct Named<'a>(pub &'a OpenFailure, pub &'static str);

impl fmt::Debug for Named<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.debug_as(self.1, f)
    }
}

/// The serde functions of [`OpenFailure`] for each outcome that embeds it: the X.224 step under
/// that outcome's name. Deserializing is strict: another outcome's name is refused, so a kind
/// that is not this outcome's falls through to the outcome's other variants.
pub mod dialect {
    macro_rules! dialect {
        ($(#[$doc:meta])* $name:ident, $negotiation:literal) => {
            $(#[$doc])*
            pub mod $name {
                use crate::{NegotiationOutcome, OpenFailure, RouteFailure, TlsOutcome};
                use serde::{Deserialize, Deserializer, Serialize, Serializer};

                /// The name of the X.224 step.
                pub const NEGOTIATION: &str = $negotiation;

                #[derive(Deserialize)]
                #[serde(tag = "kind")]
                enum Wire {
                    #[serde(rename = $negotiation)]
                    Negotiation { outcome: NegotiationOutcome },
                    #[serde(rename = "tls-failed")]
                    Tls { outcome: TlsOutcome },
                    #[serde(untagged)]
                    Route(RouteFailure),
                }

                pub fn serialize<S: Serializer>(v: &OpenFailure, s: S) -> Result<S::Ok, S::Error> {
                    match v {
                        OpenFailure::Route(r) => r.serialize(s),
                        OpenFailure::Negotiation(o) => super::tagged(s, $negotiation, o),
                        OpenFailure::Tls(o) => super::tagged(s, "tls-failed", o),
                    }
                }

                pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<OpenFailure, D::Error> {
                    Ok(match Wire::deserialize(d)? {
                        Wire::Negotiation { outcome } => OpenFailure::Negotiation(outcome),
                        Wire::Tls { outcome } => OpenFailure::Tls(outcome),
                        Wire::Route(r) => OpenFailure::Route(r),
                    })
                }
            }
        };
    }

    dialect!(
        /// NLA outcomes: `not-selected`.
        nla,
        "not-selected"
    );
    dialect!(
        /// Session outcomes (`--full`): `negotiation-failed`.
        session,
        "negotiation-failed"
    );
    dialect!(
        /// Standard RDP Security outcomes: `negotiation`.
        rdp_security,
        "negotiation"
    );

    /// `{"kind": KIND, "outcome": OUTCOME}`.
    fn tagged<S: serde::Serializer, T: serde::Serialize>(
        s: S,
        kind: &'static str,
        outcome: &T,
    ) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut st = s.serialize_struct("OpenFailure", 2)?;
        st.serialize_field("kind", kind)?;
        st.serialize_field("outcome", outcome)?;
        st.end()
    }
}

/// What carried the check's connections to the server. Recorded, so a gateway hop or a second
/// leg after a redirection is evidence rather than inference.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum RouteObservation {
    /// TCP straight to the server's address.
    Direct {
        /// The address every probe connection went to (as `tcp.address`).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        address: Option<SocketAddr>,
    },
    /// An in-process pipe to a scripted server: only the probe crate's own tests run checks
    /// over it (it proves the probes do not depend on TCP).
    Scripted { server: String },
    /// Through an RD Gateway (MS-TSGU): every probe connection is a channel of its own; the
    /// gateway leg's evidence is `Observations::gateway`.
    Gateway {
        /// The gateway as given, `HOST:PORT`.
        gateway: String,
        /// The session host as the gateway was asked for it, `HOST:PORT`.
        target: String,
    },
}
