//! Standard RDP Security's encryption (MS-RDPBCGR 5.3) as the frame loop's security layer, so that
//! `--full` and `--hold` run the same connection sequence over it as over TLS.
//!
//! `ironrdp-connector` 0.12 speaks Standard RDP Security at level None only: it offers no
//! encryption method and gives up on a server that chose one. This layer makes it speak the
//! encrypted levels without changing it (`rdpdoctor_wire::rdp_crypto` does the cryptography):
//!
//! - the connector's MCS Connect Initial goes out offering every method (40, 56, 128-bit RC4 and
//!   FIPS, encryptionMethods 0x1B as Windows clients send it, 2.2.1.3.3);
//! - the server's MCS Connect Response is read here (method, level, random, certificate); the
//!   connector is then fed a copy at level None (`full.rs`, [`unencrypted_response`]);
//! - before the connector's first PDU after the channel joins (the Client Info PDU) goes the
//!   Security Exchange PDU (2.2.1.10) with a fresh client random encrypted with the server's key
//!   (5.3.4), and the session keys are derived (5.3.5);
//! - every client PDU is then sealed (5.3.8: security header, MAC, RC4 or 3DES): the Client Info
//!   and licensing PDUs carry their own Basic Security Header, which becomes the flags of the
//!   encrypted one; licensing PDUs go unencrypted unless the server asked (SEC_LICENSE_ENCRYPT_CS,
//!   2.2.1.12); the message channel's PDUs always carry one; the rest none;
//! - every server PDU is opened (its MAC verified) and framed again as it would be unencrypted,
//!   so `session::inspect`, the connector and the hold read it unchanged, encrypted licensing
//!   PDUs included.
//!
//! The client signs with the plain MAC (5.3.6.1), as Windows clients do: xrdp verifies no other,
//! and FreeRDP's default salted MAC (5.3.6.1.1) is what gets xfreerdp logged off by xrdp
//! (`crates/wire/tests/lab_rdp_security.rs`); `full.rs` signs one more connection with salted
//! MACs to learn whether the server takes them. Server PDUs are verified with whichever MAC
//! their header names. Level None (nothing encrypted) needs no layer: `frames::Clear` carries it.

use crate::frames::SecurityLayer;
use ironrdp_core::decode;
use ironrdp_pdu::mcs::McsMessage;
use ironrdp_pdu::x224::X224;
use rdpdoctor_observations::{MacKind, SessionEncryption};
use rdpdoctor_wire::bytes::le_u16_at;
use rdpdoctor_wire::mcs::method;
use rdpdoctor_wire::rdp_crypto::exchange::{
    self, open_server_frame, security_exchange_pdu, server_security_data, ServerSecurityData,
};
use rdpdoctor_wire::rdp_crypto::header::{
    FASTPATH_OUTPUT_SECURE_CHECKSUM, SEC_LICENSE_ENCRYPT, SEC_LICENSE_PKT, SEC_REDIRECTION_PKT,
    SEC_SECURE_CHECKSUM,
};
use rdpdoctor_wire::rdp_crypto::rewrite::{offer_methods, open_fast_path_frame};
use rdpdoctor_wire::rdp_crypto::{ClientSecurity, Method, ServerPublicKey, SessionKeys};
use zeroize::Zeroize;

pub(crate) use rdpdoctor_wire::rdp_crypto::rewrite::without_security as unencrypted_response;

/// What the client offers: every method, as Windows clients do (MS-RDPBCGR 4.1.3).
const OFFER: u32 = method::ALL;

/// Where the connection is.
enum State {
    /// Before the MCS Connect Response.
    Negotiating,
    /// Level None: frames pass as they are.
    Clear,
    /// The server chose a method; the Security Exchange goes before the Client Info PDU.
    Chosen {
        method: Method,
        key: ServerPublicKey,
        server_random: Vec<u8>,
        message_channel: Option<u16>,
    },
    /// Keys derived: every PDU is sealed or opened.
    Encrypted {
        security: Box<ClientSecurity>,
        message_channel: Option<u16>,
        /// The server sent a PDU other than licensing on the I/O channel: the client's PDUs
        /// there no longer carry a security header of their own.
        licensing_over: bool,
    },
}

