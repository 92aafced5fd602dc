//! The README's profile table and `--client`'s help come from the profile table.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // tests

use super::{names_help, profiles_markdown, PROFILES};

const BEGIN: &str =
    "<!-- client profiles: generated from crates/diagnose/src/clients/profiles.rs -->\n";
const END: &str = "<!-- end of client profiles -->";

/// The table between the README's markers is the one the profiles make; regenerate it with
/// `RDPDOCTOR_BLESS=1 cargo test -p rdpdoctor-diagnose readme_profile_table_is_current`.
#[test]
fn readme_profile_table_is_current() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../README.md");
    let readme = std::fs::read_to_string(&path).unwrap();
    let start = readme
        .find(BEGIN)
        .expect("the README's profile table markers")
        + BEGIN.len();
    let end = readme[start..].find(END).expect("the end marker") + start;
    let want = profiles_markdown();
    if std::env::var_os("RDPDOCTOR_BLESS").is_some() {
        let text = format!("{}{want}{}", &readme[..start], &readme[end..]);
        std::fs::write(&path, text).unwrap();
        return;
    }
    assert!(
        readme[start..end] == want,
        "README.md's profile table is out of date with the profiles; regenerate it with \
         `RDPDOCTOR_BLESS=1 cargo test -p rdpdoctor-diagnose readme_profile_table_is_current`"
    );
}

/// Every id and alias is in `--client`'s help, each once.
#[test]
fn the_help_lists_every_profile_and_alias() {
    let help = names_help();
    for p in PROFILES {
        assert!(help.contains(p.id), "{}", p.id);
        for a in p.aliases {
            assert!(help.contains(&format!("{a} (= {}", p.id)), "{a}");
        }
    }
    assert!(
        help.contains("windows (= mstsc-win11, the default)"),
        "{help}"
    );
}

/// What the rules read of the chosen client comes from its simulation, with or without the
/// cipher scan: the TLS version step and the certificate policy.
#[test]
fn the_chosen_client_is_simulated_without_the_cipher_scan() {
    use super::{simulate, ClientProfile};
    use rdpdoctor_observations::{
        Observations, TlsAttempt, TlsObservation, TlsOutcome, TlsVersion,
    };
    let mut obs = Observations::new(None);
    obs.tls = Some(TlsObservation {
        attempts: vec![TlsAttempt {
            version: TlsVersion::Tls13,
            requested: 3,
            elapsed_ms: 1.0,
            outcome: TlsOutcome::Completed {
                cipher: "TLS_AES_256_GCM_SHA384".into(),
            },
        }],
        certificate: None,
        identity: None,
    });
    let chosen = |id: &str| simulate(&obs, &ClientProfile::by_name(id).unwrap()).chosen;
    // TLS 1.3 only: mstsc on Windows 10 has no version in common, Windows 11 has.
    assert!(chosen("mstsc-win10").no_common_tls_version);
    assert!(!chosen("mstsc-win11").no_common_tls_version);
    // Only the hardened profile refuses a certificate it cannot verify.
    assert!(chosen("hardened").refuses_unverified_certificate);
    assert!(!chosen("mstsc-win11").refuses_unverified_certificate);
    assert!(!chosen("ironrdp").refuses_unverified_certificate);
    // No scan: no rows, the chosen client still decided.
    assert!(simulate(&obs, &ClientProfile::default()).rows.is_empty());
}
