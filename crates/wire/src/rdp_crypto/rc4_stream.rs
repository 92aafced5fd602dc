//! One direction of RC4 session traffic (MS-RDPBCGR 5.3.6.1) with its key updates (5.3.7.1).

use super::keys::Method;
use super::mac::{PAD1, PAD2};
use md5::{Digest, Md5};
use rc4::{KeyInit, Rc4, StreamCipher};
use sha1::Sha1;

/// After this many packets a direction updates its key (5.3.7.1).
pub(super) const PACKETS_PER_KEY: u32 = 4096;

/// The RC4 state of one direction: its initial and current keys, the cipher keyed with the
/// current one (the keystream runs on across packets), and the packets it has processed.
pub(super) struct Rc4Stream {
    method: Method,
    initial: Vec<u8>,
    current: Vec<u8>,
    cipher: Option<Rc4>,
    /// Packets encrypted or decrypted so far (EncryptionCount of 5.3.6.1.1).
    pub(super) count: u32,
}

impl Rc4Stream {
    pub(super) fn new(method: Method, key: &[u8]) -> Self {
        Rc4Stream {
            method,
            initial: key.to_vec(),
            current: key.to_vec(),
            cipher: Rc4::new_from_slice(key).ok(),
            count: 0,
        }
    }

    /// Encrypts or decrypts one packet in place (RC4 is its own inverse), updating the key first
    /// when this direction has processed a multiple of 4096 packets.
    pub(super) fn apply(&mut self, data: &mut [u8]) {
        if self.count > 0 && self.count.is_multiple_of(PACKETS_PER_KEY) {
            self.update_key();
        }
        if let Some(c) = self.cipher.as_mut() {
            c.apply_keystream(data);
        }
        self.count = self.count.wrapping_add(1);
    }

    /// 5.3.7.1: TempKey = MD5(InitialKey + Pad2 + SHA(InitialKey + Pad1 + CurrentKey)), cut to the
    /// key length; the new key is TempKey encrypted with RC4 keyed by itself, salted again for 40-
    /// and 56-bit keys. The keystream then restarts from the new key.
    fn update_key(&mut self) {
        let len = self.current.len();
        let sha = Sha1::new()
            .chain_update(&self.initial)
            .chain_update(PAD1)
            .chain_update(&self.current)
            .finalize();
        let md5 = Md5::new()
            .chain_update(&self.initial)
            .chain_update(PAD2)
            .chain_update(sha)
            .finalize();
        let mut temp: Vec<u8> = md5.iter().copied().take(len).collect();
        if let Ok(mut c) = Rc4::new_from_slice(&temp) {
            c.apply_keystream(&mut temp);
        }
        self.method.salt(&mut temp);
        self.cipher = Rc4::new_from_slice(&temp).ok();
        self.current = temp;
    }

    #[cfg(test)]
    pub(super) fn current_key(&self) -> &[u8] {
        &self.current
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Expected values computed by an independent Python implementation written from 5.3.7.1
    // (hashlib's SHA-1 and MD5, RC4 as defined), not by this code.

    #[test]
    fn keys_update_after_every_4096_packets() {
        let initial: Vec<u8> = (0u8..16).collect();
        let mut s = Rc4Stream::new(Method::Rc4Bit128, &initial);
        let mut packet = [0u8; 4];
        for _ in 0..PACKETS_PER_KEY {
            s.apply(&mut packet);
        }
        assert_eq!(
            s.current_key(),
            initial.as_slice(),
            "no update before packet 4097"
        );
        let mut packet = [0u8; 4];
        s.apply(&mut packet);
        assert_eq!(
            hex::encode(s.current_key()),
            "e2a4bda35b1776767f79ec4a7ed1f5b6"
        );
        // Packet 4097 is encrypted from the start of the new key's keystream.
        assert_eq!(hex::encode(packet), "45970b2e");
        for _ in 1..PACKETS_PER_KEY {
            s.apply(&mut packet);
        }
        s.apply(&mut packet);
        // The second update starts from the initial key and the current one.
        assert_eq!(
            hex::encode(s.current_key()),
            "e6a37c2f5a6f0fc00702ca75c389f091"
        );
    }

    #[test]
    fn forty_bit_keys_are_salted_again_after_an_update() {
        let initial = [0xD1, 0x26, 0x9E, 3, 4, 5, 6, 7];
        let mut s = Rc4Stream::new(Method::Rc4Bit40, &initial);
        let mut packet = [0u8; 1];
        for _ in 0..=PACKETS_PER_KEY {
            s.apply(&mut packet);
        }
        assert_eq!(hex::encode(s.current_key()), "d1269ee15f0a81d0");
    }
}
