//! Standard RDP Security (MS-RDPBCGR 5.3) against real Windows sessions: Windows 2000 Server with
//! 40-bit RC4 (its public key, the client random, and the PDUs both sides encrypted) and Windows
//! Server 2003 with 128-bit RC4 (its first encrypted PDU).
//!
//! Sources: wallix/redemption, tests/includes/fixtures/dump_w2000_mem3blt.hpp (the version at
//! commit 2a5670030a79) and dump_w2003_mem3blt.hpp (at commit 7eae23a78bdb); their Connect
//! Responses are the ones in windows_captures.rs. Whole sessions between redemption's RDP client
//! and the server, both directions. The client took its
//! random from redemption's deterministic test generator (LCGRandom seeded with 0, "to always get
//! the same client random, in tests"); its 32 bytes are given below as computed from that
//! generator, and the first test proves them: encrypting them with the server's key gives the
//! encryptedClientRandom the client sent, byte for byte (RSA without padding is deterministic).
//! Everything after that is checked against what Windows itself sent: the MAC of each server PDU
//! verifies only if the keys of 5.3.5.1 (40-bit salted) are right.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // tests: a failed assumption is a failed test

use rdpdoctor_wire::rdp_crypto::exchange::{open_server_frame, security_exchange_pdu};
use rdpdoctor_wire::rdp_crypto::header::{SEC_ENCRYPT, SEC_INFO_PKT};
use rdpdoctor_wire::rdp_crypto::{
    ClientSecurity, CryptoError, Method, Rc4Keys, ServerPublicKey, SessionKeys,
};
use rdpdoctor_wire::session::{inspect, ServerFrame};

fn bytes(h: &str) -> Vec<u8> {
    hex::decode(h.replace([' ', '\n'], "")).expect("test vector is hex")
}

/// Server Security Data serverRandom of the Connect Response (method 40-bit, level Client
/// Compatible).
const SERVER_RANDOM: &str = "b1a3dc259c46bdd4ad439a512a309b8b2f66186712cd2e2e303a03d1b3faa560";
/// Its serverCertificate: a proprietary certificate with a 512-bit key (511 significant bits).
const SERVER_CERT: &str = concat!(
    "010000000100000001000000 0600 5c00 52534131 48000000 00020000 3f000000 01000100",
    "83765b098fc174121bd34e72724dbece551d293d0eed2809506632fa1dd2cc42de5b4e3c35f6735b0c0db0a64d76ba",
    "c0885fc4670bb8a323a6c779bd80d1a875 0000000000000000 0800 4800",
    "19502e2e82b4ebb38785b9314c290705d7379986153056e4477a2c2f4cbdf037d39401c873ea5c2c3f60271e5da954",
    "32dc49a47e26afea07ca4ee9958e66f033 0000000000000000",
);
/// The client random (redemption's LCGRandom(0), see the module comment).
const CLIENT_RANDOM: &str = "b86cdaa6f0f6308da816a66ee0c3e5cc9876ddf5d026745f884cc250c0dfc950";
/// The Client Security Exchange PDU the client sent (user 1004, I/O channel 1003, flags
/// SEC_EXCHANGE_PKT only).
const SECURITY_EXCHANGE: &str = concat!(
    "0300005e02f08064000303eb7050 0100 0000 48000000",
    "fff7a49c78b2fc24bc19d97931d14b8ef696b228453060b8bb680b163bbd7f41a2fe334a21b4d548c3635d73c021",
    "0f92937203b452664e2e66a2600bf0673a46 0000000000000000",
);
/// The Client Info PDU the client sent: SEC_INFO_PKT | SEC_ENCRYPT, 40-bit RC4.
const CLIENT_INFO: &str = concat!(
    "0300017502f08064000303eb708166 4800 0000 aaa43597602fda8c",
    "58d8ca65a27c93de578cfa270f9552495cbecaa45995f65fd500bc4a38efaff5ddec75f316df5cd7482ac94b3a093c",
    "57bae04078bfc5f43e5284a5438224fd2ca339c851d6cb6a986bc57d1c15aee97238aa810fc3b3690e776e14c26460",
    "3cbb04d2fc926de971df2016017876e3e371ead8978675254a2e44dad966896a520cf2351278464f10924c7b849324",
    "fbc9e20c8c920bd35f93c3ed46e718af4bdf59835aee41b8afdf2d9df07430c98dc756e06739ed138845901d7a1159",
    "ce48bf74d227e0d81fb55d114d2c4c40eba262f3a4b348ddc19f355fb3ee68c1711178c9cbaa134f49a9577da20299",
    "61d7ec14c3bfc35d1c7437f4262892f09b35d679b896dc02c34883789c2c967b8a7cc108770a54b4d334d1eb56a05f",
    "dffdf3abec8577ff1c6290c7d26712bd7bcb3cfb51344e697515886e239b1b7e9c5b45db06c6767ccd3679f41d8c6f",
    "3bbe0655f8e80fcfdfcdfa49c30063db8a",
);
/// The server's Demand Active PDU: the first PDU Windows encrypted (SEC_ENCRYPT, 40-bit RC4).
const DEMAND_ACTIVE: &str = concat!(
    "0300013f02f0 80 68000103eb708130 0800 0000 da18b9a9d75356d3",
    "87736df69ebfd5f12ca212c9e5269ba56f3665a742ff909df48a5127e034232c058947183a813929c060a64af47204",
    "c2978aee01e09ff958802c3735cffad057b5861c6f3dc46bdf1b7a4bc9d6bedc29a2b0ec18e6369763b635d0a77291",
    "e7d331eb0918adcdc72cdcaa62cc36b39b750bee911bbff7958c908057b8c5ebd9330df957d3a05af385b814aa7e82",
    "f411b763fdbd745d6c9bae2a9c2e8190906ec321b83bf1b48c6cb10e2083954561 84f3d1db2f393f0f3de24f4c26a6",
    "183b69e41f889edb836bada38c49a74250acd7c1d1722b7e3e127e28b282c0189cd92272e778ee2efac7d2eccffcfc",
    "ed90478ffc3561d33d2c19eaf1cbcced15fd77ff6258807dde145fa702d3bf72acb5d43a3e940e3250d11051c03c83",
    "01888b25e58c416e89d2",
);
/// The server's next PDU (its Synchronize PDU), the second it encrypted.
const SERVER_SYNCHRONIZE: &str = concat!(
    "0300003002f0 80 68000103eb7022 0800 0000 6eccc0a0212d6fdc",
    "7daf5e6bafd8ae9eb8df485e5dfe05b8ba278f2b446f",
);

