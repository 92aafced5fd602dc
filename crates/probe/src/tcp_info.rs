//! The kernel's `struct tcp_info` (linux/tcp.h, what getsockopt(TCP_INFO) returns) for a probe
//! connection: round trip and retransmissions, the path-quality facts of every check.
//!
//! It is read through NETLINK_SOCK_DIAG (inet_diag, linux/inet_diag.h) with the connection's
//! four-tuple, which returns the same structure as an INET_DIAG_INFO attribute: unlike
//! getsockopt on a raw descriptor, that needs no unsafe code, and the workspace forbids it. The
//! request and the answer are built and parsed here as plain bytes (sans-IO), so malformed
//! answers are tested without a kernel.

use rdpdoctor_observations::TcpInfoSample;
use rdpdoctor_wire::bytes::{ne_u16_at, ne_u32_at, ne_u64_at};
use std::net::{IpAddr, SocketAddr};

/// What keeps a sampled socket open: a second descriptor of it.
#[cfg(target_os = "linux")]
pub(crate) type Keep = Option<std::os::fd::OwnedFd>;
#[cfg(not(target_os = "linux"))]
pub(crate) type Keep = ();

/// Keeps a connection's socket open until it is sampled: the sample is taken when the probe is
/// done with the connection, after the stream itself may have been dropped. The direct route
/// makes one for each TCP connection it dials (`route::direct`); a route without its own TCP
/// connection to the server has none.
pub(crate) struct Sampler {
    local: SocketAddr,
    remote: SocketAddr,
    _keep: Keep,
    /// The latest sample taken while the connection was still open.
    last: Option<TcpInfoSample>,
}

impl Sampler {
    /// The sampler of the connection `local` -> `remote`, whose socket `keep` holds open.
    pub(crate) fn new(local: SocketAddr, remote: SocketAddr, keep: Keep) -> Sampler {
        Sampler {
            local,
            remote,
            _keep: keep,
            last: None,
        }
    }

    /// The connection's two ends, for a query of its statistics while it is in use.
    pub(crate) fn endpoints(&self) -> (SocketAddr, SocketAddr) {
        (self.local, self.remote)
    }

    /// Reads the statistics mid-connection. A connection the server resets leaves the kernel's
    /// socket table (inet_diag answers ENOENT) even while the socket is held open here, so the
    /// final sample can be missing; this one then stands for it.
    pub(crate) fn checkpoint(&mut self) {
        if let Some(sample) = query(self.local, self.remote) {
            self.last = Some(sample);
        }
    }

    /// Reads the statistics now, then lets the socket go; the last checkpoint if the kernel no
    /// longer knows the connection.
    pub(crate) fn sample(self) -> Option<TcpInfoSample> {
        query(self.local, self.remote).or(self.last)
    }
}

/// One sample of the connection `local` -> `remote`, if the kernel knows it.
#[cfg(target_os = "linux")]
pub(crate) fn query(local: SocketAddr, remote: SocketAddr) -> Option<TcpInfoSample> {
    use nix::sys::socket::{
        recv, send, socket, AddressFamily, MsgFlags, SockFlag, SockProtocol, SockType,
    };
    use std::os::fd::AsRawFd;
    let fd = socket(
        AddressFamily::Netlink,
        SockType::Raw,
        SockFlag::SOCK_CLOEXEC,
        SockProtocol::NetlinkSockDiag,
    )
    .ok()?;
    let request = request(local, remote)?;
    send(fd.as_raw_fd(), &request, MsgFlags::empty()).ok()?;
    // The kernel answers an exact lookup inside send(): the answer is queued already.
    let mut buf = vec![0u8; 8192];
    let n = recv(fd.as_raw_fd(), &mut buf, MsgFlags::MSG_DONTWAIT).ok()?;
    parse_answer(buf.get(..n)?, remote)
}

#[cfg(not(target_os = "linux"))]
pub(crate) fn query(_local: SocketAddr, _remote: SocketAddr) -> Option<TcpInfoSample> {
    None
}

