//! mstsc's RD Gateway disconnect reasons: the `discReason` values from 0x03000001 up that mstsc
//! shows as "Error code: 0x300001B" when the gateway leg fails (mRemoteNG and RDCMan print them in
//! decimal: 50331675). They are part of mstsc's disconnect-reason numbering, but no Microsoft
//! header names them: Microsoft publishes only the message text the client shows
//! (MsTscAx `GetErrorDescription`, collected in Microsoft's TechNet wiki article 37870 "Remote
//! Desktop Client troubleshooting: disconnect codes and reasons"). The meanings below paraphrase
//! that text; the `RDG_*` names are rdpdoctor's labels so a code can be typed by name, and every
//! row says so in its note. Values were checked against two independent copies of the message
//! table (NETworkManager's and an mstsc wrapper's).
//!
//! The gateway's own wire codes (E_PROXY_*) are the `tsgu` family; `see_also` links a client code
//! to the wire code with the same meaning where the two texts describe the same condition.

use crate::{code, CodeEntry, CodeRef, Family};

const SRC: &str = "mstsc message text for the discReason (MsTscAx GetErrorDescription; Microsoft TechNet wiki 37870 \"Remote Desktop Client troubleshooting: disconnect codes and reasons\")";
const LABEL: &str = "Microsoft publishes no symbolic name for this code, only mstsc's message; \
                     the RDG_ name is rdpdoctor's label.";

const fn g(
    low: u32,
    name: &'static str,
    meaning: &'static str,
    see_also: &'static [CodeRef],
) -> CodeEntry {
    CodeEntry {
        note: LABEL,
        ..CodeEntry::new(Family::Gateway, 0x0300_0000 | low, name, meaning, SRC)
            .with_see_also(see_also)
    }
}

const fn p(value: u32) -> CodeRef {
    code(Family::Tsgu, value)
}

