//! Endpoints and EndpointSlices: which pods they list and how, as pods turn ready, unready
//! and terminating; named target ports; their lifetime with the Service; and how they are
//! served (discovery, label selector, kubectl's table).

use crate::{Cluster, NS, eventually, service};
use axum::http::StatusCode;
use k8s_openapi::api::core::v1::{Endpoints, Service};
use k8s_openapi::api::discovery::v1::EndpointSlice;
use serde_json::json;
use skiff_controlplane::controllers::endpointslice::{MANAGED_BY, MANAGED_BY_LABEL};
use skiff_controlplane::machinery::client::Propagation;

/// `(pod name, ready, serving, terminating)` of every endpoint of the Service's slices.
fn slice_view(slices: &[EndpointSlice]) -> Vec<(String, bool, bool, bool)> {
    let mut out: Vec<_> = slices
        .iter()
        .flat_map(|s| s.endpoints.iter())
        .map(|e| {
            let c = e.conditions.clone().unwrap_or_default();
            (
                e.target_ref
                    .as_ref()
                    .and_then(|r| r.name.clone())
                    .unwrap_or_default(),
                c.ready == Some(true),
                c.serving == Some(true),
                c.terminating == Some(true),
            )
        })
        .collect();
    out.sort();
    out
}

/// `(ready pod names, not-ready pod names)` of the Endpoints.
fn endpoints_view(endpoints: &Endpoints) -> (Vec<String>, Vec<String>) {
    let names = |list: Option<&Vec<k8s_openapi::api::core::v1::EndpointAddress>>| {
        let mut names: Vec<String> = list
            .into_iter()
            .flatten()
            .filter_map(|a| a.target_ref.as_ref()?.name.clone())
            .collect();
        names.sort();
        names
    };
    let subsets = endpoints.subsets.clone().unwrap_or_default();
    let ready = subsets
        .iter()
        .flat_map(|s| names(s.addresses.as_ref()))
        .collect();
    let not_ready = subsets
        .iter()
        .flat_map(|s| names(s.not_ready_addresses.as_ref()))
        .collect();
    (ready, not_ready)
}

fn strings(names: &[&str]) -> Vec<String> {
    names.iter().map(|s| s.to_string()).collect()
}

#[tokio::test]
async fn endpoints_follow_readiness_and_termination() {
    let cluster = Cluster::start().await;
    cluster.pod("a", "web", "node-1", "192.0.2.1", true).await;
    cluster.pod("b", "web", "node-2", "192.0.2.2", false).await;
    cluster
        .pod("other", "db", "node-1", "192.0.2.1", true)
        .await;
    cluster
        .create_service(service("web", "web", "ClusterIP", json!(8080)))
        .await
        .expect("service");

    let slices = eventually("a slice with both pods", || async {
        let slices = cluster.slices("web").await;
        (slice_view(&slices).len() == 2).then_some(slices)
    })
    .await;
    assert_eq!(
        slice_view(&slices),
        [
            ("a".to_string(), true, true, false),
            ("b".to_string(), false, false, false)
        ]
    );
    let slice = &slices[0];
    assert_eq!(slices.len(), 1);
    assert_eq!(slice.address_type, "IPv4");
    assert!(
        slice
            .metadata
            .name
            .as_deref()
            .is_some_and(|n| n.starts_with("web-"))
    );
    let labels = slice.metadata.labels.clone().unwrap_or_default();
    assert_eq!(
        labels.get(MANAGED_BY_LABEL).map(String::as_str),
        Some(MANAGED_BY)
    );
    let owner = &slice.metadata.owner_references.as_ref().expect("owner")[0];
    assert_eq!(
        (owner.kind.as_str(), owner.name.as_str()),
        ("Service", "web")
    );
    assert_eq!(owner.controller, Some(true));
    assert_eq!(owner.block_owner_deletion, Some(true));
    let ports = slice.ports.clone().expect("ports");
    assert_eq!(ports[0].port, Some(8080));
    assert_eq!(ports[0].name.as_deref(), Some("web"));
    let a = slice
        .endpoints
        .iter()
        .find(|e| e.target_ref.as_ref().and_then(|r| r.name.as_deref()) == Some("a"))
        .expect("a");
    assert_eq!(a.addresses, ["192.0.2.1"]);
    assert_eq!(a.node_name.as_deref(), Some("node-1"));

    let endpoints = eventually("endpoints", || async { cluster.endpoints("web").await }).await;
    assert_eq!(
        endpoints_view(&endpoints),
        (strings(&["a"]), strings(&["b"]))
    );

    // b turns ready, a unready.
    cluster.set_ready("b", true).await;
    cluster.set_ready("a", false).await;
    eventually("b ready and a not, in the slice", || async {
        let view = slice_view(&cluster.slices("web").await);
        (view
            == [
                ("a".to_string(), false, false, false),
                ("b".to_string(), true, true, false),
            ])
        .then_some(())
    })
    .await;
    eventually("b ready and a not, in the endpoints", || async {
        let endpoints = cluster.endpoints("web").await?;
        (endpoints_view(&endpoints) == (strings(&["b"]), strings(&["a"]))).then_some(())
    })
    .await;

    // b is deleted: bound to a node, it is terminating until its agent confirms.
    cluster.delete_pod("b").await;
    eventually("b terminating in the slice", || async {
        let view = slice_view(&cluster.slices("web").await);
        view.contains(&("b".to_string(), false, true, true))
            .then_some(())
    })
    .await;
    eventually("b gone from the endpoints", || async {
        let endpoints = cluster.endpoints("web").await?;
        (endpoints_view(&endpoints) == (strings(&[]), strings(&["a"]))).then_some(())
    })
    .await;
}

