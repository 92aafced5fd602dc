//! One table per code family. Each file holds a single `const TABLE: &[CodeEntry]`, written by
//! hand from the sources named in its header and in each row's `source`.

use crate::{CodeEntry, Family};

pub mod disconnect;
pub mod errinfo;
pub mod extended;
pub mod freerdp;
pub mod hresult;
pub mod neg_failure;
pub mod ntstatus;
pub mod tls_alert;

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
    }
}
