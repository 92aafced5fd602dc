//! Facts from a full connection (`check --full`): how far the RDP connection sequence
//! (MS-RDPBCGR 1.3.1.1) got, and every code the server sent on the way, kept raw.
//!
//! No type here holds a password: the user name is the only part of the credentials recorded.

use crate::OpenFailure;
use serde::{Deserialize, Serialize};

/// The phases of the connection sequence (MS-RDPBCGR 1.3.1.1), in order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SessionPhase {
    /// TCP and the X.224 Connection Request / Confirm.
    ConnectionInitiation,
    /// The TLS handshake (enhanced security).
    SecurityUpgrade,
    /// CredSSP (NLA), including the Early User Authorization Result.
    Credssp,
    /// MCS Connect Initial / Response with the GCC blocks.
    BasicSettingsExchange,
    /// Erect Domain, Attach User, Channel Joins.
    ChannelConnection,
    /// The Client Info PDU (the user name, and the password when one is given).
    SecureSettingsExchange,
    /// Connect-time auto-detection and licensing (MS-RDPELE).
    Licensing,
    /// Demand Active / Confirm Active.
    CapabilitiesExchange,
    /// Synchronize, Control, Font List / Font Map.
    Finalization,
    /// The connection sequence completed: the session is up.
    SessionUp,
}

impl SessionPhase {
    pub fn label(self) -> &'static str {
        match self {
            SessionPhase::ConnectionInitiation => "connection initiation (X.224)",
            SessionPhase::SecurityUpgrade => "security upgrade (TLS)",
            SessionPhase::Credssp => "CredSSP (NLA)",
            SessionPhase::BasicSettingsExchange => "basic settings exchange (MCS Connect)",
            SessionPhase::ChannelConnection => "channel connection (MCS)",
            SessionPhase::SecureSettingsExchange => "secure settings exchange (Client Info)",
            SessionPhase::Licensing => "licensing (after the Client Info PDU)",
            SessionPhase::CapabilitiesExchange => "capabilities exchange",
            SessionPhase::Finalization => "connection finalization",
            SessionPhase::SessionUp => "session up",
        }
    }
}

/// The T.125 Reason of an MCS Disconnect Provider Ultimatum (T.125 section 7, Reason).
pub fn ultimatum_reason_name(reason: u8) -> &'static str {
    match reason {
        0 => "rn-domain-disconnected",
        1 => "rn-provider-initiated",
        2 => "rn-token-purged",
        3 => "rn-user-requested",
        4 => "rn-channel-purged",
        _ => "undefined",
    }
}

/// A Set Error Info PDU (MS-RDPBCGR 2.2.5.1.1), errorInfo raw, and the phase it arrived in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorInfoEvent {
    pub code: u32,
    pub phase: SessionPhase,
}

/// A licensing error message (MS-RDPELE 2.2.2.7.1), raw. dwErrorCode 0x7 STATUS_VALID_CLIENT
/// with ST_NO_TRANSITION is the normal "no licence needed" answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LicensingEvent {
    pub error_code: u32,
    pub state_transition: u32,
}

/// A Server Redirection PDU (MS-RDPBCGR 2.2.13.1): where the server sent the client.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RedirectionInfo {
    pub session_id: u32,
    /// RedirFlags, raw.
    pub flags: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
    /// Whether a load-balancing token came with it.
    pub load_balance_info: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub domain: Option<String>,
    /// The routing token (LoadBalanceInfo) as text, when it is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub routing_token: Option<String>,
    /// TargetNetAddress and TargetNetAddresses, in the server's order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub addresses: Vec<String>,
    /// TargetFQDN.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fqdn: Option<String>,
    /// TargetNetBiosName.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub netbios: Option<String>,
}