const SOCK_DIAG_BY_FAMILY: u16 = 20;
const NLM_F_REQUEST: u16 = 1;
const NLMSG_ERROR: u16 = 2;
const INET_DIAG_INFO: u16 = 2;
const AF_INET: u8 = 2;
const AF_INET6: u8 = 10;
const IPPROTO_TCP: u8 = 6;
/// nlmsghdr (16 bytes) + inet_diag_req_v2 (56 bytes).
const REQUEST_LEN: usize = 72;
/// inet_diag_msg: family, state, timer, retrans, inet_diag_sockid (48), expires, rqueue,
/// wqueue, uid, inode.
const DIAG_MSG_LEN: usize = 72;

/// An exact-lookup inet_diag_req_v2 for the TCP socket `local` -> `remote`, asking for
/// INET_DIAG_INFO. Both addresses must be of one family.
pub(crate) fn request(local: SocketAddr, remote: SocketAddr) -> Option<Vec<u8>> {
    let family = match (local.ip(), remote.ip()) {
        (IpAddr::V4(_), IpAddr::V4(_)) => AF_INET,
        (IpAddr::V6(_), IpAddr::V6(_)) => AF_INET6,
        _ => return None,
    };
    let mut r = Vec::with_capacity(REQUEST_LEN);
    // struct nlmsghdr (host byte order)
    r.extend_from_slice(&(REQUEST_LEN as u32).to_ne_bytes());
    r.extend_from_slice(&SOCK_DIAG_BY_FAMILY.to_ne_bytes());
    r.extend_from_slice(&NLM_F_REQUEST.to_ne_bytes());
    r.extend_from_slice(&1u32.to_ne_bytes()); // sequence
    r.extend_from_slice(&0u32.to_ne_bytes()); // port id: the kernel fills it in
                                              // struct inet_diag_req_v2
    r.push(family);
    r.push(IPPROTO_TCP);
    r.push(1 << (INET_DIAG_INFO - 1)); // idiag_ext
    r.push(0);
    r.extend_from_slice(&u32::MAX.to_ne_bytes()); // every TCP state
                                                  // struct inet_diag_sockid: ports and addresses in network byte order; src is our side
    r.extend_from_slice(&local.port().to_be_bytes());
    r.extend_from_slice(&remote.port().to_be_bytes());
    for ip in [local.ip(), remote.ip()] {
        let mut a = [0u8; 16];
        match ip {
            IpAddr::V4(v4) => a[..4].copy_from_slice(&v4.octets()),
            IpAddr::V6(v6) => a.copy_from_slice(&v6.octets()),
        }
        r.extend_from_slice(&a);
    }
    r.extend_from_slice(&0u32.to_ne_bytes()); // any interface
    r.extend_from_slice(&u32::MAX.to_ne_bytes()); // INET_DIAG_NOCOOKIE
    r.extend_from_slice(&u32::MAX.to_ne_bytes());
    Some(r)
}

/// Finds the INET_DIAG_INFO attribute in a sock_diag answer and reads the fields we use.
pub(crate) fn parse_answer(answer: &[u8], remote: SocketAddr) -> Option<TcpInfoSample> {
    let len = ne_u32_at(answer, 0)? as usize;
    let kind = ne_u16_at(answer, 4)?;
    if kind == NLMSG_ERROR || kind != SOCK_DIAG_BY_FAMILY || len > answer.len() || len < 16 {
        return None;
    }
    let msg = answer.get(16..len)?;
    let mut at = DIAG_MSG_LEN;
    // struct rtattr: rta_len (header included), rta_type; payloads padded to 4 bytes
    while at + 4 <= msg.len() {
        let rta_len = usize::from(ne_u16_at(msg, at)?);
        let rta_type = ne_u16_at(msg, at + 2)?;
        if rta_len < 4 || at + rta_len > msg.len() {
            return None;
        }
        if rta_type == INET_DIAG_INFO {
            return parse_tcp_info(&msg[at + 4..at + rta_len], remote);
        }
        at += (rta_len + 3) & !3;
    }
    None
}

