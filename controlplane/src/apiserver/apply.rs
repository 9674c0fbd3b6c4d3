//! Field ownership for server-side apply, as Kubernetes' field manager and
//! structured-merge-diff give it to the built-in types. Pure: objects in, objects out.
//!
//! [`apply`] merges an applied configuration into the live object as one field manager:
//! what the configuration lists becomes that manager's set; a changed field another manager
//! owns is a [`Conflict`] unless forced; what the manager applied before and dropped is
//! removed unless someone else owns it. [`record_update`] records any other write (create,
//! update, patch) in `metadata.managedFields` as an `Update` by its manager, which takes
//! the fields it changed from everyone else.
//!
//! Parts: `path` names a step into a value, `set` holds field sets and their `fieldsV1`
//! form, `schema` says which lists are keyed and which values atomic, `fields` finds what
//! a configuration owns, `compare` diffs two objects, `merge` merges and prunes,
//! `managers` reads and writes `managedFields`, `last_applied` handles kubectl's
//! client-side-apply annotation.
//!
//! Simplified against Kubernetes: the schema is judged by field names (see `schema`), one
//! apiVersion per object (no conversion between versions), the `status` of the main resource
//! is neither owned nor changed by apply, and there are no subresource managers of our own.

mod compare;
mod fields;
#[cfg(test)]
mod kubectl_tests;
mod last_applied;
#[cfg(test)]
mod list_tests;
mod managers;
mod merge;
mod path;
mod schema;
mod set;
#[cfg(test)]
mod tests;

use compare::compare;
use managers::{Entry, Operation};
use path::PathElement;
use serde_json::Value;
use set::FieldSet;

/// The manager Kubernetes credits with the fields of an object that had no managedFields
/// when it was first applied to, so that the first apply conflicts with them.
const BEFORE_FIRST_APPLY: &str = "before-first-apply";

/// A field another manager owns that an apply would change.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Conflict {
    /// The owning manager.
    pub manager: String,
    /// How it wrote the field: `Apply` or `Update`.
    pub operation: String,
    /// The apiVersion its entry is in.
    pub api_version: String,
    /// The field, as Kubernetes prints it: `.spec.replicas`,
    /// `.spec.template.spec.containers[name="web"].image`.
    pub field: String,
}

impl Conflict {
    /// Kubernetes' wording for the manager side (a `FieldManagerConflict` cause's message):
    /// `conflict with "kubectl"`, or `conflict with "kubectl-edit" using apps/v1`.
    pub fn message(&self) -> String {
        format!("conflict with {}", self.owner())
    }

    fn owner(&self) -> String {
        if self.operation == "Update" {
            format!("{:?} using {}", self.manager, self.api_version)
        } else {
            format!("{:?}", self.manager)
        }
    }
}

/// Why an apply was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ApplyError {
    /// Fields other managers own would change (a 409 with `FieldManagerConflict` causes).
    #[error("{}", conflicts_message(.0))]
    Conflicts(Vec<Conflict>),
    /// The configuration cannot be applied (a 400).
    #[error("{0}")]
    Invalid(String),
}

/// Kubernetes' message for an apply conflict error.
fn conflicts_message(conflicts: &[Conflict]) -> String {
    if let [only] = conflicts {
        return format!(
            "Apply failed with 1 conflict: {}: {}",
            only.message(),
            only.field
        );
    }
    let mut lines = Vec::new();
    let mut owner = None;
    for conflict in conflicts {
        let this = conflict.owner();
        if owner.as_ref() != Some(&this) {
            lines.push(format!("conflicts with {this}:"));
            owner = Some(this);
        }
        lines.push(format!("- {}", conflict.field));
    }
    format!(
        "Apply failed with {} conflicts: {}",
        conflicts.len(),
        lines.join("\n")
    )
}

