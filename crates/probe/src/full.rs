//! `check --full`: one complete connection (MS-RDPBCGR 1.3.1.1) until the session is up or the
//! server ends it, recording the phase reached and every code the server sends on the way.
//!
//! `ironrdp-connector`'s `ClientConnector` builds the client's PDUs (MCS Connect Initial with
//! the GCC blocks, Erect Domain, Attach User, Channel Joins, Client Info, licensing, Confirm
//! Active, finalization). This module owns the I/O: it reads one frame at a time (TPKT or
//! fast-path, at most 64 KiB, under the deadline; `framed.rs`) and classifies every server frame with
//! `rdpdoctor_wire::session` before it reaches the connector, because the connector turns a Set
//! Error Info into a string (numeric code lost) and ignores it, or a Disconnect Provider
//! Ultimatum, in most phases. The X.224 exchange and the TLS upgrade are this crate's own
//! (`negotiate.rs`, `tls::upgrade`: OpenSSL, so TLS 1.0 servers work); CredSSP is `nla.rs`'s,
//! here with delegation.

use crate::elapsed_ms;
use crate::frames::{self, Broken, Clear, Flow, Frames, Link, Turn};
use crate::hold::{self, HoldCtx};
use crate::host::Host;
use crate::nla;
use crate::open::{open, Opening, Upgrade};
use crate::options::Credentials;
use crate::route::ByteStream;
use crate::standard_security::{self, StandardSecurity};
use crate::tcp_info::Sampler;
use crate::timeline::{label, Timeline};
use crate::tls::{self, Tls};
use crate::trust::Trust;
use ironrdp_connector::{
    ClientConnector, ClientConnectorState, Config, DesktopSize, Sequence, State, Written,
};
use ironrdp_core::WriteBuf;
use ironrdp_pdu::gcc;
use ironrdp_pdu::nego::{ConnectionConfirm, ResponseFlags, SecurityProtocol};
use ironrdp_pdu::rdp::capability_sets::{MajorPlatformType, RailSupportLevel};
use ironrdp_pdu::x224::X224;
use openssl::hash::MessageDigest;
use openssl::x509::X509;
use rdpdoctor_observations::{
    protocol, Delegation, DelegationChannel, ErrorInfoEvent, HoldEnding, IdentityProof,
    LicensingEvent, LogonObservation, LogonOutcome, MacKind, MultitransportObservation,
    MultitransportRequest, NegFailureCode, NegotiationOutcome, OpenFailure, RedirectionInfo,
    SaltedTrial, SessionObservation, SessionOutcome, SessionPhase,
};
use rdpdoctor_wire::mcs;
use rdpdoctor_wire::session::{self, ServerFrame};
use std::time::{Duration, Instant};
use zeroize::Zeroizing;

/// The transport types the client announces: RDP-UDP reliable and lossy.
const CLIENT_MULTITRANSPORT: gcc::MultiTransportFlags =
    gcc::MultiTransportFlags::TRANSPORT_TYPE_UDP_FECR
        .union(gcc::MultiTransportFlags::TRANSPORT_TYPE_UDP_FECL);

/// A server that keeps sending frames without finishing the sequence is cut off after this many.
const MAX_FRAMES: u32 = 4096;

/// Runs the full connection; with `creds`, CredSSP delegates them and the logon is returned too.
pub(crate) async fn run(
    host: &Host,
    creds: Option<&Credentials>,
    trust: &Trust,
    hold: Option<Duration>,
) -> (SessionObservation, Option<LogonObservation>) {
    let t = Instant::now();
    let mut ctx = HoldCtx {
        tl: Timeline::new(t),
        length: hold,
        tcp: None,
        held: None,
    };
    let mut obs = fresh(creds);
    let mut logon = None;
    let full = Full {
        host,
        creds,
        trust,
        mac: MacKind::Plain,
    };
    obs.outcome = connect(full, &mut obs, &mut logon, &mut ctx).await;
    if host.past_deadline() && matches!(obs.outcome, SessionOutcome::TimedOut) {
        obs.outcome = SessionOutcome::DeadlineExceeded {
            seconds: t.elapsed().as_secs_f64(),
        };
    }
    obs.elapsed_ms = elapsed_ms(t);
    if let Some(length) = ctx.length {
        obs.hold = Some(ctx.tl.finish(length, &obs, ctx.held));
    }
    // Only a session that came up with plain MACs makes the salted one's end say something about
    // the MAC alone.
    let up = obs.outcome == SessionOutcome::SessionUp;
    if let (Some(e), true) = (obs.encryption.as_mut(), up) {
        if e.method != rdpdoctor_wire::mcs::method::FIPS && !host.past_deadline() {
            e.salted_trial = Some(salted_trial(host, trust).await);
        }
    }
    (obs, logon)
}

