//! credssp-oracle-mismatch, host-identity-mismatch, clock-skew (from the NTLM CHALLENGE read
//! without credentials), and the server's verdict on `check --user`: auth-ok, access-denied and
//! the logon findings shared with the event-log rules (logon-failure, password-expired,
//! password-must-change, account-locked, account-disabled, account-restricted,
//! logon-right-missing).

use super::{finding, Vars};
use crate::context::Context;
use crate::model::{Finding, NlaFacts, Severity};
use crate::FindingId;
use rdpdoctor_codes::windows::{FIRST_RELEASES, PREVIEWS, RELEASES};
use rdpdoctor_codes::Family;
use rdpdoctor_observations::{
    LogonObservation, LogonOutcome, NlaObservation, NlaOutcome, NlaPhase, NtlmInfo, Observations,
    OpenFailure, OsVersion, Transport,
};

/// Kerberos's default tolerance (Maximum tolerance for computer clock synchronization).
const MAX_SKEW_SECS: i64 = 300;

pub(super) fn check(obs: &Observations, ctx: &Context, vars: &Vars, out: &mut Vec<Finding>) {
    if let Some(nla) = &obs.nla {
        oracle(nla, vars, out);
        if let NlaOutcome::Challenge { info } = &nla.outcome {
            identity(obs, info, vars, out);
            skew(info, ctx, vars, out);
        }
    }
    logon(obs, vars, out);
}

fn oracle(nla: &NlaObservation, vars: &Vars, out: &mut Vec<Finding>) {
    if let Some(v @ 2..=4) = nla.ts_request_version {
        out.push(finding(
            FindingId::CredsspOracleMismatch,
            vars,
            vec![format!(
                "the server's TSRequest announces CredSSP version {v}; version 5 and later carry the CVE-2018-0886 fix (MS-CSSP 2.2.1)"
            )],
        ));
    }
}

/// The names a probed host name may legitimately match: the whole name and its first label.
fn identity(obs: &Observations, info: &NtlmInfo, vars: &Vars, out: &mut Vec<Finding>) {
    let Some(target) = &obs.target else {
        return;
    };
    // Address literals say nothing about names; "localhost" is every machine.
    if target.ip().is_some() || target.host.eq_ignore_ascii_case("localhost") {
        return;
    }
    let probed = target.host.trim_end_matches('.').to_ascii_lowercase();
    let first = probed.split('.').next().unwrap_or(&probed).to_string();
    let mut names: Vec<String> = Vec::new();
    if let Some(n) = &info.netbios_computer {
        names.push(n.to_ascii_lowercase());
    }
    if let Some(n) = &info.dns_computer {
        let n = n.to_ascii_lowercase();
        names.push(n.split('.').next().unwrap_or(&n).to_string());
        names.push(n);
    }
    if names.is_empty() || names.iter().any(|n| *n == probed || *n == first) {
        return;
    }
    let said = [&info.netbios_computer, &info.dns_computer]
        .iter()
        .filter_map(|n| n.as_deref())
        .collect::<Vec<_>>()
        .join(" / ");
    out.push(finding(
        FindingId::HostIdentityMismatch,
        vars,
        vec![
            format!("probed name: {}", target.host),
            format!("the machine that answered calls itself {said} in its NTLM CHALLENGE"),
        ],
    ));
}

/// The server clock minus ours, in seconds, when the CHALLENGE carried a timestamp.
pub(crate) fn offset_secs(info: &NtlmInfo) -> Option<i64> {
    let server = info.server_time?;
    Some(server.as_second() - info.received_at.as_second())
}

