//! `check --gateway`: the flags that reach the session host through an RD Gateway, read into
//! the probe's `GatewaySpec`.

use rdpdoctor_observations::{CertPin, Target};
use rdpdoctor_probe::gateway::GatewayAuth;
use rdpdoctor_probe::{Credentials, GatewaySpec, Trust};
use std::path::PathBuf;
use std::sync::Arc;
use zeroize::Zeroizing;

/// The environment variable `--gateway-user` reads the password from.
pub const GATEWAY_PASSWORD_ENV: &str = "RDPDOCTOR_GATEWAY_PASSWORD";

/// The RD Gateway's HTTPS port when none is given.
const GATEWAY_PORT: u16 = 443;

#[derive(clap::Args, Debug, Default)]
pub struct GatewayArgs {
    /// Reach the server through this RD Gateway (MS-TSGU over HTTPS, port 443 by default), as a
    /// client whose .rdp file names it does: every probe connection is a channel of its own
    /// through the gateway, and the report names the gateway step that fails first (its
    /// certificate, its logon, its policies, its reach to the server) before anything about the
    /// server. --user logs on to the gateway too, unless --gateway-user is given
    #[arg(long, value_name = "GW[:PORT]")]
    pub gateway: Option<String>,
    /// The account for the gateway's logon when it is not the server's (mstsc: "use my RD
    /// Gateway credentials for the remote computer" unticked). The password comes from
    /// RDPDOCTOR_GATEWAY_PASSWORD or a prompt (never from the command line)
    #[arg(long, value_name = "USER", requires = "gateway")]
    pub gateway_user: Option<String>,
    /// Pin the gateway's identity, as --cert-sha256 pins the server's ([leaf:|ca:|spki:]HEX; may
    /// be repeated). --cert-sha256 applies to the server only; --trust-any-cert to both
    #[arg(long, value_name = "[leaf:|ca:|spki:]HEX", requires = "gateway")]
    pub gateway_cert_sha256: Vec<String>,
    /// A pluggable-authentication (PAA) cookie for the gateway, read from FILE (first line): what
    /// RD Web or an identity provider gives a client. Sent only to a gateway whose certificate
    /// is proven, never recorded
    #[arg(long, value_name = "FILE", requires = "gateway")]
    pub gateway_paa_cookie_file: Option<PathBuf>,
}

impl GatewayArgs {
    /// The probe's gateway, or `None` without `--gateway`; `user` is `--user`'s account.
    pub fn spec(
        &self,
        user: Option<&Arc<Credentials>>,
        trust_any_cert: bool,
    ) -> Result<Option<GatewaySpec>, String> {
        let Some(gw) = &self.gateway else {
            return Ok(None);
        };
        let gateway = Target::parse(gw, GATEWAY_PORT).map_err(|e| format!("--gateway {e}"))?;
        let credentials = match &self.gateway_user {
            Some(u) if u.trim().is_empty() => {
                return Err(
                    "--gateway-user needs an account name (DOMAIN\\user, user@domain or user)"
                        .to_string(),
                )
            }
            Some(u) => Some(Arc::new(Credentials::new(
                u.clone(),
                super::password::password_from(GATEWAY_PASSWORD_ENV, "--gateway-user", u)?,
            ))),
            None => user.cloned(),
        };
        let pins = self
            .gateway_cert_sha256
            .iter()
            .map(|t| CertPin::parse(t).map_err(|e| format!("--gateway-cert-sha256 {e}")))
            .collect::<Result<Vec<_>, _>>()?;
        let paa_cookie = match &self.gateway_paa_cookie_file {
            None => None,
            Some(path) => Some(read_cookie(path)?),
        };
        Ok(Some(GatewaySpec {
            gateway,
            auth: GatewayAuth {
                credentials,
                paa_cookie,
                client_name: "rdpdoctor".to_string(),
                method: None,
            },
            trust: Trust {
                pins,
                any: trust_any_cert,
                ..Trust::default()
            },
        }))
    }
}

/// The first line of the cookie file, at most 16 KiB read.
fn read_cookie(path: &std::path::Path) -> Result<Zeroizing<String>, String> {
    use std::io::Read;
    let what = |e: std::io::Error| {
        format!(
            "--gateway-paa-cookie-file {}: {e}; give a readable file whose first line is the cookie",
            path.display()
        )
    };
    let mut text = Zeroizing::new(String::new());
    std::fs::File::open(path)
        .map_err(what)?
        .take(16 * 1024)
        .read_to_string(&mut text)
        .map_err(what)?;
    let line = text.lines().next().unwrap_or_default().trim();
    if line.is_empty() {
        return Err(format!(
            "--gateway-paa-cookie-file {}: the first line is empty; it must hold the cookie",
            path.display()
        ));
    }
    Ok(Zeroizing::new(line.to_string()))
}
