//! `check --full --hold SECONDS`: once the session is up, keep it open as an idle client would,
//! then disconnect politely, and record how and when it ended.
//!
//! An idle client sends no input. It reads and discards whatever the server sends (updates,
//! pointer shapes, Save Session Info, Heartbeats, Set Keyboard Indicators) and answers only what
//! the protocol obliges it to: a Deactivate All starts the Deactivation-Reactivation Sequence
//! (MS-RDPBCGR 1.3.1.3), which the client must complete with a Confirm Active and the
//! finalization PDUs, or the server ends the session. Auto-detect requests are not answered: the
//! connector advertises SUPPORT_NET_CHAR_AUTODETECT, but a server treats missing answers as
//! "no measurement", not as a reason to disconnect.
//!
//! Deadlines: the hold lasts at most SECONDS from the moment the session is up; every read and
//! every answer of a reactivation is also bounded by the hold's end and by the check's overall
//! deadline (which `check` extends by SECONDS). After the hold the disconnect takes at most
//! 0.3 s (see `full::drive`).

use crate::frames::{self, Broken, Flow, Frames, Link, Turn};
use crate::host::Host;
use crate::tcp_info;
use crate::timeline::{label, secs, Held, Timeline};
use ironrdp_connector::connection_activation::{
    ConnectionActivationFactory, ConnectionActivationSequence, ConnectionActivationState,
};
use ironrdp_connector::{ClientConnector, ClientConnectorState, Sequence};
use ironrdp_core::WriteBuf;
use rdpdoctor_observations::{HoldEnding, HoldPathCheck};
use rdpdoctor_wire::contain;
use rdpdoctor_wire::session::{self, ServerFrame};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

/// Frames a reactivation may take before the probe gives up on it.
const MAX_REACTIVATION_FRAMES: u32 = 64;

/// What a full connection carries for `--hold`: its timeline, the hold asked for, the
/// connection's TCP four-tuple (for the kernel's counters), and what holding produced.
pub(crate) struct HoldCtx {
    pub(crate) tl: Timeline,
    pub(crate) length: Option<Duration>,
    pub(crate) tcp: Option<(SocketAddr, SocketAddr)>,
    pub(crate) held: Option<Held>,
}

/// The ids a PDU of the client's own carries (MS-RDPBCGR 2.2.8.1.1.1.1), and whether the server
/// takes a Refresh Rect (General Capability Set refreshRectSupport, 2.2.7.1.1).
#[derive(Clone, Copy, Debug)]
struct Live {
    user_channel: u16,
    io_channel: u16,
    share_id: u32,
    refresh_rect: bool,
    width: u16,
    height: u16,
}

/// What holding needs from a connected connector (taken before the hold: the connector is not
/// Sync, so no reference to it may live across a read): the reactivation factory and the ids.
pub(crate) struct UpSession {
    factory: ConnectionActivationFactory,
    live: Live,
}

/// The up session of a connected `connector`, if it is connected.
pub(crate) fn up_session(connector: &ClientConnector) -> Option<UpSession> {
    match &connector.state {
        ClientConnectorState::Connected { result } => Some(UpSession {
            factory: result.activation_factory.clone(),
            live: Live {
                user_channel: result.user_channel_id,
                io_channel: result.io_channel_id,
                share_id: result.share_id,
                refresh_rect: result.refresh_rect_support,
                width: result.desktop_size.width,
                height: result.desktop_size.height,
            },
        }),
        _ => None,
    }
}

/// How a reactivation went.
enum Reactivation {
    /// Finalized (or the server drew again during finalization): the session is usable.
    Done(Live),
    /// The hold ended while the server had not reactivated the session: `demand_active` says
    /// whether its Demand Active had come (the client was then finalizing); `deactivations`
    /// counts the Deactivate All PDUs, the first included.
    Pending {
        demand_active: bool,
        deactivations: u32,
    },
}