/// A session observation before anything happened.
fn fresh(creds: Option<&Credentials>) -> SessionObservation {
    SessionObservation {
        requested: protocol::SSL | if creds.is_some() { protocol::NLA } else { 0 },
        selected: None,
        user: creds.map(|c| c.user().to_string()),
        delegated: false,
        delegation: None,
        phase: SessionPhase::ConnectionInitiation,
        error_info: Vec::new(),
        licensing: None,
        frames: 0,
        client_info_at_secs: None,
        elapsed_ms: 0.0,
        outcome: SessionOutcome::TimedOut,
        hold: None,
        encryption: None,
        multitransport: None,
    }
}

/// FreeRDP signs Standard RDP Security PDUs with the salted MAC by default (5.3.6.1.1), Windows
/// clients and rdesktop with the plain one; some servers verify only the plain one (xrdp: "MAC
/// checksum error for non-FIPS PDU", and the client is logged off). After an RC4 session with
/// plain MACs, one more connection, without credentials, the same sequence signed with salted
/// MACs, tells whether this server takes them: the difference between the two is the MAC alone.
async fn salted_trial(host: &Host, trust: &Trust) -> SaltedTrial {
    let mut ctx = HoldCtx {
        tl: Timeline::new(Instant::now()),
        length: None,
        tcp: None,
        held: None,
    };
    let mut obs = fresh(None);
    let full = Full {
        host,
        creds: None,
        trust,
        mac: MacKind::Salted,
    };
    let outcome = connect(full, &mut obs, &mut None, &mut ctx).await;
    SaltedTrial {
        phase: obs.phase,
        outcome,
        frames: obs.frames,
        error_info: obs.error_info.iter().map(|e| e.code).collect(),
    }
}

fn config(creds: Option<&Credentials>) -> Config {
    let (username, password) = match creds {
        Some(c) => (c.user().to_string(), c.password().to_string()),
        None => (String::new(), String::new()),
    };
    Config {
        desktop_size: DesktopSize {
            width: 1024,
            height: 768,
        },
        monitor_layout: None,
        desktop_scale_factor: 0,
        desktop_physical_size: None,
        desktop_orientation: None,
        device_scale_factor: None,
        monitor_extended_layout: None,
        relative_mouse_input: false,
        enable_tls: true,
        enable_credssp: creds.is_some(),
        // A server answering PROTOCOL_RDP: the connector speaks level None, and
        // `standard_security` runs the encryption of the other levels under it.
        enable_standard_rdp_security: true,
        credentials: ironrdp_connector::Credentials::UsernamePassword { username, password },
        domain: None,
        client_build: 22621,
        client_name: "rdpdoctor".to_string(),
        keyboard_type: gcc::KeyboardType::IBM_ENHANCED,
        keyboard_subtype: 0,
        keyboard_functional_keys_count: 12,
        keyboard_layout: 0x409,
        connection_type: gcc::ConnectionType::Lan,
        ime_file_name: String::new(),
        bitmap: None,
        dig_product_id: String::new(),
        client_dir: String::new(),
        alternate_shell: String::new(),
        work_dir: String::new(),
        remote_application_mode: false,
        rail_support_level: RailSupportLevel::empty(),
        platform: MajorPlatformType::UNIX,
        hardware_id: None,
        request_data: None,
        autologon: creds.is_some(),
        enable_audio_playback: false,
        enable_audio_capture: false,
        performance_flags: Default::default(),
        license_cache: None,
        timezone_info: Default::default(),
        compression_type: None,
        enable_server_pointer: false,
        pointer_software_rendering: true,
        // The RDP UDP transports, as a Windows client announces them (MS-RDPBCGR 2.2.1.3.8), so
        // that a server that has UDP offers it (Server Multitransport Channel Data, then an
        // Initiate Multitransport Request after licensing): that offer is what --full reports.
        // The probe then declines each request (E_ABORT, 2.2.15.2) and opens no UDP tunnel, as
        // a client without UDP does. Neither UDP_PREFERRED nor SOFTSYNC_TCP_TO_UDP: they promise
        // virtual channel traffic over UDP, which the probe never carries.
        multitransport_flags: Some(CLIENT_MULTITRANSPORT),
        support_dyn_vc_gfx_protocol: false,
    }
}

