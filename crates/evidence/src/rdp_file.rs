//! `.rdp` connection files as mstsc and the Remote Desktop clients write them: one setting per
//! line, `name:type:value`, where the type is `i` (integer), `s` (string) or `b` (hex bytes);
//! mstsc saves UTF-16LE with a byte order mark and CRLF line ends, other tools UTF-8 with or
//! without one. The property names and values are Microsoft Learn's "Supported RDP properties"
//! (Remote Desktop Services and Azure Virtual Desktop, plus the older mstsc names such as
//! `server port`).
//!
//! The reader is pure: [`parse`] takes the bytes, [`read`] adds only the bounded read of a
//! regular file that the other readers of this crate use. Nothing is guessed: a line that is not a
//! setting is reported with its line number, a setting whose name is not known is listed as
//! unknown, a known setting whose value does not fit is a [`ValueProblem`] with its line. The
//! value of a secret (`password 51`, a DPAPI blob) is never kept, only its length. Input is bounded
//! (size, lines, line length) and never panics. Strings are kept as written, control characters
//! included: renderers escape them.

use crate::{decode_text_owned, open_regular, EvidenceError};
use std::io::Read;
use std::path::Path;

/// Largest `.rdp` file read. Real ones are a few KiB (a signed one with its signature about 10).
pub const MAX_RDP_BYTES: u64 = 1 << 20;
/// Most lines looked at; the rest is reported as truncated.
pub const MAX_RDP_LINES: usize = 5000;
/// Longest line kept whole (a `signature:s:` line is a few KiB); longer lines are malformed.
pub const MAX_RDP_LINE_CHARS: usize = 32 * 1024;
/// How much of a malformed line is kept for the message.
const SNIPPET_CHARS: usize = 120;

/// How the file was encoded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RdpEncoding {
    /// UTF-16 little-endian with a byte order mark (what mstsc writes).
    Utf16LeBom,
    /// UTF-16 big-endian with a byte order mark.
    Utf16BeBom,
    /// UTF-16 little-endian without a byte order mark (recognized by its zero high bytes).
    Utf16Le,
    /// UTF-8 with a byte order mark.
    Utf8Bom,
    /// UTF-8 (or ASCII) without one.
    Utf8,
}

impl RdpEncoding {
    /// How the encoding is named in reports and JSON (stable strings).
    pub fn label(self) -> &'static str {
        match self {
            RdpEncoding::Utf16LeBom => "UTF-16LE with BOM",
            RdpEncoding::Utf16BeBom => "UTF-16BE with BOM",
            RdpEncoding::Utf16Le => "UTF-16LE without BOM",
            RdpEncoding::Utf8Bom => "UTF-8 with BOM",
            RdpEncoding::Utf8 => "UTF-8",
        }
    }
}

/// A setting's value as written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RdpValue {
    Int(i64),
    Str(String),
    Bytes(Vec<u8>),
    /// A secret (`password 51:b:`): only its length in bytes is kept.
    Secret {
        len: usize,
    },
}

/// One well-formed `name:type:value` line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RdpSetting {
    /// 1-based line number in the file.
    pub line: usize,
    /// The name as written.
    pub name: String,
    /// The name lower-cased with surrounding blanks removed, as the clients compare it.
    pub key: String,
    pub value: RdpValue,
    /// Whether the name is a property Microsoft documents (see [`KNOWN`]).
    pub known: bool,
}

/// Why a line is not a setting.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Malformation {
    /// No `name:type:value` shape (fewer than two colons, or an empty name).
    NotASetting,
    /// The type letter is not `i`, `s` or `b`.
    UnknownType(String),
    /// An `i` value that is not a decimal integer.
    NotAnInteger,
    /// A `b` value that is not an even number of hex digits.
    NotHex,
    /// A line longer than [`MAX_RDP_LINE_CHARS`].
    TooLong,
    /// A known property written with another type than its own (e.g. `full address:i:1`).
    WrongType { expected: char },
}

impl std::fmt::Display for Malformation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Malformation::NotASetting => write!(f, "not a name:type:value setting"),
            Malformation::UnknownType(t) => {
                write!(
                    f,
                    "type {t:?} is none of i (integer), s (string), b (bytes)"
                )
            }
            Malformation::NotAnInteger => write!(f, "the value of an i setting is not an integer"),
            Malformation::NotHex => write!(f, "the value of a b setting is not hex bytes"),
            Malformation::TooLong => write!(f, "line longer than {MAX_RDP_LINE_CHARS} characters"),
            Malformation::WrongType { expected } => {
                write!(
                    f,
                    "this property is of type {expected}, not the type written"
                )
            }
        }
    }
}

/// A line that is not a setting, with its number and the start of its text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MalformedLine {
    pub line: usize,
    pub problem: Malformation,
    /// The first characters of the line (never the value of a secret).
    pub snippet: String,
}