/// The layer of one connection.
pub(crate) struct StandardSecurity {
    state: State,
    record: Option<SessionEncryption>,
    /// How the client signs: plain, or salted (only to learn whether the server takes it).
    mac: MacKind,
}

impl StandardSecurity {
    pub(crate) fn new(mac: MacKind) -> StandardSecurity {
        StandardSecurity {
            state: State::Negotiating,
            record: None,
            mac,
        }
    }

    /// The server's MCS Connect Response: what it chose.
    fn connect_response(&mut self, frame: &[u8]) -> Result<(), String> {
        let server = server_security_data(frame).map_err(|e| e.to_string())?;
        let method = Method::from_wire(server.method).map_err(|e| e.to_string())?;
        let (Some(method), true) = (method, server.level != 0) else {
            self.state = State::Clear;
            return Ok(());
        };
        self.record = Some(fresh_record(server.level, server.method, self.mac));
        self.state = chosen(method, server)?;
        Ok(())
    }

    /// The first client PDU after the channel joins (the Client Info PDU): the Security Exchange
    /// PDU goes before it, then it is sealed with the keys just derived.
    fn exchange_then_seal(&mut self, pdu: Vec<u8>) -> Result<Vec<u8>, String> {
        let State::Chosen {
            method,
            key,
            server_random,
            message_channel,
        } = &self.state
        else {
            return Ok(pdu);
        };
        let (initiator, channel) = match send_data_request(&pdu) {
            Some((initiator, channel, _)) => (initiator, channel),
            // Not a Send Data Request (an MCS PDU of the channel joins): nothing to seal yet.
            None => return Ok(pdu),
        };
        let mut client_random = [0u8; 32];
        openssl::rand::rand_bytes(&mut client_random)
            .map_err(|e| format!("no random bytes for the client random: {e}"))?;
        let encrypted = key.encrypt_client_random(&client_random);
        // SEC_LICENSE_ENCRYPT_SC: this client decrypts encrypted licensing PDUs (3.2.5.3.10).
        let mut wire = security_exchange_pdu(initiator, channel, &encrypted, true)
            .map_err(|e| e.to_string())?;
        let keys = SessionKeys::derive(*method, &client_random, server_random)
            .map_err(|e| e.to_string())?;
        self.state = State::Encrypted {
            security: Box::new(ClientSecurity::new(&keys, self.mac == MacKind::Salted)),
            message_channel: *message_channel,
            licensing_over: false,
        };
        wire.extend(self.seal(pdu)?);
        Ok(wire)
    }

    /// A client PDU, encrypted with its security header (5.3.8).
    fn seal(&mut self, mut pdu: Vec<u8>) -> Result<Vec<u8>, String> {
        let State::Encrypted {
            security,
            message_channel,
            licensing_over,
        } = &mut self.state
        else {
            return Ok(pdu);
        };
        let Some((initiator, channel, mut user_data)) = send_data_request(&pdu) else {
            // Another MCS PDU (the Disconnect Provider Ultimatum) is not encrypted.
            return Ok(pdu);
        };
        let has_header = Some(channel) == *message_channel || !*licensing_over;
        let (flags, data) = match (has_header, le_u16_at(&user_data, 0), user_data.get(4..)) {
            (true, Some(flags), Some(data)) => (flags, data),
            (true, _, _) => return Err("a client PDU without its security header".to_string()),
            (false, _, _) => (0, &user_data[..]),
        };
        let record = self.record.as_mut();
        let license_cs = record.as_ref().is_some_and(|r| r.licensing_encrypt_cs);
        if flags & SEC_LICENSE_PKT != 0 && !license_cs {
            // Licensing goes unencrypted unless the server asked (MS-RDPBCGR 2.2.1.12).
            return Ok(pdu);
        }
        let sealed = security.seal(flags, data);
        if let Some(r) = record {
            r.sealed += 1;
        }
        // The plaintext (the Client Info PDU holds the password when it is delegated) does not
        // outlive its encryption.
        user_data.zeroize();
        pdu.zeroize();
        exchange::send_data_request(initiator, channel, &sealed).map_err(|e| e.to_string())
    }

