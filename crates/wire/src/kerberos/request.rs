//! The requests a client sends to a KDC (RFC 4120 5.4.1 KDC-REQ): an AS-REQ for a ticket-granting
//! ticket (without pre-authentication, or with PA-ENC-TIMESTAMP, 5.2.7.2) and a TGS-REQ for a
//! service ticket (PA-TGS-REQ with an AP-REQ, 5.5.1), shaped as a Windows client shapes them.

use super::keys::{Key, Tgt};
use super::principal::{int, kerberos_string, Principal};
use super::{encode, time, KerberosError};
use picky_asn1::bit_string::BitString;
use picky_asn1::wrapper::{
    Asn1SequenceOf, BitStringAsn1, ExplicitContextTag0, ExplicitContextTag1, ExplicitContextTag2,
    ExplicitContextTag3, ExplicitContextTag4, ExplicitContextTag5, ExplicitContextTag7,
    ExplicitContextTag8, OctetStringAsn1, Optional,
};
use picky_krb::constants::key_usages;
use picky_krb::data_types::{
    Authenticator, AuthenticatorInner, Checksum, EncryptedData, KerbPaPacRequest, PaData,
    PaEncTsEnc,
};
use picky_krb::messages::{ApReq, ApReqInner, AsReq, KdcReq, KdcReqBody, TgsReq};

/// PA-DATA types (RFC 4120 7.5.2; PA-PAC-REQUEST MS-KILE 2.2.3).
const PA_TGS_REQ: i32 = 1;
const PA_ENC_TIMESTAMP: i32 = 2;
const PA_PAC_REQUEST: i32 = 128;
/// KDCOptions as Windows sends them (MS-KILE 3.1.5.1 and RFC 4120 5.4.1): forwardable (1),
/// renewable (8), canonicalize (15), and renewable-ok (27) in the AS-REQ.
const AS_OPTIONS: [u8; 4] = [0x40, 0x81, 0x00, 0x10];
const TGS_OPTIONS: [u8; 4] = [0x40, 0x81, 0x00, 0x00];
/// `till`: Windows asks for 2037-09-13 02:48:05 UTC and lets the KDC's policy shorten it.
const TILL: i64 = 2_136_422_885;

fn kerberos_time(unix: i64) -> Result<picky_krb::data_types::KerberosTime, KerberosError> {
    time::from_unix(unix)
        .map(Into::into)
        .ok_or_else(|| KerberosError::Framing(format!("{unix} is not a time Kerberos can carry")))
}

/// A fresh nonce (RFC 4120 5.4.1): 31 random bits, since some KDCs read it as signed.
pub fn nonce() -> u32 {
    let mut b = [0u8; 4];
    // Without an OS random source the time stands in: the nonce only matches a reply to its
    // request, it protects no secret.
    if getrandom::fill(&mut b).is_err() {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        b = nanos.to_be_bytes();
    }
    u32::from_be_bytes(b) & 0x7fff_ffff
}

/// What an AS-REQ asks for.
#[derive(Clone, Debug)]
pub struct AsRequest {
    pub client: Principal,
    /// The client's realm, also the realm of the service asked for.
    pub realm: String,
    /// `krbtgt/REALM` for a ticket-granting ticket; a service asked for directly otherwise.
    pub service: Principal,
    pub nonce: u32,
    /// Encryption types offered, in preference order.
    pub etypes: Vec<i32>,
}

fn pa(kind: i32, value: Vec<u8>) -> PaData {
    PaData {
        padata_type: ExplicitContextTag1::from(int(i64::from(kind))),
        padata_data: ExplicitContextTag2::from(OctetStringAsn1(value)),
    }
}

fn flags(bytes: [u8; 4]) -> BitStringAsn1 {
    BitStringAsn1::from(BitString::with_bytes(bytes.to_vec()))
}

fn body(
    options: [u8; 4],
    client: Option<&Principal>,
    realm: &str,
    service: &Principal,
    nonce: u32,
    etypes: &[i32],
) -> Result<KdcReqBody, KerberosError> {
    Ok(KdcReqBody {
        kdc_options: ExplicitContextTag0::from(flags(options)),
        cname: Optional::from(
            client
                .map(|c| c.to_picky().map(ExplicitContextTag1::from))
                .transpose()?,
        ),
        realm: ExplicitContextTag2::from(kerberos_string(realm)?),
        sname: Optional::from(Some(ExplicitContextTag3::from(service.to_picky()?))),
        from: Optional::from(None),
        till: ExplicitContextTag5::from(kerberos_time(TILL)?),
        rtime: Optional::from(None),
        nonce: ExplicitContextTag7::from(int(i64::from(nonce))),
        etype: ExplicitContextTag8::from(Asn1SequenceOf::from(
            etypes
                .iter()
                .map(|e| int(i64::from(*e)))
                .collect::<Vec<_>>(),
        )),
        addresses: Optional::from(None),
        enc_authorization_data: Optional::from(None),
        additional_tickets: Optional::from(None),
    })
}

