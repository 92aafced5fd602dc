//! What a KDC answers (RFC 4120 5.4.2 KDC-REP, 5.9.1 KRB-ERROR).
//!
//! AS-REP and TGS-REP are decoded with picky-krb (the AS-REP is kept whole: its ticket and
//! encrypted part feed the next request). The KRB-ERROR is read field by field with a lax DER
//! walker instead (`der.rs`), a departure from picky-krb 0.12 for three reasons: its
//! `KrbErrorInner` types `cusec` as a KerberosTime where RFC 4120 has Microseconds (an INTEGER),
//! so an error that carries ctime/cusec does not decode; it insists on IA5 text in e-text and the
//! names, which some KDCs fill with UTF-8; and its KERB-ERROR-DATA types data-value as a BIT
//! STRING where MS-KILE 2.2.2 has an OCTET STRING. An error is the most telling answer a KDC
//! gives, so it must be read whatever else is odd in it.

use super::der::{self, Tlv};
use super::{contained, time, KerberosError};
use picky_krb::messages::{AsRep, TgsRep};

/// Which Kerberos message an answer is (its APPLICATION tag, RFC 4120 5.10).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MessageKind {
    AsRep,
    TgsRep,
    KrbError,
}

impl MessageKind {
    pub fn as_str(self) -> &'static str {
        match self {
            MessageKind::AsRep => "AS-REP",
            MessageKind::TgsRep => "TGS-REP",
            MessageKind::KrbError => "KRB-ERROR",
        }
    }
}

/// One entry of the ETYPE-INFO2 a KDC sends with KDC_ERR_PREAUTH_REQUIRED (RFC 4120 5.2.7.5):
/// an encryption type the account has a key of, and how to derive that key from the password.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EtypeInfo {
    pub etype: i32,
    /// The string-to-key salt (RFC 3961 3), as sent.
    pub salt: Option<Vec<u8>>,
    /// The string-to-key parameters (for AES, the PBKDF2 iteration count, RFC 3962 4).
    pub s2kparams: Option<Vec<u8>>,
}

/// A KRB-ERROR (RFC 4120 5.9.1).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KrbError {
    /// error-code (RFC 4120 7.5.9).
    pub code: u32,
    /// The KDC's clock (stime and susec): Unix seconds and microseconds.
    pub stime: i64,
    pub susec: u32,
    pub e_text: Option<String>,
    /// The service realm and name the error is about.
    pub realm: String,
    pub sname: String,
    /// From e-data's METHOD-DATA: the PA-DATA types the KDC would accept (PA-ENC-TIMESTAMP 2,
    /// PA-FX-FAST 136, ...), and the ETYPE-INFO2 among them.
    pub pa_types: Vec<i32>,
    pub etype_info: Vec<EtypeInfo>,
    /// The NTSTATUS a Windows KDC puts in e-data (KERB-EXT-ERROR, MS-KILE 2.2.1), e.g.
    /// STATUS_ACCOUNT_LOCKED_OUT behind KDC_ERR_CLIENT_REVOKED.
    pub nt_status: Option<u32>,
}

/// A decoded KDC answer.
#[derive(Clone, Debug, PartialEq)]
pub enum KdcReply {
    /// The whole AS-REP (its enc-part is decrypted with the key of the request's password).
    AsRep(Box<AsRep>),
    /// A service ticket was issued: the encryption type of the ticket (the service's key) and the
    /// service it names.
    TgsRep {
        ticket_etype: i32,
        sname: String,
    },
    Error(KrbError),
}

impl KdcReply {
    pub fn kind(&self) -> MessageKind {
        match self {
            KdcReply::AsRep(_) => MessageKind::AsRep,
            KdcReply::TgsRep { .. } => MessageKind::TgsRep,
            KdcReply::Error(_) => MessageKind::KrbError,
        }
    }
}

/// APPLICATION 11 / 13 / 30, constructed (RFC 4120 5.10).
const AS_REP_TAG: u8 = 0x6b;
const TGS_REP_TAG: u8 = 0x6d;
const KRB_ERROR_TAG: u8 = 0x7e;

