//! One open for every probe connection: the host's route dials (within the connection budget),
//! the X.224 Connection Request goes out with the host's cookie or routing token (MS-RDPBCGR
//! 2.2.1.1), and, when the server selected a TLS-based protocol and the probe asked for it, TLS
//! goes over the same stream (MS-RDPBCGR 5.4.5.1). Every probe opens its connections here: the
//! negotiation and TLS probes of `check`, the NLA probes, `--full`, the Standard RDP Security
//! probe, the cipher enumeration and the path retries.
//!
//! What comes back, [`Open`], records each step as far as it went (the route, the answer to the
//! request and how long it took, the handshake), so a probe that records every answer (the
//! negotiation probes) reads them all, and a probe that needs a ready connection asks for it with
//! [`Open::ready`], whose error is the one failure type every outcome embeds
//! ([`OpenFailure`]).

use crate::host::{Host, Slot};
use crate::route::{ByteStream, DialSpec, Dialed};
use crate::shape::SplitWrite;
use crate::stream::KEEP;
use crate::tcp_info::Sampler;
use crate::tls::{self, Offer, Tls};
use crate::{elapsed_ms, negotiate};
use openssl::x509::X509;
use rdpdoctor_observations::{
    protocol, NegotiationOutcome, OpenFailure, RouteFailure, TlsOutcome, TlsVersion,
};
use std::time::{Duration, Instant};

/// What one probe connection needs.
pub(crate) struct Opening {
    /// requestedProtocols of the X.224 Connection Request.
    pub(crate) requested: u32,
    /// Which answers the probe can go on with.
    pub(crate) accept: Accept,
    /// TLS after an answer that selected a TLS-based protocol.
    pub(crate) tls: Option<Upgrade>,
    pub(crate) dial: DialSpec,
    pub(crate) shape: Shape,
    /// A connection the route already dialed for this opening (the one that proved the port
    /// open): it takes a slot in the budget instead of a new dial.
    pub(crate) first: Option<Dialed>,
}

impl Opening {
    /// A connection that sends a request for `requested` and takes any answer.
    pub(crate) fn new(requested: u32) -> Opening {
        Opening {
            requested,
            accept: Accept::Any,
            tls: None,
            dial: DialSpec::default(),
            shape: Shape::Plain,
            first: None,
        }
    }

    pub(crate) fn accepting(mut self, accept: Accept) -> Opening {
        self.accept = accept;
        self
    }

    pub(crate) fn with_tls(mut self, upgrade: Upgrade) -> Opening {
        self.tls = Some(upgrade);
        self
    }

    pub(crate) fn dialing(mut self, dial: DialSpec) -> Opening {
        self.dial = dial;
        self
    }

    pub(crate) fn shaped(mut self, shape: Shape) -> Opening {
        self.shape = shape;
        self
    }

    /// Runs on `first` when given instead of dialing.
    pub(crate) fn on(mut self, first: Option<Dialed>) -> Opening {
        self.first = first;
        self
    }
}

/// Which X.224 answers the probe can go on with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Accept {
    /// Any answer: the probe records it, whatever it is.
    Any,
    /// A known protocol that starts with TLS.
    TlsBased,
    /// CredSSP, with or without Early User Authorization.
    Credssp,
    /// Standard RDP Security, or a Connection Confirm without negotiation data (which means the
    /// same: a server from before RDP 5.2).
    StandardRdp,
}

impl Accept {
    fn takes(self, answer: &NegotiationOutcome) -> bool {
        match self {
            Accept::Any => true,
            Accept::TlsBased => answer.selects_tls(),
            Accept::Credssp => answer.selects_credssp(),
            Accept::StandardRdp => matches!(
                answer,
                NegotiationOutcome::Selected {
                    protocol: protocol::RDP,
                    ..
                } | NegotiationOutcome::NoNegotiationData
            ),
        }
    }
}

