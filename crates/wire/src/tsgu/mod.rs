//! The RD Gateway protocol's HTTP transport (MS-TSGU), without I/O: the HTTP/1.1 requests and
//! answers of its two channels and their logon headers ([`http`]), WebSocket framing for the
//! WebSocket variant of the transport ([`websocket`], RFC 6455), and the tunnel packets
//! ([`packet`], MS-TSGU 2.2.10). `rdpdoctor-probe`'s gateway client drives these over TLS.
//!
//! # Why not `ironrdp-mstsgu`
//!
//! The issue asked to build on `ironrdp-mstsgu` (0.1.0, the version that fits this workspace's
//! IronRDP and sspi pins) and to say where this code departs from it. It departs entirely, for
//! these reasons, each checked against its source:
//! - Its packet types and codecs (`proto.rs`: `HandshakeRespPkt`, `TunnelRespPkt`,
//!   `ChannelResp`...) are `pub(crate)`: nothing below its `GwClient` can be reused, so using it
//!   means using the whole client.
//! - That client reads a packet's length field and subtracts the header size without a check
//!   (`read_packet`, lib.rs:668): a gateway that sends a length below 8 panics it in debug builds
//!   and underflows in release ones. [`packet::PacketReader`] refuses such a length.
//! - It has no deadline of its own: a gateway that goes silent mid-exchange hangs it. Here every
//!   read is driven by the caller, which bounds each phase.
//! - It does TLS through `ironrdp-tls` with `DangerouslyAcceptInvalidCertificate` and sends the
//!   password over whatever answered; its TLS and certificate errors are strings. rdpdoctor's
//!   gateway client uses OpenSSL with the same certificate checks as for a session host, and
//!   withholds credentials from a gateway whose certificate nothing proves.
//! - It reads `HTTPS_PROXY` from the environment on its own; rdpdoctor reads no proxy setting
//!   it was not given.
//! - It reports neither the logon methods the gateway offered nor the transport it used, and a
//!   wrong password or a gateway refusing NTLM both end in "ASN1 DER error: TruncatedData" (it
//!   hands the bare `Negotiate` of the next 401 to SSPI as a token). A diagnostic client must
//!   tell those apart: here the 401s are parsed ([`http::ResponseHead::challenges`]) and the
//!   caller knows which logon leg got which answer.
//! - It pulls about 30 crates (hyper, reqwest through sspi's network client, tungstenite,
//!   rustls and native-tls). This module needs `httparse` (the HTTP/1.1 head parser `hyper`
//!   itself uses) and `base64`; `sha1` was already here.
//!
//! What is kept from it is the protocol knowledge any client shares (packet layouts from
//! MS-TSGU, mstsc's request headers), written here from the specification.

pub mod http;
pub mod packet;
pub mod websocket;

#[cfg(test)]
mod tests;
