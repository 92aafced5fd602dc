//! Encryption type numbers (RFC 3961 8, RFC 3962, RFC 4757, RFC 8009) and their names.

/// What the requests here offer, in preference order, as Windows lists them: AES256, then AES128
/// (RFC 3962). No RC4-HMAC (picky-krb has none, and Microsoft is removing it).
pub const AES_ETYPES: [i32; 2] = [18, 17];

/// The name of encryption type `n` as MIT and Windows spell it.
pub fn etype_name(n: i32) -> &'static str {
    match n {
        1 => "des-cbc-crc",
        3 => "des-cbc-md5",
        16 => "des3-cbc-sha1",
        17 => "aes128-cts-hmac-sha1-96",
        18 => "aes256-cts-hmac-sha1-96",
        19 => "aes128-cts-hmac-sha256-128",
        20 => "aes256-cts-hmac-sha384-192",
        23 => "rc4-hmac",
        24 => "rc4-hmac-exp",
        25 => "camellia128-cts-cmac",
        26 => "camellia256-cts-cmac",
        -135 => "rc4-hmac-old",
        _ => "unknown",
    }
}

/// Whether `n` is one of the AES types (RFC 3962, RFC 8009).
pub fn is_aes(n: i32) -> bool {
    matches!(n, 17..=20)
}
