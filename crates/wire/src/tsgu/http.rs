//! The HTTP/1.1 side of the RD Gateway transport (MS-TSGU 2.2.3, 3.3.5.1): the RDG_OUT_DATA and
//! RDG_IN_DATA requests on `/remoteDesktopGateway/` with their RDG-Connection-Id, the gateway's
//! response heads, its `WWW-Authenticate` challenges (RFC 9110 11.6.1), and the chunks of the IN
//! channel's body (RFC 9112 7.1).
//!
//! Response heads are parsed with `httparse` (bounded: [`MAX_HEAD`] bytes, [`MAX_HEADERS`]
//! headers); everything a request carries is checked for CR and LF first, so no value the caller
//! passes can split a header.

use base64::Engine as _;

/// The resource every RD Gateway serves the HTTP transport on (MS-TSGU 2.2.3.1).
pub const PATH: &str = "/remoteDesktopGateway/";
/// The User-Agent mstsc sends to a gateway; some gateways and proxies route on it.
pub const USER_AGENT: &str = "MS-RDGateway/1.0";
/// The largest response head read.
pub const MAX_HEAD: usize = 16 * 1024;
/// The most headers one response head may have.
pub const MAX_HEADERS: usize = 64;
/// The random seed the gateway sends on the OUT channel after its 200 (MS-TSGU 3.3.5.1); clients
/// read exactly this many bytes before the first packet.
pub const OUT_SEED_LEN: usize = 10;

/// The two channels of the HTTP transport (MS-TSGU 2.2.3.1.1, 2.2.3.1.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Method {
    /// RDG_OUT_DATA: the gateway-to-client channel (and the whole tunnel over WebSocket).
    OutData,
    /// RDG_IN_DATA: the client-to-gateway channel.
    InData,
}

impl Method {
    pub fn as_str(self) -> &'static str {
        match self {
            Method::OutData => "RDG_OUT_DATA",
            Method::InData => "RDG_IN_DATA",
        }
    }
}

/// What the request's body is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Body {
    /// `Content-Length: 0`: the logon legs, the OUT channel.
    Empty,
    /// `Transfer-Encoding: chunked`: the IN channel's packets, one chunk each.
    Chunked,
}

/// One request of the transport.
#[derive(Clone, Debug)]
pub struct Request<'a> {
    pub method: Method,
    /// The Host header: the gateway's name (and port when not 443), as the user gave it.
    pub host: &'a str,
    /// RDG-Connection-Id (MS-TSGU 2.2.3.2.1): the same GUID on both channels of one tunnel.
    pub connection_id: &'a str,
    /// The Authorization header's value (`NTLM <token>`), when a logon leg sends one.
    pub authorization: Option<&'a str>,
    /// The Sec-WebSocket-Key of an upgrade to WebSocket (RFC 6455 4.1), when asked for.
    pub websocket_key: Option<&'a str>,
    pub body: Body,
}

/// A value that would break the request head.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{what} contains a control character; it cannot go into an HTTP header")]
pub struct HeaderInjection {
    pub what: &'static str,
}

fn clean<'a>(what: &'static str, value: &'a str) -> Result<&'a str, HeaderInjection> {
    if value.chars().any(char::is_control) {
        return Err(HeaderInjection { what });
    }
    Ok(value)
}

impl Request<'_> {
    /// The request head, as bytes to send.
    pub fn encode(&self) -> Result<Vec<u8>, HeaderInjection> {
        let mut h = format!(
            "{} {PATH} HTTP/1.1\r\nHost: {}\r\nAccept: */*\r\nCache-Control: no-cache\r\nPragma: no-cache\r\nUser-Agent: {USER_AGENT}\r\nRDG-Connection-Id: {}\r\n",
            self.method.as_str(),
            clean("the gateway name", self.host)?,
            clean("the connection id", self.connection_id)?,
        );
        if let Some(auth) = self.authorization {
            h.push_str(&format!(
                "Authorization: {}\r\n",
                clean("the Authorization value", auth)?
            ));
        }
        match self.websocket_key {
            Some(key) => h.push_str(&format!(
                "Connection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: {}\r\n",
                clean("the WebSocket key", key)?
            )),
            None => h.push_str("Connection: Keep-Alive\r\n"),
        }
        match self.body {
            Body::Empty => h.push_str("Content-Length: 0\r\n"),
            Body::Chunked => h.push_str("Transfer-Encoding: chunked\r\n"),
        }
        h.push_str("\r\n");
        Ok(h.into_bytes())
    }
}