#[tokio::test]
async fn named_target_ports_resolve_against_the_pods() {
    let cluster = Cluster::start().await;
    cluster.pod("a", "web", "node-1", "192.0.2.1", true).await;
    cluster
        .create_service(service("web", "web", "NodePort", json!("http")))
        .await
        .expect("service");
    let slices = eventually("a slice with a", || async {
        let slices = cluster.slices("web").await;
        (slice_view(&slices).len() == 1).then_some(slices)
    })
    .await;
    assert_eq!(slices[0].ports.clone().expect("ports")[0].port, Some(8080));
    let endpoints = eventually("endpoints", || async { cluster.endpoints("web").await }).await;
    let subset = &endpoints.subsets.expect("subsets")[0];
    assert_eq!(subset.ports.as_ref().expect("ports")[0].port, 8080);

    // A Service whose named port no pod has lists nobody.
    cluster
        .create_service(service("nameless", "web", "ClusterIP", json!("grpc")))
        .await
        .expect("service");
    let slices = eventually("an empty slice", || async {
        let slices = cluster.slices("nameless").await;
        (!slices.is_empty()).then_some(slices)
    })
    .await;
    assert!(slice_view(&slices).is_empty());
}

#[tokio::test]
async fn slices_and_endpoints_go_with_the_service_or_its_selector() {
    let cluster = Cluster::start().await;
    cluster.pod("a", "web", "node-1", "192.0.2.1", true).await;
    cluster
        .create_service(service("web", "web", "ClusterIP", json!(8080)))
        .await
        .expect("service");
    eventually("slices", || async {
        (slice_view(&cluster.slices("web").await).len() == 1).then_some(())
    })
    .await;
    eventually("endpoints", || async { cluster.endpoints("web").await }).await;

    // Losing the selector removes them.
    cluster
        .client
        .update::<Service>(Some(NS), "web", |s| {
            s.spec.get_or_insert_default().selector = None;
            true
        })
        .await
        .expect("drop selector");
    eventually("no slices", || async {
        cluster.slices("web").await.is_empty().then_some(())
    })
    .await;
    eventually("no endpoints", || async {
        cluster.endpoints("web").await.is_none().then_some(())
    })
    .await;

    // Back with a selector, then deleted: they go with it.
    cluster
        .client
        .update::<Service>(Some(NS), "web", |s| {
            s.spec.get_or_insert_default().selector =
                Some([("app".to_string(), "web".to_string())].into());
            true
        })
        .await
        .expect("selector back");
    eventually("slices again", || async {
        (slice_view(&cluster.slices("web").await).len() == 1).then_some(())
    })
    .await;
    eventually("endpoints again", || async {
        cluster.endpoints("web").await
    })
    .await;
    cluster
        .client
        .delete::<Service>(Some(NS), "web", None, Propagation::Background)
        .await
        .expect("delete");
    eventually("slices deleted", || async {
        cluster.slices("web").await.is_empty().then_some(())
    })
    .await;
    eventually("endpoints deleted", || async {
        cluster.endpoints("web").await.is_none().then_some(())
    })
    .await;
}

