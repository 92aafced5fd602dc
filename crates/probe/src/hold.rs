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

use crate::framed::{send, FrameError, FrameReader};
use crate::host::Host;
use crate::route::ByteStream;
use crate::tcp_info;
use ironrdp_connector::connection_activation::{
    ConnectionActivationFactory, ConnectionActivationSequence, ConnectionActivationState,
};
use ironrdp_connector::{ClientConnector, ClientConnectorState, Sequence};
use ironrdp_core::WriteBuf;
use rdpdoctor_observations::{
    HoldEnding, HoldEvent, HoldObservation, HoldPathCheck, SessionObservation, SessionOutcome,
    SessionPhase,
};
use rdpdoctor_wire::contain;
use rdpdoctor_wire::session::{self, ServerFrame};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

/// Timeline entries kept (the end is always added beyond this).
const MAX_EVENTS: usize = 40;
/// Frames a reactivation may take before the probe gives up on it.
const MAX_REACTIVATION_FRAMES: u32 = 64;

/// The phases and server messages of one full connection, with their times.
pub(crate) struct Timeline {
    start: Instant,
    events: Vec<HoldEvent>,
    omitted: u32,
    last_phase: Option<SessionPhase>,
    /// The last moment anything crossed the connection, either way.
    last_traffic: Instant,
    /// `last_traffic` before the client's latest message (the path check is the last one).
    traffic_before_check: Instant,
}

fn secs(d: Duration) -> f64 {
    (d.as_secs_f64() * 1000.0).round() / 1000.0
}

impl Timeline {
    pub(crate) fn new(start: Instant) -> Timeline {
        Timeline {
            start,
            events: Vec::new(),
            omitted: 0,
            last_phase: None,
            last_traffic: start,
            traffic_before_check: start,
        }
    }

    pub(crate) fn now(&self) -> f64 {
        secs(self.start.elapsed())
    }

    fn push(&mut self, e: HoldEvent) {
        if self.events.len() < MAX_EVENTS {
            self.events.push(e);
        } else {
            self.omitted += 1;
        }
    }

    pub(crate) fn phase(&mut self, phase: SessionPhase) {
        if self.last_phase != Some(phase) {
            self.last_phase = Some(phase);
            let at_secs = self.now();
            self.push(HoldEvent::Phase { at_secs, phase });
        }
    }

    /// A server frame: runs of the same message are merged into one entry.
    pub(crate) fn server(&mut self, message: String) {
        self.last_traffic = Instant::now();
        let at = self.now();
        if let Some(HoldEvent::Server {
            last_secs,
            message: m,
            count,
            ..
        }) = self.events.last_mut()
        {
            if *m == message {
                *last_secs = at;
                *count = count.saturating_add(1);
                return;
            }
        }
        self.push(HoldEvent::Server {
            at_secs: at,
            last_secs: at,
            message,
            count: 1,
        });
    }

    pub(crate) fn client(&mut self, message: &str) {
        self.traffic_before_check = self.last_traffic;
        self.last_traffic = Instant::now();
        let at_secs = self.now();
        self.push(HoldEvent::Client {
            at_secs,
            message: message.to_string(),
        });
    }

