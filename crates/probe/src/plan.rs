//! Which X.224 requests a check must send, and which answers follow from answers already
//! received. Connections are what a check costs (xrdp forks per connection, freerdp-shadow accepts
//! them one after another), so a request whose answer is implied is not sent; the answer is
//! recorded with `implied_by` naming the request it follows from.
//!
//! The implications rest on MS-RDPBCGR 3.3.5.3.1 (the server selects from the requested
//! protocols, or fails with the code that names what it requires or refuses):
//! - a server that selects SSL for SSL|HYBRID|HYBRID_EX supports neither CredSSP flavour, so it
//!   selects SSL for SSL|HYBRID and for SSL alone;
//! - a server that selects HYBRID or HYBRID_EX for SSL|HYBRID|HYBRID_EX supports HYBRID, so it
//!   selects HYBRID for SSL|HYBRID (HYBRID_EX is only chosen when requested);
//! - SSL_NOT_ALLOWED_BY_SERVER (2) means "Standard RDP Security only": every request without
//!   PROTOCOL_RDP alone gets it again (SSL|HYBRID, SSL, RDSTLS);
//! - HYBRID_REQUIRED_BY_SERVER (5) for a request without HYBRID means every other request without
//!   HYBRID gets it too (Standard RDP Security only, RDSTLS only).

use rdpdoctor_observations::{protocol, NegFailureCode, NegotiationOutcome};

/// What an up-to-date mstsc requests: TLS, CredSSP, and CredSSP with Early User Authorization.
pub(crate) const PRIMARY: u32 = protocol::MSTSC_DEFAULT;

/// The answer `requested` would get, given the answer `known` got for `known_requested`, when it
/// follows from the rules above; `None` when it must be asked.
pub(crate) fn implied(
    known_requested: u32,
    known: &NegotiationOutcome,
    requested: u32,
) -> Option<NegotiationOutcome> {
    match known {
        NegotiationOutcome::Selected { protocol: p, flags } if known_requested == PRIMARY => {
            let selected = match (*p, requested) {
                (protocol::SSL, r) if r == protocol::SSL | protocol::HYBRID => protocol::SSL,
                (protocol::SSL, protocol::SSL) => protocol::SSL,
                (protocol::HYBRID | protocol::HYBRID_EX, r)
                    if r == protocol::SSL | protocol::HYBRID =>
                {
                    protocol::HYBRID
                }
                _ => return None,
            };
            Some(NegotiationOutcome::Selected {
                protocol: selected,
                flags: *flags,
            })
        }
        NegotiationOutcome::Failure {
            code: NegFailureCode::SslNotAllowedByServer,
        } if known_requested & protocol::SSL != 0
            && requested != protocol::RDP
            && requested & (protocol::SSL | protocol::HYBRID | protocol::RDSTLS) != 0 =>
        {
            Some(known.clone())
        }
        NegotiationOutcome::Failure {
            code: NegFailureCode::HybridRequiredByServer,
        } if known_requested & protocol::HYBRID == 0 && !protocol::offers_nla(requested) => {
            Some(known.clone())
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sel(p: u32) -> NegotiationOutcome {
        NegotiationOutcome::Selected {
            protocol: p,
            flags: 1,
        }
    }

    #[test]
    fn what_follows_from_the_primary_answer() {
        let sh = protocol::SSL | protocol::HYBRID;
        assert_eq!(
            implied(PRIMARY, &sel(protocol::SSL), sh),
            Some(sel(protocol::SSL))
        );
        assert_eq!(
            implied(PRIMARY, &sel(protocol::SSL), protocol::SSL),
            Some(sel(protocol::SSL))
        );
        assert_eq!(
            implied(PRIMARY, &sel(protocol::HYBRID_EX), sh),
            Some(sel(protocol::HYBRID))
        );
        // SSL alone against a CredSSP server may be refused (5) or accepted: ask.
        assert_eq!(
            implied(PRIMARY, &sel(protocol::HYBRID), protocol::SSL),
            None
        );
        // Nothing follows for Standard RDP Security or RDSTLS requests.
        assert_eq!(implied(PRIMARY, &sel(protocol::SSL), protocol::RDP), None);
        assert_eq!(
            implied(PRIMARY, &sel(protocol::SSL), protocol::RDSTLS),
            None
        );
        // An answer that is not a known protocol implies nothing.
        assert_eq!(implied(PRIMARY, &sel(0x40), sh), None);
        assert_eq!(implied(PRIMARY, &sel(protocol::RDP), sh), None);
    }

    #[test]
    fn what_follows_from_failures() {
        let two = NegotiationOutcome::Failure {
            code: NegFailureCode::SslNotAllowedByServer,
        };
        assert_eq!(implied(PRIMARY, &two, protocol::SSL), Some(two.clone()));
        assert_eq!(implied(PRIMARY, &two, protocol::RDSTLS), Some(two.clone()));
        assert_eq!(implied(PRIMARY, &two, protocol::RDP), None);
        let five = NegotiationOutcome::Failure {
            code: NegFailureCode::HybridRequiredByServer,
        };
        assert_eq!(
            implied(protocol::SSL, &five, protocol::RDP),
            Some(five.clone())
        );
        assert_eq!(
            implied(protocol::SSL, &five, protocol::RDSTLS),
            Some(five.clone())
        );
        assert_eq!(implied(protocol::SSL, &five, PRIMARY), None);
        // Code 5 in answer to a request that offered HYBRID says nothing about the others.
        assert_eq!(implied(PRIMARY, &five, protocol::RDP), None);
        // Other codes imply nothing.
        let one = NegotiationOutcome::Failure {
            code: NegFailureCode::SslRequiredByServer,
        };
        assert_eq!(implied(protocol::RDP, &one, protocol::RDSTLS), None);
    }
}
