//! kerberos-kdc-not-found, kerberos-kdc-unreachable, kerberos-spn-missing, kerberos-clock-skew,
//! kerberos-preauth-failed, kerberos-etype-unsupported and kerberos-not-used, from the Kerberos
//! readiness checks (`observations.kerberos`): what the realm's KDC answered to the requests a
//! Windows client makes before it can put Kerberos in CredSSP. Every finding quotes the KDC's own
//! answer (or its silence) as evidence; none is raised from an inference the KDC could have
//! contradicted but was not asked. When the server refused the NTLM logon (ntlm-blocked, raised by
//! the NLA rule), the Kerberos findings that explain why the logon fell back to NTLM become
//! blocking, and ntlm-blocked says what Kerberos would have done.

use super::{finding, Vars};
use crate::model::{Finding, Severity};
use crate::FindingId;
use rdpdoctor_codes::Family;
use rdpdoctor_observations::{
    KdcExchange, KdcOutcome, KdcSource, KdcStep, KerberosObservation, LogonObservation,
    Observations, Package, PackageReason, Preauth, SrvOutcome,
};

/// Kerberos's default tolerance between clocks (RFC 4120 5.9.1; Windows' "Maximum tolerance for
/// computer clock synchronization").
const SKEW_TOLERANCE_SECS: f64 = 300.0;

/// RFC 4120 7.5.9 numbers the rules name.
const S_PRINCIPAL_UNKNOWN: u32 = 7;
const ETYPE_NOSUPP: u32 = 14;
const PREAUTH_FAILED: u32 = 24;
const AP_ERR_SKEW: u32 = 37;

pub(super) fn check(obs: &Observations, vars: &Vars, out: &mut Vec<Finding>) {
    let Some(k) = &obs.kerberos else {
        return;
    };
    let mut found = Vec::new();
    kdc(k, vars, &mut found);
    account(k, vars, &mut found);
    service(k, vars, &mut found);
    skew(k, obs.logon.as_ref(), vars, &mut found);
    if let Some(f) = not_used(k, vars, &found) {
        found.push(f);
    }
    blocked(k, obs.logon.as_ref(), out, &mut found);
    stopped(obs.logon.as_ref(), &mut found);
    out.extend(found);
}

/// The name of Kerberos error `code` (RFC 4120 7.5.9) with its number.
fn krb(code: u32) -> String {
    match rdpdoctor_codes::lookup(Family::Kerberos, code) {
        Some(e) => format!("{} (0x{code:X})", e.name),
        None => format!("Kerberos error {code} (0x{code:X})"),
    }
}

/// Where an exchange went, as evidence shows it.
fn place(e: &KdcExchange) -> String {
    match e.address {
        Some(a) if a.ip().to_string() != e.kdc => {
            format!("{} ({a}) over {}", e.kdc, e.transport.label())
        }
        Some(a) => format!("{a} over {}", e.transport.label()),
        None => format!("{} ({})", e.kdc, e.transport.label()),
    }
}

/// One line for an exchange: what was asked, where, and what came back.
pub fn exchange_line(e: &KdcExchange) -> String {
    let asked = format!("{} for {} as {}", e.request, e.service, e.client);
    let preauth = if e.preauth {
        " with pre-authentication"
    } else {
        ""
    };
    let answer = match &e.outcome {
        KdcOutcome::Ticket {
            message,
            ticket_etype,
            ..
        } => format!(
            "{message}{}",
            ticket_etype
                .map(|t| format!(", ticket {}", etype_label(t)))
                .unwrap_or_default()
        ),
        KdcOutcome::Error { error, .. } => {
            let mut s = krb(error.code);
            if let Some(t) = &error.e_text {
                s.push_str(&format!(" \"{t}\""));
            }
            if !error.etypes.is_empty() {
                let keys: Vec<String> = error.etypes.iter().map(|t| etype_label(*t)).collect();
                s.push_str(&format!(", account keys {}", keys.join(", ")));
            }
            if let Some(nt) = error.nt_status {
                s.push_str(&format!(", extended status 0x{nt:08X}"));
            }
            s
        }
        KdcOutcome::TimedOut { phase } => format!("no answer ({phase} timed out)"),
        KdcOutcome::Refused => "refused".to_string(),
        KdcOutcome::Unreachable { error } => format!("unreachable ({error})"),
        KdcOutcome::Closed { bytes, reset } => format!(
            "{} after {bytes} bytes",
            if *reset { "reset" } else { "closed" }
        ),
        KdcOutcome::Malformed { reason, .. } => format!("an answer that is not Kerberos: {reason}"),
        KdcOutcome::Failed { reason } => reason.clone(),
    };
    format!(
        "{asked}{preauth} to {}: {answer} ({:.1} ms)",
        place(e),
        e.elapsed_ms
    )
}

