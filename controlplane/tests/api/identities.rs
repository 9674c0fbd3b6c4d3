//! The in-process components act under their own identities on a server that authorizes:
//! each may do what its default role grants and nothing else — a bug in one cannot reach
//! what it was never granted.

use crate::secure_state;
use k8s_openapi::api::core::v1::{Pod, Secret, ServiceAccount};
use k8s_openapi::api::rbac::v1::{ClusterRole, PolicyRule};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use skiff_controlplane::machinery::client::{Client, Propagation};
use tokio_util::sync::CancellationToken;

fn meta(name: &str) -> ObjectMeta {
    ObjectMeta {
        name: Some(name.into()),
        namespace: Some("default".into()),
        ..ObjectMeta::default()
    }
}

#[tokio::test]
async fn each_component_may_do_its_work_and_nothing_else() {
    let shutdown = CancellationToken::new();
    let state = secure_state(&shutdown).await;
    let accounts = Client::new(state.clone(), "service-account-controller");
    assert_eq!(
        accounts.user().name,
        "system:controller:service-account-controller"
    );
    let account = ServiceAccount {
        metadata: meta("builder"),
        ..ServiceAccount::default()
    };
    accounts.create(&account).await.expect("its own work");

    let replicasets = Client::new(state.clone(), "replicaset-controller");
    let pod = Pod {
        metadata: meta("web-1"),
        spec: Some(
            serde_json::from_value(
                serde_json::json!({"containers": [{"name": "c", "image": "x"}]}),
            )
            .expect("spec"),
        ),
        ..Pod::default()
    };
    replicasets
        .create(&pod)
        .await
        .expect("a ReplicaSet makes pods");

    let refused = accounts
        .delete::<Pod>(Some("default"), "web-1", None, Propagation::Background)
        .await
        .expect_err("not its work");
    assert_eq!(refused.code, 403);
    assert_eq!(
        refused.message,
        r#"pods "web-1" is forbidden: User "system:controller:service-account-controller" cannot delete resource "pods" in API group "" in the namespace "default""#
    );
    let scheduler = Client::new(state.clone(), "default-scheduler");
    assert_eq!(scheduler.user().name, "system:kube-scheduler");
    let secret = Secret {
        metadata: meta("stolen"),
        ..Secret::default()
    };
    let refused = scheduler.create(&secret).await.expect_err("no secrets");
    assert_eq!(refused.code, 403);
    assert!(
        scheduler
            .get::<Secret>(Some("default"), "any")
            .await
            .is_err()
    );

    // Only the aggregation controller may rewrite a role's rules (it may escalate).
    let widen = |role: &mut ClusterRole| {
        role.rules.get_or_insert_default().push(PolicyRule {
            verbs: vec!["get".into()],
            api_groups: Some(vec![String::new()]),
            resources: Some(vec!["secrets".into()]),
            ..PolicyRule::default()
        });
        true
    };
    let refused = replicasets
        .update::<ClusterRole>(None, "system:basic-user", widen)
        .await
        .expect_err("not the ReplicaSet controller's");
    assert_eq!(refused.code, 403);
    Client::new(state.clone(), "clusterrole-aggregation-controller")
        .update::<ClusterRole>(None, "system:basic-user", widen)
        .await
        .expect("the aggregation controller may");
    shutdown.cancel();
}
