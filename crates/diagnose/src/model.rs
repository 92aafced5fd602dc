//! What a diagnosis says: findings and one verdict. Renderers format these; they never re-derive.

use serde::{Deserialize, Serialize};

/// What a finding does to a default, up-to-date Windows client: blocks it, warns, or informs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// The client cannot connect.
    Blocking,
    /// It connects, but something is wrong or weak, or some clients fail.
    Warning,
    Info,
}

impl Severity {
    pub fn label(self) -> &'static str {
        match self {
            Severity::Blocking => "blocking",
            Severity::Warning => "warning",
            Severity::Info => "info",
        }
    }
}

/// The step of the connection sequence a finding belongs to, in the order a client meets them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Step {
    Dns,
    Tcp,
    Negotiation,
    Tls,
    Certificate,
    RdpSecurity,
    Nla,
    Logon,
    Session,
    /// Facts only the server's own logs or registry show.
    Host,
}

impl Step {
    pub fn label(self) -> &'static str {
        match self {
            Step::Dns => "DNS",
            Step::Tcp => "TCP",
            Step::Negotiation => "X.224 negotiation",
            Step::Tls => "TLS",
            Step::Certificate => "certificate",
            Step::RdpSecurity => "Standard RDP Security",
            Step::Nla => "NLA (CredSSP)",
            Step::Logon => "logon",
            Step::Session => "session",
            Step::Host => "server configuration",
        }
    }
}

/// The overall state of the server (the JSON contract's `verdict.status`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Healthy,
    Degraded,
    Broken,
    Unreachable,
}

/// One numbered fix: what to do, and the exact commands or policy paths.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Fix {
    pub text: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub commands: Vec<String>,
}

/// A code from the shared code tables, with its official name.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct CodeRef {
    pub family: rdpdoctor_codes::Family,
    pub value: u32,
    pub hex: String,
    pub name: String,
}

/// What a client would most likely show for a finding.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ClientError {
    /// Codes from the shared tables, most telling first: mstsc disconnect and extended reasons,
    /// and the RDP_NEG_FAILURE, TLS alert, NTSTATUS, HRESULT or FreeRDP codes that go with them.
    pub codes: Vec<CodeRef>,
    /// The message or behaviour, in words.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub text: String,
    /// True when the mapping is an inference rather than documented.
    pub likely: bool,
}

/// One finding: a stable id, how bad it is, and the proof.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Finding {
    pub id: String,
    pub severity: Severity,
    pub step: Step,
    pub title: String,
    /// Observed facts that prove the finding.
    pub evidence: Vec<String>,
    pub explanation: String,
    /// Least invasive first.
    pub fixes: Vec<Fix>,
    /// Null when no client error is known for the finding (always present in JSON).
    #[serde(default)]
    pub client_error: Option<ClientError>,
}

/// The one-line answer.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Verdict {
    pub status: Status,
    /// The id of the finding that best explains a failure (or the worst warning), else null.
    pub finding: Option<String>,
    /// The step where a connection breaks, for broken and unreachable servers; null otherwise
    /// (always present in JSON).
    #[serde(default)]
    pub step: Option<Step>,
    pub summary: String,
    /// How far the check went: which steps were tried, and what was not tested (with the
    /// command that tests it).
    #[serde(default)]
    pub scope: String,
}

