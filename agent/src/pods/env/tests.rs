//! Unit tests of [`super`]: the env rules, one test per rule.
use super::*;
use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::{
    ConfigMap, ConfigMapEnvSource, ConfigMapKeySelector, EnvVar, EnvVarSource, PodSpec,
    ResourceRequirements, Secret, SecretEnvSource, SecretKeySelector,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use std::collections::BTreeMap;

fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn config_map(name: &str, data: &[(&str, &str)]) -> ConfigMap {
    ConfigMap {
        metadata: ObjectMeta {
            namespace: Some("ns".into()),
            name: Some(name.into()),
            ..ObjectMeta::default()
        },
        data: Some(pairs(data).into_iter().collect()),
        ..ConfigMap::default()
    }
}

fn secret(name: &str, data: &[(&str, &[u8])]) -> Secret {
    Secret {
        metadata: ObjectMeta {
            namespace: Some("ns".into()),
            name: Some(name.into()),
            ..ObjectMeta::default()
        },
        data: Some(
            data.iter()
                .map(|(k, v)| (k.to_string(), ByteString(v.to_vec())))
                .collect(),
        ),
        ..Secret::default()
    }
}

fn pod() -> Pod {
    Pod {
        metadata: ObjectMeta {
            namespace: Some("ns".into()),
            name: Some("web-1".into()),
            uid: Some("u-1".into()),
            labels: Some(BTreeMap::from([("app".into(), "web".into())])),
            annotations: Some(BTreeMap::from([("team".into(), "blue".into())])),
            ..ObjectMeta::default()
        },
        spec: Some(PodSpec {
            node_name: Some("node-a".into()),
            service_account_name: Some("sa".into()),
            ..PodSpec::default()
        }),
        ..Pod::default()
    }
}

fn value(name: &str, value: &str) -> EnvVar {
    EnvVar {
        name: name.into(),
        value: Some(value.into()),
        value_from: None,
    }
}

fn from(name: &str, source: EnvVarSource) -> EnvVar {
    EnvVar {
        name: name.into(),
        value: None,
        value_from: Some(source),
    }
}

fn field(name: &str, path: &str) -> EnvVar {
    from(
        name,
        EnvVarSource {
            field_ref: Some(ObjectFieldSelector {
                api_version: Some("v1".into()),
                field_path: path.into(),
            }),
            ..EnvVarSource::default()
        },
    )
}

fn cm_key(name: &str, cm: &str, key: &str, optional: bool) -> EnvVar {
    from(
        name,
        EnvVarSource {
            config_map_key_ref: Some(ConfigMapKeySelector {
                name: cm.into(),
                key: key.into(),
                optional: Some(optional),
            }),
            ..EnvVarSource::default()
        },
    )
}

fn secret_key_var(name: &str, secret: &str, key: &str, optional: bool) -> EnvVar {
    from(
        name,
        EnvVarSource {
            secret_key_ref: Some(SecretKeySelector {
                name: secret.into(),
                key: key.into(),
                optional: Some(optional),
            }),
            ..EnvVarSource::default()
        },
    )
}

fn container(env: Vec<EnvVar>, env_from: Vec<EnvFromSource>) -> Container {
    Container {
        name: "main".into(),
        env: Some(env),
        env_from: Some(env_from),
        ..Container::default()
    }
}

fn run(container: &Container, sources: &Sources) -> Result<Vec<(String, String)>, ConfigError> {
    resolve(&pod(), container, sources, "10.0.0.5")
}

fn no_sources() -> Sources {
    Sources::from_objects(vec![], vec![])
}

#[test]
fn expand_follows_kubernetes_rules() {
    let env = pairs(&[("A", "a"), ("B", "b"), ("A", "last")]);
    assert_eq!(expand("$(A)-$(B)", &env), "last-b");
    assert_eq!(expand("$$(A)", &env), "$(A)");
    assert_eq!(expand("$$$(B)", &env), "$b");
    assert_eq!(expand("$(MISSING) $(B)", &env), "$(MISSING) b");
    assert_eq!(expand("$(B", &env), "$(B");
    assert_eq!(expand("cost: $5 $", &env), "cost: $5 $");
    assert_eq!(expand("é$(B)é$", &env), "ébé$");
    assert_eq!(expand("$()", &env), "$()");
}

#[test]
fn values_expand_against_variables_defined_so_far() {
    let c = container(
        vec![
            value("LATER", "$(FIRST)"),
            value("FIRST", "one"),
            value("BOTH", "$(FIRST)+$(LATER)"),
        ],
        vec![],
    );
    let env = run(&c, &no_sources()).expect("env");
    assert_eq!(
        env,
        pairs(&[
            ("LATER", "$(FIRST)"),
            ("FIRST", "one"),
            ("BOTH", "one+$(FIRST)")
        ])
    );
}

#[test]
fn later_duplicates_override_but_keep_first_position() {
    let c = container(
        vec![value("A", "1"), value("B", "2"), value("A", "3")],
        vec![],
    );
    assert_eq!(
        run(&c, &no_sources()).expect("env"),
        pairs(&[("A", "3"), ("B", "2")])
    );
}

#[test]
fn env_from_comes_first_with_prefix_and_skips_invalid_names() {
    let sources = Sources::from_objects(
        vec![config_map(
            "cfg",
            &[
                ("MODE", "fast"),
                ("1BAD", "x"),
                ("with space", "y"),
                ("..x", "z"),
            ],
        )],
        vec![secret(
            "creds",
            &[("TOKEN", b"t0k"), ("BIN", &[0x66, 0xff])],
        )],
    );
    let c = container(
        vec![
            value("MODE", "$(MODE)-override"),
            value("USE", "$(S_TOKEN)"),
        ],
        vec![
            EnvFromSource {
                config_map_ref: Some(ConfigMapEnvSource {
                    name: "cfg".into(),
                    optional: None,
                }),
                ..EnvFromSource::default()
            },
            EnvFromSource {
                prefix: Some("S_".into()),
                secret_ref: Some(SecretEnvSource {
                    name: "creds".into(),
                    optional: None,
                }),
                ..EnvFromSource::default()
            },
        ],
    );
    let env = run(&c, &sources).expect("env");
    assert_eq!(
        env,
        pairs(&[
            ("MODE", "fast-override"),
            ("S_BIN", "f\u{fffd}"),
            ("S_TOKEN", "t0k"),
            ("USE", "t0k"),
        ])
    );
}

#[test]
fn env_from_missing_source_fails_unless_optional() {
    let source = |optional| EnvFromSource {
        config_map_ref: Some(ConfigMapEnvSource {
            name: "absent".into(),
            optional,
        }),
        ..EnvFromSource::default()
    };
    let err = run(&container(vec![], vec![source(None)]), &no_sources()).expect_err("must fail");
    assert_eq!(err.to_string(), r#"configmap "absent" not found"#);
    let env = run(&container(vec![], vec![source(Some(true))]), &no_sources());
    assert!(env.expect("optional").is_empty());
    let secret_source = EnvFromSource {
        secret_ref: Some(SecretEnvSource {
            name: "s".into(),
            optional: Some(false),
        }),
        ..EnvFromSource::default()
    };
    let err = run(&container(vec![], vec![secret_source]), &no_sources()).expect_err("must fail");
    assert_eq!(err.to_string(), r#"secret "s" not found"#);
}

#[test]
fn config_map_key_ref_resolves_or_fails_or_is_unset_when_optional() {
    let sources = Sources::from_objects(vec![config_map("cfg", &[("k", "v")])], vec![]);
    let env = run(
        &container(vec![cm_key("A", "cfg", "k", false)], vec![]),
        &sources,
    );
    assert_eq!(env.expect("env"), pairs(&[("A", "v")]));

    let err = run(
        &container(vec![cm_key("A", "cfg", "nope", false)], vec![]),
        &sources,
    );
    assert_eq!(
        err.expect_err("must fail").to_string(),
        "couldn't find key nope in ConfigMap ns/cfg"
    );
    let err = run(
        &container(vec![cm_key("A", "x", "k", false)], vec![]),
        &sources,
    );
    assert_eq!(
        err.expect_err("must fail").to_string(),
        r#"configmap "x" not found"#
    );

    let c = container(
        vec![
            value("A", "kept"),
            cm_key("A", "cfg", "nope", true),
            cm_key("B", "x", "k", true),
        ],
        vec![],
    );
    assert_eq!(run(&c, &sources).expect("env"), pairs(&[("A", "kept")]));
}

#[test]
fn secret_key_ref_resolves_lossily_or_fails_or_is_unset_when_optional() {
    let sources = Sources::from_objects(vec![], vec![secret("s", &[("k", &[b'a', 0xc3])])]);
    let env = run(
        &container(vec![secret_key_var("A", "s", "k", false)], vec![]),
        &sources,
    );
    assert_eq!(env.expect("env"), pairs(&[("A", "a\u{fffd}")]));
    let err = run(
        &container(vec![secret_key_var("A", "s", "x", false)], vec![]),
        &sources,
    );
    assert_eq!(
        err.expect_err("must fail").to_string(),
        "couldn't find key x in Secret ns/s"
    );
    let err = run(
        &container(vec![secret_key_var("A", "t", "k", false)], vec![]),
        &sources,
    );
    assert_eq!(
        err.expect_err("must fail").to_string(),
        r#"secret "t" not found"#
    );
    let c = container(
        vec![
            secret_key_var("A", "s", "x", true),
            secret_key_var("B", "t", "k", true),
        ],
        vec![],
    );
    assert!(run(&c, &sources).expect("env").is_empty());
}

#[test]
fn field_refs_read_the_pod() {
    let c = container(
        vec![
            field("NAME", "metadata.name"),
            field("NS", "metadata.namespace"),
            field("UID", "metadata.uid"),
            field("APP", "metadata.labels['app']"),
            field("NOLABEL", "metadata.labels['none']"),
            field("TEAM", "metadata.annotations['team']"),
            field("NODE", "spec.nodeName"),
            field("SA", "spec.serviceAccountName"),
            field("HOST", "status.hostIP"),
            field("POD", "status.podIP"),
        ],
        vec![],
    );
    let env = run(&c, &no_sources()).expect("env");
    assert_eq!(
        env,
        pairs(&[
            ("NAME", "web-1"),
            ("NS", "ns"),
            ("UID", "u-1"),
            ("APP", "web"),
            ("NOLABEL", ""),
            ("TEAM", "blue"),
            ("NODE", "node-a"),
            ("SA", "sa"),
            ("HOST", "10.0.0.5"),
            ("POD", "10.0.0.5"),
        ])
    );
}

#[test]
fn unsupported_field_paths_are_errors() {
    for path in [
        "spec.containers",
        "metadata.labels",
        "['x']",
        "metadata.name['x']",
    ] {
        let err =
            run(&container(vec![field("X", path)], vec![]), &no_sources()).expect_err("must fail");
        assert_eq!(err.to_string(), format!("unsupported fieldPath: {path}"));
    }
    let mut var = field("X", "metadata.name");
    if let Some(f) = var.value_from.as_mut().and_then(|v| v.field_ref.as_mut()) {
        f.api_version = Some("v2".into());
    }
    let err = run(&container(vec![var], vec![]), &no_sources()).expect_err("must fail");
    assert!(matches!(err, ConfigError::UnsupportedApiVersion(_)));
}

fn resource(name: &str, resource: &str, divisor: Option<&str>) -> EnvVar {
    from(
        name,
        EnvVarSource {
            resource_field_ref: Some(ResourceFieldSelector {
                container_name: None,
                divisor: divisor.map(|d| Quantity(d.into())),
                resource: resource.into(),
            }),
            ..EnvVarSource::default()
        },
    )
}

#[test]
fn resource_field_refs_divide_and_round_up() {
    let mut c = container(
        vec![
            resource("CPU", "limits.cpu", None),
            resource("CPU_M", "limits.cpu", Some("1m")),
            resource("MEM", "limits.memory", None),
            resource("MEM_MI", "limits.memory", Some("1Mi")),
            resource("MEM_REQ_M", "requests.memory", Some("1M")),
            resource("CPU_REQ", "requests.cpu", Some("100m")),
            resource("DISK", "limits.ephemeral-storage", Some("1Gi")),
        ],
        vec![],
    );
    c.resources = Some(ResourceRequirements {
        limits: Some(BTreeMap::from([
            ("cpu".into(), Quantity("1500m".into())),
            ("memory".into(), Quantity("64.5Mi".into())),
        ])),
        requests: Some(BTreeMap::from([("cpu".into(), Quantity("0.25".into()))])),
        ..ResourceRequirements::default()
    });
    let env = run(&c, &no_sources()).expect("env");
    assert_eq!(
        env,
        pairs(&[
            ("CPU", "2"),
            ("CPU_M", "1500"),
            ("MEM", "67633152"),
            ("MEM_MI", "65"),
            // No memory request: the limit stands in for it, as API defaulting does.
            ("MEM_REQ_M", "68"),
            ("CPU_REQ", "3"),
            ("DISK", "0"),
        ])
    );
    let err = run(
        &container(vec![resource("X", "limits.gpu", None)], vec![]),
        &no_sources(),
    );
    assert!(matches!(err, Err(ConfigError::UnsupportedResource(_))));
}
