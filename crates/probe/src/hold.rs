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

use crate::framed::{send, FrameError, FrameReader, Io};
use crate::host::Host;
use ironrdp_connector::connection_activation::ConnectionActivationFactory;
use ironrdp_connector::connection_activation::ConnectionActivationState;
use ironrdp_connector::{ClientConnector, ClientConnectorState, Sequence};
use ironrdp_core::WriteBuf;
use rdpdoctor_observations::{
    HoldEnding, HoldEvent, HoldObservation, SessionObservation, SessionOutcome, SessionPhase,
};
use rdpdoctor_wire::session::{self, ServerFrame};
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
        }
    }

    fn now(&self) -> f64 {
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
        let silent_secs = secs(ended.saturating_duration_since(self.last_traffic));
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
        SessionOutcome::DeadlineExceeded { .. } => "client: the check's overall deadline".into(),
        _ => "client: the connection sequence did not complete".into(),
    }
}

/// What a full connection carries for `--hold`: its timeline, the hold asked for, and what
/// holding produced.
pub(crate) struct HoldCtx {
    pub(crate) tl: Timeline,
    pub(crate) length: Option<Duration>,
    pub(crate) held: Option<Held>,
}

/// What holding an up session produced.
pub(crate) struct Held {
    up: Instant,
    until: Instant,
    frames: u32,
    bytes: u64,
    pub(crate) ending: HoldEnding,
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

/// What a reactivation needs from a connected `connector` (taken before the hold: the connector
/// is not Sync, so no reference to it may live across a read).
pub(crate) fn activation(connector: &ClientConnector) -> Option<ConnectionActivationFactory> {
    match &connector.state {
        ClientConnectorState::Connected { result } => Some(result.activation_factory.clone()),
        _ => None,
    }
}

/// Keeps the session open until `length` has passed: reads and discards, answers a
/// reactivation, and returns how it ended.
pub(crate) async fn hold(
    host: &Host,
    factory: Option<ConnectionActivationFactory>,
    stream: &mut Box<dyn Io>,
    reader: &mut FrameReader,
    length: Duration,
    tl: &mut Timeline,
) -> Held {
    let up = Instant::now();
    let end = up + length;
    let mut held = Held {
        up,
        until: up,
        frames: 0,
        bytes: 0,
        ending: HoldEnding::Held,
    };
    let mut error_info: Option<u32> = None;
    let ending = loop {
        if host.past_deadline() {
            break HoldEnding::DeadlineExceeded;
        }
        let now = Instant::now();
        if now >= end {
            break HoldEnding::Held;
        }
        let wait = host.remaining().map_or(end - now, |r| r.min(end - now));
        let frame = match reader.read(stream, wait).await {
            Ok(f) => f,
            Err(FrameError::TimedOut { .. }) if host.past_deadline() && Instant::now() < end => {
                break HoldEnding::DeadlineExceeded
            }
            Err(FrameError::TimedOut { .. }) => break HoldEnding::Held,
            Err(e) => {
                break match (e.ended(), error_info) {
                    (Some(_), Some(code)) => HoldEnding::ErrorInfo { code },
                    (Some(reset), None) => HoldEnding::Closed { reset },
                    (None, _) => HoldEnding::ProtocolError {
                        reason: format!(
                            "bytes that are neither TPKT nor fast-path: {}",
                            crate::excerpt_hex(e.seen(), 32)
                        ),
                    },
                }
            }
        };
        held.frames = held.frames.saturating_add(1);
        held.bytes = held.bytes.saturating_add(frame.len() as u64);
        let kind = session::inspect(&frame);
        tl.server(label(&kind));
        match kind {
            ServerFrame::SetErrorInfo { code } if code != 0 => error_info = Some(code),
            ServerFrame::Ultimatum { reason } => {
                break match error_info {
                    Some(code) => HoldEnding::ErrorInfo { code },
                    None => HoldEnding::Ultimatum { reason },
                }
            }
            ServerFrame::Redirection(_) => {
                break HoldEnding::ProtocolError {
                    reason: "a Server Redirection PDU during the session (not followed)".into(),
                }
            }
            ServerFrame::DeactivateAll => {
                match reactivate(host, factory.as_ref(), stream, reader, end, tl, &mut held).await {
                    Ok(()) => {}
                    Err(ending) => break ending,
                }
            }
            _ => {}
        }
    };
    held.until = Instant::now();
    held.ending = ending;
    held
}

/// The Deactivation-Reactivation Sequence (MS-RDPBCGR 1.3.1.3): the Demand Active that follows
/// a Deactivate All is answered with a Confirm Active and the finalization PDUs, as at connect.
async fn reactivate(
    host: &Host,
    factory: Option<&ConnectionActivationFactory>,
    stream: &mut Box<dyn Io>,
    reader: &mut FrameReader,
    end: Instant,
    tl: &mut Timeline,
    held: &mut Held,
) -> Result<(), HoldEnding> {
    let Some(factory) = factory else {
        return Err(HoldEnding::ProtocolError {
            reason: "Deactivate All before the session was up".into(),
        });
    };
    let mut activation = factory.create();
    let mut out = WriteBuf::new();
    let error = |reason: String| HoldEnding::ProtocolError { reason };
    for _ in 0..MAX_REACTIVATION_FRAMES {
        let state = activation.connection_activation_state();
        if matches!(state, ConnectionActivationState::Finalized { .. }) {
            return Ok(());
        }
        let left = end.saturating_duration_since(Instant::now());
        if left.is_zero() {
            // The hold is over; the disconnect follows.
            return Ok(());
        }
        let wait = host.timeout().min(left);
        if activation.next_pdu_hint().is_none() {
            if let Err(e) = activation.step_no_input(&mut out) {
                return Err(error(format!("reactivation: {e}")));
            }
            if out.filled_len() > 0 {
                tl.client(activation.state().name());
            }
            if !send(stream, &mut out, wait).await {
                return Err(HoldEnding::Closed { reset: false });
            }
            continue;
        }
        let frame = match reader.read(stream, wait).await {
            Ok(f) => f,
            Err(FrameError::TimedOut { .. }) if Instant::now() >= end => return Ok(()),
            Err(FrameError::TimedOut { .. }) => {
                return Err(error(
                    "reactivation: no Demand Active or finalization PDU before the deadline".into(),
                ))
            }
            Err(e) => {
                return Err(match e.ended() {
                    Some(reset) => HoldEnding::Closed { reset },
                    None => error(format!(
                        "reactivation: bytes that are neither TPKT nor fast-path: {}",
                        crate::excerpt_hex(e.seen(), 32)
                    )),
                })
            }
        };
        held.frames = held.frames.saturating_add(1);
        held.bytes = held.bytes.saturating_add(frame.len() as u64);
        let kind = session::inspect(&frame);
        tl.server(label(&kind));
        match kind {
            ServerFrame::Ultimatum { reason } => return Err(HoldEnding::Ultimatum { reason }),
            ServerFrame::SetErrorInfo { .. } => continue,
            // Updates during finalization: the server is drawing again.
            ServerFrame::FastPath
                if matches!(
                    activation.connection_activation_state(),
                    ConnectionActivationState::ConnectionFinalization { .. }
                ) =>
            {
                return Ok(())
            }
            ServerFrame::FastPath => continue,
            _ => {}
        }
        if let Err(e) = activation.step(&frame, None, &mut out) {
            return Err(error(format!("reactivation: {e}")));
        }
        if out.filled_len() > 0 {
            tl.client("Confirm Active / finalization");
        }
        if !send(stream, &mut out, wait).await {
            return Err(HoldEnding::Closed { reset: false });
        }
    }
    Err(error(format!(
        "reactivation: {MAX_REACTIVATION_FRAMES} frames without completing it"
    )))
}
