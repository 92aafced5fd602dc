//! Session key generation (MS-RDPBCGR 5.3.5): the non-FIPS keys derived with SaltedHash (5.3.5.1),
//! salted down to 40 or 56 bits where the method says so (5.3.5.1, Table 1 of 5.3.7.1), and the
//! FIPS keys derived with SHA-1 (5.3.5.2).

use super::CryptoError;
use md5::{Digest, Md5};
use sha1::Sha1;

/// The encryption method the server chose (Server Security Data encryptionMethod, 2.2.1.4.3).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Method {
    Rc4Bit40,
    Rc4Bit56,
    Rc4Bit128,
    Fips,
}

impl Method {
    /// The method for an encryptionMethod value; `None` for ENCRYPTION_METHOD_NONE (0), where no
    /// keys exist.
    pub fn from_wire(value: u32) -> Result<Option<Method>, CryptoError> {
        match value {
            0 => Ok(None),
            0x01 => Ok(Some(Method::Rc4Bit40)),
            0x08 => Ok(Some(Method::Rc4Bit56)),
            0x02 => Ok(Some(Method::Rc4Bit128)),
            0x10 => Ok(Some(Method::Fips)),
            other => Err(CryptoError::UnknownMethod(other)),
        }
    }

    /// The RC4 key length in bytes (5.3.7.1 Table 1: 40- and 56-bit keys are 8-byte keys whose
    /// first bytes are the fixed salt); `None` for FIPS.
    pub fn rc4_key_len(self) -> Option<usize> {
        match self {
            Method::Rc4Bit40 | Method::Rc4Bit56 => Some(8),
            Method::Rc4Bit128 => Some(16),
            Method::Fips => None,
        }
    }

    /// Replaces the first bytes of an 8-byte key with the fixed salt: 0xD1269E for 40-bit keys,
    /// 0xD1 for 56-bit keys (5.3.5.1). 128-bit keys are used whole.
    pub(super) fn salt(self, key: &mut [u8]) {
        let salt: &[u8] = match self {
            Method::Rc4Bit40 => &[0xD1, 0x26, 0x9E],
            Method::Rc4Bit56 => &[0xD1],
            Method::Rc4Bit128 | Method::Fips => &[],
        };
        for (k, s) in key.iter_mut().zip(salt) {
            *k = *s;
        }
    }
}

/// The three non-FIPS keys of one side. For the client, `encrypt` protects client-to-server
/// traffic and `decrypt` server-to-client traffic; `mac` signs both.
#[derive(Clone, PartialEq, Eq)]
pub struct Rc4Keys {
    pub mac: Vec<u8>,
    pub encrypt: Vec<u8>,
    pub decrypt: Vec<u8>,
}

/// The FIPS keys of the client (5.3.5.2): two 3DES keys of 24 bytes and the HMAC-SHA1 key.
#[derive(Clone, PartialEq, Eq)]
pub struct FipsKeys {
    pub encrypt: [u8; 24],
    pub decrypt: [u8; 24],
    pub hmac: [u8; 20],
}

/// The client's session keys for a method.
#[derive(Clone, PartialEq, Eq)]
pub enum SessionKeys {
    Rc4 { method: Method, keys: Rc4Keys },
    Fips(FipsKeys),
}

// Keys are secrets: Debug shows which kind, never the bytes.
impl std::fmt::Debug for SessionKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SessionKeys::Rc4 { method, .. } => write!(f, "SessionKeys::Rc4({method:?})"),
            SessionKeys::Fips(_) => write!(f, "SessionKeys::Fips"),
        }
    }
}

impl SessionKeys {
    /// The client's keys from the two 32-byte randoms (5.3.5).
    pub fn derive(
        method: Method,
        client_random: &[u8],
        server_random: &[u8],
    ) -> Result<SessionKeys, CryptoError> {
        let client: &[u8; 32] =
            client_random
                .try_into()
                .map_err(|_| CryptoError::RandomLength {
                    which: "client",
                    len: client_random.len(),
                })?;
        let server: &[u8; 32] =
            server_random
                .try_into()
                .map_err(|_| CryptoError::RandomLength {
                    which: "server",
                    len: server_random.len(),
                })?;
        Ok(match method {
            Method::Fips => SessionKeys::Fips(fips_keys(client, server)),
            _ => SessionKeys::Rc4 {
                method,
                keys: rc4_keys(method, client, server),
            },
        })
    }
}

/// SaltedHash(S, I) = MD5(S + SHA(I + S + ClientRandom + ServerRandom)) (5.3.5.1).
fn salted_hash(secret: &[u8], salt: &[u8], client: &[u8; 32], server: &[u8; 32]) -> [u8; 16] {
    let inner = Sha1::new()
        .chain_update(salt)
        .chain_update(secret)
        .chain_update(client)
        .chain_update(server)
        .finalize();
    Md5::new()
        .chain_update(secret)
        .chain_update(inner)
        .finalize()
        .into()
}

