//! One table per code family. Each file holds a single `const TABLE: &[CodeEntry]`, written by
//! hand from the sources named in its header and in each row's `source`.

use crate::{CodeEntry, Family};

pub mod disconnect;
pub mod errinfo;
pub mod extended;
pub mod freerdp;
pub mod gateway;
pub mod hresult;
pub mod kerberos;
pub mod neg_failure;
pub mod ntstatus;
pub mod tls_alert;
pub mod tsgu;
pub mod win32;

/// The table of one family.
pub fn table(family: Family) -> &'static [CodeEntry] {
    match family {
        Family::Disconnect => disconnect::TABLE,
        Family::Extended => extended::TABLE,
        Family::Errinfo => errinfo::TABLE,
        Family::NegFailure => neg_failure::TABLE,
        Family::Ntstatus => ntstatus::TABLE,
        Family::Hresult => hresult::TABLE,
        Family::TlsAlert => tls_alert::TABLE,
        Family::Freerdp => freerdp::TABLE,
        Family::Gateway => gateway::TABLE,
        Family::Tsgu => tsgu::TABLE,
        Family::Kerberos => kerberos::TABLE,
        Family::Win32 => win32::TABLE,
    }
}

/// A one-element `'static` slice naming a code, for `see_also` in const tables: match arms with
/// literal values are promoted to statics, which a computed index could not be.
macro_rules! code_refs {
    ($family:expr, $value:expr; $($n:literal),* $(,)?) => {
        match $value {
            $($n => &[crate::CodeRef { family: $family, value: $n }],)*
            _ => &[],
        }
    };
}

/// The Set Error Info code with the same number as an mstsc extended reason or an xfreerdp exit
/// code, where the spec defines one (MS-RDPBCGR 2.2.5.1.1).
pub(crate) const fn errinfo_ref(value: u32) -> &'static [crate::CodeRef] {
    code_refs!(crate::Family::Errinfo, value;
        0, 1, 2, 3, 4, 5, 6, 7, 9, 10, 11, 12, 25, 26,
        0x100, 0x101, 0x102, 0x103, 0x104, 0x105, 0x106, 0x107, 0x108, 0x109, 0x10A)
}

/// The mstsc extended reason with this number (only 8, the FIPS refusal, has no ERRINFO twin).
pub(crate) const fn extended_ref(value: u32) -> &'static [crate::CodeRef] {
    code_refs!(crate::Family::Extended, value; 8)
}
