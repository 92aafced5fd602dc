//! Keys: the account's key derived from its password (RFC 3961 string-to-key, RFC 3962 for
//! AES), and the ticket-granting ticket with its session key read from an AS-REP (RFC 4120
//! 5.4.2, key usage 3). Key bytes are zeroed when dropped and never printed.

use super::principal::Principal;
use super::reply::etype_of;
use super::{contained, KerberosError};
use picky_asn1::wrapper::{ExplicitContextTag0, ExplicitContextTag2, OctetStringAsn1, Optional};
use picky_krb::constants::key_usages;
use picky_krb::crypto::CipherSuite;
use picky_krb::data_types::{EncryptedData, Ticket};
use picky_krb::messages::{AsRep, EncAsRepPart, EncKdcRepPart, EncTgsRepPart};
use zeroize::Zeroizing;

/// A Kerberos key of one encryption type.
pub struct Key {
    etype: i32,
    bytes: Zeroizing<Vec<u8>>,
}

impl std::fmt::Debug for Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Key")
            .field("etype", &self.etype)
            .field("bytes", &"<redacted>")
            .finish()
    }
}

/// RFC 3962 4: the default AES string-to-key parameter, 4096 PBKDF2 iterations, the only one
/// picky-krb derives with.
const DEFAULT_S2KPARAMS: [u8; 4] = [0, 0, 0x10, 0];

fn suite(etype: i32) -> Result<CipherSuite, KerberosError> {
    usize::try_from(etype)
        .ok()
        .filter(|e| matches!(e, 17 | 18))
        .and_then(|e| CipherSuite::try_from(e).ok())
        .ok_or_else(|| {
            KerberosError::Crypto(format!(
                "encryption type {etype} ({}) is not implemented here (AES only)",
                super::etype_name(etype)
            ))
        })
}

fn crypto(e: impl std::fmt::Display) -> KerberosError {
    KerberosError::Crypto(e.to_string())
}

/// The key of encryption type `etype` derived from `password` with `salt` (and the KDC's
/// `s2kparams`, which must be the default), as RFC 3962 4 defines it for AES.
pub fn string_to_key(
    etype: i32,
    password: &str,
    salt: &[u8],
    s2kparams: Option<&[u8]>,
) -> Result<Key, KerberosError> {
    if let Some(p) = s2kparams.filter(|p| *p != DEFAULT_S2KPARAMS) {
        return Err(KerberosError::Crypto(format!(
            "the KDC asks for string-to-key parameters {} (not the default 4096 iterations)",
            p.iter().map(|b| format!("{b:02x}")).collect::<String>()
        )));
    }
    let cipher = suite(etype)?.cipher();
    let bytes = cipher
        .generate_key_from_password(password.as_bytes(), salt)
        .map_err(crypto)?;
    Ok(Key {
        etype,
        bytes: Zeroizing::new(bytes),
    })
}

impl Key {
    pub fn etype(&self) -> i32 {
        self.etype
    }

    pub(crate) fn encrypt(&self, usage: i32, plain: &[u8]) -> Result<EncryptedData, KerberosError> {
        let cipher = suite(self.etype)?.cipher();
        let sealed = cipher.encrypt(&self.bytes, usage, plain).map_err(crypto)?;
        Ok(EncryptedData {
            etype: ExplicitContextTag0::from(super::principal::int(i64::from(self.etype))),
            kvno: Optional::from(None),
            cipher: ExplicitContextTag2::from(OctetStringAsn1(sealed)),
        })
    }

    /// Decrypts bytes a KDC sent (contained: they may be anything).
    fn decrypt(&self, usage: i32, sealed: &[u8]) -> Result<Zeroizing<Vec<u8>>, KerberosError> {
        let cipher = suite(self.etype)?.cipher();
        match crate::contain::call("picky-krb decrypt", || {
            cipher.decrypt(&self.bytes, usage, sealed)
        }) {
            Ok(Ok(plain)) => Ok(Zeroizing::new(plain)),
            Ok(Err(e)) => Err(crypto(e)),
            Err(p) => Err(KerberosError::Panicked(p.to_string())),
        }
    }

    /// The keyed checksum of this key's encryption type (RFC 3962 7: hmac-sha1-96-aes128 is 15,
    /// hmac-sha1-96-aes256 16) over `data`.
    pub(crate) fn checksum(
        &self,
        usage: i32,
        data: &[u8],
    ) -> Result<(i64, Vec<u8>), KerberosError> {
        let kind = suite(self.etype)?.cipher().checksum_type();
        let sum = kind
            .hasher()
            .checksum(&self.bytes, usage, data)
            .map_err(crypto)?;
        Ok((i64::from(u32::from(kind)), sum))
    }
}