/// How the full connection ended.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum SessionOutcome {
    /// The connection sequence completed; the probe then disconnected.
    SessionUp,
    /// The server sent an MCS Disconnect Provider Ultimatum (T.125 reason, raw).
    Ultimatum { reason: u8 },
    /// The server closed (or reset) the TCP connection.
    Closed { reset: bool },
    /// The server sent a Server Redirection PDU (`check` follows it: `Observations::redirect`).
    Redirected { redirection: Box<RedirectionInfo> },
    /// No frame before the deadline.
    TimedOut,
    /// CredSSP ended with the server's refusal of the credentials; `logon` says how.
    LogonRefused,
    /// CredSSP ended without the server's verdict on the credentials: no pubKeyAuth that
    /// verified and no error code (a missing or unverifiable proof, an answer that does not
    /// decode, silence, the AUTHENTICATE withheld); `logon` says how.
    LogonUnproven,
    /// The server sent this many frames without completing the connection sequence; the probe
    /// stopped reading (its limit).
    TooManyFrames { frames: u32 },
    /// The probe stopped on purpose (a limit of the probe, or credentials it needs), with why.
    Stopped { reason: String },
    /// A frame the connection sequence could not process.
    ProtocolError { reason: String },
    /// The whole connection ran past its overall deadline (a server that keeps a slow trickle of
    /// frames coming never trips a per-read deadline); `phase` in the observation says how far
    /// it got.
    DeadlineExceeded { seconds: f64 },
    /// The connection did not get as far as the connection sequence: the route failed, the
    /// X.224 exchange did not select a protocol the probe continues with
    /// (`negotiation-failed`), or the TLS upgrade failed (`tls-failed`).
    #[serde(untagged, with = "crate::open::dialect::session")]
    Open(OpenFailure),
}

/// The channel the credentials would travel over in `check --full --user`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum DelegationChannel {
    /// CredSSP (NLA): TSCredentials, encrypted for the key the server proved with pubKeyAuth.
    Credssp,
    /// TLS without NLA: the Client Info PDU inside TLS.
    Tls,
    /// Standard RDP Security at this encryption level (MS-RDPBCGR 2.2.1.4.3; 0 = None, clear
    /// text).
    RdpSecurity { level: u32 },
}

/// What proved (or failed to prove) the server's identity before credentials were delegated.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum IdentityProof {
    /// CredSSP's pubKeyAuth verified against the TLS key.
    PubKeyAuth,
    /// The certificate chain verifies against the system trust store for the probed name.
    TrustedCertificate,
    /// The certificate's SHA-256 fingerprint equals the one given with --cert-sha256.
    PinnedCertificate,
    /// Nothing proved it; the user allowed that with --trust-any-cert.
    TrustAnyCert,
    /// Nothing proves who the server is (why, in words).
    Unproven { reason: String },
}

/// Whether `check --full --user` delegated the credentials, over what, and on which proof.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Delegation {
    pub channel: DelegationChannel,
    pub proof: IdentityProof,
    /// Whether the password was sent.
    pub delegated: bool,
    /// Why the credentials were withheld, when they were.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refused: Option<String>,
}

/// The full connection (`check --full`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SessionObservation {
    /// requestedProtocols of the X.224 request.
    pub requested: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub selected: Option<u32>,
    /// The account given with --user (never the password).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// Whether the credentials were sent to the server: TSCredentials after CredSSP, and the
    /// Client Info PDU.
    pub delegated: bool,
    /// With --user: the channel, the proof of the server's identity, and whether the
    /// credentials went out or were withheld.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delegation: Option<Delegation>,
    /// The last phase the connection entered.
    pub phase: SessionPhase,
    /// Set Error Info PDUs with a non-zero code, in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub error_info: Vec<ErrorInfoEvent>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub licensing: Option<LicensingEvent>,
    /// Server frames read after the security upgrade.
    pub frames: u32,
    /// When the Client Info PDU (the logon) went out, in seconds since the TCP connect.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_info_at_secs: Option<f64>,
    pub elapsed_ms: f64,
    pub outcome: SessionOutcome,
    /// `check --full --hold SECONDS`: how the idle session held, and how it ended.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hold: Option<HoldObservation>,
    /// Standard RDP Security with encryption (MS-RDPBCGR 5.3): what the session's encryption
    /// layer ran. Absent over TLS and at encryption level None.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encryption: Option<SessionEncryption>,
    /// The RDP UDP transport as offered inside the session (MS-RDPBCGR 1.3.1.1, multitransport
    /// bootstrapping). Absent in documents from before it was recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub multitransport: Option<MultitransportObservation>,
}

