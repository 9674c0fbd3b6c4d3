//! Shared test helpers (encode k8s-pb objects as client-go would, compare decoded JSON with
//! the expected JSON and with k8s-openapi's reading of it) and the tests that cut across
//! kinds: bad envelopes, unsupported kinds and fields, wire-format edge cases, fuzzing.
//! Each table file tests its own kinds with these helpers.

use super::envelope::wrap;
use super::{ProtobufError, WireError, decode};
use k8s_pb::api::core::v1 as core;
use k8s_pb::apimachinery::pkg::apis::meta::v1 as meta;
use prost::Message as _;
use serde_json::{Value, json};

/// Encodes `object` and wraps it in `k8s\0` + `runtime.Unknown`, as client-go does.
pub(crate) fn body(api_version: &str, kind: &str, object: &impl prost::Message) -> Vec<u8> {
    wrap(api_version, kind, &object.encode_to_vec())
}

/// ObjectMeta as Go's encoder writes it for a new object: every non-pointer field present,
/// zero unless set, and an empty (zero) creation timestamp.
pub(crate) fn new_meta(name: &str) -> meta::ObjectMeta {
    meta::ObjectMeta {
        name: Some(name.to_owned()),
        generate_name: Some(String::new()),
        namespace: Some(String::new()),
        self_link: Some(String::new()),
        uid: Some(String::new()),
        resource_version: Some(String::new()),
        generation: Some(0),
        creation_timestamp: Some(meta::Time::default()),
        ..Default::default()
    }
}

/// A `map<string, string>` from pairs.
pub(crate) fn strings(pairs: &[(&str, &str)]) -> std::collections::BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

/// `Some(s.to_owned())`.
pub(crate) fn s(s: &str) -> Option<String> {
    Some(s.to_owned())
}

/// Decodes `body`, checks it equals `expected`, and checks k8s-openapi's `K` reads it back
/// unchanged (so every JSON name and value shape is one the real type knows).
pub(crate) fn check<K>(body: &[u8], expected: Value)
where
    K: serde::de::DeserializeOwned + serde::Serialize,
{
    let decoded = decode(body).unwrap_or_else(|e| panic!("decode failed: {e}"));
    assert_eq!(decoded, expected);
    let typed: K = serde_json::from_value(decoded.clone()).expect("k8s-openapi reads the JSON");
    let again = serde_json::to_value(&typed).expect("k8s-openapi writes JSON");
    assert_eq!(
        without_nulls(again),
        without_nulls(decoded),
        "k8s-openapi round trip"
    );
}

/// `value` with `null` object members removed (k8s-openapi omits absent optionals).
fn without_nulls(value: Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.into_iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, v)| (k, without_nulls(v)))
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.into_iter().map(without_nulls).collect()),
        other => other,
    }
}

/// A protobuf field key byte for small field numbers.
fn key(number: u8, wire: u8) -> u8 {
    number << 3 | wire
}

/// A length-delimited field.
fn len_field(number: u8, bytes: &[u8]) -> Vec<u8> {
    let mut out = vec![
        key(number, 2),
        u8::try_from(bytes.len()).expect("short test field"),
    ];
    out.extend_from_slice(bytes);
    out
}

fn config_map_body(raw: &[u8]) -> Vec<u8> {
    wrap("v1", "ConfigMap", raw)
}

#[test]
fn refuses_json_and_garbage() {
    for body in [
        &b"{\"kind\":\"ConfigMap\"}"[..],
        b"",
        b"k8s",
        b"K8S\0\x0a\x00",
        b"\x00\x01\x02\x03",
    ] {
        assert!(
            matches!(decode(body), Err(ProtobufError::MissingMagic)),
            "{body:?}"
        );
    }
    let message = decode(b"{}").expect_err("JSON is not protobuf").to_string();
    assert!(message.contains("send JSON"), "{message}");
}

#[test]
fn refuses_unsupported_kinds_and_names_the_supported_ones() {
    let statefulset = body("apps/v1", "StatefulSet", &new_meta("db"));
    let error = decode(&statefulset).expect_err("StatefulSet is not decoded");
    assert!(
        matches!(&error, ProtobufError::UnsupportedKind { api_version, kind, .. }
            if api_version == "apps/v1" && kind == "StatefulSet")
    );
    let message = error.to_string();
    assert!(message.contains("got apps/v1 StatefulSet"), "{message}");
    assert!(message.contains("v1 ConfigMap"), "{message}");
    assert!(
        message.contains("coordination.k8s.io/v1 Lease"),
        "{message}"
    );
    assert!(message.contains("send it as JSON"), "{message}");
    // Same kind, other version.
    let beta = body("coordination.k8s.io/v1beta1", "Lease", &new_meta("l"));
    assert!(matches!(
        decode(&beta),
        Err(ProtobufError::UnsupportedKind { .. })
    ));
}