/// One chunk of a chunked body (RFC 9112 7.1); an empty `data` is the last chunk.
pub fn chunk(data: &[u8]) -> Vec<u8> {
    if data.is_empty() {
        // The last chunk, then the empty trailer section.
        return b"0\r\n\r\n".to_vec();
    }
    let mut c = format!("{:X}\r\n", data.len()).into_bytes();
    c.extend_from_slice(data);
    c.extend_from_slice(b"\r\n");
    c
}

/// A chunked body (RFC 9112 7.1) that does not parse.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("a chunked body with a malformed chunk size line")]
pub struct ChunkError;

/// The length of the complete chunked body at the start of `buf`, last chunk and trailer
/// included; `Ok(None)` when more bytes are needed. Chunk extensions and trailer fields are
/// skipped.
pub fn chunked_body_len(buf: &[u8]) -> Result<Option<usize>, ChunkError> {
    let mut at = 0;
    loop {
        let Some(line_end) = find_crlf(buf, at) else {
            return Ok(None);
        };
        let line = buf.get(at..line_end).unwrap_or_default();
        let size_text = line.split(|b| *b == b';').next().unwrap_or_default();
        let size_text = std::str::from_utf8(size_text).map_err(|_| ChunkError)?;
        let size = usize::from_str_radix(size_text.trim(), 16).map_err(|_| ChunkError)?;
        at = line_end + 2;
        if size == 0 {
            // Trailer fields, each ended by CRLF, then an empty line.
            loop {
                let Some(end) = find_crlf(buf, at) else {
                    return Ok(None);
                };
                let empty = end == at;
                at = end + 2;
                if empty {
                    return Ok(Some(at));
                }
            }
        }
        at = at
            .checked_add(size)
            .and_then(|a| a.checked_add(2))
            .ok_or(ChunkError)?;
        if buf.len() < at {
            return Ok(None);
        }
    }
}

fn find_crlf(buf: &[u8], from: usize) -> Option<usize> {
    buf.get(from..)?
        .windows(2)
        .position(|w| w == b"\r\n")
        .map(|p| from + p)
}

/// An RDG-Connection-Id from 16 random bytes: a GUID in braces, as mstsc writes it.
pub fn connection_id(random: [u8; 16]) -> String {
    let hex = |b: &[u8]| b.iter().map(|x| format!("{x:02x}")).collect::<String>();
    let (a, rest) = random.split_at(4);
    let (b, rest) = rest.split_at(2);
    let (c, rest) = rest.split_at(2);
    let (d, e) = rest.split_at(2);
    format!("{{{}-{}-{}-{}-{}}}", hex(a), hex(b), hex(c), hex(d), hex(e))
}

/// A response head.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ResponseHead {
    pub status: u16,
    pub reason: String,
    /// Header names as sent, values as text (bytes outside UTF-8 replaced).
    pub headers: Vec<(String, String)>,
}

/// Why bytes are not an HTTP/1.1 response head.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum HeadError {
    #[error("the answer is not HTTP ({0})")]
    NotHttp(String),
    #[error("the response head is longer than {MAX_HEAD} bytes")]
    TooLong,
}

impl ResponseHead {
    /// The first value of header `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Every value of header `name`, in order.
    pub fn all(&self, name: &str) -> Vec<&str> {
        self.headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
            .collect()
    }

    /// Content-Length, when present and a number.
    pub fn content_length(&self) -> Option<u64> {
        self.header("Content-Length")
            .and_then(|v| v.trim().parse().ok())
    }

    /// Whether the body is chunked.
    pub fn chunked(&self) -> bool {
        self.header("Transfer-Encoding")
            .is_some_and(|v| v.to_ascii_lowercase().contains("chunked"))
    }

    /// The `WWW-Authenticate` challenges, every header and every comma-separated challenge in
    /// one.
    pub fn challenges(&self) -> Vec<Challenge> {
        self.all("WWW-Authenticate")
            .into_iter()
            .flat_map(split_challenges)
            .collect()
    }
}

