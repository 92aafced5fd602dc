//! One negotiation connection of `check` (the I/O of a [`Job`] the plan in `schedule.rs` asked
//! for): an X.224 request, then, by what the server selected, a TLS handshake pinned to the job's
//! version (with the NTLM CHALLENGE on it when CredSSP was selected and nobody read it yet), or
//! an MCS Connect Initial with the job's Standard RDP Security offer.

use crate::host::Host;
use crate::open::{open, Open, Opening, Stream, Upgrade};
use crate::route::{ByteStream, Dialed};
use crate::schedule::{without_tls, Job, JobResult};
use crate::{elapsed_ms, tcp_info};
use rdpdoctor_observations::{
    protocol, NegotiationAttempt, NegotiationOutcome, RdpSecurityAttempt, TlsAttempt,
};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

/// One connection: an X.224 request (on `first`, the connection that proved the port open, when
/// given), then TLS (and maybe the NTLM CHALLENGE) or an MCS offer, by what the server selected.
pub(crate) async fn run_job(
    host: &Host,
    job: Job,
    first: Option<Dialed>,
    nla_taken: &AtomicBool,
) -> JobResult {
    let t = Instant::now();
    let mut opening = Opening::new(job.requested).on(first);
    if let Some(version) = job.tls {
        opening = opening.with_tls(Upgrade::pinned(version));
    }
    let opened = open(host, opening).await;
    let answer = match &opened.reached {
        Ok(a) => a,
        Err(failure) => {
            let outcome = NegotiationOutcome::Route(failure.clone());
            return without_tls(job, elapsed_ms(t), outcome);
        }
    };
    let (outcome, negotiation_ms) = (answer.outcome.clone(), answer.elapsed_ms);
    let sample =
        |s: Option<tcp_info::Sampler>| host.note_tcp_info(s.and_then(tcp_info::Sampler::sample));
    // The slot is held until the connection ends, with the rest of it.
    let Open {
        slot: _slot,
        handshake,
        stream,
        sampler,
        ..
    } = opened;
    let stream = match (job.mcs, standard_rdp(&outcome), stream) {
        (Some(offered), true, Some(Stream::Plain(plain))) => {
            return standard_rdp_offer(
                host,
                job,
                (outcome, negotiation_ms),
                plain,
                offered,
                sampler,
            )
            .await
        }
        (_, _, stream) => stream,
    };
    let (Some(version), Some(hs)) = (job.tls, handshake) else {
        sample(sampler);
        return without_tls(job, negotiation_ms, outcome);
    };
    let selected = outcome.selected().unwrap_or(protocol::RDP);
    let negotiation = NegotiationAttempt {
        requested: job.requested,
        elapsed_ms: negotiation_ms,
        outcome,
        implied_by: None,
    };
    // The NTLM CHALLENGE rides on the first CredSSP connection whose handshake completes.
    let mut nla = None;
    let mut tls = match stream {
        Some(Stream::Tls(t)) => Some(t),
        _ => None,
    };
    let carries_nla =
        tls.is_some() && protocol::is_credssp(selected) && !nla_taken.swap(true, Ordering::SeqCst);
    if !carries_nla {
        if let Some(t) = tls.as_mut() {
            crate::tls::close(t).await;
        }
    }
    sample(sampler);
    if let (true, Some(t)) = (carries_nla, tls.as_mut()) {
        nla = Some(crate::nla::challenge_on(t, host, job.requested, selected).await);
    }
    let attempt = TlsAttempt {
        version,
        requested: job.requested,
        elapsed_ms: hs.elapsed_ms,
        outcome: hs.outcome,
    };
    JobResult {
        job,
        negotiation,
        tls: Some((attempt, hs.chain)),
        rdp_security: None,
        nla,
    }
}

/// A job whose answer allows Standard RDP Security: the MCS Connect Initial offering `offered`
/// on the same connection.
async fn standard_rdp_offer(
    host: &Host,
    job: Job,
    (outcome, negotiation_ms): (NegotiationOutcome, f64),
    mut plain: Box<dyn ByteStream>,
    offered: u32,
    sampler: Option<tcp_info::Sampler>,
) -> JobResult {
    let m = Instant::now();
    let answer =
        crate::rdp_security::mcs_exchange(&mut plain, offered, job.requested, host.timeout()).await;
    host.note_tcp_info(sampler.and_then(tcp_info::Sampler::sample));
    let mut result = without_tls(job, negotiation_ms, outcome);
    result.rdp_security = Some(RdpSecurityAttempt {
        offered,
        elapsed_ms: elapsed_ms(m),
        outcome: answer,
    });
    result
}

/// Whether an answer lets the connection go on with Standard RDP Security.
fn standard_rdp(outcome: &NegotiationOutcome) -> bool {
    matches!(
        outcome,
        NegotiationOutcome::Selected {
            protocol: protocol::RDP,
            ..
        } | NegotiationOutcome::NoNegotiationData
    )
}
