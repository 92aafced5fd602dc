//! `rdpdoctor findings`: the finding catalog.

use rdpdoctor_diagnose::catalog;

#[derive(clap::Args, Debug)]
pub struct FindingsArgs {
    /// Print the catalog as the Markdown reference page (docs/findings.md)
    #[arg(long, conflicts_with = "json")]
    pub markdown: bool,
    /// Print the catalog as JSON
    #[arg(long)]
    pub json: bool,
}

pub fn run(args: &FindingsArgs) -> u8 {
    if args.markdown {
        crate::out(&catalog::reference_markdown());
    } else if args.json {
        let list: Vec<serde_json::Value> = catalog::all()
            .map(|d| {
                serde_json::json!({
                    "id": d.id,
                    "step": d.step,
                    "severity": d.severity,
                    "severity_rule": d.severity_rule,
                    "title": d.title,
                })
            })
            .collect();
        crate::out(&format!("{}\n", serde_json::Value::Array(list)));
    } else {
        for d in catalog::all() {
            crate::out(&format!(
                "{:<26} {:<9} {:<22} {}\n",
                d.id,
                d.severity.label(),
                d.step.label(),
                d.title
            ));
        }
    }
    0
}