/// Keeps the session open until `length` has passed: reads and discards, answers a
/// reactivation, then checks that the path still carries data; returns how it ended.
pub(crate) async fn hold(
    host: &Host,
    up: Option<UpSession>,
    link: &mut Link,
    length: Duration,
    tl: &mut Timeline,
    tcp: Option<(SocketAddr, SocketAddr)>,
) -> Held {
    let start = Instant::now();
    let mut held = Held {
        up: start,
        until: start,
        frames: 0,
        bytes: 0,
        ending: HoldEnding::Held,
        checked: None,
        path_check: None,
    };
    let (factory, mut live) = match up {
        Some(u) => (Some(u.factory), Some(u.live)),
        None => (None, None),
    };
    let end = start + length;
    let ending = loop {
        let mut idle = Idle {
            host,
            end,
            tl: &mut *tl,
            held: &mut held,
            error_info: None,
        };
        let deactivated_at_secs = match frames::run(link, &mut idle).await {
            IdleEnd::Ending(ending) => break ending,
            IdleEnd::Deactivated { at_secs } => at_secs,
        };
        // A server that deactivates just before the end of the hold gets --timeout to
        // reactivate: no verdict on a sequence cut short by the probe's own clock.
        let until = end.max(Instant::now() + host.timeout());
        let Some(factory) = factory.as_ref() else {
            break HoldEnding::ProtocolError {
                reason: "Deactivate All before the session was up".into(),
            };
        };
        let mut reactivation = Reactivating::new(host, factory, until, &mut *tl, &mut held);
        match frames::run(link, &mut reactivation).await {
            Ok(Reactivation::Done(l)) => live = Some(l),
            Ok(Reactivation::Pending {
                demand_active: true,
                ..
            }) => break HoldEnding::Held,
            Ok(Reactivation::Pending {
                demand_active: false,
                deactivations,
            }) => {
                break HoldEnding::NotReactivated {
                    deactivated_at_secs,
                    deactivations,
                }
            }
            Err(ending) => break ending,
        }
    };
    held.until = Instant::now();
    held.ending = match ending {
        HoldEnding::Held => {
            let (check, ending) = check_path(host, live, link, tl, tcp, &mut held).await;
            held.path_check = Some(check);
            ending
        }
        other => other,
    };
    held
}

/// How the idle part of the hold ended.
enum IdleEnd {
    Ending(HoldEnding),
    /// A Deactivate All: the reactivation follows.
    Deactivated {
        at_secs: f64,
    },
}

/// The idle session, until the hold's end: reads and discards.
struct Idle<'a> {
    host: &'a Host,
    end: Instant,
    tl: &'a mut Timeline,
    held: &'a mut Held,
    /// The server's code, when one came: a close after it is the server's doing.
    error_info: Option<u32>,
}

impl Frames for Idle<'_> {
    type End = IdleEnd;

    fn turn(&mut self, _: &mut WriteBuf) -> Turn<IdleEnd> {
        if self.host.past_deadline() {
            return Turn::End(IdleEnd::Ending(HoldEnding::DeadlineExceeded));
        }
        let now = Instant::now();
        if now >= self.end {
            return Turn::End(IdleEnd::Ending(HoldEnding::Held));
        }
        let left = self.end - now;
        Turn::Read(self.host.remaining().map_or(left, |r| r.min(left)))
    }

    fn frame(&mut self, pdu: &[u8], kind: ServerFrame, _: &mut WriteBuf) -> Flow<IdleEnd> {
        self.held.count(pdu);
        self.tl.server(label(&kind));
        let end = |ending| Flow::End(IdleEnd::Ending(ending));
        match kind {
            ServerFrame::SetErrorInfo { code } if code != 0 => self.error_info = Some(code),
            ServerFrame::Ultimatum { reason } => {
                return end(match self.error_info {
                    Some(code) => HoldEnding::ErrorInfo { code },
                    None => HoldEnding::Ultimatum { reason },
                })
            }
            ServerFrame::Redirection(_) => {
                return end(HoldEnding::ProtocolError {
                    reason: "a Server Redirection PDU during the session (not followed)".into(),
                })
            }
            ServerFrame::DeactivateAll => {
                return Flow::End(IdleEnd::Deactivated {
                    at_secs: self.tl.now(),
                })
            }
            _ => {}
        }
        Flow::Go
    }

    fn broken(&mut self, why: Broken) -> Flow<IdleEnd> {
        let ending = match why {
            Broken::TimedOut if self.host.past_deadline() && Instant::now() < self.end => {
                HoldEnding::DeadlineExceeded
            }
            Broken::TimedOut => HoldEnding::Held,
            other => ending(other, self.error_info, ""),
        };
        Flow::End(IdleEnd::Ending(ending))
    }

    fn write_deadline(&self) -> Duration {
        self.host.timeout()
    }

    fn unsent(&mut self) -> IdleEnd {
        IdleEnd::Ending(HoldEnding::Closed { reset: false })
    }
}