/// Zeroes the password copy the connector holds (its `Config` derives `Debug`: never print it).
fn scrub(connector: &mut ClientConnector) {
    if let ironrdp_connector::Credentials::UsernamePassword { password, .. } =
        &mut connector.config.credentials
    {
        drop(Zeroizing::new(std::mem::take(password)));
    }
}

fn phase_of(state: &ClientConnectorState, previous: SessionPhase) -> SessionPhase {
    use ClientConnectorState as S;
    match state {
        S::ConnectionInitiationSendRequest | S::ConnectionInitiationWaitConfirm { .. } => {
            SessionPhase::ConnectionInitiation
        }
        S::EnhancedSecurityUpgrade { .. } => SessionPhase::SecurityUpgrade,
        S::Credssp { .. } => SessionPhase::Credssp,
        S::BasicSettingsExchangeSendInitial { .. }
        | S::BasicSettingsExchangeWaitResponse { .. } => SessionPhase::BasicSettingsExchange,
        S::ChannelConnection { .. } => SessionPhase::ChannelConnection,
        S::SecureSettingsExchange { .. } => SessionPhase::SecureSettingsExchange,
        S::ConnectTimeAutoDetection { .. } | S::LicensingExchange { .. } => SessionPhase::Licensing,
        S::MultitransportBootstrapping { .. }
        | S::MultitransportPending { .. }
        | S::CapabilitiesExchange { .. } => SessionPhase::CapabilitiesExchange,
        S::ConnectionFinalization { .. } => SessionPhase::Finalization,
        S::Connected { .. } => SessionPhase::SessionUp,
        _ => previous,
    }
}

async fn connect(
    full: Full<'_>,
    obs: &mut SessionObservation,
    logon: &mut Option<LogonObservation>,
    ctx: &mut HoldCtx,
) -> SessionOutcome {
    let (host, creds) = (full.host, full.creds);
    ctx.tl.phase(SessionPhase::ConnectionInitiation);
    // Connection initiation: this crate's X.224 exchange (it records the answer the same way as
    // the negotiation probes); the connector is fed the same Connection Confirm. TLS comes after
    // the connector has it (`secure`).
    let mut ready = match open(host, Opening::new(obs.requested)).await.ready() {
        Ok(r) => r,
        Err(failure) => return SessionOutcome::Open(failure),
    };
    if matches!(
        ready.answer,
        NegotiationOutcome::Failure {
            code: NegFailureCode::SslNotAllowedByServer
        }
    ) {
        // A server that allows only Standard RDP Security refuses TLS: connect again asking
        // for it, as mstsc does (MS-RDPBCGR 3.2.5.3.2).
        obs.requested = protocol::RDP;
        ctx.tl.phase(SessionPhase::ConnectionInitiation);
        ready = match open(host, Opening::new(obs.requested)).await.ready() {
            Ok(r) => r,
            Err(failure) => return SessionOutcome::Open(failure),
        };
    }
    let negotiation = ready.answer;
    let (selected, flags) = match negotiation {
        // An unknown or combined selectedProtocol is not followed: nothing says what it is.
        NegotiationOutcome::Selected { protocol: p, .. } if !protocol::is_known_selection(p) => {
            return SessionOutcome::Open(OpenFailure::Negotiation(negotiation))
        }
        NegotiationOutcome::Selected { protocol, flags } => (protocol, flags),
        // A server from before security negotiation (Windows 2000, XP) answers without
        // negotiation data: Standard RDP Security on the same connection (MS-RDPBCGR 3.2.5.3.2).
        NegotiationOutcome::NoNegotiationData => (protocol::RDP, 0),
        NegotiationOutcome::Failure {
            code: NegFailureCode::HybridRequiredByServer,
        } if creds.is_none() => {
            return SessionOutcome::Stopped {
                reason: "the server requires NLA (HYBRID_REQUIRED_BY_SERVER): --full needs --user to go further".to_string(),
            }
        }
        outcome => return SessionOutcome::Open(OpenFailure::Negotiation(outcome)),
    };
    obs.selected = Some(selected);
    // The connector sends the Client Multitransport Channel Data only to a server that announced
    // EXTENDED_CLIENT_DATA_SUPPORTED (2.2.1.2.1).
    obs.multitransport = Some(MultitransportObservation {
        client_flags: if ResponseFlags::from_bits_truncate(flags)
            .contains(ResponseFlags::EXTENDED_CLIENT_DATA_SUPPORTED)
        {
            CLIENT_MULTITRANSPORT.bits()
        } else {
            0
        },
        ..MultitransportObservation::default()
    });
    let mut cfg = config(creds);
    if selected == protocol::RDP {
        // The connector accepts PROTOCOL_RDP only when it requested nothing else.
        cfg.enable_tls = false;
        cfg.enable_credssp = false;
    }
    let mut connector = ClientConnector::new(cfg, host.address);
    ctx.tcp = ready.sampler.as_ref().map(Sampler::endpoints);
    let outcome = drive(
        full,
        obs,
        logon,
        &mut connector,
        ready.stream.into_io(),
        (selected, flags),
        ctx,
    )
    .await;
    scrub(&mut connector);
    outcome
}

