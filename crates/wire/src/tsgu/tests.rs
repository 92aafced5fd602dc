//! The codec against recorded bytes and against hostile ones.
//!
//! Gateway answers below were produced by the lab's RD Gateway stand-in (lab/gateway.py, its
//! `packet()` and the very `struct.pack` calls of each of its answers, which xfreerdp 2.11 reads
//! correctly: crates/cli/tests/gateway_lab.rs); the client packets are laid out as MS-TSGU
//! 2.2.10 and FreeRDP's rdg.c write them.

use super::http::{self, Body, Method, Request};
use super::packet::{self, PacketError, PacketReader, RawPacket, ServerPacket};
use super::websocket::{self, FrameError, FrameReader};

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

fn decode_one(hex: &str) -> ServerPacket {
    let mut r = PacketReader::new();
    r.feed(&unhex(hex));
    let raw = r.next_packet().unwrap().expect("a whole packet");
    assert_eq!(r.pending(), 0, "the packet used every byte");
    packet::decode(&raw).unwrap()
}

#[test]
fn client_packets_have_the_layout_of_ms_tsgu_2_2_10() {
    // HTTP_HANDSHAKE_REQUEST_PACKET: version 1.0, clientVersion 0, extended auth.
    assert_eq!(
        packet::handshake_request(packet::extended_auth::NONE),
        unhex("01000000 0e000000 0100 0000 0000".replace(' ', "").as_str())
    );
    assert_eq!(
        packet::handshake_request(packet::extended_auth::PAA),
        unhex("01000000 0e000000 0100 0000 0200".replace(' ', "").as_str())
    );
    // HTTP_TUNNEL_PACKET without a cookie: caps, fieldsPresent 0, reserved.
    assert_eq!(
        packet::tunnel_create(0x0E, None).unwrap(),
        unhex(
            "0400000010000000 0e000000 0000 0000"
                .replace(' ', "")
                .as_str()
        )
    );
    // HTTP_CHANNEL_PACKET for 127.0.0.1:3389, as FreeRDP writes it: one resource, no alternate,
    // the port, protocol 3, then the name as a length-prefixed NUL-terminated UTF-16 string.
    let name: Vec<u8> = "127.0.0.1\0"
        .encode_utf16()
        .flat_map(u16::to_le_bytes)
        .collect();
    let mut expected = unhex("08000000");
    expected.extend_from_slice(&(16u32 + name.len() as u32).to_le_bytes());
    expected.extend_from_slice(&[1, 0]);
    expected.extend_from_slice(&3389u16.to_le_bytes());
    expected.extend_from_slice(&3u16.to_le_bytes());
    expected.extend_from_slice(&(name.len() as u16).to_le_bytes());
    expected.extend_from_slice(&name);
    assert_eq!(
        packet::channel_create(&["127.0.0.1"], 3389).unwrap(),
        expected
    );
    assert_eq!(
        packet::channel_create(&[], 3389),
        Err(PacketError::NoResource)
    );
    // HTTP_DATA_PACKET and keepalive, close.
    assert_eq!(
        packet::data(&[3, 0, 0, 0x13]).unwrap(),
        unhex("0a0000000e000000040003000013")
    );
    assert_eq!(packet::keepalive(), unhex("0d00000008000000"));
    assert_eq!(packet::close_channel(0), unhex("100000000c00000000000000"));
    assert!(matches!(
        packet::data(&vec![0; 70_000]),
        Err(PacketError::FieldTooLong { .. })
    ));
}

