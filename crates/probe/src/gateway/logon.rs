//! The gateway's HTTP logon (MS-TSGU 3.3.5.1: the OUT and IN channel requests carry the
//! `Authorization` legs): NTLM (MS-NLMP) and Negotiate (RFC 4559, SPNEGO with NTLM inside)
//! through `sspi`, each call contained at its boundary (a panic in `sspi` becomes an error), and
//! Basic (RFC 7617).
//!
//! Negotiate is driven with NTLM as its only package: with Kerberos enabled, `sspi`'s
//! Negotiate looks a KDC up in DNS on its own (`detect_kdc_url`), which a probe must not do
//! unasked; Kerberos through the gateway comes with the Kerberos work.

use crate::options::Credentials;
use rdpdoctor_observations::LogonMethod;
use rdpdoctor_wire::contain;
use sspi::ntlm::NtlmConfig;
use sspi::{
    AuthIdentity, BufferType, ClientRequestFlags, CredentialUse, DataRepresentation, Negotiate,
    NegotiateConfig, Ntlm, SecurityBuffer, SecurityStatus, Sspi, SspiImpl,
};

/// Why the logon library could not go on.
#[derive(Debug, thiserror::Error)]
pub(super) enum LogonError {
    #[error("the user name {user:?} is not usable: {reason}")]
    User { user: String, reason: String },
    #[error("{0}")]
    Sspi(String),
    #[error(transparent)]
    Panicked(#[from] contain::Panicked),
}

/// The context flags WinHTTP-style clients ask for: the session key Negotiate's mechListMIC
/// needs (RFC 4178 5), and mutual authentication.
fn flags() -> ClientRequestFlags {
    ClientRequestFlags::ALLOCATE_MEMORY
        | ClientRequestFlags::CONFIDENTIALITY
        | ClientRequestFlags::INTEGRITY
        | ClientRequestFlags::MUTUAL_AUTH
}

/// One security context being built.
pub(super) enum Logon {
    Ntlm {
        ntlm: Box<Ntlm>,
        handle: <Ntlm as SspiImpl>::CredentialsHandle,
        spn: String,
    },
    Negotiate {
        negotiate: Box<Negotiate>,
        handle: <Negotiate as SspiImpl>::CredentialsHandle,
        spn: String,
    },
}

/// What a step produced.
pub(super) struct Step {
    /// The token to send (may be empty when the context completed without one).
    pub token: Vec<u8>,
    /// The context is complete.
    pub complete: bool,
}

impl Logon {
    /// A context for `method` (NTLM or Negotiate) with `creds`, for the gateway `host`;
    /// `workstation` is the client name NTLM sends.
    pub(super) fn new(
        method: LogonMethod,
        creds: &Credentials,
        host: &str,
        workstation: &str,
    ) -> Result<Logon, LogonError> {
        let username = sspi::Username::parse(creds.user()).map_err(|e| LogonError::User {
            user: creds.user().to_string(),
            reason: e.to_string(),
        })?;
        let identity = AuthIdentity {
            username,
            password: sspi::Secret::new(creds.password().to_owned()),
        };
        // The gateway's service principal (MS-TSGU 3.3.5.1: HTTP/<gateway name>).
        let spn = format!("HTTP/{host}");
        let sspi = |e: sspi::Error| LogonError::Sspi(e.to_string());
        contain::call("sspi acquire_credentials_handle", || match method {
            LogonMethod::Negotiate => {
                let config = NegotiateConfig::new(
                    Box::new(NtlmConfig::new(workstation.to_string())),
                    Some("ntlm".to_string()),
                    workstation.to_string(),
                );
                let mut negotiate = Box::new(Negotiate::new_client(config).map_err(sspi)?);
                let auth = sspi::Credentials::AuthIdentity(identity);
                let handle = negotiate
                    .acquire_credentials_handle()
                    .with_credential_use(CredentialUse::Outbound)
                    .with_auth_data(&auth)
                    .execute(negotiate.as_mut())
                    .map_err(sspi)?
                    .credentials_handle;
                Ok(Logon::Negotiate {
                    negotiate,
                    handle,
                    spn,
                })
            }
            _ => {
                let mut ntlm =
                    Box::new(Ntlm::with_config(NtlmConfig::new(workstation.to_string())));
                let handle = ntlm
                    .acquire_credentials_handle()
                    .with_credential_use(CredentialUse::Outbound)
                    .with_auth_data(&identity)
                    .execute(ntlm.as_mut())
                    .map_err(sspi)?
                    .credentials_handle;
                Ok(Logon::Ntlm { ntlm, handle, spn })
            }
        })?
    }

