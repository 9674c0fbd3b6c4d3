//! `coordination.k8s.io/v1` Lease, as client-go leader election writes it.

use super::schema::{
    Field,
    Type::{I32, MicroTime, Str},
    keep, msg,
};

/// `coordination/v1` Lease.
pub(crate) const LEASE: &[Field] = &[
    msg(1, "metadata", super::meta::OBJECT_META),
    msg(2, "spec", LEASE_SPEC),
];

/// `coordination/v1` LeaseSpec.
pub(crate) const LEASE_SPEC: &[Field] = &[
    keep(1, "holderIdentity", Str),
    keep(2, "leaseDurationSeconds", I32),
    keep(3, "acquireTime", MicroTime),
    keep(4, "renewTime", MicroTime),
    keep(5, "leaseTransitions", I32),
    keep(6, "strategy", Str),
    keep(7, "preferredHolder", Str),
];

#[cfg(test)]
mod tests {
    use crate::apiserver::codec::protobuf::tests::{body, check, s};
    use k8s_openapi::api::coordination::v1 as openapi;
    use k8s_pb::api::coordination::v1 as pb;
    use k8s_pb::apimachinery::pkg::apis::meta::v1 as meta;
    use serde_json::json;

    /// A leader-election renewal: client-go sends back the Lease it read, managed fields
    /// and all, with a new `renewTime`.
    #[test]
    fn leader_election_update() {
        let object = pb::Lease {
            metadata: Some(meta::ObjectMeta {
                name: s("skiff-controller"),
                namespace: s("kube-system"),
                uid: s("7f0c1b6e-2d3a-4c5b-8e9f-0a1b2c3d4e5f"),
                resource_version: s("981"),
                creation_timestamp: Some(meta::Time {
                    seconds: Some(1_714_979_289),
                    nanos: None,
                }),
                managed_fields: vec![meta::ManagedFieldsEntry {
                    manager: s("controller"),
                    operation: s("Update"),
                    api_version: s("coordination.k8s.io/v1"),
                    time: Some(meta::Time {
                        seconds: Some(1_714_979_289),
                        nanos: None,
                    }),
                    fields_type: s("FieldsV1"),
                    fields_v1: Some(meta::FieldsV1 {
                        raw: Some(br#"{"f:spec":{"f:holderIdentity":{}}}"#.to_vec()),
                    }),
                    subresource: s(""),
                }],
                ..Default::default()
            }),
            spec: Some(pb::LeaseSpec {
                holder_identity: s("skiff-0_4f2a"),
                lease_duration_seconds: Some(15),
                acquire_time: Some(meta::MicroTime {
                    seconds: Some(1_714_979_289),
                    nanos: Some(1_000),
                }),
                renew_time: Some(meta::MicroTime {
                    seconds: Some(1_714_979_301),
                    nanos: Some(999_999_999),
                }),
                lease_transitions: Some(0),
                strategy: None,
                preferred_holder: None,
            }),
        };
        check::<openapi::Lease>(
            &body("coordination.k8s.io/v1", "Lease", &object),
            json!({
                "kind": "Lease", "apiVersion": "coordination.k8s.io/v1",
                "metadata": {
                    "name": "skiff-controller", "namespace": "kube-system",
                    "uid": "7f0c1b6e-2d3a-4c5b-8e9f-0a1b2c3d4e5f", "resourceVersion": "981",
                    "creationTimestamp": "2024-05-06T07:08:09Z",
                    "managedFields": [{
                        "manager": "controller", "operation": "Update",
                        "apiVersion": "coordination.k8s.io/v1", "time": "2024-05-06T07:08:09Z",
                        "fieldsType": "FieldsV1",
                        "fieldsV1": {"f:spec": {"f:holderIdentity": {}}}
                    }]
                },
                "spec": {
                    "holderIdentity": "skiff-0_4f2a",
                    "leaseDurationSeconds": 15,
                    "acquireTime": "2024-05-06T07:08:09.000001Z",
                    "renewTime": "2024-05-06T07:08:21.999999Z",
                    "leaseTransitions": 0
                }
            }),
        );
    }
}
