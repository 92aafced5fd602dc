//! A real Standard RDP Security connection, driven with `rdp_crypto` against the lab's servers
//! (lab/start.sh must be running; `cargo test -p rdpdoctor-wire --features lab --test
//! lab_rdp_security -- --nocapture` prints what each server sent). No password is sent: the Client
//! Info PDU names a user with an empty password, which is all licensing and the Demand Active need.
//!
//! Sequence (MS-RDPBCGR 1.3.1.1): X.224 with PROTOCOL_RDP, MCS Connect Initial offering one
//! method, Erect Domain, Attach User, Channel Join (user and I/O channels), Security Exchange
//! (5.3.4), Client Info (encrypted, 2.2.1.11), then every server PDU is opened with
//! `rdp_crypto` (MAC verified) and classified with `session::inspect`, a License Request answered
//! with a Client New License Request (MS-RDPELE 2.2.2.2, built by `ironrdp-pdu`), until the Demand
//! Active (2.2.1.13.1) arrives, the server ends the connection, or 5 s pass. About 1 s.

#![cfg(feature = "lab")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // tests: a failed assumption is a failed test

use ironrdp_core::{decode, encode_vec};
use ironrdp_pdu::mcs::{
    AttachUserConfirm, AttachUserRequest, ChannelJoinConfirm, ChannelJoinRequest, ErectDomainPdu,
    McsMessage,
};
use ironrdp_pdu::rdp::client_info::{
    AddressFamily, ClientInfo, ClientInfoFlags, CompressionType, Credentials, ExtendedClientInfo,
    ExtendedClientOptionalInfo,
};
use ironrdp_pdu::rdp::server_license::{ClientNewLicenseRequest, LicensePdu};
use ironrdp_pdu::x224::X224;
use rdpdoctor_wire::rdp_crypto::exchange::{
    open_server_frame, security_exchange_pdu, send_data_request, server_security_data,
};
use rdpdoctor_wire::rdp_crypto::header::{SEC_INFO_PKT, SEC_LICENSE_ENCRYPT};
use rdpdoctor_wire::rdp_crypto::{ClientSecurity, Method, ServerPublicKey, SessionKeys};
use rdpdoctor_wire::session::{frame_len, inspect, FrameLen, ServerFrame};
use rdpdoctor_wire::{mcs, x224};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

const DEADLINE: Duration = Duration::from_secs(5);

fn lab_port(name: &str) -> u16 {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../lab/state/servers.json");
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("{path}: {e}: start the lab first (lab/start.sh)"));
    let json: serde_json::Value = serde_json::from_str(&text).unwrap();
    json["servers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == name)
        .and_then(|s| s["port"].as_u64())
        .unwrap_or_else(|| panic!("no lab server {name}")) as u16
}

struct Conn {
    stream: TcpStream,
    buf: Vec<u8>,
    started: Instant,
    /// The MCS user channel and the I/O channel, once known.
    user: u16,
    io_channel: u16,
}

impl Conn {
    fn open(port: u16) -> Conn {
        let stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_millis(500)))
            .unwrap();
        Conn {
            stream,
            buf: Vec::new(),
            started: Instant::now(),
            user: 0,
            io_channel: 0,
        }
    }

    fn send(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).unwrap();
    }

    /// The next complete frame (TPKT or fast-path), or None when the server closed or the
    /// deadline passed.
    fn frame(&mut self) -> Option<Vec<u8>> {
        loop {
            match frame_len(&self.buf) {
                FrameLen::Complete(n) => return Some(self.buf.drain(..n).collect()),
                FrameLen::Invalid => panic!("not a frame: {:02x?}", &self.buf),
                FrameLen::NeedMore(_) => {}
            }
            if self.started.elapsed() > DEADLINE {
                return None;
            }
            let mut chunk = [0u8; 16384];
            match self.stream.read(&mut chunk) {
                Ok(0) => return None,
                Ok(n) => self.buf.extend_from_slice(&chunk[..n]),
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
                Err(e) if e.kind() == std::io::ErrorKind::TimedOut => {}
                Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => return None,
                Err(e) => panic!("read: {e}"),
            }
        }
    }
}

