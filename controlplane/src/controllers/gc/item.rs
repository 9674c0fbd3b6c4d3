//! What the garbage collector's queue holds: [`Item`]s naming an object by kind,
//! namespace, name and UID ([`ObjectRef`]), to be looked at as a dependent (are its
//! owners gone?) or as an owner (is it gone, or being deleted with a GC finalizer?).

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference};
use skiff_model::kinds::ResourceKind;
use std::fmt;
use std::hash::{Hash, Hasher};

/// One object, by identity.
#[derive(Clone, Debug)]
pub(super) struct ObjectRef {
    /// Its kind (one of [`skiff_model::kinds::KINDS`]).
    pub kind: &'static ResourceKind,
    /// Its namespace (`None` when cluster-scoped).
    pub namespace: Option<String>,
    /// Its name.
    pub name: String,
    /// Its UID.
    pub uid: String,
}

impl ObjectRef {
    /// The object with `meta`, of `kind`.
    pub(super) fn of(kind: &'static ResourceKind, meta: &ObjectMeta) -> Self {
        Self {
            kind,
            namespace: meta.namespace.clone().filter(|_| kind.namespaced),
            name: meta.name.clone().unwrap_or_default(),
            uid: meta.uid.clone().unwrap_or_default(),
        }
    }

    /// The owner `reference` names, seen from a dependent in `namespace`; `None` if its
    /// kind is not served (it cannot be looked up).
    pub(super) fn owner(reference: &OwnerReference, namespace: Option<&str>) -> Option<Self> {
        let kind = skiff_model::kinds::by_kind(&reference.api_version, &reference.kind)?;
        Some(Self {
            kind,
            namespace: namespace.filter(|_| kind.namespaced).map(String::from),
            name: reference.name.clone(),
            uid: reference.uid.clone(),
        })
    }

    /// Its informer key.
    pub(super) fn key(&self) -> String {
        match &self.namespace {
            Some(ns) => format!("{ns}/{}", self.name),
            None => self.name.clone(),
        }
    }
}

impl PartialEq for ObjectRef {
    fn eq(&self, other: &Self) -> bool {
        std::ptr::eq(self.kind, other.kind)
            && self.namespace == other.namespace
            && self.name == other.name
            && self.uid == other.uid
    }
}

impl Eq for ObjectRef {}

impl Hash for ObjectRef {
    fn hash<H: Hasher>(&self, state: &mut H) {
        std::ptr::hash(self.kind, state);
        self.namespace.hash(state);
        self.name.hash(state);
        self.uid.hash(state);
    }
}

impl fmt::Display for ObjectRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.kind.qualified(), self.key())
    }
}

/// What to look at.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(super) enum Item {
    /// An object with owners: delete it if they are all gone.
    Dependent(ObjectRef),
    /// An object others may depend on: gone (its dependents may be orphans now), or being
    /// deleted with the `orphan` or `foregroundDeletion` finalizer.
    Owner(ObjectRef),
}

impl fmt::Display for Item {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Item::Dependent(r) => write!(f, "dependent {r}"),
            Item::Owner(r) => write!(f, "owner {r}"),
        }
    }
}