/// What every step of the full connection reads: the host, the credentials and what proves the
/// server's identity.
#[derive(Clone, Copy)]
struct Full<'a> {
    host: &'a Host,
    creds: Option<&'a Credentials>,
    trust: &'a Trust,
    /// How the client signs under Standard RDP Security.
    mac: MacKind,
}

/// After the X.224 exchange: the security upgrade, the connection sequence, the hold, the end.
async fn drive(
    full: Full<'_>,
    obs: &mut SessionObservation,
    logon: &mut Option<LogonObservation>,
    connector: &mut ClientConnector,
    plain: Box<dyn ByteStream>,
    (selected, flags): (u32, u8),
    ctx: &mut HoldCtx,
) -> SessionOutcome {
    if let Err(outcome) = feed_confirm(connector, selected, flags) {
        return outcome;
    }
    // Standard RDP Security's encryption sits between the frames and the connector (its Security
    // Exchange comes after the channel joins); over TLS the frames pass clear.
    let mut link = if selected == protocol::RDP {
        Link::new(plain, false, Box::new(StandardSecurity::new(full.mac)))
    } else {
        obs.phase = SessionPhase::SecurityUpgrade;
        ctx.tl.phase(obs.phase);
        match secure(full, obs, logon, connector, plain, selected, &mut ctx.tl).await {
            Ok(tls) => Link::new(tls, true, Box::new(Clear)),
            Err(outcome) => return outcome,
        }
    };
    let mut sequence = Connecting {
        full,
        obs,
        connector: &mut *connector,
        tl: &mut ctx.tl,
    };
    let outcome = frames::run(&mut link, &mut sequence).await;
    obs.encryption = link.encryption();
    let past_connect_response = obs.phase > SessionPhase::BasicSettingsExchange;
    if let Some(m) = obs.multitransport.as_mut() {
        m.answered = past_connect_response;
        m.server_flags = connector.server_multitransport_flags.map(|f| f.bits());
    }
    let mut still_up = matches!(outcome, SessionOutcome::SessionUp);
    if let (true, Some(length)) = (still_up, ctx.length) {
        let up = hold::up_session(connector);
        let held = hold::hold(full.host, up, &mut link, length, &mut ctx.tl, ctx.tcp).await;
        still_up = matches!(
            held.ending,
            HoldEnding::Held | HoldEnding::DeadlineExceeded | HoldEnding::NotReactivated { .. }
        );
        ctx.held = Some(held);
    }
    // A polite end: Disconnect Provider Ultimatum (rn-user-requested), then close.
    if still_up {
        let mut out = WriteBuf::new();
        out.write_slice(&session::disconnect_request());
        let _ = link.send(&mut out, Duration::from_millis(200)).await;
    }
    link.close().await;
    if obs.encryption.is_some() {
        // The hold's frames went through the layer too.
        obs.encryption = link.encryption();
    }
    outcome
}

