//! ICMP errors read unprivileged, through a socket's error queue (Linux IP_RECVERR /
//! IPV6_RECVERR, linux/errqueue.h), and the IP TTL / hop limit of a socket: what the UDP
//! transport probe and the TTL walk need, with no raw socket.
//!
//! What the kernel queues (and what it does not): a UDP socket gets every ICMP error that
//! answers one of its datagrams; a TCP socket gets them while it is connecting (SYN_SENT), but
//! not once it is connected: an ICMP error for an open TCP connection only sets the socket's
//! error (with IP_RECVERR on, at once; without it, only when the connection times out), so its
//! sender is not known. The direct route (`route/direct.rs`) reads the same queue for its connects.

use rdpdoctor_observations::IcmpError;
use std::net::{IpAddr, SocketAddr};

/// An ICMP error taken off the queue.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Queued {
    pub from: Option<IpAddr>,
    /// 4 for ICMP, 6 for ICMPv6.
    pub ip_version: u8,
    pub icmp_type: u8,
    pub code: u8,
    /// The socket's own address, to tell this machine's messages from a router's.
    pub local: Option<IpAddr>,
}

impl Queued {
    /// ICMP time exceeded in transit (RFC 792 type 11; ICMPv6, RFC 4443, type 3).
    pub fn time_exceeded(&self) -> bool {
        (self.ip_version == 4 && self.icmp_type == 11)
            || (self.ip_version == 6 && self.icmp_type == 3)
    }

    /// The observation form, for a datagram or connect to `address` that failed with `error`.
    pub fn to_icmp_error(&self, address: SocketAddr, error: &str) -> IcmpError {
        IcmpError {
            address,
            from: self.from,
            local: self.local,
            ip_version: self.ip_version,
            icmp_type: self.icmp_type,
            code: self.code,
            error: error.to_string(),
        }
    }
}

#[cfg(target_os = "linux")]
mod sys {
    use super::Queued;
    use nix::sys::socket::{
        getsockname, recvmsg, setsockopt, sockopt, ControlMessageOwned, MsgFlags, SockaddrLike,
        SockaddrStorage,
    };
    use std::io::IoSliceMut;
    use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
    use std::os::fd::{AsFd, AsRawFd};

    /// sock_extended_err.ee_origin values (linux/errqueue.h).
    const SO_EE_ORIGIN_ICMP: u8 = 2;
    const SO_EE_ORIGIN_ICMP6: u8 = 3;

    /// Asks for ICMP errors on the error queue (and, for a connected TCP socket, for every ICMP
    /// error to fail the connection at once).
    pub(crate) fn enable<F: AsFd>(socket: &F, v6: bool) -> bool {
        let on = if v6 {
            setsockopt(socket, sockopt::Ipv6RecvErr, &true)
        } else {
            setsockopt(socket, sockopt::Ipv4RecvErr, &true)
        };
        on.is_ok()
    }

    /// Back to ordinary error reporting (a connected TCP socket whose connect was watched).
    pub(crate) fn disable<F: AsFd>(socket: &F, v6: bool) {
        let _ = if v6 {
            setsockopt(socket, sockopt::Ipv6RecvErr, &false)
        } else {
            setsockopt(socket, sockopt::Ipv4RecvErr, &false)
        };
    }

    /// Sets the TTL (IPv4) or unicast hop limit (IPv6) of the packets the socket sends.
    pub(crate) fn set_ttl<F: AsFd>(socket: &F, v6: bool, ttl: u8) -> bool {
        let ttl = i32::from(ttl);
        let set = if v6 {
            setsockopt(socket, sockopt::Ipv6Ttl, &ttl)
        } else {
            setsockopt(socket, sockopt::Ipv4Ttl, &ttl)
        };
        set.is_ok()
    }

    /// The socket's current TTL or hop limit.
    pub(crate) fn ttl<F: AsFd>(socket: &F, v6: bool) -> Option<u8> {
        let got = if v6 {
            nix::sys::socket::getsockopt(socket, sockopt::Ipv6Ttl)
        } else {
            nix::sys::socket::getsockopt(socket, sockopt::Ipv4Ttl)
        };
        got.ok().and_then(|t| u8::try_from(t).ok())
    }

