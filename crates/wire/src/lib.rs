//! RDP wire formats the probes need, without any I/O: bytes in, values out.
//!
//! Encoding and decoding go through `ironrdp-pdu` where it fits; the few checks it does not make
//! (see each function) are done here, next to the spec section they come from.

pub mod bytes;
pub mod contain;
pub mod credssp;
pub mod kerberos;
pub mod mcs;
pub mod multitransport;
pub mod ntlm;
pub mod rdp_crypto;
pub mod rdpeudp;
pub mod session;
pub mod tpkt;
pub mod tsgu;
pub mod x224;