    /// The next leg: the first token when `input` is `None`, else the answer to the gateway's
    /// token.
    pub(super) fn step(&mut self, input: Option<&[u8]>) -> Result<Step, LogonError> {
        contain::call("sspi initialize_security_context", || match self {
            Logon::Ntlm { ntlm, handle, spn } => run(ntlm.as_mut(), handle, spn, input),
            Logon::Negotiate {
                negotiate,
                handle,
                spn,
            } => run(negotiate.as_mut(), handle, spn, input),
        })?
    }
}

/// One InitializeSecurityContext call on `package`.
fn run<P>(
    package: &mut P,
    handle: &mut P::CredentialsHandle,
    spn: &str,
    input: Option<&[u8]>,
) -> Result<Step, LogonError>
where
    P: Sspi + SspiImpl,
{
    let mut input_buffers = [SecurityBuffer::new(
        input.map(<[u8]>::to_vec).unwrap_or_default(),
        BufferType::Token,
    )];
    let mut output = [SecurityBuffer::new(Vec::new(), BufferType::Token)];
    let mut builder = package
        .initialize_security_context()
        .with_credentials_handle(handle)
        .with_context_requirements(flags())
        .with_target_data_representation(DataRepresentation::Native)
        .with_target_name(spn)
        .with_input(&mut input_buffers)
        .with_output(&mut output);
    let result = package
        .initialize_security_context_impl(&mut builder)
        .and_then(|mut g| g.resolve_to_result())
        .map_err(|e| LogonError::Sspi(e.to_string()))?;
    let complete = match result.status {
        SecurityStatus::Ok => true,
        SecurityStatus::ContinueNeeded => false,
        other => {
            return Err(LogonError::Sspi(format!(
                "unexpected security status {other:?}"
            )))
        }
    };
    let [out] = output;
    Ok(Step {
        token: out.buffer,
        complete,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use zeroize::Zeroizing;

    fn creds() -> Credentials {
        Credentials::new(
            "LAB\\alice".to_string(),
            Zeroizing::new("Secret-1".to_string()),
        )
    }

    fn contains(hay: &[u8], needle: &[u8]) -> bool {
        hay.windows(needle.len()).any(|w| w == needle)
    }

    #[test]
    fn first_tokens_are_ntlm_and_spnego_with_ntlm_only() {
        let mut ntlm = Logon::new(LogonMethod::Ntlm, &creds(), "rdg.example", "PROBE")
            .unwrap_or_else(|e| panic!("{e}"));
        let first = ntlm.step(None).unwrap_or_else(|e| panic!("{e}"));
        assert!(first.token.starts_with(b"NTLMSSP\0\x01\0\0\0"));
        assert!(!first.complete);

        let mut negotiate = Logon::new(LogonMethod::Negotiate, &creds(), "rdg.example", "PROBE")
            .unwrap_or_else(|e| panic!("{e}"));
        let first = negotiate.step(None).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(first.token.first(), Some(&0x60), "GSS InitialContextToken");
        let ntlm_oid = [0x2b, 0x06, 0x01, 0x04, 0x01, 0x82, 0x37, 0x02, 0x02, 0x0a];
        let krb5_oid = [0x2a, 0x86, 0x48, 0x86, 0xf7, 0x12, 0x01, 0x02, 0x02];
        assert!(contains(&first.token, &ntlm_oid));
        assert!(
            !contains(&first.token, &krb5_oid),
            "Kerberos is not offered (no KDC lookup)"
        );
        assert!(contains(&first.token, b"NTLMSSP\0\x01"));
    }

    #[test]
    fn hostile_challenges_are_errors_never_panics() {
        let mut seed = 0x9E37_79B9_7F4A_7C15u64;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        let mut hostile: Vec<Vec<u8>> = vec![
            Vec::new(),
            b"NTLMSSP\0\x02\0\0\0".to_vec(),
            // A CHALLENGE whose TargetInfo points far past its end.
            [
                b"NTLMSSP\0\x02\0\0\0".as_slice(),
                &[0; 8],
                &0xE288_8215u32.to_le_bytes(),
                &[1; 8],
                &[0; 8],
                &[0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f],
            ]
            .concat(),
            vec![0xa1, 0x82, 0xff, 0xff, 0x30],
            vec![0xa1, 0x03, 0x30, 0x01, 0xa0],
        ];
        for _ in 0..200 {
            let len = (next() % 120) as usize;
            let mut t: Vec<u8> = (0..len).map(|_| next() as u8).collect();
            if next() % 2 == 0 {
                t.splice(0..0, b"NTLMSSP\0\x02\0\0\0".iter().copied());
            }
            hostile.push(t);
        }
        for method in [LogonMethod::Ntlm, LogonMethod::Negotiate] {
            for token in &hostile {
                let mut logon = Logon::new(method, &creds(), "rdg.example", "PROBE")
                    .unwrap_or_else(|e| panic!("{e}"));
                let _ = logon.step(None);
                // An error, or a token: both fine; a panic would fail the test (contained or
                // not, `contain::call` turns it into `LogonError::Panicked`, which is also an
                // error, never a crash).
                // (sspi 0.23.0 panics on none of these today.)
                let _ = logon.step(Some(token));
            }
        }
    }
}
