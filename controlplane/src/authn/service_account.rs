//! ServiceAccount tokens: JWTs signed (ES256) with the key in `DATA_DIR/tls/sa.key`, as
//! kube-apiserver's bound tokens are — `iss`, `sub` = `system:serviceaccount:NS:NAME`,
//! `aud`, `exp`/`iat`/`nbf`, a `jti`, and the `kubernetes.io` claim naming the namespace,
//! the ServiceAccount (name and uid) and, for a token bound to a pod, the pod.
//!
//! [`ServiceAccountTokens::issue`] makes one (the TokenRequest subresource, `kubectl create
//! token`); [`ServiceAccountTokens::verify`] checks signature, issuer, audience and time.
//! That the ServiceAccount (and a bound pod) still exist with the same uid is checked by
//! the authenticator against the store, so deleting a ServiceAccount revokes its tokens.
//! The signing and verification are jsonwebtoken's.

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use skiff_pki::keys::SigningKey;

/// The issuer of the tokens (and, as in Kubernetes, the audience the API accepts by
/// default).
pub const ISSUER: &str = "https://kubernetes.default.svc.cluster.local";
/// The user name prefix of a ServiceAccount.
pub const USER_PREFIX: &str = "system:serviceaccount:";
/// The group of every ServiceAccount.
pub const ALL_GROUP: &str = "system:serviceaccounts";

/// The claims of a token.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Claims {
    /// Issuer.
    pub iss: String,
    /// Subject: `system:serviceaccount:NS:NAME`.
    pub sub: String,
    /// Audiences.
    pub aud: Vec<String>,
    /// Expiry, seconds since the epoch.
    pub exp: i64,
    /// Issued at.
    pub iat: i64,
    /// Not before.
    pub nbf: i64,
    /// A unique id of this token.
    pub jti: String,
    /// What the token is bound to.
    #[serde(rename = "kubernetes.io")]
    pub kubernetes: Binding,
}

/// The `kubernetes.io` claim.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Binding {
    /// The ServiceAccount's namespace.
    pub namespace: String,
    /// The ServiceAccount.
    pub serviceaccount: ObjectRef,
    /// The pod the token is bound to, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pod: Option<ObjectRef>,
}

/// A name and uid.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct ObjectRef {
    /// Name.
    pub name: String,
    /// UID.
    pub uid: String,
}

/// Issues and verifies tokens with one key.
pub struct ServiceAccountTokens {
    encoding: EncodingKey,
    decoding: DecodingKey,
}

impl std::fmt::Debug for ServiceAccountTokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServiceAccountTokens")
            .finish_non_exhaustive()
    }
}

impl ServiceAccountTokens {
    /// Tokens signed with `key`.
    pub fn new(key: &SigningKey) -> Result<Self, jsonwebtoken::errors::Error> {
        Ok(Self {
            encoding: EncodingKey::from_ec_pem(key.private_pem.as_bytes())?,
            decoding: DecodingKey::from_ec_pem(key.public_pem.as_bytes())?,
        })
    }

    /// A signed token with `claims`.
    pub fn issue(&self, claims: &Claims) -> Result<String, jsonwebtoken::errors::Error> {
        jsonwebtoken::encode(&Header::new(Algorithm::ES256), claims, &self.encoding)
    }

    /// The claims of `token` if it is ours, meant for one of `audiences` and current;
    /// otherwise why not.
    pub fn verify(&self, token: &str, audiences: &[&str]) -> Result<Claims, String> {
        let mut validation = Validation::new(Algorithm::ES256);
        validation.set_issuer(&[ISSUER]);
        validation.set_audience(audiences);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        validation.leeway = 0;
        let data = jsonwebtoken::decode::<Claims>(token, &self.decoding, &validation)
            .map_err(|e| format!("service account token: {e}"))?;
        let claims = data.claims;
        let expected = format!(
            "{USER_PREFIX}{}:{}",
            claims.kubernetes.namespace, claims.kubernetes.serviceaccount.name
        );
        if claims.sub != expected {
            return Err(format!(
                "service account token: subject {:?} does not match its claims",
                claims.sub
            ));
        }
        Ok(claims)
    }
}

/// Whether `token` has the shape of a JWT (three base64url parts), so that only those are
/// tried as ServiceAccount tokens.
pub fn looks_like_jwt(token: &str) -> bool {
    token.split('.').count() == 3
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tokens() -> ServiceAccountTokens {
        let dir = tempfile::tempdir().expect("dir");
        let key = skiff_pki::keys::load_or_create(&dir.path().join("sa.key")).expect("key");
        ServiceAccountTokens::new(&key).expect("tokens")
    }

    fn claims(exp_in: i64) -> Claims {
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        Claims {
            iss: ISSUER.into(),
            sub: "system:serviceaccount:team-a:builder".into(),
            aud: vec![ISSUER.into()],
            exp: now + exp_in,
            iat: now,
            nbf: now,
            jti: "id".into(),
            kubernetes: Binding {
                namespace: "team-a".into(),
                serviceaccount: ObjectRef {
                    name: "builder".into(),
                    uid: "u1".into(),
                },
                pod: None,
            },
        }
    }

    #[test]
    fn a_token_round_trips_and_only_for_its_audience() {
        let tokens = tokens();
        let token = tokens.issue(&claims(600)).expect("issue");
        assert!(looks_like_jwt(&token));
        assert_eq!(
            tokens.verify(&token, &[ISSUER]).expect("verify"),
            claims_of(&tokens, &token)
        );
        assert!(tokens.verify(&token, &["https://elsewhere"]).is_err());
    }

    fn claims_of(tokens: &ServiceAccountTokens, token: &str) -> Claims {
        tokens.verify(token, &[ISSUER]).expect("claims")
    }

    #[test]
    fn expired_foreign_and_tampered_tokens_are_refused() {
        let tokens = tokens();
        let expired = tokens.issue(&claims(-10)).expect("issue");
        assert!(
            tokens
                .verify(&expired, &[ISSUER])
                .expect_err("expired")
                .contains("Expired")
        );
        let foreign = self::tokens().issue(&claims(600)).expect("issue");
        assert!(tokens.verify(&foreign, &[ISSUER]).is_err());
        let good = tokens.issue(&claims(600)).expect("issue");
        let mut parts: Vec<&str> = good.split('.').collect();
        let other = tokens
            .issue(&Claims {
                sub: "system:serviceaccount:kube-system:admin".into(),
                ..claims(600)
            })
            .expect("issue");
        let other_payload = other.split('.').nth(1).expect("payload").to_string();
        parts[1] = &other_payload;
        assert!(tokens.verify(&parts.join("."), &[ISSUER]).is_err());
        // A subject that disagrees with the kubernetes.io claim is refused too.
        let lying = tokens
            .issue(&Claims {
                sub: "system:serviceaccount:kube-system:admin".into(),
                ..claims(600)
            })
            .expect("issue");
        assert!(tokens.verify(&lying, &[ISSUER]).is_err());
    }
}