/// Applies `config` as `manager` to `live` (`None` when the object does not exist yet) and
/// returns the object to store, its `metadata.managedFields` updated. `now` is the RFC 3339
/// time recorded for the manager.
///
/// `status` in `config` is ignored (the live status is kept); `metadata.resourceVersion` in
/// `config` is merged like any field, for the caller to use as a precondition.
pub fn apply(
    live: Option<&Value>,
    config: &Value,
    manager: &str,
    force: bool,
    now: &str,
) -> Result<Value, ApplyError> {
    check(live, config)?;
    let applied = fields::owned_by(config).map_err(ApplyError::Invalid)?;
    let api_version = config
        .get("apiVersion")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let base = without_managed_fields(live);
    let mut entries = match live {
        Some(live) => managers::read(live),
        None => Vec::new(),
    };
    if live.is_some() && entries.is_empty() {
        let fields = compare(&empty(), &base).changed();
        let version = base.get("apiVersion").and_then(Value::as_str);
        let before = Entry::new(
            BEFORE_FIRST_APPLY,
            Operation::Update,
            version.unwrap_or(api_version),
            now,
            fields,
        );
        entries.push(before);
    }
    let mine = entries
        .iter()
        .position(|e| e.is(manager, Operation::Apply, api_version));

    let mut mergeable = config.clone();
    if let Some(map) = mergeable.as_object_mut() {
        map.remove("status");
    }
    let mut object = merge::merge(&base, &mergeable);
    if let Some(mine) = mine {
        let keep = entries
            .iter()
            .enumerate()
            .filter(|&(i, _)| i != mine)
            .fold(applied.clone(), |keep, (_, e)| keep.union(&e.fields));
        merge::prune(&mut object, &entries[mine].fields, &keep);
    }

    let diff = compare(&base, &object);
    let changed = diff.changed();
    let conflicts: Vec<(usize, FieldSet)> = entries
        .iter()
        .enumerate()
        .filter(|&(i, _)| Some(i) != mine)
        .map(|(i, e)| (i, e.fields.intersection(&changed)))
        .filter(|(_, c)| !c.is_empty())
        .collect();
    if !force && !conflicts.is_empty() {
        let allowed = match manager {
            last_applied::KUBECTL => last_applied::allowed_conflicts(&base),
            _ => None,
        }
        .unwrap_or_default();
        let refused = refused(&entries, &conflicts, &allowed);
        if !refused.is_empty() {
            return Err(ApplyError::Conflicts(refused));
        }
    }
    for (i, taken) in &conflicts {
        entries[*i].fields = entries[*i].fields.difference(taken);
    }
    for (i, entry) in entries.iter_mut().enumerate() {
        if Some(i) != mine {
            entry.fields = entry.fields.difference(&diff.removed);
        }
    }
    match mine {
        Some(i) => {
            let entry = &mut entries[i];
            if entry.fields != applied || object != base {
                entry.time = Some(now.to_string());
            }
            entry.fields = applied;
            entry.api_version = api_version.to_string();
        }
        None => entries.push(Entry::new(
            manager,
            Operation::Apply,
            api_version,
            now,
            applied,
        )),
    }
    managers::write(&mut object, entries);
    if manager == last_applied::KUBECTL {
        last_applied::refresh(&mut object, config);
    }
    Ok(object)
}

