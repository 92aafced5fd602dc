//! The record of one full connection (`--full`, `--hold`): the phases it went through and the
//! messages each side sent, with their times, and what holding the session produced, as the
//! observations keep them (`HoldObservation`).

use rdpdoctor_observations::{
    HoldEnding, HoldEvent, HoldObservation, HoldPathCheck, SessionObservation, SessionOutcome,
    SessionPhase,
};
use rdpdoctor_wire::session::{self, ServerFrame};
use std::time::{Duration, Instant};

/// Timeline entries kept (the end is always added beyond this).
const MAX_EVENTS: usize = 40;

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

pub(crate) fn secs(d: Duration) -> f64 {
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

/// What holding an up session produced.
pub(crate) struct Held {
    pub(crate) up: Instant,
    pub(crate) until: Instant,
    pub(crate) frames: u32,
    pub(crate) bytes: u64,
    pub(crate) ending: HoldEnding,
    /// When the path check went out: the silence the path had to survive ends there.
    pub(crate) checked: Option<Instant>,
    pub(crate) path_check: Option<HoldPathCheck>,
}

impl Held {
    /// Counts one server frame of the hold.
    pub(crate) fn count(&mut self, frame: &[u8]) {
        self.frames = self.frames.saturating_add(1);
        self.bytes = self.bytes.saturating_add(frame.len() as u64);
    }
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
