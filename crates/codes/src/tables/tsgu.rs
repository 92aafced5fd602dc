//! RD Gateway result codes (MS-TSGU 2.2.6 "Error Codes"): the E_PROXY_* HRESULTs a gateway returns
//! in the tunnel, tunnel-authorization and channel responses (HTTP transport: MS-TSGU 2.2.10;
//! RPC transport: the TsProxy* methods of 3.1.4, whose return-value tables give each code's
//! meaning). MS-TSGU writes some codes as full HRESULTs (0x800759DA) and some only as their
//! HRESULT_CODE (0x59E6); each row keeps the spec's form and `explain` accepts the other one too
//! (FreeRDP logs `0x800759DD`, an rpc_fault carries `0x59DD`). A client treats a result as an error
//! only when it is a failure HRESULT (high bit set) or one of the HRESULT_CODE values listed here.
//! Names and values cross-checked against FreeRDP `libfreerdp/core/gateway/tsg.h`.

use crate::{code, CodeEntry, CodeRef, Family};

const SRC: &str = "MS-TSGU 2.2.6 (values), 3.1.4 (return-value tables); FreeRDP tsg.h";

const fn t(
    value: u32,
    name: &'static str,
    meaning: &'static str,
    see_also: &'static [CodeRef],
) -> CodeEntry {
    CodeEntry::new(Family::Tsgu, value, name, meaning, SRC).with_see_also(see_also)
}

const fn c(low: u32) -> CodeRef {
    code(Family::Gateway, 0x0300_0000 | low)
}

pub const TABLE: &[CodeEntry] = &[
    t(0x0000_04D4, "E_PROXY_CONNECTIONABORTED", "The gateway aborted the connection (returned by the receive pipe when the channel ends).", &[]),
    t(0x0000_59E6, "E_PROXY_MAXCONNECTIONSREACHED", "The gateway already carries its maximum number of connections, so it refuses the tunnel authorization (gateway event 203).", &[c(0x22)]),
    t(0x0000_59E8, "E_PROXY_NOTSUPPORTED", "The gateway does not support the request (for example a tunnel-authorization packet of a type it does not expect).", &[c(0x23)]),
    CodeEntry {
        note: "The gateway's session timeout policy (RD CAP timeout settings) ended the session; \
               the gateway logs event 307.",
        ..t(0x0000_59F6, "E_PROXY_SESSIONTIMEOUT", "The session reached the gateway's session timeout and was ended.", &[c(0x33)])
    },
    t(0x0000_59FA, "E_PROXY_REAUTH_AUTHN_FAILED", "Periodic re-authentication of the user failed, so the gateway ended the connection.", &[c(0x38)]),
    t(0x0000_59FB, "E_PROXY_REAUTH_CAP_FAILED", "Periodic re-authorization against the connection authorization policy (RD CAP) failed.", &[c(0x39)]),
    t(0x0000_59FC, "E_PROXY_REAUTH_RAP_FAILED", "Periodic re-authorization against the resource authorization policy (RD RAP) failed.", &[c(0x39)]),
    t(0x0000_59FD, "E_PROXY_SDR_NOT_SUPPORTED_BY_TS", "The session host does not support the gateway's silent reauthentication (statement of health / policy exchange).", &[]),
    t(0x0000_5A00, "E_PROXY_REAUTH_NAP_FAILED", "Periodic re-authorization against the health (NAP) policy failed.", &[c(0x41)]),
    t(0x8007_59D8, "E_PROXY_INTERNALERROR", "The gateway hit an unexpected error (while creating the tunnel or the channel).", &[]),
    CodeEntry {
        note: "The resource authorization policy (RD RAP) refusal, in the channel response: the \
               gateway logs event 301 (user not allowed to that computer) or 308 (the computer is \
               not in any policy's computer group). mstsc shows 0x300001B.",
        ..t(0x8007_59DA, "E_PROXY_RAP_ACCESSDENIED", "The gateway's policy blocks resolving or reaching the requested target computer (resource authorization policy).", &[c(0x1B)])
    },
    CodeEntry {
        note: "Returned to the tunnel authorization. MS-TSGU says only \"policy\"; that this is \
               the connection authorization policy (RD CAP) refusing the user or computer is \
               rdpdoctor's reading of where the gateway checks it (event 201 logs the reason). \
               mstsc's matching message is 0x300001C.",
        ..t(0x8007_59DB, "E_PROXY_NAP_ACCESSDENIED", "The gateway denied the client access because of policy when authorizing the tunnel (connection authorization policy).", &[c(0x1C)])
    },
    CodeEntry {
        note: "Sent in the channel response (HTTP transport) or as an rpc_fault 0x59DD (RPC \
               transport) when the gateway cannot reach the session host: wrong name in the .rdp \
               file, a name the gateway cannot resolve, or a firewall between gateway and host. \
               The gateway logs event 304 with the error. FreeRDP reports it with \
               ERRCONNECT_SECURITY_NEGO_CONNECT_FAILED (FreeRDP issue 5493).",
        ..t(0x8007_59DD, "E_PROXY_TS_CONNECTFAILED", "The gateway could not connect to any of the target server names the client asked for.", &[])
    },
    t(0x8007_59DF, "E_PROXY_ALREADYDISCONNECTED", "The tunnel or channel was already disconnected when the call was made.", &[]),
    t(0x8007_59E9, "E_PROXY_CAPABILITYMISMATCH", "The gateway requires a capability (consent-message signing) the client did not offer.", &[c(0x24)]),
    t(0x8007_59ED, "E_PROXY_QUARANTINE_ACCESSDENIED", "The gateway refused the connection because of its quarantine (health) policy.", &[c(0x27)]),
    CodeEntry {
        note: "The gateway has no usable TLS certificate bound (RD Gateway Manager > Properties > \
               SSL Certificate); the gateway logs event 306 (tunnel could not be created).",
        ..t(0x8007_59EE, "E_PROXY_NOCERTAVAILABLE", "The gateway cannot find a certificate to register for its TLS (SCHANNEL) authentication service.", &[c(0x28)])
    },
    t(0x8007_59F7, "E_PROXY_COOKIE_BADPACKET", "The tunnel request carried no or a malformed authentication cookie (pluggable authentication).", &[c(0x34)]),
    t(0x8007_59F8, "E_PROXY_COOKIE_AUTHENTICATION_ACCESS_DENIED", "The gateway is in pluggable-authentication mode and the cookie's user may not connect through it.", &[c(0x35)]),
    CodeEntry {
        note: "The gateway logs event 305 (authentication method not supported). On the HTTP \
               transport a client usually meets this earlier, as a 401 offering only methods it \
               lacks (`WWW-Authenticate`).",
        ..t(0x8007_59F9, "E_PROXY_UNSUPPORTED_AUTHENTICATION_METHOD", "The gateway is configured for another authentication method (pluggable authentication, smart card) than the client used.", &[c(0x37)])
    },
];