/// How far a connection got.
#[derive(Debug, PartialEq, Eq)]
enum Reached {
    /// The server sent its Demand Active (capabilities exchange): licensing is behind.
    DemandActive,
    /// The server ended the connection after these frames.
    Ended(Option<ServerFrame>),
}

fn random32() -> [u8; 32] {
    let mut r = [0u8; 32];
    std::fs::File::open("/dev/urandom")
        .unwrap()
        .read_exact(&mut r)
        .unwrap();
    r
}

fn client_info() -> Vec<u8> {
    encode_vec(&ClientInfo {
        credentials: Credentials {
            username: "rdpdoctor".into(),
            password: String::new(),
            domain: None,
        },
        password_cookie: None,
        code_page: 0,
        // xrdp requires INFO_MOUSE | INFO_DISABLECTRLALTDEL | INFO_UNICODE | INFO_MAXIMIZESHELL
        // (what mstsc sets) and takes anything else for a decryption failure.
        flags: ClientInfoFlags::MOUSE
            | ClientInfoFlags::UNICODE
            | ClientInfoFlags::MAXIMIZE_SHELL
            | ClientInfoFlags::LOGON_NOTIFY
            | ClientInfoFlags::LOGON_ERRORS
            | ClientInfoFlags::DISABLE_CTRL_ALT_DEL,
        compression_type: CompressionType::K8,
        alternate_shell: String::new(),
        work_dir: String::new(),
        extra_info: ExtendedClientInfo {
            address_family: AddressFamily::INET,
            address: "127.0.0.1".into(),
            dir: "C:\\rdpdoctor".into(),
            optional_data: ExtendedClientOptionalInfo::default(),
        },
    })
    .unwrap()
}

/// Drives one connection offering `methods`, signing with the salted MAC when `salted_mac`; returns the method the server chose, every server
/// frame after the Client Info (decrypted) with whether it came encrypted, and how far it got.
fn connect(
    port: u16,
    methods: u32,
    salted_mac: bool,
) -> (Option<Method>, Vec<(ServerFrame, bool)>, Reached) {
    let mut c = Conn::open(port);
    c.send(&x224::connection_request(0, &x224::RequestCookie::Name("rdpdoctor".into())).unwrap());
    c.frame().expect("Connection Confirm");
    c.send(&mcs::connect_initial(methods, 0).unwrap());
    let response = c.frame().expect("MCS Connect Response");
    let server = server_security_data(&response).unwrap();
    let method = Method::from_wire(server.method).unwrap();
    c.send(
        &encode_vec(&X224(ErectDomainPdu {
            sub_height: 0,
            sub_interval: 0,
        }))
        .unwrap(),
    );
    c.send(&encode_vec(&X224(AttachUserRequest)).unwrap());
    let X224(confirm) = decode::<X224<AttachUserConfirm>>(&c.frame().unwrap()).unwrap();
    let user = confirm.initiator_id;
    c.user = user;
    c.io_channel = server.io_channel;
    for channel in [user, server.io_channel] {
        c.send(
            &encode_vec(&X224(ChannelJoinRequest {
                initiator_id: user,
                channel_id: channel,
            }))
            .unwrap(),
        );
        let X224(joined) = decode::<X224<ChannelJoinConfirm>>(&c.frame().unwrap()).unwrap();
        assert_eq!(joined.result, 0, "channel {channel} join refused");
    }
    let Some(method) = method else {
        // ENCRYPTION_LEVEL_NONE: no Security Exchange; the Client Info carries a Basic Security
        // Header only (2.2.1.11.1), and server PDUs other than licensing carry none.
        let mut info = (SEC_INFO_PKT as u32).to_le_bytes().to_vec();
        info.extend_from_slice(&client_info());
        c.send(&send_data_request(user, server.io_channel, &info).unwrap());
        let (frames, reached) = read_until_demand_active(&mut c, port, None);
        return (None, frames, reached);
    };
    let key = ServerPublicKey::from_certificate(&server.certificate).unwrap();
    let client_random = random32();
    let encrypted = key.encrypt_client_random(&client_random);
    c.send(&security_exchange_pdu(user, server.io_channel, &encrypted, true).unwrap());
    let server_random = server.server_random.expect("server random");
    let keys = SessionKeys::derive(method, &client_random, &server_random).unwrap();
    let mut security = ClientSecurity::new(&keys, salted_mac);
    let info = security.seal(SEC_INFO_PKT, &client_info());
    c.send(&send_data_request(user, server.io_channel, &info).unwrap());
    let (frames, reached) = read_until_demand_active(&mut c, port, Some(&mut security));
    (Some(method), frames, reached)
}

