//! Test vectors: responses recorded from the lab's xrdp 0.9.21 (security_layer=rdp at crypt_level
//! high, low and fips) and freerdp-shadow-cli 2.11 (/sec:rdp on loopback), captured with a 20-line
//! Python client that sends nmap's Connect Initial template (lab, 2026-11); the rest built by hand
//! from MS-RDPBCGR 2.2.1.4 and T.125/T.124.

use super::*;

pub(crate) fn bytes(h: &str) -> Vec<u8> {
    hex::decode(h.replace(' ', "")).expect("test vector is hex")
}

/// xrdp_high: recorded from the lab.
pub(crate) const XRDP_HIGH: &str = concat!(
    "0300021102f0807f668202050a0100020100301a020116020103020100020101020100020101020300fff80201020482",
    "01df000500147c00012a14760a01010001c0004d63446e81c8010c0c000400080000000000030c1000eb030300ec03ed",
    "03ee030000020cac01020000000300000020000000780100004740e8e27c9653053d300a666d3ab1a29bf88668d54a34",
    "131ec92855e596e0f601000000010000000100000006001c01525341310801000000080000ff00000001000100f7c9a0",
    "f647f94eed7c40f9646212c423c106750420f5e774fb14e4f33efeb934865a0565f7b8b153317513e7cdf41d5a600c23",
    "8aa3c1e9c2c429bc831beb7f070efafd1398662d2393b45d08aba8827146388fe96377df94bcdfe7e5d351185322a7e6",
    "c10948a217c01dbcd803324077b99c0251ddec333cd9f1d7bad6d9dda25f29996e796cc6150dc81d46d70ce09024f9a7",
    "d4705b338657277b5b2f3b6415c4e430be5a4cc74571873bf0f628e9c4512c9c844fb58d28d129e765ccb57eb7940bec",
    "ab3b83121467660b266b947906640a004e63bc972bb89511e617a0c76318d5b03928c22388e2e46bccdbb70022a59cd7",
    "a293afeb3d1f5a9147c2b1fdbc0000000000000000080048004fafad6bd5a3a1a518125fdcbde557e6a45b3bcbf53c4c",
    "8a59013675a44b5f50897a036ffd472e0409e86061fa893dbf210544a2178de4ca3bb508143a8c5d8400000000000000",
    "00",
);

/// xrdp_low: recorded from the lab.
const XRDP_LOW: &str = concat!(
    "0300021102f0807f668202050a0100020100301a020116020103020100020101020100020101020300fff80201020482",
    "01df000500147c00012a14760a01010001c0004d63446e81c8010c0c000400080000000000030c1000eb030300ec03ed",
    "03ee030000020cac010100000001000000200000007801000003852b5f5554fd445e0a74a6181def182724037eb53193",
    "d948799251e15bb9eb01000000010000000100000006001c01525341310801000000080000ff00000001000100f7c9a0",
    "f647f94eed7c40f9646212c423c106750420f5e774fb14e4f33efeb934865a0565f7b8b153317513e7cdf41d5a600c23",
    "8aa3c1e9c2c429bc831beb7f070efafd1398662d2393b45d08aba8827146388fe96377df94bcdfe7e5d351185322a7e6",
    "c10948a217c01dbcd803324077b99c0251ddec333cd9f1d7bad6d9dda25f29996e796cc6150dc81d46d70ce09024f9a7",
    "d4705b338657277b5b2f3b6415c4e430be5a4cc74571873bf0f628e9c4512c9c844fb58d28d129e765ccb57eb7940bec",
    "ab3b83121467660b266b947906640a004e63bc972bb89511e617a0c76318d5b03928c22388e2e46bccdbb70022a59cd7",
    "a293afeb3d1f5a9147c2b1fdbc0000000000000000080048004fafad6bd5a3a1a518125fdcbde557e6a45b3bcbf53c4c",
    "8a59013675a44b5f50897a036ffd472e0409e86061fa893dbf210544a2178de4ca3bb508143a8c5d8400000000000000",
    "00",
);