/// Feeds the connector the Connection Confirm of this crate's X.224 exchange. The connector's
/// own Connection Request is not sent: ours was, with the same protocols.
fn feed_confirm(
    connector: &mut ClientConnector,
    selected: u32,
    flags: u8,
) -> Result<(), SessionOutcome> {
    let mut out = WriteBuf::new();
    connector
        .step_no_input(&mut out)
        .map_err(|e| protocol_error("X.224 request", &e))?;
    out.clear();
    let confirm = X224(ConnectionConfirm::Response {
        flags: ResponseFlags::from_bits_truncate(flags),
        protocol: SecurityProtocol::from_bits_truncate(selected),
    });
    let cc = ironrdp_core::encode_vec(&confirm).map_err(|e| SessionOutcome::ProtocolError {
        reason: e.to_string(),
    })?;
    connector
        .step(&cc, None, &mut out)
        .map_err(|e| protocol_error("X.224 confirm", &e))?;
    if !connector.should_perform_security_upgrade() {
        return Err(SessionOutcome::ProtocolError {
            reason: format!("unexpected connector state {:?}", connector.state.name()),
        });
    }
    Ok(())
}

/// TLS over the connection, as mstsc does it right after the Connection Confirm; then CredSSP
/// when the server selected it, or, with credentials over TLS without NLA, the judgement of the
/// certificate that decides whether the Client Info PDU may carry the password.
async fn secure(
    full: Full<'_>,
    obs: &mut SessionObservation,
    logon: &mut Option<LogonObservation>,
    connector: &mut ClientConnector,
    plain: Box<dyn ByteStream>,
    selected: u32,
    tl: &mut Timeline,
) -> Result<Box<Tls>, SessionOutcome> {
    let mut tls = crate::open::secure(full.host, plain, &Upgrade::channel())
        .await
        .map_err(|outcome| SessionOutcome::Open(OpenFailure::Tls(outcome)))?;
    connector.mark_security_upgrade_as_done();
    if connector.should_perform_credssp() {
        obs.phase = SessionPhase::Credssp;
        tl.phase(obs.phase);
        let Some(creds) = full.creds else {
            return Err(SessionOutcome::Stopped {
                reason: "the server selected CredSSP (NLA), which needs --user".to_string(),
            });
        };
        credssp(full, creds, obs, logon, &mut tls, selected).await?;
        connector.mark_credssp_as_done();
    } else if full.creds.is_some() {
        obs.delegation = Some(tls_delegation(full, &tls::peer_chain(&tls)));
    }
    Ok(tls)
}

/// CredSSP with delegation: records the logon and the delegation; the session outcome when the
/// connection cannot go on (the credentials refused, or no verdict the server proved).
async fn credssp(
    full: Full<'_>,
    creds: &Credentials,
    obs: &mut SessionObservation,
    logon: &mut Option<LogonObservation>,
    tls: &mut Tls,
    selected: u32,
) -> Result<(), SessionOutcome> {
    let t = Instant::now();
    let mut progress = crate::credssp::Progress::default();
    let public_key = tls::subject_public_key(tls).unwrap_or_default();
    let outcome = nla::authenticate(
        tls,
        &public_key,
        full.host,
        creds,
        &mut progress,
        Some(selected),
        full.trust,
    )
    .await;
    // The TSCredentials go out only once the server's pubKeyAuth verified.
    let delegated = progress.delegated;
    obs.delegated = delegated;
    obs.delegation = Some(Delegation {
        channel: DelegationChannel::Credssp,
        proof: credssp_proof(&outcome, delegated),
        delegated,
        refused: None,
    });
    let ended = match &outcome {
        LogonOutcome::Accepted => None,
        o if o.is_verdict() => Some(SessionOutcome::LogonRefused),
        _ => Some(SessionOutcome::LogonUnproven),
    };
    let mut observed = LogonObservation {
        delegated,
        ts_request_version: progress.version,
        elapsed_ms: elapsed_ms(t),
        outcome,
        ..nla::observation(full.host, creds)
    };
    nla::record_package(&mut observed, &mut progress);
    *logon = Some(observed);
    ended.map_or(Ok(()), Err)
}

