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