/// xrdp_fips: recorded from the lab.
const XRDP_FIPS: &str = concat!(
    "0300021102f0807f668202050a0100020100301a020116020103020100020101020100020101020300fff80201020482",
    "01df000500147c00012a14760a01010001c0004d63446e81c8010c0c000400080000000000030c1000eb030300ec03ed",
    "03ee030000020cac0110000000040000002000000078010000e8c2d9889e027cf2255c12cbcf5585a8301f8a30175e9a",
    "82c5d4f637645f387b01000000010000000100000006001c01525341310801000000080000ff00000001000100f7c9a0",
    "f647f94eed7c40f9646212c423c106750420f5e774fb14e4f33efeb934865a0565f7b8b153317513e7cdf41d5a600c23",
    "8aa3c1e9c2c429bc831beb7f070efafd1398662d2393b45d08aba8827146388fe96377df94bcdfe7e5d351185322a7e6",
    "c10948a217c01dbcd803324077b99c0251ddec333cd9f1d7bad6d9dda25f29996e796cc6150dc81d46d70ce09024f9a7",
    "d4705b338657277b5b2f3b6415c4e430be5a4cc74571873bf0f628e9c4512c9c844fb58d28d129e765ccb57eb7940bec",
    "ab3b83121467660b266b947906640a004e63bc972bb89511e617a0c76318d5b03928c22388e2e46bccdbb70022a59cd7",
    "a293afeb3d1f5a9147c2b1fdbc0000000000000000080048004fafad6bd5a3a1a518125fdcbde557e6a45b3bcbf53c4c",
    "8a59013675a44b5f50897a036ffd472e0409e86061fa893dbf210544a2178de4ca3bb508143a8c5d8400000000000000",
    "00",
);

/// freerdp: recorded from the lab.
const FREERDP: &str = concat!(
    "0300007002f0807f66660a0100020100301a020122020103020100020101020100020101020300fff802010204420005",
    "00147c00012a14760a01010001c0004d63446e2c010c1000040008000000000000000000030c1000eb030300ec03ed03",
    "ee030000020c0c000000000000000000",
);

/// lab/standin.py legacy: built by hand from MS-RDPBCGR 2.2.1.4 (RDP 4.0 core data without
/// clientRequestedProtocols, level Client Compatible, 128-bit RC4, a 512-bit proprietary
/// certificate), recorded from the stand-in; nmap's rdp-enum-encryption reads it too.
const STANDIN_LEGACY: &str = concat!(
    "0300014d02f0807f668201410a0100020100301a020122020103020100020101020100020101020300fff80201020482",
    "011b000500147c00012a14760a01010001c0004d63446e8104010c080001000800030c1000eb030300ec03ed03ee0300",
    "00020cec00020000000200000020000000b8000000000102030405060708090a0b0c0d0e0f101112131415161718191a",
    "1b1c1d1e1f01000000010000000100000006005c005253413148000000000200003f00000001000100b54b91005a3150",
    "8e4fcaa7fd1a006214cac9db3973c9979911e790f98326dd9ae5510de93143e2b370f870a0f1b9d85ee8dd0db866afa5",
    "c7ddfdf9ecb63c5cce000000000000000008004800404142434445464748494a4b4c4d4e4f505152535455565758595a",
    "5b5c5d5e5f606162636465666768696a6b6c6d6e6f707172737475767778797a7b7c7d7e7f0000000000000000",
);

fn accepted(h: &str) -> ServerSettings {
    match decode_connect_response(&bytes(h)) {
        ConnectResponse::Accepted(s) => s,
        other => panic!("not accepted: {other:?}"),
    }
}

