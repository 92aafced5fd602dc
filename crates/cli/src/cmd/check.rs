//! `rdpdoctor check HOST`: probe, diagnose, render.

use super::output::{OutputArgs, OutputFormat, Renderer};
use super::DiagnosisOptions;
use crate::{render, usage_error};
use rdpdoctor_observations::{CertPin, Target, DEFAULT_PORT};
use rdpdoctor_probe::{Credentials, ProbeOptions, Trust};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use zeroize::Zeroizing;

#[derive(clap::Args, Debug)]
pub struct CheckArgs {
    /// HOST, HOST:PORT, an IPv4 address, [IPv6]:PORT or a bare IPv6 address (port 3389 by
    /// default), or an .rdp file: the check then connects the way that file's client would
    pub target: String,
    /// Connect the way this .rdp file's client would (gateway, user, routing token, redirection),
    /// to the target given, and name a setting of the file that cannot work with the server
    #[arg(long, value_name = "FILE")]
    pub rdp_file: Option<PathBuf>,
    #[command(flatten)]
    pub probe: super::ProbeArgs,
    /// Also write the observations to FILE (replay with `rdpdoctor diagnose FILE`)
    #[arg(long, value_name = "FILE")]
    pub save: Option<PathBuf>,
    /// Also log on as USER (DOMAIN\\user, user@domain or user) with NLA up to the server's verdict on
    /// the credentials; nothing is delegated. The password comes from the environment variable
    /// RDPDOCTOR_PASSWORD, or from a prompt without echo when stdin is a terminal (there is no
    /// password flag)
    #[arg(long, value_name = "USER")]
    pub user: Option<String>,
    /// Go on through a complete connection (MCS, channels, Client Info, licensing, capabilities)
    /// until the session is up or the server ends it, and report the phase reached and the
    /// server's codes (Set Error Info, Disconnect Provider Ultimatum, redirection, licensing).
    /// With --user this DELEGATES the credentials as a real client does (CredSSP TSCredentials
    /// and the Client Info PDU), but only over a channel whose server identity is proven: NLA
    /// with a verified pubKeyAuth, or TLS whose certificate verifies for HOST against the system
    /// trust store or matches --cert-sha256 (or with --trust-any-cert); never over Standard RDP
    /// Security at encryption level None. Without --user it works against servers that need no
    /// NLA
    #[arg(long)]
    pub full: bool,
    /// Pin the server's identity: the SHA-256 of its certificate (leaf:, the default, as the
    /// report shows it), of an issuing CA certificate it sends in its chain (ca:; every
    /// certificate that CA issued), or of its public key (spki:; survives a renewal that keeps the
    /// key). May be given several times (the nodes of a farm). A matching certificate proves the
    /// server: no interception sign, --user logs on, --full --user delegates; any other is a sign
    #[arg(long, value_name = "[leaf:|ca:|spki:]HEX")]
    pub cert_sha256: Vec<String>,
    /// The TLS terminator you run in front of the server on purpose (a PAM proxy, a bastion that
    /// re-terminates TLS), by the SHA-256 of its certificate (leaf:), of its issuing CA (ca:) or of
    /// its key (spki:); may be repeated. It is reported as expected-terminator (info) and what it
    /// does is no interception sign; another terminator is one
    #[arg(long, value_name = "[leaf:|ca:|spki:]HEX")]
    pub expect_terminator: Vec<String>,
    /// With --full --user: delegate the credentials even when nothing proves who the server is
    /// (an unverified TLS certificate, Standard RDP Security above level None). Anyone in the
    /// path can then read the password
    #[arg(long)]
    pub trust_any_cert: bool,
    /// Also enumerate the cipher suites and groups of every TLS version that completes (at most
    /// 40 more connections, 4 at a time) and show which client profiles can connect: a table of
    /// client, outcome and why (`clients[]` in JSON; finding clients-fail)
    #[arg(long)]
    pub clients: bool,
    /// With --full: once the session is up (the logon screen without --user, the desktop with
    /// it), keep it open SECONDS as an idle client (no input; it answers only what the protocol
    /// requires), then disconnect, and report how and when it ended (held, a server code, or a
    /// drop by the path: session-dropped). The check's overall deadline grows by SECONDS
    #[arg(long, value_name = "SECONDS", requires = "full")]
    pub hold: Option<f64>,
    /// Also probe the RDP UDP transport (MS-RDPEUDP): once TCP answered, one SYN datagram to the
    /// server's UDP port (one retry when nothing comes back, never more), and report what answered:
    /// a SYN+ACK (version, MTUs), nothing, ICMP unreachable (and from whom), or a reply a client must
    /// refuse (finding udp-transport-unavailable, info; `facts.udp` in JSON). Off by default: an
    /// answered SYN is as large as the request (a reflection vector to be careful with), and a silent
    /// port costs the wait (ten connect times, 0.5 to 2.5 s, per datagram)
    #[arg(long)]
    pub udp: bool,
    /// With --udp: the UDP port to probe (default: the TCP port of the target)
    #[arg(long, value_name = "PORT", requires = "udp", value_parser = clap::value_parser!(u16).range(1..))]
    pub udp_port: Option<u16>,
    #[command(flatten)]
    pub kerberos: super::kerberos::KerberosArgs,
    #[command(flatten)]
    pub gateway: super::gateway::GatewayArgs,
    #[command(flatten)]
    pub output: OutputArgs,
    /// With --format nagios: CRITICAL when the certificate expires within this many days
    #[arg(long, value_name = "DAYS", default_value_t = 7, value_parser = clap::value_parser!(i64).range(0..=3650))]
    pub cert_crit_days: i64,
    #[command(flatten)]
    pub known: crate::known_certs::KnownCertsArgs,
    #[command(flatten)]
    pub diagnosis: DiagnosisOptions,
}