/// A ticket-granting ticket: what the next TGS-REQ needs.
pub struct Tgt {
    pub realm: String,
    pub client: Principal,
    pub ticket: Ticket,
    pub session_key: Key,
    /// When the ticket ends (Unix seconds), as the KDC set it.
    pub end_time: Option<i64>,
}

impl Tgt {
    /// Reads the TGT from `rep`, the answer to an AS-REQ with `nonce`, with the key the
    /// pre-authentication used. A decryption that fails means the key (the password) is not
    /// the account's; a nonce that differs means the answer is not to this request.
    pub fn from_as_rep(rep: &AsRep, key: &Key, nonce: u32) -> Result<Tgt, KerberosError> {
        let enc = &rep.0.enc_part.0;
        let etype = etype_of(&enc.etype.0);
        if etype != key.etype {
            return Err(KerberosError::Mismatch(format!(
                "the AS-REP is encrypted with type {etype}, the request's key is type {}",
                key.etype
            )));
        }
        let plain = key.decrypt(key_usages::AS_REP_ENC, &enc.cipher.0 .0)?;
        // Windows KDCs tag the AS-REP's encrypted part as an EncTGSRepPart (APPLICATION 26)
        // where RFC 4120 5.4.2 has EncASRepPart (25); RFC 4120 asks clients to accept both.
        let part: EncKdcRepPart = match plain.first() {
            Some(0x7a) => {
                contained("an EncTGSRepPart", || {
                    picky_asn1_der::from_bytes::<EncTgsRepPart>(&plain)
                })?
                .0
            }
            _ => {
                contained("an EncASRepPart", || {
                    picky_asn1_der::from_bytes::<EncAsRepPart>(&plain)
                })?
                .0
            }
        };
        let got = part.nonce.0.as_unsigned_bytes_be().to_vec();
        let want = nonce.to_be_bytes();
        let trimmed: Vec<u8> = want.iter().copied().skip_while(|b| *b == 0).collect();
        if got != trimmed && got != want {
            return Err(KerberosError::Mismatch(
                "the AS-REP's nonce is not the request's".to_string(),
            ));
        }
        let session_key = Key {
            etype: etype_of(&part.key.0.key_type.0),
            bytes: Zeroizing::new(part.key.0.key_value.0 .0.clone()),
        };
        suite(session_key.etype)?;
        let client = Principal {
            kind: etype_of(&rep.0.cname.0.name_type.0),
            names: rep
                .0
                .cname
                .0
                .name_string
                .0
                 .0
                .iter()
                .map(|s| s.0.as_utf8().to_string())
                .collect(),
        };
        Ok(Tgt {
            realm: rep.0.crealm.0 .0.as_utf8().to_string(),
            client,
            ticket: rep.0.ticket.0.clone(),
            session_key,
            end_time: super::time::generalized_to_unix(&part.end_time.0 .0),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The derivation itself is picky-krb's (checked against the real KDC by the lab tests: a
    /// wrong key gets KDC_ERR_PREAUTH_FAILED); here only what this module adds.
    #[test]
    fn derives_aes_keys_and_refuses_what_it_cannot() {
        let k = string_to_key(18, "password", b"ATHENA.MIT.EDUraeburn", None).unwrap();
        assert_eq!(k.etype(), 18);
        assert_eq!(k.bytes.len(), 32);
        let k128 = string_to_key(
            17,
            "password",
            b"ATHENA.MIT.EDUraeburn",
            Some(&DEFAULT_S2KPARAMS),
        )
        .unwrap();
        assert_eq!(k128.bytes.len(), 16);
        assert!(string_to_key(23, "password", b"salt", None).is_err());
        assert!(string_to_key(18, "password", b"salt", Some(&[0, 0, 0, 1])).is_err());
        assert!(!format!("{k:?}").contains(&format!("{:?}", &k.bytes[..4])));
    }

    #[test]
    fn garbage_never_decrypts_and_never_panics() {
        let k = string_to_key(18, "password", b"salt", None).unwrap();
        for sealed in [&[][..], &[0u8; 5][..], &[0u8; 16][..], &[0xffu8; 60][..]] {
            assert!(k.decrypt(key_usages::AS_REP_ENC, sealed).is_err());
        }
        let enc = k.encrypt(key_usages::AS_REP_ENC, b"hello").unwrap();
        assert_eq!(
            &k.decrypt(key_usages::AS_REP_ENC, &enc.cipher.0 .0).unwrap()[..],
            b"hello"
        );
        assert!(k
            .decrypt(key_usages::AS_REQ_TIMESTAMP, &enc.cipher.0 .0)
            .is_err());
    }
}