/// Decodes a bare KDC answer (no TCP length).
pub fn decode_reply(bytes: &[u8]) -> Result<KdcReply, KerberosError> {
    match bytes.first() {
        Some(&AS_REP_TAG) => {
            let rep: AsRep = contained("an AS-REP", || picky_asn1_der::from_bytes(bytes))?;
            Ok(KdcReply::AsRep(Box::new(rep)))
        }
        Some(&TGS_REP_TAG) => {
            let rep: TgsRep = contained("a TGS-REP", || picky_asn1_der::from_bytes(bytes))?;
            let ticket = &rep.0.ticket.0 .0;
            Ok(KdcReply::TgsRep {
                ticket_etype: etype_of(&ticket.enc_part.0.etype.0),
                sname: ticket
                    .sname
                    .0
                    .name_string
                    .0
                     .0
                    .iter()
                    .map(|s| s.0.as_utf8().to_string())
                    .collect::<Vec<_>>()
                    .join("/"),
            })
        }
        Some(&KRB_ERROR_TAG) => krb_error(bytes).map(KdcReply::Error),
        Some(other) => Err(KerberosError::Der {
            what: "a KDC answer",
            reason: format!(
                "it starts with 0x{other:02X}, not AS-REP (0x6B), TGS-REP (0x6D) or KRB-ERROR (0x7E)"
            ),
        }),
        None => Err(KerberosError::Der {
            what: "a KDC answer",
            reason: "it is empty".to_string(),
        }),
    }
}

pub(crate) fn etype_of(i: &picky_asn1::wrapper::IntegerAsn1) -> i32 {
    der::integer(Tlv {
        tag: der::INTEGER,
        content: i.as_signed_bytes_be(),
    })
    .and_then(|v| i32::try_from(v).ok())
    .unwrap_or(i32::MIN)
}

fn bad(reason: &str) -> KerberosError {
    KerberosError::Der {
        what: "a KRB-ERROR",
        reason: reason.to_string(),
    }
}

fn krb_error(bytes: &[u8]) -> Result<KrbError, KerberosError> {
    let outer = der::read(bytes)
        .map(|(t, _)| t)
        .ok_or_else(|| bad("its length runs past the end"))?;
    let seq = der::single(outer.content)
        .filter(|t| t.tag == der::SEQUENCE)
        .ok_or_else(|| bad("no SEQUENCE inside the APPLICATION 30 tag"))?;
    let f = |n| der::field(seq.content, n);
    let code = f(6)
        .and_then(der::integer)
        .and_then(|c| u32::try_from(c).ok())
        .ok_or_else(|| bad("no error-code [6]"))?;
    let stime = f(4)
        .filter(|t| t.tag == der::GENERALIZED_TIME)
        .and_then(|t| time::kerberos_time_to_unix(t.content))
        .ok_or_else(|| bad("no readable stime [4]"))?;
    let susec = f(5)
        .and_then(der::integer)
        .and_then(|u| u32::try_from(u).ok())
        .filter(|u| *u < 1_000_000)
        .unwrap_or(0);
    let mut err = KrbError {
        code,
        stime,
        susec,
        e_text: f(11).and_then(der::string),
        realm: f(9).and_then(der::string).unwrap_or_default(),
        sname: f(10).and_then(der::principal).unwrap_or_default(),
        pa_types: Vec::new(),
        etype_info: Vec::new(),
        nt_status: None,
    };
    if let Some(e_data) = f(12).filter(|t| t.tag == der::OCTET_STRING) {
        read_e_data(e_data.content, &mut err);
    }
    Ok(err)
}

/// PA-DATA types (RFC 4120 7.5.2, MS-KILE 2.2.1).
const PA_PW_SALT: i64 = 3;
const PA_ETYPE_INFO2: i64 = 19;
/// KERB-ERROR-DATA data-type of a KERB-EXT-ERROR (MS-KILE 2.2.2, KERB_ERR_TYPE_EXTENDED).
const KERB_ERR_TYPE_EXTENDED: i64 = 3;

/// e-data is METHOD-DATA (SEQUENCE OF PA-DATA) for pre-authentication errors (RFC 4120 5.9.1),
/// or a KERB-ERROR-DATA from a Windows KDC (MS-KILE 2.2.2); either may carry a KERB-EXT-ERROR.
fn read_e_data(e_data: &[u8], err: &mut KrbError) {
    let Some(seq) = der::single(e_data).filter(|t| t.tag == der::SEQUENCE) else {
        return;
    };
    // KERB-ERROR-DATA is SEQUENCE { [1] data-type, [2] data-value }; METHOD-DATA's elements are
    // SEQUENCEs, so a [1] directly inside tells them apart.
    if let Some(kind) = der::field(seq.content, 1).and_then(der::integer) {
        if kind == KERB_ERR_TYPE_EXTENDED {
            err.nt_status = der::field(seq.content, 2)
                .filter(|v| v.tag == der::OCTET_STRING)
                .and_then(|v| ext_error(v.content));
        }
        return;
    }
    for pa in der::children(seq.content).filter(|t| t.tag == der::SEQUENCE) {
        let Some(kind) = der::field(pa.content, 1).and_then(der::integer) else {
            continue;
        };
        if let Ok(k) = i32::try_from(kind) {
            err.pa_types.push(k);
        }
        let value = der::field(pa.content, 2)
            .filter(|t| t.tag == der::OCTET_STRING)
            .map(|t| t.content)
            .unwrap_or_default();
        match kind {
            PA_ETYPE_INFO2 => err.etype_info = etype_info2(value),
            PA_PW_SALT => err.nt_status = err.nt_status.or(ext_error(value)),
            _ => {}
        }
    }
}