fn etype_label(n: i32) -> String {
    let name = match n {
        17 => "aes128-cts-hmac-sha1-96",
        18 => "aes256-cts-hmac-sha1-96",
        23 => "rc4-hmac",
        _ => return format!("encryption type {n}"),
    };
    name.to_string()
}

fn realm_line(k: &KerberosObservation) -> String {
    let source = match k.realm_source {
        rdpdoctor_observations::RealmSource::UserPrincipal => "from the user name (user@REALM)",
        rdpdoctor_observations::RealmSource::UserDomain => "from the user's domain",
        rdpdoctor_observations::RealmSource::NtlmChallenge => {
            "from the DNS domain in the server's NTLM CHALLENGE"
        }
        rdpdoctor_observations::RealmSource::None => "none found",
    };
    format!(
        "realm {} ({source})",
        k.realm.as_deref().unwrap_or("(none)")
    )
}

/// kerberos-kdc-not-found and kerberos-kdc-unreachable.
fn kdc(k: &KerberosObservation, vars: &Vars, out: &mut Vec<Finding>) {
    // The KDC search ran (kdc_source is set) and found no address to ask.
    let none_found = k.kdc_source.is_some()
        && k.kdc_proxy.is_none()
        && k.kdcs.iter().all(|d| d.addresses.is_empty());
    if none_found {
        let mut ev = vec![realm_line(k)];
        for l in &k.srv {
            let what = match &l.outcome {
                SrvOutcome::Records { records } => format!("{} record(s)", records.len()),
                SrvOutcome::NoRecords { rcode: 3 } => "NXDOMAIN (no such name)".to_string(),
                SrvOutcome::NoRecords { rcode } => format!("no records (rcode {rcode})"),
                SrvOutcome::TimedOut => "no answer".to_string(),
                SrvOutcome::Error { error } => error.clone(),
            };
            ev.push(format!("SRV {} asked of {}: {what}", l.name, l.resolver));
        }
        for d in k.kdcs.iter().filter(|d| d.addresses.is_empty()) {
            ev.push(format!(
                "the KDC {} does not resolve: {}",
                d.name,
                d.resolve_error.as_deref().unwrap_or("no address")
            ));
        }
        ev.push(format!(
            "so the logon cannot get a ticket and uses NTLM ({})",
            k.package.detail
        ));
        out.push(finding(FindingId::KerberosKdcNotFound, vars, ev));
        return;
    }
    let probes: Vec<&KdcExchange> = k.steps(KdcStep::Probe).collect();
    if !probes.is_empty() && probes.iter().all(|e| !e.outcome.answered()) {
        let mut ev = vec![realm_line(k)];
        ev.extend(probes.iter().map(|e| exchange_line(e)));
        if k.kdc_source == Some(KdcSource::Srv) {
            ev.push("the KDC's name came from the realm's SRV records: DNS reaches the domain, Kerberos does not".to_string());
        }
        ev.push("so the logon cannot get a ticket and uses NTLM".to_string());
        out.push(finding(FindingId::KerberosKdcUnreachable, vars, ev));
    }
}

