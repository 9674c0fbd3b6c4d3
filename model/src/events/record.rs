//! What one event says: the object it is about ([`Involved`]), its [`EventType`], reason and
//! message, and how that becomes a core/v1 `Event` ([`Record::to_event`]) named as
//! client-go names them (`<object>.<unix nanos in hex>`).

use crate::time;
use k8s_openapi::Resource;
use k8s_openapi::api::core::v1::{Event, EventSource, ObjectReference, Pod};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta, Time};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

/// Normal progress or a problem.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum EventType {
    /// Progress.
    Normal,
    /// A problem.
    Warning,
}

impl EventType {
    /// As written in `Event.type`.
    pub fn as_str(self) -> &'static str {
        match self {
            EventType::Normal => "Normal",
            EventType::Warning => "Warning",
        }
    }
}

/// The object an event is about.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Involved {
    /// `apiVersion` of the object.
    pub api_version: &'static str,
    /// `kind` of the object.
    pub kind: &'static str,
    /// Its namespace (empty for cluster-scoped objects; their events go to `default`).
    pub namespace: String,
    /// Its name.
    pub name: String,
    /// Its UID.
    pub uid: String,
}

impl Involved {
    /// The object with `meta`, of type `K`.
    pub fn of<K: Resource>(meta: &ObjectMeta) -> Self {
        Self {
            api_version: K::API_VERSION,
            kind: K::KIND,
            namespace: meta.namespace.clone().unwrap_or_default(),
            name: meta.name.clone().unwrap_or_default(),
            uid: meta.uid.clone().unwrap_or_default(),
        }
    }

    /// The pod as an event's subject.
    pub fn pod(pod: &Pod) -> Self {
        Self::of::<Pod>(&pod.metadata)
    }
}

/// One event on its way to the sink.
#[derive(Debug)]
pub struct Record {
    /// The component reporting it (`kubelet`, `default-scheduler`...).
    pub component: &'static str,
    /// What it is about.
    pub involved: Arc<Involved>,
    /// The part of the object (`spec.containers{web}`), as the kubelet names containers.
    pub field_path: Option<String>,
    /// Normal or Warning.
    pub kind: EventType,
    /// Machine-readable reason (`BackOff`).
    pub reason: &'static str,
    /// What happened, for people.
    pub message: String,
    /// When it was recorded.
    pub time: SystemTime,
}

impl Record {
    /// The namespace the event is written to: the object's, or `default` for
    /// cluster-scoped objects.
    pub fn namespace(&self) -> &str {
        match self.involved.namespace.as_str() {
            "" => crate::namespaces::DEFAULT,
            namespace => namespace,
        }
    }

    /// The event, reported by this record's component on `host` (the node, for the
    /// kubelet).
    pub fn to_event(&self, host: Option<&str>) -> Event {
        let involved = &self.involved;
        let nanos = self
            .time
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_nanos();
        let at = time::timestamp(self.time);
        Event {
            metadata: ObjectMeta {
                name: Some(format!("{}.{nanos:x}", involved.name)),
                namespace: Some(self.namespace().to_string()),
                ..ObjectMeta::default()
            },
            involved_object: ObjectReference {
                api_version: Some(involved.api_version.to_string()),
                kind: Some(involved.kind.to_string()),
                namespace: Some(involved.namespace.clone()).filter(|n| !n.is_empty()),
                name: Some(involved.name.clone()),
                uid: Some(involved.uid.clone()),
                field_path: self.field_path.clone(),
                ..ObjectReference::default()
            },
            reason: Some(self.reason.to_string()),
            message: Some(self.message.clone()),
            type_: Some(self.kind.as_str().to_string()),
            count: Some(1),
            first_timestamp: Some(Time(at)),
            last_timestamp: Some(Time(at)),
            event_time: host.map(|_| MicroTime(at)),
            source: Some(EventSource {
                component: Some(self.component.to_string()),
                host: host.map(str::to_string),
            }),
            reporting_component: Some(self.component.to_string()),
            reporting_instance: host.map(str::to_string),
            ..Event::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(namespace: &str) -> Record {
        Record {
            component: "kubelet",
            involved: Arc::new(Involved {
                api_version: "v1",
                kind: "Pod",
                namespace: namespace.into(),
                name: "web".into(),
                uid: "u1".into(),
            }),
            field_path: Some("spec.containers{app}".into()),
            kind: EventType::Warning,
            reason: "BackOff",
            message: "Back-off restarting failed container".into(),
            time: SystemTime::now(),
        }
    }

    #[test]
    fn event_names_the_pod_and_container() {
        let event = record("ns").to_event(Some("node-a"));
        assert_eq!(event.involved_object.name.as_deref(), Some("web"));
        assert_eq!(
            event.involved_object.field_path.as_deref(),
            Some("spec.containers{app}")
        );
        assert_eq!(event.type_.as_deref(), Some("Warning"));
        assert_eq!(event.metadata.namespace.as_deref(), Some("ns"));
        assert_eq!(event.source.and_then(|s| s.host).as_deref(), Some("node-a"));
        assert_eq!(event.reporting_instance.as_deref(), Some("node-a"));
        assert!(event.metadata.name.is_some_and(|n| n.starts_with("web.")));
    }

    #[test]
    fn cluster_scoped_objects_report_in_default() {
        let event = record("").to_event(None);
        assert_eq!(event.metadata.namespace.as_deref(), Some("default"));
        assert_eq!(event.involved_object.namespace, None);
        assert_eq!(
            event.source.and_then(|s| s.component).as_deref(),
            Some("kubelet")
        );
        assert!(event.event_time.is_none());
    }
}