/// Derived facts worth showing beside the findings.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Facts {
    /// The route, when it is not direct TCP: the RD Gateway leg in one line.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub route: Option<String>,
    /// The .rdp file the check followed: the lines used, not used and unknown, one per entry.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub rdp_file: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub addresses: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub address_used: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub connect_ms_median: Option<f64>,
    /// One line per X.224 request: what was asked and what came back.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub negotiation: Vec<String>,
    /// The protocol an up-to-date mstsc request gets.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub selected_protocol: Option<String>,
    /// Security protocols some request got selected ("RDP", "SSL", "HYBRID", "HYBRID_EX",
    /// "RDSTLS"); RDP also when the server does not negotiate at all.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub protocols_supported: Vec<String>,
    /// Whether every request without CredSSP was refused while one with it was accepted.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nla_required: Option<bool>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tls_versions: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tls_cipher: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub certificate: Option<CertificateFacts>,
    /// The evidence files read, with what could not be read.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub evidence_files: Vec<String>,
    /// Effective server settings from registry exports, each saying whether policy or the local
    /// value applied.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub host_settings: Vec<String>,
    /// The most recent RDP-relevant events, oldest first; client attempts joined by ActivityID.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub timeline: Vec<TimelineEntry>,
    /// Older timeline entries left out to keep it short.
    #[serde(skip_serializing_if = "is_zero")]
    pub timeline_omitted: usize,
    /// What the Standard RDP Security probe got, also on servers that offer TLS.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rdp_security: Option<RdpSecurityFacts>,
    /// What the server's NTLM CHALLENGE and the logon probe showed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nla: Option<NlaFacts>,
    /// How far the full connection (`check --full`) got.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub session: Option<SessionFacts>,
    /// Round trip and retransmissions of the probe connections (the kernel's TCP_INFO).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<PathFacts>,
    /// The RDP UDP transport (`check --udp`): whether the server's UDP port answered a SYN.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub udp: Option<UdpFacts>,
}

/// What the RDP UDP transport probe got, in words (`check --udp`).
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct UdpFacts {
    /// The address and UDP port the SYN datagram went to.
    pub address: String,
    /// Whether a SYN+ACK a client can use came back.
    pub answered: bool,
    /// The RDP-UDP version the answer settles on (RDPUDP_PROTOCOL_VERSION_2), when it answered.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// One line: what came back.
    pub summary: String,
}

/// Path quality, measured on every check.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct PathFacts {
    /// Probe connections sampled.
    pub connections: usize,
    /// Lowest and median round trip (per connection: the lowest it saw), milliseconds.
    pub rtt_min_ms: f64,
    pub rtt_median_ms: f64,
    /// Segments retransmitted, SYN retries included (tcpi_total_retrans).
    pub retransmitted_segments: u32,
    /// Payload bytes retransmitted (tcpi_bytes_retrans), when the kernel reports it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retransmitted_bytes: Option<u64>,
    /// Connections on which payload was retransmitted.
    pub connections_with_data_loss: usize,
    /// Data segments sent (tcpi_data_segs_out), the base of the loss rate.
    pub data_segments: u32,
    /// Data segments retransmitted less those the receiver reported as duplicates (D-SACK).
    pub lost_segments: u32,
}

/// The Standard RDP Security settings from the MCS Connect Response (MS-RDPBCGR 2.2.1.4.2,
/// 2.2.1.4.3), in words.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct RdpSecurityFacts {
    /// `High, 128-bit RC4, RSA 2048 proprietary key`: the answer to an offer of every method.
    pub summary: String,
    /// Encryption level: None, Low, Client Compatible, High, FIPS.
    pub level: String,
    /// The method chosen for an offer of every method.
    pub method: String,
    /// Every method the server chose for some offer, in the order seen.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub methods: Vec<String>,
    /// `RSA 2048 proprietary key`, or the X.509 certificate's key and subject.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub server_key: Option<String>,
    /// Server Core Data version, e.g. `RDP 5.0 to 8.1 (0x00080004)`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rdp_version: Option<String>,
    /// One line per offer when more than one was probed.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub offers: Vec<String>,
}

/// The full connection (`check --full`) in words.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct SessionFacts {
    /// The phase reached (its kebab-case id, as in the observations).
    pub phase: String,
    /// The phase in words.
    pub phase_label: String,
    /// How it ended.
    pub ended: String,
    /// Whether the credentials were sent to the server.
    pub delegated: bool,
    /// With --user: over what the credentials went (or why they were withheld), in words.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub credentials: Option<String>,
    /// The server's codes, one line each (Set Error Info, licensing, redirection).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub codes: Vec<String>,
    /// `check --full --hold`: how the held session ended, and its timeline.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hold: Option<HoldFacts>,
    /// Over encrypted Standard RDP Security: the method, level and MACs the session ran with.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encryption: Option<String>,
    /// Whether the server offered the RDP UDP transport in the session (multitransport).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub multitransport: Option<String>,
}