    /// Closes the timeline and builds the observation.
    pub(crate) fn finish(
        mut self,
        requested: Duration,
        obs: &SessionObservation,
        held: Option<Held>,
    ) -> HoldObservation {
        let ended = Instant::now();
        let by = match (&held, &obs.outcome) {
            (Some(h), _) => ending_by(&h.ending),
            (None, o) => outcome_by(o),
        };
        let at_secs = self.now();
        self.events.push(HoldEvent::End { at_secs, by });
        // With a path check, the silence that matters is the one the path had to survive.
        let quiet_until = held.as_ref().and_then(|h| h.checked).unwrap_or(ended);
        let last_traffic = match held.as_ref().and_then(|h| h.checked) {
            Some(_) => self.traffic_before_check,
            None => self.last_traffic,
        };
        let silent_secs = secs(quiet_until.saturating_duration_since(last_traffic));
        match held {
            Some(h) => HoldObservation {
                requested_secs: secs(requested),
                session_up_at_secs: Some(secs(h.up.saturating_duration_since(self.start))),
                held_secs: secs(h.until.saturating_duration_since(h.up)),
                ended_at_secs: at_secs,
                idle: true,
                silent_secs,
                server_frames: h.frames,
                server_bytes: h.bytes,
                ending: h.ending,
                timeline: self.events,
                timeline_omitted: self.omitted,
                path_check: h.path_check,
            },
            None => HoldObservation {
                requested_secs: secs(requested),
                session_up_at_secs: None,
                held_secs: 0.0,
                ended_at_secs: at_secs,
                idle: true,
                silent_secs,
                server_frames: 0,
                server_bytes: 0,
                ending: HoldEnding::NotStarted,
                timeline: self.events,
                timeline_omitted: self.omitted,
                path_check: None,
            },
        }
    }
}

fn ending_by(e: &HoldEnding) -> String {
    match e {
        HoldEnding::Held => {
            "client: end of the hold (Disconnect Provider Ultimatum, rn-user-requested)".into()
        }
        HoldEnding::NotStarted => "the session never came up".into(),
        HoldEnding::ErrorInfo { code } => {
            format!("server: Set Error Info 0x{code:08X}, then the end of the connection")
        }
        HoldEnding::Ultimatum { reason } => format!(
            "server: Disconnect Provider Ultimatum ({})",
            rdpdoctor_observations::ultimatum_reason_name(*reason)
        ),
        HoldEnding::Closed { reset: false } => {
            "far side: FIN without a server code (the server or a device on the path)".into()
        }
        HoldEnding::Closed { reset: true } => {
            "far side: reset without a server code (the server or a device on the path)".into()
        }
        HoldEnding::ProtocolError { reason } => format!("client: protocol error ({reason})"),
        HoldEnding::DeadlineExceeded => "client: the check's overall deadline".into(),
        HoldEnding::NotReactivated { .. } => {
            "client: end of the hold, the server still had not reactivated the session (no Demand Active after Deactivate All)".into()
        }
        HoldEnding::Unanswered => {
            "client: no answer to the Refresh Rect, no FIN or reset either (the path may have dropped the connection silently)".into()
        }
    }
}

fn outcome_by(o: &SessionOutcome) -> String {
    match o {
        SessionOutcome::Closed { reset: false } => {
            "far side: FIN without a server code (the server or a device on the path)".into()
        }
        SessionOutcome::Closed { reset: true } => {
            "far side: reset without a server code (the server or a device on the path)".into()
        }
        SessionOutcome::Ultimatum { reason } => format!(
            "server: Disconnect Provider Ultimatum ({})",
            rdpdoctor_observations::ultimatum_reason_name(*reason)
        ),
        SessionOutcome::TimedOut => "client: no answer before the deadline".into(),
        SessionOutcome::TooManyFrames { frames } => {
            format!("client: {frames} server frames without completing the connection sequence")
        }
        SessionOutcome::DeadlineExceeded { .. } => "client: the check's overall deadline".into(),
        _ => "client: the connection sequence did not complete".into(),
    }
}

/// What a full connection carries for `--hold`: its timeline, the hold asked for, the
/// connection's TCP four-tuple (for the kernel's counters), and what holding produced.
pub(crate) struct HoldCtx {
    pub(crate) tl: Timeline,
    pub(crate) length: Option<Duration>,
    pub(crate) tcp: Option<(SocketAddr, SocketAddr)>,
    pub(crate) held: Option<Held>,
}

/// What holding an up session produced.
pub(crate) struct Held {
    up: Instant,
    until: Instant,
    frames: u32,
    bytes: u64,
    pub(crate) ending: HoldEnding,
    /// When the path check went out: the silence the path had to survive ends there.
    checked: Option<Instant>,
    path_check: Option<HoldPathCheck>,
}