pub use super::password::PASSWORD_ENV;

/// Why `--password` is refused.
pub const PASSWORD_FLAG_REFUSED: &str = "there is no --password flag: a password on the command line shows in the process list and in shell history. Use --user USER and put the password in the environment variable RDPDOCTOR_PASSWORD, or type it at the prompt";

/// The password for `user`: RDPDOCTOR_PASSWORD, else a prompt without echo on the terminal.
fn password_for(user: &str) -> Result<Zeroizing<String>, String> {
    super::password::password_from(PASSWORD_ENV, "--user", user)
}

/// What actually happened to the credentials of `check --full --user`, in one line.
pub(crate) fn delegation_line(obs: &rdpdoctor_observations::Observations) -> Option<String> {
    let s = obs.session.as_ref()?;
    let user = s.user.as_deref()?;
    let what = match &s.delegation {
        Some(d) => rdpdoctor_diagnose::describe_delegation(d),
        None => "not sent: the connection ended before any channel was set up".to_string(),
    };
    Some(format!("rdpdoctor: credentials of {user}: {what}"))
}

/// The longest `--hold`: an hour shows any idle timeout a device on the path enforces.
pub const MAX_HOLD_SECS: f64 = 3600.0;

/// What `check` and `compare` share once the arguments are read: the probe options (with the
/// credentials, read once) and the diagnosis context.
pub(crate) struct Prepared {
    pub ctx: rdpdoctor_diagnose::Context,
    pub options: ProbeOptions,
}

