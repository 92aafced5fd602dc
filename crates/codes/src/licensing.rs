//! What a server's Licensing Error Message says (MS-RDPELE 2.2.2.7.1): its error code, and the
//! state transition it asks of the client.

/// dwErrorCode values.
pub const ERRORS: &[(u32, &str)] = &[
    (0x1, "ERR_INVALID_SERVER_CERTIFICATE"),
    (0x2, "ERR_NO_LICENSE"),
    (0x3, "ERR_INVALID_MAC"),
    (0x4, "ERR_INVALID_SCOPE"),
    (0x6, "ERR_NO_LICENSE_SERVER"),
    (0x7, "STATUS_VALID_CLIENT"),
    (0x8, "ERR_INVALID_CLIENT"),
    (0xB, "ERR_INVALID_PRODUCTID"),
    (0xC, "ERR_INVALID_MESSAGE_LEN"),
];

/// dwStateTransition values.
pub const STATE_TRANSITIONS: &[(u32, &str)] = &[
    (1, "ST_TOTAL_ABORT"),
    (2, "ST_NO_TRANSITION"),
    (3, "ST_RESET_PHASE_TO_START"),
    (4, "ST_RESEND_LAST_MESSAGE"),
];

fn name(table: &'static [(u32, &'static str)], value: u32) -> &'static str {
    table
        .iter()
        .find(|(v, _)| *v == value)
        .map_or("undocumented", |(_, n)| *n)
}

/// The name of a dwErrorCode ("undocumented" for a value the table lacks).
pub fn error_name(code: u32) -> &'static str {
    name(ERRORS, code)
}

/// The name of a dwStateTransition ("undocumented" for a value the table lacks).
pub fn state_transition_name(st: u32) -> &'static str {
    name(STATE_TRANSITIONS, st)
}

#[cfg(test)]
mod tests {
    #[test]
    fn names_known_and_unknown_values() {
        assert_eq!(super::error_name(0x7), "STATUS_VALID_CLIENT");
        assert_eq!(super::error_name(0x5), "undocumented");
        assert_eq!(super::state_transition_name(2), "ST_NO_TRANSITION");
        assert_eq!(super::state_transition_name(0), "undocumented");
    }
}
