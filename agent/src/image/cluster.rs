//! Images in the API server's module store (`skiff://modules/<file-name>@sha256:<hex>`):
//! [`get`] fetches `GET /skiff/v1/modules/sha256:<hex>` through the agent's `kube` client,
//! so the kubeconfig's address, TLS and credentials apply as to every other request. The
//! caller verifies the bytes against the digest, as for every pinned image.

use bytes::Bytes;
use http::StatusCode;
use http::header::ACCEPT;
use kube::client::Body;
use serde_json::Value;

use super::PullError;
use super::error::root_cause;

/// The API path of the module `digest`.
pub(crate) fn path(digest: &str) -> String {
    format!("/skiff/v1/modules/{digest}")
}

/// The bytes of the module `digest` (`sha256:<hex>`) from the API server behind `client`;
/// `None` means the agent has no client (a store opened without one).
pub(crate) async fn get(client: Option<&kube::Client>, digest: &str) -> Result<Bytes, PullError> {
    let failed = |detail: String| PullError::ClusterModule {
        digest: digest.to_owned(),
        detail,
    };
    let client = client.ok_or_else(|| failed("this agent has no API server client".to_owned()))?;
    let request = http::Request::get(path(digest))
        .header(ACCEPT, "application/wasm")
        .body(Body::empty())
        .map_err(|e| failed(format!("cannot build the request: {e}")))?;
    let response = client
        .send(request)
        .await
        .map_err(|e| failed(format!("cannot reach the API server: {}", root_cause(&e))))?;
    let status = response.status();
    let body = response
        .into_body()
        .collect_bytes()
        .await
        .map_err(|e| failed(format!("the transfer broke off: {}", root_cause(&e))))?;
    if status.is_success() {
        return Ok(body);
    }
    if status == StatusCode::NOT_FOUND {
        return Err(failed(
            "the cluster's module store does not have it (upload it with `skiff apply`)".to_owned(),
        ));
    }
    // Errors are `Status` objects; their message says why.
    let message = serde_json::from_slice::<Value>(&body)
        .ok()
        .and_then(|v| v.get("message").and_then(Value::as_str).map(str::to_owned));
    Err(failed(match message {
        Some(message) => format!("HTTP {status}: {message}"),
        None => format!("HTTP {status}"),
    }))
}

#[cfg(test)]
mod tests {
    use crate::image::{ImageStore, PullError, PullPolicy};
    use skiff_controlplane::apiserver::{self, ApiState};
    use skiff_controlplane::module_store::{Digest, ModuleStore};
    use skiff_controlplane::store::{Config, MemoryStore};
    use std::sync::Arc;
    use tokio_util::sync::CancellationToken;

    const MODULE: &[u8] = b"\0asm\x01\0\0\0cluster";

    /// Serves the API with a module store holding [`MODULE`] until `shutdown`; returns a
    /// client for it.
    async fn api_server(dir: &std::path::Path, shutdown: &CancellationToken) -> kube::Client {
        let modules = ModuleStore::open(dir.join("server-modules")).expect("module store");
        modules
            .put(&Digest::of(MODULE), MODULE)
            .expect("store the module");
        let state = ApiState::new(Arc::new(MemoryStore::new(Config::default())))
            .with_modules(Arc::new(modules));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let url = format!("http://{}", listener.local_addr().expect("address"));
        tokio::spawn(apiserver::serve(
            listener,
            state,
            shutdown.clone().cancelled_owned(),
        ));
        kube::Client::try_from(kube::Config::new(url.parse().expect("url"))).expect("client")
    }

    #[tokio::test]
    async fn pulls_from_the_api_server_then_from_the_cache() {
        let dir = tempfile::tempdir().expect("tempdir");
        let shutdown = CancellationToken::new();
        let client = api_server(dir.path(), &shutdown).await;
        let images =
            ImageStore::with_client(dir.path().join("images"), Vec::new(), client).expect("open");
        let digest = Digest::of(MODULE).to_string();
        let image = format!("skiff://modules/app.wasm@{digest}");
        assert_eq!(PullPolicy::of(None, &image), PullPolicy::IfNotPresent);

        let pulled = images
            .pull(&image, PullPolicy::IfNotPresent)
            .await
            .expect("pull");
        assert_eq!(pulled.bytes.as_ref(), MODULE);
        assert_eq!(pulled.digest, digest);
        assert_eq!(pulled.image_id, digest);
        assert!(pulled.fetched);

        // The API server is gone: the blob is served from the node's cache, under this
        // name and (content-addressed) under any other file name with the same pin.
        shutdown.cancel();
        for name in [
            image.clone(),
            format!("skiff://modules/renamed.wasm@{digest}"),
        ] {
            let again = images
                .pull(&name, PullPolicy::IfNotPresent)
                .await
                .expect("cached");
            assert!(!again.fetched, "{name}");
            assert_eq!(again.bytes.as_ref(), MODULE);
        }
    }

    #[tokio::test]
    async fn an_absent_module_is_an_image_pull_error() {
        let dir = tempfile::tempdir().expect("tempdir");
        let shutdown = CancellationToken::new();
        let client = api_server(dir.path(), &shutdown).await;
        let images =
            ImageStore::with_client(dir.path().join("images"), Vec::new(), client).expect("open");
        let absent = Digest::of(b"\0asm\x01\0\0\0absent").to_string();
        let error = images
            .pull(
                &format!("skiff://modules/absent.wasm@{absent}"),
                PullPolicy::IfNotPresent,
            )
            .await
            .expect_err("absent");
        assert_eq!(error.reason(), "ErrImagePull");
        let text = error.to_string();
        assert!(
            text.contains(&absent) && text.contains("does not have it"),
            "{text}"
        );
        shutdown.cancel();
    }

    #[tokio::test]
    async fn without_a_client_the_pull_says_so() {
        let dir = tempfile::tempdir().expect("tempdir");
        let images = ImageStore::new(dir.path().join("images"), Vec::new()).expect("open");
        let digest = Digest::of(MODULE).to_string();
        let error = images
            .pull(
                &format!("skiff://modules/app.wasm@{digest}"),
                PullPolicy::IfNotPresent,
            )
            .await
            .expect_err("no client");
        assert!(
            matches!(&error, PullError::ClusterModule { detail, .. } if detail.contains("no API server client")),
            "{error}"
        );
    }
}