/// What proved the server's identity in a CredSSP logon that did (`delegated`) or did not send
/// the TSCredentials.
fn credssp_proof(outcome: &LogonOutcome, delegated: bool) -> IdentityProof {
    let reason = match outcome {
        _ if delegated => return IdentityProof::PubKeyAuth,
        LogonOutcome::PubKeyAuthMismatch { .. } => {
            "the server's pubKeyAuth did not verify against the TLS key"
        }
        LogonOutcome::PubKeyAuthMissing { .. } => {
            "the server answered the NTLM AUTHENTICATE without pubKeyAuth"
        }
        _ => "CredSSP ended before the server proved its TLS key",
    };
    IdentityProof::Unproven {
        reason: reason.to_string(),
    }
}

/// TLS without NLA: the password would go out in the Client Info PDU, so the certificate must
/// prove who the server is.
fn tls_delegation(full: Full<'_>, chain: &[X509]) -> Delegation {
    let host = full.host;
    let proof = full
        .trust
        .judge(chain, host.server_name.as_deref(), host.address.ip());
    let refused = match &proof {
        IdentityProof::Unproven { reason } => Some(format!(
            "the server chose TLS without NLA and {reason}; the password was not sent. Pin the certificate with --cert-sha256 {} if it is the server's, or pass --trust-any-cert",
            chain
                .first()
                .and_then(|c| c.digest(MessageDigest::sha256()).ok())
                .map(hex::encode_upper)
                .unwrap_or_else(|| "SHA256".to_string())
        )),
        _ => None,
    };
    Delegation {
        channel: DelegationChannel::Tls,
        proof,
        delegated: false,
        refused,
    }
}

fn protocol_error(step: &str, e: &ironrdp_connector::ConnectorError) -> SessionOutcome {
    // The report carries the causes too ("decode error" alone says nothing).
    SessionOutcome::ProtocolError {
        reason: format!("{step}: {}", e.report()),
    }
}

/// A server frame that could not be read, as the session sees it.
fn read_failure(why: Broken) -> SessionOutcome {
    match why {
        Broken::Closed { reset } => SessionOutcome::Closed { reset },
        Broken::TimedOut => SessionOutcome::TimedOut,
        Broken::Garbled(reason) => SessionOutcome::ProtocolError { reason },
    }
}

/// From the MCS Connect Initial to the session, one server frame at a time: the connection
/// sequence as the frame loop drives it.
struct Connecting<'a> {
    full: Full<'a>,
    obs: &'a mut SessionObservation,
    connector: &'a mut ClientConnector,
    tl: &'a mut Timeline,
}

impl Frames for Connecting<'_> {
    type End = SessionOutcome;

    fn turn(&mut self, out: &mut WriteBuf) -> Turn<SessionOutcome> {
        let (obs, connector) = (&mut *self.obs, &mut *self.connector);
        obs.phase = phase_of(&connector.state, obs.phase);
        self.tl.phase(obs.phase);
        if matches!(connector.state, ClientConnectorState::Connected { .. }) {
            return Turn::End(SessionOutcome::SessionUp);
        }
        let deadline = self.full.host.timeout();
        if connector.should_perform_multitransport() {
            // No UDP transport: decline, as a client without it does.
            if let Some(m) = obs.multitransport.as_mut() {
                m.declined += 1;
            }
            self.tl
                .client("Initiate Multitransport Response (declined: no UDP tunnel)");
            return match connector.skip_multitransport(out) {
                Ok(_) => Turn::Send(deadline),
                Err(e) => Turn::End(protocol_error("multitransport", &e)),
            };
        }
        if connector.next_pdu_hint().is_none() {
            return match client_step(self.full, obs, connector, out, self.tl) {
                Ok(()) => Turn::Send(deadline),
                Err(outcome) => Turn::End(outcome),
            };
        }
        Turn::Read(deadline)
    }

    fn frame(&mut self, pdu: &[u8], kind: ServerFrame, out: &mut WriteBuf) -> Flow<SessionOutcome> {
        let obs = &mut *self.obs;
        obs.frames += 1;
        if obs.frames > MAX_FRAMES {
            return Flow::End(SessionOutcome::TooManyFrames { frames: MAX_FRAMES });
        }
        let rewritten = match server_frame(self.full, obs, self.tl, pdu, kind) {
            Next::Feed => None,
            Next::FeedAs(plain) => Some(plain),
            Next::Skip => return Flow::Go,
            Next::End(outcome) => return Flow::End(outcome),
        };
        let pdu = rewritten.as_deref().unwrap_or(pdu);
        // ironrdp decodes the server's frame: a panic in it is contained like sspi's.
        let connector = &mut *self.connector;
        match rdpdoctor_wire::contain::call("ironrdp ClientConnector::step", || {
            connector.step(pdu, None, out)
        }) {
            Ok(Ok(_)) => Flow::Go,
            Ok(Err(e)) => Flow::End(protocol_error(obs.phase.label(), &e)),
            Err(panicked) => Flow::End(SessionOutcome::ProtocolError {
                reason: format!("{}: {panicked}", obs.phase.label()),
            }),
        }
    }

    fn broken(&mut self, why: Broken) -> Flow<SessionOutcome> {
        Flow::End(read_failure(why))
    }

    fn write_deadline(&self) -> Duration {
        self.full.host.timeout()
    }

    fn unsent(&mut self) -> SessionOutcome {
        SessionOutcome::Closed { reset: false }
    }
}

