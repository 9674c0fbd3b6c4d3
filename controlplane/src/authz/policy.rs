//! The default policy, Kubernetes' bootstrap RBAC objects, written on every start:
//!
//! - `cluster-admin` (everything), bound to `system:masters`;
//! - the user-facing roles `admin`, `edit`, `view`, aggregated (their rules are filled in
//!   from every ClusterRole labelled `rbac.authorization.k8s.io/aggregate-to-<role>`, so a
//!   custom role can extend them) from `system:aggregate-to-admin|edit|view`;
//! - `system:discovery`, `system:basic-user` (asking about oneself: whoami, can-i) and
//!   `system:public-info-viewer` (health and version), bound to every authenticated user,
//!   the last also to anonymous ones — all anonymous requests get.
//!
//! - the roles of the in-process components ([`component_roles`]): `system:kube-scheduler`
//!   and one `system:controller:<name>` per controller, each bound to the user of that
//!   name, granting what that component's work needs and nothing more, as Kubernetes'
//!   controller roles do.
//!
//! Each object carries `rbac.authorization.kubernetes.io/autoupdate: "true"`: a start
//! restores the rules of a default role that was changed, unless a cluster administrator
//! set the annotation to `false` (Kubernetes' reconciliation rule). The rules name the
//! resources Kubernetes' do, those Skiff does not serve included, so a role means the
//! same on either.

use k8s_openapi::api::rbac::v1::{
    AggregationRule, ClusterRole, ClusterRoleBinding, PolicyRule, RoleRef, Subject,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};
use std::collections::BTreeMap;

/// The RBAC API group.
pub const RBAC_GROUP: &str = "rbac.authorization.k8s.io";
/// The annotation that lets a start restore a default object.
pub const AUTOUPDATE: &str = "rbac.authorization.kubernetes.io/autoupdate";
/// The label every default object carries.
pub const BOOTSTRAPPING: &str = "kubernetes.io/bootstrapping";
/// The label prefix of roles aggregated into `admin`, `edit` and `view`.
pub const AGGREGATE_TO: &str = "rbac.authorization.k8s.io/aggregate-to-";

const READ: &[&str] = &["get", "list", "watch"];
const WRITE: &[&str] = &["create", "delete", "deletecollection", "patch", "update"];
const READ_WRITE: &[&str] = &[
    "create",
    "delete",
    "deletecollection",
    "get",
    "list",
    "patch",
    "update",
    "watch",
];

fn strings(values: &[&str]) -> Vec<String> {
    values.iter().map(|v| (*v).to_string()).collect()
}

/// A rule of `verbs` on `resources` of `group`.
pub fn rule(verbs: &[&str], group: &str, resources: &[&str]) -> PolicyRule {
    PolicyRule {
        verbs: strings(verbs),
        api_groups: Some(vec![group.to_string()]),
        resources: Some(strings(resources)),
        ..PolicyRule::default()
    }
}

/// A rule of `verbs` on non-resource `urls`.
pub fn url_rule(verbs: &[&str], urls: &[&str]) -> PolicyRule {
    PolicyRule {
        verbs: strings(verbs),
        non_resource_urls: Some(strings(urls)),
        ..PolicyRule::default()
    }
}

fn meta(name: &str, labels: &[(&str, &str)]) -> ObjectMeta {
    let mut all: BTreeMap<String, String> = labels
        .iter()
        .map(|(k, v)| ((*k).to_string(), (*v).to_string()))
        .collect();
    all.insert(BOOTSTRAPPING.into(), "rbac-defaults".into());
    ObjectMeta {
        name: Some(name.to_string()),
        labels: Some(all),
        annotations: Some(BTreeMap::from([(
            AUTOUPDATE.to_string(),
            "true".to_string(),
        )])),
        ..ObjectMeta::default()
    }
}

fn cluster_role(name: &str, labels: &[(&str, &str)], rules: Vec<PolicyRule>) -> ClusterRole {
    ClusterRole {
        metadata: meta(name, labels),
        rules: Some(rules),
        aggregation_rule: None,
    }
}

/// A ClusterRole whose rules are those of the ClusterRoles labelled `aggregate-to-<of>`.
fn aggregated(name: &str, labels: &[(&str, &str)], of: &str) -> ClusterRole {
    ClusterRole {
        metadata: meta(name, labels),
        rules: Some(Vec::new()),
        aggregation_rule: Some(AggregationRule {
            cluster_role_selectors: Some(vec![LabelSelector {
                match_labels: Some(BTreeMap::from([(
                    format!("{AGGREGATE_TO}{of}"),
                    "true".to_string(),
                )])),
                match_expressions: None,
            }]),
        }),
    }
}

