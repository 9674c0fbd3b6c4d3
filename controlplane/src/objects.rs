//! Object semantics shared by every kind: what the server sets on create and keeps on
//! update (uid, names, timestamps, generation), validation with field paths, defaults, and
//! the unknown-field check behind `fieldValidation=Strict`.
//!
//! Parts: [`meta`] (metadata lifecycle), [`validate`] (names and per-kind rules),
//! [`defaults`] (Kubernetes' defaults per kind), [`unknown`] (unknown fields), [`service`]
//! (what a Service keeps of its allocated values across updates).

pub mod defaults;
pub mod meta;
pub mod service;
pub mod unknown;
pub mod validate;
