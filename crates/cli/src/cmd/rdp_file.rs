//! `check FILE.rdp` and `check HOST --rdp-file FILE`: the check runs the way that file's client
//! would connect. The file is read by `rdpdoctor_evidence::rdp_file` (bounded, secrets by length
//! only); this module turns its settings into the check's arguments and options and records
//! which line did what (`Observations::rdp_file`), so the rules can name a line that cannot work
//! with the server (`rdp-file-setting-breaks`).
//!
//! Decisions (Microsoft Learn, "Supported RDP properties"): `full address` (with `server port`
//! when the address has none) is the target; `alternate full address` is recorded, not used.
//! `gatewayusagemethod` 1 (always), 2 (if a direct connection fails) and 4 (bypass for local
//! addresses) send the check through `gatewayhostname`, as a client off the server's network
//! connects; 0 (never) and 3 (the client's default, which a file cannot show) do not, nor does
//! `gatewayprofileusagemethod:i:0` (the file's gateway settings are ignored then). `username`
//! (with `domain`) is the default `--user` when a password can be had (RDPDOCTOR_PASSWORD or a
//! terminal). `loadbalanceinfo` of the form `Cookie: msts=TOKEN` is sent as the routing token.

use super::password::PASSWORD_ENV;
use rdpdoctor_evidence::rdp_file::{
    self, AuthenticationLevel, GatewayUsage, Located, RdpFile, RdpSetting, RdpValue,
};
use rdpdoctor_observations::{RdpFileLine, RdpFileObservation};
use std::io::IsTerminal;
use std::path::Path;

/// What the command line already says (the file gives only what it does not).
#[derive(Clone, Copy)]
pub(crate) struct Given {
    pub gateway: bool,
    pub user: bool,
}

/// What the file says about the connection: the arguments it stands for and the options.
#[derive(Default)]
pub(crate) struct FromFile {
    pub obs: RdpFileObservation,
    /// The target (`HOST:PORT`), when the file was given as the target.
    pub target: Option<String>,
    /// `--gateway`, when the file sends the client through one.
    pub gateway: Option<String>,
    /// `--user`, from `username` (and `domain`).
    pub user: Option<String>,
    pub routing_token: Option<String>,
    pub use_redirection_server_name: bool,
}

/// Whether `target` names an `.rdp` file rather than a server (`.rdp` is no top-level domain).
pub(crate) fn is_rdp_path(target: &str) -> bool {
    target.to_ascii_lowercase().ends_with(".rdp")
}

/// Reads `path` and says how the file's client would connect; the target comes from the file
/// when `from_target` (the file was given as the target).
pub(crate) fn apply(path: &Path, from_target: bool, given: Given) -> Result<FromFile, String> {
    let file = rdp_file::read(path).map_err(|e| {
        format!(
            "cannot read the .rdp file {}: {e}; give a readable .rdp file (mstsc's Save As writes one)",
            path.display()
        )
    })?;
    let c = file.connection();
    let mut out = FromFile {
        obs: RdpFileObservation {
            path: path.display().to_string(),
            encoding: file.encoding.label().to_string(),
            saved_password_line: c.saved_password_line,
            ..RdpFileObservation::default()
        },
        ..FromFile::default()
    };
    let line = |key: &str, effect: &str| located(&file, key, effect);
    if from_target {
        out.target = Some(target(path, &c, &mut out.obs, &line)?);
    }
    out.obs.not_followed.extend(line(
        "alternate full address",
        "recorded only: the check connects to full address",
    ));
    out.gateway = gateway(given, &file, &c, &mut out.obs);
    out.user = user(given, &c, &mut out.obs, &line);
    out.routing_token = token(&c, &mut out.obs, &line);
    out.use_redirection_server_name = c
        .use_redirection_server_name
        .as_ref()
        .is_some_and(|u| u.value);
    if out.use_redirection_server_name {
        out.obs.followed.extend(line(
            "use redirection server name",
            "after a redirection the names are tried before the addresses",
        ));
    }
    security(&c, &mut out.obs, &line);
    listed(&file, &c, &mut out.obs);
    Ok(out)
}

