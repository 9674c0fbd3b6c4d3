//! Authorization: the filter that decides, after authentication and before the handler,
//! whether the requester may do what the request asks ([`Attributes`]), with the server's
//! [`Authorizer`] (`system:masters`, then RBAC). Lists and watches are authorized as
//! their verbs, like gets; a refusal is a `403 Forbidden` `Status` in kube-apiserver's
//! wording ([`forbidden`]).

use crate::apiserver::filters::authentication::user_of;
use crate::authz::forbidden::forbidden;
use crate::authz::{Attributes, Authorizer, Decision};
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::sync::Arc;

/// Authorizes a request, then runs the rest of the chain.
pub async fn authorize(
    State(authorizer): State<Arc<Authorizer>>,
    request: Request,
    next: Next,
) -> Response {
    let user = user_of(&request);
    let attributes = Attributes::from_request(
        request.method().as_str(),
        request.uri().path(),
        request.uri().query(),
    );
    match authorizer.authorize(&user, &attributes) {
        Decision::Allow => next.run(request).await,
        Decision::Deny => {
            let error = forbidden(&user, &attributes);
            tracing::debug!(user = %user.name, error = %error.message, "request forbidden");
            error.into_response()
        }
    }
}