#[test]
fn connect_initial_offers_the_methods_and_decodes_with_ironrdp() {
    for methods in [
        method::ALL,
        method::BIT_40,
        method::BIT_56,
        method::BIT_128,
        method::FIPS,
    ] {
        let pdu = connect_initial(methods, 0).expect("encodes");
        // TPKT with the right length, X.224 Data, BER Connect-Initial.
        assert_eq!(pdu.get(..2), Some(&[3u8, 0][..]));
        assert_eq!(usize::from(u16::from_be_bytes([pdu[2], pdu[3]])), pdu.len());
        assert_eq!(pdu.get(4..9), Some(&[0x02u8, 0xF0, 0x80, 0x7F, 0x65][..]));
        let ci: mcs::ConnectInitial = decode(&pdu[7..]).expect("ironrdp reads it back");
        let blocks = ci.conference_create_request.gcc_blocks();
        assert_eq!(blocks.security.encryption_methods.bits(), methods);
        assert_eq!(
            blocks.core.optional_data.early_capability_flags,
            Some(ClientEarlyCapabilityFlags::SUPPORT_ERR_INFO_PDU)
        );
        assert_eq!(
            blocks
                .core
                .optional_data
                .server_selected_protocol
                .map(|p| p.bits()),
            Some(0)
        );
        // The client-to-server H.221 key and the Client Security Data block with the offer.
        let mut sec = vec![0x02, 0xC0, 0x0C, 0x00];
        sec.extend_from_slice(&methods.to_le_bytes());
        sec.extend_from_slice(&[0, 0, 0, 0]);
        assert!(pdu.windows(4).any(|w| w == b"Duca"));
        assert!(pdu.windows(12).any(|w| w == sec.as_slice()));
    }
}

#[test]
fn decodes_xrdp_high_low_and_fips() {
    for (h, method, level) in [
        (XRDP_HIGH, method::BIT_128, 3),
        (XRDP_LOW, method::BIT_40, 1),
        (XRDP_FIPS, method::FIPS, 4),
    ] {
        let s = accepted(h);
        assert_eq!(s.rdp_version, Some(0x0008_0004));
        assert_eq!(s.client_requested_protocols, Some(0));
        assert_eq!(s.encryption_method, method);
        assert_eq!(s.encryption_level, level);
        assert_eq!(s.server_random_len, Some(32));
        assert_eq!(s.ironrdp_refused, None, "ironrdp-pdu reads xrdp's answer");
        assert_eq!(
            s.certificate,
            Some(ServerCertificate::Proprietary {
                temporary: false,
                key_bits: 2048,
                declared_bits: 2048,
                public_exponent: 0x10001,
                signature_len: 72,
            })
        );
    }
}

#[test]
fn decodes_freerdp_without_encryption() {
    // freerdp-shadow turns encryption off for loopback peers: level None, method None, no
    // server random, no certificate.
    let s = accepted(FREERDP);
    assert_eq!(s.rdp_version, Some(0x0008_0004));
    assert_eq!((s.encryption_method, s.encryption_level), (0, 0));
    assert_eq!(s.server_random_len, None);
    assert_eq!(s.certificate, None);
}

/// Wraps server data blocks in a Connect-Response (T.125 BER) and a Conference Create Response
/// (T.124 PER), the way xrdp lays them out.
fn response(blocks: &[u8]) -> Vec<u8> {
    let mut gcc = bytes("000500147c00012a14760a01010001c0004d63446e");
    let n = blocks.len();
    gcc.extend_from_slice(&[0x80 | (n >> 8) as u8, n as u8]);
    gcc.extend_from_slice(blocks);
    let mut inner = bytes("0a0100020100301a020116020103020100020101020100020101020300fff8020102");
    let g = gcc.len();
    inner.extend_from_slice(&[0x04, 0x82, (g >> 8) as u8, g as u8]);
    inner.extend_from_slice(&gcc);
    let mut mcs = vec![
        0x7F,
        0x66,
        0x82,
        (inner.len() >> 8) as u8,
        inner.len() as u8,
    ];
    mcs.extend_from_slice(&inner);
    let total = mcs.len() + 7;
    let mut pdu = vec![3, 0, (total >> 8) as u8, total as u8, 0x02, 0xF0, 0x80];
    pdu.extend_from_slice(&mcs);
    pdu
}

fn block(kind: u16, body: &[u8]) -> Vec<u8> {
    let mut b = kind.to_le_bytes().to_vec();
    b.extend_from_slice(&((body.len() + 4) as u16).to_le_bytes());
    b.extend_from_slice(body);
    b
}