/// A held session (`--hold`) in words.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct HoldFacts {
    /// "held", "not-started", "error-info", "ultimatum", "dropped", "protocol-error",
    /// "deadline".
    pub ending: String,
    /// One sentence: how it ended, after how long, who closed it.
    pub summary: String,
    /// Seconds from the start of the full connection to its end.
    pub ended_at_secs: f64,
    /// Seconds the session stayed up (0 when it never came up).
    pub held_secs: f64,
    /// "+12.345 s  what" lines, in order.
    pub timeline: Vec<String>,
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

/// One line of the event timeline.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct TimelineEntry {
    /// UTC, to the millisecond; empty when the record had no time.
    pub time: String,
    /// `server` or `client`.
    pub side: String,
    /// `System 36870 Schannel`, or `client attempt` for a joined 1024..1026 sequence.
    pub event: String,
    pub text: String,
    /// How many identical consecutive events this line stands for.
    #[serde(default = "one", skip_serializing_if = "is_one")]
    pub count: usize,
}

fn is_one(n: &usize) -> bool {
    *n == 1
}

fn one() -> usize {
    1
}

/// The certificate in a form a person reads.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct CertificateFacts {
    pub subject: String,
    pub issuer: String,
    pub names: Vec<String>,
    pub not_before: String,
    pub not_after: String,
    /// Whole days from the check to notAfter, truncated toward zero ([`whole_days`]): 27 means
    /// at least 27 full days left, -2 that it expired at least 2 (and less than 3) days ago, 0
    /// less than a day either way (`expired` tells which).
    pub days_left: i64,
    /// notAfter was already past when the check ran. Absent in documents written before it
    /// existed; [`CertificateFacts::expiry`] then goes by the sign of `days_left`.
    #[serde(default)]
    pub expired: bool,
    /// notBefore and notAfter as Unix seconds (for exporters and alert rules).
    pub not_before_unix: i64,
    pub not_after_unix: i64,
    /// notAfter 99991231235959Z: RFC 5280's "no well-defined expiration date".
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub never_expires: bool,
    pub self_signed: bool,
    pub key: String,
    pub signature: String,
    pub sha1: String,
    pub sha256: String,
}

/// Seconds in a day, for certificate dates.
pub const DAY_SECS: i64 = 86_400;

/// The one rounding rule for certificate dates, wherever they are shown (evidence, details,
/// JSON `days_left`, Nagios, the HTML report, the scan summary): whole days, truncated toward
/// zero, so "expired 2 days ago" and "-2" are the same number, and 1 day and 23 hours left is
/// 1 day. Less than a day either way is 0 and is said in words ("expires within a day").
pub fn whole_days(seconds: i64) -> i64 {
    seconds / DAY_SECS
}

/// "expires in 27 days", "expires in 1 day", "expires within a day", "expired less than a day
/// ago", "expired 2 days ago": `days` from [`whole_days`], `expired` whether notAfter is past.
pub fn expiry_words(days: i64, expired: bool) -> String {
    let plural = |n: i64| if n == 1 { "" } else { "s" };
    match days {
        d if d > 0 => format!("expires in {d} day{}", plural(d)),
        0 if expired => "expired less than a day ago".to_string(),
        0 => "expires within a day".to_string(),
        d => format!("expired {} day{} ago", -d, plural(-d)),
    }
}

impl CertificateFacts {
    /// When the certificate expires, in the words of [`expiry_words`] ("never expires" for
    /// notAfter 99991231235959Z).
    pub fn expiry(&self) -> String {
        if self.never_expires {
            return "never expires".to_string();
        }
        expiry_words(self.days_left, self.expired || self.days_left < 0)
    }
}