/// Records a non-apply write of `new` over `old` (`None` for a create) by `manager` and
/// returns `new` with its `metadata.managedFields` updated: the fields the write added or
/// changed become `manager`'s (one `Update` entry per manager and apiVersion), leave every
/// other manager's set, and removed fields leave every set.
///
/// As in Kubernetes, managedFields given in `new` replace the old ones (that is how a client
/// edits them; `[{}]` clears them), and an existing object without managedFields stays
/// untracked until it is first applied to.
pub fn record_update(old: Option<&Value>, new: &Value, manager: &str, now: &str) -> Value {
    let mut object = new.clone();
    if !object.is_object() {
        return object;
    }
    let given = managers::present(new);
    let mut entries = match (given, old) {
        (true, _) => managers::read(new),
        (false, Some(old)) => managers::read(old),
        (false, None) => Vec::new(),
    };
    managers::clear(&mut object);
    if !given && old.is_some() && entries.is_empty() {
        return object;
    }
    let base = without_managed_fields(old);
    let diff = compare(&base, &object);
    let taken = diff.changed();
    for entry in &mut entries {
        entry.fields = entry.fields.difference(&taken).difference(&diff.removed);
    }
    if !taken.is_empty() {
        let api_version = new
            .get("apiVersion")
            .and_then(Value::as_str)
            .unwrap_or_default();
        match entries
            .iter_mut()
            .find(|e| e.is(manager, Operation::Update, api_version))
        {
            Some(entry) => {
                entry.fields = entry.fields.union(&taken);
                entry.time = Some(now.to_string());
            }
            None => entries.push(Entry::new(
                manager,
                Operation::Update,
                api_version,
                now,
                taken,
            )),
        }
    }
    managers::write(&mut object, entries);
    object
}

/// Checks what Kubernetes checks before applying: an object with its type, no
/// managedFields, and the live object's type and name.
fn check(live: Option<&Value>, config: &Value) -> Result<(), ApplyError> {
    let invalid = |message: String| Err(ApplyError::Invalid(message));
    if !config.is_object() {
        return invalid("the applied configuration must be an object".into());
    }
    for field in ["apiVersion", "kind"] {
        if config
            .get(field)
            .and_then(Value::as_str)
            .is_none_or(str::is_empty)
        {
            return invalid(format!("the applied configuration is missing {field}"));
        }
    }
    if config
        .pointer("/metadata/managedFields")
        .is_some_and(|v| !v.is_null())
    {
        return invalid("metadata.managedFields must be nil".into());
    }
    let Some(live) = live else {
        return Ok(());
    };
    for field in ["apiVersion", "kind"] {
        if live
            .get(field)
            .is_some_and(|v| Some(v) != config.get(field))
        {
            return invalid(format!(
                "invalid object type: the applied {field} {} does not match the object's {}",
                config[field], live[field]
            ));
        }
    }
    let name = |object: &Value| object.pointer("/metadata/name").cloned();
    if let (Some(theirs), Some(ours)) = (name(live), name(config))
        && theirs != ours
    {
        return invalid(format!(
            "the applied name {ours} does not match the object's name {theirs}"
        ));
    }
    Ok(())
}

/// The conflicts not allowed by `allowed`, sorted by manager and field.
fn refused(
    entries: &[Entry],
    conflicts: &[(usize, FieldSet)],
    allowed: &FieldSet,
) -> Vec<Conflict> {
    let mut out: Vec<(&Entry, Vec<PathElement>)> = conflicts
        .iter()
        .flat_map(|(i, set)| set.paths().into_iter().map(move |p| (&entries[*i], p)))
        .filter(|(_, p)| !allowed.has(p))
        .collect();
    out.sort_by(|(a, p), (b, q)| {
        (&a.manager, a.operation, &a.api_version, p).cmp(&(
            &b.manager,
            b.operation,
            &b.api_version,
            q,
        ))
    });
    out.into_iter()
        .map(|(entry, p)| Conflict {
            manager: entry.manager.clone(),
            operation: match entry.operation {
                Operation::Apply => "Apply".into(),
                Operation::Update => "Update".into(),
            },
            api_version: entry.api_version.clone(),
            field: path::display(&p),
        })
        .collect()
}

fn empty() -> Value {
    Value::Object(serde_json::Map::new())
}

/// A copy of `object` (or an empty object) without `metadata.managedFields`.
fn without_managed_fields(object: Option<&Value>) -> Value {
    let mut out = object.cloned().unwrap_or_else(empty);
    managers::clear(&mut out);
    out
}
