//! Findings from registry exports of the RDP settings. Group policy values override the
//! local ones; every evidence line says which one applied.

use super::Acc;
use crate::context::Context;
use crate::model::Severity;
use crate::FindingId;
use rdpdoctor_observations::{RegistryValue, TlsVersion};

const TS: &str = r"hklm\system\currentcontrolset\control\terminal server";
const RDP_TCP: &str = r"hklm\system\currentcontrolset\control\terminal server\winstations\rdp-tcp";
const POLICY: &str = r"hklm\software\policies\microsoft\windows nt\terminal services";
const SCHANNEL: &str =
    r"hklm\system\currentcontrolset\control\securityproviders\schannel\protocols";
const CREDSSP: &str =
    r"hklm\software\microsoft\windows\currentversion\policies\system\credssp\parameters";
const FIPS: &str = r"hklm\system\currentcontrolset\control\lsa\fipsalgorithmpolicy";
const TERMSERVICE: &str = r"hklm\system\currentcontrolset\services\termservice";
const FW_LOCAL: &str =
    r"hklm\system\currentcontrolset\services\sharedaccess\parameters\firewallpolicy";
const FW_POLICY: &str = r"hklm\software\policies\microsoft\windowsfirewall";

/// The last value `name` under exactly `key` (later files override earlier ones).
pub(super) fn get<'a>(
    values: &'a [RegistryValue],
    key: &str,
    name: &str,
) -> Option<&'a RegistryValue> {
    values
        .iter()
        .rev()
        .find(|v| v.key.eq_ignore_ascii_case(key) && v.name.eq_ignore_ascii_case(name))
}

/// A setting with a local value and a group policy twin.
struct Effective<'a> {
    name: &'static str,
    value: &'a RegistryValue,
    from_policy: bool,
    /// The local value the policy overrode.
    overridden: Option<&'a RegistryValue>,
}

impl Effective<'_> {
    fn dword(&self) -> Option<u32> {
        self.value.dword()
    }

    fn describe(&self) -> String {
        let file = self
            .value
            .source
            .rsplit(['/', '\\'])
            .next()
            .unwrap_or(&self.value.source);
        if self.from_policy {
            let over = match self.overridden {
                Some(l) => format!("; it overrides the local value {}", l.display()),
                None => String::new(),
            };
            format!(
                "{} = {} from group policy ({}) [{file}]{over}",
                self.name,
                self.value.display(),
                self.value.key
            )
        } else {
            format!(
                "{} = {} from the local value ({}; no group policy value exported) [{file}]",
                self.name,
                self.value.display(),
                self.value.key
            )
        }
    }
}

fn effective<'a>(
    values: &'a [RegistryValue],
    name: &'static str,
    local_key: &str,
) -> Option<Effective<'a>> {
    let local = get(values, local_key, name).filter(|v| v.dword().is_some());
    match get(values, POLICY, name).filter(|v| v.dword().is_some()) {
        Some(p) => Some(Effective {
            name,
            value: p,
            from_policy: true,
            overridden: local,
        }),
        None => local.map(|l| Effective {
            name,
            value: l,
            from_policy: false,
            overridden: None,
        }),
    }
}

/// The settings with a policy twin, and the local key they live in.
const SETTINGS: &[(&str, &str)] = &[
    ("fDenyTSConnections", TS),
    ("SecurityLayer", RDP_TCP),
    ("UserAuthentication", RDP_TCP),
    ("MinEncryptionLevel", RDP_TCP),
    ("MaxInstanceCount", RDP_TCP),
    ("fSingleSessionPerUser", TS),
];

/// The effective settings as lines for the report.
pub(super) fn settings(values: &[RegistryValue]) -> Vec<String> {
    let mut out: Vec<String> = SETTINGS
        .iter()
        .filter_map(|(name, key)| effective(values, name, key))
        .map(|e| e.describe())
        .collect();
    for (name, key) in [
        ("PortNumber", RDP_TCP),
        ("SSLCertificateSHA1Hash", RDP_TCP),
        ("SelfSignedCertificate", &format!(r"{TS}\winstations")),
    ] {
        if let Some(v) = get(values, key, name) {
            out.push(format!("{name} = {}", v.display()));
        }
    }
    for (version, state) in schannel_states(values) {
        if let Some(s) = state {
            out.push(format!("SCHANNEL {} server: {}", version.label(), s.text));
        }
    }
    out
}