/// How a broken read ends the hold: the server's code when one came before a close.
fn ending(why: Broken, error_info: Option<u32>, during: &str) -> HoldEnding {
    match (why, error_info) {
        (Broken::Closed { .. }, Some(code)) => HoldEnding::ErrorInfo { code },
        (Broken::Closed { reset }, None) => HoldEnding::Closed { reset },
        (Broken::TimedOut, _) => HoldEnding::Unanswered,
        (Broken::Garbled(what), _) => HoldEnding::ProtocolError {
            reason: format!("{during}{what}"),
        },
    }
}

/// The Deactivation-Reactivation Sequence (MS-RDPBCGR 1.3.1.3): the Demand Active that follows
/// a Deactivate All is answered with a Confirm Active and the finalization PDUs, as at connect.
struct Reactivating<'a> {
    host: &'a Host,
    factory: &'a ConnectionActivationFactory,
    activation: ConnectionActivationSequence,
    end: Instant,
    tl: &'a mut Timeline,
    held: &'a mut Held,
    demand_active: bool,
    deactivations: u32,
    turns: u32,
    /// The deadline of this turn's read or write.
    wait: Duration,
}

impl<'a> Reactivating<'a> {
    fn new(
        host: &'a Host,
        factory: &'a ConnectionActivationFactory,
        end: Instant,
        tl: &'a mut Timeline,
        held: &'a mut Held,
    ) -> Reactivating<'a> {
        Reactivating {
            host,
            factory,
            activation: factory.create(),
            end,
            tl,
            held,
            demand_active: false,
            deactivations: 1,
            turns: 0,
            wait: host.timeout(),
        }
    }

    fn pending(&self) -> Reactivation {
        Reactivation::Pending {
            demand_active: self.demand_active,
            deactivations: self.deactivations,
        }
    }
}

/// How a reactivation ends: done or pending, or the hold's ending.
type Reactivated = Result<Reactivation, HoldEnding>;

fn protocol_error(reason: String) -> HoldEnding {
    HoldEnding::ProtocolError { reason }
}

impl Frames for Reactivating<'_> {
    type End = Reactivated;

    fn turn(&mut self, out: &mut WriteBuf) -> Turn<Reactivated> {
        if self.turns == MAX_REACTIVATION_FRAMES {
            return Turn::End(if self.demand_active {
                Err(protocol_error(format!(
                    "reactivation: {MAX_REACTIVATION_FRAMES} frames without completing it"
                )))
            } else {
                Ok(self.pending())
            });
        }
        self.turns += 1;
        if let Some(live) = reactivated(&self.activation, self.factory, false) {
            return Turn::End(Ok(Reactivation::Done(live)));
        }
        let left = self.end.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Turn::End(Ok(self.pending()));
        }
        self.wait = self.host.timeout().min(left);
        if self.activation.next_pdu_hint().is_some() {
            return Turn::Read(self.wait);
        }
        // The client's own next PDU (it needs no server input for it).
        if let Err(e) = self.activation.step_no_input(out) {
            return Turn::End(Err(protocol_error(format!("reactivation: {e}"))));
        }
        if out.filled_len() > 0 {
            self.tl.client(self.activation.state().name());
        }
        Turn::Send(self.wait)
    }

    fn frame(&mut self, pdu: &[u8], kind: ServerFrame, out: &mut WriteBuf) -> Flow<Reactivated> {
        self.held.count(pdu);
        self.tl.server(label(&kind));
        match kind {
            ServerFrame::Ultimatum { reason } => {
                return Flow::End(Err(HoldEnding::Ultimatum { reason }))
            }
            ServerFrame::SetErrorInfo { .. } => return Flow::Go,
            // Another Deactivate All while waiting for the Demand Active: still deactivated.
            ServerFrame::DeactivateAll if !self.demand_active => {
                self.deactivations = self.deactivations.saturating_add(1);
                return Flow::Go;
            }
            ServerFrame::DemandActive => self.demand_active = true,
            // Updates during finalization: the server is drawing again.
            ServerFrame::FastPath if self.demand_active => {
                return Flow::End(Ok(reactivated(&self.activation, self.factory, true)
                    .map_or(self.pending(), Reactivation::Done)))
            }
            ServerFrame::FastPath => return Flow::Go,
            _ => {}
        }
        let activation = &mut self.activation;
        if let Err(e) = contain::call("ironrdp ConnectionActivationSequence::step", || {
            activation.step(pdu, None, out)
        })
        .map_err(|p| p.to_string())
        .and_then(|r| r.map_err(|e| e.to_string()))
        {
            return Flow::End(Err(protocol_error(format!("reactivation: {e}"))));
        }
        if out.filled_len() > 0 {
            self.tl.client("Confirm Active / finalization");
        }
        Flow::Go
    }

    fn broken(&mut self, why: Broken) -> Flow<Reactivated> {
        match why {
            Broken::TimedOut if Instant::now() >= self.end => Flow::End(Ok(self.pending())),
            // Silence after Deactivate All: the server has not reactivated the session.
            Broken::TimedOut if !self.demand_active => Flow::Go,
            Broken::TimedOut => Flow::End(Err(protocol_error(
                "reactivation: no finalization PDU before the deadline".into(),
            ))),
            other => Flow::End(Err(ending(other, None, "reactivation: "))),
        }
    }

    fn write_deadline(&self) -> Duration {
        self.wait
    }

    fn unsent(&mut self) -> Reactivated {
        Err(HoldEnding::Closed { reset: false })
    }
}