#[test]
fn refuses_unsupported_fields_with_their_path() {
    let pod = core::Pod {
        metadata: Some(new_meta("p")),
        spec: Some(core::PodSpec {
            volumes: vec![
                core::Volume {
                    name: s("ok"),
                    volume_source: Some(core::VolumeSource {
                        empty_dir: Some(core::EmptyDirVolumeSource::default()),
                        ..Default::default()
                    }),
                },
                core::Volume {
                    name: s("share"),
                    volume_source: Some(core::VolumeSource {
                        nfs: Some(core::NfsVolumeSource {
                            server: s("nfs"),
                            path: s("/x"),
                            read_only: None,
                        }),
                        ..Default::default()
                    }),
                },
            ],
            ..Default::default()
        }),
        status: None,
    };
    let error = decode(&body("v1", "Pod", &pod)).expect_err("nfs is refused");
    assert!(
        matches!(&error, ProtobufError::UnsupportedField { path } if path == "spec.volumes[1].nfs"),
        "{error}"
    );
    assert!(error.to_string().contains("send this object as JSON"));
}

#[test]
fn skips_unknown_fields_of_every_wire_type() {
    let mut meta = new_meta("x").encode_to_vec();
    // field 99 varint, field 98 fixed64, field 97 length-delimited, field 96 fixed32
    meta.extend_from_slice(&[0x98, 0x06, 0x2a]);
    meta.extend_from_slice(&[0x91, 0x06, 1, 2, 3, 4, 5, 6, 7, 8]);
    meta.extend_from_slice(&[0x8a, 0x06, 3, b'a', b'b', b'c']);
    meta.extend_from_slice(&[0x85, 0x06, 1, 2, 3, 4]);
    let mut raw = len_field(1, &meta);
    raw.extend_from_slice(&[0xf8, 0x3e, 0x01]); // field 1007 varint at the top level
    let decoded = decode(&config_map_body(&raw)).expect("unknown fields are skipped");
    assert_eq!(
        decoded,
        json!({"kind": "ConfigMap", "apiVersion": "v1",
               "metadata": {"name": "x", "creationTimestamp": null}})
    );
}

#[test]
fn reports_malformed_fields_with_their_path() {
    // metadata.name (field 1 of ObjectMeta) sent as a varint.
    let raw = len_field(1, &[key(1, 0), 0x05]);
    let error = decode(&config_map_body(&raw)).expect_err("wrong wire type");
    assert!(
        matches!(&error, ProtobufError::Malformed { path, problem: WireError::WrongWireType { found: 0, expected: 2 } }
            if path == "metadata.name"),
        "{error}"
    );
    // data entry whose length runs past the message.
    let raw = [key(2, 2), 0x04, key(1, 2), 0x09, b'k', b'v'];
    let error = decode(&config_map_body(&raw)).expect_err("truncated");
    assert!(
        matches!(
            &error,
            ProtobufError::Malformed {
                problem: WireError::Truncated,
                ..
            }
        ),
        "{error}"
    );
    // a top-level group (wire type 3).
    let error = decode(&config_map_body(&[key(5, 3)])).expect_err("groups are refused");
    assert!(
        matches!(&error, ProtobufError::Malformed { path, problem: WireError::BadWireType(3) }
            if path == "the top level of the object"),
        "{error}"
    );
}

#[test]
fn follows_protobuf_merge_rules() {
    // metadata twice (merged), name twice (last wins), immutable true then false (kept,
    // it is a pointer), data entries accumulate, invalid UTF-8 becomes U+FFFD.
    let mut raw = len_field(1, &len_field(1, b"first"));
    raw.extend(len_field(
        1,
        &[
            len_field(1, b"second"),
            len_field(11, &[len_field(1, b"a"), len_field(2, b"b")].concat()),
        ]
        .concat(),
    ));
    raw.extend_from_slice(&[key(4, 0), 1, key(4, 0), 0]);
    raw.extend(len_field(
        2,
        &[len_field(1, b"k1"), len_field(2, b"v1")].concat(),
    ));
    raw.extend(len_field(
        2,
        &[len_field(1, b"k2"), len_field(2, b"\xffv")].concat(),
    ));
    raw.extend(len_field(2, &len_field(1, b"k3"))); // no value: Go's zero value
    let decoded = decode(&config_map_body(&raw)).expect("valid");
    assert_eq!(
        decoded,
        json!({"kind": "ConfigMap", "apiVersion": "v1",
               "metadata": {"name": "second", "labels": {"a": "b"}},
               "immutable": false,
               "data": {"k1": "v1", "k2": "\u{fffd}v", "k3": ""}})
    );
}