    /// The next ICMP error on the queue, if one is there (never waits).
    pub(crate) fn take<F: AsFd>(socket: &F) -> Option<Queued> {
        let fd = socket.as_fd().as_raw_fd();
        let mut data = [0u8; 512];
        let mut iov = [IoSliceMut::new(&mut data)];
        let mut cmsg = nix::cmsg_space!(nix::libc::sock_extended_err, nix::libc::sockaddr_in6);
        let msg = recvmsg::<()>(
            fd,
            &mut iov,
            Some(&mut cmsg),
            MsgFlags::MSG_ERRQUEUE | MsgFlags::MSG_DONTWAIT,
        )
        .ok()?;
        let local = getsockname::<SockaddrStorage>(fd).ok().and_then(|a| {
            a.as_sockaddr_in()
                .map(|v4| IpAddr::V4(v4.ip()))
                .or_else(|| a.as_sockaddr_in6().map(|v6| IpAddr::V6(v6.ip())))
                .filter(|_| a.family().is_some())
        });
        for c in msg.cmsgs().ok()? {
            let (err, from, ip_version) = match c {
                ControlMessageOwned::Ipv4RecvErr(e, from) if e.ee_origin == SO_EE_ORIGIN_ICMP => {
                    let from =
                        from.map(|a| IpAddr::V4(Ipv4Addr::from(u32::from_be(a.sin_addr.s_addr))));
                    (e, from, 4)
                }
                ControlMessageOwned::Ipv6RecvErr(e, from) if e.ee_origin == SO_EE_ORIGIN_ICMP6 => {
                    let from = from.map(|a| IpAddr::V6(Ipv6Addr::from(a.sin6_addr.s6_addr)));
                    (e, from, 6)
                }
                _ => continue,
            };
            return Some(Queued {
                from,
                ip_version,
                icmp_type: err.ee_type,
                code: err.ee_code,
                local,
            });
        }
        None
    }
}

#[cfg(not(target_os = "linux"))]
mod sys {
    //! Elsewhere there is no error queue: ICMP shows only as the error it causes.
    use super::Queued;

    pub(crate) fn enable<F>(_: &F, _: bool) -> bool {
        false
    }
    pub(crate) fn disable<F>(_: &F, _: bool) {}
    pub(crate) fn set_ttl<F>(_: &F, _: bool, _: u8) -> bool {
        false
    }
    pub(crate) fn ttl<F>(_: &F, _: bool) -> Option<u8> {
        None
    }
    pub(crate) fn take<F>(_: &F) -> Option<Queued> {
        None
    }
}

pub(crate) use sys::{disable, enable, set_ttl, take, ttl};

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;

    #[test]
    fn a_closed_udp_port_queues_port_unreachable_from_this_machine() {
        let closed = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let port = closed.local_addr().unwrap().port();
        drop(closed);
        let s = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        assert!(enable(&s, false));
        s.connect(("127.0.0.1", port)).unwrap();
        s.set_read_timeout(Some(std::time::Duration::from_secs(2)))
            .unwrap();
        s.send(b"x").unwrap();
        let mut buf = [0u8; 16];
        let e = s.recv(&mut buf).unwrap_err();
        assert_eq!(e.kind(), std::io::ErrorKind::ConnectionRefused);
        let q = take(&s).unwrap();
        assert_eq!((q.ip_version, q.icmp_type, q.code), (4, 3, 3));
        assert_eq!(q.from, Some("127.0.0.1".parse().unwrap()));
        assert!(!q.time_exceeded());
        assert!(take(&s).is_none(), "one error, taken once");
    }

    #[test]
    fn ttl_is_set_and_read_back() {
        let s = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        assert!(set_ttl(&s, false, 3));
        assert_eq!(ttl(&s, false), Some(3));
        let s6 = std::net::UdpSocket::bind("[::1]:0");
        if let Ok(s6) = s6 {
            assert!(set_ttl(&s6, true, 7));
            assert_eq!(ttl(&s6, true), Some(7));
        }
    }
}
