//! The namespaces every cluster has: [`SYSTEM_NAMESPACES`] are created at first start and
//! cannot be deleted; [`DEFAULT`] is where objects without a namespace go.

/// The namespace of requests and objects that name none.
pub const DEFAULT: &str = "default";

/// Namespaces that always exist (`default`, `kube-system`, `kube-public`,
/// `kube-node-lease`).
pub const SYSTEM_NAMESPACES: &[&str] =
    &["default", "kube-system", "kube-public", "kube-node-lease"];

/// Whether `name` is one of the [`SYSTEM_NAMESPACES`].
pub fn is_system(name: &str) -> bool {
    SYSTEM_NAMESPACES.contains(&name)
}