/// Reads the options `check` and `compare` share; `hosts` names the target(s) in the notice
/// printed before `--full` connects. The error is a usage error message.
pub(crate) fn prepare(args: &CheckArgs, hosts: &str) -> Result<Prepared, String> {
    args.probe.validate()?;
    let ctx = args.diagnosis.context(jiff::Timestamp::now())?;
    let credentials = match &args.user {
        None => None,
        Some(user) if user.trim().is_empty() => {
            return Err(
                "--user needs an account name (DOMAIN\\user, user@domain or user)".to_string(),
            )
        }
        Some(user) => Some(Arc::new(Credentials::new(
            user.clone(),
            password_for(user)?,
        ))),
    };
    let parse = |flag: &str, list: &[String]| {
        list.iter()
            .map(|t| CertPin::parse(t).map_err(|e| format!("--{flag} {e}")))
            .collect::<Result<Vec<_>, _>>()
    };
    let pins = parse("cert-sha256", &args.cert_sha256)?;
    let terminators = parse("expect-terminator", &args.expect_terminator)?;
    if args.full {
        // Said before connecting, on stderr (stdout stays one JSON object with --json); what
        // actually happened is said after the check.
        let notice = match &args.user {
            Some(user) => format!(
                "rdpdoctor: --full will delegate the credentials of {user} to {} only if the server proves its identity (NLA with a verified pubKeyAuth, or TLS with a certificate that verifies for {} or matches --cert-sha256{}); otherwise it goes on without the password",
                hosts,
                hosts,
                if args.trust_any_cert { "; --trust-any-cert: any TLS certificate is accepted" } else { "" }
            ),
            None => "rdpdoctor: --full connects as a client up to the session without credentials (nothing to delegate); a server that requires NLA needs --user".to_string(),
        };
        eprintln!("{notice}");
    }
    let hold = match args.hold {
        None => None,
        Some(h) if h.is_finite() && h > 0.0 && h <= MAX_HOLD_SECS => {
            Some(Duration::from_secs_f64(h))
        }
        Some(h) => {
            return Err(format!(
                "--hold {h} is not a number of seconds between 0 and {MAX_HOLD_SECS}"
            ))
        }
    };
    let timeout = args.probe.timeout();
    let options = ProbeOptions {
        timeout,
        max_connections: usize::from(args.probe.connections),
        global: None,
        credentials,
        full: args.full,
        trust: Trust {
            pins,
            terminators,
            any: args.trust_any_cert,
            ..Trust::default()
        },
        deadline: Some(ProbeOptions::overall_deadline_with_hold(
            timeout, args.full, hold,
        )),
        hold,
        clients: args.clients,
        // As Windows: Kerberos when a ticket for TERMSRV/<name> can be had, NTLM otherwise.
        credssp: rdpdoctor_probe::CredsspChoice::negotiate(
            args.kerberos.kdc.clone(),
            args.kerberos.kdc_proxy.clone(),
        ),
        udp: args.udp.then_some(rdpdoctor_probe::UdpProbe {
            port: args.udp_port,
        }),
        gateway: None,
        routing_token: None,
        use_redirection_server_name: false,
    };
    let mut options = options;
    options.gateway = args
        .gateway
        .spec(options.credentials.as_ref(), args.trust_any_cert)?;
    Ok(Prepared { ctx, options })
}

/// What `--user` did when the NTLM AUTHENTICATE was withheld, and how to override it.
pub(crate) fn withheld_line(obs: &rdpdoctor_observations::Observations) -> Option<String> {
    let l = obs.logon.as_ref()?;
    let rdpdoctor_observations::LogonOutcome::Withheld { signs } = &l.outcome else {
        return None;
    };
    Some(format!(
        "rdpdoctor: did NOT log on as {}: the NTLM AUTHENTICATE (a crackable hash of the password) was not sent because something other than the server may terminate the connection: {}. If the path is yours, pin the server's real certificate with --cert-sha256 (read it on the server); --trust-any-cert does not override this",
        l.user,
        signs.join("; ")
    ))
}