#[tokio::test]
async fn many_pods_spread_over_slices_of_at_most_a_hundred() {
    let cluster = Cluster::start().await;
    for i in 0..130 {
        let ip = format!("192.0.2.{}", i % 4 + 1);
        cluster
            .pod(&format!("p{i:03}"), "web", "node-1", &ip, true)
            .await;
    }
    cluster
        .create_service(service("web", "web", "ClusterIP", json!(8080)))
        .await
        .expect("service");
    let slices = eventually("130 endpoints", || async {
        let slices = cluster.slices("web").await;
        (slice_view(&slices).len() == 130).then_some(slices)
    })
    .await;
    assert_eq!(slices.len(), 2);
    assert!(slices.iter().all(|s| s.endpoints.len() <= 100));
    let mut names: Vec<String> = slice_view(&slices).into_iter().map(|v| v.0).collect();
    names.dedup();
    assert_eq!(names.len(), 130, "every pod listed once");
}

#[tokio::test]
async fn slices_are_served_as_kubectl_reads_them() {
    let cluster = Cluster::start().await;
    cluster.pod("a", "web", "node-1", "192.0.2.1", true).await;
    cluster
        .create_service(service("web", "web", "NodePort", json!(8080)))
        .await
        .expect("service");
    eventually("slices", || async {
        (slice_view(&cluster.slices("web").await).len() == 1).then_some(())
    })
    .await;
    eventually("endpoints", || async {
        let e = cluster.endpoints("web").await?;
        (!endpoints_view(&e).0.is_empty()).then_some(())
    })
    .await;

    let (status, discovery) = cluster.get("/apis/discovery.k8s.io/v1", None).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        discovery["resources"]
            .as_array()
            .expect("resources")
            .iter()
            .any(|r| r["name"] == "endpointslices" && r["kind"] == "EndpointSlice"),
        "{discovery}"
    );

    // `kubectl describe service web` (1.29+) lists slices by label.
    let (status, list) = cluster
        .get(
            &format!(
                "/apis/discovery.k8s.io/v1/namespaces/{NS}/endpointslices?labelSelector=kubernetes.io%2Fservice-name%3Dweb"
            ),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(list["items"].as_array().map(Vec::len), Some(1), "{list}");

    let table = "application/json;as=Table;v=v1;g=meta.k8s.io";
    let (_, slices) = cluster
        .get(
            &format!("/apis/discovery.k8s.io/v1/namespaces/{NS}/endpointslices"),
            Some(table),
        )
        .await;
    let headers: Vec<&str> = slices["columnDefinitions"]
        .as_array()
        .expect("columns")
        .iter()
        .filter_map(|c| c["name"].as_str())
        .collect();
    assert_eq!(
        headers,
        ["Name", "AddressType", "Ports", "Endpoints", "Age"]
    );
    let cells = &slices["rows"][0]["cells"];
    assert_eq!(cells[1], "IPv4");
    assert_eq!(cells[2], "8080");
    assert_eq!(cells[3], "192.0.2.1");

    let (_, endpoints) = cluster
        .get(
            &format!("/api/v1/namespaces/{NS}/endpoints/web"),
            Some(table),
        )
        .await;
    assert_eq!(endpoints["rows"][0]["cells"][1], "192.0.2.1:8080");

    let (_, services) = cluster
        .get(
            &format!("/api/v1/namespaces/{NS}/services/web"),
            Some(table),
        )
        .await;
    let cells = &services["rows"][0]["cells"];
    assert_eq!(cells[1], "NodePort");
    assert_eq!(cells[3], "<none>");
    let node_port = cluster
        .service("web")
        .await
        .spec
        .expect("spec")
        .ports
        .expect("ports")[0]
        .node_port
        .expect("nodePort");
    assert_eq!(cells[4], format!("80:{node_port}/TCP"));
}
