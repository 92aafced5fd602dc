//! The `.rdp` file a check followed (`check FILE.rdp`, `check HOST --rdp-file FILE`): which of
//! its lines decided how the check connected, the lines the rules hold against the server, and
//! the settings the reader does not know, listed as written. No secret is ever recorded: of a
//! saved password only the line it is on.

use serde::{Deserialize, Serialize};

/// One line of the file.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RdpFileLine {
    /// 1-based line number.
    pub line: usize,
    /// The setting as written, `name:type:value` (a bytes value by its length only).
    pub text: String,
    /// What the check did with it, in words.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub effect: String,
}

/// What the check took from an `.rdp` file.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct RdpFileObservation {
    pub path: String,
    /// How the file was encoded (`UTF-16LE with BOM`, `UTF-8`...).
    pub encoding: String,
    /// The settings that decided how the check connected (address, port, gateway, user, routing
    /// token, redirection), each with what it did.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub followed: Vec<RdpFileLine>,
    /// Settings a client honours that the check did not follow, and why.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub not_followed: Vec<RdpFileLine>,
    /// `enablecredsspsupport:i:0`: the client never offers CredSSP (NLA).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credssp_off: Option<RdpFileLine>,
    /// `negotiate security layer:i:0`: the client uses Standard RDP Security only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rdp_security_only: Option<RdpFileLine>,
    /// `authentication level:i:N` and N (0 connect anyway, 1 do not connect, 2 warn, 3 none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authentication_level: Option<(RdpFileLine, u8)>,
    /// The gateway lines the check followed (`gatewayhostname`, `gatewayusagemethod`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub gateway: Vec<RdpFileLine>,
    /// Names the reader does not know, as written: listed, not interpreted.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unknown: Vec<RdpFileLine>,
    /// Lines that are not settings, or values that do not fit their property.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub problems: Vec<String>,
    /// The line of a saved `password 51` (its value is never read into the observation).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub saved_password_line: Option<usize>,
}