/// A parsed `.rdp` file: every setting in file order, the lines that were not settings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RdpFile {
    pub encoding: RdpEncoding,
    pub settings: Vec<RdpSetting>,
    pub malformed: Vec<MalformedLine>,
    /// More than [`MAX_RDP_LINES`] lines: the rest was not read.
    pub truncated: bool,
}

/// The type each documented property is written with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    I,
    S,
    B,
}

/// Properties Microsoft documents (Supported RDP properties; Remote Desktop Services, Azure Virtual
/// Desktop, Remote PC connections), and the older names mstsc still writes and reads.
const KNOWN: &[(&str, Kind)] = &[
    // Connections
    ("full address", Kind::S),
    ("alternate full address", Kind::S),
    ("server port", Kind::I),
    ("username", Kind::S),
    ("domain", Kind::S),
    ("alternate shell", Kind::S),
    ("shell working directory", Kind::S),
    ("authentication level", Kind::I),
    ("enablecredsspsupport", Kind::I),
    ("negotiate security layer", Kind::I),
    ("disableconnectionsharing", Kind::I),
    ("enablerdsaadauth", Kind::I),
    ("targetisaadjoined", Kind::I),
    ("kdcproxyname", Kind::S),
    ("promptcredentialonce", Kind::I),
    ("prompt for credentials", Kind::I),
    ("prompt for credentials on client", Kind::I),
    ("administrative session", Kind::I),
    ("restricted administration mode", Kind::I),
    ("remote credential guard", Kind::I),
    ("redirectedauthentication", Kind::I),
    ("loadbalanceinfo", Kind::S),
    ("use redirection server name", Kind::I),
    ("password 51", Kind::B),
    ("signscope", Kind::S),
    ("signature", Kind::S),
    // RD Gateway
    ("gatewayhostname", Kind::S),
    ("gatewayusagemethod", Kind::I),
    ("gatewaycredentialssource", Kind::I),
    ("gatewayprofileusagemethod", Kind::I),
    ("gatewaybrokeringtype", Kind::I),
    ("gatewayaccesstoken", Kind::S),
    // Session behaviour
    ("autoreconnection enabled", Kind::I),
    ("autoreconnect max retries", Kind::I),
    ("bandwidthautodetect", Kind::I),
    ("networkautodetect", Kind::I),
    ("compression", Kind::I),
    ("videoplaybackmode", Kind::I),
    ("connection type", Kind::I),
    ("displayconnectionbar", Kind::I),
    ("pinconnectionbar", Kind::I),
    ("keyboardhook", Kind::I),
    ("audiomode", Kind::I),
    ("audiocapturemode", Kind::I),
    ("audioqualitymode", Kind::I),
    ("encode redirected video capture", Kind::I),
    ("redirected video capture encoding quality", Kind::I),
    ("camerastoredirect", Kind::S),
    ("devicestoredirect", Kind::S),
    ("drivestoredirect", Kind::S),
    ("usbdevicestoredirect", Kind::S),
    ("redirectclipboard", Kind::I),
    ("redirectcomports", Kind::I),
    ("redirectlocation", Kind::I),
    ("redirectprinters", Kind::I),
    ("redirectsmartcards", Kind::I),
    ("redirectwebauthn", Kind::I),
    ("redirectdrives", Kind::I),
    ("redirectposdevices", Kind::I),
    ("redirectdirectx", Kind::I),
    ("disableprinterredirection", Kind::I),
    ("disableclipboardredirection", Kind::I),
    // Display
    ("screen mode id", Kind::I),
    ("use multimon", Kind::I),
    ("selectedmonitors", Kind::S),
    ("maximizetocurrentdisplays", Kind::I),
    ("singlemoninwindowedmode", Kind::I),
    ("smart sizing", Kind::I),
    ("dynamic resolution", Kind::I),
    ("desktopwidth", Kind::I),
    ("desktopheight", Kind::I),
    ("desktop size id", Kind::I),
    ("desktopscalefactor", Kind::I),
    ("winposstr", Kind::S),
    ("session bpp", Kind::I),
    // Performance flags mstsc writes
    ("allow font smoothing", Kind::I),
    ("allow desktop composition", Kind::I),
    ("disable wallpaper", Kind::I),
    ("disable full window drag", Kind::I),
    ("disable menu anims", Kind::I),
    ("disable themes", Kind::I),
    ("disable cursor setting", Kind::I),
    ("bitmapcachepersistenable", Kind::I),
    ("bitmapcachesize", Kind::I),
    // RemoteApp
    ("remoteapplicationmode", Kind::I),
    ("remoteapplicationname", Kind::S),
    ("remoteapplicationprogram", Kind::S),
    ("remoteapplicationcmdline", Kind::S),
    ("remoteapplicationexpandcmdline", Kind::I),
    ("remoteapplicationexpandworkingdir", Kind::I),
    ("remoteapplicationfile", Kind::S),
    ("remoteapplicationicon", Kind::S),
    ("remoteapplicationappid", Kind::S),
    ("remoteapplicationfileextensions", Kind::S),
    ("workspace id", Kind::S),
    ("resourceprovider", Kind::S),
    ("rdgiskdcproxy", Kind::I),
];