// --- Windows Server 2003, 128-bit RC4 (dump_w2003_mem3blt.hpp @7eae23a78bdb) ---

/// serverRandom of its Connect Response (windows_captures.rs W2003_CONNECT_RESPONSE).
const W2003_SERVER_RANDOM: &str =
    "592fe0f112ba682792d8d6528986c4a8ef4cfbfc94f4a150b1fa1e3c4625f7f7";
/// Its proprietary certificate (512-bit key).
const W2003_SERVER_CERT: &str = concat!(
    "010000000100000001000000 0600 5c00 52534131 48000000 00020000 3f000000 01000100",
    "9f8d85c80812f458d31e380e517eeac0e97d5115ce3f4f8a2a9282e3cd215221c42e04e919316c23e18702d253f824",
    "a88466f7824da6798c9c05054d085db4bc 0000000000000000 0800 4800",
    "ae6a1390c6267409822b79a4fae0947ec343fd94116cb0d1717a660f29ea43055cd3d5631c739f19a40ed85cf688a0",
    "2093c8032c5737596cb1f10161d19d006d 0000000000000000",
);
/// The encryptedClientRandom the client sent: the same client random as with Windows 2000.
const W2003_ENCRYPTED_RANDOM: &str = concat!(
    "c3ded19789c41767255c4ef9a75d246e28867a7a2f29f14fa63e03f6b1d18f0f6dfe1f4db5413d8845dde0b8fa7c41",
    "0866ccac6e84a454cf8b73b7847fd08c3e 0000000000000000",
);
/// The server's Demand Active, its first encrypted PDU: flags SEC_ENCRYPT, flagsHi 0x0400 (not
/// valid without SEC_FLAGSHI_VALID).
const W2003_DEMAND_ACTIVE: &str = concat!(
    "0300018202f08068000103eb708173 0800 0004 b7a64b26402d3f62",
    "eb87344fd19e5009b8d672e642d37832523ebb06253a89d7dcebde16d5fd78b2dbf22f10d1a74850c2ec06ff266df5",
    "0362d0b0902c45f335c0af079c02f4df9a173b745f10a57ae9a40f7116da9b54076d0a436d2969bbac9b74324858ba",
    "2c50d18d0302365155a44c4172c1131a84efe813395aac05900340f7bef0cace23636845590b26281a6be4ffa6f2c5",
    "f780031062fbf2c3d25bc0410080d968719ad3dbd0cf4067d55cf54466eabfb7e38aec8788bbcdb6acd08a334ea6b1",
    "8971ad9413af5b507678fbd8aa62df1e6d8a45028e741ea4fe8caec7f7f74154afa04f6f97aed61dea09ffd1d1082e",
    "f3b810c23b925e7afac794f775c524e42a0e5f5b884753c653f8d50d7c52e9bd06930c6753b2dcb7b33c4ddb416416",
    "29c080064d5d31131a0133f887b54e02b0d5c06c819ef8d4ebcd860b68b3da1808cbeb379a2dc206e6bc016cc7f969",
    "b6156fc4ab9e5803c246529f6aca8e9f5a979ca4213ee6584e84659244b4",
);

fn server_key() -> ServerPublicKey {
    ServerPublicKey::from_certificate(&bytes(SERVER_CERT)).unwrap()
}

fn client_random() -> [u8; 32] {
    bytes(CLIENT_RANDOM).try_into().unwrap()
}

