//! Which package a Windows client's Negotiate would use for CredSSP, given what the KDC answered:
//! Kerberos when it can get a ticket for TERMSRV/<name>, NTLM when Kerberos is not possible for
//! this target ("Microsoft Negotiate": no ticket for an address, no SPN, no KDC, a clock the KDC
//! refuses, as issue 25 describes Windows), and neither when Kerberos fails in a way Negotiate
//! does not fall back from (a wrong password, a revoked account, no common encryption type).
//! Recorded with the checks, as the logon's own package is: it is the outcome of the client's
//! selection, not a finding.

use rdpdoctor_observations::{
    KdcOutcome, KdcStep, KerberosObservation, Package, PackageChoice, PackageReason, SrvOutcome,
};
use rdpdoctor_wire::kerberos::{code, etype_name, is_aes};

/// Kerberos's default tolerance between clocks (RFC 4120 5.9.1; Windows' "Maximum tolerance for
/// computer clock synchronization", 5 minutes).
pub const SKEW_TOLERANCE_SECS: f64 = 300.0;

fn choice(package: Package, reason: PackageReason, detail: String) -> PackageChoice {
    PackageChoice {
        package,
        reason,
        detail,
    }
}

/// The package and why; `address` is whether the target was an IP address, `note` a local
/// problem the checks met (an AS-REP that could not be read).
pub(crate) fn decide(
    obs: &KerberosObservation,
    address: bool,
    note: Option<&str>,
) -> PackageChoice {
    use PackageReason as R;
    let realm = obs.realm.as_deref().unwrap_or_default();
    if address {
        let by_name = match (&obs.spn, service_known(obs)) {
            (Some(spn), Some(true)) => format!("; by its name the KDC knows {spn}"),
            (Some(spn), Some(false)) => format!("; the KDC does not know {spn} either"),
            _ => String::new(),
        };
        return choice(
            Package::Ntlm,
            R::AddressTarget,
            format!("address target: a client asks for no service ticket for TERMSRV/<address>, so NTLM{by_name}"),
        );
    }
    if obs.kdc_proxy.is_none() && obs.kdcs.iter().all(|k| k.addresses.is_empty()) {
        return choice(Package::Ntlm, R::KdcNotFound, not_found(obs, realm));
    }
    let Some(probe) = obs.probe_answer() else {
        if obs.steps(KdcStep::Probe).next().is_none() {
            return choice(
                Package::Ntlm,
                R::Undetermined,
                "no account to ask the KDC about (no --user, and the server's NTLM CHALLENGE names no computer)".to_string(),
            );
        }
        let detail = match &obs.kdc_proxy {
            Some(url) => format!("the KDC proxy {url} gave no Kerberos answer, so no ticket: NTLM"),
            None => format!("no KDC of {realm} answered on 88/UDP or 88/TCP, so no ticket: NTLM"),
        };
        return choice(Package::Ntlm, R::KdcUnreachable, detail);
    };
    // The KDC's own word on the pre-authenticated request first, then what the probe implies.
    if let Some(c) = tgt_problem(obs) {
        return c;
    }
    if let Some(c) = account_problem(obs, probe.outcome.error().map(|e| e.code)) {
        return c;
    }
    if let Some(offset) = obs
        .kdc_clock_offset()
        .filter(|o| o.abs() > SKEW_TOLERANCE_SECS)
    {
        return choice(
            Package::Ntlm,
            R::ClockSkew,
            format!("the KDC's clock is {offset:+.0} s from this machine's, beyond Kerberos's 300 s: Kerberos fails (KRB_AP_ERR_SKEW), so no ticket: NTLM"),
        );
    }
    if let Some(c) = service_outcome(obs) {
        return c;
    }
    match note {
        Some(n) => choice(Package::Ntlm, R::Undetermined, n.to_string()),
        None => choice(
            Package::Ntlm,
            R::Undetermined,
            "the checks did not get far enough to tell".to_string(),
        ),
    }
}

fn not_found(obs: &KerberosObservation, realm: &str) -> String {
    if let Some(k) = obs.kdcs.iter().find(|k| k.resolve_error.is_some()) {
        return format!(
            "the KDC {} does not resolve ({}), so no ticket: NTLM",
            k.name,
            k.resolve_error.as_deref().unwrap_or_default()
        );
    }
    let timed_out = obs.srv.iter().all(|l| l.outcome == SrvOutcome::TimedOut);
    if timed_out && !obs.srv.is_empty() {
        return format!(
            "no resolver answered the SRV queries for {realm}, so no KDC and no ticket: NTLM"
        );
    }
    format!("no KDC for realm {realm}: no _kerberos._tcp or _kerberos._udp SRV records, so no ticket: NTLM")
}