/// struct tcp_info field offsets (linux/tcp.h); the structure grew over kernel versions, so
/// later fields are optional.
pub(crate) fn parse_tcp_info(info: &[u8], remote: SocketAddr) -> Option<TcpInfoSample> {
    Some(TcpInfoSample {
        remote,
        snd_mss: ne_u32_at(info, 16)?,
        rcv_mss: ne_u32_at(info, 20)?,
        rtt_us: ne_u32_at(info, 68)?,
        rttvar_us: ne_u32_at(info, 72)?,
        total_retrans: ne_u32_at(info, 100)?,
        segs_out: ne_u32_at(info, 136),
        min_rtt_us: ne_u32_at(info, 148),
        bytes_sent: ne_u64_at(info, 200),
        bytes_retrans: ne_u64_at(info, 208),
        data_segs_out: ne_u32_at(info, 156),
        dsack_dups: ne_u32_at(info, 216),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(s: &str) -> SocketAddr {
        s.parse().unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    #[test]
    fn request_layout_matches_inet_diag_req_v2() {
        let r = request(addr("198.18.1.2:40000"), addr("198.18.2.10:3389")).unwrap_or_default();
        assert_eq!(r.len(), REQUEST_LEN);
        assert_eq!(ne_u32_at(&r, 0), Some(72));
        assert_eq!(ne_u16_at(&r, 4), Some(SOCK_DIAG_BY_FAMILY));
        assert_eq!(&r[16..20], &[AF_INET, IPPROTO_TCP, 2, 0]);
        assert_eq!(&r[24..28], &[0x9c, 0x40, 0x0d, 0x3d]); // 40000, 3389 big-endian
        assert_eq!(&r[28..32], &[198, 18, 1, 2]);
        assert_eq!(&r[44..48], &[198, 18, 2, 10]);
        assert!(request(addr("198.18.1.2:1"), addr("[::1]:2")).is_none());
    }

    #[test]
    fn parses_info_and_refuses_truncated_answers() {
        let remote = addr("198.18.2.10:3389");
        let mut info = vec![0u8; 232];
        info[16..20].copy_from_slice(&1448u32.to_ne_bytes());
        info[68..72].copy_from_slice(&2500u32.to_ne_bytes());
        info[100..104].copy_from_slice(&3u32.to_ne_bytes());
        info[148..152].copy_from_slice(&1200u32.to_ne_bytes());
        info[208..216].copy_from_slice(&99u64.to_ne_bytes());
        info[156..160].copy_from_slice(&41u32.to_ne_bytes());
        info[216..220].copy_from_slice(&2u32.to_ne_bytes());
        let mut msg = vec![0u8; DIAG_MSG_LEN];
        // an unrelated attribute first (INET_DIAG_MEMINFO, 16 bytes)
        msg.extend_from_slice(&20u16.to_ne_bytes());
        msg.extend_from_slice(&1u16.to_ne_bytes());
        msg.extend_from_slice(&[0u8; 16]);
        msg.extend_from_slice(&((info.len() + 4) as u16).to_ne_bytes());
        msg.extend_from_slice(&INET_DIAG_INFO.to_ne_bytes());
        msg.extend_from_slice(&info);
        let mut answer = Vec::new();
        answer.extend_from_slice(&((msg.len() + 16) as u32).to_ne_bytes());
        answer.extend_from_slice(&SOCK_DIAG_BY_FAMILY.to_ne_bytes());
        answer.extend_from_slice(&[0u8; 10]);
        answer.extend_from_slice(&msg);
        let s = parse_answer(&answer, remote).unwrap_or_else(|| panic!("no sample"));
        assert_eq!((s.snd_mss, s.rtt_us, s.total_retrans), (1448, 2500, 3));
        assert_eq!((s.min_rtt_us, s.bytes_retrans), (Some(1200), Some(99)));
        assert_eq!((s.data_segs_out, s.dsack_dups), (Some(41), Some(2)));
        assert_eq!((s.lost_segments(), s.data_segments()), (1, 41));
        for cut in 0..answer.len() {
            // Never panics; a cut inside the attribute loses the sample.
            let _ = parse_answer(&answer[..cut], remote);
        }
        let mut short = answer.clone();
        short.truncate(16 + DIAG_MSG_LEN + 24 + 4 + 60);
        let len = short.len() as u32;
        short[0..4].copy_from_slice(&len.to_ne_bytes());
        assert!(parse_answer(&short, remote).is_none());
    }
}