/// Secrets: only their length is kept.
const SECRETS: &[&str] = &["password 51", "gatewayaccesstoken"];

fn known_kind(key: &str) -> Option<Kind> {
    KNOWN.iter().find(|(k, _)| *k == key).map(|(_, kind)| *kind)
}

/// Decodes the bytes of an `.rdp` file with the crate's text decoder, after telling which
/// encoding it is (mstsc's UTF-16LE is also recognized without its BOM, by its zero high bytes).
fn decode(bytes: &[u8]) -> (RdpEncoding, String) {
    let encoding = match bytes {
        [0xFF, 0xFE, ..] => RdpEncoding::Utf16LeBom,
        [0xFE, 0xFF, ..] => RdpEncoding::Utf16BeBom,
        [0xEF, 0xBB, 0xBF, ..] => RdpEncoding::Utf8Bom,
        [a, 0, b, 0, ..] if a.is_ascii() && b.is_ascii() && *a != 0 => RdpEncoding::Utf16Le,
        _ => RdpEncoding::Utf8,
    };
    let text = match encoding {
        RdpEncoding::Utf16Le => {
            let mut with_bom = Vec::with_capacity(bytes.len() + 2);
            with_bom.extend_from_slice(&[0xFF, 0xFE]);
            with_bom.extend_from_slice(bytes);
            decode_text_owned(with_bom)
        }
        // A BOM-less file that happens to start with `<` or `{` and a zero byte is not UTF-16
        // here (decode_text_owned would take it for one): decode it as UTF-8.
        RdpEncoding::Utf8 => String::from_utf8_lossy(bytes).into_owned(),
        _ => decode_text_owned(bytes.to_vec()),
    };
    (encoding, text)
}

fn snippet(text: &str) -> String {
    text.chars().take(SNIPPET_CHARS).collect()
}

/// Parses the bytes of an `.rdp` file. Never fails: what is not a setting is reported.
pub fn parse(bytes: &[u8]) -> RdpFile {
    let (encoding, text) = decode(bytes);
    let mut file = RdpFile {
        encoding,
        settings: Vec::new(),
        malformed: Vec::new(),
        truncated: false,
    };
    // `lines` splits on LF and removes a CR before it, so CRLF, LF and a last line without an end
    // are all read; a lone CR (old Mac) stays inside a line and is part of its value.
    for (index, raw) in text.lines().enumerate() {
        if index >= MAX_RDP_LINES {
            file.truncated = true;
            break;
        }
        let line = index + 1;
        if raw.trim().is_empty() {
            continue;
        }
        if raw.chars().count() > MAX_RDP_LINE_CHARS {
            file.malformed.push(MalformedLine {
                line,
                problem: Malformation::TooLong,
                snippet: snippet(raw),
            });
            continue;
        }
        match parse_line(line, raw) {
            Ok(setting) => file.settings.push(setting),
            Err((problem, shown)) => file.malformed.push(MalformedLine {
                line,
                problem,
                snippet: snippet(shown),
            }),
        }
    }
    file
}

/// One line as a setting, or why not (with the text that may be shown: the name only, for a
/// secret).
fn parse_line(line: usize, raw: &str) -> Result<RdpSetting, (Malformation, &str)> {
    let mut parts = raw.splitn(3, ':');
    let (Some(name), Some(kind), Some(value)) = (parts.next(), parts.next(), parts.next()) else {
        return Err((Malformation::NotASetting, raw));
    };
    let key = name.trim().to_ascii_lowercase();
    if key.is_empty() {
        return Err((Malformation::NotASetting, raw));
    }
    let secret = SECRETS.contains(&key.as_str());
    let shown = if secret { name } else { raw };
    let kind = match kind.trim() {
        "i" | "I" => Kind::I,
        "s" | "S" => Kind::S,
        "b" | "B" => Kind::B,
        other => return Err((Malformation::UnknownType(snippet(other)), shown)),
    };
    let expected = known_kind(&key);
    if let Some(expected) = expected {
        if expected != kind {
            let letter = match expected {
                Kind::I => 'i',
                Kind::S => 's',
                Kind::B => 'b',
            };
            return Err((Malformation::WrongType { expected: letter }, shown));
        }
    }
    let value = match kind {
        Kind::I => RdpValue::Int(
            value
                .trim()
                .parse::<i64>()
                .map_err(|_| (Malformation::NotAnInteger, shown))?,
        ),
        Kind::S if secret => RdpValue::Secret { len: value.len() },
        Kind::S => RdpValue::Str(value.to_string()),
        Kind::B => {
            let bytes = hex_bytes(value.trim()).ok_or((Malformation::NotHex, shown))?;
            if secret {
                RdpValue::Secret { len: bytes.len() }
            } else {
                RdpValue::Bytes(bytes)
            }
        }
    };
    Ok(RdpSetting {
        line,
        name: name.to_string(),
        key,
        value,
        known: expected.is_some(),
    })
}