    /// A server frame with its encryption removed.
    fn open(&mut self, frame: Vec<u8>) -> Result<Vec<u8>, String> {
        let State::Encrypted {
            security,
            licensing_over,
            message_channel,
        } = &mut self.state
        else {
            return Ok(frame);
        };
        let (plain, opened) = if frame.first() == Some(&3) {
            let (plain, opened) = open_server_frame(security, &frame).map_err(|e| e.to_string())?;
            let Some(opened) = opened else {
                return Ok(plain);
            };
            if let Some(sdi_channel) = indication_channel(&plain) {
                let licensing = opened.flags & (SEC_LICENSE_PKT | SEC_REDIRECTION_PKT) != 0;
                if !licensing && Some(sdi_channel) != *message_channel {
                    *licensing_over = true;
                }
            }
            (plain, opened)
        } else {
            open_fast_path_frame(security, &frame).map_err(|e| e.to_string())?
        };
        if let Some(r) = self.record.as_mut() {
            let slow = frame.first() == Some(&3);
            if opened.was_encrypted {
                r.opened += 1;
                let salted = if slow {
                    opened.flags & SEC_SECURE_CHECKSUM != 0
                } else {
                    opened.flags & u16::from(FASTPATH_OUTPUT_SECURE_CHECKSUM) != 0
                };
                r.opened_salted += u32::from(salted);
            }
            if slow && opened.flags & SEC_LICENSE_PKT != 0 {
                r.licensing_encrypted += u32::from(opened.was_encrypted);
                r.licensing_encrypt_cs |= opened.flags & SEC_LICENSE_ENCRYPT != 0;
            }
        }
        Ok(plain)
    }
}

/// What the layer records for a server that chose `method` at `level`, before any PDU.
fn fresh_record(level: u32, method: u32, mac: MacKind) -> SessionEncryption {
    SessionEncryption {
        offered: OFFER,
        level,
        method,
        client_mac: mac,
        sealed: 0,
        opened: 0,
        opened_salted: 0,
        licensing_encrypted: 0,
        licensing_encrypt_cs: false,
        salted_trial: None,
    }
}

/// The state once the server chose `method`: its key and random, checked now so that a server
/// that sends neither is reported at its Connect Response.
fn chosen(method: Method, server: ServerSecurityData) -> Result<State, String> {
    let key = ServerPublicKey::from_certificate(&server.certificate).map_err(|e| e.to_string())?;
    let server_random = server
        .server_random
        .filter(|r| r.len() == 32)
        .ok_or("the server chose encryption but sent no 32-byte server random")?;
    Ok(State::Chosen {
        method,
        key,
        server_random,
        message_channel: server.message_channel,
    })
}

impl SecurityLayer for StandardSecurity {
    fn inbound(&mut self, frame: Vec<u8>) -> Result<Vec<u8>, String> {
        if matches!(self.state, State::Negotiating) && is_connect_response(&frame) {
            self.connect_response(&frame)
                .map_err(|e| format!("Standard RDP Security: {e}"))?;
            return Ok(frame);
        }
        self.open(frame)
            .map_err(|e| format!("Standard RDP Security: {e}"))
    }

    fn outbound(&mut self, pdu: Vec<u8>) -> Result<Vec<u8>, String> {
        match self.state {
            State::Negotiating => Ok(offer_methods(&pdu, OFFER)
                .map_err(|e| e.to_string())?
                .unwrap_or(pdu)),
            State::Clear => Ok(pdu),
            State::Chosen { .. } => self.exchange_then_seal(pdu),
            State::Encrypted { .. } => self.seal(pdu),
        }
    }

