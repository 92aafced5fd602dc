//! Principal names (RFC 4120 5.2.2) as the requests carry them, and the DER integers of their
//! fields: shared by the requests and the keys they are made with.

use super::KerberosError;
use picky_asn1::restricted_string::Ia5String;
use picky_asn1::wrapper::{Asn1SequenceOf, ExplicitContextTag0, ExplicitContextTag1, IntegerAsn1};
use picky_krb::data_types::{KerberosStringAsn1, PrincipalName};

/// Name types (RFC 4120 6.2).
const NT_PRINCIPAL: i32 = 1;
const NT_SRV_INST: i32 = 2;

/// A principal name (RFC 4120 5.2.2) without its realm.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Principal {
    pub kind: i32,
    pub names: Vec<String>,
}

impl Principal {
    /// A user (or computer) account: `kuser`, `RDP-K$`.
    pub fn user(name: &str) -> Principal {
        Principal {
            kind: NT_PRINCIPAL,
            names: vec![name.to_string()],
        }
    }

    /// A service instance: `TERMSRV/rdp-k.lab.test`, `krbtgt/LAB.TEST`.
    pub fn service(service: &str, instance: &str) -> Principal {
        Principal {
            kind: NT_SRV_INST,
            names: vec![service.to_string(), instance.to_string()],
        }
    }

    pub(super) fn to_picky(&self) -> Result<PrincipalName, KerberosError> {
        let names = self
            .names
            .iter()
            .map(|n| kerberos_string(n))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(PrincipalName {
            name_type: ExplicitContextTag0::from(int(i64::from(self.kind))),
            name_string: ExplicitContextTag1::from(Asn1SequenceOf::from(names)),
        })
    }
}

impl std::fmt::Display for Principal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.names.join("/"))
    }
}

pub(crate) fn kerberos_string(s: &str) -> Result<KerberosStringAsn1, KerberosError> {
    Ia5String::from_string(s.to_string())
        .map(KerberosStringAsn1::from)
        .map_err(|_| KerberosError::Name(s.to_string()))
}

pub(crate) fn int(v: i64) -> IntegerAsn1 {
    // Minimal two's-complement bytes, as DER wants them.
    let bytes = v.to_be_bytes();
    let mut start = 0;
    while start < 7 {
        let (Some(&b), Some(&next)) = (bytes.get(start), bytes.get(start + 1)) else {
            break;
        };
        let redundant = (b == 0x00 && next & 0x80 == 0) || (b == 0xff && next & 0x80 != 0);
        if !redundant {
            break;
        }
        start += 1;
    }
    IntegerAsn1::from_bytes_be_signed(bytes.get(start..).unwrap_or_default().to_vec())
}