/// A name for one server frame in the timeline.
pub(crate) fn label(frame: &ServerFrame) -> String {
    match frame {
        ServerFrame::FastPath => "fast-path update".into(),
        ServerFrame::SetErrorInfo { code } => format!("Set Error Info 0x{code:08X}"),
        ServerFrame::Ultimatum { reason } => format!(
            "Disconnect Provider Ultimatum ({})",
            rdpdoctor_observations::ultimatum_reason_name(*reason)
        ),
        ServerFrame::Redirection(_) => "Server Redirection".into(),
        // MS-RDPELE 2.2.2.7.1: STATUS_VALID_CLIENT is the licensing phase's success answer.
        ServerFrame::LicenseError {
            code: session::STATUS_VALID_CLIENT,
            ..
        } => "licensing: STATUS_VALID_CLIENT (no licence needed)".into(),
        ServerFrame::LicenseError { code, .. } => format!("licensing error 0x{code:08X}"),
        ServerFrame::License { msg_type } => format!("licensing message 0x{msg_type:02X}"),
        ServerFrame::DemandActive => "Demand Active".into(),
        ServerFrame::DeactivateAll => "Deactivate All".into(),
        ServerFrame::Data { pdu_type2 } => data_name(*pdu_type2),
        ServerFrame::Mcs => "MCS PDU".into(),
        ServerFrame::Other => "channel data".into(),
        ServerFrame::Malformed(_) => "unclassified frame".into(),
    }
}

/// Share Data PDU types (MS-RDPBCGR 2.2.8.1.1.1.2, pduType2).
fn data_name(pdu_type2: u8) -> String {
    let name = match pdu_type2 {
        0x02 => "Update",
        0x14 => "Control",
        0x1B => "Pointer",
        0x1F => "Synchronize",
        0x22 => "Play Sound",
        0x25 => "Shutdown Request Denied",
        0x26 => "Save Session Info",
        0x28 => "Font Map",
        0x29 => "Set Keyboard Indicators",
        0x2D => "Set Keyboard IME Status",
        0x32 => "Auto-Reconnect Status",
        0x36 => "Status Info",
        0x37 => "Monitor Layout",
        _ => return format!("Share Data PDU 0x{pdu_type2:02X}"),
    };
    name.to_string()
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
    stream: &mut Box<dyn ByteStream>,
    reader: &mut FrameReader,
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
    let ending = idle(
        host,
        factory.as_ref(),
        &mut live,
        stream,
        reader,
        start + length,
        tl,
        &mut held,
    )
    .await;
    held.until = Instant::now();
    held.ending = match ending {
        HoldEnding::Held => {
            let (check, ending) = check_path(host, live, stream, reader, tl, tcp, &mut held).await;
            held.path_check = Some(check);
            ending
        }
        other => other,
    };
    held
}

