//! [`FieldSelector`]: the `fieldSelector` query grammar — comma-separated `field=value`,
//! `field==value` and `field!=value`, with `\` escaping `,`, `=`, `!` and `\` in values.
//! Which fields a kind supports is the caller's business; matching takes a lookup.

use super::error::SelectorError;

/// One field requirement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldRequirement {
    /// The field path, e.g. `metadata.name`.
    pub field: String,
    /// The value compared with.
    pub value: String,
    /// Whether the field must differ from the value (`!=`) rather than equal it.
    pub negated: bool,
}

/// A conjunction of field requirements. The empty selector matches everything.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FieldSelector {
    requirements: Vec<FieldRequirement>,
}

impl FieldSelector {
    /// Parses the query-string form.
    pub fn parse(input: &str) -> Result<Self, SelectorError> {
        let mut requirements = Vec::new();
        for term in split_unescaped(input, ',') {
            let term = term.trim();
            if term.is_empty() {
                if input.trim().is_empty() {
                    continue;
                }
                return Err(SelectorError(format!(
                    "empty term in field selector {input:?}"
                )));
            }
            let (field, negated, raw_value) = if let Some(i) = find_unescaped(term, "!=") {
                (&term[..i], true, &term[i + 2..])
            } else if let Some(i) = find_unescaped(term, "==") {
                (&term[..i], false, &term[i + 2..])
            } else if let Some(i) = find_unescaped(term, "=") {
                (&term[..i], false, &term[i + 1..])
            } else {
                return Err(SelectorError(format!(
                    "invalid field selector term {term:?}: expected field=value, field==value or field!=value"
                )));
            };
            let field = field.trim();
            if field.is_empty() {
                return Err(SelectorError(format!("missing field name in {term:?}")));
            }
            requirements.push(FieldRequirement {
                field: field.to_string(),
                value: unescape(raw_value.trim()),
                negated,
            });
        }
        Ok(Self { requirements })
    }

    /// The requirements, for checking which fields are used.
    pub fn requirements(&self) -> &[FieldRequirement] {
        &self.requirements
    }

    /// Whether every requirement holds, reading field values through `lookup` (a
    /// missing field reads as the empty string, as in Kubernetes).
    pub fn matches(&self, lookup: impl Fn(&str) -> Option<String>) -> bool {
        self.requirements.iter().all(|r| {
            let actual = lookup(&r.field).unwrap_or_default();
            (actual == r.value) != r.negated
        })
    }

    /// Whether the selector has no requirements.
    pub fn is_empty(&self) -> bool {
        self.requirements.is_empty()
    }
}

fn split_unescaped(input: &str, sep: char) -> Vec<&str> {
    let mut parts = Vec::new();
    let mut start = 0;
    let mut escaped = false;
    for (i, c) in input.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' => escaped = true,
            c if c == sep => {
                parts.push(&input[start..i]);
                start = i + c.len_utf8();
            }
            _ => {}
        }
    }
    parts.push(&input[start..]);
    parts
}

fn find_unescaped(term: &str, needle: &str) -> Option<usize> {
    let mut escaped = false;
    for (i, c) in term.char_indices() {
        if escaped {
            escaped = false;
            continue;
        }
        if c == '\\' {
            escaped = true;
            continue;
        }
        if term[i..].starts_with(needle) {
            return Some(i);
        }
    }
    None
}

fn unescape(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    let mut chars = value.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            if let Some(next) = chars.next() {
                out.push(next);
            }
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lookup(field: &str) -> Option<String> {
        match field {
            "metadata.name" => Some("web-1".into()),
            "status.phase" => Some("Running".into()),
            "spec.nodeName" => Some("a,b".into()),
            _ => None,
        }
    }

    #[test]
    fn equality_inequality_and_conjunction() {
        let s = |text: &str| FieldSelector::parse(text).expect(text);
        assert!(s("metadata.name=web-1").matches(lookup));
        assert!(s("metadata.name==web-1").matches(lookup));
        assert!(!s("metadata.name=web-2").matches(lookup));
        assert!(s("status.phase!=Succeeded,status.phase!=Failed").matches(lookup));
        assert!(!s("status.phase!=Running").matches(lookup));
        assert!(s("spec.nodeName=a\\,b").matches(lookup));
        assert!(s("").matches(lookup));
        assert!(s("spec.unknown=").matches(lookup));
    }

    #[test]
    fn rejects_malformed_terms() {
        for bad in ["metadata.name", "=x", "a=b,,c=d"] {
            assert!(FieldSelector::parse(bad).is_err(), "{bad:?} accepted");
        }
    }
}