fn keys() -> SessionKeys {
    SessionKeys::derive(Method::Rc4Bit40, &client_random(), &bytes(SERVER_RANDOM)).unwrap()
}

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
        other => panic!("{other:?}"),
    }
}

/// The user data of an MCS Send Data Request/Indication as framed in these captures: TPKT and
/// X.224 Data (7 bytes), then the PER header (choice, initiator, channel, priority: 6 bytes) and
/// a length of `length_bytes`.
fn user_data(frame: &[u8], length_bytes: usize) -> Vec<u8> {
    frame[7 + 6 + length_bytes..].to_vec()
}

#[test]
fn the_client_random_encrypts_to_what_the_client_sent() {
    let key = server_key();
    assert_eq!(
        key.bits(),
        511,
        "Windows 2000 declares 512 for a 511-bit modulus"
    );
    let encrypted = key.encrypt_client_random(&client_random());
    assert_eq!(
        encrypted.len(),
        72,
        "keylen: 64-byte modulus and 8 bytes of padding"
    );
    assert_eq!(
        security_exchange_pdu(1004, 1003, &encrypted, false).unwrap(),
        bytes(SECURITY_EXCHANGE)
    );
}

#[test]
fn windows_server_pdus_decrypt_and_their_macs_verify() {
    let mut client = ClientSecurity::new(&keys(), false);
    let (plain, opened) = open_server_frame(&mut client, &bytes(DEMAND_ACTIVE)).unwrap();
    let opened = opened.unwrap();
    assert!(opened.was_encrypted);
    assert_eq!(opened.flags, SEC_ENCRYPT);
    // Share Control Header: totalLength, pduType PDUTYPE_DEMANDACTIVEPDU | TS_PROTOCOL_VERSION.
    assert_eq!(&opened.data[2..4], &[0x11, 0x00]);
    assert_eq!(inspect(&plain), ServerFrame::DemandActive);
    // The keystream runs on: the next PDU decrypts only after the first was.
    let (plain, _) = open_server_frame(&mut client, &bytes(SERVER_SYNCHRONIZE)).unwrap();
    assert_eq!(inspect(&plain), ServerFrame::Data { pdu_type2: 0x1F });
}

#[test]
fn a_wrong_key_or_order_fails_the_mac_instead_of_yielding_garbage() {
    // Out of order: the Synchronize PDU first.
    let mut client = ClientSecurity::new(&keys(), false);
    let err = open_server_frame(&mut client, &bytes(SERVER_SYNCHRONIZE)).unwrap_err();
    assert!(err.to_string().contains("MAC"), "{err}");
    // 56-bit keys from the same randoms.
    let other =
        SessionKeys::derive(Method::Rc4Bit56, &client_random(), &bytes(SERVER_RANDOM)).unwrap();
    let mut client = ClientSecurity::new(&other, false);
    assert!(matches!(
        client.open_slow_path(&user_data(&bytes(DEMAND_ACTIVE), 2)),
        Err(CryptoError::BadMac { .. })
    ));
}

#[test]
fn sealing_the_client_info_reproduces_what_the_client_sent() {
    let keys = keys();
    // Decrypt the client's PDU as the server would, then seal its plaintext as this client.
    let mut server = ClientSecurity::new(&server_view(&keys), false);
    let sent = user_data(&bytes(CLIENT_INFO), 2);
    let opened = server.open_slow_path(&sent).unwrap();
    assert_eq!(opened.flags, SEC_INFO_PKT | SEC_ENCRYPT);
    let user: Vec<u8> = "administrateur"
        .encode_utf16()
        .flat_map(u16::to_le_bytes)
        .collect();
    assert!(opened.data.windows(user.len()).any(|w| w == user));
    let mut client = ClientSecurity::new(&keys, false);
    assert_eq!(client.seal(SEC_INFO_PKT, &opened.data), sent);
}

#[test]
fn windows_2003_demand_active_decrypts_with_128_bit_keys() {
    let key = ServerPublicKey::from_certificate(&bytes(W2003_SERVER_CERT)).unwrap();
    assert_eq!(
        key.encrypt_client_random(&client_random()),
        bytes(W2003_ENCRYPTED_RANDOM),
        "the client random of both captures"
    );
    let keys = SessionKeys::derive(
        Method::Rc4Bit128,
        &client_random(),
        &bytes(W2003_SERVER_RANDOM),
    )
    .unwrap();
    let mut client = ClientSecurity::new(&keys, false);
    let (plain, opened) = open_server_frame(&mut client, &bytes(W2003_DEMAND_ACTIVE)).unwrap();
    assert!(opened.unwrap().was_encrypted);
    assert_eq!(inspect(&plain), ServerFrame::DemandActive);
    // 40-bit keys from the same randoms do not verify.
    let weak = SessionKeys::derive(
        Method::Rc4Bit40,
        &client_random(),
        &bytes(W2003_SERVER_RANDOM),
    )
    .unwrap();
    let mut client = ClientSecurity::new(&weak, false);
    assert!(open_server_frame(&mut client, &bytes(W2003_DEMAND_ACTIVE)).is_err());
}
