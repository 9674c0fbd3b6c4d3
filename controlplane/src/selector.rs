//! Kubernetes selectors: [`LabelSelector`] (the full `labelSelector` grammar: `a=b`,
//! `a==b`, `a!=b`, `a in (x,y)`, `a notin (x)`, `a`, `!a`) and [`FieldSelector`]
//! (`f=v`, `f==v`, `f!=v`), both comma-separated conjunctions.
//!
//! Parts: the label grammar in [`label`], the field grammar in [`field`].

mod field;
mod label;

pub use field::{FieldRequirement, FieldSelector};
pub use label::{LabelRequirement, LabelSelector, Operator};
pub(crate) use label::{
    validate_key as validate_label_key, validate_value as validate_label_value,
};

/// A selector that could not be parsed; the message says where and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unable to parse requirement: {0}")]
pub struct SelectorError(pub String);