/// Reads server frames, opening each with `security` when the session is encrypted, until the
/// Demand Active, the end of the connection, or the deadline.
fn read_until_demand_active(
    c: &mut Conn,
    port: u16,
    mut security: Option<&mut ClientSecurity>,
) -> (Vec<(ServerFrame, bool)>, Reached) {
    let mut seen = Vec::new();
    while let Some(frame) = c.frame() {
        let (plain, encrypted) = match (security.as_deref_mut(), frame.first() == Some(&3)) {
            (Some(s), true) => match open_server_frame(s, &frame) {
                Ok((plain, opened)) => (plain, opened.is_some_and(|o| o.was_encrypted)),
                Err(e) => panic!("port {port}: {e}"),
            },
            (Some(s), false) => {
                let opened = s.open_fast_path(&frame).unwrap();
                (frame, opened.was_encrypted)
            }
            (None, _) => (frame, false),
        };
        let kind = inspect(&plain);
        println!("port {port}: {kind:?}, encrypted: {encrypted}");
        if kind == (ServerFrame::License { msg_type: 0x01 }) {
            answer_license_request(c, &plain);
        }
        let done = kind == ServerFrame::DemandActive;
        seen.push((kind, encrypted));
        if done {
            return (seen, Reached::DemandActive);
        }
    }
    let last = seen.last().map(|(kind, _)| kind.clone());
    (seen, Reached::Ended(last))
}

/// Answers a Server License Request (MS-RDPELE 2.2.2.1, here already decrypted) with a Client
/// New License Request (2.2.2.2) built by `ironrdp-pdu`: a fresh client random and premaster
/// secret, the latter encrypted with the licence server's key. It goes unencrypted: a client
/// encrypts licensing PDUs only when the server's say SEC_LICENSE_ENCRYPT_CS (MS-RDPBCGR
/// 2.2.1.12), which no lab server does (checked here).
fn answer_license_request(c: &mut Conn, plain: &[u8]) {
    let X224(McsMessage::SendDataIndication(sdi)) = decode::<X224<McsMessage<'_>>>(plain).unwrap()
    else {
        panic!("not a Send Data Indication");
    };
    let flags = u16::from_le_bytes([sdi.user_data[0], sdi.user_data[1]]);
    assert_eq!(
        flags & SEC_LICENSE_ENCRYPT,
        0,
        "server wants encrypted licensing"
    );
    let LicensePdu::ServerLicenseRequest(request) = decode::<LicensePdu>(&sdi.user_data).unwrap()
    else {
        panic!("not a License Request");
    };
    let premaster: Vec<u8> = [random32(), random32()].concat()[..48].to_vec();
    let (reply, _) = ClientNewLicenseRequest::from_server_license_request(
        &request,
        &random32(),
        &premaster,
        "rdpdoctor",
        "rdpdoctor",
    )
    .unwrap();
    let reply = encode_vec(&LicensePdu::ClientNewLicenseRequest(reply)).unwrap();
    let pdu = send_data_request(c.user, c.io_channel, &reply).unwrap();
    c.send(&pdu);
}

/// The server's frames after the Client Info: a licensing answer of STATUS_VALID_CLIENT (after a
/// License Request and this client's New License Request, for xrdp), then the Demand Active;
/// `encrypted` says whether the server encrypted the Demand Active (xrdp does at High and FIPS, not
/// at Low, where only client-to-server traffic is encrypted, 5.3.1; it never encrypts licensing,
/// although this client says it could decrypt it).
fn assert_licensed_then_demand_active(
    frames: &[(ServerFrame, bool)],
    reached: &Reached,
    encrypted: bool,
) {
    assert_eq!(reached, &Reached::DemandActive, "{frames:?}");
    let valid = frames.iter().position(|(f, _)| {
        matches!(
            f,
            ServerFrame::LicenseError {
                code: rdpdoctor_wire::session::STATUS_VALID_CLIENT,
                ..
            }
        )
    });
    assert!(valid.is_some(), "no STATUS_VALID_CLIENT: {frames:?}");
    assert_eq!(frames.last(), Some(&(ServerFrame::DemandActive, encrypted)));
}