/// What the server said about the RDP UDP transport during a full connection.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct MultitransportObservation {
    /// flags of the client's Multitransport Channel Data (MS-RDPBCGR 2.2.1.3.8), raw.
    pub client_flags: u32,
    /// flags of the server's Multitransport Channel Data (2.2.1.4.6), raw; absent when the
    /// server sent none (it supports no multitransport, or the sequence ended before).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server_flags: Option<u32>,
    /// Whether the connection got past the MCS Connect Response (so `server_flags` is known).
    pub answered: bool,
    /// The Initiate Multitransport Requests (2.2.15.1) the server sent, in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub requests: Vec<MultitransportRequest>,
    /// Requests the probe declined (Initiate Multitransport Response, E_ABORT): it opens no UDP
    /// tunnel.
    #[serde(default)]
    pub declined: u32,
}

/// One Initiate Multitransport Request (its security cookie is not kept).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MultitransportRequest {
    pub request_id: u32,
    /// requestedProtocol, raw: 1 RDP-UDP reliable, 2 RDP-UDP lossy.
    pub protocol: u16,
}

/// How the MACs of Standard RDP Security PDUs are computed (MS-RDPBCGR 5.3.6.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum MacKind {
    /// The MAC of 5.3.6.1, as Windows clients and xrdp compute it.
    Plain,
    /// Salted with the encryption count (SEC_SECURE_CHECKSUM, 5.3.6.1.1), FreeRDP's default.
    Salted,
}

/// A session over encrypted Standard RDP Security, as the probe ran it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SessionEncryption {
    /// encryptionMethods the client offered (2.2.1.3.3), raw.
    pub offered: u32,
    /// encryptionLevel and encryptionMethod the server chose (2.2.1.4.3), raw.
    pub level: u32,
    pub method: u32,
    /// How the client signed what it sent.
    pub client_mac: MacKind,
    /// Client PDUs sent encrypted (the Client Info PDU onwards).
    pub sealed: u32,
    /// Server PDUs that came encrypted and whose MAC verified.
    pub opened: u32,
    /// Server PDUs signed with the salted MAC.
    #[serde(default)]
    pub opened_salted: u32,
    /// Licensing PDUs the server sent encrypted (the client said it can decrypt them,
    /// SEC_LICENSE_ENCRYPT_SC, 2.2.1.10).
    #[serde(default)]
    pub licensing_encrypted: u32,
    /// Whether the server asked for encrypted client licensing PDUs (SEC_LICENSE_ENCRYPT_CS).
    #[serde(default)]
    pub licensing_encrypt_cs: bool,
    /// RC4 only: one more connection, the same sequence without credentials, signed with salted
    /// MACs (FreeRDP's default), and how far it got.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub salted_trial: Option<SaltedTrial>,
}

/// The connection signed with salted MACs ([`SessionEncryption::salted_trial`]).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SaltedTrial {
    /// The last phase it entered.
    pub phase: SessionPhase,
    pub outcome: SessionOutcome,
    /// Server frames read after the MCS Connect Response.
    pub frames: u32,
    /// errorInfo of its Set Error Info PDUs (non-zero), in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub error_info: Vec<u32>,
}

impl SaltedTrial {
    /// Whether the server took the salted MACs: the session came up.
    pub fn accepted(&self) -> bool {
        self.outcome == SessionOutcome::SessionUp
    }
}

