//! The security package inside CredSSP (MS-CSSP 3.1.5 step 2: SPNEGO, Kerberos or NTLM), as
//! `sspi` implements it, behind one interface the CredSSP machine drives without I/O:
//! a step takes the server's token and gives the client's, suspending with a request for the KDC
//! whenever the package needs one (the caller answers it through a `KdcClient`); then the keys
//! the exchange established seal and unseal the public-key binding and the credentials.
//!
//! Which package runs is configuration ([`Choice`]): NTLM alone, or Negotiate as a Windows
//! client runs it (the negotiate module: Kerberos, as `sspi`'s Negotiate limited to Kerberos, so
//! the token is SPNEGO as mstsc sends it, when a ticket for TERMSRV/<name> can be had; NTLM
//! otherwise, with the reason). Both are the same `sspi::credssp::SspiContext` with another
//! variant and a KDC client. Everything that depends on the package (its name, what its tokens
//! reveal about the server, what makes a server token unreadable, whether its answer is a
//! crackable function of the password) is asked of the [`Package`], so no other module has a
//! path of its own for one package.

use super::kdc::{KdcClient, NoKdc};
use super::ntlm;
use crate::kdc::{KdcSpec, ProxyUrl};
use rdpdoctor_observations::NtlmInfo;
use rdpdoctor_wire::contain;
use sspi::builders::{AcquireCredentialsHandle, WithoutCredentialUse};
use sspi::credssp::{CredSspMode, SspiContext};
use sspi::generator::{Generator, GeneratorState};
use sspi::ntlm::NtlmConfig;
use sspi::{
    BufferType, ClientRequestFlags, CredentialUse, CredentialsBuffers, DataRepresentation,
    EncryptionFlags, NetworkRequest, SecurityBuffer, SecurityBufferRef, SecurityStatus, Sspi,
    SspiImpl,
};

/// Which package the CredSSP logon uses, and why: the observations record both.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Choice {
    pub kind: PackageKind,
    /// Why this package, in words.
    pub why: String,
    /// For [`PackageKind::Negotiate`]: the KDC to ask instead of the realm's SRV records
    /// (`--kdc`), or the KDC proxy to send every Kerberos request through (`--kdc-proxy`).
    pub kdc: Option<KdcSpec>,
    pub kdc_proxy: Option<ProxyUrl>,
}

/// The packages rdpdoctor can run inside CredSSP.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PackageKind {
    /// NTLM (MS-NLMP), raw inside negoTokens as mstsc sends it when Kerberos is not possible.
    Ntlm,
    /// Kerberos (RFC 4120, in SPNEGO, RFC 4178), as Negotiate runs it once a ticket was had.
    Kerberos,
    /// What a Windows client does: Kerberos when the target is a name, a realm and a KDC are
    /// found and the KDC issues a ticket for TERMSRV/<name>; NTLM otherwise (and no logon at all
    /// when Kerberos fails in a way Negotiate does not fall back from, such as a wrong password).
    Negotiate,
}

impl Default for Choice {
    fn default() -> Self {
        Choice {
            kind: PackageKind::Ntlm,
            why: "configured: NTLM only".to_string(),
            kdc: None,
            kdc_proxy: None,
        }
    }
}

impl Choice {
    /// Negotiate as Windows does, with the KDC settings of the command line.
    pub fn negotiate(kdc: Option<KdcSpec>, kdc_proxy: Option<ProxyUrl>) -> Choice {
        Choice {
            kind: PackageKind::Negotiate,
            why: "Negotiate: Kerberos when a ticket for TERMSRV/<name> can be had, NTLM otherwise"
                .to_string(),
            kdc,
            kdc_proxy,
        }
    }
}

impl PackageKind {
    /// The name the observations give it (`LogonObservation::package`).
    pub fn name(self) -> &'static str {
        match self {
            PackageKind::Ntlm => "NTLM",
            PackageKind::Kerberos => "Kerberos",
            PackageKind::Negotiate => "Negotiate",
        }
    }
}

/// The client's token after one step, and whether the package's exchange is complete (then the
/// keys are established and pubKeyAuth can be sealed).
pub(crate) struct Stepped {
    pub(crate) token: Vec<u8>,
    pub(crate) complete: bool,
}

/// One step of a package: suspends with KDC requests, resumes with their replies.
pub(crate) type PackageStep<'a> =
    Generator<'a, NetworkRequest, sspi::Result<Vec<u8>>, sspi::Result<Stepped>>;

/// A step's generator state, from `sspi`.
pub(crate) type StepState = GeneratorState<NetworkRequest, sspi::Result<Stepped>>;

/// What the CredSSP machine needs of a security package.
pub(crate) trait Package: Send {
    /// The package's name as the observations record it.
    fn name(&self) -> &'static str;

    /// One step: the server's token in (empty for the first), the client's out.
    fn step(&mut self, server_token: Vec<u8>) -> PackageStep<'_>;

    /// Encrypts `data` with the established keys: the signature (token) first, then the data,
    /// as CredSSP carries sealed values (MS-CSSP 3.1.5).
    fn seal(&mut self, data: &[u8]) -> Result<Vec<u8>, String>;

