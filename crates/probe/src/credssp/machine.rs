//! The CredSSP client (MS-CSSP 3.1.5) as a state machine without I/O: it builds the TSRequests
//! to send and reads the server's, and leaves the security package's steps (and their KDC round
//! trips) and the bytes on the wire to the driver (`credssp/mod.rs`).
//!
//! The sequence, client side:
//! 1. the package's tokens go out in negoTokens (TSRequest version 6, MS-CSSP 2.2.1) and come
//!    back until the package says its exchange is complete;
//! 2. with the last token goes pubKeyAuth: the server's TLS public key sealed with the package's
//!    keys, for a server of version 2 to 4, or, for version 5 and later, the SHA-256 of
//!    "CredSSP Client-To-Server Binding Hash\0", a random 32-byte clientNonce and the key (the
//!    CVE-2018-0886 fix), with the clientNonce beside it;
//! 3. the server proves it holds the same key: its pubKeyAuth is the key with its first byte
//!    plus one (versions 2 to 4), or the SHA-256 of "CredSSP Server-To-Client Binding Hash\0",
//!    the same nonce and the key; an errorCode instead is its verdict on the credentials;
//! 4. only then may TSCredentials go out (authInfo, sealed): the password, or, in Restricted
//!    Admin mode, empty credentials.

use super::package::{Package, PackageStep, Stepped};
use rdpdoctor_observations::{LogonOutcome, NlaPhase};
use rdpdoctor_wire::credssp::{self, AuthenticateAnswer, TsRequest};

/// The clientNonce's length (MS-CSSP 2.2.1).
const NONCE_LEN: usize = 32;
const CLIENT_TO_SERVER: &[u8] = b"CredSSP Client-To-Server Binding Hash\0";
const SERVER_TO_CLIENT: &[u8] = b"CredSSP Server-To-Client Binding Hash\0";
/// The first version whose pubKeyAuth is a hash with the clientNonce.
const NONCE_VERSION: u32 = 5;

/// A TSRequest in answer to the first token that carries neither a token nor an error.
pub(crate) const NO_CHALLENGE: &str =
    "the answer to the NTLM NEGOTIATE is a TSRequest with neither negoTokens (a CHALLENGE) nor an errorCode";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    /// Tokens are exchanged.
    Negotiating,
    /// pubKeyAuth went out; the server's proof (or verdict) is awaited.
    AwaitingProof,
    /// The server proved its key.
    Proven,
}

/// What the server's TSRequest means.
pub(crate) enum Heard {
    /// A token for the package's next step.
    Token(Vec<u8>),
    /// The server's pubKeyAuth verified: it holds the key this client saw in TLS.
    Proven,
    /// The exchange ends here.
    Ended(LogonOutcome),
}

pub(crate) struct Machine {
    package: Box<dyn Package>,
    /// The subjectPublicKey of the server's TLS certificate.
    public_key: Vec<u8>,
    nonce: [u8; NONCE_LEN],
    /// The version of the server's first TSRequest: it decides how pubKeyAuth binds the key.
    peer_version: Option<u32>,
    state: State,
}

impl Machine {
    /// A CredSSP client running `package` over a TLS channel whose server key is `public_key`.
    pub(crate) fn new(package: Box<dyn Package>, public_key: Vec<u8>) -> Result<Machine, String> {
        let mut nonce = [0u8; NONCE_LEN];
        openssl::rand::rand_bytes(&mut nonce).map_err(|e| format!("no random nonce: {e}"))?;
        Ok(Machine {
            package,
            public_key,
            nonce,
            peer_version: None,
            state: State::Negotiating,
        })
    }

    /// The package's name.
    pub(crate) fn package(&self) -> &dyn Package {
        self.package.as_ref()
    }

