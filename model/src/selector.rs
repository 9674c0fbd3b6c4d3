//! Kubernetes selectors: [`LabelSelector`] (the full `labelSelector` grammar: `a=b`,
//! `a==b`, `a!=b`, `a in (x,y)`, `a notin (x)`, `a`, `!a`) and [`FieldSelector`]
//! (`f=v`, `f==v`, `f!=v`), both comma-separated conjunctions.
//!
//! Parts: the label grammar in [`label`], the field grammar in [`field`], the parse error
//! in [`error`].

mod error;
mod field;
mod label;

pub use error::SelectorError;
pub use field::{FieldRequirement, FieldSelector};
pub use label::{LabelRequirement, LabelSelector, Operator};
pub use label::{validate_key as validate_label_key, validate_value as validate_label_value};