/// kerberos-preauth-failed and kerberos-etype-unsupported for the account.
fn account(k: &KerberosObservation, vars: &Vars, out: &mut Vec<Finding>) {
    let tgt: Vec<&KdcExchange> = k
        .exchanges
        .iter()
        .filter(|e| matches!(e.step, KdcStep::Tgt | KdcStep::TgtRetry))
        .collect();
    let code_of = |e: &&KdcExchange| e.outcome.error().map(|x| x.code);
    if let Some(e) = tgt.iter().find(|e| code_of(e) == Some(PREAUTH_FAILED)) {
        let ev = vec![
            exchange_line(e),
            format!("the password given for {} is not the account's", e.client),
        ];
        out.push(finding(FindingId::KerberosPreauthFailed, vars, ev));
    }
    let refused = tgt.iter().find(|e| code_of(e) == Some(ETYPE_NOSUPP));
    let inferred = k.package.reason == PackageReason::EtypeUnsupported && refused.is_none();
    if let Some(e) = refused {
        let mut ev = vec![exchange_line(e)];
        if let Some(p) = k.probe_answer() {
            ev.push(format!("before it, {}", exchange_line(p)));
        }
        ev.push(format!(
            "{} has no AES key: its password was last set before the domain had AES keys, or it is limited to RC4",
            e.client
        ));
        out.push(finding(FindingId::KerberosEtypeUnsupported, vars, ev));
    } else if inferred && k.answer(KdcStep::ServiceTicket).is_none() {
        let mut ev: Vec<String> = k.probe_answer().map(exchange_line).into_iter().collect();
        ev.push(k.package.detail.clone());
        out.push(finding(FindingId::KerberosEtypeUnsupported, vars, ev));
    }
}

/// kerberos-spn-missing, and kerberos-etype-unsupported for the service's account.
fn service(k: &KerberosObservation, vars: &Vars, out: &mut Vec<Finding>) {
    let answer = k
        .answer(KdcStep::ServiceTicket)
        .or_else(|| k.answer(KdcStep::ServiceProbe));
    let Some(e) = answer else {
        return;
    };
    let Some(code) = e.outcome.error().map(|x| x.code) else {
        return;
    };
    let spn = k.spn.as_deref().unwrap_or("TERMSRV/<name>");
    if code == S_PRINCIPAL_UNKNOWN {
        let mut ev = vec![exchange_line(e)];
        if !k.spn_is_typed_name {
            ev.push(format!(
                "the target was an address; {spn} is the server's own DNS name from its NTLM CHALLENGE, and even by that name there is no ticket"
            ));
        }
        ev.push(format!(
            "no account holds {spn}, so a client connecting by this name uses NTLM"
        ));
        out.push(finding(FindingId::KerberosSpnMissing, vars, ev));
    } else if code == ETYPE_NOSUPP && e.step == KdcStep::ServiceTicket {
        let ev = vec![
            exchange_line(e),
            format!("the account that holds {spn} allows no AES type (msDS-SupportedEncryptionTypes), so the KDC would issue an RC4 ticket, which an AES-only client refuses"),
        ];
        out.push(finding(FindingId::KerberosEtypeUnsupported, vars, ev));
    }
}

/// kerberos-clock-skew: the KDC's clock (stime of its KRB-ERROR) against ours.
fn skew(
    k: &KerberosObservation,
    logon: Option<&LogonObservation>,
    vars: &Vars,
    out: &mut Vec<Finding>,
) {
    let Some(offset) = k
        .kdc_clock_offset()
        .filter(|o| o.abs() > SKEW_TOLERANCE_SECS)
    else {
        return;
    };
    let first = k.exchanges.iter().find(|e| e.outcome.error().is_some());
    let mut ev = vec![format!(
        "the KDC's clock is {:+.0} s from this machine's ({}), beyond the 300 s Kerberos allows",
        offset,
        if offset < 0.0 { "behind" } else { "ahead" }
    )];
    if let (Some(e), Some(err)) = (first, first.and_then(|e| e.outcome.error())) {
        ev.push(format!(
            "from the KDC's time in its answer (stime {}) to {} at {}",
            err.kdc_time,
            e.request,
            place(e)
        ));
    }
    if let Some(e) = k
        .exchanges
        .iter()
        .find(|e| e.outcome.error().map(|x| x.code) == Some(AP_ERR_SKEW))
    {
        ev.push(exchange_line(e));
        if k.exchanges.iter().any(|x| x.step == KdcStep::TgtRetry) {
            ev.push("rdpdoctor then retried with the KDC's time (as MIT kinit and sspi do) to check the rest; a client that does not correct its clock fails here".to_string());
        }
    }
    let mut f = finding(FindingId::KerberosClockSkew, vars, ev);
    // The logon fell back to NTLM for it, and the server accepted NTLM: clients connect (with
    // NTLM); where NTLM is refused, ntlm-blocked makes this blocking again.
    let fell_back = logon.is_some_and(|l| {
        matches!(l.outcome, rdpdoctor_observations::LogonOutcome::Accepted)
            && l.choice
                .as_ref()
                .is_some_and(|c| c.package == Package::Ntlm && c.reason == PackageReason::ClockSkew)
    });
    if fell_back {
        f.severity = Severity::Warning;
        f.evidence.push(
            "the logon fell back to NTLM for it, and the server accepted NTLM: clients connect, without Kerberos".to_string(),
        );
    }
    out.push(f);
}