    fn encryption(&self) -> Option<SessionEncryption> {
        self.record.clone()
    }
}

fn is_connect_response(frame: &[u8]) -> bool {
    // TPKT (4) and X.224 Data (3), then the BER tag of an MCS Connect-Response.
    frame.get(7..9) == Some(&[0x7F, 0x66][..])
}

/// A client frame's MCS Send Data Request: initiator, channel and user data.
fn send_data_request(pdu: &[u8]) -> Option<(u16, u16, Vec<u8>)> {
    match decode::<X224<McsMessage<'_>>>(pdu) {
        Ok(X224(McsMessage::SendDataRequest(r))) => {
            Some((r.initiator_id, r.channel_id, r.user_data.into_owned()))
        }
        _ => None,
    }
}

/// The channel of a server Send Data Indication.
fn indication_channel(frame: &[u8]) -> Option<u16> {
    match decode::<X224<McsMessage<'_>>>(frame) {
        Ok(X224(McsMessage::SendDataIndication(i))) => Some(i.channel_id),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ironrdp_core::encode_vec;
    use ironrdp_pdu::mcs::SendDataIndication;
    use rdpdoctor_wire::rdp_crypto::header::{SEC_ENCRYPT, SEC_INFO_PKT};
    use rdpdoctor_wire::rdp_crypto::{Rc4Keys, SessionKeys};
    use rdpdoctor_wire::session::{inspect, ServerFrame, STATUS_VALID_CLIENT};
    use std::borrow::Cow;

    const IO: u16 = 1003;
    const USER: u16 = 1007;

    /// A layer past the Security Exchange with 128-bit RC4 keys, and the server's side of them.
    fn encrypted(mac: MacKind) -> (StandardSecurity, ClientSecurity) {
        let keys = SessionKeys::derive(Method::Rc4Bit128, &[5; 32], &[6; 32])
            .unwrap_or_else(|e| panic!("{e}"));
        let SessionKeys::Rc4 { method, keys: k } = &keys else {
            panic!("RC4 keys");
        };
        let server = SessionKeys::Rc4 {
            method: *method,
            keys: Rc4Keys {
                mac: k.mac.clone(),
                encrypt: k.decrypt.clone(),
                decrypt: k.encrypt.clone(),
            },
        };
        let mut layer = StandardSecurity::new(mac);
        layer.state = State::Encrypted {
            security: Box::new(ClientSecurity::new(&keys, mac == MacKind::Salted)),
            message_channel: None,
            licensing_over: false,
        };
        layer.record = Some(fresh_record(3, 2, mac));
        (layer, ClientSecurity::new(&server, false))
    }

    fn indication(user_data: Vec<u8>) -> Vec<u8> {
        encode_vec(&X224(McsMessage::SendDataIndication(SendDataIndication {
            initiator_id: 1002,
            channel_id: IO,
            user_data: Cow::Owned(user_data),
        })))
        .unwrap_or_default()
    }

    fn request(user_data: &[u8]) -> Vec<u8> {
        exchange::send_data_request(USER, IO, user_data).unwrap_or_default()
    }

    /// A licensing PDU the server encrypted (it may, once the client said SEC_LICENSE_ENCRYPT_SC)
    /// reaches the connector decrypted, with its Basic Security Header, and is counted; when the
    /// server also asks for encrypted client licensing (SEC_LICENSE_ENCRYPT_CS), the client's
    /// licensing answer goes out sealed, and the server opens it.
    #[test]
    fn encrypted_licensing_is_decoded_and_answered_encrypted_when_asked() {
        let (mut layer, mut server) = encrypted(MacKind::Plain);
        // ERROR_ALERT STATUS_VALID_CLIENT ST_NO_TRANSITION (MS-RDPELE 2.2.2.7.1).
        let license = [0xFF, 0x03, 0x10, 0x00, 7, 0, 0, 0, 2, 0, 0, 0, 4, 0, 0, 0];
        let sealed = server.seal(SEC_LICENSE_PKT | SEC_LICENSE_ENCRYPT, &license);
        let plain = layer
            .inbound(indication(sealed))
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            inspect(&plain),
            ServerFrame::LicenseError {
                code: STATUS_VALID_CLIENT,
                state_transition: 2
            }
        );
        let record = layer.encryption().unwrap_or_else(|| panic!("a record"));
        assert_eq!(
            (
                record.opened,
                record.licensing_encrypted,
                record.licensing_encrypt_cs
            ),
            (1, 1, true)
        );
        // The client's licensing PDU (its own Basic Security Header) goes out encrypted.
        let mut answer = (SEC_LICENSE_PKT as u32).to_le_bytes().to_vec();
        answer.extend_from_slice(b"\x13\x03\x08\x00client");
        let wire = layer
            .outbound(request(&answer))
            .unwrap_or_else(|e| panic!("{e}"));
        let Ok(X224(McsMessage::SendDataRequest(r))) = decode::<X224<McsMessage<'_>>>(&wire) else {
            panic!("not a Send Data Request");
        };
        let opened = server
            .open_slow_path(&r.user_data)
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(opened.was_encrypted);
        assert_eq!(opened.flags & SEC_LICENSE_PKT, SEC_LICENSE_PKT);
        assert_eq!(opened.data, &answer[4..]);
    }

    /// Without SEC_LICENSE_ENCRYPT_CS the client's licensing goes in the clear; after licensing
    /// (the server's first PDU of another kind) a Share Control PDU is sealed with no header of
    /// its own, signed with the salted MAC when the layer salts.
    #[test]
    fn clear_licensing_then_sealed_share_pdus() {
        for mac in [MacKind::Plain, MacKind::Salted] {
            let (mut layer, mut server) = encrypted(mac);
            let mut answer = (SEC_LICENSE_PKT as u32).to_le_bytes().to_vec();
            answer.extend_from_slice(b"\x13\x03\x08\x00client");
            let clear = request(&answer);
            assert_eq!(layer.outbound(clear.clone()).ok(), Some(clear));
            // A Demand Active (Share Control, PDUTYPE_DEMANDACTIVEPDU) ends licensing.
            let demand = [0x0A, 0, 0x11, 0, 0xEA, 0x03, 1, 0, 1, 0];
            let plain = layer
                .inbound(indication(server.seal(0, &demand)))
                .unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(inspect(&plain), ServerFrame::DemandActive);
            let confirm = [0x0A, 0, 0x13, 0, 0xEF, 0x03, 1, 0, 1, 0];
            let wire = layer
                .outbound(request(&confirm))
                .unwrap_or_else(|e| panic!("{e}"));
            let Ok(X224(McsMessage::SendDataRequest(r))) = decode::<X224<McsMessage<'_>>>(&wire)
            else {
                panic!("not a Send Data Request");
            };
            let flags = u16::from_le_bytes([r.user_data[0], r.user_data[1]]);
            assert_eq!(flags & SEC_ENCRYPT, SEC_ENCRYPT);
            assert_eq!(
                flags & SEC_SECURE_CHECKSUM != 0,
                mac == MacKind::Salted,
                "{mac:?}"
            );
            let opened = server
                .open_slow_path(&r.user_data)
                .unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(opened.data, confirm);
            assert_eq!(flags & SEC_INFO_PKT, 0);
        }
    }

    /// A server PDU whose MAC does not verify is refused with the reason, never passed on.
    #[test]
    fn a_bad_mac_is_refused() {
        let (mut layer, mut server) = encrypted(MacKind::Plain);
        let mut sealed = server.seal(0, &[0x0A, 0, 0x11, 0, 0xEA, 0x03, 1, 0, 1, 0]);
        if let Some(b) = sealed.get_mut(5) {
            *b ^= 1;
        }
        let e = layer.inbound(indication(sealed)).err().unwrap_or_default();
        assert!(e.contains("MAC"), "{e}");
    }
}