    /// The package's next step on the server's `token` (empty at first), for the driver to run.
    pub(crate) fn step(&mut self, token: Vec<u8>) -> PackageStep<'_> {
        self.package.step(token)
    }

    /// The TSRequest that carries a step's token; with the package's exchange complete, also
    /// pubKeyAuth and the clientNonce (step 2).
    pub(crate) fn request(&mut self, stepped: Stepped) -> Result<TsRequest, String> {
        let mut request = TsRequest {
            version: credssp::VERSION,
            nego_tokens: (!stepped.token.is_empty()).then_some(stepped.token),
            ..TsRequest::default()
        };
        if stepped.complete {
            let binding = self.binding(CLIENT_TO_SERVER, |_| {});
            request.pub_key_auth = Some(self.package.seal(&binding)?);
            if self.hashed() {
                request.client_nonce = Some(self.nonce);
            }
            self.state = State::AwaitingProof;
        }
        Ok(request)
    }

    /// Reads the server's TSRequest.
    pub(crate) fn heard(&mut self, answer: TsRequest) -> Heard {
        self.peer_version.get_or_insert(answer.version);
        match self.state {
            State::Negotiating => self.token(answer),
            State::AwaitingProof => self.proof(answer),
            State::Proven => Heard::Ended(LogonOutcome::Failed {
                phase: NlaPhase::Authenticate,
                reason: "the server sent another TSRequest after its proof".to_string(),
            }),
        }
    }

    /// The TSCredentials, sealed, once the server proved its key (step 4); empty credentials
    /// unless `delegating`.
    pub(crate) fn credentials(&mut self, delegating: bool) -> Result<TsRequest, String> {
        if self.state != State::Proven {
            return Err("no TSCredentials before the server proved its key".to_string());
        }
        let plain = zeroize::Zeroizing::new(self.package.ts_credentials(delegating)?);
        Ok(TsRequest {
            version: credssp::VERSION,
            auth_info: Some(self.package.seal(&plain)?),
            ..TsRequest::default()
        })
    }

    fn token(&mut self, answer: TsRequest) -> Heard {
        let phase = NlaPhase::Challenge;
        if let Some(code) = answer.error_code.filter(|c| c.0 != 0) {
            return Heard::Ended(LogonOutcome::ErrorCode { code: code.0 });
        }
        let token = answer.nego_tokens.unwrap_or_default();
        if token.is_empty() {
            return Heard::Ended(LogonOutcome::Malformed {
                phase,
                reason: NO_CHALLENGE.to_string(),
                excerpt_hex: String::new(),
            });
        }
        if let Some((reason, bytes)) = self.package.unreadable(&token) {
            return Heard::Ended(LogonOutcome::Malformed {
                phase,
                reason,
                excerpt_hex: crate::excerpt_hex(&bytes, 48),
            });
        }
        Heard::Token(token)
    }

    /// The answer to the last token: a verdict, or the proof (step 3), checked before any of it
    /// reaches the package.
    fn proof(&mut self, answer: TsRequest) -> Heard {
        let pub_key_auth = match credssp::classify_authenticate_answer(&answer) {
            AuthenticateAnswer::Refused(code) => {
                return Heard::Ended(LogonOutcome::ErrorCode { code })
            }
            AuthenticateAnswer::Missing(answer) => {
                return Heard::Ended(LogonOutcome::PubKeyAuthMissing { answer })
            }
            AuthenticateAnswer::Unverifiable(reason) => {
                return Heard::Ended(LogonOutcome::PubKeyAuthMismatch { reason })
            }
            AuthenticateAnswer::Proof => answer.pub_key_auth.unwrap_or_default(),
        };
        let trailer = self.package.trailer_len();
        if pub_key_auth.len() <= trailer {
            return Heard::Ended(LogonOutcome::PubKeyAuthMismatch {
                reason: format!(
                    "a pubKeyAuth of {} bytes, no longer than the {trailer}-byte signature of a sealed {} message",
                    pub_key_auth.len(),
                    self.package.name()
                ),
            });
        }
        let proof = match self.package.unseal(&pub_key_auth) {
            Ok(p) => p,
            // The package's own words: a signature or sequence number that does not verify.
            Err(reason) => return Heard::Ended(LogonOutcome::PubKeyAuthMismatch { reason }),
        };
        // Versions 2 to 4 echo the key with its first byte plus one.
        let expected = self.binding(SERVER_TO_CLIENT, |key| {
            if let Some(first) = key.first_mut() {
                *first = first.wrapping_add(1);
            }
        });
        if proof != expected {
            return Heard::Ended(LogonOutcome::PubKeyAuthMismatch {
                reason: format!(
                    "the server's pubKeyAuth does not match the TLS key this client saw (CredSSP version {})",
                    self.peer_version.unwrap_or_default()
                ),
            });
        }
        self.state = State::Proven;
        Heard::Proven
    }

    /// Whether pubKeyAuth is the nonce-bound hash (the server's version is 5 or later).
    fn hashed(&self) -> bool {
        self.peer_version.unwrap_or(credssp::VERSION) >= NONCE_VERSION
    }

    /// The value pubKeyAuth seals: the hash of `magic`, the nonce and the key, or, for an older
    /// server, the key itself changed by `echo`.
    fn binding(&self, magic: &[u8], echo: impl FnOnce(&mut Vec<u8>)) -> Vec<u8> {
        if self.hashed() {
            let mut data = magic.to_vec();
            data.extend_from_slice(&self.nonce);
            data.extend_from_slice(&self.public_key);
            openssl::sha::sha256(&data).to_vec()
        } else {
            let mut key = self.public_key.clone();
            echo(&mut key);
            key
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use rdpdoctor_observations::NtlmInfo;
    use sspi::generator::Generator;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    /// A package whose sealing is visible: a 16-byte signature of zeros, then the data. It counts
    /// the values handed to `unseal`.
    pub(crate) struct Clear {
        pub(crate) unsealed: Arc<AtomicUsize>,
    }

    impl Package for Clear {
        fn name(&self) -> &'static str {
            "CLEAR"
        }
        fn step(&mut self, server_token: Vec<u8>) -> PackageStep<'_> {
            Generator::new(move |_| async move {
                Ok(Stepped {
                    complete: !server_token.is_empty(),
                    token: b"token".to_vec(),
                })
            })
        }
        fn seal(&mut self, data: &[u8]) -> Result<Vec<u8>, String> {
            Ok([vec![0u8; 16], data.to_vec()].concat())
        }
        fn unseal(&mut self, sealed: &[u8]) -> Result<Vec<u8>, String> {
            self.unsealed.fetch_add(1, Ordering::SeqCst);
            Ok(sealed.get(16..).unwrap_or_default().to_vec())
        }
        fn trailer_len(&mut self) -> usize {
            16
        }
        fn ts_credentials(&self, delegating: bool) -> Result<Vec<u8>, String> {
            Ok(if delegating { b"password" } else { b"nothing!" }.to_vec())
        }
        fn unreadable(&self, server_token: &[u8]) -> Option<(String, Vec<u8>)> {
            (server_token == b"bad").then(|| ("unreadable".to_string(), server_token.to_vec()))
        }
        fn server_names(&self, _: &[u8]) -> Option<NtlmInfo> {
            None
        }
    }

    const KEY: &[u8] = &[0x30, 0x0d, 0x02, 0x01, 0x05];

    fn machine() -> (Machine, Arc<AtomicUsize>) {
        let unsealed = Arc::new(AtomicUsize::new(0));
        let package = Clear {
            unsealed: unsealed.clone(),
        };
        let m = Machine::new(Box::new(package), KEY.to_vec()).unwrap_or_else(|e| panic!("{e}"));
        (m, unsealed)
    }

    /// The machine after the server's first answer (version `version`) and the client's token
    /// that completed the package: what went out.
    fn to_proof(m: &mut Machine, version: u32) -> TsRequest {
        let first = m.request(Stepped {
            token: b"negotiate".to_vec(),
            complete: false,
        });
        assert!(first.is_ok_and(|r| r.pub_key_auth.is_none()));
        let challenge = TsRequest {
            version,
            nego_tokens: Some(b"challenge".to_vec()),
            ..TsRequest::default()
        };
        assert!(matches!(m.heard(challenge), Heard::Token(t) if t == b"challenge"));
        m.request(Stepped {
            token: b"authenticate".to_vec(),
            complete: true,
        })
        .unwrap_or_else(|e| panic!("{e}"))
    }

    fn sha(magic: &[u8], nonce: &[u8], key: &[u8]) -> Vec<u8> {
        openssl::sha::sha256(&[magic, nonce, key].concat()).to_vec()
    }

    fn answer(pub_key_auth: Vec<u8>) -> TsRequest {
        TsRequest {
            version: 6,
            pub_key_auth: Some(pub_key_auth),
            ..TsRequest::default()
        }
    }

    /// Version 5 and later (MS-CSSP 3.1.5, the CVE-2018-0886 fix): both sides seal hashes bound to
    /// the clientNonce; TSCredentials only after the server's verified.
    #[test]
    fn a_version_6_server_proves_its_key_with_the_nonce_hash() {
        let (mut m, _) = machine();
        let sent = to_proof(&mut m, 6);
        let nonce = sent
            .client_nonce
            .unwrap_or_else(|| panic!("no clientNonce"));
        assert_eq!(
            sent.pub_key_auth,
            Some([vec![0; 16], sha(CLIENT_TO_SERVER, &nonce, KEY)].concat())
        );
        assert!(m.credentials(true).is_err(), "credentials before the proof");
        let proof = [vec![0; 16], sha(SERVER_TO_CLIENT, &nonce, KEY)].concat();
        assert!(matches!(m.heard(answer(proof)), Heard::Proven));
        let creds = m.credentials(true).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            creds.auth_info,
            Some([vec![0; 16], b"password".to_vec()].concat())
        );
        let restricted = m.credentials(false).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            restricted.auth_info,
            Some([vec![0; 16], b"nothing!".to_vec()].concat())
        );
    }

    /// Versions 2 to 4: the key itself, and the server's with its first byte plus one; no nonce.
    #[test]
    fn a_version_3_server_echoes_the_key_plus_one() {
        let (mut m, _) = machine();
        let sent = to_proof(&mut m, 3);
        assert_eq!(sent.client_nonce, None);
        assert_eq!(sent.pub_key_auth, Some([&[0u8; 16][..], KEY].concat()));
        let mut echo = KEY.to_vec();
        echo[0] += 1;
        assert!(matches!(
            m.heard(answer([vec![0; 16], echo].concat())),
            Heard::Proven
        ));
    }

    /// A proof that does not match, is missing, or is too short to be sealed data is never the
    /// server's verdict, and a short one never reaches the package.
    #[test]
    fn what_is_not_a_proof_says_why() {
        let (mut m, unsealed) = machine();
        let sent = to_proof(&mut m, 6);
        let nonce = sent.client_nonce.unwrap_or_default();
        let wrong = [vec![0; 16], sha(CLIENT_TO_SERVER, &nonce, KEY)].concat();
        assert!(matches!(
            m.heard(answer(wrong)),
            Heard::Ended(LogonOutcome::PubKeyAuthMismatch { .. })
        ));
        assert_eq!(unsealed.load(Ordering::SeqCst), 1);
        for short in [0usize, 8, 15, 16] {
            let (mut m, unsealed) = machine();
            to_proof(&mut m, 6);
            match m.heard(answer(vec![0; short])) {
                Heard::Ended(LogonOutcome::PubKeyAuthMismatch { reason }) => {
                    assert!(reason.contains(&format!("{short} bytes")), "{reason}")
                }
                _ => panic!("{short} bytes taken as a proof"),
            }
            assert_eq!(unsealed.load(Ordering::SeqCst), 0, "{short} bytes unsealed");
        }
        let (mut m, _) = machine();
        to_proof(&mut m, 6);
        assert!(matches!(
            m.heard(TsRequest {
                version: 6,
                ..TsRequest::default()
            }),
            Heard::Ended(LogonOutcome::PubKeyAuthMissing { .. })
        ));
    }

    /// The server's verdict and unreadable first answers.
    #[test]
    fn errors_and_unreadable_tokens_end_the_exchange() {
        let refused = |code| TsRequest {
            version: 6,
            error_code: Some(sspi::credssp::NStatusCode(code)),
            ..TsRequest::default()
        };
        let (mut m, _) = machine();
        assert!(matches!(
            m.heard(refused(0xC000_006D)),
            Heard::Ended(LogonOutcome::ErrorCode { code: 0xC000_006D })
        ));
        let (mut m, _) = machine();
        to_proof(&mut m, 6);
        assert!(matches!(
            m.heard(refused(0xC000_006D)),
            Heard::Ended(LogonOutcome::ErrorCode { code: 0xC000_006D })
        ));
        let (mut m, _) = machine();
        let empty = TsRequest {
            version: 6,
            ..TsRequest::default()
        };
        assert!(matches!(
            m.heard(empty),
            Heard::Ended(LogonOutcome::Malformed { reason, .. }) if reason == NO_CHALLENGE
        ));
        let (mut m, _) = machine();
        let bad = TsRequest {
            version: 6,
            nego_tokens: Some(b"bad".to_vec()),
            ..TsRequest::default()
        };
        assert!(matches!(
            m.heard(bad),
            Heard::Ended(LogonOutcome::Malformed { reason, .. }) if reason == "unreadable"
        ));
    }
}
