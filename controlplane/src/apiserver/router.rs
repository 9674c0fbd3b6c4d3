//! The axum router: the paths matched by route (discovery, OpenAPI, health, the wasm module
//! store), the fallback that dispatches every resource request, the body limit, and the
//! [`filters`](super::filters) every request passes first.

use super::filters::{authentication, authorization, inflight};
use super::handlers::{discovery, modules, openapi, resource};
use super::state::ApiState;
use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::middleware;
use axum::routing::get;

/// Builds the router.
///
/// Layers added later wrap the earlier ones, so a request meets them bottom up, in
/// kube-apiserver's order: authentication, max-in-flight, authorization, then the handler.
pub fn router(state: ApiState) -> Router {
    Router::new()
        .route("/api", get(discovery::api_versions))
        .route("/apis", get(discovery::api_groups))
        .route("/version", get(discovery::version))
        .route("/healthz", get(discovery::healthy))
        .route("/livez", get(discovery::healthy))
        .route("/readyz", get(discovery::healthy))
        .route("/openapi/v2", get(openapi::v2))
        .route("/openapi/v3", get(openapi::v3_index))
        .route(
            modules::ROUTE,
            get(modules::get)
                .head(modules::head)
                .put(modules::put)
                .fallback(modules::method_not_allowed),
        )
        .fallback(resource::handle)
        // Bodies are limited (with a `Status` answer) in `request::body::read`.
        .layer(DefaultBodyLimit::disable())
        .layer(middleware::from_fn_with_state(
            state.authorizer.clone(),
            authorization::authorize,
        ))
        .layer(middleware::from_fn_with_state(
            state.inflight.clone(),
            inflight::limit,
        ))
        .layer(middleware::from_fn_with_state(
            state.authenticator.clone(),
            authentication::authenticate,
        ))
        .with_state(state)
}