/// An AS-REQ. With `preauth` (the key derived from the password and the time now, Unix seconds
/// and microseconds) it carries PA-ENC-TIMESTAMP: the client's time encrypted with that key
/// (key usage 1). That timestamp proves the password to the KDC, and whoever receives it can
/// try passwords against it offline: the caller decides where it may go.
pub fn as_req(
    req: &AsRequest,
    preauth: Option<(&Key, i64, u32)>,
) -> Result<Vec<u8>, KerberosError> {
    let mut padata = Vec::new();
    if let Some((key, now, usec)) = preauth {
        let ts = PaEncTsEnc {
            patimestamp: ExplicitContextTag0::from(kerberos_time(now)?),
            pausec: Optional::from(Some(ExplicitContextTag1::from(int(i64::from(usec))))),
        };
        let plain = encode("PA-ENC-TS-ENC", &ts)?;
        let enc = key.encrypt(key_usages::AS_REQ_TIMESTAMP, &plain)?;
        padata.push(pa(PA_ENC_TIMESTAMP, encode("PA-ENC-TIMESTAMP", &enc)?));
    }
    let pac = KerbPaPacRequest {
        include_pac: ExplicitContextTag0::from(true),
    };
    padata.push(pa(PA_PAC_REQUEST, encode("KERB-PA-PAC-REQUEST", &pac)?));
    let req_body = body(
        AS_OPTIONS,
        Some(&req.client),
        &req.realm,
        &req.service,
        req.nonce,
        &req.etypes,
    )?;
    let as_req = AsReq::from(KdcReq {
        pvno: ExplicitContextTag1::from(int(5)),
        msg_type: ExplicitContextTag2::from(int(10)),
        padata: Optional::from(Some(ExplicitContextTag3::from(Asn1SequenceOf::from(
            padata,
        )))),
        req_body: ExplicitContextTag4::from(req_body),
    });
    encode("AS-REQ", &as_req)
}