fn skew(info: &NtlmInfo, _ctx: &Context, vars: &Vars, out: &mut Vec<Finding>) {
    // Against the moment the CHALLENGE arrived, not `ctx.now`: a replayed document keeps its
    // meaning.
    let Some(offset) = offset_secs(info) else {
        return;
    };
    if offset.abs() > MAX_SKEW_SECS {
        let server = info
            .server_time
            .map(|t| t.strftime("%Y-%m-%d %H:%M:%S UTC").to_string())
            .unwrap_or_default();
        out.push(finding(
            FindingId::ClockSkew,
            vars,
            vec![format!(
                "server clock {server}, {} than ours (NTLM MsvAvTimestamp)",
                human_offset(offset)
            )],
        ));
    }
}

fn human_offset(offset: i64) -> String {
    let dir = if offset > 0 { "ahead" } else { "behind" };
    let a = offset.unsigned_abs();
    let text = if a >= 3600 {
        format!("{}h {:02}m", a / 3600, (a % 3600) / 60)
    } else {
        format!("{}m {:02}s", a / 60, a % 60)
    };
    format!("{text} {dir}")
}

/// The finding a CredSSP errorCode (an NTSTATUS, MS-CSSP 2.2.1) stands for: the shared
/// mapping, and a failed logon for any status it does not name.
pub(crate) fn ntstatus_finding(code: u32) -> FindingId {
    crate::ntstatus::finding(code).unwrap_or(FindingId::LogonFailure)
}

fn ntstatus_name(code: u32) -> String {
    match rdpdoctor_codes::lookup(Family::Ntstatus, code) {
        Some(e) => format!("{} (0x{code:08X})", e.name),
        None => format!("0x{code:08X} (not in the NTSTATUS table)"),
    }
}

fn logon(obs: &Observations, vars: &Vars, out: &mut Vec<Finding>) {
    let Some(l) = &obs.logon else {
        return;
    };
    let who = format!("account {} ({})", l.user, l.package);
    // The client's last token before the server's verdict, by package.
    let token = if l.package == "Kerberos" {
        "Kerberos AP-REQ"
    } else {
        "NTLM AUTHENTICATE"
    };
    let blocking = |mut f: Finding| {
        // For the account that was typed, a refused logon is the reason it cannot connect.
        f.severity = Severity::Blocking;
        f
    };
    match &l.outcome {
        LogonOutcome::Accepted => out.push(finding(
            FindingId::AuthOk,
            vars,
            vec![format!(
                "{who}: the server accepted the {token} and its pubKeyAuth verified; TSCredentials were {}",
                if l.delegated { "delegated (--full)" } else { "not sent" }
            )],
        )),
        // Never success: credssp-pubkey-mismatch (rules/trust.rs) reports it.
        LogonOutcome::PubKeyAuthMismatch { .. } => {}
        LogonOutcome::ErrorCode { code } => {
            let id = ntstatus_finding(*code);
            let mut f = finding(
                id,
                vars,
                vec![format!(
                    "{who}: the server answered the {token} with CredSSP errorCode {}",
                    ntstatus_name(*code)
                )],
            );
            if id != FindingId::ClockSkew {
                f = blocking(f);
            }
            out.push(f);
        }
        LogonOutcome::ClosedAfterAuthenticate { reset } => out.push(blocking(finding(
            FindingId::LogonFailure,
            vars,
            vec![
                format!(
                    "{who}: the server {} the connection in answer to the {token}, without a CredSSP errorCode",
                    if *reset { "reset" } else { "closed" }
                ),
                "that is how FreeRDP-based servers and Windows before CredSSP version 3 reject a logon; the reason (wrong password, unknown user, locked, ...) is not on the wire: the server's Security log has it (event 4625)".to_string(),
            ],
        ))),
        LogonOutcome::EarlyUserAuthorization { result } => {
            if *result != 0 {
                out.push(blocking(finding(
                    FindingId::AccessDenied,
                    vars,
                    vec![format!("{who}: Early User Authorization Result 0x{result:08X} (ACCESS_DENIED is 0x00000005)")],
                )));
            }
        }
        // No verdict: credssp-response-malformed and credssp-pubkey-mismatch (rules/trust.rs)
        // name what the server answered instead; a logon that did not get as far as CredSSP is
        // explained by the findings of the earlier steps; a withheld one by interception.
        LogonOutcome::PubKeyAuthMissing { .. }
        | LogonOutcome::Malformed { .. }
        | LogonOutcome::Failed { .. }
        | LogonOutcome::TimedOut { .. }
        | LogonOutcome::Withheld { .. } => {}
    }
}

