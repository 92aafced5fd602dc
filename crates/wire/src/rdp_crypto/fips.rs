//! One direction of FIPS session traffic (MS-RDPBCGR 5.3.6.2): 3DES in CBC mode with the fixed IV
//! the specification gives, its chaining carried from one packet to the next, data padded to the
//! 8-byte block. FIPS keys are never updated (5.3.7.2).

use cbc::cipher::{BlockModeDecrypt, BlockModeEncrypt, KeyIvInit};
use des::TdesEde3;

/// The IV of both directions (5.3.6.2).
const IV: [u8; 8] = [0x12, 0x34, 0x56, 0x78, 0x90, 0xAB, 0xCD, 0xEF];
pub(super) const BLOCK: usize = 8;

pub(super) struct FipsEncryptor {
    cipher: Option<cbc::Encryptor<TdesEde3>>,
    pub(super) count: u32,
}

pub(super) struct FipsDecryptor {
    cipher: Option<cbc::Decryptor<TdesEde3>>,
    pub(super) count: u32,
}

impl FipsEncryptor {
    pub(super) fn new(key: &[u8; 24]) -> Self {
        FipsEncryptor {
            cipher: cbc::Encryptor::<TdesEde3>::new_from_slices(key, &IV).ok(),
            count: 0,
        }
    }

    /// Pads `data` with zeros to a whole number of blocks and encrypts it in place; returns the
    /// number of padding bytes (the FIPS header's padlen).
    pub(super) fn encrypt(&mut self, data: &mut Vec<u8>) -> u8 {
        let pad = (BLOCK - data.len() % BLOCK) % BLOCK;
        data.resize(data.len() + pad, 0);
        if let Some(c) = self.cipher.as_mut() {
            for chunk in data.chunks_exact_mut(BLOCK) {
                if let Ok(block) = chunk.try_into() {
                    c.encrypt_block(block);
                }
            }
        }
        self.count = self.count.wrapping_add(1);
        pad as u8
    }
}

impl FipsDecryptor {
    pub(super) fn new(key: &[u8; 24]) -> Self {
        FipsDecryptor {
            cipher: cbc::Decryptor::<TdesEde3>::new_from_slices(key, &IV).ok(),
            count: 0,
        }
    }

    /// Decrypts whole blocks in place; the caller has checked the length is a multiple of 8.
    pub(super) fn decrypt(&mut self, data: &mut [u8]) {
        if let Some(c) = self.cipher.as_mut() {
            for chunk in data.chunks_exact_mut(BLOCK) {
                if let Ok(block) = chunk.try_into() {
                    c.decrypt_block(block);
                }
            }
        }
        self.count = self.count.wrapping_add(1);
    }
}
