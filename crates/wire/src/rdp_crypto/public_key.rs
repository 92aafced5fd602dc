//! The server's RSA public key (MS-RDPBCGR 5.3.3) and the encryption of the client random with it
//! (5.3.4.1).

use super::CryptoError;
use crate::mcs::ServerCertificate;
use ironrdp_core::{Decode, ReadCursor};
use ironrdp_pdu::rdp::server_license::cert::ProprietaryCertificate;
use num_bigint::BigUint;
use pkcs1::der::Decode as _;

/// The largest modulus accepted, in bits: Windows uses 512 (proprietary) and 2048 (X.509); the
/// bound keeps a hostile server from making the client compute with a huge number.
const MAX_MODULUS_BITS: u64 = 8192;
/// Padding after the encrypted random (5.3.4.1: the buffer is the key length plus 8 zero bytes).
const PADDING: usize = 8;

/// An RSA public key as Standard RDP Security uses it: numbers in little-endian byte order.
#[derive(Clone, PartialEq, Eq)]
pub struct ServerPublicKey {
    modulus: BigUint,
    exponent: u32,
    /// Bytes of the modulus as the key declares it (without the 8 padding bytes).
    modulus_len: usize,
}

impl std::fmt::Debug for ServerPublicKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "ServerPublicKey({} bits, e={})",
            self.modulus.bits(),
            self.exponent
        )
    }
}

impl ServerPublicKey {
    /// The key of a Server Certificate (2.2.1.4.3.1, `serverCertificate` of the Server Security
    /// Data): the RSA_PUBLIC_KEY of a proprietary certificate (2.2.1.4.3.1.1.1, modulus
    /// little-endian), or the subject key of the last certificate of an X.509 chain (5.3.3.2, the
    /// server's own, issued by a licence server; DER and big-endian there).
    pub fn from_certificate(bytes: &[u8]) -> Result<ServerPublicKey, CryptoError> {
        let version = bytes
            .get(..4)
            .and_then(|b| b.try_into().ok())
            .map(u32::from_le_bytes)
            .ok_or_else(|| CryptoError::PublicKey("certificate shorter than 4 bytes".into()))?;
        match version & 0x7FFF_FFFF {
            1 => {
                let rest = bytes.get(4..).unwrap_or_default();
                let cert = ProprietaryCertificate::decode(&mut ReadCursor::new(rest))
                    .map_err(|e| CryptoError::PublicKey(format!("proprietary certificate: {e}")))?;
                let modulus_le = &cert.public_key.modulus;
                let len = modulus_le
                    .iter()
                    .rposition(|b| *b != 0)
                    .map(|i| i + 1)
                    .unwrap_or(0);
                // keylen counts the modulus and its 8 padding bytes; bitlen/8 is the modulus.
                let declared = modulus_le.len().saturating_sub(PADDING).max(len);
                Self::new(
                    BigUint::from_bytes_le(modulus_le),
                    cert.public_key.public_exponent,
                    declared,
                )
            }
            2 => match crate::mcs::server_certificate(bytes) {
                ServerCertificate::X509 { certificates, .. } => {
                    let last = certificates.last().ok_or_else(|| {
                        CryptoError::PublicKey("X.509 chain without certificates".into())
                    })?;
                    Self::from_x509_der(last)
                }
                ServerCertificate::Unreadable { reason, .. } => Err(CryptoError::PublicKey(reason)),
                ServerCertificate::Proprietary { .. } => Err(CryptoError::PublicKey(
                    "chain version 2 read as proprietary".into(),
                )),
            },
            other => Err(CryptoError::PublicKey(format!(
                "unknown certificate chain version {other}"
            ))),
        }
    }

    /// The RSA key of one DER X.509 certificate.
    pub fn from_x509_der(der: &[u8]) -> Result<ServerPublicKey, CryptoError> {
        let cert = x509_cert::Certificate::from_der(der)
            .map_err(|e| CryptoError::PublicKey(format!("X.509 certificate: {e}")))?;
        let spki = cert.tbs_certificate().subject_public_key_info();
        let key_bytes = spki.subject_public_key.as_bytes().ok_or_else(|| {
            CryptoError::PublicKey("X.509 subject key is not a whole number of bytes".into())
        })?;
        let rsa = pkcs1::RsaPublicKey::from_der(key_bytes)
            .map_err(|e| CryptoError::PublicKey(format!("X.509 subject key is not RSA: {e}")))?;
        let exponent = u32::try_from(BigUint::from_bytes_be(rsa.public_exponent.as_bytes()))
            .map_err(|_| CryptoError::PublicKey("RSA exponent wider than 32 bits".into()))?;
        let modulus = BigUint::from_bytes_be(rsa.modulus.as_bytes());
        let len = usize::try_from(modulus.bits().div_ceil(8)).unwrap_or(usize::MAX);
        Self::new(modulus, exponent, len)
    }

    fn new(
        modulus: BigUint,
        exponent: u32,
        modulus_len: usize,
    ) -> Result<ServerPublicKey, CryptoError> {
        let bits = modulus.bits();
        if bits > MAX_MODULUS_BITS {
            return Err(CryptoError::PublicKey(format!(
                "{bits}-bit modulus is larger than {MAX_MODULUS_BITS} bits"
            )));
        }
        // The 32-byte random must be smaller than the modulus for RSA to carry it.
        if bits <= 256 || exponent == 0 {
            return Err(CryptoError::PublicKey(format!(
                "{bits}-bit modulus with exponent {exponent} cannot carry a 256-bit client random"
            )));
        }
        Ok(ServerPublicKey {
            modulus,
            exponent,
            modulus_len,
        })
    }

    /// Significant bits of the modulus.
    pub fn bits(&self) -> u64 {
        self.modulus.bits()
    }

    /// encryptedClientRandom (5.3.4.1): c = r^e mod n with r the client random read as a
    /// little-endian number, written little-endian into a zeroed buffer of the key length plus 8
    /// bytes.
    pub fn encrypt_client_random(&self, client_random: &[u8; 32]) -> Vec<u8> {
        let r = BigUint::from_bytes_le(client_random);
        let c = r.modpow(&BigUint::from(self.exponent), &self.modulus);
        let mut out = c.to_bytes_le();
        out.resize(self.modulus_len.max(out.len()) + PADDING, 0);
        out
    }
}
