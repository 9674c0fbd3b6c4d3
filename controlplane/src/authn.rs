//! Authentication: who sent a request, as Kubernetes establishes it.
//!
//! [`Authenticator`] tries, in kube-apiserver's order: the connection's client certificate
//! (CN = user, O = groups; judged against the cluster CA when the connection was made, see
//! [`crate::apiserver::listener`]), then a bearer token: one from the
//! `--token-auth-file` ([`token_file`]) or a ServiceAccount token ([`service_account`]). A request with no credentials is `system:anonymous` in
//! `system:unauthenticated`, which the default policy lets read nothing but the health
//! and version endpoints; a request with credentials that fail is refused (401) even if
//! anonymous access would have been allowed, so a mistyped token is never silently
//! anonymous. Every authenticated user is also in `system:authenticated`.
//!
//! [`user`] is the identity every later step sees.

pub mod authenticator;
pub mod service_account;
pub mod token_file;
pub mod user;

pub use authenticator::Authenticator;
pub use user::UserInfo;
