//! The `--json` contract: one object with `target`, `verdict`, `findings`, `facts` and
//! `observations` (the JSON contract scripts rely on: these fields are never renamed).

use rdpdoctor_diagnose::Diagnosis;
use rdpdoctor_observations::Observations;
use serde_json::{json, Value};

pub fn value(diagnosis: &Diagnosis, obs: &Observations) -> Value {
    let mut v = serde_json::to_value(diagnosis).unwrap_or_else(|_| json!({}));
    if let Value::Object(map) = &mut v {
        map.insert(
            "rdpdoctor".to_string(),
            json!({ "version": env!("CARGO_PKG_VERSION") }),
        );
        map.insert(
            "observations".to_string(),
            serde_json::to_value(obs).unwrap_or(Value::Null),
        );
        map.entry("target").or_insert(Value::Null);
    }
    v
}

/// One line of JSON (JSON Lines friendly).
pub fn report(diagnosis: &Diagnosis, obs: &Observations) -> String {
    value(diagnosis, obs).to_string()
}