fn hex_bytes(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) || !text.is_ascii() {
        return None;
    }
    text.as_bytes()
        .chunks_exact(2)
        .map(|pair| {
            let digits = std::str::from_utf8(pair).ok()?;
            u8::from_str_radix(digits, 16).ok()
        })
        .collect()
}

/// Reads and parses the `.rdp` file at `path`: a regular file of at most [`MAX_RDP_BYTES`].
pub fn read(path: &Path) -> Result<RdpFile, EvidenceError> {
    let name = path.display().to_string();
    let too_large = |size: String| EvidenceError::TooLarge {
        file: name.clone(),
        size,
        what: ".rdp file",
        limit: MAX_RDP_BYTES,
        hint: "an .rdp file is a few KiB of name:type:value lines; give the file the client opens",
    };
    let (file, size) = open_regular(path)?;
    if size > MAX_RDP_BYTES {
        return Err(too_large(format!("{size} bytes")));
    }
    let mut bytes = Vec::new();
    file.take(MAX_RDP_BYTES.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(|source| EvidenceError::Io {
            file: name.clone(),
            source,
        })?;
    if bytes.len() as u64 > MAX_RDP_BYTES {
        return Err(too_large("more".to_string()));
    }
    Ok(parse(&bytes))
}

// ---------------------------------------------------------------------------------------------
// What a connection depends on, typed.

/// A host and an optional port, from `full address`, `alternate full address` or
/// `gatewayhostname` (`host`, `host:port`, `[v6]`, `[v6]:port`, or a bare IPv6 address).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HostPort {
    pub host: String,
    pub port: Option<u16>,
}

/// A value with the line it came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Located<T> {
    pub line: usize,
    pub value: T,
}

/// `gatewayusagemethod`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GatewayUsage {
    /// 0: never use a gateway.
    Never,
    /// 1: always use the gateway.
    Always,
    /// 2: use the gateway only if a direct connection fails.
    IfDirectFails,
    /// 3: use the client's default gateway settings.
    Default,
    /// 4: do not use a gateway for local addresses (bypass).
    BypassLocal,
}

/// `gatewaycredentialssource`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GatewayCredentials {
    /// 0: ask for a password (NTLM).
    Password,
    /// 1: smart card.
    SmartCard,
    /// 2: the logged-on user's credentials.
    LoggedOnUser,
    /// 3: prompt and use Basic authentication.
    Basic,
    /// 4: let the user choose later.
    ChooseLater,
    /// 5: cookie-based authentication.
    Cookie,
}

/// `authentication level`: what the client does when it cannot verify the server.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AuthenticationLevel {
    /// 0: connect without warning.
    ConnectWithoutWarning,
    /// 1: do not connect.
    DoNotConnect,
    /// 2: warn, and let the user choose.
    Warn,
    /// 3: no authentication requirement.
    NoRequirement,
}

/// A known setting whose value does not fit its property.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ValueProblem {
    pub line: usize,
    pub key: String,
    pub reason: String,
}

/// The settings a connection depends on, each with its line. Absent means not in the file (the
/// client's default then applies).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RdpConnection {
    pub full_address: Option<Located<HostPort>>,
    pub server_port: Option<Located<u16>>,
    pub alternate_full_address: Option<Located<HostPort>>,
    pub username: Option<Located<String>>,
    pub domain: Option<Located<String>>,
    pub gateway_hostname: Option<Located<HostPort>>,
    pub gateway_usage: Option<Located<GatewayUsage>>,
    pub gateway_credentials: Option<Located<GatewayCredentials>>,
    /// `gatewayprofileusagemethod`: 1 = the file's explicit gateway settings, 0 = the defaults.
    pub gateway_profile_explicit: Option<Located<bool>>,
    pub gateway_brokering_type: Option<Located<i64>>,
    pub authentication_level: Option<Located<AuthenticationLevel>>,
    pub enable_credssp: Option<Located<bool>>,
    pub negotiate_security_layer: Option<Located<bool>>,
    pub load_balance_info: Option<Located<String>>,
    pub use_redirection_server_name: Option<Located<bool>>,
    pub kdc_proxy_name: Option<Located<String>>,
    pub enable_rds_aad_auth: Option<Located<bool>>,
    pub restricted_admin: Option<Located<bool>>,
    pub remote_credential_guard: Option<Located<bool>>,
    pub prompt_for_credentials: Option<Located<bool>>,
    pub remote_app: Option<Located<bool>>,
    /// `password 51` is present (its value is never kept).
    pub saved_password_line: Option<usize>,
    pub problems: Vec<ValueProblem>,
}

impl RdpFile {
    /// The last setting named `key` (lower case), as the clients take the last occurrence.
    pub fn get(&self, key: &str) -> Option<&RdpSetting> {
        self.settings.iter().rev().find(|s| s.key == key)
    }