pub(super) fn check(values: &[RegistryValue], ctx: &Context, acc: &mut Acc) {
    if values.is_empty() {
        return;
    }
    if let Some(e) = effective(values, "fDenyTSConnections", TS) {
        if e.dword() == Some(1) {
            acc.add(
                FindingId::RdpDisabled,
                Severity::Blocking,
                vec![e.describe()],
            );
        }
    }
    security_layer(values, acc);
    connection_limits(values, acc);
    port(values, acc);
    schannel(values, ctx, acc);
    credssp(values, acc);
    firewall(values, acc);
}

/// security-layer-rdp, nla-disabled, fips-policy-enabled: the listener's security settings.
fn security_layer(values: &[RegistryValue], acc: &mut Acc) {
    let eff = |name: &'static str, key: &str| effective(values, name, key);
    let layer = eff("SecurityLayer", RDP_TCP);
    let nla = eff("UserAuthentication", RDP_TCP);
    if let Some(l) = layer.as_ref().filter(|l| l.dword() == Some(0)) {
        let mut ev = vec![l.describe()];
        if let Some(n) = nla.as_ref().filter(|n| n.dword() == Some(1)) {
            ev.push(format!(
                "{}: NLA required with SecurityLayer 0 is inconsistent; NLA clients fail",
                n.describe()
            ));
        }
        if let Some(m) = eff("MinEncryptionLevel", RDP_TCP).filter(|m| m.dword() == Some(1)) {
            ev.push(format!(
                "{}: Low encryption (client-to-server only) on top of Standard RDP Security",
                m.describe()
            ));
        }
        acc.add(FindingId::SecurityLayerRdp, Severity::Warning, ev);
    }
    if let Some(n) = nla.as_ref().filter(|n| n.dword() == Some(0)) {
        acc.add(
            FindingId::NlaDisabled,
            Severity::Warning,
            vec![n.describe()],
        );
    }
    if let Some(m) = eff("MinEncryptionLevel", RDP_TCP).filter(|m| m.dword() == Some(4)) {
        acc.add(
            FindingId::FipsPolicyEnabled,
            Severity::Warning,
            vec![format!("{}: FIPS-compliant encryption", m.describe())],
        );
    }
    if let Some(f) = get(values, FIPS, "Enabled").filter(|v| v.dword() == Some(1)) {
        acc.add(
            FindingId::FipsPolicyEnabled,
            Severity::Warning,
            vec![format!(
                "FipsAlgorithmPolicy Enabled = {} ({})",
                f.display(),
                f.key
            )],
        );
    }
}

/// session-limit, logons-disabled, termservice-disabled: what stops new connections or logons.
fn connection_limits(values: &[RegistryValue], acc: &mut Acc) {
    if let Some(m) = effective(values, "MaxInstanceCount", RDP_TCP) {
        // 0xFFFFFFFF (local) and 999999 (policy) mean unlimited.
        if let Some(n @ 1..=2) = m.dword() {
            acc.add(
                FindingId::SessionLimit,
                Severity::Warning,
                vec![format!(
                    "{}: at most {n} connection{} at a time",
                    m.describe(),
                    if n == 1 { "" } else { "s" }
                )],
            );
        }
    }
    let mut off = Vec::new();
    for (key, name, bad) in [
        (RDP_TCP, "fEnableWinStation", 0),
        (RDP_TCP, "fLogonDisabled", 1),
        (TS, "TSServerDrainMode", 1),
        (TS, "TSEnabled", 0),
    ] {
        if let Some(v) = get(values, key, name).filter(|v| v.dword() == Some(bad)) {
            off.push(format!("{name} = {} ({})", v.display(), v.key));
        }
    }
    if !off.is_empty() {
        acc.add(FindingId::LogonsDisabled, Severity::Blocking, off);
    }
    if let Some(v) = get(values, TERMSERVICE, "Start").filter(|v| v.dword() == Some(4)) {
        acc.add(
            FindingId::TermserviceDisabled,
            Severity::Blocking,
            vec![format!(
                "TermService Start = {} (Disabled) ({})",
                v.display(),
                v.key
            )],
        );
    }
}