/// Everything `diagnose` concludes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
/// Whether a client profile connects (`clients[].outcome`).
pub enum Outcome {
    Connects,
    /// Connects after the user accepts a certificate (or identity) dialog.
    Prompts,
    Fails,
    /// A step it depends on was not observed.
    Unknown,
}

impl Outcome {
    pub fn label(self) -> &'static str {
        match self {
            Outcome::Connects => "connects",
            Outcome::Prompts => "prompts",
            Outcome::Fails => "fails",
            Outcome::Unknown => "unknown",
        }
    }
}

/// One row of the client matrix (`check --clients`, `clients[]` in JSON), as
/// `clients::simulate` decides it.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ClientOutcome {
    pub id: String,
    pub name: String,
    pub outcome: Outcome,
    /// The step that fails (or prompts, or could not be judged).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub step: Option<Step>,
    pub reason: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_error: Option<ClientError>,
    /// The profile's sources, joined.
    pub source: String,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Diagnosis {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
    pub verdict: Verdict,
    pub findings: Vec<Finding>,
    pub facts: Facts,
    /// Which client profiles can connect (`check --clients`), one row per profile.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub clients: Vec<ClientOutcome>,
}

impl Diagnosis {
    /// Exit status of `check`: 0 without blocking or warning findings, 1 with.
    pub fn exit_code(&self) -> u8 {
        u8::from(
            self.findings
                .iter()
                .any(|f| matches!(f.severity, Severity::Blocking | Severity::Warning)),
        )
    }
}

/// NLA facts: the server's names, OS and clock from its NTLM CHALLENGE, the CredSSP version, and
/// the logon verdict of `check --user`.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct NlaFacts {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub netbios_computer: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dns_computer: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub netbios_domain: Option<String>,
    /// The server is in a workgroup: its NTLM domain fields hold its own computer name, so
    /// `domain` and `netbios_domain` are left empty.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub workgroup: bool,
    /// The DNS domain, or the NetBIOS one when there is none.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub domain: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub forest: Option<String>,
    /// `Windows Server 2019 (build 17763)`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub os: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub os_also: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub server_time: Option<String>,
    /// Server clock minus ours, in seconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub clock_offset_secs: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ts_request_version: Option<u32>,
    /// Why no CHALLENGE was read, when none was.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub challenge_failed: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub logon: Option<String>,
    /// `--user` was given but the NTLM AUTHENTICATE was withheld (signs of interception): no
    /// logon was tried.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub logon_withheld: bool,
    /// `--user` was given and the logon was tried, but it ended without the server's verdict
    /// (no pubKeyAuth that verified, no error code): nothing was proven about the credentials.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub logon_unproven: bool,
    /// `--user` was given and the logon's Kerberos was refused by the KDC where Negotiate does
    /// not fall back (a wrong password, no common encryption type): the server saw no token, and
    /// the KDC's answer is the verdict on the credentials.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub logon_refused_by_kdc: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whole_days_truncate_toward_zero_and_words_follow_them() {
        let cases = [
            (2 * DAY_SECS + DAY_SECS / 2, false, 2, "expires in 2 days"),
            (DAY_SECS, false, 1, "expires in 1 day"),
            (DAY_SECS - 1, false, 0, "expires within a day"),
            (0, false, 0, "expires within a day"),
            (-1, true, 0, "expired less than a day ago"),
            (-DAY_SECS, true, -1, "expired 1 day ago"),
            (
                -(2 * DAY_SECS + DAY_SECS / 2),
                true,
                -2,
                "expired 2 days ago",
            ),
        ];
        for (seconds, expired, days, words) in cases {
            assert_eq!(whole_days(seconds), days, "{seconds} s");
            assert_eq!(expiry_words(days, expired), words, "{seconds} s");
        }
    }
}
