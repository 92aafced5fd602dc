//! The lab's RDPEUDP responder (lab/udp_responder.py, listed in lab/state/udp.json) and tshark
//! (Debian's Wireshark 4.0) decoding, live, what passes the loopback interface on a set of UDP
//! ports (and ICMP), with those ports decoded as rdpudp: the real decoder the stand-in and
//! rdpdoctor's UDP probe are held against (udp_lab.rs, udp_probe.rs).

use super::common::workspace_root;
use serde_json::Value;
use std::net::UdpSocket;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// lab/state/udp.json: the responder's ports by mode, and its events log.
pub fn udp_state() -> Value {
    let path = std::env::var_os("RDPDOCTOR_UDP_LAB_STATE")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join("lab/state/udp.json"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "the lab's UDP responder is not running ({}: {e}). Start the lab with `lab/start.sh` (./test.sh does this for you)",
            path.display()
        )
    });
    serde_json::from_str(&text).expect("udp.json is JSON")
}

/// The UDP port of the responder in `mode` (answer, silent, badversion, malformed, closed).
pub fn port(state: &Value, mode: &str) -> u16 {
    state["responders"]
        .as_array()
        .and_then(|a| a.iter().find(|r| r["mode"] == mode))
        .and_then(|r| r["port"].as_u64())
        .and_then(|p| u16::try_from(p).ok())
        .unwrap_or_else(|| panic!("udp.json lists no {mode} responder"))
}

/// The columns udp_lab.rs and udp_probe.rs have tshark print, one row a packet.
pub const FIELDS: [&str; 11] = [
    "udp.srcport",
    "udp.dstport",
    "rdpudp.snsourceack",
    "rdpudp.flags",
    "rdpudp.initialsequencenumber",
    "rdpudp.upstreammtu",
    "rdpudp.synex.version",
    "_ws.malformed",
    "icmp.type",
    "icmp.code",
    "udp.length",
];

pub struct Capture {
    child: Child,
    rows: std::sync::mpsc::Receiver<Vec<String>>,
    /// Columns of `udp.dstport` and `udp.length` in `fields` (the marker datagram's row).
    dst: usize,
    length: usize,
}

impl Capture {
    /// Starts tshark printing one row a packet, tab-separated [`FIELDS`], and waits until it
    /// decodes a 1-byte marker datagram sent to `marker_port`, so nothing sent afterwards can be
    /// missed.
    pub fn start(ports: &[u16], marker_port: u16) -> Capture {
        let fields = FIELDS;
        let column = |name: &str| {
            fields
                .iter()
                .position(|f| *f == name)
                .unwrap_or_else(|| panic!("FIELDS must include {name}"))
        };
        let (dst, length) = (column("udp.dstport"), column("udp.length"));
        let (first, last) = (
            ports.iter().min().expect("ports"),
            ports.iter().max().expect("ports"),
        );
        let filter = format!("(udp portrange {first}-{last}) or (icmp and host 127.0.0.1)");
        let mut cmd = Command::new("tshark");
        cmd.args(["-i", "lo", "-l", "-f", &filter]);
        for p in ports {
            cmd.args(["-d", &format!("udp.port=={p},rdpudp")]);
        }
        cmd.args(["-T", "fields", "-E", "separator=/t"]);
        for f in fields {
            cmd.args(["-e", f]);
        }
        let mut child = cmd
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("tshark runs (lab/install.sh installs it)");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, rows) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            use std::io::BufRead;
            for line in std::io::BufReader::new(stdout)
                .lines()
                .map_while(Result::ok)
            {
                let _ = tx.send(line.split('\t').map(str::to_string).collect());
            }
        });
        let capture = Capture {
            child,
            rows,
            dst,
            length,
        };
        let deadline = Instant::now() + Duration::from_secs(20);
        let marker = UdpSocket::bind("127.0.0.1:0").expect("bind");
        loop {
            assert!(
                Instant::now() < deadline,
                "tshark decoded no marker datagram within 20 s"
            );
            marker
                .send_to(&[0], ("127.0.0.1", marker_port))
                .expect("marker");
            if let Ok(row) = capture.rows.recv_timeout(Duration::from_millis(300)) {
                if capture.is_marker(&row, Some(marker_port)) {
                    while capture
                        .rows
                        .recv_timeout(Duration::from_millis(100))
                        .is_ok()
                    {}
                    return capture;
                }
            }
        }
    }

    /// A 1-byte datagram (UDP length 9), to `port` when given.
    fn is_marker(&self, row: &[String], port: Option<u16>) -> bool {
        row.get(self.length).map(String::as_str) == Some("9")
            && port.is_none_or(|p| row.get(self.dst) == Some(&p.to_string()))
    }

    /// The rows decoded since start (markers left out), once tshark has had time to print them.
    pub fn stop(mut self) -> Vec<Vec<String>> {
        let mut rows = Vec::new();
        while let Ok(row) = self.rows.recv_timeout(Duration::from_millis(700)) {
            rows.push(row);
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        rows.retain(|r| !self.is_marker(r, None));
        rows
    }
}
