//! The client's Standard RDP Security state for one connection: what it seals and what it opens.

use super::fips::{FipsDecryptor, FipsEncryptor, BLOCK};
use super::header::*;
use super::keys::{Method, SessionKeys};
use super::mac::{fips_mac, rc4_mac};
use super::rc4_stream::Rc4Stream;
use super::{hex, CryptoError};

/// The cipher state of both directions.
enum Ciphers {
    Rc4 {
        mac_key: Vec<u8>,
        out: Rc4Stream,
        inbound: Rc4Stream,
    },
    Fips {
        hmac_key: [u8; 20],
        out: FipsEncryptor,
        inbound: FipsDecryptor,
    },
}

/// A server PDU with its encryption removed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Opened {
    /// The security header's flags as sent (SEC_ENCRYPT included when it was encrypted).
    pub flags: u16,
    /// Whether the PDU was encrypted (and its MAC verified).
    pub was_encrypted: bool,
    /// The data after the security header, decrypted.
    pub data: Vec<u8>,
}

/// Client-side Standard RDP Security for one connection: seals client PDUs (the security header
/// and encryption of 5.3.8) and opens server PDUs, in order. Each direction keeps its own
/// counters, keystream or CBC chain, so PDUs must be sealed and opened in the order they travel.
pub struct ClientSecurity {
    method: Method,
    ciphers: Ciphers,
    /// Sign client PDUs with the salted MAC (SEC_SECURE_CHECKSUM, 5.3.6.1.1).
    secure_checksum: bool,
}

impl std::fmt::Debug for ClientSecurity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ClientSecurity({:?})", self.method)
    }
}

impl ClientSecurity {
    /// The state for the keys of [`SessionKeys::derive`]. `secure_checksum` makes the client
    /// salt its MACs (a client chooses; servers verify whichever the flag says).
    pub fn new(keys: &SessionKeys, secure_checksum: bool) -> ClientSecurity {
        let (method, ciphers) = match keys {
            SessionKeys::Rc4 { method, keys } => (
                *method,
                Ciphers::Rc4 {
                    mac_key: keys.mac.clone(),
                    out: Rc4Stream::new(*method, &keys.encrypt),
                    inbound: Rc4Stream::new(*method, &keys.decrypt),
                },
            ),
            SessionKeys::Fips(k) => (
                Method::Fips,
                Ciphers::Fips {
                    hmac_key: k.hmac,
                    out: FipsEncryptor::new(&k.encrypt),
                    inbound: FipsDecryptor::new(&k.decrypt),
                },
            ),
        };
        ClientSecurity {
            method,
            ciphers,
            secure_checksum,
        }
    }

    pub fn method(&self) -> Method {
        self.method
    }

    /// The user data of a client slow-path PDU (what an MCS Send Data Request carries): the
    /// non-FIPS or FIPS security header with `flags | SEC_ENCRYPT`, then `data` encrypted
    /// (3.2.5.1, 5.3.8).
    pub fn seal(&mut self, flags: u16, data: &[u8]) -> Vec<u8> {
        let mut flags = flags | SEC_ENCRYPT;
        match &mut self.ciphers {
            Ciphers::Rc4 { mac_key, out, .. } => {
                if self.secure_checksum {
                    flags |= SEC_SECURE_CHECKSUM;
                }
                let count = self.secure_checksum.then_some(out.count);
                let signature = rc4_mac(mac_key, data, count);
                let mut body = data.to_vec();
                out.apply(&mut body);
                let mut pdu = Vec::with_capacity(NON_FIPS_HEADER_LEN + body.len());
                pdu.extend_from_slice(&flags.to_le_bytes());
                pdu.extend_from_slice(&[0, 0]);
                pdu.extend_from_slice(&signature);
                pdu.extend_from_slice(&body);
                pdu
            }
            Ciphers::Fips { hmac_key, out, .. } => {
                let signature = fips_mac(hmac_key, data, out.count);
                let mut body = data.to_vec();
                let pad = out.encrypt(&mut body);
                let mut pdu = Vec::with_capacity(FIPS_HEADER_LEN + body.len());
                pdu.extend_from_slice(&flags.to_le_bytes());
                pdu.extend_from_slice(&[0, 0]);
                pdu.extend_from_slice(&(FIPS_HEADER_LEN as u16).to_le_bytes());
                pdu.push(TSFIPS_VERSION1);
                pdu.push(pad);
                pdu.extend_from_slice(&signature);
                pdu.extend_from_slice(&body);
                pdu
            }
        }
    }