/// The TLS step.
pub(crate) struct Upgrade {
    pub(crate) offer: Offer,
    /// Whether the ClientHello names the server (SNI) when the target was a name.
    pub(crate) sni: bool,
    /// A deadline shorter than the host's (the MSS probes give up on a stall sooner).
    pub(crate) deadline: Option<Duration>,
    /// How many bytes of the server's flight are kept.
    pub(crate) capture: usize,
}

impl Upgrade {
    /// A handshake offering exactly `version`.
    pub(crate) fn pinned(version: TlsVersion) -> Upgrade {
        Upgrade::offering(Offer::Pinned(version))
    }

    /// The channel CredSSP and the connection sequence go on over.
    pub(crate) fn channel() -> Upgrade {
        Upgrade::offering(Offer::Channel)
    }

    pub(crate) fn offering(offer: Offer) -> Upgrade {
        Upgrade {
            offer,
            sni: true,
            deadline: None,
            capture: KEEP,
        }
    }
}

/// How the client's bytes leave, for the path probes that shape them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Shape {
    Plain,
    /// The ClientHello's first byte alone, then the rest (`shape::SplitWrite`).
    SplitClientHello,
    /// The X.224 request one byte per segment (the loss sample).
    TrickleRequest,
}

/// The answer to the X.224 request.
pub(crate) struct Answer {
    pub(crate) outcome: NegotiationOutcome,
    /// From the start of the open (a wait for the budget included) to the answer.
    pub(crate) elapsed_ms: f64,
}

/// How the TLS handshake went.
pub(crate) struct Handshake {
    pub(crate) outcome: TlsOutcome,
    pub(crate) elapsed_ms: f64,
    /// The server's certificate chain, leaf first, when it completed.
    pub(crate) chain: Vec<X509>,
}

/// The stream a probe goes on with.
pub(crate) enum Stream {
    Plain(Box<dyn ByteStream>),
    Tls(Box<Tls>),
}

impl Stream {
    /// Ends the connection: a TLS close_notify (not waited for long); a plain stream is simply
    /// dropped.
    pub(crate) async fn close(self) {
        if let Stream::Tls(mut tls) = self {
            tls::close(&mut tls).await;
        }
    }

    /// The stream as the connection sequence reads and writes it, TLS or not.
    pub(crate) fn into_io(self) -> Box<dyn ByteStream> {
        match self {
            Stream::Plain(s) => s,
            Stream::Tls(t) => t,
        }
    }
}

/// How far one open went.
pub(crate) struct Open<'h> {
    /// The connection's place in the budgets: hold it as long as the connection.
    pub(crate) slot: Option<Slot<'h>>,
    accept: Accept,
    /// The answer to the request, or the route's failure when it delivered no stream.
    pub(crate) reached: Result<Answer, RouteFailure>,
    pub(crate) handshake: Option<Handshake>,
    pub(crate) stream: Option<Stream>,
    /// The TCP statistics of the route's connection, when it has one.
    pub(crate) sampler: Option<Sampler>,
}

/// A connection ready for the probe's own exchange.
pub(crate) struct Ready<'h> {
    pub(crate) slot: Slot<'h>,
    pub(crate) stream: Stream,
    /// The answer to the X.224 request.
    pub(crate) answer: NegotiationOutcome,
    /// The protocol the server selected (`None`: a Connection Confirm without negotiation data).
    pub(crate) selected: Option<u32>,
    pub(crate) sampler: Option<Sampler>,
}