/// How a held session (`--hold`) ended.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum HoldEnding {
    /// Open until the end of the hold; the probe then disconnected (rn-user-requested).
    Held,
    /// The session never came up, so there was nothing to hold (`outcome` of the session says
    /// why).
    NotStarted,
    /// The server sent a Set Error Info PDU (errorInfo raw), then ended the connection.
    ErrorInfo { code: u32 },
    /// The server sent an MCS Disconnect Provider Ultimatum (T.125 reason raw) without a Set
    /// Error Info code.
    Ultimatum { reason: u8 },
    /// The connection was closed (FIN) or reset from the far side without any server code.
    Closed { reset: bool },
    /// A frame the probe could not delimit or a reactivation it could not complete.
    ProtocolError { reason: String },
    /// The check's overall deadline ended the hold early.
    DeadlineExceeded,
    /// The server deactivated the session (Deactivate All, MS-RDPBCGR 1.3.1.3) and had not
    /// reactivated it (no Demand Active) when the hold ended: from `deactivated_at_secs` on the
    /// session showed nothing. `deactivations` counts the Deactivate All PDUs.
    NotReactivated {
        deactivated_at_secs: f64,
        deactivations: u32,
    },
    /// No FIN, no reset, but the server did not answer the PDU the client sent at the end of the
    /// hold (`path_check` says what, how long it waited, and whether TCP retransmitted it).
    Unanswered,
}

/// The end of a hold: one client PDU the server must answer (a Refresh Rect, MS-RDPBCGR
/// 2.2.11.2), so that a connection a device on the path silently forgot (no FIN, no reset, as
/// cloud load balancers do to idle flows) is told from one that still carries data.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct HoldPathCheck {
    /// The PDU ("Refresh Rect").
    pub sent: String,
    /// When it went out (or would have), seconds since the TCP connect.
    pub at_secs: f64,
    /// Why it was not sent, when it was not (the path was then not checked).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not_sent: Option<String>,
    /// Seconds until the server's first frame after it; none when nothing came.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub answered_after_secs: Option<f64>,
    /// How long the probe waited for an answer.
    pub waited_secs: f64,
    /// TCP retransmissions of the connection while it waited (the kernel's tcpi_total_retrans,
    /// after minus before): above 0, the client's segment went unacknowledged. None when the
    /// kernel's counters could not be read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retransmissions: Option<u32>,
}

/// One entry of a held session's timeline. Times are seconds since the full connection
/// started (its TCP connect).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum HoldEvent {
    /// The connection entered this phase.
    Phase { at_secs: f64, phase: SessionPhase },
    /// `count` server messages of one kind in a row, the first at `at_secs`, the last at
    /// `last_secs` (e.g. "fast-path update", "Save Session Info", "Deactivate All").
    Server {
        at_secs: f64,
        last_secs: f64,
        message: String,
        count: u32,
    },
    /// Something the client had to send (a reactivation's Confirm Active and finalization).
    Client { at_secs: f64, message: String },
    /// The end of the connection, from either side.
    End { at_secs: f64, by: String },
}

/// `check --full --hold SECONDS`: the session kept open as an idle client would keep it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct HoldObservation {
    /// SECONDS as asked.
    pub requested_secs: f64,
    /// From the start of the full connection until the session was up (none: never up).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_up_at_secs: Option<f64>,
    /// How long the session stayed open once up (0 when it never came up).
    pub held_secs: f64,
    /// From the start of the full connection until its end.
    pub ended_at_secs: f64,
    /// Whether the client sent nothing but what the protocol required (no input ever).
    pub idle: bool,
    /// Seconds without any traffic in either direction right before the end.
    pub silent_secs: f64,
    /// Server frames read while holding.
    pub server_frames: u32,
    /// Server bytes read while holding.
    pub server_bytes: u64,
    pub ending: HoldEnding,
    /// Phases, server messages (runs of one kind merged), client answers and the end, in
    /// order; at most a few dozen entries.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub timeline: Vec<HoldEvent>,
    /// Timeline entries left out beyond the limit.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub timeline_omitted: u32,
    /// The PDU sent at the end of the hold to check that the path still carries data.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path_check: Option<HoldPathCheck>,
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}
