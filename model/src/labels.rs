//! Well-known labels that more than one part reads or writes (Kubernetes'
//! `k8s.io/api/.../well_known_labels.go`): the Job's labels on its pods, set by the API
//! server's defaults and read by the Job controller, and the Service name on its
//! EndpointSlices, written by their controller and indexed by the informers.

/// Label with the name of a Job, on its pods.
pub const JOB_NAME_LABEL: &str = "batch.kubernetes.io/job-name";
/// The older spelling of [`JOB_NAME_LABEL`], still set.
pub const LEGACY_JOB_NAME_LABEL: &str = "job-name";
/// Label with the UID of a Job, on its pods; its generated selector selects by it.
pub const CONTROLLER_UID_LABEL: &str = "batch.kubernetes.io/controller-uid";
/// The older spelling of [`CONTROLLER_UID_LABEL`], still set.
pub const LEGACY_CONTROLLER_UID_LABEL: &str = "controller-uid";
/// Label naming an EndpointSlice's Service.
pub const SERVICE_NAME_LABEL: &str = "kubernetes.io/service-name";