    /// Decrypts a sealed value; the caller checked it is longer than [`Package::trailer_len`].
    fn unseal(&mut self, sealed: &[u8]) -> Result<Vec<u8>, String>;

    /// How many leading bytes of a sealed value are the signature.
    fn trailer_len(&mut self) -> usize;

    /// The TSCredentials to delegate (MS-CSSP 2.2.1.2): the password credentials, or, without
    /// `delegating`, empty ones (Restricted Admin).
    fn ts_credentials(&self, delegating: bool) -> Result<Vec<u8>, String>;

    /// Why the server's token cannot be handed to the package (it would compute an answer to
    /// bytes it cannot read): `(reason, the token's bytes to show)`.
    fn unreadable(&self, server_token: &[u8]) -> Option<(String, Vec<u8>)>;

    /// What the server's token says about who the server is (NTLM's CHALLENGE names the
    /// computer), for the interception signs.
    fn server_names(&self, server_token: &[u8]) -> Option<NtlmInfo>;

    /// Whether the package's answer to a server token is a function of the password that can
    /// be attacked offline (NTLM's AUTHENTICATE): only such an answer is withheld when the far
    /// end may not be the server. Kerberos's answers are sealed with the ticket's session key,
    /// and its pre-authentication went to the KDC of the user's realm, under its own rule.
    fn answer_is_crackable(&self) -> bool {
        true
    }
}

/// NTLM for `identity`, authenticating to `spn` (`TERMSRV/host`).
pub(crate) fn ntlm(identity: sspi::AuthIdentity, spn: String) -> Result<SspiPackage, String> {
    let context = SspiContext::Ntlm(sspi::Ntlm::with_config(NtlmConfig::default()));
    SspiPackage::new(context, PackageKind::Ntlm, identity, spn)
}

/// Kerberos for `identity` (a user principal name: sspi takes the realm from it) to `spn`, its
/// KDC requests addressed to `kdc_url` (`tcp://`, `udp://`, or a KDC proxy's `https://`). It is
/// `sspi`'s Negotiate limited to Kerberos ("kerberos,!ntlm"), so the first token is the SPNEGO
/// NegTokenInit with the AP-REQ that mstsc sends, and a Kerberos failure is an error rather than
/// `sspi`'s own silent fall-back to NTLM (the negotiate module falls back, saying why).
pub(crate) fn kerberos(
    identity: sspi::AuthIdentity,
    spn: String,
    kdc_url: url::Url,
) -> Result<SspiPackage, String> {
    let computer = "rdpdoctor".to_string();
    let config = sspi::NegotiateConfig::new(
        Box::new(sspi::KerberosConfig {
            kdc_url: Some(kdc_url),
            client_computer_name: computer.clone(),
        }),
        Some("kerberos,!ntlm".to_string()),
        computer,
    );
    let negotiate = contain::call("sspi Negotiate::new_client", || {
        sspi::Negotiate::new_client(config)
    })
    .map_err(|p| p.to_string())?
    .map_err(|e| format!("no Kerberos client: {e}"))?;
    SspiPackage::new(
        SspiContext::Negotiate(negotiate),
        PackageKind::Kerberos,
        identity,
        spn,
    )
}

/// The network client the chosen package's logon sends its KDC requests through: none for NTLM
/// (a request reaching it fails, saying so); Negotiate takes the recorded client of the
/// readiness checks (`crate::kdc::SspiNetworkClient`, within `budget`, the check's deadlines).
pub(crate) fn kdc_client(choice: &Choice, budget: crate::kdc::Budget) -> Box<dyn KdcClient> {
    match choice.kind {
        PackageKind::Ntlm => Box::new(NoKdc),
        PackageKind::Kerberos | PackageKind::Negotiate => Box::new(
            crate::kdc::SspiNetworkClient::new(crate::kdc::KdcClient::new(budget)),
        ),
    }
}

/// A package as `sspi` implements it.
pub(crate) struct SspiPackage {
    context: SspiContext,
    kind: PackageKind,
    credentials: Option<CredentialsBuffers>,
    spn: String,
}

impl SspiPackage {
    fn new(
        mut context: SspiContext,
        kind: PackageKind,
        identity: sspi::AuthIdentity,
        spn: String,
    ) -> Result<SspiPackage, String> {
        let auth = sspi::Credentials::AuthIdentity(identity);
        let acquired = contain::call("sspi AcquireCredentialsHandle", || {
            AcquireCredentialsHandle::<'_, _, _, WithoutCredentialUse>::new()
                .with_auth_data(&auth)
                .with_credential_use(CredentialUse::Outbound)
                .execute(&mut context)
        })
        .map_err(|p| p.to_string())?
        .map_err(|e| format!("the credentials are not usable: {e}"))?;
        Ok(SspiPackage {
            context,
            kind,
            credentials: acquired.credentials_handle,
            spn,
        })
    }
}

