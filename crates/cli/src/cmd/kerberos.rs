//! `check`'s Kerberos readiness: the `--kdc` and `--kdc-proxy` flags (which the logon's
//! Negotiate uses too), and the one call that runs the readiness checks after the connection
//! probes (they need the server's NTLM CHALLENGE, what the check concluded about interception,
//! and the KDC round trips of the logon, which they do not repeat).

use rdpdoctor_observations::{LogonOutcome, Observations, Target};
use rdpdoctor_probe::kdc::{self, Budget, KdcSpec, ProxyUrl, ReadinessInput};
use rdpdoctor_probe::ProbeOptions;
use std::time::Instant;

#[derive(clap::Args, Debug, Default)]
pub struct KerberosArgs {
    /// The KDC to ask instead of the realm's DNS SRV records (_kerberos._tcp / _kerberos._udp),
    /// for networks without them: HOST or HOST:PORT (port 88 by default). A KDC named here
    /// receives the Kerberos pre-authentication of --user (see "Credentials: the delegation rule")
    #[arg(long, value_name = "HOST[:PORT]", value_parser = KdcSpec::parse)]
    pub kdc: Option<KdcSpec>,
    /// A KDC proxy (MS-KKDCP over HTTPS, as RD Gateway deployments publish one,
    /// https://HOST/KdcProxy) to send every Kerberos request through instead of port 88. Its
    /// certificate must verify against this machine's trust store
    #[arg(long, value_name = "URL", value_parser = ProxyUrl::parse, conflicts_with = "kdc")]
    pub kdc_proxy: Option<ProxyUrl>,
}

/// The Kerberos checks take at most this many per-phase deadlines: SRV lookup, name resolution,
/// the probe, the service probe or the TGT (twice after a clock skew), the service ticket, and a
/// UDP answer too big that moves to TCP.
const PHASES: u32 = 8;

/// Runs the readiness checks for `target` after the connection probes that produced `obs`;
/// `None` when Kerberos does not apply (a workgroup server and no realm or KDC given).
pub(crate) async fn readiness(
    args: &KerberosArgs,
    target: &Target,
    obs: &Observations,
    options: &ProbeOptions,
) -> Option<rdpdoctor_observations::KerberosObservation> {
    let challenge = obs.nla.as_ref().and_then(|n| match &n.outcome {
        rdpdoctor_observations::NlaOutcome::Challenge { info } => Some(info),
        _ => None,
    });
    // The check's own conclusions about the path: the logon withheld its NTLM response, or the
    // server failed to prove the TLS key it showed.
    let interception: Vec<String> = match obs.logon.as_ref().map(|l| &l.outcome) {
        Some(LogonOutcome::Withheld { signs }) => signs.clone(),
        Some(LogonOutcome::PubKeyAuthMismatch { reason }) => {
            vec![format!("the server's pubKeyAuth did not verify ({reason})")]
        }
        _ => Vec::new(),
    };
    let server_proven = obs
        .tls
        .as_ref()
        .and_then(|t| t.identity.as_ref())
        .is_some_and(|i| i.verified_for_target || i.matched_pin.is_some());
    let input = ReadinessInput {
        target,
        challenge,
        credentials: options.credentials.as_deref(),
        kdc: args.kdc.as_ref(),
        kdc_proxy: args.kdc_proxy.as_ref(),
        interception: &interception,
        server_proven,
        // What the logon's Kerberos package already asked the KDC is not asked again.
        logon_exchanges: obs
            .logon
            .as_ref()
            .map(|l| l.kdc_exchanges.as_slice())
            .unwrap_or_default(),
        budget: Budget::new(
            options.timeout,
            Some(Instant::now() + options.timeout * PHASES),
        ),
    };
    kdc::readiness(&input).await
}