fn located(file: &RdpFile, key: &str, effect: &str) -> Option<RdpFileLine> {
    file.get(key).map(|s| RdpFileLine {
        line: s.line,
        text: text(s),
        effect: effect.to_string(),
    })
}

/// `full address` (and `server port`) as `HOST:PORT`.
fn target(
    path: &Path,
    c: &rdp_file::RdpConnection,
    obs: &mut RdpFileObservation,
    line: &dyn Fn(&str, &str) -> Option<RdpFileLine>,
) -> Result<String, String> {
    let Some(Located { value: address, .. }) = &c.full_address else {
        if let Some(p) = c.problems.iter().find(|p| p.key == "full address") {
            return Err(format!(
                "{} line {}: full address: {}; correct the line, or give the server: rdpdoctor check HOST --rdp-file {}",
                path.display(),
                p.line,
                p.reason,
                path.display()
            ));
        }
        return Err(format!(
            "{} has no `full address:s:` line: give the server as well, rdpdoctor check HOST --rdp-file {}",
            path.display(),
            path.display()
        ));
    };
    let port = address
        .port
        .or(c.server_port.as_ref().map(|p| p.value))
        .unwrap_or(rdpdoctor_observations::DEFAULT_PORT);
    obs.followed
        .extend(line("full address", "the server checked"));
    if address.port.is_none() {
        obs.followed.extend(line("server port", "its port"));
    }
    Ok(format!("{}:{port}", bracket(&address.host)))
}

/// The lines the rules hold against the server: CredSSP, the security layer, the
/// authentication level.
fn security(
    c: &rdp_file::RdpConnection,
    obs: &mut RdpFileObservation,
    line: &dyn Fn(&str, &str) -> Option<RdpFileLine>,
) {
    if c.enable_credssp.as_ref().is_some_and(|l| !l.value) {
        obs.credssp_off = line(
            "enablecredsspsupport",
            "the client never offers CredSSP (NLA)",
        );
    }
    if c.negotiate_security_layer
        .as_ref()
        .is_some_and(|l| !l.value)
    {
        obs.rdp_security_only = line(
            "negotiate security layer",
            "the client uses Standard RDP Security only (no TLS, no NLA)",
        );
    }
    if let Some(level) = &c.authentication_level {
        let n = match level.value {
            AuthenticationLevel::ConnectWithoutWarning => 0,
            AuthenticationLevel::DoNotConnect => 1,
            AuthenticationLevel::Warn => 2,
            AuthenticationLevel::NoRequirement => 3,
        };
        obs.authentication_level = line("authentication level", "").map(|l| (l, n));
    }
}

/// Unknown settings (listed as written) and the lines that do not read.
fn listed(file: &RdpFile, c: &rdp_file::RdpConnection, obs: &mut RdpFileObservation) {
    obs.unknown = file
        .unknown()
        .map(|s| RdpFileLine {
            line: s.line,
            text: text(s),
            effect: String::new(),
        })
        .collect();
    obs.problems = c
        .problems
        .iter()
        .map(|p| format!("line {}: {}: {}", p.line, p.key, p.reason))
        .chain(
            file.malformed
                .iter()
                .map(|m| format!("line {}: {}: {}", m.line, m.problem, m.snippet)),
        )
        .collect();
}