    /// The user data of a server slow-path PDU (a Send Data Indication's), which under Standard
    /// RDP Security always starts with a security header: decrypted and its MAC verified when
    /// SEC_ENCRYPT is set, else passed through after the basic header (2.2.8.1.1.2.1).
    pub fn open_slow_path(&mut self, user_data: &[u8]) -> Result<Opened, CryptoError> {
        let flags = crate::bytes::le_u16_at(user_data, 0).ok_or_else(|| {
            CryptoError::Truncated(format!(
                "a {}-byte PDU has no security header",
                user_data.len()
            ))
        })?;
        if flags & SEC_ENCRYPT == 0 {
            return Ok(Opened {
                flags,
                was_encrypted: false,
                data: user_data.get(4..).unwrap_or_default().to_vec(),
            });
        }
        let data = match self.ciphers {
            Ciphers::Rc4 { .. } => {
                let signature = header_part(user_data, 4, 8, "non-FIPS security header")?;
                let body = user_data.get(NON_FIPS_HEADER_LEN..).unwrap_or_default();
                self.open_rc4(signature, body, flags & SEC_SECURE_CHECKSUM != 0)?
            }
            Ciphers::Fips { .. } => {
                let info = header_part(user_data, 4, 4, "FIPS security header")?;
                let signature = header_part(user_data, 8, 8, "FIPS security header")?;
                let body = user_data.get(FIPS_HEADER_LEN..).unwrap_or_default();
                self.open_fips(info, signature, body)?
            }
        };
        Ok(Opened {
            flags,
            was_encrypted: true,
            data,
        })
    }

    /// A fast-path output PDU (2.2.9.1.2) as delimited by [`crate::session::frame_len`]: its
    /// updates (fpOutputUpdates), decrypted when the header says FASTPATH_OUTPUT_ENCRYPTED.
    pub fn open_fast_path(&mut self, frame: &[u8]) -> Result<Opened, CryptoError> {
        let first = *frame
            .first()
            .ok_or_else(|| CryptoError::Truncated("empty fast-path PDU".into()))?;
        let flags = first >> 6;
        let length_len = match frame.get(1) {
            Some(l) if l & 0x80 != 0 => 2,
            Some(_) => 1,
            None => {
                return Err(CryptoError::Truncated(
                    "fast-path PDU without length".into(),
                ))
            }
        };
        let mut at = 1 + length_len;
        let fips_info = if flags & FASTPATH_OUTPUT_ENCRYPTED != 0 && self.method == Method::Fips {
            let info = header_part(frame, at, 4, "fast-path fipsInformation")?;
            at += 4;
            Some(info)
        } else {
            None
        };
        if flags & FASTPATH_OUTPUT_ENCRYPTED == 0 {
            return Ok(Opened {
                flags: u16::from(flags),
                was_encrypted: false,
                data: frame.get(at..).unwrap_or_default().to_vec(),
            });
        }
        let signature = header_part(frame, at, 8, "fast-path dataSignature")?;
        let body = frame.get(at + 8..).unwrap_or_default();
        let data = match fips_info {
            Some(info) => self.open_fips(info, signature, body)?,
            None => self.open_rc4(
                signature,
                body,
                flags & FASTPATH_OUTPUT_SECURE_CHECKSUM != 0,
            )?,
        };
        Ok(Opened {
            flags: u16::from(flags),
            was_encrypted: true,
            data,
        })
    }

    fn open_rc4(
        &mut self,
        signature: &[u8],
        body: &[u8],
        salted: bool,
    ) -> Result<Vec<u8>, CryptoError> {
        let Ciphers::Rc4 {
            mac_key, inbound, ..
        } = &mut self.ciphers
        else {
            return Err(CryptoError::Truncated("not an RC4 session".into()));
        };
        let count = salted.then_some(inbound.count);
        let mut data = body.to_vec();
        inbound.apply(&mut data);
        check_mac(signature, &rc4_mac(mac_key, &data, count))?;
        Ok(data)
    }

    /// FIPS: `info` is length (u16), version, padlen; the body is whole 3DES blocks.
    fn open_fips(
        &mut self,
        info: &[u8],
        signature: &[u8],
        body: &[u8],
    ) -> Result<Vec<u8>, CryptoError> {
        let Ciphers::Fips {
            hmac_key, inbound, ..
        } = &mut self.ciphers
        else {
            return Err(CryptoError::Truncated("not a FIPS session".into()));
        };
        let pad = usize::from(info.get(3).copied().unwrap_or(0));
        if !body.len().is_multiple_of(BLOCK) || pad >= BLOCK || pad > body.len() {
            return Err(CryptoError::Fips(format!(
                "{} encrypted bytes with padlen {pad}: not whole 8-byte blocks",
                body.len()
            )));
        }
        let count = inbound.count;
        let mut data = body.to_vec();
        inbound.decrypt(&mut data);
        data.truncate(data.len() - pad);
        check_mac(signature, &fips_mac(hmac_key, &data, count))?;
        Ok(data)
    }
}

/// `len` bytes of a header at `at`, or a Truncated error naming it.
fn header_part<'a>(
    b: &'a [u8],
    at: usize,
    len: usize,
    what: &str,
) -> Result<&'a [u8], CryptoError> {
    b.get(at..at.saturating_add(len)).ok_or_else(|| {
        CryptoError::Truncated(format!("{what} cut short: {} bytes in the PDU", b.len()))
    })
}

