//! Continue tokens of paginated lists: [`Continue`] says where the next page starts and the
//! revision the whole list is read at, so that every page shows the collection as it was
//! when the first one was read (Kubernetes reads each page from etcd at that revision).
//!
//! The format is Kubernetes': base64url (no padding) of the JSON
//! `{"v":"meta.k8s.io/v1","rv":N,"start":"REST\u0000"}`, where `REST` is the last key of the
//! previous page relative to the collection's key prefix and the appended NUL makes the start
//! inclusive of the next key only.

use crate::apiserver::error::{ApiError, ApiResult};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};

/// The only token version there is.
const VERSION: &str = "meta.k8s.io/v1";

/// Where a list continues, decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Continue {
    /// The revision the list's first page was read at.
    pub revision: u64,
    /// The full key of the previous page's last item; the next page starts after it.
    pub after: String,
}

#[derive(Serialize, Deserialize)]
struct Token {
    v: String,
    rv: i64,
    start: String,
}

impl Continue {
    /// The token for a collection whose keys start with `prefix`.
    pub fn encode(&self, prefix: &str) -> String {
        let rest = self.after.strip_prefix(prefix).unwrap_or(&self.after);
        let token = Token {
            v: VERSION.to_owned(),
            rv: i64::try_from(self.revision).unwrap_or(i64::MAX),
            start: format!("{rest}\0"),
        };
        URL_SAFE_NO_PAD.encode(serde_json::to_vec(&token).unwrap_or_default())
    }

    /// Decodes a client's token for the collection under `prefix`; a malformed one is a 400
    /// in Kubernetes' words.
    pub fn decode(token: &str, prefix: &str) -> ApiResult<Self> {
        let invalid =
            |why: &str| ApiError::bad_request(format!("continue key is not valid: {why}"));
        let bytes = URL_SAFE_NO_PAD
            .decode(token.trim_end_matches('='))
            .map_err(|_| invalid("illegal base64 data"))?;
        let token: Token =
            serde_json::from_slice(&bytes).map_err(|_| invalid("not a continue token"))?;
        if token.v != VERSION {
            return Err(invalid("server does not recognize this encoded version"));
        }
        let revision = u64::try_from(token.rv)
            .ok()
            .filter(|rv| *rv > 0)
            .ok_or_else(|| {
                invalid("incorrect encoded start resourceVersion (version meta.k8s.io/v1)")
            })?;
        let rest = token.start.strip_suffix('\0').unwrap_or(&token.start);
        if rest.is_empty() || rest.starts_with('/') || rest.split('/').any(|part| part == "..") {
            return Err(invalid(
                "continue key does not name an object of this collection",
            ));
        }
        Ok(Self {
            revision,
            after: format!("{prefix}{rest}"),
        })
    }
}

/// Kubernetes' answer to a continue token whose revision has been compacted away (410).
pub fn expired() -> ApiError {
    ApiError::expired(
        "The provided continue parameter is too old to display a consistent list result. You \
         can start a new list without the continue parameter, or use the continue token in \
         this response to retrieve the remainder of the results. Continuing with the provided \
         token results in an inconsistent list - objects that were created, modified, or \
         deleted between the time the first chunk was returned and now may show up in the \
         list.",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_round_trip_in_kubernetes_format() {
        let next = Continue {
            revision: 42,
            after: "/registry/pods/default/web-1".to_owned(),
        };
        let token = next.encode("/registry/pods/");
        let json = URL_SAFE_NO_PAD.decode(&token).expect("base64url");
        assert_eq!(
            String::from_utf8(json).expect("utf-8"),
            r#"{"v":"meta.k8s.io/v1","rv":42,"start":"default/web-1\u0000"}"#
        );
        assert_eq!(
            Continue::decode(&token, "/registry/pods/").expect("decodes"),
            next
        );
    }

    #[test]
    fn bad_tokens_are_rejected_with_kubernetes_wording() {
        let encode = |json: &str| URL_SAFE_NO_PAD.encode(json);
        for (token, why) in [
            ("%%%".to_owned(), "illegal base64 data"),
            (encode("[]"), "not a continue token"),
            (
                encode(r#"{"v":"v2","rv":1,"start":"a"}"#),
                "server does not recognize this encoded version",
            ),
            (
                encode(r#"{"v":"meta.k8s.io/v1","rv":0,"start":"a"}"#),
                "incorrect encoded start resourceVersion",
            ),
            (
                encode(r#"{"v":"meta.k8s.io/v1","rv":3,"start":"../secrets/x"}"#),
                "does not name an object",
            ),
        ] {
            let error = Continue::decode(&token, "/registry/pods/").expect_err(&token);
            assert_eq!(error.code.as_u16(), 400, "{token}");
            assert!(
                error.message.starts_with("continue key is not valid: "),
                "{}",
                error.message
            );
            assert!(error.message.contains(why), "{}", error.message);
        }
    }
}