/// The probe's verdict on the account itself.
fn account_problem(obs: &KerberosObservation, probe_code: Option<u32>) -> Option<PackageChoice> {
    use PackageReason as R;
    let who = obs.client.as_deref().unwrap_or("the account");
    let c = match probe_code {
        None | Some(code::KDC_ERR_PREAUTH_REQUIRED) => {
            let etypes = obs
                .probe_answer()?
                .outcome
                .error()
                .map(|e| e.etypes.clone())?;
            // The probe offers AES only; the KDC lists the account's keys of those types in
            // ETYPE-INFO2 (Heimdal sends none when there is none). A TGT obtained after all
            // (a KDC that left ETYPE-INFO2 out) overrules the inference.
            let got_tgt = obs.exchanges.iter().any(|e| {
                matches!(e.step, KdcStep::Tgt | KdcStep::TgtRetry)
                    && matches!(e.outcome, KdcOutcome::Ticket { .. })
            });
            if got_tgt || etypes.iter().any(|e| is_aes(*e)) {
                return None;
            }
            let listed = if etypes.is_empty() {
                "no key of an AES type (its ETYPE-INFO2 lists none)".to_string()
            } else {
                let names: Vec<&str> = etypes.iter().map(|e| etype_name(*e)).collect();
                format!("keys only of {}", names.join(", "))
            };
            choice(
                Package::None,
                R::EtypeUnsupported,
                format!("the KDC has {listed} for {who}: an AES-only client gets no ticket"),
            )
        }
        Some(code::KDC_ERR_C_PRINCIPAL_UNKNOWN) => choice(
            Package::Ntlm,
            R::ClientUnknown,
            format!(
                "the KDC does not know {who} (KDC_ERR_C_PRINCIPAL_UNKNOWN), so no ticket: NTLM"
            ),
        ),
        Some(code::KDC_ERR_ETYPE_NOSUPP) => choice(
            Package::None,
            R::EtypeUnsupported,
            format!("the KDC has no key of an AES type for {who} (KDC_ERR_ETYPE_NOSUPP)"),
        ),
        Some(code::KDC_ERR_CLIENT_REVOKED) => choice(
            Package::None,
            R::ClientRevoked,
            format!(
                "the KDC refuses {who}: disabled, locked out or expired (KDC_ERR_CLIENT_REVOKED)"
            ),
        ),
        Some(other) => choice(
            Package::Ntlm,
            R::KdcError,
            format!("the KDC answered error {other} to a request for {who}"),
        ),
    };
    Some(c)
}

/// What the AS-REQ with pre-authentication got, when it was sent.
fn tgt_problem(obs: &KerberosObservation) -> Option<PackageChoice> {
    use PackageReason as R;
    let tgt = obs
        .exchanges
        .iter()
        .rev()
        .find(|e| matches!(e.step, KdcStep::Tgt | KdcStep::TgtRetry) && e.outcome.answered())?;
    let code = tgt.outcome.error()?.code;
    let who = obs.client.as_deref().unwrap_or("the account");
    Some(match code {
        code::KDC_ERR_PREAUTH_FAILED => choice(
            Package::None,
            R::PreauthFailed,
            format!("the KDC refused the pre-authentication of {who}: wrong password (KDC_ERR_PREAUTH_FAILED)"),
        ),
        code::KRB_AP_ERR_SKEW => choice(
            Package::Ntlm,
            R::ClockSkew,
            "the KDC refused the pre-authentication's time (KRB_AP_ERR_SKEW), so no ticket: NTLM"
                .to_string(),
        ),
        code::KDC_ERR_ETYPE_NOSUPP => choice(
            Package::None,
            R::EtypeUnsupported,
            format!("no AES key for {who} (KDC_ERR_ETYPE_NOSUPP)"),
        ),
        code::KDC_ERR_CLIENT_REVOKED => choice(
            Package::None,
            R::ClientRevoked,
            format!("the KDC refuses {who}: disabled, locked out or expired (KDC_ERR_CLIENT_REVOKED)"),
        ),
        other => choice(
            Package::None,
            R::KdcError,
            format!("the KDC answered error {other} to the pre-authenticated request of {who}"),
        ),
    })
}

/// Whether the KDC knows the SPN: from the service ticket, else the service probe.
fn service_known(obs: &KerberosObservation) -> Option<bool> {
    let answer = obs
        .answer(KdcStep::ServiceTicket)
        .or_else(|| obs.answer(KdcStep::ServiceProbe))?;
    match &answer.outcome {
        KdcOutcome::Error { error, .. } => match error.code {
            code::KDC_ERR_S_PRINCIPAL_UNKNOWN => Some(false),
            code::KDC_ERR_PREAUTH_REQUIRED => Some(true),
            _ => None,
        },
        KdcOutcome::Ticket { .. } => Some(true),
        _ => None,
    }
}

fn service_outcome(obs: &KerberosObservation) -> Option<PackageChoice> {
    use PackageReason as R;
    let spn = obs.spn.as_deref().unwrap_or("TERMSRV/<name>");
    if let Some(t) = obs.answer(KdcStep::ServiceTicket) {
        return Some(match &t.outcome {
            KdcOutcome::Ticket { ticket_etype, .. } => choice(
                Package::Kerberos,
                R::TicketIssued,
                format!(
                    "the KDC issued a ticket for {spn}{}",
                    ticket_etype
                        .map(|e| format!(" ({})", etype_name(e)))
                        .unwrap_or_default()
                ),
            ),
            KdcOutcome::Error { error, .. } => match error.code {
                code::KDC_ERR_S_PRINCIPAL_UNKNOWN => spn_missing(spn),
                code::KDC_ERR_ETYPE_NOSUPP => choice(
                    Package::None,
                    R::EtypeUnsupported,
                    format!(
                        "the KDC has no AES key for the account of {spn} (KDC_ERR_ETYPE_NOSUPP)"
                    ),
                ),
                other => choice(
                    Package::Ntlm,
                    R::KdcError,
                    format!("the KDC answered error {other} to the request for {spn}"),
                ),
            },
            _ => return None,
        });
    }
    match service_known(obs)? {
        false => Some(spn_missing(spn)),
        true => Some(choice(
            Package::Kerberos,
            R::Ready,
            format!("the KDC answers, knows {spn} and its clock is within tolerance (the ticket itself was not asked for without the pre-authentication)"),
        )),
    }
}

fn spn_missing(spn: &str) -> PackageChoice {
    choice(
        Package::Ntlm,
        PackageReason::SpnMissing,
        format!("no SPN {spn}: KDC_ERR_S_PRINCIPAL_UNKNOWN, so no ticket: NTLM"),
    )
}