fn check_mac(sent: &[u8], computed: &[u8; 8]) -> Result<(), CryptoError> {
    if sent == computed {
        Ok(())
    } else {
        Err(CryptoError::BadMac {
            sent: hex(sent),
            computed: hex(computed),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rdp_crypto::{FipsKeys, Rc4Keys};

    /// The same keys seen from the server: what the client encrypts, it decrypts.
    fn server_view(keys: &SessionKeys) -> SessionKeys {
        match keys {
            SessionKeys::Rc4 { method, keys } => SessionKeys::Rc4 {
                method: *method,
                keys: Rc4Keys {
                    mac: keys.mac.clone(),
                    encrypt: keys.decrypt.clone(),
                    decrypt: keys.encrypt.clone(),
                },
            },
            SessionKeys::Fips(k) => SessionKeys::Fips(FipsKeys {
                encrypt: k.decrypt,
                decrypt: k.encrypt,
                hmac: k.hmac,
            }),
        }
    }

    fn both(method: Method, salted: bool) -> (ClientSecurity, ClientSecurity) {
        let keys =
            SessionKeys::derive(method, &[7; 32], &[9; 32]).unwrap_or_else(|e| panic!("{e}"));
        (
            ClientSecurity::new(&keys, salted),
            ClientSecurity::new(&server_view(&keys), salted),
        )
    }

    #[test]
    fn both_directions_round_trip_across_key_updates() {
        // RC4 keys update after 4096 packets each way; odd lengths exercise the FIPS padding.
        let cases = [
            (Method::Rc4Bit40, false, 4100u32),
            (Method::Rc4Bit56, false, 4100),
            (Method::Rc4Bit128, false, 4100),
            (Method::Rc4Bit128, true, 4100),
            (Method::Fips, false, 100),
        ];
        for (method, salted, packets) in cases {
            let (mut client, mut server) = both(method, salted);
            for i in 0..packets {
                let data: Vec<u8> = (0..(i % 37) + 1).map(|b| (b ^ i) as u8).collect();
                let sealed = client.seal(SEC_INFO_PKT, &data);
                let opened = server
                    .open_slow_path(&sealed)
                    .unwrap_or_else(|e| panic!("{method:?} {i}: {e}"));
                assert_eq!(opened.data, data);
                assert!(opened.was_encrypted);
                let back = server.seal(SEC_LICENSE_PKT, &data);
                assert_eq!(client.open_slow_path(&back).map(|o| o.data), Ok(data));
            }
        }
    }

    #[test]
    fn encrypted_fast_path_output_opens() {
        for method in [Method::Rc4Bit128, Method::Fips] {
            for salted in [false, true] {
                let (mut client, mut server) = both(method, salted);
                let updates = b"\x00\x00\x01\x02 fast-path updates".to_vec();
                let sealed = server.seal(0, &updates);
                // fpOutputHeader: action 0, FASTPATH_OUTPUT_ENCRYPTED (and the salted MAC flag),
                // a two-byte length, then fipsInformation (FIPS: length, version, padlen), the
                // dataSignature and the encrypted updates (2.2.9.1.2).
                let flags = FASTPATH_OUTPUT_ENCRYPTED
                    | if salted {
                        FASTPATH_OUTPUT_SECURE_CHECKSUM
                    } else {
                        0
                    };
                // The slow-path header minus flags and flagsHi is the fast-path one.
                let body = &sealed[4..];
                let len = 3 + body.len();
                let mut frame = vec![flags << 6, 0x80 | (len >> 8) as u8, len as u8];
                frame.extend_from_slice(body);
                let opened = client
                    .open_fast_path(&frame)
                    .unwrap_or_else(|e| panic!("{method:?}: {e}"));
                assert!(opened.was_encrypted);
                assert_eq!(opened.data, updates);
            }
        }
    }

    #[test]
    fn unencrypted_pdus_pass_and_short_ones_are_errors() {
        let (mut client, _) = both(Method::Rc4Bit128, false);
        let plain = client
            .open_slow_path(&[0x80, 0, 0, 0, 0xFF, 3])
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(!plain.was_encrypted);
        assert_eq!(plain.data, [0xFF, 3]);
        assert!(matches!(
            client.open_slow_path(&[0x08]),
            Err(CryptoError::Truncated(_))
        ));
        assert!(matches!(
            client.open_slow_path(&[0x08, 0, 0, 0, 1, 2]),
            Err(CryptoError::Truncated(_))
        ));
        let (mut fips, _) = both(Method::Fips, false);
        // Seven encrypted bytes cannot be 3DES blocks.
        let mut pdu = vec![0x08, 0, 0, 0, 0x10, 0, 1, 0];
        pdu.extend_from_slice(&[0; 8 + 7]);
        assert!(matches!(
            fips.open_slow_path(&pdu),
            Err(CryptoError::Fips(_))
        ));
    }
}