pub const TABLE: &[CodeEntry] = &[
    g(0x01, "RDG_BAD_CREDENTIALS", "The RD Gateway did not accept the user name or password.", &[]),
    g(0x02, "RDG_CRL_CHECK_FAILED", "The client could not check the revocation list of the RD Gateway's certificate.", &[]),
    g(0x03, "RDG_CERT_UNTRUSTED", "The RD Gateway's TLS certificate does not match the gateway name, has expired or been revoked, or chains to a root the client does not trust.", &[]),
    g(0x04, "RDG_CERT_REVOKED", "The certification authority revoked the RD Gateway's TLS certificate.", &[]),
    g(0x05, "RDG_IDENTITY_UNVERIFIED", "The client cannot verify the RD Gateway's identity (its certificate does not verify), so it refuses to connect.", &[]),
    g(0x06, "RDG_CERT_NAME_MISMATCH", "The RD Gateway name the client asked for is not the subject name of the gateway's certificate.", &[]),
    g(0x07, "RDG_CERT_EXPIRED", "The RD Gateway's TLS certificate has expired or been revoked.", &[]),
    CodeEntry {
        note: "Microsoft publishes no symbolic name for this code, only mstsc's message; the RDG_ \
               name is rdpdoctor's label. The message blames the computer behind the gateway; \
               which gateway result produces it is not documented, so read the gateway's event \
               log (304: could not connect to the resource) before guessing.",
        ..g(0x08, "RDG_REMOTE_ERROR", "The connection through the RD Gateway failed because of an error on the remote computer (the session host behind the gateway).", &[])
    },
    g(0x09, "RDG_SEND_FAILED", "Sending data to the RD Gateway failed: the gateway is unavailable or the network connection dropped.", &[]),
    g(0x0A, "RDG_RECEIVE_FAILED", "Receiving data from the RD Gateway failed: the gateway is unavailable or the network connection dropped.", &[]),
    g(0x0B, "RDG_ALTERNATE_LOGON_REQUIRED", "The RD Gateway requires another logon method than the one used.", &[]),
    g(0x0C, "RDG_UNREACHABLE", "The RD Gateway's address cannot be reached or is wrong.", &[]),
    g(0x0D, "RDG_TEMPORARILY_UNAVAILABLE", "The RD Gateway is temporarily unavailable.", &[]),
    g(0x0E, "RDG_CLIENT_COMPONENT_MISSING", "A Remote Desktop client component is missing or has the wrong version.", &[]),
    g(0x0F, "RDG_LOW_RESOURCES", "The RD Gateway is low on server resources and temporarily unavailable.", &[]),
    g(0x10, "RDG_BAD_RPCRT4", "The client found a wrong version of rpcrt4.dll (the RPC-over-HTTP transport).", &[]),
    g(0x11, "RDG_NO_SMARTCARD_SERVICE", "No smart card service is installed on the client.", &[]),
    g(0x12, "RDG_SMARTCARD_REMOVED", "The smart card was removed during the gateway connection.", &[]),
    g(0x13, "RDG_NO_SMARTCARD", "The gateway logon needs a smart card and none is available.", &[]),
    g(0x14, "RDG_SMARTCARD_REMOVED_REINSERT", "The smart card was removed; reinsert it and connect again.", &[]),
    g(0x15, "RDG_BAD_USER_OR_PASSWORD", "The user name or password is not valid for the RD Gateway.", &[]),
    g(0x17, "RDG_SECURITY_PACKAGE_ERROR", "A security package (SSPI) error occurred in the gateway transport.", &[]),
    g(0x18, "RDG_SERVER_ENDED", "The RD Gateway ended the connection.", &[]),
    g(0x19, "RDG_ADMIN_ENDED", "An RD Gateway administrator ended the connection (gateway event 202).", &[]),
    g(0x1A, "RDG_CREDENTIALS_REJECTED", "The RD Gateway rejected the credentials (user name, domain and password), or did not recognize the smart card.", &[]),
    CodeEntry {
        note: "Microsoft publishes no symbolic name for this code, only mstsc's message; the RDG_ \
               name is rdpdoctor's label. This is the resource authorization policy (RD RAP) \
               refusal: the gateway logs event 301 (or 308 when the resource, not the user, fails \
               the policy). A RAP that lists only FQDNs refuses a NetBIOS name or an address.",
        ..g(0x1B, "RDG_RESOURCE_NOT_AUTHORIZED", "The user is not allowed to reach this computer through the RD Gateway (resource authorization policy), or the computer was named in a form the policy does not list (NetBIOS name where an FQDN or address is expected).", &[p(0x8007_59DA)])
    },
    CodeEntry {
        note: "Microsoft publishes no symbolic name for this code, only mstsc's message; the RDG_ \
               name is rdpdoctor's label. This is the connection authorization policy (RD CAP) \
               refusal: the gateway logs event 201 with the reason.",
        ..g(0x1C, "RDG_CONNECTION_NOT_AUTHORIZED", "The user or the client computer is not allowed to use the RD Gateway (connection authorization policy), or the authentication method does not match the policy (for example a password where a smart card is required).", &[p(0x8007_59DB)])
    },
    g(0x1F, "RDG_ACCESS_RESTRICTED", "The network administrator has restricted access to this RD Gateway.", &[]),
    g(0x20, "RDG_PROXY_AUTH_REQUIRED", "A web proxy between the client and the RD Gateway requires authentication.", &[]),
    g(0x21, "RDG_PASSWORD_EXPIRED", "The password has expired or must be changed before the RD Gateway accepts it.", &[]),
    g(0x22, "RDG_MAX_CONNECTIONS", "The RD Gateway has reached its maximum number of connections (gateway event 203).", &[p(0x59E6)]),
    g(0x23, "RDG_REQUEST_NOT_SUPPORTED", "The RD Gateway does not support the client's request.", &[p(0x59E8)]),
    g(0x24, "RDG_CAPABILITY_UNSUPPORTED", "The client does not support a capability the RD Gateway requires.", &[p(0x8007_59E9)]),
    g(0x25, "RDG_INCOMPATIBLE", "The RD Gateway and the client are incompatible.", &[]),
    g(0x26, "RDG_SMARTCARD_CREDENTIALS_INVALID", "The smart card credentials (PIN or password) are not valid.", &[]),
    g(0x27, "RDG_NAP_FAILED", "The client did not pass the Network Access Protection (health) requirements.", &[p(0x8007_59ED)]),
    g(0x28, "RDG_NO_CERTIFICATE", "No certificate is configured on the RD Gateway.", &[p(0x8007_59EE)]),
    g(0x29, "RDG_NOT_TRUSTED_BY_POLICY", "Local policy on the client does not allow this RD Gateway (it is not in the trusted gateway list).", &[]),
    g(0x2A, "RDG_NAP_CERT_CHECK_FAILED", "A health check of the RD Gateway's certificate failed: name mismatch, expired or revoked, untrusted root, key not usable for encryption, or revocation list unreachable.", &[]),
    g(0x2B, "RDG_PASSWORD_REQUIRED", "The RD Gateway requires a user name and password, not smart card credentials.", &[]),
    g(0x2C, "RDG_SMARTCARD_REQUIRED", "The RD Gateway requires smart card credentials, not a user name and password.", &[]),
    g(0x2D, "RDG_NO_SMARTCARD_READER", "No smart card reader was detected on the client.", &[]),
    g(0x2F, "RDG_FIREWALL_CREDENTIALS_MISSING", "Authentication to a firewall in front of the RD Gateway failed: no firewall credentials.", &[]),
    g(0x30, "RDG_FIREWALL_CREDENTIALS_INVALID", "Authentication to a firewall in front of the RD Gateway failed: invalid firewall credentials.", &[]),
    g(0x32, "RDG_IDLE_TIMEOUT", "The session through the RD Gateway ended because it was idle.", &[]),
    g(0x33, "RDG_SESSION_TIMEOUT", "The RD Gateway's session timeout ended the connection (gateway event 307).", &[p(0x59F6)]),
    g(0x34, "RDG_INVALID_COOKIE", "The client sent the RD Gateway an invalid authentication cookie.", &[p(0x8007_59F7)]),
    g(0x35, "RDG_COOKIE_REJECTED", "The RD Gateway rejected the authentication cookie.", &[p(0x8007_59F8)]),
    g(0x37, "RDG_AUTH_METHOD_MISMATCH", "The RD Gateway expects another authentication method than the one the client tried (gateway event 305).", &[p(0x8007_59F9)]),
    g(0x38, "RDG_REAUTH_AUTHN_FAILED", "The RD Gateway ended the connection because periodic re-authentication failed.", &[p(0x59FA)]),
    g(0x39, "RDG_REAUTH_AUTHZ_FAILED", "The RD Gateway ended the connection because periodic re-authorization (CAP or RAP) failed (gateway event 309).", &[p(0x59FB), p(0x59FC)]),
    g(0x3B, "RDG_POLICY_EXCHANGE_FAILED", "The RD Gateway and the session host could not exchange policies: the host cannot, its configuration refuses a new connection, or the connection between them ended.", &[]),
    g(0x3C, "RDG_SMARTCARD_CERT_PROBLEM", "The smart card is not valid, its certificate is not in the store, or the Certificate Propagation service is not running.", &[]),
    g(0x41, "RDG_REAUTH_NAP_FAILED", "Periodic re-authorization failed because the client no longer meets the health (NAP) requirements.", &[p(0x5A00)]),
    g(0x42, "RDG_COOKIE_TOO_LARGE", "The authentication cookie is larger than the RD Gateway supports.", &[]),
    g(0x44, "RDG_FORWARD_PROXY_FAILED", "The client cannot reach the RD Gateway with the configured forward proxy.", &[]),
];