/// The default ClusterRoles: the user-facing ones, then the components'.
pub fn cluster_roles() -> Vec<ClusterRole> {
    let mut roles = user_roles();
    roles.extend(
        component_roles()
            .into_iter()
            .map(|(name, rules)| cluster_role(&name, &[], rules)),
    );
    roles
}

/// The user-facing default ClusterRoles and the `system:` roles every user needs.
fn user_roles() -> Vec<ClusterRole> {
    let to_admin = ("rbac.authorization.k8s.io/aggregate-to-admin", "true");
    let to_edit = ("rbac.authorization.k8s.io/aggregate-to-edit", "true");
    let to_view = ("rbac.authorization.k8s.io/aggregate-to-view", "true");
    vec![
        cluster_role(
            "cluster-admin",
            &[],
            vec![rule(&["*"], "*", &["*"]), url_rule(&["*"], &["*"])],
        ),
        aggregated("admin", &[], "admin"),
        aggregated("edit", &[to_admin], "edit"),
        aggregated("view", &[to_edit], "view"),
        cluster_role(
            "system:aggregate-to-admin",
            &[to_admin],
            vec![
                rule(
                    &["create"],
                    "authorization.k8s.io",
                    &["localsubjectaccessreviews"],
                ),
                rule(READ_WRITE, RBAC_GROUP, &["rolebindings", "roles"]),
            ],
        ),
        cluster_role(
            "system:aggregate-to-edit",
            &[to_admin, to_edit],
            vec![
                rule(
                    READ,
                    "",
                    &[
                        "pods/attach",
                        "pods/exec",
                        "pods/portforward",
                        "pods/proxy",
                        "secrets",
                        "services/proxy",
                    ],
                ),
                rule(&["impersonate"], "", &["serviceaccounts"]),
                rule(
                    WRITE,
                    "",
                    &[
                        "pods",
                        "pods/attach",
                        "pods/exec",
                        "pods/portforward",
                        "pods/proxy",
                    ],
                ),
                rule(&["create"], "", &["pods/eviction"]),
                rule(
                    WRITE,
                    "",
                    &[
                        "configmaps",
                        "events",
                        "persistentvolumeclaims",
                        "replicationcontrollers",
                        "replicationcontrollers/scale",
                        "secrets",
                        "serviceaccounts",
                        "services",
                        "services/proxy",
                    ],
                ),
                rule(&["create"], "", &["serviceaccounts/token"]),
                rule(
                    WRITE,
                    "apps",
                    &[
                        "daemonsets",
                        "deployments",
                        "deployments/rollback",
                        "deployments/scale",
                        "replicasets",
                        "replicasets/scale",
                        "statefulsets",
                        "statefulsets/scale",
                    ],
                ),
                rule(WRITE, "autoscaling", &["horizontalpodautoscalers"]),
                rule(WRITE, "batch", &["cronjobs", "jobs"]),
                rule(WRITE, "policy", &["poddisruptionbudgets"]),
                rule(
                    WRITE,
                    "networking.k8s.io",
                    &["ingresses", "networkpolicies"],
                ),
                rule(READ_WRITE, "coordination.k8s.io", &["leases"]),
            ],
        ),
        cluster_role(
            "system:aggregate-to-view",
            &[to_admin, to_edit, to_view],
            vec![
                rule(
                    READ,
                    "",
                    &[
                        "configmaps",
                        "endpoints",
                        "persistentvolumeclaims",
                        "persistentvolumeclaims/status",
                        "pods",
                        "replicationcontrollers",
                        "replicationcontrollers/scale",
                        "serviceaccounts",
                        "services",
                        "services/status",
                    ],
                ),
                rule(
                    READ,
                    "",
                    &[
                        "bindings",
                        "events",
                        "limitranges",
                        "namespaces/status",
                        "pods/log",
                        "pods/status",
                        "replicationcontrollers/status",
                        "resourcequotas",
                        "resourcequotas/status",
                    ],
                ),
                rule(READ, "", &["namespaces"]),
                rule(READ, "discovery.k8s.io", &["endpointslices"]),
                rule(
                    READ,
                    "apps",
                    &[
                        "controllerrevisions",
                        "daemonsets",
                        "daemonsets/status",
                        "deployments",
                        "deployments/scale",
                        "deployments/status",
                        "replicasets",
                        "replicasets/scale",
                        "replicasets/status",
                        "statefulsets",
                        "statefulsets/scale",
                        "statefulsets/status",
                    ],
                ),
                rule(
                    READ,
                    "autoscaling",
                    &[
                        "horizontalpodautoscalers",
                        "horizontalpodautoscalers/status",
                    ],
                ),
                rule(
                    READ,
                    "batch",
                    &["cronjobs", "cronjobs/status", "jobs", "jobs/status"],
                ),
                rule(
                    READ,
                    "policy",
                    &["poddisruptionbudgets", "poddisruptionbudgets/status"],
                ),
                rule(
                    READ,
                    "networking.k8s.io",
                    &["ingresses", "ingresses/status", "networkpolicies"],
                ),
                // What `kubectl top` reads (metrics-server's aggregated role).
                rule(READ, "metrics.k8s.io", &["nodes", "pods"]),
            ],
        ),
        cluster_role(
            "system:discovery",
            &[],
            vec![url_rule(
                &["get"],
                &[
                    "/api",
                    "/api/*",
                    "/apis",
                    "/apis/*",
                    "/healthz",
                    "/livez",
                    "/openapi",
                    "/openapi/*",
                    "/readyz",
                    "/version",
                    "/version/",
                ],
            )],
        ),
        cluster_role(
            "system:basic-user",
            &[],
            vec![
                rule(
                    &["create"],
                    "authentication.k8s.io",
                    &["selfsubjectreviews"],
                ),
                rule(
                    &["create"],
                    "authorization.k8s.io",
                    &["selfsubjectaccessreviews", "selfsubjectrulesreviews"],
                ),
            ],
        ),
        cluster_role(
            "system:public-info-viewer",
            &[],
            vec![url_rule(
                &["get"],
                &["/healthz", "/livez", "/readyz", "/version", "/version/"],
            )],
        ),
    ]
}