/// `Windows Server 2019 (build 17763)`, and the desktop release of the same build when there
/// is one (NTLM does not say which edition; RDP servers are mostly servers, so that name leads).
/// Pre-release builds are named as such.
pub(crate) fn os_name(v: OsVersion) -> (String, Option<String>) {
    let key = (v.major, v.minor, v.build);
    let found = RELEASES.iter().chain(PREVIEWS).find(|(k, _, _)| *k == key);
    // Windows 10 Technical Preview builds still reported NT 6.4.
    if found.is_none() && (v.major, v.minor) == (6, 4) {
        return (
            format!(
                "a pre-release build of Windows 10 / Server 2016 (Technical Preview, version 6.4 build {})",
                v.build
            ),
            None,
        );
    }
    if found.is_none() {
        let first = FIRST_RELEASES
            .iter()
            .find(|(mm, first, _)| *mm == (v.major, v.minor) && v.build < *first);
        if let Some((_, _, name)) = first {
            return (
                format!(
                    "a pre-release build of {name} (version {}.{} build {})",
                    v.major, v.minor, v.build
                ),
                None,
            );
        }
    }
    match found {
        Some((_, Some(server), desktop)) => (
            format!("{server} (build {})", v.build),
            desktop.map(|d| format!("{d} has the same build")),
        ),
        Some((_, None, Some(desktop))) => (format!("{desktop} (build {})", v.build), None),
        _ => (
            format!("Windows {}.{} (build {})", v.major, v.minor, v.build),
            None,
        ),
    }
}

/// The NLA facts shown beside the findings.
pub(crate) fn facts(obs: &Observations) -> Option<NlaFacts> {
    let nla = obs.nla.as_ref();
    if nla.is_none() && obs.logon.is_none() {
        return None;
    }
    let mut f = NlaFacts {
        ts_request_version: nla.and_then(|n| n.ts_request_version),
        ..NlaFacts::default()
    };
    if let Some(NlaOutcome::Challenge { info }) = nla.map(|n| &n.outcome) {
        f.netbios_computer = info.netbios_computer.clone();
        f.dns_computer = info.dns_computer.clone();
        f.workgroup = info.is_workgroup();
        if !f.workgroup {
            f.domain = info
                .dns_domain
                .clone()
                .or_else(|| info.netbios_domain.clone());
            f.netbios_domain = info.netbios_domain.clone();
        }
        f.forest = info.dns_tree.clone();
        if let Some((os, also)) = info.os_version.map(os_name) {
            f.os = Some(os);
            f.os_also = also;
        }
        f.server_time = info
            .server_time
            .map(|t| t.strftime("%Y-%m-%d %H:%M:%S UTC").to_string());
        f.clock_offset_secs = offset_secs(info);
    } else if let Some(n) = nla {
        f.challenge_failed = Some(describe(&n.outcome));
    }
    if let Some(l) = &obs.logon {
        f.logon_withheld = matches!(l.outcome, LogonOutcome::Withheld { .. });
        f.logon_refused_by_kdc = stopped_at_kdc(l).is_some();
        f.logon_unproven = !f.logon_withheld && !f.logon_refused_by_kdc && !l.outcome.is_verdict();
        // The package Negotiate chose, and why (absent when it was configured, and said by the
        // summary itself when Kerberos stopped at the KDC).
        let package = l
            .choice
            .as_ref()
            .filter(|_| stopped_at_kdc(l).is_none())
            .map(|c| format!("; {}: {}", l.package, c.detail))
            .unwrap_or_default();
        f.logon = Some(format!("{}: {}{package}", l.user, logon_summary(l)));
    }
    Some(f)
}