/// A TGS-REQ for `service` in the TGT's realm, authenticated with the TGT (PA-TGS-REQ: an
/// AP-REQ whose authenticator, encrypted with the TGT's session key (key usage 7), carries a
/// checksum of the request body (key usage 6), RFC 4120 5.5.1 and 7.5.1).
pub fn tgs_req(
    tgt: &Tgt,
    service: &Principal,
    nonce: u32,
    etypes: &[i32],
    now: (i64, u32),
) -> Result<Vec<u8>, KerberosError> {
    let req_body = body(TGS_OPTIONS, None, &tgt.realm, service, nonce, etypes)?;
    let body_der = encode("KDC-REQ-BODY", &req_body)?;
    let (cksum_type, checksum) = tgt.session_key.checksum(
        key_usages::TGS_REQ_PA_DATA_AP_REQ_AUTHENTICATOR_CKSUM,
        &body_der,
    )?;
    let authenticator = Authenticator::from(AuthenticatorInner {
        authenticator_vno: ExplicitContextTag0::from(int(5)),
        crealm: ExplicitContextTag1::from(kerberos_string(&tgt.realm)?),
        cname: ExplicitContextTag2::from(tgt.client.to_picky()?),
        cksum: Optional::from(Some(ExplicitContextTag3::from(Checksum {
            cksumtype: ExplicitContextTag0::from(int(cksum_type)),
            checksum: ExplicitContextTag1::from(OctetStringAsn1(checksum)),
        }))),
        cusec: ExplicitContextTag4::from(int(i64::from(now.1))),
        ctime: ExplicitContextTag5::from(kerberos_time(now.0)?),
        subkey: Optional::from(None),
        seq_number: Optional::from(None),
        authorization_data: Optional::from(None),
    });
    let plain = encode("Authenticator", &authenticator)?;
    let enc: EncryptedData = tgt
        .session_key
        .encrypt(key_usages::TGS_REQ_PA_DATA_AP_REQ_AUTHENTICATOR, &plain)?;
    let ap_req = ApReq::from(ApReqInner {
        pvno: ExplicitContextTag0::from(int(5)),
        msg_type: ExplicitContextTag1::from(int(14)),
        ap_options: ExplicitContextTag2::from(flags([0; 4])),
        ticket: ExplicitContextTag3::from(tgt.ticket.clone()),
        authenticator: ExplicitContextTag4::from(enc),
    });
    let padata = vec![pa(PA_TGS_REQ, encode("AP-REQ", &ap_req)?)];
    let tgs_req = TgsReq::from(KdcReq {
        pvno: ExplicitContextTag1::from(int(5)),
        msg_type: ExplicitContextTag2::from(int(12)),
        padata: Optional::from(Some(ExplicitContextTag3::from(Asn1SequenceOf::from(
            padata,
        )))),
        req_body: ExplicitContextTag4::from(req_body),
    });
    encode("TGS-REQ", &tgs_req)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_summary_says_what_was_asked_and_whether_preauth_went_with_it() {
        let req = AsRequest {
            client: Principal::user("kuser"),
            realm: "LAB.TEST".to_string(),
            service: Principal::service("krbtgt", "LAB.TEST"),
            nonce: 7,
            etypes: vec![18],
        };
        let plain = summarize_request(&as_req(&req, None).unwrap()).unwrap();
        assert_eq!(
            plain,
            RequestSummary {
                kind: "AS-REQ",
                client: Some("kuser".to_string()),
                service: "krbtgt/LAB.TEST".to_string(),
                realm: "LAB.TEST".to_string(),
                preauth: false,
            }
        );
        let key = crate::kerberos::string_to_key(18, "pw", b"LAB.TESTkuser", None).unwrap();
        let with = as_req(&req, Some((&key, 1_796_655_965, 5))).unwrap();
        assert!(summarize_request(&with).unwrap().preauth);
        assert_eq!(summarize_request(b"\x30\x00"), None);
        for n in 0..with.len() {
            let _ = summarize_request(&with[..n]);
        }
    }

    #[test]
    fn integers_are_minimal() {
        for (v, bytes) in [
            (0i64, vec![0u8]),
            (5, vec![5]),
            (128, vec![0, 0x80]),
            (0x7fff_ffff, vec![0x7f, 0xff, 0xff, 0xff]),
            (-135, vec![0xff, 0x79]),
        ] {
            assert_eq!(int(v).as_signed_bytes_be(), &bytes[..], "{v}");
        }
    }

    #[test]
    fn an_as_req_without_preauth_names_the_client_the_service_and_aes_only() {
        let req = AsRequest {
            client: Principal::user("kuser"),
            realm: "LAB.TEST".to_string(),
            service: Principal::service("krbtgt", "LAB.TEST"),
            nonce: 0x1234_5678,
            etypes: vec![18, 17],
        };
        let der = as_req(&req, None).unwrap();
        // [APPLICATION 10], and the pieces a KDC reads.
        assert_eq!(der.first(), Some(&0x6a));
        let hex = hex::encode(&der);
        assert!(hex.contains(&hex::encode(b"kuser")));
        assert!(hex.contains(&hex::encode(b"krbtgt")));
        assert!(hex.contains("a0070305004081001")); // kdc-options 0x40810010
        assert!(hex.contains("a8083006020112020111")); // etype { 18, 17 }
        assert!(hex.contains("a7060204" /* nonce */));
        assert!(!hex.contains("a1030201020")); // no PA-ENC-TIMESTAMP (padata-type 2)
        let pieces = picky_asn1_der::from_bytes::<AsReq>(&der).unwrap();
        assert_eq!(
            pieces.0.req_body.0.nonce.0.as_unsigned_bytes_be(),
            [0x12, 0x34, 0x56, 0x78]
        );
        assert!(picky_asn1::restricted_string::Ia5String::from_string("ü".to_string()).is_err());
        assert!(matches!(
            as_req(
                &AsRequest {
                    client: Principal::user("jürgen"),
                    ..req
                },
                None
            ),
            Err(KerberosError::Name(_))
        ));
    }
}

/// What a request someone else built asks for (sspi's, in the logon), read with the lax DER
/// walker for the record: the message, the client and service principals, the realm, and
/// whether it carries PA-ENC-TIMESTAMP. Nothing secret is read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RequestSummary {
    pub kind: &'static str,
    pub client: Option<String>,
    pub service: String,
    pub realm: String,
    pub preauth: bool,
}

/// Reads a bare AS-REQ or TGS-REQ (RFC 4120 5.4.1).
pub fn summarize_request(bytes: &[u8]) -> Option<RequestSummary> {
    use super::der;
    let kind = match bytes.first()? {
        0x6a => "AS-REQ",
        0x6c => "TGS-REQ",
        _ => return None,
    };
    let outer = der::read(bytes)?.0;
    let seq = der::single(outer.content).filter(|t| t.tag == der::SEQUENCE)?;
    let preauth = der::field(seq.content, 3).is_some_and(|padata| {
        der::children(padata.content).any(|pa| {
            der::field(pa.content, 1).and_then(der::integer) == Some(i64::from(PA_ENC_TIMESTAMP))
        })
    });
    let body = der::field(seq.content, 4).filter(|t| t.tag == der::SEQUENCE)?;
    Some(RequestSummary {
        kind,
        client: der::field(body.content, 1).and_then(der::principal),
        realm: der::field(body.content, 2)
            .and_then(der::string)
            .unwrap_or_default(),
        service: der::field(body.content, 3)
            .and_then(der::principal)
            .unwrap_or_default(),
        preauth,
    })
}
