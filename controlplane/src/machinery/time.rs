//! [`time_now`]: the wall-clock time as Kubernetes' `Time`, for the timestamps the client,
//! the event recorder and the controllers write (conditions, events, taints).

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use k8s_openapi::jiff::Timestamp;

/// The current time as Kubernetes' `Time`.
pub fn time_now() -> Time {
    let since = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    Time(
        Timestamp::new(since.as_secs() as i64, since.subsec_nanos() as i32)
            .unwrap_or(Timestamp::UNIX_EPOCH),
    )
}