/// `gatewayhostname` and `gatewayusagemethod`: whether the check goes through the gateway.
fn gateway(
    given: Given,
    file: &RdpFile,
    c: &rdp_file::RdpConnection,
    obs: &mut RdpFileObservation,
) -> Option<String> {
    let host = c.gateway_hostname.as_ref()?;
    let lines: Vec<RdpFileLine> = [
        "gatewayhostname",
        "gatewayusagemethod",
        "gatewayprofileusagemethod",
    ]
    .iter()
    .filter_map(|k| file.get(k))
    .map(|s| RdpFileLine {
        line: s.line,
        text: text(s),
        effect: String::new(),
    })
    .collect();
    let usage = c.gateway_usage.as_ref().map(|u| u.value);
    let explicit = c.gateway_profile_explicit.as_ref().is_none_or(|p| p.value);
    let used = explicit
        && matches!(
            usage,
            Some(GatewayUsage::Always | GatewayUsage::IfDirectFails | GatewayUsage::BypassLocal)
        );
    let why = if given.gateway {
        "not used: --gateway was given"
    } else if !explicit {
        "not used: gatewayprofileusagemethod:i:0 makes the client use its default gateway settings"
    } else if used {
        "the check goes through this RD Gateway"
    } else {
        "not used: gatewayusagemethod says no gateway (0) or the client's default (3)"
    };
    let effect = |mut l: RdpFileLine| {
        l.effect = why.to_string();
        l
    };
    if used && !given.gateway {
        obs.gateway = lines.iter().cloned().map(effect).collect();
        obs.followed.extend(obs.gateway.clone());
        Some(match host.value.port {
            Some(p) => format!("{}:{p}", bracket(&host.value.host)),
            None => bracket(&host.value.host),
        })
    } else {
        obs.not_followed.extend(lines.into_iter().map(effect));
        None
    }
}

fn bracket(host: &str) -> String {
    if host.contains(':') {
        format!("[{host}]")
    } else {
        host.to_string()
    }
}

/// `username` (and `domain`) as the default `--user`, when a password can be had.
fn user(
    given: Given,
    c: &rdp_file::RdpConnection,
    obs: &mut RdpFileObservation,
    line: &dyn Fn(&str, &str) -> Option<RdpFileLine>,
) -> Option<String> {
    let name = c
        .username
        .as_ref()
        .map(|u| u.value.trim())
        .filter(|u| !u.is_empty())?;
    if given.user {
        obs.not_followed
            .extend(line("username", "not used: --user was given"));
        return None;
    }
    let password = std::env::var_os(PASSWORD_ENV).is_some() || std::io::stdin().is_terminal();
    if !password {
        obs.not_followed.extend(line(
            "username",
            "not used: no password (set RDPDOCTOR_PASSWORD to log on as this user)",
        ));
        return None;
    }
    let domain = c
        .domain
        .as_ref()
        .map(|d| d.value.trim())
        .filter(|d| !d.is_empty() && !name.contains('\\') && !name.contains('@'));
    obs.followed
        .extend(line("username", "the account of --user"));
    Some(match domain {
        Some(d) => format!("{d}\\{name}"),
        None => name.to_string(),
    })
}

/// `loadbalanceinfo`: the routing token of the first X.224 requests, when it has that form.
fn token(
    c: &rdp_file::RdpConnection,
    obs: &mut RdpFileObservation,
    line: &dyn Fn(&str, &str) -> Option<RdpFileLine>,
) -> Option<String> {
    let value = c
        .load_balance_info
        .as_ref()?
        .value
        .trim_end_matches(['\r', '\n']);
    match value.strip_prefix("Cookie: msts=") {
        Some(t) if !t.is_empty() && t.is_ascii() => {
            obs.followed.extend(line(
                "loadbalanceinfo",
                "sent as the routing token of the X.224 requests",
            ));
            Some(t.to_string())
        }
        _ => {
            obs.not_followed.extend(line(
                "loadbalanceinfo",
                "not sent: the probe sends only routing tokens of the form `Cookie: msts=...` (a `tsv://` token names an RD Connection Broker collection)",
            ));
            None
        }
    }
}

/// A setting as written; a bytes value by its length only (a signature, a secret).
fn text(s: &RdpSetting) -> String {
    match &s.value {
        RdpValue::Int(i) => format!("{}:i:{i}", s.name),
        RdpValue::Str(v) => format!("{}:s:{v}", s.name),
        RdpValue::Bytes(b) => format!("{}:b:({} bytes)", s.name, b.len()),
        RdpValue::Secret { len } => format!("{}:b:(secret, {len} bytes, not read)", s.name),
    }
}
