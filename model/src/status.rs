//! The `Status` body (meta/v1) that Kubernetes servers answer failures with, as the API
//! server and the agent's endpoint both write it.

use serde_json::{Value, json};

/// A failure `Status` with its HTTP `code`, machine-readable `reason` (`NotFound`) and
/// message for people.
pub fn failure(code: u16, reason: &str, message: &str) -> Value {
    json!({
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": message,
        "reason": reason,
        "code": code,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failure_has_the_status_shape() {
        let status = failure(404, "NotFound", "pods \"web\" not found");
        assert_eq!(status["kind"], "Status");
        assert_eq!(status["status"], "Failure");
        assert_eq!(status["code"], 404);
        assert_eq!(status["reason"], "NotFound");
        assert_eq!(status["message"], "pods \"web\" not found");
    }
}
