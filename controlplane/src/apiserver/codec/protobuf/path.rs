//! [`Path`]: the place in the object being decoded, as a JSON path like
//! `spec.containers[0].image`, and the errors located there.

use super::error::{ProtobufError, WireError};
use std::fmt;

/// Where in the object a value sits, as a JSON path like `spec.containers[0].image`.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Path<'a> {
    /// The object itself.
    Root,
    /// A named field of the parent.
    Field(&'a Path<'a>, &'static str),
    /// An element of the parent list.
    Index(&'a Path<'a>, usize),
}

impl fmt::Display for Path<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Path::Root => f.write_str("the top level of the object"),
            Path::Field(Path::Root, name) => f.write_str(name),
            Path::Field(parent, name) => write!(f, "{parent}.{name}"),
            Path::Index(parent, index) => write!(f, "{parent}[{index}]"),
        }
    }
}

impl Path<'_> {
    /// A malformed-bytes error at this place.
    pub(crate) fn malformed(&self, problem: WireError) -> ProtobufError {
        ProtobufError::Malformed {
            path: self.to_string(),
            problem,
        }
    }

    /// An invalid-value error at this place.
    pub(crate) fn invalid(&self, problem: &'static str) -> ProtobufError {
        ProtobufError::InvalidValue {
            path: self.to_string(),
            problem,
        }
    }
}