/// What the client asks of the package: mutual authentication and the keys to seal with. Not
/// user-to-user (USE_SESSION_KEY): MIT GSSAPI acceptors refuse it (lab/kerberos/OBSERVED.md).
fn requirements() -> ClientRequestFlags {
    ClientRequestFlags::MUTUAL_AUTH
        | ClientRequestFlags::INTEGRITY
        | ClientRequestFlags::CONFIDENTIALITY
}

impl Package for SspiPackage {
    fn name(&self) -> &'static str {
        self.kind.name()
    }

    fn step(&mut self, server_token: Vec<u8>) -> PackageStep<'_> {
        let context = &mut self.context;
        let credentials = &mut self.credentials;
        let spn = self.spn.as_str();
        Generator::new(move |mut yield_point| async move {
            let mut input = [SecurityBuffer::new(server_token, BufferType::Token)];
            let mut output = [SecurityBuffer::new(Vec::new(), BufferType::Token)];
            let status = {
                let mut builder = context
                    .initialize_security_context()
                    .with_credentials_handle(credentials)
                    .with_context_requirements(requirements())
                    .with_target_data_representation(DataRepresentation::Native)
                    .with_target_name(spn)
                    .with_input(&mut input)
                    .with_output(&mut output);
                let mut inner = context.initialize_security_context_impl(&mut builder)?;
                // The package's own KDC requests go out through this generator's caller.
                let mut state = inner.start();
                loop {
                    match state {
                        GeneratorState::Suspended(request) => {
                            let reply = yield_point.suspend(request).await;
                            state = inner.resume(reply);
                        }
                        GeneratorState::Completed(result) => break result?.status,
                    }
                }
            };
            let token = std::mem::take(&mut output[0].buffer);
            Ok(Stepped {
                token,
                complete: status == SecurityStatus::Ok,
            })
        })
    }

    fn seal(&mut self, data: &[u8]) -> Result<Vec<u8>, String> {
        let mut token = vec![0u8; self.trailer_len()];
        let mut data = data.to_vec();
        let mut buffers = [
            SecurityBufferRef::token_buf(token.as_mut_slice()),
            SecurityBufferRef::data_buf(data.as_mut_slice()),
        ];
        contain::call("sspi encrypt_message", || {
            self.context
                .encrypt_message(EncryptionFlags::empty(), &mut buffers)
        })
        .map_err(|p| p.to_string())?
        .map_err(|e| e.to_string())?;
        let [signature, sealed] = &buffers;
        let mut out = signature.data().to_vec();
        out.extend_from_slice(sealed.data());
        Ok(out)
    }

    fn unseal(&mut self, sealed: &[u8]) -> Result<Vec<u8>, String> {
        let mut sealed = match self.kind {
            PackageKind::Ntlm => sealed.to_vec(),
            PackageKind::Kerberos | PackageKind::Negotiate => {
                super::kerberos::with_windows_rotation(sealed)
            }
        };
        let at = self.trailer_len().min(sealed.len());
        let (signature, data) = sealed.split_at_mut(at);
        let mut buffers = [
            SecurityBufferRef::data_buf(data),
            SecurityBufferRef::token_buf(signature),
        ];
        contain::call("sspi decrypt_message", || {
            self.context.decrypt_message(&mut buffers)
        })
        .map_err(|p| p.to_string())?
        .map_err(|e| e.to_string())?;
        let [data, _] = &buffers;
        Ok(data.data().to_vec())
    }

    fn trailer_len(&mut self) -> usize {
        self.context
            .query_context_sizes()
            .map(|s| s.security_trailer as usize)
            .unwrap_or(rdpdoctor_wire::credssp::NTLM_SIGNATURE_LEN)
    }

    fn ts_credentials(&self, delegating: bool) -> Result<Vec<u8>, String> {
        let credentials = self
            .credentials
            .as_ref()
            .ok_or("the package holds no credentials")?;
        write_ts_credentials(credentials, delegating)
    }

    fn unreadable(&self, server_token: &[u8]) -> Option<(String, Vec<u8>)> {
        match self.kind {
            PackageKind::Ntlm => ntlm::unreadable_challenge(server_token),
            // sspi's SPNEGO and AP-REP decoders read it (picky's DER, contained above).
            PackageKind::Kerberos | PackageKind::Negotiate => None,
        }
    }

    fn server_names(&self, server_token: &[u8]) -> Option<NtlmInfo> {
        match self.kind {
            PackageKind::Ntlm => ntlm::names(server_token),
            PackageKind::Kerberos | PackageKind::Negotiate => None,
        }
    }

    fn answer_is_crackable(&self) -> bool {
        self.kind == PackageKind::Ntlm
    }
}

/// The TSCredentials of `credentials` (MS-CSSP 2.2.1.2), or, without `delegating`, empty ones.
pub(crate) fn write_ts_credentials(
    credentials: &CredentialsBuffers,
    delegating: bool,
) -> Result<Vec<u8>, String> {
    let mode = if delegating {
        CredSspMode::WithCredentials
    } else {
        CredSspMode::CredentialLess
    };
    contain::call("sspi write_ts_credentials", || {
        sspi::credssp::write_ts_credentials(credentials, mode)
    })
    .map_err(|p| p.to_string())?
    .map_err(|e| e.to_string())
}