/// kerberos-not-used (info): the package is NTLM for a reason no other finding names.
fn not_used(k: &KerberosObservation, vars: &Vars, found: &[Finding]) -> Option<Finding> {
    if k.package.package != Package::Ntlm || !found.is_empty() {
        return None;
    }
    let mut ev = vec![format!("Kerberos not used: {}", k.package.detail)];
    ev.push(realm_line(k));
    if let Preauth::Withheld { reason } = &k.preauth {
        ev.push(format!("pre-authentication not sent: {reason}"));
    }
    let mut f = finding(FindingId::KerberosNotUsed, vars, ev);
    f.severity = Severity::Info;
    Some(f)
}

/// When the logon's Kerberos failed where Negotiate does not fall back to NTLM (a wrong
/// password, no common encryption type), the finding that names the KDC's refusal is why the
/// account cannot log on: blocking, as a refused password is.
fn stopped(logon: Option<&LogonObservation>, found: &mut [Finding]) {
    let Some(choice) = logon
        .and_then(|l| l.choice.as_ref())
        .filter(|c| c.package == Package::None)
    else {
        return;
    };
    let id = match choice.reason {
        PackageReason::PreauthFailed => FindingId::KerberosPreauthFailed,
        PackageReason::EtypeUnsupported => FindingId::KerberosEtypeUnsupported,
        PackageReason::ClockSkew => FindingId::KerberosClockSkew,
        _ => return,
    };
    for f in found.iter_mut().filter(|f| f.id == id.as_str()) {
        f.severity = Severity::Blocking;
        f.evidence.push(format!(
            "the logon stopped here, before the server saw a token: {}",
            choice.detail
        ));
    }
}

/// When the server refused the NTLM logon: the Kerberos findings that explain the fallback are
/// blocking, and ntlm-blocked says what Kerberos would have done here.
fn blocked(
    k: &KerberosObservation,
    logon: Option<&LogonObservation>,
    out: &mut [Finding],
    found: &mut [Finding],
) {
    let Some(b) = out
        .iter_mut()
        .find(|f| f.id == FindingId::NtlmBlocked.as_str())
    else {
        return;
    };
    // The logon's own negotiation says why it used NTLM; the readiness checks what a Windows
    // client would do (the same, unless the logon was configured to NTLM only).
    let negotiated = logon
        .and_then(|l| l.choice.as_ref())
        .filter(|c| c.package == Package::Ntlm);
    let line = match (negotiated, k.package.package) {
        // The readiness checks' detail, when they agree on the reason, says more (by address:
        // whether the name would have worked).
        (Some(c), _) => format!(
            "the logon fell back to NTLM because Kerberos was not possible: {}",
            if k.package.reason == c.reason {
                &k.package.detail
            } else {
                &c.detail
            }
        ),
        (None, Package::Kerberos) => format!(
            "Kerberos would work here ({}); this logon used NTLM only (as configured), so connect with a Kerberos client (mstsc by this name) to log on",
            k.package.detail
        ),
        (None, _) => format!(
            "the logon fell back to NTLM because Kerberos was not possible: {}",
            k.package.detail
        ),
    };
    b.evidence.push(line);
    for f in found.iter_mut().filter(|f| f.severity == Severity::Warning) {
        f.severity = Severity::Blocking;
        f.evidence.push(
            "the server refuses NTLM (ntlm-blocked), so this is why the logon fails".to_string(),
        );
    }
}