/// How the logon ended, in words (after the account name): the server's verdict, or why there
/// is none. Shared by the NLA details and the `--full` session's ending.
pub(crate) fn logon_summary(l: &LogonObservation) -> String {
    if let Some(why) = stopped_at_kdc(l) {
        return format!("NOT tried with the server: Kerberos stopped at the KDC ({why})");
    }
    let phase_label = |p: NlaPhase| logon_phase(l, p);
    match &l.outcome {
        LogonOutcome::Accepted if l.delegated => {
            "accepted (pubKeyAuth verified); TSCredentials delegated (--full)".to_string()
        }
        LogonOutcome::Accepted => "accepted (pubKeyAuth verified); nothing delegated".to_string(),
        LogonOutcome::ErrorCode { code } => format!("refused, {}", ntstatus_name(*code)),
        LogonOutcome::ClosedAfterAuthenticate { .. } => format!(
            "refused (connection closed after the {})",
            phase_label(NlaPhase::Authenticate)
        ),
        LogonOutcome::PubKeyAuthMismatch { .. } => {
            "NOT proven: the server's pubKeyAuth did not verify (interception or broken CredSSP)"
                .to_string()
        }
        LogonOutcome::PubKeyAuthMissing { answer } => format!(
            "NOT proven: the server answered the {} without pubKeyAuth ({answer})",
            phase_label(NlaPhase::Authenticate)
        ),
        LogonOutcome::Malformed { phase, reason, .. } => {
            format!("NOT proven ({}: {reason})", phase_label(*phase))
        }
        LogonOutcome::EarlyUserAuthorization { result } => {
            format!("Early User Authorization Result 0x{result:08X}")
        }
        LogonOutcome::Failed { phase, reason } if before_credssp(*phase) => {
            format!("not checked ({}: {reason})", phase_label(*phase))
        }
        LogonOutcome::Failed { phase, reason } => {
            format!("NOT proven ({}: {reason})", phase_label(*phase))
        }
        LogonOutcome::TimedOut { phase, .. } => format!(
            "NOT proven: no answer before the deadline ({})",
            phase_label(*phase)
        ),
        LogonOutcome::Withheld { .. } => {
            "NOT tried: the NTLM AUTHENTICATE was withheld (signs of interception, see interception-suspected)".to_string()
        }
    }
}

/// A logon's phase in words: NTLM's messages name them, Kerberos's tokens (RFC 4121, in SPNEGO)
/// are the AP-REQ and the server's AP-REP, then pubKeyAuth.
fn logon_phase(l: &LogonObservation, p: NlaPhase) -> &'static str {
    match (l.package.as_str(), p) {
        ("Kerberos", NlaPhase::Challenge) => "Kerberos AP-REQ and the server's AP-REP",
        ("Kerberos", NlaPhase::Authenticate) => "Kerberos AP-REQ",
        _ => phase_label(p),
    }
}

/// Why the logon's Kerberos failed at the KDC where Negotiate does not fall back (a wrong
/// password, no common encryption type): the server saw no token.
fn stopped_at_kdc(l: &LogonObservation) -> Option<&str> {
    let c = l
        .choice
        .as_ref()
        .filter(|c| c.package == rdpdoctor_observations::Package::None)?;
    matches!(l.outcome, LogonOutcome::Failed { .. }).then_some(c.detail.as_str())
}

/// Whether `p` comes before CredSSP itself (the logon connection did not get that far).
fn before_credssp(p: NlaPhase) -> bool {
    matches!(
        p,
        NlaPhase::Connect | NlaPhase::X224 | NlaPhase::TlsHandshake
    )
}