#[test]
fn reads_packed_and_unpacked_repeated_varints() {
    // PodSecurityContext.supplementalGroups = 4: unpacked 1, then packed [2, 300, -1].
    let mut security = vec![key(4, 0), 1];
    let packed = [
        2u8, 0xac, 0x02, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01,
    ];
    security.extend(len_field(4, &packed));
    let spec = len_field(14, &security);
    let raw = len_field(2, &spec);
    let decoded = decode(&wrap("v1", "Pod", &raw)).expect("valid");
    assert_eq!(
        decoded["spec"]["securityContext"]["supplementalGroups"],
        json!([1, 2, 300, -1])
    );
}

#[test]
fn negative_int32_values_survive() {
    // ServicePort.port = 3 written as the 10-byte sign extension of -5.
    let port = [
        key(3, 0),
        0xfb,
        0xff,
        0xff,
        0xff,
        0xff,
        0xff,
        0xff,
        0xff,
        0xff,
        0x01,
    ];
    let raw = len_field(2, &len_field(1, &port));
    let decoded = decode(&wrap("v1", "Service", &raw)).expect("valid");
    assert_eq!(decoded["spec"]["ports"], json!([{"port": -5}]));
}

/// A small deterministic generator for the fuzz tests (xorshift64*).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

fn seed_bodies() -> Vec<Vec<u8>> {
    let pod = core::Pod {
        metadata: Some(meta::ObjectMeta {
            labels: strings(&[("app", "web")]),
            ..new_meta("web")
        }),
        spec: Some(core::PodSpec {
            containers: vec![core::Container {
                name: s("app"),
                image: s("nginx"),
                ports: vec![core::ContainerPort {
                    container_port: Some(80),
                    ..Default::default()
                }],
                ..Default::default()
            }],
            ..Default::default()
        }),
        status: Some(core::PodStatus::default()),
    };
    let config_map = core::ConfigMap {
        metadata: Some(new_meta("cfg")),
        data: strings(&[("a", "b")]),
        ..Default::default()
    };
    vec![
        body("v1", "Pod", &pod),
        body("v1", "ConfigMap", &config_map),
    ]
}

#[test]
fn truncated_bodies_fail_cleanly() {
    for seed in seed_bodies() {
        for cut in 0..seed.len() {
            // Cuts at a field boundary can still be valid; none may panic.
            let _ = decode(&seed[..cut]);
        }
        // A cut inside `raw` always leaves its length prefix pointing past the end.
        let cut = seed.len() - 10;
        assert!(matches!(
            decode(&seed[..cut]),
            Err(ProtobufError::Envelope(WireError::Truncated))
        ));
    }
}

#[test]
fn fuzzed_bodies_never_panic() {
    let mut rng = Rng(0x5eed_cafe_f00d_d00d);
    let seeds = seed_bodies();
    let mut decoded_ok = 0;
    for round in 0..6000 {
        let mut bytes = if round % 3 == 0 {
            // Random bytes behind a valid magic and envelope.
            let len = rng.below(200);
            let raw: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
            let kinds = [
                ("v1", "Pod"),
                ("apps/v1", "Deployment"),
                ("v1", "Event"),
                ("batch/v1", "Job"),
            ];
            let (api_version, kind) = kinds[rng.below(kinds.len())];
            wrap(api_version, kind, &raw)
        } else {
            seeds[rng.below(seeds.len())].clone()
        };
        for _ in 0..=rng.below(4) {
            let at = rng.below(bytes.len());
            match rng.below(4) {
                0 => bytes[at] ^= 1 << rng.below(8),
                1 => bytes[at] = rng.next() as u8,
                2 => bytes.insert(at, rng.next() as u8),
                _ if at >= 4 => {
                    bytes.remove(at);
                }
                _ => {}
            }
        }
        if decode(&bytes).is_ok() {
            decoded_ok += 1;
        }
    }
    // Some mutations (e.g. inside string bytes) stay valid; the fuzzer must reach the decoder.
    assert!(decoded_ok > 100, "only {decoded_ok} mutated bodies decoded");
}