/// The connector's next PDU of its own (it needs no server input for it), written to `out`.
fn client_step(
    full: Full<'_>,
    obs: &mut SessionObservation,
    connector: &mut ClientConnector,
    out: &mut WriteBuf,
    tl: &mut Timeline,
) -> Result<(), SessionOutcome> {
    let sending_info = matches!(
        connector.state,
        ClientConnectorState::SecureSettingsExchange { .. }
    ) && full.creds.is_some();
    if sending_info && !delegation_allowed(obs) {
        // Withheld: the Client Info PDU goes out with the user name only, and without
        // auto-logon, so the server shows its logon screen instead of trying (and failing,
        // counting against the lockout policy) an empty password.
        scrub(connector);
        connector.config.autologon = false;
    }
    match connector.step_no_input(out) {
        Ok(Written::Nothing) | Ok(Written::Size(_)) => {}
        Err(e) => return Err(protocol_error(connector.state.name(), &e)),
    }
    if matches!(
        connector.state,
        ClientConnectorState::ConnectTimeAutoDetection { .. }
            | ClientConnectorState::LicensingExchange { .. }
    ) && obs.client_info_at_secs.is_none()
    {
        // The step that just wrote is the Client Info PDU: the logon, as a server sees it.
        obs.client_info_at_secs = Some(tl.now());
        tl.client("Client Info PDU (the logon)");
    }
    if sending_info {
        // The Client Info PDU carries the user name and, when allowed, the password.
        let allowed = delegation_allowed(obs);
        obs.delegated |= allowed;
        if let Some(d) = obs.delegation.as_mut() {
            d.delegated |= allowed;
        }
        scrub(connector);
    }
    Ok(())
}

/// What to do with a server frame.
enum Next {
    /// Feed it to the connector.
    Feed,
    /// Feed the connector this instead (the Connect Response without its encryption).
    FeedAs(Vec<u8>),
    /// Not part of the sequence: read the next one.
    Skip,
    /// The connection ends here.
    End(SessionOutcome),
}