/// KERB-EXT-ERROR (MS-KILE 2.2.1): status, reserved, flags, little-endian.
fn ext_error(value: &[u8]) -> Option<u32> {
    let bytes: [u8; 12] = value.try_into().ok()?;
    let (status, _) = bytes.split_first_chunk::<4>()?;
    Some(u32::from_le_bytes(*status))
}

/// ETYPE-INFO2 (RFC 4120 5.2.7.5).
fn etype_info2(value: &[u8]) -> Vec<EtypeInfo> {
    let Some(seq) = der::single(value).filter(|t| t.tag == der::SEQUENCE) else {
        return Vec::new();
    };
    der::children(seq.content)
        .filter(|t| t.tag == der::SEQUENCE)
        .filter_map(|entry| {
            let etype = der::field(entry.content, 0)
                .and_then(der::integer)
                .and_then(|e| i32::try_from(e).ok())?;
            Some(EtypeInfo {
                etype,
                salt: der::field(entry.content, 1)
                    .filter(|t| t.tag == der::GENERAL_STRING)
                    .map(|t| t.content.to_vec()),
                s2kparams: der::field(entry.content, 2)
                    .filter(|t| t.tag == der::OCTET_STRING)
                    .map(|t| t.content.to_vec()),
            })
        })
        .take(16)
        .collect()
}