pub fn run(mut args: CheckArgs) -> u8 {
    let renderer = Renderer {
        text_tail: |_, obs| {
            let tail = render::clients::policy(obs) + &render::text::kerberos(obs);
            render::escape::report(&tail).into_owned()
        },
        nagios: Some(render::nagios::Thresholds {
            warn_days: args.diagnosis.cert_warn_days,
            crit_days: args.cert_crit_days,
        }),
    };
    let format = match args.output.resolve("check", renderer.offered()) {
        Ok(f) => f,
        Err(e) => return usage_error(e),
    };
    // A monitoring plugin reports its own errors as UNKNOWN on stdout, not as a usage error.
    let nagios = format == OutputFormat::Nagios;
    let usage_error = |e: &dyn std::fmt::Display| {
        if nagios {
            let (line, code) = render::nagios::unknown(&e.to_string());
            crate::out(&format!("{line}\n"));
            code
        } else {
            usage_error(e)
        }
    };
    let from_file = match rdp_source(&mut args) {
        Ok(f) => f,
        Err(e) => return usage_error(&e),
    };
    let args = &args;
    let target = match Target::parse(&args.target, DEFAULT_PORT) {
        Ok(t) => t,
        Err(e) => return usage_error(&e),
    };
    let Prepared { ctx, mut options } = match prepare(args, &target.host) {
        Ok(p) => p,
        Err(e) => return usage_error(&e),
    };
    if let Some(f) = &from_file {
        options.routing_token = f.routing_token.clone();
        options.use_redirection_server_name = f.use_redirection_server_name;
    }
    // The certificate remembered for this target: the probe withholds an NTLM response when
    // another key shows up, and the diagnosis compares them (cert-changed).
    let mut known = crate::known_certs::KnownCerts::open(&args.known);
    let known_key = crate::known_certs::key(&target);
    options.trust.remembered = known.as_ref().and_then(|k| k.get(&known_key).cloned());
    let pins = crate::known_certs::Pins::of(&options.trust);
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => return usage_error(&format!("cannot start the async runtime: {e}")),
    };
    let mut obs = runtime.block_on(async {
        let mut obs = rdpdoctor_probe::check(target.clone(), &options).await;
        obs.kerberos = super::kerberos::readiness(&args.kerberos, &target, &obs, &options).await;
        obs
    });
    obs.rdp_file = from_file.map(|f| f.obs);
    // The password is zeroed here, before anything is printed or written.
    drop(options);
    credential_lines(&obs);
    let mut expectation = known
        .as_ref()
        .map(|k| k.expectation(&known_key))
        .unwrap_or_default();
    pins.fill(&mut expectation);
    if expectation != Default::default() {
        obs.expected_certificate = Some(expectation);
    }
    if let Some(path) = &args.save {
        if let Err(e) = std::fs::write(path, obs.to_json()) {
            return usage_error(&format!(
                "cannot write the observations to {}: {e}; choose a writable path for --save",
                path.display()
            ));
        }
    }
    let diagnosis = rdpdoctor_diagnose::diagnose(&obs, &ctx);
    if let Some(k) = known.as_mut() {
        if let Some(line) = k.record(&known_key, &obs, &diagnosis, jiff::Timestamp::now()) {
            eprintln!("{}", crate::render::escape::line(&line));
        }
    }
    renderer.print(format, &diagnosis, &obs)
}

/// What happened to the credentials, on stderr: the delegation, the second leg's after a
/// redirection (it delegates on its own proof), and a withheld NTLM response.
fn credential_lines(obs: &rdpdoctor_observations::Observations) {
    if let Some(line) = delegation_line(obs) {
        eprintln!("{}", crate::render::escape::line(&line));
    }
    if let Some(second) = obs.redirect.as_ref().and_then(|r| r.target.as_deref()) {
        if let Some(line) = delegation_line(second) {
            let at = second
                .target
                .as_ref()
                .map(|t| t.to_string())
                .unwrap_or_default();
            eprintln!(
                "{} (redirect target {at})",
                crate::render::escape::line(&line)
            );
        }
    }
    if let Some(line) = withheld_line(obs) {
        eprintln!("{}", crate::render::escape::line(&line));
    }
}

/// The .rdp file of `--rdp-file`, or the target when it is one, applied to `args`.
fn rdp_source(args: &mut CheckArgs) -> Result<Option<super::rdp_file::FromFile>, String> {
    use super::rdp_file::{apply, is_rdp_path, Given};
    let given = Given {
        gateway: args.gateway.gateway.is_some(),
        user: args.user.is_some(),
    };
    let from = match args.rdp_file.clone() {
        Some(path) => apply(&path, false, given)?,
        None if is_rdp_path(&args.target) => apply(&PathBuf::from(&args.target), true, given)?,
        None => return Ok(None),
    };
    if let Some(t) = &from.target {
        args.target = t.clone();
    }
    if let Some(g) = &from.gateway {
        args.gateway.gateway = Some(g.clone());
    }
    if let Some(u) = &from.user {
        args.user = Some(u.clone());
    }
    Ok(Some(from))
}