/// Records what a server frame says before the connector sees it (the connector drops the codes)
/// and decides what happens with it.
fn server_frame(
    full: Full<'_>,
    obs: &mut SessionObservation,
    tl: &mut Timeline,
    frame: &[u8],
    kind: ServerFrame,
) -> Next {
    tl.server(label(&kind));
    if let Some(r) = rdpdoctor_wire::multitransport::request(frame, None) {
        tl.server("Initiate Multitransport Request (the server offers UDP)".to_string());
        if let Some(m) = obs.multitransport.as_mut() {
            m.requests.push(MultitransportRequest {
                request_id: r.request_id,
                protocol: r.protocol,
            });
        }
    }
    match kind {
        ServerFrame::SetErrorInfo { code } => {
            if code != 0 {
                obs.error_info.push(ErrorInfoEvent {
                    code,
                    phase: obs.phase,
                });
            }
            // Not fed to the connector: the server disconnects next (3.3.5.7.1), and that is
            // what the sequence waits for.
            return Next::Skip;
        }
        ServerFrame::Ultimatum { reason } => {
            return Next::End(SessionOutcome::Ultimatum { reason })
        }
        ServerFrame::Redirection(r) => {
            return Next::End(SessionOutcome::Redirected {
                redirection: Box::new(RedirectionInfo {
                    session_id: r.session_id,
                    flags: r.flags,
                    target: r.target,
                    load_balance_info: r.load_balance_info,
                    username: r.username,
                    domain: r.domain,
                    routing_token: r
                        .load_balance
                        .map(|t| String::from_utf8_lossy(&t).into_owned()),
                    addresses: r.addresses,
                    fqdn: r.fqdn,
                    netbios: r.netbios,
                }),
            })
        }
        ServerFrame::LicenseError {
            code,
            state_transition,
        } => {
            obs.licensing = Some(LicensingEvent {
                error_code: code,
                state_transition,
            });
        }
        // Updates during finalization: the server is already drawing the session.
        ServerFrame::FastPath if obs.phase >= SessionPhase::Finalization => {
            obs.phase = SessionPhase::SessionUp;
            tl.phase(obs.phase);
            return Next::End(SessionOutcome::SessionUp);
        }
        // Fast-path output before finalization is not part of the sequence: skip it.
        ServerFrame::FastPath => return Next::Skip,
        _ => {}
    }
    if obs.phase == SessionPhase::BasicSettingsExchange && selected_rdp(obs) {
        if let mcs::ConnectResponse::Accepted(s) = mcs::decode_connect_response(frame) {
            if full.creds.is_some() {
                obs.delegation = Some(rdp_security_delegation(s.encryption_level, full.trust));
            }
            if s.encryption_method != 0 || s.encryption_level != 0 {
                // The encryption layer read the server's choice; the connector, which speaks
                // level None only, is fed the response without it.
                return match standard_security::unencrypted_response(frame) {
                    Ok(plain) => Next::FeedAs(plain),
                    Err(e) => Next::End(SessionOutcome::ProtocolError {
                        reason: format!("MCS Connect Response: {e}"),
                    }),
                };
            }
        }
    }
    Next::Feed
}

/// Standard RDP Security never proves the server's identity: its server key is signed with a
/// key the whole world knows (MS-RDPBCGR 5.3.3.1.1), and at level None nothing is encrypted at
/// all, so the password would cross the network in clear text (MS-RDPBCGR 5.3.1).
fn rdp_security_delegation(level: u32, trust: &Trust) -> Delegation {
    let channel = DelegationChannel::RdpSecurity { level };
    if level == 0 {
        return Delegation {
            channel,
            proof: IdentityProof::Unproven {
                reason: "Standard RDP Security at encryption level None".to_string(),
            },
            delegated: false,
            refused: Some(
                "the server chose Standard RDP Security at encryption level None: the password would travel in clear text, so it was not sent (no option overrides this)"
                    .to_string(),
            ),
        };
    }
    if trust.any {
        return Delegation {
            channel,
            proof: IdentityProof::TrustAnyCert,
            delegated: false,
            refused: None,
        };
    }
    Delegation {
        channel,
        proof: IdentityProof::Unproven {
            reason: "Standard RDP Security does not authenticate the server key".to_string(),
        },
        delegated: false,
        refused: Some(
            "the server chose Standard RDP Security, whose server key proves nothing about who the server is; the password was not sent (--trust-any-cert allows it)"
                .to_string(),
        ),
    }
}

/// Whether the credentials may go out now: only on a channel whose server identity is proven
/// (pubKeyAuth, a trusted or pinned certificate) or that the user explicitly trusted.
fn delegation_allowed(obs: &SessionObservation) -> bool {
    obs.delegation.as_ref().is_some_and(|d| {
        d.refused.is_none()
            && !matches!(d.channel, DelegationChannel::RdpSecurity { level: 0 })
            && !matches!(d.proof, IdentityProof::Unproven { .. })
    })
}

fn selected_rdp(obs: &SessionObservation) -> bool {
    obs.selected == Some(protocol::RDP)
}