#[test]
fn the_paa_cookie_and_client_name_are_length_prefixed_utf16() {
    let p = packet::tunnel_create(0x0E, Some("lab-paa-cookie-2026")).unwrap();
    // fieldsPresent has HTTP_TUNNEL_PACKET_FIELD_PAA_COOKIE; the blob is 20 UTF-16 units.
    assert_eq!(&p[12..14], &[1, 0]);
    assert_eq!(u16::from_le_bytes([p[16], p[17]]), 40);
    assert_eq!(packet::utf16_text(&p[18..]), "lab-paa-cookie-2026");
    assert_eq!(
        u32::from_le_bytes([p[4], p[5], p[6], p[7]]) as usize,
        p.len()
    );
    let a = packet::tunnel_auth("RDPDOCTOR-Ü").unwrap();
    assert_eq!(&a[8..10], &[0, 0]);
    assert_eq!(packet::utf16_text(&a[12..]), "RDPDOCTOR-Ü");
    // A name that does not fit a u16 length is refused, not truncated.
    let long = "x".repeat(40_000);
    assert!(matches!(
        packet::tunnel_auth(&long),
        Err(PacketError::FieldTooLong { .. })
    ));
}

#[test]
fn gateway_answers_recorded_from_the_stand_in_decode() {
    assert_eq!(
        decode_one("020000001200000000000000010000000000"),
        ServerPacket::HandshakeResponse(packet::HandshakeResponse {
            error_code: 0,
            version: (1, 0),
            server_version: 0,
            extended_auth: 0,
        })
    );
    let ServerPacket::HandshakeResponse(h) = decode_one("0200000012000000f9590780010000000200")
    else {
        panic!("not a handshake response");
    };
    assert_eq!(h.error_code, 0x8007_59F9); // E_PROXY_UNSUPPORTED_AUTHENTICATION_METHOD
    assert_eq!(h.extended_auth, packet::extended_auth::PAA);

    assert_eq!(
        decode_one("050000001a00000000000000000003000000070000000a000000"),
        ServerPacket::TunnelResponse(packet::TunnelResponse {
            server_version: 0,
            status: 0,
            fields_present: 3,
            tunnel_id: Some(7),
            capabilities: Some(0x0A),
            soh_requested: false,
            consent_message: None,
        })
    );
    let ServerPacket::TunnelResponse(busy) =
        decode_one("050000001a0000000000e659078003000000010000000a000000")
    else {
        panic!("not a tunnel response");
    };
    assert_eq!(busy.status, 0x8007_59E6); // E_PROXY_MAXCONNECTIONSREACHED
    assert!(packet::is_failure(busy.status));

    assert_eq!(
        decode_one("070000001800000000000000030000000000008001000000"),
        ServerPacket::TunnelAuthResponse(packet::TunnelAuthResponse {
            error_code: 0,
            fields_present: 3,
            redir_flags: Some(0x8000_0000),
            idle_timeout_minutes: Some(1),
            soh_response_len: None,
        })
    );
    let ServerPacket::TunnelAuthResponse(cap) =
        decode_one("0700000018000000db590780030000000000000000000000")
    else {
        panic!("not an authorization response");
    };
    assert_eq!(cap.error_code, 0x8007_59DB); // E_PROXY_NAP_ACCESSDENIED

    assert_eq!(
        decode_one("0900000014000000000000000100000001000000"),
        ServerPacket::ChannelResponse(packet::ChannelResponse {
            error_code: 0,
            fields_present: 1,
            channel_id: Some(1),
            udp_port: None,
            udp_cookie_len: None,
        })
    );
    for (hex, code) in [
        ("0900000014000000da5907800100000001000000", 0x8007_59DA), // RAP
        ("0900000014000000dd5907800100000001000000", 0x8007_59DD), // TS_CONNECTFAILED
    ] {
        let ServerPacket::ChannelResponse(c) = decode_one(hex) else {
            panic!("not a channel response");
        };
        assert_eq!(c.error_code, code);
    }
    assert_eq!(
        decode_one("100000000c000000f6590780"),
        ServerPacket::CloseChannel {
            status: 0x8007_59F6
        }
    );
    assert_eq!(
        decode_one("0a0000000e000000040003000013"),
        ServerPacket::Data(vec![3, 0, 0, 0x13])
    );
}

