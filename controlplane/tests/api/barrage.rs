//! Thousands of random and mutated requests against every resource endpoint.

use crate::{router, send};
use axum::http::{Method, StatusCode};
use serde_json::{Value, json};
use skiff_model::kinds::KINDS;

/// A small deterministic PRNG (xorshift64*), so failures reproduce from the seed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

fn valid_bodies() -> Vec<(&'static str, Value)> {
    let pod_spec = json!({"containers": [{"name": "c", "image": "./app.wasm",
        "env": [{"name": "A", "value": "1"}], "ports": [{"containerPort": 80}]}]});
    vec![
        (
            "configmaps",
            json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cm", "labels": {"a": "b"}}, "data": {"k": "v"}}),
        ),
        (
            "pods",
            json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, "spec": pod_spec}),
        ),
        (
            "deployments",
            json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d"},
            "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "d"}},
                     "template": {"metadata": {"labels": {"app": "d"}}, "spec": pod_spec}}}),
        ),
        (
            "services",
            json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "s"},
            "spec": {"selector": {"app": "d"}, "ports": [{"port": 80}]}}),
        ),
        (
            "secrets",
            json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "sec"}, "data": {"k": "dmFsdWU="}}),
        ),
        (
            "jobs",
            json!({"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "j"},
            "spec": {"template": {"spec": {"restartPolicy": "Never", "containers": [{"name": "c", "image": "./j.wasm"}]}}}}),
        ),
    ]
}

/// Replaces a random node of `value` with something of another type.
fn mutate_value(rng: &mut Rng, value: &mut Value, depth: usize) {
    let replacement = || -> Value {
        match depth % 7 {
            0 => Value::Null,
            1 => json!(-1),
            2 => json!("x".repeat(300)),
            3 => json!([1, "two", null]),
            4 => json!({"$patch": "delete"}),
            5 => json!(true),
            _ => json!(1e308),
        }
    };
    match value {
        Value::Object(map) if !map.is_empty() && rng.below(3) != 0 => {
            let key = map
                .keys()
                .nth(rng.below(map.len()))
                .cloned()
                .expect("non-empty");
            if let Some(child) = map.get_mut(&key) {
                mutate_value(rng, child, depth + 1);
            }
        }
        Value::Array(items) if !items.is_empty() && rng.below(3) != 0 => {
            let i = rng.below(items.len());
            mutate_value(rng, &mut items[i], depth + 1);
        }
        other => *other = replacement(),
    }
}

fn mutate_bytes(rng: &mut Rng, mut bytes: Vec<u8>) -> Vec<u8> {
    match rng.below(5) {
        0 => {
            let cut = rng.below(bytes.len() + 1);
            bytes.truncate(cut);
        }
        1 => {
            for _ in 0..1 + rng.below(8) {
                if bytes.is_empty() {
                    break;
                }
                let i = rng.below(bytes.len());
                bytes[i] = (rng.next() & 0xff) as u8;
            }
        }
        2 => {
            bytes = (0..rng.below(200))
                .map(|_| (rng.next() & 0xff) as u8)
                .collect()
        }
        3 => bytes = format!("{}{}", "[".repeat(5000), "]".repeat(5000)).into_bytes(),
        _ => {}
    }
    bytes
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn random_and_mutated_requests_never_fail_the_server() {
    let (router, state) = router().await;
    let mut rng = Rng(0x5eed_cafe_f00d_d00d);
    let bodies = valid_bodies();
    let methods = [
        Method::POST,
        Method::PUT,
        Method::PATCH,
        Method::DELETE,
        Method::GET,
    ];
    let content_types = [
        Some("application/json"),
        Some("application/yaml"),
        Some("application/merge-patch+json"),
        Some("application/json-patch+json"),
        Some("application/strategic-merge-patch+json"),
        Some("application/apply-patch+yaml"),
        Some("application/vnd.kubernetes.protobuf"),
        Some("text/plain"),
        None,
    ];
    let mut answered = [0usize; 6];
    for round in 0..4000 {
        let (plural, valid) = &bodies[rng.below(bodies.len())];
        let kind = KINDS.iter().find(|k| k.plural == *plural).expect("kind");
        let prefix = if kind.group.is_empty() {
            "/api/v1".to_string()
        } else {
            format!("/apis/{}/{}", kind.group, kind.version)
        };
        let name = valid["metadata"]["name"].as_str().expect("name");
        let sub = ["", "/status", "/scale", "/binding", "/log", "/bogus"][rng.below(6)];
        let uri = match rng.below(4) {
            0 => format!("{prefix}/namespaces/default/{plural}"),
            1 => format!("{prefix}/namespaces/default/{plural}/{name}{sub}"),
            2 => format!(
                "{prefix}/namespaces/default/{plural}/{name}?fieldValidation=Strict&dryRun={}",
                ["", "All", "Bad"][rng.below(3)]
            ),
            _ => format!(
                "{prefix}/namespaces/default/{plural}?labelSelector={}&limit={}&fieldSelector={}",
                ["a%3Db", "a+in+(", "!!", "a%21%3Db"][rng.below(4)],
                ["1", "-1", "x"][rng.below(3)],
                ["metadata.name%3Dx", "spec.x%3D1", "%3D"][rng.below(3)]
            ),
        };
        let mut body = valid.clone();
        if rng.below(4) != 0 {
            mutate_value(&mut rng, &mut body, round);
        }
        let bytes = serde_json::to_vec(&body).expect("json");
        let bytes = if rng.below(3) == 0 {
            mutate_bytes(&mut rng, bytes)
        } else {
            bytes
        };
        let method = methods[rng.below(methods.len())].clone();
        let content_type = content_types[rng.below(content_types.len())];
        let (status, reply) = send(&router, method.clone(), &uri, content_type, bytes).await;
        assert!(
            !status.is_server_error() || status == StatusCode::SERVICE_UNAVAILABLE,
            "round {round}: {method} {uri} ({content_type:?}) got {status}: {reply:?}"
        );
        if status.is_client_error() {
            let reply =
                reply.unwrap_or_else(|| panic!("round {round}: {status} without a JSON body"));
            assert_eq!(reply["kind"], "Status", "round {round}: {reply}");
            assert_eq!(reply["code"], status.as_u16(), "round {round}: {reply}");
        }
        answered[(status.as_u16() / 100) as usize] += 1;
    }
    // The barrage reached the success paths as well as the error paths.
    assert!(answered[2] > 100, "{answered:?}");
    assert!(answered[4] > 1000, "{answered:?}");

    // Every stored object still decodes and fits its type.
    let all = state.store.list("/registry/").await.expect("list");
    assert!(!all.items.is_empty());
    for kv in all.items {
        let object: Value = serde_json::from_slice(&kv.value).expect("stored JSON");
        let kind = KINDS
            .iter()
            .find(|k| kv.key.starts_with(&k.key_prefix(None)))
            .expect("a known kind");
        assert_eq!(object["kind"], kind.kind, "{}", kv.key);
        assert!(object.pointer("/metadata/uid").is_some(), "{}", kv.key);
    }
}

#[tokio::test]
async fn oversized_bodies_are_413() {
    let (router, _) = router().await;
    let mut big = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "big"}});
    big["data"] = json!({"blob": "x".repeat(4 << 20)});
    let (status, reply) = send(
        &router,
        Method::POST,
        "/api/v1/namespaces/default/configmaps",
        Some("application/json"),
        serde_json::to_vec(&big).expect("json"),
    )
    .await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    let reply = reply.expect("a Status body");
    assert_eq!(reply["reason"], "RequestEntityTooLarge");
}