#[test]
fn reads_x509_chains_ironrdp_refuses() {
    // A CERT_CHAIN_VERSION_2 chain of one 1500-byte certificate: serverCertLen > 1024, which
    // ServerSecurityData::decode refuses, and a one-certificate chain, which
    // X509CertificateChain refuses. Certificate bytes are opaque here (the probe parses them).
    let der: Vec<u8> = (0..1500u32).map(|i| (i % 251) as u8).collect();
    let mut cert = 0x8000_0002u32.to_le_bytes().to_vec();
    cert.extend_from_slice(&1u32.to_le_bytes());
    cert.extend_from_slice(&(der.len() as u32).to_le_bytes());
    cert.extend_from_slice(&der);
    cert.extend_from_slice(&[0; 12]);
    let mut sec = Vec::new();
    for v in [method::BIT_128, 2, 32, cert.len() as u32] {
        sec.extend_from_slice(&v.to_le_bytes());
    }
    sec.extend_from_slice(&[0x5A; 32]);
    sec.extend_from_slice(&cert);
    let mut blocks = block(SC_CORE, &bytes("0400080000000000"));
    blocks.extend(block(0x0C03, &bytes("eb030000")));
    blocks.extend(block(SC_SECURITY, &sec));
    let s = match decode_connect_response(&response(&blocks)) {
        ConnectResponse::Accepted(s) => s,
        other => panic!("{other:?}"),
    };
    assert!(s.ironrdp_refused.is_some(), "ironrdp-pdu refuses it");
    assert_eq!((s.encryption_method, s.encryption_level), (2, 2));
    assert_eq!(
        s.certificate,
        Some(ServerCertificate::X509 {
            temporary: true,
            certificates: vec![der],
        })
    );
}

#[test]
fn reports_a_server_random_of_another_length() {
    let mut sec = Vec::new();
    for v in [method::BIT_128, 3, 16, 0] {
        sec.extend_from_slice(&v.to_le_bytes());
    }
    sec.extend_from_slice(&[7; 16]);
    let blocks = [block(SC_CORE, &bytes("04000800")), block(SC_SECURITY, &sec)].concat();
    match decode_connect_response(&response(&blocks)) {
        ConnectResponse::Accepted(s) => {
            assert_eq!(s.server_random_len, Some(16));
            assert_eq!(s.rdp_version, Some(0x0008_0004));
            assert!(s.ironrdp_refused.is_some());
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn decodes_the_legacy_stand_in() {
    let s = accepted(STANDIN_LEGACY);
    assert_eq!(s.rdp_version, Some(0x0008_0001));
    assert_eq!(s.client_requested_protocols, None);
    assert_eq!(
        (s.encryption_method, s.encryption_level),
        (method::BIT_128, 2)
    );
    assert_eq!(s.server_random_len, Some(32));
    assert_eq!(
        s.certificate,
        Some(ServerCertificate::Proprietary {
            temporary: false,
            key_bits: 512,
            declared_bits: 512,
            public_exponent: 65537,
            signature_len: 72,
        })
    );
}

#[test]
fn decodes_refusals() {
    // T.125 Connect-Response carrying only result 14 rt-unspecified-failure (3.3.5.3.3.1).
    assert_eq!(
        decode_connect_response(&bytes("0300000d02f0807f66030a010e")),
        ConnectResponse::Refused { result: 14 }
    );
    // xrdp: MCS Disconnect Provider Ultimatum, reason 3 rn-user-requested.
    assert_eq!(
        decode_connect_response(&bytes("0300000902f0802180")),
        ConnectResponse::Disconnected { reason: 3 }
    );
}

#[test]
fn never_panics_on_truncated_or_corrupt_answers() {
    for h in [XRDP_HIGH, FREERDP] {
        let full = bytes(h);
        for n in 0..full.len() {
            let _ = decode_connect_response(&full[..n]);
        }
        for i in 4..full.len() {
            let mut b = full.clone();
            b[i] ^= 0xFF;
            let _ = decode_connect_response(&b);
        }
    }
    // A zero-length block (nmap#1737 loops forever on it).
    let blocks = [block(SC_CORE, &bytes("04000800")), vec![0x02, 0x0C, 0, 0]].concat();
    assert!(matches!(
        decode_connect_response(&response(&blocks)),
        ConnectResponse::Malformed(_)
    ));
    assert!(matches!(
        decode_connect_response(&bytes("030000130ed00000123400020108000000000000")),
        ConnectResponse::Malformed(_)
    ));
}