/// The ids of a reactivation that is finalized or, with `finalizing`, in its finalization (the
/// server drew before it completed).
fn reactivated(
    activation: &ConnectionActivationSequence,
    factory: &ConnectionActivationFactory,
    finalizing: bool,
) -> Option<Live> {
    let (desktop_size, share_id, refresh_rect) = match activation.connection_activation_state() {
        ConnectionActivationState::Finalized {
            desktop_size,
            share_id,
            refresh_rect_support,
            ..
        } => (desktop_size, share_id, refresh_rect_support),
        ConnectionActivationState::ConnectionFinalization {
            desktop_size,
            share_id,
            refresh_rect_support,
            ..
        } if finalizing => (desktop_size, share_id, refresh_rect_support),
        _ => return None,
    };
    Some(Live {
        user_channel: factory.user_channel_id(),
        io_channel: factory.io_channel_id(),
        share_id,
        refresh_rect,
        width: desktop_size.width,
        height: desktop_size.height,
    })
}

/// The end of the hold: one Refresh Rect for the whole desktop, which the server answers with
/// graphics. An answer proves the path still carries data; silence with the client's segment
/// retransmitted is a connection a device on the path forgot without a FIN or a reset (cloud
/// load balancers drop idle flows that way).
async fn check_path(
    host: &Host,
    live: Option<Live>,
    link: &mut Link,
    tl: &mut Timeline,
    tcp: Option<(SocketAddr, SocketAddr)>,
    held: &mut Held,
) -> (HoldPathCheck, HoldEnding) {
    let mut check = HoldPathCheck {
        sent: "Refresh Rect".to_string(),
        at_secs: tl.now(),
        not_sent: None,
        answered_after_secs: None,
        waited_secs: 0.0,
        retransmissions: None,
    };
    let wait = host.timeout();
    let pdu = match live {
        None => Err("the connection sequence did not end in a state that hands over the channel ids and share id a client PDU carries"),
        Some(l) if !l.refresh_rect => Err("the server does not accept Refresh Rect (its General Capability Set says refreshRectSupport 0)"),
        Some(_) if wait.is_zero() => Err("no time was left before the check's overall deadline"),
        Some(l) => session::refresh_rect(l.user_channel, l.io_channel, l.share_id, l.width, l.height)
            .ok_or("the Refresh Rect PDU could not be encoded"),
    };
    let pdu = match pdu {
        Ok(p) => p,
        Err(why) => {
            check.not_sent = Some(why.to_string());
            return (check, HoldEnding::Held);
        }
    };
    let before = tcp
        .and_then(|(l, r)| tcp_info::query(l, r))
        .map(|s| s.total_retrans);
    held.checked = Some(Instant::now());
    let sent_at = Instant::now();
    let mut out = WriteBuf::new();
    out.write_slice(&pdu);
    tl.client("Refresh Rect (does the path still carry data?)");
    if !link.send(&mut out, wait).await {
        return (check, HoldEnding::Closed { reset: false });
    }
    let answer = link.read(wait).await;
    check.waited_secs = secs(sent_at.elapsed());
    let after = tcp
        .and_then(|(l, r)| tcp_info::query(l, r))
        .map(|s| s.total_retrans);
    check.retransmissions = before.zip(after).map(|(b, a)| a.saturating_sub(b));
    let ending = match answer {
        Ok((frame, kind)) => {
            check.answered_after_secs = Some(check.waited_secs);
            held.count(&frame);
            tl.server(label(&kind));
            HoldEnding::Held
        }
        Err(why) => ending(why, None, "after the Refresh Rect: "),
    };
    (check, ending)
}