/// The events rule every component has.
fn events() -> PolicyRule {
    rule(&["create", "patch", "update"], "", &["events"])
}

/// The in-process components' roles: `(user and role name, rules)`.
pub fn component_roles() -> Vec<(String, Vec<PolicyRule>)> {
    let controller = |name: &str, mut rules: Vec<PolicyRule>| {
        rules.push(events());
        (format!("system:controller:{name}"), rules)
    };
    let pods_rw = &[
        "create", "delete", "get", "list", "patch", "update", "watch",
    ];
    vec![
        (
            "system:kube-scheduler".to_string(),
            vec![
                rule(&["get", "list", "watch", "delete"], "", &["pods"]),
                rule(&["create"], "", &["bindings", "pods/binding"]),
                rule(&["patch", "update"], "", &["pods/status"]),
                rule(READ, "", &["nodes", "namespaces"]),
                events(),
            ],
        ),
        controller(
            "deployment-controller",
            vec![
                rule(
                    &["get", "list", "watch", "update", "patch"],
                    "apps",
                    &["deployments"],
                ),
                rule(
                    &["update"],
                    "apps",
                    &["deployments/status", "deployments/finalizers"],
                ),
                rule(pods_rw, "apps", &["replicasets"]),
                rule(&["get", "list", "update", "watch"], "", &["pods"]),
            ],
        ),
        controller(
            "replicaset-controller",
            vec![
                rule(
                    &["get", "list", "watch", "update", "patch"],
                    "apps",
                    &["replicasets"],
                ),
                rule(
                    &["update"],
                    "apps",
                    &["replicasets/status", "replicasets/finalizers"],
                ),
                rule(pods_rw, "", &["pods"]),
            ],
        ),
        controller(
            "job-controller",
            vec![
                rule(
                    &["get", "list", "watch", "update", "patch", "delete"],
                    "batch",
                    &["jobs"],
                ),
                rule(&["update"], "batch", &["jobs/status", "jobs/finalizers"]),
                rule(pods_rw, "", &["pods"]),
            ],
        ),
        controller(
            "garbage-collector",
            vec![rule(
                &["delete", "get", "list", "patch", "update", "watch"],
                "*",
                &["*"],
            )],
        ),
        controller(
            "namespace-controller",
            vec![
                rule(
                    &["delete", "get", "list", "update", "watch"],
                    "",
                    &["namespaces"],
                ),
                rule(
                    &["update"],
                    "",
                    &["namespaces/finalize", "namespaces/status"],
                ),
                rule(&["delete", "deletecollection", "get", "list"], "*", &["*"]),
            ],
        ),
        controller(
            "endpoint-controller",
            vec![
                rule(READ, "", &["services", "pods"]),
                rule(
                    &["create", "delete", "get", "list", "update"],
                    "",
                    &["endpoints"],
                ),
            ],
        ),
        controller(
            "endpointslice-controller",
            vec![
                rule(READ, "", &["services", "pods", "nodes"]),
                rule(
                    &["create", "delete", "get", "list", "update"],
                    "discovery.k8s.io",
                    &["endpointslices"],
                ),
            ],
        ),
        controller(
            "service-lb-controller",
            vec![
                rule(READ, "", &["services", "nodes"]),
                rule(&["patch", "update"], "", &["services/status"]),
            ],
        ),
        controller(
            "horizontal-pod-autoscaler",
            vec![
                rule(READ, "autoscaling", &["horizontalpodautoscalers"]),
                rule(
                    &["update"],
                    "autoscaling",
                    &["horizontalpodautoscalers/status"],
                ),
                rule(&["get", "update"], "*", &["*/scale"]),
                rule(READ, "apps", &["deployments", "replicasets"]),
                rule(&["list"], "", &["pods"]),
            ],
        ),
        controller(
            "kpa-autoscaler",
            vec![
                rule(
                    &["get", "list", "watch", "update", "patch"],
                    "apps",
                    &["deployments"],
                ),
                rule(&["get", "update"], "apps", &["deployments/scale"]),
            ],
        ),
        controller(
            "node-controller",
            vec![
                rule(
                    &["delete", "get", "list", "patch", "update"],
                    "",
                    &["nodes"],
                ),
                rule(&["patch", "update"], "", &["nodes/status", "pods/status"]),
                rule(&["delete", "get", "list"], "", &["pods"]),
            ],
        ),
        controller(
            "taint-eviction-controller",
            vec![
                rule(&["delete", "get", "list", "watch"], "", &["pods"]),
                rule(&["patch", "update"], "", &["pods/status"]),
            ],
        ),
        controller(
            "pod-garbage-collector",
            vec![
                rule(&["delete", "get", "list", "watch"], "", &["pods"]),
                rule(&["patch", "update"], "", &["pods/status"]),
                rule(&["get", "list"], "", &["nodes"]),
            ],
        ),
        controller(
            "graceful-deletion",
            vec![rule(&["delete", "get", "list", "watch"], "", &["pods"])],
        ),
        controller(
            "clusterrole-aggregation-controller",
            vec![rule(
                &["escalate", "get", "list", "patch", "update", "watch"],
                RBAC_GROUP,
                &["clusterroles"],
            )],
        ),
        controller(
            "service-account-controller",
            vec![rule(&["create"], "", &["serviceaccounts"])],
        ),
        controller("skiff-events", Vec::new()),
    ]
}