pub(crate) fn phase_label(p: NlaPhase) -> &'static str {
    match p {
        NlaPhase::Connect => "connect",
        NlaPhase::X224 => "X.224",
        NlaPhase::TlsHandshake => "TLS handshake",
        NlaPhase::Challenge => "NTLM CHALLENGE",
        NlaPhase::Authenticate => "NTLM AUTHENTICATE",
        NlaPhase::EarlyUserAuthorization => "Early User Authorization Result",
    }
}

fn describe(o: &NlaOutcome) -> String {
    match o {
        NlaOutcome::Challenge { .. } => "CHALLENGE received".to_string(),
        NlaOutcome::ErrorCode { code } => format!("errorCode {}", ntstatus_name(*code)),
        NlaOutcome::Open(OpenFailure::Route(r)) => super::describe_route(r),
        NlaOutcome::Open(OpenFailure::Negotiation(outcome)) => {
            format!(
                "CredSSP not selected: {}",
                super::describe_negotiation(outcome)
            )
        }
        NlaOutcome::Open(OpenFailure::Tls(outcome)) => {
            format!("TLS {}", super::describe_tls(outcome))
        }
        NlaOutcome::Transport(t) => {
            let (bytes, phase) = (t.bytes(), phase_label(t.phase()));
            match t {
                Transport::Closed { .. } => format!("closed after {bytes} bytes ({phase})"),
                Transport::Reset { .. } => format!("reset after {bytes} bytes ({phase})"),
                Transport::TimedOut { .. } => {
                    format!("no answer before the deadline, {bytes} bytes ({phase})")
                }
            }
        }
        NlaOutcome::Malformed {
            reason,
            excerpt_hex,
        } => format!("{reason} ({excerpt_hex})"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_mapped_ntstatus_is_a_catalog_id() {
        for code in [
            0xC000_006D,
            0xC000_006A,
            0xC000_0064,
            0xC000_0071,
            0xC000_0224,
            0xC000_0234,
            0xC000_0072,
            0xC000_0193,
            0xC000_006E,
            0xC000_006F,
            0xC000_0070,
            0xC000_0413,
            0xC000_015B,
            0xC000_0022,
            0xC000_0133,
            0x1234,
        ] {
            let id = ntstatus_finding(code);
            assert!(crate::catalog::get(id).is_some(), "{id}");
        }
        for id in [
            "auth-ok",
            "access-denied",
            "credssp-oracle-mismatch",
            "host-identity-mismatch",
            "clock-skew",
        ] {
            assert!(crate::catalog::lookup(id).is_some(), "{id}");
        }
    }

    fn challenge(info: NtlmInfo) -> Observations {
        let mut o = Observations::new(None);
        o.nla = Some(NlaObservation {
            requested: 0x03,
            selected: Some(0x02),
            ts_request_version: Some(3),
            elapsed_ms: 1.0,
            outcome: NlaOutcome::Challenge { info },
        });
        o
    }

    /// The names of the cloudstack capture of a Windows Server 2012 R2 preview in a workgroup
    /// (rdpclient/ntlmssp/ServerNtlmsspChallenge.java): every name field holds the computer name.
    #[test]
    fn a_workgroup_server_has_no_domain() {
        let name = Some("WIN-LO419B2LSR0".to_string());
        let info = NtlmInfo {
            target_name: name.clone(),
            netbios_computer: name.clone(),
            netbios_domain: name.clone(),
            dns_computer: name.clone(),
            dns_domain: name.clone(),
            os_version: Some(OsVersion {
                major: 6,
                minor: 3,
                build: 9431,
            }),
            ..NtlmInfo::default()
        };
        assert!(info.is_workgroup());
        let f = facts(&challenge(info)).expect("facts");
        assert!(f.workgroup);
        assert_eq!(f.domain, None);
        assert_eq!(f.netbios_domain, None);
        assert_eq!(f.netbios_computer, name);
        assert_eq!(
            f.os.as_deref(),
            Some("Windows Server 2012 R2 Preview (build 9431)")
        );
        let json = serde_json::to_value(&f).expect("json");
        assert_eq!(json["workgroup"], true);
    }

    /// The names of the gss-ntlmssp capture of a Windows Server 2008 R2 domain controller
    /// (tests/ntlmssptest.c, T_NTLMv2_CBT).
    #[test]
    fn a_domain_member_keeps_its_domain() {
        let info = NtlmInfo {
            netbios_computer: Some("DC-WS2008R2".to_string()),
            netbios_domain: Some("WS2008R2".to_string()),
            dns_computer: Some("DC-ws2008r2.ws2008r2.local".to_string()),
            dns_domain: Some("ws2008r2.local".to_string()),
            dns_tree: Some("ws2008r2.local".to_string()),
            os_version: Some(OsVersion {
                major: 6,
                minor: 1,
                build: 7600,
            }),
            ..NtlmInfo::default()
        };
        assert!(!info.is_workgroup());
        let f = facts(&challenge(info)).expect("facts");
        assert!(!f.workgroup);
        assert_eq!(f.domain.as_deref(), Some("ws2008r2.local"));
        assert_eq!(f.netbios_domain.as_deref(), Some("WS2008R2"));
        assert_eq!(f.os.as_deref(), Some("Windows Server 2008 R2 (build 7600)"));
        let json = serde_json::to_value(&f).expect("json");
        assert!(json.get("workgroup").is_none());
    }

    #[test]
    fn names_windows_builds() {
        let v = |major, minor, build| OsVersion {
            major,
            minor,
            build,
        };
        let name = |major, minor, build| os_name(v(major, minor, build)).0;
        assert_eq!(name(10, 0, 17763), "Windows Server 2019 (build 17763)");
        assert_eq!(
            os_name(v(10, 0, 17763)).1.as_deref(),
            Some("Windows 10 1809 has the same build")
        );
        assert_eq!(name(10, 0, 20348), "Windows Server 2022 (build 20348)");
        assert_eq!(name(10, 0, 22631), "Windows 11 23H2 (build 22631)");
        assert_eq!(name(6, 1, 7601), "Windows Server 2008 R2 (build 7601)");
        // The releases the table missed: Server 2008 RTM and Server 2008 R2 RTM (the
        // gss-ntlmssp capture of a 2008 R2 domain controller sends 6.1.7600).
        assert_eq!(name(6, 0, 6001), "Windows Server 2008 (build 6001)");
        assert_eq!(
            os_name(v(6, 0, 6001)).1.as_deref(),
            Some("Windows Vista SP1 has the same build")
        );
        assert_eq!(name(6, 1, 7600), "Windows Server 2008 R2 (build 7600)");
        assert_eq!(name(6, 0, 6000), "Windows Vista (build 6000)");
        // Pre-release builds: the cloudstack capture of a 2012 R2 preview sends 6.3.9431.
        assert_eq!(
            name(6, 3, 9431),
            "Windows Server 2012 R2 Preview (build 9431)"
        );
        assert_eq!(
            os_name(v(6, 3, 9431)).1.as_deref(),
            Some("Windows 8.1 Preview has the same build")
        );
        assert_eq!(
            name(6, 2, 8102),
            "a pre-release build of Windows 8 / Server 2012 (version 6.2 build 8102)"
        );
        assert_eq!(
            name(6, 4, 9841),
            "a pre-release build of Windows 10 / Server 2016 (Technical Preview, version 6.4 build 9841)"
        );
        assert_eq!(
            name(10, 0, 9926),
            "a pre-release build of Windows 10 / Server 2016 (version 10.0 build 9926)"
        );
        assert_eq!(
            name(10, 0, 14300),
            "Windows Server 2016 Technical Preview 5 (build 14300)"
        );
        assert_eq!(name(10, 0, 65000), "Windows 10.0 (build 65000)");
        assert_eq!(human_offset(-3725), "1h 02m behind");
        assert_eq!(human_offset(301), "5m 01s ahead");
    }
}