/// The three SaltedHash values of `secret` for the salts "A", "BB", "CCC" (or "X", "YY", "ZZZ"),
/// concatenated: the 48-byte Master Secret or session key blob.
fn triple_hash(secret: &[u8], letter: u8, client: &[u8; 32], server: &[u8; 32]) -> [u8; 48] {
    let mut out = [0u8; 48];
    for (i, chunk) in out.chunks_exact_mut(16).enumerate() {
        let salt = [letter.wrapping_add(i as u8); 3];
        let salt = salt.get(..=i).unwrap_or(&salt);
        chunk.copy_from_slice(&salted_hash(secret, salt, client, server));
    }
    out
}

/// FinalHash(K) = MD5(K + ClientRandom + ServerRandom) (5.3.5.1).
fn final_hash(key: &[u8], client: &[u8; 32], server: &[u8; 32]) -> [u8; 16] {
    Md5::new()
        .chain_update(key)
        .chain_update(client)
        .chain_update(server)
        .finalize()
        .into()
}

fn rc4_keys(method: Method, client: &[u8; 32], server: &[u8; 32]) -> Rc4Keys {
    // PreMasterSecret = First192Bits(ClientRandom) + First192Bits(ServerRandom).
    let mut pre_master = [0u8; 48];
    pre_master[..24].copy_from_slice(&client[..24]);
    pre_master[24..].copy_from_slice(&server[..24]);
    let master = triple_hash(&pre_master, b'A', client, server);
    let blob = triple_hash(&master, b'X', client, server);
    // The server encrypts with FinalHash(Second128Bits) and decrypts with FinalHash(Third128Bits):
    // the client's keys are the other way round.
    let mut mac = blob[..16].to_vec();
    let mut decrypt = final_hash(&blob[16..32], client, server).to_vec();
    let mut encrypt = final_hash(&blob[32..48], client, server).to_vec();
    let len = method.rc4_key_len().unwrap_or(16);
    for key in [&mut mac, &mut decrypt, &mut encrypt] {
        key.truncate(len);
        method.salt(key);
    }
    Rc4Keys {
        mac,
        encrypt,
        decrypt,
    }
}

fn fips_keys(client: &[u8; 32], server: &[u8; 32]) -> FipsKeys {
    // ClientEncryptKeyT = SHA(Last128Bits(ClientRandom) + Last128Bits(ServerRandom)),
    // ClientDecryptKeyT = SHA(First128Bits(ClientRandom) + First128Bits(ServerRandom)).
    let encrypt_t: [u8; 20] = Sha1::new()
        .chain_update(&client[16..])
        .chain_update(&server[16..])
        .finalize()
        .into();
    let decrypt_t: [u8; 20] = Sha1::new()
        .chain_update(&client[..16])
        .chain_update(&server[..16])
        .finalize()
        .into();
    let hmac: [u8; 20] = Sha1::new()
        .chain_update(decrypt_t)
        .chain_update(encrypt_t)
        .finalize()
        .into();
    FipsKeys {
        encrypt: des3_key(&encrypt_t),
        decrypt: des3_key(&decrypt_t),
        hmac,
    }
}

/// A 3DES key from a 160-bit SHA-1 value (5.3.5.2): the value with its first byte appended (168
/// bits) is read as a stream of bits, least significant bit of each byte first, and every 7 bits
/// fill bits 0-6 of one of the 24 key bytes, in order; bit 7 stays clear and bit 0 is then set to
/// give the byte odd parity, the parity bit of a DES key byte. The result is what xrdp derives at
/// its FIPS level (tests/lab_rdp_security.rs completes a FIPS session with it).
fn des3_key(t: &[u8; 20]) -> [u8; 24] {
    let mut stream = [0u8; 21];
    stream[..20].copy_from_slice(t);
    stream[20] = t[0];
    let bit = |n: usize| -> u8 { stream.get(n / 8).map(|b| (b >> (n % 8)) & 1).unwrap_or(0) };
    let mut key = [0u8; 24];
    for (i, k) in key.iter_mut().enumerate() {
        let seven = (0..7).fold(0u8, |acc, j| acc | (bit(i * 7 + j) << j));
        *k = if (seven & 0xFE).count_ones() % 2 == 0 {
            (seven & 0xFE) | 1
        } else {
            seven & 0xFE
        };
    }
    key
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn salting_replaces_the_leading_bytes_only() {
        let mut k = vec![1, 2, 3, 4, 5, 6, 7, 8];
        Method::Rc4Bit40.salt(&mut k);
        assert_eq!(k, [0xD1, 0x26, 0x9E, 4, 5, 6, 7, 8]);
        let mut k = vec![1, 2, 3, 4, 5, 6, 7, 8];
        Method::Rc4Bit56.salt(&mut k);
        assert_eq!(k, [0xD1, 2, 3, 4, 5, 6, 7, 8]);
    }

    #[test]
    fn des3_keys_have_odd_parity_and_keep_every_seven_bits() {
        let t = [0xFFu8; 20];
        let k = des3_key(&t);
        // All ones: seven key bits set, bit 0 decided by parity.
        for b in k {
            assert_eq!(b.count_ones() % 2, 1, "{b:02x}");
        }
        assert!(matches!(
            Method::from_wire(0x04),
            Err(CryptoError::UnknownMethod(4))
        ));
        assert_eq!(Method::from_wire(0).ok(), Some(None));
    }
}