#[test]
fn xrdp_high_128_bit_reaches_the_demand_active() {
    let port = lab_port("xrdp-rdp-only");
    let (method, frames, reached) = connect(port, mcs::method::ALL, false);
    assert_eq!(method, Some(Method::Rc4Bit128));
    assert_licensed_then_demand_active(&frames, &reached, true);
}

#[test]
fn xrdp_low_40_bit_reaches_the_demand_active() {
    // Offered 56-bit, xrdp answers 40-bit anyway (lab/OBSERVED.md): 56-bit keys have no lab server.
    let port = lab_port("xrdp-rdp-low");
    let (method, frames, reached) = connect(port, mcs::method::BIT_40, false);
    assert_eq!(method, Some(Method::Rc4Bit40));
    assert_licensed_then_demand_active(&frames, &reached, false);
}

#[test]
fn xrdp_fips_reaches_the_demand_active() {
    let port = lab_port("xrdp-rdp-fips");
    let (method, frames, reached) = connect(port, mcs::method::ALL, false);
    assert_eq!(method, Some(Method::Fips));
    assert_licensed_then_demand_active(&frames, &reached, true);
}

#[test]
fn freerdp_shadow_sec_rdp_reaches_the_demand_active_without_encryption() {
    // FreeRDP's server turns encryption off for loopback peers (lab/OBSERVED.md): level None, no
    // Security Exchange, licensing and the Demand Active in the clear.
    let port = lab_port("freerdp-rdp");
    let (method, frames, reached) = connect(port, mcs::method::ALL, false);
    assert_eq!(method, None);
    assert_licensed_then_demand_active(&frames, &reached, false);
}

#[test]
fn xrdp_drops_a_client_that_signs_with_the_salted_mac() {
    // What xfreerdp 2.11 meets (next test): FreeRDP signs with the salted MAC
    // (SEC_SECURE_CHECKSUM, 5.3.6.1.1) by default; xrdp verifies client MACs in the unsalted form
    // only and logs "MAC checksum error for non-FIPS PDU", so the first client PDU it checks ends
    // the connection. On xrdp-rdp-low, so that xrdp-rdp-only's log has only xfreerdp's errors.
    let port = lab_port("xrdp-rdp-low");
    let (method, frames, reached) = connect(port, mcs::method::BIT_40, true);
    assert_eq!(method, Some(Method::Rc4Bit40));
    assert!(
        matches!(reached, Reached::Ended(_)),
        "{frames:?} {reached:?}"
    );
    assert!(!frames.iter().any(|(f, _)| *f == ServerFrame::DemandActive));
}

/// xrdp in rdp-only mode with the real xfreerdp 2.11: it gets through the Security Exchange and is
/// logged off in licensing (ERRINFO_LOGOFF_BY_USER), and xrdp says why in its log: the MAC of
/// xfreerdp's first licensing PDU, salted as FreeRDP does by default, does not verify.
#[test]
fn xfreerdp_is_logged_off_by_xrdp_for_its_salted_mac() {
    let port = lab_port("xrdp-rdp-only");
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../..");
    let state: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(format!("{root}/lab/state/servers.json")).unwrap(),
    )
    .unwrap();
    let display = state["xvfb"]["display"].as_str().unwrap().to_string();
    let log_path = format!("{root}/lab/state/xrdp-rdp-only.log");
    let mac_errors = || {
        std::fs::read_to_string(&log_path)
            .unwrap_or_default()
            .matches("MAC checksum error for non-FIPS PDU")
            .count()
    };
    let before = mac_errors();
    let out = std::process::Command::new("timeout")
        .args([
            "15",
            "xfreerdp",
            &format!("/v:127.0.0.1:{port}"),
            "/sec:rdp",
        ])
        .args(["/cert:ignore", "/u:rdpdoctor", "/p:", "/log-level:INFO"])
        .env("DISPLAY", display)
        .output()
        .expect("xfreerdp runs (lab/install.sh installs freerdp2-x11)");
    let log =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    assert!(log.contains("ERRINFO_LOGOFF_BY_USER"), "{log}");
    // xrdp writes its log line before it ends the connection.
    assert!(mac_errors() > before, "no MAC error in {log_path}");
}
