//! The filters of the handler chain: what every request passes before a handler sees it,
//! in kube-apiserver's order — [`authentication`] (who is asking), [`inflight`] (is there
//! room to work on it now, else 429), then [`authorization`] (may they do this). Each is
//! an axum middleware that the router layers over every route, the fallback included.
//!
//! Skiff has no authentication or authorization yet: those two filters let every request
//! through unchanged. They are the places where those checks go.

pub mod authentication;
pub mod authorization;
pub mod inflight;