/// The idle part of the hold, until `end`: how it ended (`Held` when it lasted).
#[allow(clippy::too_many_arguments)] // one frame loop for --full and --hold is the route seam's job
async fn idle(
    host: &Host,
    factory: Option<&ConnectionActivationFactory>,
    live: &mut Option<Live>,
    stream: &mut Box<dyn ByteStream>,
    reader: &mut FrameReader,
    end: Instant,
    tl: &mut Timeline,
    held: &mut Held,
) -> HoldEnding {
    let mut error_info: Option<u32> = None;
    loop {
        if host.past_deadline() {
            return HoldEnding::DeadlineExceeded;
        }
        let now = Instant::now();
        if now >= end {
            return HoldEnding::Held;
        }
        let wait = host.remaining().map_or(end - now, |r| r.min(end - now));
        let frame = match reader.read(stream, wait).await {
            Ok(f) => f,
            Err(FrameError::TimedOut { .. }) if host.past_deadline() && Instant::now() < end => {
                return HoldEnding::DeadlineExceeded
            }
            Err(FrameError::TimedOut { .. }) => return HoldEnding::Held,
            Err(e) => return read_ending(&e, error_info, ""),
        };
        count(held, &frame);
        let kind = session::inspect(&frame);
        tl.server(label(&kind));
        match kind {
            ServerFrame::SetErrorInfo { code } if code != 0 => error_info = Some(code),
            ServerFrame::Ultimatum { reason } => {
                return match error_info {
                    Some(code) => HoldEnding::ErrorInfo { code },
                    None => HoldEnding::Ultimatum { reason },
                }
            }
            ServerFrame::Redirection(_) => {
                return HoldEnding::ProtocolError {
                    reason: "a Server Redirection PDU during the session (not followed)".into(),
                }
            }
            ServerFrame::DeactivateAll => {
                let deactivated_at_secs = tl.now();
                // A server that deactivates just before the end of the hold gets --timeout to
                // reactivate: no verdict on a sequence cut short by the probe's own clock.
                let until = end.max(Instant::now() + host.timeout());
                match reactivate(host, factory, stream, reader, until, tl, held).await {
                    Ok(Reactivation::Done(l)) => *live = Some(l),
                    Ok(Reactivation::Pending {
                        demand_active: true,
                        ..
                    }) => return HoldEnding::Held,
                    Ok(Reactivation::Pending {
                        demand_active: false,
                        deactivations,
                    }) => {
                        return HoldEnding::NotReactivated {
                            deactivated_at_secs,
                            deactivations,
                        }
                    }
                    Err(ending) => return ending,
                }
            }
            _ => {}
        }
    }
}

fn count(held: &mut Held, frame: &[u8]) {
    held.frames = held.frames.saturating_add(1);
    held.bytes = held.bytes.saturating_add(frame.len() as u64);
}

/// How a failed read ends the hold: the server's code when one came before a close.
fn read_ending(e: &FrameError, error_info: Option<u32>, during: &str) -> HoldEnding {
    match (e.ended(), error_info) {
        (Some(_), Some(code)) => HoldEnding::ErrorInfo { code },
        (Some(reset), None) => HoldEnding::Closed { reset },
        (None, _) => HoldEnding::ProtocolError {
            reason: format!(
                "{during}bytes that are neither TPKT nor fast-path: {}",
                crate::excerpt_hex(e.seen(), 32)
            ),
        },
    }
}