#[test]
fn optional_fields_the_stand_in_never_sends_decode_too() {
    // A tunnel response with a statement-of-health request and a consent message (2.2.10.21),
    // and a channel response announcing the UDP side channel (2.2.10.5).
    let consent: Vec<u8> = "Authorized use only\0"
        .encode_utf16()
        .flat_map(u16::to_le_bytes)
        .collect();
    let mut body = vec![0, 0, 0, 0, 0, 0, 0x17, 0, 0, 0]; // version, status 0, fields, reserved
    body.extend_from_slice(&9u32.to_le_bytes()); // tunnel id
    body.extend_from_slice(&0x3Fu32.to_le_bytes()); // caps
    body.extend_from_slice(&[0xAB; 16]); // nonce
    body.extend_from_slice(&2u16.to_le_bytes());
    body.extend_from_slice(&[b'C', 0]); // server certificate (a stub)
    body.extend_from_slice(&(consent.len() as u16).to_le_bytes());
    body.extend_from_slice(&consent);
    let r = packet::decode(&RawPacket {
        kind: packet::kind::TUNNEL_RESPONSE,
        body,
    })
    .unwrap();
    let ServerPacket::TunnelResponse(t) = r else {
        panic!("{r:?}")
    };
    assert!(t.soh_requested);
    assert_eq!(t.consent_message.as_deref(), Some("Authorized use only"));
    assert_eq!(t.capabilities, Some(0x3F));

    let mut body = vec![0, 0, 0, 0, 0x07, 0, 0, 0];
    body.extend_from_slice(&5u32.to_le_bytes());
    body.extend_from_slice(&3391u16.to_le_bytes());
    body.extend_from_slice(&3u16.to_le_bytes());
    body.extend_from_slice(&[1, 2, 3]);
    let ServerPacket::ChannelResponse(c) = packet::decode(&RawPacket {
        kind: packet::kind::CHANNEL_RESPONSE,
        body,
    })
    .unwrap() else {
        panic!("not a channel response")
    };
    assert_eq!(
        (c.channel_id, c.udp_port, c.udp_cookie_len),
        (Some(5), Some(3391), Some(3))
    );
}

#[test]
fn packets_split_and_joined_anyhow_come_out_whole() {
    let stream = unhex(
        "020000001200000000000000010000000000050000001a00000000000000000003000000070000000a0000000d00000008000000",
    );
    for cut in 0..stream.len() {
        let mut r = PacketReader::new();
        let mut kinds = Vec::new();
        for part in [&stream[..cut], &stream[cut..]] {
            r.feed(part);
            while let Some(p) = r.next_packet().unwrap() {
                kinds.push(p.kind);
            }
        }
        assert_eq!(kinds, [2, 5, 0xD], "cut at {cut}");
    }
}

#[test]
fn hostile_packets_are_errors_not_panics() {
    // The length below the header that panics ironrdp-mstsgu 0.1.0 (lib.rs:668).
    for length in 0u32..8 {
        let mut r = PacketReader::new();
        let mut p = vec![0x02, 0, 0, 0];
        p.extend_from_slice(&length.to_le_bytes());
        r.feed(&p);
        assert_eq!(
            r.next_packet(),
            Err(PacketError::LengthBelowHeader { length })
        );
    }
    // A length past the bound is refused before anything is buffered.
    let mut r = PacketReader::new();
    r.feed(&unhex("0a000000ffffff7f"));
    assert!(matches!(r.next_packet(), Err(PacketError::TooLarge { .. })));
    // Every truncation of every answer is an error or decodes; none panics.
    for hex in [
        "020000001200000000000000010000000000",
        "050000001a00000000000000000003000000070000000a000000",
        "070000001800000000000000030000000000008001000000",
        "0900000014000000000000000100000001000000",
        "100000000c000000f6590780",
        "0a0000000e000000040003000013",
        "0b0000000c0000000400410042",
        "0c00000010000000",
        "0300000008000000",
    ] {
        let full = unhex(hex);
        let kind = u16::from_le_bytes([full[0], full[1]]);
        for end in packet::HEADER_LEN..=full.len() {
            let _ = packet::decode(&RawPacket {
                kind,
                body: full[packet::HEADER_LEN..end].to_vec(),
            });
        }
    }
    // Random bodies for every type, fields-present flags and lengths included.
    let mut seed = 0x2545_F491_4F6C_DD1Du64;
    for _ in 0..20_000 {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let kind = (seed % 0x13) as u16;
        let len = (seed >> 8) as usize % 40;
        let body: Vec<u8> = (0..len).map(|i| (seed >> (i % 56)) as u8).collect();
        let _ = packet::decode(&RawPacket { kind, body });
        let mut r = PacketReader::new();
        r.feed(&seed.to_le_bytes());
        let _ = r.next_packet();
    }
}

