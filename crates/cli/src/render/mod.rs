//! Renderers: they format a Diagnosis (and Observations) and never re-derive meaning.

pub mod escape;
pub mod html;
pub mod json;
pub mod nagios;
pub mod offline;
pub mod prometheus;
pub mod text;