fn binding(name: &str, role: &str, groups: &[&str]) -> ClusterRoleBinding {
    ClusterRoleBinding {
        metadata: meta(name, &[]),
        role_ref: RoleRef {
            api_group: RBAC_GROUP.to_string(),
            kind: "ClusterRole".to_string(),
            name: role.to_string(),
        },
        subjects: Some(
            groups
                .iter()
                .map(|g| Subject {
                    api_group: Some(RBAC_GROUP.to_string()),
                    kind: "Group".to_string(),
                    name: (*g).to_string(),
                    namespace: None,
                })
                .collect(),
        ),
    }
}

/// The default ClusterRoleBindings: the user-facing ones, then each component's role to
/// the user of the same name.
pub fn cluster_role_bindings() -> Vec<ClusterRoleBinding> {
    use crate::authn::user::{AUTHENTICATED, MASTERS, UNAUTHENTICATED};
    let components = component_roles().into_iter().map(|(name, _)| {
        let mut binding = binding(&name, &name, &[]);
        binding.subjects = Some(vec![Subject {
            api_group: Some(RBAC_GROUP.to_string()),
            kind: "User".to_string(),
            name: name.clone(),
            namespace: None,
        }]);
        binding
    });
    let mut bindings = vec![
        binding("cluster-admin", "cluster-admin", &[MASTERS]),
        binding("system:discovery", "system:discovery", &[AUTHENTICATED]),
        binding("system:basic-user", "system:basic-user", &[AUTHENTICATED]),
        binding(
            "system:public-info-viewer",
            "system:public-info-viewer",
            &[AUTHENTICATED, UNAUTHENTICATED],
        ),
    ];
    bindings.extend(components);
    bindings
}