/// The Deactivation-Reactivation Sequence (MS-RDPBCGR 1.3.1.3): the Demand Active that follows
/// a Deactivate All is answered with a Confirm Active and the finalization PDUs, as at connect.
async fn reactivate(
    host: &Host,
    factory: Option<&ConnectionActivationFactory>,
    stream: &mut Box<dyn ByteStream>,
    reader: &mut FrameReader,
    end: Instant,
    tl: &mut Timeline,
    held: &mut Held,
) -> Result<Reactivation, HoldEnding> {
    let Some(factory) = factory else {
        return Err(HoldEnding::ProtocolError {
            reason: "Deactivate All before the session was up".into(),
        });
    };
    let mut activation = factory.create();
    let mut out = WriteBuf::new();
    let error = |reason: String| HoldEnding::ProtocolError { reason };
    let mut demand_active = false;
    let mut deactivations = 1;
    let pending = |demand_active, deactivations| Reactivation::Pending {
        demand_active,
        deactivations,
    };
    for _ in 0..MAX_REACTIVATION_FRAMES {
        if let Some(live) = reactivated(&activation, factory, false) {
            return Ok(Reactivation::Done(live));
        }
        let left = end.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Ok(pending(demand_active, deactivations));
        }
        let wait = host.timeout().min(left);
        if activation.next_pdu_hint().is_none() {
            client_turn(&mut activation, stream, wait, tl).await?;
            continue;
        }
        let frame = match reader.read(stream, wait).await {
            Ok(f) => f,
            Err(FrameError::TimedOut { .. }) if Instant::now() >= end => {
                return Ok(pending(demand_active, deactivations))
            }
            Err(FrameError::TimedOut { .. }) if !demand_active => {
                // Silence after Deactivate All: the server has not reactivated the session.
                continue;
            }
            Err(FrameError::TimedOut { .. }) => {
                return Err(error(
                    "reactivation: no finalization PDU before the deadline".into(),
                ))
            }
            Err(e) => return Err(read_ending(&e, None, "reactivation: ")),
        };
        count(held, &frame);
        let kind = session::inspect(&frame);
        tl.server(label(&kind));
        match kind {
            ServerFrame::Ultimatum { reason } => return Err(HoldEnding::Ultimatum { reason }),
            ServerFrame::SetErrorInfo { .. } => continue,
            // Another Deactivate All while waiting for the Demand Active: still deactivated.
            ServerFrame::DeactivateAll if !demand_active => {
                deactivations = deactivations.saturating_add(1);
                continue;
            }
            ServerFrame::DemandActive => demand_active = true,
            // Updates during finalization: the server is drawing again.
            ServerFrame::FastPath if demand_active => {
                return Ok(reactivated(&activation, factory, true)
                    .map_or(pending(demand_active, deactivations), Reactivation::Done))
            }
            ServerFrame::FastPath => continue,
            _ => {}
        }
        if let Err(e) = contain::call("ironrdp ConnectionActivationSequence::step", || {
            activation.step(&frame, None, &mut out)
        })
        .map_err(|p| p.to_string())
        .and_then(|r| r.map_err(|e| e.to_string()))
        {
            return Err(error(format!("reactivation: {e}")));
        }
        if out.filled_len() > 0 {
            tl.client("Confirm Active / finalization");
        }
        if !send(stream, &mut out, wait).await {
            return Err(HoldEnding::Closed { reset: false });
        }
    }
    if demand_active {
        Err(error(format!(
            "reactivation: {MAX_REACTIVATION_FRAMES} frames without completing it"
        )))
    } else {
        Ok(pending(demand_active, deactivations))
    }
}

/// A reactivation's next PDU of the client's own (it needs no server input for it).
async fn client_turn(
    activation: &mut ConnectionActivationSequence,
    stream: &mut Box<dyn ByteStream>,
    wait: Duration,
    tl: &mut Timeline,
) -> Result<(), HoldEnding> {
    let mut out = WriteBuf::new();
    if let Err(e) = activation.step_no_input(&mut out) {
        return Err(HoldEnding::ProtocolError {
            reason: format!("reactivation: {e}"),
        });
    }
    if out.filled_len() > 0 {
        tl.client(activation.state().name());
    }
    if !send(stream, &mut out, wait).await {
        return Err(HoldEnding::Closed { reset: false });
    }
    Ok(())
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
    stream: &mut Box<dyn ByteStream>,
    reader: &mut FrameReader,
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
    if !send(stream, &mut out, wait).await {
        return (check, HoldEnding::Closed { reset: false });
    }
    let answer = reader.read(stream, wait).await;
    check.waited_secs = secs(sent_at.elapsed());
    let after = tcp
        .and_then(|(l, r)| tcp_info::query(l, r))
        .map(|s| s.total_retrans);
    check.retransmissions = before.zip(after).map(|(b, a)| a.saturating_sub(b));
    let ending = match answer {
        Ok(frame) => {
            check.answered_after_secs = Some(check.waited_secs);
            count(held, &frame);
            tl.server(label(&session::inspect(&frame)));
            HoldEnding::Held
        }
        Err(FrameError::TimedOut { .. }) => HoldEnding::Unanswered,
        Err(e) => read_ending(&e, None, "after the Refresh Rect: "),
    };
    (check, ending)
}