/// Opens one probe connection over `host`'s route.
pub(crate) async fn open(host: &Host, opening: Opening) -> Open<'_> {
    let start = Instant::now();
    let Opening {
        requested,
        accept,
        tls,
        dial,
        shape,
        first,
    } = opening;
    let dialed = match first {
        Some(d) => Ok((host.permit().await, d)),
        None => host.dial(dial).await,
    };
    let (
        slot,
        Dialed {
            mut stream,
            sampler,
            ..
        },
    ) = match dialed {
        Ok(pair) => pair,
        Err(failure) => {
            return Open {
                slot: None,
                accept,
                reached: Err(failure),
                handshake: None,
                stream: None,
                sampler: None,
            }
        }
    };
    let mut sampler = sampler;
    if shape == Shape::TrickleRequest {
        stream = Box::new(SplitWrite::trickle(stream));
    }
    let outcome = negotiate::negotiate(&mut stream, requested, &host.cookie, host.timeout()).await;
    if let Some(s) = sampler.as_mut() {
        s.checkpoint();
    }
    let go_on = accept.takes(&outcome) && outcome.selects_tls();
    let mut open = Open {
        slot: Some(slot),
        accept,
        reached: Ok(Answer {
            outcome,
            elapsed_ms: elapsed_ms(start),
        }),
        handshake: None,
        stream: None,
        sampler,
    };
    let upgrade = match tls {
        Some(up) if go_on => up,
        _ => {
            open.stream = Some(Stream::Plain(stream));
            return open;
        }
    };
    if shape == Shape::SplitClientHello {
        stream = Box::new(SplitWrite::new(stream));
    }
    let h = Instant::now();
    let (outcome, chain, stream) = match secure(host, stream, &upgrade).await {
        Ok(t) => {
            let (outcome, chain) = tls::completed(&t);
            (outcome, chain, Some(Stream::Tls(t)))
        }
        Err(outcome) => (outcome, Vec::new(), None),
    };
    open.handshake = Some(Handshake {
        outcome,
        elapsed_ms: elapsed_ms(h),
        chain,
    });
    open.stream = stream;
    open
}

/// The TLS step alone: [`open`] runs it after the X.224 answer, and `--full` runs it once its
/// connector has the Connection Confirm (so its timeline shows the upgrade when it starts).
pub(crate) async fn secure(
    host: &Host,
    stream: Box<dyn ByteStream>,
    upgrade: &Upgrade,
) -> Result<Box<Tls>, TlsOutcome> {
    let name = host.server_name.as_deref().filter(|_| upgrade.sni);
    let deadline = upgrade.deadline.unwrap_or_else(|| host.timeout());
    tls::connect(stream, &upgrade.offer, name, deadline, upgrade.capture)
        .await
        .map(Box::new)
}

impl<'h> Open<'h> {
    /// The answer to the request, or why none came.
    pub(crate) fn answer_outcome(&self) -> NegotiationOutcome {
        match &self.reached {
            Ok(a) => a.outcome.clone(),
            Err(failure) => NegotiationOutcome::Route(failure.clone()),
        }
    }

    /// How a TLS attempt on this connection ended, as the TLS probes record it: the handshake's
    /// outcome, or `negotiation-failed` with the answer (or the route's failure) when no
    /// handshake was tried.
    pub(crate) fn tls_outcome(&self) -> TlsOutcome {
        match &self.handshake {
            Some(h) => h.outcome.clone(),
            None => TlsOutcome::NegotiationFailed {
                outcome: self.answer_outcome(),
            },
        }
    }

    /// The connection, ready for the probe's exchange, or the step that fell short.
    pub(crate) fn ready(self) -> Result<Ready<'h>, OpenFailure> {
        let outcome = match self.reached {
            Ok(a) => a.outcome,
            Err(failure) => return Err(OpenFailure::Route(failure)),
        };
        if !self.accept.takes(&outcome) {
            return Err(OpenFailure::Negotiation(outcome));
        }
        if let Some(h) = &self.handshake {
            if !matches!(h.outcome, TlsOutcome::Completed { .. }) {
                return Err(OpenFailure::Tls(h.outcome.clone()));
            }
        }
        match (self.slot, self.stream) {
            (Some(slot), Some(stream)) => Ok(Ready {
                slot,
                stream,
                selected: outcome.selected(),
                answer: outcome,
                sampler: self.sampler,
            }),
            _ => Err(OpenFailure::Negotiation(outcome)),
        }
    }
}
