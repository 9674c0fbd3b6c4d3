//! `core/v1` Event, as client-go's event recorder creates it.

use super::schema::{
    Field,
    Type::{I32, MicroTime, Str, Time},
    keep, msg, opt,
};

/// `core/v1` Event.
pub(crate) const EVENT: &[Field] = &[
    msg(1, "metadata", super::meta::OBJECT_META),
    msg(2, "involvedObject", super::config::OBJECT_REFERENCE),
    opt(3, "reason", Str),
    opt(4, "message", Str),
    msg(5, "source", EVENT_SOURCE),
    keep(6, "firstTimestamp", Time),
    keep(7, "lastTimestamp", Time),
    opt(8, "count", I32),
    opt(9, "type", Str),
    keep(10, "eventTime", MicroTime),
    msg(11, "series", EVENT_SERIES),
    opt(12, "action", Str),
    msg(13, "related", super::config::OBJECT_REFERENCE),
    keep(14, "reportingComponent", Str),
    keep(15, "reportingInstance", Str),
];

/// `core/v1` EventSource.
pub(crate) const EVENT_SOURCE: &[Field] = &[opt(1, "component", Str), opt(2, "host", Str)];

/// `core/v1` EventSeries.
pub(crate) const EVENT_SERIES: &[Field] =
    &[opt(1, "count", I32), keep(2, "lastObservedTime", MicroTime)];

#[cfg(test)]
mod tests {
    use crate::apiserver::codec::protobuf::tests::{body, check, new_meta, s};
    use k8s_openapi::api::core::v1 as openapi;
    use k8s_pb::api::core::v1 as pb;
    use k8s_pb::apimachinery::pkg::apis::meta::v1 as meta;
    use serde_json::json;

    /// An event as client-go's recorder writes it: `Time`s in whole seconds, a zero
    /// `eventTime`, and the reporting fields Go always writes.
    #[test]
    fn recorder_event() {
        let object = pb::Event {
            metadata: Some(meta::ObjectMeta {
                namespace: s("default"),
                ..new_meta("web-7d9f.17c2a1b2c3d4e5f6")
            }),
            involved_object: Some(pb::ObjectReference {
                kind: s("Pod"),
                namespace: s("default"),
                name: s("web-7d9f"),
                uid: s("0b7c8a52-6a36-4a44-9d8e-1f2e3d4c5b6a"),
                api_version: s("v1"),
                resource_version: s("1234"),
                field_path: s("spec.containers{app}"),
            }),
            reason: s("Pulled"),
            message: s("Container image \"nginx\" already present on machine"),
            source: Some(pb::EventSource {
                component: s("kubelet"),
                host: s("node-1"),
            }),
            first_timestamp: Some(meta::Time {
                seconds: Some(1_714_979_289),
                nanos: None,
            }),
            last_timestamp: Some(meta::Time {
                seconds: Some(1_714_979_349),
                nanos: Some(5),
            }),
            count: Some(2),
            r#type: s("Normal"),
            event_time: Some(meta::MicroTime::default()),
            series: None,
            action: s(""),
            related: None,
            reporting_component: s("kubelet"),
            reporting_instance: s(""),
        };
        check::<openapi::Event>(
            &body("v1", "Event", &object),
            json!({
                "kind": "Event", "apiVersion": "v1",
                "metadata": {"name": "web-7d9f.17c2a1b2c3d4e5f6", "namespace": "default",
                             "creationTimestamp": null},
                "involvedObject": {"kind": "Pod", "namespace": "default", "name": "web-7d9f",
                                   "uid": "0b7c8a52-6a36-4a44-9d8e-1f2e3d4c5b6a",
                                   "apiVersion": "v1", "resourceVersion": "1234",
                                   "fieldPath": "spec.containers{app}"},
                "reason": "Pulled",
                "message": "Container image \"nginx\" already present on machine",
                "source": {"component": "kubelet", "host": "node-1"},
                "firstTimestamp": "2024-05-06T07:08:09Z",
                "lastTimestamp": "2024-05-06T07:09:09Z",
                "count": 2,
                "type": "Normal",
                "eventTime": null,
                "reportingComponent": "kubelet",
                "reportingInstance": ""
            }),
        );
    }

    /// An events/v1-style event: `eventTime` and a series in microseconds.
    #[test]
    fn series_event() {
        let object = pb::Event {
            metadata: Some(new_meta("e")),
            involved_object: Some(pb::ObjectReference {
                kind: s("Node"),
                name: s("n1"),
                ..Default::default()
            }),
            event_time: Some(meta::MicroTime {
                seconds: Some(1_714_979_289),
                nanos: Some(123_456_789),
            }),
            series: Some(pb::EventSeries {
                count: Some(3),
                last_observed_time: Some(meta::MicroTime {
                    seconds: Some(1_714_979_290),
                    nanos: Some(0),
                }),
            }),
            action: s("Scheduling"),
            related: Some(pb::ObjectReference {
                kind: s("Pod"),
                name: s("p"),
                ..Default::default()
            }),
            reporting_component: s("scheduler"),
            reporting_instance: s("scheduler-1"),
            ..Default::default()
        };
        check::<openapi::Event>(
            &body("v1", "Event", &object),
            json!({
                "kind": "Event", "apiVersion": "v1",
                "metadata": {"name": "e", "creationTimestamp": null},
                "involvedObject": {"kind": "Node", "name": "n1"},
                "eventTime": "2024-05-06T07:08:09.123456Z",
                "series": {"count": 3, "lastObservedTime": "2024-05-06T07:08:10.000000Z"},
                "action": "Scheduling",
                "related": {"kind": "Pod", "name": "p"},
                "reportingComponent": "scheduler",
                "reportingInstance": "scheduler-1"
            }),
        );
    }
}
