//! [`LabelSelector`]: parsing and matching the `labelSelector` query grammar of
//! Kubernetes (apimachinery `labels.Parse`), and building one from a
//! `metav1.LabelSelector` (`matchLabels` and `matchExpressions`).

use super::error::SelectorError;
use std::collections::BTreeMap;

/// How a requirement compares a label.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Operator {
    /// The label equals one of the values (`=`, `==`, `in`).
    In(Vec<String>),
    /// The label is absent or equals none of the values (`!=`, `notin`).
    NotIn(Vec<String>),
    /// The label is present.
    Exists,
    /// The label is absent.
    DoesNotExist,
}

/// One requirement on one label key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LabelRequirement {
    /// The label key.
    pub key: String,
    /// The comparison.
    pub operator: Operator,
}

impl LabelRequirement {
    fn matches(&self, labels: &BTreeMap<String, String>) -> bool {
        let value = labels.get(&self.key);
        match &self.operator {
            Operator::In(values) => value.is_some_and(|v| values.contains(v)),
            Operator::NotIn(values) => value.is_none_or(|v| !values.contains(v)),
            Operator::Exists => value.is_some(),
            Operator::DoesNotExist => value.is_none(),
        }
    }
}

/// A conjunction of label requirements. The empty selector matches everything.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LabelSelector {
    requirements: Vec<LabelRequirement>,
}

impl LabelSelector {
    /// Parses the query-string form.
    pub fn parse(input: &str) -> Result<Self, SelectorError> {
        let mut parser = Parser {
            chars: input.chars().collect(),
            pos: 0,
        };
        let mut requirements = Vec::new();
        parser.skip_ws();
        if parser.at_end() {
            return Ok(Self::default());
        }
        loop {
            requirements.push(parser.requirement()?);
            parser.skip_ws();
            if parser.at_end() {
                break;
            }
            parser.expect(',')?;
        }
        Ok(Self { requirements })
    }

    /// Builds a selector from `matchLabels` and `matchExpressions`.
    pub fn from_parts(
        match_labels: &BTreeMap<String, String>,
        match_expressions: &[(String, String, Vec<String>)],
    ) -> Result<Self, SelectorError> {
        let mut requirements: Vec<LabelRequirement> = match_labels
            .iter()
            .map(|(k, v)| LabelRequirement {
                key: k.clone(),
                operator: Operator::In(vec![v.clone()]),
            })
            .collect();
        for (key, operator, values) in match_expressions {
            let operator = match operator.as_str() {
                "In" => Operator::In(values.clone()),
                "NotIn" => Operator::NotIn(values.clone()),
                "Exists" => Operator::Exists,
                "DoesNotExist" => Operator::DoesNotExist,
                other => {
                    return Err(SelectorError(format!(
                        "{other:?} is not a valid label selector operator"
                    )));
                }
            };
            requirements.push(LabelRequirement {
                key: key.clone(),
                operator,
            });
        }
        Ok(Self { requirements })
    }

    /// Whether `labels` satisfy every requirement.
    pub fn matches(&self, labels: &BTreeMap<String, String>) -> bool {
        self.requirements.iter().all(|r| r.matches(labels))
    }

    /// Whether the selector has no requirements (matches everything).
    pub fn is_empty(&self) -> bool {
        self.requirements.is_empty()
    }

    /// The requirements.
    pub fn requirements(&self) -> &[LabelRequirement] {
        &self.requirements
    }
}

struct Parser {
    chars: Vec<char>,
    pos: usize,
}

impl Parser {
    fn at_end(&self) -> bool {
        self.pos >= self.chars.len()
    }

    fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }

    fn skip_ws(&mut self) {
        while self.peek().is_some_and(char::is_whitespace) {
            self.pos += 1;
        }
    }

    fn error(&self, what: &str) -> SelectorError {
        let input: String = self.chars.iter().collect();
        SelectorError(format!("{what} at position {} in {input:?}", self.pos))
    }

    fn expect(&mut self, c: char) -> Result<(), SelectorError> {
        self.skip_ws();
        if self.peek() == Some(c) {
            self.pos += 1;
            Ok(())
        } else {
            Err(self.error(&format!("expected '{c}'")))
        }
    }

    /// A key or value token: everything up to whitespace or an operator character.
    fn word(&mut self) -> String {
        self.skip_ws();
        let start = self.pos;
        while let Some(c) = self.peek() {
            if c.is_whitespace() || matches!(c, ',' | '=' | '!' | '(' | ')') {
                break;
            }
            self.pos += 1;
        }
        self.chars[start..self.pos].iter().collect()
    }

    fn requirement(&mut self) -> Result<LabelRequirement, SelectorError> {
        self.skip_ws();
        if self.peek() == Some('!') {
            self.pos += 1;
            let key = self.key()?;
            return Ok(LabelRequirement {
                key,
                operator: Operator::DoesNotExist,
            });
        }
        let key = self.key()?;
        self.skip_ws();
        let operator = match (self.peek(), self.chars.get(self.pos + 1).copied()) {
            (None | Some(','), _) => Operator::Exists,
            (Some('='), Some('=')) => {
                self.pos += 2;
                Operator::In(vec![self.value()?])
            }
            (Some('='), _) => {
                self.pos += 1;
                Operator::In(vec![self.value()?])
            }
            (Some('!'), Some('=')) => {
                self.pos += 2;
                Operator::NotIn(vec![self.value()?])
            }
            _ => match self.word().as_str() {
                "in" => Operator::In(self.values()?),
                "notin" => Operator::NotIn(self.values()?),
                "" => return Err(self.error("expected an operator")),
                other => return Err(self.error(&format!("unknown operator {other:?}"))),
            },
        };
        Ok(LabelRequirement { key, operator })
    }

    fn key(&mut self) -> Result<String, SelectorError> {
        let key = self.word();
        validate_key(&key).map_err(|why| self.error(&why))?;
        Ok(key)
    }

    fn value(&mut self) -> Result<String, SelectorError> {
        let value = self.word();
        validate_value(&value).map_err(|why| self.error(&why))?;
        Ok(value)
    }

    fn values(&mut self) -> Result<Vec<String>, SelectorError> {
        self.expect('(')?;
        let mut values = Vec::new();
        loop {
            self.skip_ws();
            if self.peek() == Some(')') && values.is_empty() {
                self.pos += 1;
                return Err(self.error("expected at least one value in the set"));
            }
            values.push(self.value()?);
            self.skip_ws();
            match self.peek() {
                Some(',') => self.pos += 1,
                Some(')') => {
                    self.pos += 1;
                    return Ok(values);
                }
                _ => return Err(self.error("expected ',' or ')'")),
            }
        }
    }
}

