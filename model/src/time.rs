//! The clock as Kubernetes writes it: [`now`] as a timestamp, [`now_seconds`] at the whole
//! second (how `metav1.Time` is serialized, so conditions compare equal after a round
//! trip), [`now_time`] as a `metav1.Time`, and RFC 3339 text at seconds ([`rfc3339`],
//! [`now_rfc3339`]) and microseconds ([`rfc3339_micros`], [`now_micro`], `MicroTime`).

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use k8s_openapi::jiff::Timestamp;
use std::time::{SystemTime, UNIX_EPOCH};

/// Now.
pub fn now() -> Timestamp {
    timestamp(SystemTime::now())
}

/// Now, at the whole second (as Kubernetes' `Time` is written).
pub fn now_seconds() -> Timestamp {
    let now = now();
    Timestamp::from_second(now.as_second()).unwrap_or(now)
}

/// Now, as a `metav1.Time`.
pub fn now_time() -> Time {
    Time(now())
}

/// `time` as a timestamp (the epoch for times before it).
pub fn timestamp(time: SystemTime) -> Timestamp {
    let since = time.duration_since(UNIX_EPOCH).unwrap_or_default();
    Timestamp::new(since.as_secs() as i64, since.subsec_nanos() as i32)
        .unwrap_or(Timestamp::UNIX_EPOCH)
}

/// `time` as RFC 3339 text at whole seconds, UTC (`2026-01-02T03:04:05Z`).
pub fn rfc3339(time: SystemTime) -> String {
    humantime::format_rfc3339_seconds(time).to_string()
}

/// Now as RFC 3339 text at whole seconds, UTC.
pub fn now_rfc3339() -> String {
    rfc3339(SystemTime::now())
}

/// `time` as RFC 3339 text with microseconds (a `MicroTime`).
pub fn rfc3339_micros(time: SystemTime) -> String {
    humantime::format_rfc3339_micros(time).to_string()
}

/// Now as a `MicroTime` (RFC 3339 with microseconds).
pub fn now_micro() -> String {
    rfc3339_micros(SystemTime::now())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn texts_have_the_kubernetes_shapes() {
        let t = UNIX_EPOCH + Duration::from_micros(1_700_000_000_123_456);
        assert_eq!(rfc3339(t), "2023-11-14T22:13:20Z");
        assert_eq!(rfc3339_micros(t), "2023-11-14T22:13:20.123456Z");
        assert_eq!(timestamp(t).as_second(), 1_700_000_000);
    }

    #[test]
    fn seconds_drop_the_fraction() {
        assert_eq!(now_seconds().subsec_nanosecond(), 0);
    }
}