/// The encryption type of the ticket in an AS-REP (the key of the service it is for).
pub fn ticket_etype(rep: &AsRep) -> i32 {
    etype_of(&rep.0.ticket.0 .0.enc_part.0.etype.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Samba 4.17's answers in the Kerberos lab (lab/kerberos/start.sh), captured with dumpcap
    /// and cut out of the frames with tshark (TCP ones without their 4-byte length).
    const PREAUTH_REQUIRED: &str = "7e82011d30820119a003020105a10302011ea411180f32303236313230373135303630355aa5050203043a7aa603020119a70a1b084c41422e54455354a8123010a003020101a10930071b056b75736572a90a1b084c41422e54455354aa1d301ba003020102a11430121b066b72627467741b084c41422e54455354ab2b1b294e65656420746f207573652050412d454e432d54494d455354414d502f50412d504b2d41532d524551ac76047430723009a103020110a20204003009a10302010fa2020400300aa10402020093a20204003009a103020102a2020400300aa10402020088a2020400300aa1040202028fa2020400302ba103020113a22404223020301ea003020112a10f1b0d4c41422e544553546b75736572a206040400001000";
    const S_PRINCIPAL_UNKNOWN: &str = "7e8183308180a003020105a10302011ea411180f32303236313230373135303930335aa50502030c49e8a603020107a70a1b084c41422e54455354a8133011a003020101a10a30081b065244502d4b24a90a1b084c41422e54455354aa283026a003020102a11f301d1b075445524d5352561b127264702d616c6961732e6c61622e74657374";
    const SKEW: &str = "7e81aa3081a7a003020105a10302011ea411180f32303236313230373135303930345aa5050203036dd1a603020125a70a1b084c41422e54455354a8123010a003020101a10930071b056b75736572a90a1b084c41422e54455354aa1d301ba003020102a11430121b066b72627467741b084c41422e54455354ac31042f302d302ba103020113a22404223020301ea003020112a10f1b0d4c41422e544553546b75736572a206040400001000";
    const ETYPE_NOSUPP: &str = "7e8193308190a003020105a10302011ea411180f32303236313230373135303930345aa50502030b39c9a60302010ea70a1b084c41422e54455354a8143012a003020101a10b30091b0772633475736572a90a1b084c41422e54455354aa1d301ba003020102a11430121b066b72627467741b084c41422e54455354ab181b164e6f206b6579206d61746368696e6720656e74797065";
    /// rc4user (an NT hash only) asked with AES only: no ETYPE-INFO2 among the PA-DATA.
    const PREAUTH_REQUIRED_NO_AES: &str = "7e81f13081eea003020105a10302011ea411180f32303236313230373135303930345aa50502030aaebfa603020119a70a1b084c41422e54455354a8143012a003020101a10b30091b0772633475736572a90a1b084c41422e54455354aa1d301ba003020102a11430121b066b72627467741b084c41422e54455354ab2b1b294e65656420746f207573652050412d454e432d54494d455354414d502f50412d504b2d41532d524551ac49044730453009a103020110a20204003009a10302010fa2020400300aa10402020093a20204003009a103020102a2020400300aa10402020088a2020400300aa1040202028fa2020400";

    fn error(hex_text: &str) -> KrbError {
        match decode_reply(&hex::decode(hex_text).unwrap()).unwrap() {
            KdcReply::Error(e) => e,
            other => panic!("not a KRB-ERROR: {other:?}"),
        }
    }

    #[test]
    fn reads_samba_errors_with_the_kdc_clock_and_the_account_keys() {
        let e = error(PREAUTH_REQUIRED);
        assert_eq!(e.code, 25);
        assert_eq!(e.stime, 1_796_655_965); // 2026-12-07 15:06:05 UTC
        assert_eq!(e.susec, 277_114);
        assert_eq!(
            e.e_text.as_deref(),
            Some("Need to use PA-ENC-TIMESTAMP/PA-PK-AS-REQ")
        );
        assert_eq!(
            (e.realm.as_str(), e.sname.as_str()),
            ("LAB.TEST", "krbtgt/LAB.TEST")
        );
        assert_eq!(e.pa_types, [16, 15, 147, 2, 136, 655, 19]);
        assert_eq!(
            e.etype_info,
            [EtypeInfo {
                etype: 18,
                salt: Some(b"LAB.TESTkuser".to_vec()),
                s2kparams: Some(vec![0, 0, 0x10, 0]),
            }]
        );
        assert_eq!(e.nt_status, None);
        let e = error(S_PRINCIPAL_UNKNOWN);
        assert_eq!(
            (e.code, e.sname.as_str()),
            (7, "TERMSRV/rdp-alias.lab.test")
        );
        assert_eq!(e.e_text, None);
        assert_eq!(error(SKEW).code, 37);
        let e = error(ETYPE_NOSUPP);
        assert_eq!(
            (e.code, e.e_text.as_deref()),
            (14, Some("No key matching entype"))
        );
        let e = error(PREAUTH_REQUIRED_NO_AES);
        assert_eq!((e.code, e.etype_info.len()), (25, 0));
        assert!(!e.pa_types.contains(&19));
    }

    #[test]
    fn every_truncation_and_garbage_is_an_error_never_a_panic() {
        let bytes = hex::decode(PREAUTH_REQUIRED).unwrap();
        for n in 0..bytes.len() {
            assert!(decode_reply(&bytes[..n]).is_err(), "cut at {n}");
        }
        for garbage in [
            &b""[..],
            b"\x6b\x00",
            b"\x6d\x03\x30\x01\x00",
            b"\x7e\x84\xff\xff\xff\xff",
            b"HTTP/1.1 400",
        ] {
            assert!(decode_reply(garbage).is_err(), "{garbage:?}");
        }
    }

    /// MS-KILE 2.2.1 / 2.2.2: a Windows KDC's extended error, in PA-PW-SALT (METHOD-DATA) and
    /// in KERB-ERROR-DATA; built by hand from the structures (no Windows KDC in the lab).
    #[test]
    fn reads_the_windows_extended_status() {
        let mut e = error(S_PRINCIPAL_UNKNOWN);
        // METHOD-DATA: SEQUENCE { PA-DATA { [1] 3 (PA-PW-SALT), [2] OCTET STRING
        // (KERB-EXT-ERROR: STATUS_ACCOUNT_LOCKED_OUT, 0, 1) } }.
        let ext = [0x34, 0x02, 0x00, 0xc0, 0, 0, 0, 0, 1, 0, 0, 0];
        let mut pa = vec![0xa1, 0x03, 0x02, 0x01, 0x03, 0xa2, 0x0e, 0x04, 0x0c];
        pa.extend_from_slice(&ext);
        let mut seq = vec![0x30, pa.len() as u8];
        seq.extend_from_slice(&pa);
        let mut outer = vec![0x30, seq.len() as u8];
        outer.extend_from_slice(&seq);
        read_e_data(&outer, &mut e);
        assert_eq!(e.nt_status, Some(0xC000_0234));
        assert_eq!(e.pa_types, [3]);
        // KERB-ERROR-DATA { [1] 3, [2] KERB-EXT-ERROR }.
        let mut e = error(S_PRINCIPAL_UNKNOWN);
        read_e_data(&seq, &mut e);
        assert_eq!(e.nt_status, Some(0xC000_0234));
    }
}