#[test]
fn requests_look_like_mstsc_and_refuse_header_injection() {
    let id = http::connection_id([
        0x95, 0x8F, 0x92, 0xD8, 0xDA, 0x20, 0x46, 0x7A, 0xBB, 0xE3, 0x65, 0xE7, 0xE9, 0xB4, 0xED,
        0xCF,
    ]);
    assert_eq!(id, "{958f92d8-da20-467a-bbe3-65e7e9b4edcf}");
    let req = Request {
        method: Method::OutData,
        host: "gw.example:8443",
        connection_id: &id,
        authorization: Some("NTLM TlRMTVNTUAABAAAA"),
        websocket_key: Some("dGhlIHNhbXBsZSBub25jZQ=="),
        body: Body::Empty,
    };
    let text = String::from_utf8(req.encode().unwrap()).unwrap();
    assert!(text.starts_with("RDG_OUT_DATA /remoteDesktopGateway/ HTTP/1.1\r\n"));
    for line in [
        "Host: gw.example:8443",
        "RDG-Connection-Id: {958f92d8-da20-467a-bbe3-65e7e9b4edcf}",
        "User-Agent: MS-RDGateway/1.0",
        "Authorization: NTLM TlRMTVNTUAABAAAA",
        "Upgrade: websocket",
        "Sec-WebSocket-Version: 13",
        "Content-Length: 0",
    ] {
        assert!(text.contains(&format!("{line}\r\n")), "{line} in {text}");
    }
    assert!(text.ends_with("\r\n\r\n"));
    let bad = Request {
        host: "gw.example\r\nX-Evil: 1",
        ..req.clone()
    };
    assert!(bad.encode().is_err());
    let in_channel = Request {
        method: Method::InData,
        authorization: None,
        websocket_key: None,
        body: Body::Chunked,
        ..req
    };
    let text = String::from_utf8(in_channel.encode().unwrap()).unwrap();
    assert!(text.contains("Transfer-Encoding: chunked\r\n") && text.contains("Keep-Alive"));
    assert_eq!(http::chunk(b"abc"), b"3\r\nabc\r\n");
    assert_eq!(http::chunk(&[0; 26])[..4], *b"1A\r\n");
    assert_eq!(http::chunk(b""), b"0\r\n\r\n");
    let body = b"3\r\nabc\r\n1a;ext=1\r\nabcdefghijklmnopqrstuvwxyz\r\n0\r\nX-T: 1\r\n\r\nNEXT";
    assert_eq!(http::chunked_body_len(body), Ok(Some(body.len() - 4)));
    for end in 0..body.len() - 4 {
        assert_eq!(http::chunked_body_len(&body[..end]), Ok(None), "{end}");
    }
    assert!(http::chunked_body_len(b"zz\r\n").is_err());
    assert!(http::chunked_body_len(b"ffffffffffffffffff\r\n").is_err());
}