    /// Settings whose names are not documented properties, in file order.
    pub fn unknown(&self) -> impl Iterator<Item = &RdpSetting> {
        self.settings.iter().filter(|s| !s.known)
    }

    /// Keys written more than once, with every line (the last one counts).
    pub fn duplicates(&self) -> Vec<(String, Vec<usize>)> {
        let mut out: Vec<(String, Vec<usize>)> = Vec::new();
        for s in &self.settings {
            match out.iter_mut().find(|(k, _)| *k == s.key) {
                Some((_, lines)) => lines.push(s.line),
                None => out.push((s.key.clone(), vec![s.line])),
            }
        }
        out.retain(|(_, lines)| lines.len() > 1);
        out
    }

    /// The settings a connection depends on, typed.
    pub fn connection(&self) -> RdpConnection {
        let mut c = RdpConnection::default();
        let mut problems = Vec::new();
        let mut typed = Typed {
            file: self,
            problems: &mut problems,
        };
        c.full_address = typed.address("full address");
        c.server_port = typed.port("server port");
        c.alternate_full_address = typed.address("alternate full address");
        c.username = typed.string("username");
        c.domain = typed.string("domain");
        c.gateway_hostname = typed.address("gatewayhostname");
        c.gateway_usage = typed.choice(
            "gatewayusagemethod",
            &[
                (0, GatewayUsage::Never),
                (1, GatewayUsage::Always),
                (2, GatewayUsage::IfDirectFails),
                (3, GatewayUsage::Default),
                (4, GatewayUsage::BypassLocal),
            ],
        );
        c.gateway_credentials = typed.choice(
            "gatewaycredentialssource",
            &[
                (0, GatewayCredentials::Password),
                (1, GatewayCredentials::SmartCard),
                (2, GatewayCredentials::LoggedOnUser),
                (3, GatewayCredentials::Basic),
                (4, GatewayCredentials::ChooseLater),
                (5, GatewayCredentials::Cookie),
            ],
        );
        c.gateway_profile_explicit = typed.flag("gatewayprofileusagemethod");
        c.gateway_brokering_type = typed.int("gatewaybrokeringtype");
        c.authentication_level = typed.choice(
            "authentication level",
            &[
                (0, AuthenticationLevel::ConnectWithoutWarning),
                (1, AuthenticationLevel::DoNotConnect),
                (2, AuthenticationLevel::Warn),
                (3, AuthenticationLevel::NoRequirement),
            ],
        );
        c.enable_credssp = typed.flag("enablecredsspsupport");
        c.negotiate_security_layer = typed.flag("negotiate security layer");
        c.load_balance_info = typed.string("loadbalanceinfo");
        c.use_redirection_server_name = typed.flag("use redirection server name");
        c.kdc_proxy_name = typed.string("kdcproxyname");
        c.enable_rds_aad_auth = typed.flag("enablerdsaadauth");
        c.restricted_admin = typed.flag("restricted administration mode");
        c.remote_credential_guard = typed.flag("remote credential guard");
        c.prompt_for_credentials = typed.flag("prompt for credentials");
        c.remote_app = typed.flag("remoteapplicationmode");
        c.saved_password_line = self.get("password 51").map(|s| s.line);
        c.problems = problems;
        c
    }
}

/// Typed accessors that record a [`ValueProblem`] for a value that does not fit.
struct Typed<'a> {
    file: &'a RdpFile,
    problems: &'a mut Vec<ValueProblem>,
}

impl Typed<'_> {
    fn problem(&mut self, s: &RdpSetting, reason: String) {
        self.problems.push(ValueProblem {
            line: s.line,
            key: s.key.clone(),
            reason,
        });
    }

    fn int(&mut self, key: &str) -> Option<Located<i64>> {
        let s = self.file.get(key)?;
        match s.value {
            RdpValue::Int(v) => Some(Located {
                line: s.line,
                value: v,
            }),
            _ => None,
        }
    }

    fn string(&mut self, key: &str) -> Option<Located<String>> {
        let s = self.file.get(key)?;
        match &s.value {
            RdpValue::Str(v) => Some(Located {
                line: s.line,
                value: v.clone(),
            }),
            _ => None,
        }
    }

    fn choice<T: Copy>(&mut self, key: &str, table: &[(i64, T)]) -> Option<Located<T>> {
        let found = self.int(key)?;
        match table.iter().find(|(n, _)| *n == found.value) {
            Some((_, v)) => Some(Located {
                line: found.line,
                value: *v,
            }),
            None => {
                let allowed: Vec<String> = table.iter().map(|(n, _)| n.to_string()).collect();
                let s = self.file.get(key)?;
                self.problem(
                    s,
                    format!(
                        "value {} is none of the documented {}",
                        found.value,
                        allowed.join(", ")
                    ),
                );
                None
            }
        }
    }

    fn flag(&mut self, key: &str) -> Option<Located<bool>> {
        self.choice(key, &[(0, false), (1, true)])
    }

    fn port(&mut self, key: &str) -> Option<Located<u16>> {
        let found = self.int(key)?;
        match u16::try_from(found.value) {
            Ok(p) if p != 0 => Some(Located {
                line: found.line,
                value: p,
            }),
            _ => {
                let s = self.file.get(key)?;
                self.problem(s, format!("port {} is not in 1..65535", found.value));
                None
            }
        }
    }

    fn address(&mut self, key: &str) -> Option<Located<HostPort>> {
        let found = self.string(key)?;
        match parse_host_port(&found.value) {
            Ok(hp) => Some(Located {
                line: found.line,
                value: hp,
            }),
            Err(reason) => {
                let s = self.file.get(key)?;
                self.problem(s, reason);
                None
            }
        }
    }
}

