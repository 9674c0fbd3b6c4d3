//! Paginated lists: every page shows the collection as it was when the first page was read,
//! whatever is written between pages (as Kubernetes' continue tokens read etcd at the first
//! page's revision); a token whose revision has been compacted is a 410 `Expired`, a
//! malformed one a 400.

use crate::send;
use axum::Router;
use axum::http::{Method, StatusCode};
use serde_json::{Value, json};
use skiff_controlplane::apiserver::{self, ApiState};
use skiff_controlplane::store::{Config, MemoryStore};
use std::sync::Arc;

const CONFIGMAPS: &str = "/api/v1/namespaces/default/configmaps";

async fn router(history_window: u64) -> Router {
    let state = ApiState::new(Arc::new(MemoryStore::new(Config {
        history_window,
        ..Config::default()
    })));
    skiff_controlplane::bootstrap::ensure_namespaces(&state)
        .await
        .expect("namespaces");
    apiserver::router::router(state)
}

async fn write(router: &Router, method: Method, uri: &str, body: Value) {
    let (status, answer) = send(
        router,
        method,
        uri,
        Some("application/json"),
        body.to_string().into_bytes(),
    )
    .await;
    assert!(status.is_success(), "{status}: {answer:?}");
}

async fn create(router: &Router, name: &str, value: &str) {
    let body = json!({"apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": name}, "data": {"v": value}});
    write(router, Method::POST, CONFIGMAPS, body).await;
}

async fn get(router: &Router, uri: &str) -> (StatusCode, Value) {
    let (status, body) = send(router, Method::GET, uri, None, Vec::new()).await;
    (status, body.expect("a JSON body"))
}

/// (name, data.v) of a list's items, its resourceVersion and its continue token.
fn page(body: &Value) -> (Vec<(String, String)>, String, Option<String>) {
    let items = body["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|item| {
            (
                item["metadata"]["name"].as_str().expect("name").to_owned(),
                item["data"]["v"].as_str().expect("data").to_owned(),
            )
        })
        .collect();
    let rv = body["metadata"]["resourceVersion"]
        .as_str()
        .expect("resourceVersion")
        .to_owned();
    let token = body["metadata"]["continue"].as_str().map(str::to_owned);
    (items, rv, token)
}

fn named(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
        .collect()
}

#[tokio::test]
async fn every_page_shows_the_collection_as_of_the_first() {
    let router = router(0).await;
    for i in 10..16 {
        create(&router, &format!("cm-{i}"), "old").await;
    }
    let (status, first) = get(&router, &format!("{CONFIGMAPS}?limit=2")).await;
    assert_eq!(status, StatusCode::OK, "{first}");
    let (items, rv, token) = page(&first);
    assert_eq!(items, named(&[("cm-10", "old"), ("cm-11", "old")]));

    // Between pages: a create before the cursor and one after it, an update and a delete
    // of objects the next pages hold.
    create(&router, "cm-00", "new").await;
    create(&router, "cm-99", "new").await;
    write(
        &router,
        Method::PUT,
        &format!("{CONFIGMAPS}/cm-13"),
        json!({"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "cm-13"}, "data": {"v": "new"}}),
    )
    .await;
    let (status, deleted) = send(
        &router,
        Method::DELETE,
        &format!("{CONFIGMAPS}/cm-14"),
        None,
        Vec::new(),
    )
    .await;
    assert!(status.is_success(), "{status}: {deleted:?}");

    let mut rest = Vec::new();
    let mut token = token;
    while let Some(next) = token {
        let (status, body) = get(&router, &format!("{CONFIGMAPS}?limit=2&continue={next}")).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let (items, page_rv, next) = page(&body);
        assert_eq!(
            page_rv, rv,
            "every page is read at the first page's revision"
        );
        rest.extend(items);
        token = next;
    }
    assert_eq!(
        rest,
        named(&[
            ("cm-12", "old"),
            ("cm-13", "old"),
            ("cm-14", "old"),
            ("cm-15", "old")
        ])
    );

    // A new list sees the writes.
    let (_, now) = get(&router, CONFIGMAPS).await;
    let (items, _, token) = page(&now);
    assert_eq!(token, None);
    assert_eq!(
        items,
        named(&[
            ("cm-00", "new"),
            ("cm-10", "old"),
            ("cm-11", "old"),
            ("cm-12", "old"),
            ("cm-13", "new"),
            ("cm-15", "old"),
            ("cm-99", "new")
        ])
    );
}

#[tokio::test]
async fn a_token_older_than_the_history_is_expired() {
    let router = router(3).await;
    for i in 10..14 {
        create(&router, &format!("cm-{i}"), "v").await;
    }
    let (_, first) = get(&router, &format!("{CONFIGMAPS}?limit=1")).await;
    let (_, _, token) = page(&first);
    let token = token.expect("a continue token");
    for i in 20..25 {
        create(&router, &format!("cm-{i}"), "v").await;
    }
    let (status, body) = get(&router, &format!("{CONFIGMAPS}?limit=1&continue={token}")).await;
    assert_eq!(status, StatusCode::GONE, "{body}");
    assert_eq!(body["kind"], "Status");
    assert_eq!(body["reason"], "Expired");
    assert!(
        body["message"]
            .as_str()
            .is_some_and(|m| m.starts_with("The provided continue parameter is too old")),
        "{body}"
    );
}

#[tokio::test]
async fn malformed_tokens_and_a_resource_version_with_a_token_are_bad_requests() {
    let router = router(0).await;
    for i in 10..13 {
        create(&router, &format!("cm-{i}"), "v").await;
    }
    let (status, body) = get(
        &router,
        &format!("{CONFIGMAPS}?limit=1&continue=bm90LWpzb24"),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(
        body["message"]
            .as_str()
            .is_some_and(|m| m.starts_with("continue key is not valid")),
        "{body}"
    );
    let (_, first) = get(&router, &format!("{CONFIGMAPS}?limit=1")).await;
    let token = page(&first).2.expect("a continue token");
    let (status, body) = get(
        &router,
        &format!("{CONFIGMAPS}?limit=1&continue={token}&resourceVersion=5"),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(
        body["message"],
        "specifying resource version is not allowed when using continue"
    );
    // resourceVersion=0 alongside a token is what some clients send, and is allowed.
    let (status, body) = get(
        &router,
        &format!("{CONFIGMAPS}?limit=1&continue={token}&resourceVersion=0"),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
}