#[test]
fn the_stand_ins_401_lists_every_method() {
    // lab/gateway.py's 401 for the healthy mode, byte for byte.
    let raw = b"HTTP/1.1 401 Unauthorized\r\nServer: rdpdoctor-lab-gateway\r\nWWW-Authenticate: Negotiate\r\nWWW-Authenticate: NTLM\r\nWWW-Authenticate: Basic realm=\"rdpdoctor-lab\"\r\nConnection: keep-alive\r\nContent-Length: 0\r\n\r\nrest";
    let (head, used) = http::parse_response(raw).unwrap().unwrap();
    assert_eq!(used, raw.len() - 4);
    assert_eq!(head.status, 401);
    assert_eq!(head.content_length(), Some(0));
    let schemes: Vec<String> = head.challenges().into_iter().map(|c| c.scheme).collect();
    assert_eq!(schemes, ["Negotiate", "NTLM", "Basic"]);
    // IIS joins them in one header; Basic's parameters stay with Basic.
    let joined = http::split_challenges(
        "Negotiate TlRMTVNTUAACAAAA, Basic realm=\"a, b\", charset=\"UTF-8\", NTLM",
    );
    assert_eq!(joined.len(), 3, "{joined:?}");
    assert_eq!(
        joined[0].token().unwrap(),
        Some(unhex("4e544c4d5353500002000000"))
    );
    assert_eq!(
        joined[1].param.as_deref(),
        Some("realm=\"a, b\", charset=\"UTF-8\"")
    );
    assert!(joined[2].is("ntlm") && joined[2].param.is_none());
    // Partial heads wait; non-HTTP answers and endless heads are errors.
    assert_eq!(
        http::parse_response(b"HTTP/1.1 200 OK\r\nA: b\r\n"),
        Ok(None)
    );
    assert!(matches!(
        http::parse_response(b"\x16\x03\x01\x00\x05hello"),
        Err(http::HeadError::NotHttp(_))
    ));
    let mut endless = b"HTTP/1.1 200 OK\r\n".to_vec();
    while endless.len() <= http::MAX_HEAD {
        endless.extend_from_slice(b"X-Filler: aaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n");
    }
    assert!(http::parse_response(&endless).is_err());
}

#[test]
fn websocket_handshake_and_frames_follow_rfc_6455() {
    // RFC 6455 1.3's own example.
    assert_eq!(
        websocket::accept_for("dGhlIHNhbXBsZSBub25jZQ=="),
        "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
    );
    assert_eq!(websocket::key([0; 16]), "AAAAAAAAAAAAAAAAAAAAAA==");
    // RFC 6455 5.7: a masked "Hello" from a client.
    assert_eq!(
        websocket::client_frame(websocket::opcode::TEXT, b"Hello", [0x37, 0xfa, 0x21, 0x3d]),
        unhex("818537fa213d7f9f4d5158")
    );
    let big = websocket::client_frame(websocket::opcode::BINARY, &[0; 300], [1, 2, 3, 4]);
    assert_eq!(&big[..4], &[0x82, 0xFE, 0x01, 0x2C]);
    // The stand-in's frame (lab/gateway.py ws_frame), split at every byte.
    let frames = [unhex("8203616263"), unhex("89026869")].concat();
    for cut in 0..frames.len() {
        let mut r = FrameReader::new();
        let mut got = Vec::new();
        for part in [&frames[..cut], &frames[cut..]] {
            r.feed(part);
            while let Some(f) = r.next_frame().unwrap() {
                got.push((f.opcode, f.payload));
            }
        }
        assert_eq!(got, [(2, b"abc".to_vec()), (9, b"hi".to_vec())]);
    }
    // Hostile frames.
    for (bytes, want) in [
        (unhex("8283"), FrameError::Masked),
        (unhex("C203"), FrameError::Reserved(0x40)),
        (unhex("8303"), FrameError::UnknownOpcode(3)),
        (unhex("097e0100"), FrameError::BadControl { opcode: 9 }),
        (
            unhex("827f7fffffffffffffff"),
            FrameError::TooLarge(u64::MAX >> 1),
        ),
    ] {
        let mut r = FrameReader::new();
        r.feed(&bytes);
        assert_eq!(r.next_frame(), Err(want));
    }
}
