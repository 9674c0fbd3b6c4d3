//! One PolicyRule against one request ([`allows`]), and one set of rules against another
//! ([`covers`]: whether a user holding `owner` holds everything `servant` grants — what
//! creating a role or binding requires), with Kubernetes' matching: `*` matches every
//! verb, group, resource or URL; `*/sub` matches that subresource of every resource; a
//! non-resource URL ending in `*` matches by prefix; an empty `resourceNames` matches every
//! name.

use crate::authz::attributes::Attributes;
use k8s_openapi::api::rbac::v1::PolicyRule;

/// Whether `rule` allows the request.
pub fn allows(rule: &PolicyRule, request: &Attributes) -> bool {
    if !has_or_star(&rule.verbs, &request.verb) {
        return false;
    }
    if !request.resource_request {
        return rule
            .non_resource_urls
            .iter()
            .flatten()
            .any(|url| url_matches(url, &request.path));
    }
    let groups = rule.api_groups.as_deref().unwrap_or_default();
    if !has_or_star(groups, &request.api_group) {
        return false;
    }
    let combined = request.resource_and_subresource();
    let resource_ok = rule.resources.iter().flatten().any(|r| {
        r == "*"
            || *r == combined
            || (!request.subresource.is_empty()
                && r.strip_prefix("*/") == Some(request.subresource.as_str()))
    });
    resource_ok && name_matches(rule, &request.name)
}

fn has_or_star(values: &[String], wanted: &str) -> bool {
    values.iter().any(|v| v == "*" || v == wanted)
}

fn url_matches(rule_url: &str, path: &str) -> bool {
    rule_url == "*"
        || rule_url == path
        || rule_url
            .strip_suffix('*')
            .is_some_and(|prefix| path.starts_with(prefix))
}

fn name_matches(rule: &PolicyRule, name: &str) -> bool {
    match rule.resource_names.as_deref() {
        None | Some([]) => true,
        Some(names) => names.iter().any(|n| n == name),
    }
}

/// Whether `owner` grants everything `servant` grants (Kubernetes' `validation.Covers`):
/// each servant rule, broken down into one verb on one resource (or URL) each, must be
/// within a single owner rule.
pub fn covers(owner: &[PolicyRule], servant: &[PolicyRule]) -> bool {
    uncovered(owner, servant).is_empty()
}

/// The pieces of `servant` (one verb on one resource or URL each) that no rule of
/// `owner` grants.
pub fn uncovered(owner: &[PolicyRule], servant: &[PolicyRule]) -> Vec<PolicyRule> {
    servant
        .iter()
        .flat_map(breakdown)
        .filter(|piece| !owner.iter().any(|rule| rule_covers(rule, piece)))
        .collect()
}

