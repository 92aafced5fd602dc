//! `rdpdoctor explain`: placeholder, being written.

#[derive(clap::Args)]
pub struct ExplainArgs {
    /// Codes to decode
    pub codes: Vec<String>,
}

pub fn run(_args: &ExplainArgs) -> u8 {
    1
}