/// Parses a response head at the start of `buf`: `Ok(None)` when more bytes are needed, else
/// the head and how many bytes it took.
pub fn parse_response(buf: &[u8]) -> Result<Option<(ResponseHead, usize)>, HeadError> {
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut response = httparse::Response::new(&mut headers);
    match response.parse(buf) {
        Ok(httparse::Status::Complete(len)) => {
            let head = ResponseHead {
                status: response.code.unwrap_or_default(),
                reason: response.reason.unwrap_or_default().to_string(),
                headers: response
                    .headers
                    .iter()
                    .map(|h| {
                        (
                            h.name.to_string(),
                            String::from_utf8_lossy(h.value).into_owned(),
                        )
                    })
                    .collect(),
            };
            Ok(Some((head, len)))
        }
        Ok(httparse::Status::Partial) if buf.len() > MAX_HEAD => Err(HeadError::TooLong),
        Ok(httparse::Status::Partial) => Ok(None),
        Err(e) => Err(HeadError::NotHttp(e.to_string())),
    }
}

/// One authentication challenge: the scheme and, when there is one, its token or parameters.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Challenge {
    pub scheme: String,
    /// What follows the scheme: a base64 token (`NTLM TlRMTVNT...`) or auth-params
    /// (`realm="x"`).
    pub param: Option<String>,
}

impl Challenge {
    /// The token of an NTLM or Negotiate challenge, decoded. `Ok(None)`: the bare scheme.
    pub fn token(&self) -> Result<Option<Vec<u8>>, base64::DecodeError> {
        match self.param.as_deref() {
            None => Ok(None),
            Some(p) => base64::engine::general_purpose::STANDARD
                .decode(p.trim())
                .map(Some),
        }
    }

    /// Whether this is `scheme` (case-insensitive, RFC 9110 11.1).
    pub fn is(&self, scheme: &str) -> bool {
        self.scheme.eq_ignore_ascii_case(scheme)
    }
}

/// Splits one WWW-Authenticate value into challenges. A comma separates challenges except
/// inside a quoted string, and except between the auth-params of one challenge
/// (`Basic realm="a", charset="UTF-8"`): a piece whose first token has `=` belongs to the
/// challenge before it.
pub fn split_challenges(value: &str) -> Vec<Challenge> {
    let mut pieces: Vec<String> = Vec::new();
    let mut current = String::new();
    let mut quoted = false;
    let mut escaped = false;
    for c in value.chars() {
        match c {
            _ if escaped => escaped = false,
            '\\' if quoted => escaped = true,
            '"' => quoted = !quoted,
            ',' if !quoted => {
                pieces.push(std::mem::take(&mut current));
                continue;
            }
            _ => {}
        }
        current.push(c);
    }
    pieces.push(current);
    let mut out: Vec<Challenge> = Vec::new();
    for piece in pieces {
        let piece = piece.trim();
        if piece.is_empty() {
            continue;
        }
        let (first, rest) = match piece.split_once(char::is_whitespace) {
            Some((f, r)) => (f, Some(r.trim())),
            None => (piece, None),
        };
        let is_param = first.contains('=') && !first.ends_with('=');
        match out.last_mut() {
            Some(last) if is_param => {
                let joined = match last.param.take() {
                    Some(p) => format!("{p}, {piece}"),
                    None => piece.to_string(),
                };
                last.param = Some(joined);
            }
            _ => out.push(Challenge {
                scheme: first.to_string(),
                param: rest.filter(|r| !r.is_empty()).map(str::to_string),
            }),
        }
    }
    out
}

/// `Basic` credentials (RFC 7617): `user:password`, base64. The caller decides whether the
/// channel may carry them (a verified certificate only).
pub fn basic_authorization(user: &str, password: &str) -> String {
    let token = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
    format!("Basic {token}")
}

/// An `Authorization` value for a token-based scheme (`NTLM`, `Negotiate`, RFC 4559).
pub fn token_authorization(scheme: &str, token: &[u8]) -> String {
    format!(
        "{scheme} {}",
        base64::engine::general_purpose::STANDARD.encode(token)
    )
}
