//! MACs (MS-RDPBCGR 5.3.6): the non-FIPS MAC (5.3.6.1), its salted form when SEC_SECURE_CHECKSUM
//! is set (5.3.6.1.1), and the FIPS HMAC-SHA1 (5.3.6.2). Each is the first 64 bits of the digest.

use hmac::{Hmac, KeyInit, Mac};
use md5::{Digest, Md5};
use sha1::Sha1;

/// Pad1 and Pad2 of 5.3.6.1 (and of the key update, 5.3.7.1).
pub(super) const PAD1: [u8; 40] = [0x36; 40];
pub(super) const PAD2: [u8; 48] = [0x5C; 48];

/// MACSignature = First64Bits(MD5(MACKey + Pad2 + SHA(MACKey + Pad1 + DataLength + Data
/// [+ EncryptionCount]))): `count` is Some for the salted MAC (SEC_SECURE_CHECKSUM), the number of
/// packets this direction encrypted before this one.
pub(super) fn rc4_mac(mac_key: &[u8], data: &[u8], count: Option<u32>) -> [u8; 8] {
    let length = u32::try_from(data.len()).unwrap_or(u32::MAX).to_le_bytes();
    let mut sha = Sha1::new()
        .chain_update(mac_key)
        .chain_update(PAD1)
        .chain_update(length)
        .chain_update(data);
    if let Some(count) = count {
        sha.update(count.to_le_bytes());
    }
    let md5 = Md5::new()
        .chain_update(mac_key)
        .chain_update(PAD2)
        .chain_update(sha.finalize())
        .finalize();
    first_64_bits(&md5)
}

/// First64Bits(HMAC_SHA1(HMACKey, Data + EncryptionCount)) (5.3.6.2).
pub(super) fn fips_mac(hmac_key: &[u8], data: &[u8], count: u32) -> [u8; 8] {
    // HMAC takes keys of any length: new_from_slice cannot fail for it.
    match <Hmac<Sha1> as KeyInit>::new_from_slice(hmac_key) {
        Ok(mut h) => {
            h.update(data);
            h.update(&count.to_le_bytes());
            first_64_bits(&h.finalize().into_bytes())
        }
        Err(_) => [0; 8],
    }
}

fn first_64_bits(digest: &[u8]) -> [u8; 8] {
    let mut out = [0u8; 8];
    for (o, d) in out.iter_mut().zip(digest) {
        *o = *d;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    // Expected values computed by an independent Python implementation written from 5.3.6.1,
    // 5.3.6.1.1 and 5.3.6.2 (hashlib and hmac), not by this code. The unsalted MAC is also
    // checked against Windows 2000 (tests/rdp_crypto_windows.rs) and xrdp (tests/lab_rdp_security.rs).

    #[test]
    fn plain_salted_and_fips_macs() {
        let key: Vec<u8> = (0u8..16).collect();
        assert_eq!(
            hex::encode(rc4_mac(&key, b"rdpdoctor", None)),
            "e3861c46de2adaca"
        );
        assert_eq!(
            hex::encode(rc4_mac(&key, b"rdpdoctor", Some(0))),
            "9f41bb474215ccba"
        );
        assert_eq!(
            hex::encode(rc4_mac(&key, b"rdpdoctor", Some(5))),
            "0c8d132ccffdd34f"
        );
        let hmac_key: Vec<u8> = (0u8..20).collect();
        assert_eq!(
            hex::encode(fips_mac(&hmac_key, b"rdpdoctor", 7)),
            "cd46922914d878ee"
        );
    }
}