fn port(values: &[RegistryValue], acc: &mut Acc) {
    let Some(p) = get(values, RDP_TCP, "PortNumber") else {
        return;
    };
    let Some(port) = p.dword().filter(|n| *n != 3389) else {
        return;
    };
    let mut ev = vec![format!("PortNumber = {} ({})", p.display(), p.key)];
    let rules = rdp_rules(values);
    let mut severity = Severity::Info;
    if !rules.is_empty() {
        let open = rules.iter().any(|r| {
            r.active && r.allow && r.ports.iter().any(|x| x == "*" || x == &port.to_string())
        });
        if open {
            ev.push(format!("an active firewall rule allows TCP {port}"));
        } else {
            severity = Severity::Warning;
            ev.push(format!("no exported Remote Desktop firewall rule allows TCP {port}; the built-in rules open 3389"));
        }
    }
    acc.add(FindingId::PortChanged, severity, ev);
}

/// What the registry says about one TLS version on the server side.
struct ProtoState {
    off: bool,
    /// Only DisabledByDefault = 1: off unless the application asks for it (to verify for RDP).
    probably: bool,
    /// Enabled explicitly (matters for TLS 1.3, which only recent servers enable by default).
    explicit_on: bool,
    text: String,
}

fn schannel_states(values: &[RegistryValue]) -> Vec<(TlsVersion, Option<ProtoState>)> {
    TlsVersion::ALL
        .iter()
        .map(|v| {
            let key = format!(r"{SCHANNEL}\{}\server", v.label().to_ascii_lowercase());
            let enabled = get(values, &key, "Enabled");
            let dbd = get(values, &key, "DisabledByDefault");
            if enabled.is_none() && dbd.is_none() {
                return (*v, None);
            }
            let en = enabled.and_then(|e| e.dword());
            let off_enabled = en == Some(0);
            let off_default = dbd.and_then(|d| d.dword()) == Some(1);
            let mut parts = Vec::new();
            if let Some(e) = enabled {
                parts.push(format!("Enabled = {}", e.display()));
            }
            if let Some(d) = dbd {
                parts.push(format!("DisabledByDefault = {}", d.display()));
            }
            let verdict = if off_enabled {
                "disabled"
            } else if off_default {
                "probably disabled (DisabledByDefault)"
            } else {
                "enabled"
            };
            let text = format!("{verdict} ({})", parts.join(", "));
            (
                *v,
                Some(ProtoState {
                    off: off_enabled || off_default,
                    probably: !off_enabled && off_default,
                    explicit_on: en.is_some_and(|n| n != 0) && !off_default,
                    text,
                }),
            )
        })
        .collect()
}

fn schannel(values: &[RegistryValue], ctx: &Context, acc: &mut Acc) {
    let states = schannel_states(values);
    if states.iter().all(|(_, s)| s.is_none()) {
        return;
    }
    // A version is usable unless disabled; TLS 1.3 only when explicitly enabled, because only
    // Windows Server 2022 and later have it at all.
    let usable = |v: TlsVersion, s: &Option<ProtoState>| match (v, s) {
        (TlsVersion::Tls13, Some(s)) => s.explicit_on,
        (TlsVersion::Tls13, None) => false,
        (_, Some(s)) => !s.off,
        (_, None) => true,
    };
    let server_usable: Vec<TlsVersion> = states
        .iter()
        .filter(|(v, s)| usable(*v, s))
        .map(|(v, _)| *v)
        .collect();
    let client_can = crate::clients::shares_tls_version(&ctx.client, &server_usable);
    let tls12_off = states
        .iter()
        .any(|(v, s)| *v == TlsVersion::Tls12 && s.as_ref().is_some_and(|s| s.off));
    let mut ev: Vec<String> = states
        .iter()
        .filter_map(|(v, s)| {
            s.as_ref()
                .map(|s| format!("SCHANNEL\\Protocols\\{}\\Server: {}", v.label(), s.text))
        })
        .collect();
    if states
        .iter()
        .any(|(_, s)| s.as_ref().is_some_and(|s| s.probably))
    {
        ev.push(
            "whether Remote Desktop honours DisabledByDefault is not confirmed; treated as off"
                .to_string(),
        );
    }
    if !client_can {
        ev.push(format!(
            "no TLS version left for the server side that the client profile {:?} speaks",
            ctx.client.name
        ));
        acc.add(FindingId::TlsDisabledInSchannel, Severity::Blocking, ev);
    } else if tls12_off {
        ev.push(format!(
            "TLS 1.2 is off; still usable: {}; clients with TLS 1.0/1.1 disabled fail",
            server_usable
                .iter()
                .map(|v| v.label())
                .collect::<Vec<_>>()
                .join(", ")
        ));
        acc.add(FindingId::TlsDisabledInSchannel, Severity::Warning, ev);
    }
}