/// Rules as Kubernetes prints them compactly:
/// `{APIGroups:["apps"], Resources:["deployments"], Verbs:["delete"]}`, one per line.
pub fn compact(rules: &[PolicyRule]) -> String {
    let list = |name: &str, values: Option<&Vec<String>>| {
        values.filter(|v| !v.is_empty()).map(|v| {
            let quoted: Vec<String> = v.iter().map(|s| format!("{s:?}")).collect();
            format!("{name}:[{}]", quoted.join(" "))
        })
    };
    rules
        .iter()
        .map(|rule| {
            let parts: Vec<String> = [
                list("APIGroups", rule.api_groups.as_ref()),
                list("Resources", rule.resources.as_ref()),
                list("ResourceNames", rule.resource_names.as_ref()),
                list("NonResourceURLs", rule.non_resource_urls.as_ref()),
                list("Verbs", Some(&rule.verbs)),
            ]
            .into_iter()
            .flatten()
            .collect();
            format!("{{{}}}", parts.join(", "))
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// A rule split into rules of one verb and one resource (or one URL) each.
fn breakdown(rule: &PolicyRule) -> Vec<PolicyRule> {
    let mut pieces = Vec::new();
    let verbs = rule.verbs.iter();
    for verb in verbs {
        for group in rule.api_groups.iter().flatten() {
            for resource in rule.resources.iter().flatten() {
                pieces.push(PolicyRule {
                    verbs: vec![verb.clone()],
                    api_groups: Some(vec![group.clone()]),
                    resources: Some(vec![resource.clone()]),
                    resource_names: rule.resource_names.clone(),
                    non_resource_urls: None,
                });
            }
        }
        for url in rule.non_resource_urls.iter().flatten() {
            pieces.push(PolicyRule {
                verbs: vec![verb.clone()],
                non_resource_urls: Some(vec![url.clone()]),
                ..PolicyRule::default()
            });
        }
    }
    pieces
}

/// Whether one owner rule covers one broken-down servant rule.
fn rule_covers(owner: &PolicyRule, servant: &PolicyRule) -> bool {
    let all = |owner: &[String], servant: &[String]| {
        owner.iter().any(|o| o == "*") || servant.iter().all(|s| owner.contains(s))
    };
    let empty = Vec::new();
    let verbs = all(&owner.verbs, &servant.verbs);
    let groups = all(
        owner.api_groups.as_ref().unwrap_or(&empty),
        servant.api_groups.as_ref().unwrap_or(&empty),
    );
    let resources = servant.resources.iter().flatten().all(|wanted| {
        owner
            .resources
            .iter()
            .flatten()
            .any(|held| resource_covers(held, wanted))
    });
    let urls = servant.non_resource_urls.iter().flatten().all(|wanted| {
        owner
            .non_resource_urls
            .iter()
            .flatten()
            .any(|held| url_covers(held, wanted))
    });
    let names = match owner.resource_names.as_deref() {
        None | Some([]) => true,
        Some(held) => servant
            .resource_names
            .as_deref()
            .is_some_and(|wanted| !wanted.is_empty() && wanted.iter().all(|w| held.contains(w))),
    };
    verbs && groups && resources && urls && names
}

fn resource_covers(held: &str, wanted: &str) -> bool {
    if held == "*" || held == wanted {
        return true;
    }
    // `*/sub` covers `x/sub`; `x/*` covers `x/sub` (not `x` itself).
    match (held.split_once('/'), wanted.split_once('/')) {
        (Some(("*", sub)), Some((_, wanted_sub))) => sub == wanted_sub,
        (Some((resource, "*")), Some((wanted_resource, _))) => resource == wanted_resource,
        _ => false,
    }
}

fn url_covers(held: &str, wanted: &str) -> bool {
    if held == "*" || held == wanted {
        return true;
    }
    held.strip_suffix('*')
        .is_some_and(|prefix| wanted.starts_with(prefix))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(verbs: &[&str], groups: &[&str], resources: &[&str]) -> PolicyRule {
        let strings = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        PolicyRule {
            verbs: strings(verbs),
            api_groups: Some(strings(groups)),
            resources: Some(strings(resources)),
            ..PolicyRule::default()
        }
    }

    fn request(method: &str, path: &str) -> Attributes {
        Attributes::from_request(method, path, None)
    }

    #[test]
    fn verbs_groups_resources_and_names_must_all_match() {
        let read_pods = rule(&["get", "list"], &[""], &["pods"]);
        assert!(allows(
            &read_pods,
            &request("GET", "/api/v1/namespaces/a/pods")
        ));
        assert!(!allows(
            &read_pods,
            &request("DELETE", "/api/v1/namespaces/a/pods/x")
        ));
        assert!(!allows(
            &read_pods,
            &request("GET", "/apis/apps/v1/namespaces/a/deployments")
        ));
        // A subresource is not its resource.
        assert!(!allows(
            &read_pods,
            &request("GET", "/api/v1/namespaces/a/pods/x/log")
        ));
        assert!(allows(
            &rule(&["get"], &[""], &["*/log"]),
            &request("GET", "/api/v1/namespaces/a/pods/x/log")
        ));
        assert!(allows(
            &rule(&["*"], &["*"], &["*"]),
            &request("PATCH", "/apis/apps/v1/namespaces/a/deployments/d/scale")
        ));
        let mut named = rule(&["get"], &[""], &["secrets"]);
        named.resource_names = Some(vec!["mine".into()]);
        assert!(allows(
            &named,
            &request("GET", "/api/v1/namespaces/a/secrets/mine")
        ));
        assert!(!allows(
            &named,
            &request("GET", "/api/v1/namespaces/a/secrets/theirs")
        ));
        assert!(!allows(
            &named,
            &request("GET", "/api/v1/namespaces/a/secrets")
        ));
    }

    #[test]
    fn urls_match_exactly_or_by_a_star_prefix() {
        let health = PolicyRule {
            verbs: vec!["get".into()],
            non_resource_urls: Some(vec!["/healthz".into(), "/apis/*".into()]),
            ..PolicyRule::default()
        };
        assert!(allows(&health, &request("GET", "/healthz")));
        assert!(allows(&health, &request("GET", "/apis/apps/v1")));
        assert!(!allows(&health, &request("GET", "/healthz/extra")));
        assert!(!allows(&health, &request("POST", "/healthz")));
        // A resource rule never allows a path.
        assert!(!allows(
            &rule(&["*"], &["*"], &["*"]),
            &request("GET", "/healthz")
        ));
    }

    #[test]
    fn covering_needs_every_verb_resource_and_name() {
        let edit = vec![rule(
            &["get", "list", "create"],
            &[""],
            &["pods", "configmaps"],
        )];
        assert!(covers(&edit, &[rule(&["get"], &[""], &["pods"])]));
        assert!(covers(
            &edit,
            &[rule(&["get", "create"], &[""], &["pods", "configmaps"])]
        ));
        assert!(!covers(&edit, &[rule(&["delete"], &[""], &["pods"])]));
        assert!(!covers(&edit, &[rule(&["get"], &[""], &["secrets"])]));
        // A star is covered only by a star.
        assert!(!covers(&edit, &[rule(&["*"], &[""], &["pods"])]));
        assert!(covers(
            &[rule(&["*"], &["*"], &["*"])],
            &[rule(&["*"], &["apps"], &["*"])]
        ));
        let mut named = rule(&["get"], &[""], &["secrets"]);
        named.resource_names = Some(vec!["a".into()]);
        assert!(!covers(
            std::slice::from_ref(&named),
            &[rule(&["get"], &[""], &["secrets"])]
        ));
        assert!(covers(&[rule(&["get"], &[""], &["secrets"])], &[named]));
        assert!(covers(
            &[rule(&["get"], &[""], &["*/log"])],
            &[rule(&["get"], &[""], &["pods/log"])]
        ));
    }
}