/// `host`, `host:port`, `[v6]`, `[v6]:port` or a bare IPv6 address (two or more colons).
pub fn parse_host_port(text: &str) -> Result<HostPort, String> {
    let text = text.trim();
    if text.is_empty() {
        return Err("empty address".to_string());
    }
    if text.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return Err("the address contains blanks or control characters".to_string());
    }
    let (host, port) = if let Some(rest) = text.strip_prefix('[') {
        let (inside, after) = rest
            .split_once(']')
            .ok_or_else(|| "'[' without a closing ']'".to_string())?;
        let port = match after {
            "" => None,
            _ => Some(
                after
                    .strip_prefix(':')
                    .ok_or_else(|| format!("unexpected {after:?} after ']'"))?,
            ),
        };
        (inside, port)
    } else if text.matches(':').count() >= 2 {
        (text, None) // a bare IPv6 address: no port can be written without brackets
    } else {
        match text.split_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (text, None),
        }
    };
    if host.is_empty() {
        return Err("empty host name".to_string());
    }
    let port = match port {
        None => None,
        Some(p) => match p.parse::<u16>() {
            Ok(n) if n != 0 => Some(n),
            _ => return Err(format!("port {p:?} is not in 1..65535")),
        },
    };
    Ok(HostPort {
        host: host.to_string(),
        port,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What mstsc writes: UTF-16LE with a BOM and CRLF line ends.
    fn utf16le_bom(text: &str) -> Vec<u8> {
        let mut out = vec![0xFF, 0xFE];
        for unit in text.encode_utf16() {
            out.extend_from_slice(&unit.to_le_bytes());
        }
        out
    }

    /// A file shaped like the one RD Web Access / mstsc's "Save As" writes for a gateway farm.
    const FARM: &str = "screen mode id:i:2\r\n\
use multimon:i:0\r\n\
desktopwidth:i:1920\r\n\
desktopheight:i:1080\r\n\
session bpp:i:32\r\n\
compression:i:1\r\n\
keyboardhook:i:2\r\n\
connection type:i:7\r\n\
networkautodetect:i:1\r\n\
bandwidthautodetect:i:1\r\n\
full address:s:rdsh-farm.corp.example\r\n\
audiomode:i:0\r\n\
redirectclipboard:i:1\r\n\
autoreconnection enabled:i:1\r\n\
authentication level:i:2\r\n\
prompt for credentials:i:0\r\n\
negotiate security layer:i:1\r\n\
remoteapplicationmode:i:0\r\n\
gatewayhostname:s:rdgw.corp.example:8443\r\n\
gatewayusagemethod:i:1\r\n\
gatewaycredentialssource:i:0\r\n\
gatewayprofileusagemethod:i:1\r\n\
promptcredentialonce:i:1\r\n\
gatewaybrokeringtype:i:0\r\n\
use redirection server name:i:1\r\n\
loadbalanceinfo:s:tsv://MS Terminal Services Plugin.1.Desktops\r\n\
enablecredsspsupport:i:1\r\n\
kdcproxyname:s:rdgw.corp.example\r\n\
username:s:CORP\\alice\r\n\
drivestoredirect:s:\r\n";

    #[test]
    fn reads_a_utf16le_gateway_farm_file_as_mstsc_writes_it() {
        let file = parse(&utf16le_bom(FARM));
        assert_eq!(file.encoding, RdpEncoding::Utf16LeBom);
        assert!(file.malformed.is_empty(), "{:?}", file.malformed);
        assert!(!file.truncated);
        assert_eq!(file.unknown().count(), 0);
        let c = file.connection();
        assert!(c.problems.is_empty(), "{:?}", c.problems);
        let full = c.full_address.expect("full address");
        assert_eq!(full.line, 11);
        assert_eq!(full.value.host, "rdsh-farm.corp.example");
        assert_eq!(full.value.port, None);
        let gw = c.gateway_hostname.expect("gateway");
        assert_eq!(
            gw.value,
            HostPort {
                host: "rdgw.corp.example".into(),
                port: Some(8443)
            }
        );
        assert_eq!(gw.line, 19);
        assert_eq!(c.gateway_usage.map(|v| v.value), Some(GatewayUsage::Always));
        assert_eq!(
            c.gateway_credentials.map(|v| v.value),
            Some(GatewayCredentials::Password)
        );
        assert_eq!(c.gateway_profile_explicit.map(|v| v.value), Some(true));
        assert_eq!(c.gateway_brokering_type.map(|v| v.value), Some(0));
        assert_eq!(
            c.authentication_level.map(|v| (v.line, v.value)),
            Some((15, AuthenticationLevel::Warn))
        );
        assert_eq!(
            c.enable_credssp.map(|v| (v.line, v.value)),
            Some((27, true))
        );
        assert_eq!(c.negotiate_security_layer.map(|v| v.value), Some(true));
        assert_eq!(
            c.load_balance_info.map(|v| v.value).as_deref(),
            Some("tsv://MS Terminal Services Plugin.1.Desktops")
        );
        assert_eq!(c.use_redirection_server_name.map(|v| v.value), Some(true));
        assert_eq!(
            c.kdc_proxy_name.map(|v| v.value).as_deref(),
            Some("rdgw.corp.example")
        );
        assert_eq!(c.username.map(|v| v.value).as_deref(), Some("CORP\\alice"));
        assert_eq!(c.prompt_for_credentials.map(|v| v.value), Some(false));
        assert_eq!(c.remote_app.map(|v| v.value), Some(false));
        // An empty string value is a value, not a malformed line.
        assert_eq!(
            file.get("drivestoredirect").map(|s| &s.value),
            Some(&RdpValue::Str(String::new()))
        );
    }

    #[test]
    fn utf8_with_and_without_bom_and_lf_or_crlf_read_the_same() {
        let text = "full address:s:[2001:db8::10]:3390\nserver port:i:3389\r\nalternate full address:s:fe80::1\nusername:s:bob";
        let plain = parse(text.as_bytes());
        let mut bom = vec![0xEF, 0xBB, 0xBF];
        bom.extend_from_slice(text.as_bytes());
        let with_bom = parse(&bom);
        assert_eq!(plain.encoding, RdpEncoding::Utf8);
        assert_eq!(with_bom.encoding, RdpEncoding::Utf8Bom);
        assert_eq!(plain.settings, with_bom.settings);
        let c = plain.connection();
        assert_eq!(
            c.full_address.map(|v| v.value),
            Some(HostPort {
                host: "2001:db8::10".into(),
                port: Some(3390)
            })
        );
        assert_eq!(c.server_port.map(|v| v.value), Some(3389));
        assert_eq!(
            c.alternate_full_address.map(|v| v.value),
            Some(HostPort {
                host: "fe80::1".into(),
                port: None
            })
        );
        // The last line has no line end and is read.
        assert_eq!(
            c.username.map(|v| (v.line, v.value)),
            Some((4, "bob".into()))
        );
        // BOM-less UTF-16LE is recognized too.
        let mut no_bom = utf16le_bom(text);
        no_bom.drain(..2);
        let utf16 = parse(&no_bom);
        assert_eq!(utf16.encoding, RdpEncoding::Utf16Le);
        assert_eq!(utf16.settings, plain.settings);
    }

    #[test]
    fn malformed_lines_are_reported_with_their_numbers_and_unknown_settings_listed() {
        let text = "full address:s:host.example\r\n\
this is not a setting\r\n\
authentication level:i:two\r\n\
redirectclipboard:x:1\r\n\
full address:i:5\r\n\
certificate hash:b:0g\r\n\
:s:nameless\r\n\
\r\n\
mystery setting:i:7\r\n\
x-vendor extension:s:a:b:c\r\n\
authentication level:i:9\r\n\
gatewayusagemethod:i:1\r\n\
gatewayusagemethod:i:0\r\n\
server port:i:70000\r\n";
        let file = parse(text.as_bytes());
        let bad: Vec<(usize, Malformation)> = file
            .malformed
            .iter()
            .map(|m| (m.line, m.problem.clone()))
            .collect();
        assert_eq!(
            bad,
            vec![
                (2, Malformation::NotASetting),
                (3, Malformation::NotAnInteger),
                (4, Malformation::UnknownType("x".into())),
                (5, Malformation::WrongType { expected: 's' }),
                (6, Malformation::NotHex),
                (7, Malformation::NotASetting),
            ]
        );
        let unknown: Vec<(usize, &str)> =
            file.unknown().map(|s| (s.line, s.name.as_str())).collect();
        assert_eq!(
            unknown,
            vec![(9, "mystery setting"), (10, "x-vendor extension")]
        );
        // A value may contain colons.
        assert_eq!(
            file.get("x-vendor extension").map(|s| &s.value),
            Some(&RdpValue::Str("a:b:c".into()))
        );
        // The last occurrence counts, and duplicates are listed.
        let c = file.connection();
        assert_eq!(
            c.gateway_usage.map(|v| (v.line, v.value)),
            Some((13, GatewayUsage::Never))
        );
        assert_eq!(
            file.duplicates(),
            vec![("gatewayusagemethod".to_string(), vec![12, 13])]
        );
        let problems: Vec<(usize, &str)> = c
            .problems
            .iter()
            .map(|p| (p.line, p.key.as_str()))
            .collect();
        assert_eq!(
            problems,
            vec![(14, "server port"), (11, "authentication level")]
        );
        assert_eq!(c.authentication_level, None);
        assert!(file
            .malformed
            .iter()
            .all(|m| !m.problem.to_string().is_empty()));
    }

    #[test]
    fn secrets_are_never_kept_only_their_length() {
        let text = "full address:s:h\r\npassword 51:b:01000000D08C9DDF0115D1118C7A00C04FC297EB\r\ngatewayaccesstoken:s:eyJhbGciOi.secret.token\r\npassword 51:i:notanumber-secretish\r\n";
        let file = parse(text.as_bytes());
        assert_eq!(
            file.get("password 51").map(|s| &s.value),
            Some(&RdpValue::Secret { len: 20 })
        );
        assert_eq!(
            file.get("gatewayaccesstoken").map(|s| &s.value),
            Some(&RdpValue::Secret { len: 23 })
        );
        assert_eq!(file.connection().saved_password_line, Some(2));
        let all = format!("{file:?}");
        assert!(!all.contains("D08C9DDF"), "{all}");
        assert!(!all.contains("secret.token"), "{all}");
        // A malformed secret line shows its name only.
        assert_eq!(file.malformed.len(), 1);
        assert_eq!(file.malformed[0].snippet, "password 51");
        assert!(!all.contains("secretish"), "{all}");
    }

    #[test]
    fn addresses() {
        let ok = |t: &str, host: &str, port: Option<u16>| {
            assert_eq!(
                parse_host_port(t),
                Ok(HostPort {
                    host: host.into(),
                    port
                }),
                "{t}"
            );
        };
        ok("rdp.example", "rdp.example", None);
        ok("rdp.example:3390", "rdp.example", Some(3390));
        ok("192.0.2.7:443", "192.0.2.7", Some(443));
        ok("[::1]", "::1", None);
        ok("[2001:db8::1]:3389", "2001:db8::1", Some(3389));
        ok("2001:db8::1", "2001:db8::1", None);
        for bad in [
            "",
            ":3389",
            "host:0",
            "host:99999",
            "host:x",
            "[::1",
            "[::1]x",
            "a b",
            "h\u{1b}[31m",
        ] {
            assert!(parse_host_port(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn hostile_bytes_never_panic_and_stay_bounded() {
        // A fixed-seed generator (xorshift) over many shapes: random bytes, random text made of
        // the characters that matter to the parser, and both with a UTF-16 BOM.
        let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let alphabet = b"ab :isb0123456789[]\r\n\x00\xff\xfe\xef\xbb\xbf-:";
        for round in 0..3000 {
            let len = (next() % 700) as usize;
            let mut bytes: Vec<u8> = (0..len)
                .map(|_| {
                    let r = next();
                    if round % 2 == 0 {
                        (r & 0xFF) as u8
                    } else {
                        alphabet[(r as usize) % alphabet.len()]
                    }
                })
                .collect();
            if round % 3 == 0 {
                bytes.splice(0..0, [0xFF, 0xFE]);
            }
            let file = parse(&bytes);
            let _ = file.connection();
            let _ = file.duplicates();
            assert!(file.settings.len() + file.malformed.len() <= MAX_RDP_LINES);
            for m in &file.malformed {
                assert!(m.snippet.chars().count() <= SNIPPET_CHARS);
                assert!(m.line >= 1);
            }
        }
        // Limits: a huge line, and more lines than read.
        let long = format!("full address:s:{}\r\n", "a".repeat(MAX_RDP_LINE_CHARS + 10));
        let file = parse(long.as_bytes());
        assert_eq!(file.malformed[0].problem, Malformation::TooLong);
        let many = "compression:i:1\n".repeat(MAX_RDP_LINES + 5);
        let file = parse(many.as_bytes());
        assert!(file.truncated);
        assert_eq!(file.settings.len(), MAX_RDP_LINES);
    }

    #[test]
    fn read_refuses_what_is_not_a_small_regular_file() {
        let dir = std::env::temp_dir().join(format!("rdpdoctor-rdpfile-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let good = dir.join("farm.rdp");
        std::fs::write(&good, utf16le_bom(FARM)).unwrap();
        let file = read(&good).unwrap();
        assert_eq!(file.settings.len(), 30);
        let big = dir.join("big.rdp");
        std::fs::write(&big, vec![b'a'; (MAX_RDP_BYTES + 1) as usize]).unwrap();
        let err = read(&big).unwrap_err().to_string();
        assert!(err.contains(".rdp file") && err.contains("limit"), "{err}");
        let err = read(&dir).unwrap_err().to_string();
        assert!(err.contains("a directory"), "{err}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