fn credssp(values: &[RegistryValue], acc: &mut Acc) {
    let Some(v) = get(values, CREDSSP, "AllowEncryptionOracle") else {
        return;
    };
    let line = format!("AllowEncryptionOracle = {} ({})", v.display(), v.key);
    match v.dword() {
        Some(2) => acc.add(
            FindingId::CredsspOracleVulnerable,
            Severity::Warning,
            vec![format!("{line}: Vulnerable")],
        ),
        Some(0) => acc.add(
            FindingId::CredsspOracleVulnerable,
            Severity::Info,
            vec![format!(
                "{line}: Force Updated Clients; unpatched peers are refused"
            )],
        ),
        _ => {}
    }
}

/// One parsed firewall rule (`v2.31|Action=Allow|Active=TRUE|Dir=In|Protocol=6|LPort=3389|...`).
struct Rule {
    name: String,
    active: bool,
    allow: bool,
    ports: Vec<String>,
}

fn rdp_rules(values: &[RegistryValue]) -> Vec<Rule> {
    values
        .iter()
        .filter(|v| {
            let k = v.key.to_ascii_lowercase();
            (k.starts_with(FW_LOCAL) || k.starts_with(FW_POLICY)) && k.ends_with(r"\firewallrules")
        })
        .filter_map(|v| {
            let text = v.text()?;
            let field = |name: &str| {
                text.split('|')
                    .filter_map(|p| p.split_once('='))
                    .filter(|(k, _)| k.eq_ignore_ascii_case(name))
                    .map(|(_, val)| val.to_string())
                    .collect::<Vec<_>>()
            };
            let is_tcp_in = field("Protocol").iter().any(|p| p == "6")
                && field("Dir").iter().any(|d| d.eq_ignore_ascii_case("In"));
            // RD Web Access rules (-WS/-WSS) and the shadowing rule are not the listener's.
            let name = v.name.to_ascii_lowercase();
            if !is_tcp_in || name.contains("-ws") || name.contains("shadow") {
                return None;
            }
            Some(Rule {
                name: v.name.clone(),
                active: field("Active")
                    .iter()
                    .all(|a| a.eq_ignore_ascii_case("TRUE")),
                allow: field("Action")
                    .iter()
                    .all(|a| a.eq_ignore_ascii_case("Allow")),
                ports: field("LPort"),
            })
        })
        .collect()
}

fn firewall(values: &[RegistryValue], acc: &mut Acc) {
    let rules = rdp_rules(values);
    if rules.is_empty() {
        return;
    }
    let any_on = ["domainprofile", "publicprofile", "standardprofile"]
        .iter()
        .any(|p| {
            get(values, &format!(r"{FW_LOCAL}\{p}"), "EnableFirewall")
                .is_none_or(|v| v.dword() != Some(0))
        });
    let working = rules.iter().any(|r| r.active && r.allow);
    if any_on && !working {
        let ev = rules
            .iter()
            .map(|r| {
                format!(
                    "firewall rule {}: {}, {}, LPort {}",
                    r.name,
                    if r.active { "active" } else { "inactive" },
                    if r.allow { "allow" } else { "block" },
                    r.ports.join(",")
                )
            })
            .collect();
        acc.add(FindingId::FirewallRuleDisabled, Severity::Blocking, ev);
    }
}