/// A label key: an optional DNS-subdomain prefix and `/`, then a name of at most 63
/// alphanumerics, `-`, `_` or `.`, starting and ending alphanumeric.
pub fn validate_key(key: &str) -> Result<(), String> {
    let (prefix, name) = match key.rsplit_once('/') {
        Some((prefix, name)) => (Some(prefix), name),
        None => (None, key),
    };
    if let Some(prefix) = prefix
        && (prefix.is_empty() || prefix.len() > 253 || !is_dns_subdomain(prefix))
    {
        return Err(format!(
            "invalid label key {key:?}: prefix must be a DNS subdomain"
        ));
    }
    if name.is_empty() || name.len() > 63 || !is_qualified_name(name) {
        return Err(format!(
            "invalid label key {key:?}: name part must be 1-63 characters of [A-Za-z0-9_.-], \
             starting and ending with an alphanumeric"
        ));
    }
    Ok(())
}

/// A label value: empty, or at most 63 characters as a key's name part.
pub fn validate_value(value: &str) -> Result<(), String> {
    if value.is_empty() || (value.len() <= 63 && is_qualified_name(value)) {
        Ok(())
    } else {
        Err(format!(
            "invalid label value {value:?}: must be at most 63 characters of [A-Za-z0-9_.-], \
             starting and ending with an alphanumeric"
        ))
    }
}

fn is_qualified_name(s: &str) -> bool {
    let ends_ok = |c: Option<char>| c.is_some_and(|c| c.is_ascii_alphanumeric());
    ends_ok(s.chars().next())
        && ends_ok(s.chars().last())
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

fn is_dns_subdomain(s: &str) -> bool {
    s.split('.').all(|label| {
        !label.is_empty()
            && label.len() <= 63
            && label.starts_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit())
            && label.ends_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit())
            && label
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn matches(selector: &str, pairs: &[(&str, &str)]) -> bool {
        LabelSelector::parse(selector)
            .unwrap_or_else(|e| panic!("{selector}: {e}"))
            .matches(&labels(pairs))
    }

    #[test]
    fn equality_and_inequality() {
        assert!(matches("app=web", &[("app", "web")]));
        assert!(matches("app==web", &[("app", "web")]));
        assert!(!matches("app=web", &[("app", "db")]));
        assert!(matches("app!=web", &[("app", "db")]));
        assert!(matches("app!=web", &[]));
        assert!(!matches("app!=web", &[("app", "web")]));
    }

    #[test]
    fn sets_and_existence() {
        assert!(matches("tier in (a, b)", &[("tier", "b")]));
        assert!(!matches("tier in (a,b)", &[("tier", "c")]));
        assert!(!matches("tier in (a,b)", &[]));
        assert!(matches("tier notin (a,b)", &[("tier", "c")]));
        assert!(matches("tier notin (a,b)", &[]));
        assert!(matches("tier", &[("tier", "")]));
        assert!(!matches("tier", &[]));
        assert!(matches("!tier", &[]));
        assert!(!matches("!tier", &[("tier", "x")]));
    }

    #[test]
    fn conjunctions_and_prefixed_keys() {
        let pod = [("app.kubernetes.io/name", "web"), ("env", "prod")];
        assert!(matches(
            "app.kubernetes.io/name=web,env in (prod),!canary",
            &pod
        ));
        assert!(!matches("app.kubernetes.io/name=web,env=dev", &pod));
        assert!(matches("", &pod));
        assert!(matches("  ", &pod));
    }

    #[test]
    fn rejects_malformed_selectors() {
        for bad in [
            "=x", "a=b,", "a in ()", "a in (x", "a ~ b", "-a=b", "a=b c", "a in x", "a=-b",
        ] {
            assert!(LabelSelector::parse(bad).is_err(), "{bad:?} accepted");
        }
    }
}
